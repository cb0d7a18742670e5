/* The engine connections table: sorted by id whatever the order of adds;
 * the idle list in the order the entries went idle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

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

/* The ids of T's idle list, first to last, as "id@since ...". */
static void idle_list(struct edirs *t, char *out, size_t len)
{
	size_t n = 0;
	out[0] = 0;
	for (struct edir *ec = edirs_first_idle(t); ec && n < len;
	     ec = ec->inext)
		n += (size_t)snprintf(out + n, len - n, "%s%u@%llu",
				      n ? " " : "", ec->id,
				      (unsigned long long)ec->idle_since);
}

static void test_idle(void **state)
{
	(void)state;
	struct edirs *t = edirs_new();
	char s[128];
	for (uint32_t i = 1; i <= 4; i++)
		edirs_idle(t, edirs_add(t, i, 0), 10 * i);
	idle_list(t, s, sizeof(s));
	assert_string_equal(s, "1@10 2@20 3@30 4@40");
	edirs_idle(t, edirs_find(t, 1), 0); /* connected */
	edirs_idle(t, edirs_find(t, 3), 0);
	idle_list(t, s, sizeof(s));
	assert_string_equal(s, "2@20 4@40");
	assert_int_equal(edirs_find(t, 1)->idle_since, 0);
	edirs_idle(t, edirs_find(t, 1), 50); /* closed: last */
	edirs_idle(t, edirs_find(t, 4), 60); /* again: moves */
	idle_list(t, s, sizeof(s));
	assert_string_equal(s, "2@20 1@50 4@60");
	edirs_del(t, 1); /* reaped from the middle */
	edirs_del(t, 2); /* and the first */
	idle_list(t, s, sizeof(s));
	assert_string_equal(s, "4@60");
	edirs_del(t, 4);
	assert_null(edirs_first_idle(t));
	edirs_idle(t, edirs_find(t, 3), 70);
	idle_list(t, s, sizeof(s));
	assert_string_equal(s, "3@70");
	edirs_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_idle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
