// SPDX-License-Identifier: GPL-2.0
/*
 * C shims of dax/device.rs: the DAX SRCU read lock and pfn_t conversion, which are static
 * inline.
 */
#include <linux/dax.h>
#include <linux/pfn_t.h>
#include "dax.h"

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
