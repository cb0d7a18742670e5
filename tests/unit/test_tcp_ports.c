/* Ephemeral ports (RFC 6056 §3.3.4, algorithm 4: each destination its
 * own sequence), a configured range, and TIME_WAIT reuse for a new
 * outgoing connection (RFC 6191, RFC 7323 Appendix B.2; Linux's
 * tcp_tw_reuse): only with timestamps, only once the peer has been quiet
 * for a second, with an ISS and a TSval above the old incarnation's. */
#include "tcp_harness.h"

#define PORT 40000

/* An engine whose ephemeral range is PORT to PORT + N - 1, with a long
 * TIME_WAIT (2 MSL = 120 s) and TIME_WAIT reuse REUSE. */
static struct harness *h_ports(unsigned n, bool reuse)
{
	struct tcp_config cfg;

	tcp_config_default(&cfg);
	cfg.key[0] = 1;
	cfg.port_lo = PORT;
	cfg.port_hi = (uint16_t)(PORT + n - 1);
	cfg.tw_reuse = reuse;
	return h_new(&cfg);
}

/* Our close of ID (its ISS) at NOW, the peer's FIN (TSval 200 if TS) at
 * NOW + 1 ms: TIME_WAIT. The TSval of our ACK of that FIN. */
static uint32_t close_to_tw(struct harness *h, int id, uint32_t iss, bool ts,
			    tcp_time now)
{
	struct wire_opts o = {.has_ts = ts, .tsval = 200};
	uint32_t p = PEER_ISS + 1;

	assert_int_equal(h_close(h, id, now), 0);
	h_expect(h, TCP_FIN | TCP_ACK, iss + 1, p);
	h_in_opt(h, TCP_FIN | TCP_ACK, p, iss + 2, 65535, NULL, 0,
		 ts ? &o : NULL, now + MS);
	return h_expect(h, TCP_ACK, iss + 2, p + 1)->opt.tsval;
}

/* A connection to the scripted peer (from LPORT, 0: an ephemeral one),
 * with timestamps if TS, closed by us at NOW: the peer's FIN brings it to
 * TIME_WAIT at NOW + 2 ms. *OLD gets its info there and *TSV the TSval of
 * its last segment (our ACK of the FIN). */
static int to_time_wait(struct harness *h, uint16_t lport, bool ts,
			tcp_time now, struct tcp_info_snap *old, uint32_t *tsv)
{
	struct wire_opts o = {.has_ts = ts, .tsval = 100};
	uint32_t iss, p = PEER_ISS + 1;
	int id = tcp_open(h->e);
	struct wire_seg *s;

	assert_true(id > 0);
	assert_int_equal(h_connect(h, id, &h->peer, lport, now), 0);
	s = h_next(h);
	h->me.port = s->src.port;
	iss = s->seq;
	o.tsecr = s->opt.tsval;
	h_in_opt(h, TCP_SYN | TCP_ACK, PEER_ISS, iss + 1, 65535, NULL, 0,
		 ts ? &o : NULL, now);
	h_expect(h, TCP_ACK, iss + 1, p);
	assert_int_equal(h_info(h, id).ts_ok, ts);
	*tsv = close_to_tw(h, id, iss, ts, now + MS);
	*old = h_info(h, id);
	assert_int_equal(old->state, TCP_TIME_WAIT);
	return id;
}

/* ID2's connect from LPORT at NOW takes the 4-tuple of ID (info OLD, the
 * TSval of its last segment TSV): ID ends (CLOSED, no error, why says
 * so), and the SYN from PORT has a sequence number above everything ID
 * sent (SND.NXT + 65537, as Linux) and a TSval above ID's last. The SYN. */
static struct wire_seg *reused(struct harness *h, int id, int id2,
			       uint16_t lport, uint16_t port,
			       const struct tcp_info_snap *old, uint32_t tsv,
			       tcp_time now)
{
	struct tcp_info_snap i;
	struct wire_seg *s;

	assert_int_equal(h_connect(h, id2, &h->peer, lport, now), 0);
	s = h_next(h);
	assert_int_equal(s->flags, TCP_SYN);
	assert_int_equal(s->src.port, port);
	assert_int_equal(s->seq, old->snd_nxt + 65537);
	assert_true(s->opt.has_ts);
	assert_true((int32_t)(s->opt.tsval - tsv) > 0);
	i = h_info(h, id);
	assert_int_equal(i.state, TCP_CLOSED);
	assert_int_equal(i.error, 0);
	assert_non_null(i.why);
	assert_non_null(strstr(i.why, "TIME_WAIT"));
	return s;
}

/* The only port to the peer is held by a TIME_WAIT connection that used
 * timestamps: a connect gets EADDRNOTAVAIL (an explicit port EADDRINUSE)
 * until the peer has sent nothing for a second (RFC 7323 §5.4: its clock
 * has ticked); a peer segment in TIME_WAIT starts that second again.
 * Then the connect takes the 4-tuple (reused()) and the handshake
 * completes. */
static void tw_reuse_ts(void **state)
{
	struct harness *h = h_ports(1, true);
	struct wire_opts o = {.has_ts = true, .tsval = 300};
	struct tcp_info_snap old;
	uint32_t tsv, p = PEER_ISS + 1;
	int id, id2 = tcp_open(h->e);
	struct wire_seg *s;

	(void)state;
	id = to_time_wait(h, 0, true, 0, &old, &tsv);
	assert_int_equal(old.local.port, PORT);
	assert_int_equal(h_connect(h, id2, &h->peer, 0, SEC), -EADDRNOTAVAIL);
	assert_int_equal(h_connect(h, id2, &h->peer, PORT, SEC), -EADDRINUSE);
	/* the peer's FIN again at 0.8 s: re-ACKed, and quiet from there */
	h_in_opt(h, TCP_FIN | TCP_ACK, p, old.snd_nxt, 65535, NULL, 0, &o,
		 800 * MS);
	tsv = h_expect(h, TCP_ACK, old.snd_nxt, p + 1)->opt.tsval;
	assert_int_equal(h_connect(h, id2, &h->peer, 0, 1700 * MS),
			 -EADDRNOTAVAIL);
	assert_int_equal(h_state(h, id), TCP_TIME_WAIT);
	s = reused(h, id, id2, 0, PORT, &old, tsv, 1800 * MS);
	o.tsval = 400;
	o.tsecr = s->opt.tsval;
	h_in_opt(h, TCP_SYN | TCP_ACK, PEER_ISS + 5000000, s->seq + 1, 65535,
		 NULL, 0, &o, 1801 * MS);
	h_expect(h, TCP_ACK, s->seq + 1, PEER_ISS + 5000001);
	assert_int_equal(h_state(h, id2), TCP_ESTABLISHED);
	h_free(h);
}

/* The same with an explicit local port (not from the range): taken once
 * it is safe, as bind(2) + connect(2) on Linux. */
static void tw_reuse_explicit_port(void **state)
{
	struct harness *h = h_ports(1, true);
	struct tcp_info_snap old;
	uint32_t tsv;
	int id, id2 = tcp_open(h->e);

	(void)state;
	id = to_time_wait(h, 5000, true, 0, &old, &tsv);
	assert_int_equal(h_connect(h, id2, &h->peer, 5000, 500 * MS),
			 -EADDRINUSE);
	reused(h, id, id2, 5000, 5000, &old, tsv, 1100 * MS);
	h_free(h);
}

/* A TIME_WAIT connection a listener accepted (port 80) is not taken over
 * by a connect from port 80 while the listener holds the port (bind(2)
 * would refuse it); once the listener is closed, it is. */
static void tw_reuse_listener_port(void **state)
{
	struct harness *h = h_ports(1, true);
	uint32_t iss;
	int l, id = h_server_ts(h, 50, &l, &iss, 0), id2 = tcp_open(h->e);

	(void)state;
	close_to_tw(h, id, iss, true, MS);
	assert_int_equal(h_state(h, id), TCP_TIME_WAIT);
	assert_int_equal(h_connect(h, id2, &h->peer, 80, 5 * SEC), -EADDRINUSE);
	assert_int_equal(h_state(h, id), TCP_TIME_WAIT);
	assert_int_equal(h_close(h, l, 5 * SEC), 0);
	assert_int_equal(h_connect(h, id2, &h->peer, 80, 5 * SEC), 0);
	assert_int_equal(h_next(h)->src.port, 80);
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	h_free(h);
}

/* Without timestamps nothing tells old duplicates from new segments: no
 * reuse, however long the wait; and none with reuse off. */
static void tw_reuse_refused(void **state)
{
	struct harness *h = h_ports(1, true);
	struct tcp_info_snap old;
	uint32_t tsv;
	int id, id2 = tcp_open(h->e);

	(void)state;
	id = to_time_wait(h, 0, false, 0, &old, &tsv);
	assert_int_equal(h_connect(h, id2, &h->peer, 0, 30 * SEC),
			 -EADDRNOTAVAIL);
	assert_int_equal(h_connect(h, id2, &h->peer, PORT, 30 * SEC),
			 -EADDRINUSE);
	assert_int_equal(h_state(h, id), TCP_TIME_WAIT);
	h_none(h);
	h_free(h);

	h = h_ports(1, false);
	id2 = tcp_open(h->e);
	id = to_time_wait(h, 0, true, 0, &old, &tsv);
	assert_int_equal(h_connect(h, id2, &h->peer, 0, 30 * SEC),
			 -EADDRNOTAVAIL);
	assert_int_equal(h_state(h, id), TCP_TIME_WAIT);
	h_free(h);
}

/* Ports come from the configured range, each once; a full range is
 * EADDRNOTAVAIL for that peer only; a range that is no range is EINVAL. */
/* A connect to a port of the engine's own address never picks that port
 * as its own: the SYN would go from an endpoint to itself, which is
 * dropped (a LAND attack), and the connect would time out. With the range
 * that port alone, there is none to pick. */
static void own_port_not_picked(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	struct wire_ep to;
	int id;

	(void)state;
	tcp_config_default(&cfg);
	cfg.port_lo = cfg.port_hi = 40000;
	h = h_new(&cfg);
	to = h->me;
	to.port = 40000;
	id = tcp_open(h->e);
	assert_int_equal(h_connect(h, id, &to, 0, 0), -EADDRNOTAVAIL);
	h_free(h);
}

static void ports_range(void **state)
{
	struct harness *h = h_ports(4, true);
	struct tcp_config cfg;
	struct wire_ep other;
	unsigned seen = 0;
	int id;

	(void)state;
	for (int k = 0; k < 4; k++) {
		id = tcp_open(h->e);
		assert_int_equal(h_connect(h, id, &h->peer, 0, 0), 0);
		uint16_t port = h_info(h, id).local.port;
		assert_true(port >= PORT && port < PORT + 4);
		assert_false(seen & 1u << (port - PORT));
		seen |= 1u << (port - PORT);
	}
	id = tcp_open(h->e);
	assert_int_equal(h_connect(h, id, &h->peer, 0, 0), -EADDRNOTAVAIL);
	other = h->peer;
	other.port++;
	assert_int_equal(h_connect(h, id, &other, 0, 0), 0);
	h_free(h);

	cfg = (struct tcp_config){0};
	tcp_config_default(&cfg);
	cfg.output = h_output;
	cfg.port_lo = 0;
	assert_null(tcp_engine_new(&cfg));
	assert_int_equal(errno, EINVAL);
	cfg.port_lo = 5001;
	cfg.port_hi = 5000;
	assert_null(tcp_engine_new(&cfg));
	assert_int_equal(errno, EINVAL);
}

/* 300 destinations (the table of them grows from 64 buckets), one port
 * each: each is full after one connect and free again after its free. */
static void ports_many_destinations(void **state)
{
	struct harness *h = h_ports(1, true);
	struct wire_ep peer = h->peer;
	int ids[300];

	(void)state;
	for (int round = 0; round < 2; round++) {
		for (int k = 0; k < 300; k++) {
			peer.port = (uint16_t)(1000 + k);
			ids[k] = tcp_open(h->e);
			assert_int_equal(h_connect(h, ids[k], &peer, 0, 0), 0);
		}
		for (int k = 0; k < 300; k++) {
			int id = tcp_open(h->e);

			peer.port = (uint16_t)(1000 + k);
			assert_int_equal(h_connect(h, id, &peer, 0, 0),
					 -EADDRNOTAVAIL);
			tcp_free(h->e, (uint32_t)id, 0);
		}
		for (int k = 0; k < 300; k++)
			tcp_free(h->e, (uint32_t)ids[k], 0);
		h_drain(h);
	}
	h_free(h);
}

/* RFC 6056 §3.3.4 (algorithm 4): each destination has its own counter,
 * so the connects to others in between do not move it: to one peer the
 * ports follow each other (a global counter, algorithm 3, would skip
 * those used elsewhere). */
static void ports_per_destination(void **state)
{
	struct harness *h = h_new(NULL);
	struct wire_ep y = h->peer;
	int id = tcp_open(h->e);
	uint16_t p1, p2;

	(void)state;
	assert_int_equal(h_connect(h, id, &h->peer, 0, 0), 0);
	p1 = h_info(h, id).local.port;
	y.a[3] = 3;
	for (int k = 0; k < 10; k++) {
		id = tcp_open(h->e);
		assert_int_equal(h_connect(h, id, &y, 0, 0), 0);
	}
	id = tcp_open(h->e);
	assert_int_equal(h_connect(h, id, &h->peer, 0, 0), 0);
	p2 = h_info(h, id).local.port;
	assert_int_equal(p2, p1 == 60999 ? 32768 : p1 + 1);
	h_free(h);
}

/* ---- two engines over memlink ---- */

/* B listens on port 80; A's range is two ports, its TIME_WAIT 120 s. */
static struct pair *pair_ports(bool reuse)
{
	struct pair *p = calloc(1, sizeof(*p));
	struct wire_ep lep = {.port = 80};
	struct tcp_config cfg;
	int l;

	assert_non_null(p);
	p->l = memlink_new(NULL, NULL, 99);
	tcp_config_default(&cfg);
	cfg.port_lo = PORT;
	cfg.port_hi = PORT + 1;
	cfg.tw_reuse = reuse;
	p->a = pair_engine_new(p, MEMLINK_A, &cfg, NULL);
	p->b = pair_engine_new(p, MEMLINK_B, NULL, NULL);
	assert_true(p->a && p->b);
	l = tcp_open(p->b);
	assert_int_equal(tcp_listen(p->b, l, &lep, 16), 0);
	p->idb = l;
	return p;
}

/* Run P until A's ID reaches STATE (at most 10 s on). */
static void run_to(struct pair *p, int id, enum tcp_state state)
{
	tcp_time end = p->now + 10 * SEC;

	while (pair_state(p->a, id) != state && p->now < end)
		assert_true(pair_step(p, end));
	assert_int_equal(pair_state(p->a, id), state);
}

/* One connect, a byte each way, A closes first: A's side ends in
 * TIME_WAIT, B's freed. The connect's result. */
static int cycle(struct pair *p)
{
	struct wire_ep rep;
	int a = tcp_open(p->a), b, rc;
	char c;

	ep4(&rep, 2, 80);
	if ((rc = tcp_connect(p->a, a, &rep, 0, p->now)))
		return rc;
	run_to(p, a, TCP_ESTABLISHED);
	while ((b = tcp_accept(p->b, p->idb)) < 0)
		assert_true(pair_step(p, TCP_NEVER));
	assert_int_equal(tcp_send(p->b, b, "s", 1, p->now), 1);
	assert_int_equal(tcp_send(p->a, a, "c", 1, p->now), 1);
	while (tcp_recv(p->a, a, &c, 1, p->now) != 1)
		assert_true(pair_step(p, TCP_NEVER));
	assert_int_equal(tcp_close(p->a, a, p->now), 0);
	run_to(p, a, TCP_FIN_WAIT_2);
	assert_int_equal(tcp_recv(p->b, b, &c, 1, p->now), 1);
	assert_int_equal(tcp_close(p->b, b, p->now), 0);
	run_to(p, a, TCP_TIME_WAIT);
	while (pair_state(p->b, b) != TCP_CLOSED)
		assert_true(pair_step(p, TCP_NEVER));
	tcp_free(p->b, b, p->now);
	return 0;
}

/* Two ports, twenty connections 1.1 s apart to one engine peer: with
 * reuse every one gets through (each takes the older TIME_WAIT 4-tuple
 * and the peer takes its SYN), without it the third cannot start. */
static void tw_reuse_memlink(void **state)
{
	struct pair *p = pair_ports(true);

	(void)state;
	for (int k = 0; k < 20; k++) {
		assert_int_equal(cycle(p), 0);
		p->now += 1100 * MS;
	}
	pair_free(p);
	p = pair_ports(false);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(cycle(p), 0);
		p->now += 1100 * MS;
	}
	assert_int_equal(cycle(p), -EADDRNOTAVAIL);
	pair_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tw_reuse_ts),
		cmocka_unit_test(tw_reuse_explicit_port),
		cmocka_unit_test(tw_reuse_listener_port),
		cmocka_unit_test(tw_reuse_refused),
		cmocka_unit_test(own_port_not_picked),
		cmocka_unit_test(ports_range),
		cmocka_unit_test(ports_per_destination),
		cmocka_unit_test(ports_many_destinations),
		cmocka_unit_test(tw_reuse_memlink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
