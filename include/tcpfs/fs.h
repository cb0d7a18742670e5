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
#include "tcpfs/ladder.h"

/* Most kinds a filesystem serves. */
#define FS_KINDS_MAX 4

struct events;
struct fs;

/**
 * fs_new - a filesystem over its kinds
 * \param events: the hub its events file reads
 * \param kinds: the kinds, copied (they must outlive it); root order
 * \param nkinds: how many, at most FS_KINDS_MAX
 * Returns it; NULL with errno ENOMEM, or EINVAL for too many kinds.
 */
struct fs *fs_new(struct events *events, const struct kind *kinds, int nkinds);
/**
 * fs_free - free a filesystem, before its kinds and hub
 * \param fs: it, or NULL; every open file and waiting request it still
 *            has goes too, unanswered (the session is gone)
 */
void fs_free(struct fs *fs);
/**
 * fs_ladder_style - how the ladder files draw (ladder.h)
 * \param fs: the filesystem; until this call, ladder_style_default()'s
 * \param st: the style, copied
 */
void fs_ladder_style(struct fs *fs, const struct ladder_style *st);
/* The operations to pass to fuse_session_new() with FS as userdata. */
extern const struct fuse_lowlevel_ops fs_ops;

#endif
