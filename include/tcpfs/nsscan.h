/* tcpfs nsscan: the network namespaces of the host, for netns/.
 *
 * One scan finds every namespace a process is in (PROC/PID/ns/net) and
 * every one bind-mounted in a runtime's directory (ip netns: /run/netns;
 * docker: /run/docker/netns; rootless podman: /run/user/UID/netns), with a
 * file to open each by (a bind mount where there is one: it outlives the
 * processes), its ip-netns name and a few of its processes. */
#ifndef TCPFS_NSSCAN_H
#define TCPFS_NSSCAN_H

#include <stdint.h>
#include <sys/types.h>

/* Processes kept per namespace (the first found, lowest pids first). */
#define NSSCAN_PIDS 8

/* One network namespace. */
struct nsscan_ns {
	uint64_t ino; /* its inode */
	char path[128]; /* a file that names it: a bind mount, or PROC/PID/ns/net */
	char name[64]; /* its ip-netns name (a file of a NAMED directory), or "" */
	int npids;
	pid_t pids[NSSCAN_PIDS];
	char comm[NSSCAN_PIDS][16];
};

struct nsscan;

/**
 * nsscan_new - a scanner; nothing is read until nsscan_refresh()
 * \param procdir: the /proc to scan ("/proc")
 * \param named: NULL-terminated directories whose files are ip-netns names
 * \param others: NULL-terminated directories (glob(7) patterns) of other
 *                runtimes' namespace bind mounts
 * The lists are kept, not copied. Returns it, or NULL with errno ENOMEM.
 */
struct nsscan *nsscan_new(const char *procdir, const char *const *named,
			  const char *const *others);
/**
 * nsscan_free - free a scanner
 * \param s: it, or NULL
 */
void nsscan_free(struct nsscan *s);
/**
 * nsscan_refresh - scan again if the last scan is older than MAX_AGE_MS
 * \param s: the scanner
 * \param now_ms: the caller's clock (CLOCK_MONOTONIC)
 * \param max_age_ms: 0: always
 * Returns 0; -ENOMEM; or opendir()'s -errno for PROCDIR.
 */
int nsscan_refresh(struct nsscan *s, uint64_t now_ms, uint64_t max_age_ms);
/**
 * nsscan_count - how many namespaces the last scan found
 * \param s: the scanner
 * Returns the number.
 */
int nsscan_count(const struct nsscan *s);
/**
 * nsscan_at - one namespace of the last scan
 * \param s: the scanner
 * \param i: from 0 to nsscan_count() - 1, in the order found
 * Returns it.
 */
const struct nsscan_ns *nsscan_at(const struct nsscan *s, int i);
/**
 * nsscan_find - a namespace of the last scan by inode
 * \param s: the scanner
 * \param ino: its inode
 * Returns it, or NULL.
 */
const struct nsscan_ns *nsscan_find(const struct nsscan *s, uint64_t ino);

#endif
