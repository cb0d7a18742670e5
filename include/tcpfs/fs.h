/* tcpfs fs: the filesystem, as FUSE low-level operations.
 *
 * Layout: / holds events and one directory per kind of connection (kind.h),
 * in the order given: kernel/ with one directory per kernel TCP socket,
 * engine/ with clone and one directory per engine connection. fs owns the
 * inodes, permissions, snapshots, the requests that wait and every reply;
 * the kinds own their connections. */
#ifndef TCPFS_FS_H
#define TCPFS_FS_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include "tcpfs/kind.h"

/* Most kinds a filesystem serves. */
#define FS_KINDS_MAX 4

struct events;
struct fs;

/* A filesystem over the NKINDS kinds at KINDS (copied; they must outlive
 * it), whose events file reads EVENTS. NULL with errno ENOMEM, or EINVAL
 * for more than FS_KINDS_MAX kinds. */
struct fs *fs_new(struct events *events, const struct kind *kinds, int nkinds);
/* Free FS and every open file and waiting request it still has (without
 * answering them: the session is gone); free it before its kinds. */
void fs_free(struct fs *fs);
/* The operations to pass to fuse_session_new() with FS as userdata. */
extern const struct fuse_lowlevel_ops fs_ops;

#endif
