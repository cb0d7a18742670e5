/* tcpfs waitq: who waits for something, woken when it happens.
 *
 * A wait queue is an intrusive list of waiters, each with a wake callback.
 * Whatever can become ready (a connection, an events subscriber) owns one;
 * whoever waits (a parked request, a poll handle) puts a waiter on it. No
 * limit on the number of waiters; nothing is allocated here. */
#ifndef TCPFS_WAITQ_H
#define TCPFS_WAITQ_H

#include <stdbool.h>

struct waiter;
/* Called by waitq_wake() with W already off its queue. */
typedef void (*waiter_fn)(struct waiter *w);

struct waiter {
	struct waiter *prev, *next; /* both NULL: on no queue */
	waiter_fn wake;
};

struct waitq {
	struct waiter head; /* of a circular list; wake unused */
};

/* Make WQ an empty queue. */
void waitq_init(struct waitq *wq);
/* Make W a waiter that is on no queue and calls WAKE when woken. */
void waiter_init(struct waiter *w, waiter_fn wake);
/* True if WQ has no waiter. */
bool waitq_empty(const struct waitq *wq);
/* Put W (on no queue) at the end of WQ. */
void waitq_add(struct waitq *wq, struct waiter *w);
/* Take W off its queue; nothing if it is on none. */
void waiter_del(struct waiter *w);
/* True if W is on a queue. */
bool waiter_queued(const struct waiter *w);
/* Wake every waiter on WQ, oldest first: each is taken off, then its
 * callback runs. A callback may free itself, put itself back on WQ (it is
 * then woken at the next wake, not again now), or take any other waiter
 * off; waiters added during the wake wait for the next one. */
void waitq_wake(struct waitq *wq);

#endif
