/* tcpfs ctl: the grammar of writes to a `ctl` file.
 *
 * One command per write: a verb and its arguments separated by blanks, one
 * trailing newline allowed. The parser only splits and checks the text; what
 * a verb does is up to the connection kind. */
#ifndef TCPFS_CTL_H
#define TCPFS_CTL_H

#include <stddef.h>

#define CTL_MAX_LEN 256
#define CTL_MAX_ARGS 4

enum ctl_verb {
	CTL_CLOSE,     /* close: graceful close (kernel: destroy) */
	CTL_HANGUP,    /* hangup, abort: reset */
	CTL_CONNECT,   /* connect ADDR:PORT [LPORT] */
	CTL_ANNOUNCE,  /* announce, listen [ADDR:]PORT */
	CTL_SHUTDOWN,  /* shutdown: close the sending side */
	CTL_KEEPALIVE, /* keepalive [SECONDS] */
	CTL_NODELAY,   /* nodelay on|off */
	CTL_TIMEOUT,   /* timeout SECONDS: the user timeout (0: default) */
	CTL_TTL,       /* ttl N: TTL / hop limit, 1 to 255 (0: default) */
	CTL_TOS,       /* tos N: TOS / traffic class, 0 to 255 */
	CTL_URGENT,    /* urgent: the next write to data is urgent */
};

struct ctl_cmd {
	enum ctl_verb verb;
	int argc;
	char argv[CTL_MAX_ARGS][CTL_MAX_LEN];
};

/**
 * ctl_parse - parse one write to a ctl file
 * \param buf: the LEN bytes written (one trailing newline allowed)
 * \param cmd: filled with the verb and its arguments
 * \param why: the reason it is refused, WHYLEN bytes
 * Returns 0, or -EINVAL with the reason in WHY.
 */
int ctl_parse(const char *buf, size_t len, struct ctl_cmd *cmd, char *why,
	      size_t whylen);
/**
 * ctl_verb_name - the canonical name of a verb
 * \param verb: the verb
 * Returns its name ("close"), or "?" for none.
 */
const char *ctl_verb_name(enum ctl_verb verb);

#endif
