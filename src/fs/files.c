/* The table of per-connection files and what each one does. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tcpfs/ctl.h"
#include "tcpfs/files.h"
#include "tcpfs/log.h"
#include "tcpfs/node.h"

struct row {
	const char *name;
	mode_t mode;
	unsigned kinds; /* CONN_* that have it */
	enum files_stream stream;
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

static bool is_listener(const struct file_ctx *ctx)
{
	return ctx->info->listener;
}

static int render_pid(const struct file_ctx *ctx, struct buf *out)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now_ms =
		(uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	return procpid_render(ctx->procpid, ctx->sock->inode, now_ms, out);
}

static int render_err(const struct file_ctx *ctx, struct buf *out)
{
	if (ctx->err[0])
		buf_printf(out, "%s\n", ctx->err);
	return out->err;
}

/* The trace, a line per entry, times from the connection's first. */
static int render_trace(const struct file_ctx *ctx, struct buf *out)
{
	enum { MAX = 4096 };
	struct tcp_trace_ent *ent = malloc(MAX * sizeof(*ent));
	uint64_t dropped = 0;
	char line[512];

	if (!ent)
		return -ENOMEM;
	struct tcp_engine *tcp = tundrv_tcp(ctx->drv);
	int n = tcp_trace_get(tcp, ctx->id, ent, MAX, &dropped);
	int kept = (int)tcp_trace_kept(tcp, ctx->id);
	for (int i = 0; i < n; i++) {
		if (i == kept && dropped) /* between the open and the latest */
			buf_printf(out, "# %llu entries dropped\n",
				   (unsigned long long)dropped);
		tcp_trace_format(&ent[i], ent[0].t, line, sizeof(line));
		buf_printf(out, "%s\n", line);
	}
	free(ent);
	return out->err;
}

static bool owner_or_root(const struct file_ctx *ctx)
{
	return ctx->caller == 0 || (ctx->owned && ctx->caller == ctx->owner);
}

__attribute__((format(printf, 3, 4))) static int
fail(const struct file_ctx *ctx, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx->err, FILES_ERR_MAX, fmt, ap);
	va_end(ap);
	tlog(LOG_NOTICE, "%s: ctl: %s", ctx->label, ctx->err);
	return err;
}

/* Kernel sockets take close (and hangup): SOCK_DESTROY, with the cookie. */
static int write_kernel_ctl(const struct file_ctx *ctx,
			    const struct ctl_cmd *cmd)
{
	if (cmd->verb != CTL_CLOSE && cmd->verb != CTL_HANGUP)
		return fail(ctx, -EINVAL,
			    "'%s' is for engine connections; a kernel socket "
			    "takes close or hangup",
			    ctl_verb_name(cmd->verb));

	int err = diag_destroy(ctx->diag, &ctx->sock->key);
	struct diag_sock still;
	/* The kernel's lookup reaches one SO_REUSEPORT sibling only: for the
	 * others it says "gone" while the socket is still there. */
	if (err == -ENOENT && diag_get(ctx->diag, &ctx->sock->key, &still) == 0)
		err = -EBUSY;
	switch (err) {
	case 0:
		ctx->err[0] = 0;
		tlog(LOG_INFO, "%s: destroyed", ctx->label);
		return 0;
	case -ENOENT:
		return fail(ctx, err, "the socket is gone");
	case -EOPNOTSUPP:
		return fail(ctx, err,
			    "this kernel cannot destroy sockets "
			    "(CONFIG_INET_DIAG_DESTROY is off)");
	case -EPERM:
	case -EACCES:
		return fail(ctx, -EPERM,
			    "the kernel refused: SOCK_DESTROY "
			    "needs CAP_NET_ADMIN in the namespace");
	case -EBUSY:
		return fail(ctx, -EBUSY,
			    "the kernel's lookup of this tuple "
			    "finds another socket (SO_REUSEPORT); "
			    "it cannot be destroyed by cookie");
	default:
		return fail(ctx, err, "SOCK_DESTROY failed: %s",
			    strerror(-err));
	}
}

/* An engine call's error, in words, as connect(2) and friends would. */
static int engine_fail(const struct file_ctx *ctx, const struct ctl_cmd *cmd,
		       int err)
{
	const char *why;
	switch (-err) {
	case EISCONN:
		why = "the connection is already open";
		break;
	case ENOTCONN:
		why = "the connection is not open";
		break;
	case EADDRINUSE:
		why = "that local address and port are in use";
		break;
	case ENETUNREACH:
		why = "the engine has no address of that family";
		break;
	case ENOENT:
		why = "the connection is gone";
		break;
	default:
		why = strerror(-err);
		break;
	}
	return fail(ctx, err, "%s: %s", ctl_verb_name(cmd->verb), why);
}

/* "PORT", "*:PORT" or "ADDR:PORT" (also with '!'): where to listen. */
static int parse_announce(const char *arg, struct wire_ep *ep, const char **why)
{
	char *end;
	if (arg[0] == '*' && (arg[1] == ':' || arg[1] == '!'))
		arg += 2;
	if (!strpbrk(arg, ":!")) {
		unsigned long port = strtoul(arg, &end, 10);
		memset(ep, 0, sizeof(*ep));
		ep->port = (uint16_t)port;
		*why = "port out of range";
		return (*arg && !*end && port > 0 && port < 65536) ? 0 :
								     -EINVAL;
	}
	return wire_ep_parse(arg, -1, ep, why);
}

/* "on" or "off", as a bool in *ON. */
static int parse_switch(const char *arg, bool *on)
{
	*on = strcmp(arg, "on") == 0;
	return *on || strcmp(arg, "off") == 0 ? 0 : -EINVAL;
}

/* SECONDS of idle before keepalive probes, 0 for off; default 2 hours. */
static int parse_seconds(const struct ctl_cmd *cmd, tcp_time *us)
{
	char *end;
	if (cmd->argc == 0) {
		*us = 7200 * 1000000ull;
		return 0;
	}
	unsigned long sec = strtoul(cmd->argv[0], &end, 10);
	*us = (tcp_time)sec * 1000000;
	return *cmd->argv[0] && !*end && sec <= 86400 * 7 ? 0 : -EINVAL;
}

/* Engine connections take every verb. connect answers later. */
static int write_engine_ctl(const struct file_ctx *ctx,
			    const struct ctl_cmd *cmd)
{
	struct tcp_engine *tcp = tundrv_tcp(ctx->drv);
	tcp_time now = tundrv_now(), us;
	struct wire_ep ep;
	const char *why = "";
	char *end;
	bool on;
	int err;

	switch (cmd->verb) {
	case CTL_CONNECT: {
		unsigned long lport = 0;
		if (wire_ep_parse(cmd->argv[0], -1, &ep, &why) < 0)
			return fail(ctx, -EINVAL, "connect: %s: %s",
				    cmd->argv[0], why);
		if (cmd->argc > 1 &&
		    ((lport = strtoul(cmd->argv[1], &end, 10)) == 0 ||
		     lport > 65535 || *end))
			return fail(ctx, -EINVAL,
				    "connect: local port '%s' out of range",
				    cmd->argv[1]);
		if ((err = tundrv_route(ctx->drv, &ep, &why)) < 0)
			return fail(ctx, err, "connect: %s: %s", cmd->argv[0],
				    why);
		err = tcp_connect(tcp, ctx->id, &ep, (uint16_t)lport, now);
		return err < 0 ? engine_fail(ctx, cmd, err) : -EINPROGRESS;
	}
	case CTL_ANNOUNCE:
		if (parse_announce(cmd->argv[0], &ep, &why) < 0)
			return fail(ctx, -EINVAL, "announce: %s: %s",
				    cmd->argv[0], why);
		err = tcp_listen(tcp, ctx->id, &ep, 128);
		break;
	case CTL_CLOSE:
		err = tcp_close(tcp, ctx->id, now);
		break;
	case CTL_SHUTDOWN:
		err = tcp_shutdown(tcp, ctx->id, now);
		break;
	case CTL_HANGUP:
		err = tcp_abort(tcp, ctx->id, now);
		break;
	case CTL_KEEPALIVE:
		if (parse_seconds(cmd, &us) < 0)
			return fail(ctx, -EINVAL,
				    "keepalive: '%s' is not a "
				    "number of seconds (0 to 604800)",
				    cmd->argv[0]);
		err = tcp_set_keepalive(tcp, ctx->id, us);
		break;
	case CTL_NODELAY:
		if (parse_switch(cmd->argv[0], &on) < 0)
			return fail(ctx, -EINVAL,
				    "nodelay: say on or off, "
				    "not '%s'",
				    cmd->argv[0]);
		err = tcp_set_nodelay(tcp, ctx->id, on);
		break;
	default:
		err = -EINVAL;
	}
	if (err < 0)
		return engine_fail(ctx, cmd, err);
	ctx->err[0] = 0;
	return 0;
}

static int write_ctl(const struct file_ctx *ctx, const char *data, size_t len)
{
	struct ctl_cmd cmd;
	char why[FILES_ERR_MAX];

	if (!owner_or_root(ctx))
		return fail(ctx, -EPERM,
			    "uid %u may not control a "
			    "connection of uid %u",
			    (unsigned)ctx->caller, (unsigned)ctx->owner);
	if (ctl_parse(data, len, &cmd, why, sizeof(why)) < 0)
		return fail(ctx, -EINVAL, "%s", why);
	if (ctx->kind == CONN_ENGINE)
		return write_engine_ctl(ctx, &cmd);
	return write_kernel_ctl(ctx, &cmd);
}

static const struct row special[] = {
	{"status", 0444, CONN_KERNEL | CONN_ENGINE, 0, NULL, render_status,
	 NULL},
	{"pid", 0444, CONN_KERNEL, 0, has_holders, render_pid, NULL},
	{"ctl", 0200, CONN_KERNEL | CONN_ENGINE, 0, NULL, NULL, write_ctl},
	{"err", 0444, CONN_KERNEL | CONN_ENGINE, 0, NULL, render_err, NULL},
	{"data", 0600, CONN_ENGINE, FILES_DATA, NULL, NULL, NULL},
	{"listen", 0400, CONN_ENGINE, FILES_LISTEN, is_listener, NULL, NULL},
	{"trace", 0400, CONN_ENGINE, 0, NULL, render_trace, NULL},
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

enum files_stream files_stream(int r)
{
	return r < VF_COUNT ? FILES_NOT_STREAM : special[r - VF_COUNT].stream;
}

bool files_present(int r, const struct file_ctx *ctx)
{
	if (r < VF_COUNT)
		return view_has(ctx->view, r);
	const struct row *row = &special[r - VF_COUNT];
	return (row->kinds & ctx->kind) && (!row->present || row->present(ctx));
}

bool files_may_open(int r, const struct file_ctx *ctx, bool reading,
		    bool writing)
{
	mode_t mode = files_mode(r);
	mode_t rd = S_IRUSR, wr = S_IWUSR;
	if (!owner_or_root(ctx)) {
		rd = S_IROTH;
		wr = S_IWOTH;
	}
	return (!reading || (mode & rd)) && (!writing || (mode & wr));
}

bool files_writable(int r)
{
	return r >= VF_COUNT && (special[r - VF_COUNT].write ||
				 special[r - VF_COUNT].stream == FILES_DATA);
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
	if (r < VF_COUNT || !special[r - VF_COUNT].write)
		return -EACCES;
	return special[r - VF_COUNT].write(ctx, data, len);
}
