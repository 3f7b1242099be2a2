/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prototypes of ferrite's C helpers (src/helpers.c). bindgen reads this header through
 * src/bindings_helper.h, so the Rust declarations always match the C definitions.
 */
#ifndef FERRITE_HELPERS_H
#define FERRITE_HELPERS_H

#include <linux/types.h>

struct fs_context;
struct fs_parameter;
struct dax_device;
struct block_device;

/* Mount options (src/helpers.c holds the fs_parameter_spec table). */
enum ferrite_opt {
	FERRITE_OPT_DAX,	/* "dax" */
	FERRITE_OPT_DAX_MODE,	/* "dax=always|never|inode" */
};

enum ferrite_dax_mode {
	FERRITE_DAX_ALWAYS,
	FERRITE_DAX_NEVER,
	FERRITE_DAX_INODE,
};

/*
 * fs_parse() against ferrite's option table: returns the option (enum ferrite_opt) with its
 * enum value in *value, or a negative errno (-ENOPARAM for an option ferrite does not know).
 */
int ferrite_parse_param(struct fs_context *fc, struct fs_parameter *param, unsigned int *value);

/* bdev_nr_bytes(). */
long long ferrite_bdev_nr_bytes(struct block_device *bdev);

void ferrite_fc_error(struct fs_context *fc, const char *msg);

/* Persistence primitives (x86: sfence, clwb/clflushopt, movnt). */
void ferrite_pmem_fence(void);
void ferrite_memcpy_flushcache(void *dst, const void *src, size_t len);

/* dax_read_lock()/dax_read_unlock(): SRCU read side against dax device removal. */
int ferrite_dax_read_lock(void);
void ferrite_dax_read_unlock(int id);

#endif
