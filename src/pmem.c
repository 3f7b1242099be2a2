// SPDX-License-Identifier: GPL-2.0
/*
 * C shims of src/pmem.rs: the persistence primitives, which are static inline.
 */
#include <linux/libnvdimm.h>
#include <linux/string.h>
#include "helpers.h"

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
