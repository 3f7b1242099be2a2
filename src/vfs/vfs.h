/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prototypes of the VFS layer's C shims (src/vfs/vfs.c). bindgen reads this header through
 * src/bindings_helper.h, so the Rust declarations match the C definitions.
 */
#ifndef FERRITE_VFS_H
#define FERRITE_VFS_H

#include <linux/types.h>

struct address_space;
struct block_device;
struct delayed_call;
struct fs_context;
struct fs_parameter;

struct fs_parameter_spec;

/*
 * fs_parse() against a filesystem's parameter table: returns the option number with its value in
 * *value (the number of an enumerated value), or a negative errno (-ENOPARAM for an option the
 * table does not have).
 */
int ferrite_fs_parse(struct fs_context *fc, const struct fs_parameter_spec *desc,
		     struct fs_parameter *param, unsigned int *value);

/* bdev_nr_bytes(). */
long long ferrite_bdev_nr_bytes(struct block_device *bdev);

void ferrite_fc_error(struct fs_context *fc, const char *msg);

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

/* Sets the inode's mode, owner, link count (set_nlink), size, times and generation. */
void ferrite_inode_set_attrs(struct inode *inode, const struct ferrite_attrs *a);
/* i_blocks (and i_bytes) under i_lock. */
void ferrite_inode_set_blocks(struct inode *inode, u64 blocks);
/* inode_set_ctime(). */
void ferrite_inode_set_ctime(struct inode *inode, s64 sec, u32 nsec);
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
bool ferrite_sb_bdev_read_only(struct super_block *sb);
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
struct address_space;
/* sb_start_intwrite()/sb_end_intwrite(). */
void ferrite_sb_start_intwrite(struct super_block *sb);
void ferrite_sb_end_intwrite(struct super_block *sb);
/* sb_start_pagefault()/sb_end_pagefault(). */
void ferrite_sb_start_pagefault(struct super_block *sb);
void ferrite_sb_end_pagefault(struct super_block *sb);
/* filemap_invalidate_lock() family. */
void ferrite_invalidate_lock(struct address_space *mapping);
void ferrite_invalidate_unlock(struct address_space *mapping);
void ferrite_invalidate_lock_shared(struct address_space *mapping);
void ferrite_invalidate_unlock_shared(struct address_space *mapping);
/* The random generation of a new inode. */
u32 ferrite_random_u32(void);

#endif
