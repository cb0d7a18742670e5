/* The event loop: epoll over a handful of fds, one callback each. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "tcpfs/loop.h"

/* FUSE, signals, netlink, tun, timer: a few fds, never many. */
#define LOOP_MAX 16

struct watch {
	int fd; /* -1: free */
	loop_fn fn;
	void *arg;
};

/* Work that follows every round of callbacks (the engine's dispatch). */
#define LOOP_AFTER_MAX 4

struct loop {
	int ep;
	struct watch w[LOOP_MAX];
	struct watch after[LOOP_AFTER_MAX]; /* fd unused */
	int nafter;
	uint64_t spin;	     /* ns to poll without sleeping after a round */
	uint64_t spin_until; /* CLOCK_MONOTONIC ns */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0) {
		free(l);
		return NULL;
	}
	for (int i = 0; i < LOOP_MAX; i++)
		l->w[i].fd = -1;
	return l;
}

void loop_free(struct loop *l)
{
	if (l) {
		close(l->ep);
		free(l);
	}
}

int loop_add(struct loop *l, int fd, loop_fn fn, void *arg)
{
	int i = 0;
	while (i < LOOP_MAX && l->w[i].fd >= 0)
		i++;
	if (i == LOOP_MAX)
		return -ENOSPC;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->w[i]};
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	l->w[i] = (struct watch){fd, fn, arg};
	return 0;
}

void loop_del(struct loop *l, int fd)
{
	for (int i = 0; i < LOOP_MAX; i++)
		if (l->w[i].fd == fd) {
			epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
			l->w[i].fd = -1;
		}
}

int loop_after(struct loop *l, loop_fn fn, void *arg)
{
	if (l->nafter == LOOP_AFTER_MAX)
		return -ENOSPC;
	l->after[l->nafter++] = (struct watch){-1, fn, arg};
	return 0;
}

void loop_after_del(struct loop *l, loop_fn fn, void *arg)
{
	for (int i = 0; i < l->nafter; i++)
		if (l->after[i].fn == fn && l->after[i].arg == arg) {
			l->after[i] = l->after[--l->nafter];
			return;
		}
}

void loop_spin(struct loop *l, uint64_t ns)
{
	l->spin = ns;
}

/* Wait for events into EV: polled until the spin after the last round
 * ends, then asleep. */
static int wait_events(struct loop *l, struct epoll_event *ev)
{
	while (l->spin && now_ns() < l->spin_until) {
		int n = epoll_wait(l->ep, ev, LOOP_MAX, 0);
		if (n != 0)
			return n;
	}
	return epoll_wait(l->ep, ev, LOOP_MAX, -1);
}

int loop_once(struct loop *l)
{
	struct epoll_event ev[LOOP_MAX];
	/* the work that follows the previous round (or the callers' calls
	 * before the first one) is done before sleeping */
	for (int i = 0; i < l->nafter; i++)
		l->after[i].fn(l->after[i].arg);
	int n = wait_events(l, ev);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct watch *w = ev[i].data.ptr;
		/* an earlier callback of this round may have removed it */
		if (w->fd >= 0)
			w->fn(w->arg);
	}
	if (l->spin && n > 0)
		l->spin_until = now_ns() + l->spin;
	return 0;
}
