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

#endif
