/* The grammar of ctl writes: one command per write, verb then arguments. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tcpfs/ctl.h"
#include "tcpfs/log.h"

static const struct {
	const char *name;
	enum ctl_verb verb;
	int min_args, max_args;
} verbs[] = {
	{"close", CTL_CLOSE, 0, 0},	  {"hangup", CTL_HANGUP, 0, 0},
	{"abort", CTL_HANGUP, 0, 0},	  {"connect", CTL_CONNECT, 1, 2},
	{"announce", CTL_ANNOUNCE, 1, 1}, {"listen", CTL_ANNOUNCE, 1, 1},
	{"shutdown", CTL_SHUTDOWN, 0, 0}, {"keepalive", CTL_KEEPALIVE, 0, 1},
	{"nodelay", CTL_NODELAY, 1, 1},	  {"timeout", CTL_TIMEOUT, 1, 1},
	{"ttl", CTL_TTL, 1, 1},		  {"tos", CTL_TOS, 1, 1},
	{"urgent", CTL_URGENT, 0, 0},
};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

const char *ctl_verb_name(enum ctl_verb verb)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (verbs[i].verb == verb)
			return verbs[i].name;
	return "?";
}

/* Say why in WHY: -EINVAL. */
#define fail(why, whylen, ...) (tsay(why, whylen, __VA_ARGS__), -EINVAL)

int ctl_parse(const char *buf, size_t len, struct ctl_cmd *cmd, char *why,
	      size_t whylen)
{
	char line[CTL_MAX_LEN];

	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len == 0)
		return fail(why, whylen, "empty command");
	if (len >= sizeof(line))
		return fail(why, whylen, "command longer than 255 bytes");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] < ' ' && buf[i] != '\t')
			return fail(why, whylen,
				    "control character in command");
		else if ((unsigned char)buf[i] >= 0x7f)
			return fail(why, whylen, "non-ASCII byte in command");
	memcpy(line, buf, len);
	line[len] = 0;

	char *save, *verb = strtok_r(line, " \t", &save);
	if (!verb)
		return fail(why, whylen, "empty command");
	size_t v = 0;
	while (v < NVERBS && strcmp(verbs[v].name, verb) != 0)
		v++;
	if (v == NVERBS)
		return fail(why, whylen, "unknown verb '%s'", verb);

	cmd->verb = verbs[v].verb;
	cmd->argc = 0;
	for (char *a; (a = strtok_r(NULL, " \t", &save));) {
		if (cmd->argc == verbs[v].max_args)
			return fail(why, whylen, "too many arguments for '%s'",
				    verbs[v].name);
		strcpy(cmd->argv[cmd->argc++], a);
	}
	if (cmd->argc < verbs[v].min_args)
		return fail(why, whylen, "missing argument for '%s'",
			    verbs[v].name);
	return 0;
}
