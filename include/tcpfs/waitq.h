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

/**
 * waitq_init - make an empty queue
 * \param wq: the queue
 */
void waitq_init(struct waitq *wq);
/**
 * waiter_init - make a waiter that is on no queue
 * \param w: the waiter
 * \param wake: what waitq_wake() calls, W already off the queue
 */
void waiter_init(struct waiter *w, waiter_fn wake);
/**
 * waitq_empty - whether nobody waits
 * \param wq: the queue
 * Returns true if WQ has no waiter.
 */
bool waitq_empty(const struct waitq *wq);
/**
 * waitq_add - wait, last in line
 * \param wq: the queue
 * \param w: a waiter on no queue
 */
void waitq_add(struct waitq *wq, struct waiter *w);
/**
 * waiter_del - stop waiting
 * \param w: the waiter; nothing happens if it is on no queue
 */
void waiter_del(struct waiter *w);
/**
 * waiter_queued - whether a waiter waits
 * \param w: the waiter
 * Returns true if W is on a queue.
 */
bool waiter_queued(const struct waiter *w);
/**
 * waitq_wake - wake every waiter, oldest first
 * \param wq: the queue; each waiter is taken off, then its callback runs.
 *             A callback may free itself, put itself back on WQ (woken at
 *             the next wake, not again now) or take any other waiter off;
 *             waiters added during the wake wait for the next one.
 */
void waitq_wake(struct waitq *wq);

#endif
