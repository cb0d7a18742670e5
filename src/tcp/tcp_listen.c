/* Listeners and their children, Linux's tcp_minisocks.c: LISTEN's
 * segments (RFC 9293 §3.10.7.2), half-open children, SYN cookies (RFC
 * 4987 §3.6), the accept queue, and a listener's close. */
#include <string.h>

#include "tcp_conn.h"
#include "tcp_isn.h"
#include "tcp_listen.h"
#include "tcp_mem.h"
#include "tcp_opts.h"
#include "tcp_output.h"
#include "tcp_rx.h"
#include "tcp_table.h"
#include "tcp_timer.h"
#include "tcp_trace.h"

/* A child of L, charged to L's owner; NULL at a cap or on ENOMEM. */
static struct tcp_conn *child_new(struct tcp_engine *e, struct tcp_conn *l,
				  const struct wire_seg *s, tcp_time now)
{
	struct tcp_conn *c;

	if (tcp_conn_new(e, l->acct->owner, &c))
		return NULL;
	c->local = s->dst;
	c->remote = s->src;
	c->parent = l;
	c->passive = true;
	c->accepted = false;
	c->nodelay = l->nodelay;
	c->keep_idle = l->keep_idle;
	c->user_timeout = l->user_timeout;
	c->ttl = l->ttl;
	c->tos = l->tos;
	if (tcp_tuple_add(e, c)) {
		tcp_conn_destroy(e, c);
		return NULL;
	}
	tcp_conn_init_seq(e, c, now);
	return c;
}

/* No room for state: answer with a SYN cookie (RFC 4987 §3.6). L takes
 * cookie ACKs for as long as a cookie is valid (its period and the next,
 * about two minutes, as Linux's TCP_SYNCOOKIE_VALID): only then, so that
 * a blind attacker's guesses at other times find nothing to hit. */
static void send_cookie(struct tcp_engine *e, struct tcp_conn *l,
			const struct wire_seg *syn, tcp_time now)
{
	struct tcp_synopt w;
	struct wire_seg s;
	uint16_t mss;

	memset(&s, 0, sizeof(s));
	s.src = syn->dst;
	s.dst = syn->src;
	s.seq = tcp_cookie_make(e, syn, &mss, now);
	s.ack = syn->seq + 1;
	s.flags = TCP_SYN | TCP_ACK;
	s.wnd = tcp_syn_wnd(e->cfg.rcvbuf);
	/* Window scale and SACK-OK survive only in the timestamp. */
	w.mss = mss;
	w.ts = syn->opt.has_ts;
	w.ws = w.ts && syn->opt.has_ws;
	w.wscale = tcp_wscale_for(e->cfg.rcvbuf_max);
	w.sack = w.ts && syn->opt.sack_ok;
	tcp_syn_opts(&w, &s.opt);
	if (w.ts) {
		s.opt.tsval = tcp_cookie_tsval(&syn->opt, tcp_ts_now(now));
		s.opt.tsecr = syn->opt.tsval;
	}
	e->st.syn_cookies_sent++;
	l->cookie_period = tcp_cookie_period(now);
	tcp_send_raw(e, &s);
}

static void listen_syn(struct tcp_engine *e, struct tcp_conn *l,
		       const struct wire_seg *s, tcp_time now)
{
	struct tcp_conn *c;

	/* the user is not accepting, or the memory of the listener's owner
	 * or of the engine is at its cap: dropped, so that the peer tries
	 * again (as Linux does with a full accept queue) */
	if (l->aq_len >= l->backlog || tcp_mem_room(&e->mem, l->acct)) {
		e->st.syn_dropped++;
		return;
	}
	/* A SYN that ends a TIME_WAIT needs an ISS above the old one's
	 * (RFC 1122 §4.2.2.13), which no cookie has: as Linux does, it may
	 * pass the half-open bound (once for each TIME_WAIT), and is
	 * dropped rather than answered with a cookie. */
	bool full = !e->tw_iss_set && (l->half_open >= l->backlog ||
				       e->st.half_open >= e->cfg.max_half_open);
	if (full || !(c = child_new(e, l, s, now))) {
		if (e->tw_iss_set)
			e->st.syn_dropped++;
		else
			send_cookie(e, l, s, now);
		return;
	}
	tcp_trace_in(e, c, s, now);
	tcp_take_syn_opts(e, c, s, now);
	tcp_take_window(c, s);
	tcp_set_state(e, c, TCP_SYN_RECEIVED, now);
	tcp_send_syn(e, c, now);
}

/* The ACK completing a cookie handshake: build the connection then, in
 * SYN-RECEIVED, for the segment to go on to. False if S is no cookie's
 * ACK; *CHILD NULL when it was but there is no room. */
static bool listen_cookie_ack(struct tcp_engine *e, struct tcp_conn *l,
			      struct wire_seg *s, struct tcp_conn **child,
			      tcp_time now)
{
	struct tcp_conn *c;
	uint16_t mss;

	*child = NULL;
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
	c->rcv_nxt = c->last_ack_sent =
		s->seq;		    /* our cookie SYN,ACK acked it */
	tcp_rcv_wnd_field(c, true); /* the window our cookie's SYN,ACK had */
	c->mss = mss;
	if (s->opt.has_ts && s->opt.tsecr)
		tcp_take_cookie_opts(e, c, s, now);
	tcp_set_state(e, c, TCP_SYN_RECEIVED, now);
	*child = c;
	return true;
}

struct tcp_conn *tcp_listen_input(struct tcp_engine *e, struct tcp_conn *l,
				  struct wire_seg *s, tcp_time now)
{
	struct tcp_conn *child;

	if (s->flags & TCP_RST)
		return NULL;
	if (s->flags & TCP_ACK) {
		if (!(s->flags & TCP_SYN) && l->cookie_period &&
		    tcp_cookie_period(now) - l->cookie_period <= 1 &&
		    listen_cookie_ack(e, l, s, &child, now))
			return child;
		tcp_send_rst_reply(e, s);
		return NULL;
	}
	/* SYN with FIN is no open (a scanner's probe): dropped, as Linux
	 * does in LISTEN (tcp_rcv_state_process()), not answered */
	if ((s->flags & (TCP_SYN | TCP_FIN)) == (TCP_SYN | TCP_FIN))
		e->st.syn_dropped++;
	else if (s->flags & TCP_SYN)
		listen_syn(e, l, s, now);
	return NULL;
}

/* A child reached ESTABLISHED: from the half-open set to the accept
 * queue. */
void tcp_child_established(struct tcp_engine *e, struct tcp_conn *c)
{
	struct tcp_conn *l = c->parent;

	if (!l || c->accepted)
		return;
	if (l->aq_tail)
		l->aq_tail->aq_next = c;
	else
		l->aq_head = c;
	l->aq_tail = c;
	c->aq_next = NULL;
	l->aq_len++;
	tcp_event(e, l, TCP_EV_ACCEPT);
}

/* Children not yet accepted die with their listener, with a RST. */
void tcp_listener_close(struct tcp_engine *e, struct tcp_conn *l, tcp_time now)
{
	size_t i;

	for (i = 0; i < e->nbuckets; i++) {
		struct tcp_conn *c = e->by_id[i], *next;

		for (; c; c = next) {
			next = c->id_next;
			if (c->parent != l)
				continue;
			if (c->state != TCP_CLOSED)
				tcp_send_ctl(e, c, c->snd_max, TCP_RST, now);
			tcp_conn_destroy(e, c);
		}
	}
	tcp_set_state(e, l, TCP_CLOSED, now);
}
