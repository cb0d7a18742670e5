/* Unit tests of src/bpf/kbpf_isn.c: the loader's iss/irs table, against a
 * plain array model under random puts, deletes and purges. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kbpf_isn.h"

#define UNIVERSE 6000 /* cookies 1..UNIVERSE */

struct model {
	int in[UNIVERSE + 1];
	uint32_t iss[UNIVERSE + 1];
	uint64_t expire[UNIVERSE + 1];
	size_t n;
};

static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Every cookie of the universe is found iff the model has it, with its
 * numbers; the counts agree. */
static void agree(const struct kbpf_isn_tab *t, const struct model *m)
{
	for (uint64_t c = 1; c <= UNIVERSE; c++) {
		struct kbpf_isn *p = kbpf_isn_find(t, c);

		if (!m->in[c]) {
			assert_null(p);
			continue;
		}
		assert_non_null(p);
		assert_int_equal(p->cookie, c);
		assert_int_equal(p->iss, m->iss[c]);
		assert_int_equal(p->irs, ~m->iss[c]);
		assert_int_equal(p->expire, m->expire[c]);
	}
	assert_int_equal(t->n, m->n);
}

static void test_empty(void **state)
{
	struct kbpf_isn_tab t = {0};

	(void)state;
	assert_null(kbpf_isn_find(&t, 1));
	kbpf_isn_del(&t, 1);
	assert_int_equal(kbpf_isn_purge(&t, 5), 0);
	assert_int_equal(kbpf_isn_put(&t, 7, 1, 2), 0);
	assert_null(kbpf_isn_find(&t, 0));
	assert_int_equal(kbpf_isn_find(&t, 7)->irs, 2);
	assert_int_equal(kbpf_isn_put(&t, 7, 3, 4), 0); /* replaces */
	assert_int_equal(t.n, 1);
	assert_int_equal(kbpf_isn_find(&t, 7)->iss, 3);
	/* nothing expired: the table is not copied */
	const struct kbpf_isn *was = t.v;
	kbpf_isn_find(&t, 7)->expire = 9;
	assert_int_equal(kbpf_isn_purge(&t, 8), 0);
	assert_ptr_equal(t.v, was);
	assert_int_equal(kbpf_isn_purge(&t, 9), 0);
	assert_null(kbpf_isn_find(&t, 7));
	assert_int_equal(kbpf_isn_put(&t, 7, 3, 4), 0);
	kbpf_isn_free(&t);
	assert_int_equal(t.n, 0);
	assert_null(kbpf_isn_find(&t, 7));
}

static void test_max(void **state)
{
	struct kbpf_isn_tab t = {.max = 3};

	(void)state;
	for (uint64_t c = 1; c <= 3; c++)
		assert_int_equal(kbpf_isn_put(&t, c, c, c), 0);
	assert_int_equal(kbpf_isn_put(&t, 4, 4, 4), -ENOSPC);
	assert_int_equal(kbpf_isn_put(&t, 2, 9, 9), 0); /* an update fits */
	kbpf_isn_del(&t, 1);
	assert_int_equal(kbpf_isn_put(&t, 4, 4, 4), 0);
	assert_int_equal(t.n, 3);
	kbpf_isn_free(&t);
}

/* Random operations, checked against the model after every step that
 * may move entries (growth, deletion, purge). */
static void test_random(void **state)
{
	static struct model m;
	struct kbpf_isn_tab t = {0};
	uint64_t now = 0;

	(void)state;
	memset(&m, 0, sizeof(m));
	for (int step = 0; step < 40000; step++) {
		uint64_t c = rnd() % UNIVERSE + 1, op = rnd() % 100;

		if (op < 55) {
			uint32_t iss = rnd();

			assert_int_equal(kbpf_isn_put(&t, c, iss, ~iss), 0);
			m.n += !m.in[c];
			m.in[c] = 1;
			m.iss[c] = iss;
			m.expire[c] = 0;
		} else if (op < 90) {
			kbpf_isn_del(&t, c);
			m.n -= m.in[c];
			m.in[c] = 0;
		} else if (op < 99) {
			struct kbpf_isn *p = kbpf_isn_find(&t, c);

			if (p) /* a TIME_WAIT: it ends some time later */
				p->expire = m.expire[c] = now + 1 + rnd() % 50;
		} else {
			now += rnd() % 40;
			assert_int_equal(kbpf_isn_purge(&t, now), 0);
			for (uint64_t d = 1; d <= UNIVERSE; d++)
				if (m.in[d] && m.expire[d] &&
				    m.expire[d] <= now) {
					m.in[d] = 0;
					m.n--;
				}
		}
		assert_true(t.n * 2 <= t.cap);
		if (step % 97 == 0 || op >= 99)
			agree(&t, &m);
	}
	agree(&t, &m);
	kbpf_isn_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_max),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
