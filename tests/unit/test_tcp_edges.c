/* Segment arrival's edges (RFC 9293 §3.10.7): what wraps after 2^31 or
 * 2^32 bytes or 24 days (RFC 6582's "recover", a stale out-of-order FIN,
 * the urgent pointer, TS.Recent), urgent data (MUST-32/33), a TIME_WAIT
 * reopened while the listener's half-open slots are full, and reassembly
 * of random pieces through the receive ring and its landing room. */
#include "tcp_harness.h"

#define SEQ_GT_(a, b) ((int32_t)((uint32_t)(b) - (uint32_t)(a)) < 0)

/* The peer's segment with an urgent pointer (h_in has none). */
static void in_urg(struct harness *h, uint8_t flags, uint32_t seq, uint32_t ack,
		   const void *data, size_t len, uint16_t urp, tcp_time now)
{
	struct wire_seg s = h_seg(h, flags, seq, ack, data, len);
	uint8_t pkt[H_PKT];
	size_t n;

	s.urp = urp;
	n = wire_build(pkt, sizeof(pkt), &s);
	assert_true(n > 0);
	tcp_input(h->e, pkt, n, now);
	tcp_dispatch(h->e, now);
}

/* MUST-33: how much urgent data is left to read must not change when the
 * peer's FIN arrives; the last unread urgent byte is still urgent. */
static void urgent_after_fin(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);
	char buf[8];

	(void)state;
	in_urg(h, TCP_ACK | TCP_PSH | TCP_URG, p, iss + 1, "abcX", 4, 4, 10);
	assert_int_equal(h_info(h, id).urgent, 4);
	h_in(h, TCP_ACK | TCP_FIN, p + 4, iss + 1, NULL, 0, 20);
	assert_int_equal(h_state(h, id), TCP_CLOSE_WAIT);
	/* nothing was read: still 4 bytes up to and including the mark */
	assert_int_equal(h_info(h, id).urgent, 4);
	assert_int_equal(h_recv(h, id, buf, 3, 30), 3);
	/* "X", the urgent byte, is unread */
	assert_int_equal(h_info(h, id).urgent, 1);
	h_free(h);
}

/* MUST-32 (RFC 1122 §4.2.2.4): the application is told asynchronously
 * also whenever the urgent pointer advances in the data stream. */
static void urgent_advance_signalled(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);

	(void)state;
	in_urg(h, TCP_ACK | TCP_URG, p, iss + 1, "ab", 2, 2, 10);
	assert_true(h->ev[id] & TCP_EV_URGENT);
	h->ev[id] = 0;
	in_urg(h, TCP_ACK | TCP_URG, p + 2, iss + 1, "cd", 2, 2, 20);
	assert_int_equal(h_info(h, id).urgent, 4); /* the pointer moved */
	assert_true(h->ev[id] & TCP_EV_URGENT);
	h_free(h);
}

/* RFC 9293 §3.10.7.4 sixth (MUST-32): the user is told only if RCV.UP is
 * ahead of the data consumed. Urgent data read, a retransmission of it
 * (here with new bytes after it) must not signal it again. */
static void urgent_read_not_resignalled(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);
	char buf[8];

	(void)state;
	in_urg(h, TCP_ACK | TCP_URG, p, iss + 1, "ab", 2, 2, 10);
	assert_true(h->ev[id] & TCP_EV_URGENT);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 20), 2);
	h->ev[id] = 0;
	in_urg(h, TCP_ACK | TCP_URG, p, iss + 1, "abcd", 4, 2, 30);
	assert_false(h->ev[id] & TCP_EV_URGENT);
	assert_int_equal(h_info(h, id).urgent, 0);
	/* a pointer ahead of what was read is news */
	in_urg(h, TCP_ACK | TCP_URG, p + 4, iss + 1, "ef", 2, 2, 40);
	assert_true(h->ev[id] & TCP_EV_URGENT);
	assert_int_equal(h_info(h, id).urgent, 4);
	h_free(h);
}

/* A big in-order segment stream, built once, its sequence number patched
 * (trusted input: no checksum). */
#define BIG 65000u

static void push_bytes(struct harness *h, int id, uint32_t *seq, uint32_t ack,
		       uint64_t total, tcp_time *now)
{
	static uint8_t pkt[BIG + 100], data[BIG], rd[BIG];
	struct wire_seg s = h_seg(h, TCP_ACK, *seq, ack, data, BIG);
	size_t n = wire_build(pkt, sizeof(pkt), &s);
	uint64_t done = 0;

	assert_true(n > 0);
	while (done < total) {
		uint32_t q = *seq;

		pkt[24] = (uint8_t)(q >> 24);
		pkt[25] = (uint8_t)(q >> 16);
		pkt[26] = (uint8_t)(q >> 8);
		pkt[27] = (uint8_t)q;
		tcp_input_trusted(h->e, pkt, n, 0, *now);
		tcp_dispatch(h->e, *now);
		assert_int_equal(tcp_recv(h->e, (uint32_t)id, rd, BIG, *now),
				 BIG);
		tcp_dispatch(h->e, *now);
		h_drain(h);
		*seq += BIG;
		done += BIG;
		*now += 10;
	}
}

/* MUST-32/33 and sequence wrap: an urgent pointer seen once must not make
 * "urgent" report data 2 GiB later, nor hide the next urgent data. */
static void urgent_stale_after_2g(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);
	tcp_time now = 10;
	char buf[8];

	(void)state;
	in_urg(h, TCP_ACK | TCP_URG, p, iss + 1, "U", 1, 1, now);
	assert_true(h->ev[id] & TCP_EV_URGENT);
	assert_int_equal(h_recv(h, id, buf, 1, now), 1);
	assert_int_equal(h_info(h, id).urgent, 0);
	h_drain(h);
	p++;
	push_bytes(h, id, &p, iss + 1, (1ull << 31) + BIG, &now);
	/* no urgent data was sent since the first byte */
	assert_int_equal(h_info(h, id).urgent, 0);
	/* new urgent data: it must be signalled and counted */
	h->ev[id] = 0;
	in_urg(h, TCP_ACK | TCP_URG, p, iss + 1, "V", 1, 1, now);
	assert_true(h->ev[id] & TCP_EV_URGENT);
	assert_int_equal(h_info(h, id).urgent, 1);
	h_free(h);
}

/* A big in-order segment of LEN bytes (at most BIG) at SEQ. */
static void push_one(struct harness *h, int id, uint32_t seq, uint32_t ack,
		     uint32_t len, tcp_time now)
{
	static uint8_t pkt[BIG + 100], data[BIG], rd[BIG];
	struct wire_seg s = h_seg(h, TCP_ACK, seq, ack, data, len);
	size_t n = wire_build(pkt, sizeof(pkt), &s);

	assert_true(n > 0);
	tcp_input_trusted(h->e, pkt, n, 0, now);
	tcp_dispatch(h->e, now);
	tcp_recv(h->e, (uint32_t)id, rd, BIG, now);
	tcp_dispatch(h->e, now);
	h_drain(h);
}

/* §3.10.7.4 eighth, sequence wrap: a FIN that arrived out of order at X is
 * void once in-order data passed X (the peer's FIN cannot lie inside its
 * data); it must not end the stream when RCV.NXT comes back to X 4 GiB
 * later. */
static void stale_ooo_fin_after_4g(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1, x = PEER_ISS + 1 + 1000, q;
	int id = h_client(h, &iss, 0);
	tcp_time now = 10;
	uint64_t left;

	(void)state;
	h_in(h, TCP_ACK | TCP_FIN, x, iss + 1, NULL, 0, now); /* out of order */
	h_drain(h);
	push_one(h, id, p, iss + 1, 1400, now); /* in-order data past X */
	assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	q = p + 1400;
	left = (1ull << 32) - 400; /* RCV.NXT back at X, modulo 2^32 */
	push_bytes(h, id, &q, iss + 1, left - left % BIG, &now);
	push_one(h, id, q, iss + 1, (uint32_t)(left % BIG), now);
	assert_int_equal(h_state(h, id), TCP_ESTABLISHED); /* not CLOSE_WAIT */
	assert_int_equal(h_info(h, id).rcv_nxt, x);
	h_free(h);
}

/* RFC 7323 §5.5: after 24 days idle TS.Recent is invalid: the segment is
 * accepted whatever its TSval and R3 takes its TSval into TS.Recent, so
 * PAWS works again from there and the echoed TSecr is the new one. */
static void paws_after_24_days(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1, t1;
	int l, id = h_server_ts(h, 1000, &l, &iss, 0);
	struct wire_opts o = {.has_ts = true};
	tcp_time now = 25ull * 86400 * SEC;
	struct wire_seg *s;
	struct tcp_stats st;
	char buf[8];

	(void)state;
	assert_true(h_info(h, id).ts_ok);
	h_drain(h);
	/* 25 days of the peer's 1 ms clock: past its sign bit */
	t1 = 1100 + (uint32_t)(25ull * 86400 * 1000);
	o.tsval = t1;
	h_in_opt(h, TCP_ACK | TCP_PSH, p, iss + 1, 65535, "aa", 2, &o, now);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), now), 2);
	tcp_dispatch(h->e, now + 50 * MS);
	s = h_next(h);
	assert_int_equal(s->ack, p + 2);
	assert_int_equal(s->opt.tsecr, t1); /* TS.Recent <- t1 */
	/* an old duplicate from before t1 is now rejected by PAWS */
	o.tsval = t1 - 5000;
	h_in_opt(h, TCP_ACK | TCP_PSH, p + 2, iss + 1, 65535, "zz", 2, &o,
		 now + SEC);
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.paws_drops, 1);
	h_free(h);
}

/* ---- reassembly through the ring, its wrap and the landing room ---- */

static uint64_t rnd(uint64_t *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 7;
	*r ^= *r << 17;
	return *r;
}

static uint8_t pat(uint32_t off)
{
	return (uint8_t)(off * 7 + (off >> 8) * 13 + 1);
}

/* Feed [off, off + len) of the pattern stream at sequence base + off,
 * through the landing room when it can (as tundrv does). */
static void feed_piece(struct harness *h, uint32_t base, uint32_t iss,
		       uint32_t off, uint32_t len, bool fin, tcp_time now)
{
	uint8_t data[1500], pkt[1600], *at;
	struct wire_seg s;
	size_t n, room;

	for (uint32_t i = 0; i < len; i++)
		data[i] = pat(off + i);
	s = h_seg(h, TCP_ACK | (fin ? TCP_FIN : 0), base + off, iss + 1, data,
		  len);
	n = wire_build(pkt, sizeof(pkt), &s);
	assert_true(n > 0);
	room = tcp_rx_landing(h->e, &at);
	if (len && room >= len) {
		memcpy(at, data, len);
		tcp_input_placed(h->e, pkt, n - len, at, len, 0, now);
	} else {
		tcp_input(h->e, pkt, n, now);
	}
}

static void reassembly_fuzz_one(uint64_t seed, uint32_t base)
{
	struct tcp_config cfg;
	struct harness *h;
	uint32_t iss, total = 200000, got = 0, next = 0;
	uint64_t r = seed;
	uint8_t rd[4096];
	tcp_time now = 0;
	int id, l;
	struct wire_opts o = {.has_mss = true, .mss = 1000};
	struct wire_seg *sa;
	long k;

	tcp_config_default(&cfg);
	cfg.key[0] = 1;
	cfg.rcvbuf = 3000 + (uint32_t)(seed % 5000);
	cfg.rcvbuf_max = cfg.rcvbuf;
	h = h_new(&cfg);
	l = tcp_open(h->e);
	tcp_listen(h->e, (uint32_t)l, &h->me, 4);
	h_in_opt(h, TCP_SYN, base - 1, 0, 65535, NULL, 0, &o, 0);
	sa = h_expect_flags(h, TCP_SYN | TCP_ACK, base);
	iss = sa->seq;
	h_in(h, TCP_ACK, base, iss + 1, NULL, 0, 0);
	id = tcp_accept(h->e, (uint32_t)l);
	assert_true(id > 0);
	while (got < total) {
		/* a burst of pieces around RCV.NXT, in any order */
		uint32_t rcv = h_info(h, id).rcv_nxt - base;
		int m = 1 + (int)(rnd(&r) % 6);

		for (int i = 0; i < m; i++) {
			int32_t d = (int32_t)(rnd(&r) % 5000) - 800;
			uint32_t off =
				(uint32_t)((int64_t)rcv + d < 0 ? 0 : rcv + d);
			uint32_t len = 1 + (uint32_t)(rnd(&r) % 1000);

			if (off >= total)
				continue;
			if (off + len > total)
				len = total - off;
			feed_piece(h, base, iss, off, len, false, now);
		}
		tcp_dispatch(h->e, now);
		h_drain(h);
		if (rnd(&r) % 3) {
			k = h_recv(h, id, rd, 1 + rnd(&r) % sizeof(rd), now);
			if (k > 0) {
				for (long i = 0; i < k; i++)
					if (rd[i] != pat(next + (uint32_t)i))
						fail_msg("seed %llu: byte %u "
							 "wrong",
							 (unsigned long long)
								 seed,
							 next + (uint32_t)i);
				next += (uint32_t)k;
				got += (uint32_t)k;
			}
			h_drain(h);
		}
		now += 1000;
	}
	assert_int_equal(h_info(h, id).rcv_nxt, base + total);
	h_free(h);
}

static void reassembly_fuzz(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 40; seed++)
		reassembly_fuzz_one(seed * 0x9e3779b97f4a7c15ull,
				    seed & 1 ? 0xfffff000u + (uint32_t)seed :
					       PEER_ISS);
}

/* RFC 1122 §4.2.2.13 (RFC 9293 §3.6.1, MAY-2): a SYN may reopen a
 * connection from TIME_WAIT only if the new ISS is above every sequence
 * number of the old incarnation; a SYN cookie's ISS is not (Linux never
 * answers a TIME_WAIT reopen with a cookie). Here the listener's half-open
 * slots are full. */
static void time_wait_reopen_half_open_full(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int l = tcp_open(h->e), id;
	struct wire_ep other = h->peer;
	struct wire_seg *s;

	(void)state;
	assert_int_equal(tcp_listen(h->e, (uint32_t)l, &h->me, 1), 0);
	h_in(h, TCP_SYN, PEER_ISS, 0, NULL, 0, 0);
	iss = h_expect_flags(h, TCP_SYN | TCP_ACK, p)->seq;
	h_in(h, TCP_ACK, p, iss + 1, NULL, 0, 0);
	id = tcp_accept(h->e, (uint32_t)l);
	assert_true(id > 0);
	/* our active close: TIME_WAIT */
	assert_int_equal(h_close(h, id, 1000), 0);
	h_expect(h, TCP_FIN | TCP_ACK, iss + 1, p);
	h_in(h, TCP_FIN | TCP_ACK, p, iss + 2, NULL, 0, 2000);
	h_drain(h);
	assert_int_equal(h_state(h, id), TCP_TIME_WAIT);
	/* another client's handshake fills the one half-open slot */
	other.port = 40001;
	h->peer = other;
	h_in(h, TCP_SYN, 777, 0, NULL, 0, 2500);
	h_drain(h);
	ep4(&h->peer, 2, 40000);
	/* the old peer opens again, its SYN newer than the old incarnation */
	h_in(h, TCP_SYN, p + 100000, 0, NULL, 0, 3000);
	/* answered past the bound, as Linux does: above the old ISS */
	s = h_expect_flags(h, TCP_SYN | TCP_ACK, p + 100001);
	assert_int_equal(s->seq, iss + 2 + 65537);
	h_free(h);
}

/* ---- a sender after 2 GiB: RFC 6582's "recover" and sequence wrap ---- */

struct bulk {
	struct tcp_engine *e;
	struct wire_ep me, peer;
	uint32_t max_end, rxt_seq;
	unsigned segs, hits; /* segments out; those at RXT_SEQ */
};

static void bulk_out(void *ctx, const uint8_t *pkt, size_t len)
{
	struct bulk *b = ctx;
	struct wire_seg s;

	assert_int_equal(wire_parse_trusted(pkt, len, &s), WIRE_OK);
	b->segs++;
	if (s.len && s.seq == b->rxt_seq)
		b->hits++;
	if (s.len && SEQ_GT_(s.seq + (uint32_t)s.len, b->max_end))
		b->max_end = s.seq + (uint32_t)s.len;
}

static void bulk_in(struct bulk *b, uint8_t flags, uint32_t seq, uint32_t ack,
		    const struct wire_opts *o, tcp_time now)
{
	static uint8_t pkt[200];
	struct wire_seg s = {.src = b->peer,
			     .dst = b->me,
			     .seq = seq,
			     .ack = ack,
			     .flags = flags,
			     .wnd = 65535};
	size_t n;

	if (o)
		s.opt = *o;
	n = wire_build(pkt, sizeof(pkt), &s);
	assert_true(n > 0);
	tcp_input(b->e, pkt, n, now);
	tcp_dispatch(b->e, now);
}

/* SENT bytes go out and are acknowledged without a loss; then the first
 * of 5 segments is lost and 3 duplicate ACKs arrive: fast retransmit
 * (RFC 5681 §3.2) must resend it at once, whatever went before. */
static unsigned fast_rxt_after(uint64_t sent, bool sack)
{
	static uint8_t zeros[4u << 20];
	struct wire_opts o = {.has_mss = true,
			      .mss = 65000,
			      .has_ws = true,
			      .ws = 7,
			      .sack_ok = sack};
	struct wire_opts so = {.nsack = 1};
	struct tcp_config cfg;
	struct bulk b = {0};
	uint32_t iss, p = PEER_ISS + 1, s0;
	tcp_time now = 0;
	int l, id;

	tcp_config_default(&cfg);
	cfg.key[0] = 1;
	cfg.mss = 65000;
	cfg.sndbuf = 4u << 20;
	cfg.cc = TCP_CC_NEWRENO;
	ep4(&cfg.addr4, 1, 0);
	cfg.output = bulk_out;
	cfg.ctx = &b;
	b.e = tcp_engine_new(&cfg);
	assert_non_null(b.e);
	ep4(&b.me, 1, 80);
	ep4(&b.peer, 2, 40000);
	b.rxt_seq = 1;
	l = tcp_open(b.e);
	assert_int_equal(tcp_listen(b.e, (uint32_t)l, &b.me, 4), 0);
	bulk_in(&b, TCP_SYN, PEER_ISS, 0, &o, now);
	assert_int_equal(b.segs, 1);
	iss = b.max_end = 0;
	{
		struct tcp_info_snap i;
		int k;

		for (k = 1; k < 64; k++)
			if (tcp_info_get(b.e, (uint32_t)k, &i) == 0 &&
			    !i.listener)
				break;
		assert_int_equal(tcp_info_get(b.e, (uint32_t)k, &i), 0);
		iss = i.iss;
	}
	b.max_end = iss + 1;
	bulk_in(&b, TCP_ACK, p, iss + 1, NULL, now);
	id = tcp_accept(b.e, (uint32_t)l);
	assert_true(id > 0);
	while ((uint64_t)(b.max_end - iss - 1) < sent && sent) {
		uint64_t left = sent - (b.max_end - iss - 1);
		size_t want = left < sizeof(zeros) ? (size_t)left :
						     sizeof(zeros);

		tcp_send(b.e, (uint32_t)id, zeros, want, now);
		tcp_dispatch(b.e, now);
		now += 1000;
		bulk_in(&b, TCP_ACK, p, b.max_end, NULL, now);
	}
	for (int k = 0; k < 8; k++) { /* everything sent is acknowledged */
		now += 1000;
		bulk_in(&b, TCP_ACK, p, b.max_end, NULL, now);
	}
	s0 = b.max_end;
	b.rxt_seq = s0;
	tcp_send(b.e, (uint32_t)id, zeros, 5 * 64988u, now);
	tcp_dispatch(b.e, now);
	assert_int_equal(b.hits, 1);
	assert_true(b.max_end - s0 >= 4 * 64988u);
	for (int k = 0; k < 3; k++) {
		so.sack[0].left = s0 + 65000;
		so.sack[0].right = s0 + 65000 * (uint32_t)(k + 2);
		bulk_in(&b, TCP_ACK, p, s0, sack ? &so : NULL,
			now + 1000 + (tcp_time)k);
	}
	tcp_engine_free(b.e);
	return b.hits - 1; /* resends of the lost segment, before any timer */
}

static void fast_rxt_after_1g(void **state)
{
	(void)state;
	assert_int_equal(fast_rxt_after(1ull << 30, false), 1);
}

static void fast_rxt_after_2g(void **state)
{
	(void)state;
	assert_int_equal(fast_rxt_after((1ull << 31) + (1u << 20), false), 1);
}

static void sack_rxt_after_1g(void **state)
{
	(void)state;
	assert_int_equal(fast_rxt_after(1ull << 30, true), 1);
}

static void sack_rxt_after_2g(void **state)
{
	(void)state;
	assert_int_equal(fast_rxt_after((1ull << 31) + (1u << 20), true), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(urgent_after_fin),
		cmocka_unit_test(urgent_advance_signalled),
		cmocka_unit_test(urgent_read_not_resignalled),
		cmocka_unit_test(paws_after_24_days),
		cmocka_unit_test(reassembly_fuzz),
		cmocka_unit_test(urgent_stale_after_2g),
		cmocka_unit_test(stale_ooo_fin_after_4g),
		cmocka_unit_test(time_wait_reopen_half_open_full),
		cmocka_unit_test(fast_rxt_after_1g),
		cmocka_unit_test(fast_rxt_after_2g),
		cmocka_unit_test(sack_rxt_after_1g),
		cmocka_unit_test(sack_rxt_after_2g),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
