/* tcpfs procpid: which processes hold a socket, from /proc/PID/fd.
 *
 * One scan of /proc fills a hash table from socket inode to (pid, comm);
 * lookups reuse it while it is young, so reading the pid file of every
 * socket costs one scan, not one per socket. */
#ifndef TCPFS_PROCPID_H
#define TCPFS_PROCPID_H

#include <stdint.h>

#include "tcpfs/buf.h"

struct procpid;

/**
 * procpid_new - a table of socket holders over a /proc
 * \param procdir: the /proc to scan ("/proc" in the daemon)
 * Returns it, or NULL with errno ENOMEM.
 */
struct procpid *procpid_new(const char *procdir);
/**
 * procpid_free - free the table
 * \param pp: it, or NULL
 */
void procpid_free(struct procpid *pp);
/**
 * procpid_render - the holders of a socket, "PID COMM" a line
 * \param pp: the table
 * \param inode: the socket inode
 * \param now_ms: the caller's clock, to judge whether the last scan is fresh
 * \param out: where the lines go
 * Returns 0; -ENOMEM; or opendir()'s -errno for PROCDIR (e.g. -ENOENT).
 */
int procpid_render(struct procpid *pp, uint32_t inode, uint64_t now_ms,
		   struct buf *out);
/**
 * procpid_refresh - a table young enough to answer for every socket at once
 *                   (the trust window of procpid_render()), scanned if not
 * \param pp: the table
 * \param now_ms: the caller's clock
 * Returns 0; -ENOMEM; or opendir()'s -errno for PROCDIR.
 */
int procpid_refresh(struct procpid *pp, uint64_t now_ms);
/**
 * procpid_holders - the holders of a socket from the table as it is (after
 *                   procpid_refresh(): no scan, a miss is no holder), one
 *                   "PREFIX PID COMM" line each
 * \param pp: the table
 * \param inode: the socket inode
 * \param prefix: what each line begins with, then a space
 * \param out: where the lines go (out->err on ENOMEM)
 * Returns how many holders it listed.
 */
int procpid_holders(struct procpid *pp, uint32_t inode, const char *prefix,
		    struct buf *out);

#endif
