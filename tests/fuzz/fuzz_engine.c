/* libFuzzer target for src/tcp: hostile segments against an engine holding
 * live connections in several states (LISTEN, SYN_SENT, SYN_RECEIVED,
 * ESTABLISHED with data in flight). The input is a script of records:
 *
 *   0 LEN BYTES...          a raw packet, checksums and all as given
 *   1 CONN FLAGS DSEQ(2) DACK(2) WND(2) OPTS PLEN   a well-formed segment to
 *                           connection CONN, seq/ack relative to what the
 *                           engine expects, so it reaches the state machine
 *   2 MS(2)                 advance the clock and run the timers
 *   3 CONN OP               send, recv, shutdown, close or abort
 *   255 CONN DSEQ CODE MTU(2)  an ICMP error from a router about the
 *                           engine's segment to CONN, its sequence number
 *                           relative to what CONN expects: destination
 *                           unreachable CODE (4: fragmentation needed)
 *
 * Nothing may crash, leak or trip a sanitizer; the engine must still answer
 * a fresh handshake afterwards.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true \
 *	-Db_sanitize=address,undefined -Db_lundef=false
 *   ninja -C build-fuzz && cp -r tests/fuzz/corpus/engine /tmp/corpus
 *   build-fuzz/tests/fuzz/fuzz_engine -max_total_time=300 /tmp/corpus */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "tcpfs/tcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NPEERS 3 /* established, half-open (SYN_RECEIVED), SYN_SENT */

struct peer {
	struct wire_ep ep; /* the remote end we play */
	uint32_t snd_nxt;  /* our next sequence number */
	uint32_t rcv_nxt;  /* what we expect from the engine */
};

static struct {
	struct tcp_engine *e;
	struct wire_ep self;
	struct peer peer[NPEERS];
	struct wire_seg last; /* the engine's last segment */
	int sent;
	tcp_time now;
} F;

static void on_output(void *ctx, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	if (wire_parse(pkt, len, &F.last) != WIRE_OK)
		abort();    /* the engine must only send what parses */
	F.last.data = NULL; /* the packet does not outlive this call */
	F.sent++;
}

static void ep4(struct wire_ep *ep, const char *addr, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = AF_INET;
	inet_pton(AF_INET, addr, ep->a);
	ep->port = port;
}

/* Send a segment from peer P with FLAGS and LEN bytes of PAYLOAD. */
static void segment(const struct peer *p, uint8_t flags, uint32_t seq,
		    uint32_t ack, uint16_t wnd, const struct wire_opts *opt,
		    const uint8_t *payload, size_t len)
{
	static uint8_t pkt[2048];
	struct wire_seg s = {.src = p->ep,
			     .dst = F.self,
			     .seq = seq,
			     .ack = ack,
			     .flags = flags,
			     .wnd = wnd,
			     .data = payload,
			     .len = len};
	if (opt)
		s.opt = *opt;
	size_t n = wire_build(pkt, sizeof(pkt), &s);
	if (n)
		tcp_input(F.e, pkt, n, F.now);
}

/* Peer P opens a connection to the listener (and completes it if FULL). */
static void handshake(struct peer *p, bool full)
{
	struct wire_opts o = {.has_mss = true, .mss = 1000, .sack_ok = true};
	p->snd_nxt = 1000;
	F.sent = 0;
	segment(p, TCP_SYN, p->snd_nxt++, 0, 65535, &o, NULL, 0);
	if (!F.sent || F.last.flags != (TCP_SYN | TCP_ACK))
		abort(); /* a listener must answer a SYN */
	p->rcv_nxt = F.last.seq + 1;
	if (full)
		segment(p, TCP_ACK, p->snd_nxt, p->rcv_nxt, 65535, NULL, NULL,
			0);
}

static void setup(void)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	ep4(&cfg.addr4, "198.18.0.2", 0);
	cfg.key[0] = 1;
	cfg.output = on_output;
	F = (typeof(F)){0};
	F.now = 1000000;
	F.e = tcp_engine_new(&cfg);
	if (!F.e)
		abort();
	ep4(&F.self, "198.18.0.2", 80);
	int l = tcp_open(F.e);
	if (l < 0 || tcp_listen(F.e, (uint32_t)l, &F.self, 8) < 0)
		abort();
	ep4(&F.peer[0].ep, "198.18.0.1", 40000);
	ep4(&F.peer[1].ep, "198.18.0.1", 40001);
	ep4(&F.peer[2].ep, "198.18.0.1", 9);
	handshake(&F.peer[0], true);
	handshake(&F.peer[1], false);
	int c = tcp_open(F.e); /* SYN_SENT towards peer 2 */
	if (c < 0 ||
	    tcp_connect(F.e, (uint32_t)c, &F.peer[2].ep, 50000, F.now) < 0)
		abort();
	tcp_dispatch(F.e, F.now); /* the SYN goes with the dispatch */
	F.peer[2].rcv_nxt = F.last.seq + 1;
	int a = tcp_accept(F.e, (uint32_t)l);
	if (a > 0)
		tcp_send(F.e, (uint32_t)a, "hello", 5, F.now);
	tcp_dispatch(F.e, F.now);
}

/* Any connection but the listener (1), which must answer at the end; ids
 * that do not exist are fair game. */
static void op(uint8_t conn, uint8_t what)
{
	static char buf[4096];
	uint32_t id = 2 + conn % 6;
	switch (what % 5) {
	case 0:
		tcp_send(F.e, id, buf, what * 16u, F.now);
		break;
	case 1:
		tcp_recv(F.e, id, buf, sizeof(buf), F.now);
		break;
	case 2:
		tcp_shutdown(F.e, id, F.now);
		break;
	case 3:
		tcp_close(F.e, id, F.now);
		break;
	case 4:
		tcp_abort(F.e, id, F.now);
		break;
	}
}

static void crafted(const uint8_t *d, size_t n, size_t *used)
{
	static const uint8_t payload[1500];
	if (n < 10) {
		*used = n;
		return;
	}
	struct peer *p = &F.peer[d[0] % NPEERS];
	int16_t dseq = (int16_t)(d[2] << 8 | d[3]);
	int16_t dack = (int16_t)(d[4] << 8 | d[5]);
	struct wire_opts o = {0};
	uint8_t opts = d[8];
	o.has_ts = opts & 1;
	o.tsval = (uint32_t)F.now / 1000 + (opts >> 4);
	o.sack_ok = opts & 2;
	o.has_ws = opts & 4;
	o.ws = opts >> 4;
	if (opts & 8) {
		o.nsack = 1;
		o.sack[0].left = p->rcv_nxt + (uint32_t)dack;
		o.sack[0].right = o.sack[0].left + d[9] * 8u;
	}
	segment(p, d[1], p->snd_nxt + (uint32_t)dseq,
		p->rcv_nxt + (uint32_t)dack, (uint16_t)(d[6] << 8 | d[7]), &o,
		payload, d[9] * 5u);
	if (!(d[1] & TCP_RST) && dseq == 0)
		p->snd_nxt += d[9] * 5u + !!(d[1] & (TCP_SYN | TCP_FIN));
	*used = 10;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An ICMP error about the engine's segment to a peer (record 255). */
static void icmp(const uint8_t *d, size_t n, size_t *used)
{
	static uint8_t pkt[128];
	uint8_t *m = pkt + 20;
	struct peer *p;

	*used = n < 5 ? n : 5;
	if (n < 5)
		return;
	p = &F.peer[d[0] % NPEERS];
	struct wire_seg q = {.src = F.self,
			     .dst = p->ep,
			     .seq = p->rcv_nxt + (uint32_t)(int8_t)d[1],
			     .flags = TCP_ACK};
	if (wire_build(m + 8, sizeof(pkt) - 28, &q) < 28)
		return;
	memset(pkt, 0, 28);
	pkt[0] = 0x45;
	put16(pkt + 2, 20 + 8 + 28);
	pkt[8] = 64;
	pkt[9] = 1;
	memcpy(pkt + 12, p->ep.a, 4);
	pkt[15] ^= 0x80; /* a router on the way */
	memcpy(pkt + 16, F.self.a, 4);
	put16(pkt + 10, wire_csum_fold(wire_csum_add(0, pkt, 20)));
	m[0] = 3;
	m[1] = d[2] % 16;
	put16(m + 6, (uint32_t)(d[3] << 8 | d[4]));
	put16(m + 2, wire_csum_fold(wire_csum_add(0, m, 8 + 28)));
	tcp_input(F.e, pkt, 20 + 8 + 28, F.now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	for (size_t i = 0; i < size;) {
		const uint8_t *d = data + i + 1;
		size_t left = size - i - 1, used = 0;
		switch (data[i] == 255 ? 4 : data[i] % 4) {
		case 0:
			used = left ? 1 + (d[0] < left - 1 ? d[0] : left - 1) :
				      0;
			if (used)
				tcp_input(F.e, d + 1, used - 1, F.now);
			break;
		case 1:
			crafted(d, left, &used);
			break;
		case 2:
			used = left < 2 ? left : 2;
			F.now += used == 2 ? (d[0] << 8 | d[1]) * 1000u : 1000;
			tcp_dispatch(F.e, F.now);
			break;
		case 3:
			used = left < 2 ? left : 2;
			if (used == 2)
				op(d[0], d[1]);
			break;
		case 4:
			icmp(d, left, &used);
			break;
		}
		i += 1 + used;
	}
	/* still alive: a new peer gets its SYN+ACK */
	struct peer fresh = {0};
	ep4(&fresh.ep, "198.18.0.3", 1234);
	handshake(&fresh, true);
	tcp_engine_free(F.e);
	return 0;
}
