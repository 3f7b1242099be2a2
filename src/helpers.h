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
struct delayed_call;

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

/* The page frame number of a pfn_t (as dax_direct_access returns it). */
unsigned long ferrite_pfn_t_to_pfn(pfn_t pfn);

/*
 * Whether a DAX fault of inode's mapping at page index may map the nr pages from pfn on: none of
 * them is associated with another mapping, or with another index of this one.
 */
bool ferrite_dax_pages_free_for(struct inode *inode, unsigned long pfn, unsigned long nr,
				pgoff_t index);

/* Attributes of a VFS inode, as ferrite keeps them on the media. */
struct ferrite_attrs {
	u64 ino;
	u64 size;
	u64 blocks;		/* 512-byte units, as i_blocks */
	s64 atime_sec;
	s64 mtime_sec;
	s64 ctime_sec;
	u32 atime_nsec;
	u32 mtime_nsec;
	u32 ctime_nsec;
	u32 mode;
	u32 uid;		/* in the initial user namespace */
	u32 gid;
	u32 nlink;
	u32 rdev;		/* new_encode_dev() form */
	u32 generation;
};

struct inode;
struct dentry;
struct file;
struct dir_context;
struct kiocb;
struct seq_file;
struct super_block;

/* Sets the inode's mode, owner, link count (set_nlink), size, blocks, times and generation. */
void ferrite_inode_set_attrs(struct inode *inode, const struct ferrite_attrs *a);
/* Reads them back (rdev from i_rdev). */
void ferrite_inode_get_attrs(struct inode *inode, struct ferrite_attrs *a);
/* init_special_inode() with a new_encode_dev() device number. */
void ferrite_init_special_inode(struct inode *inode, u32 mode, u32 rdev);
/* i_size_read()/i_size_write(). */
long long ferrite_i_size_read(const struct inode *inode);
void ferrite_i_size_write(struct inode *inode, long long size);
/* inode_lock() family. */
void ferrite_inode_lock(struct inode *inode);
void ferrite_inode_unlock(struct inode *inode);
void ferrite_inode_lock_shared(struct inode *inode);
void ferrite_inode_unlock_shared(struct inode *inode);
int ferrite_inode_trylock(struct inode *inode);
int ferrite_inode_trylock_shared(struct inode *inode);
/* Whether the inode is I_NEW (just allocated by iget_locked). */
int ferrite_inode_is_new(const struct inode *inode);
/* The dentry's name and its length. */
const unsigned char *ferrite_dentry_name(const struct dentry *dentry, u32 *len);
/* d_inode(). */
struct inode *ferrite_d_inode(const struct dentry *dentry);
/* file_inode(). */
struct inode *ferrite_file_inode(const struct file *file);
/* dir_emit_dots(), dir_emit(). */
int ferrite_dir_emit_dots(struct file *file, struct dir_context *ctx);
int ferrite_dir_emit(struct dir_context *ctx, const char *name, int len, u64 ino, unsigned int type);
/* finish_open_simple(). */
int ferrite_finish_open_simple(struct file *file, int error);
/* file_accessed(). */
void ferrite_file_accessed(struct file *file);
/* generic_write_sync(). */
long ferrite_generic_write_sync(struct kiocb *iocb, long count);
/* current_time() as seconds and nanoseconds. */
void ferrite_current_time(struct inode *inode, s64 *sec, u32 *nsec);
/* seq_puts(). */
void ferrite_seq_puts(struct seq_file *m, const char *s);
/* The delayed call that kfree()s a symlink target returned by get_link. */
void ferrite_set_delayed_kfree(struct delayed_call *done, void *buf);
/* Sets up a new super block: magic, operations, limits, block size 4096, UUID. */
int ferrite_sb_init(struct super_block *sb, unsigned long magic, const void *ops, long long maxbytes,
		    unsigned int max_links, const u8 *uuid);
struct vm_fault;
struct vm_area_struct;
struct vm_operations_struct;
struct address_space;
/* The file of a faulting VMA, and whether the fault is a write to a shared mapping. */
struct file *ferrite_vmf_file(struct vm_fault *vmf);
int ferrite_vmf_shared_write(struct vm_fault *vmf);
/* file->f_mapping. */
struct address_space *ferrite_file_mapping(struct file *file);
/* sb_start_pagefault()/sb_end_pagefault(). */
void ferrite_sb_start_pagefault(struct super_block *sb);
void ferrite_sb_end_pagefault(struct super_block *sb);
/* filemap_invalidate_lock() family. */
void ferrite_invalidate_lock(struct address_space *mapping);
void ferrite_invalidate_unlock(struct address_space *mapping);
void ferrite_invalidate_lock_shared(struct address_space *mapping);
void ferrite_invalidate_unlock_shared(struct address_space *mapping);
/*
 * mmap of a DAX file: refuses MAP_SYNC if the DAX device cannot honour it
 * (daxdev_mapping_supported), updates the access time, installs the operations, sets VM_HUGEPAGE.
 */
int ferrite_dax_mmap(struct file *file, struct vm_area_struct *vma, struct dax_device *dax,
		     const struct vm_operations_struct *ops);
/* The random generation of a new inode. */
u32 ferrite_random_u32(void);
/* Whether the faulting VMA is a MAP_SYNC mapping (VM_SYNC). */
int ferrite_vmf_sync(struct vm_fault *vmf);
/*
 * Breaks the DAX layouts of byte range start..=end (end -1: to the end of the file): waits until
 * no page of the range is pinned (by get_user_pages: direct I/O, vmsplice, RDMA). The caller holds
 * the mapping's invalidate_lock exclusive; it is dropped while waiting. 0 or -ERESTARTSYS.
 */
int ferrite_break_layouts(struct inode *inode, long long start, long long end);

/* Per-mount statistics (src/stats.c): /sys/fs/ferrite/<device>/stats. */
enum ferrite_stat {
	FERRITE_STAT_PTE_FAULTS,
	FERRITE_STAT_PMD_FAULTS,
	FERRITE_STAT_PMD_FALLBACKS,
	FERRITE_STAT_MKWRITE_FAULTS,
	FERRITE_STAT_MAP_SYNC_FAULTS,
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
