/* Congestion control behind a small interface: NewReno (RFC 5681, RFC
 * 6582) and CUBIC (RFC 9438, the default), both with appropriate byte
 * counting (RFC 3465) that takes a stretch ACK for the ACKs it stands
 * for. */
#include <math.h>

#include "tcp_cc.h"

#define CWND_MAX (1u << 30)
#define CUBIC_C 0.4
#define CUBIC_BETA 0.7

static void cwnd_add(struct tcp_conn *c, uint32_t bytes)
{
	c->cwnd = c->cwnd + bytes > CWND_MAX ? CWND_MAX : c->cwnd + bytes;
}

/* RFC 3465 §2.2: grow by the bytes acknowledged, up to ssthresh; what is
 * left goes to congestion avoidance. RFC 3465 §2.3's limit of L = 2 SMSS
 * an ACK is not applied: the peer aggregates its ACKs (RFC 9293 MUST-58),
 * so one ACK may stand for a whole window, and capping it would make slow
 * start linear (Linux's stretch ACK fixes, 2015, do the same). */
static uint32_t slow_start(struct tcp_conn *c, uint32_t acked)
{
	uint32_t room = c->ssthresh - c->cwnd;
	uint32_t grow = acked < room ? acked : room;

	cwnd_add(c, grow);
	return acked - grow;
}

/* RFC 5681 eq. (4): ssthresh = max(FlightSize / 2, 2 SMSS). */
static uint32_t half_flight(const struct tcp_conn *c, uint32_t flight)
{
	uint32_t half = flight / 2;

	return half > 2u * c->mss ? half : 2u * c->mss;
}

/* ---- NewReno ---- */

static void reno_init(struct tcp_conn *c)
{
	c->ca_acked = 0;
}

/* Congestion avoidance by byte counting (RFC 5681 §3.1, RFC 3465): one
 * SMSS for every cwnd bytes acknowledged, several for a stretch ACK. */
static void reno_ack(struct tcp_conn *c, uint32_t acked, bool limited,
		     tcp_time now)
{
	(void)now;
	if (!limited)
		return;
	if (c->cwnd < c->ssthresh && !(acked = slow_start(c, acked)))
		return;
	c->ca_acked += acked;
	while (c->ca_acked >= c->cwnd) {
		c->ca_acked -= c->cwnd;
		cwnd_add(c, c->mss);
	}
}

static void reno_loss(struct tcp_conn *c, uint32_t flight, tcp_time now)
{
	(void)now;
	c->ssthresh = half_flight(c, flight);
	c->ca_acked = 0;
}

const struct tcp_cc_ops tcp_cc_newreno = {
	.name = "newreno",
	.init = reno_init,
	.on_ack = reno_ack,
	.on_loss = reno_loss,
};

/* ---- CUBIC ---- */

static void cubic_init(struct tcp_conn *c)
{
	c->cubic.w_max = c->cubic.w_last_max = 0;
	c->cubic.epoch = c->cubic.held = TCP_NEVER;
	c->cubic.frac = 0;
}

/* RFC 9438 §4.2 eq. (1): W_cubic(t) = C (t - K)^3 + W_max. */
static double w_cubic(const struct tcp_cubic *k, double t)
{
	double d = t - k->k;

	return CUBIC_C * d * d * d + k->w_max;
}

/* A new congestion avoidance epoch (RFC 9438 §4.2, eq. (2)). */
static void cubic_epoch(struct tcp_conn *c, tcp_time now)
{
	struct tcp_cubic *k = &c->cubic;
	double cw = (double)c->cwnd / c->mss;

	k->epoch = now;
	k->w_est = cw;
	if (cw < k->w_max) {
		k->k = cbrt((k->w_max - cw) / CUBIC_C);
	} else {
		k->k = 0;
		k->w_max = cw;
	}
}

static void cubic_ack(struct tcp_conn *c, uint32_t acked, bool limited,
		      tcp_time now)
{
	struct tcp_cubic *k = &c->cubic;
	double cw, t, target, alpha, add;

	/* §5.8: no growth while the application holds the sender back, and
	 * that time is not the curve's: the epoch moves on by it, so that
	 * the curve goes on from where it stood, neither jumping ahead nor
	 * starting over */
	if (!limited) {
		if (k->held == TCP_NEVER)
			k->held = now;
		return;
	}
	if (k->held != TCP_NEVER) {
		if (k->epoch != TCP_NEVER)
			k->epoch += now - k->held;
		k->held = TCP_NEVER;
	}
	if (c->cwnd < c->ssthresh && !(acked = slow_start(c, acked)))
		return;
	if (k->epoch == TCP_NEVER)
		cubic_epoch(c, now);
	cw = (double)c->cwnd / c->mss;
	t = (double)(now - k->epoch) / 1e6;
	/* §4.2: aim at W_cubic one RTT ahead, bounded by 1.5 cwnd. */
	target = w_cubic(k, t + (double)c->srtt / 1e6);
	if (target < cw)
		target = cw;
	if (target > 1.5 * cw)
		target = 1.5 * cw;
	/* §4.3: the Reno-friendly estimate. */
	alpha = 3.0 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA);
	if (k->w_est >= k->w_max)
		alpha = 1;
	k->w_est += alpha * ((double)acked / c->mss) / cw;
	if (w_cubic(k, t) < k->w_est)
		target = k->w_est > target ? k->w_est : target;
	add = (target - cw) / cw * acked + k->frac;
	cwnd_add(c, (uint32_t)add);
	k->frac = add - (uint32_t)add;
}

/* §4.6 and §4.7: multiplicative decrease with fast convergence. */
static void cubic_loss(struct tcp_conn *c, uint32_t flight, tcp_time now)
{
	struct tcp_cubic *k = &c->cubic;
	double cw = (double)c->cwnd / c->mss;
	uint32_t ss = (uint32_t)(c->cwnd * CUBIC_BETA);

	(void)flight; /* §4.6: from cwnd */
	(void)now;
	if (cw < k->w_last_max)
		k->w_max = cw * (1 + CUBIC_BETA) / 2;
	else
		k->w_max = cw;
	k->w_last_max = cw;
	k->epoch = TCP_NEVER;
	k->frac = 0;
	c->ssthresh = ss > 2u * c->mss ? ss : 2u * c->mss;
}

const struct tcp_cc_ops tcp_cc_cubic = {
	.name = "cubic",
	.init = cubic_init,
	.on_ack = cubic_ack,
	.on_loss = cubic_loss,
};

void tcp_cwnd_used(struct tcp_conn *c, uint32_t pipe, bool sent)
{
	bool full = pipe + (uint64_t)c->mss > c->cwnd;

	if (!sent && !full)
		return;
	/* a new window of data, or a stronger sign within this one */
	if (SEQ_GEQ(c->snd_una, c->cwnd_seq) || full ||
	    (!c->cwnd_full && pipe > c->max_flight)) {
		c->cwnd_full = full;
		c->max_flight = pipe;
		c->cwnd_seq = c->snd_nxt;
	}
}

bool tcp_cwnd_limited(const struct tcp_conn *c)
{
	if (c->cwnd_full)
		return true;
	return c->cwnd < c->ssthresh && c->cwnd < 2 * (uint64_t)c->max_flight;
}

uint32_t tcp_initial_window(const struct tcp_conn *c)
{
	uint32_t iw = 14600 > 2u * c->mss ? 14600 : 2u * c->mss;

	return iw < 10u * c->mss ? iw : 10u * c->mss;
}

/* The ACK clock stopped with the data: a window grown before would go out
 * in one burst into a path whose state is no longer known. As Linux's
 * tcp_cwnd_restart(), ssthresh keeps 3/4 of the window, so slow start
 * brings it back within a few RTTs, and CUBIC starts a new epoch. */
void tcp_cwnd_restart(struct tcp_conn *c, tcp_time now)
{
	uint32_t rw = tcp_initial_window(c);

	if (c->snd_una != c->snd_max || now - c->last_send <= c->rto ||
	    c->cwnd <= rw)
		return;
	if (c->ssthresh < c->cwnd / 4 * 3)
		c->ssthresh = c->cwnd / 4 * 3;
	c->cwnd = rw;
	c->cubic.epoch = TCP_NEVER;
}
