/* fs over a fake kind: lookups, attributes, listings, rmdir. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fs_harness.h"

static void test_lookup(void **state)
{
	(void)state;
	struct harness h;
	harness_init(&h, 2);
	fuse_req_t req = op_lookup(&h, FUSE_ROOT_ID, "events", 1000);
	assert_int_equal(req->reply, FAKE_ENTRY);
	assert_int_equal(req->entry.ino, INO_EVENTS_T);
	assert_true(S_ISREG(req->entry.attr.st_mode));
	fake_free(req);

	fuse_ino_t dir = ino_of(&h, "fake"), c1 = ino_of(&h, "fake/c1");
	assert_true(dir != 0 && c1 != 0 && dir != c1);
	req = op_getattr(&h, c1, 1000);
	assert_int_equal(req->reply, FAKE_ATTR);
	assert_true(S_ISDIR(req->attr.st_mode));
	assert_int_equal(req->attr.st_uid, 1000); /* the owner the kind said */
	fake_free(req);

	fuse_ino_t note = ino_of(&h, "fake/c1/note");
	fuse_ino_t pipe = ino_of(&h, "fake/c1/pipe");
	fuse_ino_t state_ = ino_of(&h, "fake/c1/state");
	assert_true(note && pipe && state_);
	assert_true(ino_of(&h, "fake/c1/ctl") && ino_of(&h, "fake/c1/err") &&
		    ino_of(&h, "fake/c1/status") && ino_of(&h, "fake/make"));
	req = op_getattr(&h, pipe, 0);
	assert_int_equal(req->attr.st_mode, S_IFREG | 0600);
	fake_free(req);

	/* unknown names, a field the view lacks, a gone connection */
	const char *none[] = {"nothing",     "fake/c7",	       "fake/c1/rtt",
			      "fake/c1/pid", "fake/c1/note/x", "kernel"};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		assert_int_equal(ino_of(&h, none[i]), 0);
	req = op_lookup(&h, dir, "c9", 0);
	assert_int_equal(req->reply, FAKE_ERR);
	assert_int_equal(req->err, ENOENT);
	fake_free(req);
	h.fk.c[1].alive = false;
	req = op_getattr(&h, note, 0);
	assert_int_equal(req->reply, FAKE_ERR);
	assert_int_equal(req->err, ENOENT);
	fake_free(req);
	harness_fini(&h);
}

static void test_readdir_offsets(void **state)
{
	(void)state;
	struct harness h;
	char all[2048], small[2048];
	harness_init(&h, 8);
	fuse_ino_t dir = ino_of(&h, "fake");
	assert_int_equal(list_names(&h, dir, 4096, all, sizeof(all)), 2);
	assert_string_equal(all, ". .. make clone c0 c1 c2 c3 c4 c5 c6 c7");
	/* 40 bytes hold one entry: every call resumes at the offset */
	int calls = list_names(&h, dir, 40, small, sizeof(small));
	assert_string_equal(small, all);
	assert_int_equal(calls, 13);

	/* two entries of 32 bytes a call, then the empty end */
	assert_int_equal(list_names(&h, FUSE_ROOT_ID, 64, small, sizeof(small)),
			 3);
	assert_string_equal(small, ". .. fake events");

	list_names(&h, ino_of(&h, "fake/c3"), 100, small, sizeof(small));
	assert_string_equal(small, ". .. state uid status ctl err note pipe");
	harness_fini(&h);
}

/* Directory DIR opened (as root), its file info. */
static struct fuse_file_info dir_open(struct harness *h, fuse_ino_t dir)
{
	struct fuse_file_info fi = {0};
	fuse_req_t req = fake_req(h->fs, 0);
	fs_ops.opendir(req, dir, &fi);
	fi = req->fi;
	fake_free(req);
	return fi;
}

/* Directory DIR, opened as FI, released. */
static void dir_close(struct harness *h, fuse_ino_t dir,
		      struct fuse_file_info *fi)
{
	fuse_req_t req = fake_req(h->fs, 0);
	fs_ops.releasedir(req, dir, fi);
	fake_free(req);
}

/* The first name of a readdir at OFF of the listing open in FI, or "" at
 * the end; *NEXT the offset after it. */
static const char *name_at(struct harness *h, fuse_ino_t dir,
			   struct fuse_file_info *fi, off_t off, uint64_t *next)
{
	static char name[64];
	fuse_req_t req = fake_req(h->fs, 0);
	fs_ops.readdir(req, dir, 4096, off, fi);
	name[0] = 0;
	if (req->reply == FAKE_BUF && req->len >= 24) {
		uint32_t nl;
		memcpy(next, req->buf + 8, 8);
		memcpy(&nl, req->buf + 16, 4);
		snprintf(name, sizeof(name), "%.*s", (int)nl, req->buf + 24);
	}
	fake_free(req);
	return name;
}

/* The inode DIR's listing gives its "..", the second entry (0: none). */
static fuse_ino_t dotdot(struct harness *h, fuse_ino_t dir)
{
	struct fuse_file_info fi = dir_open(h, dir);
	uint64_t first, ino = 0;
	name_at(h, dir, &fi, 0, &first);
	fuse_req_t req = fake_req(h->fs, 0);
	fs_ops.readdir(req, dir, 4096, (off_t)first, &fi);
	if (req->reply == FAKE_BUF && req->len >= 24 &&
	    !memcmp(req->buf + 24, "..", 2))
		memcpy(&ino, req->buf, 8);
	fake_free(req);
	dir_close(h, dir, &fi);
	return ino;
}

/* Whether a readdir at 0 of the listing open in FI names NAME. */
static bool lists_at_0(struct harness *h, fuse_ino_t dir,
		       struct fuse_file_info *fi, const char *name)
{
	fuse_req_t req = fake_req(h->fs, 0);
	fs_ops.readdir(req, dir, 4096, 0, fi);
	assert_int_equal(req->reply, FAKE_BUF);
	bool found = false;
	for (size_t at = 0; at + 24 <= req->len;) {
		uint32_t nl;
		memcpy(&nl, req->buf + at + 16, 4);
		found |= nl == strlen(name) &&
			 !memcmp(req->buf + at + 24, name, nl);
		at += (24 + nl + 7) & ~(size_t)7;
	}
	fake_free(req);
	return found;
}

/* rewinddir(3) (a readdir at 0 of the same descriptor) lists the
 * directory anew, as POSIX has it: a connection gone since is not listed
 * again, a new one is. */
static void test_rewinddir_lists_anew(void **state)
{
	(void)state;
	struct harness h;
	struct fuse_file_info fi = {0};
	harness_init(&h, 8);
	fuse_ino_t dir = ino_of(&h, "fake");
	fi = dir_open(&h, dir);
	assert_true(lists_at_0(&h, dir, &fi, "c7"));
	h.fk.c[7].alive = false;
	assert_false(lists_at_0(&h, dir, &fi, "c7"));
	h.fk.c[7].alive = true;
	assert_true(lists_at_0(&h, dir, &fi, "c7"));
	dir_close(&h, dir, &fi);
	harness_fini(&h);
}

/* A listing that failed part-way is no snapshot: a readdir after it, at
 * any offset, lists afresh. */
static void test_readdir_after_failure(void **state)
{
	(void)state;
	struct harness h;
	struct fuse_file_info fi = {0};
	uint64_t next;
	bool seen = false;
	harness_init(&h, 8);
	fuse_ino_t dir = ino_of(&h, "fake");
	fi = dir_open(&h, dir);
	h.fk.c[7].alive = false;
	h.fk.list_err = -ENOBUFS;
	fuse_req_t req = fake_req(h.fs, 0);
	fs_ops.readdir(req, dir, 4096, 0, &fi);
	assert_int_equal(req->err, ENOBUFS);
	fake_free(req);
	h.fk.list_err = 0;
	h.fk.c[7].alive = true;
	for (off_t off = 1; *name_at(&h, dir, &fi, off, &next);
	     off = (off_t)next)
		seen |= !strcmp(name_at(&h, dir, &fi, off, &next), "c7");
	assert_true(seen);
	dir_close(&h, dir, &fi);
	harness_fini(&h);
}

/* An offset the listing did not hand out (lseek, seekdir after a listing
 * changed) resumes at the next entry, never inside one; past the end, the
 * listing is over; a fresh open's first readdir may come at any offset. */
static void test_readdir_any_offset(void **state)
{
	(void)state;
	struct harness h;
	struct fuse_file_info fi = {0};
	uint64_t first, second, end;
	harness_init(&h, 8);
	fuse_ino_t dir = ino_of(&h, "fake");
	fi = dir_open(&h, dir);
	assert_string_equal(name_at(&h, dir, &fi, 0, &first), ".");
	assert_string_equal(name_at(&h, dir, &fi, (off_t)first, &second), "..");
	assert_string_equal(name_at(&h, dir, &fi, (off_t)first + 1, &end),
			    "make");
	assert_string_equal(name_at(&h, dir, &fi, (off_t)end, &end), "clone");
	assert_string_equal(name_at(&h, dir, &fi, 3, &end), "..");
	assert_string_equal(name_at(&h, dir, &fi, 1 << 20, &end), "");
	dir_close(&h, dir, &fi);
	/* a new open whose first readdir is at another open's offset
	 * (seekdir to a telldir of it) lists, and resumes there */
	fi = dir_open(&h, dir);
	assert_string_equal(name_at(&h, dir, &fi, (off_t)second, &end), "make");
	dir_close(&h, dir, &fi);
	harness_fini(&h);
}

static void test_rmdir(void **state)
{
	(void)state;
	struct harness h;
	harness_init(&h, 2);
	fuse_ino_t dir = ino_of(&h, "fake");
	fuse_req_t req = op_rmdir(&h, dir, "c0", 1001); /* not the owner */
	assert_int_equal(req->err, EPERM);
	assert_string_equal(h.fk.rmdir_name, "");
	fake_free(req);
	req = op_rmdir(&h, dir, "c5", 0);
	assert_int_equal(req->err, ENOENT);
	fake_free(req);
	req = op_rmdir(&h, dir, "c0", 1000);
	assert_int_equal(req->reply, FAKE_ERR);
	assert_int_equal(req->err, 0);
	assert_string_equal(h.fk.rmdir_name, "c0");
	fake_free(req);
	req = op_rmdir(&h, FUSE_ROOT_ID, "fake", 0);
	assert_int_equal(req->err, EPERM);
	fake_free(req);
	req = op_rmdir(&h, ino_of(&h, "fake/c1"), "x", 0);
	assert_int_equal(req->err, ENOTDIR);
	fake_free(req);
	harness_fini(&h);
}

/* A per-reader kind: each reader (pid) sees its own connections, and the
 * kernel may cache none of their directories' names or attributes (bind
 * mounts share the dentry cache), so that every path walk asks as its
 * reader; the files in them it may cache, reached only through that walk;
 * a kind that is not per-reader keeps its second. */
static void test_per_reader(void **state)
{
	(void)state;
	struct harness h;
	char names[256];
	harness_init_per_reader(&h, 3);
	h.fk.c[1].reader = 42;
	h.fk.c[2].reader = 43;
	fuse_ino_t dir = ino_of(&h, "fake");

	fake_pid = 42;
	list_names(&h, dir, 4096, names, sizeof(names));
	assert_string_equal(names, ". .. make clone c0 c1");
	fuse_req_t req = op_lookup(&h, dir, "c1", 0);
	assert_int_equal(req->reply, FAKE_ENTRY);
	assert_true(req->entry.entry_timeout == 0);
	assert_true(req->entry.attr_timeout == 0);
	fuse_ino_t c1 = req->entry.ino;
	fake_free(req);
	req = op_lookup(&h, c1, "note", 0);
	assert_int_equal(req->reply, FAKE_ENTRY);
	assert_true(req->entry.entry_timeout > 0);
	assert_true(req->entry.attr_timeout > 0);
	fuse_ino_t note = req->entry.ino;
	fake_free(req);
	req = op_getattr(&h, c1, 0);
	assert_int_equal(req->reply, FAKE_ATTR);
	assert_true(req->attr_timeout == 0);
	fake_free(req);
	req = op_getattr(&h, note, 0);
	assert_int_equal(req->reply, FAKE_ATTR);
	assert_true(req->attr_timeout > 0);
	fake_free(req);
	req = op_lookup(&h, FUSE_ROOT_ID, "fake", 0); /* fixed: cached */
	assert_true(req->entry.entry_timeout > 0);
	fake_free(req);

	/* another reader: the other's connection is not there, by name or
	 * by the inode the first one was given */
	fake_pid = 43;
	list_names(&h, dir, 4096, names, sizeof(names));
	assert_string_equal(names, ". .. make clone c0 c2");
	req = op_lookup(&h, dir, "c1", 0);
	assert_int_equal(req->err, ENOENT);
	fake_free(req);
	fuse_ino_t inos[] = {c1, note};
	for (int i = 0; i < 2; i++) {
		req = op_getattr(&h, inos[i], 0);
		assert_int_equal(req->err, ENOENT);
		fake_free(req);
		req = op_open(&h, inos[i], O_RDONLY, 0);
		assert_int_equal(req->err, ENOENT);
		fake_free(req);
	}
	req = op_rmdir(&h, dir, "c1", 0);
	assert_int_equal(req->err, ENOENT);
	fake_free(req);
	assert_string_equal(h.fk.rmdir_name, "");

	/* the kind hears who writes ctl and opens its fixed files */
	int err;
	fuse_ino_t ctl = ino_of(&h, "fake/c2/ctl");
	struct fuse_file_info fi = open_as(&h, ctl, O_WRONLY, 0, &err);
	assert_int_equal(err, 0);
	req = op_write(&h, ctl, &fi, "close", 0);
	assert_int_equal(req->reply, FAKE_WRITE);
	fake_free(req);
	assert_int_equal(h.fk.last_who.pid, 43);
	fake_pid = 44;
	fi = open_as(&h, ino_of(&h, "fake/make"), O_RDONLY, 7, &err);
	assert_int_equal(err, 0);
	assert_int_equal(h.fk.last_who.pid, 44);
	assert_int_equal(h.fk.last_who.uid, 7);
	op_release(&h, ino_of(&h, "fake/make"), &fi);
	harness_fini(&h);

	harness_init(&h, 1);
	req = op_lookup(&h, ino_of(&h, "fake"), "c0", 0);
	assert_true(req->entry.entry_timeout > 0 &&
		    req->entry.attr_timeout > 0);
	fake_free(req);
	harness_fini(&h);
}

/* Opendir INO as UID: the error, 0 if it opened (and was closed). */
static int opendir_as(struct harness *h, fuse_ino_t ino, uid_t uid)
{
	struct fuse_file_info fi = {0};
	fuse_req_t req = fake_req(h->fs, uid);
	fs_ops.opendir(req, ino, &fi);
	int err = req->reply == FAKE_ERR ? req->err : 0;
	fi = req->fi;
	fake_free(req);
	if (!err) {
		req = fake_req(h->fs, uid);
		fs_ops.releasedir(req, ino, &fi);
		fake_free(req);
	}
	return err;
}

/* Scopes (netns/): only root enters; each scope holds its files and the
 * kind's directory as seen in that scope, and nothing else. */
static void test_scopes(void **state)
{
	(void)state;
	struct harness h;
	char names[256];
	harness_init_per_reader(&h, 4);
	h.fk.c[2].scope = 7;
	h.fk.c[3].scope = 9;
	list_names(&h, FUSE_ROOT_ID, 4096, names, sizeof(names));
	assert_string_equal(names, ". .. fake events sc");
	fuse_ino_t sc = ino_of(&h, "sc");
	assert_true(sc != 0);
	fuse_req_t req = op_getattr(&h, sc, 1000);
	assert_int_equal(req->attr.st_mode, S_IFDIR | 0500);
	fake_free(req);

	list_names(&h, sc, 4096, names, sizeof(names));
	assert_string_equal(names, ". .. 7 9");
	list_names(&h, ino_of(&h, "sc/7"), 4096, names, sizeof(names));
	assert_string_equal(names, ". .. info fake");
	list_names(&h, ino_of(&h, "fake"), 4096, names, sizeof(names));
	assert_string_equal(names, ". .. make clone c0 c1");
	list_names(&h, ino_of(&h, "sc/7/fake"), 4096, names, sizeof(names));
	assert_string_equal(names, ". .. c2");
	/* each listing's ".." is its parent's inode, as stat says */
	assert_int_equal(dotdot(&h, ino_of(&h, "fake")), FUSE_ROOT_ID);
	assert_int_equal(dotdot(&h, ino_of(&h, "fake/c0")), ino_of(&h, "fake"));
	assert_int_equal(dotdot(&h, sc), FUSE_ROOT_ID);
	assert_int_equal(dotdot(&h, ino_of(&h, "sc/7")), sc);
	assert_int_equal(dotdot(&h, ino_of(&h, "sc/7/fake")),
			 ino_of(&h, "sc/7"));
	assert_int_equal(dotdot(&h, ino_of(&h, "sc/7/fake/c2")),
			 ino_of(&h, "sc/7/fake"));
	assert_int_equal(ino_of(&h, "sc/7/fake/c3"), 0);
	assert_int_equal(ino_of(&h, "sc/9/fake/c2"), 0);
	assert_int_equal(ino_of(&h, "sc/8"), 0);
	assert_int_equal(ino_of(&h, "sc/07"), 0);
	assert_int_equal(ino_of(&h, "sc/7/nothing"), 0);

	int err;
	fuse_ino_t info = ino_of(&h, "sc/7/info");
	struct fuse_file_info fi = open_as(&h, info, O_RDONLY, 0, &err);
	assert_int_equal(err, 0);
	req = op_read(&h, info, &fi, 100, 0);
	assert_string_equal(req->buf, "scope 7\n");
	fake_free(req);
	op_release(&h, info, &fi);
	open_as(&h, info, O_WRONLY, 0, &err);
	assert_int_equal(err, EACCES);

	/* a connection in a scope: its files, its ctl (told the scope) */
	fuse_ino_t ctl = ino_of(&h, "sc/7/fake/c2/ctl");
	fi = open_as(&h, ctl, O_WRONLY, 0, &err);
	assert_int_equal(err, 0);
	req = op_write(&h, ctl, &fi, "close", 0);
	assert_int_equal(req->reply, FAKE_WRITE);
	fake_free(req);
	assert_int_equal(h.fk.last_who.scope, 7);
	req = op_lookup(&h, ino_of(&h, "sc/7/fake"), "c2", 0);
	assert_true(req->entry.entry_timeout == 0);
	fake_free(req);
	req = op_rmdir(&h, ino_of(&h, "sc/7/fake"), "c2", 0);
	assert_int_equal(req->err, EPERM);
	fake_free(req);

	/* anyone else: EACCES for all of it, by name or by inode */
	fuse_ino_t c2 = ino_of(&h, "sc/7/fake/c2");
	fuse_ino_t note = ino_of(&h, "sc/7/fake/c2/note");
	assert_int_equal(opendir_as(&h, sc, 1000), EACCES);
	assert_int_equal(opendir_as(&h, c2, 1000), EACCES);
	req = op_lookup(&h, sc, "7", 1000);
	assert_int_equal(req->err, EACCES);
	fake_free(req);
	fuse_ino_t inos[] = {ino_of(&h, "sc/7"), info, c2, note};
	for (int i = 0; i < 4; i++) {
		req = op_getattr(&h, inos[i], 1000);
		assert_int_equal(req->err, EACCES);
		fake_free(req);
		req = op_open(&h, inos[i], O_RDONLY, 1000);
		assert_int_equal(req->err, EACCES);
		fake_free(req);
	}

	/* after an upgrade, the scopes' inodes are what they were */
	struct buf b = {0};
	struct harness h2;
	fs_save(h.fs, &b);
	harness_init_per_reader(&h2, 4);
	h2.fk.c[2].scope = 7;
	assert_int_equal(fs_restore(h2.fs, b.p, b.len), 0);
	fake_ninval = 0;
	fs_restored(h2.fs, NULL); /* a per-reader kind: nothing was cached */
	assert_int_equal(fake_ninval, 0);
	for (int i = 0; i < 4; i++) {
		req = op_getattr(&h2, inos[i], 0);
		assert_int_equal(req->reply, FAKE_ATTR);
		fake_free(req);
		req = op_getattr(&h2, inos[i], 1000);
		assert_int_equal(req->err, EACCES);
		fake_free(req);
	}
	assert_int_equal(ino_of(&h2, "sc/7/fake/c2/note"), note);
	buf_free(&b);
	harness_fini(&h2);
	harness_fini(&h);
}

/* A name and its attributes are cached no longer than the kind says its
 * connection stays (kind_conn.lives, less a margin), at most a second; one
 * that may go at any moment (lives 0) not at all. */
static void test_cache_lives(void **state)
{
	(void)state;
	struct harness h;
	harness_init(&h, 3);
	fuse_ino_t dir = ino_of(&h, "fake");
	h.fk.c[0].has_lives = h.fk.c[1].has_lives = h.fk.c[2].has_lives = true;
	h.fk.c[0].lives = 0.5;
	h.fk.c[1].lives = 3600;
	h.fk.c[2].lives = 0;
	fuse_req_t req = op_lookup(&h, dir, "c0", 0);
	assert_int_equal(req->reply, FAKE_ENTRY);
	assert_true(req->entry.entry_timeout > 0 &&
		    req->entry.entry_timeout < 0.5);
	assert_true(req->entry.attr_timeout > 0 &&
		    req->entry.attr_timeout < 0.5);
	fuse_ino_t c0 = req->entry.ino;
	fake_free(req);
	req = op_getattr(&h, c0, 0);
	assert_int_equal(req->reply, FAKE_ATTR);
	assert_true(req->attr_timeout > 0 && req->attr_timeout < 0.5);
	fake_free(req);
	req = op_lookup(&h, dir, "c1", 0);
	assert_true(req->entry.entry_timeout >= 0.5 &&
		    req->entry.entry_timeout <= 1);
	fake_free(req);
	req = op_lookup(&h, dir, "c2", 0);
	assert_true(req->entry.entry_timeout == 0);
	assert_true(req->entry.attr_timeout == 0);
	fake_free(req);
	harness_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_readdir_offsets),
		cmocka_unit_test(test_readdir_any_offset),
		cmocka_unit_test(test_readdir_after_failure),
		cmocka_unit_test(test_rewinddir_lists_anew),
		cmocka_unit_test(test_cache_lives),
		cmocka_unit_test(test_rmdir),
		cmocka_unit_test(test_per_reader),
		cmocka_unit_test(test_scopes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
