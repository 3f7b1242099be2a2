// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for ferrite: kernel functions that are static inline or macros, which Rust cannot call
 * directly. Each is a thin wrapper with no logic of its own.
 */
#include <linux/dax.h>
#include <linux/blkdev.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/string.h>

#include "helpers.h"

/*
 * Log an error against a mount context, prefixed with the filesystem name (shown by mount(8) with
 * the new mount API, and in the kernel log otherwise).
 */
void ferrite_fc_error(struct fs_context *fc, const char *msg)
{
	errorfc(fc, "%s", msg);
}

/* Orders earlier flushes and non-temporal stores to pmem before later stores. */
void ferrite_pmem_fence(void)
{
	pmem_wmb();
}

/* Copies with non-temporal stores (or stores and cache write-back): durable after a fence. */
void ferrite_memcpy_flushcache(void *dst, const void *src, size_t len)
{
	memcpy_flushcache(dst, src, len);
}

int ferrite_dax_read_lock(void)
{
	return dax_read_lock();
}

void ferrite_dax_read_unlock(int id)
{
	dax_read_unlock(id);
}

static const struct constant_table ferrite_dax_modes[] = {
	{ "always", FERRITE_DAX_ALWAYS },
	{ "never", FERRITE_DAX_NEVER },
	{ "inode", FERRITE_DAX_INODE },
	{}
};

static const struct fs_parameter_spec ferrite_params[] = {
	fsparam_flag("dax", FERRITE_OPT_DAX),
	fsparam_enum("dax", FERRITE_OPT_DAX_MODE, ferrite_dax_modes),
	{}
};

int ferrite_parse_param(struct fs_context *fc, struct fs_parameter *param, unsigned int *value)
{
	struct fs_parse_result result;
	int opt = fs_parse(fc, ferrite_params, param, &result);

	if (opt >= 0)
		*value = result.uint_32;
	return opt;
}

long long ferrite_bdev_nr_bytes(struct block_device *bdev)
{
	return bdev_nr_bytes(bdev);
}
