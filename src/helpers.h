/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prototypes of the C shims of the crate's own services: the persistence primitives
 * (src/pmem.c), the per-mount statistics (src/stats.c) and the persistence trace (src/trace.c).
 * bindgen reads this header through src/bindings_helper.h, so the Rust declarations always match
 * the C definitions.
 */
#ifndef FERRITE_HELPERS_H
#define FERRITE_HELPERS_H

#include <linux/types.h>

/* Persistence primitives (x86: sfence, clwb/clflushopt, movnt). */
void ferrite_pmem_fence(void);
void ferrite_memcpy_flushcache(void *dst, const void *src, size_t len);

/* Per-mount statistics (src/stats.c): /sys/fs/ferrite/<device>/stats. */
enum ferrite_stat {
	FERRITE_STAT_PTE_FAULTS,
	FERRITE_STAT_PMD_FAULTS,
	FERRITE_STAT_PMD_FALLBACKS,
	FERRITE_STAT_MKWRITE_FAULTS,
	FERRITE_STAT_MAP_SYNC_FAULTS,
	FERRITE_STAT_JOURNAL_COMMITS,
	FERRITE_STAT_JOURNAL_BYTES,
	FERRITE_STAT_JOURNAL_CHECKPOINTS,
	FERRITE_STAT_JOURNAL_COMMIT_NS,
	FERRITE_STAT_ALLOC_EXTENTS,
	FERRITE_STAT_ALLOC_HUGE,
	FERRITE_STAT_ALLOC_HUGE_FALLBACKS,
	FERRITE_STAT_NR,
};
struct ferrite_stats;
/* Creates and removes /sys/fs/ferrite (module load and unload). */
int ferrite_sysfs_init(void);
void ferrite_sysfs_exit(void);
/* Creates /sys/fs/ferrite/<name> with its counters; 0 or a negative errno. */
int ferrite_stats_create(const char *name, struct ferrite_stats **out);
/* Removes it from sysfs and drops the mount's reference. */
void ferrite_stats_destroy(struct ferrite_stats *s);
/* Adds n to counter which (enum ferrite_stat). */
void ferrite_stats_add(struct ferrite_stats *s, unsigned int which, u64 n);

/*
 * The persistence trace of the trace build (src/trace.c, FERRITE_TRACE=1 only): records one call
 * of a persistence primitive and says whether to execute it.
 */
bool ferrite_trace_op(u8 kind, u64 off, const void *data, size_t len, const char *file,
		      size_t file_len, u32 line);
/* Creates and removes /sys/kernel/debug/ferrite (module load and unload). */
int ferrite_trace_init(void);
void ferrite_trace_exit(void);

#endif
