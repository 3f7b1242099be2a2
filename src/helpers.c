// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for ferrite: kernel functions that are static inline or macros, which Rust cannot call
 * directly. Each is a thin wrapper with no logic of its own.
 */
#include <linux/fs_context.h>

#include "helpers.h"

/* Log an error against a mount context (shown by mount(8) and in the kernel log). */
void ferrite_fc_error(struct fs_context *fc, const char *msg)
{
	errorf(fc, "%s", msg);
}
