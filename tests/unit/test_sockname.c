/* Names of kernel socket directories: format, parse, canonical form. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "sockname.h"

static struct diag_key v4(const char *src, int sport, const char *dst,
			  int dport, uint64_t cookie)
{
	struct diag_key k = {.family = AF_INET,
			     .sport = (uint16_t)sport,
			     .dport = (uint16_t)dport,
			     .cookie = cookie};
	inet_pton(AF_INET, src, k.src);
	inet_pton(AF_INET, dst, k.dst);
	return k;
}

static void test_format_v4(void **state)
{
	(void)state;
	char name[SOCKNAME_MAX];
	struct diag_key k = v4("127.0.0.1", 8080, "127.0.0.1", 51234, 0x3a);
	sockname_format(name, &k);
	assert_string_equal(name, "127.0.0.1:8080-127.0.0.1:51234#3a");
}

static void test_roundtrip_v6(void **state)
{
	(void)state;
	struct diag_key k = {.family = AF_INET6,
			     .sport = 22,
			     .dport = 0,
			     .cookie = UINT64_MAX};
	inet_pton(AF_INET6, "::ffff:127.0.0.1", k.src);
	char name[SOCKNAME_MAX];
	sockname_format(name, &k);
	assert_string_equal(name,
			    "[::ffff:127.0.0.1]:22-[::]:0#ffffffffffffffff");
	struct diag_key back;
	assert_int_equal(sockname_parse(name, &back), 0);
	assert_int_equal(back.family, AF_INET6);
	assert_memory_equal(back.src, k.src, 16);
	assert_memory_equal(back.dst, k.dst, 16);
	assert_int_equal(back.sport, 22);
	assert_true(back.cookie == UINT64_MAX);
}

static void test_roundtrip_v4(void **state)
{
	(void)state;
	struct diag_key back, k = v4("198.18.0.1", 65535, "0.0.0.0", 0, 1);
	char name[SOCKNAME_MAX];
	sockname_format(name, &k);
	assert_int_equal(sockname_parse(name, &back), 0);
	assert_memory_equal(&back, &k, sizeof(k));
}

static void test_reject(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"kernel",
		"127.0.0.1:80-127.0.0.1:81",	  /* no cookie */
		"127.0.0.1:80-127.0.0.1:81#",	  /* empty cookie */
		"127.0.0.1:80-127.0.0.1:81#3A",	  /* not canonical hex */
		"127.0.0.1:80-127.0.0.1:81#03",	  /* leading zero */
		"127.0.0.1:80-127.0.0.1:81#xyz",  /* not hex */
		"127.0.0.1:080-127.0.0.1:81#3",	  /* leading zero port */
		"127.0.0.1:65536-127.0.0.1:81#3", /* port too large */
		"127.0.0.1:-127.0.0.1:81#3",	  /* empty port */
		"127.0.0.1:80-[::1]:81#3",	  /* mixed families */
		"[::1]:80-127.0.0.1:81#3",	  /* mixed families */
		"[::1:80-[::1]:81#3",		  /* no bracket */
		"[0::1]:80-[::1]:81#3",		  /* not inet_ntop form */
		"127.1:80-127.0.0.1:81#3",	  /* not dotted quad */
		"127.0.0.1:80-127.0.0.1:81#3#4",
		"127.0.0.1:80--127.0.0.1:81#3",
		"127.0.0.1:80-127.0.0.1:81#10000000000000000", /* > 64 bits */
	};
	struct diag_key k;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sockname_parse(bad[i], &k) != -ENOENT)
			fail_msg("accepted '%s'", bad[i]);
	}
}

static void test_reject_long(void **state)
{
	(void)state;
	char name[512];
	memset(name, '1', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	struct diag_key k;
	assert_int_equal(sockname_parse(name, &k), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_v4),
		cmocka_unit_test(test_roundtrip_v4),
		cmocka_unit_test(test_roundtrip_v6),
		cmocka_unit_test(test_reject),
		cmocka_unit_test(test_reject_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
