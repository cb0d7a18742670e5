/* tcpfs files: the one table of per-connection files.
 *
 * Every file of a connection directory is a row: a name, a mode, the kinds
 * of connection that have it, whether it exists for a given connection, how
 * to render it and how to write it. readdir, lookup, getattr, read and write
 * all come from this table, for kernel sockets and engine connections alike.
 * The first VF_COUNT rows are the one-value files of view.h, in field order.
 * Stream rows (data, listen) are read and written by the filesystem through
 * the engine, not rendered. */
#ifndef TCPFS_FILES_H
#define TCPFS_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tcpfs/buf.h"
#include "tcpfs/diag.h"
#include "tcpfs/procpid.h"
#include "tcpfs/tundrv.h"
#include "tcpfs/view.h"

#define FILES_ERR_MAX 256

enum conn_kind { CONN_KERNEL = 1, CONN_ENGINE = 2 };

/* Rows the filesystem serves itself. */
enum files_stream { FILES_NOT_STREAM, FILES_DATA, FILES_LISTEN };

/* What a row's functions see: one connection, freshly fetched. */
struct file_ctx {
	enum conn_kind kind;
	const char *label; /* "kernel/NAME" or "engine/N", for messages */
	char *err;	   /* its last ctl error: FILES_ERR_MAX bytes */
	bool owned;	   /* OWNER is known (not for TIME_WAIT, ...) */
	uid_t owner;
	uid_t caller; /* uid of the process making the request */
	const struct view *view;
	/* kernel sockets */
	struct diag *diag;
	struct procpid *procpid;
	const struct diag_sock *sock;
	/* engine connections */
	struct tundrv *drv;
	uint32_t id;
	const struct tcp_info_snap *info;
};

/* Number of rows. */
int files_count(void);
/* Row named NAME, or -1. */
int files_lookup(const char *name);
/* Name of row R. */
const char *files_name(int r);
/* Permission bits of row R. */
mode_t files_mode(int r);
/* Which stream row R is, if any. */
enum files_stream files_stream(int r);
/* True if row R exists for the connection in CTX. */
bool files_present(int r, const struct file_ctx *ctx);
/* True if CTX's caller may open row R for reading and/or WRITING: root
 * and the owner by the owner's bits, others by the others' bits. */
bool files_may_open(int r, const struct file_ctx *ctx, bool reading,
		    bool writing);
/* Render row R into OUT; 0 or -errno (-EACCES if not readable). */
int files_render(int r, const struct file_ctx *ctx, struct buf *out);
/* Perform a write of LEN bytes to row R; 0, -EINPROGRESS when the engine
 * will finish it later (connect), or -errno with the reason in ctx->err
 * (-EACCES if the row is not writable, -EPERM if the caller may not). */
int files_write(int r, const struct file_ctx *ctx, const char *data,
		size_t len);
/* True if row R can be written at all. */
bool files_writable(int r);

#endif
