/* upgrade: re-executing the daemon on the same FUSE connection.
 *
 * The FUSE connection is the open /dev/fuse: the kernel keeps the mount
 * (and every bind mount of it, in any mount namespace) alive as long as
 * one process holds it. So the old image stops reading it between two
 * requests (the loop is single-threaded: nothing is half served), answers
 * what waits (fs_quiesce()), saves what the new image needs in a memfd,
 * frees its parts (the engine resets its connections and closes its TUN
 * device, which the new image creates again), and execs with /dev/fuse and
 * the memfd open, every other descriptor closed on exec. exec keeps the
 * pid, the mount namespace, the network namespace and the credentials.
 *
 * What the new image needs, besides the descriptor:
 * - The INIT. libfuse refuses every request of a session until it has
 *   answered FUSE_INIT (se->got_init, EIO otherwise), and the kernel sends
 *   INIT once per connection. libfuse 3.14 (Debian 12) has no call to set
 *   a session's negotiated state, but it has fuse_session_custom_io(): the
 *   session reads and writes the device through our read and writev. So
 *   every image serves through them: the read keeps a copy of the kernel's
 *   INIT request as it passes; the new image replays that copy through
 *   fuse_session_process_buf(), and the writev swallows its reply. libfuse
 *   then holds exactly the state it negotiated with the kernel the first
 *   time (same request, same options). Replying to a unique the kernel no
 *   longer waits for would also be harmless (ENOENT, which libfuse ignores),
 *   but it is not sent at all. Custom I/O costs nothing measurable: libfuse
 *   reads with read(2) anyway (splice needs a write_buf op, which fs has
 *   not: park_write() says why), and the extra call is a function pointer.
 * - The inode numbers. The kernel keeps the node ids it looked up (a shell
 *   cd'ed into a connection directory holds one), and fs makes connection
 *   directories' ids as they are looked up. fs_save() hands the table over
 *   (names, ids, lookup counts), so an id means what it meant.
 * - What the kinds keep (kind_ops.save/restore, through fs_save()): the
 *   kernel kind's history of its sockets, and kbpf's iss and irs.
 * - Open files' fh name slots of the old image's table: fs tags them with
 *   an epoch, so it knows the old ones for what they are: a value file or
 *   directory opened before is rendered again at each read, a stream or
 *   events answers ESTALE (fs.c).
 * - The descriptors the first image was started with (and the one libfuse
 *   leaves for -o auto_unmount): kept open across every exec.
 *
 * If the file to execute is missing or not executable, the running image
 * (/proc/self/exe, there even when its file was replaced) is executed
 * instead: the daemon goes on, with the old code. A new image may also
 * start and then fail (a library missing, a script, a version that refuses
 * the handover): then nothing would hold /dev/fuse and every copy of the
 * mount would be dead. So before exec a guardian is forked, holding the
 * descriptors, until the new image says through a pipe that it took over;
 * if the pipe ends first, the guardian executes its own image (the old
 * one) over the same handover, and serves the mount under its own pid. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tcpfs/buf.h"
#include "tcpfs/log.h"
#include "upgrade.h"

/* The environment variable that tells a new image the memfd's number. */
#define UPGRADE_ENV "TCPFS_UPGRADE_FD"
/* How long the guardian waits for the new image to take over, and the
 * daemon for a probe of it. */
#define UPGRADE_WAIT_MS 10000
/* ... and the directory the first image was started in, where relative
 * paths of its options (--log, --netns) lead. */
#define UPGRADE_CWD_ENV "TCPFS_UPGRADE_CWD"
/* An INIT request is 104 bytes today; keep room for a longer one. */
#define INIT_MAX 512
/* Most descriptors kept open across exec besides ours (see upgrade_watch). */
#define KEEP_MAX 16

/* What the memfd holds: this, the INIT request, then fs_save()'s. */
struct handover {
	char magic[8];
	int32_t fuse_fd;
	uint32_t init_len; /* 0: the kernel had not sent it yet */
	int32_t ok_fd;	   /* the guardian's pipe, or -1 */
	int32_t guardian;  /* its pid */
	uint32_t nkeep;
	int32_t keep[KEEP_MAX];
};
static const char magic[8] = "tcpfsup1";

static char **args;		/* main()'s argv */
static char exe[PATH_MAX];	/* argv[0], absolute if it was relative */
static char cwd0[PATH_MAX];	/* the first image's directory, or "" */
static int handover_fd = -1;	/* in a new image, until adopted */
static char init_msg[INIT_MAX]; /* the kernel's INIT request */
static size_t init_len;
static bool swallow;   /* drop what the session writes (the replayed INIT's
		      * reply) */
static int ok_fd = -1; /* to tell the guardian we took over */
static pid_t guardian;
static int keep[KEEP_MAX]; /* what the first image had open across exec */
static unsigned nkeep;

/* NAME (no '/') as execvp() finds it in PATH, into EXE: the path of the
 * first executable file there, not resolved (a link switched to a new
 * version is followed), made absolute with CWD0. False if none. */
static bool find_in_path(const char *name)
{
	const char *p = getenv("PATH");
	if (!p)
		p = "/usr/local/bin:/bin:/usr/bin"; /* execvp()'s default */
	for (;;) {
		const char *end = strchrnul(p, ':');
		int len = (int)(end - p);
		bool rel = !len || p[0] != '/'; /* "" is "." */
		if ((size_t)snprintf(exe, sizeof(exe), "%s%s%.*s%s%s",
				     rel ? cwd0 : "", rel ? "/" : "", len, p,
				     len ? "/" : "", name) < sizeof(exe) &&
		    access(exe, X_OK) == 0)
			return true;
		if (!*end)
			return false;
		p = end + 1;
	}
}

bool upgrade_begin(char *argv[])
{
	const char *dir = getenv(UPGRADE_CWD_ENV);
	ssize_t n;
	args = argv;
	if (dir && chdir(dir) < 0)
		tlog(LOG_WARNING,
		     "upgrade: cannot enter %s, where relative "
		     "paths of the options lead: %s",
		     dir, strerror(errno));
	unsetenv(UPGRADE_CWD_ENV);
	if (!getcwd(cwd0, sizeof(cwd0)))
		cwd0[0] = 0;
	/* the file it was started from, by the path given or found in PATH
	 * (a link switched to a new version is followed) */
	if (!strchr(argv[0], '/')) {
		if (find_in_path(argv[0]))
			argv[0] = exe;
		else if ((n = readlink("/proc/self/exe", exe,
				       sizeof(exe) - 1)) > 0) {
			exe[n] = 0;
			argv[0] = exe;
		}
	} else if (argv[0][0] != '/' && cwd0[0] &&
		   (size_t)snprintf(exe, sizeof(exe), "%s/%s", cwd0, argv[0]) <
			   sizeof(exe)) {
		argv[0] = exe; /* the daemon's directory will be / */
	}
	const char *env = getenv(UPGRADE_ENV);
	if (!env)
		return false;
	handover_fd = atoi(env);
	unsetenv(UPGRADE_ENV); /* not for the daemon's children */
	return true;
}

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	const struct fuse_in_header *in = buf;
	ssize_t n = read(fd, buf, len);
	(void)userdata;
	if (n >= (ssize_t)sizeof(*in) && in->opcode == FUSE_INIT &&
	    (size_t)n <= sizeof(init_msg)) {
		memcpy(init_msg, buf, (size_t)n);
		init_len = (size_t)n;
	}
	return n;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	(void)userdata;
	if (!swallow)
		return writev(fd, iov, count);
	ssize_t n = 0;
	for (int i = 0; i < count; i++)
		n += (ssize_t)iov[i].iov_len;
	return n;
}

static const struct fuse_custom_io io = {.read = io_read, .writev = io_writev};

/* Note the descriptors open across exec now, just after the mount: what
 * the daemon was started with, and with -o auto_unmount the socket that
 * keeps fusermount3 waiting to unmount when the daemon dies (libfuse
 * leaves it open across exec). Every image keeps them; all the daemon
 * opens itself is closed at exec. */
static void note_kept(int fuse_fd)
{
	int fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)) && nkeep < KEEP_MAX) {
		int n = atoi(e->d_name), flags;
		if (n > 2 && n != fuse_fd && n != fd &&
		    (flags = fcntl(n, F_GETFD)) >= 0 && !(flags & FD_CLOEXEC))
			keep[nkeep++] = n;
	}
	closedir(d);
}

/* The highest descriptor kept (note_kept()), or -1. */
static int kept_top(void)
{
	int top = -1;
	for (unsigned i = 0; i < nkeep; i++)
		top = keep[i] > top ? keep[i] : top;
	return top;
}

/* A process that dies has its descriptors released highest first (the
 * kernel's task_work runs last-in first-out). libfuse's auto_unmount
 * socket lies above /dev/fuse, so fusermount3 could wake on its end and
 * open the mount point while the connection was still up: that request is
 * aborted with ECONNABORTED, not ENOTCONN, and fusermount3 then leaves the
 * dead mount behind. Above every kept descriptor, /dev/fuse goes first. */
static int fuse_fd_above_kept(int fd)
{
	int up = fcntl(fd, F_DUPFD_CLOEXEC, kept_top() + 1);
	if (up < 0)
		return fd;
	close(fd);
	return up;
}

int upgrade_watch(struct fuse_session *se)
{
	note_kept(fuse_session_fd(se));
	return fuse_session_custom_io(se, &io,
				      fuse_fd_above_kept(fuse_session_fd(se)));
}

/* Read the whole of memfd FD into *OUT (malloc'd), its size in *LEN. */
static int read_all(int fd, char **out, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((size_t)st.st_size < sizeof(struct handover) ||
	    st.st_size > (1 << 30))
		return -EINVAL;
	*len = (size_t)st.st_size;
	if (!(*out = malloc(*len)))
		return -ENOMEM;
	if (pread(fd, *out, *len, 0) != (ssize_t)*len) {
		free(*out);
		return errno ? -errno : -EIO;
	}
	return 0;
}

/* Answer the kernel's INIT again, the reply not sent: libfuse's session
 * then serves requests, negotiated as the old image's was. */
static int replay_init(struct fuse_session *se)
{
	char msg[INIT_MAX];
	struct fuse_buf fb = {.mem = msg, .size = init_len};
	memcpy(msg, init_msg, init_len);
	swallow = true;
	fuse_session_process_buf(se, &fb);
	swallow = false;
	return fuse_session_exited(se) ? -EPROTO : 0;
}

int upgrade_adopt(struct fuse_session *se, struct fs *fs)
{
	struct handover h;
	char *p = NULL;
	size_t len = 0;
	int err = read_all(handover_fd, &p, &len);
	close(handover_fd);
	handover_fd = -1;
	if (!err) {
		memcpy(&h, p, sizeof(h));
		if (memcmp(h.magic, magic, sizeof(magic)) != 0 ||
		    h.init_len > INIT_MAX || len - sizeof(h) < h.init_len ||
		    /* open, and closed on exec as in the first image: a
		     * child (nft) must not hold the mount up */
		    fcntl(h.fuse_fd, F_SETFD, FD_CLOEXEC) < 0)
			err = -EINVAL;
	}
	if (err) {
		tlog(LOG_ERR,
		     "upgrade: the old image's handover is unusable: %s",
		     strerror(-err));
		free(p);
		return err;
	}
	memcpy(init_msg, p + sizeof(h), h.init_len);
	init_len = h.init_len;
	ok_fd = h.ok_fd;
	guardian = h.guardian;
	for (uint32_t i = 0; i < h.nkeep && i < KEEP_MAX; i++)
		if (fcntl(h.keep[i], F_GETFD) >= 0)
			keep[nkeep++] = h.keep[i];
	const char *saved = p + sizeof(h) + h.init_len;
	/* without the table, the kernel's old ids answer ENOENT: still a
	 * working mount, so go on */
	if ((err = fs_restore(fs, saved, len - sizeof(h) - h.init_len)) < 0)
		tlog(LOG_WARNING,
		     "upgrade: the old inode table is not usable (%s): "
		     "directories looked up before answer ENOENT",
		     strerror(-err));
	free(p);
	if ((err = fuse_session_custom_io(se, &io, h.fuse_fd)) < 0)
		return err;
	if (init_len && (err = replay_init(se)) < 0) {
		tlog(LOG_ERR,
		     "upgrade: this image refuses the connection's INIT "
		     "parameters");
		return err;
	}
	fs_restored(fs, se);
	tlog(LOG_NOTICE, "upgrade: pid %d serves the same mount with %s",
	     (int)getpid(), args[0]);
	if (ok_fd >= 0) { /* the guardian reads it and ends */
		if (write(ok_fd, "", 1) != 1)
			tlog(LOG_WARNING, "upgrade: the guardian: %s",
			     strerror(errno));
		close(ok_fd);
		waitpid(guardian, NULL, 0);
	}
	return 0;
}

int upgrade_save(struct fuse_session *se, struct fs *fs)
{
	struct handover h = {.fuse_fd = fuse_session_fd(se),
			     .init_len = (uint32_t)init_len,
			     .ok_fd = -1,
			     .nkeep = nkeep};
	struct buf b = {0};
	memcpy(h.magic, magic, sizeof(magic));
	memcpy(h.keep, keep, sizeof(keep));
	fs_quiesce(fs);
	buf_add(&b, &h, sizeof(h));
	buf_add(&b, init_msg, init_len);
	fs_save(fs, &b);
	int fd = b.err ? -1 : memfd_create("tcpfs-upgrade", 0);
	int err = b.err ? b.err : fd < 0 ? -errno : 0;
	if (!err && write(fd, b.p, b.len) != (ssize_t)b.len)
		err = errno ? -errno : -EIO;
	buf_free(&b);
	if (err && fd >= 0)
		close(fd);
	return err ? err : fd;
}

/* Where the guardian's pipe and pid are written in the memfd. */
static int set_guardian(int saved, int fd, pid_t pid)
{
	int32_t v[2] = {fd, pid};
	ssize_t n =
		pwrite(saved, v, sizeof(v), offsetof(struct handover, ok_fd));
	return n == (ssize_t)sizeof(v) ? 0 : -1;
}

/* The guardian: wait for the new image's word; if its pipe ends first,
 * or UPGRADE_WAIT_MS pass (the new image hangs, or a child of it holds
 * the pipe), end the new image (pid DAEMON) and take over the handover
 * with this (the old) image. */
static void guard(int in, int saved, pid_t daemon)
{
	struct pollfd p = {.fd = in, .events = POLLIN};
	char c;
	ssize_t n = 0;
	int r;
	while ((r = poll(&p, 1, UPGRADE_WAIT_MS)) < 0 && errno == EINTR)
		;
	if (r == 1)
		while ((n = read(in, &c, 1)) < 0 && errno == EINTR)
			;
	if (n == 1)
		_exit(0);
	if (r == 0) {
		tlog(LOG_WARNING,
		     "upgrade: the new image (pid %d) did not take over in "
		     "%d s: killed",
		     (int)daemon, UPGRADE_WAIT_MS / 1000);
		kill(daemon, SIGKILL);
	}
	tlog(LOG_WARNING,
	     "upgrade: the new image ended before it took over; pid %d "
	     "takes over with the old image",
	     (int)getpid());
	if (set_guardian(saved, -1, 0) == 0)
		execv("/proc/self/exe", args);
	tlog(LOG_ERR, "upgrade: the guardian cannot take over: %s",
	     strerror(errno));
	_exit(127);
}

/* Fork the guardian; the pipe's write end stays open across exec. */
static int start_guardian(int saved)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t daemon = getpid(), pid = fork();
	if (pid == 0) {
		close(p[1]);
		guard(p[0], saved, daemon);
	}
	close(p[0]);
	if (pid < 0 || fcntl(p[1], F_SETFD, 0) < 0 ||
	    set_guardian(saved, p[1], pid) < 0) {
		int err = -errno;
		close(p[1]);
		return err;
	}
	ok_fd = p[1];
	guardian = pid;
	return 0;
}

/* No image could be executed: the guardian must not take over. */
static void stop_guardian(void)
{
	if (ok_fd < 0)
		return;
	kill(guardian, SIGKILL);
	waitpid(guardian, NULL, 0);
	close(ok_fd);
	ok_fd = -1;
}

/* Wait up to UPGRADE_WAIT_MS for child PID: its wait status, or -1 (then
 * killed). */
static int wait_child(pid_t pid)
{
	int st;
	for (int ms = 0; ms < UPGRADE_WAIT_MS; ms += 10) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

int upgrade_probe(void)
{
	int p[2], err = 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return 0; /* cannot tell: upgrade all the same */
	pid_t pid = fork();
	if (pid == 0) { /* exec's errno through the pipe, if it fails */
		int n = 0;
		while (args[n])
			n++;
		char **probe = calloc((size_t)n + 2, sizeof(*probe));
		if (probe) {
			memcpy(probe, args, (size_t)n * sizeof(*probe));
			probe[n] = "--upgrade-probe";
			execv(args[0], probe);
		}
		err = errno;
		ssize_t w = write(p[1], &err, sizeof(err));
		(void)w; /* unread, the pipe says the exec went */
		_exit(127);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &err, sizeof(err)) == sizeof(err)) {
		close(p[0]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return 0; /* not executable: upgrade_exec() falls back */
	}
	close(p[0]);
	int st = wait_child(pid);
	char why[48];
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (st == -1)
		snprintf(why, sizeof(why), "no answer in %d s, killed",
			 UPGRADE_WAIT_MS / 1000);
	else if (WIFEXITED(st))
		snprintf(why, sizeof(why), "exit status %d", WEXITSTATUS(st));
	else
		snprintf(why, sizeof(why), "signal %d", WTERMSIG(st));
	tlog(LOG_ERR,
	     "upgrade: %s does not start with these arguments (%s): serving "
	     "on with the running image",
	     args[0], why);
	return -1;
}

int upgrade_exec(struct fuse_session *se, int saved)
{
	char num[16];
	int ffd = fuse_session_fd(se), err;
	snprintf(num, sizeof(num), "%d", saved);
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0 ||
	    fcntl(ffd, F_SETFD, 0) < 0 || fcntl(saved, F_SETFD, 0) < 0 ||
	    setenv(UPGRADE_ENV, num, 1) < 0 ||
	    (cwd0[0] && setenv(UPGRADE_CWD_ENV, cwd0, 1) < 0))
		return -errno;
	for (unsigned i = 0; i < nkeep; i++)
		fcntl(keep[i], F_SETFD, 0);
	if ((err = start_guardian(saved)) < 0) /* then none: go on */
		tlog(LOG_WARNING, "upgrade: no guardian: %s", strerror(-err));
	tlog(LOG_NOTICE, "upgrade: executing %s", args[0]);
	execv(args[0], args); /* not execvp: no sh for ENOEXEC */
	tlog(LOG_WARNING,
	     "upgrade: cannot execute %s: %s; executing the running image "
	     "again",
	     args[0], strerror(errno));
	execv("/proc/self/exe", args);
	err = -errno;
	tlog(LOG_ERR, "upgrade: cannot execute /proc/self/exe either: %s",
	     strerror(errno));
	stop_guardian();
	unsetenv(UPGRADE_ENV);
	unsetenv(UPGRADE_CWD_ENV);
	return err;
}
