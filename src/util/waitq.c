/* Wait queues: intrusive circular lists of waiters. */
#include <stddef.h>

#include "tcpfs/waitq.h"

void waitq_init(struct waitq *wq)
{
	wq->head.prev = wq->head.next = &wq->head;
	wq->head.wake = NULL;
}

void waiter_init(struct waiter *w, waiter_fn wake)
{
	w->prev = w->next = NULL;
	w->wake = wake;
}

bool waitq_empty(const struct waitq *wq)
{
	return wq->head.next == &wq->head;
}

static void link_before(struct waiter *at, struct waiter *w)
{
	w->next = at;
	w->prev = at->prev;
	at->prev->next = w;
	at->prev = w;
}

void waitq_add(struct waitq *wq, struct waiter *w)
{
	link_before(&wq->head, w);
}

void waiter_del(struct waiter *w)
{
	if (!w->next)
		return;
	w->prev->next = w->next;
	w->next->prev = w->prev;
	w->prev = w->next = NULL;
}

bool waiter_queued(const struct waiter *w)
{
	return w->next != NULL;
}

void waitq_wake(struct waitq *wq)
{
	/* Move the waiters to a list of this wake's own: what a callback
	 * puts back on WQ is not woken twice, and what it takes off the
	 * private list is simply not woken. */
	struct waitq now;
	waitq_init(&now);
	if (waitq_empty(wq))
		return;
	now.head.next = wq->head.next;
	now.head.prev = wq->head.prev;
	now.head.next->prev = now.head.prev->next = &now.head;
	waitq_init(wq);
	while (!waitq_empty(&now)) {
		struct waiter *w = now.head.next;
		waiter_del(w);
		w->wake(w);
	}
}
