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
 * and `ctl` (parsed by fs, performed by the kind), and `ladder` where the
 * kind keeps a record of the connection's history (its ladder op): fs
 * draws it with the record of the other end, which any kind may have (its
 * ladder_peer op), so that the kinds never call each other. A kind adds
 * rows of its own (struct kind_file): snapshots it renders, or streams it
 * reads and writes. A kind's directory may also hold fixed files
 * (engine/clone).
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

struct ladder_side;

/* Bytes of every error buffer: a connection's `err`, a reason in words. */
#define TCPFS_ERR_MAX 256
/* Bytes a kind may keep in a loaded record (kind_conn.priv). */
#define KIND_PRIV_MAX 512
/* Most rows a kind may add; most fixed files in its directory; most files
 * of a scope's directory. */
#define KIND_FILES_MAX 8
#define KIND_FIXED_MAX 4
#define KIND_SCOPE_FILES_MAX 4

/* One connection, loaded fresh for one request. fs fills label and err
 * (the directory's own buffer, or NULL while it has none) and lives (-1)
 * before load; the kind fills the rest, never writes err during load, and
 * may point err at a buffer of its own. After load err is never NULL. */
struct kind_conn {
	const char *label; /* "kernel/NAME", "engine/N": for messages */
	char *err;	   /* the last error in words, TCPFS_ERR_MAX bytes */
	bool owned;	   /* OWNER is known (not for TIME_WAIT, ...) */
	uid_t owner;
	gid_t group;  /* its files' st_gid (0 unless the kind says) */
	uint64_t key; /* the kind's handle of it, e.g. the engine's id */
	/* Seconds it is sure to stay before the kind frees it by itself (an
	 * engine connection: until it may be reaped); 0: it may go at any
	 * moment (a kernel socket); < 0: it goes only when a request removes
	 * it. fs lets the kernel cache its name no longer, so that a name
	 * never outlives its directory in the dentry cache. */
	double lives;
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

/* Who asks: the process a request comes from, as FUSE gave it. PID is 0
 * when the reader is not visible in the daemon's pid namespace. A kind may
 * show each reader a view of its own (kernel/: the sockets of the reader's
 * network namespace). SCOPE, when not 0, names the view asked for instead
 * (netns/SCOPE/kernel: that namespace's sockets); fs lets only root ask
 * for one. */
struct kind_caller {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	uint64_t scope;
};

/* Called by list() for each connection: NAME, and an inode number hint
 * for readdir (d_ino), 0 if none. */
typedef void (*kind_list_fn)(void *arg, const char *name, uint64_t hint);

struct iovec;
/* Where the bytes of a stream read go: fs answers the reader with them,
 * straight from where the kind keeps them (no copy of ours). */
struct kind_sink {
	/**
	 * take - answer the reader with IOV[0..N) (valid during the call)
	 * \param sink: this sink
	 * Returns 0, or -errno when the reader is gone (the kind then keeps
	 * the bytes for the next read).
	 */
	int (*take)(struct kind_sink *sink, const struct iovec *iov, int n);
};

/* What a kind does. In every op, K is the kind's priv. No op blocks; an
 * op may fail with any -errno its sources give besides those listed. */
struct kind_ops {
	/* its own rows; a new one goes last (its inode slot, files.h) */
	const struct kind_file *files;
	int nfiles;		  /* at most KIND_FILES_MAX */
	const char *const *fixed; /* fixed files of its directory */
	int nfixed;		  /* at most KIND_FIXED_MAX */
	/* Bit I set: fixed file I makes a connection at each open and holds
	 * its name and a newline; opened for writing, it is that
	 * connection's ctl, as Plan 9's clone (mode 0666, not 0444). */
	unsigned fixed_ctl;
	mode_t ladder_mode; /* of its ladder files; 0: 0444 */

	/**
	 * list - every connection, for readdir
	 * \param who: the reader
	 * \param fn: called with ARG, each connection's name and a d_ino hint
	 * Returns 0, or -errno of the source (e.g. -ENOBUFS from netlink;
	 * kernel: -EACCES or -ESRCH when the reader's namespace is not
	 * known, see netns_pool_of_pid()).
	 */
	int (*list)(void *k, const struct kind_caller *who, kind_list_fn fn,
		    void *arg);
	/**
	 * load - one connection, fresh, as WHO sees it
	 * \param who: the reader
	 * \param name: its name in the kind's directory
	 * \param c: filled: view, owned/owner, key, priv (err may be replaced)
	 * Returns 0; -ENOENT if there is no such connection (any more, or
	 * not for WHO); or list's errors.
	 */
	int (*load)(void *k, const struct kind_caller *who, const char *name,
		    struct kind_conn *c);
	/**
	 * ctl - perform a command, already parsed and allowed
	 * \param c: the connection, just loaded
	 * \param cmd: the verb and its arguments
	 * \param who: the writer (uid root or the owner), who loaded C
	 * Returns 0 (c->err cleared); -EINPROGRESS when it finishes later
	 * (see ctl_wait); -EINVAL for a verb or argument it does not take;
	 * else the -errno of the operation; every error with its reason in
	 * c->err (kind_fail()).
	 */
	int (*ctl)(void *k, struct kind_conn *c, const struct ctl_cmd *cmd,
		   const struct kind_caller *who);
	/**
	 * ctl_wait - whether a command that said -EINPROGRESS is done
	 * \param key: the connection's key
	 * \param wq: set to the queue to wait on when not done
	 * Returns 0 when done; -EAGAIN with *WQ while under way; -ENOENT if
	 * the connection is gone; else the -errno it failed with.
	 */
	int (*ctl_wait)(void *k, uint64_t key, struct waitq **wq);
	/**
	 * rmdir - remove a connection's directory (NULL: EPERM, always)
	 * \param c: the connection, just loaded; the caller is root or owner
	 * Returns 0; -EBUSY if it cannot go yet (the reason in c->err);
	 * -ENOENT if it is gone.
	 */
	int (*rmdir)(void *k, struct kind_conn *c);
	/**
	 * fixed_open - open a fixed file of the kind's directory for reading
	 * \param i: which, an index into fixed
	 * \param who: the opener
	 * \param out: its contents
	 * Returns 0; -ENOMEM; or the kind's -errno (engine: -ENETDOWN).
	 */
	int (*fixed_open)(void *k, int i, const struct kind_caller *who,
			  struct buf *out);

	/**
	 * stream_open - open a stream row
	 * \param c: the connection, just loaded
	 * \param r: the row, an index into files
	 * \param s: set to the kind's stream
	 * Returns 0 or -ENOMEM.
	 */
	int (*stream_open)(void *k, const struct kind_conn *c, int r, void **s);
	/**
	 * stream_read - read from a stream
	 * \param s: the stream
	 * \param size: at most this many bytes
	 * \param sink: takes them, in one call (none for 0 bytes or an error)
	 * \param wq: set to the queue to wait on when nothing is there
	 * Returns the bytes taken (0 at EOF); the sink's -errno (nothing
	 * was taken); -EAGAIN with *WQ; -ENOENT if the connection is gone;
	 * or the connection's -errno.
	 */
	long (*stream_read)(void *k, void *s, size_t size,
			    struct kind_sink *sink, struct waitq **wq);
	/**
	 * stream_write - write to a stream
	 * \param s: the stream
	 * \param data: SIZE bytes
	 * \param wq: set to the queue to wait on when it took fewer than SIZE
	 * and the rest waits for room
	 * Returns the bytes taken (with *WQ if fewer; without, a short write:
	 * a cap refused the rest); -EAGAIN with *WQ;
	 * -EBADF if the stream takes no writes; -ENOENT if the connection is
	 * gone; -EPIPE after shutdown; or the connection's -errno.
	 */
	long (*stream_write)(void *k, void *s, const char *data, size_t size,
			     struct waitq **wq);
	/**
	 * stream_poll - readiness of a stream
	 * \param s: the stream
	 * \param wq: set to the queue woken on a change, or NULL if none will
	 * Returns POLLIN, POLLOUT, POLLERR... as poll(2); never fails.
	 */
	unsigned (*stream_poll)(void *k, void *s, struct waitq **wq);
	/**
	 * stream_close - free a stream (nobody waits on it any more)
	 * \param s: the stream
	 */
	void (*stream_close)(void *k, void *s);

	/* Scopes: other views of the kind (kernel: the other network
	 * namespaces of the host), each a directory SCOPES/NAME (NAME the
	 * scope's number in decimal) holding the scope's files and the kind's
	 * directory as seen in that scope. fs lets only root in. NULL: none. */
	const char *scopes;		/* "netns" */
	const char *const *scope_files; /* "name", "pids" */
	int nscope_files;		/* at most KIND_SCOPE_FILES_MAX */
	/**
	 * scope_list - every scope, for readdir of SCOPES
	 * \param fn: called with ARG, each scope's name and its number as
	 *            the d_ino hint
	 * Returns 0, or -errno (-ENOMEM).
	 */
	int (*scope_list)(void *k, kind_list_fn fn, void *arg);
	/**
	 * scope_file - a scope's file, or whether the scope is there
	 * \param scope: its number
	 * \param i: an index into scope_files; -1: the scope itself
	 * \param out: its contents; NULL: only whether it exists
	 * Returns 0; -ENOENT if the scope is gone or has no such file (a
	 * namespace without a name); -ENOMEM.
	 */
	int (*scope_file)(void *k, uint64_t scope, int i, struct buf *out);

	/**
	 * ladder - a connection's record, for its ladder file (ladder.h);
	 *          NULL: the kind's connections have none
	 * \param c: the connection, just loaded
	 * \param out: filled (after ladder_side_init()): its addresses,
	 *             ISNs, events and label; NULL: only say if there is one
	 * Returns 0; -ENOENT if it has none (then no ladder file); -ENOMEM.
	 */
	int (*ladder)(void *k, const struct kind_conn *c,
		      struct ladder_side *out);
	/**
	 * ladder_peer - the record of the other end of a connection, if the
	 *               kind has that end (NULL: it has none)
	 * \param of: one end's record: the peer's local address is OF's
	 *            remote one and its remote OF's local; OF's times tell
	 *            one connection of that tuple from an older one
	 * \param reader: uid of the reader of OF's ladder: a record READER
	 *                may not read through the kind's own ladder file is
	 *                not given
	 * \param out: filled (after ladder_side_init())
	 * Returns 0; -ENOENT if the kind has no such end (for READER);
	 * -ENOMEM.
	 */
	int (*ladder_peer)(void *k, const struct ladder_side *of, uid_t reader,
			   struct ladder_side *out);

	/**
	 * save - what the kind hands to a new image of the daemon (an
	 *        upgrade, fs_save()); NULL: nothing, it starts afresh
	 * \param out: appended to
	 */
	void (*save)(void *k, struct buf *out);
	/**
	 * restore - take what an old image's save wrote, before the new image
	 *           serves anything (fs_restore()); NULL: nothing
	 * \param p: LEN bytes
	 * Returns 0; -EINVAL if they are not what this version writes (the
	 * kind then goes on with what it took of them); -ENOMEM.
	 */
	int (*restore)(void *k, const void *p, size_t len);

	/**
	 * destroy - free the kind and what it owns (its sources, its
	 * connections: an engine resets them); after the filesystem is freed
	 */
	void (*destroy)(void *k);
};

/**
 * kind_fail - fail a ctl or rmdir, saying why
 * \param c: the connection: its err gets the reason, its label the log
 * \param err: the -errno to return
 * \param fmt: the reason, printf style
 * Returns ERR.
 */
int kind_fail(struct kind_conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A kind: its operations, its own state (passed to every op as K) and its
 * directory under the root. Two instances of one kind (say, the kernel's
 * sockets of two network namespaces) differ in PRIV and DIR. A per-reader
 * kind answers each reader for itself (list and load depend on WHO): the
 * kernel may cache none of its names or attributes, which it would show
 * to the next reader. */
struct kind {
	const struct kind_ops *ops;
	void *priv;
	const char *dir; /* "kernel", "engine" */
	bool per_reader;
};

/**
 * kind_free - free a kind (its destroy op), after the filesystem
 * \param k: it; nothing happens if it was never built (ops NULL)
 */
void kind_free(struct kind *k);

#endif
