/* tcpfs fs: the filesystem, as FUSE low-level operations.
 *
 * Layout: / holds events and kernel/, with one directory per kernel TCP socket
 * (see sockname.h) whose files come from one table (files.h). */
#ifndef TCPFS_FS_H
#define TCPFS_FS_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

struct fs;
struct loop;

/* A filesystem over the current network namespace, waiting for its own
 * sources (kernel events) in LOOP; NULL with errno set. */
struct fs *fs_new(struct loop *loop);
/* Free it. */
void fs_free(struct fs *fs);
/* The operations to pass to fuse_session_new() with FS as userdata. */
extern const struct fuse_lowlevel_ops fs_ops;

#endif
