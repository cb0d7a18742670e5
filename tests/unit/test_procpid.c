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

/* PID's status: its uids and gids (real, effective, saved, fs), its
 * effective and permitted capabilities; its fd directory (if any) owned
 * as the kernel owns a dumpable process's, by its effective ids. */
static void make_status(int pid, const char *uids, const char *gids,
			const char *capeff, const char *capprm)
{
	char path[256];
	unsigned e, g;
	snprintf(path, sizeof(path), "%s/%d", root, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%d/status", root, pid);
	FILE *f = fopen(path, "w");
	fprintf(f,
		"Name:\tx\nTgid:\t%d\nUid:\t%s\nGid:\t%s\nCapPrm:\t%s\n"
		"CapEff:\t%s\n",
		pid, uids, gids, capprm, capeff);
	fclose(f);
	sscanf(uids, "%*u %u", &e);
	sscanf(gids, "%*u %u", &g);
	snprintf(path, sizeof(path), "%s/%d/fd", root, pid);
	if (geteuid() == 0)
		lchown(path, e, g);
}

/* A process that is not dumpable: the kernel makes its fd directory
 * root's. */
static void not_dumpable(int pid)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%d/fd", root, pid);
	if (geteuid() == 0)
		assert_int_equal(lchown(path, 0, 0), 0);
}

static int setup(void **state)
{
	(void)state;
	strcpy(root, "/tmp/tcpfs-proc-XXXXXX");
	assert_non_null(mkdtemp(root));
	make_proc(100, "nginx", (int[]){11, 12, 11}, 3);
	make_proc(200, "nginx", (int[]){11}, 1);
	make_proc(300, "sshd", (int[]){13}, 1);
	make_status(100, "0 0 0 0", "0 0 0 0", "000001ffffffffff",
		    "000001ffffffffff");
	make_status(200, "1000 1000 1000 1000", "1000 1000 1000 1000", "0",
		    "0");
	/* a setuid program run by uid 1000 */
	make_proc(600, "su", (int[]){15}, 1);
	make_status(600, "1000 0 0 0", "1000 1000 1000 1000", "0", "0");
	/* uid 1000's, not dumpable (prctl PR_SET_DUMPABLE 0) */
	make_proc(500, "agent", (int[]){16}, 1);
	make_status(500, "1000 1000 1000 1000", "1000 1000 1000 1000", "0",
		    "0");
	not_dumpable(500);
	/* uid 1000's, permitted CAP_NET_BIND_SERVICE (bit 10) */
	make_proc(510, "capd", (int[]){17}, 1);
	make_status(510, "1000 1000 1000 1000", "1000 1000 1000 1000", "0",
		    "0000000000000400");
	/* readers: 700 with CAP_SYS_PTRACE (bit 19), 710 with it and
	 * CAP_DAC_READ_SEARCH (bit 2), 800 with every capability but
	 * CAP_SYS_PTRACE, 810 with none, 900 root with all */
	make_status(700, "1000 1000 1000 1000", "1000 1000 1000 1000",
		    "0000000000080000", "0000000000080000");
	make_status(710, "1000 1000 1000 1000", "1000 1000 1000 1000",
		    "0000000000080004", "0000000000080004");
	make_status(800, "1000 1000 1000 1000", "1000 1000 1000 1000",
		    "00000000fff7ffff", "00000000fff7ffff");
	make_status(810, "1000 1000 1000 1000", "1000 1000 1000 1000", "0",
		    "0");
	make_status(900, "0 0 0 0", "0 0 0 0", "000001ffffffffff",
		    "000001ffffffffff");
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

/* Either order of readdir: the two nginx holders of socket 11. */
static bool both_nginx(const char *s)
{
	return strcmp(s, "100 nginx\n200 nginx\n") == 0 ||
	       strcmp(s, "200 nginx\n100 nginx\n") == 0;
}

/* A reader sees the holders whose /proc/PID/fd it could list and read
 * (ss -p): ptrace's read check and the fd directory's owner. The owners
 * are set with chown: root only. */
static void test_visibility(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* the fd directories' owners need chown */
	struct procpid *pp = procpid_new(root);
	struct kind_caller rootr = {0, 0, 900, 0}, u = {1000, 1000, 800, 0},
			   g = {1000, 1001, 800, 0}, tr = {1000, 1000, 700, 0},
			   trd = {1000, 1000, 710, 0},
			   bare = {1000, 1000, 810, 0},
			   capless_root = {0, 0, 800, 0},
			   nobody = {65534, 65534, 0, 0},
			   itself = {65534, 65534, 200, 0};
	assert_true(both_nginx(render_as(pp, 11, &rootr, 0)));
	assert_string_equal(render_as(pp, 11, &u, 0), "200 nginx\n");
	assert_string_equal(render_as(pp, 11, &g, 0), "");
	assert_string_equal(render_as(pp, 11, &nobody, 0), "");
	assert_string_equal(render_as(pp, 13, &u, 0), ""); /* no status */
	assert_string_equal(render_as(pp, 15, &u, 0), ""); /* setuid */
	assert_string_equal(render_as(pp, 15, &rootr, 0), "600 su\n");
	/* its own process, whoever it runs as */
	assert_string_equal(render_as(pp, 11, &itself, 0), "200 nginx\n");
	/* not dumpable: not even its own uid, but a ptracer that may list
	 * root's directory */
	assert_string_equal(render_as(pp, 16, &u, 0), "");
	assert_string_equal(render_as(pp, 16, &tr, 0), "");
	assert_string_equal(render_as(pp, 16, &trd, 0), "500 agent\n");
	assert_string_equal(render_as(pp, 16, &rootr, 0), "500 agent\n");
	/* CAP_SYS_PTRACE alone cannot list root's fd directory */
	assert_string_equal(render_as(pp, 11, &tr, 0), "200 nginx\n");
	assert_string_equal(render_as(pp, 15, &tr, 0), "");
	assert_true(both_nginx(render_as(pp, 11, &trd, 0)));
	assert_string_equal(render_as(pp, 15, &trd, 0), "600 su\n");
	/* permitted capabilities beyond the reader's effective ones */
	assert_string_equal(render_as(pp, 17, &u, 0), "510 capd\n");
	assert_string_equal(render_as(pp, 17, &bare, 0), "");
	/* root without CAP_SYS_PTRACE: its own uid's only, and only when
	 * dumpable (a root process cannot be told dumpable: not) */
	assert_string_equal(render_as(pp, 11, &capless_root, 0), "");
	procpid_free(pp);
}

/* A reader is read again when it asks with another uid or gid, or after
 * 1 ms: its capabilities change between the reads here. */
static void test_reader_again(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* the fd directories' owners need chown */
	struct procpid *pp = procpid_new(root);
	struct kind_caller a = {1000, 1000, 820, 0}, b = {1000, 1001, 820, 0};
	const char *uids = "1000 1000 1000 1000";
	/* CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH: sees the setuid su */
	make_status(820, uids, uids, "0000000000080004", "0000000000080004");
	assert_string_equal(render_as(pp, 15, &a, 0), "600 su\n");
	make_status(820, uids, uids, "0", "0");
	assert_string_equal(render_as(pp, 15, &b, 0), "");
	make_status(820, uids, uids, "0000000000080004", "0000000000080004");
	usleep(2000);
	assert_string_equal(render_as(pp, 15, &b, 0), "600 su\n");
	/* and with another uid alone (the reader's fsuid is the request's):
	 * uid 1000 sees its nginx, uid 1001 in the same process does not */
	struct kind_caller u = {1000, 1000, 800, 0}, v = {1001, 1000, 800, 0};
	assert_string_equal(render_as(pp, 11, &u, 0), "200 nginx\n");
	assert_string_equal(render_as(pp, 11, &v, 0), "");
	procpid_free(pp);
}

/* A status longer than a page (a process in hundreds of groups: the
 * Groups line comes before the capabilities) is read to its end: its
 * capabilities are not taken as none. */
static void make_status_groups(int pid, const char *ids, const char *caps)
{
	char path[256];
	unsigned e;
	snprintf(path, sizeof(path), "%s/%d", root, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%d/status", root, pid);
	FILE *f = fopen(path, "w");
	fprintf(f, "Name:\tx\nTgid:\t%d\nUid:\t%s\nGid:\t%s\nGroups:\t", pid,
		ids, ids);
	for (int i = 0; i < 1000; i++)
		fprintf(f, "%d ", 1000000 + i);
	fprintf(f, "\nCapPrm:\t%s\nCapEff:\t%s\n", caps, caps);
	fclose(f);
	sscanf(ids, "%*u %u", &e);
	snprintf(path, sizeof(path), "%s/%d/fd", root, pid);
	if (geteuid() == 0)
		lchown(path, e, e);
}

static void test_long_status(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* the fd directories' owners need chown */
	const char *uids = "1000 1000 1000 1000";
	/* a holder of uid 1000 with CAP_NET_BIND_SERVICE permitted */
	make_proc(520, "capg", (int[]){18}, 1);
	make_status_groups(520, uids, "0000000000000400");
	/* a reader of uid 1000 with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH */
	make_status_groups(830, uids, "0000000000080004");
	struct procpid *pp = procpid_new(root);
	struct kind_caller bare = {1000, 1000, 810, 0},
			   trd = {1000, 1000, 830, 0};
	/* its permitted capabilities are beyond a bare reader's */
	assert_string_equal(render_as(pp, 18, &bare, 0), "");
	/* a ptracer that may list root's directory sees the one that is
	 * not dumpable, and the setuid su */
	assert_string_equal(render_as(pp, 16, &trd, 0), "500 agent\n");
	assert_string_equal(render_as(pp, 15, &trd, 0), "600 su\n");
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
		cmocka_unit_test(test_reader_again),
		cmocka_unit_test(test_long_status),
		cmocka_unit_test(test_missing_proc),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
