/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prototypes of ferrite's C helpers (src/helpers.c). bindgen reads this header through
 * src/bindings_helper.h, so the Rust declarations always match the C definitions.
 */
#ifndef FERRITE_HELPERS_H
#define FERRITE_HELPERS_H

struct fs_context;

void ferrite_fc_error(struct fs_context *fc, const char *msg);

#endif
