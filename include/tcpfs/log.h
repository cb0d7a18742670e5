/* tcpfs log: one line per event, to stderr in the foreground, else syslog. */
#ifndef TCPFS_LOG_H
#define TCPFS_LOG_H

#include <syslog.h>

/* Send further messages to syslog (after daemonizing). */
void log_to_syslog(void);
/* Log a message at syslog level LEVEL. */
void tlog(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
