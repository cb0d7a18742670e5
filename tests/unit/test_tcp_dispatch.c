/* Processing apart from transmitting: tcp_input() and the user calls
 * change state, tcp_dispatch() sends. A batch of segments gets one
 * cumulative ACK (RFC 9293 §3.10.7.4, MUST-58 and MUST-59), data carries
 * the ACK a batch owes, a connect's SYN goes at once, and an
 * event callback's calls are sent by the same dispatch, which tells a
 * change of state before it sends and data after. */
#include "tcp_harness.h"

#define FULL 536 /* the client's MSS: the peer offered no option */

/* Four full-sized segments in one batch: nothing until the dispatch, then
 * exactly one ACK for all of them, not one for every second one. */
static void one_ack_per_batch(void **state)
{
	static const uint8_t seg[FULL];
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0), k;

	(void)state;
	for (k = 0; k < 4; k++)
		h_feed(h, TCP_ACK, p + FULL * k, iss + 1, 65535, seg, FULL,
		       NULL, 10);
	h_none(h); /* tcp_input() sent nothing */
	assert_int_equal(tcp_readable(h->e, id), 4 * FULL);
	tcp_dispatch(h->e, 10);
	h_expect(h, TCP_ACK, iss + 1, p + 4 * FULL);
	h_none(h);
	assert_int_equal(tcp_dispatch(h->e, 10), TCP_NEVER); /* no delack */
	h_free(h);
}

/* Small segments in one batch still wait for the delayed ACK. An
 * out-of-order segment is answered at once by tcp_input(), as every such
 * segment is (RFC 5681 §4.2), and the segment filling its hole in the
 * same batch gets the dispatch's ACK, for everything. */
static void batch_keeps_ack_rules(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);

	(void)state;
	h_feed(h, TCP_ACK, p, iss + 1, 65535, "ab", 2, NULL, 10);
	h_feed(h, TCP_ACK, p + 2, iss + 1, 65535, "cd", 2, NULL, 10);
	assert_int_equal(tcp_dispatch(h->e, 10), 10 + 40 * MS);
	h_none(h);
	tcp_dispatch(h->e, 10 + 40 * MS);
	h_expect(h, TCP_ACK, iss + 1, p + 4);
	p += 4;

	h_feed(h, TCP_ACK, p + 3, iss + 1, 65535, "later", 5, NULL, 50 * MS);
	h_expect(h, TCP_ACK, iss + 1, p); /* the duplicate ACK */
	h_feed(h, TCP_ACK, p, iss + 1, 65535, "xyz", 3, NULL, 50 * MS);
	h_none(h);
	tcp_dispatch(h->e, 50 * MS);
	h_expect(h, TCP_ACK, iss + 1, p + 8);
	h_none(h);
	assert_int_equal(h_info(h, id).ooo_segs, 1);
	h_free(h);
}

/* Data in and a write in one batch: the data segment carries the ACK;
 * no pure ACK goes, and no delayed ACK waits. */
static void write_carries_ack(void **state)
{
	static const uint8_t seg[FULL];
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);
	struct wire_seg *s;

	(void)state;
	h_feed(h, TCP_ACK, p, iss + 1, 65535, seg, FULL, NULL, 10);
	h_feed(h, TCP_ACK, p + FULL, iss + 1, 65535, seg, FULL, NULL, 10);
	assert_int_equal(tcp_send(h->e, id, "reply", 5, 10), 5);
	h_none(h);
	tcp_dispatch(h->e, 10);
	s = h_expect(h, TCP_ACK | TCP_PSH, iss + 1, p + 2 * FULL);
	assert_int_equal(s->len, 5);
	h_none(h);

	/* One small segment would wait for the delayed ACK: the reply
	 * carries it at once. */
	h_feed(h, TCP_ACK, p + 2 * FULL, iss + 6, 65535, "q", 1, NULL, 20);
	assert_int_equal(tcp_send(h->e, id, "a", 1, 20), 1);
	tcp_dispatch(h->e, 20);
	s = h_expect(h, TCP_ACK | TCP_PSH, iss + 6, p + 2 * FULL + 1);
	assert_int_equal(s->len, 1);
	h_none(h);
	assert_int_equal(tcp_dispatch(h->e, 20), 20 + h_info(h, id).rto);
	h_free(h);
}

/* A connect's SYN goes at once, like a SYN,ACK, stamped with the call's
 * time; the dispatch that follows sends nothing more. A connect closed in
 * the same batch sends its SYN and nothing after it (no RST: the peer has
 * not answered, RFC 9293 §3.10.4 CLOSE in SYN-SENT). */
static void connect_sends_at_once(void **state)
{
	struct harness *h = h_new(NULL);
	int a = tcp_open(h->e), b = tcp_open(h->e);

	(void)state;
	assert_int_equal(tcp_connect(h->e, a, &h->peer, 0, 0), 0);
	assert_int_equal(tcp_state(h->e, a), TCP_SYN_SENT);
	assert_int_equal(h_next(h)->flags, TCP_SYN);
	h_none(h);
	assert_int_equal(tcp_dispatch(h->e, 0), SEC); /* the SYN's RTO */
	h_none(h);

	assert_int_equal(tcp_connect(h->e, b, &h->peer, 0, 5), 0);
	assert_int_equal(tcp_close(h->e, b, 5), 0);
	assert_int_equal(h_next(h)->flags, TCP_SYN);
	tcp_dispatch(h->e, 5);
	h_none(h);
	assert_int_equal(tcp_state(h->e, b), TCP_CLOSED);
	h_free(h);
}

/* The callback echoes what it reads. */
static void echo(struct harness *h, uint32_t id, unsigned ev)
{
	char buf[64];
	long n;

	if (!(ev & TCP_EV_READABLE))
		return;
	n = tcp_recv(h->e, id, buf, sizeof(buf), 0);
	if (n > 0)
		assert_int_equal(tcp_send(h->e, id, buf, (size_t)n, 0), n);
	*(int *)h->user += 1;
}

/* Calls from an event callback are sent by the dispatch that delivered
 * the event: the echo leaves at once, with the ACK of what it echoes. */
static void event_calls_in(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0), calls = 0;
	struct wire_seg *s;

	(void)state;
	h->user = &calls;
	h->on_event = echo;
	h_in(h, TCP_ACK | TCP_PSH, p, iss + 1, "ping", 4, 10);
	s = h_expect(h, TCP_ACK | TCP_PSH, iss + 1, p + 4);
	assert_int_equal(s->len, 4);
	assert_memory_equal(s->data, "ping", 4);
	h_none(h);
	assert_int_equal(calls, 1);
	assert_int_equal(tcp_readable(h->e, id), 0);
	h_free(h);
}

/* The packets queued at each kind of event: state changes, data. */
struct seen {
	int at_state, at_data;
};

static void note_queued(struct harness *h, uint32_t id, unsigned ev)
{
	struct seen *s = h->user;

	(void)id;
	if (ev & TCP_EV_ESTABLISHED)
		s->at_state = (int)h->n;
	if (ev & TCP_EV_READABLE)
		s->at_data = (int)h->n;
}

/* A state change is told before what it makes the engine send: the
 * connect hears of ESTABLISHED before the handshake's last ACK goes (as
 * Linux wakes a connect() first), so the user need not wait for the
 * link's write of it. Data is told after its ACK, which the peer's sender
 * waits for. */
static void state_told_before_sent(void **state)
{
	static const uint8_t seg[FULL];
	struct harness *h = h_new(NULL);
	struct seen seen = {-1, -1};
	int id = tcp_open(h->e);
	uint32_t iss = h_syn_sent(h, id, 0), p = PEER_ISS + 1;

	(void)state;
	h->user = &seen;
	h->on_event = note_queued;
	h_feed(h, TCP_SYN | TCP_ACK, PEER_ISS, iss + 1, 65535, NULL, 0, NULL,
	       10);
	h_none(h);
	tcp_dispatch(h->e, 10);
	assert_int_equal(seen.at_state, 0);
	h_expect(h, TCP_ACK, iss + 1, p);
	h_none(h);

	h_feed(h, TCP_ACK, p, iss + 1, 65535, seg, FULL, NULL, 20);
	h_feed(h, TCP_ACK, p + FULL, iss + 1, 65535, seg, FULL, NULL, 20);
	tcp_dispatch(h->e, 20);
	assert_int_equal(seen.at_data, 1);
	h_expect(h, TCP_ACK, iss + 1, p + 2 * FULL);
	h_none(h);
	h_free(h);
}

/* A super-packet of the link (TSO/GRO) is taken whole and stands for its
 * segments: three full-sized ones are acknowledged at the dispatch by one
 * cumulative ACK (every second full-sized segment, RFC 5681 §4.2, as
 * Linux's __tcp_ack_snd_check() acknowledges a GRO packet), not after a
 * delay, and count three in segs_in. One short segment's worth still
 * waits for the delayed ACK. */
static void super_packet_acked_at_once(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);

	(void)state;
	h_feed_super(h, p, iss + 1, 3 * FULL, FULL, 10);
	h_none(h);
	assert_int_equal(tcp_readable(h->e, id), 3 * FULL);
	tcp_dispatch(h->e, 10);
	h_expect(h, TCP_ACK, iss + 1, p + 3 * FULL);
	h_none(h);
	assert_int_equal(h_info(h, id).segs_in, 1 + 3); /* + the SYN,ACK */
	h_feed_super(h, p + 3 * FULL, iss + 1, FULL / 2, FULL, 20);
	assert_int_equal(tcp_dispatch(h->e, 20), 20 + 40 * MS);
	h_none(h);
	h_free(h);
}

static int most_pieces;

/* cfg.output_partial of output_partial_pieces: the pieces joined and the
 * checksum completed as the kernel does for NEEDS_CSUM, then queued for
 * h_next(), which parses and checks it. */
static void partial_out(void *ctx, const struct iovec *iov, int n)
{
	uint8_t pkt[H_PKT];
	size_t len = 0;

	for (int i = 0; i < n; len += iov[i].iov_len, i++) {
		assert_true(len + iov[i].iov_len <= sizeof(pkt));
		memcpy(pkt + len, iov[i].iov_base, iov[i].iov_len);
	}
	most_pieces = n > most_pieces ? n : most_pieces;
	assert_int_equal(wire_csum_complete(pkt, len, 20, 16), 0);
	h_output(ctx, pkt, len);
}

/* With output_partial every packet leaves as its headers (the checksum
 * partial) and its payload where it lies in the send queue, in two pieces
 * where the queue wraps: completed, each is the packet output would get. */
static void output_partial_pieces(void **state)
{
	struct tcp_config cfg;
	uint8_t a[700];
	uint32_t iss, p = PEER_ISS + 1;
	struct wire_seg *s;

	(void)state;
	tcp_config_default(&cfg);
	cfg.key[0] = 1;
	cfg.mss = 600; /* what we take: the send buffer may be smaller */
	cfg.sndbuf = 1000;
	cfg.output_partial = partial_out;
	struct harness *h = h_new(&cfg);
	int id = h_client(h, &iss, 0);
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(h_send(h, id, a, 500, 10), 500);
	s = h_expect(h, TCP_ACK | TCP_PSH, iss + 1, p);
	assert_memory_equal(s->data, a, 500);
	h_in(h, TCP_ACK, p, iss + 501, NULL, 0, 20);
	/* 500 bytes to the end of the queue's storage, the rest from its
	 * start: the first segment (an MSS of 536) in two pieces */
	most_pieces = 0;
	assert_int_equal(h_send(h, id, a, 700, 30), 700);
	s = h_expect(h, TCP_ACK, iss + 501, p);
	assert_int_equal(s->len, FULL);
	assert_memory_equal(s->data, a, FULL);
	assert_int_equal(most_pieces, 3);
	h_in(h, TCP_ACK, p, iss + 501 + FULL, NULL, 0, 40);
	s = h_expect(h, TCP_ACK | TCP_PSH, iss + 501 + FULL, p);
	assert_memory_equal(s->data, a + FULL, 700 - FULL);
	h_free(h);
}

/* What lend_out() was lent: each payload piece where it lies, and a copy
 * of its bytes then. */
static struct {
	const uint8_t *at[64];
	size_t len[64];
	uint8_t was[64][FULL];
	int n, flushes, writes;
} lent;

/* cfg.output_partial that keeps the payload where it lies, as tundrv's
 * train does, until output_flush. */
static void lend_out(void *ctx, const struct iovec *iov, int n)
{
	for (int i = 1; i < n; i++) {
		assert_true(lent.n < 64 && iov[i].iov_len <= FULL);
		lent.at[lent.n] = iov[i].iov_base;
		lent.len[lent.n] = iov[i].iov_len;
		memcpy(lent.was[lent.n++], iov[i].iov_base, iov[i].iov_len);
	}
	partial_out(ctx, iov, n);
}

/* The lent payload must be where it was, as it was (under ASan: not
 * freed). */
static void lend_flush(void *ctx)
{
	(void)ctx;
	for (int i = 0; i < lent.n; i++) /* memcmp: ASan checks its reads */
		assert_int_equal(memcmp(lent.at[i], lent.was[i], lent.len[i]),
				 0);
	lent.n = 0;
	lent.flushes++;
}

/* An event may write, which moves the send queue: nothing lent then. */
static void lend_event(struct harness *h, uint32_t id, unsigned ev)
{
	static uint8_t more[20000];

	(void)ev;
	assert_int_equal(lent.n, 0);
	if (lent.writes++ == 0)
		assert_int_equal(tcp_send(h->e, id, more, sizeof(more), 20),
				 (long)sizeof(more));
}

/* A harness whose link keeps the payload (lend_out, lend_flush), nothing
 * lent yet, and a client connection of it established: its id. */
static int lend_client(struct harness **h, uint32_t *iss)
{
	struct tcp_config cfg;

	tcp_config_default(&cfg);
	cfg.key[0] = 1;
	cfg.output_partial = lend_out;
	cfg.output_flush = lend_flush;
	memset(&lent, 0, sizeof(lent));
	*h = h_new(&cfg);
	return h_client(*h, iss, 0);
}

/* The payload lent to output_partial stays where it is until output_flush,
 * which comes before an event (whose callback here writes 20 kB to a queue
 * that grows for them) and before tcp_dispatch() returns. */
static void payload_lent_until_flush(void **state)
{
	static uint8_t a[8000];
	struct harness *h;
	uint32_t iss, p = PEER_ISS + 1;
	int id = lend_client(&h, &iss);

	(void)state;
	h->on_event = lend_event;
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)(i * 7 + 1);
	/* more than the initial window: the rest waits for an ACK */
	assert_int_equal(h_send(h, id, a, sizeof(a), 10), (long)sizeof(a));
	assert_int_equal(lent.n, 0);
	int flushes = lent.flushes;
	assert_true(flushes > 0);
	h_drain(h);
	/* an ACK that opens the window and data that makes an event */
	h_in(h, TCP_ACK, p, iss + 1 + 2 * FULL, "hello", 5, 20);
	assert_int_equal(lent.n, 0);
	assert_true(lent.flushes > flushes && lent.writes > 0);
	h_free(h);
}

/* A connection that sends and then gives up in one dispatch (new data,
 * then its user timeout) frees its send queue only after output_flush
 * (under ASan a flush after the free reads freed memory). */
static void payload_lent_until_give_up(void **state)
{
	static uint8_t a[1000];
	struct harness *h;
	uint32_t iss;
	int id = lend_client(&h, &iss);

	(void)state;
	assert_int_equal(tcp_set_user_timeout(h->e, (uint32_t)id, 1000000), 0);
	assert_int_equal(h_send(h, id, a, 500, 10), 500);
	h_drain(h);
	int flushes = lent.flushes;
	/* 5 s on: a full segment of new data goes (Nagle lets it), then the
	 * timer gives up */
	assert_int_equal(h_send(h, id, a, sizeof(a), 5000000), (long)sizeof(a));
	assert_int_equal(h_state(h, id), TCP_CLOSED);
	assert_int_equal(lent.n, 0);
	assert_true(lent.flushes > flushes);
	h_free(h);
}

/* The peer's segment at SEQ of LEN bytes, its headers built apart and
 * its payload (PAY, copied first to DATA, which may be the landing room)
 * handed over where DATA is, as tundrv reads one in place. */
static void feed_placed(struct harness *h, uint32_t seq, uint32_t ack,
			uint8_t *data, const uint8_t *pay, size_t len)
{
	struct wire_seg s = h_seg(h, TCP_ACK, seq, ack, NULL, len);
	uint8_t head[128];
	size_t n = wire_build_head(head, sizeof(head), &s);

	assert_true(n > 0);
	memmove(data, pay, len);
	tcp_input_placed(h->e, head, n, data, len, 0, 10);
}

/* Zero-copy receive: the room tcp_rx_landing() gives is where the next
 * in-order bytes of the connection that took data last go; a payload
 * read there is taken as it lies, and one that belongs further on
 * (out of order) is moved where it goes; while out-of-order data waits
 * there is no room to give. */
static void placed_payload(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1;
	int id = h_client(h, &iss, 0);
	uint8_t pay[300], got[400], *room;

	(void)state;
	for (size_t i = 0; i < sizeof(pay); i++)
		pay[i] = (uint8_t)(i * 11 + 3);
	assert_int_equal(tcp_rx_landing(h->e, &room), 0); /* no data yet */
	h_feed(h, TCP_ACK, p, iss + 1, 65535, pay, 100, NULL, 10);
	assert_true(tcp_rx_landing(h->e, &room) >= 200);
	feed_placed(h, p + 100, iss + 1, room, pay + 100, 100);
	assert_int_equal(tcp_readable(h->e, id), 200);
	assert_true(tcp_rx_landing(h->e, &room) >= 100);
	/* 50 bytes further on than the room's start: out of order */
	feed_placed(h, p + 250, iss + 1, room, pay + 250, 50);
	h_expect(h, TCP_ACK, iss + 1, p + 200); /* the duplicate ACK */
	assert_int_equal(tcp_rx_landing(h->e, &room), 0);
	h_feed(h, TCP_ACK, p + 200, iss + 1, 65535, pay + 200, 50, NULL, 10);
	assert_int_equal(h_recv(h, id, got, sizeof(got), 20), 300);
	assert_memory_equal(got, pay, 300);
	h_free(h);
}

/* An out-of-order payload read into the landing room where the room ends
 * at the ring's end: moved 300 bytes on, its last 300 wrap to the ring's
 * start, and come out as they were (the wrapped piece is moved first,
 * before the first piece's move overwrites it). */
static void placed_payload_wraps(void **state)
{
	struct harness *h = h_new(NULL);
	uint32_t iss, p = PEER_ISS + 1, off = 0;
	int id = h_client(h, &iss, 0);
	static uint8_t pay[200000], got[4000];
	uint8_t *room;
	size_t room_len;

	(void)state;
	for (size_t i = 0; i < sizeof(pay); i++)
		pay[i] = (uint8_t)(i * 7 + i / 251);
	do { /* in-order bytes, read at once: the head walks to the end */
		h_feed(h, TCP_ACK, p + off, iss + 1, 65535, pay + off, 1000,
		       NULL, 10);
		assert_int_equal(h_recv(h, id, got, 1000, 10), 1000);
		off += 1000;
		h_drain(h);
		room_len = tcp_rx_landing(h->e, &room);
	} while (room_len >= 1400 && off < sizeof(pay) - 4000);
	assert_true(room_len < 1400 && room_len > 300);
	feed_placed(h, p + off + 300, iss + 1, room, pay + off + 300, room_len);
	h_feed(h, TCP_ACK, p + off, iss + 1, 65535, pay + off, 300, NULL, 10);
	assert_int_equal(h_recv(h, id, got, 300 + room_len, 20),
			 (long)(300 + room_len));
	assert_memory_equal(got, pay + off, 300 + room_len);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_ack_per_batch),
		cmocka_unit_test(batch_keeps_ack_rules),
		cmocka_unit_test(write_carries_ack),
		cmocka_unit_test(connect_sends_at_once),
		cmocka_unit_test(event_calls_in),
		cmocka_unit_test(state_told_before_sent),
		cmocka_unit_test(super_packet_acked_at_once),
		cmocka_unit_test(output_partial_pieces),
		cmocka_unit_test(payload_lent_until_flush),
		cmocka_unit_test(payload_lent_until_give_up),
		cmocka_unit_test(placed_payload),
		cmocka_unit_test(placed_payload_wraps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
