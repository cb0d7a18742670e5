/* Segment scripts: the three-way handshake, the four-way close and every
 * transition of the RFC 9293 §3.3.2 diagram, segment by segment. */
#include "tcp_harness.h"

#define MSL (60 * SEC)

/* The bytes the engine holds. */
static uint64_t mem_bytes(struct harness *h)
{
	struct tcp_mem_info m;

	tcp_mem_get(h->e, 0, &m);
	return m.bytes;
}

/* CLOSED -> SYN_SENT -> ESTABLISHED: SYN, SYN+ACK, ACK exactly; the client
 * is ESTABLISHED on the SYN+ACK. */
static void active_open(void **state)
{
	struct harness *h = h_new(NULL);
	int id = tcp_open(h->e);
	struct tcp_info_snap i;
	struct wire_seg *s;
	uint32_t iss;

	(void)state;
	assert_int_equal(h_connect(h, id, &h->peer, 0, 0), 0);
	s = h_next(h);
	assert_int_equal(s->flags, TCP_SYN);
	assert_true(s->opt.has_mss && s->opt.mss == 1460);
	assert_true(s->opt.has_ws && s->opt.sack_ok && s->opt.has_ts);
	assert_int_equal(s->opt.tsecr, 0);
	assert_true(s->src.port >= 32768 && s->src.port <= 60999);
	h->me.port = s->src.port;
	iss = s->seq;
	i = h_info(h, id);
	assert_int_equal(i.state, TCP_SYN_SENT);
	assert_int_equal(i.iss, iss);
	assert_int_equal(i.snd_nxt, iss + 1);
	assert_int_equal(h->ev[id] & TCP_EV_ESTABLISHED, 0);

	h_in(h, TCP_SYN | TCP_ACK, PEER_ISS, iss + 1, NULL, 0, 100);
	s = h_expect(h, TCP_ACK, iss + 1, PEER_ISS + 1);
	assert_int_equal(s->len, 0);
	h_none(h);
	i = h_info(h, id);
	assert_int_equal(i.state, TCP_ESTABLISHED);
	assert_int_equal(i.irs, PEER_ISS);
	assert_int_equal(i.rcv_nxt, PEER_ISS + 1);
	assert_int_equal(i.snd_una, iss + 1);
	assert_int_equal(i.snd_wnd, 65535);
	assert_false(i.ts_ok || i.sack_ok); /* the peer offered none */
	assert_int_equal(i.snd_wscale, 0);
	assert_int_equal(i.mss, 536); /* no MSS option: RFC 9293 §3.7.1 */
	assert_int_equal(i.srtt, 100);
	assert_true(h->ev[id] & TCP_EV_ESTABLISHED);
	assert_int_equal(h_send(h, id, "x", 1, 100), 1);
	h_expect(h, TCP_ACK | TCP_PSH, iss + 1, PEER_ISS + 1);
	h_free(h);
}

/* RFC 7323 §2.3: a window scale above 14 is taken as 14. A peer that
 * announces 15 and then a window of 2 gives 2 << 14, not 2 << 15. */
static void wscale_above_14(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_ws = true, .ws = 15};
	int id = tcp_open(h->e);
	uint32_t iss = h_syn_sent(h, id, 0);
	struct tcp_info_snap i;

	(void)state;
	h_in_opt(h, TCP_SYN | TCP_ACK, PEER_ISS, iss + 1, 65535, NULL, 0, &o,
		 10);
	h_expect(h, TCP_ACK, iss + 1, PEER_ISS + 1);
	assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	assert_int_equal(h_info(h, id).snd_wscale, 14);
	h_in_opt(h, TCP_ACK, PEER_ISS + 1, iss + 1, 2, NULL, 0, NULL, 20);
	i = h_info(h, id);
	assert_int_equal(i.snd_wnd, 2u << 14);
	h_free(h);
}

/* Without an MSS option the send MSS is 536 for IPv4 (above) and 1220 for
 * IPv6 (RFC 9293 §3.7.1, MUST-15; RFC 8200's minimum MTU). */
static void default_mss_ipv6(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	int id;
	uint32_t iss;

	(void)state;
	tcp_config_default(&cfg);
	ep6(&cfg.addr6, 1, 0);
	h = h_new(&cfg);
	ep6(&h->me, 1, 80);
	ep6(&h->peer, 2, 40000);
	id = h_client(h, &iss, 0);
	assert_int_equal(h_info(h, id).mss, 1220);
	h_free(h);
}

/* Send SIZE bytes on ID (Nagle off) and check every segment that goes:
 * its data and options within MAX bytes (RFC 6691), its data within the
 * effective MSS. The bytes that went. */
static uint32_t sends_within(struct harness *h, int id, uint16_t max,
			     tcp_time now)
{
	static const char big[4000];
	uint32_t sent = 0;

	tcp_set_nodelay(h->e, (uint32_t)id, true);
	assert_int_equal(h_send(h, id, big, sizeof(big), now), sizeof(big));
	while (h->n) {
		struct wire_seg *s = h_next(h);

		assert_true(s->len <= h_info(h, id).mss);
		assert_true(s->len + wire_opts_len(&s->opt) <= max);
		sent += (uint32_t)s->len;
	}
	return sent;
}

/* An active open to a peer whose SYN,ACK announces MSS (with
 * timestamps: TS); ESTABLISHED, its SYN,ACK's ACK taken. */
static int client_mss(struct harness *h, uint16_t mss, bool ts, tcp_time now)
{
	struct wire_opts o = {.has_mss = true, .mss = mss, .has_ts = ts};
	int id = tcp_open(h->e);
	uint32_t iss = h_syn_sent(h, id, now);

	h_in_opt(h, TCP_SYN | TCP_ACK, PEER_ISS, iss + 1, 65535, NULL, 0, &o,
		 now);
	h_drain(h);
	assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	return id;
}

/* RFC 9293 §3.7.1 (MUST-16), RFC 6691: a peer's MSS option of any size
 * bounds what the engine sends (not only one of 64 or more): 63 is 63,
 * not the 536 of no option; below 48 (Linux's tcp_min_snd_mss) the floor
 * is 48. With timestamps the options come out of it. The same through a
 * listener, and through a SYN cookie, whose smallest MSS is that floor. */
static void tiny_mss(void **state)
{
	struct tcp_config cfg;
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_mss = true, .mss = 1};
	int id, l;
	uint32_t iss;

	/* announced, timestamps, the effective MSS, the bound on the wire */
	static const struct {
		uint16_t ann;
		bool ts;
		uint16_t eff, max;
	} t[] = {{63, false, 63, 63},
		 {1, false, 48, 48},
		 {100, true, 88, 100},
		 {0, true, 36, 48}};

	(void)state;
	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		h->peer.port++;
		id = client_mss(h, t[k].ann, t[k].ts, 0);
		assert_int_equal(h_info(h, id).mss, t[k].eff);
		assert_int_equal(sends_within(h, id, t[k].max, 0),
				 10 * t[k].eff); /* the initial window */
	}
	h->peer.port++;
	l = tcp_open(h->e);
	assert_int_equal(tcp_listen(h->e, (uint32_t)l, &h->me, 4), 0);
	h_in_opt(h, TCP_SYN, PEER_ISS, 0, 65535, NULL, 0, &o, 0);
	iss = h_expect_flags(h, TCP_SYN | TCP_ACK, PEER_ISS + 1)->seq;
	h_in(h, TCP_ACK, PEER_ISS + 1, iss + 1, NULL, 0, 0);
	id = tcp_accept(h->e, (uint32_t)l);
	assert_true(id > 0);
	assert_int_equal(sends_within(h, id, 48, 0), 10 * 48);
	h_free(h);

	tcp_config_default(&cfg);
	cfg.max_half_open = 0; /* every SYN gets a cookie */
	h = h_new(&cfg);
	l = tcp_open(h->e);
	assert_int_equal(tcp_listen(h->e, (uint32_t)l, &h->me, 4), 0);
	o.mss = 60;
	h_in_opt(h, TCP_SYN, PEER_ISS, 0, 65535, NULL, 0, &o, 0);
	iss = h_expect_flags(h, TCP_SYN | TCP_ACK, PEER_ISS + 1)->seq;
	h_in(h, TCP_ACK, PEER_ISS + 1, iss + 1, NULL, 0, 0);
	id = tcp_accept(h->e, (uint32_t)l);
	assert_true(id > 0);
	assert_int_equal(h_info(h, id).mss, 48);
	assert_true(sends_within(h, id, 60, 0) > 0);
	h_free(h);
}

/* LISTEN -> SYN_RECEIVED -> ESTABLISHED: the server on the ACK. */
static void passive_open(void **state)
{
	struct harness *h = h_new(NULL);
	int l = tcp_open(h->e), id;
	struct wire_opts o = {.has_mss = true,
			      .mss = 1400,
			      .has_ws = true,
			      .ws = 2,
			      .sack_ok = true,
			      .has_ts = true,
			      .tsval = 777};
	struct tcp_info_snap i;
	struct wire_seg *s;
	uint32_t iss;

	(void)state;
	assert_int_equal(tcp_listen(h->e, l, &h->me, 4), 0);
	assert_int_equal(h_state(h, l), TCP_LISTEN);
	h_in_opt(h, TCP_SYN, PEER_ISS, 0, 8192, NULL, 0, &o, 5000);
	s = h_expect_flags(h, TCP_SYN | TCP_ACK, PEER_ISS + 1);
	iss = s->seq;
	assert_true(s->opt.has_mss && s->opt.has_ws && s->opt.sack_ok);
	assert_true(s->opt.has_ts && s->opt.tsecr == 777);
	assert_int_equal(s->opt.ws, 7);
	assert_int_equal(tcp_accept(h->e, l), -EAGAIN);
	assert_int_equal(h_info(h, l).accept_q, 0);

	o.tsval = 778;
	o.tsecr = s->opt.tsval;
	o.has_mss = o.has_ws = o.sack_ok = false;
	h_in_opt(h, TCP_ACK, PEER_ISS + 1, iss + 1, 100, NULL, 0, &o, 5100);
	h_none(h);
	assert_true(h->ev[l] & TCP_EV_ACCEPT);
	assert_int_equal(h_info(h, l).accept_q, 1);
	id = tcp_accept(h->e, l);
	assert_true(id > 0 && id != l);
	assert_int_equal(tcp_accept(h->e, l), -EAGAIN);
	i = h_info(h, id);
	assert_int_equal(i.state, TCP_ESTABLISHED);
	assert_int_equal(i.snd_wnd, 400); /* 100 << 2 */
	assert_int_equal(i.snd_wscale, 2);
	assert_int_equal(i.rcv_wscale, 7);
	assert_true(i.ts_ok && i.sack_ok);
	assert_int_equal(i.mss, 1400 - 12);
	assert_int_equal(i.srtt, 100);
	assert_memory_equal(&i.remote, &h->peer, sizeof(h->peer));
	/* timestamps on: the RST of an abort carries one too (RFC 7323
	 * §3.2 SHOULD, as Linux), with no echo (the ACK bit is off) */
	assert_int_equal(h_abort(h, id, 5200), 0);
	s = h_expect(h, TCP_RST, iss + 1, 0);
	assert_true(s->opt.has_ts);
	assert_int_equal(s->opt.tsecr, 0);
	h_free(h);
}

/* The four-way close, active side: FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT
 * -> (2 MSL) -> CLOSED, with data from the passive side between the
 * second and third segments: a half-close (shutdown), so it is read. */
static void close_active(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);
	char buf[16];
	tcp_time t;

	(void)state;
	assert_int_equal(h_shutdown(h, id, 1000), 0);
	h_expect(h, TCP_FIN | TCP_ACK, iss + 1, p);
	assert_int_equal(h_state(h, id), TCP_FIN_WAIT_1);
	assert_int_equal(h_send(h, id, "x", 1, 1000), -EPIPE);

	h_in(h, TCP_ACK, p, iss + 2, NULL, 0, 2000);
	h_none(h);
	assert_int_equal(h_state(h, id), TCP_FIN_WAIT_2);

	h_in(h, TCP_ACK | TCP_PSH, p, iss + 2, "late data", 9, 3000);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 3000), 9);
	assert_memory_equal(buf, "late data", 9);
	p += 9;
	h_in(h, TCP_FIN | TCP_ACK, p, iss + 2, NULL, 0, 4000);
	h_expect(h, TCP_ACK, iss + 2, p + 1);
	assert_int_equal(h_state(h, id), TCP_TIME_WAIT);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 4000), 0);

	t = tcp_dispatch(h->e, 4000);
	assert_int_equal(t, 4000 + 2 * MSL);
	tcp_dispatch(h->e, t - 1);
	assert_int_equal(h_state(h, id), TCP_TIME_WAIT);
	tcp_dispatch(h->e, t);
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	assert_int_equal(h_info(h, id).error, 0);
	assert_true(h->ev[id] & TCP_EV_CLOSED);
	h_none(h);
	assert_int_equal(tcp_dispatch(h->e, t), TCP_NEVER);
	h_free(h);
}

/* RFC 9293 §3.6 (SHLD-2), RFC 1122 §4.2.2.13: after the user's close
 * (not a shutdown) nobody reads: new data is answered with a RST and the
 * connection ends; a retransmission of data already read is only
 * acknowledged; reads after the close give end of file. */
static void close_then_data(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);
	char buf[16];

	(void)state;
	h_in(h, TCP_ACK | TCP_PSH, p, iss + 1, "ab", 2, 500);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 500), 2);
	h_drain(h);
	assert_int_equal(h_close(h, id, 1000), 0);
	h_expect(h, TCP_FIN | TCP_ACK, iss + 1, p + 2);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 1000), 0);
	h_in(h, TCP_ACK, p + 2, iss + 2, NULL, 0, 2000);
	assert_int_equal(h_state(h, id), TCP_FIN_WAIT_2);
	h_in(h, TCP_ACK | TCP_PSH, p, iss + 2, "ab", 2, 2500); /* old */
	h_expect(h, TCP_ACK, iss + 2, p + 2);
	assert_int_equal(h_state(h, id), TCP_FIN_WAIT_2);
	h_in(h, TCP_ACK | TCP_PSH, p + 2, iss + 2, "late data", 9, 3000);
	h_expect(h, TCP_RST, iss + 2, 0);
	h_none(h);
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	assert_int_equal(h_info(h, id).error, ECONNABORTED);
	assert_non_null(strstr(h_info(h, id).why, "after close"));
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 3000), -ECONNABORTED);
	h_free(h);
}

/* ... and a close with received data still unread sends a RST, not a
 * FIN (the same rule, as Linux's close(2)), while the peer can take one;
 * the unread data is purged, and so it is in TIME_WAIT, where no RST
 * goes. A shutdown with unread data sends its FIN and reading goes on. */
static void close_unread(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0), id2;
	uint64_t before;
	char buf[16];

	(void)state;
	h_in(h, TCP_ACK | TCP_PSH, p, iss + 1, "unread", 6, 500);
	h_drain(h);
	before = mem_bytes(h);
	assert_int_equal(h_close(h, id, 1000), 0);
	h_expect(h, TCP_RST, iss + 1, 0);
	h_none(h);
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	assert_non_null(strstr(h_info(h, id).why, "unread"));
	/* the data is purged (Linux's tcp_close), its memory freed: a read
	 * gives the error the connection ended with, not the lost bytes */
	assert_int_equal(tcp_readable(h->e, id), 0);
	assert_int_equal(h_info(h, id).recv_q, 0);
	assert_true(mem_bytes(h) < before);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 1000), -ECONNABORTED);

	h->peer.port++;
	id2 = h_client(h, &iss, 2000);
	h_in(h, TCP_ACK | TCP_PSH, p, iss + 1, "unread", 6, 2500);
	h_drain(h);
	assert_int_equal(h_shutdown(h, id2, 3000), 0);
	h_expect(h, TCP_FIN | TCP_ACK, iss + 1, p + 6);
	h_in(h, TCP_ACK | TCP_PSH, p + 6, iss + 2, "more", 4, 3500);
	assert_int_equal(h_recv(h, id2, buf, sizeof(buf), 3500), 10);
	assert_memory_equal(buf, "unreadmore", 10);
	assert_int_equal(h_state(h, id2), TCP_FIN_WAIT_2);
	/* in TIME_WAIT nobody would take a RST: the close leaves it be */
	h_in(h, TCP_ACK | TCP_FIN, p + 10, iss + 2, "z", 1, 4000);
	h_drain(h);
	assert_int_equal(h_state(h, id2), TCP_TIME_WAIT);
	assert_int_equal(h_close(h, id2, 4000), 0);
	h_none(h);
	assert_int_equal(h_state(h, id2), TCP_TIME_WAIT);
	assert_int_equal(h_recv(h, id2, buf, sizeof(buf), 4000), 0); /* gone */
	h_free(h);
}

/* Server ID closes first and the peer's FIN (at P, timestamp TSV when
 * TS) brings it to TIME_WAIT. */
static void to_time_wait(struct harness *h, int id, uint32_t iss, uint32_t p,
			 bool ts, uint32_t tsv)
{
	struct wire_opts o = {.has_ts = ts, .tsval = tsv};

	assert_int_equal(h_close(h, id, 1000), 0);
	h_expect(h, TCP_FIN | TCP_ACK, iss + 1, p);
	h_in_opt(h, TCP_FIN | TCP_ACK, p, iss + 2, 65535, NULL, 0, &o, 2000);
	h_drain(h);
	assert_int_equal(h_state(h, id), TCP_TIME_WAIT);
}

/* RFC 9293 §3.6.1 (MAY-2), RFC 6191: a SYN to a connection in TIME_WAIT
 * whose port has a listener opens a new connection when its sequence
 * number is above the old incarnation's (its ISS above the old one's,
 * Linux's snd_nxt + 65537); an older one is dropped silently. */
static void time_wait_reopen(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_server(h, &iss, 0), l = 1, id2;
	struct wire_seg *s;

	(void)state;
	to_time_wait(h, id, iss, p, false, 0);
	h_in(h, TCP_SYN, p, 0, NULL, 0, 3000); /* not newer: dropped */
	h_none(h);
	assert_int_equal(h_state(h, id), TCP_TIME_WAIT);
	h_in(h, TCP_SYN, p + 100000, 0, NULL, 0, 4000);
	s = h_expect_flags(h, TCP_SYN | TCP_ACK, p + 100001);
	assert_int_equal(s->seq, iss + 2 + 65537);
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	assert_int_equal(h_info(h, id).error, 0);
	h_in(h, TCP_ACK, p + 100001, iss + 2 + 65538, NULL, 0, 5000);
	id2 = tcp_accept(h->e, (uint32_t)l);
	assert_true(id2 > 0 && id2 != id);
	assert_int_equal(h_state(h, id2), TCP_ESTABLISHED);
	h_free(h);
}

/* ... with timestamps the SYN's TSval decides (RFC 6191 §2): an older one
 * is dropped whatever its sequence number, a newer one opens even with a
 * lower sequence number. */
static void time_wait_reopen_ts(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_ts = true};
	uint32_t iss, p = PEER_ISS + 1;
	int l, id = h_server_ts(h, 500, &l, &iss, 0);

	(void)state;
	to_time_wait(h, id, iss, p, true, 700);
	o.tsval = 650;
	h_in_opt(h, TCP_SYN, p + 100000, 0, 65535, NULL, 0, &o, 3000);
	h_none(h);
	assert_int_equal(h_state(h, id), TCP_TIME_WAIT);
	o.tsval = 800;
	h_in_opt(h, TCP_SYN, PEER_ISS - 5000, 0, 65535, NULL, 0, &o, 4000);
	h_expect_flags(h, TCP_SYN | TCP_ACK, PEER_ISS - 4999);
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	h_free(h);
}

/* ... an old incarnation without timestamps and a SYN with them: the new
 * one is honoured whatever its sequence number (RFC 6191 §2), its
 * timestamps then telling its segments from the old one's. */
static void time_wait_reopen_gains_ts(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_ts = true, .tsval = 5};
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_server(h, &iss, 0);

	(void)state;
	to_time_wait(h, id, iss, p, false, 0);
	h_in_opt(h, TCP_SYN, p - 5000, 0, 65535, NULL, 0, &o, 3000);
	h_expect_flags(h, TCP_SYN | TCP_ACK, p - 4999);
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	h_free(h);
}

/* The passive side: CLOSE_WAIT (EOF, still sending) -> LAST_ACK ->
 * CLOSED. */
static void close_passive(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_server(h, &iss, 0);
	char buf[8];

	(void)state;
	h_in(h, TCP_FIN | TCP_ACK, p, iss + 1, NULL, 0, 1000);
	h_expect(h, TCP_ACK, iss + 1, p + 1);
	assert_int_equal(h_state(h, id), TCP_CLOSE_WAIT);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 1000), 0);
	assert_true(h->ev[id] & TCP_EV_READABLE);

	assert_int_equal(h_send(h, id, "bye", 3, 1100), 3);
	h_expect(h, TCP_ACK | TCP_PSH, iss + 1, p + 1);
	assert_int_equal(h_close(h, id, 1200), 0);
	assert_int_equal(h_state(h, id), TCP_LAST_ACK);
	/* The FIN follows at once: Nagle never holds a FIN back. */
	h_expect(h, TCP_FIN | TCP_ACK, iss + 4, p + 1);
	h_in(h, TCP_ACK, p + 1, iss + 4, NULL, 0, 1300);
	h_none(h);
	assert_int_equal(h_state(h, id), TCP_LAST_ACK);
	h_in(h, TCP_ACK, p + 1, iss + 5, NULL, 0, 1400);
	h_none(h);
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	assert_int_equal(h_info(h, id).error, 0);
	assert_int_equal(tcp_dispatch(h->e, 1400), TCP_NEVER);
	h_free(h);
}

/* A client connection shut down at 10, its FIN acknowledged at 20:
 * FIN_WAIT_2. *ISS gets its initial sequence number. */
static int half_closed_client(struct harness *h, uint32_t *iss)
{
	uint32_t p = PEER_ISS + 1;
	int id = h_client(h, iss, 0);

	assert_int_equal(h_shutdown(h, id, 10), 0);
	h_expect(h, TCP_FIN | TCP_ACK, *iss + 1, p);
	h_in(h, TCP_ACK, p, *iss + 2, NULL, 0, 20);
	assert_int_equal(h_state(h, id), TCP_FIN_WAIT_2);
	return id;
}

/* Half-close: shutdown sends FIN, receiving continues. */
static void half_close(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = half_closed_client(h, &iss);
	char buf[8];

	(void)state;
	h_in(h, TCP_ACK, p, iss + 2, "abc", 3, 30);
	h_in(h, TCP_ACK, p + 3, iss + 2, "def", 3, 31);
	/* Every second segment is ACKed at once (RFC 5681 §4.2) only when
	 * full-sized: these wait for the delayed ACK. */
	h_none(h);
	assert_int_equal(tcp_dispatch(h->e, 31), 30 + 40 * MS);
	tcp_dispatch(h->e, 30 + 40 * MS);
	h_expect(h, TCP_ACK, iss + 2, p + 6);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 50 * MS), 6);
	assert_memory_equal(buf, "abcdef", 6);
	h_free(h);
}

/* close after shutdown, in FIN_WAIT_2 with nothing to read: no change of
 * state, but a read now gives end of file at once, so readers and pollers
 * that waited for the peer's data are told (TCP_EV_READABLE). */
static void close_after_shutdown_wakes(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss;
	int id = half_closed_client(h, &iss);
	char buf[8];

	(void)state;
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 30), -EAGAIN);
	assert_false(tcp_ready(h->e, id) & TCP_READY_IN);
	h->ev[id] = 0;
	assert_int_equal(h_close(h, id, 40), 0);
	h_none(h);
	assert_int_equal(h_state(h, id), TCP_FIN_WAIT_2);
	assert_true(h->ev[id] & TCP_EV_READABLE);
	assert_true(tcp_ready(h->e, id) & TCP_READY_IN);
	assert_int_equal(h_recv(h, id, buf, sizeof(buf), 50), 0);
	h_free(h);
}

/* A closed connection gives up FIN_WAIT_2 after 2 MSL without the peer's
 * FIN; a half-closed one (shutdown) keeps waiting. */
static void fin_wait_2_limit(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, jss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);
	tcp_time msl = h->cfg.msl;

	(void)state;
	assert_int_equal(h_close(h, id, 10), 0);
	h_expect(h, TCP_FIN | TCP_ACK, iss + 1, p);
	h_in(h, TCP_ACK, p, iss + 2, NULL, 0, 20);
	assert_int_equal(h_state(h, id), TCP_FIN_WAIT_2);
	assert_int_equal(tcp_dispatch(h->e, 20), 20 + 2 * msl);
	tcp_dispatch(h->e, 20 + 2 * msl - 1);
	assert_int_equal(h_state(h, id), TCP_FIN_WAIT_2);
	tcp_dispatch(h->e, 20 + 2 * msl);
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	assert_int_equal(h_info(h, id).error, 0);
	h_none(h);
	h_free(h);

	h = h_new(NULL);
	id = half_closed_client(h, &jss);
	tcp_dispatch(h->e, 20 + 10 * msl);
	assert_int_equal(h_state(h, id), TCP_FIN_WAIT_2);
	h_free(h);
}

/* ID connects from port 5555 to the peer's 5555, whose SYN crosses ours:
 * SYN_RECEIVED, our SYN,ACK taken; our ISS. */
static uint32_t simul_open(struct harness *h, int id)
{
	uint32_t iss;

	h->me.port = 5555;
	assert_int_equal(h_connect(h, id, &h->peer, 5555, 0), 0);
	iss = h_next(h)->seq;
	h_in(h, TCP_SYN, PEER_ISS, 0, NULL, 0, 10);
	h_expect(h, TCP_SYN | TCP_ACK, iss, PEER_ISS + 1);
	assert_int_equal(h_state(h, id), TCP_SYN_RECEIVED);
	return iss;
}

/* Simultaneous open (RFC 9293 figure 7): SYN_SENT -> SYN_RECEIVED ->
 * ESTABLISHED. */
static void simultaneous_open(void **state)
{
	struct harness *h = h_new(NULL);
	int id = tcp_open(h->e);
	uint32_t iss = simul_open(h, id);

	(void)state;
	/* The peer's SYN,ACK (figure 7, line 6) acknowledges our SYN: it
	 * completes the handshake at once, with nothing more to send and
	 * no timer left (no SYN,ACK resent a second later) */
	h_in(h, TCP_SYN | TCP_ACK, PEER_ISS, iss + 1, NULL, 0, 20);
	h_none(h);
	assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	assert_true(h->ev[id] & TCP_EV_ESTABLISHED);
	assert_int_equal(tcp_dispatch(h->e, 20), TCP_NEVER);
	/* the peer's ACK of our SYN,ACK, later, changes nothing */
	h_in(h, TCP_ACK, PEER_ISS + 1, iss + 1, NULL, 0, 30);
	h_none(h);
	assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	h_free(h);
}

/* The window of a segment with SYN set is never scaled (RFC 7323 §2.2):
 * the simultaneous open's SYN,ACK, taken as an ACK, included. */
static void simultaneous_open_window(void **state)
{
	struct harness *h = h_new(NULL);
	int id = tcp_open(h->e);
	struct wire_opts o = {.has_ws = true, .ws = 2};
	uint32_t iss;

	(void)state;
	h->me.port = 5555;
	assert_int_equal(h_connect(h, id, &h->peer, 5555, 0), 0);
	iss = h_next(h)->seq;
	h_in_opt(h, TCP_SYN, PEER_ISS, 0, 8192, NULL, 0, &o, 10);
	h_expect(h, TCP_SYN | TCP_ACK, iss, PEER_ISS + 1);
	assert_int_equal(h_info(h, id).snd_wnd, 8192);
	h_in_opt(h, TCP_SYN | TCP_ACK, PEER_ISS, iss + 1, 1000, NULL, 0, &o,
		 20);
	assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	assert_int_equal(h_info(h, id).snd_wnd, 1000); /* not 1000 << 2 */
	h_free(h);
}

/* ... the same when the peer's ACK comes first; a SYN,ACK that does not
 * acknowledge our SYN is still only answered. */
static void simultaneous_open_ack(void **state)
{
	struct harness *h = h_new(NULL);
	int id = tcp_open(h->e);
	uint32_t iss = simul_open(h, id);

	(void)state;
	h_in(h, TCP_SYN | TCP_ACK, PEER_ISS, iss + 7, NULL, 0, 20);
	h_expect(h, TCP_ACK, iss + 1, PEER_ISS + 1);
	assert_int_equal(h_state(h, id), TCP_SYN_RECEIVED);
	h_in(h, TCP_ACK, PEER_ISS + 1, iss + 1, NULL, 0, 30);
	h_none(h);
	assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	h_free(h);
}

/* Close in SYN_RECEIVED (simultaneous open): the FIN goes once our SYN
 * is acknowledged, so the trace reads SYN_RECEIVED -> ESTABLISHED ->
 * FIN_WAIT_1. */
static void close_in_syn_received(void **state)
{
	struct harness *h = h_new(NULL);
	int id = tcp_open(h->e);
	uint32_t iss = simul_open(h, id);

	(void)state;
	assert_int_equal(h_close(h, id, 20), 0);
	h_none(h);
	assert_int_equal(h_state(h, id), TCP_SYN_RECEIVED);
	h_in(h, TCP_ACK, PEER_ISS + 1, iss + 1, NULL, 0, 30);
	h_expect(h, TCP_FIN | TCP_ACK, iss + 1, PEER_ISS + 1);
	assert_int_equal(h_state(h, id), TCP_FIN_WAIT_1);
	h_free(h);
}

/* Simultaneous close (figure 13): FIN_WAIT_1 -> CLOSING -> TIME_WAIT. */
static void simultaneous_close(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);

	(void)state;
	assert_int_equal(h_close(h, id, 100), 0);
	h_expect(h, TCP_FIN | TCP_ACK, iss + 1, p);
	h_in(h, TCP_FIN | TCP_ACK, p, iss + 1, NULL, 0, 110);
	h_expect(h, TCP_ACK, iss + 2, p + 1);
	assert_int_equal(h_state(h, id), TCP_CLOSING);
	h_in(h, TCP_ACK, p + 1, iss + 2, NULL, 0, 120);
	assert_int_equal(h_state(h, id), TCP_TIME_WAIT);
	tcp_dispatch(h->e, 120 + 2 * MSL);
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	h_free(h);
}

/* FIN_WAIT_1 -> TIME_WAIT directly: the peer's FIN ACKs ours. */
static void fin_ack_together(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);

	(void)state;
	h_close(h, id, 100);
	h_expect(h, TCP_FIN | TCP_ACK, iss + 1, p);
	h_in(h, TCP_FIN | TCP_ACK, p, iss + 2, NULL, 0, 110);
	h_expect(h, TCP_ACK, iss + 2, p + 1);
	assert_int_equal(h_state(h, id), TCP_TIME_WAIT);
	/* A retransmitted FIN is ACKed again and restarts 2 MSL. */
	h_in(h, TCP_FIN | TCP_ACK, p, iss + 2, NULL, 0, MSL);
	h_expect(h, TCP_ACK, iss + 2, p + 1);
	tcp_dispatch(h->e, 110 + 2 * MSL);
	assert_int_equal(h_state(h, id), TCP_TIME_WAIT);
	tcp_dispatch(h->e, 3 * MSL);
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	h_free(h);
}

/* RFC 9293 figure 8: an old duplicate SYN gets a SYN,ACK, the peer's RST
 * sends the half-open connection back to LISTEN, and only the real SYN
 * makes a connection. */
static void old_duplicate_syn(void **state)
{
	struct harness *h = h_new(NULL);
	int l = tcp_open(h->e), id;
	struct tcp_stats st;
	uint32_t iss;

	(void)state;
	assert_int_equal(tcp_listen(h->e, l, &h->me, 4), 0);
	h_in(h, TCP_SYN, 90, 0, NULL, 0, 0);
	iss = h_expect_flags(h, TCP_SYN | TCP_ACK, 91)->seq;
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.half_open, 1);
	h_in(h, TCP_RST, 91, 0, NULL, 0, 10);
	h_none(h);
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.half_open, 0);
	assert_int_equal(st.conns, 1);

	h_in(h, TCP_SYN, 100, 0, NULL, 0, 20);
	iss = h_expect_flags(h, TCP_SYN | TCP_ACK, 101)->seq;
	h_in(h, TCP_ACK, 101, iss + 1, NULL, 0, 30);
	id = tcp_accept(h->e, l);
	assert_true(id > 0);
	assert_int_equal(h_info(h, id).irs, 100);
	assert_int_equal(tcp_accept(h->e, l), -EAGAIN);
	h_free(h);
}

/* A retransmitted SYN (our SYN,ACK was lost) gets the SYN,ACK again. */
static void syn_ack_lost(void **state)
{
	struct harness *h = h_new(NULL);
	int l = tcp_open(h->e), id;
	uint32_t iss;

	(void)state;
	tcp_listen(h->e, l, &h->me, 4);
	h_in(h, TCP_SYN, 500, 0, NULL, 0, 0);
	iss = h_expect_flags(h, TCP_SYN | TCP_ACK, 501)->seq;
	h_in(h, TCP_SYN, 500, 0, NULL, 0, 300 * MS);
	h_expect(h, TCP_SYN | TCP_ACK, iss, 501);
	h_in(h, TCP_ACK, 501, iss + 1, NULL, 0, 310 * MS);
	id = tcp_accept(h->e, l);
	assert_true(id > 0);
	assert_int_equal(h_info(h, id).srtt, 0); /* Karn: no sample */
	h_free(h);
}

/* The client's half of figure 8: a SYN,ACK for an old SYN gets RST and
 * SYN_SENT goes on. */
static void syn_sent_bad_ack(void **state)
{
	struct harness *h = h_new(NULL);
	int id = tcp_open(h->e);
	uint32_t iss;

	(void)state;
	iss = h_syn_sent(h, id, 0);
	h_in(h, TCP_SYN | TCP_ACK, 300, iss - 5, NULL, 0, 10);
	h_expect(h, TCP_RST, iss - 5, 0);
	assert_int_equal(h_state(h, id), TCP_SYN_SENT);
	/* SEG.ACK =< ISS is unacceptable (§3.10.7.3): an ACK of ISS itself
	 * acknowledges nothing, not even the SYN */
	h_in(h, TCP_SYN | TCP_ACK, 300, iss, NULL, 0, 15);
	h_expect(h, TCP_RST, iss, 0);
	assert_int_equal(h_state(h, id), TCP_SYN_SENT);
	h_in(h, TCP_RST | TCP_ACK, 0, iss, NULL, 0, 15);
	h_none(h);
	assert_int_equal(h_state(h, id), TCP_SYN_SENT);
	/* A RST without an acceptable ACK is ignored (RFC 5961 §3.2). */
	h_in(h, TCP_RST | TCP_ACK, 0, iss + 7, NULL, 0, 20);
	h_in(h, TCP_RST, 0, 0, NULL, 0, 20);
	h_none(h);
	assert_int_equal(h_state(h, id), TCP_SYN_SENT);
	h_free(h);
}

/* SYN to a closed port: RST,ACK; the connector sees ECONNREFUSED. */
static void refused(void **state)
{
	struct harness *h = h_new(NULL);
	int id = tcp_open(h->e);
	struct tcp_stats st;
	uint32_t iss;
	char b[4];

	(void)state;
	h_in(h, TCP_SYN, 5000, 0, NULL, 0, 0);
	h_expect(h, TCP_RST | TCP_ACK, 0, 5001);
	h_in(h, TCP_ACK, 5001, 4242, NULL, 0, 0);
	h_expect(h, TCP_RST, 4242, 0);
	h_in(h, TCP_RST, 5001, 0, NULL, 0, 0);
	h_none(h);
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.rst_sent, 2);
	assert_int_equal(st.drop_no_conn, 3);

	iss = h_syn_sent(h, id, 0);
	h_in(h, TCP_RST | TCP_ACK, 0, iss + 1, NULL, 0, 10);
	h_none(h);
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	assert_int_equal(h_info(h, id).error, ECONNREFUSED);
	assert_true(h->ev[id] & TCP_EV_CLOSED);
	assert_int_equal(h_recv(h, id, b, 4, 10), -ECONNREFUSED);
	assert_int_equal(h_send(h, id, b, 4, 10), -ECONNREFUSED);
	h_free(h);
}

/* An exact RST resets ESTABLISHED (ECONNRESET); abort sends one. */
static void reset_and_abort(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0), id2;

	(void)state;
	h_in(h, TCP_RST, p, 0, NULL, 0, 10);
	h_none(h);
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	assert_int_equal(h_info(h, id).error, ECONNRESET);

	id2 = h_client(h, &iss, 20);
	assert_int_equal(h_abort(h, id2, 30), 0);
	h_expect(h, TCP_RST, iss + 1, 0);
	assert_int_equal(h_state(h, id2), TCP_CLOSED);
	assert_int_equal(h_info(h, id2).error, ECONNABORTED);
	/* Everything of it is gone from the 4-tuple table. */
	h_in(h, TCP_ACK, p, iss + 1, NULL, 0, 40);
	h_expect(h, TCP_RST, iss + 1, 0);
	tcp_free(h->e, id, 50);
	tcp_free(h->e, id2, 50);
	assert_int_equal(tcp_info_get(h->e, id, &(struct tcp_info_snap){0}),
			 -ENOENT);
	h_none(h);
	h_free(h);
}

/* RST in the other states: SYN_RECEIVED (passive) back to LISTEN,
 * CLOSE_WAIT reset, LAST_ACK and FIN_WAIT_2 closed. */
static void reset_other_states(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_server(h, &iss, 0);

	(void)state;
	h_in(h, TCP_FIN | TCP_ACK, p, iss + 1, NULL, 0, 10);
	h_expect(h, TCP_ACK, iss + 1, p + 1);
	assert_int_equal(h_state(h, id), TCP_CLOSE_WAIT);
	h_in(h, TCP_RST, p + 1, 0, NULL, 0, 20);
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	assert_int_equal(h_info(h, id).error, ECONNRESET);

	h->peer.port++;
	id = h_client(h, &iss, 30);
	h_close(h, id, 40);
	h_expect(h, TCP_FIN | TCP_ACK, iss + 1, p);
	h_in(h, TCP_ACK, p, iss + 2, NULL, 0, 50);
	assert_int_equal(h_state(h, id), TCP_FIN_WAIT_2);
	h_in(h, TCP_RST, p, 0, NULL, 0, 60);
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	assert_int_equal(h_info(h, id).error, ECONNRESET);
	h_free(h);
}

/* Closing a listener and a connection in SYN_SENT: straight to CLOSED. */
static void close_listen_and_syn_sent(void **state)
{
	struct harness *h = h_new(NULL);
	int l = tcp_open(h->e), c = tcp_open(h->e);
	int l2 = tcp_open(h->e);

	(void)state;
	assert_int_equal(tcp_listen(h->e, l, &h->me, 4), 0);
	assert_int_equal(tcp_listen(h->e, l2, &h->me, 4), -EADDRINUSE);
	h_in(h, TCP_SYN, 7, 0, NULL, 0, 0);
	h_expect_flags(h, TCP_SYN | TCP_ACK, 8);
	assert_int_equal(h_close(h, l, 10), 0);
	/* The half-open child dies with a RST. */
	h_expect_flags(h, TCP_RST, 0);
	assert_int_equal(h_state(h, l), TCP_CLOSED);
	assert_int_equal(tcp_listen(h->e, l2, &h->me, 4), 0);

	h_connect(h, c, &h->peer, 0, 20);
	h_next(h);
	assert_int_equal(h_close(h, c, 30), 0);
	h_none(h);
	assert_int_equal(h_state(h, c), TCP_CLOSED);
	assert_int_equal(tcp_dispatch(h->e, 30), TCP_NEVER);
	h_free(h);
}

/* The trace shows each segment and state change, formatted. */
static void trace_lines(void **state)
{
	struct harness *h = h_new(NULL);
	struct tcp_trace_ent t[16];
	uint64_t dropped;
	uint32_t iss;
	char line[256], want[256];
	int id = h_client(h, &iss, 1000), n;

	(void)state;
	n = tcp_trace_get(h->e, id, t, 16, &dropped);
	assert_int_equal(n, 5);
	assert_int_equal(dropped, 0);
	tcp_trace_format(&t[0], 1000, line, sizeof(line));
	assert_string_equal(line, "0.000000 * CLOSED -> SYN_SENT");
	tcp_trace_format(&t[1], 1000, line, sizeof(line));
	snprintf(want, sizeof(want),
		 "0.000000 > SYN seq=%u win=65535 <mss 1460,sackOK,TS val 2 "
		 "ecr 0,wscale 7>",
		 iss);
	assert_string_equal(line, want);
	tcp_trace_format(&t[2], 1000, line, sizeof(line));
	snprintf(want, sizeof(want),
		 "0.000000 < SYN,ACK seq=%u ack=%u win=65535", PEER_ISS,
		 iss + 1);
	assert_string_equal(line, want);
	tcp_trace_format(&t[3], 1000, line, sizeof(line));
	assert_string_equal(line, "0.000000 * SYN_SENT -> ESTABLISHED");
	tcp_trace_format(&t[4], 0, line, sizeof(line));
	snprintf(want, sizeof(want), "0.001000 > ACK seq=%u ack=%u win=%u",
		 iss + 1, PEER_ISS + 1, h_info(h, id).rcv_wnd);
	assert_string_equal(line, want);
	h_free(h);
}

/* The entries of E's connection ID, formatted from its first entry. */
static int trace_text(struct tcp_engine *e, int id, char (*line)[160],
		      uint64_t *dropped)
{
	struct tcp_trace_ent t[128];
	int n = tcp_trace_get(e, id, t, 128, dropped), i;

	for (i = 0; i < n; i++)
		tcp_trace_format(&t[i], t[0].t, line[i], sizeof(line[i]));
	return n;
}

/* LINE (without its time) matches WANT: an entry's start. */
static void line_is(const char *line, const char *want)
{
	const char *s = strchr(line, ' ');

	assert_non_null(s);
	if (strncmp(s + 1, want, strlen(want)))
		fail_msg("trace line \"%s\", want \"%s...\"", line, want);
}

/* WANT, in order, among the last lines of the ring. */
static void trace_ends_with(char (*line)[160], int n, const char **want, int nw)
{
	int i, k = 0;

	for (i = n - 12; i < n && k < nw; i++)
		if (!strncmp(strchr(line[i], ' ') + 1, want[k],
			     strlen(want[k])))
			k++;
	if (k < nw)
		fail_msg("trace misses \"%s\" at its end", want[k]);
}

/* A sends SIZE bytes to B, both read everything; then A closes, B closes
 * at A's FIN, and both reach CLOSED. */
static void send_then_close(struct pair *p, uint64_t size)
{
	static uint8_t buf[65536];
	uint64_t sent = 0, rcvd = 0;
	struct tcp_info_snap i;
	bool b_closed = false;
	long r;

	memset(buf, 'x', sizeof(buf));
	for (;;) {
		while (sent < size &&
		       (r = tcp_send(p->a, p->ida, buf,
				     size - sent < sizeof(buf) ? size - sent :
								 sizeof(buf),
				     p->now)) > 0)
			sent += (uint64_t)r;
		while ((r = tcp_recv(p->b, p->idb, buf, sizeof(buf), p->now)) >
		       0)
			rcvd += (uint64_t)r;
		tcp_info_get(p->a, p->ida, &i);
		if (rcvd == size && i.state == TCP_ESTABLISHED && !i.send_q)
			tcp_close(p->a, p->ida, p->now);
		if (!r && !b_closed) {
			tcp_close(p->b, p->idb, p->now);
			b_closed = true;
		}
		if (!pair_step(p, TCP_NEVER))
			break;
	}
	assert_int_equal(rcvd, size);
	assert_int_equal(pair_state(p->a, p->ida), TCP_CLOSED);
	assert_int_equal(pair_state(p->b, p->idb), TCP_CLOSED);
}

/* A transfer that wraps the ring many times over: the handshake is still
 * the trace's start (time 0 its first entry), the four-way close its
 * end, and every entry is either kept or counted as dropped. */
static void trace_keeps_open(void **state)
{
	static const char *open_a[] = {
		"* CLOSED -> SYN_SENT",
		"> SYN seq=", "< SYN,ACK seq=", "* SYN_SENT -> ESTABLISHED",
		"> ACK seq="};
	static const char *open_b[] = {"< SYN seq=", "* CLOSED -> SYN_RECEIVED",
				       "> SYN,ACK seq=", "< ACK seq=",
				       "* SYN_RECEIVED -> ESTABLISHED"};
	static const char *close_a[] = {"* ESTABLISHED -> FIN_WAIT_1",
					"> FIN,ACK",
					"< ACK",
					"* FIN_WAIT_1 -> FIN_WAIT_2",
					"< FIN,ACK",
					"* FIN_WAIT_2 -> TIME_WAIT",
					"> ACK",
					"* TIME_WAIT -> CLOSED"};
	static const char *close_b[] = {"* ESTABLISHED -> CLOSE_WAIT",
					"* CLOSE_WAIT -> LAST_ACK", "> FIN,ACK",
					"< ACK", "* LAST_ACK -> CLOSED"};
	static char line[128][160];
	struct pair *p = pair_new(NULL, NULL);
	struct tcp_info_snap ia, ib;
	uint64_t dropped;
	int n, i;

	(void)state;
	send_then_close(p, 1 << 20);
	tcp_info_get(p->a, p->ida, &ia);
	tcp_info_get(p->b, p->idb, &ib);

	n = trace_text(p->a, p->ida, line, &dropped);
	assert_int_equal(n, 64);
	assert_true(dropped > 100);
	/* every segment and the six state changes: kept or dropped */
	assert_int_equal(n + dropped, ia.segs_in + ia.segs_out + 6);
	for (i = 0; i < 5; i++)
		line_is(line[i], open_a[i]);
	assert_int_equal(strncmp(line[0], "0.000000 ", 9), 0);
	trace_ends_with(line, n, close_a, 8);

	n = trace_text(p->b, p->idb, line, &dropped);
	assert_int_equal(n, 64);
	assert_int_equal(n + dropped, ib.segs_in + ib.segs_out + 5);
	for (i = 0; i < 5; i++)
		line_is(line[i], open_b[i]);
	trace_ends_with(line, n, close_b, 5);
	pair_free(p);
}

/* An idle connection keeps just its open: the trace starts small. */
static void trace_idle(void **state)
{
	struct harness *h = h_new(NULL);
	static char line[128][160];
	uint64_t dropped;
	uint32_t iss;
	int id = h_client(h, &iss, 0), i, n;

	(void)state;
	for (i = 0; i < 100; i++) /* keepalive-like traffic wraps the ring */
		h_in(h, TCP_ACK, PEER_ISS + 1, iss + 1, NULL, 0, 10 + i);
	n = trace_text(h->e, id, line, &dropped);
	assert_int_equal(n, 64);
	assert_int_equal(dropped, 100 + 5 - 64);
	line_is(line[4], "> ACK seq=");
	line_is(line[5], "< ACK seq=");
	h_free(h);
}

/* A trace of 4 entries pins half of them: the first two, the ring the
 * last two, the one between counted as dropped. */
static void trace_short(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	static char line[128][160];
	uint64_t dropped;
	uint32_t iss;
	int id, n;

	(void)state;
	tcp_config_default(&cfg);
	cfg.key[0] = 1;
	cfg.trace_len = 4;
	h = h_new(&cfg);
	id = h_client(h, &iss, 0);
	n = trace_text(h->e, id, line, &dropped);
	assert_int_equal(n, 4);
	assert_int_equal(dropped, 1);
	line_is(line[0], "* CLOSED -> SYN_SENT");
	line_is(line[1], "> SYN seq=");
	line_is(line[2], "* SYN_SENT -> ESTABLISHED");
	line_is(line[3], "> ACK seq=");
	h_free(h);
}

/* The first NW lines are WANT's (their starts, without times; a '#'
 * line whole). */
static void lines_are(char (*line)[160], const char **want, int nw)
{
	for (int i = 0; i < nw; i++)
		if (want[i][0] == '#')
			assert_string_equal(line[i], want[i]);
		else
			line_is(line[i], want[i]);
}

/* 100 ACKs from the peer of H's connection ID (iss ISS) from time T: they
 * wrap the ring. */
static void wrap_ring(struct harness *h, uint32_t iss, tcp_time t)
{
	for (int i = 0; i < 100; i++)
		h_in(h, TCP_ACK, PEER_ISS + 1, iss + 1, NULL, 0, t + i);
}

/* A SYN sent 7 times: the open keeps its first and its last two, counts
 * the four between, and keeps its end (the SYN,ACK, the move to
 * ESTABLISHED, our ACK) through the ring's wraps. */
static void trace_syn_retries(void **state)
{
	static const char *open[] = {"* CLOSED -> SYN_SENT",
				     "> SYN seq=",
				     "# 4 entries dropped",
				     "> SYN seq=",
				     "> SYN seq=",
				     "< SYN,ACK seq=",
				     "* SYN_SENT -> ESTABLISHED",
				     "> ACK seq="};
	struct harness *h = h_new(NULL);
	static char line[128][160];
	int id = tcp_open(h->e), n;
	tcp_time t = 0, rto = SEC;
	uint64_t dropped;
	uint32_t iss;

	(void)state;
	iss = h_syn_sent(h, id, 0);
	for (int k = 0; k < 6; k++, rto *= 2) {
		tcp_dispatch(h->e, t += rto);
		h_expect(h, TCP_SYN, iss, 0);
	}
	h_in(h, TCP_SYN | TCP_ACK, PEER_ISS, iss + 1, NULL, 0, t + 1);
	h_expect(h, TCP_ACK, iss + 1, PEER_ISS + 1);
	wrap_ring(h, iss, t + 2);
	n = trace_text(h->e, id, line, &dropped);
	assert_int_equal(tcp_trace_kept(h->e, id), 8);
	lines_are(line, open, 8);
	/* every entry (a state change, 7 SYNs, the end of the open, 100
	 * ACKs): one of the 63 kept, one of the 4 the '#' counts, or dropped
	 * from the ring */
	assert_int_equal(n, 64);
	assert_int_equal(63 + 4 + dropped, 1 + 7 + 3 + 100);
	h_free(h);
}

/* A SYN,ACK sent 7 times: the child's open keeps the move to ESTABLISHED
 * through the ring's wraps. */
static void trace_synack_retries(void **state)
{
	static const char *open[] = {
		"< SYN seq=",	  "* CLOSED -> SYN_RECEIVED",
		"> SYN,ACK seq=", "# 4 entries dropped",
		"> SYN,ACK seq=", "> SYN,ACK seq=",
		"< ACK seq=",	  "* SYN_RECEIVED -> ESTABLISHED"};
	struct harness *h = h_new(NULL);
	static char line[128][160];
	int l = tcp_open(h->e), id, n;
	tcp_time t = 0, rto = SEC;
	uint64_t dropped;
	uint32_t iss;

	(void)state;
	assert_int_equal(tcp_listen(h->e, (uint32_t)l, &h->me, 8), 0);
	h_in(h, TCP_SYN, PEER_ISS, 0, NULL, 0, 0);
	iss = h_expect_flags(h, TCP_SYN | TCP_ACK, PEER_ISS + 1)->seq;
	for (int k = 0; k < 6; k++, rto *= 2) {
		tcp_dispatch(h->e, t += rto);
		h_expect_flags(h, TCP_SYN | TCP_ACK, PEER_ISS + 1);
	}
	h_in(h, TCP_ACK, PEER_ISS + 1, iss + 1, NULL, 0, t + 1);
	id = tcp_accept(h->e, (uint32_t)l);
	assert_true(id > 0);
	wrap_ring(h, iss, t + 2);
	n = trace_text(h->e, id, line, &dropped);
	assert_int_equal(n, 64);
	lines_are(line, open, 8);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(active_open),
		cmocka_unit_test(wscale_above_14),
		cmocka_unit_test(default_mss_ipv6),
		cmocka_unit_test(tiny_mss),
		cmocka_unit_test(passive_open),
		cmocka_unit_test(close_active),
		cmocka_unit_test(close_then_data),
		cmocka_unit_test(close_unread),
		cmocka_unit_test(time_wait_reopen),
		cmocka_unit_test(time_wait_reopen_ts),
		cmocka_unit_test(time_wait_reopen_gains_ts),
		cmocka_unit_test(close_passive),
		cmocka_unit_test(half_close),
		cmocka_unit_test(fin_wait_2_limit),
		cmocka_unit_test(close_after_shutdown_wakes),
		cmocka_unit_test(simultaneous_open),
		cmocka_unit_test(simultaneous_open_window),
		cmocka_unit_test(simultaneous_open_ack),
		cmocka_unit_test(close_in_syn_received),
		cmocka_unit_test(simultaneous_close),
		cmocka_unit_test(fin_ack_together),
		cmocka_unit_test(old_duplicate_syn),
		cmocka_unit_test(syn_ack_lost),
		cmocka_unit_test(syn_sent_bad_ack),
		cmocka_unit_test(refused),
		cmocka_unit_test(reset_and_abort),
		cmocka_unit_test(reset_other_states),
		cmocka_unit_test(close_listen_and_syn_sent),
		cmocka_unit_test(trace_lines),
		cmocka_unit_test(trace_keeps_open),
		cmocka_unit_test(trace_idle),
		cmocka_unit_test(trace_short),
		cmocka_unit_test(trace_syn_retries),
		cmocka_unit_test(trace_synack_retries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
