/* tcpfs netns: sock_diag handles per network namespace, for kernel/ to show
 * each reader its own namespace (as /proc/net/tcp does).
 *
 * A pool starts in the namespace its creator runs in (after --netns), its
 * home, whose handles stay open for its life. A reader in another
 * namespace (found from /proc/PID/ns/net of the request's pid) gets that
 * namespace's handles, opened in it (setns there, socket(), setns back: the
 * daemon is single-threaded) and cached by namespace inode; handles unused
 * for NETNS_IDLE_MS are closed, so a namespace nobody reads is not kept
 * alive by the daemon for longer than that. A pinned pool gives every
 * reader its home (--netns).
 *
 * The destroy monitors of every open namespace and the idle timer are
 * watched through one fd (netns_pool_fd()), so the loop needs one slot. */
#ifndef TCPFS_NETNS_H
#define TCPFS_NETNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tcpfs/diag.h"

/* A namespace's handles are closed after this long unused. */
#define NETNS_IDLE_MS 10000
/* Most namespaces open at once, home included; the one not held and
 * unused longest goes to make room. */
#define NETNS_OPEN_MAX 64
/* Most namespaces held at once, home not counted: the rest of the pool
 * stays for readers that come and go, whoever holds the others. */
#define NETNS_HELD_MAX 48
/* Most namespaces one uid other than root holds at once. */
#define NETNS_HELD_UID 8

/* One network namespace in use. */
struct netns {
	uint64_t ino;	      /* the namespace's inode (its nsfs inode) */
	struct diag *diag;    /* sock_diag, in the namespace */
	struct diag *monitor; /* its destroy monitor, or NULL */
	int fd;		      /* the namespace, for setns */
	uint64_t used_ms;     /* last use, CLOCK_MONOTONIC */
	int holds;	      /* netns_pool_hold()s: never closed while held */
};

struct netns_pool;

/* Called for each socket the kernel destroys in an open namespace NS;
 * S is NULL when the kernel dropped notifications (netlink overrun). */
typedef void (*netns_destroyed_fn)(const struct netns *ns,
				   const struct diag_sock *s, void *arg);

/**
 * netns_pool_new - a pool whose home is the calling thread's namespace
 * \param pinned: true: every reader gets the home namespace (--netns);
 *                without CAP_SYS_ADMIN (setns) the pool is pinned all the
 *                same, and says so in the log
 * Opens the home's sock_diag socket and destroy monitor (a monitor that
 * cannot be opened is logged and left out). Returns the pool, or NULL
 * with errno: of opening /proc/thread-self/ns/net, of diag_open(), of
 * epoll or timerfd, or ENOMEM.
 */
struct netns_pool *netns_pool_new(bool pinned);
/**
 * netns_pool_on_destroyed - who is told of destroyed sockets
 * \param p: the pool
 * \param fn: called with ARG by netns_pool_run() for each; until this is
 *            called, they are read and dropped
 */
void netns_pool_on_destroyed(struct netns_pool *p, netns_destroyed_fn fn,
			     void *arg);
/**
 * netns_pool_free - close every namespace's handles and free the pool
 * \param p: it, or NULL
 */
void netns_pool_free(struct netns_pool *p);
/**
 * netns_pool_pinned - whether every reader gets the home namespace
 * \param p: the pool
 * Returns what netns_pool_new() was told.
 */
bool netns_pool_pinned(const struct netns_pool *p);
/**
 * netns_pool_home - the home namespace
 * \param p: the pool
 * Returns it; its handles stay open as long as the pool.
 */
struct netns *netns_pool_home(struct netns_pool *p);
/**
 * netns_pool_of_pid - the namespace of a process, its handles opened
 * \param p: the pool
 * \param pid: the process (a thread id works: threads may differ)
 * \param out: set to the namespace, valid until the next netns_pool_run()
 * Returns 0; -EACCES for pid 0 (a reader the daemon's pid namespace cannot
 * see) or a namespace the daemon may not enter; -ESRCH if the process is
 * gone; -EMFILE if NETNS_OPEN_MAX namespaces are held; or the -errno of
 * opening the handles in it. Every error is logged
 * with its reason (once per pid and errno in a row).
 */
int netns_pool_of_pid(struct netns_pool *p, pid_t pid, struct netns **out);
/**
 * netns_pool_of_path - a namespace by a file that names it, its handles
 *                      opened
 * \param p: the pool
 * \param path: the file (a bind mount, /proc/PID/ns/net)
 * \param ino: the namespace's inode, which PATH must still name
 * \param out: set to the namespace, valid until the next netns_pool_run()
 * Returns 0; -ENOENT if PATH is gone or names another namespace now;
 * -EACCES; or the -errno of opening the handles in it.
 */
int netns_pool_of_path(struct netns_pool *p, const char *path, uint64_t ino,
		       struct netns **out);
/**
 * netns_pool_find - a namespace already open, marked used now
 * \param p: the pool
 * \param ino: its inode
 * Returns it, or NULL if it is not open (never opened, or closed idle).
 */
struct netns *netns_pool_find(struct netns_pool *p, uint64_t ino);
/**
 * netns_pool_hold - keep a namespace's handles open, idle or not (for an
 *                   events reader there: its destroy monitor)
 * \param p: the pool
 * \param ns: an open namespace of P
 * \param uid: for whom
 * Returns 0; -EMFILE (logged with its reason) if NS is not held yet and
 * NETNS_HELD_MAX are, or if UID is not root, does not hold NS yet and
 * holds NETNS_HELD_UID; or -ENOMEM. The home needs no holding: 0.
 */
int netns_pool_hold(struct netns_pool *p, struct netns *ns, uid_t uid);
/**
 * netns_pool_release - undo one netns_pool_hold() of UID; idle from now on
 * \param p: the pool
 * \param ino: the namespace's inode; nothing happens if it is not open
 *             or not held by UID
 * \param uid: as given to netns_pool_hold()
 */
void netns_pool_release(struct netns_pool *p, uint64_t ino, uid_t uid);
/**
 * netns_pool_enter - move the calling thread into a namespace for a call
 *                    that works in the caller's namespace (kbpf_seq())
 * \param p: the pool
 * \param ns: an open namespace of P; the home costs nothing
 * Returns 0 or setns()'s -errno. Call netns_pool_leave() after.
 */
int netns_pool_enter(struct netns_pool *p, const struct netns *ns);
/**
 * netns_pool_leave - back to the home namespace after netns_pool_enter()
 * \param p: the pool
 * \param ns: as given to netns_pool_enter()
 */
void netns_pool_leave(struct netns_pool *p, const struct netns *ns);
/**
 * netns_pool_fd - the fd to poll: readable when a monitor has news or the
 *                 idle timer fired
 * \param p: the pool
 * Returns the fd (an epoll fd).
 */
int netns_pool_fd(const struct netns_pool *p);
/**
 * netns_pool_run - read the monitors that have news (calling destroyed)
 *                  and close the namespaces unused for NETNS_IDLE_MS
 * \param p: the pool
 */
void netns_pool_run(struct netns_pool *p);

#endif
