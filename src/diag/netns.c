/* The pool of sock_diag handles per network namespace (netns.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "tcpfs/log.h"
#include "tcpfs/netns.h"

struct netns_pool {
	bool pinned;
	netns_destroyed_fn destroyed;
	void *arg;
	int ep;	   /* epoll: the monitors and the timer */
	int timer; /* the idle check */
	int n;	   /* ns[0] is the home */
	struct netns ns[NETNS_OPEN_MAX];
	pid_t bad_pid; /* the last error logged, to log it once */
	int bad_err;
	struct {
		pid_t pid; /* 0: empty */
		uint64_t ino, at_us;
	} last; /* the last reader's namespace: see PID_FRESH_US */
	struct holder *holders; /* who holds which namespace, how often */
	int nholders, holders_cap;
};

/* UID holds namespace INO N times (netns_pool_hold()). */
struct holder {
	uid_t uid;
	uint64_t ino;
	int n;
};

/* A walk over `cat kernel/NAME/pid` asks a reader's namespace two or three
 * times in a row: the same thread's, found less than this long ago, is not
 * looked up again (a stat of /proc/PID/ns/net each). Only the thread itself
 * changes its namespace (setns, unshare): for this long after, it may be
 * answered from the one it was in. A pid is not reused that fast (pids are
 * handed out in a cycle over pid_max). */
#define PID_FRESH_US 1000

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t now_ms(void)
{
	return now_us() / 1000;
}

/* Close NS's handles (the slot stays). */
static void close_ns(struct netns_pool *p, struct netns *ns)
{
	if (ns->monitor)
		epoll_ctl(p->ep, EPOLL_CTL_DEL, diag_fd(ns->monitor), NULL);
	diag_close(ns->monitor);
	diag_close(ns->diag);
	if (ns->fd >= 0)
		close(ns->fd);
	ns->monitor = ns->diag = NULL;
	ns->fd = -1;
}

/* Open NS's handles in the calling thread's namespace; 0 or -errno. The
 * epoll entry names the slot by inode, which survives slots moving. */
static int open_here(struct netns_pool *p, struct netns *ns)
{
	if (!(ns->diag = diag_open()))
		return -errno;
	ns->monitor = diag_monitor_open();
	if (!ns->monitor) {
		tlog(LOG_WARNING,
		     "netns %llu: no destroy events of kernel sockets: %s",
		     (unsigned long long)ns->ino, strerror(errno));
		return 0;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ns->ino};
	if (epoll_ctl(p->ep, EPOLL_CTL_ADD, diag_fd(ns->monitor), &ev) < 0) {
		tlog(LOG_WARNING, "netns %llu: cannot watch its monitor: %s",
		     (unsigned long long)ns->ino, strerror(errno));
		diag_close(ns->monitor);
		ns->monitor = NULL;
	}
	return 0;
}

/* Whether the calling thread may enter other network namespaces: setns()
 * needs CAP_SYS_ADMIN. */
static bool may_setns(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {{0}};
	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	return d[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32));
}

struct netns_pool *netns_pool_new(bool pinned)
{
	struct netns_pool *p = calloc(1, sizeof(*p));
	struct stat st;
	int err = ENOMEM;
	if (!p)
		goto fail;
	if (!pinned && !may_setns()) {
		tlog(LOG_WARNING,
		     "without CAP_SYS_ADMIN the daemon cannot enter its "
		     "readers' network namespaces: every reader sees the "
		     "daemon's own, as with --netns");
		pinned = true;
	}
	*p = (struct netns_pool){.pinned = pinned, .timer = -1, .n = 1};
	p->ns[0].fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	p->ep = epoll_create1(EPOLL_CLOEXEC);
	p->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p->ns[0].fd < 0 || p->ep < 0 || p->timer < 0 ||
	    fstat(p->ns[0].fd, &st) < 0) {
		err = errno;
		goto fail;
	}
	p->ns[0].ino = st.st_ino;
	struct itimerspec its = {{NETNS_IDLE_MS / 2000, 0},
				 {NETNS_IDLE_MS / 2000, 0}};
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
	if (timerfd_settime(p->timer, 0, &its, NULL) < 0 ||
	    epoll_ctl(p->ep, EPOLL_CTL_ADD, p->timer, &ev) < 0) {
		err = errno;
		goto fail;
	}
	if ((err = -open_here(p, &p->ns[0])) == 0)
		return p;
fail:
	netns_pool_free(p);
	errno = err;
	return NULL;
}

void netns_pool_free(struct netns_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n; i++)
		close_ns(p, &p->ns[i]);
	if (p->timer >= 0)
		close(p->timer);
	if (p->ep >= 0)
		close(p->ep);
	free(p->holders);
	free(p);
}

void netns_pool_on_destroyed(struct netns_pool *p, netns_destroyed_fn fn,
			     void *arg)
{
	p->destroyed = fn;
	p->arg = arg;
}

bool netns_pool_pinned(const struct netns_pool *p)
{
	return p->pinned;
}

struct netns *netns_pool_home(struct netns_pool *p)
{
	return &p->ns[0];
}

static struct netns *lookup(struct netns_pool *p, uint64_t ino)
{
	for (int i = 0; i < p->n; i++)
		if (p->ns[i].ino == ino)
			return &p->ns[i];
	return NULL;
}

struct netns *netns_pool_find(struct netns_pool *p, uint64_t ino)
{
	struct netns *ns = lookup(p, ino);
	if (ns)
		ns->used_ms = now_ms();
	return ns;
}

/* Drop slot I (not the home): close it, move the last slot there. */
static void drop(struct netns_pool *p, int i)
{
	tlog(LOG_DEBUG, "netns %llu: closed (unused)",
	     (unsigned long long)p->ns[i].ino);
	close_ns(p, &p->ns[i]);
	p->ns[i] = p->ns[--p->n];
}

/* A free slot: a new one, or the one not held and unused longest; NULL
 * if every one is held. */
static struct netns *take_slot(struct netns_pool *p)
{
	if (p->n == NETNS_OPEN_MAX) {
		int old = 0;
		for (int i = 1; i < p->n; i++)
			if (!p->ns[i].holds &&
			    (!old || p->ns[i].used_ms < p->ns[old].used_ms))
				old = i;
		if (!old)
			return NULL;
		drop(p, old);
	}
	struct netns *ns = &p->ns[p->n++];
	*ns = (struct netns){.fd = -1};
	return ns;
}

/* Open the namespace of FD (inode INO) in a new slot, which owns FD from
 * now on (closed on failure); 0 or -errno. */
static int open_ns(struct netns_pool *p, int fd, uint64_t ino,
		   struct netns **out)
{
	struct netns *ns = take_slot(p);
	if (!ns) {
		close(fd);
		return -EMFILE;
	}
	ns->ino = ino;
	ns->fd = fd;
	int err = setns(fd, CLONE_NEWNET) < 0 ? -errno : open_here(p, ns);
	if (setns(p->ns[0].fd, CLONE_NEWNET) < 0)
		/* cannot happen to root with the fd it entered from; if it
		 * does, every later answer would be of the wrong namespace */
		tlog(LOG_CRIT, "netns: cannot return home: %s",
		     strerror(errno));
	if (err < 0) {
		close_ns(p, ns);
		p->n--;
		return err;
	}
	*out = ns;
	return 0;
}

/* Log ERR for PID with WHY, unless it was the last one logged. */
static int say(struct netns_pool *p, pid_t pid, int err, const char *why)
{
	if (pid != p->bad_pid || err != p->bad_err)
		tlog(LOG_NOTICE, "a reader (pid %d): %s: %s", (int)pid, why,
		     strerror(-err));
	p->bad_pid = pid;
	p->bad_err = err;
	return err;
}

/* The namespace PATH names, whose inode was INO: found, or opened. */
static int of_path(struct netns_pool *p, const char *path, uint64_t ino,
		   struct netns **out)
{
	struct netns *ns = lookup(p, ino);
	struct stat st;
	if (!ns) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		/* the process may have moved, or the mount gone, since */
		int err = fstat(fd, &st) < 0 ? -errno :
			  st.st_ino != ino   ? -ENOENT :
					       0;
		if (err < 0) {
			close(fd);
			return err;
		}
		if ((err = open_ns(p, fd, ino, &ns)) < 0) /* closed FD */
			return err;
		tlog(LOG_DEBUG, "netns %llu: opened from %s",
		     (unsigned long long)ino, path);
	}
	ns->used_ms = now_ms();
	*out = ns;
	return 0;
}

int netns_pool_of_path(struct netns_pool *p, const char *path, uint64_t ino,
		       struct netns **out)
{
	return of_path(p, path, ino, out);
}

int netns_pool_of_pid(struct netns_pool *p, pid_t pid, struct netns **out)
{
	char path[64];
	struct stat st;

	if (p->pinned) {
		*out = &p->ns[0];
		return 0;
	}
	if (pid <= 0)
		return say(p, pid, -EACCES,
			   "its pid is not visible in the daemon's pid "
			   "namespace, so neither is its network namespace");
	uint64_t now = now_us();
	if (p->last.pid == pid && now - p->last.at_us < PID_FRESH_US &&
	    (*out = netns_pool_find(p, p->last.ino)))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (stat(path, &st) < 0)
		return say(p, pid, errno == ENOENT ? -ESRCH : -errno,
			   "cannot find its network namespace");
	int err = of_path(p, path, st.st_ino, out);
	if (err < 0)
		return say(p, pid, err == -ENOENT ? -ESRCH : err,
			   "cannot open sock_diag in its network namespace");
	p->last.pid = pid;
	p->last.ino = st.st_ino;
	p->last.at_us = now;
	return 0;
}

static struct holder *holder(struct netns_pool *p, uid_t uid, uint64_t ino)
{
	for (int i = 0; i < p->nholders; i++)
		if (p->holders[i].uid == uid && p->holders[i].ino == ino)
			return &p->holders[i];
	return NULL;
}

/* Whether UID may hold one more namespace, NS, which it does not hold
 * yet: 0 or -EMFILE. */
static int may_hold(struct netns_pool *p, const struct netns *ns, uid_t uid)
{
	int held = 0, mine = 0;
	for (int i = 1; i < p->n; i++)
		held += p->ns[i].holds > 0;
	for (int i = 0; i < p->nholders; i++)
		mine += p->holders[i].uid == uid;
	if (!ns->holds && held >= NETNS_HELD_MAX) {
		tlog(LOG_NOTICE,
		     "netns %llu: not held for uid %u: %d "
		     "namespaces are held, the most there may be",
		     (unsigned long long)ns->ino, (unsigned)uid, held);
		return -EMFILE;
	}
	if (uid != 0 && mine >= NETNS_HELD_UID) {
		tlog(LOG_NOTICE,
		     "netns %llu: not held for uid %u: it holds "
		     "%d namespaces, the most one uid may",
		     (unsigned long long)ns->ino, (unsigned)uid, mine);
		return -EMFILE;
	}
	return 0;
}

int netns_pool_hold(struct netns_pool *p, struct netns *ns, uid_t uid)
{
	if (ns == &p->ns[0])
		return 0; /* open for ever */
	struct holder *h = holder(p, uid, ns->ino);
	if (!h) {
		int err = may_hold(p, ns, uid);
		if (err < 0)
			return err;
		if (p->nholders == p->holders_cap) {
			int cap = p->holders_cap ? 2 * p->holders_cap : 8;
			void *m = realloc(p->holders, cap * sizeof(*h));
			if (!m)
				return -ENOMEM;
			p->holders = m;
			p->holders_cap = cap;
		}
		h = &p->holders[p->nholders++];
		*h = (struct holder){uid, ns->ino, 0};
	}
	h->n++;
	ns->holds++;
	return 0;
}

void netns_pool_release(struct netns_pool *p, uint64_t ino, uid_t uid)
{
	struct netns *ns = lookup(p, ino);
	struct holder *h = holder(p, uid, ino);
	if (!ns || ns == &p->ns[0] || !h)
		return;
	if (!--h->n)
		*h = p->holders[--p->nholders];
	ns->holds--;
	ns->used_ms = now_ms(); /* idle from now on */
}

int netns_pool_enter(struct netns_pool *p, const struct netns *ns)
{
	if (ns == &p->ns[0])
		return 0;
	return setns(ns->fd, CLONE_NEWNET) < 0 ? -errno : 0;
}

void netns_pool_leave(struct netns_pool *p, const struct netns *ns)
{
	if (ns != &p->ns[0] && setns(p->ns[0].fd, CLONE_NEWNET) < 0)
		tlog(LOG_CRIT, "netns: cannot return home: %s",
		     strerror(errno));
}

int netns_pool_fd(const struct netns_pool *p)
{
	return p->ep;
}

struct said {
	struct netns_pool *p;
	const struct netns *ns;
};

static void on_destroyed(const struct diag_sock *s, void *arg)
{
	struct said *sd = arg;
	if (sd->p->destroyed)
		sd->p->destroyed(sd->ns, s, sd->p->arg);
}

/* Close the namespaces (not the home) unused for NETNS_IDLE_MS. */
static void expire(struct netns_pool *p)
{
	uint64_t ticks, now = now_ms();
	if (read(p->timer, &ticks, sizeof(ticks)) < 0)
		return;
	for (int i = p->n - 1; i > 0; i--)
		if (!p->ns[i].holds && now - p->ns[i].used_ms >= NETNS_IDLE_MS)
			drop(p, i);
}

void netns_pool_run(struct netns_pool *p)
{
	struct epoll_event ev[16];
	int n = epoll_wait(p->ep, ev, 16, 0);
	bool timer = false;
	for (int i = 0; i < n; i++) {
		struct netns *ns = lookup(p, ev[i].data.u64);
		if (ev[i].data.u64 == 0)
			timer = true;
		else if (ns && ns->monitor) {
			struct said sd = {p, ns};
			if (diag_monitor_read(ns->monitor, on_destroyed, &sd) ==
				    -ENOBUFS &&
			    p->destroyed)
				p->destroyed(ns, NULL, p->arg);
		}
	}
	/* last: closing slots moves them */
	if (timer)
		expire(p);
}
