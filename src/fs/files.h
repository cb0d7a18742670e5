/* files: the rows of a connection directory, for any kind.
 *
 * Rows 0 .. VF_COUNT-1 are the one-value files of the view, in field order;
 * then status, ctl and err, which fs serves for every kind, and ladder,
 * which fs draws from the kinds' records (kind.h); then the kind's own
 * rows. readdir, lookup, getattr, open, read and write of a
 * connection's files all come from here. */
#ifndef TCPFS_FILES_H
#define TCPFS_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tcpfs/buf.h"
#include "tcpfs/kind.h"
#include "tcpfs/ladder.h"

enum {
	FILES_STATUS = VF_COUNT,
	FILES_CTL,
	FILES_ERR,
	FILES_LADDER,
	FILES_GENERIC
};

/* What a row may draw on besides its connection: every kind (a ladder
 * finds the other end of its connection in any of them), and how ladders
 * are drawn. */
struct files_env {
	const struct kind *kinds;
	int nkinds;
	const struct ladder_style *ladder;
	uid_t reader; /* who opens the file */
};

/* The slot of row R in its directory's inodes (inode = directory's + slot
 * + 1): the view's fields from 0, the generic rows from 80, the kind's own
 * from 96. A slot outlives a new version (VIEW_FIELDS and a kind's files
 * only grow at their ends), so a file the kernel cached before an upgrade
 * is found where it was, not a row that moved up. */
int files_slot(int r);
/* The row at SLOT of K's directories, or -1 if none. */
int files_row(const struct kind *k, int slot);
/* Number of rows of K's directories. */
int files_count(const struct kind *k);
/* Row named NAME in K's directories, or -1. */
int files_lookup(const struct kind *k, const char *name);
/* Name of row R (R < files_count(K)). */
const char *files_name(const struct kind *k, int r);
/* Permission bits of row R. */
mode_t files_mode(const struct kind *k, int r);
/* True if row R is one of K's streams (kind_ops.stream_*). */
bool files_stream(const struct kind *k, int r);
/* True if row R exists for connection C. */
bool files_present(const struct kind *k, int r, const struct kind_conn *c);
/* True if CALLER may open row R of C for reading and/or WRITING: root and
 * the owner by the owner's bits, others by the others' bits. */
bool files_may_open(const struct kind *k, int r, const struct kind_conn *c,
		    uid_t caller, bool reading, bool writing);
/* Render row R of C, of kind K, into OUT, with ENV; 0, -EACCES if it is
 * not a snapshot row, or the kind's -errno. */
int files_render(const struct files_env *env, const struct kind *k, int r,
		 const struct kind_conn *c, struct buf *out);
/* WHO writes LEN bytes of DATA to row R of C (ctl: parse, then the kind's
 * ctl). 0; -EINPROGRESS when the kind finishes later; -EACCES if R takes no
 * writes; -EPERM if WHO is neither root nor the owner, -EINVAL for a bad
 * command, or the kind's -errno, each with the reason in c->err. */
int files_write(const struct kind *k, int r, struct kind_conn *c,
		const struct kind_caller *who, const char *data, size_t len);

#endif
