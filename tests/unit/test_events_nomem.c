/* The events hub out of memory: a line a reader's queue cannot grow for is
 * lost to that reader and counted ("lost N events"), and the lines after
 * it, once memory is back, are queued as ever. Linked with
 * -Wl,--wrap=realloc: the queue grows through realloc, which fails on
 * demand below. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "tcpfs/events.h"

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static bool failing;

void *__wrap_realloc(void *p, size_t n)
{
	return failing ? NULL : __real_realloc(p, n);
}

static void test_line_lost_then_queued(void **state)
{
	(void)state;
	struct events *ev = events_new();
	struct events_sub *a = events_subscribe(ev, NULL);
	char buf[256];
	failing = true;
	events_post(ev, "one"); /* the queue cannot grow: lost */
	failing = false;
	events_post(ev, "two");
	size_t n = events_read(a, buf, sizeof(buf));
	buf[n] = 0;
	assert_string_equal(buf, "lost 1 events\ntwo\n");
	events_free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_lost_then_queued),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
