/* The engine tests' harness: see tcp_harness.h. */
#include "tcp_harness.h"

/* ---- One engine and a scripted peer ---- */

void h_output(void *ctx, const uint8_t *pkt, size_t len)
{
	struct harness *h = ctx;
	unsigned i = (h->head + h->n) % H_QUEUE;

	assert_true(len <= H_PKT);
	assert_true(h->n < H_QUEUE);
	memcpy(h->q[i], pkt, len);
	h->qlen[i] = len;
	h->n++;
}

static void h_event(void *ctx, uint32_t id, unsigned ev)
{
	struct harness *h = ctx;

	if (id < 64)
		h->ev[id] |= ev;
	if (h->on_event)
		h->on_event(h, id, ev);
}

void ep4(struct wire_ep *ep, uint8_t last, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = AF_INET;
	ep->a[0] = 198;
	ep->a[1] = 18;
	ep->a[3] = last;
	ep->port = port;
}

/* CFG NULL: defaults with the key {1, 0}. */
struct harness *h_new(const struct tcp_config *cfg)
{
	struct harness *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	h->q = calloc(H_QUEUE, H_PKT);
	assert_non_null(h->q);
	if (cfg) {
		h->cfg = *cfg;
	} else {
		tcp_config_default(&h->cfg);
		h->cfg.key[0] = 1;
	}
	ep4(&h->cfg.addr4, 1, 0);
	h->cfg.output = h_output;
	h->cfg.event = h_event;
	h->cfg.ctx = h;
	h->e = tcp_engine_new(&h->cfg);
	assert_non_null(h->e);
	ep4(&h->me, 1, 80);
	ep4(&h->peer, 2, 40000);
	return h;
}

void h_free(struct harness *h)
{
	tcp_engine_free(h->e);
	free(h->q);
	free(h);
}

/* The next packet the engine sent, parsed (data valid until the next
 * call); fails the test if there is none. */
struct wire_seg *h_next(struct harness *h)
{
	unsigned i = h->head;

	assert_true(h->n > 0);
	h->head = (h->head + 1) % H_QUEUE;
	h->n--;
	memcpy(h->last_raw, h->q[i], h->qlen[i]);
	h->last_rawlen = h->qlen[i];
	assert_int_equal(wire_parse(h->last_raw, h->last_rawlen, &h->last),
			 WIRE_OK);
	return &h->last;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void h_icmp(struct harness *h, uint8_t type, uint8_t code, uint32_t rest,
	    size_t qlen, tcp_time now)
{
	bool v6 = h->me.family == AF_INET6;
	size_t ip = v6 ? 40 : 20, mlen = 8 + qlen;
	uint8_t pkt[H_PKT] = {0}, *m = pkt + ip;
	uint32_t sum = 0;

	assert_true(qlen <= h->last_rawlen && ip + mlen <= sizeof(pkt));
	if (v6) {
		pkt[0] = 0x60;
		put16(pkt + 4, (uint32_t)mlen);
		pkt[6] = 58;
		pkt[7] = 64;
		memcpy(pkt + 8, h->peer.a, 16);
		pkt[8 + 15] = 0xfe; /* a router on the way */
		memcpy(pkt + 24, h->me.a, 16);
		sum = wire_csum_add(0, pkt + 8, 32) + 58 + (uint32_t)mlen;
	} else {
		pkt[0] = 0x45;
		put16(pkt + 2, (uint32_t)(ip + mlen));
		pkt[8] = 64;
		pkt[9] = 1;
		memcpy(pkt + 12, h->peer.a, 4);
		pkt[12 + 3] = 254;
		memcpy(pkt + 16, h->me.a, 4);
		put16(pkt + 10, wire_csum_fold(wire_csum_add(0, pkt, 20)));
	}
	m[0] = type;
	m[1] = code;
	put16(m + 4, rest >> 16);
	put16(m + 6, rest);
	memcpy(m + 8, h->last_raw, qlen);
	put16(m + 2, wire_csum_fold(wire_csum_add(sum, m, mlen)));
	tcp_input(h->e, pkt, ip + mlen, now);
	tcp_dispatch(h->e, now);
}

void h_none(struct harness *h)
{
	if (h->n) {
		struct wire_seg *s = h_next(h);

		fail_msg("unexpected segment flags %#x seq %u ack %u len %zu",
			 s->flags, s->seq, s->ack, s->len);
	}
}

void h_drain(struct harness *h)
{
	while (h->n)
		h_next(h);
}

/* The next segment must have exactly FLAGS and (with ACK) ACK. */
struct wire_seg *h_expect_flags(struct harness *h, uint8_t flags, uint32_t ack)
{
	struct wire_seg *s = h_next(h);

	assert_int_equal(s->flags, flags);
	if (flags & TCP_ACK)
		assert_int_equal(s->ack, ack);
	assert_memory_equal(&s->src, &h->me, sizeof(h->me));
	assert_memory_equal(&s->dst, &h->peer, sizeof(h->peer));
	return s;
}

/* ... and SEQ too. */
struct wire_seg *h_expect(struct harness *h, uint8_t flags, uint32_t seq,
			  uint32_t ack)
{
	struct wire_seg *s = h_expect_flags(h, flags, ack);

	assert_int_equal(s->seq, seq);
	return s;
}

struct wire_seg h_seg(const struct harness *h, uint8_t flags, uint32_t seq,
		      uint32_t ack, const void *data, size_t len)
{
	struct wire_seg s = {.src = h->peer,
			     .dst = h->me,
			     .seq = seq,
			     .ack = ack,
			     .flags = flags,
			     .wnd = 65535,
			     .data = data,
			     .len = len};

	return s;
}

void h_feed(struct harness *h, uint8_t flags, uint32_t seq, uint32_t ack,
	    uint16_t wnd, const void *data, size_t len,
	    const struct wire_opts *o, tcp_time now)
{
	struct wire_seg s = h_seg(h, flags, seq, ack, data, len);
	uint8_t pkt[H_PKT];
	size_t n;

	s.wnd = wnd;
	if (o)
		s.opt = *o;
	n = wire_build(pkt, sizeof(pkt), &s);
	assert_true(n > 0);
	tcp_input(h->e, pkt, n, now);
}

void h_feed_super(struct harness *h, uint32_t seq, uint32_t ack, size_t len,
		  size_t gso, tcp_time now)
{
	static const uint8_t data[4000];
	struct wire_seg s = h_seg(h, TCP_ACK, seq, ack, data, len);
	uint8_t pkt[4100];
	size_t n;

	assert_true(len <= sizeof(data));
	n = wire_build(pkt, sizeof(pkt), &s);
	assert_true(n > 0);
	tcp_input_trusted(h->e, pkt, n, gso, now);
}

void h_in_opt(struct harness *h, uint8_t flags, uint32_t seq, uint32_t ack,
	      uint16_t wnd, const void *data, size_t len,
	      const struct wire_opts *o, tcp_time now)
{
	h_feed(h, flags, seq, ack, wnd, data, len, o, now);
	tcp_dispatch(h->e, now);
}

void h_in(struct harness *h, uint8_t flags, uint32_t seq, uint32_t ack,
	  const void *data, size_t len, tcp_time now)
{
	h_in_opt(h, flags, seq, ack, 65535, data, len, NULL, now);
}

int h_connect(struct harness *h, int id, const struct wire_ep *remote,
	      uint16_t lport, tcp_time now)
{
	int rc = tcp_connect(h->e, (uint32_t)id, remote, lport, now);

	tcp_dispatch(h->e, now);
	return rc;
}

long h_send(struct harness *h, int id, const void *buf, size_t len,
	    tcp_time now)
{
	long rc = tcp_send(h->e, (uint32_t)id, buf, len, now);

	tcp_dispatch(h->e, now);
	return rc;
}

long h_recv(struct harness *h, int id, void *buf, size_t len, tcp_time now)
{
	long rc = tcp_recv(h->e, (uint32_t)id, buf, len, now);

	tcp_dispatch(h->e, now);
	return rc;
}

int h_shutdown(struct harness *h, int id, tcp_time now)
{
	int rc = tcp_shutdown(h->e, (uint32_t)id, now);

	tcp_dispatch(h->e, now);
	return rc;
}

int h_close(struct harness *h, int id, tcp_time now)
{
	int rc = tcp_close(h->e, (uint32_t)id, now);

	tcp_dispatch(h->e, now);
	return rc;
}

int h_abort(struct harness *h, int id, tcp_time now)
{
	int rc = tcp_abort(h->e, (uint32_t)id, now);

	tcp_dispatch(h->e, now);
	return rc;
}

struct tcp_info_snap h_info(struct harness *h, int id)
{
	struct tcp_info_snap i;

	assert_int_equal(tcp_info_get(h->e, (uint32_t)id, &i), 0);
	return i;
}

enum tcp_state h_state(struct harness *h, int id)
{
	return h_info(h, id).state;
}

/* A client connection ESTABLISHED with the scripted peer (no options);
 * *ISS gets its initial sequence number. */
uint32_t h_syn_sent(struct harness *h, int id, tcp_time now)
{
	struct wire_seg *s;

	assert_int_equal(h_connect(h, id, &h->peer, 0, now), 0);
	s = h_next(h);
	assert_int_equal(s->flags, TCP_SYN);
	h->me.port = s->src.port;
	return s->seq;
}

int h_client(struct harness *h, uint32_t *iss, tcp_time now)
{
	int id = tcp_open(h->e);

	assert_true(id > 0);
	*iss = h_syn_sent(h, id, now);
	h_in(h, TCP_SYN | TCP_ACK, PEER_ISS, *iss + 1, NULL, 0, now);
	h_expect(h, TCP_ACK, *iss + 1, PEER_ISS + 1);
	assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	return id;
}

int h_sack_server(struct harness *h, uint32_t *iss, int segs)
{
	struct wire_opts o = {.has_mss = true,
			      .mss = 1460,
			      .has_ts = true,
			      .tsval = 100,
			      .sack_ok = true};
	static uint8_t buf[1448 * 10];
	int l = tcp_open(h->e), id, k;

	assert_true(segs > 0 && segs <= 10);
	tcp_listen(h->e, (uint32_t)l, &h->me, 4);
	h_in_opt(h, TCP_SYN, PEER_ISS, 0, 65535, NULL, 0, &o, 0);
	*iss = h_next(h)->seq;
	o.has_mss = o.sack_ok = false;
	h_in_opt(h, TCP_ACK, PEER_ISS + 1, *iss + 1, 65535, NULL, 0, &o, 10);
	id = tcp_accept(h->e, (uint32_t)l);
	assert_int_equal(h_send(h, id, buf, 1448u * (unsigned)segs, 20),
			 1448L * segs);
	for (k = 0; k < segs; k++)
		assert_int_equal(h_next(h)->seq,
				 *iss + 1 + 1448u * (unsigned)k);
	h_none(h);
	return id;
}

/* A server connection: listener on port 80, SYN, SYN,ACK, ACK, accept. */
int h_server_mss(struct harness *h, uint16_t mss, uint32_t *iss, tcp_time now)
{
	struct wire_opts o = {.has_mss = mss > 0, .mss = mss};
	int l = tcp_open(h->e), id;
	struct wire_seg *s;

	assert_true(l > 0);
	assert_int_equal(tcp_listen(h->e, (uint32_t)l, &h->me, 8), 0);
	h_in_opt(h, TCP_SYN, PEER_ISS, 0, 65535, NULL, 0, &o, now);
	s = h_expect_flags(h, TCP_SYN | TCP_ACK, PEER_ISS + 1);
	*iss = s->seq;
	h_in(h, TCP_ACK, PEER_ISS + 1, *iss + 1, NULL, 0, now);
	h_none(h);
	id = tcp_accept(h->e, (uint32_t)l);
	assert_true(id > 0);
	assert_int_equal(h_state(h, id), TCP_ESTABLISHED);
	return id;
}

int h_server_ts(struct harness *h, uint32_t tsv, int *l, uint32_t *iss,
		tcp_time now)
{
	struct wire_opts o = {
		.has_mss = true, .mss = 1460, .has_ts = true, .tsval = tsv};
	uint32_t p = PEER_ISS + 1;
	int id;

	*l = tcp_open(h->e);
	assert_int_equal(tcp_listen(h->e, (uint32_t)*l, &h->me, 4), 0);
	h_in_opt(h, TCP_SYN, PEER_ISS, 0, 65535, NULL, 0, &o, now);
	*iss = h_expect_flags(h, TCP_SYN | TCP_ACK, p)->seq;
	o.tsval = tsv + 100;
	h_in_opt(h, TCP_ACK, p, *iss + 1, 65535, NULL, 0, &o, now);
	id = tcp_accept(h->e, (uint32_t)*l);
	assert_true(id > 0);
	return id;
}

int h_server(struct harness *h, uint32_t *iss, tcp_time now)
{
	return h_server_mss(h, 0, iss, now);
}

/* ---- Two engines over memlink ---- */

static void deliver(void *ctx, const uint8_t *pkt, size_t len, uint64_t now)
{
	tcp_input(ctx, pkt, len, now);
	tcp_dispatch(ctx, now);
}

void ep6(struct wire_ep *ep, uint8_t last, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = AF_INET6;
	ep->a[0] = 0x20;
	ep->a[1] = 0x01;
	ep->a[2] = 0x0d;
	ep->a[3] = 0xb8;
	ep->a[15] = last;
	ep->port = port;
}

struct tcp_engine *pair_engine_new(struct pair *p, enum memlink_side side,
				   const struct tcp_config *base,
				   void (*event)(void *, uint32_t, unsigned))
{
	struct tcp_config cfg;
	struct tcp_engine *e;

	if (base) {
		cfg = *base;
	} else {
		tcp_config_default(&cfg);
		cfg.msl = SEC;
	}
	cfg.key[0] = 7 + side;
	ep4(&cfg.addr4, side == MEMLINK_A ? 1 : 2, 0);
	ep6(&cfg.addr6, side == MEMLINK_A ? 1 : 2, 0);
	cfg.output = memlink_output;
	cfg.ctx = memlink_port(p->l, side);
	cfg.event = event;
	e = tcp_engine_new(&cfg);
	if (e)
		memlink_attach(p->l, side, deliver, e);
	return e;
}

static struct tcp_engine *pair_engine(struct pair *p, enum memlink_side side,
				      const struct tcp_config *cfg)
{
	struct tcp_engine *e = pair_engine_new(p, side, cfg, NULL);

	assert_non_null(e);
	return e;
}

static tcp_time tmin3(tcp_time a, tcp_time b, tcp_time c)
{
	tcp_time m = a < b ? a : b;

	return m < c ? m : c;
}

/* What a side looks like, and its last trace lines: for failures. */
static void dump(const char *name, struct tcp_engine *e, int id)
{
	struct tcp_trace_ent t[64];
	struct tcp_info_snap i;
	char line[256];
	uint64_t d;
	int n, k;

	if (tcp_info_get(e, id, &i))
		return;
	printf("# %s %s una %u nxt %u wnd %u rcv_nxt %u rcv_wnd %u cwnd %u "
	       "ssthresh %u send_q %u recv_q %u rto %llu\n",
	       name, tcp_state_name(i.state), i.snd_una, i.snd_nxt, i.snd_wnd,
	       i.rcv_nxt, i.rcv_wnd, i.cwnd, i.ssthresh, i.send_q, i.recv_q,
	       (unsigned long long)i.rto);
	n = tcp_trace_get(e, id, t, 64, &d);
	for (k = n > 12 ? n - 12 : 0; k < n; k++) {
		tcp_trace_format(&t[k], 0, line, sizeof(line));
		printf("#   %s\n", line);
	}
}

static void pair_dump(struct pair *p)
{
	dump("a", p->a, p->ida);
	dump("b", p->b, p->idb);
}

/* Advance to the next event: a packet arriving or a timer. False when
 * there is none: everything has stopped. */
bool pair_step(struct pair *p, tcp_time wake)
{
	tcp_time t;

	p->next_a = tcp_dispatch(p->a, p->now);
	p->next_b = tcp_dispatch(p->b, p->now);
	t = tmin3(memlink_next(p->l), p->next_a, p->next_b);
	if (wake < t)
		t = wake;
	if (t == TCP_NEVER)
		return false;
	if (t > p->now)
		p->now = t;
	memlink_clock(p->l, p->now);
	memlink_run(p->l, p->now);
	return true;
}

/* A connects to B's listener on port 80 (both families) over a link with
 * IMP each way, by IPv4 or (V6) IPv6. */
struct pair *pair_new_fam(const struct impair_config *imp,
			  const struct tcp_config *cfg, bool v6)
{
	struct pair *p = calloc(1, sizeof(*p));
	struct wire_ep lep = {.port = 80}, rep;
	int l, i;

	assert_non_null(p);
	p->l = memlink_new(imp, imp, 99);
	assert_non_null(p->l);
	p->a = pair_engine(p, MEMLINK_A, cfg);
	p->b = pair_engine(p, MEMLINK_B, cfg);
	if (v6)
		ep6(&rep, 2, 80);
	else
		ep4(&rep, 2, 80);
	l = tcp_open(p->b);
	assert_int_equal(tcp_listen(p->b, l, &lep, 16), 0);
	p->ida = tcp_open(p->a);
	memlink_clock(p->l, 0);
	assert_int_equal(tcp_connect(p->a, p->ida, &rep, 0, 0), 0);
	for (i = 0; i < 100000 && (p->idb = tcp_accept(p->b, l)) < 0; i++)
		assert_true(pair_step(p, TCP_NEVER));
	assert_true(p->idb > 0);
	tcp_close(p->b, l, p->now);
	return p;
}

struct pair *pair_new(const struct impair_config *imp,
		      const struct tcp_config *cfg)
{
	return pair_new_fam(imp, cfg, false);
}

void pair_free(struct pair *p)
{
	tcp_engine_free(p->a);
	tcp_engine_free(p->b);
	memlink_free(p->l);
	free(p);
}

enum tcp_state pair_state(struct tcp_engine *e, int id)
{
	struct tcp_info_snap i;

	assert_int_equal(tcp_info_get(e, id, &i), 0);
	return i.state;
}

/* Byte I of every test stream: a hash, so that a misplaced byte shows. */
static uint8_t pattern(uint64_t i)
{
	uint32_t x = (uint32_t)(i / 4) * 2654435761u + (uint32_t)(i >> 34);

	return (uint8_t)(x >> (8 * (i % 4)));
}

void flow_write(struct flow *f, tcp_time now)
{
	static uint8_t buf[65536];

	while (f->sent < f->size) {
		size_t n = f->size - f->sent < sizeof(buf) ? f->size - f->sent :
							     sizeof(buf);
		long r, room = tcp_writable(f->tx, f->txid);
		size_t i;

		if (room <= 0)
			break;
		if ((size_t)room < n)
			n = (size_t)room;

		for (i = 0; i < n; i++)
			buf[i] = pattern(f->sent + i);
		r = tcp_send(f->tx, f->txid, buf, n, now);
		if (r == -EAGAIN)
			break;
		if (r <= 0) {
			dump("tx", f->tx, f->txid);
			dump("rx", f->rx, f->rxid);
			fail_msg("send: %ld", r);
		}
		f->sent += (uint64_t)r;
	}
	if (f->sent == f->size && !f->shut) {
		assert_int_equal(tcp_shutdown(f->tx, f->txid, now), 0);
		f->shut = true;
	}
}

void flow_read(struct flow *f, tcp_time now)
{
	static uint8_t buf[65536];
	size_t max = f->read_max ? f->read_max : sizeof(buf);
	long r, i;

	if (f->read_every) {
		struct tcp_info_snap i;

		tcp_info_get(f->rx, f->rxid, &i);
		f->zero_wnd |= i.state == TCP_ESTABLISHED && !i.rcv_wnd;
		if (now < f->next_read)
			return;
	}
	f->next_read = now + f->read_every;
	while (!f->eof) {
		r = tcp_recv(f->rx, f->rxid, buf, max, now);
		if (r == -EAGAIN)
			break;
		if (r < 0)
			fail_msg("recv: %ld", r);
		if (!r) {
			f->eof = true;
			break;
		}
		for (i = 0; i < r; i++)
			if (buf[i] != pattern(f->rcvd + (uint64_t)i))
				fail_msg("byte %llu differs",
					 (unsigned long long)(f->rcvd + i));
		f->rcvd += (uint64_t)r;
		if (f->read_every)
			break;
	}
}

/* Move the flows along; true when all ended and both sides are CLOSED.
 * *WAKE gets when a slow reader reads next. */
static bool flows_done(struct pair *p, struct flow *f, int nf, tcp_time *wake)
{
	int i, done = 0;

	*wake = TCP_NEVER;
	for (i = 0; i < nf; i++) {
		flow_write(&f[i], p->now);
		flow_read(&f[i], p->now);
		done += f[i].eof;
		if (f[i].read_every && !f[i].eof && f[i].next_read < *wake)
			*wake = f[i].next_read;
	}
	if (done < nf)
		return false;
	if (pair_state(p->a, p->ida) == TCP_CLOSED &&
	    pair_state(p->b, p->idb) == TCP_CLOSED)
		return true;
	tcp_close(p->a, p->ida, p->now);
	tcp_close(p->b, p->idb, p->now);
	return false;
}

/* Run the flows (NF of them) to their ends, then until both sides are
 * CLOSED; at most MAX_STEPS events. */
void pair_run(struct pair *p, struct flow *f, int nf, long max_steps)
{
	tcp_time wake;
	long steps;
	int i;

	for (steps = 0; steps < max_steps; steps++) {
		if (flows_done(p, f, nf, &wake))
			break;
		if (!pair_step(p, wake) && !flows_done(p, f, nf, &wake)) {
			pair_dump(p);
			for (i = 0; i < nf; i++)
				printf("# flow %d: sent %llu rcvd %llu eof %d\n",
				       i, (unsigned long long)f[i].sent,
				       (unsigned long long)f[i].rcvd, f[i].eof);
			fail_msg("stalled at %llu", (unsigned long long)p->now);
		}
	}
	assert_true(steps < max_steps);
	for (i = 0; i < nf; i++)
		assert_true(f[i].rcvd == f[i].size);
}

/* The transfer size: TCPFS_TEST_MIB (default 64) MiB. */
uint64_t test_size(void)
{
	const char *s = getenv("TCPFS_TEST_MIB");

	return (s ? strtoull(s, NULL, 10) : 64) << 20;
}
