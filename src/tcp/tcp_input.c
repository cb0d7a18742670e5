/* Segment arrival, RFC 9293 §3.10.7: LISTEN, SYN-SENT, then the
 * synchronized states in the RFC's order: sequence number, RST, SYN, ACK,
 * (URG ignored), text, FIN. With RFC 5961 (blind attacks), RFC 7323
 * (PAWS) and the loss detection of RFC 5681/6582/6675, with RACK-TLP's
 * (RFC 8985) answers to lost tails and lost retransmissions. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "tcp_int.h"

#define TS_OPT_LEN 12 /* TS option with its two NOPs (RFC 7323 App. A) */

static bool own_dst(const struct tcp_engine *e, const struct wire_ep *d)
{
	const struct wire_ep *a = d->family == AF_INET ? &e->cfg.addr4 :
							 &e->cfg.addr6;

	return a->family == d->family && !memcmp(a->a, d->a, sizeof(a->a));
}

/* SEG.LEN: data plus one for each of SYN and FIN. */
static uint32_t seg_len(const struct wire_seg *s)
{
	return (uint32_t)s->len + !!(s->flags & TCP_SYN) +
	       !!(s->flags & TCP_FIN);
}

static void trace_in(struct tcp_engine *e, struct tcp_conn *c,
		     const struct wire_seg *s, tcp_time now)
{
	tcp_trace_seg(e, c, '<', s, now);
	c->n.segs_in++;
}

/* Options of the peer's SYN or SYN,ACK (RFC 9293 §3.7.1, RFC 7323 §2-3,
 * RFC 2018 §2). What one side did not offer, neither uses. */
static void take_syn_opts(struct tcp_engine *e, struct tcp_conn *c,
			  const struct wire_seg *s, tcp_time now)
{
	const struct wire_opts *o = &s->opt;
	uint16_t mss = o->has_mss && o->mss >= 64 ? o->mss : 536;
	uint16_t own = tcp_own_mss(e, c->local.family);

	c->ws_ok = o->has_ws;
	c->snd_wscale = c->ws_ok ? (o->ws > 14 ? 14 : o->ws) : 0;
	c->rcv_wscale = c->ws_ok ? tcp_wscale_for(e->cfg.rcvbuf_max) : 0;
	c->sack_ok = o->sack_ok;
	c->ts_ok = o->has_ts;
	if (c->ts_ok) {
		c->ts_recent = o->tsval;
		c->ts_recent_time = now;
	}
	/* RFC 6691: the MSS excludes options; leave room for timestamps. */
	c->mss = (mss < own ? mss : own) - (c->ts_ok ? TS_OPT_LEN : 0);
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	tcp_rcv_wnd_field(c, true); /* our SYN's window, now from RCV.NXT */
}

/* RFC 6928: IW = min(10 MSS, max(2 MSS, 14600)); one MSS after a lost
 * SYN (RFC 6298 §5.7). */
static void init_cwnd(struct tcp_conn *c)
{
	uint32_t iw = 14600 > 2u * c->mss ? 14600 : 2u * c->mss;

	if (iw > 10u * c->mss)
		iw = 10u * c->mss;
	c->cwnd = c->syn_lost ? c->mss : iw;
	c->cc->init(c);
}

static void take_window(struct tcp_conn *c, const struct wire_seg *s)
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

/* SYN-SENT or SYN-RECEIVED to ESTABLISHED. */
static void established(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
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

/* ---- LISTEN (§3.10.7.2) ---- */

static struct tcp_conn *child_new(struct tcp_engine *e, struct tcp_conn *l,
				  const struct wire_seg *s, tcp_time now)
{
	struct tcp_conn *c = tcp_conn_new(e);

	if (!c)
		return NULL;
	c->local = s->dst;
	c->remote = s->src;
	c->parent = l;
	c->passive = true;
	c->accepted = false;
	c->nodelay = l->nodelay;
	c->keep_idle = l->keep_idle;
	if (tcp_tuple_add(e, c)) {
		tcp_conn_destroy(e, c);
		return NULL;
	}
	tcp_conn_init_seq(e, c, now);
	return c;
}

/* No room for state: answer with a SYN cookie (RFC 4987 §3.6). */
static void send_cookie(struct tcp_engine *e, const struct wire_seg *syn,
			tcp_time now)
{
	struct wire_seg s;
	uint16_t mss;

	memset(&s, 0, sizeof(s));
	s.src = syn->dst;
	s.dst = syn->src;
	s.seq = tcp_cookie_make(e, syn, &mss, now);
	s.ack = syn->seq + 1;
	s.flags = TCP_SYN | TCP_ACK;
	s.wnd = e->cfg.rcvbuf > 65535 ? 65535 : (uint16_t)e->cfg.rcvbuf;
	s.opt.has_mss = true;
	s.opt.mss = mss;
	if (syn->opt.has_ts) {
		s.opt.has_ts = true;
		s.opt.tsval = tcp_cookie_tsval(&syn->opt, tcp_ts_now(now));
		s.opt.tsecr = syn->opt.tsval;
		s.opt.has_ws = syn->opt.has_ws;
		s.opt.ws = tcp_wscale_for(e->cfg.rcvbuf_max);
		s.opt.sack_ok = syn->opt.sack_ok;
	}
	e->st.syn_cookies_sent++;
	tcp_send_raw(e, &s);
}

static void listen_syn(struct tcp_engine *e, struct tcp_conn *l,
		       const struct wire_seg *s, tcp_time now)
{
	struct tcp_conn *c;

	if (l->aq_len >= l->backlog) {
		e->st.syn_dropped++; /* the user is not accepting */
		return;
	}
	if (l->half_open >= l->backlog ||
	    e->st.half_open >= e->cfg.max_half_open ||
	    !(c = child_new(e, l, s, now))) {
		send_cookie(e, s, now);
		return;
	}
	trace_in(e, c, s, now);
	take_syn_opts(e, c, s, now);
	take_window(c, s);
	tcp_set_state(e, c, TCP_SYN_RECEIVED, now);
	tcp_send_syn(e, c, now);
}

/* The options a cookie carried in our TSval, back in the peer's TSecr. */
static void cookie_ts_opts(struct tcp_engine *e, struct tcp_conn *c,
			   const struct wire_seg *s, tcp_time now)
{
	struct wire_opts o;

	tcp_cookie_opts(s->opt.tsecr, &o);
	c->ts_ok = true;
	c->ts_recent = s->opt.tsval;
	c->ts_recent_time = now;
	c->mss -= TS_OPT_LEN;
	c->sack_ok = o.sack_ok;
	c->ws_ok = o.has_ws;
	c->snd_wscale = o.has_ws ? o.ws : 0;
	c->rcv_wscale = o.has_ws ? tcp_wscale_for(e->cfg.rcvbuf_max) : 0;
}

/* The ACK completing a cookie handshake: build the connection then. */
static bool listen_cookie_ack(struct tcp_engine *e, struct tcp_conn *l,
			      struct wire_seg *s, tcp_time now)
{
	struct tcp_conn *c;
	uint16_t mss;

	if (!tcp_cookie_check(e, s, &mss, now))
		return false;
	if (l->aq_len >= l->backlog || !(c = child_new(e, l, s, now))) {
		e->st.syn_dropped++;
		return true;
	}
	c->iss = s->ack - 1;
	c->snd_una = c->recover = c->iss;
	c->snd_nxt = c->snd_max = s->ack;
	c->snd_data = s->ack;
	c->irs = s->seq - 1;
	c->rcv_nxt = s->seq;
	c->rcv_adv =
		c->rcv_nxt + (e->cfg.rcvbuf > 65535 ? 65535 : e->cfg.rcvbuf);
	c->mss = mss;
	if (s->opt.has_ts && s->opt.tsecr)
		cookie_ts_opts(e, c, s, now);
	tcp_set_state(e, c, TCP_SYN_RECEIVED, now);
	tcp_input_seg(e, s, now);
	return true;
}

static void listen_input(struct tcp_engine *e, struct tcp_conn *l,
			 struct wire_seg *s, tcp_time now)
{
	if (s->flags & TCP_RST)
		return;
	if (s->flags & TCP_ACK) {
		if (!(s->flags & TCP_SYN) && listen_cookie_ack(e, l, s, now))
			return;
		tcp_send_rst_reply(e, s);
		return;
	}
	if (s->flags & TCP_SYN)
		listen_syn(e, l, s, now);
}

/* ---- SYN-SENT (§3.10.7.3) ---- */

static void syn_sent_input(struct tcp_engine *e, struct tcp_conn *c,
			   struct wire_seg *s, tcp_time now)
{
	bool ack = s->flags & TCP_ACK;

	trace_in(e, c, s, now);
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
	take_syn_opts(e, c, s, now);
	take_window(c, s);
	if (!ack) { /* simultaneous open (§3.5, figure 7) */
		tcp_set_state(e, c, TCP_SYN_RECEIVED, now);
		c->backoff = 0;
		tcp_send_syn(e, c, now);
		return;
	}
	c->snd_una = s->ack;
	rtt_measure(e, c, s, now);
	c->t_rtx = TCP_NEVER;
	established(e, c, now);
	c->ack_now = true; /* data on the SYN,ACK is left for a resend */
	tcp_conn_mark(e, c);
}

/* ---- Synchronized states (§3.10.7.4) ---- */

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

static uint32_t rcv_wnd(const struct tcp_conn *c)
{
	return SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
}

/* The acceptability test of §3.10.7.4 (first). A segment at RCV.NXT with
 * a zero window still counts, so that its ACK and RST are used. */
static bool seq_acceptable(const struct tcp_conn *c, const struct wire_seg *s)
{
	uint32_t len = seg_len(s), wnd = rcv_wnd(c);
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
	c->snd_una = s->ack;
	if (SEQ_LT(c->snd_nxt, c->snd_una))
		c->snd_nxt = c->snd_una;
	c->backoff = 0;
	c->rtx_start = TCP_NEVER;
	c->dupacks = 0;
	if (!c->in_recovery)
		c->cc->on_ack(c, acked, now);
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

/* The tail loss probe arrived (SACKed) while data sent before it, at
 * least a PTO earlier, did not: that data is lost (RFC 8985 §6.2, the
 * reordering window long over). */
static bool tlp_sacked(const struct tcp_conn *c)
{
	uint32_t end;

	return c->tlp_out && SEQ_LT(c->snd_una, c->tlp_seq) &&
	       tcp_sack_is_sacked(c, c->tlp_seq, &end);
}

/* Fast retransmit (RFC 5681 §3.2, RFC 6675 §5): three duplicate ACKs, or
 * SACKs above the first hole worth three segments, or a SACKed tail loss
 * probe; not twice for one window (RFC 6582 §3.2 step 2: the ACK must
 * cover more than "recover", the last byte sent, that is reach our
 * RECOVER, one past it). The recovery answers for the probe too. */
static void loss_detect(struct tcp_conn *c, tcp_time now)
{
	if (c->in_recovery || SEQ_LT(c->snd_una, c->recover))
		return;
	if (c->dupacks < 3 && tcp_sacked_bytes(c, c->snd_max) < 3u * c->mss &&
	    !tlp_sacked(c))
		return;
	tcp_recovery_start(c, now);
}

/* A retransmission is lost when data sent after it has been SACKed (the
 * idea of RFC 8985 §6.2, by sequence: nothing is resent out of order
 * after it). Resend the holes again, rather than wait for the RTO. */
static void rxt_lost_detect(struct tcp_conn *c)
{
	uint32_t after;

	if (!c->in_recovery || !SEQ_GT(c->high_rxt, c->snd_una))
		return;
	after = tcp_sacked_bytes(c, c->snd_max) -
		tcp_sacked_bytes(c, c->rxt_mark);
	if (after >= TCP_RXT_LOST_SEGS * c->mss) {
		c->high_rxt = c->snd_una;
		c->rxt_mark = c->snd_max;
	}
}

/* Bytes SACKed that went after the latest resend of the hole at SND.UNA
 * in the go-back-N after an RTO (0 outside it). */
static uint32_t rto_sacked_after(const struct tcp_conn *c)
{
	if (c->in_recovery || !SEQ_LT(c->snd_una, c->recover) ||
	    !SEQ_LT(c->rxt_mark, c->snd_nxt))
		return 0;
	return tcp_sacked_bytes(c, c->snd_nxt) -
	       tcp_sacked_bytes(c, c->rxt_mark);
}

/* The same after an RTO: when data resent after the hole at SND.UNA is
 * SACKed anew and the hole stays, its resend was lost; resend it now
 * rather than after a doubled RTO. */
static void rto_rxt_lost(struct tcp_engine *e, struct tcp_conn *c,
			 const struct wire_seg *s, uint32_t before,
			 tcp_time now)
{
	if (s->ack == c->snd_una && rto_sacked_after(c) > before)
		tcp_resend_una(e, c, now);
}

/* RFC 8985 §7.4: the ACK of a probe. A resent segment that was missing
 * means a loss the probe repaired: without DSACK to say the original got
 * there too, the congestion response of a fast recovery. */
static void tlp_ack(struct tcp_conn *c, const struct wire_seg *s, tcp_time now)
{
	if (!c->tlp_out || SEQ_LT(s->ack, c->tlp_end))
		return;
	c->tlp_out = false;
	if (c->tlp_rxt) {
		c->cc->on_loss(c, now);
		c->cwnd = c->ssthresh;
	}
}

/* §3.10.7.4 fifth: the ACK field. False when the segment is done with. */
static bool ack_input(struct tcp_engine *e, struct tcp_conn *c,
		      const struct wire_seg *s, tcp_time now)
{
	uint32_t before, ack_before = c->snd_una;

	if (c->state == TCP_SYN_RECEIVED) {
		if (SEQ_LEQ(s->ack, c->snd_una) || SEQ_GT(s->ack, c->snd_max)) {
			tcp_send_ctl(e, c, s->ack, TCP_RST, now);
			return false;
		}
		take_window(c, s);
		rtt_measure(e, c, s, now);
		c->snd_una = s->ack;
		c->t_rtx = TCP_NEVER;
		established(e, c, now);
	}
	/* RFC 5961 §5.2: SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT. */
	if (SEQ_GT(s->ack, c->snd_max) ||
	    SEQ_LT(s->ack, c->snd_una - c->max_snd_wnd)) {
		tcp_challenge_ack(e, c, now);
		return false;
	}
	before = rto_sacked_after(c);
	tcp_sack_update(c, &s->opt);
	rto_rxt_lost(e, c, s, before, now);
	if (is_dupack(c, s)) {
		c->dupacks++;
		c->n.dup_acks++;
	}
	if (SEQ_GT(s->ack, c->snd_una)) {
		ack_new(e, c, s, now);
		tcp_ival_trim(c->sacked, &c->nsacked, c->snd_una);
		tlp_ack(c, s, now);
	}
	rxt_lost_detect(c);
	loss_detect(c, now);
	if (SEQ_GT(s->ack, ack_before) || tcp_rack_hole(c))
		tcp_tlp_arm(e, c, now);
	/* Window update: only from a newer segment (§3.10.7.4). */
	if (SEQ_GEQ(s->ack, c->snd_una) &&
	    (SEQ_LT(c->snd_wl1, s->seq) ||
	     (c->snd_wl1 == s->seq && SEQ_LEQ(c->snd_wl2, s->ack))))
		take_window(c, s);
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

/* Seventh and eighth: text, then FIN (possibly one that arrived out of
 * order and waited for the hole to fill). */
static void text_fin_input(struct tcp_engine *e, struct tcp_conn *c,
			   const struct wire_seg *s, tcp_time now)
{
	uint32_t fin_seq = s->seq + (uint32_t)s->len;

	if (c->fin_rcvd || !takes_data(c->state))
		return;
	if (s->len)
		tcp_rx_data(e, c, s, now);
	if ((s->flags & TCP_FIN) && fin_seq != c->rcv_nxt &&
	    SEQ_GT(fin_seq, c->rcv_nxt) && SEQ_LEQ(fin_seq, c->rcv_adv)) {
		c->fin_ooo = true;
		c->rcv_fin_seq = fin_seq;
		c->ack_now = true;
	}
	if (((s->flags & TCP_FIN) && fin_seq == c->rcv_nxt) ||
	    (c->fin_ooo && c->rcv_fin_seq == c->rcv_nxt))
		fin_input(e, c, now);
}

/* RFC 7323 §4.3: remember the peer's timestamp for echoing. */
static void ts_update(struct tcp_conn *c, const struct wire_seg *s,
		      uint32_t rcv_nxt, tcp_time now)
{
	if (c->ts_ok && s->opt.has_ts && SEQ_LEQ(s->seq, rcv_nxt) &&
	    SEQ_GEQ(s->opt.tsval, c->ts_recent)) {
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
	if (c->state == TCP_SYN_RECEIVED && c->passive &&
	    (s->flags & TCP_SYN) && s->seq == c->irs) {
		c->rtt_timing = false; /* Karn: which one is answered? */
		tcp_send_ctl(e, c, c->iss, TCP_SYN | TCP_ACK, now);
		return;
	}
	if (c->state == TCP_TIME_WAIT && (s->flags & TCP_FIN)) {
		c->t_wait = now + 2 * e->cfg.msl;
		tcp_timers_update(e, c);
	}
	c->ack_now = true;
	tcp_conn_mark(e, c);
}

static void sync_input(struct tcp_engine *e, struct tcp_conn *c,
		       struct wire_seg *s, tcp_time now)
{
	uint32_t rcv_nxt = c->rcv_nxt;

	trace_in(e, c, s, now);
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
	ts_update(c, s, rcv_nxt, now);
	c->last_rcv = now;
	c->keep_sent = 0;
	tcp_keep_arm(e, c, now);
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

void tcp_input_seg(struct tcp_engine *e, struct wire_seg *s, tcp_time now)
{
	struct tcp_conn *c = NULL;

	if (!memcmp(&s->src, &s->dst, sizeof(s->src))) {
		e->st.drop_no_conn++; /* a LAND attack: it would answer itself */
		return;
	}
	if (own_dst(e, &s->dst))
		c = tcp_lookup(e, &s->dst, &s->src);
	if (!c || c->state == TCP_CLOSED) {
		e->st.drop_no_conn++;
		tcp_send_rst_reply(e, s);
		return;
	}
	switch (c->state) {
	case TCP_LISTEN:
		listen_input(e, c, s, now);
		break;
	case TCP_SYN_SENT:
		syn_sent_input(e, c, s, now);
		break;
	default:
		sync_input(e, c, s, now);
	}
}
