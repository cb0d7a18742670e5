/* The engine connections table: sorted by id whatever the order of adds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "edir.h"

static void test_order(void **state)
{
	(void)state;
	struct edirs *t = edirs_new();
	/* 5 and 9 are clones; 7 is a connection accepted after them */
	assert_non_null(edirs_add(t, 5, 1000));
	assert_non_null(edirs_add(t, 9, 1000));
	struct edir *late = edirs_add(t, 7, 0);
	assert_non_null(late);
	assert_string_equal(late->label, "engine/7");
	assert_int_equal(edirs_count(t), 3);
	assert_int_equal(edirs_at(t, 0)->id, 5);
	assert_int_equal(edirs_at(t, 1)->id, 7);
	assert_int_equal(edirs_at(t, 2)->id, 9);
	assert_ptr_equal(edirs_find(t, 7), late);
	assert_null(edirs_find(t, 8));
	assert_null(edirs_add(t, 9, 0)); /* already there */
	edirs_del(t, 5);
	edirs_del(t, 8); /* not there: nothing happens */
	assert_int_equal(edirs_count(t), 2);
	assert_int_equal(edirs_at(t, 0)->id, 7);
	assert_int_equal(edirs_find(t, 9)->owner, 1000);
	edirs_free(t);
}

static void test_many(void **state)
{
	(void)state;
	struct edirs *t = edirs_new();
	for (uint32_t i = 1000; i > 0; i--) /* the worst order */
		assert_non_null(edirs_add(t, i * 3, i));
	for (uint32_t i = 1; i <= 1000; i++) {
		assert_int_equal(edirs_at(t, i - 1)->id, i * 3);
		assert_null(edirs_find(t, i * 3 + 1));
	}
	edirs_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
