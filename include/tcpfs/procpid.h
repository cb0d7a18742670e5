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
 *             could list its /proc/PID/fd and read the links there, as
 *             `ss -p` does: the kernel's ptrace_may_access() in read mode
 *             (the same uid and gid, real, effective and saved, and
 *             permitted capabilities within WHO's in its user namespace;
 *             or CAP_SYS_PTRACE over the holder's user namespace, which a
 *             holder that is not dumpable asks even of its own uid) and the
 *             fd directory's owner (root for a process that is not
 *             dumpable: CAP_DAC_READ_SEARCH then). A reader whose process
 *             the daemon cannot see (pid 0) sees none. /proc's hidepid
 *             hides no more
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
/* A reader as procpid_render() judges it, read once from its /proc/PID
 * for many procpid_holders() calls. */
struct procpid_reader {
	bool all;    /* no reader: every holder is listed */
	bool known;  /* its status was read: else it sees none */
	pid_t tgid;  /* its process */
	uid_t fsuid; /* as FUSE gave them */
	gid_t fsgid;
	uid_t euid;
	uint64_t capeff; /* its effective capabilities */
	uint64_t userns; /* the inode of its user namespace */
};

/**
 * procpid_reader - read what procpid_holders() judges a reader by (the
 *                  same pid with the same ids is read again after 1 ms)
 * \param pp: the table (its /proc)
 * \param who: the reader, or NULL for everyone
 * \param r: filled; a reader gone from /proc sees no holder
 */
void procpid_reader(struct procpid *pp, const struct kind_caller *who,
		    struct procpid_reader *r);
/**
 * procpid_holders - the holders of a socket that the reader could see (as
 *                   procpid_render(), with its trust window: after
 *                   procpid_refresh(), a socket the table misses scans
 *                   again if the table is older than 100 ms), one
 *                   "PREFIX PID COMM" line each
 * \param pp: the table
 * \param inode: the socket inode
 * \param r: the reader, from procpid_reader()
 * \param prefix: what each line begins with, then a space
 * \param now_ms: the caller's clock
 * \param out: where the lines go (out->err on ENOMEM)
 * Returns how many holders it listed (none if a scan failed).
 */
int procpid_holders(struct procpid *pp, uint32_t inode,
		    const struct procpid_reader *r, const char *prefix,
		    uint64_t now_ms, struct buf *out);

#endif
