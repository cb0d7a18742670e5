/* tcpfs fs: the filesystem, as FUSE low-level operations.
 *
 * Layout: / holds kernel/, with one directory per kernel TCP socket
 * (see sockname.h) whose files come from one table (files.h). */
#ifndef TCPFS_FS_H
#define TCPFS_FS_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

struct fs;

/* A filesystem over the current network namespace; NULL with errno set. */
struct fs *fs_new(void);
/* Free it. */
void fs_free(struct fs *fs);
/* The operations to pass to fuse_session_new() with FS as userdata. */
extern const struct fuse_lowlevel_ops fs_ops;

#endif
