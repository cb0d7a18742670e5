/* The sets of socket cookies the kernel kind keeps of each listing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cookieset.h"

static void test_empty(void **state)
{
	(void)state;
	struct cookieset s = {0};
	assert_false(cookieset_has(&s, 1));
	assert_false(cookieset_has(&s, 0));
	cookieset_clear(&s);
	cookieset_free(&s);
}

static void test_add_twice(void **state)
{
	(void)state;
	struct cookieset s = {0};
	assert_int_equal(cookieset_add(&s, 7), 0);
	assert_int_equal(cookieset_add(&s, 7), 0);
	assert_int_equal(s.n, 1);
	assert_true(cookieset_has(&s, 7));
	assert_false(cookieset_has(&s, 8));
	cookieset_free(&s);
	assert_false(cookieset_has(&s, 7));
}

/* Against a plain array: cookies in runs (as the kernel's per-CPU
 * batches hand them out) and far apart, through several growths; a
 * clear empties the set and keeps its room. */
static void test_against_reference(void **state)
{
	(void)state;
	enum { N = 50000 };
	uint64_t *in = malloc(N * sizeof(*in));
	struct cookieset s = {0};
	assert_non_null(in);
	srand(9293);
	for (size_t i = 0; i < N; i++) {
		in[i] = i % 2 ? 4096 * (uint64_t)(i / 512) + i % 512 + 1 :
				((uint64_t)rand() << 33 | (uint64_t)rand()) + 1;
		assert_int_equal(cookieset_add(&s, in[i]), 0);
	}
	assert_int_equal(s.n, N);
	assert_true(s.n * 2 <= s.mask + 1);
	for (size_t i = 0; i < N; i++) {
		assert_true(cookieset_has(&s, in[i]));
		/* odd cookies' neighbours above the run are not in it */
		if (i % 2 && i % 512 == 511)
			assert_false(cookieset_has(&s, in[i] + 1));
	}
	size_t room = s.mask;
	cookieset_clear(&s);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.mask, room);
	for (size_t i = 0; i < N; i++)
		assert_false(cookieset_has(&s, in[i]));
	cookieset_free(&s);
	free(in);
}

/* A list appended in any order answers as a set does, sorted at the
 * first question; appended again after a clear, it sorts again. */
static void test_list(void **state)
{
	(void)state;
	enum { N = 20000 };
	struct cookielist l = {0};
	assert_false(cookielist_has(&l, 1));
	for (uint64_t round = 0; round < 2; round++) {
		cookielist_clear(&l);
		/* the even cookies 2 to 2N, in an order of each round's */
		for (uint64_t i = 0; i < N; i++)
			assert_int_equal(
				cookielist_add(
					&l,
					2 + 2 * ((i * 7919 + round * 13) % N)),
				0);
		for (uint64_t c = 0; c <= 2 * N + 2; c++)
			assert_int_equal(cookielist_has(&l, c),
					 c % 2 == 0 && c >= 2 && c <= 2 * N);
	}
	cookielist_free(&l);
	assert_false(cookielist_has(&l, 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_add_twice),
		cmocka_unit_test(test_against_reference),
		cmocka_unit_test(test_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
