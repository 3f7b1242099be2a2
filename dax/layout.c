// SPDX-License-Identifier: GPL-2.0
/*
 * C shim of dax/layout.rs: the wait for a pinned DAX page, which is the ___wait_var_event macro.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/wait_bit.h>

#include "dax.h"

/* Lets the holder of a pinned DAX page run while ferrite_dax_wait_page_idle() waits for it. */
static void ferrite_unlock_schedule_lock(struct address_space *mapping)
{
	filemap_invalidate_unlock(mapping);
	schedule();
	filemap_invalidate_lock(mapping);
}

int ferrite_dax_wait_page_idle(struct page *page, struct address_space *mapping)
{
	/* The last reference but the mapping's own is dropped: wake_up_var(&_refcount). */
	return ___wait_var_event(&page->_refcount, atomic_read(&page->_refcount) == 1,
				 TASK_INTERRUPTIBLE, 0, 0, ferrite_unlock_schedule_lock(mapping));
}
