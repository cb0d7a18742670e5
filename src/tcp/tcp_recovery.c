/* Loss recovery on the sender's side, Linux's tcp_recovery.c: fast
 * recovery's start (RFC 6675, RFC 6582), RACK-style marking of lost
 * retransmissions (the idea of RFC 8985 §6.2, by sequence), and the tail
 * loss probe (RFC 8985 §7). */
#include "tcp_recovery.h"
#include "tcp_cc.h"
#include "tcp_output.h"
#include "tcp_sack.h"
#include "tcp_timer.h"

/* Enter fast recovery (RFC 6675 §5, RFC 6582 §3.2): the congestion
 * response, then resend from SND.UNA up to RECOVER. A probe out is
 * answered for by this response. The resend restarts the retransmission
 * timer, as Linux does: one that ran out meanwhile (a dispatch late past
 * both deadlines, or RACK's, which is capped at the RTO) would otherwise
 * fire in the same round, a second cut and a go-back-N for one loss. */
void tcp_recovery_start(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	c->cc->on_loss(c, c->snd_max - c->snd_una, now);
	c->cwnd = c->ssthresh;
	c->in_recovery = true;
	c->recover = c->snd_max;
	c->high_rxt = c->rxt_mark = c->snd_una;
	c->tlp_out = false;
	c->n.fast_retrans++;
	tcp_rtx_arm(e, c, now);
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
static void fast_rxt_detect(struct tcp_engine *e, struct tcp_conn *c,
			    tcp_time now)
{
	if (c->in_recovery || SEQ_LT(c->snd_una, c->recover))
		return;
	if (c->dupacks < 3 && tcp_sacked_bytes(c, c->snd_max) < 3u * c->mss &&
	    !tlp_sacked(c))
		return;
	tcp_recovery_start(e, c, now);
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
uint32_t tcp_rto_sacked_after(const struct tcp_conn *c)
{
	if (c->in_recovery || !SEQ_LT(c->snd_una, c->recover) ||
	    !SEQ_LT(c->rxt_mark, c->snd_nxt))
		return 0;
	return tcp_sacked_bytes(c, c->snd_nxt) -
	       tcp_sacked_bytes(c, c->rxt_mark);
}

/* The same after an RTO: when data resent after the hole at SND.UNA is
 * SACKed anew and the hole stays, its resend was lost; resend it with the
 * next output rather than after a doubled RTO. */
void tcp_rto_rxt_lost(struct tcp_conn *c, const struct wire_seg *s,
		      uint32_t before)
{
	if (s->ack == c->snd_una && tcp_rto_sacked_after(c) > before)
		c->rxt_una = true;
}

/* RFC 8985 §7.4: the ACK of a probe. A resent segment that was missing
 * means a loss the probe repaired: without DSACK to say the original got
 * there too, the congestion response of a fast recovery, from the flight
 * the loss was found with (this ACK has emptied it). */
void tcp_tlp_acked(struct tcp_conn *c, const struct wire_seg *s,
		   uint32_t flight, tcp_time now)
{
	if (!c->tlp_out || SEQ_LT(s->ack, c->tlp_end))
		return;
	c->tlp_out = false;
	if (c->tlp_rxt) {
		c->cc->on_loss(c, flight, now);
		c->cwnd = c->ssthresh;
	}
}

void tcp_loss_detect(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	rxt_lost_detect(c);
	fast_rxt_detect(e, c, now);
}

/* RFC 8985 §7.3: the tail loss probe. One new segment if the peer's
 * window takes it (whatever the congestion window says), else the last
 * segment again; its answer (ACK or SACK) starts recovery where RTO would
 * have. Then the RTO runs, not another PTO. */
void tcp_send_tlp(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	uint32_t data = tcp_unsent(c) - (c->fin_queued && tcp_unsent(c));
	uint32_t len = data < c->mss ? data : c->mss, seq;
	bool rxt;

	if (!tcp_can_send_data(c->state) || c->snd_una == c->snd_max)
		return;
	if (len > tcp_wnd_room(c))
		len = tcp_wnd_room(c);
	rxt = !len;
	if (!rxt) {
		seq = c->snd_nxt;
		c->snd_nxt += tcp_send_range(e, c, seq,
					     len + tcp_fin_rides(c, len), now);
		c->snd_max = SEQ_MAX(c->snd_max, c->snd_nxt);
	} else {
		len = c->snd_max - c->snd_una;
		len = len < c->mss ? len : c->mss;
		seq = c->snd_max - len;
		tcp_send_range(e, c, seq, len, now);
	}
	c->tlp_out = true;
	c->tlp_rxt = rxt && !c->in_recovery; /* recovery cut the window */
	c->tlp_seq = seq;
	c->tlp_end = c->snd_max;
	tcp_rtx_arm(e, c, now);
}

/* The probe timer: a hole that has outlived the reordering window is
 * lost (fast recovery), else the tail is probed. */
void tcp_pto_timeout(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	c->t_pto = TCP_NEVER;
	if (tcp_rack_hole(c)) {
		tcp_recovery_start(e, c, now);
		tcp_output(e, c, now);
	} else {
		tcp_send_tlp(e, c, now);
	}
}
