/* Engine connections in the filesystem: engine/, clone, the data and listen
 * streams, and the requests that wait for the engine (connect, a read with
 * nothing to read, a write into a full buffer, an accept). A waiting
 * request is parked here and answered from the loop when the engine reports
 * progress on its connection, or with EINTR when it is interrupted. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_int.h"
#include "tcpfs/log.h"

enum wait_kind { W_CONNECT, W_READ, W_WRITE, W_ACCEPT };

/* An open data or listen file. */
struct stream {
	struct handle h;
	enum files_stream kind;
	uint32_t id;
	bool gave; /* listen: this open has given its connection: EOF now */
};

struct waiter {
	struct waiter *next;
	fuse_req_t req;
	enum wait_kind kind;
	uint32_t id;
	size_t size;	 /* read: at most; connect, write: bytes to answer */
	size_t done;	 /* write: bytes the engine has taken */
	size_t skip;	 /* write: bytes taken before SRC was copied */
	const char *src; /* write: bytes SKIP.. of the write */
	struct stream *st;
	char data[]; /* write: the copy SRC points to when parked */
};

static struct tcp_engine *tcp_of(struct fs *fs)
{
	return tundrv_tcp(fs->drv);
}

/* ---- answering waiting requests ---- */

static bool connect_done(struct fs *fs, struct waiter *w)
{
	struct tcp_info_snap i;
	if (tcp_info_get(tcp_of(fs), w->id, &i) < 0)
		fuse_reply_err(w->req, ENOENT);
	else if (i.state == TCP_SYN_SENT)
		return false;
	else if (i.state == TCP_CLOSED)
		fuse_reply_err(w->req, i.error ? i.error : ECONNABORTED);
	else
		fuse_reply_write(w->req, w->size);
	return true;
}

static bool read_done(struct fs *fs, struct waiter *w)
{
	char *buf = malloc(w->size ? w->size : 1);
	if (!buf) {
		fuse_reply_err(w->req, ENOMEM);
		return true;
	}
	long n = tcp_recv(tcp_of(fs), w->id, buf, w->size, tundrv_now());
	if (n >= 0)
		fuse_reply_buf(w->req, buf, (size_t)n);
	else if (n != -EAGAIN)
		fuse_reply_err(w->req, (int)-n);
	free(buf);
	return n != -EAGAIN;
}

/* True while ID's handshake is under way. */
static bool opening(struct fs *fs, uint32_t id)
{
	struct tcp_info_snap i;
	return tcp_info_get(tcp_of(fs), id, &i) == 0 &&
	       (i.state == TCP_SYN_SENT || i.state == TCP_SYN_RECEIVED);
}

static bool write_done(struct fs *fs, struct waiter *w)
{
	long n = tcp_send(tcp_of(fs), w->id, w->src + (w->done - w->skip),
			  w->size - w->done, tundrv_now());
	if (n == -ENOTCONN && opening(fs, w->id))
		n = -EAGAIN; /* as send(2) on a connecting socket: wait */
	if (n == -EAGAIN || (n >= 0 && w->done + (size_t)n < w->size)) {
		w->done += n > 0 ? (size_t)n : 0;
		return false;
	}
	if (n >= 0)
		fuse_reply_write(w->req, w->size);
	else if (w->done) /* what was taken will be sent: say so */
		fuse_reply_write(w->req, w->done);
	else
		fuse_reply_err(w->req, (int)-n);
	return true;
}

/* A connection a listener accepted belongs to the listener's owner. */
static struct econn *adopt(struct fs *fs, uint32_t id, uid_t owner)
{
	struct tcp_info_snap i;
	struct econn *ec = econns_add(fs->econns, id, owner);
	if (!ec) {
		tcp_free(tcp_of(fs), id, tundrv_now());
		return NULL;
	}
	if (tcp_info_get(tcp_of(fs), id, &i) == 0)
		ec->state = i.state;
	return ec;
}

static bool accept_done(struct fs *fs, struct waiter *w)
{
	char line[16];
	struct econn *lec = econns_find(fs->econns, w->id);
	if (w->st->gave || !lec) {
		fuse_reply_buf(w->req, NULL, 0);
		return true;
	}
	int id = tcp_accept(tcp_of(fs), w->id);
	if (id == -EAGAIN)
		return false;
	if (id < 0) {
		fuse_reply_err(w->req, -id);
		return true;
	}
	if (!adopt(fs, (uint32_t)id, lec->owner)) {
		fuse_reply_err(w->req, ENOMEM);
		return true;
	}
	w->st->gave = true;
	int n = snprintf(line, sizeof(line), "%d\n", id);
	fuse_reply_buf(w->req, line, (size_t)n);
	return true;
}

/* Answer W if the engine allows it now; true if answered. */
static bool try_answer(struct fs *fs, struct waiter *w)
{
	switch (w->kind) {
	case W_CONNECT:
		return connect_done(fs, w);
	case W_READ:
		return read_done(fs, w);
	case W_WRITE:
		return write_done(fs, w);
	case W_ACCEPT:
		return accept_done(fs, w);
	}
	return true;
}

/* Answer every waiter of connection ID that can be answered now. */
static void wake(struct fs *fs, uint32_t id)
{
	for (struct waiter **p = &fs->waiters; *p;) {
		struct waiter *w = *p;
		if (w->id == id && try_answer(fs, w)) {
			*p = w->next;
			free(w);
		} else {
			p = &w->next;
		}
	}
}

static void on_interrupt(fuse_req_t req, void *data)
{
	struct fs *fs = data;
	for (struct waiter **p = &fs->waiters; *p; p = &(*p)->next) {
		struct waiter *w = *p;
		if (w->req != req)
			continue;
		*p = w->next;
		if (w->kind == W_WRITE && w->done)
			fuse_reply_write(req, w->done);
		else
			fuse_reply_err(req, EINTR);
		free(w);
		return;
	}
}

/* True if a request of KIND on ID already waits: a new one queues behind
 * it, so that writes keep their order and readers are served in turn. */
static bool queued(struct fs *fs, enum wait_kind kind, uint32_t id)
{
	for (struct waiter *w = fs->waiters; w; w = w->next)
		if (w->id == id && w->kind == kind)
			return true;
	return false;
}

/* Answer W now if possible, else keep it until the engine moves. */
static void answer_or_park(struct fs *fs, struct waiter *w)
{
	if (!queued(fs, w->kind, w->id) && try_answer(fs, w)) {
		free(w);
	} else {
		struct waiter **p = &fs->waiters;
		while (*p)
			p = &(*p)->next;
		*p = w;
		/* calls on_interrupt at once if already interrupted */
		fuse_req_interrupt_func(w->req, on_interrupt, fs);
	}
}

static struct waiter *waiter_new(fuse_req_t req, enum wait_kind kind,
				 uint32_t id, size_t size, size_t data)
{
	struct waiter *w = malloc(sizeof(*w) + data);
	if (!w) {
		fuse_reply_err(req, ENOMEM);
		return NULL;
	}
	*w = (struct waiter){.req = req, .kind = kind, .id = id, .size = size};
	return w;
}

void engine_park_connect(fuse_req_t req, uint32_t id, size_t size)
{
	struct waiter *w = waiter_new(req, W_CONNECT, id, size, 0);
	if (w)
		answer_or_park(fs_of(req), w);
}

/* ---- what the engine reports ---- */

static void announce(struct fs *fs, struct econn *ec,
		     const struct tcp_info_snap *i)
{
	char what[160];
	int n = snprintf(what, sizeof(what), "%s %s -> %s", ec->label,
			 tcp_state_name(ec->state), tcp_state_name(i->state));
	if (i->state == TCP_CLOSED && i->error)
		snprintf(what + n, sizeof(what) - (size_t)n, " (%s)",
			 strerror(i->error));
	fs_post_event(fs, what);
	if (i->state == TCP_CLOSED && i->error && !ec->err[0])
		snprintf(ec->err, sizeof(ec->err), "closed: %s",
			 strerror(i->error));
	ec->state = i->state;
	ec->idle_since = i->state == TCP_CLOSED ? tundrv_now() : 0;
}

/* Wake (if NOTIFY) and forget every poller of EC. */
static void poll_wake(struct econn *ec, bool notify)
{
	for (int i = 0; i < ECONN_POLLERS; i++) {
		if (!ec->poll[i])
			continue;
		if (notify)
			fuse_lowlevel_notify_poll(ec->poll[i]);
		fuse_pollhandle_destroy(ec->poll[i]);
		ec->poll[i] = NULL;
	}
}

/* Keep PH to wake; when every place is taken the oldest is woken now (it
 * polls again and waits its turn). */
static void poll_keep(struct econn *ec, struct fuse_pollhandle *ph)
{
	int i = 0;
	while (i < ECONN_POLLERS && ec->poll[i])
		i++;
	if (i == ECONN_POLLERS) {
		fuse_lowlevel_notify_poll(ec->poll[0]);
		fuse_pollhandle_destroy(ec->poll[0]);
		memmove(&ec->poll[0], &ec->poll[1],
			(ECONN_POLLERS - 1) * sizeof(ec->poll[0]));
		i = ECONN_POLLERS - 1;
	}
	ec->poll[i] = ph;
}

static void on_engine_event(void *ctx, uint32_t id, unsigned events)
{
	struct fs *fs = ctx;
	struct tcp_info_snap i;
	struct econn *ec = econns_find(fs->econns, id);

	if (!ec)
		return; /* not accepted yet: it has no directory */
	/* every change of state says so: no snapshot per packet otherwise */
	if ((events & TCP_EV_STATE) && tcp_info_get(tcp_of(fs), id, &i) == 0 &&
	    i.state != ec->state)
		announce(fs, ec, &i);
	wake(fs, id);
	if (events)
		poll_wake(ec, true);
}

/* A scan of every connection at most this often (clone is frequent). */
#define REAP_EVERY 100000

/* Free connections closed longer than fs->reap that nobody waits on. */
static void reap(struct fs *fs)
{
	tcp_time now = tundrv_now();
	if (now - fs->reaped < REAP_EVERY)
		return;
	fs->reaped = now;
	for (size_t i = 0; i < econns_count(fs->econns);) {
		struct econn *ec = econns_at(fs->econns, i);
		if (ec->state != TCP_CLOSED || !ec->idle_since ||
		    now - ec->idle_since < fs->reap ||
		    queued(fs, W_READ, ec->id) ||
		    queued(fs, W_ACCEPT, ec->id)) {
			i++;
			continue;
		}
		tlog(LOG_INFO, "%s: reaped, closed for %llu s", ec->label,
		     (unsigned long long)((now - ec->idle_since) / 1000000));
		poll_wake(ec, false);
		tcp_free(tcp_of(fs), ec->id, now);
		econns_del(fs->econns, ec->id);
	}
}

/* ---- the engine's life ---- */

int engine_start(struct fs *fs, const struct fs_config *cfg)
{
	struct tundrv_config sc = cfg->drv;
	char why[200];

	fs->reap = cfg->reap;
	fs->econns = econns_new();
	if (!fs->econns)
		return -1;
	if (!cfg->engine) {
		snprintf(fs->engine_off, sizeof(fs->engine_off),
			 "the engine is off (--no-engine)");
		return 0;
	}
	sc.event = on_engine_event;
	sc.ctx = fs;
	fs->drv = tundrv_new(fs->loop, &sc, why, sizeof(why));
	if (!fs->drv) {
		snprintf(fs->engine_off, sizeof(fs->engine_off),
			 "the engine is off: %s", why);
		tlog(LOG_WARNING, "%s; kernel/ works, engine/ answers ENETDOWN",
		     fs->engine_off);
	}
	return 0;
}

void engine_stop(struct fs *fs)
{
	while (fs->waiters) { /* the session is gone: nobody to answer */
		struct waiter *w = fs->waiters;
		fs->waiters = w->next;
		free(w);
	}
	for (size_t i = 0; fs->econns && i < econns_count(fs->econns); i++) {
		struct econn *ec = econns_at(fs->econns, i);
		poll_wake(ec, false);
		if (fs->drv) /* the peers learn it now, not at a timeout */
			tcp_abort(tcp_of(fs), ec->id, tundrv_now());
	}
	econns_free(fs->econns);
	tundrv_free(fs->drv);
}

/* ---- engine/ and its directories ---- */

int engine_load(struct fs *fs, fuse_req_t req, uint32_t id, struct conn *c)
{
	struct econn *ec = econns_find(fs->econns, id);
	if (!ec || !fs->drv || tcp_info_get(tcp_of(fs), id, &c->info) < 0)
		return -ENOENT;
	view_from_tcp(&c->view, &c->info, ec->owner);
	c->node = NULL;
	c->ec = ec;
	c->ctx = (struct file_ctx){
		.kind = CONN_ENGINE,
		.label = ec->label,
		.err = ec->err,
		.owned = true,
		.owner = ec->owner,
		.caller = req ? fuse_req_ctx(req)->uid : 0,
		.view = &c->view,
		.drv = fs->drv,
		.id = id,
		.info = &c->info,
	};
	return 0;
}

/* The id NAME spells: decimal, no sign, no leading zero; 0 if none. */
static uint32_t parse_id(const char *name)
{
	char *end;
	if (name[0] < '1' || name[0] > '9')
		return 0;
	unsigned long id = strtoul(name, &end, 10);
	return *end || id > UINT32_MAX ? 0 : (uint32_t)id;
}

void engine_lookup(fuse_req_t req, const char *name)
{
	struct fs *fs = fs_of(req);
	struct conn c;
	struct stat st;
	uint32_t id = parse_id(name);
	int err = strcmp(name, "clone") == 0 ?
			  fs_stat_fixed(fs, &st, INO_CLONE) :
		  id ? fs_conn_stat(fs, req, engine_ino(id), &c, &st) :
		       -ENOENT;

	if (err < 0)
		fuse_reply_err(req, -err);
	else
		fs_reply_entry(req, &st, 0);
}

int engine_list(struct fs *fs, struct buf *list)
{
	char name[16];
	if (fs->drv)
		reap(fs);
	fs_dir_add(list, INO_CLONE, S_IFREG, "clone");
	for (size_t i = 0; i < econns_count(fs->econns); i++) {
		uint32_t id = econns_at(fs->econns, i)->id;
		snprintf(name, sizeof(name), "%u", id);
		fs_dir_add(list, engine_ino(id), S_IFDIR, name);
	}
	return list->err;
}

void engine_rmdir(fuse_req_t req, const char *name)
{
	struct fs *fs = fs_of(req);
	struct conn c;
	uint32_t id = parse_id(name);

	if (!id || engine_load(fs, req, id, &c) < 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	uid_t caller = fuse_req_ctx(req)->uid;
	if (caller != 0 && caller != c.ec->owner) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (c.info.state != TCP_CLOSED) {
		snprintf(c.ec->err, sizeof(c.ec->err),
			 c.info.state == TCP_TIME_WAIT ?
				 "rmdir: the connection is in %s: wait 2 MSL, "
				 "or hangup" :
				 "rmdir: the connection is %s: close or hangup "
				 "first",
			 tcp_state_name(c.info.state));
		fuse_reply_err(req, EBUSY);
		return;
	}
	poll_wake(c.ec, false);
	tcp_free(tcp_of(fs), id, tundrv_now());
	econns_del(fs->econns, id);
	wake(fs, id); /* anyone still waiting learns it is gone */
	fuse_reply_err(req, 0);
}

/* Reading clone allocates a connection and gives its name. */
void clone_open(fuse_req_t req, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct buf *snap;

	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (!fs->drv) { /* the log said why at start, once */
		fuse_reply_err(req, ENETDOWN);
		return;
	}
	reap(fs);
	int id = tcp_open(tcp_of(fs));
	if (id < 0) {
		fuse_reply_err(req, -id);
		return;
	}
	struct econn *ec = adopt(fs, (uint32_t)id, fuse_req_ctx(req)->uid);
	if (!ec || !(snap = fs_snap_open(fs, fi))) {
		if (ec) {
			tcp_free(tcp_of(fs), (uint32_t)id, tundrv_now());
			econns_del(fs->econns, (uint32_t)id);
		}
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ec->idle_since = tundrv_now(); /* reaped if never used */
	buf_printf(snap, "%d\n", id);
	fi->direct_io = 1;
	fuse_reply_open(req, fi);
}

/* ---- data and listen ---- */

static void stream_drop(struct handle *h)
{
	free(h);
}

void stream_open(fuse_req_t req, struct conn *c, int row,
		 struct fuse_file_info *fi)
{
	struct stream *st = calloc(1, sizeof(*st));
	if (!st) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	st->h.drop = stream_drop;
	fs_hold(fs_of(req), &st->h);
	st->kind = files_stream(row);
	st->id = c->ctx.id;
	fi->fh = (uintptr_t)st;
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fuse_reply_open(req, fi);
}

void stream_read(fuse_req_t req, fuse_ino_t ino, size_t size,
		 struct fuse_file_info *fi)
{
	struct stream *st = (struct stream *)(uintptr_t)fi->fh;
	enum wait_kind kind = st->kind == FILES_DATA ? W_READ : W_ACCEPT;
	(void)ino;
	struct waiter *w = waiter_new(req, kind, st->id, size, 0);
	if (!w)
		return;
	w->st = st;
	answer_or_park(fs_of(req), w);
}

void stream_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size,
		  struct fuse_file_info *fi)
{
	struct stream *st = (struct stream *)(uintptr_t)fi->fh;
	(void)ino;
	if (st->kind != FILES_DATA) {
		fuse_reply_err(req, EBADF);
		return;
	}
	/* Most writes fit in the send buffer: take them from FUSE's buffer,
	 * and copy only what has to wait. */
	struct fs *fs = fs_of(req);
	struct waiter now = {.req = req,
			     .kind = W_WRITE,
			     .id = st->id,
			     .size = size,
			     .src = data,
			     .st = st};
	if (!queued(fs, W_WRITE, st->id) && write_done(fs, &now))
		return;
	struct waiter *w =
		waiter_new(req, W_WRITE, st->id, size, size - now.done);
	if (!w)
		return;
	memcpy(w->data, data + now.done, size - now.done);
	w->done = w->skip = now.done;
	w->src = w->data;
	w->st = st;
	answer_or_park(fs, w);
}

void stream_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct stream *st = (struct stream *)(uintptr_t)fi->fh;
	for (struct waiter **p = &fs->waiters; *p;) {
		struct waiter *w = *p;
		if (w->st == st) { /* cannot happen in order; never dangle */
			*p = w->next;
			fuse_reply_err(w->req, EINTR);
			free(w);
		} else {
			p = &w->next;
		}
	}
	fs_unhold(&st->h);
	stream_drop(&st->h);
	fuse_reply_err(req, 0);
}

/* Readable: data, or the peer's FIN or an error to report. */
static unsigned poll_events(struct fs *fs, uint32_t id)
{
	struct tcp_info_snap i;
	unsigned ev = 0;
	if (tcp_info_get(tcp_of(fs), id, &i) < 0)
		return POLLERR;
	if (tcp_readable(tcp_of(fs), id) > 0 || i.state == TCP_CLOSED ||
	    i.state == TCP_CLOSE_WAIT || i.state == TCP_LAST_ACK ||
	    i.state == TCP_CLOSING || i.state == TCP_TIME_WAIT)
		ev |= POLLIN | POLLRDNORM;
	if ((i.state == TCP_ESTABLISHED || i.state == TCP_CLOSE_WAIT) &&
	    tcp_writable(tcp_of(fs), id) > 0)
		ev |= POLLOUT | POLLWRNORM;
	if (i.state == TCP_CLOSED && i.error)
		ev |= POLLERR;
	return ev;
}

void stream_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		 struct fuse_pollhandle *ph)
{
	struct fs *fs = fs_of(req);
	struct stream *st = (struct stream *)(uintptr_t)fi->fh;
	struct econn *ec = econns_find(fs->econns, ino_engine_id(ino));
	unsigned ev;

	if (!ec || !fs->drv) {
		ev = POLLERR;
	} else if (st->kind == FILES_LISTEN) {
		struct tcp_info_snap i;
		bool ready = st->gave ||
			     tcp_info_get(tcp_of(fs), ec->id, &i) < 0 ||
			     i.accept_q;
		ev = ready ? POLLIN | POLLRDNORM : 0;
	} else {
		ev = poll_events(fs, ec->id);
	}
	if (ph && ec) {
		poll_keep(ec, ph);
	} else if (ph) {
		fuse_pollhandle_destroy(ph);
	}
	fuse_reply_poll(req, ev);
}
