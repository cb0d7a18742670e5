/* libFuzzer target for src/model/ctl.c: any bytes as one write to a ctl
 * file. A refusal says why; an accepted command has a known verb, no more
 * and no fewer arguments than it takes, each a non-empty word without a
 * blank, and written back as text it parses to the same command.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true \
 *	-Db_sanitize=address,undefined -Db_lundef=false
 *   ninja -C build-fuzz && cp -r tests/fuzz/corpus/ctl /tmp/corpus
 *   build-fuzz/tests/fuzz/fuzz_ctl -max_total_time=300 /tmp/corpus */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcpfs/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

/* A word of an accepted command: printable ASCII, no blank. */
static void word(const char *w)
{
	size_t n = strlen(w);
	check(n > 0 && n < CTL_MAX_LEN);
	for (size_t i = 0; i < n; i++)
		check(w[i] > ' ' && w[i] < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_cmd cmd, back;
	char why[128], text[CTL_MAX_LEN * (CTL_MAX_ARGS + 1) + 2];

	memset(why, 'x', sizeof(why));
	int r = ctl_parse((const char *)data, size, &cmd, why, sizeof(why));
	if (r < 0) {
		check(r == -EINVAL);
		check(memchr(why, 0, sizeof(why)) && why[0]); /* a reason */
		return 0;
	}
	check(r == 0 && size > 0 && size <= CTL_MAX_LEN);
	check(cmd.argc >= 0 && cmd.argc <= CTL_MAX_ARGS);
	const char *name = ctl_verb_name(cmd.verb);
	check(strcmp(name, "?") != 0);
	int n = snprintf(text, sizeof(text), "%s", name);
	for (int i = 0; i < cmd.argc; i++) {
		word(cmd.argv[i]);
		n += snprintf(text + n, sizeof(text) - (size_t)n, " %s",
			      cmd.argv[i]);
	}
	/* Written back canonically (one blank, the canonical verb name) it
	 * is no longer than the input, unless an alias was shorter. */
	text[n++] = '\n';
	if ((size_t)n > CTL_MAX_LEN)
		return 0;
	check(ctl_parse(text, (size_t)n, &back, why, sizeof(why)) == 0);
	check(back.verb == cmd.verb && back.argc == cmd.argc);
	for (int i = 0; i < cmd.argc; i++)
		check(!strcmp(back.argv[i], cmd.argv[i]));
	return 0;
}
