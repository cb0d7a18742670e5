/* Wait queues: order, removal from inside a wake, re-adding, no limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "tcpfs/waitq.h"

struct t {
	struct waiter w;
	struct waitq *wq; /* re-add to it when woken, if set */
	struct t *victim; /* take it off when woken, if set */
	int woken, order;
};

static int counter;

static void on_wake(struct waiter *w)
{
	struct t *t = (struct t *)w;
	t->woken++;
	t->order = ++counter;
	if (t->victim)
		waiter_del(&t->victim->w);
	if (t->wq)
		waitq_add(t->wq, &t->w);
}

static void test_order(void **state)
{
	(void)state;
	struct waitq wq;
	struct t a = {0}, b = {0}, c = {0};
	waitq_init(&wq);
	waiter_init(&a.w, on_wake);
	waiter_init(&b.w, on_wake);
	waiter_init(&c.w, on_wake);
	assert_true(waitq_empty(&wq));
	waitq_add(&wq, &a.w);
	waitq_add(&wq, &b.w);
	waitq_add(&wq, &c.w);
	waiter_del(&b.w);
	waiter_del(&b.w); /* twice is harmless */
	assert_false(waiter_queued(&b.w));
	counter = 0;
	waitq_wake(&wq);
	assert_int_equal(a.order, 1);
	assert_int_equal(c.order, 2);
	assert_int_equal(b.woken, 0);
	assert_true(waitq_empty(&wq));
	waitq_wake(&wq); /* nothing left: nobody woken again */
	assert_int_equal(a.woken, 1);
}

static void test_callbacks_change_the_queue(void **state)
{
	(void)state;
	struct waitq wq;
	struct t a = {0}, b = {0}, c = {0};
	waitq_init(&wq);
	waiter_init(&a.w, on_wake);
	waiter_init(&b.w, on_wake);
	waiter_init(&c.w, on_wake);
	a.victim = &b; /* a takes b off before b is woken */
	c.wq = &wq;    /* c goes back on: woken next time, not now */
	waitq_add(&wq, &a.w);
	waitq_add(&wq, &b.w);
	waitq_add(&wq, &c.w);
	waitq_wake(&wq);
	assert_int_equal(a.woken, 1);
	assert_int_equal(b.woken, 0);
	assert_int_equal(c.woken, 1);
	assert_true(waiter_queued(&c.w));
	c.wq = NULL;
	waitq_wake(&wq);
	assert_int_equal(c.woken, 2);
	assert_true(waitq_empty(&wq));
}

static void test_no_limit(void **state)
{
	(void)state;
	enum { N = 1000 };
	struct waitq wq;
	struct t *t = calloc(N, sizeof(*t));
	waitq_init(&wq);
	for (int i = 0; i < N; i++) {
		waiter_init(&t[i].w, on_wake);
		waitq_add(&wq, &t[i].w);
	}
	waitq_wake(&wq);
	for (int i = 0; i < N; i++)
		assert_int_equal(t[i].woken, 1);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_callbacks_change_the_queue),
		cmocka_unit_test(test_no_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
