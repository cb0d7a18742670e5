/* FUSE low-level operations: the root, the kinds' directories, and every
 * connection's files, through the kinds' operations (kind.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "files.h"
#include "fs_int.h"

/* Connections come and go: the kernel may cache a name or attributes
 * briefly, every open asks the kind afresh anyway. */
#define ENTRY_TIMEOUT 1.0

void fs_hold(struct fs *fs, struct handle *h, enum handle_type type)
{
	h->type = type;
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

/* Free open file H (not a parked request). */
static void handle_drop(struct fs *fs, struct handle *h)
{
	fs_unhold(h);
	if (h->type == H_SNAP) {
		buf_free(&((struct snap *)h)->b);
	} else if (h->type == H_EVENTS) {
		park_cancel(&((struct evfile *)h)->lane);
		events_unsubscribe(fs->events, ((struct evfile *)h)->sub);
	} else if (h->type == H_STREAM) {
		struct stream *st = (struct stream *)h;
		park_stream_close(st);
		st->k->ops->stream_close(st->k->priv, st->s);
	}
	free(h);
}

struct fs *fs_new(struct events *events, const struct kind *kinds, int nkinds)
{
	if (nkinds < 0 || nkinds > FS_KINDS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	struct fs *fs = calloc(1, sizeof(*fs));
	if (!fs || !(fs->nodes = nodes_new())) {
		free(fs);
		errno = ENOMEM;
		return NULL;
	}
	fs->events = events;
	memcpy(fs->kinds, kinds, (size_t)nkinds * sizeof(*kinds));
	fs->nkinds = nkinds;
	fs->handles.prev = fs->handles.next = &fs->handles;
	fs->epoch = 1;
	clock_gettime(CLOCK_REALTIME, &fs->mounted);
	ladder_style_default(&fs->ladder);
	return fs;
}

void fs_ladder_style(struct fs *fs, const struct ladder_style *st)
{
	fs->ladder = *st;
}

void fs_free(struct fs *fs)
{
	if (!fs)
		return;
	/* parked requests first: they sit on their open files' lanes */
	for (struct handle *h = fs->handles.next, *next; h != &fs->handles;
	     h = next) {
		next = h->next;
		if (h->type == H_PARKED) {
			fs_unhold(h);
			park_drop(h);
		}
	}
	while (fs->handles.next != &fs->handles)
		handle_drop(fs, fs->handles.next);
	nodes_free(fs->nodes);
	free(fs);
}

/* ---- inodes ---- */

/* The kind whose directory is INO, or NULL. */
static const struct kind *kind_dir(struct fs *fs, fuse_ino_t ino)
{
	if (ino < INO_KIND0 || ino >= (fuse_ino_t)(INO_KIND0 + fs->nkinds))
		return NULL;
	return &fs->kinds[ino - INO_KIND0];
}

/* The kind whose fixed file INO is, and the file's index in *I; or NULL. */
static const struct kind *kind_fixed(struct fs *fs, fuse_ino_t ino, int *i)
{
	if (ino < INO_FIXED0 || ino >= NODE_FIXED)
		return NULL;
	int n = (int)(ino - INO_FIXED0);
	if (n / KIND_FIXED_MAX >= fs->nkinds)
		return NULL;
	const struct kind *k = &fs->kinds[n / KIND_FIXED_MAX];
	*i = n % KIND_FIXED_MAX;
	return *i < k->ops->nfixed ? k : NULL;
}

static fuse_ino_t fixed_ino(struct fs *fs, const struct kind *k, int i)
{
	return INO_FIXED0 + (fuse_ino_t)((k - fs->kinds) * KIND_FIXED_MAX + i);
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

/* The attributes of fixed inode INO; -ENOENT if there is none. */
static int stat_fixed(struct fs *fs, struct stat *st, fuse_ino_t ino)
{
	int i;
	if (ino == INO_ROOT || kind_dir(fs, ino))
		fill_stat(fs, st, ino, S_IFDIR | 0555, 0);
	else if (ino == INO_EVENTS || kind_fixed(fs, ino, &i))
		fill_stat(fs, st, ino, S_IFREG | 0444, 0);
	else
		return -ENOENT;
	return 0;
}

/* A connection directory's node, loaded fresh: the record C and its kind. */
struct conn_at {
	struct node *node;
	const struct kind *k;
	struct kind_conn c;
};

/* A kind that keeps no error buffer of its own (the kernel's) gets one per
 * directory, made at its first load; an engine directory costs none. */
static int load(struct fs *fs, struct node *node, struct conn_at *a)
{
	a->node = node;
	a->k = &fs->kinds[node->kind];
	a->c.label = node->name;
	a->c.err = node->err;
	int err =
		a->k->ops->load(a->k->priv, strchr(node->name, '/') + 1, &a->c);
	if (err < 0 || a->c.err)
		return err;
	if (!(node->err = calloc(1, TCPFS_ERR_MAX)))
		return -ENOMEM;
	a->c.err = node->err;
	return 0;
}

/* Load the connection of directory or file INO into A and its attributes
 * into ST; 0 or -ENOENT. */
static int conn_stat(struct fs *fs, fuse_ino_t ino, struct conn_at *a,
		     struct stat *st)
{
	struct node *node = nodes_get(fs->nodes, ino);
	int err = node ? load(fs, node, a) : -ENOENT;
	if (err < 0)
		return err;
	int r = node_row(ino);
	if (r < 0) {
		fill_stat(fs, st, ino, S_IFDIR | 0555, a->c.owner);
		return 0;
	}
	if (r >= files_count(a->k) || !files_present(a->k, r, &a->c))
		return -ENOENT;
	fill_stat(fs, st, ino, S_IFREG | files_mode(a->k, r), a->c.owner);
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

static uid_t caller(fuse_req_t req)
{
	return fuse_req_ctx(req)->uid;
}

/* What rendering a row for REQ's caller needs of FS. */
static struct files_env env_of(struct fs *fs, fuse_req_t req)
{
	return (struct files_env){fs->kinds, fs->nkinds, &fs->ladder,
				  caller(req)};
}

/* ---- lookup, forget, getattr ---- */

static void lookup_root(fuse_req_t req, const char *name)
{
	struct fs *fs = fs_of(req);
	struct stat st;
	fuse_ino_t ino = strcmp(name, "events") == 0 ? INO_EVENTS : 0;
	for (int i = 0; i < fs->nkinds && !ino; i++)
		if (strcmp(name, fs->kinds[i].dir) == 0)
			ino = INO_KIND0 + (fuse_ino_t)i;
	if (!ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	stat_fixed(fs, &st, ino);
	reply_entry(req, &st, 0);
}

static void lookup_conn(fuse_req_t req, const struct kind *k, const char *name)
{
	struct fs *fs = fs_of(req);
	char path[NODE_NAME_MAX];
	struct conn_at a;
	struct stat st;

	for (int i = 0; i < k->ops->nfixed; i++)
		if (strcmp(name, k->ops->fixed[i]) == 0) {
			stat_fixed(fs, &st, fixed_ino(fs, k, i));
			reply_entry(req, &st, 0);
			return;
		}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", k->dir, name) >=
	    sizeof(path)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	struct node *node = nodes_add(fs->nodes, path);
	if (!node) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	node->kind = (int)(k - fs->kinds);
	int err = conn_stat(fs, node->ino, &a, &st);
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
	struct node *node = nodes_get(fs->nodes, parent);
	struct conn_at a;
	struct stat st;
	int r = node ? files_lookup(&fs->kinds[node->kind], name) : -1;

	if (r < 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	int err = conn_stat(fs, parent + (fuse_ino_t)r + 1, &a, &st);
	if (err < 0) {
		fuse_reply_err(req, -err);
		return;
	}
	node->nlookup++;
	reply_entry(req, &st, node->gen);
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	const struct kind *k = kind_dir(fs_of(req), parent);
	if (parent == INO_ROOT)
		lookup_root(req, name);
	else if (k)
		lookup_conn(req, k, name);
	else if (parent >= NODE_FIXED && node_row(parent) < 0)
		lookup_file(req, parent, name);
	else
		fuse_reply_err(req, ENOENT);
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
	struct conn_at a;
	struct stat st;
	(void)fi;
	int err = ino < NODE_FIXED ? stat_fixed(fs, &st, ino) :
				     conn_stat(fs, ino, &a, &st);
	if (err < 0)
		fuse_reply_err(req, -err);
	else
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

/* ---- directories ---- */

/* Listings: records of (ino, mode, name), taken whole at offset 0 and
 * served from that snapshot; a record's offset is its byte position. */
static void dir_add(struct buf *list, uint64_t ino, uint32_t mode,
		    const char *name)
{
	buf_add(list, &ino, sizeof(ino));
	buf_add(list, &mode, sizeof(mode));
	buf_add(list, name, strlen(name) + 1);
}

static void list_conn(void *arg, const char *name, uint64_t hint)
{
	/* d_ino is a hint only: the kind's, else 1 (0 would hide it) */
	dir_add(arg, hint ? hint : 1, S_IFDIR, name);
}

static int list_dir(struct fs *fs, fuse_ino_t ino, struct buf *list)
{
	const struct kind *k = kind_dir(fs, ino);
	dir_add(list, ino, S_IFDIR, ".");
	dir_add(list, INO_ROOT, S_IFDIR, "..");
	if (ino == INO_ROOT) {
		for (int i = 0; i < fs->nkinds; i++) {
			dir_add(list, INO_KIND0 + (fuse_ino_t)i, S_IFDIR,
				fs->kinds[i].dir);
			if (i == 0)
				dir_add(list, INO_EVENTS, S_IFREG, "events");
		}
		if (fs->nkinds == 0)
			dir_add(list, INO_EVENTS, S_IFREG, "events");
		return list->err;
	}
	if (k) {
		for (int i = 0; i < k->ops->nfixed; i++)
			dir_add(list, fixed_ino(fs, k, i), S_IFREG,
				k->ops->fixed[i]);
		int err = k->ops->list(k->priv, list_conn, list);
		return err < 0 ? err : list->err;
	}
	struct conn_at a;
	struct stat st;
	int err = ino >= NODE_FIXED ? conn_stat(fs, ino, &a, &st) : -ENOTDIR;
	if (err < 0)
		return err;
	for (int r = 0; r < files_count(a.k); r++)
		if (files_present(a.k, r, &a.c))
			dir_add(list, ino + (fuse_ino_t)r + 1, S_IFREG,
				files_name(a.k, r));
	return list->err;
}

/* An open file's fh is its handle's address, tagged in the top byte with
 * the filesystem's epoch: an upgrade (fs_restore()) starts a new epoch, so
 * a file opened before it is told from one of ours and is stale (user
 * addresses fit in 56 bits: 47 or 56 on x86-64, 52 on arm64). */
#define FH_EPOCH_SHIFT 56

static uint64_t fh_of(struct fs *fs, struct handle *h)
{
	return (uint64_t)(uintptr_t)h | (uint64_t)fs->epoch << FH_EPOCH_SHIFT;
}

/* A file opened before an upgrade: read afresh, or ESTALE (as NFS says of
 * a handle its server no longer knows) where that cannot be. */
static struct handle stale = {.type = H_STALE};

/* The handle of open file FI: NULL if none (fh 0), else &stale or ours. */
static struct handle *handle_of(struct fs *fs, struct fuse_file_info *fi)
{
	if (!fi->fh)
		return NULL;
	if (fi->fh >> FH_EPOCH_SHIFT != fs->epoch)
		return &stale;
	return (struct handle *)(uintptr_t)(fi->fh &
					    ((UINT64_C(1) << FH_EPOCH_SHIFT) -
					     1));
}

static struct snap *snap_open(struct fs *fs, struct fuse_file_info *fi)
{
	struct snap *s = calloc(1, sizeof(*s));
	if (s) {
		fs_hold(fs, &s->h, H_SNAP);
		fi->fh = fh_of(fs, &s->h);
	}
	return s;
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
	if (!snap_open(fs_of(req), fi)) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fuse_reply_open(req, fi);
}

#define DIR_HDR (sizeof(uint64_t) + sizeof(uint32_t))

/* The position of the record after the one at POS in LIST. */
static size_t dir_next(const struct buf *list, size_t pos)
{
	return pos + DIR_HDR + strlen(list->p + pos + DIR_HDR) + 1;
}

/* Answer a readdir of SIZE bytes with LIST's records from the one at POS. */
static void reply_dir(fuse_req_t req, const struct buf *list, size_t size,
		      size_t pos)
{
	char *out = malloc(size);
	if (!out) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	size_t used = 0;
	while (pos + DIR_HDR < list->len) {
		struct stat st = {0};
		uint32_t mode;
		const char *name = list->p + pos + DIR_HDR;
		size_t next = dir_next(list, pos);
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

/* A directory opened before an upgrade has no snapshot here: list it
 * again at each readdir, from the first record at OFF or after (the
 * listing may have changed: never from the middle of a record). */
static void readdir_stale(fuse_req_t req, fuse_ino_t ino, size_t size,
			  size_t off)
{
	struct buf list = {0};
	size_t pos = 0;
	int err = list_dir(fs_of(req), ino, &list);
	if (err < 0) {
		fuse_reply_err(req, -err);
		return;
	}
	while (pos < off && pos + DIR_HDR < list.len)
		pos = dir_next(&list, pos);
	reply_dir(req, &list, size, pos);
	buf_free(&list);
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fs_of(req), fi);
	if (h->type == H_STALE) {
		readdir_stale(req, ino, size, (size_t)off);
		return;
	}
	struct buf *list = &((struct snap *)h)->b;
	if (off == 0) {
		buf_free(list);
		int err = list_dir(fs_of(req), ino, list);
		if (err < 0) {
			fuse_reply_err(req, -err);
			return;
		}
	}
	reply_dir(req, list, size, (size_t)off);
}

static void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	const struct kind *k = kind_dir(fs, parent);
	char path[NODE_NAME_MAX], err_buf[TCPFS_ERR_MAX] = "";
	struct kind_conn c = {.label = path, .err = err_buf};

	if (parent == INO_ROOT || (k && !k->ops->rmdir)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (!k) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", k->dir, name);
	struct node *node = nodes_find(fs->nodes, path);
	if (node && node->err) /* its err file tells why not */
		c.err = node->err;
	int err = k->ops->load(k->priv, name, &c);
	if (err == 0 && caller(req) != 0 &&
	    !(c.owned && caller(req) == c.owner))
		err = -EPERM;
	if (err == 0)
		err = k->ops->rmdir(k->priv, &c);
	fuse_reply_err(req, -err);
}

/* ---- files ---- */

static void events_open(fuse_req_t req, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct evfile *ef;
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (!(ef = calloc(1, sizeof(*ef))) ||
	    !(ef->sub = events_subscribe(fs->events))) {
		free(ef);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	waitq_init(&ef->lane);
	fs_hold(fs, &ef->h, H_EVENTS);
	fi->fh = fh_of(fs, &ef->h);
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fuse_reply_open(req, fi);
}

/* Reading a kind's fixed file (clone) does what it does once, at open. */
static void fixed_open(fuse_req_t req, const struct kind *k, int i,
		       struct fuse_file_info *fi)
{
	struct snap *s;
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (!(s = snap_open(fs_of(req), fi))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	int err = k->ops->fixed_open(k->priv, i, caller(req), &s->b);
	if (err < 0) {
		handle_drop(fs_of(req), &s->h);
		fuse_reply_err(req, -err);
		return;
	}
	fi->direct_io = 1;
	fuse_reply_open(req, fi);
}

static void stream_open(fuse_req_t req, struct conn_at *a, int r,
			struct fuse_file_info *fi)
{
	struct stream *st = calloc(1, sizeof(*st));
	int err = st ? a->k->ops->stream_open(a->k->priv, &a->c,
					      r - FILES_GENERIC, &st->s) :
		       -ENOMEM;
	if (err < 0) {
		free(st);
		fuse_reply_err(req, -err);
		return;
	}
	st->k = a->k;
	waitq_init(&st->lanes[0]);
	waitq_init(&st->lanes[1]);
	fs_hold(fs_of(req), &st->h, H_STREAM);
	fi->fh = fh_of(fs_of(req), &st->h);
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fuse_reply_open(req, fi);
}

/* Opening a file for reading renders it once: every read of this open file
 * is served from that snapshot, so any read size gives the same bytes. */
static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct conn_at a;
	struct stat st;
	int i;
	const struct kind *k = kind_fixed(fs, ino, &i);
	if (ino == INO_EVENTS) {
		events_open(req, fi);
		return;
	}
	if (k) {
		fixed_open(req, k, i, fi);
		return;
	}
	int err = ino < NODE_FIXED ? -EISDIR : conn_stat(fs, ino, &a, &st);
	if (err < 0) {
		fuse_reply_err(req, -err);
		return;
	}
	int r = node_row(ino), acc = fi->flags & O_ACCMODE;
	if (!files_may_open(a.k, r, &a.c, caller(req), acc != O_WRONLY,
			    acc != O_RDONLY)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (files_stream(a.k, r)) {
		stream_open(req, &a, r, fi);
		return;
	}
	fi->direct_io = 1;
	fi->fh = 0;
	if (acc != O_WRONLY) {
		struct snap *s = snap_open(fs, fi);
		struct files_env env = env_of(fs, req);
		err = s ? files_render(&env, a.k, r, &a.c, &s->b) : -ENOMEM;
		if (err < 0) {
			if (s)
				handle_drop(fs, &s->h);
			fuse_reply_err(req, -err);
			return;
		}
	}
	fuse_reply_open(req, fi);
}

/* Answer a read of SIZE bytes at OFF of B. */
static void reply_snap(fuse_req_t req, const struct buf *b, size_t size,
		       off_t off)
{
	size_t n = (size_t)off < b->len ? b->len - (size_t)off : 0;
	fuse_reply_buf(req, n ? b->p + off : NULL, n < size ? n : size);
}

/* A connection's file opened before an upgrade: a value file is rendered
 * again at each read; a stream, events or clone is gone: ESTALE. */
static void read_stale(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off)
{
	struct fs *fs = fs_of(req);
	struct buf b = {0};
	struct conn_at a;
	struct stat st;
	int r = node_row(ino);
	int err = ino >= NODE_FIXED && r >= 0 ? conn_stat(fs, ino, &a, &st) :
						-ESTALE;
	if (!err && files_stream(a.k, r))
		err = -ESTALE;
	struct files_env env = env_of(fs, req);
	if (!err)
		err = files_render(&env, a.k, r, &a.c, &b);
	if (err < 0)
		fuse_reply_err(req, -err);
	else
		reply_snap(req, &b, size, off);
	buf_free(&b);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fs_of(req), fi);
	(void)ino;
	if (!h) {
		fuse_reply_err(req, EBADF);
	} else if (h->type == H_STALE) {
		read_stale(req, ino, size, off);
	} else if (h->type == H_EVENTS) {
		park_events(fs_of(req), req, (struct evfile *)h, size);
	} else if (h->type == H_STREAM) {
		park_read(fs_of(req), req, (struct stream *)h, size);
	} else {
		reply_snap(req, &((struct snap *)h)->b, size, off);
	}
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *data,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct handle *h = handle_of(fs, fi);
	struct conn_at a;
	struct stat st;
	(void)off;
	if (h && h->type == H_STALE) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (h && h->type == H_STREAM) {
		park_write(fs, req, (struct stream *)h, data, size);
		return;
	}
	int err = conn_stat(fs, ino, &a, &st);
	if (err == 0)
		err = files_write(a.k, node_row(ino), &a.c, caller(req), data,
				  size);
	if (err == -EINPROGRESS)
		park_connect(fs, req, a.k, a.c.key, size);
	else if (err < 0)
		fuse_reply_err(req, -err);
	else
		fuse_reply_write(req, size);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fs_of(req), fi);
	(void)ino;
	if (h && h->type != H_STALE)
		handle_drop(fs_of(req), h);
	fuse_reply_err(req, 0);
}

static void fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	struct handle *h = handle_of(fs_of(req), fi);
	(void)ino;
	if (h && h->type == H_STALE) { /* wake it to read: ESTALE */
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, POLLIN | POLLERR);
		return;
	}
	if (h && h->type == H_STREAM) {
		struct stream *st = (struct stream *)h;
		struct waitq *wq = NULL;
		unsigned ev = st->k->ops->stream_poll(st->k->priv, st->s, &wq);
		if (ph && wq)
			park_poll(st, wq, ph);
		else if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, ev);
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
	.releasedir = fs_release,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.release = fs_release,
	.rmdir = fs_rmdir,
	.poll = fs_poll,
};

/* ---- upgrades ---- */

/* What fs_save() writes: a version, the epoch, then the nodes. */
#define SAVE_VERSION 1

struct saved_fs {
	uint32_t version;
	uint32_t epoch;
};

void fs_save(const struct fs *fs, struct buf *b)
{
	struct saved_fs h = {SAVE_VERSION, fs->epoch};
	buf_add(b, &h, sizeof(h));
	nodes_save(fs->nodes, b);
}

/* The index of the kind whose directory NAME ("DIR/NAME") is in, or -1. */
static int kind_of(void *arg, const char *name)
{
	struct fs *fs = arg;
	size_t n = strcspn(name, "/");
	for (int i = 0; i < fs->nkinds; i++)
		if (strlen(fs->kinds[i].dir) == n &&
		    strncmp(name, fs->kinds[i].dir, n) == 0)
			return i;
	return -1;
}

int fs_restore(struct fs *fs, const void *p, size_t len)
{
	struct saved_fs h;
	if (len < sizeof(h))
		return -EINVAL;
	memcpy(&h, p, sizeof(h));
	if (h.version != SAVE_VERSION || h.epoch == 0 || h.epoch > UINT8_MAX)
		return -EINVAL;
	int err = nodes_load(fs->nodes, (const char *)p + sizeof(h),
			     len - sizeof(h), kind_of, fs);
	if (err < 0)
		return err;
	fs->epoch = h.epoch == UINT8_MAX ? 1 : (uint8_t)(h.epoch + 1);
	return 0;
}
