/* Congestion control against its timers: one loss gets one response (a
 * tail loss probe's from the flight it found the loss in, fast recovery
 * without an RTO on top); an application-limited sender's window does not
 * grow (RFC 7661, RFC 9438 §5.8), a window the sender filled grows by
 * every ACK of it, and CUBIC's curve counts no time the application held
 * the sender back. */
#include "tcp_harness.h"

/* A: NewReno, 10 segments in flight, the ACK is only late: the tail loss
 * probe (last segment again) goes after 2 ms, then one ACK covers all.
 * tcp_tlp_acked() calls on_loss after SND.UNA reached SND.MAX: NewReno's
 * FlightSize / 2 is 0, so ssthresh = cwnd = 2 MSS (RFC 5681 eq. 4 with the
 * flight at detection: 5 MSS; Linux: cwnd / 2). */
static void newreno_tlp_collapse(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	struct wire_opts o = {.has_ts = true, .tsval = 200};
	uint32_t iss, p = PEER_ISS + 1;
	struct tcp_info_snap i;
	tcp_time t;
	int id;

	(void)state;
	tcp_config_default(&cfg);
	cfg.cc = TCP_CC_NEWRENO;
	h = h_new(&cfg);
	id = h_sack_server(h, &iss, 10);
	t = tcp_dispatch(h->e, 20);
	tcp_dispatch(h->e, t); /* the probe */
	h_expect(h, TCP_ACK | TCP_PSH, iss + 1 + 9 * 1448, p);
	h_none(h);
	h_in_opt(h, TCP_ACK, p, iss + 1 + 10 * 1448, 65535, NULL, 0, &o,
		 t + 10);
	i = h_info(h, id);
	print_message("newreno after TLP-acked: cwnd %u ssthresh %u (mss %u)\n",
		      i.cwnd, i.ssthresh, i.mss);
	/* what RFC 5681 eq. (4) with FlightSize at detection gives */
	assert_true(i.ssthresh >= 5 * 1448);
	h_free(h);
}

/* B: the RACK reordering deadline clamped to the RTO (t_pto == t_rtx):
 * tcp_pto_timeout() starts fast recovery and resends SND.UNA, but the
 * expired t_rtx is not re-armed, so tcp_timers_run() runs rtx_timeout()
 * at once too: the same segment twice, and a second cut. */
static void rack_and_rto_same_instant(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_ts = true, .tsval = 200, .nsack = 1};
	uint32_t iss, p = PEER_ISS + 1;
	struct tcp_info_snap i;
	tcp_time t, rto_at;
	int id = h_sack_server(h, &iss, 10), n = 0;

	(void)state;
	t = tcp_dispatch(h->e, 20);
	tcp_dispatch(h->e, t); /* the tail probe: the last segment again */
	h_expect(h, TCP_ACK | TCP_PSH, iss + 1 + 9 * 1448, p);
	h_none(h);
	rto_at = tcp_dispatch(h->e, t);
	/* 1 ms before the RTO: segments 2 and 3 SACKed (not 3 MSS: RACK) */
	o.sack[0].left = iss + 1 + 1448;
	o.sack[0].right = iss + 1 + 3 * 1448;
	h_in_opt(h, TCP_ACK, p, iss + 1, 65535, NULL, 0, &o, rto_at - 1 * MS);
	h_none(h);
	assert_int_equal(tcp_dispatch(h->e, rto_at - 1 * MS), rto_at);
	i = h_info(h, id);
	tcp_dispatch(h->e, rto_at);
	while (h->n) {
		struct wire_seg *s = h_next(h);
		print_message("sent seq +%u len %u\n", s->seq - iss - 1,
			      (unsigned)s->len);
		n++;
	}
	print_message("before: cwnd %u ssthresh %u\n", i.cwnd, i.ssthresh);
	i = h_info(h, id);
	print_message("after: fast_retrans %llu rto_timeouts %llu "
		      "retrans %llu cwnd %u ssthresh %u\n",
		      (unsigned long long)i.fast_retrans,
		      (unsigned long long)i.rto_timeouts,
		      (unsigned long long)i.retrans_segs, i.cwnd, i.ssthresh);
	assert_int_equal(i.fast_retrans + i.rto_timeouts, 1);
	assert_int_equal(n, 1);
	h_free(h);
}

/* C: an application-limited sender (100 bytes every 50 ms, each ACKed,
 * never idle longer than the RTO) grows cwnd by every byte acknowledged
 * although never more than 100 bytes are in flight (RFC 9438 §5.8, RFC
 * 7661: no growth while application-limited; Linux's
 * tcp_is_cwnd_limited()). A later bulk write then goes out as one burst
 * the size of the peer's window. */
static void app_limited_growth(void **state)
{
	struct harness *h = h_new(NULL);
	static uint8_t buf[65535];
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0), k, n = 0;
	tcp_time t = 10;
	uint32_t cw0;

	(void)state;
	tcp_set_nodelay(h->e, id, true);
	cw0 = h_info(h, id).cwnd;
	for (k = 0; k < 2000; k++) {
		h_send(h, id, buf, 100, t);
		h_next(h);
		h_in(h, TCP_ACK, p, h->last.seq + 100, NULL, 0, t + 1 * MS);
		t += 50 * MS;
	}
	print_message("cwnd %u -> %u after 2000 x 100 bytes, one in flight\n",
		      cw0, h_info(h, id).cwnd);
	h_send(h, id, buf, sizeof(buf), t);
	while (h->n) {
		h_next(h);
		n++;
	}
	print_message("then one write: %d segments at once (IW is 10)\n", n);
	assert_true(h_info(h, id).cwnd <= 2 * cw0);
	h_free(h);
}

/* D: one window sent in one burst, then each segment ACKed alone with
 * nothing more to send: the window held the sender back within that
 * window of data, so in slow start every ACK grows it and it doubles, as
 * Linux's tcp_cwnd_validate() keeps it (judged by the flight at each ACK,
 * the later ACKs of the window would find it not limited). */
static void burst_window_doubles(void **state)
{
	struct harness *h = h_new(NULL);
	static uint8_t buf[65535];
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0), k, n = 0;
	struct tcp_info_snap i = h_info(h, id);
	uint32_t cw0 = i.cwnd, ack = iss + 1;

	(void)state;
	h_send(h, id, buf, cw0, 10);
	while (h->n) {
		h_next(h);
		n++;
	}
	assert_int_equal(n * i.mss, cw0);
	for (k = 0; k < n; k++) {
		ack += i.mss;
		h_in(h, TCP_ACK, p, ack, NULL, 0, 20 + k);
	}
	print_message("cwnd %u -> %u after %d segments ACKed one by one\n", cw0,
		      h_info(h, id).cwnd, n);
	assert_int_equal(h_info(h, id).cwnd, 2 * cw0);
	h_free(h);
}

/* Take every segment sent; their number. */
static int take_all(struct harness *h)
{
	int n = 0;

	while (h->n) {
		h_next(h);
		n++;
	}
	return n;
}

/* E: CUBIC's curve counts no time the application held the sender back
 * (RFC 9438 §5.8). After a loss the window is 7 of W_max's 10 segments;
 * one window-limited round starts the epoch; then 10 s of 100-byte
 * writes, each ACKed (never idle); then a bulk write, ACKed a window at a
 * time. The window goes on from where the curve stood, still below W_max
 * (K is 1.96 s), where 10 s into the epoch would make it jump by half
 * (the 1.5 cwnd bound of §4.2). */
static void cubic_held_time(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_ts = true, .tsval = 200, .nsack = 1};
	static uint8_t buf[65535];
	uint32_t iss, p = PEER_ISS + 1, una;
	int id = h_sack_server(h, &iss, 10), k;
	struct tcp_info_snap i;
	tcp_time t = 30 * MS;

	(void)state;
	tcp_set_nodelay(h->e, id, true);
	/* segments 2-4 SACKed: the first is lost; then all ACKed */
	o.sack[0].left = iss + 1 + 1448;
	o.sack[0].right = iss + 1 + 4 * 1448;
	h_in_opt(h, TCP_ACK, p, iss + 1, 65535, NULL, 0, &o, t);
	for (k = 0; k < 10 && !h->n; k++)
		tcp_dispatch(h->e, t += 10 * MS);
	assert_int_equal(take_all(h), 1);
	o.nsack = 0;
	una = iss + 1 + 10 * 1448;
	h_in_opt(h, TCP_ACK, p, una, 65535, NULL, 0, &o, t += 1 * MS);
	i = h_info(h, id);
	assert_int_equal(i.cwnd, 7 * 1448);
	assert_int_equal(i.ssthresh, 7 * 1448);
	/* one round the window limits */
	h_send(h, id, buf, 7 * 1448, t);
	assert_int_equal(take_all(h), 7);
	h_in_opt(h, TCP_ACK, p, una += 7 * 1448, 65535, NULL, 0, &o,
		 t += 1 * MS);
	/* the application holds it back for 10 s */
	for (k = 0; k < 200; k++) {
		h_send(h, id, buf, 100, t += 50 * MS);
		assert_int_equal(take_all(h), 1);
		h_in_opt(h, TCP_ACK, p, una += 100, 65535, NULL, 0, &o,
			 t + 1 * MS);
	}
	/* bulk: three windows, each ACKed at once */
	for (k = 0; k < 3; k++) {
		uint32_t cw = h_info(h, id).cwnd, n;

		h_send(h, id, buf, sizeof(buf), t += 50 * MS);
		n = (uint32_t)take_all(h);
		h_in_opt(h, TCP_ACK, p, una += n * 1448, 65535, NULL, 0, &o,
			 t + 1 * MS);
		print_message("round %d: cwnd %u, %u segments, then cwnd %u\n",
			      k, cw, n, h_info(h, id).cwnd);
	}
	assert_true(h_info(h, id).cwnd < 10 * 1448);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(newreno_tlp_collapse),
		cmocka_unit_test(rack_and_rto_same_instant),
		cmocka_unit_test(app_limited_growth),
		cmocka_unit_test(burst_window_doubles),
		cmocka_unit_test(cubic_held_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
