/* tcpfs: options, network namespace, mount, and the one event loop. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tcpfs/fs.h"
#include "tcpfs/log.h"

/* How long to keep polling the FUSE device after a request. */
#define POLL_NS 50000

struct options {
	char *netns;
};

static const struct fuse_opt option_spec[] = {
	{"--netns=%s", offsetof(struct options, netns), 0},
	{"--netns %s", offsetof(struct options, netns), 0},
	FUSE_OPT_END,
};

static void usage(const char *prog)
{
	printf("usage: %s MOUNTPOINT [options]\n\n"
	       "tcpfs shows TCP connections as directories; see tcpfs(8).\n\n"
	       "tcpfs options:\n"
	       "    --netns=PATH|NAME|PID  show the sockets of another network "
	       "namespace\n"
	       "                           (a file such as /proc/PID/ns/net, a "
	       "name under\n"
	       "                           /var/run/netns, or a process id)\n\n",
	       prog);
	fuse_cmdline_help();
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

/* A daemon killed without unmounting leaves "Transport endpoint is not
 * connected" behind: detach that mount so we can mount again. */
static void clean_stale_mount(const char *mnt)
{
	struct stat st;

	if (stat(mnt, &st) == 0 || errno != ENOTCONN)
		return;
	tlog(LOG_NOTICE, "%s: stale mount of a dead daemon, detaching it", mnt);
	if (umount2(mnt, MNT_DETACH) == 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "-z", "--", mnt,
		       (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Serve the requests that are ready, and keep polling a little after the
 * last one: a shell walking many files sends the next request within
 * microseconds, and catching it awake saves a sleep and a wakeup per
 * request, the largest cost of a small read. 1 if served, else as
 * fuse_session_receive_buf. */
static int serve_fuse(struct fuse_session *se, struct fuse_buf *fbuf)
{
	uint64_t idle_since = now_ns();
	for (;;) {
		int r = fuse_session_receive_buf(se, fbuf);
		if (r == -EINTR)
			continue;
		if (r == -EAGAIN) {
			if (now_ns() - idle_since > POLL_NS)
				return 1;
			continue;
		}
		if (r <= 0)
			return r;
		fuse_session_process_buf(se, fbuf);
		idle_since = now_ns();
	}
}

/* Serve FUSE requests until unmounted or signalled. */
static int run(struct fuse_session *se)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int ffd = fuse_session_fd(se);
	fcntl(ffd, F_SETFL, fcntl(ffd, F_GETFL) | O_NONBLOCK);
	struct epoll_event ev = {.events = EPOLLIN};
	if (sfd < 0 || ep < 0)
		return -errno;
	ev.data.fd = ffd;
	epoll_ctl(ep, EPOLL_CTL_ADD, ffd, &ev);
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);

	struct fuse_buf fbuf = {.mem = NULL};
	int ret = 0;
	while (!fuse_session_exited(se)) {
		struct epoll_event got[4];
		int n = epoll_wait(ep, got, 4, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (got[i].data.fd == sfd) {
				struct signalfd_siginfo si;
				if (read(sfd, &si, sizeof(si)) > 0)
					tlog(LOG_INFO, "signal %u: unmounting",
					     si.ssi_signo);
				fuse_session_exit(se);
				continue;
			}
			int r = serve_fuse(se, &fbuf);
			if (r <= 0) { /* 0: unmounted from outside */
				ret = r;
				fuse_session_exit(se);
				break;
			}
		}
	}
	free(fbuf.mem);
	close(ep);
	close(sfd);
	return ret;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cmd = {0};
	struct options opt = {0};
	int ret = 1;

	if (fuse_opt_parse(&args, &opt, option_spec, NULL) < 0 ||
	    fuse_parse_cmdline(&args, &cmd) != 0)
		return 2;
	if (cmd.show_help) {
		usage(argv[0]);
		ret = 0;
		goto out_args;
	}
	if (cmd.show_version) {
		printf("tcpfs %s\nFUSE library %s\n", TCPFS_VERSION,
		       fuse_pkgversion());
		fuse_lowlevel_version();
		ret = 0;
		goto out_args;
	}
	if (!cmd.mountpoint) {
		fprintf(stderr, "usage: %s MOUNTPOINT [options]  (-h for help)\n",
			argv[0]);
		ret = 2;
		goto out_args;
	}
	if (opt.netns && enter_netns(opt.netns) < 0)
		goto out_args;

	struct fs *fs = fs_new();
	if (!fs) {
		tlog(LOG_ERR, "cannot open sock_diag netlink socket: %s",
		     strerror(errno));
		goto out_args;
	}
	struct fuse_session *se =
		fuse_session_new(&args, &fs_ops, sizeof(fs_ops), fs);
	if (!se)
		goto out_fs;
	clean_stale_mount(cmd.mountpoint);
	if (fuse_session_mount(se, cmd.mountpoint) != 0)
		goto out_session;
	if (fuse_daemonize(cmd.foreground) != 0)
		goto out_unmount;
	if (!cmd.foreground)
		log_to_syslog();
	tlog(LOG_INFO, "mounted on %s", cmd.mountpoint);
	ret = run(se) < 0;
out_unmount:
	fuse_session_unmount(se);
out_session:
	fuse_session_destroy(se);
out_fs:
	fs_free(fs);
out_args:
	free(cmd.mountpoint);
	free(opt.netns);
	fuse_opt_free_args(&args);
	return ret;
}
