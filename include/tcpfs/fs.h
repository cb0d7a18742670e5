/* tcpfs fs: the filesystem, as FUSE low-level operations.
 *
 * Layout: / holds events, kernel/ with one directory per kernel TCP socket
 * (see sockname.h), and engine/ with clone and one directory per engine
 * connection; every connection's files come from one table (files.h). */
#ifndef TCPFS_FS_H
#define TCPFS_FS_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <stdbool.h>

#include "tcpfs/tundrv.h"

struct fs;
struct loop;

struct fs_config {
	bool engine; /* run the userspace engine on a TUN link */
	struct tundrv_config drv;
	tcp_time reap; /* closed engine connections live this long */
};

/* Fill CFG with the defaults: engine on, driver defaults, reap 300 s. */
void fs_config_default(struct fs_config *cfg);
/* A filesystem over the current network namespace, waiting for its own
 * sources (kernel events, the engine's link) in LOOP; NULL with errno set.
 * Without the engine (no privilege for TUN) it still serves the kernel
 * view and says why once in the log. */
struct fs *fs_new(struct loop *loop, const struct fs_config *cfg);
/* Free it: engine connections are dropped, the TUN device removed. */
void fs_free(struct fs *fs);
/* The operations to pass to fuse_session_new() with FS as userdata. */
extern const struct fuse_lowlevel_ops fs_ops;

#endif
