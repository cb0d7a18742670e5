/* tcpfs procpid: which processes hold a socket, from /proc/PID/fd.
 *
 * One scan of /proc fills a hash table from socket inode to (pid, comm);
 * lookups reuse it while it is young, so reading the pid file of every
 * socket costs one scan, not one per socket. */
#ifndef TCPFS_PROCPID_H
#define TCPFS_PROCPID_H

#include <stdint.h>

#include "tcpfs/buf.h"
#include "tcpfs/kind.h"

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
 * procpid_render - the holders of a socket, "PID COMM" a line, those WHO
 *                  could see in /proc
 * \param pp: the table
 * \param inode: the socket inode
 * \param who: the reader, or NULL for everyone. A holder is listed if WHO
 *             could read its /proc/PID/fd, as `ss -p` does: WHO is root,
 *             has CAP_SYS_PTRACE, or has the holder's uid and gid (real,
 *             effective and saved); /proc's hidepid hides no more
 * \param now_ms: the caller's clock, to judge whether the last scan is fresh
 * \param out: where the lines go
 * Returns 0; -ENOMEM; or opendir()'s -errno for PROCDIR (e.g. -ENOENT).
 */
int procpid_render(struct procpid *pp, uint32_t inode,
		   const struct kind_caller *who, uint64_t now_ms,
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
 * procpid_ptracer - whether a reader has CAP_SYS_PTRACE (it then sees every
 *                   holder), to ask once for many procpid_holders() calls
 * \param pp: the table
 * \param who: the reader, or NULL
 */
bool procpid_ptracer(const struct procpid *pp, const struct kind_caller *who);
/**
 * procpid_holders - the holders of a socket from the table as it is (after
 *                   procpid_refresh(): no scan, a miss is no holder) that
 *                   WHO could see (as procpid_render()), one
 *                   "PREFIX PID COMM" line each
 * \param pp: the table
 * \param inode: the socket inode
 * \param who: the reader, or NULL for everyone
 * \param ptracer: procpid_ptracer(PP, WHO)
 * \param prefix: what each line begins with, then a space
 * \param out: where the lines go (out->err on ENOMEM)
 * Returns how many holders it listed.
 */
int procpid_holders(struct procpid *pp, uint32_t inode,
		    const struct kind_caller *who, bool ptracer,
		    const char *prefix, struct buf *out);

#endif
