/* Allocation failures in the engine. The test is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free: every
 * allocation of the engine, memlink and this file goes through the
 * fault-injecting allocator below, which fails the Nth one. A scenario (two
 * engines over memlink: listen, connect, accept, data both ways, close) is
 * run once to count its allocations, then once for every N: whatever
 * fails, nothing crashes or leaks (the allocator counts live blocks; the
 * ASan build's LeakSanitizer checks too), no byte is corrupted, a
 * transfer that does not complete was told ENOMEM (a call returned it, a
 * connection closed with it, or its peer was reset), every connection
 * ends CLOSED by its timers, and the engines go on: a new connection
 * between them then carries its data. As the daemon does, a call that
 * answered EAGAIN is made again only after an event of its connection:
 * a lost wake-up is a stall, and fails the test. A second case fails
 * every realloc() while a connection arms its first timer with the timer
 * heap full. */
#include "tcp_harness.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

static long fail_at;	   /* the allocation that fails (from 1); 0: none */
static bool fail_reallocs; /* every realloc() fails */
static long count;	   /* allocations since the scenario began */
static long live;	   /* blocks allocated and not freed */

static bool fail_now(void)
{
	return ++count == fail_at;
}

void *__wrap_malloc(size_t n)
{
	void *p = fail_now() ? NULL : __real_malloc(n);
	live += p != NULL;
	return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
	void *p = fail_now() ? NULL : __real_calloc(n, size);
	live += p != NULL;
	return p;
}

void *__wrap_realloc(void *p, size_t n)
{
	void *q = fail_now() || fail_reallocs ? NULL : __real_realloc(p, n);
	live += !p && q;
	return q;
}

void __wrap_free(void *p)
{
	live -= p != NULL;
	__real_free(p);
}

#define TOTAL_AB 200000 /* bytes A sends B */
#define TOTAL_BA 30000	/* bytes B sends A */

#define MAXID 256
static bool woke[2][MAXID]; /* an event came since the last EAGAIN */
static void *port_a;	    /* memlink_port() of side A */

static void on_event(void *ctx, uint32_t id, unsigned events)
{
	(void)events;
	assert_true(id < MAXID);
	woke[ctx != port_a][id] = true;
}

static bool *woken(struct tcp_engine *e, struct tcp_engine *a, int id)
{
	assert_true(id > 0 && id < MAXID);
	return &woke[e != a][id];
}

/* The next event, at most WAKE away (TCP_NEVER: none); false when
 * nothing is left. */
static bool step(struct pair *n, tcp_time wake)
{
	return pair_step(n, wake == TCP_NEVER ? TCP_NEVER : n->now + wake);
}

/* One direction of the transfer. */
struct dir {
	struct tcp_engine *a; /* side A's engine: where WOKE looks */
	struct tcp_engine *tx, *rx;
	int txid, rxid;
	size_t total, sent, rcvd;
	bool eof, broken;
	int err; /* the first error a call returned, > 0 */
};

static uint8_t byte_at(size_t i)
{
	return (uint8_t)(i * 31 + (i >> 8));
}

/* An error a call may return: noted; ENOMEM or one a failure leads to. */
static void note(struct dir *d, long r)
{
	assert_true(r == -ENOMEM || r == -ECONNRESET || r == -ECONNABORTED ||
		    r == -ENOTCONN || r == -EPIPE || r == -ENOENT ||
		    r == -ETIMEDOUT);
	if (!d->err)
		d->err = (int)-r;
	d->broken = true;
}

static void pump(struct dir *d, tcp_time now)
{
	uint8_t buf[8192];
	long r;

	while (!d->broken && d->sent < d->total &&
	       tcp_state(d->tx, d->txid) != TCP_SYN_SENT &&
	       *woken(d->tx, d->a, d->txid)) {
		size_t n = d->total - d->sent < sizeof(buf) ?
				   d->total - d->sent :
				   sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = byte_at(d->sent + i);
		r = tcp_send(d->tx, d->txid, buf, n, now);
		if (r == -EAGAIN) {
			*woken(d->tx, d->a, d->txid) = false;
			break;
		}
		if (r < 0)
			note(d, r);
		else if ((d->sent += (size_t)r) == d->total &&
			 (r = tcp_shutdown(d->tx, d->txid, now)) < 0)
			note(d, r);
	}
	while (d->rxid > 0 && !d->eof && !d->broken &&
	       *woken(d->rx, d->a, d->rxid)) {
		r = tcp_recv(d->rx, d->rxid, buf, sizeof(buf), now);
		if (r == -EAGAIN) {
			*woken(d->rx, d->a, d->rxid) = false;
			break;
		}
		if (r < 0) {
			note(d, r);
			break;
		}
		d->eof = r == 0;
		for (long i = 0; i < r; i++) /* never a corrupted byte */
			assert_int_equal(buf[i], byte_at(d->rcvd + (size_t)i));
		d->rcvd += (size_t)r;
	}
}

/* True if connection ID of E closed with ENOMEM or was reset. */
static bool failed_nomem(struct tcp_engine *e, int id)
{
	struct tcp_info_snap i;
	return id > 0 && tcp_info_get(e, id, &i) == 0 &&
	       (i.error == ENOMEM || i.error == ECONNRESET);
}

/* A listener on port PORT of B, A connects, both ways TOTAL_AB and
 * TOTAL_BA bytes, then close. True if it all arrived; else ENOMEM was
 * seen (a call returned it, or a connection closed with it or a reset). */
static bool transfer(struct pair *n, uint16_t port, int *resets)
{
	struct wire_ep lep = {.port = port}, rep;
	struct dir ab = {.a = n->a, .tx = n->a, .rx = n->b, .total = TOTAL_AB};
	struct dir ba = {.a = n->a, .tx = n->b, .rx = n->a, .total = TOTAL_BA};
	int lid = tcp_open(n->b), r;
	bool nomem = false;

	ep4(&rep, 2, port);
	if (lid < 0 || (r = tcp_listen(n->b, lid, &lep, 16)) < 0) {
		assert_int_equal(lid < 0 ? lid : r, -ENOMEM);
		return false;
	}
	ab.txid = ba.rxid = tcp_open(n->a);
	r = ab.txid < 0 ? ab.txid : tcp_connect(n->a, ab.txid, &rep, 0, n->now);
	if (r < 0) {
		assert_int_equal(r, -ENOMEM);
		nomem = true;
	}
	memset(woke, 1, sizeof(woke)); /* new connections may try at once */
	for (long s = 0; !nomem && s < 200000; s++) {
		if (ab.rxid <= 0 && *woken(n->b, n->a, lid)) {
			r = tcp_accept(n->b, lid);
			assert_true(r > 0 || r == -EAGAIN);
			if (r > 0)
				ab.rxid = ba.txid = r;
			else
				*woken(n->b, n->a, lid) = false;
		}
		if (ab.rxid > 0)
			pump(&ba, n->now);
		pump(&ab, n->now);
		if ((ab.eof && ba.eof) || ab.broken || ba.broken ||
		    !step(n, SEC))
			break;
	}
	tcp_close(n->b, lid, n->now);
	nomem = nomem || ab.err == ENOMEM || ba.err == ENOMEM ||
		failed_nomem(n->a, ab.txid) || failed_nomem(n->b, ab.rxid);
	*resets += failed_nomem(n->a, ab.txid) && ab.rxid > 0 &&
		   failed_nomem(n->b, ab.rxid);
	if (ab.txid > 0)
		tcp_close(n->a, ab.txid, n->now);
	if (ab.rxid > 0)
		tcp_close(n->b, ab.rxid, n->now);
	for (int s = 0; s < 100000 && step(n, TCP_NEVER); s++)
		; /* until nothing is left to do: no timer was lost */
	assert_false(step(n, TCP_NEVER));
	assert_int_equal(tcp_state(n->b, lid), TCP_CLOSED);
	if (ab.txid > 0)
		assert_int_equal(tcp_state(n->a, ab.txid), TCP_CLOSED);
	if (ab.rxid > 0)
		assert_int_equal(tcp_state(n->b, ab.rxid), TCP_CLOSED);
	if (ab.eof && ba.eof) {
		assert_int_equal(ab.rcvd, TOTAL_AB);
		assert_int_equal(ba.rcvd, TOTAL_BA);
		return true;
	}
	assert_true(nomem); /* never a silent stall */
	return false;
}

/* The scenario with the Nth allocation failing: true if no allocation
 * failed (N is past the first transfer's last). */
static bool scenario(long nth, int *resets)
{
	long live0 = live;
	struct pair n = {0};
	bool done = false;
	long used = 0;

	count = 0;
	fail_at = nth;
	n.l = memlink_new(NULL, NULL, 99);
	port_a = n.l ? memlink_port(n.l, MEMLINK_A) : NULL;
	n.a = n.l ? pair_engine_new(&n, MEMLINK_A, NULL, on_event) : NULL;
	n.b = n.l ? pair_engine_new(&n, MEMLINK_B, NULL, on_event) : NULL;
	if (n.a && n.b) {
		memlink_clock(n.l, 0);
		done = transfer(&n, 80, resets);
		used = count;
		fail_at = 0; /* memory is back: the engines go on */
		assert_true(transfer(&n, 81, resets));
	} else {
		assert_true(nth > 0 && count >= nth);
	}
	fail_at = 0;
	tcp_engine_free(n.a);
	tcp_engine_free(n.b);
	memlink_free(n.l);
	assert_int_equal(live, live0); /* nothing leaked */
	return done && (nth == 0 || used < nth);
}

static void every_allocation(void **state)
{
	int resets = 0;
	long n;

	(void)state;
	assert_true(scenario(0, &resets));
	for (n = 1; n < 100000 && !scenario(n, &resets); n++)
		;
	printf("tcp_nomem: %ld allocations failed one at a time, "
	       "%d connections reset with ENOMEM\n",
	       n - 1, resets);
	assert_true(n > 50 && n < 100000);
	assert_true(resets > 0); /* the receive buffer's failure */
}

/* A connection arms its first timer when the timer heap is full (64
 * connections, each with a SYN out) and the heap cannot grow: it times
 * out all the same (its room was taken when it was made), and its SYN
 * goes again with the others'. */
static void timer_heap_full(void **state)
{
	struct harness *h = h_new(NULL);
	int ids[65], k, syns = 0;

	(void)state;
	for (k = 0; k < 65; k++)
		assert_true((ids[k] = tcp_open(h->e)) > 0);
	for (k = 0; k < 64; k++)
		assert_int_equal(h_connect(h, ids[k], &h->peer, 0, 0), 0);
	fail_reallocs = true;
	assert_int_equal(h_connect(h, ids[64], &h->peer, 0, 0), 0);
	fail_reallocs = false;
	h_drain(h);
	tcp_dispatch(h->e, h->cfg.rto_initial);
	while (h->n)
		syns += h_next(h)->flags == TCP_SYN;
	assert_int_equal(syns, 65);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_allocation),
		cmocka_unit_test(timer_heap_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
