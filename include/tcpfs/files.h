/* tcpfs files: the one table of per-connection files.
 *
 * Every file of a connection directory is a row: a name, a mode, whether it
 * exists for a given connection, how to render it and how to write it.
 * readdir, lookup, getattr, read and write all come from this table. The
 * first VF_COUNT rows are the one-value files of view.h, in field order. */
#ifndef TCPFS_FILES_H
#define TCPFS_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tcpfs/buf.h"
#include "tcpfs/diag.h"
#include "tcpfs/node.h"
#include "tcpfs/procpid.h"
#include "tcpfs/view.h"

/* What a row's functions see: one connection, freshly fetched. */
struct file_ctx {
	struct diag *diag;
	struct procpid *procpid;
	struct node *node;
	const struct diag_sock *sock;
	const struct view *view;
	uid_t caller; /* uid of the process making the request */
};

/* Number of rows. */
int files_count(void);
/* Row named NAME, or -1. */
int files_lookup(const char *name);
/* Name of row R. */
const char *files_name(int r);
/* Permission bits of row R. */
mode_t files_mode(int r);
/* True if row R exists for the connection in CTX. */
bool files_present(int r, const struct file_ctx *ctx);
/* Render row R into OUT; 0 or -errno (-EACCES if not readable). */
int files_render(int r, const struct file_ctx *ctx, struct buf *out);
/* Perform a write of LEN bytes to row R; 0 or -errno (-EACCES if the row
 * is not writable, -EPERM if the caller may not). */
int files_write(int r, const struct file_ctx *ctx, const char *data,
		size_t len);
/* True if row R can be written at all. */
bool files_writable(int r);
/* True if CTX's caller may write to the connection (root or owner). */
bool files_may_write(const struct file_ctx *ctx);

#endif
