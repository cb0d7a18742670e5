/* Every FUSE request that waits: a stream read or write, an accept, an
 * events read, a connect. A parked request sits on the wait queue of what
 * it waits for (a connection's, a subscriber's); when that is woken it
 * tries again, and is answered or parks again. Requests of one lane (an
 * open file's reads, or its writes) go in order: only the lane's first
 * waits on a queue, the next one tries when it is answered. One interrupt
 * handler serves them all. Poll handles wait the same way. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "fs_int.h"

struct parked;
/* Answer P if possible: true if answered, else false with *WQ set. */
typedef bool (*try_fn)(struct parked *p, struct waitq **wq);

struct parked {
	struct handle h;
	struct waiter w;    /* on the wait queue of what it waits for */
	struct waiter lw;   /* on its lane */
	struct waitq *lane; /* NULL: none (connect) */
	fuse_req_t req;
	try_fn try;
	void *obj; /* the stream, the events file, or the kind */
	uint64_t key;
	size_t size;	 /* read: at most; write, connect: to answer */
	size_t done;	 /* write: bytes taken */
	size_t skip;	 /* write: bytes taken before SRC was copied */
	bool nonblock;	 /* O_NONBLOCK: EAGAIN rather than wait */
	const char *src; /* write: bytes SKIP.. of the write */
	char data[];	 /* write: what SRC points to once parked */
};

#define CONTAINER(ptr, type, field)                                            \
	((type *)(void *)((char *)(ptr)-offsetof(type, field)))

static void retry(struct parked *p);

/* Free P, answered, and let the next of its lane try. */
static void finish(struct parked *p)
{
	struct waitq *lane = p->lane;
	bool first = lane && lane->head.next == &p->lw;
	waiter_del(&p->w);
	waiter_del(&p->lw);
	fs_unhold(&p->h);
	free(p);
	if (first && !waitq_empty(lane))
		retry(CONTAINER(lane->head.next, struct parked, lw));
}

static void retry(struct parked *p)
{
	struct waitq *wq = NULL;
	waiter_del(&p->w);
	if (p->try(p, &wq))
		finish(p);
	else if (wq)
		waitq_add(wq, &p->w);
}

static void woken(struct waiter *w)
{
	retry(CONTAINER(w, struct parked, w));
}

static void interrupted(fuse_req_t req, void *data)
{
	struct parked *p = data;
	if (p->done)
		fuse_reply_write(req, p->done);
	else
		fuse_reply_err(req, EINTR);
	finish(p);
}

static struct parked *parked_new(struct fs *fs, fuse_req_t req, try_fn try,
				 void *obj, struct waitq *lane, size_t size,
				 size_t data)
{
	/* only the struct is zeroed: a write's bytes (up to max_write, 1 MiB)
	 * are copied over at once */
	struct parked *p = malloc(sizeof(*p) + data);
	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	fs_hold(fs, &p->h, H_PARKED);
	waiter_init(&p->w, woken);
	waiter_init(&p->lw, NULL);
	p->lane = lane;
	p->req = req;
	p->try = try;
	p->obj = obj;
	p->size = size;
	return p;
}

/* Park P: after its lane's first if there is one; else on WQ if it was
 * tried already, else try it now. */
static void park(struct parked *p, struct waitq *wq, bool tried)
{
	bool first = !p->lane || waitq_empty(p->lane);
	if (first && !tried) {
		if (p->try(p, &wq)) {
			finish(p);
			return;
		}
	}
	if (p->nonblock) { /* it would wait, or go after one that waits */
		fuse_reply_err(p->req, EAGAIN);
		finish(p);
		return;
	}
	if (p->lane)
		waitq_add(p->lane, &p->lw);
	if (first && wq)
		waitq_add(wq, &p->w);
	if (fuse_req_interrupted(p->req)) {
		interrupted(p->req, p);
		return;
	}
	fuse_req_interrupt_func(p->req, interrupted, p);
}

/* ---- what each kind of request tries ---- */

/* A read's sink: the reply, with the kind's bytes where they lie. */
struct read_sink {
	struct kind_sink k;
	fuse_req_t req;
	bool answered;
};

static int reply_iov(struct kind_sink *k, const struct iovec *iov, int n)
{
	struct read_sink *rs = (struct read_sink *)k;
	rs->answered = true;
	return fuse_reply_iov(rs->req, iov, n);
}

static bool try_read(struct parked *p, struct waitq **wq)
{
	struct stream *st = p->obj;
	struct read_sink rs = {{reply_iov}, p->req, false};
	long n =
		st->k->ops->stream_read(st->k->priv, st->s, p->size, &rs.k, wq);
	if (n == -EAGAIN)
		return false;
	if (rs.answered) /* the reader has them, or is gone */
		return true;
	if (n >= 0)
		fuse_reply_buf(p->req, NULL, 0);
	else
		fuse_reply_err(p->req, (int)-n);
	return true;
}

static bool try_write(struct parked *p, struct waitq **wq)
{
	struct stream *st = p->obj;
	long n = st->k->ops->stream_write(st->k->priv, st->s,
					  p->src + (p->done - p->skip),
					  p->size - p->done, wq);
	if (n > 0)
		p->done += (size_t)n;
	if (n == -EAGAIN || (n >= 0 && p->done < p->size && *wq))
		return false;
	if (n >= 0 || p->done) /* what was taken will be sent: say so */
		fuse_reply_write(p->req, p->done);
	else
		fuse_reply_err(p->req, (int)-n);
	return true;
}

static bool try_events(struct parked *p, struct waitq **wq)
{
	struct evfile *ef = p->obj;
	if (!events_pending(ef->sub)) {
		*wq = events_waitq(ef->sub);
		return false;
	}
	char *out = malloc(p->size ? p->size : 1);
	if (!out) {
		fuse_reply_err(p->req, ENOMEM);
		return true;
	}
	fuse_reply_buf(p->req, out, events_read(ef->sub, out, p->size));
	free(out);
	return true;
}

static bool try_connect(struct parked *p, struct waitq **wq)
{
	const struct kind *k = p->obj;
	int err = k->ops->ctl_wait(k->priv, p->key, wq);
	if (err == -EAGAIN)
		return false;
	if (err < 0)
		fuse_reply_err(p->req, -err);
	else
		fuse_reply_write(p->req, p->size);
	return true;
}

/* Park P (NULL: out of memory, REQ answered so) for the first time. */
static void start(struct parked *p, fuse_req_t req, bool nonblock)
{
	if (!p) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	p->nonblock = nonblock;
	park(p, NULL, false);
}

/* The kernel cuts a read larger than its READ requests (max_pages, 32 to
 * 256 pages) into several, and sends the next only when one came back
 * full: a full one would leave the reader waiting for more bytes than
 * have come. So a READ that may be such a piece is never filled. */
#define READ_PIECE_MIN (32 * 4096)
static size_t read_size(size_t size)
{
	return size >= READ_PIECE_MIN ? size - 1 : size;
}

void park_read(struct fs *fs, fuse_req_t req, struct stream *st, size_t size,
	       bool nonblock)
{
	start(parked_new(fs, req, try_read, st, &st->lanes[0], read_size(size),
			 0),
	      req, nonblock);
}

void park_write(struct fs *fs, fuse_req_t req, struct stream *st,
		const char *data, size_t size, bool nonblock)
{
	/* Most writes fit in the send buffer: take them from FUSE's buffer,
	 * and copy only what has to wait. The request is read(2) whole, not
	 * spliced (a write_buf op with FUSE_CAP_SPLICE_READ): for a direct_io
	 * write the kernel copies the writer's pages into the pipe anyway
	 * (fs/fuse/dev.c, "can't control lifetime of pipe buffers", since
	 * CVE-2022-1011), so splicing saves no copy, allocates the pipe's
	 * pages, and costs every request a second system call: measured 5 to
	 * 8% slower, the daemon 12% more CPU a GiB (issue 12, data_ab.sh).
	 * Nor could libfuse splice a 1 MiB write without CAP_SYS_RESOURCE,
	 * which the units drop: a pipe stops at fs.pipe-max-size, 1 MiB. */
	struct parked now = {.req = req, .obj = st, .size = size, .src = data};
	struct parked *p = NULL;
	struct waitq *wq = NULL;
	bool first = waitq_empty(&st->lanes[1]);
	if (first && try_write(&now, &wq))
		return;
	/* what was taken will be sent: a short count says so */
	if (nonblock || !(p = parked_new(fs, req, try_write, st, &st->lanes[1],
					 size, size - now.done))) {
		if (now.done)
			fuse_reply_write(req, now.done);
		else
			fuse_reply_err(req, nonblock ? EAGAIN : ENOMEM);
		return;
	}
	memcpy(p->data, data + now.done, size - now.done);
	p->done = p->skip = now.done;
	p->src = p->data;
	park(p, wq, first);
}

void park_events(struct fs *fs, fuse_req_t req, struct evfile *ef, size_t size,
		 bool nonblock)
{
	start(parked_new(fs, req, try_events, ef, &ef->lane, read_size(size),
			 0),
	      req, nonblock);
}

void park_connect(struct fs *fs, fuse_req_t req, const struct kind *k,
		  uint64_t key, size_t size)
{
	struct parked *p =
		parked_new(fs, req, try_connect, (void *)k, NULL, size, 0);
	if (p)
		p->key = key;
	start(p, req, false);
}

void park_drop(struct handle *h)
{
	struct parked *p = (struct parked *)h;
	waiter_del(&p->w);
	waiter_del(&p->lw);
	free(p);
}

/* ---- poll handles ---- */

/* Notify PL's handle once; it leaves its wait queue (a wake took it off
 * already, fs_quiesce() did not). */
static void poll_woken(struct waiter *w)
{
	struct poller *pl = CONTAINER(w, struct poller, w);
	waiter_del(w);
	fuse_lowlevel_notify_poll(pl->ph);
	fuse_pollhandle_destroy(pl->ph);
	pl->ph = NULL;
}

/* The kernel wakes every poller of an open file with one notification:
 * one handle per open file is enough. */
void park_poll(struct poller *pl, struct waitq *wq, struct fuse_pollhandle *ph)
{
	park_poll_close(pl);
	pl->ph = ph;
	waiter_init(&pl->w, poll_woken);
	waitq_add(wq, &pl->w);
}

void park_poll_close(struct poller *pl)
{
	waiter_del(&pl->w);
	if (pl->ph)
		fuse_pollhandle_destroy(pl->ph);
	pl->ph = NULL;
}

void park_cancel(struct waitq *lane)
{
	while (!waitq_empty(lane)) {
		struct parked *p =
			CONTAINER(lane->head.next, struct parked, lw);
		fuse_reply_err(p->req, EINTR);
		p->lane = NULL; /* the others go too, not try */
		finish(p);
	}
}

void park_stream_close(struct stream *st)
{
	park_cancel(&st->lanes[0]);
	park_cancel(&st->lanes[1]);
	park_poll_close(&st->poll);
}

/* ---- before an upgrade ---- */

/* Answer parked request P for good: a connect ECONNRESET (the engine's
 * connections are reset), a write that took bytes that many, the rest
 * ESTALE, what their open file gives after the upgrade. */
static void end_parked(struct parked *p)
{
	if (p->try == try_connect)
		fuse_reply_err(p->req, ECONNRESET);
	else if (p->done)
		fuse_reply_write(p->req, p->done);
	else
		fuse_reply_err(p->req, ESTALE);
	p->lane = NULL; /* the others of its lane go too, not try */
	finish(p);
}

void fs_quiesce(struct fs *fs)
{
	bool more = true;
	while (more) {
		more = false;
		for (struct handle *h = fs->handles.next; h != &fs->handles;
		     h = h->next)
			if (h->type == H_PARKED) {
				end_parked((struct parked *)h);
				more = true;
				break;
			}
	}
	for (struct handle *h = fs->handles.next; h != &fs->handles;
	     h = h->next) {
		struct poller *pl =
			h->type == H_STREAM ? &((struct stream *)h)->poll :
			h->type == H_EVENTS ? &((struct evfile *)h)->poll :
					      NULL;
		if (pl && pl->ph) /* to poll again: stale */
			poll_woken(&pl->w);
	}
}
