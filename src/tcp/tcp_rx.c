/* The receive path: reassembly in the receive ring (bounded by the window
 * we announced), SACK blocks, the receive window (its one formula) and
 * its auto-tuning. */
#include <errno.h>

#include "tcp_conn.h"
#include "tcp_mem.h"
#include "tcp_ring.h"
#include "tcp_rx.h"
#include "tcp_sack.h"
#include "tcp_timer.h"

static uint32_t tcp_rcv_space(const struct tcp_conn *c)
{
	return c->rcvq.cap - c->rcvq.len;
}

/* Receiver SWS avoidance (RFC 9293 §3.8.6.2.2): move the right edge only
 * by at least min(buffer / 2, MSS). The edge never moves left. */
static uint32_t wnd_step(const struct tcp_conn *c)
{
	return c->rcvq.cap / 2 < c->mss ? c->rcvq.cap / 2 : c->mss;
}

/* The right edge the free space allows, within what the field can say
 * and, under memory pressure, the clamp (tcp_mem.c). */
static uint32_t edge_now(const struct tcp_conn *c)
{
	uint32_t space = tcp_rcv_space(c), max = 65535u << c->rcv_wscale;
	uint32_t clamp = tcp_mem_rcv_clamp(c);

	if (clamp < max)
		max = clamp;

	return c->rcv_nxt + (space < max ? space : max);
}

uint32_t tcp_rcv_wnd(const struct tcp_conn *c)
{
	return SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
}

uint16_t tcp_syn_wnd(uint32_t space)
{
	return space > 65535 ? 65535 : (uint16_t)space;
}

/* A window open by less than one unit of 2^shift: rounded down, the field
 * would read 0, and with a ring smaller than a unit (a shift of 13 or 14
 * for a large rcvbuf_max) it would read 0 for ever and stall the peer. It
 * says one unit, as Linux rounds up (tcp_select_window()), where the ring
 * has room for the unit, which RCV.ADV then takes in, or has not even
 * that much in all (what passes it is trimmed, rx_room(), and comes
 * again); a ring merely full (its reader behind) says 0, and the window
 * opens again as the reader frees a step of it, or a unit (wnd_opens()). */
static uint16_t sub_unit_field(struct tcp_conn *c)
{
	uint32_t unit = 1u << c->rcv_wscale;

	if (tcp_rcv_space(c) >= unit)
		c->rcv_adv = c->rcv_nxt + unit;
	else if (c->rcvq.cap >= unit) {
		c->rcv_unit_shut = true; /* wnd_opens() tells when it opens */
		return 0;
	}
	return 1;
}

uint16_t tcp_rcv_wnd_field(struct tcp_conn *c, bool syn)
{
	uint32_t edge = edge_now(c), wnd, unit = 1u << c->rcv_wscale;

	if (syn) {
		wnd = tcp_syn_wnd(tcp_rcv_space(c));
		c->rcv_adv = c->rcv_nxt + wnd;
		return (uint16_t)wnd;
	}
	c->rcv_unit_shut = false;
	if (SEQ_GEQ(edge, c->rcv_adv + wnd_step(c)))
		c->rcv_adv = edge;
	/* The field counts units of 2^shift, rounded down (RFC 7323 §2.4):
	 * the edge the peer sees may retract by less than a unit as RCV.NXT
	 * moves within one, and RCV.ADV keeps the furthest edge any ACK
	 * said, inside which every segment is taken (rx_room()), as §2.4
	 * asks of the receiver. */
	wnd = tcp_rcv_wnd(c);
	if (wnd && wnd < unit)
		return sub_unit_field(c);
	wnd >>= c->rcv_wscale;
	return wnd > 65535 ? 65535 : (uint16_t)wnd;
}

/* Bytes at SEQ we may keep: inside the announced window and the ring. */
static uint32_t rx_room(const struct tcp_conn *c, uint32_t seq)
{
	uint32_t off = seq - c->rcv_nxt, lim = tcp_rcv_space(c);
	uint32_t wnd = tcp_rcv_wnd(c);

	if (wnd < lim)
		lim = wnd;
	return off < lim ? lim - off : 0;
}

/* In-order bytes arrived: move RCV.NXT over them and over any island
 * they now join (RFC 9293 §3.10.7.4, seventh). True if they filled all or
 * part of a gap: islands were waiting beyond them. */
static bool rx_advance(struct tcp_conn *c, uint32_t len)
{
	uint32_t from = c->rcv_nxt;
	bool filled = c->nooo > 0;

	c->rcvq.len += len;
	c->rcv_nxt += len;
	while (c->nooo && SEQ_LEQ(c->ooo[0].left, c->rcv_nxt)) {
		if (SEQ_GT(c->ooo[0].right, c->rcv_nxt)) {
			c->rcvq.len += c->ooo[0].right - c->rcv_nxt;
			c->rcv_nxt = c->ooo[0].right;
		}
		tcp_ival_trim(c->ooo, &c->nooo, c->rcv_nxt);
	}
	c->n.bytes_in += c->rcv_nxt - from; /* new bytes, each once */
	return filled;
}

/* Acknowledge in-order data: at once for every 2 RMSS bytes (two full
 * segments, or more smaller ones) or a hole filled in all or in part (RFC
 * 5681 §4.2, RFC 9293 §3.8.6.3 SHLD-19), else within DELACK. A
 * super-packet of the link (GSO: the size of the segments it stands for)
 * counts as the full-sized segments it carries:
 * one of two or more is acknowledged at once by one cumulative ACK, as
 * Linux acknowledges a GRO packet (net/ipv4/tcp_input.c,
 * __tcp_ack_snd_check(): "More than one full frame received", once per
 * packet taken). */
static void rx_ack_policy(struct tcp_engine *e, struct tcp_conn *c,
			  uint32_t len, uint16_t gso, bool filled, tcp_time now)
{
	uint32_t seg = gso ? gso : len;

	/* Full-sized is the largest the peer sends (at least 536, RFC 9293
	 * §3.7.1), which its path may keep below the MSS we allowed it. */
	if (!c->rcv_mss)
		c->rcv_mss = c->mss < 536 ? c->mss : 536;
	if (seg > c->rcv_mss)
		c->rcv_mss = seg < c->mss ? seg : c->mss;
	c->ack_bytes += len;
	if (filled || c->ack_bytes >= 2 * c->rcv_mss)
		c->ack_now = true;
	else
		tcp_delack_arm(e, c, now);
}

int tcp_rx_data(struct tcp_engine *e, struct tcp_conn *c,
		const struct wire_seg *s, tcp_time now)
{
	const uint8_t *d = s->data;
	uint32_t seq = s->seq, len = (uint32_t)s->len, room;

	if (SEQ_LT(seq, c->rcv_nxt)) { /* trim what we already have */
		uint32_t skip = c->rcv_nxt - seq;

		if (skip >= len) { /* a duplicate: the peer lost an ACK */
			c->ack_now = true;
			return 0;
		}
		d += skip;
		len -= skip;
		seq = c->rcv_nxt;
	}
	if (!c->rcvq.buf) /* the first bytes: the ring's size by memory */
		c->rcvq.cap = tcp_mem_rcv_cap(c, tcp_rcv_wnd(c));
	room = rx_room(c, seq);
	if (len > room)
		len = room; /* beyond the window: trimmed */
	if (!len) {
		c->ack_now = true;
		return 0;
	}
	e->mem.refused = TCP_LIMIT_NONE;
	if (!tcp_ring_put(&c->rcvq, c->rcvq.len + (seq - c->rcv_nxt), d, len)) {
		if (!e->mem.refused)
			return -ENOMEM;
		/* a memory cap: dropped and the ACK says so at once; the peer
		 * sends it again (Linux past tcp_mem[2], TCPRcvQDrop) */
		e->mem.rcv_drops++;
		c->ack_now = true;
		return 0;
	}
	if (seq != c->rcv_nxt) { /* out of order: keep it, ACK at once */
		if (tcp_ival_add(c->ooo, &c->nooo, TCP_OOO_MAX, seq,
				 seq + len) >= 0)
			c->ooo_last = seq;
		c->n.ooo_segs++;
		c->ack_dup = true;
		return 0;
	}
	e->rx_hot = c->id;
	rx_ack_policy(e, c, len, s->gso, rx_advance(c, len), now);
	tcp_event(e, c, TCP_EV_READABLE);
	return 0;
}

/* The island of out-of-order data holding SEQ, or -1. */
static int island_of(const struct tcp_conn *c, uint32_t seq)
{
	for (int i = 0; i < c->nooo; i++)
		if (SEQ_LEQ(c->ooo[i].left, seq) &&
		    SEQ_LT(seq, c->ooo[i].right))
			return i;
	return -1;
}

/* Island I into O's blocks, unless it is there or there are MAX. */
static void put_block(struct wire_opts *o, int max, const struct tcp_conn *c,
		      int i)
{
	if (i < 0 || o->nsack >= max)
		return;
	for (int k = 0; k < o->nsack; k++)
		if (o->sack[k].left == c->ooo[i].left)
			return;
	o->sack[o->nsack].left = c->ooo[i].left;
	o->sack[o->nsack].right = c->ooo[i].right;
	o->nsack++;
}

/* RFC 2018 §4: the block holding the latest arrival first (MUST), then
 * the blocks reported most recently (SHOULD: each is sent in more than one
 * ACK, so that one ACK lost loses none), then the others, highest first.
 * What goes is remembered as the latest report. */
void tcp_rx_sack_blocks(struct tcp_conn *c, struct wire_opts *o)
{
	int max = o->has_ts ? 3 : 4, i;

	o->nsack = 0;
	put_block(o, max, c, island_of(c, c->ooo_last));
	for (i = 0; i < c->nsack_sent; i++)
		put_block(o, max, c, island_of(c, c->sack_sent[i]));
	for (i = c->nooo - 1; i >= 0; i--)
		put_block(o, max, c, i);
	c->nsack_sent = o->nsack;
	for (i = 0; i < o->nsack; i++)
		c->sack_sent[i] = o->sack[i].left;
}

/* Bounded auto-tuning: when the reader drains more than half the buffer
 * in one round trip, the window limits the peer: double the buffer, up
 * to rcvbuf_max, and never under memory pressure (Linux's
 * tcp_rcv_space_adjust). */
static void rx_tune(struct tcp_engine *e, struct tcp_conn *c, uint32_t n,
		    tcp_time now)
{
	tcp_time rtt = c->srtt > 1000 ? c->srtt : 1000;
	uint32_t cap = c->rcvq.cap;

	c->rcv_tune_bytes += n;
	if (now - c->rcv_tune_time < rtt)
		return;
	if (c->rcv_tune_bytes > cap / 2 && cap < e->cfg.rcvbuf_max &&
	    !e->mem.pressure) {
		cap = cap > e->cfg.rcvbuf_max / 2 ? e->cfg.rcvbuf_max : cap * 2;
		if ((65535u << c->rcv_wscale) < cap)
			cap = 65535u << c->rcv_wscale;
		tcp_ring_grow(&c->rcvq, cap);
	}
	c->rcv_tune_time = now;
	c->rcv_tune_bytes = 0;
}

/* Whether the window the peer was shown should open now: its edge can
 * move by a step (receiver SWS avoidance, RFC 9293 §3.8.6.2.2), or it
 * said 0 for a window under one unit (sub_unit_field()) and the ring now
 * holds a unit that is a step or more. A ring under a unit and a step
 * (a unit of 2^14, a step of an MSS) may be emptied by reads that leave
 * no step after the last update, which said 0: nothing else would tell
 * the peer. A unit under a step always leaves a step after it (a step is
 * at most half the ring), and a unit offered then would be a silly one. */
static bool wnd_opens(const struct tcp_conn *c)
{
	uint32_t unit = 1u << c->rcv_wscale, step = wnd_step(c);

	return SEQ_GEQ(edge_now(c), c->rcv_adv + step) ||
	       (c->rcv_unit_shut && unit >= step && tcp_rcv_space(c) >= unit);
}

/* The user took N bytes: free them, and tell the peer when the window
 * grew enough to matter (RFC 9293 §3.8.6.2.2). */
void tcp_rx_read(struct tcp_engine *e, struct tcp_conn *c, uint32_t n,
		 tcp_time now)
{
	tcp_ring_drop(&c->rcvq, n);
	if (c->urg_seen && !tcp_rx_urgent_left(c))
		c->urg_seen = false; /* read past the mark: forget it */
	/* Only where text can still come (RFC 9293 §3.10.7.4 seventh:
	 * ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2) does the window matter: past
	 * the peer's FIN or a reset a bigger ring is a copy for nothing. */
	if (c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT_1 ||
	    c->state == TCP_FIN_WAIT_2) {
		rx_tune(e, c, n, now);
		if (wnd_opens(c)) {
			c->ack_now = true;
			tcp_conn_mark(e, c);
		}
	}
}

void tcp_rx_purge(struct tcp_conn *c)
{
	tcp_ring_free(&c->rcvq);
	c->nooo = 0;
	c->urg_seen = false;
}

/* The sequence number of the next byte a read of C returns. */
static uint32_t read_next(const struct tcp_conn *c)
{
	return c->rcv_nxt - c->fin_rcvd - c->rcvq.len;
}

uint32_t tcp_rx_urgent_left(const struct tcp_conn *c)
{
	uint32_t next = read_next(c);

	return c->urg_seen && SEQ_GT(c->rcv_up, next) ? c->rcv_up - next : 0;
}

void tcp_rx_urgent(struct tcp_engine *e, struct tcp_conn *c,
		   const struct wire_seg *s)
{
	uint32_t up = s->seq + s->urp;

	if (!(s->flags & TCP_URG) || !s->urp)
		return;
	/* RFC 9293 §3.10.7.4 sixth: the user is told only if RCV.UP is in
	 * advance of the data consumed; urgent data already read (urg_seen
	 * forgotten) comes again in a retransmission, and is no news */
	if (!SEQ_GT(up, read_next(c)))
		return;
	if (c->urg_seen && !SEQ_GT(up, c->rcv_up))
		return;			/* RCV.UP <- max(RCV.UP, SEG.UP) */
	tcp_event(e, c, TCP_EV_URGENT); /* MUST-32: new, or advanced */
	c->rcv_up = up;
	c->urg_seen = true;
}
