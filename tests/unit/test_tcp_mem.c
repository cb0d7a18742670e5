/* Buffer memory and connection caps (tcp_mem.c), in simulated time
 * against a scripted peer: connections and memory charged to their owner
 * (a listener's children to the listener's), caps per owner and overall
 * with their errnos, the counters back at 0 when everything is freed,
 * and memory pressure as Linux's tcp_mem: receive buffers sized down,
 * windows clamped without moving an offered right edge left (RFC 9293
 * §3.8.6), data that needs memory past the cap dropped, new connections
 * refused. */
#include "tcp_harness.h"

/* One client connection of the scripted peer. */
struct cl {
	int id;
	uint16_t port;
	uint32_t iss, rcv; /* our ISS; the peer's next sequence number */
};

/* A send ring's first storage: Linux's tcp_wmem[1]. */
#define SND_INIT (16 * 1024)
/* What a connection's trace may add to its charge meanwhile. */
#define TRACE_MAX 8192

static tcp_time clk; /* simulated time: each exchange 50 ms later */

/* A client connection of OWNER, ESTABLISHED with the peer. */
static struct cl client_of(struct harness *h, uint32_t owner)
{
	struct cl c;

	c.id = tcp_open_owner(h->e, owner);
	assert_true(c.id > 0);
	c.iss = h_syn_sent(h, c.id, clk);
	c.port = h->me.port;
	c.rcv = PEER_ISS + 1;
	h_in(h, TCP_SYN | TCP_ACK, PEER_ISS, c.iss + 1, NULL, 0, clk);
	h_expect(h, TCP_ACK, c.iss + 1, PEER_ISS + 1);
	return c;
}

/* The peer sends LEN bytes to C; the engine's last answer (an ACK, at
 * once or delayed) or NULL. */
static struct wire_seg *peer_data(struct harness *h, struct cl *c, size_t len)
{
	static uint8_t data[1460];
	struct wire_seg *s = NULL;

	h->me.port = c->port;
	clk += 50 * MS;
	h_in(h, TCP_ACK | TCP_PSH, c->rcv, c->iss + 1, data, len, clk);
	tcp_dispatch(h->e, clk + 40 * MS); /* the delayed ACK, if any */
	while (h->n)
		s = h_next(h);
	return s;
}

/* A new peer's SYN to the listener on port 80 gets no answer: dropped,
 * and counted. */
static void syn_dropped(struct harness *h)
{
	struct tcp_stats st;

	h->me.port = 80;
	h->peer.port = 40001;
	h_in(h, TCP_SYN, PEER_ISS, 0, NULL, 0, clk);
	h_none(h);
	tcp_stats_get(h->e, &st);
	assert_int_equal(st.syn_dropped, 1);
}

static struct tcp_mem_info mem(struct harness *h, uint32_t owner)
{
	struct tcp_mem_info m;

	tcp_mem_get(h->e, owner, &m);
	return m;
}

/* Free every connection of the engine (ids 1 to N) and check that
 * nothing stays charged. */
static void free_all(struct harness *h, int n)
{
	for (int id = 1; id <= n; id++)
		tcp_free(h->e, (uint32_t)id, clk);
	h_drain(h);
	assert_int_equal(mem(h, 0).bytes, 0);
	assert_int_equal(mem(h, 0).conns, 0);
	assert_int_equal(mem(h, 1).owner_bytes, 0);
	assert_int_equal(mem(h, 1).owner_conns, 0);
}

/* Connection caps: one owner's gives EMFILE (a process's limit, as
 * socket(2)), the engine's ENFILE (the system's); freeing makes room. */
static void conn_caps(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	int a;

	(void)state;
	tcp_config_default(&cfg);
	cfg.max_conns = 4;
	cfg.max_conns_owner = 2;
	h = h_new(&cfg);
	a = tcp_open_owner(h->e, 1);
	assert_true(a > 0);
	assert_true(tcp_open_owner(h->e, 1) > 0);
	assert_int_equal(tcp_open_owner(h->e, 1), -EMFILE);
	assert_int_equal(mem(h, 1).refused, TCP_LIMIT_OWNER_CONNS);
	assert_int_equal(mem(h, 1).owner_conns, 2);
	assert_true(tcp_open_owner(h->e, 2) > 0);
	assert_true(tcp_open_owner(h->e, 2) > 0);
	assert_int_equal(tcp_open_owner(h->e, 3), -ENFILE);
	assert_int_equal(mem(h, 3).refused, TCP_LIMIT_CONNS);
	tcp_free(h->e, (uint32_t)a, clk);
	assert_true(tcp_open_owner(h->e, 1) > 0);
	free_all(h, 5);
	h_free(h);
}

/* One owner filling its cap with send buffers (a peer that never reads)
 * gets what fits of the write whose buffer cannot grow, then ENOBUFS on
 * the next; its connections stay; another owner still opens, connects
 * and moves bytes. Everything freed: 0. */
static void owner_flood(void **state)
{
	static uint8_t data[100 * 1024];
	struct tcp_config cfg;
	struct harness *h;
	struct cl c[16], o;
	long n = 0;
	int i, k;

	(void)state;
	tcp_config_default(&cfg);
	cfg.sndbuf = sizeof(data);
	cfg.mem_owner = 250 * 1024; /* two send buffers, not three */
	h = h_new(&cfg);
	for (i = 0; i < 16; i++) {
		c[i] = client_of(h, 1);
		n = h_send(h, c[i].id, data, sizeof(data), clk);
		h_drain(h);
		if (n != (long)sizeof(data))
			break;
	}
	assert_int_equal(i, 2);
	assert_int_equal(n, SND_INIT); /* the ring it had, not grown */
	assert_int_equal(h_info(h, c[i].id).send_q, SND_INIT);
	for (k = 0;
	     k < 16 && (n = h_send(h, c[i].id, data, sizeof(data), clk)) > 0;
	     k++)
		h_drain(h); /* what a smaller growth still gives */
	assert_int_equal(n, -ENOBUFS);
	assert_true(h_info(h, c[i].id).send_q < cfg.sndbuf);
	assert_int_equal(mem(h, 1).refused, TCP_LIMIT_OWNER_MEM);
	assert_true(mem(h, 1).owner_bytes <= cfg.mem_owner);
	assert_true(mem(h, 1).owner_bytes >= (uint64_t)i * cfg.sndbuf);
	assert_int_equal(h_state(h, c[i].id), TCP_ESTABLISHED);
	/* another owner: its own share */
	o = client_of(h, 2);
	assert_int_equal(h_send(h, o.id, "hello", 5, clk), 5);
	assert_int_equal(h_next(h)->len, 5);
	assert_true(mem(h, 2).owner_bytes >= SND_INIT);
	assert_int_equal(mem(h, 2).owner_conns, 1);
	free_all(h, o.id);
	h_free(h);
}

/* A send ring's storage grows with what is queued, as Linux charges what
 * is queued: 100 bytes written cost 16 KiB (tcp_wmem[1]), not the send
 * buffer, which the user is still offered; writes that the peer does not
 * acknowledge fill the send buffer, small ones (the ring doubles) and one
 * large one (it grows at once) alike, and then wait (EAGAIN). */
static void send_ring_grows(void **state)
{
	static uint8_t data[300 * 1024];
	struct tcp_config cfg;
	struct harness *h;
	struct cl c, d;
	uint64_t before;
	long n = 0;
	int i;

	(void)state;
	tcp_config_default(&cfg);
	h = h_new(&cfg);
	c = client_of(h, 1);
	before = mem(h, 1).owner_bytes;
	assert_int_equal(h_send(h, c.id, data, 100, clk), 100);
	h_drain(h);
	assert_in_range(mem(h, 1).owner_bytes - before, SND_INIT,
			SND_INIT + TRACE_MAX);
	assert_int_equal(tcp_writable(h->e, (uint32_t)c.id), cfg.sndbuf - 100);
	assert_true(tcp_ready(h->e, (uint32_t)c.id) & TCP_READY_OUT);
	for (i = 0; i < 1000 && (n = h_send(h, c.id, data, 5000, clk)) > 0; i++)
		h_drain(h);
	assert_int_equal(n, -EAGAIN);
	assert_int_equal(h_info(h, c.id).send_q, cfg.sndbuf);
	assert_in_range(mem(h, 1).owner_bytes - before, cfg.sndbuf,
			cfg.sndbuf + TRACE_MAX);
	assert_int_equal(tcp_writable(h->e, (uint32_t)c.id), 0);
	assert_false(tcp_ready(h->e, (uint32_t)c.id) & TCP_READY_OUT);
	d = client_of(h, 1);
	before = mem(h, 1).owner_bytes;
	assert_int_equal(h_send(h, d.id, data, sizeof(data), clk), cfg.sndbuf);
	h_drain(h);
	assert_int_equal(h_info(h, d.id).send_q, cfg.sndbuf);
	assert_in_range(mem(h, 1).owner_bytes - before, cfg.sndbuf,
			cfg.sndbuf + TRACE_MAX);
	free_all(h, d.id);
	h_free(h);
}

/* Auto-tuning grows the receive ring only where bytes can still come
 * (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2): after the peer's FIN a reader
 * draining the ring fast would have it doubled and copied for nothing. */
static void receive_ring_fixed_after_fin(void **state)
{
	static uint8_t buf[16384];
	struct tcp_config cfg;
	struct harness *h;
	uint64_t before;
	struct cl c;

	(void)state;
	tcp_config_default(&cfg);
	cfg.rcvbuf = 16384;
	h = h_new(&cfg);
	c = client_of(h, 1);
	for (int i = 0; i < 12; i++, c.rcv += 1000)
		peer_data(h, &c, 1000);
	clk += 50 * MS;
	h_in(h, TCP_ACK | TCP_FIN, c.rcv, c.iss + 1, NULL, 0, clk);
	h_drain(h);
	assert_int_equal(h_state(h, c.id), TCP_CLOSE_WAIT);
	before = mem(h, 1).owner_bytes;
	clk += SEC; /* more than half the ring read in a round trip */
	assert_int_equal(h_recv(h, c.id, buf, sizeof(buf), clk), 12000);
	assert_int_equal(mem(h, 1).owner_bytes, before);
	free_all(h, c.id);
	h_free(h);
}

/* A listener's children are its owner's: their count and buffers. When
 * the owner's memory is at its cap, a SYN to its listener is dropped (the
 * peer tries again, as with a full accept queue); another owner's
 * listener answers. */
static void children_charged_to_listener(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	uint32_t iss;
	int l, k, i;
	uint64_t before;

	(void)state;
	tcp_config_default(&cfg);
	cfg.sndbuf = 100 * 1024;
	cfg.mem_owner = 250 * 1024;
	h = h_new(&cfg);
	l = tcp_open_owner(h->e, 9);
	assert_int_equal(tcp_listen(h->e, (uint32_t)l, &h->me, 8), 0);
	h_in(h, TCP_SYN, PEER_ISS, 0, NULL, 0, clk);
	iss = h_expect_flags(h, TCP_SYN | TCP_ACK, PEER_ISS + 1)->seq;
	h_in(h, TCP_ACK, PEER_ISS + 1, iss + 1, NULL, 0, clk);
	k = tcp_accept(h->e, (uint32_t)l);
	assert_true(k > 0);
	assert_int_equal(mem(h, 9).owner_conns, 2);
	assert_int_equal(mem(h, 0).owner_conns, 0);
	before = mem(h, 9).owner_bytes;
	h_in(h, TCP_ACK, PEER_ISS + 1, iss + 1, "data", 4, clk);
	assert_true(mem(h, 9).owner_bytes >= before + cfg.rcvbuf);
	/* owner 9 fills its cap with send buffers */
	for (i = 0; i < 16 && h_send(h, client_of(h, 9).id, "x", 1, clk) > 0;
	     i++)
		h_drain(h);
	assert_true(i < 16);
	h_drain(h);
	for (i = 0; i < 1000 && (k = tcp_open_owner(h->e, 9)) > 0; i++)
		;
	assert_int_equal(k, -ENOBUFS);
	syn_dropped(h);
	/* owner 10's listener is not touched by 9's cap */
	l = tcp_open_owner(h->e, 10);
	h->me.port = 81;
	assert_int_equal(tcp_listen(h->e, (uint32_t)l, &h->me, 8), 0);
	h_in(h, TCP_SYN, PEER_ISS, 0, NULL, 0, clk);
	h_expect_flags(h, TCP_SYN | TCP_ACK, PEER_ISS + 1);
	free_all(h, l);
	h_free(h);
}

/* Memory pressure (Linux's tcp_mem, RFC 9293 §3.8.6): above 2/3 of the
 * cap a new receive buffer is no larger than the window already offered,
 * no ACK moves an offered right edge left, and the windows offered next
 * are clamped to 4 MSS; below 1/2 (not before) the pressure is over and
 * the full window comes back. */
/* An engine with 256 KiB receive rings and a 600 KiB cap (pressure above
 * 400 KiB, low 300 KiB), and three clients of owner 0 in *A, *B1, *B2. */
static struct harness *three_clients(struct cl *a, struct cl *b1, struct cl *b2)
{
	struct tcp_config cfg;
	struct harness *h;

	tcp_config_default(&cfg);
	cfg.rcvbuf = cfg.rcvbuf_max = 256 * 1024;
	cfg.mem_max = 600 * 1024;
	h = h_new(&cfg);
	*a = client_of(h, 0);
	*b1 = client_of(h, 0);
	*b2 = client_of(h, 0);
	return h;
}

static void pressure_clamps_windows(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	struct cl b1, b2, a;
	struct wire_seg *s;
	uint32_t edge = PEER_ISS + 1 + 65535;
	uint64_t before;
	static char buf[65536];

	(void)state;
	tcp_config_default(&cfg); /* three_clients()'s MSS */
	h = three_clients(&a, &b1, &b2);
	peer_data(h, &b1, 1); /* a full 256 KiB ring each */
	assert_false(mem(h, 0).pressure);
	peer_data(h, &b2, 1);
	assert_true(mem(h, 0).pressure);
	/* A's first data: a ring only as large as the window offered */
	before = mem(h, 0).bytes;
	s = peer_data(h, &a, 1000);
	a.rcv += 1000;
	assert_true(mem(h, 0).bytes - before >= 65535);
	assert_true(mem(h, 0).bytes - before < 65535 + 8192); /* + trace */
	assert_int_equal(s->ack + s->wnd, edge);
	/* the peer fills the window it was offered: the right edge stays
	 * where it was offered, neither left (RFC 9293 §3.8.6) nor right
	 * (the clamp); the reader's read opens 4 MSS, not the ring */
	while (a.rcv != edge) {
		size_t len = edge - a.rcv < 1460 ? edge - a.rcv : 1460;
		s = peer_data(h, &a, len);
		a.rcv += (uint32_t)len;
		assert_non_null(s);
		assert_int_equal(s->ack, a.rcv);
		assert_int_equal(s->ack + s->wnd, edge);
	}
	assert_int_equal(h_recv(h, a.id, buf, sizeof(buf), clk), 65535);
	s = h_next(h);
	assert_int_equal(s->ack, edge);
	assert_int_equal(s->wnd, 4 * cfg.mss);
	/* b2 freed: between low and pressure, still under pressure */
	tcp_free(h->e, (uint32_t)b2.id, clk);
	h_drain(h);
	assert_true(mem(h, 0).bytes < mem(h, 0).pressure_at);
	assert_true(mem(h, 0).bytes > mem(h, 0).low);
	assert_true(mem(h, 0).pressure);
	tcp_free(h->e, (uint32_t)b1.id, clk);
	h_drain(h);
	assert_false(mem(h, 0).pressure);
	/* the pressure is over: the window is the free ring again */
	s = peer_data(h, &a, 1000);
	a.rcv += 1000;
	assert_int_equal(s->ack, a.rcv);
	assert_int_equal(s->wnd, 65535 - 1000);
	free_all(h, b2.id);
	h_free(h);
}

/* Under memory pressure a send ring keeps the storage it has, as Linux
 * stops expanding sndbuf (tcp_should_expand_sndbuf): a write past it
 * takes what fits, the next waits for ACKs (EAGAIN, not ENOBUFS), poll
 * says so (no POLLOUT) and nothing more is charged; once the pressure is
 * over it grows again. */
static void pressure_stops_send_growth(void **state)
{
	static uint8_t data[20000];
	struct harness *h;
	struct cl a, b1, b2;
	uint64_t before;

	(void)state;
	h = three_clients(&a, &b1, &b2);
	assert_int_equal(h_send(h, a.id, data, 100, clk), 100);
	h_drain(h);
	peer_data(h, &b1, 1);
	peer_data(h, &b2, 1);
	assert_true(mem(h, 0).pressure);
	before = mem(h, 0).bytes;
	assert_int_equal(h_send(h, a.id, data, sizeof(data), clk),
			 SND_INIT - 100);
	h_drain(h);
	assert_int_equal(h_send(h, a.id, data, 1, clk), -EAGAIN);
	/* poll and the write agree: no POLLOUT, or a poller spins */
	assert_false(tcp_ready(h->e, (uint32_t)a.id) & TCP_READY_OUT);
	assert_int_equal(tcp_writable(h->e, (uint32_t)a.id), 0);
	assert_in_range(mem(h, 0).bytes, before, before + TRACE_MAX);
	assert_int_equal(h_info(h, a.id).send_q, SND_INIT);
	tcp_free(h->e, (uint32_t)b2.id, clk);
	tcp_free(h->e, (uint32_t)b1.id, clk);
	h_drain(h);
	assert_false(mem(h, 0).pressure);
	assert_true(tcp_ready(h->e, (uint32_t)a.id) & TCP_READY_OUT);
	assert_int_equal(tcp_writable(h->e, (uint32_t)a.id),
			 h->cfg.sndbuf - SND_INIT);
	assert_int_equal(h_send(h, a.id, data, sizeof(data), clk),
			 sizeof(data));
	free_all(h, b2.id);
	h_free(h);
}

/* At the cap ("high"): data that needs a new buffer is dropped and the
 * ACK says at once what was taken (Linux past tcp_mem[2]); new
 * connections, connect, listen and SYNs to a listener are refused. */
static void high_drops_and_refuses(void **state)
{
	struct tcp_config cfg;
	struct harness *h;
	struct cl c[32];
	struct wire_seg *s = NULL;
	int i, l, id = 0, last = 0;

	(void)state;
	tcp_config_default(&cfg);
	cfg.mem_max = 600 * 1024;
	h = h_new(&cfg);
	l = tcp_open(h->e);
	assert_int_equal(tcp_listen(h->e, (uint32_t)l, &h->me, 8), 0);
	for (i = 0; i < 32 && !mem(h, 0).rcv_drops; i++) {
		c[i] = client_of(h, 0);
		s = peer_data(h, &c[i], 100);
	}
	assert_true(i < 32);
	assert_non_null(s); /* the drop's ACK: nothing taken */
	assert_int_equal(s->ack, PEER_ISS + 1);
	assert_int_equal(h_info(h, c[i - 1].id).recv_q, 0);
	assert_int_equal(h_state(h, c[i - 1].id), TCP_ESTABLISHED);
	for (i = 0; i < 200 && (id = tcp_open(h->e)) > 0; i++)
		last = id;
	assert_int_equal(id, -ENOBUFS);
	assert_int_equal(mem(h, 0).refused, TCP_LIMIT_MEM);
	assert_true(mem(h, 0).bytes <= cfg.mem_max);
	/* the connections opened last: no room to connect or listen */
	assert_int_equal(tcp_connect(h->e, (uint32_t)last, &h->peer, 0, clk),
			 -ENOBUFS);
	h->me.port = 81;
	assert_int_equal(tcp_listen(h->e, (uint32_t)last, &h->me, 8), -ENOBUFS);
	syn_dropped(h);
	free_all(h, 300);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(conn_caps),
		cmocka_unit_test(owner_flood),
		cmocka_unit_test(send_ring_grows),
		cmocka_unit_test(receive_ring_fixed_after_fin),
		cmocka_unit_test(children_charged_to_listener),
		cmocka_unit_test(pressure_clamps_windows),
		cmocka_unit_test(pressure_stops_send_growth),
		cmocka_unit_test(high_drops_and_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
