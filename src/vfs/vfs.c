// SPDX-License-Identifier: GPL-2.0
/*
 * C shims of the VFS layer (src/vfs/): static inline functions and macros of the VFS headers,
 * which Rust cannot call directly. Each is a thin wrapper with no logic of its own.
 */
#include <linux/blkdev.h>
#include <linux/dcache.h>
#include <linux/delayed_call.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/pagemap.h>
#include <linux/random.h>
#include <linux/seq_file.h>
#include "vfs.h"

/*
 * Logs an error against a mount context, prefixed with the filesystem name (shown by mount(8) with
 * the new mount API, and in the kernel log otherwise).
 */
void ferrite_fc_error(struct fs_context *fc, const char *msg)
{
	errorfc(fc, "%s", msg);
}

int ferrite_fs_parse(struct fs_context *fc, const struct fs_parameter_spec *desc,
		     struct fs_parameter *param, unsigned int *value)
{
	struct fs_parse_result result;
	int opt = fs_parse(fc, desc, param, &result);

	if (opt >= 0)
		*value = result.uint_32;
	return opt;
}

long long ferrite_bdev_nr_bytes(struct block_device *bdev)
{
	return bdev_nr_bytes(bdev);
}

void ferrite_inode_set_attrs(struct inode *inode, const struct ferrite_attrs *a)
{
	inode->i_mode = a->mode;
	i_uid_write(inode, a->uid);
	i_gid_write(inode, a->gid);
	set_nlink(inode, a->nlink);
	i_size_write(inode, a->size);
	inode_set_atime(inode, a->atime_sec, a->atime_nsec);
	inode_set_mtime(inode, a->mtime_sec, a->mtime_nsec);
	inode_set_ctime(inode, a->ctime_sec, a->ctime_nsec);
	inode->i_generation = a->generation;
}

void ferrite_inode_get_attrs(struct inode *inode, struct ferrite_attrs *a)
{
	struct timespec64 t;

	a->ino = inode->i_ino;
	a->mode = inode->i_mode;
	a->uid = i_uid_read(inode);
	a->gid = i_gid_read(inode);
	a->nlink = inode->i_nlink;
	a->size = i_size_read(inode);
	a->blocks = inode->i_blocks;
	t = inode_get_atime(inode);
	a->atime_sec = t.tv_sec;
	a->atime_nsec = t.tv_nsec;
	t = inode_get_mtime(inode);
	a->mtime_sec = t.tv_sec;
	a->mtime_nsec = t.tv_nsec;
	t = inode_get_ctime(inode);
	a->ctime_sec = t.tv_sec;
	a->ctime_nsec = t.tv_nsec;
	a->rdev = new_encode_dev(inode->i_rdev);
	a->generation = inode->i_generation;
}

void ferrite_inode_set_blocks(struct inode *inode, u64 blocks)
{
	spin_lock(&inode->i_lock);
	inode->i_blocks = blocks;
	inode->i_bytes = 0;
	spin_unlock(&inode->i_lock);
}

void ferrite_inode_set_ctime(struct inode *inode, s64 sec, u32 nsec)
{
	inode_set_ctime(inode, sec, nsec);
}

void ferrite_init_special_inode(struct inode *inode, u32 mode, u32 rdev)
{
	init_special_inode(inode, mode, new_decode_dev(rdev));
}

long long ferrite_i_size_read(const struct inode *inode)
{
	return i_size_read(inode);
}

void ferrite_i_size_write(struct inode *inode, long long size)
{
	i_size_write(inode, size);
}

void ferrite_inode_lock(struct inode *inode)
{
	inode_lock(inode);
}

void ferrite_inode_unlock(struct inode *inode)
{
	inode_unlock(inode);
}

void ferrite_inode_lock_shared(struct inode *inode)
{
	inode_lock_shared(inode);
}

void ferrite_inode_unlock_shared(struct inode *inode)
{
	inode_unlock_shared(inode);
}

int ferrite_inode_trylock(struct inode *inode)
{
	return inode_trylock(inode);
}

int ferrite_inode_trylock_shared(struct inode *inode)
{
	return inode_trylock_shared(inode);
}

int ferrite_inode_is_new(const struct inode *inode)
{
	return !!(READ_ONCE(inode->i_state) & I_NEW);
}

const unsigned char *ferrite_dentry_name(const struct dentry *dentry, u32 *len)
{
	*len = dentry->d_name.len;
	return dentry->d_name.name;
}

struct inode *ferrite_d_inode(const struct dentry *dentry)
{
	return d_inode(dentry);
}

bool ferrite_sb_bdev_read_only(struct super_block *sb)
{
	return sb->s_bdev && bdev_read_only(sb->s_bdev);
}

struct inode *ferrite_file_inode(const struct file *file)
{
	return file_inode(file);
}

int ferrite_dir_emit_dots(struct file *file, struct dir_context *ctx)
{
	return dir_emit_dots(file, ctx);
}

int ferrite_dir_emit(struct dir_context *ctx, const char *name, int len, u64 ino, unsigned int type)
{
	return dir_emit(ctx, name, len, ino, type);
}

long ferrite_generic_write_sync(struct kiocb *iocb, long count)
{
	return generic_write_sync(iocb, count);
}

void ferrite_current_time(struct inode *inode, s64 *sec, u32 *nsec)
{
	struct timespec64 t = current_time(inode);

	*sec = t.tv_sec;
	*nsec = t.tv_nsec;
}

void ferrite_seq_puts(struct seq_file *m, const char *s)
{
	seq_puts(m, s);
}

void ferrite_set_delayed_kfree(struct delayed_call *done, void *buf)
{
	set_delayed_call(done, kfree_link, buf);
}

u32 ferrite_random_u32(void)
{
	return get_random_u32();
}

void ferrite_file_accessed(struct file *file)
{
	file_accessed(file);
}

int ferrite_sb_init(struct super_block *sb, unsigned long magic, const void *ops, long long maxbytes,
		    unsigned int max_links, const u8 *uuid)
{
	if (!sb_set_blocksize(sb, PAGE_SIZE))
		return -EINVAL;
	sb->s_magic = magic;
	sb->s_op = ops;
	sb->s_maxbytes = maxbytes;
	sb->s_max_links = max_links;
	sb->s_time_gran = 1;
	sb->s_time_min = S64_MIN;
	sb->s_time_max = S64_MAX;
	super_set_uuid(sb, uuid, 16);
	return 0;
}

int ferrite_finish_open_simple(struct file *file, int error)
{
	return finish_open_simple(file, error);
}

void ferrite_sb_start_intwrite(struct super_block *sb)
{
	sb_start_intwrite(sb);
}

void ferrite_sb_end_intwrite(struct super_block *sb)
{
	sb_end_intwrite(sb);
}

void ferrite_sb_start_pagefault(struct super_block *sb)
{
	sb_start_pagefault(sb);
}

void ferrite_sb_end_pagefault(struct super_block *sb)
{
	sb_end_pagefault(sb);
}

void ferrite_invalidate_lock(struct address_space *mapping)
{
	filemap_invalidate_lock(mapping);
}

void ferrite_invalidate_unlock(struct address_space *mapping)
{
	filemap_invalidate_unlock(mapping);
}

void ferrite_invalidate_lock_shared(struct address_space *mapping)
{
	filemap_invalidate_lock_shared(mapping);
}

void ferrite_invalidate_unlock_shared(struct address_space *mapping)
{
	filemap_invalidate_unlock_shared(mapping);
}
