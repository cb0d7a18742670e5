/* The table of per-connection files and what each one does. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tcpfs/ctl.h"
#include "tcpfs/files.h"
#include "tcpfs/log.h"

struct row {
	const char *name;
	mode_t mode;
	bool (*present)(const struct file_ctx *ctx); /* NULL: always */
	int (*render)(const struct file_ctx *ctx, struct buf *out);
	int (*write)(const struct file_ctx *ctx, const char *data, size_t len);
};

static int render_status(const struct file_ctx *ctx, struct buf *out)
{
	for (int f = 0; f < VF_COUNT; f++)
		if (view_has(ctx->view, f))
			buf_printf(out, "%s %s\n", view_name(f),
				   ctx->view->val[f]);
	return out->err;
}

static bool has_holders(const struct file_ctx *ctx)
{
	return ctx->sock->full && ctx->sock->inode != 0;
}

static int render_pid(const struct file_ctx *ctx, struct buf *out)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	return procpid_render(ctx->procpid, ctx->sock->inode, now_ms, out);
}

static int render_err(const struct file_ctx *ctx, struct buf *out)
{
	if (ctx->node->err[0])
		buf_printf(out, "%s\n", ctx->node->err);
	return out->err;
}

bool files_may_write(const struct file_ctx *ctx)
{
	return ctx->caller == 0 || (ctx->sock->full && ctx->caller == ctx->sock->uid);
}

__attribute__((format(printf, 3, 4))) static int
fail(const struct file_ctx *ctx, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx->node->err, sizeof(ctx->node->err), fmt, ap);
	va_end(ap);
	tlog(LOG_NOTICE, "kernel/%s: ctl: %s", ctx->node->name, ctx->node->err);
	return err;
}

/* Kernel sockets take close (and hangup): SOCK_DESTROY, with the cookie. */
static int write_kernel_ctl(const struct file_ctx *ctx, const char *data,
			    size_t len)
{
	struct ctl_cmd cmd;
	char why[NODE_ERR_MAX];

	if (!files_may_write(ctx))
		return fail(ctx, -EPERM,
			    "uid %u may not close a socket of uid %u",
			    (unsigned)ctx->caller, ctx->sock->uid);
	if (ctl_parse(data, len, &cmd, why, sizeof(why)) < 0)
		return fail(ctx, -EINVAL, "%s", why);
	if (cmd.verb != CTL_CLOSE && cmd.verb != CTL_HANGUP)
		return fail(ctx, -EINVAL,
			    "'%s' is for engine connections; a kernel socket "
			    "takes close or hangup",
			    ctl_verb_name(cmd.verb));

	int err = diag_destroy(ctx->diag, &ctx->sock->key);
	struct diag_sock still;
	/* The kernel's lookup reaches one SO_REUSEPORT sibling only: for the
	 * others it says "gone" while the socket is still there. */
	if (err == -ENOENT && diag_get(ctx->diag, &ctx->sock->key, &still) == 0)
		err = -EBUSY;
	switch (err) {
	case 0:
		ctx->node->err[0] = 0;
		tlog(LOG_INFO, "kernel/%s: destroyed", ctx->node->name);
		return 0;
	case -ENOENT:
		return fail(ctx, err, "the socket is gone");
	case -EOPNOTSUPP:
		return fail(ctx, err, "this kernel cannot destroy sockets "
				      "(CONFIG_INET_DIAG_DESTROY is off)");
	case -EPERM:
	case -EACCES:
		return fail(ctx, -EPERM, "the kernel refused: SOCK_DESTROY "
					 "needs CAP_NET_ADMIN in the namespace");
	case -EBUSY:
		return fail(ctx, -EBUSY, "the kernel's lookup of this tuple "
					 "finds another socket (SO_REUSEPORT); "
					 "it cannot be destroyed by cookie");
	default:
		return fail(ctx, err, "SOCK_DESTROY failed: %s", strerror(-err));
	}
}

static const struct row special[] = {
	{"status", 0444, NULL, render_status, NULL},
	{"pid", 0444, has_holders, render_pid, NULL},
	{"ctl", 0200, NULL, NULL, write_kernel_ctl},
	{"err", 0444, NULL, render_err, NULL},
};
#define NSPECIAL ((int)(sizeof(special) / sizeof(special[0])))
_Static_assert(VF_COUNT + NSPECIAL <= NODE_MAX_FILES, "too many files");

int files_count(void)
{
	return VF_COUNT + NSPECIAL;
}

int files_lookup(const char *name)
{
	int f = view_lookup(name);
	if (f >= 0)
		return f;
	for (int i = 0; i < NSPECIAL; i++)
		if (strcmp(special[i].name, name) == 0)
			return VF_COUNT + i;
	return -1;
}

const char *files_name(int r)
{
	return r < VF_COUNT ? view_name(r) : special[r - VF_COUNT].name;
}

mode_t files_mode(int r)
{
	return r < VF_COUNT ? 0444 : special[r - VF_COUNT].mode;
}

bool files_present(int r, const struct file_ctx *ctx)
{
	if (r < VF_COUNT)
		return view_has(ctx->view, r);
	return !special[r - VF_COUNT].present || special[r - VF_COUNT].present(ctx);
}

bool files_writable(int r)
{
	return r >= VF_COUNT && special[r - VF_COUNT].write;
}

int files_render(int r, const struct file_ctx *ctx, struct buf *out)
{
	if (r < VF_COUNT) {
		buf_printf(out, "%s\n", ctx->view->val[r]);
		return out->err;
	}
	if (!special[r - VF_COUNT].render)
		return -EACCES;
	return special[r - VF_COUNT].render(ctx, out);
}

int files_write(int r, const struct file_ctx *ctx, const char *data, size_t len)
{
	if (!files_writable(r))
		return -EACCES;
	return special[r - VF_COUNT].write(ctx, data, len);
}
