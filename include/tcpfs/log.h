/* tcpfs log: one line per event, to stderr in the foreground, else syslog. */
#ifndef TCPFS_LOG_H
#define TCPFS_LOG_H

#include <stddef.h>
#include <syslog.h>

/* Send further messages to syslog (after daemonizing). */
void log_to_syslog(void);
/* Log a message at syslog level LEVEL. */
void tlog(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Write the message FMT formats into WHY, WHYLEN bytes (cut to fit): the
 * reason a call failed, for its caller to say. */
void tsay(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
