/* The fs unit tests' harness: a fake kind of connection over plain arrays,
 * and one call per FUSE operation that returns the answered request. */
#ifndef FS_HARNESS_H
#define FS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

#include "fake_fuse.h"
#include "tcpfs/events.h"
#include "tcpfs/fs.h"
#include "tcpfs/kind.h"

#define FAKE_CONNS 8
#define FAKE_IN_MAX (160 << 10)
#define INO_EVENTS_T 2 /* fs_int.h: INO_EVENTS */

/* One connection of the fake kind. */
struct fconn {
	char name[32];
	uid_t owner;
	bool unowned; /* its owner is unknown (a kernel TIME_WAIT's) */
	bool alive;
	bool connected; /* ctl_wait: the "connect" is done */
	pid_t reader;	/* 0: every reader sees it; else only this pid */
	bool has_lives; /* load says how long it stays: */
	double lives;	/* kind_conn.lives, in seconds */
	uint64_t scope; /* the scope it is in (0: the reader's own view) */
	char *in; /* what its pipe gives to reads (FAKE_IN_MAX bytes): more
		     than a READ the kernel may cut a read into */
	size_t in_len;
	size_t room; /* bytes its pipe takes from writes, then EAGAIN */
	char out[256];
	size_t out_len;
	struct waitq wq;
};

/* The fake kind's state: its connections and what ctl and rmdir saw. */
struct fkind {
	struct fconn c[FAKE_CONNS];
	int ctl_calls;
	struct ctl_cmd last;
	uint64_t last_key;	     /* of the last ctl */
	struct kind_caller last_who; /* of the last ctl or fixed_open */
	char rmdir_name[32];
	int streams;	   /* open */
	char restored[32]; /* what restore took, as text */
	int list_err;	   /* list fails so, after listing */
};

struct harness {
	struct fkind fk;
	struct kind kind;
	struct events *events;
	struct fs *fs;
};

/* A filesystem over the fake kind (directory "fake", fixed files "make" and
 * "clone" (it makes a connection "cN" of the opener's, and is its ctl),
 * rows "note" (snapshot, 0444) and "pipe" (stream, 0600)) with N
 * connections "c0".. owned by uid 1000. */
void harness_init(struct harness *h, int n);
/* As harness_init, but a per-reader kind (struct kind.per_reader) with
 * scopes: directory "sc" holds scopes 7 and 9, each with a file "info"
 * ("scope N") and the kind's directory as seen there. */
void harness_init_per_reader(struct harness *h, int n);
void harness_fini(struct harness *h);
/* Add BYTES to connection I's pipe and wake its wait queue. */
void harness_feed(struct harness *h, int i, const char *bytes);
/* Wake connection I's wait queue (its readiness changed). */
void harness_wake(struct harness *h, int i);

/* Each runs one operation as UID and returns the request (fake_free it). */
fuse_req_t op_lookup(struct harness *h, fuse_ino_t parent, const char *name,
		     uid_t uid);
fuse_req_t op_getattr(struct harness *h, fuse_ino_t ino, uid_t uid);
fuse_req_t op_open(struct harness *h, fuse_ino_t ino, int flags, uid_t uid);
fuse_req_t op_read(struct harness *h, fuse_ino_t ino, struct fuse_file_info *fi,
		   size_t size, off_t off);
fuse_req_t op_write(struct harness *h, fuse_ino_t ino,
		    struct fuse_file_info *fi, const char *data, uid_t uid);
fuse_req_t op_poll(struct harness *h, fuse_ino_t ino, struct fuse_file_info *fi,
		   struct fuse_pollhandle *ph);
void op_release(struct harness *h, fuse_ino_t ino, struct fuse_file_info *fi);
fuse_req_t op_rmdir(struct harness *h, fuse_ino_t parent, const char *name,
		    uid_t uid);

/* The inode of PATH ("fake/c0/note"), looked up by root; 0 if none. */
fuse_ino_t ino_of(struct harness *h, const char *path);
/* Open INO as UID with FLAGS: the open file, or fi.fh 0 and ERR set. */
struct fuse_file_info open_as(struct harness *h, fuse_ino_t ino, int flags,
			      uid_t uid, int *err);
/* Read a whole directory through readdir with SIZE-byte buffers, names
 * joined by spaces into OUT, and the number of readdir calls. */
int list_names(struct harness *h, fuse_ino_t ino, size_t size, char *out,
	       size_t outlen);

#endif
