/* What fs.c (the kernel view, the root, events) and fs_engine.c (engine
 * connections) share inside the filesystem. */
#ifndef TCPFS_FS_INT_H
#define TCPFS_FS_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "tcpfs/econn.h"
#include "tcpfs/events.h"
#include "tcpfs/files.h"
#include "tcpfs/fs.h"
#include "tcpfs/node.h"

enum { INO_ROOT = FUSE_ROOT_ID, INO_KERNEL, INO_EVENTS, INO_ENGINE, INO_CLONE };

/* Engine inodes: this bit, the connection id, then the file bits (node.h):
 * ids are never reused, so no table is needed to map them. */
#define INO_ENGINE_BIT (UINT64_C(1) << 62)

static inline bool ino_is_engine(uint64_t ino)
{
	return ino & INO_ENGINE_BIT;
}

static inline uint32_t ino_engine_id(uint64_t ino)
{
	return (uint32_t)((ino & ~INO_ENGINE_BIT) >> NODE_FILE_BITS);
}

static inline uint64_t engine_ino(uint32_t id)
{
	return INO_ENGINE_BIT | (uint64_t)id << NODE_FILE_BITS;
}

struct waiter;

/* What an open file or directory holds is on a list, so that what the
 * kernel never releases (a mount detached while files were open) is freed
 * at exit all the same. */
struct handle {
	struct handle *prev, *next;
	void (*drop)(struct handle *h); /* free it */
};

struct fs {
	struct diag *diag;
	struct diag *monitor; /* destroyed kernel sockets; NULL if refused */
	struct loop *loop;
	struct procpid *procpid;
	struct nodes *nodes;
	struct events *events;
	struct timespec mounted;
	struct tundrv *drv; /* NULL: the engine is off, see engine_off */
	char engine_off[256];
	struct econns *econns;
	struct waiter *waiters; /* requests the engine will answer */
	tcp_time reap;		/* closed connections live this long */
	tcp_time reaped;	/* when reap() last looked */
	struct handle handles;	/* list head of open files' handles */
};

/* A connection, fetched fresh, and what it shows. */
struct conn {
	struct node *node; /* kernel */
	struct econn *ec;  /* engine */
	struct diag_sock sock;
	struct tcp_info_snap info;
	struct view view;
	struct file_ctx ctx;
};

static inline struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* fs.c */
void fs_fill_stat(struct fs *fs, struct stat *st, fuse_ino_t ino, mode_t mode,
		  uid_t uid);
void fs_reply_entry(fuse_req_t req, const struct stat *st, uint64_t gen);
/* The attributes of fixed inode INO; -ENOENT if there is none. */
int fs_stat_fixed(struct fs *fs, struct stat *st, fuse_ino_t ino);
/* Load connection directory or file INO (kernel or engine) into C and its
 * attributes into ST; 0 or -ENOENT. */
int fs_conn_stat(struct fs *fs, fuse_req_t req, fuse_ino_t ino, struct conn *c,
		 struct stat *st);
void fs_dir_add(struct buf *list, uint64_t ino, uint32_t mode,
		const char *name);
void fs_post_event(struct fs *fs, const char *what);
/* Put H on FS's list of open handles / take it off. */
void fs_hold(struct fs *fs, struct handle *h);
void fs_unhold(struct handle *h);
/* A snapshot for open file FI (its fh): a buffer rendered once, read at
 * any offset; NULL on ENOMEM. */
struct buf *fs_snap_open(struct fs *fs, struct fuse_file_info *fi);
/* Free FI's snapshot. */
void fs_snap_close(struct fuse_file_info *fi);

/* fs_engine.c */
int engine_start(struct fs *fs, const struct fs_config *cfg);
void engine_stop(struct fs *fs);
int engine_load(struct fs *fs, fuse_req_t req, uint32_t id, struct conn *c);
void engine_lookup(fuse_req_t req, const char *name);
int engine_list(struct fs *fs, struct buf *list);
void engine_rmdir(fuse_req_t req, const char *name);
void clone_open(fuse_req_t req, struct fuse_file_info *fi);
void stream_open(fuse_req_t req, struct conn *c, int row,
		 struct fuse_file_info *fi);
void stream_read(fuse_req_t req, fuse_ino_t ino, size_t size,
		 struct fuse_file_info *fi);
void stream_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size,
		  struct fuse_file_info *fi);
void stream_release(fuse_req_t req, struct fuse_file_info *fi);
void stream_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		 struct fuse_pollhandle *ph);
void engine_park_connect(fuse_req_t req, uint32_t id, size_t size);

#endif
