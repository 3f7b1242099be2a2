// SPDX-License-Identifier: GPL-2.0
/*
 * ferrite's per-mount statistics in sysfs: /sys/fs/ferrite/<device>/stats, one "name value" line
 * per counter. The counters are per-CPU (the fault path adds to them without a shared cache line)
 * and summed when the file is read. src/stats.rs is the Rust side.
 *
 * Lifetime: the kobject of a mount holds the counters; ferrite_stats_destroy() removes it from
 * sysfs (after which no reader can reach it) and drops the mount's reference; the release
 * callback frees the counters once the last reference is gone.
 */
#include <linux/kobject.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/fs.h>

#include "helpers.h"

struct ferrite_stats_cpu {
	u64 c[FERRITE_STAT_NR];
};

struct ferrite_stats {
	struct kobject kobj;
	struct ferrite_stats_cpu __percpu *cpu;
};

static const char *const ferrite_stat_names[FERRITE_STAT_NR] = {
	[FERRITE_STAT_PTE_FAULTS] = "pte_faults",
	[FERRITE_STAT_PMD_FAULTS] = "pmd_faults",
	[FERRITE_STAT_PMD_FALLBACKS] = "pmd_fallbacks",
	[FERRITE_STAT_MKWRITE_FAULTS] = "mkwrite_faults",
	[FERRITE_STAT_MAP_SYNC_FAULTS] = "map_sync_faults",
	[FERRITE_STAT_JOURNAL_COMMITS] = "journal_commits",
	[FERRITE_STAT_JOURNAL_BYTES] = "journal_bytes",
	[FERRITE_STAT_JOURNAL_CHECKPOINTS] = "journal_checkpoints",
	[FERRITE_STAT_JOURNAL_COMMIT_NS] = "journal_commit_ns",
	[FERRITE_STAT_ALLOC_EXTENTS] = "alloc_extents",
	[FERRITE_STAT_ALLOC_HUGE] = "alloc_huge_extents",
	[FERRITE_STAT_ALLOC_HUGE_FALLBACKS] = "alloc_huge_fallbacks",
};

/* /sys/fs/ferrite, present while the module is loaded. */
static struct kset *ferrite_kset;

static ssize_t stats_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct ferrite_stats *s = container_of(kobj, struct ferrite_stats, kobj);
	u64 sum[FERRITE_STAT_NR] = {};
	ssize_t len = 0;
	int cpu, i;

	for_each_possible_cpu(cpu) {
		const struct ferrite_stats_cpu *c = per_cpu_ptr(s->cpu, cpu);

		for (i = 0; i < FERRITE_STAT_NR; i++)
			sum[i] += READ_ONCE(c->c[i]);
	}
	for (i = 0; i < FERRITE_STAT_NR; i++)
		len += sysfs_emit_at(buf, len, "%s %llu\n", ferrite_stat_names[i], sum[i]);
	return len;
}

static struct kobj_attribute stats_attr = __ATTR_RO(stats);

static struct attribute *ferrite_stats_attrs[] = {
	&stats_attr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(ferrite_stats);

static void ferrite_stats_release(struct kobject *kobj)
{
	struct ferrite_stats *s = container_of(kobj, struct ferrite_stats, kobj);

	free_percpu(s->cpu);
	kfree(s);
}

static const struct kobj_type ferrite_stats_ktype = {
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = ferrite_stats_groups,
	.release = ferrite_stats_release,
};

int ferrite_sysfs_init(void)
{
	ferrite_kset = kset_create_and_add("ferrite", NULL, fs_kobj);
	return ferrite_kset ? 0 : -ENOMEM;
}

void ferrite_sysfs_exit(void)
{
	kset_unregister(ferrite_kset);
	ferrite_kset = NULL;
}

int ferrite_stats_create(const char *name, struct ferrite_stats **out)
{
	struct ferrite_stats *s;
	int err;

	if (!ferrite_kset)
		return -ENODEV;
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	s->cpu = alloc_percpu(struct ferrite_stats_cpu);
	if (!s->cpu) {
		kfree(s);
		return -ENOMEM;
	}
	s->kobj.kset = ferrite_kset;
	err = kobject_init_and_add(&s->kobj, &ferrite_stats_ktype, NULL, "%s", name);
	if (err) {
		/* The release callback frees the counters. */
		kobject_put(&s->kobj);
		return err;
	}
	*out = s;
	return 0;
}

void ferrite_stats_destroy(struct ferrite_stats *s)
{
	kobject_del(&s->kobj);
	kobject_put(&s->kobj);
}

void ferrite_stats_add(struct ferrite_stats *s, unsigned int which, u64 n)
{
	if (which < FERRITE_STAT_NR)
		this_cpu_add(s->cpu->c[which], n);
}
