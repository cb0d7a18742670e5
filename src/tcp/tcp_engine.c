/* The engine: configuration, tcp_input()'s entry, tcp_dispatch() (send
 * what the marked connections owe, run the timers, deliver the events)
 * and what a user may read of it: state, readiness, info, trace,
 * statistics. The top of the layers (src/tcp/meson.build). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_conn.h"
#include "tcp_input.h"
#include "tcp_isn.h"
#include "tcp_mem.h"
#include "tcp_output.h"
#include "tcp_ring.h"
#include "tcp_rx.h"
#include "tcp_table.h"
#include "tcp_timeout.h"
#include "tcp_trace.h"

void tcp_config_default(struct tcp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mss = 1460;
	cfg->sndbuf = 256 * 1024;
	cfg->rcvbuf = 128 * 1024;
	cfg->rcvbuf_max = 4 * 1024 * 1024;
	cfg->msl = 60000000;
	cfg->rto_min = 200000;
	cfg->rto_max = 120000000;
	cfg->rto_initial = 1000000;
	cfg->delack = 40000;
	cfg->syn_retries = 7; /* 247 s: R2 for a SYN >= 3 min (RFC 1122) */
	cfg->user_timeout = 0;
	cfg->max_conns = 1u << 20;
	cfg->max_conns_owner = 1u << 20;
	cfg->mem_max = cfg->mem_owner = UINT64_MAX; /* the caller's to cap */
	cfg->max_half_open = 4096;
	cfg->backlog_max = 4096;
	cfg->trace_len = 64;
	cfg->port_lo = 32768;
	cfg->port_hi = 60999;
	cfg->tw_reuse = true;
	cfg->cc = TCP_CC_CUBIC;
}

static bool config_ok(const struct tcp_config *c)
{
	return (c->output || c->output_partial) && c->mss >= 64 &&
	       c->mss <= 65495 && c->sndbuf >= c->mss && c->rcvbuf >= c->mss &&
	       c->rcvbuf <= (1u << 30) && c->rcvbuf_max <= (1u << 30) &&
	       c->msl > 0 && c->rto_min > 0 && c->rto_max >= c->rto_min &&
	       c->rto_initial >= c->rto_min && c->rto_initial <= c->rto_max &&
	       c->delack <= 40000 && c->max_conns > 0 &&
	       c->max_conns_owner > 0 && c->backlog_max > 0 && c->port_lo > 0 &&
	       c->port_lo <= c->port_hi;
}

struct tcp_engine *tcp_engine_new(const struct tcp_config *cfg)
{
	struct tcp_engine *e;

	if (!config_ok(cfg)) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->cfg = *cfg;
	tcp_mem_init(e);
	if (e->cfg.rcvbuf_max < e->cfg.rcvbuf)
		e->cfg.rcvbuf_max = e->cfg.rcvbuf;
	e->key[0] = cfg->key[0];
	e->key[1] = cfg->key[1];
	e->eph_next = (uint32_t)tcp_siphash(e->key, "eph", 3);
	e->next_id = 1;
	e->nbuckets = 64;
	e->by_id = calloc(e->nbuckets, sizeof(*e->by_id));
	e->by_tuple = calloc(e->nbuckets, sizeof(*e->by_tuple));
	if (!e->by_id || !e->by_tuple) {
		tcp_engine_free(e);
		errno = ENOMEM;
		return NULL;
	}
	return e;
}

void tcp_engine_free(struct tcp_engine *e)
{
	struct tcp_conn *c, *next;
	size_t i;

	if (!e)
		return;
	for (i = 0; e->by_id && i < e->nbuckets; i++) {
		for (c = e->by_id[i]; c; c = next) {
			next = c->id_next;
			tcp_conn_release(c);
		}
	}
	tcp_dests_free(e);
	tcp_mem_fini(e);
	free(e->by_id);
	free(e->by_tuple);
	free(e->heap);
	free(e->evq);
	free(e->outq);
	free(e);
}

int tcp_state(const struct tcp_engine *e, uint32_t id)
{
	const struct tcp_conn *c = tcp_conn_find(e, id);

	return c ? (int)c->state : -ENOENT;
}

unsigned tcp_ready(const struct tcp_engine *e, uint32_t id)
{
	const struct tcp_conn *c = tcp_conn_find(e, id);
	unsigned r = 0;

	if (!c)
		return TCP_READY_ERR | TCP_READY_HUP;
	if (c->listener) /* a closed one's accept fails at once */
		return c->aq_len	      ? TCP_READY_IN :
		       c->state == TCP_CLOSED ? TCP_READY_IN | TCP_READY_HUP :
						0;
	if (c->rcvq.len || c->fin_rcvd || c->orphan || c->state == TCP_CLOSED)
		r |= TCP_READY_IN;
	if (c->fin_rcvd || c->state == TCP_CLOSED)
		r |= TCP_READY_HUP;
	if (!c->fin_queued &&
	    (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT) &&
	    tcp_mem_snd_room(c))
		r |= TCP_READY_OUT;
	if (c->state == TCP_CLOSED && c->error)
		r |= TCP_READY_ERR;
	return r;
}

long tcp_readable(struct tcp_engine *e, uint32_t id)
{
	struct tcp_conn *c = tcp_conn_find(e, id);

	return c ? (long)c->rcvq.len : -ENOENT;
}

long tcp_writable(struct tcp_engine *e, uint32_t id)
{
	struct tcp_conn *c = tcp_conn_find(e, id);

	if (!c)
		return -ENOENT;
	if (c->fin_queued ||
	    (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT))
		return 0;
	return (long)tcp_mem_snd_room(c);
}

int tcp_info_get(const struct tcp_engine *e, uint32_t id,
		 struct tcp_info_snap *o)
{
	const struct tcp_conn *c = tcp_conn_find(e, id);

	if (!c)
		return -ENOENT;
	memset(o, 0, sizeof(*o));
	o->state = c->state;
	o->local = c->local;
	o->remote = c->remote;
	o->error = c->error;
	o->why = c->why;
	o->user_timeout = c->user_timeout;
	o->ttl = c->ttl ? c->ttl : 64;
	o->tos = c->tos;
	o->listener = c->listener;
	o->iss = c->iss;
	o->irs = c->irs;
	o->snd_una = c->snd_una;
	o->snd_nxt = c->snd_nxt;
	o->snd_wnd = c->snd_wnd;
	o->snd_wl1 = c->snd_wl1;
	o->snd_wl2 = c->snd_wl2;
	o->rcv_nxt = c->rcv_nxt;
	o->rcv_wnd = tcp_rcv_wnd(c);
	o->snd_wscale = c->snd_wscale;
	o->rcv_wscale = c->rcv_wscale;
	o->sack_ok = c->sack_ok;
	o->ts_ok = c->ts_ok;
	o->mss = c->mss;
	o->srtt = c->srtt;
	o->rttvar = c->rttvar;
	o->rto = c->rto;
	o->cwnd = c->cwnd;
	o->ssthresh = c->ssthresh;
	o->cc = c->cc->name;
	o->send_q = c->sndq.len;
	o->recv_q = c->rcvq.len;
#define COPY(f) o->f = c->n.f;
	TCP_COUNTERS(COPY)
#undef COPY
	o->accept_q = c->aq_len;
	o->urgent = tcp_rx_urgent_left(c);
	o->soft_error = c->soft_error;
	o->icmp_from = c->icmp_from;
	return 0;
}

void tcp_stats_get(const struct tcp_engine *e, struct tcp_stats *out)
{
	*out = e->st;
	out->conns = (unsigned)e->nconns;
}

int tcp_trace_get(const struct tcp_engine *e, uint32_t id,
		  struct tcp_trace_ent *out, int max, uint64_t *dropped)
{
	const struct tcp_conn *c = tcp_conn_find(e, id);

	if (dropped)
		*dropped = c ? c->tr_dropped : 0;
	return c ? tcp_trace_copy(c, out, max) : 0;
}

unsigned tcp_trace_kept(const struct tcp_engine *e, uint32_t id)
{
	const struct tcp_conn *c = tcp_conn_find(e, id);

	return c && c->tr ? c->tr_pin : 0;
}

/* A packet from the link, its TCP checksum checked unless TRUSTED; GSO as
 * tcp_input_trusted()'s. DATA: its payload lies apart, DLEN bytes there
 * (tcp_input_placed(), trusted), and PKT holds its headers alone. */
static void input(struct tcp_engine *e, const uint8_t *pkt, size_t len,
		  const uint8_t *data, size_t dlen, tcp_time now, bool trusted,
		  size_t gso)
{
	struct wire_seg s;
	enum wire_err err;

	e->st.in_pkts++;
	e->now = now;
	if (data)
		err = wire_parse_head(pkt, len, len + dlen, &s);
	else
		err = trusted ? wire_parse_trusted(pkt, len, &s) :
				wire_parse(pkt, len, &s);
	if (err == WIRE_NOT_TCP && !data) {
		struct wire_icmp ic;

		if (wire_parse_icmp(pkt, len, &ic) == WIRE_OK) {
			tcp_icmp_input(e, &ic, now);
			return;
		}
	}
	if (err != WIRE_OK) {
		e->st.drop_wire[err < WIRE_NERR ? err : WIRE_SHORT]++;
		return;
	}
	if (data)
		s.data = data;
	if (gso < s.len)
		s.gso = (uint16_t)gso;
	tcp_input_seg(e, &s, now);
}

void tcp_input(struct tcp_engine *e, const uint8_t *pkt, size_t len,
	       tcp_time now)
{
	input(e, pkt, len, NULL, 0, now, false, 0);
}

void tcp_input_trusted(struct tcp_engine *e, const uint8_t *pkt, size_t len,
		       size_t gso, tcp_time now)
{
	input(e, pkt, len, NULL, 0, now, true, gso);
}

void tcp_input_placed(struct tcp_engine *e, const uint8_t *hdr, size_t hlen,
		      const uint8_t *data, size_t dlen, size_t gso,
		      tcp_time now)
{
	input(e, hdr, hlen, data, dlen, now, true, gso);
}

size_t tcp_rx_landing(struct tcp_engine *e, uint8_t **at)
{
	struct tcp_conn *c = e->rx_hot ? tcp_conn_find(e, e->rx_hot) : NULL;
	struct iovec iov[2];

	/* out-of-order data waits in that room: never written over */
	if (!c || c->nooo || !c->rcvq.buf || c->rcvq.len >= c->rcvq.cap)
		return 0;
	tcp_ring_span(&c->rcvq, c->rcvq.len, c->rcvq.cap - c->rcvq.len, iov);
	*at = iov[0].iov_base;
	return iov[0].iov_len;
}

/* Rounds of output, timers and events in one dispatch: an event callback
 * that keeps calling in cannot hold the loop for ever. */
#define TCP_DISPATCH_ROUNDS 16
/* The events a dispatch delivers before its output (see tcp_dispatch). */
#define TCP_EV_STATE_CHANGES                                                   \
	(TCP_EV_STATE | TCP_EV_ESTABLISHED | TCP_EV_ACCEPT | TCP_EV_CLOSED)

/* Send what the connections marked since the last dispatch have to send:
 * the data their windows allow and at most one ACK each, which the data
 * carries when there is any (RFC 9293 §3.10.7.4: a TCP "MUST aggregate
 * ACK segments whenever possible" (MUST-58) and process a series of
 * queued segments before it sends any ACK (MUST-59)). */
static void outq_run(struct tcp_engine *e, tcp_time now)
{
	size_t i, b;

	for (i = 0; i < e->noutq; i++) {
		struct tcp_conn *c = e->outq[i];

		if (!c)
			continue;
		c->out_queued = false;
		if (c->state != TCP_CLOSED)
			tcp_output(e, c, now);
	}
	e->noutq = 0;
	if (!e->outq_lost)
		return;
	e->outq_lost = false;
	for (b = 0; b < e->nbuckets; b++) {
		struct tcp_conn *c;

		for (c = e->by_id[b]; c; c = c->id_next) {
			if (!c->out_queued)
				continue;
			c->out_queued = false;
			if (c->state != TCP_CLOSED)
				tcp_output(e, c, now);
		}
	}
}

tcp_time tcp_dispatch(struct tcp_engine *e, tcp_time now)
{
	int round = 0;

	e->now = now;
	if (e->in_dispatch) /* from an event callback: the outer call goes on */
		return now;
	e->in_dispatch = true;
	/* A change of state that packets or calls made since the last round
	 * is told before the round sends, as Linux wakes a connect() before
	 * it sends the handshake's last ACK (tcp_rcv_synsent_state_process):
	 * writing a segment may cost the host its whole input path (a TUN
	 * write does it inline: for that ACK, making the peer's socket),
	 * which the user need not wait for. Data events wait for the ACKs and
	 * window updates, which the peer's sender needs sooner than the
	 * callback's copy ends (unless a change of state came with the data,
	 * as a FIN does: the callback woken by it may read). */
	do {
		tcp_events_flush(e, TCP_EV_STATE_CHANGES);
		outq_run(e, now);
		while (e->nheap && e->heap[0]->deadline <= now)
			tcp_timers_run(e, e->heap[0], now);
		tcp_events_flush(e, ~0u);
	} while ((e->noutq || e->outq_lost || e->nevq) &&
		 ++round < TCP_DISPATCH_ROUNDS);
	tcp_output_flush(e);
	e->in_dispatch = false;
	if (e->noutq || e->outq_lost || e->nevq)
		return now; /* more to do: call again at once */
	return e->nheap ? e->heap[0]->deadline : TCP_NEVER;
}
