/* A fake of the few libfuse functions fs uses: requests are plain structs
 * that record their one reply, so tests drive the real fs_ops without a
 * kernel, a mount or libfuse. */
#ifndef FAKE_FUSE_H
#define FAKE_FUSE_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <stdbool.h>

enum fake_reply {
	FAKE_NONE, /* not answered (yet) */
	FAKE_ERR,
	FAKE_BUF,
	FAKE_ENTRY,
	FAKE_ATTR,
	FAKE_OPEN,
	FAKE_WRITE,
	FAKE_POLL,
	FAKE_FORGOTTEN, /* fuse_reply_none */
};

struct fuse_req {
	void *userdata;
	struct fuse_ctx ctx;
	int replies; /* how many times it was answered: must end as 1 */
	enum fake_reply reply;
	int err;		       /* FAKE_ERR (0 is a success reply) */
	char *buf;		       /* FAKE_BUF: a copy */
	size_t len;		       /* FAKE_BUF */
	struct fuse_entry_param entry; /* FAKE_ENTRY */
	struct stat attr;	       /* FAKE_ATTR */
	double attr_timeout;	       /* FAKE_ATTR */
	struct fuse_file_info fi;      /* FAKE_OPEN */
	size_t written;		       /* FAKE_WRITE */
	unsigned revents;	       /* FAKE_POLL */
	fuse_interrupt_func_t ifunc;
	void *idata;
	bool interrupted;
};

struct fuse_pollhandle {
	int id;
};

/* Poll handles notified and destroyed so far. */
extern int fake_notified, fake_destroyed;
/* The inodes whose attributes fs told the kernel to forget, in order. */
#define FAKE_INVAL_MAX 256
extern fuse_ino_t fake_inval[FAKE_INVAL_MAX];
extern int fake_ninval;
/* The next fuse_reply_iov() answers but fails with this errno (0: it
 * does not), as libfuse's when the reader was interrupted: ENOENT. */
extern int fake_reply_fails;
/* The pid of the requests made from now on (0 at first). */
extern pid_t fake_pid;

/* A request to the filesystem USERDATA from UID; free with fake_free. */
fuse_req_t fake_req(void *userdata, uid_t uid);
void fake_free(fuse_req_t req);
/* Interrupt REQ as the kernel would: its interrupt function runs now if
 * it has one, else when it registers one. */
void fake_interrupt(fuse_req_t req);
/* A poll handle. */
struct fuse_pollhandle *fake_pollhandle(void);

#endif
