/* The ctl grammar: verbs, arguments, and every kind of bad input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "tcpfs/ctl.h"

static int parse(const char *s, struct ctl_cmd *cmd, char *why)
{
	return ctl_parse(s, strlen(s), cmd, why, 128);
}

static void test_verbs(void **state)
{
	(void)state;
	struct ctl_cmd c;
	char why[128];
	assert_int_equal(parse("close\n", &c, why), 0);
	assert_int_equal(c.verb, CTL_CLOSE);
	assert_int_equal(c.argc, 0);
	assert_int_equal(parse("close", &c, why), 0);
	assert_int_equal(parse("hangup", &c, why), 0);
	assert_int_equal(c.verb, CTL_HANGUP);
	assert_int_equal(parse("abort\n", &c, why), 0);
	assert_int_equal(c.verb, CTL_HANGUP);
	assert_int_equal(parse("connect 198.18.0.1:80 4000\n", &c, why), 0);
	assert_int_equal(c.verb, CTL_CONNECT);
	assert_int_equal(c.argc, 2);
	assert_string_equal(c.argv[0], "198.18.0.1:80");
	assert_string_equal(c.argv[1], "4000");
	assert_int_equal(parse("  listen\t8080  ", &c, why), 0);
	assert_int_equal(c.verb, CTL_ANNOUNCE);
	assert_string_equal(c.argv[0], "8080");
	assert_string_equal(ctl_verb_name(CTL_ANNOUNCE), "announce");
	assert_int_equal(parse("timeout 30", &c, why), 0);
	assert_int_equal(c.verb, CTL_TIMEOUT);
	assert_int_equal(parse("ttl 3", &c, why), 0);
	assert_int_equal(c.verb, CTL_TTL);
	assert_int_equal(parse("tos 0xb8\n", &c, why), 0);
	assert_int_equal(c.verb, CTL_TOS);
	assert_string_equal(c.argv[0], "0xb8");
}

static void test_bad(void **state)
{
	(void)state;
	static const struct {
		const char *in, *why;
	} bad[] = {
		{"", "empty command"},
		{"\n", "empty command"},
		{"   \n", "empty command"},
		{"bogus", "unknown verb 'bogus'"},
		{"CLOSE", "unknown verb 'CLOSE'"},
		{"close now", "too many arguments for 'close'"},
		{"connect", "missing argument for 'connect'"},
		{"nodelay on off", "too many arguments for 'nodelay'"},
		{"timeout", "missing argument for 'timeout'"},
		{"ttl 1 2", "too many arguments for 'ttl'"},
		{"tos", "missing argument for 'tos'"},
		{"urgent now", "too many arguments for 'urgent'"},
		{"close\n\n", "control character in command"},
		{"close\nclose\n", "control character in command"},
		{"clo\rse", "control character in command"},
		{"close\xff", "non-ASCII byte in command"},
	};
	struct ctl_cmd c;
	char why[128];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i].in, &c, why), -EINVAL);
		assert_string_equal(why, bad[i].why);
	}
}

static void test_nul_and_long(void **state)
{
	(void)state;
	struct ctl_cmd c;
	char why[128], big[1000];
	assert_int_equal(ctl_parse("close\0x", 7, &c, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "control character in command");
	memset(big, 'a', sizeof(big));
	assert_int_equal(ctl_parse(big, sizeof(big), &c, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "command longer than 255 bytes");
	/* a reason longer than the caller's buffer is cut, not overrun */
	char tiny[8];
	memset(big, 'b', 200);
	assert_int_equal(ctl_parse(big, 200, &c, tiny, sizeof(tiny)), -EINVAL);
	assert_string_equal(tiny, "unknown");
}

/* At most 255 bytes a command (man: ctl), the newline aside: 255 are
 * taken, with or without a newline after them; 256 are refused. */
static void test_length_bound(void **state)
{
	(void)state;
	struct ctl_cmd c;
	char why[128], cmd[258];
	memset(cmd, ' ', sizeof(cmd));
	memcpy(cmd, "close", 5);
	cmd[255] = '\n';
	assert_int_equal(ctl_parse(cmd, 255, &c, why, sizeof(why)), 0);
	assert_int_equal(c.verb, CTL_CLOSE);
	assert_int_equal(ctl_parse(cmd, 256, &c, why, sizeof(why)), 0);
	assert_int_equal(ctl_parse(cmd, 256 + 1, &c, why, sizeof(why)),
			 -EINVAL);
	cmd[255] = ' ';
	assert_int_equal(ctl_parse(cmd, 256, &c, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "command longer than 255 bytes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_nul_and_long),
		cmocka_unit_test(test_length_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
