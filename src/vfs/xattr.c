// SPDX-License-Identifier: GPL-2.0
/* C shims of src/vfs/xattr.rs: no logic, only what Rust cannot call directly. */

#include <linux/fs.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <linux/security.h>
#include <linux/user_namespace.h>
#include <linux/xattr.h>
#include "xattr.h"

void ferrite_posix_acl_release(struct posix_acl *acl)
{
	posix_acl_release(acl);
}

struct posix_acl *ferrite_posix_acl_from_xattr(const void *value, size_t size)
{
	return posix_acl_from_xattr(&init_user_ns, value, size);
}

size_t ferrite_posix_acl_xattr_size(const struct posix_acl *acl)
{
	return posix_acl_xattr_size(acl->a_count);
}

int ferrite_posix_acl_to_xattr(const struct posix_acl *acl, void *buf, size_t size)
{
	return posix_acl_to_xattr(&init_user_ns, acl, buf, size);
}

static int ferrite_initxattrs(struct inode *inode, const struct xattr *xattrs, void *ctx)
{
	const struct xattr *x;
	int err;

	for (x = xattrs; x->name; x++) {
		err = ferrite_security_xattr(ctx, x->name, x->value, x->value_len);
		if (err)
			return err;
	}
	return 0;
}

int ferrite_init_security(struct inode *inode, struct inode *dir, const struct qstr *name,
			  void *ctx)
{
	return security_inode_init_security(inode, dir, name, ferrite_initxattrs, ctx);
}
