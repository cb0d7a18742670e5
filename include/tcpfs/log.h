/* tcpfs log: one line per event, to stderr in the foreground; once
 * daemonized to syslog, or to the same stderr where no syslog daemon
 * listens; to a file, with timestamps, where --log says. */
#ifndef TCPFS_LOG_H
#define TCPFS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

/**
 * log_to_file - append every further line to a file, with a timestamp,
 * the pid and the level (log_detach() then keeps it)
 * \param path: the file, created (mode 0640) if it is not there
 * Returns 0, or -errno from open(2).
 */
int log_to_file(const char *path);
/**
 * log_detach - the daemon is about to leave its terminal, whose stderr
 * fuse_daemonize() replaces with /dev/null: send further lines to syslog if
 * a syslog daemon listens on /dev/log, else keep writing them to the
 * stderr the daemon had (a copy of it) if that is no pipe or socket (whose
 * reader would wait for the daemon's end: the log then ends, saying so);
 * a log file stays as it is
 */
void log_detach(void);
/**
 * log_daemonized - after fuse_daemonize(): the stderr kept by log_detach()
 * becomes fd 2 again, so that an upgrade's new image, which keeps the
 * descriptors the daemon started with, writes its log there too
 */
void log_daemonized(void);
/**
 * log_set_debug - whether LOG_DEBUG lines are logged (off by default: -d)
 * \param on: true to log them
 */
void log_set_debug(bool on);
/**
 * tlog - log a line
 * \param level: its syslog level
 * \param fmt: the line, printf style
 */
void tlog(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * tsay - say why a call failed, for its caller
 * \param why: where to, WHYLEN bytes (cut to fit)
 * \param fmt: the reason, printf style
 */
void tsay(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
