/* The fs unit tests' harness (fs_harness.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_harness.h"

/* Whether WHO sees FC (alive, in the scope asked for, and of its reader
 * if it has one). */
static bool sees(const struct kind_caller *who, const struct fconn *fc)
{
	return fc->alive && fc->scope == who->scope &&
	       (!fc->reader || fc->reader == who->pid);
}

static struct fconn *by_name(struct fkind *fk, const struct kind_caller *who,
			     const char *name)
{
	for (int i = 0; i < FAKE_CONNS; i++)
		if (sees(who, &fk->c[i]) && strcmp(fk->c[i].name, name) == 0)
			return &fk->c[i];
	return NULL;
}

static struct fconn *of(struct fkind *fk, uint64_t key)
{
	return key < FAKE_CONNS && fk->c[key].alive ? &fk->c[key] : NULL;
}

static int f_list(void *k, const struct kind_caller *who, kind_list_fn fn,
		  void *arg)
{
	struct fkind *fk = k;
	for (int i = 0; i < FAKE_CONNS; i++)
		if (sees(who, &fk->c[i]))
			fn(arg, fk->c[i].name, 100 + (uint64_t)i);
	return fk->list_err;
}

static int f_load(void *k, const struct kind_caller *who, const char *name,
		  struct kind_conn *c)
{
	struct fkind *fk = k;
	struct fconn *fc = by_name(fk, who, name);
	if (!fc)
		return -ENOENT;
	c->view.have = 0;
	view_set(&c->view, VF_STATE, "ESTABLISHED");
	view_set(&c->view, VF_UID, "%u", (unsigned)fc->owner);
	c->owned = !fc->unowned;
	c->owner = fc->unowned ? 0 : fc->owner;
	c->key = (uint64_t)(fc - fk->c);
	if (fc->has_lives)
		c->lives = fc->lives;
	return 0;
}

static int f_ctl(void *k, struct kind_conn *c, const struct ctl_cmd *cmd,
		 const struct kind_caller *who)
{
	struct fkind *fk = k;
	fk->ctl_calls++;
	fk->last = *cmd;
	fk->last_key = c->key;
	fk->last_who = *who;
	if (cmd->verb == CTL_CONNECT)
		return -EINPROGRESS;
	if (cmd->verb == CTL_HANGUP)
		return kind_fail(c, -EBUSY, "hangup: busy");
	c->err[0] = 0;
	return 0;
}

static int f_ctl_wait(void *k, uint64_t key, struct waitq **wq)
{
	struct fconn *fc = of(k, key);
	if (!fc)
		return -ENOENT;
	if (fc->connected)
		return 0;
	*wq = &fc->wq;
	return -EAGAIN;
}

static int f_rmdir(void *k, struct kind_conn *c)
{
	struct fkind *fk = k;
	struct fconn *fc = of(fk, c->key);
	if (!fc)
		return -ENOENT;
	snprintf(fk->rmdir_name, sizeof(fk->rmdir_name), "%s", fc->name);
	fc->alive = false;
	waitq_wake(&fc->wq);
	return 0;
}

/* "make" says who opened it; "clone" makes a connection of the opener's
 * and gives its name. */
static int f_fixed_open(void *k, int i, const struct kind_caller *who,
			struct buf *out)
{
	struct fkind *fk = k;
	fk->last_who = *who;
	if (i == 0) {
		buf_printf(out, "fixed %d for %u\n", i, (unsigned)who->uid);
		return out->err;
	}
	for (int n = 0; n < FAKE_CONNS; n++)
		if (!fk->c[n].alive) {
			struct fconn *fc = &fk->c[n];
			snprintf(fc->name, sizeof(fc->name), "c%d", n);
			fc->owner = who->uid;
			fc->alive = true;
			waitq_init(&fc->wq);
			buf_printf(out, "%s\n", fc->name);
			return out->err;
		}
	return -EMFILE;
}

static int f_render(void *k, const struct kind_conn *c, struct buf *out)
{
	(void)k;
	buf_printf(out, "note of %s\n", c->label);
	return out->err;
}

struct fstream {
	uint64_t key;
};

static int f_stream_open(void *k, const struct kind_conn *c, int r, void **s)
{
	struct fkind *fk = k;
	struct fstream *st = malloc(sizeof(*st));
	(void)r;
	st->key = c->key;
	*s = st;
	fk->streams++;
	return 0;
}

static long f_read(void *k, void *s, size_t size, struct kind_sink *sink,
		   struct waitq **wq)
{
	struct fconn *fc = of(k, ((struct fstream *)s)->key);
	if (!fc)
		return -ENOENT;
	if (!fc->in_len) {
		*wq = &fc->wq;
		return -EAGAIN;
	}
	size_t n = fc->in_len < size ? fc->in_len : size;
	/* two pieces, as a ring that wraps gives them */
	struct iovec iov[2] = {{fc->in, n / 2}, {fc->in + n / 2, n - n / 2}};
	int err = sink->take(sink, iov, 2);
	if (err < 0)
		return err;
	memmove(fc->in, fc->in + n, fc->in_len - n);
	fc->in_len -= n;
	return (long)n;
}

static long f_write(void *k, void *s, const char *data, size_t size,
		    struct waitq **wq)
{
	struct fconn *fc = of(k, ((struct fstream *)s)->key);
	if (!fc)
		return -ENOENT;
	size_t n = fc->room < size ? fc->room : size;
	if (n + fc->out_len > sizeof(fc->out))
		n = sizeof(fc->out) - fc->out_len;
	if (n < size)
		*wq = &fc->wq;
	if (!n)
		return -EAGAIN;
	memcpy(fc->out + fc->out_len, data, n);
	fc->out_len += n;
	fc->room -= n;
	return (long)n;
}

static unsigned f_poll(void *k, void *s, struct waitq **wq)
{
	struct fconn *fc = of(k, ((struct fstream *)s)->key);
	if (!fc)
		return POLLERR;
	*wq = &fc->wq;
	return fc->in_len ? POLLIN : 0;
}

static void f_close(void *k, void *s)
{
	((struct fkind *)k)->streams--;
	free(s);
}

static const struct kind_file f_files[] = {
	{"note", 0444, false, NULL, f_render},
	{"pipe", 0600, true, NULL, NULL},
};
static const char *const f_fixed[] = {"make", "clone"};

static int f_scope_list(void *k, kind_list_fn fn, void *arg)
{
	(void)k;
	fn(arg, "7", 7);
	fn(arg, "9", 9);
	return 0;
}

static int f_scope_file(void *k, uint64_t scope, int i, struct buf *out)
{
	(void)k;
	if (scope != 7 && scope != 9)
		return -ENOENT;
	if (out && i == 0)
		buf_printf(out, "scope %u\n", (unsigned)scope);
	return out ? out->err : 0;
}

static const char *const f_scope_files[] = {"info"};

/* An upgrade hands over "kept N", N its ctl calls so far. */
static void f_save(void *k, struct buf *out)
{
	buf_printf(out, "kept %d", ((struct fkind *)k)->ctl_calls);
}

static int f_restore(void *k, const void *p, size_t len)
{
	struct fkind *fk = k;
	if (len < 5 || len >= sizeof(fk->restored) || memcmp(p, "kept ", 5))
		return -EINVAL;
	memcpy(fk->restored, p, len);
	fk->restored[len] = 0;
	return 0;
}

static const struct kind_ops f_ops = {
	.files = f_files,
	.nfiles = 2,
	.fixed = f_fixed,
	.nfixed = 2,
	.fixed_ctl = 1u << 1, /* clone */
	.list = f_list,
	.load = f_load,
	.ctl = f_ctl,
	.ctl_wait = f_ctl_wait,
	.rmdir = f_rmdir,
	.fixed_open = f_fixed_open,
	.stream_open = f_stream_open,
	.stream_read = f_read,
	.stream_write = f_write,
	.stream_poll = f_poll,
	.stream_close = f_close,
	.save = f_save,
	.restore = f_restore,
};

static void init(struct harness *h, int n, bool per_reader)
{
	static struct kind_ops scoped;
	scoped = f_ops;
	scoped.scopes = "sc";
	scoped.scope_files = f_scope_files;
	scoped.nscope_files = 1;
	scoped.scope_list = f_scope_list;
	scoped.scope_file = f_scope_file;
	memset(h, 0, sizeof(*h));
	for (int i = 0; i < n; i++) {
		struct fconn *fc = &h->fk.c[i];
		snprintf(fc->name, sizeof(fc->name), "c%d", i);
		fc->owner = 1000;
		fc->alive = true;
		if (!(fc->in = malloc(FAKE_IN_MAX)))
			abort();
		waitq_init(&fc->wq);
	}
	h->kind = (struct kind){.ops = per_reader ? &scoped : &f_ops,
				.priv = &h->fk,
				.dir = "fake",
				.per_reader = per_reader};
	h->events = events_new();
	h->fs = fs_new(h->events, &h->kind, 1);
	fake_notified = fake_destroyed = 0;
	fake_pid = 0;
}

void harness_init(struct harness *h, int n)
{
	init(h, n, false);
}

void harness_init_per_reader(struct harness *h, int n)
{
	init(h, n, true);
}

void harness_fini(struct harness *h)
{
	fs_free(h->fs);
	events_free(h->events);
	for (int i = 0; i < FAKE_CONNS; i++)
		free(h->fk.c[i].in);
}

void harness_feed(struct harness *h, int i, const char *bytes)
{
	struct fconn *fc = &h->fk.c[i];
	size_t n = strlen(bytes);
	memcpy(fc->in + fc->in_len, bytes, n);
	fc->in_len += n;
	waitq_wake(&fc->wq);
}

void harness_wake(struct harness *h, int i)
{
	waitq_wake(&h->fk.c[i].wq);
}

fuse_req_t op_lookup(struct harness *h, fuse_ino_t parent, const char *name,
		     uid_t uid)
{
	fuse_req_t req = fake_req(h->fs, uid);
	fs_ops.lookup(req, parent, name);
	return req;
}

fuse_req_t op_getattr(struct harness *h, fuse_ino_t ino, uid_t uid)
{
	fuse_req_t req = fake_req(h->fs, uid);
	fs_ops.getattr(req, ino, NULL);
	return req;
}

fuse_req_t op_open(struct harness *h, fuse_ino_t ino, int flags, uid_t uid)
{
	fuse_req_t req = fake_req(h->fs, uid);
	struct fuse_file_info fi = {.flags = flags};
	fs_ops.open(req, ino, &fi);
	return req;
}

fuse_req_t op_read(struct harness *h, fuse_ino_t ino, struct fuse_file_info *fi,
		   size_t size, off_t off)
{
	fuse_req_t req = fake_req(h->fs, 0);
	fs_ops.read(req, ino, size, off, fi);
	return req;
}

fuse_req_t op_write(struct harness *h, fuse_ino_t ino,
		    struct fuse_file_info *fi, const char *data, uid_t uid)
{
	fuse_req_t req = fake_req(h->fs, uid);
	fs_ops.write(req, ino, data, strlen(data), 0, fi);
	return req;
}

fuse_req_t op_poll(struct harness *h, fuse_ino_t ino, struct fuse_file_info *fi,
		   struct fuse_pollhandle *ph)
{
	fuse_req_t req = fake_req(h->fs, 0);
	fs_ops.poll(req, ino, fi, ph);
	return req;
}

void op_release(struct harness *h, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_req_t req = fake_req(h->fs, 0);
	fs_ops.release(req, ino, fi);
	fake_free(req);
}

fuse_req_t op_rmdir(struct harness *h, fuse_ino_t parent, const char *name,
		    uid_t uid)
{
	fuse_req_t req = fake_req(h->fs, uid);
	fs_ops.rmdir(req, parent, name);
	return req;
}

fuse_ino_t ino_of(struct harness *h, const char *path)
{
	char buf[256];
	fuse_ino_t ino = FUSE_ROOT_ID;
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *save, *p = strtok_r(buf, "/", &save); p;
	     p = strtok_r(NULL, "/", &save)) {
		fuse_req_t req = op_lookup(h, ino, p, 0);
		ino = req->reply == FAKE_ENTRY ? req->entry.ino : 0;
		fake_free(req);
		if (!ino)
			return 0;
	}
	return ino;
}

struct fuse_file_info open_as(struct harness *h, fuse_ino_t ino, int flags,
			      uid_t uid, int *err)
{
	fuse_req_t req = op_open(h, ino, flags, uid);
	struct fuse_file_info fi = {0};
	*err = req->reply == FAKE_ERR ? req->err : 0;
	if (req->reply == FAKE_OPEN)
		fi = req->fi;
	/* answered by hand, as the kernel reads it (flags libfuse cannot set) */
	if (req->reply == FAKE_BUF &&
	    req->len == sizeof(struct fuse_open_out)) {
		struct fuse_open_out out;
		memcpy(&out, req->buf, sizeof(out));
		fi.fh = out.fh;
		fi.flags = flags; /* each read and write says them again */
		fi.direct_io = !!(out.open_flags & FOPEN_DIRECT_IO);
		fi.nonseekable = !!(out.open_flags & FOPEN_NONSEEKABLE);
	}
	fake_free(req);
	return fi;
}

int list_names(struct harness *h, fuse_ino_t ino, size_t size, char *out,
	       size_t outlen)
{
	struct fuse_file_info fi = {0};
	fuse_req_t req = fake_req(h->fs, 0);
	int calls = 0;
	off_t off = 0;
	fs_ops.opendir(req, ino, &fi);
	fi = req->fi;
	fake_free(req);
	out[0] = 0;
	for (;;) {
		req = fake_req(h->fs, 0);
		fs_ops.readdir(req, ino, size, off, &fi);
		calls++;
		if (req->reply != FAKE_BUF || req->len == 0 || calls > 1000) {
			fake_free(req);
			break;
		}
		for (size_t pos = 0; pos < req->len;) {
			uint64_t next;
			uint32_t nl;
			memcpy(&next, req->buf + pos + 8, 8);
			memcpy(&nl, req->buf + pos + 16, 4);
			size_t used = strlen(out);
			snprintf(out + used, outlen - used, "%s%.*s",
				 used ? " " : "", (int)nl, req->buf + pos + 24);
			off = (off_t)next;
			pos += (24 + nl + 7) & ~(size_t)7;
		}
		fake_free(req);
	}
	req = fake_req(h->fs, 0);
	fs_ops.releasedir(req, ino, &fi);
	fake_free(req);
	return calls;
}
