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

/* A table over the /proc at PROCDIR ("/proc" in the daemon). */
struct procpid *procpid_new(const char *procdir);
/* Free it. */
void procpid_free(struct procpid *pp);
/* Append "PID COMM\n" for every holder of socket INODE to OUT; NOW_MS is
 * the caller's clock, used to decide whether the last scan is still fresh. */
int procpid_render(struct procpid *pp, uint32_t inode, uint64_t now_ms,
		   struct buf *out);

#endif
