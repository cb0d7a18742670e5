/* Timers, the arming side: each connection sits in one min-heap by its
 * earliest deadline; the RTT estimator and RTO (RFC 6298), the tail loss
 * probe's and RACK's reordering deadlines (RFC 8985), delayed ACK,
 * keepalive, FIN_WAIT_2's limit. What happens when one runs out is
 * tcp_timeout.c's. */
#include <stdlib.h>

#include "tcp_sack.h"
#include "tcp_timer.h"

uint32_t tcp_ts_now(tcp_time now)
{
	return (uint32_t)(now / TCP_TS_HZ_DIV) + 1;
}

static void heap_swap(struct tcp_engine *e, size_t a, size_t b)
{
	struct tcp_conn *t = e->heap[a];

	e->heap[a] = e->heap[b];
	e->heap[b] = t;
	e->heap[a]->heap_idx = a;
	e->heap[b]->heap_idx = b;
}

static void heap_fix(struct tcp_engine *e, size_t i)
{
	while (i && e->heap[(i - 1) / 2]->deadline > e->heap[i]->deadline) {
		heap_swap(e, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < e->nheap && e->heap[l]->deadline < e->heap[m]->deadline)
			m = l;
		if (l + 1 < e->nheap &&
		    e->heap[l + 1]->deadline < e->heap[m]->deadline)
			m = l + 1;
		if (m == i)
			return;
		heap_swap(e, i, m);
		i = m;
	}
}

void tcp_heap_del(struct tcp_engine *e, struct tcp_conn *c)
{
	size_t i = c->heap_idx;

	if (i == SIZE_MAX)
		return;
	c->heap_idx = SIZE_MAX;
	if (i != --e->nheap) {
		e->heap[i] = e->heap[e->nheap];
		e->heap[i]->heap_idx = i;
		heap_fix(e, i);
	}
}

bool tcp_heap_reserve(struct tcp_engine *e, size_t n)
{
	if (n > e->heap_cap) {
		size_t cap = e->heap_cap ? e->heap_cap * 2 : 64;
		struct tcp_conn **h;

		cap = cap < n ? n : cap;
		if (!(h = realloc(e->heap, cap * sizeof(*h))))
			return false;
		e->heap = h;
		e->heap_cap = cap;
	}
	return true;
}

void tcp_heap_trim(struct tcp_engine *e)
{
	size_t cap = e->heap_cap / 2;
	struct tcp_conn **h;

	if (cap < 64 || e->nconns >= cap / 2)
		return;
	if ((h = realloc(e->heap, cap * sizeof(*h)))) { /* else: keep it */
		e->heap = h;
		e->heap_cap = cap;
	}
}

/* Room was reserved when C was made (tcp_heap_reserve()). */
static void heap_add(struct tcp_engine *e, struct tcp_conn *c)
{
	c->heap_idx = e->nheap;
	e->heap[e->nheap++] = c;
	heap_fix(e, c->heap_idx);
}

static tcp_time tmin(tcp_time a, tcp_time b)
{
	return a < b ? a : b;
}

/* Re-file C after any of its timers changed. */
void tcp_timers_update(struct tcp_engine *e, struct tcp_conn *c)
{
	if (c->t_rtx == TCP_NEVER) /* nothing in flight: nothing to probe */
		c->t_pto = TCP_NEVER;
	c->deadline = tmin(tmin(tmin(tmin(c->t_rtx, c->t_pto), c->t_persist),
				tmin(c->t_delack, c->t_keep)),
			   tmin(c->t_wait, c->t_pmtu));
	if (c->deadline == TCP_NEVER)
		tcp_heap_del(e, c);
	else if (c->heap_idx == SIZE_MAX)
		heap_add(e, c);
	else
		heap_fix(e, c->heap_idx);
}

/* RFC 6298 §2: RTO = SRTT + max(G, 4 RTTVAR), within [min, max]. */
void tcp_rtt_sample(struct tcp_conn *c, tcp_time r,
		    const struct tcp_config *cfg)
{
	tcp_time var;

	if (!c->rtt_valid) {
		c->srtt = r;
		c->rttvar = r / 2;
		c->rtt_valid = true;
	} else {
		tcp_time d = c->srtt > r ? c->srtt - r : r - c->srtt;

		c->rttvar = (3 * c->rttvar + d) / 4;
		c->srtt = (7 * c->srtt + r) / 8;
	}
	var = 4 * c->rttvar > 1000 ? 4 * c->rttvar : 1000;
	c->rto = c->srtt + var;
	if (c->rto < cfg->rto_min)
		c->rto = cfg->rto_min;
	if (c->rto > cfg->rto_max)
		c->rto = cfg->rto_max;
}

tcp_time tcp_user_deadline(const struct tcp_conn *c)
{
	if (!c->user_timeout || c->una_time == TCP_NEVER)
		return TCP_NEVER;
	return c->una_time + c->user_timeout;
}

/* The timer runs out at the user timeout at the latest, so that the
 * abort comes when the timeout says, not at the next backed-off RTO
 * (Linux's tcp_clamp_rto_to_user_timeout). */
void tcp_rtx_arm(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	c->t_rtx = tmin(now + c->rto, tcp_user_deadline(c));
	c->t_persist = TCP_NEVER;
	tcp_timers_update(e, c);
}

/* RFC 8985 §7.2: a tail loss probe is worth it with SACK (its answer
 * shows what was lost), one per tail, not in the go-back-N after an RTO.
 * Unlike §7.2 also in fast recovery: there the ACK clock stops as soon
 * as a resend and the new data after it are lost, and the probe's SACK
 * (see rxt_lost_detect) restarts it some hundred RTTs before the RTO
 * would on a LAN. */
static bool tlp_allowed(const struct tcp_conn *c)
{
	return c->sack_ok && c->rtt_valid && !c->tlp_out &&
	       (c->in_recovery || SEQ_GEQ(c->snd_una, c->recover)) &&
	       c->snd_una != c->snd_max;
}

/* The probe's delay: PTO = 2 SRTT, plus the worst case delayed ACK when
 * a lone segment is in flight (its ACK may wait for a second one). When
 * a hole lies below SACKed data instead, RACK's reordering window
 * (RFC 8985 §6.2, SRTT / 4): the hole's data went before what was
 * SACKed, so it is lost unless merely reordered. */
static tcp_time pto_delay(const struct tcp_conn *c)
{
	tcp_time pto = tcp_rack_hole(c) ? c->srtt / 4 : 2 * c->srtt;

	if (pto < TCP_TLP_MIN)
		pto = TCP_TLP_MIN;
	if (!tcp_rack_hole(c) && c->snd_max - c->snd_una <= c->mss)
		pto += TCP_TLP_DELACK;
	return pto;
}

/* Arm the probe (or RACK's reordering) timer, at the RTO's time at the
 * latest: a probe due after it goes in its place (RFC 8985 §7.2, as
 * Linux's tcp_schedule_loss_probe()), for the RTO floor is below PTO's
 * lone-segment delay. A reordering deadline already set stays: it counts
 * from the first SACK above the hole. */
void tcp_tlp_arm(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	tcp_time old = c->t_pto, t;

	c->t_pto = TCP_NEVER;
	if (tlp_allowed(c) || (tcp_rack_hole(c) && c->rtt_valid)) {
		t = now + pto_delay(c);
		if (tcp_rack_hole(c) && old < t)
			t = old;
		c->t_pto = tmin(t, c->t_rtx);
	}
	tcp_timers_update(e, c);
}

void tcp_delack_arm(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	if (c->t_delack == TCP_NEVER)
		c->t_delack = now + e->cfg.delack;
	tcp_timers_update(e, c);
}

/* Keepalive (RFC 9293 §3.8.4): only when on and synchronized. */
void tcp_keep_arm(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	bool on = c->keep_idle &&
		  (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT);

	c->t_keep = on ? now + c->keep_idle : TCP_NEVER;
	tcp_timers_update(e, c);
}

/* A closed connection waits in FIN_WAIT_2 for the peer's FIN no longer
 * than 2 MSL (Linux's tcp_fin_timeout for orphaned sockets): nobody will
 * read it again. A half-closed one (shutdown) waits as long as it takes. */
void tcp_fin_wait_2_timer(struct tcp_engine *e, struct tcp_conn *c,
			  tcp_time now)
{
	if (c->state != TCP_FIN_WAIT_2 || !c->orphan)
		return;
	c->t_wait = now + 2 * e->cfg.msl;
	tcp_timers_update(e, c);
}
