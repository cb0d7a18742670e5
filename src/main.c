/* tcpfs: options, network namespace, the parts, mount, and the one event
 * loop. This is where the daemon is composed: the sources of each kind of
 * connection are opened here, the kinds built over them, and the kinds
 * handed to the filesystem. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "options.h"
#include "tcpfs/events.h"
#include "tcpfs/fs.h"
#ifdef HAVE_KBPF
#include "tcpfs/kbpf.h"
#endif
#include "tcpfs/kinds.h"
#include "tcpfs/ladder.h"
#include "tcpfs/log.h"
#include "tcpfs/loop.h"
#include "tcpfs/netns.h"
#include "tcpfs/nsscan.h"
#include "tcpfs/procpid.h"
#include "tcpfs/tundrv.h"
#include "upgrade.h"

/* How long the loop keeps polling after a round (a FUSE request, a packet):
 * a shell walking many files sends its next request within microseconds.
 * The loop polls every fd, not FUSE alone, so that a request that waits for
 * the engine (connect) has its packets sent and its answer read at once. */
#define POLL_NS 50000

static void usage(const char *prog)
{
	printf("usage: %s MOUNTPOINT [options]\n\n"
	       "tcpfs shows TCP connections as directories; see tcpfs(8).\n\n",
	       prog);
	options_help();
	/* libfuse's own list, but for its threads: one loop serves all */
	printf("    -h   --help            print help\n"
	       "    -V   --version         print version\n"
	       "    -d   -o debug          enable debug output (implies -f)\n"
	       "    -f                     foreground operation\n"
	       "    -s                     accepted (tcpfs is single-threaded)\n");
	fuse_lowlevel_help();
}

/* Enter the network namespace SPEC names: a path, a pid, or a name. */
static int enter_netns(const char *spec)
{
	char path[PATH_MAX];

	if (strchr(spec, '/'))
		snprintf(path, sizeof(path), "%s", spec);
	else if (spec[0] && strspn(spec, "0123456789") == strlen(spec))
		snprintf(path, sizeof(path), "/proc/%s/ns/net", spec);
	else
		snprintf(path, sizeof(path), "/var/run/netns/%s", spec);

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		tlog(LOG_ERR, "--netns %s: cannot open %s: %s", spec, path,
		     strerror(errno));
		return -1;
	}
	int ret = setns(fd, CLONE_NEWNET);
	if (ret < 0)
		tlog(LOG_ERR, "--netns %s: setns(%s): %s", spec, path,
		     strerror(errno));
	close(fd);
	return ret;
}

/* Detach the mount on MNT: as root directly, else through fusermount3. */
static void detach(const char *mnt)
{
	if (umount2(mnt, MNT_DETACH) == 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none; /* main() blocked the stop signals: not for it */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execlp("fusermount3", "fusermount3", "-u", "-z", "--", mnt,
		       (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* Detach MNT if the connection FD still serves it: once the file system
 * was unmounted from outside (FD says POLLERR), the path is what lay
 * below, not ours to detach. libfuse's unmount asks so too, but a new
 * image of an upgrade did not mount, and unmounts itself. */
static void detach_ours(int fd, const char *mnt)
{
	struct pollfd p = {.fd = fd};
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLERR))
		return;
	detach(mnt);
}

/* Field 5 of a /proc/self/mountinfo LINE, the mount point, with its octal
 * escapes (\040 space, \011 tab, \012 newline, \134 backslash) undone,
 * in AT (PATH_MAX bytes); false if LINE has no such field or it is too
 * long. */
static bool mount_point(const char *line, char *at)
{
	const char *p = line;
	size_t n = 0;
	for (int i = 0; i < 4 && p; i++)
		if ((p = strchr(p, ' ')))
			p++;
	while (p && *p && *p != ' ' && *p != '\n' && n + 1 < PATH_MAX) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' &&
		    p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
			at[n++] = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 |
					 (p[3] - '0'));
			p += 4;
		} else
			at[n++] = *p++;
	}
	at[n] = 0;
	return p && n && (!*p || *p == ' ' || *p == '\n');
}

/* Whether a tcpfs is mounted on MNT (resolved) now, the top mount there
 * (/proc/self/mountinfo: field 5 the mount point, the type after " - "). */
static bool tcpfs_mounted(const char *mnt)
{
	char at[PATH_MAX], *line = NULL, *sep;
	size_t size = 0;
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	while (getline(&line, &size, f) > 0)
		if (mount_point(line, at) && !strcmp(at, mnt))
			found = (sep = strstr(line, " - ")) &&
				!strncmp(sep + 3, "fuse.tcpfs ", 11);
	free(line);
	fclose(f);
	return found;
}

/* MNT must be a directory that no running tcpfs serves (a second one would
 * stack on it). A daemon killed without unmounting leaves "Transport
 * endpoint is not connected" behind: that mount is detached, so that we
 * can mount again. /dev/fd/N is libfuse's for a /dev/fuse descriptor
 * mounted by the caller. 0 or -1, said in the log. */
static int check_mountpoint(const char *mnt)
{
	char real[PATH_MAX];
	struct stat st;
	if (!strncmp(mnt, "/dev/fd/", 8))
		return 0;
	if (stat(mnt, &st) < 0) {
		if (errno == ENOTCONN) {
			tlog(LOG_NOTICE,
			     "%s: stale mount of a dead daemon, detaching it",
			     mnt);
			detach(mnt);
			return 0;
		}
		tlog(LOG_ERR, "%s: %s", mnt, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		tlog(LOG_ERR, "%s: not a directory", mnt);
		return -1;
	}
	if (realpath(mnt, real) && tcpfs_mounted(real)) {
		tlog(LOG_ERR,
		     "%s: a running tcpfs is mounted there already (umount "
		     "it first)",
		     mnt);
		return -1;
	}
	return 0;
}

/* Serve the requests that are ready. 1 if all were, else as
 * fuse_session_receive_buf. */
static int serve_fuse(struct fuse_session *se, struct fuse_buf *fbuf)
{
	for (;;) {
		int r = fuse_session_receive_buf(se, fbuf);
		if (r == -EINTR)
			continue;
		if (r == -EAGAIN)
			return 1;
		if (r <= 0)
			return r;
		fuse_session_process_buf(se, fbuf);
	}
}

struct daemon {
	struct fuse_session *se;
	struct fuse_buf fbuf;
	int sfd;
	int ret;
	bool upgrade; /* UPGRADE_SIGNAL came */
};

static void on_fuse(void *arg)
{
	struct daemon *d = arg;
	int r = serve_fuse(d->se, &d->fbuf);
	if (r <= 0) { /* 0: unmounted from outside */
		d->ret = r;
		fuse_session_exit(d->se);
	}
}

static void on_signal(void *arg)
{
	struct daemon *d = arg;
	struct signalfd_siginfo si;
	if (read(d->sfd, &si, sizeof(si)) <= 0)
		return;
	d->upgrade = si.ssi_signo == UPGRADE_SIGNAL;
	tlog(LOG_INFO, "signal %u: %s", si.ssi_signo,
	     d->upgrade ? "upgrading" : "unmounting");
	if (d->upgrade && upgrade_probe() < 0) { /* said why */
		d->upgrade = false; /* a later umount must not upgrade */
		return;
	}
	fuse_session_exit(d->se);
}

/* The signals that end the daemon (or upgrade it) into MASK. */
static void stop_signals(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGHUP);
	sigaddset(mask, UPGRADE_SIGNAL);
}

/* Block them from the start: one that comes while the daemon starts waits
 * for the loop, which then ends it as any other (unmounted, the nft table
 * and sysctls of --nat undone), where its default action would kill the
 * daemon with all that left behind. */
static void block_stop_signals(void)
{
	sigset_t mask;
	stop_signals(&mask);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The blocked stop signals, through a signalfd. */
static int signal_fd(void)
{
	sigset_t mask;
	stop_signals(&mask);
	return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Serve until unmounted or signalled (SFD: the signals' signalfd): 1 for an
 * upgrade, else 0 or -errno. */
static int run(struct loop *loop, struct fuse_session *se, int sfd)
{
	struct daemon d = {.se = se, .sfd = sfd};
	int ffd = fuse_session_fd(se);

	fcntl(ffd, F_SETFL, fcntl(ffd, F_GETFL) | O_NONBLOCK);
	loop_spin(loop, POLL_NS);
	if (d.sfd < 0 || loop_add(loop, ffd, on_fuse, &d) < 0 ||
	    loop_add(loop, d.sfd, on_signal, &d) < 0)
		return -errno;
	while (!fuse_session_exited(se)) {
		int err = loop_once(loop);
		if (err < 0) {
			d.ret = err;
			break;
		}
	}
	loop_del(loop, ffd);
	loop_del(loop, d.sfd);
	free(d.fbuf.mem);
	return d.ret < 0 ? d.ret : d.upgrade;
}

/* The daemon's parts, built in main() and freed in reverse. */
struct parts {
	struct events *events;
	struct kind kinds[2]; /* kernel, engine; ops NULL: not built */
	struct fs *fs;
};

/* The eBPF backend for kernel sockets' sequence numbers, or NULL (and why,
 * logged once): opened in the namespace --netns entered. */
static struct kbpf *open_kbpf(void)
{
#ifdef HAVE_KBPF
	char why[200] = "";
	struct kbpf *k = kbpf_open(why, sizeof(why));
	if (!k)
		tlog(LOG_WARNING,
		     "kernel sockets' sequence numbers are off: %s",
		     *why ? why : strerror(errno));
	return k;
#else
	tlog(LOG_NOTICE,
	     "kernel sockets' sequence numbers are off: tcpfs was built "
	     "without its eBPF backend (meson -Dbpf)");
	return NULL;
#endif
}

/* Where network namespaces are bind-mounted: by ip netns (its names, and
 * podman's), and by other runtimes (docker, rootless podman). */
static const char *const netns_named[] = {"/run/netns", "/var/run/netns", NULL};
static const char *const netns_others[] = {"/run/docker/netns",
					   "/var/run/docker/netns",
					   "/run/user/*/netns", NULL};

/* The kernel kind: sock_diag per network namespace (each reader's, or
 * only the one --netns entered: PINNED), the host's namespaces for netns/,
 * /proc, kbpf. */
static int build_kernel(struct parts *p, struct loop *loop, bool pinned)
{
	struct netns_pool *pool = netns_pool_new(pinned);
	int err = errno;
	struct nsscan *scan =
		pool ? nsscan_new("/proc", netns_named, netns_others) : NULL;
	struct procpid *procpid = scan ? procpid_new("/proc") : NULL;
	if (!procpid) {
		err = pool ? ENOMEM : err;
		netns_pool_free(pool);
		nsscan_free(scan);
		return -(err ? err : ENOMEM);
	}
	return kernel_kind_new(&p->kinds[0], loop, p->events, pool, scan,
			       procpid, open_kbpf());
}

/* The engine kind, over its driver if the engine can run. Where this
 * host cannot give it a TUN device (none, no privilege) it is off with a
 * warning; where the device is busy, most likely held by a tcpfs that
 * lingers, the daemon does not start: a second daemon without an engine,
 * beside the first one's device, would only hide the problem. */
static int build_engine(struct parts *p, struct loop *loop,
			const struct tcpfs_config *cfg)
{
	struct tundrv *drv = NULL;
	char why[200];
	if (cfg->engine) {
		drv = tundrv_new(loop, &cfg->drv, why, sizeof(why));
		if (!drv && errno == EBUSY) {
			tlog(LOG_ERR,
			     "%s; most likely an earlier tcpfs that still serves a "
			     "mount another mount namespace keeps (see \"A "
			     "daemon that lingers\" in tcpfs(8)): end it, or "
			     "give --tun=NAME with other addresses, or "
			     "--no-engine",
			     why);
			return -EBUSY;
		}
		if (!drv)
			tlog(LOG_WARNING,
			     "the engine is off: %s; kernel/ works, engine/ "
			     "answers ENETDOWN",
			     why);
	}
	return engine_kind_new(&p->kinds[1], loop, p->events, drv, cfg->reap);
}

static int build(struct parts *p, struct loop *loop,
		 const struct tcpfs_config *cfg, bool pinned)
{
	int err;
	if (!(p->events = events_new()))
		return -ENOMEM;
	if ((err = build_kernel(p, loop, pinned)) < 0 ||
	    (err = build_engine(p, loop, cfg)) < 0)
		return err;
	if (!(p->fs = fs_new(p->events, p->kinds, 2)))
		return -errno;
	struct ladder_style st;
	ladder_style_default(&st);
	st.ascii = cfg->ascii ||
		   !ladder_utf8_locale(getenv("LC_ALL"), getenv("LC_CTYPE"),
				       getenv("LANG"));
	fs_ladder_style(p->fs, &st);
	return 0;
}

static void unbuild(struct parts *p)
{
	fs_free(p->fs);
	kind_free(&p->kinds[1]);
	kind_free(&p->kinds[0]);
	events_free(p->events);
}

/* Whether libfuse takes every option left in ARGS, asked before anything
 * is opened: a session made on a copy (libfuse consumes what it parses)
 * says so, and which option it does not know. */
static bool fuse_options_ok(const struct fuse_args *args)
{
	struct fuse_args copy = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	int i = 0;
	while (i < args->argc && fuse_opt_add_arg(&copy, args->argv[i]) == 0)
		i++;
	if (i == args->argc)
		se = fuse_session_new(&copy, &fs_ops, sizeof(fs_ops), NULL);
	if (se)
		fuse_session_destroy(se);
	fuse_opt_free_args(&copy);
	return se != NULL;
}

/* Mount SE on MNT and become a daemon, or, in a new image of an upgrade,
 * take over the old image's mount (already there, already a daemon). */
static int start(struct fuse_session *se, struct fs *fs,
		 const struct fuse_cmdline_opts *cmd, bool adopting)
{
	if (adopting) { /* in the first image's directory until now */
		if (!cmd->foreground && chdir("/") < 0)
			tlog(LOG_WARNING, "cannot enter /: %s",
			     strerror(errno));
		return upgrade_adopt(se, fs);
	}
	if (check_mountpoint(cmd->mountpoint) < 0)
		return -1;
	if (fuse_session_mount(se, cmd->mountpoint) != 0)
		return -1;
	if (upgrade_watch(se) < 0 || fuse_daemonize(cmd->foreground) != 0) {
		fuse_session_unmount(se);
		return -1;
	}
	if (!cmd->foreground)
		log_daemonized();
	return 0;
}

/* Upgrade: hand the connection, its state SAVED (upgrade_save()), to a
 * new image of the daemon (upgrade.h). Returns only if no image could be
 * executed: -errno. */
static int upgrade(struct fuse_session *se, struct parts *p, struct loop *loop,
		   int saved)
{
	unbuild(p); /* the engine resets its connections, frees its TUN */
	*p = (struct parts){0};
	loop_free(loop);
	return upgrade_exec(se, saved);
}

int main(int argc, char *argv[])
{
	block_stop_signals();
	bool adopting = upgrade_begin(argv);
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cmd = {0};
	struct options opt = {0};
	struct tcpfs_config cfg;
	struct parts parts = {0};
	int ret = 2;

	options_config_default(&cfg);
	if (options_parse(&args, &opt) < 0 ||
	    fuse_parse_cmdline(&args, &cmd) != 0)
		goto out_args;
	log_set_debug(cmd.debug);
	if (cmd.show_help) {
		usage(argv[0]);
		ret = 0;
		goto out_args;
	}
	if (cmd.show_version) {
		printf("tcpfs %s\nFUSE library %s\n", TCPFS_VERSION,
		       fuse_pkgversion());
		fflush(stdout); /* before fusermount3 -V, which libfuse runs */
		fuse_lowlevel_version();
		ret = 0;
		goto out_args;
	}
	if (!cmd.mountpoint) {
		fprintf(stderr,
			"usage: %s MOUNTPOINT [options]  (-h for help)\n",
			argv[0]);
		goto out_args;
	}
	if (options_config(&opt, &cfg) < 0)
		goto out_args;
	ret = 1;
	if (opt.upgrade_probe) { /* a probe of an upgrade: the arguments do */
		ret = !fuse_options_ok(&args);
		goto out_args;
	}
	if (opt.val[OPT_LOG] && (errno = -log_to_file(opt.val[OPT_LOG]))) {
		tlog(LOG_ERR, "--log %s: %s", opt.val[OPT_LOG],
		     strerror(errno));
		goto out_args;
	}
	/* a new image of an upgrade is in the namespace the old one entered */
	if (!fuse_options_ok(&args) || (opt.val[OPT_NETNS] && !adopting &&
					enter_netns(opt.val[OPT_NETNS]) < 0))
		goto out_args;

	struct loop *loop = loop_new();
	int err = loop ? build(&parts, loop, &cfg, opt.val[OPT_NETNS]) : -errno;
	if (err < 0) {
		tlog(LOG_ERR, "cannot start: %s", strerror(-err));
		goto out_fs;
	}
	struct fuse_session *se =
		fuse_session_new(&args, &fs_ops, sizeof(fs_ops), parts.fs);
	if (!se)
		goto out_fs;
	if (!cmd.foreground) /* before start() daemonizes */
		log_detach();
	if (start(se, parts.fs, &cmd, adopting) < 0)
		goto out_session;
	tlog(LOG_INFO,
	     adopting ? "upgraded: serving %s again" : "mounted on %s",
	     cmd.mountpoint);
	int sfd = signal_fd(), saved = -1;
	int r = run(loop, se, sfd);
	/* saved once the loop stopped (no request after it is lost); if it
	 * cannot be (ENOMEM, no descriptor left), nothing is torn down yet
	 * and the running image serves on, needing no new descriptor */
	while (r == 1 && (saved = upgrade_save(se, parts.fs)) < 0) {
		tlog(LOG_ERR,
		     "upgrade: cannot save the state: %s; serving on with the "
		     "running image",
		     strerror(-saved));
		fuse_session_reset(se);
		r = run(loop, se, sfd);
	}
	if (sfd >= 0)
		close(sfd);
	if (r == 1) {
		r = upgrade(se, &parts, loop, saved);
		loop = NULL;
	}
	ret = r < 0;
	if (adopting) /* libfuse did not mount it: it does not unmount it */
		detach_ours(fuse_session_fd(se), cmd.mountpoint);
	else
		fuse_session_unmount(se);
out_session:
	fuse_session_destroy(se);
out_fs:
	unbuild(&parts);
	loop_free(loop);
out_args:
	free(cmd.mountpoint);
	options_free(&opt);
	fuse_opt_free_args(&args);
	return ret;
}
