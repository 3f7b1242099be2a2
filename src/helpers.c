// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for ferrite: kernel functions that are static inline or macros, which Rust cannot call
 * directly. Each is a thin wrapper with no logic of its own.
 */
#include <linux/dax.h>
#include <linux/pfn_t.h>
#include <linux/blkdev.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/string.h>
#include <linux/fs.h>
#include <linux/dcache.h>
#include <linux/delayed_call.h>
#include <linux/random.h>
#include <linux/seq_file.h>
#include <linux/mm.h>
#include <linux/wait_bit.h>

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

unsigned long ferrite_pfn_t_to_pfn(pfn_t pfn)
{
	return pfn_t_to_pfn(pfn);
}

/*
 * dax_associate_entry() warns when a page it is about to give to a mapping already has one: two
 * files, or two offsets of one file, sharing a block. Only a corrupt extent map does that, and
 * the filesystem must refuse the fault before the DAX core sees it. A page that belongs to this
 * mapping at this index is one an earlier fault already inserted.
 */
bool ferrite_dax_pages_free_for(struct inode *inode, unsigned long pfn, unsigned long nr,
				pgoff_t index)
{
	unsigned long i;

	for (i = 0; i < nr; i++) {
		struct page *page;
		struct address_space *owner;

		if (!pfn_valid(pfn + i))
			return false;
		page = pfn_to_page(pfn + i);
		owner = READ_ONCE(page->mapping);
		if (owner && (owner != inode->i_mapping || READ_ONCE(page->index) != index + i))
			return false;
	}
	return true;
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

void ferrite_inode_set_attrs(struct inode *inode, const struct ferrite_attrs *a)
{
	inode->i_mode = a->mode;
	i_uid_write(inode, a->uid);
	i_gid_write(inode, a->gid);
	set_nlink(inode, a->nlink);
	i_size_write(inode, a->size);
	inode->i_blocks = a->blocks;
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

struct file *ferrite_vmf_file(struct vm_fault *vmf)
{
	return vmf->vma->vm_file;
}

int ferrite_vmf_shared_write(struct vm_fault *vmf)
{
	return (vmf->flags & FAULT_FLAG_WRITE) && (vmf->vma->vm_flags & VM_SHARED);
}

struct address_space *ferrite_file_mapping(struct file *file)
{
	return file->f_mapping;
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

int ferrite_dax_mmap(struct file *file, struct vm_area_struct *vma, struct dax_device *dax,
		     const struct vm_operations_struct *ops)
{
	if (!daxdev_mapping_supported(vma, dax))
		return -EOPNOTSUPP;
	file_accessed(file);
	vma->vm_ops = ops;
	vm_flags_set(vma, VM_HUGEPAGE);
	return 0;
}

int ferrite_vmf_sync(struct vm_fault *vmf)
{
	return !!(vmf->vma->vm_flags & VM_SYNC);
}

/* Lets the holder of a pinned DAX page run while ferrite_break_layouts() waits for it. */
static void ferrite_wait_dax_page(struct inode *inode)
{
	filemap_invalidate_unlock(inode->i_mapping);
	schedule();
	filemap_invalidate_lock(inode->i_mapping);
}

int ferrite_break_layouts(struct inode *inode, long long start, long long end)
{
	struct page *page;
	int error;

	lockdep_assert_held_write(&inode->i_mapping->invalidate_lock);
	do {
		page = dax_layout_busy_page_range(inode->i_mapping, start, end);
		if (!page)
			return 0;
		/* The last reference but the mapping's own is dropped: wake_up_var(&_refcount). */
		error = ___wait_var_event(&page->_refcount, atomic_read(&page->_refcount) == 1,
					  TASK_INTERRUPTIBLE, 0, 0, ferrite_wait_dax_page(inode));
	} while (error == 0);
	return error;
}
