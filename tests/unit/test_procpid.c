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

/* PID's status: its uids and gids (real, effective, saved, fs) and its
 * effective capabilities. */
static void make_status(int pid, const char *uids, const char *gids,
			const char *capeff)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%d", root, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%d/status", root, pid);
	FILE *f = fopen(path, "w");
	fprintf(f, "Name:\tx\nUid:\t%s\nGid:\t%s\nCapEff:\t%s\n", uids, gids,
		capeff);
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
	make_status(100, "0 0 0 0", "0 0 0 0", "000001ffffffffff");
	make_status(200, "1000 1000 1000 1000", "1000 1000 1000 1000", "0");
	/* a setuid program run by uid 1000 */
	make_proc(600, "su", (int[]){15}, 1);
	make_status(600, "1000 0 0 0", "1000 1000 1000 1000", "0");
	/* readers: 700 with CAP_SYS_PTRACE (bit 19), 800 without */
	make_status(700, "1000 1000 1000 1000", "1000 1000 1000 1000",
		    "0000000000080000");
	make_status(800, "1000 1000 1000 1000", "1000 1000 1000 1000",
		    "00000000fff7ffff");
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

static char *render_as(struct procpid *pp, uint32_t inode,
		       const struct kind_caller *who, uint64_t now)
{
	static struct buf b;
	buf_free(&b);
	assert_int_equal(procpid_render(pp, inode, who, now, &b), 0);
	buf_add(&b, "", 1);
	return b.p;
}

static char *render(struct procpid *pp, uint32_t inode, uint64_t now)
{
	return render_as(pp, inode, NULL, now);
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

/* A reader sees the holders whose /proc/PID/fd it could read (ss -p):
 * root all, a ptracer all, others those of their own uid and gid. */
static void test_visibility(void **state)
{
	(void)state;
	struct procpid *pp = procpid_new(root);
	struct kind_caller rootr = {0, 0, 800, 0}, u = {1000, 1000, 800, 0},
			   g = {1000, 1001, 800, 0}, tr = {1000, 1000, 700, 0},
			   nobody = {65534, 65534, 0, 0};
	char *s = render_as(pp, 11, &rootr, 0);
	assert_true(strcmp(s, "100 nginx\n200 nginx\n") == 0 ||
		    strcmp(s, "200 nginx\n100 nginx\n") == 0);
	assert_string_equal(render_as(pp, 11, &u, 0), "200 nginx\n");
	assert_string_equal(render_as(pp, 11, &g, 0), "");
	assert_string_equal(render_as(pp, 11, &nobody, 0), "");
	assert_string_equal(render_as(pp, 13, &u, 0), ""); /* no status */
	assert_string_equal(render_as(pp, 15, &u, 0), ""); /* setuid */
	assert_string_equal(render_as(pp, 15, &rootr, 0), "600 su\n");
	s = render_as(pp, 11, &tr, 0);
	assert_true(strcmp(s, "100 nginx\n200 nginx\n") == 0 ||
		    strcmp(s, "200 nginx\n100 nginx\n") == 0);
	assert_string_equal(render_as(pp, 15, &tr, 0), "600 su\n");
	procpid_free(pp);
}

static void test_missing_proc(void **state)
{
	(void)state;
	struct procpid *pp = procpid_new("/nonexistent-proc");
	struct buf b = {0};
	assert_int_equal(procpid_render(pp, 1, NULL, 0, &b), -ENOENT);
	buf_free(&b);
	procpid_free(pp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_holders),
		cmocka_unit_test(test_rescan),
		cmocka_unit_test(test_visibility),
		cmocka_unit_test(test_missing_proc),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
