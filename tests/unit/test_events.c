/* The events hub: per-reader queues, whole lines, bounded memory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tcpfs/events.h"

static void test_broadcast(void **state)
{
	(void)state;
	struct events *ev = events_new();
	struct events_sub *a = events_subscribe(ev, NULL);
	events_post(ev, "one");
	struct events_sub *b =
		events_subscribe(ev, NULL); /* sees only later lines */
	events_post(ev, "two");
	char buf[64];
	size_t n = events_read(a, buf, sizeof(buf));
	assert_int_equal(n, 8);
	assert_memory_equal(buf, "one\ntwo\n", 8);
	assert_false(events_pending(a));
	n = events_read(b, buf, sizeof(buf));
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "two\n", 4);
	events_unsubscribe(ev, a);
	events_post(ev, "three");
	assert_true(events_pending(b));
	events_free(ev); /* frees b too */
}

static void test_whole_lines(void **state)
{
	(void)state;
	struct events *ev = events_new();
	struct events_sub *a = events_subscribe(ev, NULL);
	events_post(ev, "abc");
	events_post(ev, "defgh");
	char buf[64];
	assert_int_equal(events_read(a, buf, 7), 4); /* not "abc\ndef" */
	assert_int_equal(events_read(a, buf, 3), 3); /* a line cut to fit */
	assert_memory_equal(buf, "def", 3);
	assert_int_equal(events_read(a, buf, 64), 3);
	assert_memory_equal(buf, "gh\n", 3);
	events_free(ev);
}

static void test_bounded(void **state)
{
	(void)state;
	struct events *ev = events_new();
	struct events_sub *a = events_subscribe(ev, NULL);
	char line[100];
	memset(line, 'x', 99);
	line[99] = 0;
	int posted = 2 * EVENTS_QUEUE_MAX / 100;
	for (int i = 0; i < posted; i++)
		events_post(ev, line);
	static char buf[EVENTS_QUEUE_MAX * 2];
	size_t n = events_read(a, buf, sizeof(buf));
	assert_true(n <= EVENTS_QUEUE_MAX);
	assert_true(n >= EVENTS_QUEUE_MAX - 100);
	/* once it has read everything, the reader is told what it lost */
	assert_true(events_pending(a));
	n = events_read(a, buf, sizeof(buf));
	buf[n] = 0;
	unsigned long lost;
	assert_int_equal(sscanf(buf, "lost %lu events\n", &lost), 1);
	assert_int_equal(lost, posted - EVENTS_QUEUE_MAX / 100);
	assert_false(events_pending(a));
	/* and again, before the next line, after losing more */
	for (int i = 0; i < posted; i++)
		events_post(ev, line);
	events_read(a, buf, sizeof(buf));
	events_post(ev, "after");
	n = events_read(a, buf, sizeof(buf));
	buf[n] = 0;
	assert_int_equal(sscanf(buf, "lost %lu events\nafter\n", &lost), 1);
	assert_int_equal(lost, posted - EVENTS_QUEUE_MAX / 100);
	events_free(ev);
}

/* The bound counts each line's newline: a line that would fill the queue
 * to EVENTS_QUEUE_MAX without it, and past it with it, is lost. */
static void test_bound_counts_newline(void **state)
{
	(void)state;
	struct events *ev = events_new();
	struct events_sub *a = events_subscribe(ev, NULL);
	char line[65];
	memset(line, 'x', 64);
	line[63] = 0; /* 63 bytes and the newline */
	for (int i = 0; i < EVENTS_QUEUE_MAX / 64 - 1; i++)
		events_post(ev, line);
	line[63] = 'x'; /* 64 bytes, the room left, and the newline */
	line[64] = 0;
	events_post(ev, line);
	static char buf[EVENTS_QUEUE_MAX * 2];
	size_t n = events_read(a, buf, sizeof(buf));
	assert_int_equal(n, EVENTS_QUEUE_MAX - 64);
	n = events_read(a, buf, sizeof(buf));
	buf[n] = 0;
	assert_string_equal(buf, "lost 1 events\n");
	events_free(ev);
}

/* The test's scopes: a reader's is its pid. */
static int scope_is_pid(void *arg, const struct kind_caller *who,
			uint64_t *scope)
{
	(void)arg;
	*scope = (uint64_t)who->pid;
	return who->pid < 0 ? -EMFILE : 0;
}

/* Drain SUB into OUT, the stamps cut off (each line after its first
 * space), lines joined by '|'. */
static void lines_of(struct events_sub *sub, char *out, size_t size)
{
	char buf[1024];
	size_t n = events_read(sub, buf, sizeof(buf) - 1);
	buf[n] = 0;
	out[0] = 0;
	for (char *save, *l = strtok_r(buf, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		const char *text = strchr(l, ' ') ? strchr(l, ' ') + 1 : l;
		size_t used = strlen(out);
		snprintf(out + used, size - used, "%s%s", used ? "|" : "",
			 text);
	}
}

/* A scoped line goes as is to its scope's readers, with the scope named
 * to root elsewhere, to nobody else; unscoped lines go to all. */
static void test_scopes(void **state)
{
	(void)state;
	struct events *ev = events_new();
	events_set_scope(ev, scope_is_pid, NULL, NULL);
	struct kind_caller in7 = {.uid = 1000, .pid = 7};
	struct kind_caller in9 = {.uid = 1000, .pid = 9};
	struct kind_caller root9 = {.uid = 0, .pid = 9};
	struct events_sub *a = events_subscribe(ev, &in7);
	struct events_sub *b = events_subscribe(ev, &in9);
	struct events_sub *r = events_subscribe(ev, &root9);
	events_say_in(ev, 7, "ns/7/", "kernel/x destroyed");
	events_say_in(ev, 9, "ns/9/", "kernel/y destroyed");
	events_say(ev, "engine/1 up");
	char out[512];
	lines_of(a, out, sizeof(out));
	assert_string_equal(out, "kernel/x destroyed|engine/1 up");
	lines_of(b, out, sizeof(out));
	assert_string_equal(out, "kernel/y destroyed|engine/1 up");
	lines_of(r, out, sizeof(out));
	assert_string_equal(out, "ns/7/kernel/x destroyed|kernel/y "
				 "destroyed|engine/1 up");
	events_free(ev);
}

/* A reader its scope refuses is not subscribed, and says why. */
static void test_scope_refused(void **state)
{
	(void)state;
	struct events *ev = events_new();
	events_set_scope(ev, scope_is_pid, NULL, NULL);
	struct kind_caller bad = {.uid = 1000, .pid = -1};
	struct kind_caller in7 = {.uid = 1000, .pid = 7};
	errno = 0;
	assert_null(events_subscribe(ev, &bad));
	assert_int_equal(errno, EMFILE);
	struct events_sub *a = events_subscribe(ev, &in7);
	assert_non_null(a);
	events_say_in(ev, 7, "ns/7/", "kernel/x destroyed");
	char out[512];
	lines_of(a, out, sizeof(out));
	assert_string_equal(out, "kernel/x destroyed");
	events_free(ev);
}

/* Readers other than root's are bounded, in all and for one uid (each
 * may queue EVENTS_QUEUE_MAX): past a bound, EMFILE; root is not. */
static void test_readers_bounded(void **state)
{
	(void)state;
	struct events *ev = events_new();
	struct kind_caller who = {.uid = 1000, .pid = 1};
	struct events_sub *first = NULL, *sub;
	for (int i = 0; i < EVENTS_SUBS_UID_MAX; i++) {
		assert_non_null(sub = events_subscribe(ev, &who));
		first = first ? first : sub;
	}
	errno = 0;
	assert_null(events_subscribe(ev, &who));
	assert_int_equal(errno, EMFILE);
	events_unsubscribe(ev, first); /* a slot back */
	assert_non_null(events_subscribe(ev, &who));
	for (int u = 1; u < EVENTS_SUBS_MAX / EVENTS_SUBS_UID_MAX; u++) {
		who.uid = 1000 + (uid_t)u;
		for (int i = 0; i < EVENTS_SUBS_UID_MAX; i++)
			assert_non_null(events_subscribe(ev, &who));
	}
	who.uid = 2000; /* a uid of its own, but all are taken */
	assert_null(events_subscribe(ev, &who));
	assert_int_equal(errno, EMFILE);
	who.uid = 0;
	assert_non_null(events_subscribe(ev, &who));
	assert_non_null(events_subscribe(ev, NULL));
	events_free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_scope_refused),
		cmocka_unit_test(test_broadcast),
		cmocka_unit_test(test_whole_lines),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_bound_counts_newline),
		cmocka_unit_test(test_readers_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
