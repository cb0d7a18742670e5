/* The engine: configuration, the connection tables (by id and by 4-tuple),
 * events, and the user calls of RFC 9293 §3.10.1-§3.10.6. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tcp_int.h"

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
	cfg->syn_retries = 6;
	cfg->user_timeout = 0;
	cfg->max_conns = 1u << 20;
	cfg->max_half_open = 4096;
	cfg->backlog_max = 4096;
	cfg->trace_len = 64;
	cfg->cc = TCP_CC_CUBIC;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static bool config_ok(const struct tcp_config *c)
{
	return c->output && c->mss >= 64 && c->mss <= 65495 &&
	       c->sndbuf >= c->mss && c->rcvbuf >= c->mss &&
	       c->rcvbuf <= (1u << 30) && c->rcvbuf_max <= (1u << 30) &&
	       c->msl > 0 && c->rto_min > 0 && c->rto_max >= c->rto_min &&
	       c->rto_initial >= c->rto_min && c->delack <= 40000 &&
	       c->max_conns > 0 && c->backlog_max > 0;
}

struct tcp_engine *tcp_engine_new(const struct tcp_config *cfg)
{
	struct tcp_engine *e;
	uint64_t s = cfg->seed;

	if (!config_ok(cfg)) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->cfg = *cfg;
	if (e->cfg.rcvbuf_max < e->cfg.rcvbuf)
		e->cfg.rcvbuf_max = e->cfg.rcvbuf;
	e->key[0] = splitmix(&s);
	e->key[1] = splitmix(&s);
	e->eph_next = (uint32_t)splitmix(&s);
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

static void conn_release(struct tcp_conn *c)
{
	tcp_ring_free(&c->sndq);
	tcp_ring_free(&c->rcvq);
	free(c->tr);
	free(c);
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
			conn_release(c);
		}
	}
	free(e->by_id);
	free(e->by_tuple);
	free(e->heap);
	free(e->evq);
	free(e->outq);
	free(e);
}

/* ---- Tables ---- */

static size_t id_bucket(const struct tcp_engine *e, uint32_t id)
{
	return (id * 2654435761u) & (e->nbuckets - 1);
}

static size_t tuple_bucket(const struct tcp_engine *e,
			   const struct wire_ep *local,
			   const struct wire_ep *remote)
{
	struct wire_ep k[2] = {*local, *remote};

	return tcp_siphash(e->key, k, sizeof(k)) & (e->nbuckets - 1);
}

/* Double both tables when they average more than one entry a bucket. */
static void tables_grow(struct tcp_engine *e)
{
	size_t old = e->nbuckets, i;
	struct tcp_conn **oid = e->by_id, **otu = e->by_tuple, *c, *next;
	struct tcp_conn **nid = calloc(old * 2, sizeof(*nid));
	struct tcp_conn **ntu = calloc(old * 2, sizeof(*ntu));

	if (!nid || !ntu) {
		free(nid);
		free(ntu);
		return; /* keep working with longer chains */
	}
	e->by_id = nid;
	e->by_tuple = ntu;
	e->nbuckets = old * 2;
	for (i = 0; i < old; i++) {
		for (c = oid[i]; c; c = next) {
			next = c->id_next;
			c->id_next = nid[id_bucket(e, c->id)];
			nid[id_bucket(e, c->id)] = c;
		}
		for (c = otu[i]; c; c = next) {
			size_t b = tuple_bucket(e, &c->local, &c->remote);

			next = c->tuple_next;
			c->tuple_next = ntu[b];
			ntu[b] = c;
		}
	}
	free(oid);
	free(otu);
}

struct tcp_conn *tcp_conn_find(const struct tcp_engine *e, uint32_t id)
{
	struct tcp_conn *c = e->by_id[id_bucket(e, id)];

	while (c && c->id != id)
		c = c->id_next;
	return c;
}

static struct tcp_conn *tuple_find(struct tcp_engine *e,
				   const struct wire_ep *local,
				   const struct wire_ep *remote)
{
	struct tcp_conn *c = e->by_tuple[tuple_bucket(e, local, remote)];

	while (c && (memcmp(&c->local, local, sizeof(*local)) ||
		     memcmp(&c->remote, remote, sizeof(*remote))))
		c = c->tuple_next;
	return c;
}

/* The connection for a segment: the exact 4-tuple, else a listener on the
 * address, on any address of the family, or on both families. */
struct tcp_conn *tcp_lookup(struct tcp_engine *e, const struct wire_ep *local,
			    const struct wire_ep *remote)
{
	struct wire_ep any = {0}, l = *local;
	struct tcp_conn *c = tuple_find(e, local, remote);

	if (c)
		return c;
	if ((c = tuple_find(e, &l, &any)))
		return c;
	memset(l.a, 0, sizeof(l.a));
	if ((c = tuple_find(e, &l, &any)))
		return c;
	l.family = 0;
	return tuple_find(e, &l, &any);
}

int tcp_tuple_add(struct tcp_engine *e, struct tcp_conn *c)
{
	size_t b;

	if (tuple_find(e, &c->local, &c->remote))
		return -EADDRINUSE;
	b = tuple_bucket(e, &c->local, &c->remote);
	c->tuple_next = e->by_tuple[b];
	e->by_tuple[b] = c;
	c->in_tuple = true;
	return 0;
}

static void tcp_tuple_del(struct tcp_engine *e, struct tcp_conn *c)
{
	struct tcp_conn **p;

	if (!c->in_tuple)
		return;
	p = &e->by_tuple[tuple_bucket(e, &c->local, &c->remote)];
	while (*p != c)
		p = &(*p)->tuple_next;
	*p = c->tuple_next;
	c->in_tuple = false;
}

struct tcp_conn *tcp_conn_new(struct tcp_engine *e)
{
	struct tcp_conn *c;
	size_t b;

	if (e->nconns >= e->cfg.max_conns)
		return NULL;
	if (e->nconns >= e->nbuckets)
		tables_grow(e);
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = e->next_id++;
	c->accepted = true;
	c->tr_pinning = true;
	c->heap_idx = SIZE_MAX;
	c->deadline = c->t_rtx = c->t_persist = c->t_delack = c->t_keep =
		c->t_wait = c->t_pto = c->rtx_start = TCP_NEVER;
	c->sndq.cap = e->cfg.sndbuf;
	c->rcvq.cap = e->cfg.rcvbuf;
	c->cc = e->cfg.cc == TCP_CC_NEWRENO ? &tcp_cc_newreno : &tcp_cc_cubic;
	c->mss = 536; /* RFC 9293 §3.7.1 default until the peer says */
	b = id_bucket(e, c->id);
	c->id_next = e->by_id[b];
	e->by_id[b] = c;
	e->nconns++;
	return c;
}

static void aq_remove(struct tcp_conn *l, struct tcp_conn *c)
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
	struct tcp_conn **p = &e->by_id[id_bucket(e, c->id)];

	if (c->state == TCP_SYN_RECEIVED && c->parent) {
		c->parent->half_open--;
		e->st.half_open--;
	}
	if (c->parent)
		aq_remove(c->parent, c);
	tcp_tuple_del(e, c);
	tcp_heap_del(e, c);
	outq_del(e, c);
	while (*p != c)
		p = &(*p)->id_next;
	*p = c->id_next;
	e->nconns--;
	conn_release(c);
}

/* ---- State and events ---- */

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

/* Deliver queued events once the engine is consistent again, so that the
 * callback may call back in. */
static void tcp_events_flush(struct tcp_engine *e)
{
	size_t i;

	for (i = 0; i < e->nevq; i++) {
		struct tcp_conn *c = tcp_conn_find(e, e->evq[i]);
		unsigned ev;

		if (!c)
			continue;
		ev = c->ev;
		c->ev = 0;
		c->ev_queued = false;
		if (ev)
			e->cfg.event(e->cfg.ctx, c->id, ev);
	}
	e->nevq = 0;
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
	if (st == TCP_TIME_WAIT || st == TCP_CLOSED) /* no more to send */
		tcp_ring_free(&c->sndq);
	if ((st == TCP_TIME_WAIT || st == TCP_CLOSED) && !c->rcvq.len)
		tcp_ring_free(&c->rcvq);
	tcp_trace_state(e, c, from, st, now);
	tcp_event(e, c, TCP_EV_STATE);
	if (st == TCP_ESTABLISHED)
		tcp_event(e, c, TCP_EV_ESTABLISHED | TCP_EV_WRITABLE);
	if (st == TCP_CLOSED) {
		tcp_tuple_del(e, c);
		c->t_rtx = c->t_persist = c->t_delack = c->t_keep = c->t_wait =
			TCP_NEVER;
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

/* The connection failed: CLOSED, and calls return -ERR from now on. */
void tcp_conn_fail(struct tcp_engine *e, struct tcp_conn *c, int err,
		   tcp_time now)
{
	c->error = err;
	tcp_set_state(e, c, TCP_CLOSED, now);
}

/* The MSS we announce: cfg.mss is the IPv4 figure (MTU - 40); IPv6
 * headers take 20 bytes more. */
uint16_t tcp_own_mss(const struct tcp_engine *e, int family)
{
	return e->cfg.mss - (family == AF_INET6 ? 20 : 0);
}

void tcp_conn_init_seq(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	c->iss = tcp_isn(e, &c->local, &c->remote, now);
	c->snd_una = c->snd_nxt = c->snd_max = c->recover = c->iss;
	c->snd_data = c->iss + 1;
	c->rto = e->cfg.rto_initial;
	c->ssthresh = UINT32_MAX;
	c->last_rcv = now;
}

/* ---- User calls ---- */

/* A connection that has done nothing yet: connect/listen allowed. */
static bool conn_fresh(const struct tcp_conn *c)
{
	return c->state == TCP_CLOSED && !c->listener && !c->remote.family;
}

int tcp_open(struct tcp_engine *e)
{
	struct tcp_conn *c;

	if (e->nconns >= e->cfg.max_conns)
		return -EMFILE;
	c = tcp_conn_new(e);
	return c ? (int)c->id : -ENOMEM;
}

static const struct wire_ep *own_addr(const struct tcp_engine *e, int family)
{
	if (family == AF_INET && e->cfg.addr4.family == AF_INET)
		return &e->cfg.addr4;
	if (family == AF_INET6 && e->cfg.addr6.family == AF_INET6)
		return &e->cfg.addr6;
	return NULL;
}

/* RFC 9293 §3.10.1 OPEN (active): send SYN, enter SYN-SENT. */
static int do_connect(struct tcp_engine *e, struct tcp_conn *c,
		      const struct wire_ep *remote, uint16_t lport,
		      tcp_time now)
{
	const struct wire_ep *own;
	int rc;

	if (!conn_fresh(c)) /* connect(2): EALREADY while it is under way */
		return c->state == TCP_SYN_SENT ? -EALREADY : -EISCONN;
	if (remote->family != AF_INET && remote->family != AF_INET6)
		return -EINVAL;
	if (!remote->port)
		return -EINVAL;
	own = own_addr(e, remote->family);
	if (!own)
		return -ENETUNREACH;
	c->local = *own;
	c->remote = *remote;
	c->local.port = lport;
	if (!lport)
		rc = tcp_pick_port(e, &c->local, &c->remote);
	else /* a listener on the port counts as taken */
		rc = tcp_lookup(e, &c->local, &c->remote) ? -EADDRINUSE : 0;
	if (!rc)
		rc = tcp_tuple_add(e, c);
	if (rc) {
		memset(&c->remote, 0, sizeof(c->remote));
		return rc;
	}
	tcp_conn_init_seq(e, c, now);
	tcp_set_state(e, c, TCP_SYN_SENT, now);
	tcp_conn_mark(e, c); /* the SYN goes with the next dispatch */
	return 0;
}

int tcp_connect(struct tcp_engine *e, uint32_t id, const struct wire_ep *remote,
		uint16_t lport, tcp_time now)
{
	struct tcp_conn *c = tcp_conn_find(e, id);
	int rc;

	if (!c)
		return -ENOENT;
	e->now = now;
	rc = do_connect(e, c, remote, lport, now);
	return rc;
}

/* Family 0 (any), any address of a family we have, or our address. */
static bool listen_addr_ok(const struct tcp_engine *e,
			   const struct wire_ep *local)
{
	static const uint8_t zero[16];
	const struct wire_ep *own;

	if (!local->family)
		return true;
	own = own_addr(e, local->family);
	return own && (!memcmp(local->a, zero, sizeof(zero)) ||
		       !memcmp(local->a, own->a, sizeof(own->a)));
}

/* True if a listener already holds some address of LOCAL on its port
 * (what bind(2) without SO_REUSEADDR refuses with EADDRINUSE). */
static bool listen_taken(struct tcp_engine *e, const struct wire_ep *local)
{
	static const uint8_t fams[] = {AF_INET, AF_INET6};
	const struct wire_ep any = {0};

	for (size_t i = 0; i < sizeof(fams); i++) {
		const struct wire_ep *own = own_addr(e, fams[i]);
		struct wire_ep l;
		if (!own || (local->family && local->family != fams[i]))
			continue;
		l = *own;
		l.port = local->port;
		if (tcp_lookup(e, &l, &any)) /* ours, any of the family, any */
			return true;
	}
	return false;
}

/* RFC 9293 §3.10.1 OPEN (passive). */
int tcp_listen(struct tcp_engine *e, uint32_t id, const struct wire_ep *local,
	       unsigned backlog)
{
	struct tcp_conn *c = tcp_conn_find(e, id);
	int rc;

	if (!c)
		return -ENOENT;
	if (!conn_fresh(c))
		return -EISCONN;
	if (!local->port || !listen_addr_ok(e, local))
		return -EINVAL;
	if (listen_taken(e, local))
		return -EADDRINUSE;
	c->local = *local;
	if (!local->family)
		memset(c->local.a, 0, sizeof(c->local.a));
	rc = tcp_tuple_add(e, c);
	if (rc)
		return rc;
	c->listener = true;
	c->backlog = backlog < 1 ? 1 : backlog;
	if (c->backlog > e->cfg.backlog_max)
		c->backlog = e->cfg.backlog_max;
	tcp_set_state(e, c, TCP_LISTEN, e->now); /* no time given: the last */
	return 0;
}

int tcp_accept(struct tcp_engine *e, uint32_t id)
{
	struct tcp_conn *l = tcp_conn_find(e, id), *c;

	if (!l)
		return -ENOENT;
	if (!l->listener)
		return -EINVAL;
	c = l->aq_head;
	if (!c)
		return l->state == TCP_LISTEN ? -EAGAIN : -EINVAL;
	aq_remove(l, c);
	c->parent = NULL;
	c->accepted = true;
	if (c->rcvq.len || c->fin_rcvd) /* arrived before the accept */
		tcp_event(e, c, TCP_EV_READABLE);
	if (c->state == TCP_CLOSED) /* reset before the accept */
		tcp_event(e, c, TCP_EV_CLOSED);
	return (int)c->id;
}

/* RFC 9293 §3.10.2 SEND. */
long tcp_send(struct tcp_engine *e, uint32_t id, const void *buf, size_t len,
	      tcp_time now)
{
	struct tcp_conn *c = tcp_conn_find(e, id);
	uint32_t n;

	if (!c)
		return -ENOENT;
	if (c->error)
		return -c->error;
	if (c->fin_queued)
		return -EPIPE;
	if (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT)
		return -ENOTCONN;
	n = tcp_ring_write(&c->sndq, buf, len > UINT32_MAX ? UINT32_MAX : len);
	if (n < len)
		c->want_write = true;
	if (!n)
		return -EAGAIN;
	e->now = now;
	tcp_conn_mark(e, c);
	return n;
}

/* RFC 9293 §3.10.3 RECEIVE. */
long tcp_recv(struct tcp_engine *e, uint32_t id, void *buf, size_t len,
	      tcp_time now)
{
	struct tcp_conn *c = tcp_conn_find(e, id);
	uint32_t n;

	if (!c)
		return -ENOENT;
	n = len < c->rcvq.len ? (uint32_t)len : c->rcvq.len;
	if (n) {
		tcp_ring_peek(&c->rcvq, 0, buf, n);
		tcp_rx_read(e, c, n, now);
		return n;
	}
	if (c->fin_rcvd)
		return 0;
	if (c->state == TCP_CLOSED || c->listener)
		return c->error ? -c->error : -ENOTCONN;
	return -EAGAIN;
}

/* The sending side is done: FIN after the queued data (§3.10.4). */
static int do_shutdown(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	switch (c->state) {
	case TCP_SYN_SENT:
		tcp_conn_end(e, c, now);
		return 0;
	case TCP_SYN_RECEIVED: /* FIN goes once ESTABLISHED */
		c->fin_queued = true;
		return 0;
	case TCP_ESTABLISHED:
		c->fin_queued = true;
		tcp_set_state(e, c, TCP_FIN_WAIT_1, now);
		break;
	case TCP_CLOSE_WAIT:
		c->fin_queued = true;
		tcp_set_state(e, c, TCP_LAST_ACK, now);
		break;
	case TCP_CLOSED:
	case TCP_LISTEN:
		return c->error ? -c->error : -ENOTCONN;
	default: /* already closing */
		return 0;
	}
	tcp_conn_mark(e, c);
	return 0;
}

int tcp_shutdown(struct tcp_engine *e, uint32_t id, tcp_time now)
{
	struct tcp_conn *c = tcp_conn_find(e, id);
	int rc;

	if (!c)
		return -ENOENT;
	rc = c->listener ? -ENOTCONN : do_shutdown(e, c, now);
	return rc;
}

/* Children not yet accepted die with their listener, with a RST. */
static void listener_close(struct tcp_engine *e, struct tcp_conn *l,
			   tcp_time now)
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

int tcp_close(struct tcp_engine *e, uint32_t id, tcp_time now)
{
	struct tcp_conn *c = tcp_conn_find(e, id);
	int rc = 0;

	if (!c)
		return -ENOENT;
	if (c->listener) {
		listener_close(e, c, now);
	} else if (c->state != TCP_CLOSED) {
		c->orphan = true;
		rc = do_shutdown(e, c, now);
		tcp_fin_wait_2_timer(e, c, now); /* after a shutdown */
	}
	return rc;
}

/* RFC 9293 §3.10.5 ABORT. */
static void do_abort(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	switch (c->state) {
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_FIN_WAIT_2:
	case TCP_CLOSE_WAIT:
		tcp_send_ctl(e, c, c->snd_max, TCP_RST, now);
		break;
	default:
		break;
	}
	if (c->listener)
		listener_close(e, c, now);
	else if (c->state != TCP_CLOSED)
		tcp_conn_fail(e, c, ECONNABORTED, now);
}

int tcp_abort(struct tcp_engine *e, uint32_t id, tcp_time now)
{
	struct tcp_conn *c = tcp_conn_find(e, id);

	if (!c)
		return -ENOENT;
	do_abort(e, c, now);
	return 0;
}

void tcp_free(struct tcp_engine *e, uint32_t id, tcp_time now)
{
	struct tcp_conn *c = tcp_conn_find(e, id);

	if (!c)
		return;
	if (c->state != TCP_TIME_WAIT)
		do_abort(e, c, now);
	tcp_conn_destroy(e, c);
}

int tcp_set_keepalive(struct tcp_engine *e, uint32_t id, tcp_time idle)
{
	struct tcp_conn *c = tcp_conn_find(e, id);

	if (!c)
		return -ENOENT;
	c->keep_idle = idle;
	c->keep_sent = 0;
	tcp_keep_arm(e, c, c->last_rcv);
	return 0;
}

int tcp_set_nodelay(struct tcp_engine *e, uint32_t id, bool on)
{
	struct tcp_conn *c = tcp_conn_find(e, id);

	if (!c)
		return -ENOENT;
	c->nodelay = on;
	return 0;
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
	if (c->listener)
		return c->aq_len ? TCP_READY_IN : 0;
	if (c->rcvq.len || c->fin_rcvd || c->state == TCP_CLOSED)
		r |= TCP_READY_IN;
	if (c->fin_rcvd || c->state == TCP_CLOSED)
		r |= TCP_READY_HUP;
	if (!c->fin_queued &&
	    (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT) &&
	    c->sndq.len < c->sndq.cap)
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
	return (long)(c->sndq.cap - c->sndq.len);
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
	o->listener = c->listener;
	o->iss = c->iss;
	o->irs = c->irs;
	o->snd_una = c->snd_una;
	o->snd_nxt = c->snd_nxt;
	o->snd_wnd = c->snd_wnd;
	o->snd_wl1 = c->snd_wl1;
	o->snd_wl2 = c->snd_wl2;
	o->rcv_nxt = c->rcv_nxt;
	o->rcv_wnd = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt :
						      0;
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
	o->segs_in = c->n.segs_in;
	o->segs_out = c->n.segs_out;
	o->bytes_in = c->n.bytes_in;
	o->bytes_out = c->n.bytes_out;
	o->retrans_segs = c->n.retrans_segs;
	o->fast_retrans = c->n.fast_retrans;
	o->rto_timeouts = c->n.rto_timeouts;
	o->dup_acks = c->n.dup_acks;
	o->ooo_segs = c->n.ooo_segs;
	o->challenge_acks = c->n.challenge_acks;
	o->accept_q = c->aq_len;
	return 0;
}

void tcp_stats_get(const struct tcp_engine *e, struct tcp_stats *out)
{
	*out = e->st;
	out->conns = (unsigned)e->nconns;
}

/* ---- Packets and time ---- */

void tcp_input(struct tcp_engine *e, const uint8_t *pkt, size_t len,
	       tcp_time now)
{
	struct wire_seg s;
	enum wire_err err;

	e->st.in_pkts++;
	e->now = now;
	err = wire_parse(pkt, len, &s);
	if (err != WIRE_OK) {
		e->st.drop_wire[err < WIRE_NERR ? err : WIRE_SHORT]++;
		return;
	}
	tcp_input_seg(e, &s, now);
}

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

/* Rounds of output, timers and events in one dispatch: an event callback
 * that keeps calling in cannot hold the loop for ever. */
#define TCP_DISPATCH_ROUNDS 16

tcp_time tcp_dispatch(struct tcp_engine *e, tcp_time now)
{
	int round = 0;

	e->now = now;
	if (e->in_dispatch) /* from an event callback: the outer call goes on */
		return now;
	e->in_dispatch = true;
	do {
		outq_run(e, now);
		while (e->nheap && e->heap[0]->deadline <= now)
			tcp_timers_run(e, e->heap[0], now);
		tcp_events_flush(e);
	} while ((e->noutq || e->outq_lost || e->nevq) &&
		 ++round < TCP_DISPATCH_ROUNDS);
	e->in_dispatch = false;
	if (e->noutq || e->outq_lost || e->nevq)
		return now; /* more to do: call again at once */
	return e->nheap ? e->heap[0]->deadline : TCP_NEVER;
}
