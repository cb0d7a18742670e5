/* FUSE low-level operations over the node table and the file table. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tcpfs/files.h"
#include "tcpfs/fs.h"
#include "tcpfs/log.h"
#include "tcpfs/sockname.h"

enum { INO_ROOT = FUSE_ROOT_ID, INO_KERNEL };

/* Sockets come and go: the kernel may cache a name or attributes briefly,
 * every open asks the kernel afresh anyway. */
#define ENTRY_TIMEOUT 1.0

struct fs {
	struct diag *diag;
	struct procpid *procpid;
	struct nodes *nodes;
	struct timespec mounted;
};

struct fs *fs_new(void)
{
	struct fs *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return NULL;
	fs->diag = diag_open();
	fs->procpid = procpid_new("/proc");
	fs->nodes = nodes_new();
	clock_gettime(CLOCK_REALTIME, &fs->mounted);
	if (!fs->diag || !fs->procpid || !fs->nodes) {
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
	diag_close(fs->diag);
	procpid_free(fs->procpid);
	nodes_free(fs->nodes);
	free(fs);
}

static struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void fill_stat(struct fs *fs, struct stat *st, fuse_ino_t ino,
		      mode_t mode, uid_t uid)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = mode;
	st->st_nlink = S_ISDIR(mode) ? 2 : 1;
	st->st_uid = uid;
	st->st_atim = st->st_mtim = st->st_ctim = fs->mounted;
}

/* A connection, fetched fresh from the kernel, and what it shows. */
struct conn {
	struct node *node;
	struct diag_sock sock;
	struct view view;
	struct file_ctx ctx;
};

static int conn_load(struct fs *fs, fuse_req_t req, struct node *node,
		     struct conn *c)
{
	int err = diag_get(fs->diag, &node->key, &c->sock);
	if (err < 0)
		return err;
	c->node = node;
	view_from_diag(&c->view, &c->sock);
	c->ctx = (struct file_ctx){
		.diag = fs->diag,
		.procpid = fs->procpid,
		.node = node,
		.sock = &c->sock,
		.view = &c->view,
		.caller = req ? fuse_req_ctx(req)->uid : 0,
	};
	return 0;
}

static uid_t conn_uid(const struct conn *c)
{
	return c->sock.full ? c->sock.uid : 0;
}

/* The attributes of connection directory or file INO. */
static int conn_stat(struct fs *fs, fuse_req_t req, fuse_ino_t ino,
		     struct conn *c, struct stat *st)
{
	struct node *node = nodes_get(fs->nodes, ino);
	if (!node)
		return -ENOENT;
	int err = conn_load(fs, req, node, c);
	if (err < 0)
		return err;
	int r = node_row(ino);
	if (r < 0) {
		fill_stat(fs, st, ino, S_IFDIR | 0555, conn_uid(c));
		return 0;
	}
	if (r >= files_count() || !files_present(r, &c->ctx))
		return -ENOENT;
	fill_stat(fs, st, ino, S_IFREG | files_mode(r), conn_uid(c));
	return 0;
}

static void reply_entry(fuse_req_t req, const struct stat *st, uint64_t gen)
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
	int err = conn_stat(fs, req, node->ino, &c, &st);
	if (err < 0) {
		if (node->nlookup == 0)
			nodes_forget(fs->nodes, node->ino, 0);
		fuse_reply_err(req, -err);
		return;
	}
	node->nlookup++;
	reply_entry(req, &st, node->gen);
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
	int err = conn_stat(fs, req, parent + (fuse_ino_t)r + 1, &c, &st);
	if (err < 0) {
		fuse_reply_err(req, -err);
		return;
	}
	c.node->nlookup++;
	reply_entry(req, &st, c.node->gen);
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct stat st;

	if (parent == INO_ROOT && strcmp(name, "kernel") == 0) {
		fill_stat(fs_of(req), &st, INO_KERNEL, S_IFDIR | 0555, 0);
		reply_entry(req, &st, 0);
	} else if (parent == INO_KERNEL) {
		lookup_socket(req, name);
	} else if (parent >= NODE_FIXED && node_row(parent) < 0) {
		lookup_file(req, parent, name);
	} else {
		fuse_reply_err(req, ENOENT);
	}
}

static void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t n)
{
	nodes_forget(fs_of(req)->nodes, ino, n);
	fuse_reply_none(req);
}

static void fs_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *list)
{
	for (size_t i = 0; i < count; i++)
		nodes_forget(fs_of(req)->nodes, list[i].ino, list[i].nlookup);
	fuse_reply_none(req);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct conn c;
	struct stat st;
	(void)fi;

	if (ino == INO_ROOT || ino == INO_KERNEL) {
		fill_stat(fs, &st, ino, S_IFDIR | 0555, 0);
	} else {
		int err = conn_stat(fs, req, ino, &c, &st);
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
static void dir_add(struct buf *list, uint64_t ino, uint32_t mode,
		    const char *name)
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
	dir_add(arg, s->inode ? s->inode : s->key.cookie, S_IFDIR, name);
}

static int list_dir(struct fs *fs, fuse_req_t req, fuse_ino_t ino,
		    struct buf *list)
{
	dir_add(list, ino, S_IFDIR, ".");
	dir_add(list, INO_ROOT, S_IFDIR, "..");
	if (ino == INO_ROOT) {
		dir_add(list, INO_KERNEL, S_IFDIR, "kernel");
		return list->err;
	}
	if (ino == INO_KERNEL) {
		int err = diag_dump(fs->diag, list_socket, list);
		return err < 0 ? err : list->err;
	}
	struct conn c;
	struct stat st;
	int err = conn_stat(fs, req, ino, &c, &st);
	if (err < 0)
		return err;
	for (int r = 0; r < files_count(); r++)
		if (files_present(r, &c.ctx))
			dir_add(list, ino + (fuse_ino_t)r + 1, S_IFREG,
				files_name(r));
	return list->err;
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct buf *list = calloc(1, sizeof(*list));
	(void)ino;
	if (!list) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)list;
	fuse_reply_open(req, fi);
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct buf *list = (struct buf *)(uintptr_t)fi->fh;
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
	struct buf *list = (struct buf *)(uintptr_t)fi->fh;
	(void)ino;
	buf_free(list);
	free(list);
	fuse_reply_err(req, 0);
}

/* Opening a file for reading renders it once: every read of this open file
 * is served from that snapshot, so any read size gives the same bytes. */
static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct conn c;
	struct stat st;
	int err = ino < NODE_FIXED ? -EISDIR : conn_stat(fs, req, ino, &c, &st);
	if (err < 0) {
		fuse_reply_err(req, -err);
		return;
	}
	int r = node_row(ino), acc = fi->flags & O_ACCMODE;
	if (acc != O_RDONLY &&
	    (!files_writable(r) || !files_may_write(&c.ctx))) {
		fuse_reply_err(req, EACCES);
		return;
	}
	fi->direct_io = 1;
	fi->fh = 0;
	if (acc != O_WRONLY) {
		struct buf *snap = calloc(1, sizeof(*snap));
		err = snap ? files_render(r, &c.ctx, snap) : -ENOMEM;
		if (err < 0) {
			if (snap)
				buf_free(snap);
			free(snap);
			fuse_reply_err(req, -err);
			return;
		}
		fi->fh = (uintptr_t)snap;
	}
	fuse_reply_open(req, fi);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct buf *snap = (struct buf *)(uintptr_t)fi->fh;
	(void)ino;
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
	(void)fi;
	int err = conn_stat(fs, req, ino, &c, &st);
	if (err == 0)
		err = files_write(node_row(ino), &c.ctx, data, size);
	if (err < 0)
		fuse_reply_err(req, -err);
	else
		fuse_reply_write(req, size);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct buf *snap = (struct buf *)(uintptr_t)fi->fh;
	(void)ino;
	if (snap) {
		buf_free(snap);
		free(snap);
	}
	fuse_reply_err(req, 0);
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
};
