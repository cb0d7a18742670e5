/* Sending and receiving policy: Nagle, SACK-based recovery (RFC 6675),
 * CUBIC's reduction (RFC 9438), receive buffer auto-tuning, and a table
 * of goodput under loss and delay. */
#include <time.h>

#include "tcp_harness.h"

/* RFC 9293 §3.8.6.2.1, sender SWS avoidance: data the window holds back
 * goes once the window lets at least half the largest window the peer
 * offered go: here 500 bytes of a window that was 1000. */
static void sws_half_window(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_mss = true, .mss = 1460};
	static uint8_t buf[2000];
	int id = tcp_open(h->e);
	uint32_t iss = h_syn_sent(h, id, 0), p = PEER_ISS + 1;

	(void)state;
	h_in_opt(h, TCP_SYN | TCP_ACK, PEER_ISS, iss + 1, 1000, NULL, 0, &o,
		 10);
	h_expect(h, TCP_ACK, iss + 1, p);
	assert_int_equal(h_send(h, id, buf, sizeof(buf), 20), sizeof(buf));
	assert_int_equal(h_expect(h, TCP_ACK, iss + 1, p)->len, 1000);
	h_none(h);
	h_in_opt(h, TCP_ACK, p, iss + 1001, 500, NULL, 0, NULL, 30);
	assert_int_equal(h_expect(h, TCP_ACK, iss + 1001, p)->len, 500);
	h_none(h);
	h_free(h);
}

/* Nagle (RFC 896): a small segment waits while data is unacknowledged,
 * unless the connection is set nodelay. */
static void nagle(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);

	(void)state;
	h_send(h, id, "a", 1, 10);
	h_expect(h, TCP_ACK | TCP_PSH, iss + 1, p);
	h_send(h, id, "b", 1, 11);
	h_send(h, id, "c", 1, 12);
	h_none(h);
	h_in(h, TCP_ACK, p, iss + 2, NULL, 0, 20);
	assert_int_equal(h_expect(h, TCP_ACK | TCP_PSH, iss + 2, p)->len, 2);
	assert_memory_equal(h->last.data, "bc", 2);
	assert_int_equal(tcp_set_nodelay(h->e, id, true), 0);
	h_send(h, id, "d", 1, 30);
	assert_int_equal(h_expect(h, TCP_ACK | TCP_PSH, iss + 4, p)->len, 1);
	h_free(h);
}

/* RFC 6675: SACKs for segments 3..5 mark 1 and 2 lost: exactly those are
 * resent, nothing SACKed is; CUBIC cuts the window to 0.7. */
static void sack_recovery(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_ts = true, .tsval = 200, .nsack = 1};
	uint32_t iss, p = PEER_ISS + 1, s3;
	struct tcp_info_snap i;
	int id = h_sack_server(h, &iss, 5), k;

	(void)state;
	s3 = iss + 1 + 2 * 1448;
	assert_string_equal(h_info(h, id).cc, "cubic");
	assert_int_equal(h_info(h, id).cwnd, 14480);
	o.sack[0].left = s3;
	for (k = 1; k <= 3; k++) {
		o.sack[0].right = s3 + 1448u * k;
		h_in_opt(h, TCP_ACK, p, iss + 1, 65535, NULL, 0, &o, 30 + k);
	}
	h_expect(h, TCP_ACK, iss + 1, p);
	h_expect(h, TCP_ACK, iss + 1 + 1448, p);
	h_none(h);
	i = h_info(h, id);
	assert_int_equal(i.fast_retrans, 1);
	assert_int_equal(i.retrans_segs, 2);
	assert_int_equal(i.ssthresh, 10136); /* 0.7 * 14480 */
	assert_int_equal(i.cwnd, 10136);
	o.nsack = 0;
	h_in_opt(h, TCP_ACK, p, iss + 1 + 5 * 1448, 65535, NULL, 0, &o, 40);
	h_none(h);
	assert_int_equal(tcp_dispatch(h->e, 40), TCP_NEVER);
	h_free(h);
}

/* RACK (RFC 8985 §6.2): two segments SACKed above a hole are not yet a
 * loss by RFC 6675's count, but once the reordering window (SRTT / 4, here
 * the 2 ms floor) has passed the hole is resent in fast recovery. That
 * resend is lost too, and the tail probe after it: after the RTO the
 * resend skips what the peer SACKed. */
static void rto_skips_sacked(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_ts = true, .tsval = 200, .nsack = 1};
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_sack_server(h, &iss, 5);
	tcp_time t;

	(void)state;
	o.sack[0].left = iss + 1 + 1448;
	o.sack[0].right = iss + 1 + 3 * 1448;
	h_in_opt(h, TCP_ACK, p, iss + 1, 65535, NULL, 0, &o, 30);
	h_none(h); /* two segments SACKed: maybe reordered */
	t = tcp_dispatch(h->e, 30);
	assert_true(t <= 30 + 2 * MS);
	tcp_dispatch(h->e, t);
	h_expect(h, TCP_ACK, iss + 1, p);
	h_none(h);
	assert_int_equal(h_info(h, id).fast_retrans, 1);
	t = tcp_dispatch(h->e, t); /* the probe: the last segment again */
	tcp_dispatch(h->e, t);
	h_expect(h, TCP_ACK | TCP_PSH, iss + 1 + 4 * 1448, p);
	h_none(h);
	t = tcp_dispatch(h->e, t);
	tcp_dispatch(h->e, t);
	h_expect(h, TCP_ACK, iss + 1, p);
	h_in_opt(h, TCP_ACK, p, iss + 1 + 1448, 65535, NULL, 0, &o, t + 10);
	h_expect(h, TCP_ACK, iss + 1 + 3 * 1448, p);
	h_expect(h, TCP_ACK | TCP_PSH, iss + 1 + 4 * 1448, p);
	h_none(h);
	assert_int_equal(h_info(h, id).rto_timeouts, 1);
	assert_int_equal(h_info(h, id).retrans_segs, 5);
	h_free(h);
}

/* A SACK block that ends past SND.NXT acknowledges data never sent: it
 * is ignored whole (Linux's tcp_is_sackblock_valid()), so it makes no
 * hole for RACK to resend, where the valid block above did. */
static void sack_past_snd_nxt_ignored(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_ts = true, .tsval = 200, .nsack = 1};
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_sack_server(h, &iss, 5);
	tcp_time t;

	(void)state;
	o.sack[0].left = iss + 1 + 1448;
	o.sack[0].right = iss + 1 + 5 * 1448 + 1;
	h_in_opt(h, TCP_ACK, p, iss + 1, 65535, NULL, 0, &o, 30);
	h_none(h);
	t = tcp_dispatch(h->e, 30);
	tcp_dispatch(h->e, t);
	tcp_dispatch(h->e, 30 + 2 * MS);
	h_drain(h);
	assert_int_equal(h_info(h, id).fast_retrans, 0);
	h_free(h);
}

/* ... and a hole filled within the reordering window was only
 * reordered: nothing is resent, the window is not cut. */
static void rack_reordered(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_ts = true, .tsval = 200, .nsack = 1};
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_sack_server(h, &iss, 5);
	tcp_time t;

	(void)state;
	o.sack[0].left = iss + 1 + 1448;
	o.sack[0].right = iss + 1 + 3 * 1448;
	h_in_opt(h, TCP_ACK, p, iss + 1, 65535, NULL, 0, &o, 30);
	h_in_opt(h, TCP_ACK, p, iss + 1 + 3 * 1448, 65535, NULL, 0, NULL,
		 1 * MS);
	h_none(h);
	t = tcp_dispatch(h->e, 1 * MS);
	tcp_dispatch(h->e, t); /* the probe for the two left */
	h_expect(h, TCP_ACK | TCP_PSH, iss + 1 + 4 * 1448, p);
	assert_int_equal(h_info(h, id).fast_retrans, 0);
	assert_int_equal(h_info(h, id).ssthresh, UINT32_MAX);
	h_free(h);
}

/* The next deadline after FROM is AT, and there the tail probe goes: the
 * last of the five segments h_sack_server() sent again. */
static void expect_probe(struct harness *h, uint32_t iss, tcp_time from,
			 tcp_time at)
{
	assert_int_equal(tcp_dispatch(h->e, from), at);
	tcp_dispatch(h->e, at);
	assert_int_equal(h_expect(h, TCP_ACK | TCP_PSH, iss + 1 + 4 * 1448,
				  PEER_ISS + 1)
				 ->len,
			 1448);
	h_none(h);
}

/* RFC 8985 §7: the tail of a flight is lost. Two RTTs later (here the
 * 2 ms floor) the last segment goes again; its ACK repairs the loss, so
 * the window takes a fast recovery's cut, and no RTO is needed. */
static void tlp_repairs_tail(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_ts = true, .tsval = 200};
	uint32_t iss, p = PEER_ISS + 1;
	struct tcp_info_snap i;
	int id = h_sack_server(h, &iss, 5);
	tcp_time t;

	(void)state;
	h_in_opt(h, TCP_ACK, p, iss + 1 + 3 * 1448, 65535, NULL, 0, &o, 30);
	h_none(h);
	t = 30 + 2 * MS;
	expect_probe(h, iss, 30, t);
	/* one probe per tail: the RTO is next */
	assert_int_equal(tcp_dispatch(h->e, t), t + h_info(h, id).rto);
	i = h_info(h, id);
	h_in_opt(h, TCP_ACK, p, iss + 1 + 5 * 1448, 65535, NULL, 0, &o, t + 10);
	h_none(h);
	assert_int_equal(tcp_dispatch(h->e, t + 10), TCP_NEVER);
	/* 5 segments of a 10-segment window: the application, not the
	 * window, held the sender back, so the ACK does not grow it (RFC
	 * 7661); then CUBIC cuts */
	assert_int_equal(h_info(h, id).ssthresh, (uint32_t)(i.cwnd * 0.7));
	assert_int_equal(h_info(h, id).cwnd, h_info(h, id).ssthresh);
	assert_int_equal(h_info(h, id).retrans_segs, 1);
	assert_int_equal(h_info(h, id).rto_timeouts, 0);
	h_free(h);
}

/* A lone segment's probe waits for a delayed ACK too (RFC 8985 §7.2:
 * 2 SRTT + 200 ms), which is after the RTO (its floor is 200 ms): the
 * probe goes at the RTO's time in its place, and the window is not cut
 * as by an RTO. */
static void tlp_in_rto_place(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_ts = true, .tsval = 200};
	uint32_t iss, p = PEER_ISS + 1;
	struct tcp_info_snap i;
	int id = h_sack_server(h, &iss, 5);
	tcp_time t;

	(void)state;
	h_in_opt(h, TCP_ACK, p, iss + 1 + 4 * 1448, 65535, NULL, 0, &o, 30);
	h_none(h);
	i = h_info(h, id);
	t = 30 + i.rto;
	expect_probe(h, iss, 30, t);
	assert_int_equal(h_info(h, id).rto_timeouts, 0);
	assert_int_equal(h_info(h, id).cwnd, i.cwnd);
	assert_int_equal(tcp_dispatch(h->e, t), t + i.rto); /* RTO next */
	h_free(h);
}

/* With data waiting for the congestion window, the probe is a new
 * segment; SACKed while everything before it is missing, it shows those
 * lost: fast recovery resends from SND.UNA at once. */
static void tlp_new_data_starts_recovery(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_ts = true, .tsval = 200, .nsack = 1};
	static uint8_t buf[1448 * 10];
	uint32_t iss, p = PEER_ISS + 1, probe = 0;
	struct tcp_info_snap i;
	int id = h_sack_server(h, &iss, 5), k;
	tcp_time t;

	(void)state;
	h_send(h, id, buf, sizeof(buf), 25); /* 5 fit the IW of 10 */
	for (k = 5; k < 10; k++)
		h_expect(h, TCP_ACK, iss + 1 + 1448u * k, p);
	h_none(h);
	t = tcp_dispatch(h->e, 25);
	assert_int_equal(t, 25 + 2 * MS);
	tcp_dispatch(h->e, t);
	probe = iss + 1 + 10 * 1448;
	assert_int_equal(h_expect(h, TCP_ACK, probe, p)->len, 1448);
	h_none(h);
	o.sack[0].left = probe;
	o.sack[0].right = probe + 1448;
	h_in_opt(h, TCP_ACK, p, iss + 1, 65535, NULL, 0, &o, t + 10);
	h_expect(h, TCP_ACK, iss + 1, p);
	i = h_info(h, id);
	assert_int_equal(i.fast_retrans, 1);
	assert_int_equal(i.rto_timeouts, 0);
	assert_int_equal(i.cwnd, 10136); /* CUBIC's 0.7 of 14480 */
	h_free(h);
}

/* Send LEN bytes on ID at *T and ACK each flight, 1 ms later, until all
 * is acknowledged; *T is then the time after. Returns the segments of the
 * first flight. */
static int send_acked(struct harness *h, int id, size_t len, tcp_time *t)
{
	static uint8_t buf[65536];
	uint32_t p = PEER_ISS + 1;
	int first = 0;

	assert_int_equal(h_send(h, id, buf, len, *t), (long)len);
	while (h->n) {
		int n = 0;
		while (h->n) {
			h_next(h);
			n++;
		}
		first = first ? first : n;
		*t += 1 * MS;
		h_in(h, TCP_ACK, p, h->last.seq + h->last.len, NULL, 0, *t);
	}
	assert_int_equal(h_info(h, id).send_q, 0);
	return first;
}

/* RFC 5681 §4.1: after an idle longer than the RTO the ACK clock is gone,
 * and the window grown before must not go out in one burst: it restarts
 * from the initial window (10 segments). Within the RTO it stays. */
static void cwnd_restart_after_idle(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss;
	int id = h_client(h, &iss, 0), k;
	tcp_time t = 10;

	(void)state;
	for (k = 0; k < 6; k++)
		send_acked(h, id, 65536, &t);
	assert_true(h_info(h, id).cwnd > 30 * h_info(h, id).mss);
	t += h_info(h, id).rto / 2;
	assert_true(send_acked(h, id, 65536, &t) > 10); /* not idle */
	t += 60 * SEC;
	assert_int_equal(send_acked(h, id, 65536, &t), 10);
	h_free(h);
}

/* RFC 2018 §4: the block of the latest arrival first, then those
 * reported most recently, so that each block goes in more than one ACK:
 * islands arriving from the highest down are each repeated until three
 * newer ones push them out (with timestamps there is room for three). */
static void sack_blocks_most_recent(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_mss = true,
			      .mss = 1460,
			      .has_ts = true,
			      .tsval = 100,
			      .sack_ok = true};
	uint8_t data[100] = {0};
	uint32_t iss, p = PEER_ISS + 1;
	const struct wire_seg *s;
	int l = tcp_open(h->e), k;

	(void)state;
	tcp_listen(h->e, l, &h->me, 4);
	h_in_opt(h, TCP_SYN, PEER_ISS, 0, 65535, NULL, 0, &o, 0);
	iss = h_next(h)->seq;
	o.has_mss = o.sack_ok = false;
	h_in_opt(h, TCP_ACK, p, iss + 1, 65535, NULL, 0, &o, 10);
	assert_true(tcp_accept(h->e, l) > 0);
	for (k = 4; k >= 1;
	     k--) { /* islands at p + 1000 k, the highest first */
		o.tsval++;
		h_in_opt(h, TCP_ACK, p + 1000u * k, iss + 1, 65535, data,
			 sizeof(data), &o, 20 + k);
		s = h_expect(h, TCP_ACK, iss + 1, p);
	}
	assert_int_equal(s->opt.nsack, 3);
	for (k = 0; k < 3; k++) /* 1 (the latest), then 2 and 3, not 4 */
		assert_int_equal(s->opt.sack[k].left, p + 1000u * (k + 1));
	h_free(h);
}

/* Segment K (from 1) of a sack_server() connection. */
static uint32_t seg(uint32_t iss, unsigned k)
{
	return iss + 1 + 1448u * (k - 1);
}

/* In fast recovery the resend of segment 1 is lost: once new data sent
 * after it is SACKed, segment 1 goes again, without an RTO. */
static void rxt_lost_in_recovery(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_ts = true, .tsval = 200, .nsack = 1};
	static uint8_t buf[1448 * 10];
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_sack_server(h, &iss, 5), k;

	(void)state;
	h_send(h, id, buf, sizeof(buf), 25);
	for (k = 6; k <= 10; k++) /* the IW; segments 11 to 15 wait */
		h_expect(h, TCP_ACK, seg(iss, k), p);
	o.sack[0].left = seg(iss, 2);
	o.sack[0].right = seg(iss, 5);
	h_in_opt(h, TCP_ACK, p, iss + 1, 65535, NULL, 0, &o, 30);
	h_expect(h, TCP_ACK, seg(iss, 1), p); /* fast retransmit */
	h_none(h);
	o.sack[0].right = seg(iss, 9);
	h_in_opt(h, TCP_ACK, p, iss + 1, 65535, NULL, 0, &o, 31);
	for (k = 11; k <= 14; k++) /* pipe 3 of a window of 7 */
		h_expect(h, TCP_ACK, seg(iss, k), p);
	h_none(h);
	o.nsack = 2;
	o.sack[1].left = seg(iss, 11);
	o.sack[1].right = seg(iss, 12);
	h_in_opt(h, TCP_ACK, p, iss + 1, 65535, NULL, 0, &o, 32);
	h_expect(h, TCP_ACK, seg(iss, 1), p); /* its resend was lost */
	h_drain(h);
	assert_int_equal(h_info(h, id).fast_retrans, 1);
	assert_int_equal(h_info(h, id).rto_timeouts, 0);
	h_free(h);
}

/* After an RTO the go-back-N resends segments 2 and 3; 3 is SACKed, 2
 * not: 2's resend was lost, it goes again at once. */
static void rxt_lost_after_rto(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_ts = true, .tsval = 200, .nsack = 1};
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_sack_server(h, &iss, 5);
	tcp_time t;

	(void)state;
	t = tcp_dispatch(h->e, 20);
	tcp_dispatch(h->e, t);
	h_expect(h, TCP_ACK | TCP_PSH, seg(iss, 5), p); /* the probe */
	t = tcp_dispatch(h->e, t);
	tcp_dispatch(h->e, t);
	h_expect(h, TCP_ACK, seg(iss, 1), p); /* the RTO */
	h_none(h);
	h_in_opt(h, TCP_ACK, p, seg(iss, 2), 65535, NULL, 0, NULL, t + 10);
	h_expect(h, TCP_ACK, seg(iss, 2), p);
	h_expect(h, TCP_ACK, seg(iss, 3), p);
	h_none(h);
	o.sack[0].left = seg(iss, 3);
	o.sack[0].right = seg(iss, 4);
	h_in_opt(h, TCP_ACK, p, seg(iss, 2), 65535, NULL, 0, &o, t + 20);
	h_expect(h, TCP_ACK, seg(iss, 2), p);
	h_drain(h);
	assert_int_equal(h_info(h, id).rto_timeouts, 1);
	assert_int_equal(h_info(h, id).fast_retrans, 0);
	h_free(h);
}

/* SIZE bytes from A to B; bytes per simulated second. */
static double transfer(const struct impair_config *imp, uint64_t size,
		       struct tcp_info_snap *rx, double *cpu)
{
	struct tcp_config cfg;
	struct pair *p;
	struct flow f = {.size = size};
	tcp_time t0;
	clock_t c0 = clock();
	double secs;

	tcp_config_default(&cfg);
	cfg.msl = SEC;
	cfg.sndbuf = 4 << 20; /* the sender must not be the limit */
	p = pair_new(imp, &cfg);
	f.tx = p->a;
	f.rx = p->b;
	f.txid = p->ida;
	f.rxid = p->idb;
	t0 = p->now;

	while (f.rcvd < size) {
		flow_write(&f, p->now);
		flow_read(&f, p->now);
		if (f.rcvd < size)
			assert_true(pair_step(p, TCP_NEVER));
	}
	secs = (double)(p->now - t0) / 1e6;
	if (rx)
		tcp_info_get(p->b, p->idb, rx);
	if (cpu)
		*cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
	pair_free(p);
	return (double)size / secs;
}

/* Bounded auto-tuning: on a 20 ms round trip the window grows past the
 * initial 128 KiB, up to rcvbuf_max (4 MiB). */
static void autotune(void **state)
{
	struct impair_config imp = {.delay = 10 * MS};
	struct tcp_info_snap rx;
	double rate = transfer(&imp, 64 << 20, &rx, NULL);

	(void)state;
	printf("# autotune: window %u, %.1f MB/s over 20 ms RTT\n", rx.rcv_wnd,
	       rate / 1e6);
	assert_true(rx.rcv_wnd > 1024 * 1024);
	assert_true(rx.rcv_wnd <= 4 * 1024 * 1024);
	assert_true(rate > 20e6);
}

/* A server connection whose peer offers window scaling (shift 7), MSS
 * 1460; *ISS gets its initial sequence number. */
static int ws_server(struct harness *h, uint32_t *iss)
{
	struct wire_opts o = {
		.has_mss = true, .mss = 1460, .has_ws = true, .ws = 7};
	int l = tcp_open(h->e), id;

	assert_int_equal(tcp_listen(h->e, (uint32_t)l, &h->me, 8), 0);
	h_in_opt(h, TCP_SYN, PEER_ISS, 0, 65535, NULL, 0, &o, 0);
	*iss = h_expect_flags(h, TCP_SYN | TCP_ACK, PEER_ISS + 1)->seq;
	h_in(h, TCP_ACK, PEER_ISS + 1, *iss + 1, NULL, 0, 0);
	id = tcp_accept(h->e, (uint32_t)l);
	assert_true(id > 0);
	return id;
}

/* RFC 7323 §2.4: the receiver honours, as in window, any segment that
 * would have been in window for any ACK it sent. The field counts units
 * of 2^shift, so the edge an ACK shows may fall behind one shown before;
 * a peer that fills every edge it was shown, to the furthest, loses no
 * byte, down to the window's last unit, whose part the ring has no room
 * for is no unit offered. */
static void shown_edges_honoured(void **state)
{
	static const uint8_t d[1000]; /* not a multiple of 128 */
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1, max = 0;
	int id = ws_server(h, &iss), retracted = 0, k;
	tcp_time t = 0;

	(void)state;
	max = p + h_info(h, id).rcv_wnd; /* the SYN,ACK's, not scaled */
	for (k = 0; k < 2000 && (int32_t)(p - max) < 0; k++, t += 500 * MS) {
		uint32_t len = max - p < sizeof(d) ? max - p : sizeof(d);

		h_in(h, TCP_ACK, p, iss + 1, d, len, t);
		p += len;
		tcp_dispatch(h->e, t + 250 * MS); /* the delayed ACK */
		while (h->n) {
			struct wire_seg *s = h_next(h);
			uint32_t edge = s->ack + ((uint32_t)s->wnd << 7);

			assert_int_equal(s->ack, p); /* every byte taken */
			if ((int32_t)(edge - max) < 0)
				retracted++;
			else
				max = edge;
		}
	}
	assert_true((int32_t)(p - max) >= 0); /* closed, all of it taken */
	assert_true(retracted > 0); /* and some ACK showed less than before */
	h_free(h);
}

/* A ring of one unit of 2^shift (shift 14, a 16 KiB buffer): a window
 * under one unit with part of the ring unread says 0 (sub_unit_field()),
 * and the reader then frees the ring in reads under a step (1000 bytes of
 * 16384: the last frees 384). The edge moves by a step at each update but
 * the last, and the ring once empty holds a unit: an ACK must say so, or
 * the peer, shown 0, waits for its persist timer. */
static void unit_ring_reopens(void **state)
{
	static uint8_t d[1000], buf[1000];
	struct tcp_config cfg;
	struct harness *h;
	uint32_t iss, p = PEER_ISS + 1, end;
	uint16_t last = 0;
	int id, acks = 0;
	tcp_time t = SEC;
	long n;

	(void)state;
	tcp_config_default(&cfg);
	cfg.rcvbuf = 16384;
	cfg.rcvbuf_max = 1u << 30;
	h = h_new(&cfg);
	id = ws_server(h, &iss);
	assert_int_equal(h_info(h, id).rcv_wscale, 14);
	end = p + h_info(h, id).rcv_wnd; /* the SYN,ACK's: 16384 */
	assert_int_equal(end - p, 16384);
	while (p != end) {
		uint32_t len = end - p < sizeof(d) ? end - p : sizeof(d);

		h_in(h, TCP_ACK, p, iss + 1, d, len, t);
		p += len;
	}
	tcp_dispatch(h->e, t);
	h_drain(h);
	/* read in pieces, one round each, at one time (no auto-tuning) */
	while ((n = h_recv(h, id, buf, sizeof(buf), t)) > 0) {
		tcp_dispatch(h->e, t);
		while (h->n) {
			struct wire_seg *s = h_next(h);

			assert_int_equal(s->ack, p);
			last = s->wnd;
			acks++;
		}
	}
	assert_true(acks > 0);
	assert_int_equal(last, 1); /* the empty ring's unit, told */
	assert_true(h_info(h, id).rcv_wnd >= 16384);
	h_free(h);
}

/* A window smaller than 2^shift is no zero window: with a shift of 14
 * (rcvbuf_max 1 GiB) and an 8 KiB buffer, all read, the field read 0 for
 * ever and the peer stalled. It says one unit, as Linux rounds up
 * (tcp_select_window()). */
static void scaled_small_window_open(void **state)
{
	static uint8_t d[1400], buf[2000];
	struct tcp_config cfg;
	struct harness *h;
	uint32_t iss, p = PEER_ISS + 1;
	int id, acks = 0;

	(void)state;
	tcp_config_default(&cfg);
	cfg.rcvbuf = 8192;
	cfg.rcvbuf_max = 1u << 30;
	h = h_new(&cfg);
	id = ws_server(h, &iss);
	assert_int_equal(h_info(h, id).rcv_wscale, 14);
	for (int k = 0; k < 20; k++, p += sizeof(d)) {
		tcp_time t = (tcp_time)k * SEC;

		h_in(h, TCP_ACK, p, iss + 1, d, sizeof(d), t);
		assert_int_equal(h_recv(h, id, buf, sizeof(buf), t), sizeof(d));
		tcp_dispatch(h->e, t + 500 * MS); /* the delayed ACK */
		while (h->n) {
			struct wire_seg *s = h_next(h);

			assert_int_equal(s->ack, p + sizeof(d));
			assert_int_equal(s->wnd, 1);
			acks++;
		}
	}
	assert_true(acks >= 10);
	h_free(h);
}

/* Goodput under loss (0, 1, 5, 10 %) and RTT (0.1, 10, 100 ms), in
 * simulated time: printed, and each figure held above a floor. The link's
 * losses come from a fixed seed and the clock is simulated, so a run gives
 * the same figures every time; the floors sit about 25 % under what the
 * engine did when they were set (MB/s, 4 MiB transfers), so that a change
 * that slows recovery or growth fails here rather than only in a table. */
static void goodput_table(void **state)
{
	static const double loss[] = {0, 1, 5, 10};
	static const tcp_time rtt[] = {100, 10 * MS, 100 * MS};
	static const double floor_mbs[4][3] = {
		{1460, 27, 2.7},    /* 1950.8  36.47  3.647 */
		{214, 2.1, 0.19},   /*  286.3   2.863 0.255 */
		{6.9, 0.58, 0.058}, /*    9.238 0.781 0.078 */
		{9.6, 0.33, 0.039}, /*   12.908 0.448 0.052 */
	};
	struct impair_config imp = {0};
	double cpu, mbs[4][3];
	size_t i, j, bad = 0;

	(void)state;
	printf("# goodput (MB/s simulated), 4 MiB transfers\n");
	printf("# loss%%   rtt 0.1ms   rtt 10ms   rtt 100ms\n");
	for (i = 0; i < 4; i++) {
		printf("# %5.0f", loss[i]);
		for (j = 0; j < 3; j++) {
			imp.loss = loss[i];
			imp.delay = rtt[j] / 2;
			mbs[i][j] = transfer(&imp, 4 << 20, NULL, &cpu) / 1e6;
			printf("  %10.3f", mbs[i][j]);
		}
		printf("\n");
	}
	printf("# clean bulk: %.0f MB per CPU second\n",
	       (transfer(NULL, 256 << 20, NULL, &cpu), 256.0 * 1.048576 / cpu));
	for (i = 0; i < 4; i++)
		for (j = 0; j < 3; j++) {
			if (mbs[i][j] >= floor_mbs[i][j])
				continue;
			bad++;
			print_error("loss %.0f%%, rtt %.1f ms: %.3f MB/s, "
				    "under the floor %g\n",
				    loss[i], (double)rtt[j] / MS, mbs[i][j],
				    floor_mbs[i][j]);
		}
	assert_int_equal(bad, 0);
}

/* The peer's segment at SEQ with DATA and the urgent pointer URP (URG). */
static void in_urg(struct harness *h, uint32_t seq, uint32_t ack,
		   const char *data, uint16_t urp, tcp_time now)
{
	struct wire_seg s = {.src = h->peer,
			     .dst = h->me,
			     .seq = seq,
			     .ack = ack,
			     .flags = TCP_ACK | TCP_URG,
			     .wnd = 65535,
			     .urp = urp,
			     .data = (const uint8_t *)data,
			     .len = strlen(data)};
	uint8_t pkt[H_PKT];
	size_t n = wire_build(pkt, sizeof(pkt), &s);

	assert_true(n > 0);
	tcp_input(h->e, pkt, n, now);
	tcp_dispatch(h->e, now);
}

/* ID's newest trace line, from its time on, into LINE. */
static const char *trace_last(struct harness *h, int id, char *line,
			      size_t size)
{
	struct tcp_trace_ent t[64];
	uint64_t dropped;
	int n = tcp_trace_get(h->e, id, t, 64, &dropped);

	assert_true(n > 0);
	tcp_trace_format(&t[n - 1], 0, line, size);
	return strchr(line, ' ') + 1;
}

/* RFC 9293 §3.8.5: urgent data is delivered inline (RFC 6093 §6), the
 * pointer names the byte after it (MUST-31) and may lie beyond the
 * segment, in segments of any length (MUST-30); the user is told when
 * urgent data arrives and none was pending (MUST-32, an event) and can
 * learn how much is left to read (MUST-33, info.urgent); the trace
 * shows the pointer; a smaller pointer later does not move RCV.UP back. */
static void urgent_inline(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);
	char buf[32], line[256], want[256];

	(void)state;
	h->ev[id] = 0;
	in_urg(h, p, iss + 1, "abcdef", 3, 10);
	assert_true(h->ev[id] & TCP_EV_URGENT);
	snprintf(want, sizeof(want),
		 "< ACK,URG seq=%u ack=%u win=65535 len=6 urg=3", p, iss + 1);
	assert_string_equal(trace_last(h, id, line, sizeof(line)), want);
	assert_int_equal(h_info(h, id).urgent, 3);
	assert_int_equal(h_recv(h, id, buf, 2, 10), 2);
	assert_memory_equal(buf, "ab", 2);
	assert_int_equal(h_info(h, id).urgent, 1);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 10), 4);
	assert_memory_equal(buf, "cdef", 4);
	assert_int_equal(h_info(h, id).urgent, 0);
	h_drain(h);

	h->ev[id] = 0;
	in_urg(h, p + 6, iss + 1, "xy", 10, 20); /* up to p + 16 */
	assert_true(h->ev[id] & TCP_EV_URGENT);
	assert_int_equal(h_info(h, id).urgent, 10);
	h->ev[id] = 0;
	in_urg(h, p + 8, iss + 1, "12345678", 2, 30); /* p + 10: behind */
	assert_false(h->ev[id] & TCP_EV_URGENT);
	assert_int_equal(h_info(h, id).urgent, 10);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 30), 10);
	assert_memory_equal(buf, "xy12345678", 10);
	assert_int_equal(h_info(h, id).urgent, 0);
	h_free(h);
}

/* SEND with URGENT (RFC 9293 §3.10.2, §3.8.5): the segments of the send
 * marked urgent carry URG and the pointer to the byte after it (MUST-31),
 * 65535 when it is farther (a 16-bit field), and the trace shows it;
 * data after it, and anything once it is acknowledged, goes without. */
static void urgent_send(void **state)
{
	static const char big[70000];
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);
	struct wire_seg *s;
	char line[256];

	(void)state;
	tcp_set_nodelay(h->e, (uint32_t)id, true);
	assert_int_equal(tcp_send_urgent(h->e, 999), -ENOENT);
	assert_int_equal(tcp_send_urgent(h->e, (uint32_t)id), 0);
	assert_int_equal(tcp_send(h->e, (uint32_t)id, "abc", 3, 0), 3);
	tcp_dispatch(h->e, 0);
	s = h_expect(h, TCP_ACK | TCP_PSH | TCP_URG, iss + 1, p);
	assert_int_equal(s->urp, 3);
	assert_int_equal(s->len, 3);
	assert_non_null(strstr(trace_last(h, id, line, sizeof(line)),
			       "> PSH,ACK,URG "));
	assert_non_null(strstr(line, " len=3 urg=3"));
	h_send(h, id, "defgh", 5, 10);
	s = h_expect(h, TCP_ACK | TCP_PSH, iss + 4, p);
	assert_int_equal(s->urp, 0);
	h_in(h, TCP_ACK, p, iss + 9, NULL, 0, 20);
	h_none(h);

	assert_int_equal(tcp_send_urgent(h->e, (uint32_t)id), 0);
	assert_int_equal(tcp_send(h->e, (uint32_t)id, big, sizeof(big), 30),
			 sizeof(big));
	tcp_dispatch(h->e, 30);
	s = h_next(h);
	assert_true(s->flags & TCP_URG);
	assert_int_equal(s->urp, 0xffff);
	for (tcp_time t = 40; h->n; t += 10) { /* acknowledge it all */
		uint32_t end = 0;

		while (h->n) {
			s = h_next(h);
			end = s->seq + (uint32_t)s->len;
		}
		h_in(h, TCP_ACK, p, end, NULL, 0, t);
	}
	assert_int_equal(h_info(h, id).snd_una, iss + 9 + sizeof(big));
	assert_int_equal(h_send(h, id, "x", 1, 5000), 1);
	assert_false(h_next(h)->flags & TCP_URG);
	h_free(h);
}

/* An urgent write taken in pieces (the send buffer full, the rest as ACKs
 * free it, as a parked write of `data` is served) ends its urgent data
 * after its last byte, as send(2) with MSG_OOB does: the pointer follows
 * each piece. The write after it is not urgent. */
static void urgent_send_pieces(void **state)
{
	static const char big[20000];
	struct tcp_config cfg;
	struct harness *h;
	uint32_t iss, p = PEER_ISS + 1, up = 0, end = 0;
	size_t sent = 0;
	int id, k;

	(void)state;
	tcp_config_default(&cfg);
	cfg.sndbuf = 8192;
	h = h_new(&cfg);
	id = h_client(h, &iss, 0);
	tcp_set_nodelay(h->e, (uint32_t)id, true);
	assert_int_equal(tcp_send_urgent(h->e, (uint32_t)id), 0);
	for (k = 0; k < 20 && sent < sizeof(big); k++) {
		long n = h_send(h, id, big + sent, sizeof(big) - sent, k * 10);

		assert_true(n > 0);
		assert_true(k > 0 || (size_t)n < sizeof(big)); /* in pieces */
		sent += (size_t)n;
		while (h->n) {
			struct wire_seg *s = h_next(h);

			if (s->flags & TCP_URG)
				up = s->seq + s->urp;
			end = s->seq + (uint32_t)s->len;
		}
		h_in(h, TCP_ACK, p, end, NULL, 0, k * 10 + 5);
	}
	assert_int_equal(sent, sizeof(big));
	assert_int_equal(up, iss + 1 + sizeof(big));
	assert_int_equal(h_send(h, id, "x", 1, 5000), 1);
	assert_false(h_next(h)->flags & TCP_URG);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nagle),
		cmocka_unit_test(sws_half_window),
		cmocka_unit_test(sack_recovery),
		cmocka_unit_test(rto_skips_sacked),
		cmocka_unit_test(sack_past_snd_nxt_ignored),
		cmocka_unit_test(rack_reordered),
		cmocka_unit_test(tlp_repairs_tail),
		cmocka_unit_test(tlp_new_data_starts_recovery),
		cmocka_unit_test(tlp_in_rto_place),
		cmocka_unit_test(cwnd_restart_after_idle),
		cmocka_unit_test(sack_blocks_most_recent),
		cmocka_unit_test(rxt_lost_in_recovery),
		cmocka_unit_test(rxt_lost_after_rto),
		cmocka_unit_test(autotune),
		cmocka_unit_test(shown_edges_honoured),
		cmocka_unit_test(scaled_small_window_open),
		cmocka_unit_test(unit_ring_reopens),
		cmocka_unit_test(goodput_table),
		cmocka_unit_test(urgent_inline),
		cmocka_unit_test(urgent_send),
		cmocka_unit_test(urgent_send_pieces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
