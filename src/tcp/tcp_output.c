/* Segments out: building, the send decision (Nagle, sender SWS
 * avoidance, congestion and flow control), retransmission of holes, RST
 * and ACK. tcp_output() runs from tcp_dispatch() (and the timers); the
 * segments that answer one segment at once go through tcp_send_ctl(),
 * tcp_send_ack() and tcp_send_rst_reply(). */
#include <string.h>

#include "tcp_cc.h"
#include "tcp_opts.h"
#include "tcp_output.h"
#include "tcp_ring.h"
#include "tcp_rx.h"
#include "tcp_sack.h"
#include "tcp_timer.h"
#include "tcp_trace.h"

uint32_t tcp_seg_len(const struct wire_seg *s)
{
	return (uint32_t)s->len + !!(s->flags & TCP_SYN) +
	       !!(s->flags & TCP_FIN);
}

uint32_t tcp_fin_seq(const struct tcp_conn *c)
{
	return c->snd_data + c->sndq.len;
}

bool tcp_fin_acked(const struct tcp_conn *c)
{
	return c->fin_queued && SEQ_GT(c->snd_una, tcp_fin_seq(c));
}

void tcp_take_window(struct tcp_conn *c, const struct wire_seg *s)
{
	uint32_t wnd = (uint32_t)s->wnd
		       << ((s->flags & TCP_SYN) ? 0 : c->snd_wscale);

	if (!c->snd_wnd && wnd)
		c->backoff = 0; /* the persist episode is over */
	c->snd_wnd = wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	if (wnd > c->max_snd_wnd)
		c->max_snd_wnd = wnd;
}

/* S out through the link: built whole for output (S's data contiguous),
 * or for output_partial as its headers, checksum partial, then PAY[0..N),
 * its payload where it lies: no copy of ours. */
static void send_out(struct tcp_engine *e, const struct wire_seg *s,
		     const struct iovec *pay, int npay)
{
	struct iovec iov[3];
	size_t n;

	if (!e->cfg.output_partial) {
		n = wire_build(e->pkt, sizeof(e->pkt), s);
		if (n) {
			e->st.out_pkts++;
			e->cfg.output(e->cfg.ctx, e->pkt, n);
		}
		return;
	}
	n = wire_build_head(e->pkt, sizeof(e->pkt), s);
	if (!n || npay > 2)
		return;
	iov[0] = (struct iovec){e->pkt, n};
	for (int i = 0; i < npay; i++)
		iov[1 + i] = pay[i];
	e->st.out_pkts++;
	e->cfg.output_partial(e->cfg.ctx, iov, 1 + npay);
}

void tcp_send_raw(struct tcp_engine *e, struct wire_seg *s)
{
	struct iovec pay = {(void *)s->data, s->len};

	send_out(e, s, &pay, s->len > 0);
}

/* RFC 9293 §3.10.7.1: the reply to a segment for no connection. */
void tcp_send_rst_reply(struct tcp_engine *e, const struct wire_seg *in)
{
	struct wire_seg s;

	if (in->flags & TCP_RST)
		return;
	memset(&s, 0, sizeof(s));
	s.src = in->dst;
	s.dst = in->src;
	if (in->flags & TCP_ACK) {
		s.seq = in->ack;
		s.flags = TCP_RST;
	} else {
		s.ack = in->seq + tcp_seg_len(in);
		s.flags = TCP_RST | TCP_ACK;
	}
	e->st.rst_sent++;
	tcp_send_raw(e, &s);
}

/* Options of a SYN: offer everything when opening, answer with what the
 * peer offered otherwise (RFC 7323 §1.3, RFC 2018 §2). */
static void syn_opts(struct tcp_engine *e, struct tcp_conn *c,
		     struct wire_opts *o)
{
	struct tcp_synopt w;

	if (c->state == TCP_SYN_SENT) {
		c->ws_ok = c->sack_ok = c->ts_ok = true;
		c->rcv_wscale = tcp_wscale_for(e->cfg.rcvbuf_max);
	}
	w.mss = tcp_own_mss(e, c->local.family);
	w.ws = c->ws_ok;
	w.wscale = c->rcv_wscale;
	w.sack = c->sack_ok;
	w.ts = c->ts_ok;
	tcp_syn_opts(&w, o);
}

static void seg_opts(struct tcp_engine *e, struct tcp_conn *c, uint8_t flags,
		     struct wire_opts *o, tcp_time now)
{
	memset(o, 0, sizeof(*o));
	if (flags & TCP_SYN)
		syn_opts(e, c, o);
	if (c->ts_ok) { /* a RST too: RFC 7323 §3.2 SHOULD, as Linux */
		o->has_ts = true;
		o->tsval = c->ts_sent = tcp_ts_now(now);
		o->tsecr = (flags & TCP_ACK) ? c->ts_recent : 0;
	}
	if (c->sack_ok && !(flags & (TCP_SYN | TCP_RST)))
		tcp_rx_sack_blocks(c, o);
}

/* Payload room left by options: the MSS is counted without timestamps
 * already; SACK blocks take theirs from the data (RFC 6691). */
static uint32_t room_for(const struct tcp_conn *c, const struct wire_opts *o)
{
	uint32_t total = c->mss + (c->ts_ok ? 12u : 0u);
	uint32_t olen = (uint32_t)wire_opts_len(o);

	return total > olen ? total - olen : 0;
}

/* RFC 9293 §3.8.5: while urgent data is outstanding, every segment before
 * SND.UP carries URG and the pointer to the byte after the urgent data
 * (MUST-31); one too far for 16 bits says 65535, as Linux's. */
static void urgent_field(const struct tcp_conn *c, struct wire_seg *s)
{
	uint32_t off = c->snd_up - s->seq;

	if (!c->snd_urg || !SEQ_GT(c->snd_up, s->seq) ||
	    (s->flags & (TCP_SYN | TCP_RST)))
		return;
	s->flags |= TCP_URG;
	s->urp = off > 0xffff ? 0xffff : (uint16_t)off;
}

/* Send one segment of C: SEQ, FLAGS and up to LEN bytes of the send
 * queue; the bytes sent. */
static uint32_t send_seg(struct tcp_engine *e, struct tcp_conn *c, uint32_t seq,
			 uint8_t flags, uint32_t len, tcp_time now)
{
	struct wire_seg s;
	struct iovec pay[2];
	int npay = 0;

	memset(&s, 0, sizeof(s));
	s.src = c->local;
	s.dst = c->remote;
	s.ttl = c->ttl;
	s.tos = c->tos;
	s.seq = seq;
	s.flags = flags;
	if (flags & TCP_ACK)
		s.ack = c->rcv_nxt;
	if (!(flags & TCP_RST))
		s.wnd = tcp_rcv_wnd_field(c, flags & TCP_SYN);
	urgent_field(c, &s);
	seg_opts(e, c, flags, &s.opt, now);
	if (len > room_for(c, &s.opt)) {
		len = room_for(c, &s.opt);
		s.flags &= ~TCP_FIN;
	}
	if (len && e->cfg.output_partial) { /* the link joins the pieces */
		npay = tcp_ring_span(&c->sndq, seq - c->snd_data, len, pay);
	} else if (len) {
		tcp_ring_peek(&c->sndq, seq - c->snd_data, e->payload, len);
		s.data = e->payload;
	}
	s.len = len;
	if (tcp_seg_len(&s) && c->una_time == TCP_NEVER)
		c->una_time = now; /* the user timeout counts from here */
	tcp_trace_seg(e, c, '>', &s, now);
	send_out(e, &s, pay, npay);
	c->n.segs_out++;
	c->n.bytes_out += len;
	if (flags & TCP_RST)
		e->st.rst_sent++;
	if (flags & TCP_ACK) {
		c->last_ack_sent = s.ack;
		c->ack_bytes = 0;
		c->ack_now = false;
		c->t_delack = TCP_NEVER;
	}
	return len;
}

void tcp_send_ctl(struct tcp_engine *e, struct tcp_conn *c, uint32_t seq,
		  uint8_t flags, tcp_time now)
{
	send_seg(e, c, seq, flags, 0, now);
}

/* Pure ACKs and RSTs carry SND.MAX: after an RTO rewinds SND.NXT the peer
 * has seen more, and an older number would be unacceptable to it. */
void tcp_send_ack(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	send_seg(e, c, c->snd_max, TCP_ACK, 0, now);
	tcp_timers_update(e, c);
}

/* SYN (SYN-SENT) or SYN,ACK (SYN-RECEIVED), first time or again. */
void tcp_send_syn(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	uint8_t flags = TCP_SYN;

	if (c->state == TCP_SYN_RECEIVED)
		flags |= TCP_ACK;
	send_seg(e, c, c->iss, flags, 0, now);
	c->snd_nxt = c->snd_max = c->iss + 1;
	c->rtt_timing = !c->backoff; /* Karn: time the first SYN only */
	c->rtt_seq = c->iss;
	c->rtt_time = now;
	tcp_rtx_arm(e, c, now);
}

/* RFC 5961 §7: challenge ACKs, at most TCP_CHALLENGE_PER_SEC a second.
 * Counted per connection: an engine-wide count is a side channel that
 * tells an attacker when a guess hit (CVE-2016-5696). */
bool tcp_challenge_ack(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	tcp_time sec = now / 1000000;

	if (sec != c->chal_sec) {
		c->chal_sec = sec;
		c->chal_count = 0;
	}
	if (c->chal_count >= TCP_CHALLENGE_PER_SEC)
		return false;
	c->chal_count++;
	e->st.challenge_acks++;
	c->n.challenge_acks++;
	tcp_send_ack(e, c, now);
	return true;
}

/* Send LEN sequence numbers at SEQ: data from the queue, and the FIN if
 * the range reaches it; how many went. */
uint32_t tcp_send_range(struct tcp_engine *e, struct tcp_conn *c, uint32_t seq,
			uint32_t len, tcp_time now)
{
	uint32_t end = tcp_fin_seq(c), data = len;
	uint8_t flags = TCP_ACK;

	if (c->fin_queued && SEQ_GT(seq + len, end)) {
		data = end - seq;
		flags |= TCP_FIN;
	}
	if (data && seq + data == end)
		flags |= TCP_PSH;
	if (SEQ_LT(seq, c->snd_max)) {
		c->n.retrans_segs++;
		c->rtt_timing = false; /* Karn's algorithm (RFC 6298 §3) */
	} else if (!c->rtt_timing) {
		c->rtt_timing = true;
		c->rtt_seq = seq;
		c->rtt_time = now;
	}
	len = send_seg(e, c, seq, flags, data, now);
	c->last_send = now;
	if (c->t_rtx == TCP_NEVER)
		tcp_rtx_arm(e, c, now);
	return len < data ? len : len + !!(flags & TCP_FIN);
}

bool tcp_can_send_data(enum tcp_state st)
{
	return st == TCP_ESTABLISHED || st == TCP_CLOSE_WAIT ||
	       st == TCP_FIN_WAIT_1 || st == TCP_CLOSING || st == TCP_LAST_ACK;
}

/* Sequence numbers not yet sent from SND.NXT: data, and 1 for the FIN. */
uint32_t tcp_unsent(const struct tcp_conn *c)
{
	uint32_t end = tcp_fin_seq(c) + c->fin_queued;

	return SEQ_LT(c->snd_nxt, end) ? end - c->snd_nxt : 0;
}

/* Room the peer's window leaves at SND.NXT. */
uint32_t tcp_wnd_room(const struct tcp_conn *c)
{
	uint32_t edge = c->snd_una + c->snd_wnd;

	return SEQ_LT(c->snd_nxt, edge) ? edge - c->snd_nxt : 0;
}

bool tcp_fin_rides(const struct tcp_conn *c, uint32_t len)
{
	uint32_t want = tcp_unsent(c);

	return c->fin_queued && want && len == want - 1 &&
	       len < tcp_wnd_room(c);
}

/* The size of the next segment from SND.NXT, 0 to wait. HOLE bounds a
 * resend after an RTO by the next SACKed block. RFC 9293 §3.8.6.2.1
 * (sender SWS avoidance) and RFC 896 (Nagle); FORCE is the SWS override
 * timeout. */
static uint32_t next_len(const struct tcp_conn *c, uint32_t hole, bool force)
{
	uint32_t want = tcp_unsent(c), room = tcp_wnd_room(c),
		 pipe = tcp_pipe(c);
	bool fin = c->fin_queued && want;
	uint32_t data = want - fin, len = data;
	uint32_t cw = c->cwnd > pipe ? c->cwnd - pipe : 0;

	if (!want)
		return 0;
	if (len > c->mss)
		len = c->mss;
	if (len > room)
		len = room;
	if (len > cw)
		len = cw;
	if (len > hole)
		return hole;
	if (tcp_fin_rides(c, len))
		return len + 1;
	/* SWS avoidance and Nagle hold new data, not a resend (the
	 * go-back-N after an RTO) */
	if (!len || len == c->mss || force || SEQ_LT(c->snd_nxt, c->snd_max))
		return len;
	if (len < data) /* window limited: only a sizeable piece is worth it */
		return len >= c->max_snd_wnd / 2 ? len : 0;
	/* The queue's last piece: Nagle holds it while data is unacked. */
	return c->nodelay || c->snd_nxt == c->snd_una ? len : 0;
}

/* RFC 6675 §5 (NextSeg rule 1) or NewReno: retransmit a lost range. The
 * first retransmission of an episode goes regardless of the pipe. */
static bool send_rxt(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	uint32_t seq, len;

	if (!tcp_next_rxt(c, &seq, &len))
		return false;
	if (SEQ_GT(c->high_rxt, c->snd_una) && tcp_pipe(c) >= c->cwnd)
		return false;
	c->high_rxt = seq + tcp_send_range(e, c, seq, len, now);
	c->rxt_mark = c->snd_max;
	return true;
}

/* Going back after an RTO, step over what the peer SACKed (RFC 6675
 * §5.1 keeps the scoreboard); the length of the hole at SND.NXT. */
static uint32_t skip_sacked(struct tcp_conn *c)
{
	uint32_t end;

	while (SEQ_LT(c->snd_nxt, c->snd_max) && c->nsacked) {
		if (!tcp_sack_is_sacked(c, c->snd_nxt, &end))
			return end - c->snd_nxt;
		c->snd_nxt = end;
	}
	return UINT32_MAX;
}

static bool send_new(struct tcp_engine *e, struct tcp_conn *c, bool force,
		     tcp_time now)
{
	uint32_t len = next_len(c, skip_sacked(c), force);

	if (!len)
		return false;
	c->snd_nxt += tcp_send_range(e, c, c->snd_nxt, len, now);
	if (SEQ_GT(c->snd_nxt, c->snd_max))
		c->snd_max = c->snd_nxt;
	return true;
}

/* Persist (RFC 9293 §3.8.6.1): data waits, nothing is in flight, and the
 * peer's window does not let it go. */
static void persist_check(struct tcp_conn *c, tcp_time now)
{
	bool stuck = tcp_unsent(c) && c->snd_nxt == c->snd_una &&
		     c->t_rtx == TCP_NEVER;

	if (!stuck)
		c->t_persist = TCP_NEVER;
	else if (c->t_persist == TCP_NEVER)
		c->t_persist = now + c->rto;
}

/* The hole at SND.UNA once more, up to an MSS, outside the congestion
 * window like the first retransmission of a recovery. */
static void resend_una(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	uint32_t end, len;

	tcp_sack_is_sacked(c, c->snd_una, &end);
	len = SEQ_MIN(end, c->snd_max) - c->snd_una;
	tcp_send_range(e, c, c->snd_una, len < c->mss ? len : c->mss, now);
	c->rxt_mark = c->snd_nxt;
}

/* Send what the state, windows and queue allow; then a pending ACK. */
void tcp_output_force(struct tcp_engine *e, struct tcp_conn *c, bool force,
		      tcp_time now)
{
	if (tcp_can_send_data(c->state)) {
		bool sent = false;

		if (c->rxt_una) { /* tcp_rto_rxt_lost() found its resend lost */
			c->rxt_una = false;
			resend_una(e, c, now);
		}
		while (send_rxt(e, c, now))
			sent = true;
		tcp_cwnd_restart(c, now);
		if (send_new(e, c, force, now)) {
			while (send_new(e, c, false, now))
				;
			sent = true;
		}
		if (sent) /* a new tail */
			tcp_tlp_arm(e, c, now);
		tcp_cwnd_used(c, tcp_pipe(c), sent);
		persist_check(c, now);
	}
	if (c->ack_now)
		send_seg(e, c, c->snd_max, TCP_ACK, 0, now);
	tcp_timers_update(e, c);
}

void tcp_output(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	tcp_output_force(e, c, false, now);
}

/* A zero-window or keepalive probe: an old sequence number the peer must
 * answer with an ACK carrying its window (the Linux way; RFC 9293 §3.8.6.1
 * and §3.8.4 allow it). */
void tcp_send_probe(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	send_seg(e, c, c->snd_una - 1, TCP_ACK, 0, now);
}
