/* tcpfs kind: what the filesystem asks of a kind of connection.
 *
 * The root of the mount holds `events` and one directory per kind
 * (kernel/, engine/). The filesystem (fs.h) owns inodes, permissions,
 * snapshots, parked requests and every FUSE reply; a kind owns its
 * connections and never sees a FUSE request. main.c builds each kind over
 * its sources and hands them to fs_new(), as a stack's core is handed its
 * network interfaces.
 *
 * Every connection directory has the generic files fs serves from the
 * loaded record: the one-value files of its view (view.h), `status`, `err`
 * and `ctl` (parsed by fs, performed by the kind). A kind adds rows of its
 * own (struct kind_file): snapshots it renders, or streams it reads and
 * writes. A kind's directory may also hold fixed files (engine/clone).
 *
 * Whatever may have to wait returns -EAGAIN (or -EINPROGRESS) and the wait
 * queue (waitq.h) to wait on; fs parks the request there and asks again
 * when the kind wakes that queue. */
#ifndef TCPFS_KIND_H
#define TCPFS_KIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tcpfs/buf.h"
#include "tcpfs/ctl.h"
#include "tcpfs/view.h"
#include "tcpfs/waitq.h"

/* Bytes of every error buffer: a connection's `err`, a reason in words. */
#define TCPFS_ERR_MAX 256
/* Bytes a kind may keep in a loaded record (kind_conn.priv). */
#define KIND_PRIV_MAX 512
/* Most rows a kind may add; most fixed files in its directory. */
#define KIND_FILES_MAX 8
#define KIND_FIXED_MAX 4

/* One connection, loaded fresh for one request. fs fills label and err
 * (the directory's own buffer) before load; the kind fills the rest and
 * may point err at a buffer of its own. */
struct kind_conn {
	const char *label; /* "kernel/NAME", "engine/N": for messages */
	char *err;	   /* the last error in words, TCPFS_ERR_MAX bytes */
	bool owned;	   /* OWNER is known (not for TIME_WAIT, ...) */
	uid_t owner;
	uint64_t key; /* the kind's handle of it, e.g. the engine's id */
	struct view view;
	/* the kind's own part, e.g. the socket as the kernel sent it */
	_Alignas(8) unsigned char priv[KIND_PRIV_MAX];
};

/* A row a kind adds to its connection directories. */
struct kind_file {
	const char *name;
	mode_t mode; /* permission bits: 0444, 0600, ... */
	bool stream; /* read and written through the stream ops */
	/* True if C has it; NULL: every connection has it. */
	bool (*present)(void *k, const struct kind_conn *c);
	/* Snapshot rows: the contents, into OUT; 0 or -errno. */
	int (*render)(void *k, const struct kind_conn *c, struct buf *out);
};

/* Called by list() for each connection: NAME, and an inode number hint
 * for readdir (d_ino), 0 if none. */
typedef void (*kind_list_fn)(void *arg, const char *name, uint64_t hint);

struct kind_ops {
	const char *dir; /* its directory under the root: "kernel" */
	const struct kind_file *files;
	int nfiles;		  /* at most KIND_FILES_MAX */
	const char *const *fixed; /* fixed files of its directory */
	int nfixed;		  /* at most KIND_FIXED_MAX */

	/* Call FN(ARG, name, hint) for every connection; 0 or -errno. */
	int (*list)(void *k, kind_list_fn fn, void *arg);
	/* Load the connection NAME into C; 0, -ENOENT if there is none. */
	int (*load)(void *k, const char *name, struct kind_conn *c);
	/* Perform CMD, parsed and allowed (CALLER is root or the owner).
	 * 0; -EINPROGRESS when it finishes later (see ctl_wait); or -errno
	 * with the reason in c->err. */
	int (*ctl)(void *k, struct kind_conn *c, const struct ctl_cmd *cmd,
		   uid_t caller);
	/* After -EINPROGRESS from ctl on connection KEY: 0 when it is done,
	 * -EAGAIN with *WQ to wait on, or -errno. */
	int (*ctl_wait)(void *k, uint64_t key, struct waitq **wq);
	/* rmdir of C, by root or its owner: 0 or -errno (the reason in
	 * c->err). NULL: the kind's directories cannot be removed (EPERM). */
	int (*rmdir)(void *k, struct kind_conn *c);
	/* Open fixed file I for reading by CALLER: its contents into OUT; 0
	 * or -errno. */
	int (*fixed_open)(void *k, int i, uid_t caller, struct buf *out);

	/* Streams (rows with stream set). Open row R of C: the stream in
	 * *S; 0 or -errno. */
	int (*stream_open)(void *k, const struct kind_conn *c, int r, void **s);
	/* Read up to SIZE bytes into BUF: bytes (0 at EOF), -EAGAIN with
	 * *WQ to wait on, or -errno. */
	long (*stream_read)(void *k, void *s, char *buf, size_t size,
			    struct waitq **wq);
	/* Write up to SIZE bytes of DATA: bytes taken (maybe fewer), -EAGAIN
	 * with *WQ to wait on, or -errno. */
	long (*stream_write)(void *k, void *s, const char *data, size_t size,
			     struct waitq **wq);
	/* poll(2) bits of S now; *WQ: what to wait on for a change, or NULL
	 * if nothing will change. */
	unsigned (*stream_poll)(void *k, void *s, struct waitq **wq);
	/* Free S. */
	void (*stream_close)(void *k, void *s);
};

/* Write the reason FMT formats into C's err, log it ("LABEL: ctl: ..."),
 * and return ERR: for a kind's ctl and rmdir. */
int kind_fail(struct kind_conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A kind: its operations and its own state, passed to every op as K. */
struct kind {
	const struct kind_ops *ops;
	void *priv;
};

#endif
