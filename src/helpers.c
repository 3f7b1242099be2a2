// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for ferrite: kernel functions that are static inline or macros, which Rust cannot call
 * directly. Each is a thin wrapper with no logic of its own.
 */
#include <linux/fs_context.h>

#include "helpers.h"

/*
 * Log an error against a mount context, prefixed with the filesystem name (shown by mount(8) with
 * the new mount API, and in the kernel log otherwise).
 */
void ferrite_fc_error(struct fs_context *fc, const char *msg)
{
	errorfc(fc, "%s", msg);
}
