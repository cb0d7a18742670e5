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

struct buf;
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
/**
 * fs_quiesce - answer every request that waits, before an upgrade
 * \param fs: the filesystem; a waiting connect is answered ECONNRESET (the
 *            engine's connections are reset), a write that took bytes that
 *            many, every other read or write ESTALE; pollers are woken.
 *            Served nothing after this, the process may exec.
 */
void fs_quiesce(struct fs *fs);
/**
 * fs_save - what a new image needs to go on serving the same mount
 * \param fs: the filesystem
 * \param b: appended to: the inode numbers of the connection directories
 *           the kernel knows, with their lookup counts, then what each
 *           kind's save op keeps; b->err on ENOMEM
 */
void fs_save(const struct fs *fs, struct buf *b);
/**
 * fs_restore - take over from the filesystem that fs_save() saved
 * \param fs: a new filesystem, that has served nothing yet
 * \param p: what fs_save() wrote, LEN bytes
 * Returns 0: the kernel's inode numbers mean what they meant, each kind
 * took what its save op kept (a kind's refusal, or kinds' state cut
 * short, is logged, not returned),
 * and files opened before answer ESTALE (their fh belong to the old
 * process);
 * -EINVAL if P is malformed or of another version, -ENOMEM; files opened
 * before are stale then too, once P's version and epoch could be read.
 */
int fs_restore(struct fs *fs, const void *p, size_t len);
/**
 * fs_restored - after fs_restore(), once SE answers the kernel again: the
 *               kernel forgets the attributes it cached of every restored
 *               connection's directory and files, for a name may now be
 *               another connection's (the new image's engine counts from 1)
 * \param fs: the filesystem
 * \param se: its session
 */
void fs_restored(struct fs *fs, struct fuse_session *se);
/* The operations to pass to fuse_session_new() with FS as userdata. */
extern const struct fuse_lowlevel_ops fs_ops;

#endif
