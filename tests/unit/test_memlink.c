/* impair and memlink: determinism, rates within statistical bounds,
 * reordering, corruption caught by checksums, delay, pacing, queues. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tcpfs/link.h"
#include "tcpfs/wire.h"

#define N 100000

/* A packet of LEN bytes numbered K (big-endian in its first 4 bytes). */
static void numbered(uint8_t *p, size_t len, uint32_t k)
{
	memset(p, (int)(k & 0xff), len);
	p[0] = (uint8_t)(k >> 24);
	p[1] = (uint8_t)(k >> 16);
	p[2] = (uint8_t)(k >> 8);
	p[3] = (uint8_t)k;
}

static uint32_t number(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static struct impair *new_imp(const struct impair_config *cfg, uint64_t seed)
{
	struct impair *imp = impair_new(cfg, seed);

	assert_non_null(imp);
	return imp;
}

/* Push COUNT numbered packets of LEN bytes, one every STEP µs. */
static void push_n(struct impair *imp, uint32_t count, size_t len,
		   uint64_t step)
{
	uint8_t p[2000];

	for (uint32_t k = 0; k < count; k++) {
		numbered(p, len, k);
		assert_int_equal(impair_push(imp, p, len, k * step), 0);
	}
}

/* Pop everything, in order of time; the count. */
static uint32_t drain(struct impair *imp)
{
	uint8_t buf[LINK_MAX_PKT];
	uint32_t n = 0;
	uint64_t t;

	while ((t = impair_next(imp)) != LINK_NEVER) {
		assert_true(impair_pop(imp, t, buf, sizeof(buf)) > 0);
		n++;
	}
	return n;
}

/* GOT within 6 standard deviations of a binomial's mean, N * PCT / 100. */
static void assert_rate(uint64_t got, double pct)
{
	double mean = N * pct / 100, var = mean * (1 - pct / 100);
	double d = (double)got - mean;

	if (d * d > 36 * var + 1)
		fail_msg("%llu events, expected %.0f, variance %.0f",
			 (unsigned long long)got, mean, var);
}

static void test_config(void **state)
{
	static const double bad[] = {-1, 100.5, NAN, INFINITY};
	struct impair_config c = {0};
	struct impair *imp;
	uint8_t b[4];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		c = (struct impair_config){.corrupt = bad[i]};
		errno = 0;
		assert_null(impair_new(&c, 1));
		assert_int_equal(errno, EINVAL);
		c = (struct impair_config){.loss = bad[i]};
		assert_null(memlink_new(NULL, &c, 1));
		assert_int_equal(errno, EINVAL);
	}
	c = (struct impair_config){.delay = 1ULL << 60};
	assert_null(impair_new(&c, 1));
	c = (struct impair_config){.rate = (1ULL << 40) + 1};
	assert_null(impair_new(&c, 1));
	imp = new_imp(NULL, 0);
	assert_int_equal(impair_push(imp, b, 0, 0), -EINVAL);
	assert_int_equal(impair_push(imp, b, LINK_MAX_PKT + 1, 0), -EINVAL);
	impair_free(imp);
	impair_free(NULL);
	memlink_free(NULL);
}

/* A perfect stage: everything at once, in order, unchanged. */
static void test_perfect(void **state)
{
	struct impair *imp = new_imp(NULL, 0);
	uint8_t p[100], buf[LINK_MAX_PKT];
	struct impair_stats st;

	(void)state;
	assert_true(impair_next(imp) == LINK_NEVER);
	assert_int_equal(impair_pop(imp, 0, buf, sizeof(buf)), 0);
	for (uint32_t k = 0; k < 10; k++) {
		numbered(p, 100, k);
		assert_int_equal(impair_push(imp, p, 100, 5), 0);
	}
	assert_int_equal(impair_next(imp), 5);
	assert_int_equal(impair_pop(imp, 4, buf, sizeof(buf)), 0);
	for (uint32_t k = 0; k < 10; k++) {
		numbered(p, 100, k);
		assert_int_equal(impair_pop(imp, 5, buf, sizeof(buf)), 100);
		assert_memory_equal(buf, p, 100);
	}
	assert_int_equal(impair_pop(imp, 5, buf, sizeof(buf)), 0);
	impair_stats_get(imp, &st);
	assert_int_equal(st.pushed, 10);
	assert_int_equal(st.passed, 10);
	assert_int_equal(st.lost + st.duplicated + st.reordered + st.corrupted +
				 st.queue_drops + st.queued,
			 0);
	impair_free(imp);
}

/* A short buffer gets the start of the packet and its full length. */
static void test_pop_truncates(void **state)
{
	struct impair *imp = new_imp(NULL, 0);
	uint8_t p[100], buf[8] = {0};

	(void)state;
	numbered(p, sizeof(p), 0x01020304);
	impair_push(imp, p, sizeof(p), 0);
	assert_int_equal(impair_pop(imp, 0, buf, 4), 100);
	assert_memory_equal(buf, p, 4);
	assert_int_equal(buf[4], 0);
	impair_free(imp);
}

static const struct impair_config everything = {
	.loss = 3,
	.duplicate = 3,
	.reorder = 5,
	.corrupt = 2,
	.delay = 500,
	.jitter = 300,
	.rate = 10000000,
	.queue_max = 20000,
};

/* Push a fixed load through IMP; the delivery log hashed with its times. */
static uint64_t run_log(struct impair *imp, struct impair_stats *st)
{
	uint8_t buf[LINK_MAX_PKT];
	uint64_t h = 1469598103934665603ULL, t;

	push_n(imp, 20000, 200, 15);
	while ((t = impair_next(imp)) != LINK_NEVER) {
		size_t len = impair_pop(imp, t, buf, sizeof(buf));

		for (size_t i = 0; i < len; i++)
			h = (h ^ buf[i]) * 1099511628211ULL;
		h = (h ^ t) * 1099511628211ULL;
	}
	impair_stats_get(imp, st);
	return h;
}

static void test_determinism(void **state)
{
	/* All alive at once: nothing may depend on where they live. */
	struct impair *x = new_imp(&everything, 42);
	struct impair *y = new_imp(&everything, 42);
	struct impair *z = new_imp(&everything, 43);
	struct impair_stats a, b, c;
	uint64_t hx = run_log(x, &a), hy = run_log(y, &b), hz = run_log(z, &c);

	(void)state;
	assert_true(hx == hy);
	assert_true(hx != hz);
	assert_memory_equal(&a, &b, sizeof(a));
	impair_free(x);
	impair_free(y);
	impair_free(z);
	/* Every kind of impairment happened. */
	assert_true(a.lost && a.duplicated && a.reordered && a.corrupted &&
		    a.queue_drops);
	assert_int_equal(a.passed + a.lost + a.queue_drops,
			 a.pushed + a.duplicated);
	assert_memory_not_equal(&a, &c, sizeof(a));
}

static void test_loss_rate(void **state)
{
	static const double pcts[] = {0, 1, 10, 50, 100};
	struct impair_stats st;

	(void)state;
	for (size_t i = 0; i < sizeof(pcts) / sizeof(*pcts); i++) {
		struct impair_config c = {.loss = pcts[i], .limit = 2 * N};
		struct impair *imp = new_imp(&c, 1000 + i);

		push_n(imp, N, 40, 1);
		impair_stats_get(imp, &st);
		assert_int_equal(drain(imp), N - st.lost);
		assert_rate(st.lost, pcts[i]);
		impair_stats_get(imp, &st);
		assert_int_equal(st.passed + st.lost, N);
		impair_free(imp);
	}
}

/* Duplicates are exact copies, right behind the original. */
static void test_duplicate(void **state)
{
	struct impair_config c = {.duplicate = 5, .limit = 2 * N};
	struct impair *imp = new_imp(&c, 7);
	uint8_t buf[LINK_MAX_PKT], p[64];
	struct impair_stats st;
	uint32_t expect = 0, twins = 0;
	bool again = false;

	(void)state;
	push_n(imp, N, 64, 1);
	impair_stats_get(imp, &st);
	assert_rate(st.duplicated, 5);
	for (uint64_t t; (t = impair_next(imp)) != LINK_NEVER;) {
		assert_int_equal(impair_pop(imp, t, buf, sizeof(buf)), 64);
		if (again && number(buf) == expect - 1) {
			twins++;
			again = false;
			continue;
		}
		numbered(p, 64, expect++);
		assert_memory_equal(buf, p, 64);
		again = true;
	}
	assert_int_equal(expect, N);
	assert_int_equal(twins, st.duplicated);
	impair_free(imp);
}

/* A reordered packet comes right after its successor; the count of
 * swapped pairs is the counter. */
static void test_reorder(void **state)
{
	struct impair_config c = {
		.reorder = 10, .delay = 100, .jitter = 50, .limit = N};
	struct impair *imp = new_imp(&c, 9);
	uint8_t buf[LINK_MAX_PKT];
	struct impair_stats st;
	uint32_t prev = 0, swaps = 0, seen = 0;

	(void)state;
	push_n(imp, N, 20, 10);
	for (uint64_t t; (t = impair_next(imp)) != LINK_NEVER; seen++) {
		uint32_t k;

		assert_int_equal(impair_pop(imp, t, buf, sizeof(buf)), 20);
		k = number(buf);
		if (seen && k < prev) {
			/* Only ever one step back. */
			assert_int_equal(k + 1, prev);
			swaps++;
		}
		prev = k;
	}
	assert_int_equal(seen, N);
	impair_stats_get(imp, &st);
	assert_int_equal(st.reordered, swaps);
	/* Roughly 10% held; consecutive holds are impossible, so fewer. */
	assert_true(swaps > N * 7 / 100 && swaps < N * 11 / 100);
	impair_free(imp);
}

/* A held packet with no successor goes after reorder_wait. */
static void test_reorder_timeout(void **state)
{
	struct impair_config c = {
		.reorder = 100, .delay = 10, .reorder_wait = 1000};
	struct impair *imp = new_imp(&c, 1);
	uint8_t p[10] = {1}, buf[LINK_MAX_PKT];
	struct impair_stats st;

	(void)state;
	impair_push(imp, p, sizeof(p), 0);
	assert_int_equal(impair_next(imp), 1010);
	assert_int_equal(impair_pop(imp, 1009, buf, sizeof(buf)), 0);
	assert_int_equal(impair_pop(imp, 1010, buf, sizeof(buf)), 10);
	impair_stats_get(imp, &st);
	assert_int_equal(st.reordered, 0);
	/* A successor due after the wait does not overtake it either. */
	impair_push(imp, p, sizeof(p), 2000);
	impair_push(imp, p, sizeof(p), 2000 + 1500);
	assert_int_equal(impair_next(imp), 3010);
	impair_free(imp);

	/* Nor does one pushed before the wait is over but due after it. */
	c.delay = 2000;
	imp = new_imp(&c, 1);
	impair_push(imp, p, sizeof(p), 0);    /* due 2000, held to 3000 */
	impair_push(imp, p, sizeof(p), 1500); /* due 3500 */
	assert_int_equal(impair_next(imp), 3000);
	assert_int_equal(impair_pop(imp, 3000, buf, sizeof(buf)), 10);
	impair_stats_get(imp, &st);
	assert_int_equal(st.reordered, 0);
	impair_free(imp);
}

/* One bit per corrupted copy, and wire_parse() sees every one of them. */
static void test_corrupt(void **state)
{
	struct impair_config c = {.corrupt = 100};
	struct impair *imp = new_imp(&c, 3);
	struct wire_seg s = {.seq = 1,
			     .flags = TCP_ACK,
			     .wnd = 100,
			     .data = (const uint8_t *)"corrupt me",
			     .len = 10};
	uint8_t pkt[200], buf[LINK_MAX_PKT];
	struct impair_stats st;
	const char *why;
	size_t n;

	(void)state;
	assert_int_equal(wire_ep_parse("198.18.0.1:1000", -1, &s.src, &why), 0);
	assert_int_equal(wire_ep_parse("198.18.0.2:80", -1, &s.dst, &why), 0);
	n = wire_build(pkt, sizeof(pkt), &s);
	for (int i = 0; i < 10000; i++) {
		int flipped = 0;

		impair_push(imp, pkt, n, 0);
		assert_int_equal(impair_pop(imp, 0, buf, sizeof(buf)), n);
		for (size_t j = 0; j < n; j++)
			flipped += __builtin_popcount(buf[j] ^ pkt[j]);
		assert_int_equal(flipped, 1);
		assert_int_not_equal(wire_parse(buf, n, &s), WIRE_OK);
	}
	impair_stats_get(imp, &st);
	assert_int_equal(st.corrupted, 10000);
	impair_free(imp);

	c = (struct impair_config){.corrupt = 20, .limit = N};
	imp = new_imp(&c, 4);
	push_n(imp, N, 100, 1);
	impair_stats_get(imp, &st);
	assert_rate(st.corrupted, 20);
	impair_free(imp);
}

/* Delay plus jitter stays in bounds and keeps the order. */
static void test_delay_jitter(void **state)
{
	struct impair_config c = {.delay = 1000, .jitter = 500};
	struct impair *imp = new_imp(&c, 5);
	uint8_t p[50], buf[LINK_MAX_PKT];
	uint64_t last = 0, spread_lo = UINT64_MAX, spread_hi = 0;

	(void)state;
	for (uint32_t k = 0; k < 1000; k++) {
		uint64_t t = (uint64_t)k * 2000, due;

		numbered(p, sizeof(p), k);
		impair_push(imp, p, sizeof(p), t);
		due = impair_next(imp);
		/* Packets 2 ms apart: no clamping by the one before. */
		assert_true(due >= t + 1000 && due <= t + 1500);
		assert_true(due >= last);
		last = due;
		if (due - t < spread_lo)
			spread_lo = due - t;
		if (due - t > spread_hi)
			spread_hi = due - t;
		assert_int_equal(impair_pop(imp, due - 1, buf, sizeof(buf)), 0);
		assert_int_equal(impair_pop(imp, due, buf, sizeof(buf)), 50);
		assert_int_equal(number(buf), k);
	}
	/* The jitter is used across its range. */
	assert_true(spread_lo < 1050 && spread_hi > 1450);
	/* Packets pushed together leave in order, whatever their jitter. */
	push_n(imp, 1000, 50, 0);
	last = 0;
	for (uint32_t k = 0; k < 1000; k++) {
		uint64_t t = impair_next(imp);

		assert_true(t >= 1000 && t <= 1500);
		assert_true(t >= last);
		last = t;
		assert_int_equal(impair_pop(imp, t, buf, sizeof(buf)), 50);
		assert_int_equal(number(buf), k);
	}
	impair_free(imp);
}

/* 1 MB/s: a 1000-byte packet takes 1 ms to serialize. */
static void test_bandwidth(void **state)
{
	struct impair_config c = {
		.rate = 1000000, .queue_max = 1000000, .delay = 50};
	struct impair *imp = new_imp(&c, 6);
	uint8_t buf[LINK_MAX_PKT];
	uint64_t t;

	(void)state;
	push_n(imp, 100, 1000, 0);
	for (uint32_t k = 0; k < 100; k++) {
		t = impair_next(imp);
		assert_int_equal(t, (k + 1) * 1000 + 50);
		assert_int_equal(impair_pop(imp, t, buf, sizeof(buf)), 1000);
	}
	/* Offered at half the rate: no queue, each one 1 ms on the wire. */
	for (uint32_t k = 0; k < 100; k++) {
		uint64_t now = 1000000 + k * 2000;

		impair_push(imp, buf, 1000, now);
		assert_int_equal(impair_next(imp), now + 1050);
		assert_int_equal(impair_pop(imp, now + 1050, buf, sizeof(buf)),
				 1000);
	}
	/* 3 bytes at 1 MB/s is 3 µs, 1 byte 1 µs: fractions add up. */
	c = (struct impair_config){.rate = 3000000};
	impair_free(imp);
	imp = new_imp(&c, 6);
	push_n(imp, 3000, 1, 0);
	/* A third of a µs is due at 1 µs. */
	assert_int_equal(impair_next(imp), 1);
	for (uint32_t k = 0; k < 2999; k++)
		impair_pop(imp, LINK_NEVER - 1, buf, sizeof(buf));
	assert_int_equal(impair_next(imp), 1000);
	impair_free(imp);
}

/* The queue in front of the wire holds queue_max bytes; the rest is tail
 * dropped until it drains. */
static void test_bounded_queue(void **state)
{
	struct impair_config c = {.rate = 1000000, .queue_max = 10000};
	struct impair *imp = new_imp(&c, 8);
	struct impair_stats st;
	uint8_t p[1000] = {0};

	(void)state;
	for (int i = 0; i < 100; i++)
		impair_push(imp, p, sizeof(p), 0);
	impair_stats_get(imp, &st);
	assert_int_equal(st.queued, 10);
	assert_int_equal(st.queue_drops, 90);
	/* Half drained by 5 ms: room for 5 more. */
	for (int i = 0; i < 100; i++)
		impair_push(imp, p, sizeof(p), 5000);
	impair_stats_get(imp, &st);
	assert_int_equal(st.queue_drops, 185);
	assert_int_equal(drain(imp), 15);
	impair_free(imp);

	/* A packet larger than the queue passes an idle wire only. */
	c.queue_max = 999;
	imp = new_imp(&c, 8);
	impair_push(imp, p, sizeof(p), 0);
	impair_push(imp, p, sizeof(p), 0);
	impair_stats_get(imp, &st);
	assert_int_equal(st.queued, 1);
	assert_int_equal(st.queue_drops, 1);
	impair_free(imp);

	/* The packet limit applies without a rate too. */
	c = (struct impair_config){.delay = 100, .limit = 5};
	imp = new_imp(&c, 8);
	for (int i = 0; i < 8; i++)
		impair_push(imp, p, sizeof(p), 0);
	impair_stats_get(imp, &st);
	assert_int_equal(st.queued, 5);
	assert_int_equal(st.queue_drops, 3);
	impair_free(imp);
}

/* ---- memlink ---- */

struct side {
	struct memlink *link;
	enum memlink_side me;
	unsigned got;
	uint64_t last_t;
	uint32_t last;
	bool echo;
	bool nest; /* try a nested memlink_run() */
};

static void deliver(void *ctx, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct side *s = ctx;

	s->got++;
	s->last_t = now;
	s->last = number(pkt);
	if (s->nest)
		assert_int_equal(memlink_run(s->link, now), 0);
	if (s->echo)
		assert_int_equal(memlink_send(s->link, s->me, pkt, len, now),
				 0);
}

static void test_memlink_echo(void **state)
{
	struct impair_config d = {.delay = 100};
	struct memlink *l = memlink_new(&d, &d, 1);
	struct side a = {.link = l, .me = MEMLINK_A};
	struct side b = {.link = l, .me = MEMLINK_B, .echo = true};
	uint8_t p[60];
	struct impair_stats st;

	(void)state;
	assert_non_null(l);
	memlink_attach(l, MEMLINK_A, deliver, &a);
	memlink_attach(l, MEMLINK_B, deliver, &b);
	numbered(p, sizeof(p), 77);
	assert_int_equal(memlink_send(l, MEMLINK_A, p, sizeof(p), 0), 0);
	assert_int_equal(memlink_next(l), 100);
	assert_int_equal(memlink_run(l, 99), 0);
	assert_int_equal(memlink_run(l, 100), 1);
	assert_int_equal(b.got, 1);
	assert_int_equal(b.last_t, 100);
	assert_int_equal(memlink_next(l), 200);
	assert_int_equal(memlink_run(l, 200), 1);
	assert_int_equal(a.got, 1);
	assert_int_equal(a.last, 77);
	assert_true(memlink_next(l) == LINK_NEVER);
	memlink_stats_get(l, MEMLINK_B, &st);
	assert_int_equal(st.passed, 1);
	memlink_free(l);
}

/* Without delay a reply sent from a deliver function arrives in the same
 * run; with time, a ping-pong goes on until the budget is spent. */
static void test_memlink_same_run(void **state)
{
	struct memlink *l = memlink_new(NULL, NULL, 1);
	struct side a = {.link = l, .me = MEMLINK_A, .nest = true};
	struct side b = {.link = l, .me = MEMLINK_B, .echo = true};
	uint8_t p[20] = {0};

	(void)state;
	memlink_attach(l, MEMLINK_A, deliver, &a);
	memlink_attach(l, MEMLINK_B, deliver, &b);
	memlink_send(l, MEMLINK_A, p, sizeof(p), 5);
	assert_int_equal(memlink_run(l, 5), 2);
	assert_int_equal(a.got, 1);
	assert_int_equal(a.last_t, 5);
	/* A nested run delivers nothing, though a packet is due. */
	memlink_send(l, MEMLINK_B, p, sizeof(p), 5);
	memlink_send(l, MEMLINK_B, p, sizeof(p), 5);
	assert_int_equal(memlink_run(l, 5), 2);
	assert_int_equal(a.got, 3);
	/* No receiver: dropped on arrival, still counted as passed. */
	memlink_attach(l, MEMLINK_A, NULL, NULL);
	memlink_send(l, MEMLINK_B, p, sizeof(p), 6);
	assert_int_equal(memlink_run(l, 6), 1);
	assert_int_equal(a.got, 3);
	memlink_free(l);
}

/* memlink_output() fits tcp_config.output: the link's clock stamps it. */
static void test_memlink_port(void **state)
{
	struct impair_config d = {.delay = 30};
	struct memlink *l = memlink_new(NULL, &d, 1);
	struct side a = {.link = l, .me = MEMLINK_A};
	void (*output)(void *, const uint8_t *, size_t) = memlink_output;
	uint8_t p[20];

	(void)state;
	memlink_attach(l, MEMLINK_A, deliver, &a);
	numbered(p, sizeof(p), 5);
	memlink_clock(l, 1000);
	output(memlink_port(l, MEMLINK_B), p, sizeof(p));
	assert_int_equal(memlink_next(l), 1030);
	memlink_run(l, 2000);
	assert_int_equal(a.got, 1);
	assert_int_equal(a.last_t, 2000);
	numbered(p, sizeof(p), 6);
	output(memlink_port(l, MEMLINK_B), p, sizeof(p));
	assert_int_equal(memlink_next(l), 2030);
	memlink_free(l);
}

/* Both directions lossy: a request/response loop in simulated time, the
 * same for the same seed. */
static unsigned ping_pong(uint64_t seed)
{
	struct impair_config c = {.loss = 20, .delay = 1000, .jitter = 200};
	struct memlink *l = memlink_new(&c, &c, seed);
	struct side a = {.link = l, .me = MEMLINK_A};
	struct side b = {.link = l, .me = MEMLINK_B, .echo = true};
	uint8_t p[40];
	uint64_t t = 0;

	memlink_attach(l, MEMLINK_A, deliver, &a);
	memlink_attach(l, MEMLINK_B, deliver, &b);
	for (uint32_t k = 0; k < 1000; k++) {
		numbered(p, sizeof(p), k);
		memlink_send(l, MEMLINK_A, p, sizeof(p), t);
		t += 500;
		while (memlink_next(l) <= t)
			memlink_run(l, memlink_next(l));
	}
	while (memlink_next(l) != LINK_NEVER)
		memlink_run(l, memlink_next(l));
	memlink_free(l);
	/* 1000 * 0.8 * 0.8 expected back. */
	assert_true(a.got > 560 && a.got < 720);
	return a.got * 100000 + b.got;
}

static void test_memlink_lossy(void **state)
{
	(void)state;
	assert_int_equal(ping_pong(11), ping_pong(11));
	assert_int_not_equal(ping_pong(11), ping_pong(12));
}

static void record(void *ctx, const uint8_t *pkt, size_t len, uint64_t now)
{
	uint8_t *got = ctx;

	(void)len;
	(void)now;
	got[number(pkt)] = 1;
}

/* The same load both ways through the same config: the two directions
 * still lose different packets. */
static void test_memlink_directions(void **state)
{
	struct impair_config c = {.loss = 50};
	struct memlink *l = memlink_new(&c, &c, 3);
	uint8_t got[2][1000] = {{0}}, p[8];
	struct impair_stats st;

	(void)state;
	memlink_attach(l, MEMLINK_A, record, got[0]);
	memlink_attach(l, MEMLINK_B, record, got[1]);
	for (uint32_t k = 0; k < 1000; k++) {
		numbered(p, sizeof(p), k);
		memlink_send(l, MEMLINK_A, p, sizeof(p), 0);
		memlink_send(l, MEMLINK_B, p, sizeof(p), 0);
	}
	memlink_run(l, 0);
	memlink_stats_get(l, MEMLINK_A, &st);
	assert_int_equal(st.pushed, 1000);
	assert_int_equal(st.passed + st.lost, 1000);
	assert_memory_not_equal(got[0], got[1], sizeof(got[0]));
	memlink_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_perfect),
		cmocka_unit_test(test_pop_truncates),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_loss_rate),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_reorder_timeout),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_delay_jitter),
		cmocka_unit_test(test_bandwidth),
		cmocka_unit_test(test_bounded_queue),
		cmocka_unit_test(test_memlink_echo),
		cmocka_unit_test(test_memlink_same_run),
		cmocka_unit_test(test_memlink_port),
		cmocka_unit_test(test_memlink_lossy),
		cmocka_unit_test(test_memlink_directions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
