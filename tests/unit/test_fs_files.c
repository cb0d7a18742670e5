/* fs over a fake kind: snapshots, fixed files, ctl, permissions. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fs_harness.h"

/* Read INO whole as root, a fresh open. */
static void read_file(struct harness *h, fuse_ino_t ino, char *out,
		      size_t outlen)
{
	int err;
	struct fuse_file_info fi = open_as(h, ino, O_RDONLY, 0, &err);
	assert_int_equal(err, 0);
	fuse_req_t req = op_read(h, ino, &fi, outlen - 1, 0);
	assert_int_equal(req->reply, FAKE_BUF);
	memcpy(out, req->buf, req->len + 1);
	fake_free(req);
	op_release(h, ino, &fi);
}

static void test_snapshot_reads(void **state)
{
	(void)state;
	struct harness h;
	harness_init(&h, 1);
	fuse_ino_t note = ino_of(&h, "fake/c0/note");
	int err;
	struct fuse_file_info fi = open_as(&h, note, O_RDONLY, 1000, &err);
	assert_int_equal(err, 0);
	assert_true(fi.direct_io);
	/* "note of fake/c0\n" in pieces at any offset, then EOF */
	const char *want = "note of fake/c0\n";
	char got[64] = "";
	for (off_t off = 0;; off += 3) {
		fuse_req_t req = op_read(&h, note, &fi, 3, off);
		assert_int_equal(req->reply, FAKE_BUF);
		if (!req->len) {
			fake_free(req);
			break;
		}
		strncat(got, req->buf, req->len);
		fake_free(req);
	}
	assert_string_equal(got, want);
	fuse_req_t req = op_read(&h, note, &fi, 100, 8);
	assert_string_equal(req->buf, "fake/c0\n");
	fake_free(req);
	op_release(&h, note, &fi);

	char buf[512];
	read_file(&h, ino_of(&h, "fake/c0/status"), buf, sizeof(buf));
	assert_string_equal(buf, "state ESTABLISHED\nuid 1000\n");
	read_file(&h, ino_of(&h, "fake/c0/state"), buf, sizeof(buf));
	assert_string_equal(buf, "ESTABLISHED\n");
	read_file(&h, ino_of(&h, "fake/make"), buf, sizeof(buf));
	assert_string_equal(buf, "fixed 0 for 0\n");
	harness_fini(&h);
}

static void test_ctl_dispatch(void **state)
{
	(void)state;
	struct harness h;
	harness_init(&h, 2);
	fuse_ino_t ctl = ino_of(&h, "fake/c1/ctl");
	int err;
	struct fuse_file_info fi = open_as(&h, ctl, O_WRONLY, 1000, &err);
	assert_int_equal(err, 0);
	fuse_req_t req = op_write(&h, ctl, &fi, "keepalive 30\n", 1000);
	assert_int_equal(req->reply, FAKE_WRITE);
	assert_int_equal(req->written, 13);
	fake_free(req);
	assert_int_equal(h.fk.ctl_calls, 1);
	assert_int_equal(h.fk.last.verb, CTL_KEEPALIVE);
	assert_int_equal(h.fk.last.argc, 1);
	assert_string_equal(h.fk.last.argv[0], "30");
	assert_int_equal(h.fk.last_who.uid, 1000);

	/* bad syntax never reaches the kind: EINVAL, the reason in err */
	req = op_write(&h, ctl, &fi, "frobnicate", 1000);
	assert_int_equal(req->reply, FAKE_ERR);
	assert_int_equal(req->err, EINVAL);
	fake_free(req);
	assert_int_equal(h.fk.ctl_calls, 1);
	char buf[512];
	read_file(&h, ino_of(&h, "fake/c1/err"), buf, sizeof(buf));
	assert_string_equal(buf, "unknown verb 'frobnicate'\n");

	/* the kind's own error and reason */
	req = op_write(&h, ctl, &fi, "hangup", 1000);
	assert_int_equal(req->err, EBUSY);
	fake_free(req);
	read_file(&h, ino_of(&h, "fake/c1/err"), buf, sizeof(buf));
	assert_string_equal(buf, "hangup: busy\n");
	/* a success clears it */
	req = op_write(&h, ctl, &fi, "close", 1000);
	assert_int_equal(req->reply, FAKE_WRITE);
	fake_free(req);
	read_file(&h, ino_of(&h, "fake/c1/err"), buf, sizeof(buf));
	assert_string_equal(buf, "");
	op_release(&h, ctl, &fi);
	harness_fini(&h);
}

static void test_permissions(void **state)
{
	(void)state;
	struct harness h;
	harness_init(&h, 1);
	fuse_ino_t ctl = ino_of(&h, "fake/c0/ctl");
	fuse_ino_t pipe = ino_of(&h, "fake/c0/pipe");
	fuse_ino_t note = ino_of(&h, "fake/c0/note");
	int err;
	struct fuse_file_info fi;

	fi = open_as(&h, ctl, O_WRONLY, 1001, &err); /* not the owner */
	assert_int_equal(err, EACCES);
	fi = open_as(&h, pipe, O_RDWR, 1001, &err);
	assert_int_equal(err, EACCES);
	fi = open_as(&h, ctl, O_RDONLY, 1000, &err); /* ctl is write-only */
	assert_int_equal(err, EACCES);
	fi = open_as(&h, note, O_WRONLY, 0, &err); /* even for root */
	assert_int_equal(err, EACCES);
	fi = open_as(&h, note, O_RDONLY, 1001, &err); /* others read it */
	assert_int_equal(err, 0);
	op_release(&h, note, &fi);

	/* a write by someone else through an open file: EPERM, and why */
	fi = open_as(&h, ctl, O_WRONLY, 0, &err);
	assert_int_equal(err, 0);
	fuse_req_t req = op_write(&h, ctl, &fi, "close", 1001);
	assert_int_equal(req->reply, FAKE_ERR);
	assert_int_equal(req->err, EPERM);
	fake_free(req);
	assert_int_equal(h.fk.ctl_calls, 0);
	char buf[512];
	read_file(&h, ino_of(&h, "fake/c0/err"), buf, sizeof(buf));
	assert_string_equal(
		buf, "uid 1001 may not control a connection of uid 1000\n");
	req = op_write(&h, ctl, &fi, "close", 0); /* root may */
	assert_int_equal(req->reply, FAKE_WRITE);
	fake_free(req);
	op_release(&h, ctl, &fi);
	read_file(&h, ino_of(&h, "fake/c0/err"), buf, sizeof(buf));
	assert_string_equal(buf, "");

	fi = open_as(&h, INO_EVENTS_T, O_WRONLY, 0, &err);
	assert_int_equal(err, EACCES);
	fi = open_as(&h, ino_of(&h, "fake/make"), O_RDWR, 0, &err);
	assert_int_equal(err, EACCES);
	fi = open_as(&h, ino_of(&h, "fake"), O_RDONLY, 0, &err);
	assert_int_equal(err, EISDIR);
	harness_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_reads),
		cmocka_unit_test(test_ctl_dispatch),
		cmocka_unit_test(test_permissions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
