/* fs over a fake kind: requests that wait, their wake-up, interrupts, and
 * poll handles. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fs_harness.h"

static struct fuse_file_info open_pipe(struct harness *h, fuse_ino_t *ino)
{
	int err;
	*ino = ino_of(h, "fake/c0/pipe");
	struct fuse_file_info fi = open_as(h, *ino, O_RDWR, 1000, &err);
	assert_int_equal(err, 0);
	assert_true(fi.nonseekable);
	return fi;
}

static struct fuse_file_info open_events(struct harness *h, int flags)
{
	int err;
	struct fuse_file_info fi = open_as(h, INO_EVENTS_T, flags, 1000, &err);
	assert_int_equal(err, 0);
	return fi;
}

static void test_read_waits_for_the_kind(void **state)
{
	(void)state;
	struct harness h;
	fuse_ino_t ino;
	harness_init(&h, 2);
	struct fuse_file_info fi = open_pipe(&h, &ino);
	fuse_req_t a = op_read(&h, ino, &fi, 100, 0);
	fuse_req_t b = op_read(&h, ino, &fi, 100, 0);
	assert_int_equal(a->reply, FAKE_NONE); /* parked */
	assert_int_equal(b->reply, FAKE_NONE); /* behind it */
	harness_wake(&h, 1);		       /* another connection */
	harness_wake(&h, 0);		       /* nothing to read yet */
	assert_int_equal(a->replies, 0);
	harness_feed(&h, 0, "hello");
	assert_int_equal(a->replies, 1);
	assert_string_equal(a->buf, "hello");
	assert_int_equal(b->replies, 0); /* its turn, nothing left */
	harness_feed(&h, 0, "again");
	assert_int_equal(b->replies, 1);
	assert_string_equal(b->buf, "again");
	fake_free(a);
	fake_free(b);
	/* something there: answered at once */
	harness_feed(&h, 0, "now");
	a = op_read(&h, ino, &fi, 2, 0);
	assert_int_equal(a->replies, 1);
	assert_string_equal(a->buf, "no");
	fake_free(a);
	op_release(&h, ino, &fi);
	assert_int_equal(h.fk.streams, 0);
	harness_fini(&h);
}

/* A stream read is answered from where the kind keeps the bytes (two
 * pieces, joined by the reply); when the reply fails because the reader
 * is gone (libfuse's ENOENT for an interrupted request), the request is
 * over, answered once, and the bytes stay for the next read. */
static void test_read_reply_lost_keeps_bytes(void **state)
{
	(void)state;
	struct harness h;
	fuse_ino_t ino;
	harness_init(&h, 1);
	struct fuse_file_info fi = open_pipe(&h, &ino);
	harness_feed(&h, 0, "abcdef");
	fake_reply_fails = ENOENT;
	fuse_req_t a = op_read(&h, ino, &fi, 100, 0);
	assert_int_equal(a->replies, 1);
	fuse_req_t b = op_read(&h, ino, &fi, 4, 0);
	assert_int_equal(b->replies, 1);
	assert_int_equal(b->reply, FAKE_BUF);
	assert_string_equal(b->buf, "abcd");
	fake_free(a);
	fake_free(b);
	op_release(&h, ino, &fi);
	harness_fini(&h);
}

static void test_interrupt(void **state)
{
	(void)state;
	struct harness h;
	fuse_ino_t ino;
	harness_init(&h, 1);
	struct fuse_file_info fi = open_pipe(&h, &ino);
	fuse_req_t a = op_read(&h, ino, &fi, 100, 0);
	fuse_req_t b = op_read(&h, ino, &fi, 100, 0);
	fake_interrupt(a);
	assert_int_equal(a->replies, 1);
	assert_int_equal(a->reply, FAKE_ERR);
	assert_int_equal(a->err, EINTR);
	harness_feed(&h, 0, "x"); /* b is first now */
	assert_int_equal(b->replies, 1);
	assert_string_equal(b->buf, "x");
	assert_int_equal(a->replies, 1);

	/* a write that took some bytes says so when interrupted */
	h.fk.c[0].room = 3;
	fuse_req_t w = op_write(&h, ino, &fi, "abcdef", 1000);
	assert_int_equal(w->replies, 0);
	fake_interrupt(w);
	assert_int_equal(w->reply, FAKE_WRITE);
	assert_int_equal(w->written, 3);

	/* interrupted before it parks: EINTR at once */
	fuse_req_t c = fake_req(h.fs, 0);
	c->interrupted = true;
	fs_ops.read(c, ino, 10, 0, &fi);
	assert_int_equal(c->replies, 1);
	assert_int_equal(c->err, EINTR);

	/* closing the file answers what still waits */
	fuse_req_t d = op_read(&h, ino, &fi, 100, 0);
	op_release(&h, ino, &fi);
	assert_int_equal(d->replies, 1);
	assert_int_equal(d->err, EINTR);
	fake_free(a);
	fake_free(b);
	fake_free(c);
	fake_free(d);
	fake_free(w);
	harness_wake(&h, 0); /* nobody is left on the queue */
	harness_fini(&h);
}

static void test_writes_in_order(void **state)
{
	(void)state;
	struct harness h;
	fuse_ino_t ino;
	harness_init(&h, 1);
	struct fuse_file_info fi = open_pipe(&h, &ino);
	h.fk.c[0].room = 2;
	fuse_req_t a = op_write(&h, ino, &fi, "1234", 1000);
	fuse_req_t b = op_write(&h, ino, &fi, "56", 1000);
	assert_int_equal(a->replies + b->replies, 0);
	h.fk.c[0].room = 3;
	harness_wake(&h, 0);
	assert_int_equal(a->replies, 1);
	assert_int_equal(a->written, 4);
	assert_int_equal(b->replies, 0); /* took the last byte's room */
	h.fk.c[0].room = 10;
	harness_wake(&h, 0);
	assert_int_equal(b->replies, 1);
	assert_int_equal(b->written, 2);
	assert_memory_equal(h.fk.c[0].out, "123456", 6);
	fake_free(a);
	fake_free(b);
	op_release(&h, ino, &fi);
	harness_fini(&h);
}

/* O_NONBLOCK (the flags each read and write carries): what would wait is
 * EAGAIN, and so is what would queue behind a request that waits; a write
 * takes what fits and says how much. A blocking read of the same open
 * file still waits. */
static void test_nonblock(void **state)
{
	(void)state;
	struct harness h;
	fuse_ino_t ino;
	harness_init(&h, 1);
	struct fuse_file_info fi = open_pipe(&h, &ino), nb = fi;
	nb.flags |= O_NONBLOCK;
	fuse_req_t a = op_read(&h, ino, &nb, 100, 0);
	assert_int_equal(a->err, EAGAIN);
	fake_free(a);
	harness_feed(&h, 0, "ready");
	a = op_read(&h, ino, &nb, 100, 0);
	assert_string_equal(a->buf, "ready");
	fake_free(a);
	fuse_req_t waits = op_read(&h, ino, &fi, 100, 0);
	a = op_read(&h, ino, &nb, 100, 0); /* behind the blocking one */
	assert_int_equal(a->err, EAGAIN);
	fake_free(a);
	harness_feed(&h, 0, "late");
	assert_string_equal(waits->buf, "late");
	fake_free(waits);

	h.fk.c[0].room = 2;
	a = op_write(&h, ino, &nb, "1234", 1000);
	assert_int_equal(a->replies, 1);
	assert_int_equal(a->written, 2); /* what fitted */
	fake_free(a);
	a = op_write(&h, ino, &nb, "56", 1000);
	assert_int_equal(a->err, EAGAIN); /* nothing fits */
	fake_free(a);
	waits = op_write(&h, ino, &fi, "56", 1000);
	h.fk.c[0].room = 10;
	a = op_write(&h, ino, &nb, "78", 1000); /* a write waits before it */
	assert_int_equal(a->err, EAGAIN);
	fake_free(a);
	harness_wake(&h, 0);
	assert_int_equal(waits->written, 2);
	assert_memory_equal(h.fk.c[0].out, "1256", 4);
	fake_free(waits);
	op_release(&h, ino, &fi);

	fi = open_events(&h, O_RDONLY | O_NONBLOCK);
	a = op_read(&h, INO_EVENTS_T, &fi, 4096, 0);
	assert_int_equal(a->err, EAGAIN);
	fake_free(a);
	events_post(h.events, "now");
	a = op_read(&h, INO_EVENTS_T, &fi, 4096, 0);
	assert_string_equal(a->buf, "now\n");
	fake_free(a);
	op_release(&h, INO_EVENTS_T, &fi);
	harness_fini(&h);
}

static void test_many_pollers(void **state)
{
	(void)state;
	enum { N = 64 };
	struct harness h;
	struct fuse_file_info fi[N];
	fuse_ino_t ino;
	harness_init(&h, 1);
	for (int i = 0; i < N; i++) {
		fi[i] = open_pipe(&h, &ino);
		fuse_req_t req = op_poll(&h, ino, &fi[i], fake_pollhandle());
		assert_int_equal(req->reply, FAKE_POLL);
		assert_int_equal(req->revents, 0);
		fake_free(req);
	}
	/* a second poll of one open file replaces its handle */
	fuse_req_t req = op_poll(&h, ino, &fi[0], fake_pollhandle());
	fake_free(req);
	assert_int_equal(fake_destroyed, 1);
	assert_int_equal(fake_notified, 0);
	harness_feed(&h, 0, "x");
	assert_int_equal(fake_notified, N); /* every one, at once */
	assert_int_equal(fake_destroyed, N + 1);
	harness_feed(&h, 0, "y"); /* notified once each */
	assert_int_equal(fake_notified, N);
	req = op_poll(&h, ino, &fi[5], NULL);
	assert_int_equal(req->revents, POLLIN);
	fake_free(req);
	/* closing forgets a handle not yet notified */
	req = op_poll(&h, ino, &fi[7], fake_pollhandle());
	fake_free(req);
	for (int i = 0; i < N; i++)
		op_release(&h, ino, &fi[i]);
	assert_int_equal(fake_destroyed, N + 2);
	harness_feed(&h, 0, "z");
	assert_int_equal(fake_notified, N);
	harness_fini(&h);
}

/* A READ the size of the pieces the kernel cuts a large read into (32
 * pages and more) is never filled, lest the kernel send the next piece,
 * which would wait for bytes that have not come; a smaller one is. */
static void test_read_piece_not_filled(void **state)
{
	(void)state;
	enum { PIECE = 32 * 4096 };
	struct harness h;
	fuse_ino_t ino;
	harness_init(&h, 1);
	struct fuse_file_info fi = open_pipe(&h, &ino);
	char *bytes = malloc(PIECE + 1);
	assert_non_null(bytes);
	memset(bytes, 'x', PIECE);
	bytes[PIECE] = 0;
	harness_feed(&h, 0, bytes);
	fuse_req_t a = op_read(&h, ino, &fi, PIECE, 0);
	assert_int_equal(a->len, PIECE - 1);
	fake_free(a);
	harness_feed(&h, 0, "yz");
	a = op_read(&h, ino, &fi, 3, 0);
	assert_int_equal(a->len, 3);
	assert_memory_equal(a->buf, "xyz", 3);
	fake_free(a);
	free(bytes);
	op_release(&h, ino, &fi);
	harness_fini(&h);
}

static void test_events_read_waits(void **state)
{
	(void)state;
	struct harness h;
	harness_init(&h, 1);
	struct fuse_file_info fi = open_events(&h, O_RDONLY);
	fuse_req_t a = op_read(&h, INO_EVENTS_T, &fi, 4096, 0);
	assert_int_equal(a->replies, 0);
	events_post(h.events, "one");
	assert_int_equal(a->replies, 1);
	assert_string_equal(a->buf, "one\n");
	/* reads of one open file (threads sharing it) wait in turn */
	fuse_req_t b = op_read(&h, INO_EVENTS_T, &fi, 4096, 0);
	fuse_req_t next = op_read(&h, INO_EVENTS_T, &fi, 4096, 0);
	assert_int_equal(next->replies, 0);
	fake_interrupt(b);
	assert_int_equal(b->err, EINTR);
	events_post(h.events, "two");
	assert_string_equal(next->buf, "two\n");
	events_post(h.events, "three");
	fuse_req_t c = op_read(&h, INO_EVENTS_T, &fi, 4096, 0);
	assert_string_equal(c->buf, "three\n");
	fake_free(a);
	fake_free(b);
	fake_free(next);
	fake_free(c);
	/* closing the file answers its waiting read */
	fuse_req_t d = op_read(&h, INO_EVENTS_T, &fi, 4096, 0);
	op_release(&h, INO_EVENTS_T, &fi);
	assert_int_equal(d->replies, 1);
	assert_int_equal(d->err, EINTR);
	fake_free(d);
	events_post(h.events, "nobody");
	/* at exit, what still waits is freed without an answer */
	fi = open_events(&h, O_RDONLY);
	d = op_read(&h, INO_EVENTS_T, &fi, 4096, 0);
	harness_fini(&h);
	assert_int_equal(d->replies, 0);
	fake_free(d);
}

/* events polls as a stream does: readable while a line waits for this
 * reader, its handle notified once at the next line, and forgotten at
 * close. */
static void test_events_poll(void **state)
{
	(void)state;
	struct harness h;
	harness_init(&h, 1);
	struct fuse_file_info fi = open_events(&h, O_RDONLY);
	int notified = fake_notified, destroyed = fake_destroyed;
	fuse_req_t req = op_poll(&h, INO_EVENTS_T, &fi, fake_pollhandle());
	assert_int_equal(req->reply, FAKE_POLL);
	assert_int_equal(req->revents, 0);
	fake_free(req);
	events_post(h.events, "one");
	assert_int_equal(fake_notified, notified + 1);
	events_post(h.events, "two"); /* notified once */
	assert_int_equal(fake_notified, notified + 1);
	req = op_poll(&h, INO_EVENTS_T, &fi, NULL);
	assert_int_equal(req->revents, POLLIN | POLLRDNORM);
	fake_free(req);
	req = op_read(&h, INO_EVENTS_T, &fi, 4096, 0);
	assert_string_equal(req->buf, "one\ntwo\n");
	fake_free(req);
	req = op_poll(&h, INO_EVENTS_T, &fi, fake_pollhandle());
	assert_int_equal(req->revents, 0);
	fake_free(req);
	op_release(&h, INO_EVENTS_T, &fi); /* forgets the handle */
	assert_int_equal(fake_destroyed, destroyed + 2);
	events_post(h.events, "nobody");
	assert_int_equal(fake_notified, notified + 1);
	harness_fini(&h);
}

static void test_connect_waits(void **state)
{
	(void)state;
	struct harness h;
	int err;
	harness_init(&h, 1);
	fuse_ino_t ctl = ino_of(&h, "fake/c0/ctl");
	struct fuse_file_info fi = open_as(&h, ctl, O_WRONLY, 1000, &err);
	fuse_req_t a = op_write(&h, ctl, &fi, "connect 10.0.0.1:80", 1000);
	assert_int_equal(h.fk.last.verb, CTL_CONNECT);
	assert_string_equal(h.fk.last.argv[0], "10.0.0.1:80");
	assert_int_equal(a->replies, 0);
	harness_wake(&h, 0);
	assert_int_equal(a->replies, 0);
	h.fk.c[0].connected = true;
	harness_wake(&h, 0);
	assert_int_equal(a->replies, 1);
	assert_int_equal(a->reply, FAKE_WRITE);
	assert_int_equal(a->written, 19);
	fake_free(a);
	/* the connection goes while one waits: ENOENT */
	h.fk.c[0].connected = false;
	a = op_write(&h, ctl, &fi, "connect 10.0.0.1:80", 1000);
	fuse_req_t r = op_rmdir(&h, ino_of(&h, "fake"), "c0", 1000);
	assert_int_equal(r->err, 0);
	assert_int_equal(a->replies, 1);
	assert_int_equal(a->err, ENOENT);
	fake_free(a);
	fake_free(r);
	op_release(&h, ctl, &fi);
	harness_fini(&h);
}

/* The first name a readdir answered, or "" */
static void first_name(fuse_req_t req, char *out, size_t len)
{
	uint32_t nl = 0;
	if (req->reply == FAKE_BUF && req->len >= 24)
		memcpy(&nl, req->buf + 16, 4);
	snprintf(out, len, "%.*s", (int)nl, nl ? req->buf + 24 : "");
}

/* readdir of directory INO at OFF through FI, as root. */
static fuse_req_t op_readdir(struct harness *h, fuse_ino_t ino,
			     struct fuse_file_info *fi, off_t off)
{
	fuse_req_t req = fake_req(h->fs, 0);
	fs_ops.readdir(req, ino, 4096, off, fi);
	return req;
}

/* Before an upgrade, what waits is answered: a connect ECONNRESET, reads
 * ESTALE. The new filesystem keeps the inode numbers; a value file opened
 * before is rendered again at each read, a stream opened before reads
 * ESTALE, and both are released without harm. */
static void test_upgrade(void **state)
{
	(void)state;
	struct harness h, h2;
	struct buf b = {0};
	fuse_ino_t pipe, note = 0;
	int err;
	harness_init(&h, 1);
	struct fuse_file_info pfi = open_pipe(&h, &pipe);
	struct fuse_file_info efi =
		open_as(&h, INO_EVENTS_T, O_RDONLY, 1000, &err);
	fuse_ino_t ctl = ino_of(&h, "fake/c0/ctl");
	struct fuse_file_info cfi = open_as(&h, ctl, O_WRONLY, 1000, &err);
	note = ino_of(&h, "fake/c0/note");
	struct fuse_file_info nfi = open_as(&h, note, O_RDONLY, 1000, &err);
	fuse_ino_t dir = ino_of(&h, "fake");
	fuse_req_t o = fake_req(h.fs, 0);
	fs_ops.opendir(o, dir, &o->fi);
	struct fuse_file_info dfi = o->fi;
	fake_free(o);
	fuse_req_t r = op_read(&h, pipe, &pfi, 10, 0);
	fuse_req_t e = op_read(&h, INO_EVENTS_T, &efi, 4096, 0);
	fuse_req_t c = op_write(&h, ctl, &cfi, "connect 10.0.0.1:80", 1000);
	assert_int_equal(r->replies + e->replies + c->replies, 0);
	fake_free(op_poll(&h, pipe, &pfi, fake_pollhandle()));
	fake_free(op_poll(&h, INO_EVENTS_T, &efi, fake_pollhandle()));
	int notified = fake_notified;
	fs_quiesce(h.fs);
	assert_int_equal(r->err, ESTALE);
	assert_int_equal(e->err, ESTALE);
	assert_int_equal(c->err, ECONNRESET);
	assert_int_equal(r->replies + e->replies + c->replies, 3);
	/* pollers are told to poll again, once: their handles are gone */
	assert_int_equal(fake_notified, notified + 2);
	harness_feed(&h, 0, "late");
	events_post(h.events, "late");
	assert_int_equal(fake_notified, notified + 2);
	fs_save(h.fs, &b);
	assert_int_equal(b.err, 0);

	harness_init(&h2, 1);
	assert_int_equal(fs_restore(h2.fs, b.p, b.len), 0);
	/* the kernel forgets what it cached of the old connections */
	fake_ninval = 0;
	fs_restored(h2.fs, NULL);
	assert_true(fake_ninval > 2);
	assert_int_equal(fake_inval[0], ino_of(&h2, "fake/c0"));
	bool saw_note = false;
	for (int i = 0; i < fake_ninval; i++)
		saw_note |= fake_inval[i] == note;
	assert_true(saw_note);
	fuse_req_t g = op_getattr(&h2, note, 0);
	assert_int_equal(g->reply, FAKE_ATTR); /* the old inode, known */
	assert_int_equal(ino_of(&h2, "fake/c0/note"), note);
	fuse_req_t old = op_read(&h2, note, &nfi, 10, 0);
	assert_int_equal(old->reply, FAKE_BUF); /* rendered again */
	fuse_req_t oldp = op_read(&h2, pipe, &pfi, 10, 0);
	assert_int_equal(oldp->err, ESTALE);
	/* a directory opened before: listed again, from a record's start */
	char name[32];
	fuse_req_t d = op_readdir(&h2, dir, &dfi, 0);
	first_name(d, name, sizeof(name));
	assert_string_equal(name, ".");
	fake_free(d);
	d = op_readdir(&h2, dir, &dfi, 5); /* inside ".": from ".." */
	first_name(d, name, sizeof(name));
	assert_string_equal(name, "..");
	fake_free(d);
	d = fake_req(h2.fs, 0);
	fs_ops.releasedir(d, dir, &dfi);
	assert_int_equal(d->err, 0);
	fake_free(d);
	op_release(&h2, note, &nfi); /* not ours: nothing freed */
	op_release(&h2, pipe, &pfi);
	struct fuse_file_info fresh = open_as(&h2, note, O_RDONLY, 1000, &err);
	fuse_req_t ok = op_read(&h2, note, &fresh, 10, 0);
	assert_int_equal(ok->reply, FAKE_BUF);
	op_release(&h2, note, &fresh);
	assert_int_equal(fs_restore(h2.fs, b.p, 3), -EINVAL);
	/* a table the new image cannot take (another version, a bad node):
	 * the old fh are stale all the same, never followed */
	for (int bad = 0; bad < 2; bad++) {
		struct harness h3;
		struct buf c = {0};
		buf_add(&c, b.p, b.len);
		if (bad) { /* the nodes' length cuts their last one */
			uint64_t nodes;
			memcpy(&nodes, c.p + 8, sizeof(nodes));
			nodes -= 3;
			memcpy(c.p + 8, &nodes, sizeof(nodes));
		} else
			((uint32_t *)c.p)[0] = 99; /* the version */
		harness_init(&h3, 1);
		assert_int_equal(fs_restore(h3.fs, c.p, c.len), -EINVAL);
		fuse_req_t st = op_read(&h3, pipe, &pfi, 10, 0);
		/* ENOENT where its node was refused (the table whole, or
		 * the node cut), else ESTALE: never a live handle */
		assert_true(st->err == ENOENT || (bad && st->err == ESTALE));
		fake_free(st);
		op_release(&h3, pipe, &pfi); /* not ours: nothing freed */
		buf_free(&c);
		harness_fini(&h3);
	}
	fuse_req_t all[] = {r, e, c, g, old, oldp, ok};
	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
		fake_free(all[i]);
	buf_free(&b);
	harness_fini(&h2);
	harness_fini(&h);
}

/* An epoch come round again (saved as the last one a 32-bit count has):
 * a stream opened then, which neither image saw released, names a slot;
 * one the new image has free reads ESTALE, looked up, never followed as an
 * address of the old image's, and the new image's own file is untouched. */
static void test_epoch_wrap(void **state)
{
	(void)state;
	struct harness h, h2;
	struct buf b = {0};
	fuse_ino_t pipe, pipe2;
	harness_init(&h, 1);
	struct fuse_file_info pfi = open_pipe(&h, &pipe);
	struct fuse_file_info later = pfi;
	later.fh++; /* the next slot, as a second open had */
	fs_quiesce(h.fs);
	fs_save(h.fs, &b);
	assert_int_equal(b.err, 0);
	memcpy(b.p + sizeof(uint32_t), &(uint32_t){UINT32_MAX}, 4);
	harness_fini(&h); /* the old image's memory is gone */
	harness_init(&h2, 1);
	assert_int_equal(fs_restore(h2.fs, b.p, b.len), 0);
	fs_restored(h2.fs, NULL);
	struct fuse_file_info mine = open_pipe(&h2, &pipe2);
	assert_int_equal(mine.fh >> 32, pfi.fh >> 32); /* the same epoch */
	fuse_req_t r = op_read(&h2, pipe, &later, 10, 0);
	assert_int_equal(r->err, ESTALE);
	fake_free(r);
	op_release(&h2, pipe, &later); /* not ours: nothing freed */
	harness_feed(&h2, 0, "mine");
	r = op_read(&h2, pipe2, &mine, 10, 0);
	assert_int_equal(r->reply, FAKE_BUF);
	assert_int_equal(r->len, 4);
	fake_free(r);
	op_release(&h2, pipe2, &mine);
	buf_free(&b);
	harness_fini(&h2);
}

/* The state an upgrade hands over holds each kind's own, which the kind of
 * the same directory in the new image takes; a state of version 1 (the
 * nodes alone, to its end) is still taken. */
static void test_upgrade_kinds(void **state)
{
	(void)state;
	struct harness h, h2, h3;
	struct buf b = {0}, v1 = {0};
	harness_init(&h, 2);
	ino_of(&h, "fake/c0"); /* c1's node is the second: a fresh table */
	fuse_ino_t c1 = ino_of(&h, "fake/c1"); /* would give it the first */
	h.fk.ctl_calls = 7;
	fs_save(h.fs, &b);
	assert_int_equal(b.err, 0);
	harness_init(&h2, 2);
	assert_int_equal(fs_restore(h2.fs, b.p, b.len), 0);
	assert_string_equal(h2.fk.restored, "kept 7");
	assert_int_equal(ino_of(&h2, "fake/c1"), c1);
	/* version 1: the header, then the nodes, which version 2 sizes */
	uint64_t nodes;
	memcpy(&nodes, b.p + 8, sizeof(nodes));
	buf_add(&v1, &(uint32_t){1}, 4);
	buf_add(&v1, b.p + 4, 4); /* the epoch */
	buf_add(&v1, b.p + 16, nodes);
	harness_init(&h3, 2);
	assert_int_equal(fs_restore(h3.fs, v1.p, v1.len), 0);
	assert_string_equal(h3.fk.restored, "");
	assert_int_equal(ino_of(&h3, "fake/c1"), c1);
	/* the kinds' sections cut short: the nodes taken, the kinds afresh */
	struct harness h4;
	harness_init(&h4, 2);
	assert_int_equal(fs_restore(h4.fs, b.p, b.len - 1), 0);
	assert_string_equal(h4.fk.restored, "");
	assert_int_equal(ino_of(&h4, "fake/c1"), c1);
	buf_free(&v1);
	buf_free(&b);
	harness_fini(&h4);
	harness_fini(&h3);
	harness_fini(&h2);
	harness_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_waits_for_the_kind),
		cmocka_unit_test(test_read_reply_lost_keeps_bytes),
		cmocka_unit_test(test_interrupt),
		cmocka_unit_test(test_writes_in_order),
		cmocka_unit_test(test_nonblock),
		cmocka_unit_test(test_many_pollers),
		cmocka_unit_test(test_read_piece_not_filled),
		cmocka_unit_test(test_events_read_waits),
		cmocka_unit_test(test_events_poll),
		cmocka_unit_test(test_connect_waits),
		cmocka_unit_test(test_upgrade),
		cmocka_unit_test(test_epoch_wrap),
		cmocka_unit_test(test_upgrade_kinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
