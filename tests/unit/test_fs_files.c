/* fs over a fake kind: snapshots, fixed files (clone, the ctl of the
 * connection it makes), ctl, permissions, and the ladder row over two
 * kinds. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "fs_harness.h"
#include "tcpfs/ladder.h"

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

/* A file's inode is its directory's plus a slot that no new field or row
 * moves (files.h): a name the kernel cached before an upgrade to a version
 * with more files still means the same file. */
static void test_stable_inodes(void **state)
{
	(void)state;
	struct harness h;
	harness_init(&h, 1);
	fuse_ino_t dir = ino_of(&h, "fake/c0");
	assert_int_equal(ino_of(&h, "fake/c0/state"), dir + VF_STATE + 1);
	assert_int_equal(ino_of(&h, "fake/c0/uid"), dir + VF_UID + 1);
	assert_int_equal(ino_of(&h, "fake/c0/status"), dir + 80 + 1);
	assert_int_equal(ino_of(&h, "fake/c0/ctl"), dir + 81 + 1);
	assert_int_equal(ino_of(&h, "fake/c0/note"), dir + 96 + 1);
	/* a slot between the parts is no file */
	fuse_req_t req = op_getattr(&h, dir + VF_COUNT + 1, 0);
	assert_int_equal(req->err, ENOENT);
	fake_free(req);
	harness_fini(&h);
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

/* Write DATA as UID to open file FI of INO: the errno, 0 when written
 * whole, or -1 while it waits. */
static int write_as(struct harness *h, fuse_ino_t ino,
		    struct fuse_file_info *fi, const char *data, uid_t uid)
{
	fuse_req_t req = op_write(h, ino, fi, data, uid);
	int r = req->reply == FAKE_WRITE ?
			(req->written == strlen(data) ? 0 : EIO) :
		req->reply == FAKE_ERR ? req->err :
					 -1;
	fake_free(req);
	return r;
}

/* clone opened for writing too is the ctl of the connection it made; a
 * fixed file the kind does not say so of stays read only. */
static void test_clone_ctl(void **state)
{
	(void)state;
	struct harness h;
	char buf[512];
	int err;
	harness_init(&h, 2);
	fuse_ino_t clone = ino_of(&h, "fake/clone"),
		   make = ino_of(&h, "fake/make");
	fuse_req_t req = op_getattr(&h, clone, 1000);
	assert_int_equal(req->attr.st_mode, S_IFREG | 0666);
	fake_free(req);
	req = op_getattr(&h, make, 1000);
	assert_int_equal(req->attr.st_mode, S_IFREG | 0444);
	fake_free(req);
	open_as(&h, make, O_RDWR, 1000, &err);
	assert_int_equal(err, EACCES);

	struct fuse_file_info fi = open_as(&h, clone, O_RDWR, 1000, &err);
	assert_int_equal(err, 0);
	req = op_read(&h, clone, &fi, 100, 0);
	assert_string_equal(req->buf, "c2\n");
	fake_free(req);
	assert_int_equal(write_as(&h, clone, &fi, "keepalive 30\n", 1000), 0);
	assert_int_equal(h.fk.ctl_calls, 1);
	assert_int_equal(h.fk.last.verb, CTL_KEEPALIVE);
	assert_int_equal(h.fk.last_key, 2);
	assert_int_equal(h.fk.last_who.uid, 1000);
	/* connect waits for the kind, as through ctl */
	req = op_write(&h, clone, &fi, "connect 10.0.0.1:80", 1000);
	assert_int_equal(req->replies, 0);
	h.fk.c[2].connected = true;
	harness_wake(&h, 2);
	assert_int_equal(req->reply, FAKE_WRITE);
	fake_free(req);
	/* a bad command: EINVAL, the reason in the connection's err */
	ino_of(&h, "fake/c2/err"); /* its directory (and err) exist */
	assert_int_equal(write_as(&h, clone, &fi, "frobnicate", 1000), EINVAL);
	read_file(&h, ino_of(&h, "fake/c2/err"), buf, sizeof(buf));
	assert_string_equal(buf, "unknown verb 'frobnicate'\n");
	/* another user may not; root may */
	assert_int_equal(write_as(&h, clone, &fi, "close", 1001), EPERM);
	assert_int_equal(write_as(&h, clone, &fi, "close", 0), 0);
	assert_int_equal(h.fk.last_key, 2);
	/* gone: ENOENT */
	h.fk.c[2].alive = false;
	assert_int_equal(write_as(&h, clone, &fi, "close", 1000), ENOENT);
	op_release(&h, clone, &fi);
	/* each open makes another */
	fi = open_as(&h, clone, O_RDWR, 1000, &err);
	assert_int_equal(write_as(&h, clone, &fi, "close", 1000), 0);
	assert_int_equal(h.fk.last_key, 2);
	op_release(&h, clone, &fi);
	fi = open_as(&h, clone, O_RDWR, 1000, &err);
	assert_int_equal(write_as(&h, clone, &fi, "close", 1000), 0);
	assert_int_equal(h.fk.last_key, 3);
	op_release(&h, clone, &fi);
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
	h.fk.c[0].unowned = true; /* not of uid 0: unknown */
	req = op_write(&h, ctl, &fi, "close", 1001);
	assert_int_equal(req->err, EPERM);
	fake_free(req);
	read_file(&h, ino_of(&h, "fake/c0/err"), buf, sizeof(buf));
	assert_string_equal(buf, "uid 1001 may not control a connection whose "
				 "owner is unknown (root only)\n");
	h.fk.c[0].unowned = false;
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

/* ---- ladder: the row fs draws from two kinds' records ---- */

static uid_t peer_reader = 99;

static void ep(struct wire_ep *e, uint8_t last, uint16_t port)
{
	*e = (struct wire_ep){
		.family = AF_INET, .a = {10, 0, 0, last}, .port = port};
}

/* c0 has a record: 10.0.0.1:1000 -> 10.0.0.2:80, its SYN sent. */
static int l_ladder(void *k, const struct kind_conn *c, struct ladder_side *out)
{
	(void)k;
	if (c->key != 0)
		return -ENOENT;
	if (!out)
		return 0;
	ep(&out->local, 1, 1000);
	ep(&out->remote, 2, 80);
	snprintf(out->label, sizeof(out->label), "fake/c0");
	out->full = out->has_iss = true;
	out->iss = 100;
	struct ladder_ev *e = ladder_add(out, LADDER_STATE);
	e->from = "CLOSED";
	e->to = "SYN_SENT";
	e = ladder_add(out, LADDER_SEG);
	e->out = true;
	e->flags = TCP_SYN;
	e->has = LADDER_FLAGS | LADDER_SEQ | LADDER_WIN;
	e->seq = 100;
	e->win = 1000;
	return 0;
}

/* Another kind has the other end, 10.0.0.2:80 -> 10.0.0.1:1000. */
static int p_ladder_peer(void *k, const struct ladder_side *of, uid_t reader,
			 struct ladder_side *out)
{
	struct wire_ep l, r;
	(void)k;
	peer_reader = reader;
	ep(&l, 2, 80);
	ep(&r, 1, 1000);
	if (!ladder_peer_of(of, &l, &r))
		return -ENOENT;
	out->local = l;
	out->remote = r;
	snprintf(out->label, sizeof(out->label), "peer/7");
	struct ladder_ev *e = ladder_add(out, LADDER_STATE);
	e->t = 1000;
	e->from = "LISTEN";
	e->to = "SYN_RECEIVED";
	return 0;
}

static int p_list(void *k, const struct kind_caller *who, kind_list_fn fn,
		  void *arg)
{
	(void)k, (void)who, (void)fn, (void)arg;
	return 0;
}

static int p_load(void *k, const struct kind_caller *who, const char *name,
		  struct kind_conn *c)
{
	(void)k, (void)who, (void)name, (void)c;
	return -ENOENT;
}

/* A ladder file where the kind has a record, of the kind's mode, drawn
 * with the peer's record another kind gives for that reader. */
static void test_ladder(void **state)
{
	(void)state;
	static struct kind_ops l_ops;
	static const struct kind_ops p_ops = {
		.list = p_list, .load = p_load, .ladder_peer = p_ladder_peer};
	struct harness h;
	harness_init(&h, 2);
	l_ops = *h.kind.ops;
	l_ops.ladder = l_ladder;
	l_ops.ladder_mode = 0400;
	struct kind kinds[2] = {{.ops = &l_ops, .priv = &h.fk, .dir = "fake"},
				{.ops = &p_ops, .dir = "peer"}};
	fs_free(h.fs);
	h.fs = fs_new(h.events, kinds, 2);
	assert_non_null(h.fs);

	fuse_ino_t lad = ino_of(&h, "fake/c0/ladder");
	assert_true(lad != 0);
	assert_int_equal(ino_of(&h, "fake/c1/ladder"), 0);
	int err;
	struct fuse_file_info fi = open_as(&h, lad, O_RDONLY, 1001, &err);
	assert_int_equal(err, EACCES); /* 0400: the owner's */
	fi = open_as(&h, lad, O_RDONLY, 1000, &err);
	assert_int_equal(err, 0);
	assert_int_equal(peer_reader, 1000);
	fuse_req_t req = op_read(&h, lad, &fi, 4096, 0);
	assert_int_equal(req->reply, FAKE_BUF);
	char *text = strndup(req->buf, req->len);
	fake_free(req);
	op_release(&h, lad, &fi);
	assert_non_null(
		strstr(text, "this end  10.0.0.1:1000  fake/c0  ISN 100"));
	assert_non_null(strstr(text, "peer      10.0.0.2:80    peer/7 "));
	assert_non_null(strstr(text, "SYN_SENT │─ SYN seq=0 win=1000 ─"));
	assert_non_null(strstr(text, "─▶│ SYN_RECEIVED\n"));
	free(text);
	harness_fini(&h);
}

static fuse_req_t setattr_as(struct harness *h, fuse_ino_t ino, int to_set,
			     uid_t uid)
{
	struct stat st = {0};
	fuse_req_t req = fake_req(h->fs, uid);
	fs_ops.setattr(req, ino, &st, to_set, NULL);
	return req;
}

static int access_as(struct harness *h, fuse_ino_t ino, int mask, uid_t uid)
{
	fuse_req_t req = fake_req(h->fs, uid);
	fs_ops.access(req, ino, mask);
	int err = req->reply == FAKE_ERR ? req->err : -1;
	fake_free(req);
	return err;
}

/* truncate(2), utimes(2) and access(2) answer as the mode bits say: ctl
 * (0200) is its owner's to write, clone (0666) anyone's; a time other
 * than now is the owner's to set; root may all. Nothing changes. */
static void test_setattr_access(void **state)
{
	(void)state;
	struct harness h;
	harness_init(&h, 1);
	fuse_ino_t ctl = ino_of(&h, "fake/c0/ctl"),
		   clone = ino_of(&h, "fake/clone");
	const struct {
		fuse_ino_t *ino;
		int to_set;
		uid_t uid;
		int err;
	} cases[] = {
		{&ctl, FUSE_SET_ATTR_SIZE, 1000, 0},
		{&ctl, FUSE_SET_ATTR_SIZE, 65534, EACCES},
		{&ctl, FUSE_SET_ATTR_SIZE, 0, 0},
		{&ctl, FUSE_SET_ATTR_MTIME, 65534, EPERM},
		{&ctl, FUSE_SET_ATTR_MTIME, 1000, 0},
		{&ctl, FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW, 65534,
		 EACCES},
		{&clone, FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW, 65534,
		 0},
		{&clone, FUSE_SET_ATTR_SIZE, 65534, 0},
		{&clone, FUSE_SET_ATTR_ATIME, 65534, EPERM},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fuse_req_t req = setattr_as(&h, *cases[i].ino, cases[i].to_set,
					    cases[i].uid);
		if (cases[i].err)
			assert_int_equal(req->err, cases[i].err);
		else
			assert_int_equal(req->reply, FAKE_ATTR);
		fake_free(req);
	}
	assert_int_equal(access_as(&h, ctl, W_OK, 1000), 0);
	assert_int_equal(access_as(&h, ctl, W_OK, 65534), EACCES);
	assert_int_equal(access_as(&h, ctl, R_OK, 1000), EACCES);
	assert_int_equal(access_as(&h, ctl, R_OK | W_OK, 0), 0);
	assert_int_equal(access_as(&h, clone, R_OK | W_OK, 65534), 0);
	assert_int_equal(access_as(&h, clone, X_OK, 0), EACCES);
	harness_fini(&h);
}

/* open(O_TRUNC) arrives with the open alone (FUSE_CAP_ATOMIC_O_TRUNC), no
 * setattr after it: it is answered as truncate(2), even with O_RDONLY, as
 * Linux does (EACCES on a file the caller may not write). */
static void test_open_trunc(void **state)
{
	(void)state;
	struct harness h;
	harness_init(&h, 1);
	fuse_ino_t st = ino_of(&h, "fake/c0/state"),
		   note = ino_of(&h, "fake/c0/note"),
		   ctl = ino_of(&h, "fake/c0/ctl"),
		   clone = ino_of(&h, "fake/clone"),
		   make = ino_of(&h, "fake/make");
	const struct {
		fuse_ino_t ino;
		int flags;
		uid_t uid;
		int err;
	} cases[] = {
		{st, O_RDONLY | O_TRUNC, 1001, EACCES},
		{st, O_RDONLY | O_TRUNC, 1000,
		 EACCES}, /* 0444: the owner too */
		{note, O_RDONLY | O_TRUNC, 1001, EACCES},
		{INO_EVENTS_T, O_RDONLY | O_TRUNC, 1001, EACCES},
		{make, O_RDONLY | O_TRUNC, 1001, EACCES},
		{st, O_RDONLY | O_TRUNC, 0, 0}, /* as truncate(2) for root */
		{st, O_RDONLY, 1001, 0},
		{ctl, O_WRONLY | O_TRUNC, 1000, 0}, /* echo verb > ctl */
		{ctl, O_WRONLY | O_TRUNC, 1001, EACCES},
		{clone, O_RDONLY | O_TRUNC, 1001, 0}, /* 0666 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err;
		struct fuse_file_info fi = open_as(
			&h, cases[i].ino, cases[i].flags, cases[i].uid, &err);
		assert_int_equal(err, cases[i].err);
		if (!err)
			op_release(&h, cases[i].ino, &fi);
	}
	harness_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stable_inodes),
		cmocka_unit_test(test_snapshot_reads),
		cmocka_unit_test(test_ctl_dispatch),
		cmocka_unit_test(test_clone_ctl),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_setattr_access),
		cmocka_unit_test(test_open_trunc),
		cmocka_unit_test(test_ladder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
