/* Logging: stderr in the foreground; once daemonized, syslog where there is
 * a syslog socket, else still the stderr the daemon was started with if it
 * is a terminal or a file (not a pipe, whose reader would wait); a file
 * with timestamps if asked. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tcpfs/log.h"

static bool use_syslog;
static bool debug;
static int log_fd = STDERR_FILENO;
static bool to_file; /* lines carry a time, the pid and the level */

void log_set_debug(bool on)
{
	debug = on;
}

int log_to_file(const char *path)
{
	int fd = open(path,
		      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
		      0640);
	if (fd < 0)
		return -errno;
	if (to_file)
		close(log_fd);
	log_fd = fd;
	to_file = true;
	return 0;
}

/* Whether a syslog daemon listens on _PATH_LOG: the socket file alone may
 * be stale, and glibc's syslog() drops lines silently when nobody is. */
static bool syslog_listens(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", _PATH_LOG);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

void log_detach(void)
{
	struct stat st;
	if (to_file)
		return;
	if (syslog_listens()) {
		openlog("tcpfs", LOG_PID, LOG_DAEMON);
		use_syslog = true;
		return;
	}
	/* a pipe's reader (out=$(mount ...)) would wait for the daemon's
	 * end: let it go */
	if (fstat(STDERR_FILENO, &st) == 0 &&
	    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
		tlog(LOG_NOTICE,
		     "no syslog, and stderr is a pipe: the daemon's log ends "
		     "here (-o log=FILE keeps it)");
		log_fd = -1;
		return;
	}
	int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (fd >= 0)
		log_fd = fd;
}

void log_daemonized(void)
{
	if (use_syslog || to_file || log_fd <= STDERR_FILENO)
		return;
	if (dup2(log_fd, STDERR_FILENO) == STDERR_FILENO) {
		close(log_fd);
		log_fd = STDERR_FILENO;
	}
}

/* "2026-12-06T05:01:02.123456+0000 tcpfs[PID] LEVEL: " into LINE. */
static int stamp(char *line, size_t size, int level)
{
	static const char *const levels[] = {"emerg", "alert",	 "crit",
					     "err",   "warning", "notice",
					     "info",  "debug"};
	struct timespec ts;
	struct tm tm;
	char date[32], zone[8];
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	return snprintf(line, size, "%s.%06ld%s tcpfs[%d] %s: ", date,
			ts.tv_nsec / 1000, zone, (int)getpid(),
			levels[LOG_PRI(level)]);
}

void tlog(int level, const char *fmt, ...)
{
	char line[4096];
	int saved = errno;
	va_list ap;
	if (level == LOG_DEBUG && !debug)
		return;
	va_start(ap, fmt);
	if (use_syslog) {
		vsyslog(level, fmt, ap);
	} else {
		/* one write(2) a line: lines of two daemons appending to
		 * one file do not mix */
		size_t n = (size_t)(to_file ? stamp(line, sizeof(line), level) :
					      snprintf(line, sizeof(line),
						       "tcpfs: "));
		int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		n = m < 0 ? n : n + (size_t)m;
		if (n > sizeof(line) - 1)
			n = sizeof(line) - 1; /* cut: keep the newline */
		line[n++] = '\n';
		ssize_t w = write(log_fd, line, n);
		(void)w; /* a failed log line has nowhere else to go */
	}
	va_end(ap);
	errno = saved;
}

void tsay(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}
