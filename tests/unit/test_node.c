/* Inode numbers of connection directories and their files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node.h"
#include "tcpfs/buf.h"

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
	/* the hash grew past its first size: unlinking still finds each */
	for (int i = 0; i < 20000; i += 2) {
		snprintf(name, sizeof(name), "n%d", i);
		nodes_forget(t, nodes_find(t, name)->ino, 1);
	}
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		struct node *n = nodes_find(t, name);
		assert_true(i % 2 ? n && !strcmp(n->name, name) : !n);
	}
	nodes_free(t);
}

/* kind_of for nodes_load: "k0/..." is kind 0, "k1/..." kind 1, else none. */
static int kind_of(void *arg, const char *name, enum node_type *type,
		   uint64_t *scope)
{
	(void)arg, (void)type, (void)scope;
	return name[0] == 'k' && (name[1] == '0' || name[1] == '1') &&
			       name[2] == '/' ?
		       name[1] - '0' :
		       -1;
}

/* An upgrade: every node keeps its inode, lookups and generation; the
 * table goes on (forget frees, new names get free slots, no clash). */
static void test_save_load(void **state)
{
	(void)state;
	struct nodes *t = nodes_new(), *u = nodes_new();
	struct buf b = {0};
	/* names came and went before: the generations run ahead of the
	 * nodes the new image loads, and it goes on from the highest */
	for (int i = 0; i < 8; i++) {
		struct node *tmp = nodes_add(t, "k0/tmp");
		tmp->nlookup = 1;
		nodes_forget(t, tmp->ino, 1);
	}
	struct node *a = nodes_add(t, "k0/a"), *x = nodes_add(t, "k0/x");
	struct node *c = nodes_add(t, "k1/c"), *gone = nodes_add(t, "zz/d");
	a->nlookup = 3;
	a->err = calloc(1, TCPFS_ERR_MAX);
	strcpy(a->err, "close: not owner");
	x->nlookup = 1;
	c->nlookup = 1;
	gone->nlookup = 1;
	uint64_t ia = a->ino, ic = c->ino, ga = a->gen, gone_ino = gone->ino;
	nodes_forget(t, x->ino, 1); /* a hole before c */
	nodes_save(t, &b);
	assert_int_equal(b.err, 0);
	assert_int_equal(nodes_load(u, b.p, b.len, kind_of, NULL), 0);
	struct node *a2 = nodes_find(u, "k0/a"), *c2 = nodes_find(u, "k1/c");
	assert_non_null(a2);
	assert_non_null(c2);
	assert_int_equal(a2->ino, ia);
	assert_int_equal(a2->nlookup, 3);
	assert_int_equal(a2->gen, ga);
	assert_int_equal(a2->kind, 0);
	assert_string_equal(a2->err, "close: not owner");
	assert_null(c2->err);
	assert_int_equal(c2->ino, ic);
	assert_int_equal(c2->kind, 1);
	assert_null(nodes_find(u, "zz/d")); /* no kind: left out */
	assert_null(nodes_get(u, gone_ino));
	/* new names take the free slots, and clash with none */
	struct node *n1 = nodes_add(u, "k0/new1"), *n2 = nodes_add(u, "k0/n2");
	struct node *n3 = nodes_add(u, "k0/n3");
	assert_true(n1->ino != ia && n1->ino != ic && n2->ino != ia &&
		    n2->ino != ic && n3->ino != ia && n3->ino != ic);
	assert_true(ga > 8);
	assert_true(n1->gen > ga && n2->gen > ga);
	nodes_forget(u, ia + 2, 3);
	assert_null(nodes_find(u, "k0/a"));
	/* loading it again clashes */
	assert_int_equal(nodes_load(u, b.p, b.len, kind_of, NULL), -EINVAL);
	buf_free(&b);
	nodes_free(t);
	nodes_free(u);
}

/* Malformed saved tables are refused, never read past their end. */
static void test_load_malformed(void **state)
{
	(void)state;
	struct nodes *t = nodes_new(), *u;
	struct buf b = {0};
	nodes_add(t, "k0/a")->nlookup = 1;
	nodes_save(t, &b);
	for (size_t len = 1; len < b.len; len++) {
		u = nodes_new();
		assert_int_equal(nodes_load(u, b.p, len, kind_of, NULL),
				 -EINVAL);
		nodes_free(u);
	}
	b.p[0] ^= 1; /* the inode of a file, not a directory */
	u = nodes_new();
	assert_int_equal(nodes_load(u, b.p, b.len, kind_of, NULL), -EINVAL);
	nodes_free(u);
	buf_free(&b);
	nodes_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files_lead_to_their_directory),
		cmocka_unit_test(test_forget_frees_and_reuses),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_load_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
