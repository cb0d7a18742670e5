/* FUSE low-level operations: the root, the kinds' directories, and every
 * connection's files, through the kinds' operations (kind.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "files.h"
#include "fs_int.h"
#include "tcpfs/log.h"

/* Connections come and go: the kernel may cache a name or attributes
 * briefly, every open asks the kind afresh anyway. A per-reader kind's
 * connection directories are never cached: the kernel's dentry and
 * attribute caches are shared by every reader of the mount (bind mounts in
 * containers too), so a name one reader looked up would be found by the
 * next without asking us (see timeout_of() for their files). */
#define ENTRY_TIMEOUT 1.0

/* A connection directory's node, loaded fresh: the record C and its kind;
 * for a file, its row (files.h), else -1. */
struct conn_at {
	struct node *node;
	const struct kind *k;
	struct kind_conn c;
	int row;
};

/* A connection the kind frees by itself (reaped) is cached until this long
 * before it goes: the kernel counts from when it reads our answer. */
#define LIVES_MARGIN 0.05

/* How long the kernel may cache a connection's directory or, if FILE,
 * one of its files, A just loaded: never past the moment the kind may free
 * it by itself, so that a reaped directory is gone at once for `[ -d ]` (a
 * rmdir goes through the kernel, which drops the name itself). Telling the
 * kernel afterwards (fuse_lowlevel_notify_inval_entry) could deadlock this
 * one thread: the kernel takes the directory's lock, which a lookup waiting
 * for us holds.
 *
 * A directory that may go at any moment (lives 0: a kernel socket) is not
 * cached either, and its files may be, as follows.
 *
 * A per-reader kind's directory (or a scope's) is not cached at all: every
 * path walk through it asks us, as that reader, and fails for a reader who
 * does not see it. Its files may be cached: a walk reaches them only
 * through the directory, just allowed, or from a descriptor of it that was
 * opened where it was seen (as a /proc/PID/net file keeps its namespace);
 * their attributes are the connection's (mode, owner, group, size 0), the
 * same for every reader who sees it; and opening one asks the kind again.
 * A `cat kernel/NAME/pid` then costs no lookup of `pid` and no getattr. */
static double timeout_of(const struct conn_at *a, bool file)
{
	bool uncached = a->k &&
			(a->k->per_reader || a->node->scope || a->c.lives == 0);
	if (!a->k || (uncached && !file))
		return 0;
	if (a->c.lives > 0 && a->c.lives - LIVES_MARGIN < ENTRY_TIMEOUT)
		return a->c.lives > LIVES_MARGIN ? a->c.lives - LIVES_MARGIN :
						   0;
	return ENTRY_TIMEOUT;
}

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
	if (h->slot) {
		fs->slots[h->slot] = (struct fh_slot){NULL, fs->free_slot};
		fs->free_slot = h->slot;
	}
	if (h->type == H_SNAP) {
		buf_free(&((struct snap *)h)->b);
	} else if (h->type == H_EVENTS) {
		park_cancel(&((struct evfile *)h)->lane);
		park_poll_close(&((struct evfile *)h)->poll);
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
	fs->scoped = -1;
	for (int i = nkinds - 1; i >= 0; i--)
		if (kinds[i].ops->scopes)
			fs->scoped = i;
	fs->refused = (uid_t)-1;
	fs->handles.prev = fs->handles.next = &fs->handles;
	fs->nslots = 1;
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
	free(fs->slots);
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
		      mode_t mode, uid_t uid, gid_t gid)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = mode;
	st->st_nlink = S_ISDIR(mode) ? 2 : 1;
	st->st_uid = uid;
	st->st_gid = gid;
	st->st_atim = st->st_mtim = st->st_ctim = fs->mounted;
}

/* The attributes of fixed inode INO; -ENOENT if there is none. */
static int stat_fixed(struct fs *fs, struct stat *st, fuse_ino_t ino)
{
	const struct kind *k;
	int i;
	if (ino == INO_ROOT || kind_dir(fs, ino))
		fill_stat(fs, st, ino, S_IFDIR | 0555, 0, 0);
	else if (ino == INO_SCOPES && fs->scoped >= 0)
		fill_stat(fs, st, ino, S_IFDIR | 0500, 0, 0);
	else if (ino == INO_EVENTS)
		fill_stat(fs, st, ino, S_IFREG | 0444, 0, 0);
	else if ((k = kind_fixed(fs, ino, &i)) && k->ops->fixed_ctl & 1u << i) {
		fill_stat(fs, st, ino, S_IFREG | 0666, 0, 0);
		st->st_size = FIXED_CTL_SIZE;
	} else if (k)
		fill_stat(fs, st, ino, S_IFREG | 0444, 0, 0);
	else
		return -ENOENT;
	return 0;
}

/* Only root may enter the scopes (netns/): they show every container's
 * sockets. The uid is the caller's in the mount's user namespace, so root
 * of a container with a user namespace of its own is not root here. */
static int may_scope(struct fs *fs, const struct kind_caller *who)
{
	if (who->uid == 0)
		return 0;
	if (who->uid != fs->refused)
		tlog(LOG_NOTICE,
		     "uid %u (pid %d) may not enter %s/: it shows the sockets "
		     "of every network namespace, for root only",
		     (unsigned)who->uid, (int)who->pid,
		     fs->kinds[fs->scoped].ops->scopes);
	fs->refused = who->uid;
	return -EACCES;
}

/* A kind that keeps no error buffer of its own (the kernel's) gets one per
 * directory, made at its first load; an engine directory costs none. A
 * directory under a scope is loaded as seen in that scope. */
static int load(struct fs *fs, const struct kind_caller *who, struct node *node,
		struct conn_at *a)
{
	struct kind_caller in = *who;
	in.scope = node->scope;
	if (node->scope && may_scope(fs, who) < 0)
		return -EACCES;
	a->node = node;
	a->k = &fs->kinds[node->kind];
	a->c.label = node->name;
	a->c.err = node->err;
	a->c.lives = -1;
	a->c.group = 0;
	int err = a->k->ops->load(a->k->priv, &in, strrchr(node->name, '/') + 1,
				  &a->c);
	if (err < 0 || a->c.err)
		return err;
	if (!(node->err = calloc(1, TCPFS_ERR_MAX)))
		return -ENOMEM;
	a->c.err = node->err;
	return 0;
}

/* The attributes of a scope's directory, or of its file row R, or of the
 * kind's directory in it (NODE is a scope's node): if WHO may see them and
 * they are there. */
static int scope_stat(struct fs *fs, const struct kind_caller *who,
		      struct node *node, int r, struct stat *st)
{
	const struct kind *k = &fs->kinds[node->kind];
	int err = may_scope(fs, who);
	if (!err && node->type == NODE_SCOPE_KIND && r >= 0)
		err = -ENOENT;
	if (!err && r >= k->ops->nscope_files)
		err = -ENOENT;
	if (!err)
		err = k->ops->scope_file(k->priv, node->scope,
					 node->type == NODE_SCOPE ? r : -1,
					 NULL);
	if (err < 0)
		return err;
	fuse_ino_t ino = node->ino + (fuse_ino_t)(r + 1);
	fill_stat(fs, st, ino, r < 0 ? S_IFDIR | 0500 : S_IFREG | 0400, 0, 0);
	return 0;
}

/* Load the connection of directory or file INO, as WHO sees it, into A and
 * its attributes into ST; 0, -ENOENT or the kind's -errno. INO may also be
 * a scope's directory or file (A is then not loaded: a->k is NULL). */
static int conn_stat(struct fs *fs, const struct kind_caller *who,
		     fuse_ino_t ino, struct conn_at *a, struct stat *st)
{
	struct node *node = nodes_get(fs->nodes, ino);
	a->k = NULL;
	a->node = node;
	a->row = node_row(ino);
	if (node && node->type != NODE_CONN)
		return scope_stat(fs, who, node, a->row, st);
	int err = node ? load(fs, who, node, a) : -ENOENT;
	if (err < 0)
		return err;
	if (a->row < 0) {
		fill_stat(fs, st, ino, S_IFDIR | 0555, a->c.owner, a->c.group);
		return 0;
	}
	int r = a->row = files_row(a->k, a->row);
	if (r < 0 || !files_present(a->k, r, &a->c))
		return -ENOENT;
	fill_stat(fs, st, ino, S_IFREG | files_mode(a->k, r), a->c.owner,
		  a->c.group);
	return 0;
}

/* Answer a lookup with ST, cached by the kernel for TIMEOUT seconds. */
static void reply_entry(fuse_req_t req, const struct stat *st, uint64_t gen,
			double timeout)
{
	struct fuse_entry_param e = {
		.ino = st->st_ino,
		.generation = gen,
		.attr = *st,
		.attr_timeout = timeout,
		.entry_timeout = timeout,
	};
	fuse_reply_entry(req, &e);
}

static struct kind_caller caller(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	return (struct kind_caller){
		.uid = ctx->uid, .gid = ctx->gid, .pid = ctx->pid};
}

/* What rendering a row for REQ's caller needs of FS. */
static struct files_env env_of(struct fs *fs, fuse_req_t req)
{
	return (struct files_env){fs->kinds, fs->nkinds, &fs->ladder,
				  caller(req).uid};
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
	if (!ino && fs->scoped >= 0 &&
	    strcmp(name, fs->kinds[fs->scoped].ops->scopes) == 0)
		ino = INO_SCOPES;
	if (!ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	stat_fixed(fs, &st, ino);
	reply_entry(req, &st, 0, ENTRY_TIMEOUT);
}

/* Look up directory node DIR/NAME, of kind K in SCOPE, of TYPE: made if
 * new, answered with its attributes if WHO may see it, else forgotten if
 * nobody holds it. */
static void lookup_node(fuse_req_t req, const struct kind *k, const char *dir,
			uint64_t scope, enum node_type type, const char *name)
{
	struct fs *fs = fs_of(req);
	struct kind_caller who = caller(req);
	char path[NODE_NAME_MAX];
	struct conn_at a;
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
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
	node->type = type;
	node->scope = scope;
	int err = conn_stat(fs, &who, node->ino, &a, &st);
	if (err < 0) {
		if (node->nlookup == 0)
			nodes_forget(fs->nodes, node->ino, 0);
		fuse_reply_err(req, -err);
		return;
	}
	node->nlookup++;
	reply_entry(req, &st, node->gen, timeout_of(&a, false));
}

static void lookup_conn(fuse_req_t req, const struct kind *k, const char *name)
{
	struct fs *fs = fs_of(req);
	struct stat st;

	for (int i = 0; i < k->ops->nfixed; i++)
		if (strcmp(name, k->ops->fixed[i]) == 0) {
			stat_fixed(fs, &st, fixed_ino(fs, k, i));
			reply_entry(req, &st, 0, ENTRY_TIMEOUT);
			return;
		}
	lookup_node(req, k, k->dir, 0, NODE_CONN, name);
}

/* netns/N: N a scope's number, in decimal, as scope_list gives it. */
static void lookup_scope(fuse_req_t req, const char *name)
{
	struct fs *fs = fs_of(req);
	struct kind_caller who = caller(req);
	const struct kind *k = &fs->kinds[fs->scoped];
	char *end;
	unsigned long long n = strtoull(name, &end, 10);
	int err = may_scope(fs, &who);
	/* one spelling: strtoull() would take a sign or spaces too */
	if (!err && (name[0] < '1' || name[0] > '9' || *end || n == 0))
		err = -ENOENT;
	if (err < 0) {
		fuse_reply_err(req, -err);
		return;
	}
	lookup_node(req, k, k->ops->scopes, n, NODE_SCOPE, name);
}

/* netns/N/NAME: one of the scope's files, or the kind's directory. */
static void lookup_in_scope(fuse_req_t req, struct node *node, const char *name)
{
	struct fs *fs = fs_of(req);
	struct kind_caller who = caller(req);
	const struct kind *k = &fs->kinds[node->kind];
	struct stat st;
	int r = -1, err = 0;

	if (strcmp(name, k->dir) == 0) {
		lookup_node(req, k, node->name, node->scope, NODE_SCOPE_KIND,
			    name);
		return;
	}
	for (int i = 0; i < k->ops->nscope_files && r < 0; i++)
		if (strcmp(name, k->ops->scope_files[i]) == 0)
			r = i;
	err = r < 0 ? -ENOENT : scope_stat(fs, &who, node, r, &st);
	if (err < 0) {
		fuse_reply_err(req, -err);
		return;
	}
	node->nlookup++;
	reply_entry(req, &st, node->gen, 0);
}

static void lookup_file(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct kind_caller who = caller(req);
	struct node *node = nodes_get(fs->nodes, parent);
	struct conn_at a;
	struct stat st;
	int r = node ? files_lookup(&fs->kinds[node->kind], name) : -1;

	if (r < 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	int err = conn_stat(fs, &who, parent + (fuse_ino_t)files_slot(r) + 1,
			    &a, &st);
	if (err < 0) {
		fuse_reply_err(req, -err);
		return;
	}
	node->nlookup++;
	reply_entry(req, &st, node->gen, timeout_of(&a, true));
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	const struct kind *k = kind_dir(fs, parent);
	struct node *node =
		node_row(parent) < 0 ? nodes_get(fs->nodes, parent) : NULL;
	if (parent == INO_ROOT)
		lookup_root(req, name);
	else if (k)
		lookup_conn(req, k, name);
	else if (parent == INO_SCOPES && fs->scoped >= 0)
		lookup_scope(req, name);
	else if (node && node->type == NODE_SCOPE)
		lookup_in_scope(req, node, name);
	else if (node && node->type == NODE_SCOPE_KIND)
		lookup_node(req, &fs->kinds[node->kind], node->name,
			    node->scope, NODE_CONN, name);
	else if (node)
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

/* INO's attributes as WHO sees them, into ST, and how long the kernel may
 * keep them, into *TIMEOUT; 0 or -errno. */
static int attr_of(struct fs *fs, const struct kind_caller *who, fuse_ino_t ino,
		   struct stat *st, double *timeout)
{
	struct conn_at a;
	int err = ino < NODE_FIXED ? stat_fixed(fs, st, ino) :
				     conn_stat(fs, who, ino, &a, st);
	*timeout = err < 0	    ? 0 :
		   ino < NODE_FIXED ? ENTRY_TIMEOUT :
		   a.k		    ? timeout_of(&a, node_row(ino) >= 0) :
				      0;
	return err;
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct kind_caller who = caller(req);
	struct stat st;
	double timeout;
	(void)fi;
	int err = attr_of(fs_of(req), &who, ino, &st, &timeout);
	if (err < 0)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, timeout);
}

/* The rwx bits of ST's mode that apply to WHO (its class: owner, group,
 * other); root has read and write, and execute where anyone has. */
static unsigned mode_for(const struct kind_caller *who, const struct stat *st)
{
	if (who->uid == 0)
		return 6 | !!(st->st_mode & 0111);
	if (who->uid == st->st_uid)
		return (st->st_mode >> 6) & 7;
	return (who->gid == st->st_gid ? st->st_mode >> 3 : st->st_mode) & 7;
}

/* access(2), and chdir's check: the mode bits, as the kernel would. */
static void fs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct kind_caller who = caller(req);
	struct stat st;
	double timeout;
	int err = attr_of(fs_of(req), &who, ino, &st, &timeout);
	unsigned want = (unsigned)mask & 7;
	fuse_reply_err(req, err < 0				 ? -err :
			    (mode_for(&who, &st) & want) != want ? EACCES :
								   0);
}

/* Nothing changes, but a change is answered as POSIX answers it (O_TRUNC
 * from `echo verb > ctl` arrives as a size change where the open does not
 * carry it): a size, or the time now, for who may write (or owns it); any
 * other time for the owner. */
static int may_setattr(const struct kind_caller *who, const struct stat *st,
		       int to_set)
{
	bool owner = who->uid == 0 || who->uid == st->st_uid;
	bool writer = mode_for(who, st) & 2;
	int now = FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW;
	if (((to_set & FUSE_SET_ATTR_ATIME) &&
	     !(to_set & FUSE_SET_ATTR_ATIME_NOW)) ||
	    ((to_set & FUSE_SET_ATTR_MTIME) &&
	     !(to_set & FUSE_SET_ATTR_MTIME_NOW)))
		return owner ? 0 : -EPERM;
	if ((to_set & FUSE_SET_ATTR_SIZE) && !writer)
		return -EACCES;
	return (to_set & now) && !writer && !owner ? -EACCES : 0;
}

static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct kind_caller who = caller(req);
	struct stat st;
	double timeout;
	(void)attr;
	(void)fi;
	int err = to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME |
			     FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
			     FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME) ?
			  -EPERM :
			  attr_of(fs_of(req), &who, ino, &st, &timeout);
	if (!err)
		err = may_setattr(&who, &st, to_set);
	if (err < 0)
		fuse_reply_err(req, -err);
	else /* nothing changed: what they were */
		fuse_reply_attr(req, &st, timeout);
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

/* A scope's directory (its files, the kind's directory) or the kind's
 * directory in a scope (its connections there), NODE. */
static int list_scope(struct fs *fs, const struct kind_caller *who,
		      const struct node *node, struct buf *list)
{
	const struct kind *k = &fs->kinds[node->kind];
	struct kind_caller in = *who;
	if (node->type == NODE_SCOPE_KIND) {
		in.scope = node->scope;
		int err = k->ops->list(k->priv, &in, list_conn, list);
		return err < 0 ? err : list->err;
	}
	for (int i = 0; i < k->ops->nscope_files; i++)
		if (k->ops->scope_file(k->priv, node->scope, i, NULL) == 0)
			dir_add(list, node->ino + (fuse_ino_t)i + 1, S_IFREG,
				k->ops->scope_files[i]);
	dir_add(list, 1, S_IFDIR, k->dir);
	return list->err;
}

/* The inode of directory INO's parent, for its listing's "..": a
 * connection's is its kind's directory (or, in a scope, the kind's
 * directory there), a scope's the scopes directory; the rest are the
 * root's. */
static fuse_ino_t parent_of(struct fs *fs, fuse_ino_t ino)
{
	struct node *n = ino >= NODE_FIXED ? nodes_get(fs->nodes, ino) : NULL;
	char up[NODE_NAME_MAX];
	char *slash;
	if (!n)
		return INO_ROOT;
	if (n->type == NODE_CONN && !n->scope)
		return INO_KIND0 + (fuse_ino_t)n->kind;
	snprintf(up, sizeof(up), "%s", n->name);
	if (!(slash = strrchr(up, '/')))
		return INO_ROOT;
	*slash = 0;
	struct node *p = nodes_find(fs->nodes, up);
	return p ? p->ino : n->type == NODE_SCOPE ? INO_SCOPES : INO_ROOT;
}

static int list_dir(struct fs *fs, const struct kind_caller *who,
		    fuse_ino_t ino, struct buf *list)
{
	const struct kind *k = kind_dir(fs, ino);
	dir_add(list, ino, S_IFDIR, ".");
	dir_add(list, parent_of(fs, ino), S_IFDIR, "..");
	if (ino == INO_ROOT) {
		for (int i = 0; i < fs->nkinds; i++) {
			dir_add(list, INO_KIND0 + (fuse_ino_t)i, S_IFDIR,
				fs->kinds[i].dir);
			if (i == 0)
				dir_add(list, INO_EVENTS, S_IFREG, "events");
		}
		if (fs->nkinds == 0)
			dir_add(list, INO_EVENTS, S_IFREG, "events");
		if (fs->scoped >= 0)
			dir_add(list, INO_SCOPES, S_IFDIR,
				fs->kinds[fs->scoped].ops->scopes);
		return list->err;
	}
	if (k) {
		for (int i = 0; i < k->ops->nfixed; i++)
			dir_add(list, fixed_ino(fs, k, i), S_IFREG,
				k->ops->fixed[i]);
		int err = k->ops->list(k->priv, who, list_conn, list);
		return err < 0 ? err : list->err;
	}
	if (ino == INO_SCOPES && fs->scoped >= 0) {
		k = &fs->kinds[fs->scoped];
		int err = may_scope(fs, who);
		if (!err)
			err = k->ops->scope_list(k->priv, list_conn, list);
		return err < 0 ? err : list->err;
	}
	struct conn_at a;
	struct stat st;
	int err = ino >= NODE_FIXED ? conn_stat(fs, who, ino, &a, &st) :
				      -ENOTDIR;
	if (err < 0)
		return err;
	if (!a.k)
		return list_scope(fs, who, a.node, list);
	for (int r = 0; r < files_count(a.k); r++)
		if (files_present(a.k, r, &a.c))
			dir_add(list, ino + (fuse_ino_t)files_slot(r) + 1,
				S_IFREG, files_name(a.k, r));
	return list->err;
}

/* An open file's fh is the filesystem's epoch (its high 32 bits) and the
 * file's slot in fs->slots: an upgrade (fs_restore()) starts a new epoch,
 * so a file opened before it is told from one of ours and is stale. A
 * slot is looked up, never an address followed: an epoch come round again
 * (after 2^32 upgrades) names a slot, checked. */

/* Room in fs->slots for one more open file; -ENOMEM if none can be had. */
static int open_room(struct fs *fs)
{
	if (fs->free_slot || fs->nslots < fs->capslots)
		return 0;
	uint32_t cap = fs->capslots ? 2 * fs->capslots : 64;
	struct fh_slot *more = cap > fs->capslots ?
				       realloc(fs->slots, cap * sizeof(*more)) :
				       NULL;
	if (!more)
		return -ENOMEM;
	fs->slots = more;
	fs->capslots = cap;
	return 0;
}

/* Hold open file H, of TYPE, in a slot open_room() made, which FI's fh
 * names. */
static void open_hold(struct fs *fs, struct handle *h, enum handle_type type,
		      struct fuse_file_info *fi)
{
	uint32_t s = fs->free_slot;
	if (s)
		fs->free_slot = fs->slots[s].next;
	else
		s = fs->nslots++;
	fs->slots[s].h = h;
	fs_hold(fs, h, type);
	h->slot = s;
	fi->fh = (uint64_t)fs->epoch << 32 | s;
}

/* A file opened before an upgrade: read afresh, or ESTALE (as NFS says of
 * a handle its server no longer knows) where that cannot be. */
static struct handle stale = {.type = H_STALE};

/* The handle of open file FI: NULL if none (fh 0), else &stale or ours. */
static struct handle *handle_of(struct fs *fs, struct fuse_file_info *fi)
{
	uint64_t s = fi->fh & UINT32_MAX;
	if (!fi->fh)
		return NULL;
	if (fi->fh >> 32 != fs->epoch || !s || s >= fs->nslots ||
	    !fs->slots[s].h)
		return &stale;
	return fs->slots[s].h;
}

static struct snap *snap_open(struct fs *fs, struct fuse_file_info *fi)
{
	struct snap *s = open_room(fs) ? NULL : calloc(1, sizeof(*s));
	if (s)
		open_hold(fs, &s->h, H_SNAP, fi);
	return s;
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct kind_caller who = caller(req);
	struct node *node = nodes_get(fs->nodes, ino);
	/* refused at once: ls says "Permission denied" for the directory */
	if ((ino == INO_SCOPES || (node && node->scope)) &&
	    may_scope(fs, &who) < 0) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (!snap_open(fs, fi)) {
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

/* Answer a readdir of SIZE bytes with LIST's records from the one at POS;
 * returns the offset after the last one given. */
static size_t reply_dir(fuse_req_t req, const struct buf *list, size_t size,
			size_t pos)
{
	char *out = malloc(size);
	if (!out) {
		fuse_reply_err(req, ENOMEM);
		return pos;
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
	return pos;
}

/* The first record of LIST at OFF or after: an offset not handed out
 * (lseek, or seekdir after a rewinddir that listed anew) never lands in
 * the middle of one. */
static size_t record_at(const struct buf *list, size_t off)
{
	size_t pos = 0;
	while (pos < off && pos + DIR_HDR < list->len)
		pos = dir_next(list, pos);
	return pos < off ? list->len : pos;
}

/* A directory opened before an upgrade has no snapshot here: list it
 * again at each readdir (it may have changed since). */
static void readdir_stale(fuse_req_t req, fuse_ino_t ino, size_t size,
			  size_t off)
{
	struct buf list = {0};
	struct kind_caller who = caller(req);
	int err = list_dir(fs_of(req), &who, ino, &list);
	if (err < 0)
		fuse_reply_err(req, -err);
	else
		reply_dir(req, &list, size, record_at(&list, off));
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
	struct snap *snap = (struct snap *)h;
	/* listed at offset 0, or at the first readdir of this open whatever
	 * its offset (seekdir to where another open's telldir was): a
	 * listing always holds "." and ".." */
	if (off == 0 || !snap->b.len) {
		struct kind_caller who = caller(req);
		buf_free(&snap->b);
		int err = list_dir(fs_of(req), &who, ino, &snap->b);
		if (err < 0) { /* a part is no listing: the next one lists */
			buf_free(&snap->b);
			fuse_reply_err(req, -err);
			return;
		}
	}
	/* the next offset, as a listing goes, at once; another looked for */
	size_t pos = (size_t)off == snap->next || off == 0 ?
			     (size_t)off :
			     record_at(&snap->b, (size_t)off);
	snap->next = reply_dir(req, &snap->b, size, pos);
}

/* Load into C (its err already pointing at a buffer) the connection NAME of
 * K's directory as WHO sees it, without a node (there may be none): its
 * label, "DIR/NAME", into PATH (NODE_NAME_MAX bytes), and its directory's
 * own err buffer if it has one. 0 or load's -errno. */
static int load_named(struct fs *fs, const struct kind_caller *who,
		      const struct kind *k, const char *name, char *path,
		      struct kind_conn *c)
{
	snprintf(path, NODE_NAME_MAX, "%s/%s", k->dir, name);
	c->label = path;
	struct node *node = nodes_find(fs->nodes, path);
	if (node && node->err) /* its err file tells why */
		c->err = node->err;
	return k->ops->load(k->priv, who, name, c);
}

static void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct kind_caller who = caller(req);
	const struct kind *k = kind_dir(fs, parent);
	const struct node *pn = nodes_get(fs->nodes, parent);
	char path[NODE_NAME_MAX], err_buf[TCPFS_ERR_MAX] = "";
	struct kind_conn c = {.err = err_buf, .lives = -1};

	/* nothing under the scopes can be removed */
	if (parent == INO_ROOT || parent == INO_SCOPES ||
	    (pn && pn->type != NODE_CONN) || (k && !k->ops->rmdir)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (!k) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	int err = load_named(fs, &who, k, name, path, &c);
	if (err == 0 && who.uid != 0 && !(c.owned && who.uid == c.owner))
		err = -EPERM;
	if (err == 0)
		err = k->ops->rmdir(k->priv, &c);
	fuse_reply_err(req, -err);
}

/* ---- files ---- */

/* Answer an open with FOPEN_ flags, some of which libfuse 3.14 cannot
 * set. */
static void reply_open_flags(fuse_req_t req, const struct fuse_file_info *fi,
			     uint32_t flags)
{
	struct fuse_open_out out = {.fh = fi->fh, .open_flags = flags};
	struct iovec iov = {&out, sizeof(out)};
	fuse_reply_iov(req, &iov, 1);
}

/* A stream (data, listen, events) has no position (FOPEN_STREAM): else
 * the kernel takes the file's position lock around each read and write
 * of a descriptor that threads or processes share, and a read waiting for
 * bytes would hold a write on the same descriptor, unkillable, while the
 * bytes it waits for may be the answer to that write. */
static void reply_open_stream(fuse_req_t req, const struct fuse_file_info *fi)
{
	reply_open_flags(req, fi,
			 FOPEN_DIRECT_IO | FOPEN_NONSEEKABLE | FOPEN_STREAM);
}

static void events_open(fuse_req_t req, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct kind_caller who = caller(req);
	struct evfile *ef = NULL;
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	errno = ENOMEM;
	if (open_room(fs) || !(ef = calloc(1, sizeof(*ef))) ||
	    !(ef->sub = events_subscribe(fs->events, &who))) {
		free(ef);
		fuse_reply_err(req, errno);
		return;
	}
	waitq_init(&ef->lane);
	open_hold(fs, &ef->h, H_EVENTS, fi);
	reply_open_stream(req, fi);
}

/* Reading a kind's fixed file (clone) does what it does once, at open. One
 * that makes a connection (kind_ops.fixed_ctl) may be opened for writing
 * too: its writes go to that connection's ctl (fixed_write). */
static void fixed_open(fuse_req_t req, const struct kind *k, int i,
		       struct fuse_file_info *fi)
{
	struct snap *s;
	if ((fi->flags & O_ACCMODE) != O_RDONLY &&
	    !(k->ops->fixed_ctl & 1u << i)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (!(s = snap_open(fs_of(req), fi))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	struct kind_caller who = caller(req);
	int err = k->ops->fixed_open(k->priv, i, &who, &s->b);
	if (err < 0) {
		handle_drop(fs_of(req), &s->h);
		fuse_reply_err(req, -err);
		return;
	}
	fi->direct_io = 1;
	/* The kernel lets one write at a time into a file: one user's
	 * connect waiting in its write to clone would hold every other
	 * user's. It takes the shared lock for a write within the file's
	 * size (FIXED_CTL_SIZE) where the open said so. */
	if (k->ops->fixed_ctl & 1u << i)
		reply_open_flags(req, fi,
				 FOPEN_DIRECT_IO |
					 FOPEN_PARALLEL_DIRECT_WRITES);
	else
		fuse_reply_open(req, fi);
}

static void stream_open(fuse_req_t req, struct conn_at *a, int r,
			struct fuse_file_info *fi)
{
	struct stream *st = open_room(fs_of(req)) ? NULL :
						    calloc(1, sizeof(*st));
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
	open_hold(fs_of(req), &st->h, H_STREAM, fi);
	reply_open_stream(req, fi);
}

/* A scope's file R (NODE is the scope's), already allowed: rendered at
 * open, read only. */
static void scope_open(fuse_req_t req, const struct node *node, int r,
		       struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	const struct kind *k = &fs->kinds[node->kind];
	struct snap *s;
	if (r < 0 || (fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, r < 0 ? EISDIR : EACCES);
		return;
	}
	if (!(s = snap_open(fs, fi))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	int err = k->ops->scope_file(k->priv, node->scope, r, &s->b);
	if (err < 0) {
		handle_drop(fs, &s->h);
		fuse_reply_err(req, -err);
		return;
	}
	fi->direct_io = 1;
	fuse_reply_open(req, fi);
}

/* Opening a file for reading renders it once: every read of this open file
 * is served from that snapshot, so any read size gives the same bytes. */
static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct kind_caller who = caller(req);
	struct conn_at a;
	struct stat st;
	int i;
	const struct kind *k = kind_fixed(fs, ino, &i);
	int err = ino < NODE_FIXED ? stat_fixed(fs, &st, ino) :
				     conn_stat(fs, &who, ino, &a, &st);
	/* O_TRUNC comes with the open alone (FUSE_CAP_ATOMIC_O_TRUNC), not as
	 * a setattr: it is answered as truncate(2), even with O_RDONLY, as
	 * Linux answers it (EACCES for who may not write the file) */
	if (!err && (fi->flags & O_TRUNC))
		err = may_setattr(&who, &st, FUSE_SET_ATTR_SIZE);
	if (err < 0) {
		fuse_reply_err(req, -err);
		return;
	}
	if (ino == INO_EVENTS) {
		events_open(req, fi);
		return;
	}
	if (k) {
		fixed_open(req, k, i, fi);
		return;
	}
	if (ino < NODE_FIXED) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (!a.k) {
		scope_open(req, a.node, a.row, fi);
		return;
	}
	int r = a.row, acc = fi->flags & O_ACCMODE;
	if (!files_may_open(a.k, r, &a.c, who.uid, acc != O_WRONLY,
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
	struct kind_caller who = caller(req);
	struct buf b = {0};
	struct conn_at a;
	struct stat st;
	int r = node_row(ino);
	int err = ino >= NODE_FIXED && r >= 0 ?
			  conn_stat(fs, &who, ino, &a, &st) :
			  -ESTALE;
	const struct kind *sk = err || a.k ? NULL : &fs->kinds[a.node->kind];
	if (!err && a.k && files_stream(a.k, a.row))
		err = -ESTALE;
	struct files_env env = env_of(fs, req);
	if (!err && sk) /* a scope's file */
		err = sk->ops->scope_file(sk->priv, a.node->scope, a.row, &b);
	else if (!err)
		err = files_render(&env, a.k, a.row, &a.c, &b);
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
		park_events(fs_of(req), req, (struct evfile *)h, size,
			    fi->flags & O_NONBLOCK);
	} else if (h->type == H_STREAM) {
		park_read(fs_of(req), req, (struct stream *)h, size,
			  fi->flags & O_NONBLOCK);
	} else {
		reply_snap(req, &((struct snap *)h)->b, size, off);
	}
}

/* Answer a ctl write of SIZE bytes to connection C of kind K that
 * returned ERR: at once, or once K's ctl_wait says it is done. */
static void reply_ctl(fuse_req_t req, const struct kind *k,
		      const struct kind_conn *c, int err, size_t size)
{
	if (err == -EINPROGRESS)
		park_connect(fs_of(req), req, k, c->key, size);
	else if (err < 0)
		fuse_reply_err(req, -err);
	else
		fuse_reply_write(req, size);
}

/* A write to fixed file INO opened for writing, S its snapshot: a command
 * for the ctl of the connection S names on its first line. Saves a cycle
 * of clone, connect and close two lookups, two opens and two releases. */
static void fixed_write(fuse_req_t req, fuse_ino_t ino, const struct snap *s,
			const char *data, size_t size)
{
	struct fs *fs = fs_of(req);
	struct kind_caller who = caller(req);
	char path[NODE_NAME_MAX], err_buf[TCPFS_ERR_MAX] = "", name[32];
	struct kind_conn c = {.err = err_buf, .lives = -1};
	const char *nl = memchr(s->b.p, '\n', s->b.len);
	int i, err = -EBADF; /* names no connection */
	const struct kind *k = kind_fixed(fs, ino, &i);
	if (k && (k->ops->fixed_ctl & 1u << i) && nl &&
	    (size_t)(nl - s->b.p) < sizeof(name)) {
		memcpy(name, s->b.p, (size_t)(nl - s->b.p));
		name[nl - s->b.p] = 0;
		err = load_named(fs, &who, k, name, path, &c);
	}
	if (err == 0)
		err = files_write(k, FILES_CTL, &c, &who, data, size);
	reply_ctl(req, k, &c, err, size);
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *data,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct kind_caller who = caller(req);
	struct handle *h = handle_of(fs, fi);
	struct conn_at a;
	struct stat st;
	(void)off;
	if (h && h->type == H_STALE) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (h && h->type == H_STREAM) {
		park_write(fs, req, (struct stream *)h, data, size,
			   fi->flags & O_NONBLOCK);
		return;
	}
	if (h && h->type == H_SNAP && ino < NODE_FIXED) {
		fixed_write(req, ino, (struct snap *)h, data, size);
		return;
	}
	int err = conn_stat(fs, &who, ino, &a, &st);
	if (err == 0 && a.k)
		who.scope = a.node->scope; /* as it was loaded */
	if (err == 0)
		err = a.k ? files_write(a.k, a.row, &a.c, &who, data, size) :
			    -EACCES;
	reply_ctl(req, a.k, &a.c, err, size);
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
			park_poll(&st->poll, wq, ph);
		else if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, ev);
		return;
	}
	if (h && h->type == H_EVENTS) { /* readable when a line waits */
		struct evfile *ef = (struct evfile *)h;
		if (ph)
			park_poll(&ef->poll, events_waitq(ef->sub), ph);
		fuse_reply_poll(
			req, events_pending(ef->sub) ? POLLIN | POLLRDNORM : 0);
		return;
	}
	if (ph)
		fuse_pollhandle_destroy(ph);
	/* a snapshot is always ready, and a write (ctl, clone) never waits
	 * for room: as the kernel answers for a file without poll */
	fuse_reply_poll(req, POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
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
	.access = fs_access,
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

/* What fs_save() writes: a version, the epoch, then (version 2) the length
 * of the nodes, the nodes, and each kind's section, its directory's name
 * and what its save() wrote; version 1 was the nodes alone, to the end.
 * Every version begins so: a new image knows the old epoch from any. */
#define SAVE_VERSION 2

struct saved_fs {
	uint32_t version;
	uint32_t epoch;
};

struct saved_len {
	uint64_t len;
};

/* A part of B whose length goes before it: sized_begin() leaves room for
 * the length, sized_end() (AT what sized_begin() gave) writes it. */
static size_t sized_begin(struct buf *b)
{
	struct saved_len n = {0};
	size_t at = b->len;
	buf_add(b, &n, sizeof(n));
	return at;
}

static void sized_end(struct buf *b, size_t at)
{
	struct saved_len n = {b->len - at - sizeof(n)};
	if (!b->err)
		memcpy(b->p + at, &n, sizeof(n));
}

void fs_save(const struct fs *fs, struct buf *b)
{
	struct saved_fs h = {SAVE_VERSION, fs->epoch};
	buf_add(b, &h, sizeof(h));
	size_t at = sized_begin(b);
	nodes_save(fs->nodes, b);
	sized_end(b, at);
	for (int i = 0; i < fs->nkinds; i++) {
		const struct kind *k = &fs->kinds[i];
		if (!k->ops->save)
			continue;
		at = sized_begin(b);
		buf_add(b, k->dir, strlen(k->dir));
		sized_end(b, at);
		at = sized_begin(b);
		k->ops->save(k->priv, b);
		sized_end(b, at);
	}
}

/* Whether NAME is a node under the scopes directory: "netns/N" (a scope),
 * "netns/N/DIR" (the kind's directory in it) or "netns/N/DIR/NAME" (a
 * connection there); if so, its type and scope. */
static bool scoped_name(const struct fs *fs, const char *name,
			enum node_type *type, uint64_t *scope)
{
	const struct kind *k = &fs->kinds[fs->scoped];
	size_t n = strlen(k->ops->scopes), d = strlen(k->dir);
	char *end;
	if (strncmp(name, k->ops->scopes, n) != 0 || name[n] != '/' ||
	    !(*scope = strtoull(name + n + 1, &end, 10)))
		return false;
	if (!*end) {
		*type = NODE_SCOPE;
		return true;
	}
	if (*end != '/' || strncmp(end + 1, k->dir, d) != 0)
		return false;
	end += 1 + d;
	*type = *end ? NODE_CONN : NODE_SCOPE_KIND;
	return !*end || (*end == '/' && end[1]);
}

/* The index of the kind whose directory NAME ("DIR/NAME") is in, or -1;
 * for a node under the scopes, the scoped kind, its type and scope. */
static int kind_of(void *arg, const char *name, enum node_type *type,
		   uint64_t *scope)
{
	struct fs *fs = arg;
	size_t n = strcspn(name, "/");
	if (fs->scoped >= 0 && scoped_name(fs, name, type, scope))
		return fs->scoped;
	*scope = 0;
	for (int i = 0; i < fs->nkinds; i++)
		if (strlen(fs->kinds[i].dir) == n &&
		    strncmp(name, fs->kinds[i].dir, n) == 0)
			return i;
	return -1;
}

struct restored {
	struct fs *fs;
	struct fuse_session *se;
};

/* Node N's attributes and its files', as the kernel cached them from the
 * old image (only names a kind lets it cache, timeout_of()): forgotten.
 * An inode notification takes no directory lock, unlike an entry's. */
static void forget_attrs(void *arg, struct node *n)
{
	struct restored *r = arg;
	const struct kind *k = &r->fs->kinds[n->kind];
	if (n->type != NODE_CONN || k->per_reader || n->scope)
		return;
	fuse_lowlevel_notify_inval_inode(r->se, n->ino, -1, 0);
	for (int row = 0; row < files_count(k); row++)
		fuse_lowlevel_notify_inval_inode(
			r->se, n->ino + (fuse_ino_t)files_slot(row) + 1, -1, 0);
}

void fs_restored(struct fs *fs, struct fuse_session *se)
{
	struct restored r = {fs, se};
	nodes_each(fs->nodes, forget_attrs, &r);
}

/* The next part of *AT (*LEN bytes left), after its length: *PART, *N
 * bytes; false if it runs past the end. */
static bool take_sized(const char **at, size_t *len, const void **part,
		       size_t *n)
{
	struct saved_len l;
	if (*len < sizeof(l))
		return false;
	memcpy(&l, *at, sizeof(l));
	if (l.len > *len - sizeof(l))
		return false;
	*part = *at + sizeof(l);
	*n = (size_t)l.len;
	*at += sizeof(l) + *n;
	*len -= sizeof(l) + *n;
	return true;
}

/* Hand P, N bytes an old image's kind NAME saved, to the kind of that
 * directory here, if it has one that takes them; a refusal is logged, the
 * kind goes on with what it took. */
static void restore_kind(struct fs *fs, const char *name, size_t namelen,
			 const void *p, size_t n)
{
	for (int i = 0; i < fs->nkinds; i++) {
		const struct kind *k = &fs->kinds[i];
		if (strlen(k->dir) != namelen ||
		    memcmp(k->dir, name, namelen) != 0 || !k->ops->restore)
			continue;
		int err = k->ops->restore(k->priv, p, n);
		if (err < 0)
			tlog(LOG_WARNING,
			     "upgrade: %s/ took not all it had: %s", k->dir,
			     strerror(-err));
	}
}

int fs_restore(struct fs *fs, const void *p, size_t len)
{
	struct saved_fs h;
	if (len < sizeof(h))
		return -EINVAL;
	memcpy(&h, p, sizeof(h));
	if (h.epoch == 0)
		return -EINVAL;
	/* a new epoch even if the table is refused (another version, a bad
	 * node): the old image's fh must be stale, never taken as ours */
	fs->epoch = h.epoch == UINT32_MAX ? 1 : h.epoch + 1;
	const char *at = (const char *)p + sizeof(h);
	len -= sizeof(h);
	if (h.version == 1) /* the nodes, to the end */
		return nodes_load(fs->nodes, at, len, kind_of, fs);
	const void *part;
	size_t n;
	if (h.version != SAVE_VERSION || !take_sized(&at, &len, &part, &n))
		return -EINVAL;
	int err = nodes_load(fs->nodes, part, n, kind_of, fs);
	const void *name;
	size_t namelen;
	while (!err && len) {
		if (!take_sized(&at, &len, &name, &namelen) ||
		    !take_sized(&at, &len, &part, &n)) {
			tlog(LOG_WARNING, "upgrade: the kinds' state is cut "
					  "short; the rest start afresh");
			break;
		}
		restore_kind(fs, name, namelen, part, n);
	}
	return err;
}
