/* tcpfs log: one line per event, to stderr in the foreground, else syslog. */
#ifndef TCPFS_LOG_H
#define TCPFS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

/**
 * log_to_syslog - send further messages to syslog (after daemonizing)
 */
void log_to_syslog(void);
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
