/* The connection core: a connection's birth and death, its state
 * changes (RFC 9293 §3.3.2), its normal end and its failure, the events
 * for the user, the output queue that tcp_dispatch() works off, and the
 * accept queue's links. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "tcp_cc.h"
#include "tcp_conn.h"
#include "tcp_isn.h"
#include "tcp_mem.h"
#include "tcp_ring.h"
#include "tcp_table.h"
#include "tcp_timer.h"
#include "tcp_trace.h"

void tcp_conn_release(struct tcp_conn *c)
{
	struct tcp_mem_acct *a = c->acct;

	tcp_ring_free(&c->sndq);
	tcp_ring_free(&c->rcvq);
	tcp_mem_uncharge(a, sizeof(*c) + c->tr_cap * sizeof(*c->tr));
	free(c->tr);
	free(c);
	tcp_mem_conn_del(a);
}

/* A connection number: 1..INT_MAX (callers answer it as an int, errors
 * negative), the one after the last given, skipping those in use: the
 * count wraps after 2^31 connections, on a busy listener in days. */
static uint32_t next_id(struct tcp_engine *e)
{
	for (;;) {
		uint32_t id = e->next_id;

		e->next_id = id >= INT_MAX ? 1 : id + 1;
		if (id && !tcp_conn_find(e, id))
			return id;
	}
}

int tcp_conn_new(struct tcp_engine *e, uint32_t owner, struct tcp_conn **out)
{
	struct tcp_conn *c;
	int rc = tcp_mem_admit(e, owner);

	*out = NULL;
	if (rc)
		return rc;
	if (!tcp_heap_reserve(e, e->nconns + 1))
		return -ENOMEM;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->acct = tcp_mem_conn_add(e, owner);
	if (!c->acct) {
		free(c);
		return -ENOMEM;
	}
	tcp_mem_charge(c->acct, sizeof(*c)); /* admitted: it fits */
	c->sndq.acct = c->rcvq.acct = c->acct;
	c->id = next_id(e);
	c->accepted = true;
	c->tr_pinning = true;
	c->heap_idx = SIZE_MAX;
	c->deadline = c->t_rtx = c->t_persist = c->t_delack = c->t_keep =
		c->t_wait = c->t_pto = c->t_pmtu = c->una_time = TCP_NEVER;
	c->user_timeout = e->cfg.user_timeout;
	c->snd_limit = e->cfg.sndbuf;
	c->sndq.cap = c->snd_limit < TCP_SND_INIT ? c->snd_limit : TCP_SND_INIT;
	c->rcvq.cap = e->cfg.rcvbuf;
	c->cc = e->cfg.cc == TCP_CC_NEWRENO ? &tcp_cc_newreno : &tcp_cc_cubic;
	c->mss = TCP_DEFAULT_MSS(AF_INET); /* until the family and peer say */
	tcp_table_link(e, c);
	*out = c;
	return 0;
}

void tcp_aq_remove(struct tcp_conn *l, struct tcp_conn *c)
{
	struct tcp_conn **p = &l->aq_head, *prev = NULL;

	while (*p && *p != c) {
		prev = *p;
		p = &(*p)->aq_next;
	}
	if (!*p)
		return;
	*p = c->aq_next;
	if (l->aq_tail == c)
		l->aq_tail = prev;
	l->aq_len--;
}

/* C leaves the output queue (it is being destroyed). */
static void outq_del(struct tcp_engine *e, struct tcp_conn *c)
{
	size_t i;

	for (i = 0; c->out_queued && i < e->noutq; i++)
		if (e->outq[i] == c)
			e->outq[i] = NULL;
	c->out_queued = false;
}

/* Unlink C from everything and free it; sends nothing. */
void tcp_conn_destroy(struct tcp_engine *e, struct tcp_conn *c)
{
	if (c->state == TCP_SYN_RECEIVED && c->parent) {
		c->parent->half_open--;
		e->st.half_open--;
	}
	if (c->parent)
		tcp_aq_remove(c->parent, c);
	tcp_table_unlink(e, c);
	tcp_heap_del(e, c);
	tcp_heap_trim(e);
	outq_del(e, c);
	tcp_conn_release(c);
}

void tcp_event(struct tcp_engine *e, struct tcp_conn *c, unsigned ev)
{
	uint32_t *q;

	if (!c->accepted || !e->cfg.event)
		return;
	c->ev |= ev;
	if (c->ev_queued)
		return;
	if (e->nevq == e->evq_cap) {
		size_t cap = e->evq_cap ? e->evq_cap * 2 : 16;

		q = realloc(e->evq, cap * sizeof(*q));
		if (!q)
			return;
		e->evq = q;
		e->evq_cap = cap;
	}
	e->evq[e->nevq++] = c->id;
	c->ev_queued = true;
}

/* C has something to send (data, a FIN, its SYN, an ACK): tcp_dispatch()
 * sends it, once for everything that happened since the last one. */
void tcp_conn_mark(struct tcp_engine *e, struct tcp_conn *c)
{
	if (c->out_queued)
		return;
	c->out_queued = true;
	if (e->noutq == e->outq_cap) {
		size_t cap = e->outq_cap ? e->outq_cap * 2 : 64;
		struct tcp_conn **q = realloc(e->outq, cap * sizeof(*q));

		if (!q) { /* no room: dispatch looks at every connection */
			e->outq_lost = true;
			return;
		}
		e->outq = q;
		e->outq_cap = cap;
	}
	e->outq[e->noutq++] = c;
}

void tcp_output_flush(struct tcp_engine *e)
{
	if (e->cfg.output_flush)
		e->cfg.output_flush(e->cfg.ctx);
}

/* Deliver queued events once the engine is consistent again, so that the
 * callback may call back in. Events outside MASK stay queued. */
void tcp_events_flush(struct tcp_engine *e, unsigned mask)
{
	size_t i, kept = 0;
	bool flushed = false;

	/* the callee may queue more: nevq grows, and kept <= i */
	for (i = 0; i < e->nevq; i++) {
		struct tcp_conn *c = tcp_conn_find(e, e->evq[i]);
		unsigned ev;

		if (!c)
			continue;
		ev = c->ev & mask;
		c->ev &= ~mask;
		if (c->ev)
			e->evq[kept++] = c->id;
		else
			c->ev_queued = false;
		if (!ev)
			continue;
		if (!flushed) /* the callee may write to a send queue */
			tcp_output_flush(e);
		flushed = true;
		e->cfg.event(e->cfg.ctx, c->id, ev);
	}
	e->nevq = kept;
}

void tcp_set_state(struct tcp_engine *e, struct tcp_conn *c, enum tcp_state st,
		   tcp_time now)
{
	enum tcp_state from = c->state;

	if (from == st)
		return;
	if (c->parent && !c->accepted) {
		int d = (st == TCP_SYN_RECEIVED) - (from == TCP_SYN_RECEIVED);

		c->parent->half_open += d;
		e->st.half_open += d;
	}
	c->state = st;
	if (st == TCP_TIME_WAIT || st == TCP_CLOSED) { /* no more to send */
		tcp_output_flush(e);
		tcp_ring_free(&c->sndq);
	}
	if ((st == TCP_TIME_WAIT || st == TCP_CLOSED) && !c->rcvq.len)
		tcp_ring_free(&c->rcvq);
	if (st == TCP_TIME_WAIT)
		tcp_tw_list(c, now);
	tcp_trace_state(e, c, from, st, now);
	tcp_event(e, c, TCP_EV_STATE);
	if (st == TCP_ESTABLISHED)
		tcp_event(e, c, TCP_EV_ESTABLISHED | TCP_EV_WRITABLE);
	if (st == TCP_CLOSED) {
		tcp_tuple_del(e, c);
		c->t_rtx = c->t_persist = c->t_delack = c->t_keep = c->t_wait =
			c->t_pmtu = TCP_NEVER;
		tcp_event(e, c,
			  TCP_EV_CLOSED | TCP_EV_READABLE | TCP_EV_WRITABLE);
	}
	tcp_timers_update(e, c);
}

/* The normal end: CLOSED, without an error for the user. */
void tcp_conn_end(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	tcp_set_state(e, c, TCP_CLOSED, now);
}

void tcp_conn_tw_handover(struct tcp_engine *e, struct tcp_conn *tw,
			  tcp_time now)
{
	e->tw_iss = tw->snd_max + 65535 + 2;
	e->tw_iss_set = true;
	tw->why = "TIME_WAIT cut short: a new connection took its 4-tuple "
		  "(RFC 6191)";
	tcp_conn_end(e, tw, now);
}

/* The connection failed: CLOSED, and calls return -ERR from now on. */
void tcp_conn_fail(struct tcp_engine *e, struct tcp_conn *c, int err,
		   tcp_time now)
{
	c->error = err;
	tcp_set_state(e, c, TCP_CLOSED, now);
}

void tcp_conn_init_seq(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	c->iss = e->tw_iss_set ? e->tw_iss :
				 tcp_isn(e, &c->local, &c->remote, now);
	e->tw_iss_set = false;
	c->snd_una = c->snd_nxt = c->snd_max = c->recover = c->iss;
	c->snd_data = c->iss + 1;
	c->rto = e->cfg.rto_initial;
	c->ssthresh = UINT32_MAX;
	c->last_rcv = now;
}
