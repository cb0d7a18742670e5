/* What happens when a timer runs out: retransmission (RFC 6298, with
 * Karn and backoff), SYN retries, the user timeout (R2), persist,
 * keepalive, the probe timer, delayed ACK, TIME_WAIT and FIN_WAIT_2's
 * limit. The arming is tcp_timer.c's. */
#include <errno.h>

#include "tcp_conn.h"
#include "tcp_output.h"
#include "tcp_recovery.h"
#include "tcp_timeout.h"
#include "tcp_timer.h"

#define TCP_R2_RTOS 15 /* R2 without a user timeout, as Linux's retries2 */
#define STR_(x) #x
#define STR(x) STR_(x)

/* Give up: RST to the peer if it may still listen, ETIMEDOUT for us,
 * and WHY in words for the user. */
static void give_up(struct tcp_engine *e, struct tcp_conn *c, const char *why,
		    tcp_time now)
{
	if (c->state != TCP_SYN_SENT)
		tcp_send_ctl(e, c, c->snd_max, TCP_RST, now);
	c->why = why;
	/* an ICMP error heard meanwhile says more (RFC 1122 §4.2.3.9) */
	tcp_conn_fail(e, c, c->soft_error ? c->soft_error : ETIMEDOUT, now);
}

/* Why R2 was reached, for give_up(). */
static const char *r2_why(const struct tcp_conn *c)
{
	if (c->user_timeout)
		return "nothing acknowledged for the user timeout";
	if (c->state == TCP_SYN_SENT)
		return "the SYN went unanswered";
	if (c->state == TCP_SYN_RECEIVED)
		return "the SYN,ACK went unanswered";
	return "data went unacknowledged through " STR(
		TCP_R2_RTOS) " retransmissions";
}

static tcp_time backed_off(const struct tcp_engine *e, tcp_time rto)
{
	return rto * 2 < e->cfg.rto_max ? rto * 2 : e->cfg.rto_max;
}

/* SYN or SYN,ACK lost (RFC 9293 §3.8.1, RFC 6298 §5.7). False when C was
 * destroyed. */
static bool syn_timeout(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	/* a listener's child: its SYN,ACK retries, whatever the listener's
	 * user timeout (Linux's request sockets ignore it too); an active
	 * open, simultaneous or not: the SYN retries or the user timeout */
	bool child = c->passive && !c->accepted;
	unsigned max = child ? TCP_SYNACK_RETRIES : e->cfg.syn_retries;

	if (c->user_timeout && !child ? now >= tcp_user_deadline(c) :
					c->backoff >= max) {
		if (c->passive && !c->accepted) {
			tcp_conn_destroy(e, c);
			return false;
		}
		give_up(e, c, r2_why(c), now);
		return true;
	}
	c->backoff++;
	c->syn_lost = true;
	c->rto = backed_off(e, c->rto);
	tcp_send_syn(e, c, now);
	return true;
}

/* R2 (RFC 9293 §3.8.3): the connection's user timeout has run with no
 * new data acknowledged (MUST-21, RFC 5482); without one, TCP_R2_RTOS
 * backoffs. */
static bool r2_reached(const struct tcp_conn *c, tcp_time now)
{
	if (!c->user_timeout)
		return c->backoff >= TCP_R2_RTOS;
	return now >= tcp_user_deadline(c);
}

/* RFC 6298 §5.4-5.7 and RFC 5681 §3.1: the oldest unacknowledged segment
 * again, the window down to one segment, go-back-N from SND.UNA. */
static void rtx_timeout(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	if (r2_reached(c, now)) {
		give_up(e, c, r2_why(c), now);
		return;
	}
	c->n.rto_timeouts++;
	if (!c->backoff)
		c->cc->on_loss(c, c->snd_max - c->snd_una, now);
	else /* again: the peer may have reneged on its SACKs (RFC 2018 §8) */
		c->nsacked = 0;
	c->cwnd = c->mss;
	c->in_recovery = false;
	c->tlp_out = false;
	c->recover = c->snd_max;
	c->dupacks = 0;
	c->snd_nxt = c->high_rxt = c->snd_una;
	c->backoff++;
	c->rto = backed_off(e, c->rto);
	c->t_rtx = TCP_NEVER;
	tcp_output(e, c, now);
	c->rxt_mark = c->snd_nxt; /* what goes from here went after the hole */
	/* A window the peer shrank to zero under data in flight let nothing
	 * go: the persist timer (armed by the output) probes it, as for any
	 * closed window, and the connection lives while the probes are
	 * answered (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17: MUST probe, and
	 * SHOULD NOT time out data beyond the right edge). */
	if (c->t_rtx == TCP_NEVER && c->snd_una != c->snd_max &&
	    c->t_persist == TCP_NEVER)
		tcp_rtx_arm(e, c, now);
}

static tcp_time persist_ival(const struct tcp_engine *e,
			     const struct tcp_conn *c)
{
	tcp_time t = c->rto << (c->backoff < 10 ? c->backoff : 10);

	return t < e->cfg.rto_max ? t : e->cfg.rto_max;
}

/* Window still closed: probe, backing off; with some window open but too
 * small for SWS avoidance, send what fits (the override timeout). Probes
 * the peer answers go on as long as its window stays closed (RFC 1122
 * §4.2.2.17); TCP_R2_RTOS unanswered in a row give up, as Linux's
 * tcp_probe_timer() does after retries2. */
static void persist_timeout(struct tcp_engine *e, struct tcp_conn *c,
			    tcp_time now)
{
	c->t_persist = TCP_NEVER;
	if (c->snd_wnd)
		tcp_output_force(e, c, true, now);
	if (c->t_rtx != TCP_NEVER)
		return;
	if (c->probes_out >= TCP_R2_RTOS) {
		give_up(e, c,
			STR(TCP_R2_RTOS) " zero-window probes went unanswered",
			now);
		return;
	}
	tcp_send_probe(e, c, now);
	c->probes_out++;
	c->backoff++;
	c->t_persist = now + persist_ival(e, c);
}

/* Keep-alive probes only while nothing is outstanding (RFC 9293 §3.8.4,
 * MUST-26; RFC 1122 §4.2.3.6): unacknowledged data is the retransmission
 * timer's, so the idle time starts again. */
static void keep_timeout(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	if (c->snd_una != c->snd_max) {
		c->keep_sent = 0;
		c->t_keep = now + c->keep_idle;
		return;
	}
	if (c->keep_sent >= TCP_KEEP_PROBES) {
		give_up(e, c, "9 keep-alive probes went unanswered", now);
		return;
	}
	tcp_send_probe(e, c, now);
	c->keep_sent++;
	c->t_keep = now + (c->keep_idle < TCP_KEEP_INTVL ? c->keep_idle :
							   TCP_KEEP_INTVL);
}

/* The path MTU ages out (RFC 1191 §6.3, RFC 8201 §4): segments try the
 * negotiated MSS again; a path still smaller says so with a new error. */
static void pmtu_timeout(struct tcp_conn *c)
{
	c->t_pmtu = TCP_NEVER;
	c->pmtu = 0;
	if (c->mss_full)
		c->mss = c->mss_full;
	c->mss_full = 0;
}

/* Run C's expired timers; C may be gone afterwards. */
void tcp_timers_run(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	if (c->t_wait <= now) { /* 2 MSL over (RFC 9293 §3.10.8) */
		c->t_wait = TCP_NEVER;
		tcp_conn_end(e, c, now);
		return;
	}
	/* a probe in the RTO's place goes instead, and arms the RTO again */
	if (c->t_pto <= now && c->t_pto <= c->t_rtx)
		tcp_pto_timeout(e, c, now);
	if (c->t_rtx <= now) {
		c->t_rtx = TCP_NEVER;
		if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED) {
			if (!syn_timeout(e, c, now))
				return;
		} else {
			rtx_timeout(e, c, now);
		}
		if (c->state == TCP_CLOSED)
			return;
	}
	if (c->t_pto <= now)
		tcp_pto_timeout(e, c, now);
	if (c->t_persist <= now)
		persist_timeout(e, c, now);
	if (c->t_delack <= now) {
		c->t_delack = TCP_NEVER;
		tcp_send_ack(e, c, now);
	}
	if (c->t_keep <= now)
		keep_timeout(e, c, now);
	if (c->t_pmtu <= now)
		pmtu_timeout(c);
	tcp_timers_update(e, c);
}
