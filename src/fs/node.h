/* node: inode numbers for connection directories and their files, of every
 * kind (kind.h); the filesystem's own, the kinds never see them.
 *
 * Inodes below NODE_FIXED are the fixed ones (root, kernel/, ...). A
 * connection directory gets a slot; its inode is (slot + 1) << NODE_FILE_BITS
 * and its files' inodes are that plus the file's row + 1, so a file's inode
 * leads to its directory without a table of its own. One lookup count per
 * directory covers the directory and its files. */
#ifndef TCPFS_NODE_H
#define TCPFS_NODE_H

#include <stdint.h>

#include "tcpfs/kind.h"

#define NODE_FILE_BITS 7
#define NODE_FIXED (UINT64_C(1) << NODE_FILE_BITS)
#define NODE_MAX_FILES ((1 << NODE_FILE_BITS) - 1)
/* Longest name, NUL included: "DIR/NAME" of a connection directory. */
#define NODE_NAME_MAX 160
/* Most slots a loaded table may use (a bound on what a saved one asks). */
#define NODE_LOAD_SLOTS (1u << 24)

/* What a directory node is: a connection's directory, or, under the
 * scopes directory (netns/), a scope's (netns/N: its files are the kind's
 * scope_files) or the kind's directory in a scope (netns/N/kernel). */
enum node_type { NODE_CONN, NODE_SCOPE, NODE_SCOPE_KIND };

struct node {
	uint64_t ino;
	uint64_t nlookup;
	uint64_t gen;
	uint32_t hnext; /* next slot with the same name hash */
	int kind;	/* index of its kind in the filesystem */
	enum node_type type;
	uint64_t scope; /* the scope it is in (kind_caller.scope), or 0 */
	char *err;	/* last ctl error, in words (TCPFS_ERR_MAX bytes), for a
		    * kind that keeps none itself; NULL until then */
	char name[];	/* "DIR/NAME": its path, for messages */
};

struct nodes;
struct buf;

/* An empty table. */
struct nodes *nodes_new(void);
/* Free the table and every node. */
void nodes_free(struct nodes *t);
/* The directory node named NAME, or NULL. */
struct node *nodes_find(struct nodes *t, const char *name);
/* The directory node named NAME, created if new; NULL if out of memory
 * or NAME is NODE_NAME_MAX bytes or longer. */
struct node *nodes_add(struct nodes *t, const char *name);
/* The directory node of directory or file inode INO, or NULL. */
struct node *nodes_get(struct nodes *t, uint64_t ino);
/* Drop N lookups of INO (a directory or one of its files). */
void nodes_forget(struct nodes *t, uint64_t ino, uint64_t n);
/* Call FN with ARG and each node of T, in slot order. */
void nodes_each(struct nodes *t, void (*fn)(void *arg, struct node *n),
		void *arg);
/* Append every node of T, with its err text, to B (B->err on ENOMEM), for
 * nodes_load(). */
void nodes_save(const struct nodes *t, struct buf *b);
/* What a saved node named NAME is: its kind (the return), or -1 to leave
 * it out (the kernel's lookups of it then get ENOENT); its type and scope
 * into *TYPE and *SCOPE (NODE_CONN and 0 unless set). */
typedef int (*nodes_kind_fn)(void *arg, const char *name, enum node_type *type,
			     uint64_t *scope);
/* Add the nodes saved in P (LEN bytes, from nodes_save()) to T, each at
 * its inode, with its lookup count, generation and err; KIND_OF(ARG, NAME,
 * ...) says what each is. 0, -EINVAL if P is malformed or clashes with a
 * node of T, or -ENOMEM; on error T holds what was loaded so far. */
int nodes_load(struct nodes *t, const char *p, size_t len,
	       nodes_kind_fn kind_of, void *arg);
/* Row of file inode INO within its directory, or -1 for the directory. */
static inline int node_row(uint64_t ino)
{
	return (int)(ino & NODE_MAX_FILES) - 1;
}

#endif
