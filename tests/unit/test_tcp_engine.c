/* The engine's tables and limits: ports (RFC 6056), ISNs (RFC 6528),
 * IPv6 and dual-family listeners, connection and backlog limits, bad
 * configurations, events. */
#include <limits.h>

#include "tcp_harness.h"
#include "tcp_sock.h"

/* Connection numbers stay in 1..INT_MAX (the filesystem answers them as
 * an int) and skip those in use when they wrap. */
static void ids_wrap(void **state)
{
	struct harness *h = h_new(NULL);

	(void)state;
	h->e->next_id = 5;
	assert_int_equal(tcp_open(h->e), 5); /* kept open */
	h->e->next_id = INT_MAX;
	assert_int_equal(tcp_open(h->e), INT_MAX);
	assert_int_equal(tcp_open(h->e), 1);
	h->e->next_id = 5;
	assert_int_equal(tcp_open(h->e), 6); /* 5 is in use */
	h_free(h);
}

/* The timer heap has room for every connection, taken as each is made
 * (arming a timer needs no memory), and gives it back as they go. */
static void heap_follows_conns(void **state)
{
	struct harness *h = h_new(NULL);
	int ids[1000], k;

	(void)state;
	for (k = 0; k < 1000; k++)
		assert_true((ids[k] = tcp_open(h->e)) > 0);
	assert_true(h->e->heap_cap >= 1001); /* the harness's own too */
	for (k = 0; k < 1000; k++)
		tcp_free(h->e, (uint32_t)ids[k], 0);
	assert_true(h->e->heap_cap <= 128);
	h_free(h);
}

static void bad_config(void **state)
{
	struct tcp_config cfg;

	(void)state;
	tcp_config_default(&cfg);
	errno = 0;
	assert_null(tcp_engine_new(&cfg)); /* no output function */
	assert_int_equal(errno, EINVAL);
	cfg.output = h_output;
	cfg.delack = 500 * MS;
	assert_null(tcp_engine_new(&cfg));
	tcp_config_default(&cfg);
	cfg.output = h_output;
	cfg.rto_initial = cfg.rto_max + 1; /* a SYN would wait past the cap */
	assert_null(tcp_engine_new(&cfg));
}

/* Random ephemeral ports in 32768..60999, distinct for one remote; a
 * taken 4-tuple is EADDRINUSE; errors for impossible connects. */
static void ports(void **state)
{
	struct harness *h = h_new(NULL);
	struct tcp_info_snap a, b;
	struct wire_ep v6;
	int x = tcp_open(h->e), y = tcp_open(h->e), z = tcp_open(h->e);

	(void)state;
	assert_int_equal(h_connect(h, x, &h->peer, 0, 0), 0);
	assert_int_equal(h_connect(h, y, &h->peer, 0, 0), 0);
	a = h_info(h, x);
	b = h_info(h, y);
	assert_true(a.local.port >= 32768 && a.local.port <= 60999);
	assert_true(b.local.port >= 32768 && b.local.port <= 60999);
	assert_int_not_equal(a.local.port, b.local.port);
	assert_int_not_equal(a.iss, b.iss);
	assert_int_equal(h_connect(h, z, &h->peer, a.local.port, 0),
			 -EADDRINUSE);
	/* connect(2): EALREADY while under way, EISCONN once open */
	assert_int_equal(h_connect(h, x, &h->peer, 0, 0), -EALREADY);
	ep6(&v6, 2, 80);
	assert_int_equal(h_connect(h, z, &v6, 0, 0), -ENETUNREACH);
	v6 = h->peer;
	v6.port = 0;
	assert_int_equal(h_connect(h, z, &v6, 0, 0), -EINVAL);
	assert_int_equal(h_connect(h, 999, &h->peer, 0, 0), -ENOENT);
	/* RFC 9293 §3.9.1.1, MUST-46: no broadcast or multicast peer */
	static const uint8_t bad4[][4] = {
		{224, 0, 0, 1}, {239, 1, 2, 3}, {255, 255, 255, 255}, {0}};
	for (size_t i = 0; i < sizeof(bad4) / sizeof(bad4[0]); i++) {
		ep4(&v6, 1, 80);
		memcpy(v6.a, bad4[i], 4);
		assert_int_equal(h_connect(h, z, &v6, 0, 0), -EINVAL);
	}
	ep6(&v6, 1, 80);
	v6.a[0] = 0xff; /* ff..::1, multicast */
	assert_int_equal(h_connect(h, z, &v6, 0, 0), -EINVAL);
	assert_int_equal(tcp_state(h->e, z), TCP_CLOSED);
	v6 = h->peer; /* not our address */
	assert_int_equal(tcp_listen(h->e, z, &v6, 1), -EINVAL);
	v6.port = 0;
	assert_int_equal(tcp_listen(h->e, z, &v6, 1), -EINVAL);
	h_free(h);
}

/* Every ephemeral port to one peer taken: the next connect is
 * EADDRNOTAVAIL, as connect(2)'s, and another peer still gets a port. */
static void ports_exhausted(void **state)
{
	struct harness *h = h_new(NULL);
	const int n = 60999 - 32768 + 1;
	struct wire_ep other;
	int id;

	(void)state;
	for (int i = 0; i < n; i++) {
		id = tcp_open(h->e);
		assert_true(id > 0);
		assert_int_equal(tcp_connect(h->e, id, &h->peer, 0, 0), 0);
		if (h->n > 1000)
			h_drain(h);
	}
	id = tcp_open(h->e);
	assert_int_equal(tcp_connect(h->e, id, &h->peer, 0, 0), -EADDRNOTAVAIL);
	other = h->peer;
	other.port++;
	assert_int_equal(tcp_connect(h->e, id, &other, 0, 0), 0);
	h_free(h);
}

/* RFC 6528: the same 4-tuple later gets an ISN larger by the 4 µs
 * clock. */
static void isn_clock(void **state)
{
	struct harness *h = h_new(NULL);
	int x = tcp_open(h->e), y;
	uint32_t i1;

	(void)state;
	h_connect(h, x, &h->peer, 5000, 1000);
	i1 = h_info(h, x).iss;
	tcp_free(h->e, x, 2000);
	y = tcp_open(h->e);
	assert_int_not_equal(x, y); /* ids are never reused */
	h_connect(h, y, &h->peer, 5000, 41000);
	assert_int_equal(h_info(h, y).iss, i1 + 10000);
	h_free(h);
}

/* A listener of family 0 takes IPv4 and IPv6; answers come from the
 * address the SYN was sent to. */
static void dual_listener(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	struct wire_ep any = {.port = 80};
	struct wire_seg *s;
	int l;

	(void)state;
	tcp_config_default(&cfg);
	ep6(&cfg.addr6, 1, 0);
	h = h_new(&cfg);
	l = tcp_open(h->e);
	assert_int_equal(tcp_listen(h->e, l, &any, 4), 0);
	h_in(h, TCP_SYN, 10, 0, NULL, 0, 0);
	h_expect_flags(h, TCP_SYN | TCP_ACK, 11);
	ep6(&h->me, 1, 80);
	ep6(&h->peer, 2, 40000);
	h_in(h, TCP_SYN, 20, 0, NULL, 0, 0);
	s = h_expect_flags(h, TCP_SYN | TCP_ACK, 21);
	h_in(h, TCP_ACK, 21, s->seq + 1, NULL, 0, 10);
	assert_true(tcp_accept(h->e, l) > 0);
	assert_int_equal(h_info(h, l).accept_q, 0);
	h_free(h);
}

/* Before the peer's SYN,ACK says its MSS, a connection shows the default
 * send MSS of its family (RFC 9293 §3.7.1, MUST-15): 536 for IPv4, 1220
 * for IPv6. */
static void syn_sent_mss(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	struct wire_ep v6;
	int a, b;

	(void)state;
	tcp_config_default(&cfg);
	ep6(&cfg.addr6, 1, 0);
	h = h_new(&cfg);
	ep6(&v6, 2, 80);
	a = tcp_open(h->e);
	b = tcp_open(h->e);
	assert_int_equal(h_connect(h, a, &v6, 0, 0), 0);
	assert_int_equal(h_connect(h, b, &h->peer, 0, 0), 0);
	assert_int_equal(h_state(h, a), TCP_SYN_SENT);
	assert_int_equal(h_info(h, a).mss, 1220);
	assert_int_equal(h_info(h, b).mss, 536);
	h_free(h);
}

/* A second listener on an address and port a listener holds: EADDRINUSE,
 * whichever of the two is the wildcard; another port is free. */
static void listen_conflicts(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	struct wire_ep any = {.port = 80}, v4, v4any, v6;

	(void)state;
	tcp_config_default(&cfg);
	ep6(&cfg.addr6, 1, 0);
	h = h_new(&cfg);
	ep4(&v4, 1, 80);
	v4any = v4;
	memset(v4any.a, 0, sizeof(v4any.a));
	ep6(&v6, 1, 80);
	assert_int_equal(tcp_listen(h->e, tcp_open(h->e), &v4, 4), 0);
	assert_int_equal(tcp_listen(h->e, tcp_open(h->e), &any, 4),
			 -EADDRINUSE);
	assert_int_equal(tcp_listen(h->e, tcp_open(h->e), &v4any, 4),
			 -EADDRINUSE);
	assert_int_equal(tcp_listen(h->e, tcp_open(h->e), &v6, 4), 0);
	any.port = v4.port = 81;
	assert_int_equal(tcp_listen(h->e, tcp_open(h->e), &any, 4), 0);
	assert_int_equal(tcp_listen(h->e, tcp_open(h->e), &v4, 4), -EADDRINUSE);
	h_free(h);
}

/* max_conns: tcp_open fails with ENFILE (the engine's table is full, as
 * socket(2) says of the system's). A full accept queue drops SYNs. */
static void limits(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	struct tcp_stats st;
	uint32_t iss;
	int l, k;

	(void)state;
	tcp_config_default(&cfg);
	cfg.max_conns = 3;
	h = h_new(&cfg);
	l = tcp_open(h->e);
	assert_int_equal(tcp_listen(h->e, l, &h->me, 1), 0);
	h_in(h, TCP_SYN, 10, 0, NULL, 0, 0);
	iss = h_expect_flags(h, TCP_SYN | TCP_ACK, 11)->seq;
	h_in(h, TCP_ACK, 11, iss + 1, NULL, 0, 0);
	h->peer.port++;
	h_in(h, TCP_SYN, 10, 0, NULL, 0, 0);
	h_none(h);
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.syn_dropped, 1);
	assert_true(tcp_accept(h->e, l) > 0);
	k = tcp_open(h->e);
	assert_true(k > 0);
	assert_int_equal(tcp_open(h->e), -ENFILE);
	/* A SYN with no room for a connection gets a cookie. */
	h_in(h, TCP_SYN, 10, 0, NULL, 0, 0);
	h_expect_flags(h, TCP_SYN | TCP_ACK, 11);
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.syn_cookies_sent, 1);
	assert_int_equal(st.conns, 3);
	h_free(h);
}

/* Events: established, readable, writable after a full buffer, closed. */
static void events(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	uint32_t iss, p = PEER_ISS + 1;
	uint8_t buf[4096] = {0};
	int id;

	(void)state;
	tcp_config_default(&cfg);
	cfg.sndbuf = 2048;
	h = h_new(&cfg);
	id = h_client(h, &iss, 0);
	assert_true(h->ev[id] & TCP_EV_ESTABLISHED);
	assert_int_equal(tcp_writable(h->e, id), 2048);
	assert_int_equal(h_send(h, id, buf, sizeof(buf), 0), 2048);
	assert_int_equal(h_send(h, id, buf, 1, 0), -EAGAIN);
	assert_int_equal(tcp_writable(h->e, id), 0);
	h->ev[id] = 0;
	h_in(h, TCP_ACK, p, iss + 1 + 536, "z", 1, 10);
	assert_int_equal(h->ev[id], TCP_EV_WRITABLE | TCP_EV_READABLE);
	assert_int_equal(tcp_readable(h->e, id), 1);
	h->ev[id] = 0;
	h_in(h, TCP_RST, p + 1, 0, NULL, 0, 20);
	assert_true(h->ev[id] & TCP_EV_CLOSED);
	assert_true(h->ev[id] & TCP_EV_STATE);
	h_free(h);
}

/* A write that fills the send buffer exactly takes every byte (no short
 * count), yet leaves no room: the ACK that frees some must say so, or a
 * poller waiting for POLLOUT is never woken. */
static void exact_fill_writable(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	uint32_t iss;
	uint8_t buf[2048] = {0};
	int id;

	(void)state;
	tcp_config_default(&cfg);
	cfg.sndbuf = 2048;
	h = h_new(&cfg);
	id = h_client(h, &iss, 0);
	assert_int_equal(h_send(h, id, buf, 1024, 0), 1024);
	assert_int_equal(h_send(h, id, buf, 1024, 0), 1024);
	assert_false(tcp_ready(h->e, id) & TCP_READY_OUT);
	h->ev[id] = 0;
	h_in(h, TCP_ACK, PEER_ISS + 1, iss + 1 + 536, NULL, 0, 10);
	assert_true(tcp_ready(h->e, id) & TCP_READY_OUT);
	assert_int_equal(h->ev[id], TCP_EV_WRITABLE);
	h_free(h);
}

/* IPv6 end to end: a transfer between two engines. */
static void ipv6_transfer(void **state)
{
	struct pair *p = pair_new_fam(NULL, NULL, true);
	struct flow f = {.tx = p->a,
			 .rx = p->b,
			 .txid = p->ida,
			 .rxid = p->idb,
			 .size = 1 << 20};
	struct tcp_info_snap i;

	(void)state;
	tcp_info_get(p->a, p->ida, &i);
	assert_int_equal(i.remote.family, AF_INET6);
	assert_int_equal(i.mss, 1440 - 12); /* IPv6: 20 bytes less */
	pair_run(p, &f, 1, 1000000);
	pair_free(p);
}

/* RFC 1122 §3.2.1.7 (the TTL MUST be configurable) and §4.2.4.2 (the
 * application MUST be able to set the TOS; RFC 2474's DSCP): per
 * connection, on every packet from then on, the ECN bits left out (RFC
 * 3168); IPv4's TTL and TOS, IPv6's hop limit and traffic class; a
 * listener passes both on, from its SYN,ACK. */
static void ttl_tos(void **state)
{
	struct tcp_config cfg;
	struct harness *h = h_new(NULL);
	uint32_t iss;
	int id = h_client(h, &iss, 0), l;
	struct wire_seg *s;

	(void)state;
	assert_int_equal(h->last.ttl, 64);
	assert_int_equal(h->last.tos, 0);
	assert_int_equal(h_info(h, id).ttl, 64);
	assert_int_equal(tcp_set_ip(h->e, (uint32_t)id, TCP_IP_TTL, 7), 0);
	assert_int_equal(tcp_set_ip(h->e, (uint32_t)id, TCP_IP_TOS, 0xbb), 0);
	assert_int_equal(tcp_set_ip(h->e, 999, TCP_IP_TTL, 7), -ENOENT);
	h_send(h, id, "x", 1, 10);
	s = h_next(h);
	assert_int_equal(s->ttl, 7);
	assert_int_equal(s->tos, 0xb8);
	assert_int_equal(h_info(h, id).tos, 0xb8);
	h_free(h);

	tcp_config_default(&cfg);
	ep6(&cfg.addr6, 1, 0);
	h = h_new(&cfg);
	ep6(&h->me, 1, 80);
	ep6(&h->peer, 2, 40000);
	l = tcp_open(h->e);
	assert_int_equal(tcp_set_ip(h->e, (uint32_t)l, TCP_IP_TTL, 9), 0);
	assert_int_equal(tcp_set_ip(h->e, (uint32_t)l, TCP_IP_TOS, 0x2e << 2),
			 0);
	assert_int_equal(tcp_listen(h->e, (uint32_t)l, &h->me, 4), 0);
	h_in(h, TCP_SYN, PEER_ISS, 0, NULL, 0, 0);
	s = h_expect_flags(h, TCP_SYN | TCP_ACK, PEER_ISS + 1);
	assert_int_equal(s->ttl, 9);
	assert_int_equal(s->tos, 0xb8);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ttl_tos),
		cmocka_unit_test(ids_wrap),
		cmocka_unit_test(heap_follows_conns),
		cmocka_unit_test(bad_config),
		cmocka_unit_test(ports),
		cmocka_unit_test(ports_exhausted),
		cmocka_unit_test(isn_clock),
		cmocka_unit_test(dual_listener),
		cmocka_unit_test(syn_sent_mss),
		cmocka_unit_test(listen_conflicts),
		cmocka_unit_test(limits),
		cmocka_unit_test(events),
		cmocka_unit_test(exact_fill_writable),
		cmocka_unit_test(ipv6_transfer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
