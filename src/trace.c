// SPDX-License-Identifier: GPL-2.0
/*
 * The persistence trace of ferrite's trace build (FERRITE_TRACE=1; the normal build has no trace
 * at all). Every call of the persistence primitives in src/pmem.rs is recorded here, in order,
 * with its bytes, so that the host can rebuild every crash state the trace allows
 * (scripts/crash-explore, tests/explore).
 *
 * debugfs, /sys/kernel/debug/ferrite/:
 *   ctl    write one command per write(2):
 *            start        empty the trace and start recording
 *            stop         stop recording and append the END record
 *            mark TEXT    append a MARK record (the workload marks each system call with
 *                         "B <n> <name>" before it and "E <n> <ret>" after it)
 *            freeze       from now on, drop every store, flush and fence without recording it:
 *                         the device keeps what it had, as after a power cut (a later unmount
 *                         then leaves an unclean filesystem behind)
 *            freeze-after-fence N
 *                         freeze right after the N-th fence from now (a power cut between a
 *                         transaction's journal commit and its in-place writes, say)
 *            thaw         undo freeze
 *            mutant SITE  skip (neither execute nor record) every fence or flush whose call
 *                         site is SITE ("fs/txn.rs:258"); "mutant" alone clears it
 *   trace  read: the trace (format in docs/PERSISTENCE.md)
 *
 * Record: u8 kind, u8 site length, u16 0, u32 length, u64 device offset, the site text, the
 * payload, zero padding to a multiple of 8 bytes. The file starts with "FTRC0001".
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "helpers.h"

#define TRACE_CAP (128UL << 20)
#define TRACE_MAGIC "FTRC0001"

enum {
	K_STORE = 1,
	K_FLUSH = 2,
	K_NT = 3,
	K_ZERO = 4,
	K_FENCE = 5,
	K_MARK = 6,
	K_DATA = 7,
	K_END = 8,
};

struct rec_hdr {
	u8 kind;
	u8 site_len;
	u16 zero;
	u32 len;
	u64 off;
};

/* trace_lock protects every field below; it is taken with interrupts off, never nested. */
static DEFINE_SPINLOCK(trace_lock);
static u8 *trace_buf;
static size_t trace_used;
static u64 trace_dropped;
static bool trace_on;
static bool trace_frozen;
static unsigned int trace_freeze_after;
static char trace_mutant[96];
/* Serialises ctl commands and trace reads against a restart of the trace. */
static DEFINE_MUTEX(trace_ctl_lock);
static struct dentry *trace_dir;

static bool site_is(const char *site, size_t len, const char *want)
{
	size_t wl = strlen(want);

	/* The compiler's file names may carry the build directory in front: compare the tail. */
	if (wl == 0 || wl > len)
		return false;
	if (memcmp(site + len - wl, want, wl) != 0)
		return false;
	return wl == len || site[len - wl - 1] == '/';
}

/* Appends one record; trace_lock held. */
static void append(u8 kind, u64 off, const void *data, u32 len, const char *site, u8 site_len)
{
	struct rec_hdr h = { .kind = kind, .site_len = site_len, .len = len, .off = off };
	size_t payload = (kind == K_FLUSH || kind == K_ZERO || kind == K_FENCE || kind == K_END) ? 0 : len;
	size_t total = ALIGN(sizeof(h) + site_len + payload, 8);

	if (!trace_buf || trace_used + total + sizeof(h) > TRACE_CAP) {
		/* Keep room for the END record, which reports the loss. */
		trace_dropped++;
		return;
	}
	memcpy(trace_buf + trace_used, &h, sizeof(h));
	memcpy(trace_buf + trace_used + sizeof(h), site, site_len);
	if (payload)
		memcpy(trace_buf + trace_used + sizeof(h) + site_len, data, payload);
	memset(trace_buf + trace_used + sizeof(h) + site_len + payload, 0,
	       total - sizeof(h) - site_len - payload);
	trace_used += total;
}

/*
 * Called by src/pmem.rs before each primitive: records it and says whether to execute it (false
 * while frozen, and for the mutant's call site). `data` is the payload of stores (NULL else).
 */
bool ferrite_trace_op(u8 kind, u64 off, const void *data, size_t len, const char *file,
		      size_t file_len, u32 line)
{
	char site[96];
	int n;
	unsigned long flags;
	bool run = true;

	/* The tail of the path is what names the site. */
	if (file_len > 64) {
		file += file_len - 64;
		file_len = 64;
	}
	n = snprintf(site, sizeof(site), "%.*s:%u", (int)file_len, file, line);
	if (n < 0)
		n = 0;
	if (n >= (int)sizeof(site))
		n = sizeof(site) - 1;
	spin_lock_irqsave(&trace_lock, flags);
	if (trace_frozen) {
		run = false;
	} else if ((kind == K_FENCE || kind == K_FLUSH) && trace_mutant[0] &&
		   site_is(site, n, trace_mutant)) {
		run = false;
	} else if (trace_on) {
		append(kind, off, data, len > U32_MAX ? U32_MAX : len, site, n);
	}
	if (run && kind == K_FENCE && trace_freeze_after && --trace_freeze_after == 0)
		trace_frozen = true;
	spin_unlock_irqrestore(&trace_lock, flags);
	return run;
}

static ssize_t ctl_write(struct file *f, const char __user *ubuf, size_t count, loff_t *ppos)
{
	char cmd[256];
	size_t n = min(count, sizeof(cmd) - 1);
	unsigned long flags;
	ssize_t ret = count;

	if (copy_from_user(cmd, ubuf, n))
		return -EFAULT;
	cmd[n] = 0;
	if (n && cmd[n - 1] == '\n')
		cmd[--n] = 0;
	mutex_lock(&trace_ctl_lock);
	if (!strcmp(cmd, "start")) {
		if (!trace_buf)
			trace_buf = vmalloc(TRACE_CAP);
		if (!trace_buf) {
			ret = -ENOMEM;
			goto out;
		}
		spin_lock_irqsave(&trace_lock, flags);
		memcpy(trace_buf, TRACE_MAGIC, 8);
		trace_used = 8;
		trace_dropped = 0;
		trace_on = true;
		spin_unlock_irqrestore(&trace_lock, flags);
	} else if (!strcmp(cmd, "stop")) {
		spin_lock_irqsave(&trace_lock, flags);
		if (trace_on && trace_buf) {
			struct rec_hdr h = { .kind = K_END, .off = trace_dropped };

			memcpy(trace_buf + trace_used, &h, sizeof(h));
			trace_used += sizeof(h);
		}
		trace_on = false;
		spin_unlock_irqrestore(&trace_lock, flags);
	} else if (!strncmp(cmd, "mark ", 5)) {
		spin_lock_irqsave(&trace_lock, flags);
		if (trace_on)
			append(K_MARK, 0, cmd + 5, n - 5, "", 0);
		spin_unlock_irqrestore(&trace_lock, flags);
	} else if (!strcmp(cmd, "freeze") || !strcmp(cmd, "thaw")) {
		spin_lock_irqsave(&trace_lock, flags);
		trace_frozen = cmd[0] == 'f';
		trace_freeze_after = 0;
		spin_unlock_irqrestore(&trace_lock, flags);
	} else if (!strncmp(cmd, "freeze-after-fence ", 19)) {
		unsigned int k;

		if (kstrtouint(cmd + 19, 10, &k) || k == 0) {
			ret = -EINVAL;
			goto out;
		}
		spin_lock_irqsave(&trace_lock, flags);
		trace_freeze_after = k;
		spin_unlock_irqrestore(&trace_lock, flags);
	} else if (!strcmp(cmd, "mutant") || !strncmp(cmd, "mutant ", 7)) {
		spin_lock_irqsave(&trace_lock, flags);
		strscpy(trace_mutant, n > 7 ? cmd + 7 : "", sizeof(trace_mutant));
		spin_unlock_irqrestore(&trace_lock, flags);
		if (trace_mutant[0])
			pr_info("ferrite: trace: mutant: %s skipped\n", trace_mutant);
	} else {
		pr_err("ferrite: trace: unknown command '%s'\n", cmd);
		ret = -EINVAL;
	}
out:
	mutex_unlock(&trace_ctl_lock);
	return ret;
}

static ssize_t trace_read(struct file *f, char __user *ubuf, size_t count, loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&trace_ctl_lock);
	if (trace_on) {
		/* A trace is read once it is complete. */
		ret = -EBUSY;
	} else if (!trace_buf) {
		ret = 0;
	} else {
		ret = simple_read_from_buffer(ubuf, count, ppos, trace_buf, trace_used);
	}
	mutex_unlock(&trace_ctl_lock);
	return ret;
}

static const struct file_operations ctl_fops = {
	.owner = THIS_MODULE,
	.write = ctl_write,
	.llseek = noop_llseek,
};

static const struct file_operations trace_fops = {
	.owner = THIS_MODULE,
	.read = trace_read,
	.llseek = default_llseek,
};

int ferrite_trace_init(void)
{
	trace_dir = debugfs_create_dir("ferrite", NULL);
	if (IS_ERR(trace_dir))
		return PTR_ERR(trace_dir);
	debugfs_create_file("ctl", 0200, trace_dir, NULL, &ctl_fops);
	debugfs_create_file("trace", 0400, trace_dir, NULL, &trace_fops);
	pr_info("ferrite: trace build: persistence trace in /sys/kernel/debug/ferrite\n");
	return 0;
}

void ferrite_trace_exit(void)
{
	debugfs_remove(trace_dir);
	vfree(trace_buf);
	trace_buf = NULL;
}
