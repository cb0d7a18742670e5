/* FUSE low-level operations over the node table and the file table. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs_int.h"
#include "tcpfs/log.h"
#include "tcpfs/loop.h"
#include "tcpfs/sockname.h"

/* The fixed entries of the root directory. */
static const struct {
	const char *name;
	fuse_ino_t ino;
	mode_t mode;
} root_entries[] = {
	{"kernel", INO_KERNEL, S_IFDIR | 0555},
	{"events", INO_EVENTS, S_IFREG | 0444},
	{"engine", INO_ENGINE, S_IFDIR | 0555},
};
#define NROOT (sizeof(root_entries) / sizeof(root_entries[0]))

/* Sockets come and go: the kernel may cache a name or attributes briefly,
 * every open asks the kernel afresh anyway. */
#define ENTRY_TIMEOUT 1.0

static void on_monitor(void *arg);
static void events_drop(struct events_sub *sub, void *arg);

void fs_hold(struct fs *fs, struct handle *h)
{
	h->prev = &fs->handles;
	h->next = fs->handles.next;
	h->next->prev = h;
	fs->handles.next = h;
}

void fs_unhold(struct handle *h)
{
	h->prev->next = h->next;
	h->next->prev = h->prev;
}

struct snap {
	struct handle h;
	struct buf b;
};

static void snap_drop(struct handle *h)
{
	struct snap *s = (struct snap *)h;
	buf_free(&s->b);
	free(s);
}

struct buf *fs_snap_open(struct fs *fs, struct fuse_file_info *fi)
{
	struct snap *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->h.drop = snap_drop;
	fs_hold(fs, &s->h);
	fi->fh = (uintptr_t)s;
	return &s->b;
}

static struct buf *snap_of(struct fuse_file_info *fi)
{
	struct snap *s = (struct snap *)(uintptr_t)fi->fh;
	return s ? &s->b : NULL;
}

void fs_snap_close(struct fuse_file_info *fi)
{
	struct snap *s = (struct snap *)(uintptr_t)fi->fh;
	if (s) {
		fs_unhold(&s->h);
		snap_drop(&s->h);
	}
	fi->fh = 0;
}

void fs_config_default(struct fs_config *cfg)
{
	cfg->engine = true;
	tundrv_config_default(&cfg->drv);
	cfg->reap = 300 * 1000000ull;
}

struct fs *fs_new(struct loop *loop, const struct fs_config *cfg)
{
	struct fs *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return NULL;
	fs->loop = loop;
	fs->handles.prev = fs->handles.next = &fs->handles;
	fs->diag = diag_open();
	fs->procpid = procpid_new("/proc");
	fs->nodes = nodes_new();
	fs->events = events_new();
	clock_gettime(CLOCK_REALTIME, &fs->mounted);
	fs->monitor = diag_monitor_open();
	if (!fs->monitor)
		tlog(LOG_WARNING, "events: no kernel socket destroy events: %s",
		     strerror(errno));
	else if (loop_add(loop, diag_fd(fs->monitor), on_monitor, fs) < 0)
		tlog(LOG_WARNING, "events: cannot watch the monitor socket");
	if (!fs->diag || !fs->procpid || !fs->nodes || !fs->events ||
	    engine_start(fs, cfg) < 0) {
		int err = errno;
		fs_free(fs);
		errno = err ? err : ENOMEM;
		return NULL;
	}
	return fs;
}

void fs_free(struct fs *fs)
{
	if (!fs)
		return;
	engine_stop(fs);
	if (fs->events) /* readers still waiting: the session is gone */
		events_each(fs->events, events_drop, NULL);
	while (fs->handles.next != &fs->handles) {
		struct handle *h = fs->handles.next;
		fs_unhold(h);
		h->drop(h);
	}
	if (fs->monitor) {
		loop_del(fs->loop, diag_fd(fs->monitor));
		diag_close(fs->monitor);
	}
	diag_close(fs->diag);
	events_free(fs->events);
	procpid_free(fs->procpid);
	nodes_free(fs->nodes);
	free(fs);
}

void fs_fill_stat(struct fs *fs, struct stat *st, fuse_ino_t ino, mode_t mode,
		  uid_t uid)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = mode;
	st->st_nlink = S_ISDIR(mode) ? 2 : 1;
	st->st_uid = uid;
	st->st_atim = st->st_mtim = st->st_ctim = fs->mounted;
}

/* The attributes of fixed inode INO; -ENOENT if there is none. */
int fs_stat_fixed(struct fs *fs, struct stat *st, fuse_ino_t ino)
{
	if (ino == INO_ROOT) {
		fs_fill_stat(fs, st, ino, S_IFDIR | 0555, 0);
		return 0;
	}
	if (ino == INO_CLONE) {
		fs_fill_stat(fs, st, ino, S_IFREG | 0444, 0);
		return 0;
	}
	for (size_t i = 0; i < NROOT; i++)
		if (root_entries[i].ino == ino) {
			fs_fill_stat(fs, st, ino, root_entries[i].mode, 0);
			return 0;
		}
	return -ENOENT;
}

static int conn_load(struct fs *fs, fuse_req_t req, struct node *node,
		     struct conn *c)
{
	int err = diag_get(fs->diag, &node->key, &c->sock);
	if (err < 0)
		return err;
	c->node = node;
	view_from_diag(&c->view, &c->sock);
	c->ctx = (struct file_ctx){
		.kind = CONN_KERNEL,
		.label = node->label,
		.err = node->err,
		.owned = c->sock.full,
		.owner = c->sock.full ? c->sock.uid : 0,
		.caller = req ? fuse_req_ctx(req)->uid : 0,
		.view = &c->view,
		.diag = fs->diag,
		.procpid = fs->procpid,
		.sock = &c->sock,
	};
	return 0;
}

/* The attributes of connection directory or file INO. */
int fs_conn_stat(struct fs *fs, fuse_req_t req, fuse_ino_t ino, struct conn *c,
		 struct stat *st)
{
	int err;
	if (ino_is_engine(ino)) {
		err = engine_load(fs, req, ino_engine_id(ino), c);
	} else {
		struct node *node = nodes_get(fs->nodes, ino);
		err = node ? conn_load(fs, req, node, c) : -ENOENT;
	}
	if (err < 0)
		return err;
	int r = node_row(ino);
	if (r < 0) {
		fs_fill_stat(fs, st, ino, S_IFDIR | 0555, c->ctx.owner);
		return 0;
	}
	if (r >= files_count() || !files_present(r, &c->ctx))
		return -ENOENT;
	fs_fill_stat(fs, st, ino, S_IFREG | files_mode(r), c->ctx.owner);
	return 0;
}

void fs_reply_entry(fuse_req_t req, const struct stat *st, uint64_t gen)
{
	struct fuse_entry_param e = {
		.ino = st->st_ino,
		.generation = gen,
		.attr = *st,
		.attr_timeout = ENTRY_TIMEOUT,
		.entry_timeout = ENTRY_TIMEOUT,
	};
	fuse_reply_entry(req, &e);
}

static void lookup_socket(fuse_req_t req, const char *name)
{
	struct fs *fs = fs_of(req);
	struct diag_key key;
	struct conn c;
	struct stat st;

	if (sockname_parse(name, &key) < 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	struct node *node = nodes_add(fs->nodes, name);
	if (!node) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	node->key = key;
	int err = fs_conn_stat(fs, req, node->ino, &c, &st);
	if (err < 0) {
		if (node->nlookup == 0)
			nodes_forget(fs->nodes, node->ino, 0);
		fuse_reply_err(req, -err);
		return;
	}
	node->nlookup++;
	fs_reply_entry(req, &st, node->gen);
}

static void lookup_file(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct conn c;
	struct stat st;
	int r = files_lookup(name);

	if (r < 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	int err = fs_conn_stat(fs, req, parent + (fuse_ino_t)r + 1, &c, &st);
	if (err < 0) {
		fuse_reply_err(req, -err);
		return;
	}
	if (c.node)
		c.node->nlookup++;
	fs_reply_entry(req, &st, c.node ? c.node->gen : 0);
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct stat st;

	if (parent == INO_ROOT) {
		for (size_t i = 0; i < NROOT; i++)
			if (strcmp(name, root_entries[i].name) == 0) {
				fs_stat_fixed(fs_of(req), &st,
					      root_entries[i].ino);
				fs_reply_entry(req, &st, 0);
				return;
			}
		fuse_reply_err(req, ENOENT);
	} else if (parent == INO_KERNEL) {
		lookup_socket(req, name);
	} else if (parent == INO_ENGINE) {
		engine_lookup(req, name);
	} else if (parent >= NODE_FIXED && node_row(parent) < 0) {
		lookup_file(req, parent, name);
	} else {
		fuse_reply_err(req, ENOENT);
	}
}

static void forget(struct fs *fs, fuse_ino_t ino, uint64_t n)
{
	if (!ino_is_engine(ino)) /* engine inodes need no table */
		nodes_forget(fs->nodes, ino, n);
}

static void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t n)
{
	forget(fs_of(req), ino, n);
	fuse_reply_none(req);
}

static void fs_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *list)
{
	for (size_t i = 0; i < count; i++)
		forget(fs_of(req), list[i].ino, list[i].nlookup);
	fuse_reply_none(req);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct conn c;
	struct stat st;
	(void)fi;

	if (ino < NODE_FIXED) {
		if (fs_stat_fixed(fs, &st, ino) < 0) {
			fuse_reply_err(req, ENOENT);
			return;
		}
	} else {
		int err = fs_conn_stat(fs, req, ino, &c, &st);
		if (err < 0) {
			fuse_reply_err(req, -err);
			return;
		}
	}
	fuse_reply_attr(req, &st, ENTRY_TIMEOUT);
}

/* O_TRUNC from `echo verb > ctl` arrives as a size change: accept it. */
static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	(void)attr;
	if (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME |
		       FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
		       FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	fs_getattr(req, ino, fi);
}

/* Directory listings: records of (ino, mode, name), taken whole at offset
 * 0 and served from that snapshot; a record's offset is its byte position. */
void fs_dir_add(struct buf *list, uint64_t ino, uint32_t mode, const char *name)
{
	buf_add(list, &ino, sizeof(ino));
	buf_add(list, &mode, sizeof(mode));
	buf_add(list, name, strlen(name) + 1);
}

static void list_socket(const struct diag_sock *s, void *arg)
{
	char name[SOCKNAME_MAX];
	sockname_format(name, &s->key);
	/* d_ino is a hint only: the socket inode, else its cookie */
	fs_dir_add(arg, s->inode ? s->inode : s->key.cookie, S_IFDIR, name);
}

static int list_dir(struct fs *fs, fuse_req_t req, fuse_ino_t ino,
		    struct buf *list)
{
	fs_dir_add(list, ino, S_IFDIR, ".");
	fs_dir_add(list, INO_ROOT, S_IFDIR, "..");
	if (ino == INO_ROOT) {
		for (size_t i = 0; i < NROOT; i++)
			fs_dir_add(list, root_entries[i].ino,
				   root_entries[i].mode & S_IFMT,
				   root_entries[i].name);
		return list->err;
	}
	if (ino == INO_KERNEL) {
		int err = diag_dump(fs->diag, list_socket, list);
		return err < 0 ? err : list->err;
	}
	if (ino == INO_ENGINE)
		return engine_list(fs, list);
	struct conn c;
	struct stat st;
	int err = fs_conn_stat(fs, req, ino, &c, &st);
	if (err < 0)
		return err;
	for (int r = 0; r < files_count(); r++)
		if (files_present(r, &c.ctx))
			fs_dir_add(list, ino + (fuse_ino_t)r + 1, S_IFREG,
				   files_name(r));
	return list->err;
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
	if (!fs_snap_open(fs_of(req), fi)) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fuse_reply_open(req, fi);
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct buf *list = snap_of(fi);
	if (off == 0) {
		buf_free(list);
		int err = list_dir(fs_of(req), req, ino, list);
		if (err < 0) {
			fuse_reply_err(req, -err);
			return;
		}
	}
	char *out = malloc(size);
	if (!out) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	size_t used = 0, pos = (size_t)off;
	const size_t hdr = sizeof(uint64_t) + sizeof(uint32_t);
	while (pos + hdr < list->len) {
		struct stat st = {0};
		uint32_t mode;
		const char *name = list->p + pos + hdr;
		size_t next = pos + hdr + strlen(name) + 1;
		memcpy(&st.st_ino, list->p + pos, sizeof(uint64_t));
		memcpy(&mode, list->p + pos + sizeof(uint64_t), sizeof(mode));
		st.st_mode = mode;
		size_t need = fuse_add_direntry(req, out + used, size - used,
						name, &st, (off_t)next);
		if (need > size - used)
			break;
		used += need;
		pos = next;
	}
	fuse_reply_buf(req, out, used);
	free(out);
}

static void fs_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	(void)ino;
	fs_snap_close(fi);
	fuse_reply_err(req, 0);
}

/* events: every open is a subscriber; a read with nothing queued waits
 * (its request parked on the subscriber) until a line is posted, or until
 * the reader is interrupted. */
struct parked {
	fuse_req_t req;
	size_t size;
};

static void events_reply(struct events_sub *sub, fuse_req_t req, size_t size)
{
	char *out = malloc(size);
	if (!out) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fuse_reply_buf(req, out, events_read(sub, out, size));
	free(out);
}

/* Answer SUB's parked read with ERR, or with lines if ERR is 0. */
static void events_unpark(struct events_sub *sub, int err)
{
	struct parked *p = *events_waiter(sub);
	if (!p || (!err && !events_pending(sub)))
		return;
	*events_waiter(sub) = NULL;
	if (err)
		fuse_reply_err(p->req, err);
	else
		events_reply(sub, p->req, p->size);
	free(p);
}

static void events_drop(struct events_sub *sub, void *arg)
{
	(void)arg;
	free(*events_waiter(sub));
	*events_waiter(sub) = NULL;
}

static void events_wake(struct events_sub *sub, void *arg)
{
	(void)arg;
	events_unpark(sub, 0);
}

static void events_interrupted(fuse_req_t req, void *data)
{
	struct events_sub *sub = data;
	struct parked *p = *events_waiter(sub);
	if (p && p->req == req)
		events_unpark(sub, EINTR);
}

static void events_open(fuse_req_t req, struct fuse_file_info *fi)
{
	struct events_sub *sub;
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	sub = events_subscribe(fs_of(req)->events);
	if (!sub) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)sub;
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fuse_reply_open(req, fi);
}

static void events_read_req(fuse_req_t req, size_t size,
			    struct fuse_file_info *fi)
{
	struct events_sub *sub = (struct events_sub *)(uintptr_t)fi->fh;
	struct parked *p;
	if (events_pending(sub)) {
		events_reply(sub, req, size);
		return;
	}
	if (*events_waiter(sub) || !(p = malloc(sizeof(*p)))) {
		fuse_reply_err(req, *events_waiter(sub) ? EBUSY : ENOMEM);
		return;
	}
	*p = (struct parked){req, size};
	*events_waiter(sub) = p;
	/* calls events_interrupted at once if already interrupted */
	fuse_req_interrupt_func(req, events_interrupted, sub);
}

static void events_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct events_sub *sub = (struct events_sub *)(uintptr_t)fi->fh;
	events_unpark(sub, EINTR);
	events_unsubscribe(fs_of(req)->events, sub);
	fuse_reply_err(req, 0);
}

/* Post a line stamped with the wall clock and wake the parked readers. */
void fs_post_event(struct fs *fs, const char *what)
{
	struct timespec ts;
	char line[SOCKNAME_MAX + 128];
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(line, sizeof(line), "%lld.%06ld %s", (long long)ts.tv_sec,
		 ts.tv_nsec / 1000, what);
	events_post(fs->events, line);
	events_each(fs->events, events_wake, NULL);
}

static void on_destroyed(const struct diag_sock *s, void *arg)
{
	char name[SOCKNAME_MAX], what[SOCKNAME_MAX + 32];
	sockname_format(name, &s->key);
	snprintf(what, sizeof(what), "kernel/%s destroyed", name);
	fs_post_event(arg, what);
}

static void on_monitor(void *arg)
{
	struct fs *fs = arg;
	if (diag_monitor_read(fs->monitor, on_destroyed, fs) == -ENOBUFS)
		fs_post_event(fs,
			      "kernel lost destroy events (netlink overrun)");
}

/* data and listen: served by the engine, not from a snapshot */
static bool is_stream(fuse_ino_t ino)
{
	return ino_is_engine(ino) && node_row(ino) >= 0 &&
	       files_stream(node_row(ino)) != FILES_NOT_STREAM;
}

/* Opening a file for reading renders it once: every read of this open file
 * is served from that snapshot, so any read size gives the same bytes. */
static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct conn c;
	struct stat st;
	if (ino == INO_EVENTS) {
		events_open(req, fi);
		return;
	}
	if (ino == INO_CLONE) {
		clone_open(req, fi);
		return;
	}
	int err = ino < NODE_FIXED ? -EISDIR :
				     fs_conn_stat(fs, req, ino, &c, &st);
	if (err < 0) {
		fuse_reply_err(req, -err);
		return;
	}
	int r = node_row(ino), acc = fi->flags & O_ACCMODE;
	bool rd = acc != O_WRONLY, wr = acc != O_RDONLY;
	if ((wr && !files_writable(r)) || !files_may_open(r, &c.ctx, rd, wr)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (files_stream(r)) {
		stream_open(req, &c, r, fi);
		return;
	}
	fi->direct_io = 1;
	fi->fh = 0;
	if (acc != O_WRONLY) {
		struct buf *snap = fs_snap_open(fs, fi);
		err = snap ? files_render(r, &c.ctx, snap) : -ENOMEM;
		if (err < 0) {
			fs_snap_close(fi);
			fuse_reply_err(req, -err);
			return;
		}
	}
	fuse_reply_open(req, fi);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct buf *snap = snap_of(fi);
	if (ino == INO_EVENTS) {
		events_read_req(req, size, fi);
		return;
	}
	if (is_stream(ino)) {
		stream_read(req, ino, size, fi);
		return;
	}
	if (!snap) {
		fuse_reply_err(req, EBADF);
		return;
	}
	if ((size_t)off >= snap->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	size_t n = snap->len - (size_t)off;
	fuse_reply_buf(req, snap->p + off, n < size ? n : size);
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *data,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct conn c;
	struct stat st;
	(void)off;
	if (is_stream(ino)) {
		stream_write(req, ino, data, size, fi);
		return;
	}
	int err = fs_conn_stat(fs, req, ino, &c, &st);
	if (err == 0)
		err = files_write(node_row(ino), &c.ctx, data, size);
	if (err == -EINPROGRESS)
		engine_park_connect(req, c.ctx.id, size);
	else if (err < 0)
		fuse_reply_err(req, -err);
	else
		fuse_reply_write(req, size);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	if (ino == INO_EVENTS) {
		events_release(req, fi);
		return;
	}
	if (is_stream(ino)) {
		stream_release(req, fi);
		return;
	}
	fs_snap_close(fi);
	fuse_reply_err(req, 0);
}

static void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (parent == INO_ENGINE)
		engine_rmdir(req, name);
	else
		fuse_reply_err(req, parent == INO_KERNEL || parent == INO_ROOT ?
					    EPERM :
					    ENOTDIR);
}

static void fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	if (is_stream(ino)) {
		stream_poll(req, ino, fi, ph);
		return;
	}
	if (ph)
		fuse_pollhandle_destroy(ph);
	/* a snapshot is always ready; events is handled by its reads */
	fuse_reply_poll(req, POLLIN | POLLRDNORM);
}

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* open(O_TRUNC) then arrives with the open, not as a setattr */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = fs_init,
	.lookup = fs_lookup,
	.forget = fs_forget,
	.forget_multi = fs_forget_multi,
	.getattr = fs_getattr,
	.setattr = fs_setattr,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.releasedir = fs_releasedir,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.release = fs_release,
	.rmdir = fs_rmdir,
	.poll = fs_poll,
};
