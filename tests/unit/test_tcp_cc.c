/* Congestion control against its timers: one loss gets one response (a
 * tail loss probe's from the flight it found the loss in, fast recovery
 * without an RTO on top), and an application-limited sender's window does
 * not grow (RFC 7661, RFC 9438 §5.8). */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(newreno_tlp_collapse),
		cmocka_unit_test(rack_and_rto_same_instant),
		cmocka_unit_test(app_limited_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
