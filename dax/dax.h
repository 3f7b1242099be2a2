/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prototypes of the DAX layer's C shims (dax/fault.c, dax/layout.c, dax/device.c). bindgen reads
 * this header through src/bindings_helper.h, so the Rust declarations match the C definitions.
 */
#ifndef FERRITE_DAX_H
#define FERRITE_DAX_H

#include <linux/types.h>
#include <linux/pfn_t.h>

struct address_space;
struct dax_device;
struct file;
struct page;
struct vm_area_struct;
struct vm_fault;
struct vm_operations_struct;

/* dax/device.c: dax_read_lock()/dax_read_unlock(), the SRCU read side against device removal. */
int ferrite_dax_read_lock(void);
void ferrite_dax_read_unlock(int id);
/* The page frame number of a pfn_t (as dax_direct_access returns it). */
unsigned long ferrite_pfn_t_to_pfn(pfn_t pfn);

/* dax/fault.c: the file of a faulting VMA, and whether the fault is a write to a shared mapping. */
struct file *ferrite_vmf_file(struct vm_fault *vmf);
int ferrite_vmf_shared_write(struct vm_fault *vmf);
/* Whether the faulting VMA is a MAP_SYNC mapping (VM_SYNC). */
int ferrite_vmf_sync(struct vm_fault *vmf);
/* The mapping and index of the page of frame pfn; false if pfn has no struct page. */
bool ferrite_dax_page_owner(unsigned long pfn, struct address_space **mapping, pgoff_t *index);
/*
 * mmap of a DAX file: refuses MAP_SYNC if the DAX device cannot honour it
 * (daxdev_mapping_supported), updates the access time, installs the operations, sets VM_HUGEPAGE.
 */
int ferrite_dax_mmap(struct file *file, struct vm_area_struct *vma, struct dax_device *dax,
		     const struct vm_operations_struct *ops);

/*
 * dax/layout.c: waits until page has no reference but its mapping's, dropping the mapping's
 * invalidate_lock (held exclusive) while it sleeps. 0, or -ERESTARTSYS on a signal.
 */
int ferrite_dax_wait_page_idle(struct page *page, struct address_space *mapping);

#endif
