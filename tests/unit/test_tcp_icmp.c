/* ICMP and ICMPv6 errors about the engine's segments: path MTU discovery
 * (RFC 1191, RFC 8201), soft and hard unreachables (RFC 1122 §4.2.3.9,
 * RFC 5461), and the checks against forged ones (RFC 5927). Each error is
 * crafted by the harness around a packet the engine really sent. */
#include "tcp_harness.h"

/* An ESTABLISHED client of the scripted peer, which announced MSS 1460;
 * *ISS gets its ISS. IPv6 when V6. */
static int client(struct harness *h, uint32_t *iss, tcp_time now)
{
	struct wire_opts o = {.has_mss = true, .mss = 1460};
	int id = tcp_open(h->e);

	*iss = h_syn_sent(h, id, now);
	h_in_opt(h, TCP_SYN | TCP_ACK, PEER_ISS, *iss + 1, 65535, NULL, 0, &o,
		 now);
	h_expect(h, TCP_ACK, *iss + 1, PEER_ISS + 1);
	tcp_set_nodelay(h->e, (uint32_t)id, true);
	return id;
}

static struct harness *h_v6(void)
{
	struct tcp_config cfg;
	struct harness *h;

	tcp_config_default(&cfg);
	ep6(&cfg.addr6, 1, 0);
	h = h_new(&cfg);
	ep6(&h->me, 1, 80);
	ep6(&h->peer, 2, 40000);
	return h;
}

/* Send 4000 bytes: the first segment is taken (to be quoted), the rest
 * drained. */
static void send_4000(struct harness *h, int id, uint32_t iss, tcp_time now)
{
	static const char data[4000];

	assert_int_equal(h_send(h, id, data, sizeof(data), now), 4000);
	assert_int_equal(h_expect(h, TCP_ACK, iss + 1, PEER_ISS + 1)->len,
			 h_info(h, id).mss);
}

/* Every segment still queued: data of at most MAX bytes, the first at
 * SEQ; how many. */
static int resent_within(struct harness *h, uint32_t seq, size_t max)
{
	int n = 0;

	while (h->n) {
		struct wire_seg *s = h_next(h);

		if (!n)
			assert_int_equal(s->seq, seq);
		assert_true(s->len <= max);
		n += s->len > 0;
	}
	return n;
}

/* RFC 1191 §6: "fragmentation needed" lowers the MSS to the path MTU's
 * (1280 - 40), and what went at the old size goes again at once, in
 * smaller segments, with the congestion window as it was. */
static void ptb_ipv4(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss;
	int id = client(h, &iss, 0);
	uint32_t cwnd = h_info(h, id).cwnd;
	struct tcp_stats st;

	(void)state;
	send_4000(h, id, iss, 10);
	h_drain(h);
	h_icmp(h, 3, 4, 1280, 28, 20); /* the quote: IP header + 8 bytes */
	assert_int_equal(h_info(h, id).mss, 1240);
	assert_int_equal(h_info(h, id).cwnd, cwnd);
	assert_int_equal(resent_within(h, iss + 1, 1240), 4); /* 4000 bytes */
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.icmp_in, 1);
	assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	h_free(h);
}

/* RFC 8201 §4: ICMPv6 packet too big, never below 1280 (RFC 8200 §5). */
static void ptb_ipv6(void **state)
{
	struct harness *h = h_v6();
	uint32_t iss;
	int id = client(h, &iss, 0);

	(void)state;
	assert_int_equal(h_info(h, id).mss, 1440);
	send_4000(h, id, iss, 10);
	h_drain(h);
	h_icmp(h, 2, 0, 1000, 48, 20);
	assert_int_equal(h_info(h, id).mss, 1220);
	assert_true(resent_within(h, iss + 1, 1220) >= 3);
	h_free(h);
}

/* RFC 5927: an error is taken only when it quotes a segment in flight of
 * a connection of ours (SND.UNA <= SEG.SEQ < SND.NXT, §4.1) and its
 * checksum is right; an MTU below 552 counts as 552 (§7, Linux's
 * min_pmtu), one not below the current MSS or of 0 changes nothing. */
static void ptb_checks(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss;
	int id = client(h, &iss, 0);
	struct tcp_stats st;
	uint8_t keep[H_PKT];

	(void)state;
	send_4000(h, id, iss, 10);
	memcpy(keep, h->last_raw, h->last_rawlen);
	h_drain(h);
	/* all acknowledged: the quoted segment is no longer in flight */
	h_in(h, TCP_ACK, PEER_ISS + 1, iss + 4001, NULL, 0, 20);
	memcpy(h->last_raw, keep, sizeof(keep));
	h_icmp(h, 3, 4, 1280, 28, 30);
	assert_int_equal(h_info(h, id).mss, 1460);
	h_none(h);
	/* in flight again: MTU 0, 1500, then 100 (as 552) */
	send_4000(h, id, iss + 4000, 40);
	memcpy(keep, h->last_raw, h->last_rawlen);
	h_drain(h);
	h_icmp(h, 3, 4, 0, 28, 50);
	h_icmp(h, 3, 4, 1500, 28, 50);
	assert_int_equal(h_info(h, id).mss, 1460);
	h_none(h);
	/* another port's segment */
	keep[20 + 1] ^= 1;
	memcpy(h->last_raw, keep, sizeof(keep));
	h_icmp(h, 3, 4, 1280, 28, 60);
	assert_int_equal(h_info(h, id).mss, 1460);
	keep[20 + 1] ^= 1;
	memcpy(h->last_raw, keep, sizeof(keep));
	h_icmp(h, 3, 4, 100, 28, 70);
	assert_int_equal(h_info(h, id).mss, 512);
	h_drain(h);
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.icmp_drops, 2);
	h_free(h);
}

/* RFC 8201 §4, RFC 5927 §4.1: packet too big during a connect, quoting
 * the SYN (SEG.SEQ = ISS, the only one in flight), is taken: the MSS the
 * peer's SYN,ACK then announces is lowered to the path MTU's
 * (1280 - 40), and the first data goes at that size. */
static void ptb_syn_sent(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_opts o = {.has_mss = true, .mss = 1460};
	int id = tcp_open(h->e);
	uint32_t iss = h_syn_sent(h, id, 0);
	struct tcp_stats st;

	(void)state;
	h_icmp(h, 3, 4, 1280, 28, 10);
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.icmp_in, 1);
	assert_int_equal(h_state(h, id), TCP_SYN_SENT);
	h_none(h); /* the SYN is small: it need not go again */
	h_in_opt(h, TCP_SYN | TCP_ACK, PEER_ISS, iss + 1, 65535, NULL, 0, &o,
		 20);
	h_expect(h, TCP_ACK, iss + 1, PEER_ISS + 1);
	assert_int_equal(h_info(h, id).mss, 1240);
	tcp_set_nodelay(h->e, (uint32_t)id, true);
	send_4000(h, id, iss, 30);
	assert_int_equal(h->last.len, 1240);
	h_free(h);
}

/* The same for a passive open over IPv6 (ICMPv6 packet too big quoting
 * the SYN,ACK, in SYN_RECEIVED): the MSS is lowered at once, to 1220
 * (the 1280 floor less 60); an error quoting another sequence number is
 * dropped (RFC 5927 §4.1). */
static void ptb_syn_received(void **state)
{
	struct harness *h = h_v6();
	struct wire_opts o = {.has_mss = true, .mss = 1440};
	int l = tcp_open(h->e), id;
	struct tcp_stats st;
	uint32_t iss;
	uint8_t keep[H_PKT];

	(void)state;
	assert_int_equal(tcp_listen(h->e, (uint32_t)l, &h->me, 8), 0);
	h_in_opt(h, TCP_SYN, PEER_ISS, 0, 65535, NULL, 0, &o, 0);
	iss = h_expect_flags(h, TCP_SYN | TCP_ACK, PEER_ISS + 1)->seq;
	memcpy(keep, h->last_raw, h->last_rawlen);
	h->last_raw[40 + 4 + 3] ^= 1; /* the quoted SEG.SEQ: ISS ^ 1 */
	h_icmp(h, 2, 0, 1000, 48, 10);
	memcpy(h->last_raw, keep, sizeof(keep));
	h_icmp(h, 2, 0, 1000, 48, 10);
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.icmp_drops, 1);
	assert_int_equal(st.icmp_in, 1);
	h_none(h);
	h_in(h, TCP_ACK, PEER_ISS + 1, iss + 1, NULL, 0, 20);
	id = tcp_accept(h->e, (uint32_t)l);
	assert_true(id > 0);
	assert_int_equal(h_info(h, id).mss, 1220);
	tcp_set_nodelay(h->e, (uint32_t)id, true);
	send_4000(h, id, iss, 30);
	h_free(h);
}

/* RFC 1191 §6.3, RFC 8201 §4: a path MTU learnt from ICMP ages out after
 * TCP_PMTU_AGE (10 minutes), counted from the latest error that lowered
 * it, and the segments try the negotiated MSS again (simulated time). */
static void ptb_ages(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss;
	int id = client(h, &iss, 0);
	tcp_time t = 10 * SEC, age = 600 * SEC;

	(void)state;
	send_4000(h, id, iss, t);
	h_drain(h);
	h_icmp(h, 3, 4, 1280, 28, t);
	assert_int_equal(h_info(h, id).mss, 1240);
	h_drain(h);
	h_in(h, TCP_ACK, PEER_ISS + 1, iss + 4001, NULL, 0, t);
	/* five minutes on, a smaller path: ten minutes from here */
	t += 300 * SEC;
	send_4000(h, id, iss + 4000, t);
	h_drain(h);
	h_icmp(h, 3, 4, 1000, 28, t);
	assert_int_equal(h_info(h, id).mss, 960);
	h_drain(h);
	h_in(h, TCP_ACK, PEER_ISS + 1, iss + 8001, NULL, 0, t);
	h_drain(h);
	tcp_dispatch(h->e, t + age - 1);
	assert_int_equal(h_info(h, id).mss, 960);
	tcp_dispatch(h->e, t + age);
	assert_int_equal(h_info(h, id).mss, 1460);
	h_none(h);
	send_4000(h, id, iss + 8000, t + age);
	h_free(h);
}

/* RFC 1122 §4.2.3.9: unreachables are soft errors that never abort an
 * established connection (hard ones neither, RFC 5461 §4, as Linux);
 * the latest is the error if the connection then times out, unless an
 * ACK of new data showed the path works meanwhile. */
static void unreach_soft(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss;
	int id = client(h, &iss, 0);
	tcp_time t = 100;

	(void)state;
	tcp_set_user_timeout(h->e, (uint32_t)id, 5 * SEC);
	send_4000(h, id, iss, t);
	h_drain(h);
	h->ev[id] = 0;
	h_icmp(h, 3, 1, 0, 28, t);		 /* host unreachable */
	assert_true(h->ev[id] & TCP_EV_SOFTERR); /* told at once */
	assert_int_equal(h_info(h, id).soft_error, EHOSTUNREACH);
	assert_int_equal(h_info(h, id).icmp_from.a[3], 254);
	h_icmp(h, 3, 3, 0, 28, t); /* port unreachable: hard */
	h_none(h);
	assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	assert_int_equal(h_info(h, id).soft_error, ECONNREFUSED);
	while ((t = tcp_dispatch(h->e, t)) != TCP_NEVER) {
		tcp_dispatch(h->e, t);
		h_drain(h);
	}
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	assert_int_equal(h_info(h, id).error, ECONNREFUSED);
	h_free(h);

	/* an ACK of new data after the error: it is stale, forgotten */
	h = h_new(NULL);
	id = client(h, &iss, 0);
	send_4000(h, id, iss, 10);
	h_drain(h);
	h_icmp(h, 3, 1, 0, 28, 20);
	h_in(h, TCP_ACK, PEER_ISS + 1, iss + 1000, NULL, 0, 30);
	assert_int_equal(h_info(h, id).soft_error, 0);
	h_free(h);
}

/* A connect: a hard error (port unreachable) ends it at once with
 * ECONNREFUSED (RFC 1122: SHOULD abort); a soft one (host unreachable)
 * does not, and is the error when the SYNs go unanswered. The same for
 * ICMPv6's port unreachable (code 4). */
static void unreach_connect(void **state)
{
	struct harness *h = h_new(NULL);
	int id = tcp_open(h->e);
	tcp_time t = 0;

	(void)state;
	h_syn_sent(h, id, 0);
	h_icmp(h, 3, 3, 0, 28, 10);
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	assert_int_equal(h_info(h, id).error, ECONNREFUSED);

	id = tcp_open(h->e);
	tcp_set_user_timeout(h->e, (uint32_t)id, 3 * SEC);
	h_syn_sent(h, id, 0);
	h_icmp(h, 3, 1, 0, 28, 10);
	assert_int_equal(h_state(h, id), TCP_SYN_SENT);
	while ((t = tcp_dispatch(h->e, t)) != TCP_NEVER)
		tcp_dispatch(h->e, t);
	h_drain(h);
	assert_int_equal(h_info(h, id).error, EHOSTUNREACH);
	h_free(h);

	h = h_v6();
	id = tcp_open(h->e);
	h_syn_sent(h, id, 0);
	h_icmp(h, 1, 4, 0, 48, 10);
	assert_int_equal(h_info(h, id).error, ECONNREFUSED);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ptb_ipv4),
		cmocka_unit_test(ptb_ipv6),
		cmocka_unit_test(ptb_checks),
		cmocka_unit_test(ptb_syn_sent),
		cmocka_unit_test(ptb_syn_received),
		cmocka_unit_test(ptb_ages),
		cmocka_unit_test(unreach_soft),
		cmocka_unit_test(unreach_connect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
