/* Timers in simulated time: RTO with backoff, SYN retries, user timeout,
 * persist, keepalive, delayed ACK, fast retransmit. */
#include "tcp_harness.h"

#define RTO_MIN (200 * MS)

/* RFC 6298 §5.5: each expiry doubles the RTO; an ACK ends it. */
static void rto_backoff(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);
	tcp_time t = 1000, rto = RTO_MIN;
	int k;

	(void)state;
	assert_int_equal(h_info(h, id).rto, RTO_MIN);
	assert_int_equal(h_send(h, id, "hello", 5, t), 5);
	h_expect(h, TCP_ACK | TCP_PSH, iss + 1, p);
	for (k = 0; k < 4; k++) {
		assert_int_equal(tcp_dispatch(h->e, t), t + rto);
		tcp_dispatch(h->e, t + rto - 1);
		h_none(h);
		t += rto;
		tcp_dispatch(h->e, t);
		h_expect(h, TCP_ACK | TCP_PSH, iss + 1, p);
		rto *= 2;
		assert_int_equal(h_info(h, id).rto, rto);
	}
	assert_int_equal(h_info(h, id).rto_timeouts, 4);
	assert_int_equal(h_info(h, id).retrans_segs, 4);
	assert_int_equal(h_info(h, id).cwnd, 536);
	h_in(h, TCP_ACK, p, iss + 6, NULL, 0, t + 10);
	assert_int_equal(tcp_dispatch(h->e, t + 10), TCP_NEVER);
	assert_int_equal(h_info(h, id).snd_una, iss + 6);
	h_free(h);
}

/* RFC 6298 §2.5: the RTO an RTT sample gives is held to its cap. An RTT
 * of 250 ms makes it 250 + 4 * 125 = 750 ms; under a cap of 300 ms it is
 * 300 ms, and the data sent next is sent again after 300 ms. */
static void rto_sample_capped(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	uint32_t iss, p = PEER_ISS + 1;
	tcp_time t = 1 * SEC;
	int id;

	(void)state;
	tcp_config_default(&cfg);
	cfg.rto_initial = cfg.rto_max = 300 * MS;
	h = h_new(&cfg);
	id = tcp_open(h->e);
	iss = h_syn_sent(h, id, 0);
	h_in(h, TCP_SYN | TCP_ACK, PEER_ISS, iss + 1, NULL, 0, 250 * MS);
	h_expect(h, TCP_ACK, iss + 1, p);
	assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	assert_int_equal(h_info(h, id).srtt, 250 * MS);
	assert_int_equal(h_info(h, id).rto, 300 * MS);
	assert_int_equal(h_send(h, id, "hello", 5, t), 5);
	h_expect(h, TCP_ACK | TCP_PSH, iss + 1, p);
	assert_int_equal(tcp_dispatch(h->e, t), t + 300 * MS);
	tcp_dispatch(h->e, t + 300 * MS);
	h_expect(h, TCP_ACK | TCP_PSH, iss + 1, p);
	h_free(h);
}

/* SYN retries: 1 s, then doubling; ETIMEDOUT after syn_retries, the
 * last wait the RTO's cap (120 s): 247 s in all, no sooner than 3 minutes
 * (RFC 1122 §4.2.3.5: R2 for a SYN). */
static void syn_retries(void **state)
{
	struct harness *h = h_new(NULL);
	int id = tcp_open(h->e), k;
	tcp_time t = 0, rto = SEC;
	uint32_t iss;

	(void)state;
	iss = h_syn_sent(h, id, 0);
	for (k = 0; k < 7; k++) {
		t += rto;
		assert_int_equal(tcp_dispatch(h->e, t - 1), t);
		tcp_dispatch(h->e, t);
		h_expect(h, TCP_SYN, iss, 0);
		rto *= 2;
	}
	t += 120 * SEC;
	assert_int_equal(tcp_dispatch(h->e, t - 1), t);
	assert_int_equal(h_state(h, id), TCP_SYN_SENT);
	tcp_dispatch(h->e, t);
	h_none(h); /* no RST for a SYN nobody answered */
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	assert_int_equal(h_info(h, id).error, ETIMEDOUT);
	assert_int_equal(t, 247 * SEC);
	assert_true(t >= 180 * SEC);
	h_free(h);
}

/* A SYN,ACK nobody answers is sent again for 3 minutes at least (RFC 1122
 * §4.2.3.5) before the half-open child goes. */
static void synack_retries(void **state)
{
	struct harness *h = h_new(NULL);
	int l = tcp_open(h->e), n = 0;
	struct tcp_stats st;
	tcp_time t = 0, last = 0;

	(void)state;
	assert_int_equal(tcp_listen(h->e, (uint32_t)l, &h->me, 8), 0);
	h_in(h, TCP_SYN, PEER_ISS, 0, NULL, 0, 0);
	while ((t = tcp_dispatch(h->e, t)) != TCP_NEVER) {
		tcp_dispatch(h->e, t);
		while (h->n) {
			h_expect_flags(h, TCP_SYN | TCP_ACK, PEER_ISS + 1);
			n++;
			last = t;
		}
		tcp_stats_get(h->e, &st);
		assert_true(t >= 180 * SEC || st.half_open == 1);
	}
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.half_open, 0);
	assert_int_equal(n, 1 + 7);
	assert_true(last >= 127 * SEC); /* the last resend, then 128 s */
	h_free(h);
}

/* A SYN,ACK after a lost SYN: IW drops to one segment (RFC 6298 §5.7),
 * and RTT is not sampled from the retransmitted SYN (Karn). */
static void syn_lost_once(void **state)
{
	struct harness *h = h_new(NULL);
	int id = tcp_open(h->e);
	uint32_t iss;

	(void)state;
	iss = h_syn_sent(h, id, 0);
	tcp_dispatch(h->e, SEC);
	h_expect(h, TCP_SYN, iss, 0);
	h_in(h, TCP_SYN | TCP_ACK, PEER_ISS, iss + 1, NULL, 0, SEC + 500);
	h_expect(h, TCP_ACK, iss + 1, PEER_ISS + 1);
	assert_int_equal(h_info(h, id).cwnd, 536);
	assert_int_equal(h_info(h, id).srtt, 0);
	/* RFC 6298 §5.7: no RTT sample (Karn), so data starts at 3 s */
	assert_int_equal(h_info(h, id).rto, 3 * SEC);
	h_free(h);
}

/* The engine-wide default user timeout (R2, RFC 9293 §3.8.3): no new
 * data acknowledged for 10 s since the data went out: RST, ETIMEDOUT, at
 * 10 s exactly, not at the next backed-off RTO (12.6 s). */
static void user_timeout(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	uint32_t iss;
	int id, k;
	tcp_time t = 0;

	(void)state;
	tcp_config_default(&cfg);
	cfg.user_timeout = 10 * SEC;
	h = h_new(&cfg);
	id = h_client(h, &iss, 0);
	h_send(h, id, "x", 1, 0);
	h_next(h);
	/* Retransmissions at 0.2, 0.6, 1.4, 3.0, 6.2 s. */
	for (k = 0; k < 5; k++) {
		t = tcp_dispatch(h->e, t);
		tcp_dispatch(h->e, t);
		h_expect(h, TCP_ACK | TCP_PSH, iss + 1, PEER_ISS + 1);
	}
	assert_int_equal(t, 6200 * MS);
	t = tcp_dispatch(h->e, t);
	assert_int_equal(t, 10 * SEC);
	tcp_dispatch(h->e, t);
	h_expect(h, TCP_RST, iss + 2, 0);
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	assert_int_equal(h_info(h, id).error, ETIMEDOUT);
	assert_non_null(strstr(h_info(h, id).why, "user timeout"));
	assert_int_equal(h_send(h, id, "x", 1, t), -ETIMEDOUT);
	h_free(h);
}

/* RFC 9293 §3.8.3 (d), MUST-21: R2 set per connection (RFC 5482's user
 * timeout). Counted from the latest ACK of new data while data is
 * outstanding; an idle connection never times out; the other connections
 * keep the default. */
static void user_timeout_per_conn(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);
	tcp_time t;

	(void)state;
	assert_int_equal(h_info(h, id).user_timeout, 0);
	assert_int_equal(tcp_set_user_timeout(h->e, (uint32_t)id, 5 * SEC), 0);
	assert_int_equal(h_info(h, id).user_timeout, 5 * SEC);
	assert_int_equal(tcp_set_user_timeout(h->e, 999, SEC), -ENOENT);
	/* idle: nothing to time out */
	assert_int_equal(tcp_dispatch(h->e, 100 * SEC), TCP_NEVER);
	t = 100 * SEC;
	assert_int_equal(h_send(h, id, "hello", 5, t), 5);
	h_expect(h, TCP_ACK | TCP_PSH, iss + 1, p);
	/* 3 s later the peer acknowledges 2 of the 5 bytes: 5 s from then */
	tcp_dispatch(h->e, t + 3 * SEC);
	h_drain(h);
	h_in(h, TCP_ACK, p, iss + 3, NULL, 0, t + 3 * SEC);
	assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	while ((t = tcp_dispatch(h->e, t)) < 108 * SEC) {
		tcp_dispatch(h->e, t);
		h_drain(h); /* retransmissions */
		assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	}
	assert_int_equal(t, 108 * SEC);
	tcp_dispatch(h->e, t);
	h_expect(h, TCP_RST, iss + 6, 0);
	assert_int_equal(h_info(h, id).error, ETIMEDOUT);
	h_free(h);
}

/* A user timeout raised while the retransmission timer is held to the
 * old one's deadline: the timer goes back to the RTO, from now (as an ACK
 * restarts it, RFC 6298 §5.3), rather than run out at the old deadline
 * and retransmit, cutting the window, for nothing. */
static void user_timeout_raised(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss;
	int id = h_client(h, &iss, 0);

	(void)state;
	assert_int_equal(tcp_set_user_timeout(h->e, (uint32_t)id, 100 * MS), 0);
	h_send(h, id, "x", 1, SEC);
	h_next(h);
	/* held to the deadline: before the RTO (200 ms) */
	assert_int_equal(tcp_dispatch(h->e, SEC), SEC + 100 * MS);
	tcp_dispatch(h->e, SEC + 50 * MS);
	assert_int_equal(tcp_set_user_timeout(h->e, (uint32_t)id, 60 * SEC), 0);
	assert_int_equal(tcp_dispatch(h->e, SEC + 50 * MS), SEC + 250 * MS);
	tcp_dispatch(h->e, SEC + 100 * MS);
	h_none(h);
	assert_int_equal(h_info(h, id).rto_timeouts, 0);
	h_free(h);
}

/* A user timeout on a connect: the SYN goes unanswered for that long,
 * not for --syn-retries (RFC 9293 §3.8.3: "the application can close the
 * connection ... sooner"); a listener passes its own to its children. */
static void user_timeout_syn(void **state)
{
	struct harness *h = h_new(NULL);
	int id = tcp_open(h->e), l = tcp_open(h->e), child;
	uint32_t iss;
	tcp_time t = 0;

	(void)state;
	assert_int_equal(tcp_set_user_timeout(h->e, (uint32_t)id, 4 * SEC), 0);
	iss = h_syn_sent(h, id, 0);
	while ((t = tcp_dispatch(h->e, t)) < 4 * SEC) {
		tcp_dispatch(h->e, t);
		h_expect(h, TCP_SYN, iss, 0); /* 1 s, 3 s */
	}
	assert_int_equal(t, 4 * SEC);
	tcp_dispatch(h->e, t);
	h_none(h);
	assert_int_equal(h_info(h, id).error, ETIMEDOUT);

	assert_int_equal(tcp_set_user_timeout(h->e, (uint32_t)l, 7 * SEC), 0);
	assert_int_equal(tcp_listen(h->e, (uint32_t)l, &h->me, 8), 0);
	h->peer.port = 40001;
	h_in(h, TCP_SYN, PEER_ISS, 0, NULL, 0, t);
	iss = h_expect_flags(h, TCP_SYN | TCP_ACK, PEER_ISS + 1)->seq;
	h_in(h, TCP_ACK, PEER_ISS + 1, iss + 1, NULL, 0, t);
	child = tcp_accept(h->e, (uint32_t)l);
	assert_true(child > 0);
	assert_int_equal(h_info(h, child).user_timeout, 7 * SEC);
	h_free(h);
}

/* Zero window: probes back off until the window opens; then data. */
static void persist(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);
	tcp_time t = 0, ival = RTO_MIN;
	int k;

	(void)state;
	h_in_opt(h, TCP_ACK, p, iss + 1, 0, NULL, 0, NULL, 0);
	assert_int_equal(h_info(h, id).snd_wnd, 0);
	assert_int_equal(h_send(h, id, "0123456789", 10, 0), 10);
	h_none(h);
	for (k = 0; k < 4; k++) {
		t += ival;
		assert_int_equal(tcp_dispatch(h->e, t - 1), t);
		tcp_dispatch(h->e, t);
		h_expect(h, TCP_ACK, iss, p); /* SND.UNA - 1: must be ACKed */
		h_in_opt(h, TCP_ACK, p, iss + 1, 0, NULL, 0, NULL, t + 10);
		h_none(h);
		ival *= 2;
	}
	assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	h_in_opt(h, TCP_ACK, p, iss + 1, 4, NULL, 0, NULL, t + 20);
	/* Four bytes of window: too small to fill a segment (SWS), sent
	 * when the persist timer runs out. */
	h_none(h);
	t = tcp_dispatch(h->e, t + 20);
	tcp_dispatch(h->e, t);
	assert_int_equal(h_expect(h, TCP_ACK, iss + 1, p)->len, 4);
	h_in_opt(h, TCP_ACK, p, iss + 5, 1000, NULL, 0, NULL, t + 30);
	assert_int_equal(h_expect(h, TCP_ACK | TCP_PSH, iss + 5, p)->len, 6);
	h_free(h);
}

/* Zero-window probes nobody answers: the fifteenth unanswered one in a
 * row ends the connection (RST, ETIMEDOUT, the reason in words), as
 * Linux's retries2 does; answered ones never would (the next test). */
static void persist_unanswered(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0), probes = 0, k;
	tcp_time t = 0;

	(void)state;
	h_in_opt(h, TCP_ACK, p, iss + 1, 0, NULL, 0, NULL, 0);
	assert_int_equal(h_send(h, id, "0123456789", 10, 0), 10);
	for (k = 0; k < 40 && h_state(h, id) == TCP_ESTABLISHED; k++) {
		t = tcp_dispatch(h->e, t);
		tcp_dispatch(h->e, t);
		while (h->n && h_next(h)->flags == TCP_ACK)
			probes++;
	}
	assert_int_equal(probes, 15);
	assert_int_equal(h->last.flags, TCP_RST);
	assert_int_equal(h_info(h, id).error, ETIMEDOUT);
	assert_non_null(strstr(h_info(h, id).why, "zero-window probes"));
	h_free(h);
}

/* The peer shrinks its window to zero under data in flight (it ACKs part
 * of it with window 0): the retransmission timer hands over to the
 * persist timer, whose probes keep the connection while they are answered
 * (RFC 1122 §4.2.2.17), long past the R2 an unanswered resend would reach;
 * the window opens and the rest goes from SND.UNA. */
static void window_shrunk_to_zero(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0), k, probes = 0;
	tcp_time t = 0;

	(void)state;
	assert_int_equal(h_send(h, id, "0123456789", 10, 0), 10);
	assert_int_equal(h_expect(h, TCP_ACK | TCP_PSH, iss + 1, p)->len, 10);
	h_in_opt(h, TCP_ACK, p, iss + 5, 0, NULL, 0, NULL, 10);
	for (k = 0; k < 40; k++) {
		struct wire_seg *s;

		t = tcp_dispatch(h->e, t);
		tcp_dispatch(h->e, t);
		while (h->n) {
			s = h_next(h);
			/* a probe, SND.UNA - 1: nothing beyond the edge */
			assert_int_equal(s->len, 0);
			assert_int_equal(s->seq, iss + 4);
			probes++;
		}
		h_in_opt(h, TCP_ACK, p, iss + 5, 0, NULL, 0, NULL, t + 10);
		assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	}
	assert_true(probes >= 30);
	h_in_opt(h, TCP_ACK, p, iss + 5, 1000, NULL, 0, NULL, t + 20);
	assert_int_equal(h_expect(h, TCP_ACK | TCP_PSH, iss + 5, p)->len, 6);
	h_free(h);
}

/* The peer ACKs all our data with window 0, and we close: the FIN waits
 * for the window like data (a receiver with no window may drop it, RFC
 * 9293 §3.10.7.4), and the persist timer's probes, answered, keep the
 * connection far past R2 (RFC 1122 §4.2.2.17); the window opens and the
 * FIN goes. */
static void fin_into_zero_window(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0), k;
	tcp_time t = 0;

	(void)state;
	assert_int_equal(h_send(h, id, "0123456789", 10, 0), 10);
	assert_int_equal(h_expect(h, TCP_ACK | TCP_PSH, iss + 1, p)->len, 10);
	h_in_opt(h, TCP_ACK, p, iss + 11, 0, NULL, 0, NULL, 10);
	assert_int_equal(h_close(h, id, 20), 0);
	h_none(h);
	for (k = 0; k < 40; k++) {
		t = tcp_dispatch(h->e, t);
		tcp_dispatch(h->e, t);
		while (h->n) {
			struct wire_seg *s = h_next(h);
			assert_false(s->flags & (TCP_FIN | TCP_RST));
			assert_int_equal(s->seq, iss + 10); /* a probe */
		}
		h_in_opt(h, TCP_ACK, p, iss + 11, 0, NULL, 0, NULL, t + 10);
	}
	assert_true(t > 30 * 60 * SEC);
	assert_int_equal(h_state(h, id), TCP_FIN_WAIT_1);
	h_in_opt(h, TCP_ACK, p, iss + 11, 1000, NULL, 0, NULL, t + 20);
	assert_int_equal(h_expect_flags(h, TCP_FIN | TCP_ACK, p)->seq,
			 iss + 11);
	h_free(h);
}

/* A window too small for SWS avoidance: the override timeout sends what
 * fits; lost, it goes again at the RTO (RFC 6298 (5.4): the earliest
 * segment not acknowledged), not held back as new data would be. */
static void rto_resends_small_segment(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);
	static uint8_t buf[2000];
	tcp_time t;

	(void)state;
	h_in_opt(h, TCP_ACK, p, iss + 1, 300, NULL, 0, NULL, 10);
	assert_int_equal(h_send(h, id, buf, sizeof(buf), 20), 2000);
	h_none(h); /* 300 bytes: not worth it yet */
	t = tcp_dispatch(h->e, 20);
	tcp_dispatch(h->e, t); /* the override */
	assert_int_equal(h_expect(h, TCP_ACK, iss + 1, p)->len, 300);
	h_none(h);
	t = tcp_dispatch(h->e, t);
	tcp_dispatch(h->e, t); /* the RTO */
	assert_int_equal(h_expect(h, TCP_ACK, iss + 1, p)->len, 300);
	assert_int_equal(h_info(h, id).rto_timeouts, 1);
	h_free(h);
}

/* A listener's user timeout is not its half-open children's: a child's
 * SYN,ACK goes again 7 times and the child is gone after 247 s, as the
 * man page says (a long timeout would let a spoofed SYN hold a slot for
 * it). */
static void listener_timeout_not_children(void **state)
{
	struct harness *h = h_new(NULL);
	int l = tcp_open(h->e), synacks = 0;
	struct tcp_stats st;
	tcp_time t = 0;

	(void)state;
	assert_int_equal(tcp_listen(h->e, l, &h->me, 4), 0);
	assert_int_equal(tcp_set_user_timeout(h->e, l, 3600 * SEC), 0);
	h_in(h, TCP_SYN, PEER_ISS, 0, NULL, 0, 0);
	h_drain(h);
	while ((t = tcp_dispatch(h->e, t)) <= 256 * SEC) {
		tcp_dispatch(h->e, t);
		while (h->n)
			synacks += h_next(h)->flags == (TCP_SYN | TCP_ACK);
	}
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.half_open, 0);
	assert_int_equal(synacks, 7);
	h_free(h);
}

/* A simultaneous open keeps counting the SYN's retries: with
 * --syn-retries=1 the connect fails within 3 s, however the peer's lone
 * SYN made it SYN-RECEIVED. */
static void simultaneous_open_syn_retries(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	tcp_time t = 500 * MS;
	int id;

	(void)state;
	tcp_config_default(&cfg);
	cfg.syn_retries = 1;
	h = h_new(&cfg);
	id = tcp_open(h->e);
	h_syn_sent(h, id, 0);
	h_in(h, TCP_SYN, PEER_ISS, 0, NULL, 0, 500 * MS);
	assert_int_equal(h_state(h, id), TCP_SYN_RECEIVED);
	while (h_state(h, id) != TCP_CLOSED && t <= 10 * SEC) {
		t = tcp_dispatch(h->e, t);
		tcp_dispatch(h->e, t);
		h_drain(h);
	}
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	assert_int_equal(h_info(h, id).error, ETIMEDOUT);
	assert_true(t <= 3 * SEC + 500 * MS);
	h_free(h);
}

/* Keepalive: a probe after the idle time, every interval; an answer
 * resets it; nine unanswered probes give up. */
static void keepalive(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0), k;
	tcp_time t;

	(void)state;
	assert_int_equal(tcp_dispatch(h->e, 0), TCP_NEVER);
	assert_int_equal(tcp_set_keepalive(h->e, id, 10 * SEC), 0);
	t = tcp_dispatch(h->e, 0);
	assert_int_equal(t, 10 * SEC);
	tcp_dispatch(h->e, t);
	h_expect(h, TCP_ACK, iss, p);
	h_in(h, TCP_ACK, p, iss + 1, NULL, 0, t + 5);
	assert_int_equal(tcp_dispatch(h->e, t + 5), t + 5 + 10 * SEC);
	t += 5;
	for (k = 0; k < 9; k++) {
		t += 10 * SEC;
		tcp_dispatch(h->e, t);
		h_expect(h, TCP_ACK, iss, p);
	}
	tcp_dispatch(h->e, t + 10 * SEC);
	h_expect(h, TCP_RST, iss + 1, 0);
	assert_int_equal(h_info(h, id).error, ETIMEDOUT);
	h_free(h);
}

/* RFC 9293 §3.8.4 (MUST-26), RFC 1122 §4.2.3.6: no keep-alive probe while
 * data is outstanding; the retransmission timer owns that case. A probe
 * is SND.UNA - 1: none may go out while the peer never acknowledges. */
static void keepalive_not_with_data_outstanding(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss;
	int id = h_client(h, &iss, 0), rtx = 0;
	tcp_time t = 0;

	(void)state;
	assert_int_equal(tcp_set_keepalive(h->e, id, 1 * SEC), 0);
	assert_int_equal(h_send(h, id, "x", 1, 0), 1);
	h_expect(h, TCP_ACK | TCP_PSH, iss + 1, PEER_ISS + 1);
	while ((t = tcp_dispatch(h->e, t)) <= 30 * SEC) {
		tcp_dispatch(h->e, t);
		while (h->n) {
			struct wire_seg *s = h_next(h);
			assert_int_equal(s->seq,
					 iss + 1); /* never SND.UNA - 1 */
			rtx++;
		}
	}
	assert_true(rtx >= 3); /* the retransmission timer did its part */
	h_free(h);
}

/* RFC 5681 §4.2, RFC 9293 §3.8.6.3: a segment that fills part of a gap
 * is acknowledged at once, not after the delayed-ACK time. */
static void ack_partial_gap_fill(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);

	(void)state;
	(void)id;
	h_in(h, TCP_ACK, p + 10, iss + 1, "klmno", 5, 10);
	h_expect(h, TCP_ACK, iss + 1, p); /* out of order: at once */
	h_in(h, TCP_ACK, p, iss + 1, "abcde", 5, 20); /* p+5..p+10 missing */
	h_expect(h, TCP_ACK, iss + 1, p + 5);
	h_none(h);
	h_free(h);
}

/* Delayed ACK: at most 40 ms, at once for every second full segment, for
 * out-of-order data and for data filling the hole. */
static void delayed_ack(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);
	uint8_t full[536] = {0};

	(void)state;
	(void)id;
	h_in(h, TCP_ACK, p, iss + 1, "ab", 2, 100);
	h_none(h);
	assert_int_equal(tcp_dispatch(h->e, 100), 100 + 40 * MS);
	tcp_dispatch(h->e, 100 + 40 * MS);
	h_expect(h, TCP_ACK, iss + 1, p + 2);
	p += 2;

	h_in(h, TCP_ACK, p, iss + 1, full, 536, 50 * MS);
	h_none(h);
	h_in(h, TCP_ACK, p + 536, iss + 1, full, 536, 51 * MS);
	h_expect(h, TCP_ACK, iss + 1, p + 1072);
	p += 1072;

	h_in(h, TCP_ACK, p + 10, iss + 1, "later", 5, 60 * MS);
	h_expect(h, TCP_ACK, iss + 1, p); /* out of order: duplicate ACK */
	h_in(h, TCP_ACK, p, iss + 1, "0123456789", 10, 61 * MS);
	h_expect(h, TCP_ACK, iss + 1, p + 15); /* the hole filled */
	assert_int_equal(h_info(h, id).ooo_segs, 1);
	h_free(h);
}

/* A peer whose path keeps its segments below our MSS: the largest it
 * sends counts as full-sized, so every second one is ACKed at once. */
static void delayed_ack_small_segments(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	uint8_t seg[1000] = {0};

	(void)state;
	assert_int_equal(h_info(h, h_server_mss(h, 1460, &iss, 1)).mss, 1460);
	h_in(h, TCP_ACK, p, iss + 1, seg, 1000, 10);
	h_none(h);
	h_in(h, TCP_ACK, p + 1000, iss + 1, seg, 1000, 11);
	h_expect(h, TCP_ACK, iss + 1, p + 2000);
	h_in(h, TCP_ACK, p + 2000, iss + 1, seg, 200, 12);
	h_none(h);
	h_free(h);
}

/* The peer's segments shrink after a full-sized one (its path MTU fell,
 * or SACK blocks took room): 2 RMSS bytes still bring an ACK at once
 * (RFC 9293 §3.8.6.3, SHLD-19), not the delayed-ACK timer. */
static void delayed_ack_shrunk_segments(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	uint8_t seg[1460] = {0};

	(void)state;
	h_server_mss(h, 1460, &iss, 1);
	h_in(h, TCP_ACK, p, iss + 1, seg, 1460, 10);
	h_none(h);
	h_in(h, TCP_ACK, p + 1460, iss + 1, seg, 1200, 11);
	h_none(h); /* 2660 bytes */
	h_in(h, TCP_ACK, p + 2660, iss + 1, seg, 1200, 12);
	h_expect(h, TCP_ACK, iss + 1, p + 3860);
	h_free(h);
}

/* The size of a super-packet's segments (gso_size) is what the peer
 * sends: it becomes the full size, so plain segments of that size after
 * it are acknowledged every second one, though the MSS is larger. */
static void super_packet_sets_full_size(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	uint8_t seg[1000] = {0};

	(void)state;
	assert_int_equal(h_info(h, h_server_mss(h, 1460, &iss, 1)).mss, 1460);
	h_feed_super(h, p, iss + 1, 3000, 1000, 10);
	tcp_dispatch(h->e, 10);
	h_expect(h, TCP_ACK, iss + 1, p + 3000);
	h_in(h, TCP_ACK, p + 3000, iss + 1, seg, 1000, 11);
	h_none(h);
	h_in(h, TCP_ACK, p + 4000, iss + 1, seg, 1000, 12);
	h_expect(h, TCP_ACK, iss + 1, p + 5000);
	h_free(h);
}

/* A full receive window, then a read: a window update goes at once. */
static void window_update(void **state)
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
	h_in(h, TCP_ACK, p, iss + 1, buf, 536, 10);
	h_in(h, TCP_ACK, p + 536, iss + 1, buf, 536, 11);
	assert_int_equal(h_expect(h, TCP_ACK, iss + 1, p + 1072)->wnd, 0);
	/* Beyond the window: dropped, ACKed. */
	h_in(h, TCP_ACK, p + 1072, iss + 1, buf, 10, 12);
	assert_int_equal(h_expect(h, TCP_ACK, iss + 1, p + 1072)->wnd, 0);
	assert_int_equal(h_recv(h, id, buf, 100, 20), 100);
	h_none(h); /* less than min(buffer / 2, MSS): no update (SWS) */
	assert_int_equal(h_recv(h, id, buf, 2048, 30), 972);
	assert_int_equal(h_expect(h, TCP_ACK, iss + 1, p + 1072)->wnd, 1072);
	h_free(h);
}

/* Three duplicate ACKs: fast retransmit (NewReno here), ssthresh half the
 * flight, and a partial ACK retransmits the next hole. */
static void fast_retransmit(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	uint32_t iss, p = PEER_ISS + 1;
	uint8_t buf[536 * 4] = {0};
	struct tcp_info_snap i;
	int id, k;

	(void)state;
	tcp_config_default(&cfg);
	cfg.cc = TCP_CC_NEWRENO;
	h = h_new(&cfg);
	id = h_client(h, &iss, 0);
	assert_string_equal(h_info(h, id).cc, "newreno");
	assert_int_equal(h_send(h, id, buf, sizeof(buf), 10), 2144);
	for (k = 0; k < 4; k++)
		h_expect(h, TCP_ACK | (k == 3 ? TCP_PSH : 0), iss + 1 + 536 * k,
			 p);
	for (k = 0; k < 3; k++)
		h_in(h, TCP_ACK, p, iss + 1, NULL, 0, 20 + k);
	h_expect(h, TCP_ACK, iss + 1, p);
	i = h_info(h, id);
	assert_int_equal(i.fast_retrans, 1);
	assert_int_equal(i.dup_acks, 3);
	assert_int_equal(i.ssthresh, 1072);
	h_in(h, TCP_ACK, p, iss + 1 + 536, NULL, 0, 30);
	h_expect(h, TCP_ACK, iss + 1 + 536, p);
	h_in(h, TCP_ACK, p, iss + 1 + 2144, NULL, 0, 40);
	h_none(h);
	assert_int_equal(h_info(h, id).retrans_segs, 2);
	assert_int_equal(tcp_dispatch(h->e, 40), TCP_NEVER);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rto_backoff),
		cmocka_unit_test(rto_sample_capped),
		cmocka_unit_test(syn_retries),
		cmocka_unit_test(synack_retries),
		cmocka_unit_test(syn_lost_once),
		cmocka_unit_test(user_timeout),
		cmocka_unit_test(user_timeout_per_conn),
		cmocka_unit_test(user_timeout_raised),
		cmocka_unit_test(user_timeout_syn),
		cmocka_unit_test(persist),
		cmocka_unit_test(window_shrunk_to_zero),
		cmocka_unit_test(fin_into_zero_window),
		cmocka_unit_test(listener_timeout_not_children),
		cmocka_unit_test(simultaneous_open_syn_retries),
		cmocka_unit_test(rto_resends_small_segment),
		cmocka_unit_test(persist_unanswered),
		cmocka_unit_test(keepalive),
		cmocka_unit_test(keepalive_not_with_data_outstanding),
		cmocka_unit_test(ack_partial_gap_fill),
		cmocka_unit_test(delayed_ack),
		cmocka_unit_test(delayed_ack_small_segments),
		cmocka_unit_test(delayed_ack_shrunk_segments),
		cmocka_unit_test(super_packet_sets_full_size),
		cmocka_unit_test(window_update),
		cmocka_unit_test(fast_retransmit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
