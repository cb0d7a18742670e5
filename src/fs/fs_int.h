/* What fs.c (the FUSE operations) and park.c (requests that wait) share
 * inside the filesystem. */
#ifndef TCPFS_FS_INT_H
#define TCPFS_FS_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "node.h"
#include "tcpfs/events.h"
#include "tcpfs/fs.h"
#include "tcpfs/kind.h"
#include "tcpfs/ladder.h"
#include "tcpfs/waitq.h"

/* Fixed inodes: the root, events, a directory per kind, the scopes
 * directory, and each kind's fixed files (all below NODE_FIXED). */
enum {
	INO_ROOT = FUSE_ROOT_ID,
	INO_EVENTS,
	INO_KIND0,			       /* + the kind's index */
	INO_SCOPES = INO_KIND0 + FS_KINDS_MAX, /* netns/ */
	INO_FIXED0 = 16, /* + index * KIND_FIXED_MAX + the file's */
};
_Static_assert(INO_SCOPES < INO_FIXED0, "kind inodes");
_Static_assert(KIND_SCOPE_FILES_MAX <= NODE_MAX_FILES, "scope files");
_Static_assert(INO_FIXED0 + FS_KINDS_MAX * KIND_FIXED_MAX <= NODE_FIXED,
	       "fixed inodes");

/* The size a fixed file that takes writes (engine/clone) says it has, as a
 * sysfs attribute does: the kernel lets writes within it run in parallel
 * (see reply_open_parallel()). */
#define FIXED_CTL_SIZE 4096

/* What an open file holds (fi->fh), or a parked request: on the list of
 * the filesystem's handles, so that what the kernel never releases (a mount
 * detached while files were open) is freed at exit all the same. */
enum handle_type { H_SNAP, H_EVENTS, H_STREAM, H_PARKED, H_STALE };

struct handle {
	struct handle *prev, *next;
	enum handle_type type;
	uint32_t slot; /* an open file's in fs->slots (its fh), else 0 */
};

struct fs {
	struct events *events;
	struct kind kinds[FS_KINDS_MAX];
	int nkinds;
	int scoped;    /* the kind with scopes (the first), or -1 */
	uid_t refused; /* the last uid refused the scopes, logged */
	struct nodes *nodes;
	struct timespec mounted;
	struct ladder_style ladder; /* how ladder files are drawn */
	struct handle handles;	    /* list head */
	struct fh_slot {	    /* open files by the slot their fh names */
		struct handle *h;   /* NULL: free, NEXT the next free */
		uint32_t next;
	} * slots;
	uint32_t nslots, capslots, free_slot; /* slot 0 is none */
	uint32_t epoch; /* tags the fh of what it opens (fs.c), never 0 */
};

/* An open file served from a rendering taken at open. */
struct snap {
	struct handle h;
	struct buf b;
	size_t next; /* a listing's: the offset its last readdir gave */
};

/* An open file's poll handle, notified once when what it polls changes. */
struct poller {
	struct waiter w;	    /* its place on a waitq */
	struct fuse_pollhandle *ph; /* to notify, or NULL */
};

/* An open events file: a subscriber of the hub. */
struct evfile {
	struct handle h;
	struct events_sub *sub;
	struct waitq lane; /* its parked reads, in order */
	struct poller poll;
};

/* An open stream of a kind (data, listen). */
struct stream {
	struct handle h;
	const struct kind *k;
	void *s;	       /* the kind's stream */
	struct waitq lanes[2]; /* parked reads, writes: each in order */
	struct poller poll;
};

static inline struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Put H, of TYPE, on FS's list of handles / take it off. */
void fs_hold(struct fs *fs, struct handle *h, enum handle_type type);
void fs_unhold(struct handle *h);

/* park.c: every request that waits, and every poll handle. Each answers
 * REQ now if it can, else parks it on the wait queue of what it waits for;
 * requests of one lane (an open file's reads, or its writes) are answered
 * in order. An interrupted request is answered EINTR (a write that took
 * some bytes: that many). NONBLOCK (the file's O_NONBLOCK): what would
 * wait, or wait behind another, is answered EAGAIN instead (a write that
 * took some bytes: that many). */
void park_read(struct fs *fs, fuse_req_t req, struct stream *st, size_t size,
	       bool nonblock);
void park_write(struct fs *fs, fuse_req_t req, struct stream *st,
		const char *data, size_t size, bool nonblock);
void park_events(struct fs *fs, fuse_req_t req, struct evfile *ef, size_t size,
		 bool nonblock);
/* A ctl write of SIZE bytes to connection KEY of kind K that returned
 * -EINPROGRESS: answered when K's ctl_wait says it is done. */
void park_connect(struct fs *fs, fuse_req_t req, const struct kind *k,
		  uint64_t key, size_t size);
/* Notify PH when WQ is woken; replaces PL's previous poll handle. */
void park_poll(struct poller *pl, struct waitq *wq, struct fuse_pollhandle *ph);
/* Forget PL's poll handle, not notified (its file is closed). */
void park_poll_close(struct poller *pl);
/* Answer every request parked on LANE EINTR (its open file is closed). */
void park_cancel(struct waitq *lane);
/* ST is being closed: answer its parked requests EINTR, drop its poll
 * handle. */
void park_stream_close(struct stream *st);
/* Free parked request H without answering it (the session is gone). */
void park_drop(struct handle *h);

#endif
