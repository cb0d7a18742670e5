/* Inode numbers of connection directories and their files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "node.h"

static void test_files_lead_to_their_directory(void **state)
{
	(void)state;
	struct nodes *t = nodes_new();
	struct node *a = nodes_add(t, "a"), *b = nodes_add(t, "b");
	assert_non_null(a);
	assert_true(a->ino >= NODE_FIXED);
	assert_true(a->ino != b->ino);
	assert_ptr_equal(nodes_add(t, "a"), a);
	assert_ptr_equal(nodes_find(t, "b"), b);
	assert_ptr_equal(nodes_get(t, a->ino), a);
	assert_ptr_equal(nodes_get(t, a->ino + 5), a);
	assert_int_equal(node_row(a->ino), -1);
	assert_int_equal(node_row(a->ino + 5), 4);
	assert_null(nodes_get(t, 2));
	assert_null(nodes_get(t, 1000 * NODE_FIXED));
	nodes_free(t);
}

static void test_forget_frees_and_reuses(void **state)
{
	(void)state;
	struct nodes *t = nodes_new();
	struct node *a = nodes_add(t, "a");
	uint64_t ino = a->ino, gen = a->gen;
	a->nlookup = 3; /* the directory and two of its files */
	nodes_forget(t, ino + 1, 1);
	nodes_forget(t, ino, 1);
	assert_ptr_equal(nodes_find(t, "a"), a);
	nodes_forget(t, ino + 2, 1);
	assert_null(nodes_find(t, "a"));
	assert_null(nodes_get(t, ino));
	struct node *c = nodes_add(t, "c");
	assert_int_equal(c->ino, ino);		/* slot reused ... */
	assert_true(c->gen != gen);		/* ... under a new generation */
	nodes_forget(t, 12345 * NODE_FIXED, 1); /* unknown: ignored */
	nodes_free(t);
}

static void test_many(void **state)
{
	(void)state;
	struct nodes *t = nodes_new();
	char name[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		assert_non_null(nodes_add(t, name));
	}
	for (int i = 0; i < 20000; i += 7) {
		snprintf(name, sizeof(name), "n%d", i);
		struct node *n = nodes_find(t, name);
		assert_non_null(n);
		assert_string_equal(n->name, name);
		assert_ptr_equal(nodes_get(t, n->ino), n);
	}
	nodes_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files_lead_to_their_directory),
		cmocka_unit_test(test_forget_frees_and_reuses),
		cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
