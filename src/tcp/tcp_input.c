/* Segment arrival, RFC 9293 §3.10.7: SYN-SENT, then the synchronized
 * states in the RFC's order: sequence number, RST, SYN, ACK, URG, text,
 * FIN; LISTEN is tcp_listen.c's. With RFC 5961 (blind
 * attacks), RFC 7323 (PAWS) and RFC 5681's duplicate ACKs. It changes
 * state and marks the connection; it sends only what answers one
 * segment (RST, challenge ACK, SYN,ACK, a duplicate ACK). */
#include <errno.h>
#include <string.h>

#include "tcp_cc.h"
#include "tcp_conn.h"
#include "tcp_input.h"
#include "tcp_listen.h"
#include "tcp_opts.h"
#include "tcp_output.h"
#include "tcp_recovery.h"
#include "tcp_ring.h"
#include "tcp_rx.h"
#include "tcp_sack.h"
#include "tcp_table.h"
#include "tcp_timer.h"
#include "tcp_trace.h"

/* Addressed to us (not to a listener's "any" address). */
static bool own_dst(const struct tcp_engine *e, const struct wire_ep *d)
{
	const struct wire_ep *a = tcp_own_addr(e, d->family);

	return a && !memcmp(a->a, d->a, sizeof(a->a));
}

/* SND.UNA moved on to ACK at NOW: the user timeout starts again while
 * data is outstanding, and stops when none is. */
static void una_advance(struct tcp_conn *c, uint32_t ack, tcp_time now)
{
	c->snd_una = ack;
	c->una_time = ack == c->snd_max ? TCP_NEVER : now;
	c->soft_error = 0; /* the path works: an old ICMP error is stale */
	if (c->snd_urg && SEQ_GEQ(ack, c->snd_up))
		c->snd_urg = false; /* the urgent data is through */
}

/* The initial window; one MSS after a lost SYN (RFC 6298 §5.7). */
static void init_cwnd(struct tcp_conn *c)
{
	c->cwnd = c->syn_lost ? c->mss : tcp_initial_window(c);
	c->cc->init(c);
}

/* SYN-SENT or SYN-RECEIVED to ESTABLISHED. After a retransmitted SYN (or
 * SYN,ACK) and no RTT sample, data starts with an RTO of 3 s at least
 * (RFC 6298 §5.7). */
static void established(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	if (c->syn_lost && !c->rtt_valid && c->rto < TCP_RTO_SYN_LOST)
		c->rto = TCP_RTO_SYN_LOST;
	init_cwnd(c);
	c->backoff = 0;
	c->rcv_tune_time = now;
	tcp_set_state(e, c, TCP_ESTABLISHED, now);
	tcp_child_established(e, c);
	if (c->fin_queued) /* closed while the handshake ran */
		tcp_set_state(e, c, TCP_FIN_WAIT_1, now);
	tcp_keep_arm(e, c, now);
}

/* An RTT sample from a timed segment (Karn: never a retransmitted one),
 * else from the echoed timestamp (RFC 7323 §4.1). */
static void rtt_measure(struct tcp_engine *e, struct tcp_conn *c,
			const struct wire_seg *s, tcp_time now)
{
	if (c->rtt_timing && SEQ_GT(s->ack, c->rtt_seq)) {
		c->rtt_timing = false;
		tcp_rtt_sample(c, now - c->rtt_time, &e->cfg);
	} else if (c->ts_ok && s->opt.has_ts && s->opt.tsecr) {
		uint32_t d = tcp_ts_now(now) - s->opt.tsecr;

		if (d < 0x7fffffff)
			tcp_rtt_sample(c, (tcp_time)d * TCP_TS_HZ_DIV, &e->cfg);
	}
}

static void syn_sent_input(struct tcp_engine *e, struct tcp_conn *c,
			   struct wire_seg *s, tcp_time now)
{
	bool ack = s->flags & TCP_ACK;

	tcp_trace_in(e, c, s, now);
	if (ack && (SEQ_LEQ(s->ack, c->iss) || SEQ_GT(s->ack, c->snd_max))) {
		if (!(s->flags & TCP_RST))
			tcp_send_ctl(e, c, s->ack, TCP_RST, now);
		return;
	}
	if (s->flags & TCP_RST) {
		/* RFC 5961 §3.2: acceptable only if it ACKs our SYN. */
		if (ack)
			tcp_conn_fail(e, c, ECONNREFUSED, now);
		return;
	}
	if (!(s->flags & TCP_SYN))
		return;
	tcp_take_syn_opts(e, c, s, now);
	tcp_take_window(c, s);
	if (!ack) { /* simultaneous open (§3.5, figure 7): the SYN's
		      * retries go on counting */
		tcp_set_state(e, c, TCP_SYN_RECEIVED, now);
		tcp_send_syn(e, c, now);
		return;
	}
	una_advance(c, s->ack, now);
	rtt_measure(e, c, s, now);
	c->t_rtx = TCP_NEVER;
	established(e, c, now);
	c->ack_now = true; /* data on the SYN,ACK is left for a resend */
	tcp_conn_mark(e, c);
}

/* RFC 7323 §5.3 R1: a timestamp older than TS.Recent is a wrapped old
 * duplicate, unless TS.Recent is itself stale (24 days idle, §5.5). */
static bool paws_reject(const struct tcp_conn *c, const struct wire_seg *s,
			tcp_time now)
{
	if (!c->ts_ok || !s->opt.has_ts || (s->flags & TCP_RST))
		return false;
	if (!SEQ_LT(s->opt.tsval, c->ts_recent))
		return false;
	return now - c->ts_recent_time < TCP_PAWS_IDLE;
}

/* The acceptability test of §3.10.7.4 (first). A segment at RCV.NXT with
 * a zero window still counts, so that its ACK and RST are used. */
static bool seq_acceptable(const struct tcp_conn *c, const struct wire_seg *s)
{
	uint32_t len = tcp_seg_len(s), wnd = tcp_rcv_wnd(c);
	uint32_t off = s->seq - c->rcv_nxt;

	if (s->seq == c->rcv_nxt)
		return true;
	if (!wnd)
		return false;
	if (off < wnd)
		return true;
	return len && (uint32_t)(s->seq + len - 1 - c->rcv_nxt) < wnd;
}

/* §3.10.7.4 second, with RFC 5961 §3.2: only an exact RST resets. */
static void rst_input(struct tcp_engine *e, struct tcp_conn *c,
		      const struct wire_seg *s, tcp_time now)
{
	if (s->seq != c->rcv_nxt) {
		tcp_challenge_ack(e, c, now);
		return;
	}
	switch (c->state) {
	case TCP_SYN_RECEIVED:
		if (c->passive && !c->accepted) { /* back to LISTEN */
			tcp_conn_destroy(e, c);
			return;
		}
		tcp_conn_fail(e, c, ECONNREFUSED, now);
		return;
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_FIN_WAIT_2:
	case TCP_CLOSE_WAIT:
		tcp_conn_fail(e, c, ECONNRESET, now);
		return;
	default: /* CLOSING, LAST_ACK, TIME_WAIT */
		tcp_conn_end(e, c, now);
	}
}

/* New data acknowledged (§3.10.7.4 fifth, ESTABLISHED). */
static void ack_new(struct tcp_engine *e, struct tcp_conn *c,
		    const struct wire_seg *s, tcp_time now)
{
	uint32_t acked = s->ack - c->snd_una;
	uint32_t end = SEQ_MIN(s->ack, tcp_fin_seq(c));

	rtt_measure(e, c, s, now);
	if (SEQ_GT(end, c->snd_data)) {
		tcp_ring_drop(&c->sndq, end - c->snd_data);
		c->snd_data = end;
		if (c->want_write) {
			c->want_write = false;
			tcp_event(e, c, TCP_EV_WRITABLE);
		}
	}
	una_advance(c, s->ack, now);
	if (!c->in_recovery && SEQ_GT(c->snd_una, c->recover))
		c->recover = c->snd_una; /* never 2^31 behind: no wrap */
	if (SEQ_LT(c->snd_nxt, c->snd_una))
		c->snd_nxt = c->snd_una;
	c->backoff = 0;
	c->dupacks = 0;
	if (!c->in_recovery)
		c->cc->on_ack(c, acked, tcp_cwnd_limited(c), now);
	else if (SEQ_GEQ(s->ack, c->recover)) /* RFC 6582 §3.2 step 3 */
		c->in_recovery = false;
	/* RFC 6298 §5.2-5.3: stop the timer, or restart it. */
	if (c->snd_una == c->snd_max)
		c->t_rtx = TCP_NEVER;
	else
		tcp_rtx_arm(e, c, now);
}

/* RFC 5681 §2: a duplicate ACK carries nothing else new. */
static bool is_dupack(const struct tcp_conn *c, const struct wire_seg *s)
{
	uint32_t wnd = (uint32_t)s->wnd << c->snd_wscale;

	return s->ack == c->snd_una && !s->len &&
	       !(s->flags & (TCP_SYN | TCP_FIN)) && wnd == c->snd_wnd &&
	       c->snd_una != c->snd_max;
}

/* §3.10.7.4 fifth: the ACK field. False when the segment is done with. */
static bool ack_input(struct tcp_engine *e, struct tcp_conn *c,
		      const struct wire_seg *s, tcp_time now)
{
	uint32_t before, ack_before = c->snd_una;
	uint32_t flight = c->snd_max - c->snd_una;

	if (c->state == TCP_SYN_RECEIVED) {
		if (SEQ_LEQ(s->ack, c->snd_una) || SEQ_GT(s->ack, c->snd_max)) {
			tcp_send_ctl(e, c, s->ack, TCP_RST, now);
			return false;
		}
		/* the accept queue is full: the ACK is dropped, as Linux
		 * drops it on a listen overflow; the handshake completes with
		 * an ACK to a later SYN,ACK, once the user took one */
		if (c->parent && !c->accepted &&
		    c->parent->aq_len >= c->parent->backlog) {
			e->st.syn_dropped++;
			return false;
		}
		tcp_take_window(c, s);
		rtt_measure(e, c, s, now);
		una_advance(c, s->ack, now);
		c->t_rtx = TCP_NEVER;
		established(e, c, now);
	}
	/* RFC 5961 §5.2: SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT. */
	if (SEQ_GT(s->ack, c->snd_max) ||
	    SEQ_LT(s->ack, c->snd_una - c->max_snd_wnd)) {
		tcp_challenge_ack(e, c, now);
		return false;
	}
	before = tcp_rto_sacked_after(c);
	tcp_sack_update(c, &s->opt);
	tcp_rto_rxt_lost(c, s, before);
	if (is_dupack(c, s)) {
		c->dupacks++;
		c->n.dup_acks++;
	}
	if (SEQ_GT(s->ack, c->snd_una)) {
		ack_new(e, c, s, now);
		tcp_ival_trim(c->sacked, &c->nsacked, c->snd_una);
		tcp_tlp_acked(c, s, flight, now);
	}
	tcp_loss_detect(e, c, now);
	if (SEQ_GT(s->ack, ack_before) || tcp_rack_hole(c))
		tcp_tlp_arm(e, c, now);
	/* Window update: only from a newer segment (§3.10.7.4). */
	if (SEQ_GEQ(s->ack, c->snd_una) &&
	    (SEQ_LT(c->snd_wl1, s->seq) ||
	     (c->snd_wl1 == s->seq && SEQ_LEQ(c->snd_wl2, s->ack))))
		tcp_take_window(c, s);
	return true;
}

static void enter_time_wait(struct tcp_engine *e, struct tcp_conn *c,
			    tcp_time now)
{
	tcp_set_state(e, c, TCP_TIME_WAIT, now);
	c->t_rtx = c->t_persist = c->t_keep = TCP_NEVER;
	c->t_wait = now + 2 * e->cfg.msl;
	tcp_timers_update(e, c);
}

/* Our FIN's fate after the ACK field (§3.10.7.4 fifth, per state). False
 * when the connection ended. */
static bool fin_acked_input(struct tcp_engine *e, struct tcp_conn *c,
			    tcp_time now)
{
	if (!tcp_fin_acked(c))
		return true;
	switch (c->state) {
	case TCP_FIN_WAIT_1:
		tcp_set_state(e, c, TCP_FIN_WAIT_2, now);
		tcp_fin_wait_2_timer(e, c, now);
		return true;
	case TCP_CLOSING:
		enter_time_wait(e, c, now);
		return true;
	case TCP_LAST_ACK:
		tcp_conn_end(e, c, now);
		return false;
	default:
		return true;
	}
}

/* §3.10.7.4 eighth: the peer's FIN, once every byte before it is in. */
static void fin_input(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	c->rcv_nxt++;
	c->fin_rcvd = true;
	c->fin_ooo = false;
	c->ack_now = true;
	tcp_event(e, c, TCP_EV_READABLE);
	switch (c->state) {
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
		tcp_set_state(e, c, TCP_CLOSE_WAIT, now);
		break;
	case TCP_FIN_WAIT_1: /* simultaneous close (§3.6, figure 13) */
		if (tcp_fin_acked(c))
			enter_time_wait(e, c, now);
		else
			tcp_set_state(e, c, TCP_CLOSING, now);
		break;
	case TCP_FIN_WAIT_2:
		enter_time_wait(e, c, now);
		break;
	default:
		break;
	}
}

static bool takes_data(enum tcp_state st)
{
	return st == TCP_ESTABLISHED || st == TCP_FIN_WAIT_1 ||
	       st == TCP_FIN_WAIT_2;
}

/* RFC 9293 §3.6 (SHLD-2), RFC 1122 §4.2.2.13: new data after the user's
 * CLOSE (not a shutdown) cannot be read by anyone: a RST tells the peer
 * that it was lost, and the connection ends (Linux's TCPAbortOnData).
 * Data below RCV.NXT (a retransmission) and a bare FIN go on as usual.
 * True when C was reset. */
static bool data_after_close(struct tcp_engine *e, struct tcp_conn *c,
			     const struct wire_seg *s, tcp_time now)
{
	if (!c->orphan || !s->len || c->fin_rcvd || !takes_data(c->state) ||
	    !SEQ_GT(s->seq + (uint32_t)s->len, c->rcv_nxt))
		return false;
	tcp_send_ctl(e, c, c->snd_max, TCP_RST, now);
	c->why = "data arrived after close: the peer was reset";
	tcp_conn_fail(e, c, ECONNABORTED, now);
	return true;
}

/* Seventh and eighth: text, then FIN (possibly one that arrived out of
 * order and waited for the hole to fill). */
static void text_fin_input(struct tcp_engine *e, struct tcp_conn *c,
			   const struct wire_seg *s, tcp_time now)
{
	uint32_t fin_seq = s->seq + (uint32_t)s->len;

	if (c->fin_rcvd || !takes_data(c->state))
		return;
	if (s->len && tcp_rx_data(e, c, s, now) < 0) {
		/* no memory for the text: reset rather than lose it */
		tcp_send_ctl(e, c, c->snd_max, TCP_RST, now);
		tcp_conn_fail(e, c, ENOMEM, now);
		return;
	}
	if ((s->flags & TCP_FIN) && fin_seq != c->rcv_nxt &&
	    SEQ_GT(fin_seq, c->rcv_nxt) && SEQ_LEQ(fin_seq, c->rcv_adv)) {
		c->fin_ooo = true;
		c->rcv_fin_seq = fin_seq;
		c->ack_now = true;
	}
	if (c->fin_ooo && SEQ_GT(c->rcv_nxt, c->rcv_fin_seq))
		c->fin_ooo = false; /* data went past it: no FIN was there */
	if (((s->flags & TCP_FIN) && fin_seq == c->rcv_nxt) ||
	    (c->fin_ooo && c->rcv_fin_seq == c->rcv_nxt))
		fin_input(e, c, now);
}

/* RFC 7323 §4.3 (2): remember the peer's timestamp for echoing, from a
 * segment that starts at or before Last.ACK.sent only: a delayed ACK then
 * echoes the earliest segment it acknowledges. */
static void ts_update(struct tcp_conn *c, const struct wire_seg *s,
		      tcp_time now)
{
	if (c->ts_ok && s->opt.has_ts && SEQ_LEQ(s->seq, c->last_ack_sent) &&
	    (SEQ_GEQ(s->opt.tsval, c->ts_recent) ||
	     now - c->ts_recent_time >= TCP_PAWS_IDLE)) {
		c->ts_recent = s->opt.tsval;
		c->ts_recent_time = now;
	}
}

/* An unacceptable segment: ACK it (unless RST) and drop it. In TIME_WAIT a
 * retransmitted FIN also restarts the 2 MSL wait (§3.10.7.4 eighth); to
 * a listener's child a retransmitted SYN means our SYN,ACK was lost. */
static void unacceptable(struct tcp_engine *e, struct tcp_conn *c,
			 const struct wire_seg *s, tcp_time now)
{
	if (s->flags & TCP_RST)
		return;
	if (c->state == TCP_TIME_WAIT && (s->flags & TCP_FIN)) {
		c->t_wait = now + 2 * e->cfg.msl;
		tcp_timers_update(e, c);
	}
	/* RFC 5961 §7's ACK throttling, as Linux's tcp_oow_rate_limited():
	 * one without data or FIN, or a SYN, is answered once in a while,
	 * so that two ends out of step cannot ACK each other's ACKs for
	 * ever; a peer's zero-window or keep-alive probe is one of them,
	 * and so is a SYN repeated to a listener's child (a flood of them
	 * would each draw a SYN,ACK). */
	if ((s->flags & TCP_SYN) || (!s->len && !(s->flags & TCP_FIN))) {
		if (now < c->oow_ack_next)
			return;
		c->oow_ack_next = now + TCP_OOW_ACK_GAP;
	}
	if (c->state == TCP_SYN_RECEIVED && c->passive &&
	    (s->flags & TCP_SYN) && s->seq == c->irs) {
		c->rtt_timing = false; /* Karn: which one is answered? */
		tcp_send_ctl(e, c, c->iss, TCP_SYN | TCP_ACK, now);
		return;
	}
	c->ack_now = true;
	tcp_conn_mark(e, c);
}

/* Simultaneous open (RFC 9293 §3.5, figure 7, line 6): in SYN-RECEIVED
 * after our own SYN, the peer's SYN,ACK repeats its SYN but acknowledges
 * ours: it completes the handshake at once (as Linux's
 * tcp_validate_incoming lets it), taken as the ACK it carries, rather
 * than answered and dropped as an old SYN until a retransmission. */
static void simultaneous_synack(const struct tcp_conn *c, struct wire_seg *s)
{
	if (c->state != TCP_SYN_RECEIVED || c->passive ||
	    (s->flags & (TCP_SYN | TCP_ACK | TCP_RST)) != (TCP_SYN | TCP_ACK) ||
	    s->seq + 1 != c->rcv_nxt || s->ack != c->snd_max)
		return;
	s->flags &= (uint8_t)~TCP_SYN;
	s->seq++;
	/* a SYN's window is not scaled (RFC 7323 §2.2), the ACK's is: in its
	 * unit, rounded up so that an open window never reads as closed */
	s->wnd = (uint16_t)((s->wnd + (1u << c->snd_wscale) - 1) >>
			    c->snd_wscale);
}

static void sync_input(struct tcp_engine *e, struct tcp_conn *c,
		       struct wire_seg *s, tcp_time now)
{
	tcp_trace_in(e, c, s, now);
	simultaneous_synack(c, s);
	if (paws_reject(c, s, now)) {
		e->st.paws_drops++;
		unacceptable(e, c, s, now);
		return;
	}
	if (!seq_acceptable(c, s)) {
		unacceptable(e, c, s, now);
		return;
	}
	if (s->flags & TCP_RST) {
		rst_input(e, c, s, now);
		return;
	}
	if (s->flags & TCP_SYN) { /* RFC 5961 §4.2: always a challenge */
		if (c->state == TCP_SYN_RECEIVED && c->passive &&
		    !c->accepted) {
			tcp_conn_destroy(e, c); /* back to LISTEN */
			return;
		}
		tcp_challenge_ack(e, c, now);
		return;
	}
	if (!(s->flags & TCP_ACK) || !ack_input(e, c, s, now))
		return;
	if (!fin_acked_input(e, c, now))
		return;
	ts_update(c, s, now);
	c->last_rcv = now;
	c->keep_sent = c->probes_out = 0;
	tcp_keep_arm(e, c, now);
	if (data_after_close(e, c, s, now))
		return;
	if (takes_data(c->state) && !c->fin_rcvd)
		tcp_rx_urgent(e, c, s);
	text_fin_input(e, c, s, now);
	/* RFC 5681 §4.2: out-of-order data gets its duplicate ACK at once,
	 * one for each such segment, so that each SACKs its own island
	 * first (RFC 2018 §4): one ACK for the batch could name only three
	 * and would stall the sender's loss detection. */
	if (c->ack_dup) {
		c->ack_dup = false;
		tcp_send_ack(e, c, now);
	}
	tcp_conn_mark(e, c); /* dispatch sends data and at most one ACK */
}

/* RFC 6191 §2: a SYN newer than everything of C's incarnation: by its
 * timestamp when both sides use them (by its sequence number on a tie),
 * any SYN with timestamps when C had none (the new incarnation's then
 * tell its segments from the old one's), else by its sequence number. */
static bool syn_newer(const struct tcp_conn *c, const struct wire_seg *s)
{
	if (!c->ts_ok && s->opt.has_ts)
		return true;
	if (c->ts_ok && s->opt.has_ts && s->opt.tsval != c->ts_recent)
		return SEQ_GT(s->opt.tsval, c->ts_recent);
	return SEQ_GT(s->seq, c->rcv_nxt);
}

/* A SYN for C in TIME_WAIT (RFC 9293 §3.6.1, MAY-2; RFC 6191): with a
 * listener on the port, one newer than the old incarnation opens a new
 * connection (with an ISS above the old one's, Linux's tw_isn) and C
 * ends; an older one is dropped silently. False: no listener, or not a
 * plain SYN: the usual TIME_WAIT rules apply. */
static bool time_wait_syn(struct tcp_engine *e, struct tcp_conn *c,
			  struct wire_seg *s, tcp_time now)
{
	static const struct wire_ep any;
	struct tcp_conn *l;

	if ((s->flags & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN)
		return false;
	l = tcp_lookup(e, &s->dst, &any);
	if (!l || l->state != TCP_LISTEN)
		return false;
	tcp_trace_in(e, c, s, now);
	if (!syn_newer(c, s))
		return true;
	tcp_conn_tw_handover(e, c, now);
	tcp_listen_input(e, l, s, now);
	e->tw_iss_set = false;
	return true;
}

void tcp_input_seg(struct tcp_engine *e, struct wire_seg *s, tcp_time now)
{
	struct tcp_conn *c = NULL;

	if (!memcmp(&s->src, &s->dst, sizeof(s->src))) {
		e->st.drop_no_conn++; /* a LAND attack: it would answer itself */
		return;
	}
	/* Not for us: no RST with a source address that is not ours. */
	if (!own_dst(e, &s->dst)) {
		e->st.drop_no_conn++;
		return;
	}
	c = tcp_lookup(e, &s->dst, &s->src);
	if (!c || c->state == TCP_CLOSED) {
		e->st.drop_no_conn++;
		tcp_send_rst_reply(e, s);
		return;
	}
	switch (c->state) {
	case TCP_LISTEN: /* a SYN cookie's ACK goes on to its new child */
		c = tcp_listen_input(e, c, s, now);
		if (c)
			sync_input(e, c, s, now);
		break;
	case TCP_SYN_SENT:
		syn_sent_input(e, c, s, now);
		break;
	case TCP_TIME_WAIT:
		tcp_tw_list(c, now); /* not reused for a second now */
		if (!time_wait_syn(e, c, s, now))
			sync_input(e, c, s, now);
		break;
	default:
		sync_input(e, c, s, now);
	}
}

/* ---- ICMP errors ---- */

/* The errno of an unreachable IC (Linux's icmp_err_convert); *HARD for
 * protocol and port unreachable (RFC 1122 §4.2.3.9: codes 2-3; ICMPv6
 * code 4). */
static int unreach_errno(const struct wire_icmp *ic, bool *hard)
{
	bool v6 = ic->to.family == AF_INET6;

	*hard = v6 ? ic->code == 4 : ic->code == 2 || ic->code == 3;
	if (v6)
		return ic->code == 0 ? ENETUNREACH :
		       ic->code == 1 ? EACCES :
		       ic->code == 4 ? ECONNREFUSED :
				       EHOSTUNREACH;
	return ic->code == 0 || ic->code == 6 || ic->code == 9 ? ENETUNREACH :
	       ic->code == 2				       ? ENOPROTOOPT :
	       ic->code == 3				       ? ECONNREFUSED :
								 EHOSTUNREACH;
}

/* Destination unreachable. Soft errors never abort (RFC 1122 §4.2.3.9:
 * MUST NOT); the latest is kept and is the error if the connection then
 * times out (as Linux's sk_err_soft). A hard one ends a connect at once
 * (RFC 1122: SHOULD abort); in a synchronized state it counts as soft,
 * as RFC 5461 §4 advises and Linux does: a forged or transient one must
 * not end a working connection. */
static void icmp_unreach(struct tcp_engine *e, struct tcp_conn *c,
			 const struct wire_icmp *ic, tcp_time now)
{
	bool hard;
	int err = unreach_errno(ic, &hard);

	if (hard && c->state == TCP_SYN_SENT) {
		c->why = "an ICMP error said so";
		tcp_conn_fail(e, c, err, now);
		return;
	}
	c->soft_error = err;
	c->icmp_from = ic->from;
	tcp_event(e, c, TCP_EV_SOFTERR); /* the user hears of it now */
}

/* Packet too big (RFC 1191 §6, RFC 8201 §4): the segments shrink to the
 * path MTU for TCP_PMTU_AGE (never below TCP_MIN_PMTU; an error without
 * an MTU, from an old router, is ignored), and what went at the old size
 * goes again now, without a congestion response (Linux's
 * tcp_simple_retransmit): it was dropped for its size, not for
 * congestion. During the handshake it quotes our SYN or SYN,ACK (the
 * only sequence number in flight, RFC 5927 §4.1): those are small and
 * need not go again, but the data after them is sized by it, once the
 * peer's MSS is known (SYN_SENT: tcp_take_syn_opts()). */
static void icmp_ptb(struct tcp_engine *e, struct tcp_conn *c, uint32_t mtu,
		     tcp_time now)
{
	uint32_t was = c->pmtu;

	if (mtu && mtu < TCP_MIN_PMTU(c->local.family))
		mtu = TCP_MIN_PMTU(c->local.family);
	if (!mtu || (was && mtu >= was))
		return; /* not smaller: nothing to do (RFC 5927 §7.2) */
	c->pmtu = mtu;
	if (c->state != TCP_SYN_SENT && !tcp_mss_clamp(c)) {
		c->pmtu = was;
		return;
	}
	c->t_pmtu = now + TCP_PMTU_AGE;
	tcp_timers_update(e, c);
	if (c->state < TCP_ESTABLISHED)
		return;
	c->snd_nxt = c->high_rxt = c->snd_una;
	c->rtt_timing = false; /* Karn */
	tcp_conn_mark(e, c);
}

void tcp_icmp_input(struct tcp_engine *e, const struct wire_icmp *ic,
		    tcp_time now)
{
	struct tcp_conn *c = NULL;

	if (own_dst(e, &ic->to) && own_dst(e, &ic->src))
		c = tcp_lookup(e, &ic->src, &ic->dst);
	/* RFC 5927 §4.1: it must quote a segment of a connection of ours
	 * still in flight: SND.UNA <= SEG.SEQ < SND.NXT (the highest sent) */
	if (!c || c->listener || c->state == TCP_CLOSED ||
	    c->remote.port != ic->dst.port ||
	    memcmp(c->remote.a, ic->dst.a, sizeof(c->remote.a)) ||
	    SEQ_LT(ic->seq, c->snd_una) || !SEQ_LT(ic->seq, c->snd_max)) {
		e->st.icmp_drops++;
		return;
	}
	e->st.icmp_in++;
	if (ic->kind == WIRE_ICMP_PTB)
		icmp_ptb(e, c, ic->mtu, now);
	else
		icmp_unreach(e, c, ic, now);
}
