/* Socket holders from a /proc tree the test builds itself. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tcpfs/procpid.h"

static char root[64];

static void make_proc(int pid, const char *comm, const int *inodes, int n)
{
	char path[256], link[64];
	snprintf(path, sizeof(path), "%s/%d", root, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%d/fd", root, pid);
	mkdir(path, 0755);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%d/fd/%d", root, pid, i + 3);
		snprintf(link, sizeof(link), "socket:[%d]", inodes[i]);
		assert_int_equal(symlink(link, path), 0);
	}
	snprintf(path, sizeof(path), "%s/%d/fd/0", root, pid);
	assert_int_equal(symlink("/dev/null", path), 0);
	snprintf(path, sizeof(path), "%s/%d/comm", root, pid);
	FILE *f = fopen(path, "w");
	fprintf(f, "%s\n", comm);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	strcpy(root, "/tmp/tcpfs-proc-XXXXXX");
	assert_non_null(mkdtemp(root));
	make_proc(100, "nginx", (int[]){11, 12, 11}, 3);
	make_proc(200, "nginx", (int[]){11}, 1);
	make_proc(300, "sshd", (int[]){13}, 1);
	char path[128];
	snprintf(path, sizeof(path), "%s/self", root); /* not a pid */
	mkdir(path, 0755);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd);
}

static char *render(struct procpid *pp, uint32_t inode, uint64_t now)
{
	static struct buf b;
	buf_free(&b);
	assert_int_equal(procpid_render(pp, inode, now, &b), 0);
	buf_add(&b, "", 1);
	return b.p;
}

static void test_holders(void **state)
{
	(void)state;
	struct procpid *pp = procpid_new(root);
	/* a socket in two fds of one process is listed once; readdir order
	 * decides which process comes first */
	char *s = render(pp, 11, 0);
	assert_true(strcmp(s, "100 nginx\n200 nginx\n") == 0 ||
		    strcmp(s, "200 nginx\n100 nginx\n") == 0);
	assert_string_equal(render(pp, 13, 0), "300 sshd\n");
	assert_string_equal(render(pp, 99, 0), "");
	procpid_free(pp);
}

/* A miss rescans once the table is older than a moment; a hit does not. */
static void test_rescan(void **state)
{
	(void)state;
	struct procpid *pp = procpid_new(root);
	assert_string_equal(render(pp, 14, 1000), "");
	make_proc(400, "late", (int[]){14}, 1);
	assert_string_equal(render(pp, 14, 1010), ""); /* young table */
	assert_string_equal(render(pp, 14, 1500), "400 late\n");
	procpid_free(pp);
}

static void test_missing_proc(void **state)
{
	(void)state;
	struct procpid *pp = procpid_new("/nonexistent-proc");
	struct buf b = {0};
	assert_int_equal(procpid_render(pp, 1, 0, &b), -ENOENT);
	buf_free(&b);
	procpid_free(pp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_holders),
		cmocka_unit_test(test_rescan),
		cmocka_unit_test(test_missing_proc),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
