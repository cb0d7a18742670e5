/* Blind attacks (RFC 5961), PAWS (RFC 7323), reassembly with SACK blocks,
 * and a spoofed SYN flood against SYN cookies. */
#include "tcp_harness.h"
#include "tcp_isn.h"

/* RFC 5961 §3: a RST in the window but not at RCV.NXT gets a challenge
 * ACK; outside the window it is dropped; neither resets. */
static void blind_rst(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);

	(void)state;
	h_in(h, TCP_RST, p + 1, 0, NULL, 0, 10);
	h_expect(h, TCP_ACK, iss + 1, p);
	h_in(h, TCP_RST, p + 60000, 0, NULL, 0, 20);
	h_expect(h, TCP_ACK, iss + 1, p);
	h_in(h, TCP_RST, p + 70000, 0, NULL, 0, 30);
	h_in(h, TCP_RST, p - 1, 0, NULL, 0, 30);
	h_none(h);
	assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	assert_int_equal(h_info(h, id).challenge_acks, 2);
	/* The peer's real RST follows the challenge: exact, it resets. */
	h_in(h, TCP_RST, p, 0, NULL, 0, 40);
	assert_int_equal(h_info(h, id).error, ECONNRESET);
	h_free(h);
}

/* §3.10.7.4 first: a segment is trimmed to the window, its FIN with the
 * bytes past it. A FIN that lay beyond the window is not remembered: data
 * that later reaches its sequence number (without a FIN) leaves the
 * connection ESTABLISHED, and only a FIN that arrives there ends it. */
static void fin_beyond_window(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	uint32_t iss, p = PEER_ISS + 1;
	uint8_t buf[2048] = {0};
	int id;

	(void)state;
	tcp_config_default(&cfg);
	cfg.rcvbuf = cfg.rcvbuf_max = 1072;
	cfg.mss = 536;
	h = h_new(&cfg);
	id = h_client(h, &iss, 0);
	/* out of order, its FIN at p + 1100: 28 bytes past the window */
	h_in(h, TCP_ACK | TCP_FIN, p + 1000, iss + 1, buf, 100, 10);
	h_drain(h);
	h_in(h, TCP_ACK, p, iss + 1, buf, 536, 11);
	h_in(h, TCP_ACK, p + 536, iss + 1, buf, 536, 12);
	h_drain(h);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 20), 1072);
	h_drain(h);
	h_in(h, TCP_ACK, p + 1072, iss + 1, buf, 28, 30);
	h_drain(h);
	assert_int_equal(h_info(h, id).rcv_nxt, p + 1100);
	assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	h_in(h, TCP_ACK | TCP_FIN, p + 1100, iss + 1, NULL, 0, 40);
	h_expect(h, TCP_ACK, iss + 1, p + 1101);
	assert_int_equal(h_state(h, id), TCP_CLOSE_WAIT);
	h_free(h);
}

/* RFC 5961 §4: any SYN in a synchronized state gets a challenge ACK. */
static void blind_syn(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);

	(void)state;
	h_in(h, TCP_SYN, p + 5, 0, NULL, 0, 10);
	h_expect(h, TCP_ACK, iss + 1, p);
	h_in(h, TCP_SYN, p, 0, NULL, 0, 10);
	h_expect(h, TCP_ACK, iss + 1, p);
	h_in(h, TCP_SYN, p + 100000, 0, NULL, 0, 10);
	h_expect(h, TCP_ACK, iss + 1, p); /* unacceptable: a plain ACK */
	assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	assert_int_equal(h_info(h, id).challenge_acks, 2);
	h_free(h);
}

/* RFC 5961 §5: data whose ACK is outside [SND.UNA - MAX.SND.WND, SND.NXT]
 * is dropped with a challenge ACK; out-of-window data is dropped. Nothing
 * reaches the reader. */
static void blind_data(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);
	char buf[16];

	(void)state;
	h_in(h, TCP_ACK, p, iss + 100, "evil", 4, 10);
	h_expect(h, TCP_ACK, iss + 1, p);
	h_in(h, TCP_ACK, p, iss - 70000, "evil", 4, 10);
	h_expect(h, TCP_ACK, iss + 1, p);
	h_in(h, TCP_ACK, p + 70000, iss + 1, "evil", 4, 10);
	h_expect(h, TCP_ACK, iss + 1, p);
	h_in(h, TCP_PSH, p, iss + 1, "evil", 4, 10); /* no ACK bit */
	h_none(h);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 20), -EAGAIN);
	assert_int_equal(h_info(h, id).rcv_nxt, p);
	/* An old ACK within MAX.SND.WND is fine. */
	h_in(h, TCP_ACK | TCP_PSH, p, iss, "good", 4, 30);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 30), 4);
	assert_memory_equal(buf, "good", 4);
	h_drain(h);
	/* the bound itself (MAX.SND.WND 65535, the SYN,ACK's): SND.UNA -
	 * MAX.SND.WND is acceptable, one below it is not */
	h_in(h, TCP_ACK | TCP_PSH, p + 4, iss + 1 - 65535, "edge", 4, 40);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 40), 4);
	assert_memory_equal(buf, "edge", 4);
	h_drain(h);
	h_in(h, TCP_ACK | TCP_PSH, p + 8, iss + 1 - 65536, "evil", 4, 50);
	h_expect(h, TCP_ACK, iss + 1, p + 8);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 50), -EAGAIN);
	h_free(h);
}

/* RFC 5961 §7's ACK throttling (Linux's tcp_invalid_ratelimit): an
 * unacceptable segment without data or FIN is answered once in 500 ms,
 * so that two ends out of step cannot keep ACKing each other's ACKs;
 * one with data is answered every time. */
static void unacceptable_acks_throttled(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int k;

	(void)state;
	h_client(h, &iss, 0);
	for (k = 0; k < 5; k++) /* old ones: below RCV.NXT */
		h_in(h, TCP_ACK, p - 1000, iss + 1, NULL, 0, 10 + k);
	h_expect(h, TCP_ACK, iss + 1, p);
	h_none(h);
	h_in(h, TCP_ACK, p - 1000, iss + 1, "data", 4, 20);
	h_expect(h, TCP_ACK, iss + 1, p);
	h_in(h, TCP_ACK, p - 1000, iss + 1, NULL, 0, 10 + 500000 - 1);
	h_none(h);
	h_in(h, TCP_ACK, p - 1000, iss + 1, NULL, 0, 10 + 500000);
	h_expect(h, TCP_ACK, iss + 1, p);
	h_free(h);
}

/* RFC 5961 §7: at most 100 challenge ACKs a second. */
static void challenge_limit(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	struct tcp_stats st;
	int k;

	(void)state;
	h_client(h, &iss, SEC / 2);
	for (k = 0; k < 300; k++)
		h_in(h, TCP_RST, p + 1 + (uint32_t)k, 0, NULL, 0, SEC + k);
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.challenge_acks, 100);
	assert_int_equal(h->n, 100);
	h_free(h);
}

/* A connection with timestamps (server side). */
static int ts_server(struct harness *h, uint32_t *iss, uint32_t tsval)
{
	struct wire_opts o = {.has_mss = true,
			      .mss = 1460,
			      .has_ts = true,
			      .tsval = tsval,
			      .sack_ok = true};
	int l = tcp_open(h->e);

	tcp_listen(h->e, l, &h->me, 4);
	h_in_opt(h, TCP_SYN, PEER_ISS, 0, 65535, NULL, 0, &o, 0);
	*iss = h_next(h)->seq;
	o.has_mss = o.sack_ok = false;
	o.tsval++;
	h_in_opt(h, TCP_ACK, PEER_ISS + 1, *iss + 1, 65535, NULL, 0, &o, 10);
	return tcp_accept(h->e, l);
}

/* RFC 7323 §5: a segment with an older timestamp is a wrapped duplicate:
 * dropped and ACKed. */
static void paws(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_ts = true, .tsval = 5000};
	uint32_t iss, p = PEER_ISS + 1;
	int id = ts_server(h, &iss, 4998);
	struct tcp_stats st;
	char buf[8];

	(void)state;
	assert_true(h_info(h, id).ts_ok);
	h_in_opt(h, TCP_ACK, p, iss + 1, 65535, "new", 3, &o, 20);
	o.tsval = 4000;
	h_in_opt(h, TCP_ACK, p + 3, iss + 1, 65535, "old", 3, &o, 30);
	assert_int_equal(h_expect(h, TCP_ACK, iss + 1, p + 3)->opt.tsecr, 5000);
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.paws_drops, 1);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 40), 3);
	assert_memory_equal(buf, "new", 3);
	h_free(h);
}

/* RFC 7323 §4.3 (2): TS.Recent takes a segment's TSval only if the segment
 * starts at or before Last.ACK.sent, so a delayed ACK echoes the earliest
 * segment it acknowledges (the RTT then includes the delay). */
static void ts_recent_last_ack_sent(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_ts = true, .tsval = 7000};
	uint32_t iss, p = PEER_ISS + 1;
	int id = ts_server(h, &iss, 6998);
	tcp_time t;

	(void)state;
	(void)id;
	h_in_opt(h, TCP_ACK, p, iss + 1, 65535, "a", 1, &o, 20);
	o.tsval = 7100;
	h_in_opt(h, TCP_ACK, p + 1, iss + 1, 65535, "b", 1, &o, 21);
	h_none(h); /* two small segments: the ACK is delayed */
	t = tcp_dispatch(h->e, 21);
	tcp_dispatch(h->e, t);
	assert_int_equal(h_expect(h, TCP_ACK, iss + 1, p + 2)->opt.tsecr, 7000);
	h_free(h);
}

/* Out of order, duplicate and overlapping segments: reassembled exactly,
 * with SACK blocks naming the latest island first (RFC 2018 §4). */
static void reassembly(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_ts = true, .tsval = 6000};
	uint32_t iss, p = PEER_ISS + 1;
	int id = ts_server(h, &iss, 5998);
	const char *text = "abcdefghijklmnopqrstuvwxyz";
	struct wire_seg *s;
	char buf[32];

	(void)state;
	h_in_opt(h, TCP_ACK, p + 10, iss + 1, 65535, text + 10, 5, &o, 20);
	s = h_expect(h, TCP_ACK, iss + 1, p);
	assert_int_equal(s->opt.nsack, 1);
	assert_int_equal(s->opt.sack[0].left, p + 10);
	assert_int_equal(s->opt.sack[0].right, p + 15);
	h_in_opt(h, TCP_ACK, p + 20, iss + 1, 65535, text + 20, 6, &o, 21);
	s = h_expect(h, TCP_ACK, iss + 1, p);
	assert_int_equal(s->opt.nsack, 2);
	assert_int_equal(s->opt.sack[0].left, p + 20);
	assert_int_equal(s->opt.sack[1].left, p + 10);
	/* Overlapping both islands and a duplicate. */
	h_in_opt(h, TCP_ACK, p + 12, iss + 1, 65535, text + 12, 10, &o, 22);
	s = h_expect(h, TCP_ACK, iss + 1, p);
	assert_int_equal(s->opt.nsack, 1);
	assert_int_equal(s->opt.sack[0].left, p + 10);
	assert_int_equal(s->opt.sack[0].right, p + 26);
	h_in_opt(h, TCP_ACK, p + 10, iss + 1, 65535, text + 10, 5, &o, 23);
	h_expect(h, TCP_ACK, iss + 1, p);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 24), -EAGAIN);
	h_in_opt(h, TCP_ACK, p, iss + 1, 65535, text, 11, &o, 25);
	s = h_expect(h, TCP_ACK, iss + 1, p + 26);
	assert_int_equal(s->opt.nsack, 0);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 26), 26);
	assert_memory_equal(buf, text, 26);
	/* A segment overlapping the left edge: only the new bytes count. */
	h_in_opt(h, TCP_ACK, p + 24, iss + 1, 65535, "yzAB", 4, &o, 27);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 28), 2);
	assert_memory_equal(buf, "AB", 2);
	h_free(h);
}

/* Sequence numbers wrap at 2^32: reassembly and ACKs across zero. */
static void seq_wrap(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t p = 0xfffffff0u, iss;
	int l = tcp_open(h->e), id;
	char buf[64];

	(void)state;
	tcp_listen(h->e, l, &h->me, 4);
	h_in(h, TCP_SYN, p - 1, 0, NULL, 0, 0);
	iss = h_expect_flags(h, TCP_SYN | TCP_ACK, p)->seq;
	h_in(h, TCP_ACK, p, iss + 1, NULL, 0, 1);
	id = tcp_accept(h->e, l);
	h_in(h, TCP_ACK, p + 32, iss + 1, "CCCCCCCCCCCCCCCC", 16, 2);
	h_expect(h, TCP_ACK, iss + 1, p);
	h_in(h, TCP_ACK, p + 16, iss + 1, "BBBBBBBBBBBBBBBB", 16, 3);
	h_expect(h, TCP_ACK, iss + 1, p);
	h_in(h, TCP_ACK, p, iss + 1, "AAAAAAAAAAAAAAAA", 16, 4);
	h_expect(h, TCP_ACK, iss + 1, 0x20); /* past zero */
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 5), 48);
	assert_memory_equal(buf + 16, "BBBBBBBBBBBBBBBB", 16);
	assert_memory_equal(buf + 32, "CCCCCCCCCCCCCCCC", 16);
	h_free(h);
}

/* 100k spoofed SYNs: state stays at the listener's backlog, the rest get
 * cookies; a real client still connects through a cookie; the half-open
 * children die after their SYN,ACK retries. */
static void syn_flood(void **state)
{
	struct harness *h = h_new(NULL);
	int l = tcp_open(h->e), id, k;
	struct wire_opts o = {0};
	struct tcp_info_snap i;
	struct tcp_stats st;
	struct wire_seg *s;
	uint32_t cookie;
	tcp_time t;

	(void)state;
	assert_int_equal(tcp_listen(h->e, l, &h->me, 128), 0);
	for (k = 0; k < 100000; k++) {
		h->peer.a[2] = (uint8_t)(k >> 8);
		h->peer.a[3] = (uint8_t)(k | 1);
		h->peer.port = (uint16_t)(1024 + k % 50000);
		h_in(h, TCP_SYN, (uint32_t)k * 7919u, 0, NULL, 0, k);
		if (h->n > 1000)
			h_drain(h);
	}
	h_drain(h);
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.conns, 1 + 128);
	assert_int_equal(st.half_open, 128);
	assert_int_equal(st.syn_cookies_sent, 100000 - 128);

	/* A real client: its options ride in the cookie's timestamp. */
	ep4(&h->peer, 77, 5555);
	o.has_mss = o.has_ws = o.sack_ok = o.has_ts = true;
	o.mss = 1400;
	o.ws = 5;
	o.tsval = 3333;
	h_in_opt(h, TCP_SYN, 424242, 0, 65535, NULL, 0, &o, 200 * MS);
	s = h_expect_flags(h, TCP_SYN | TCP_ACK, 424243);
	cookie = s->seq;
	assert_true(s->opt.has_mss && s->opt.has_ws && s->opt.sack_ok);
	assert_int_equal(s->opt.mss, 1360);
	assert_int_equal(s->opt.tsecr, 3333);
	assert_true(s->opt.tsval <= 201); /* never ahead of the clock */
	o.has_mss = o.has_ws = o.sack_ok = false;
	o.tsval = 3334;
	o.tsecr = s->opt.tsval;
	h_in_opt(h, TCP_ACK, 424243, cookie + 2, 100, NULL, 0, &o,
		 210 * MS); /* forged */
	h_expect(h, TCP_RST, cookie + 2, 0);
	h_in_opt(h, TCP_ACK | TCP_PSH, 424243, cookie + 1, 100, "hi", 2, &o,
		 220 * MS);
	id = tcp_accept(h->e, l);
	assert_true(id > 0);
	i = h_info(h, id);
	assert_int_equal(i.state, TCP_ESTABLISHED);
	assert_int_equal(i.irs, 424242);
	assert_true(i.ts_ok && i.sack_ok);
	assert_int_equal(i.snd_wscale, 5);
	assert_int_equal(i.snd_wnd, 100 << 5);
	assert_int_equal(i.mss, 1360 - 12);
	assert_int_equal(tcp_readable(h->e, id), 2);

	h_drain(h);
	for (t = 220 * MS; t < 300 * SEC;)
		t = tcp_dispatch(h->e, t);
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.conns, 2);
	assert_int_equal(st.half_open, 0);
	h_free(h);
}

/* A listener that sent no cookie takes no cookie ACK (RFC 4987 §3.6:
 * cookies are for a flood): a blind attacker's right guess, here forged
 * with the engine's key, is reset, and nothing is accepted. */
static void cookie_needs_flood(void **state)
{
	struct harness *h = h_new(NULL);
	int l = tcp_open(h->e);
	struct wire_seg syn;
	uint32_t cookie;
	uint16_t mss;

	(void)state;
	assert_int_equal(tcp_listen(h->e, l, &h->me, 4), 0);
	syn = h_seg(h, TCP_SYN, 5000, 0, NULL, 0);
	cookie = tcp_cookie_make(h->e, &syn, &mss, 0);
	h_in(h, TCP_ACK, 5001, cookie + 1, NULL, 0, 10);
	h_expect(h, TCP_RST, cookie + 1, 0);
	assert_int_equal(tcp_accept(h->e, l), -EAGAIN);
	h_free(h);
}

/* A SYN repeated to a listener's half-open child draws a SYN,ACK once in
 * 500 ms at most (RFC 5961 §7, as Linux), not one per SYN. */
static void duplicate_syn_throttled(void **state)
{
	struct harness *h = h_new(NULL);
	int l = tcp_open(h->e), k;

	(void)state;
	assert_int_equal(tcp_listen(h->e, l, &h->me, 4), 0);
	h_in(h, TCP_SYN, PEER_ISS, 0, NULL, 0, 0);
	h_expect_flags(h, TCP_SYN | TCP_ACK, PEER_ISS + 1);
	for (k = 0; k < 1000; k++)
		h_in(h, TCP_SYN, PEER_ISS, 0, NULL, 0, 10 * MS + k);
	h_expect_flags(h, TCP_SYN | TCP_ACK, PEER_ISS + 1);
	h_none(h);
	h_in(h, TCP_SYN, PEER_ISS, 0, NULL, 0, 600 * MS);
	h_expect_flags(h, TCP_SYN | TCP_ACK, PEER_ISS + 1);
	h_free(h);
}

/* Children completing together cannot push the accept queue past the
 * backlog: the ACK that would is dropped (the peer's next ACK, after a
 * SYN,ACK again, completes it once the user took one). */
static void accept_queue_bounded(void **state)
{
	struct harness *h = h_new(NULL);
	int l = tcp_open(h->e), k;
	uint32_t iss[5];

	(void)state;
	assert_int_equal(tcp_listen(h->e, l, &h->me, 4), 0);
	for (k = 0; k < 5; k++) { /* the first completes at once */
		h->peer.port = (uint16_t)(50000 + k);
		h_in(h, TCP_SYN, PEER_ISS, 0, NULL, 0, 1000 + k);
		iss[k] =
			h_expect_flags(h, TCP_SYN | TCP_ACK, PEER_ISS + 1)->seq;
		if (!k)
			h_in(h, TCP_ACK, PEER_ISS + 1, iss[0] + 1, NULL, 0,
			     1100);
	}
	for (k = 1; k < 5; k++) {
		h->peer.port = (uint16_t)(50000 + k);
		h_in(h, TCP_ACK, PEER_ISS + 1, iss[k] + 1, NULL, 0, 2000 + k);
	}
	h_none(h);
	assert_int_equal(h_info(h, l).accept_q, 4);
	assert_true(tcp_accept(h->e, l) > 0);
	h_in(h, TCP_ACK, PEER_ISS + 1, iss[4] + 1, NULL, 0, 3000);
	assert_int_equal(h_info(h, l).accept_q, 4);
	h_free(h);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Random sequence and acknowledgement numbers near the live ones. */
static uint32_t near(uint64_t *r, uint32_t base)
{
	switch (rnd(r) % 4) {
	case 0:
		return (uint32_t)rnd(r);
	case 1:
		return base;
	default:
		return base + (uint32_t)(rnd(r) % 140000) - 70000;
	}
}

static void random_opts(uint64_t *r, struct wire_opts *o)
{
	int k;

	memset(o, 0, sizeof(*o));
	o->has_mss = rnd(r) % 4 == 0;
	o->mss = (uint16_t)rnd(r);
	o->has_ws = rnd(r) % 4 == 0;
	o->ws = (uint8_t)(rnd(r) % 20);
	o->sack_ok = rnd(r) % 4 == 0;
	o->has_ts = rnd(r) % 2;
	o->tsval = (uint32_t)rnd(r) % 8 == 0 ? (uint32_t)rnd(r) : 7000;
	o->tsecr = (uint32_t)rnd(r);
	o->nsack = o->has_ts ? rnd(r) % 4 : 0;
	for (k = 0; k < o->nsack; k++) {
		o->sack[k].left = (uint32_t)rnd(r);
		o->sack[k].right = o->sack[k].left + (uint32_t)(rnd(r) % 9000);
	}
}

/* Random segments at live connections in several states, random user
 * calls and timers between them: nothing crashes, leaks or loops, and a
 * real connection opened afterwards still works. */
static void random_segments(void **state)
{
	static uint8_t data[1500];
	struct harness *h = h_new(NULL);
	uint32_t iss, iss2;
	uint64_t r = 88172645463325252ull;
	int ids[3], k, id;
	struct tcp_info_snap i;
	struct wire_opts o;
	tcp_time t = 100;

	(void)state;
	ids[0] = ts_server(h, &iss, 7000);
	h->peer.port++;
	ids[1] = h_client(h, &iss2, 20);
	h->peer.port++;
	ids[2] = h_client(h, &iss2, 30);
	h_close(h, ids[2], 40);
	for (k = 0; k < 200000; k++, t += rnd(&r) % 5000) {
		int c = ids[rnd(&r) % 3];

		tcp_info_get(h->e, c, &i);
		h->peer = i.remote.family ? i.remote : h->peer;
		h->me.port = i.local.port ? i.local.port : 80;
		random_opts(&r, &o);
		h_in_opt(h, (uint8_t)rnd(&r), near(&r, i.rcv_nxt),
			 near(&r, i.snd_una), (uint16_t)rnd(&r), data,
			 rnd(&r) % 3 ? 0 : rnd(&r) % sizeof(data), &o, t);
		if (rnd(&r) % 8 == 0)
			tcp_dispatch(h->e, t);
		if (rnd(&r) % 16 == 0)
			h_send(h, c, data, rnd(&r) % sizeof(data), t);
		if (rnd(&r) % 16 == 0)
			h_recv(h, c, data, sizeof(data), t);
		h_drain(h);
	}
	for (k = 0; k < 3; k++)
		tcp_free(h->e, ids[k], t);
	h_drain(h);
	ep4(&h->peer, 9, 9999);
	h->me.port = 80;
	id = h_client(h, &iss, t);
	assert_int_equal(h_send(h, id, "ok", 2, t), 2);
	h_expect(h, TCP_ACK | TCP_PSH, iss + 1, PEER_ISS + 1);
	h_free(h);
}

/* A SYN from the listener's own address and port is dropped (LAND). */
static void land(void **state)
{
	struct harness *h = h_new(NULL);
	int l = tcp_open(h->e);

	(void)state;
	tcp_listen(h->e, l, &h->me, 4);
	h->peer = h->me;
	h_in(h, TCP_SYN, 1, 0, NULL, 0, 0);
	h_none(h);
	assert_int_equal(h_info(h, l).accept_q, 0);
	h_free(h);
}

/* A SYN with FIN to a listener is dropped, unanswered and without a
 * child (Linux discards it in LISTEN: tcp_rcv_state_process()); it is no
 * legitimate open and a known scanner's probe. */
static void syn_fin_to_listener(void **state)
{
	struct harness *h = h_new(NULL);
	struct tcp_stats st;
	int l = tcp_open(h->e);

	(void)state;
	tcp_listen(h->e, l, &h->me, 4);
	h_in(h, TCP_SYN | TCP_FIN, 5000, 0, NULL, 0, 0);
	h_none(h);
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.half_open, 0);
	assert_int_equal(st.syn_dropped, 1);
	h_free(h);
}

/* Garbage and damaged packets are refused by reason and counted. */
static void garbage(void **state)
{
	struct harness *h = h_new(NULL);
	uint64_t r = 1234567;
	uint8_t pkt[1600];
	struct tcp_stats st;
	uint64_t drops = 0;
	int k, j;

	(void)state;
	for (k = 0; k < 20000; k++) {
		size_t n = rnd(&r) % sizeof(pkt);

		for (j = 0; j < (int)n; j++)
			pkt[j] = (uint8_t)rnd(&r);
		if (n)
			pkt[0] = k & 1 ? 0x45 : 0x60;
		tcp_input(h->e, pkt, n, (tcp_time)k);
	}
	tcp_stats_get(h->e, &st);
	for (k = 0; k < WIRE_NERR; k++)
		drops += st.drop_wire[k];
	assert_int_equal(st.in_pkts, 20000);
	assert_int_equal(drops + st.drop_no_conn, 20000);
	assert_true(drops > 19000);
	h_free(h);
}

/* A segment with a bad TCP checksum is dropped by tcp_input() but taken by
 * tcp_input_trusted() (the link vouches for it): a SYN to a closed port
 * gets a RST only then. */
static void trusted_input_skips_checksum(void **state)
{
	struct harness *h = h_new(NULL);
	struct tcp_stats st;
	struct wire_seg s = {.src = h->peer,
			     .dst = h->me,
			     .seq = 1,
			     .flags = TCP_SYN,
			     .wnd = 1000};
	uint8_t pkt[128];
	size_t n = wire_build(pkt, sizeof(pkt), &s);

	(void)state;
	pkt[20 + 16] ^= 0x40; /* the TCP checksum, after 20 bytes of IPv4 */
	tcp_input(h->e, pkt, n, 0);
	tcp_dispatch(h->e, 0);
	h_none(h);
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.drop_wire[WIRE_CSUM], 1);
	tcp_input_trusted(h->e, pkt, n, 0, 0);
	tcp_dispatch(h->e, 0);
	h_expect_flags(h, TCP_RST | TCP_ACK, 2);
	h_free(h);
}

/* A segment for an address that is not the engine's is dropped: a RST in
 * answer would carry a source address that is not ours. */
static void foreign_destination_dropped(void **state)
{
	struct harness *h = h_new(NULL);
	struct tcp_stats st;

	(void)state;
	ep4(&h->me, 9, 80); /* the engine is .1 */
	h_in(h, TCP_SYN, PEER_ISS, 0, NULL, 0, 0);
	h_in(h, TCP_ACK, PEER_ISS, 5, "x", 1, 1);
	h_none(h);
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.drop_no_conn, 2);
	assert_int_equal(st.rst_sent, 0);
	h_free(h);
}

/* The ISS an engine with KEY gives a connect from port 5000 at NOW. */
static uint32_t iss_with(uint64_t k0, uint64_t k1, tcp_time now)
{
	struct tcp_config cfg;
	struct harness *h;
	uint32_t iss;
	int id;

	tcp_config_default(&cfg);
	cfg.key[0] = k0;
	cfg.key[1] = k1;
	h = h_new(&cfg);
	id = tcp_open(h->e);
	assert_int_equal(h_connect(h, id, &h->peer, 5000, now), 0);
	iss = h_next(h)->seq;
	h_free(h);
	return iss;
}

/* RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), M a 4 µs clock, F a keyed hash whose secret "SHOULD be of
 * at least 128 bits": the engine's key is the config's 128 bits, every
 * bit of both halves counts, the same key gives the same ISN (tests stay
 * deterministic), and M moves it by one every 4 µs. */
static void isn_key_128(void **state)
{
	uint32_t a = iss_with(1, 0, 1000);

	(void)state;
	assert_int_equal(iss_with(1, 0, 1000), a);
	assert_int_not_equal(iss_with(1, 1, 1000), a);
	assert_int_not_equal(iss_with(1, 1ull << 63, 1000), a);
	assert_int_not_equal(iss_with(2, 0, 1000), a);
	assert_int_not_equal(iss_with(1, 1, 1000), iss_with(1, 2, 1000));
	assert_int_equal(iss_with(1, 0, 1000 + 4 * 1000), a + 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(blind_rst),
		cmocka_unit_test(fin_beyond_window),
		cmocka_unit_test(blind_syn),
		cmocka_unit_test(blind_data),
		cmocka_unit_test(unacceptable_acks_throttled),
		cmocka_unit_test(challenge_limit),
		cmocka_unit_test(paws),
		cmocka_unit_test(reassembly),
		cmocka_unit_test(syn_flood),
		cmocka_unit_test(cookie_needs_flood),
		cmocka_unit_test(duplicate_syn_throttled),
		cmocka_unit_test(accept_queue_bounded),
		cmocka_unit_test(random_segments),
		cmocka_unit_test(land),
		cmocka_unit_test(syn_fin_to_listener),
		cmocka_unit_test(garbage),
		cmocka_unit_test(seq_wrap),
		cmocka_unit_test(foreign_destination_dropped),
		cmocka_unit_test(trusted_input_skips_checksum),
		cmocka_unit_test(ts_recent_last_ack_sent),
		cmocka_unit_test(isn_key_128),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
