/* Logging: stderr while in the foreground, syslog once daemonized. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "tcpfs/log.h"

static bool use_syslog;
static bool debug;

void log_set_debug(bool on)
{
	debug = on;
}

void log_to_syslog(void)
{
	openlog("tcpfs", LOG_PID, LOG_DAEMON);
	use_syslog = true;
}

void tlog(int level, const char *fmt, ...)
{
	va_list ap;
	if (level == LOG_DEBUG && !debug)
		return;
	va_start(ap, fmt);
	if (use_syslog) {
		vsyslog(level, fmt, ap);
	} else {
		fputs("tcpfs: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

void tsay(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}
