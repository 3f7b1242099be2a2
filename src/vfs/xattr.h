/* SPDX-License-Identifier: GPL-2.0 */
/* C shims of src/vfs/xattr.rs: the static inline ACL helpers and the initial user namespace. */
#ifndef FERRITE_VFS_XATTR_H
#define FERRITE_VFS_XATTR_H

#include <linux/types.h>

struct posix_acl;
struct inode;
struct qstr;

/* posix_acl_release(). */
void ferrite_posix_acl_release(struct posix_acl *acl);
/* posix_acl_from_xattr(&init_user_ns, ...): NULL for an empty value, an ERR_PTR when invalid. */
struct posix_acl *ferrite_posix_acl_from_xattr(const void *value, size_t size);
/* The size of the xattr form of acl (posix_acl_xattr_size()). */
size_t ferrite_posix_acl_xattr_size(const struct posix_acl *acl);
/* posix_acl_to_xattr(&init_user_ns, ...): the bytes written or a negative errno. */
int ferrite_posix_acl_to_xattr(const struct posix_acl *acl, void *buf, size_t size);
/*
 * security_inode_init_security() with a callback that hands each initial attribute to
 * ferrite_security_xattr(ctx, name, value, len) (a Rust function); 0 or a negative errno.
 */
int ferrite_init_security(struct inode *inode, struct inode *dir, const struct qstr *name,
			  void *ctx);
/* Defined in Rust (src/vfs/xattr.rs): records one initial security attribute. */
int ferrite_security_xattr(void *ctx, const char *name, const void *value, size_t len);

#endif
