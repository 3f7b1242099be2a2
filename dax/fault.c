// SPDX-License-Identifier: GPL-2.0
/*
 * C shims of dax/fault.rs: fields of a fault and its VMA, a device page's owner, and the mmap
 * set-up of a DAX file. Static inline functions and macros of the kernel headers, wrapped with
 * no logic of their own.
 */
#include <linux/dax.h>
#include <linux/fs.h>
#include <linux/mm.h>

#include "dax.h"

struct file *ferrite_vmf_file(struct vm_fault *vmf)
{
	return vmf->vma->vm_file;
}

int ferrite_vmf_shared_write(struct vm_fault *vmf)
{
	return (vmf->flags & FAULT_FLAG_WRITE) && (vmf->vma->vm_flags & VM_SHARED);
}

int ferrite_vmf_sync(struct vm_fault *vmf)
{
	return !!(vmf->vma->vm_flags & VM_SYNC);
}

bool ferrite_dax_page_owner(unsigned long pfn, struct address_space **mapping, pgoff_t *index)
{
	struct page *page;

	if (!pfn_valid(pfn))
		return false;
	page = pfn_to_page(pfn);
	*mapping = READ_ONCE(page->mapping);
	*index = READ_ONCE(page->index);
	return true;
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
