/* The user calls of RFC 9293 §3.10.1-§3.10.6: OPEN (active and
 * passive), SEND, RECEIVE, CLOSE, ABORT; with accept, shutdown, free and
 * the per-connection switches. They change state and mark the
 * connection; tcp_dispatch() sends. Only ABORT's RST goes at once. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "tcp_conn.h"
#include "tcp_listen.h"
#include "tcp_mem.h"
#include "tcp_output.h"
#include "tcp_ring.h"
#include "tcp_rx.h"
#include "tcp_table.h"
#include "tcp_timer.h"

/* A connection that has done nothing yet: connect/listen allowed. */
static bool conn_fresh(const struct tcp_conn *c)
{
	return c->state == TCP_CLOSED && !c->listener && !c->remote.family;
}

int tcp_open_owner(struct tcp_engine *e, uint32_t owner)
{
	struct tcp_conn *c;
	int rc = tcp_conn_new(e, owner, &c);

	return rc ? rc : (int)c->id;
}

int tcp_open(struct tcp_engine *e)
{
	return tcp_open_owner(e, 0);
}

/* True if a listener already holds some address of LOCAL on its port
 * (what bind(2) without SO_REUSEADDR refuses with EADDRINUSE). */
static bool listen_taken(struct tcp_engine *e, const struct wire_ep *local)
{
	static const uint8_t fams[] = {AF_INET, AF_INET6};
	const struct wire_ep any = {0};

	for (size_t i = 0; i < sizeof(fams); i++) {
		const struct wire_ep *own = tcp_own_addr(e, fams[i]);
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

/* RFC 6191 and RFC 7323 Appendix B.2 for an active open: TW's 4-tuple
 * may open again when no old duplicate of either side can pass as new.
 * Both sides used timestamps (PAWS); the peer sent nothing for a second,
 * so its clock (at least 1 Hz, RFC 7323 §5.4) has ticked past every
 * TSval it sent; ours has ticked past the latest we sent, so our SYN's is
 * above it; and the new ISS goes above TW's (tcp_conn_tw_handover()).
 * Not on a port a listener holds: the 4-tuple of one of its children. */
static bool tw_reusable(struct tcp_engine *e, const struct tcp_conn *tw,
			tcp_time now)
{
	return tw && e->cfg.tw_reuse && tw->state == TCP_TIME_WAIT &&
	       tw->ts_ok && now - tw->tw_since >= TCP_TW_REUSE_DELAY &&
	       SEQ_GT(tcp_ts_now(now), tw->ts_sent) &&
	       !listen_taken(e, &tw->local); /* not a listener's port */
}

/* C's local port towards its remote: LPORT if free, else (0) one RFC 6056
 * picks; either may take a TIME_WAIT connection's 4-tuple over when
 * nothing else is left and it is safe. */
static int take_port(struct tcp_engine *e, struct tcp_conn *c, uint16_t lport,
		     tcp_time now)
{
	struct tcp_conn *tw;
	int rc;

	c->local.port = lport;
	if (lport) { /* a listener on the port counts as taken */
		tw = tcp_lookup(e, &c->local, &c->remote);
		rc = tw ? -EADDRINUSE : 0;
	} else {
		rc = tcp_pick_port(e, &c->local, &c->remote);
		tw = rc == -EADDRNOTAVAIL ?
			     tcp_tw_oldest(e, &c->local, &c->remote) :
			     NULL;
	}
	if (rc && tw_reusable(e, tw, now)) {
		c->local = tw->local;
		tcp_conn_tw_handover(e, tw, now);
		rc = 0;
	}
	if (!rc && (rc = tcp_tuple_add(e, c)))
		e->tw_iss_set = false; /* no connection takes TW's ISS */
	return rc;
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
	/* no broadcast or multicast peer (RFC 9293 §3.9.1.1, MUST-46) */
	if (!wire_ep_unicast(remote) || !remote->port)
		return -EINVAL;
	own = tcp_own_addr(e, remote->family);
	if (!own)
		return -ENETUNREACH;
	if ((rc = tcp_mem_room(&e->mem, c->acct)))
		return rc;
	c->local = *own;
	c->remote = *remote;
	c->mss = TCP_DEFAULT_MSS(own->family); /* until the SYN,ACK says */
	rc = take_port(e, c, lport, now);
	if (rc) {
		memset(&c->remote, 0, sizeof(c->remote));
		return rc;
	}
	tcp_conn_init_seq(e, c, now);
	tcp_set_state(e, c, TCP_SYN_SENT, now);
	/* the SYN at once, as a SYN,ACK: the trace shows it at the call */
	tcp_send_syn(e, c, now);
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
	own = tcp_own_addr(e, local->family);
	return own && (!memcmp(local->a, zero, sizeof(zero)) ||
		       !memcmp(local->a, own->a, sizeof(own->a)));
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
	if ((rc = tcp_mem_room(&e->mem, c->acct)))
		return rc;
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
	tcp_aq_remove(l, c);
	c->parent = NULL;
	c->accepted = true;
	if (c->rcvq.len || c->fin_rcvd) /* arrived before the accept */
		tcp_event(e, c, TCP_EV_READABLE);
	if (c->state == TCP_CLOSED) /* reset before the accept */
		tcp_event(e, c, TCP_EV_CLOSED);
	return (int)c->id;
}

/* Whether C may send (§3.10.2): 0, or its error, -EPIPE after shutdown,
 * -ENOTCONN outside ESTABLISHED and CLOSE_WAIT. */
static int send_ok(const struct tcp_conn *c)
{
	if (c->error)
		return -c->error;
	if (c->fin_queued)
		return -EPIPE;
	if (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT)
		return -ENOTCONN;
	return 0;
}

/* Room for MORE bytes past what C's send ring holds (no more than
 * tcp_mem_snd_room() allows): the ring doubles, or grows at once to what
 * the write needs. Only here, on the user's write, never while output
 * holds pointers into it (tcp_ring_span()). False when the storage was
 * refused (a cap: e->mem.refused says which) or could not be had
 * (ENOMEM). */
static bool snd_grow(struct tcp_conn *c, uint32_t more)
{
	uint64_t need = (uint64_t)c->sndq.len + more, cap = 2ull * c->sndq.cap;

	if (need <= c->sndq.cap)
		return true;
	if (cap < need)
		cap = need;
	return tcp_ring_grow(&c->sndq,
			     cap < c->snd_limit ? (uint32_t)cap : c->snd_limit);
}

/* RFC 9293 §3.10.2 SEND. */
long tcp_send(struct tcp_engine *e, uint32_t id, const void *buf, size_t len,
	      tcp_time now)
{
	struct tcp_conn *c = tcp_conn_find(e, id);
	uint32_t n, want, room;
	bool stored;
	int rc;

	if (!c)
		return -ENOENT;
	if ((rc = send_ok(c)))
		return rc;
	e->mem.refused = TCP_LIMIT_NONE;
	room = tcp_mem_snd_room(c); /* under pressure: the ring it has */
	want = len > room ? room : (uint32_t)len;
	n = tcp_ring_write(&c->sndq, buf, want);
	stored = c->sndq.buf && snd_grow(c, want - n);
	if (stored && n < want)
		n += tcp_ring_write(&c->sndq, (const uint8_t *)buf + n,
				    want - n);
	if (!n && len && !stored) /* no storage for it */
		return e->mem.refused ? -ENOBUFS : -ENOMEM;
	/* the ACK that frees room tells a writer or poller waiting for it:
	 * one that got less than it asked, or a write that left none */
	if (n < len || !tcp_mem_snd_room(c))
		c->want_write = true;
	if (!n)
		return -EAGAIN;
	/* SND.UP after the last byte (RFC 9293 §3.10.2); a send taken in
	 * part goes on in the next, urgent too, as Linux moves SND.UP with
	 * each piece of a send(2) with MSG_OOB that waits for room */
	if (c->urg_next) {
		c->urg_next = n < len;
		c->snd_up = tcp_fin_seq(c);
		c->snd_urg = true;
	}
	e->now = now;
	tcp_conn_mark(e, c);
	return n;
}

/* SEND with the URGENT flag (RFC 9293 §3.10.2), the next one. */
int tcp_send_urgent(struct tcp_engine *e, uint32_t id)
{
	struct tcp_conn *c = tcp_conn_find(e, id);
	int rc;

	if (!c)
		return -ENOENT;
	if ((rc = send_ok(c)))
		return rc;
	c->urg_next = true;
	return 0;
}

/* RFC 9293 §3.10.3 RECEIVE, the bytes shown where they lie. */
long tcp_recv_peek(struct tcp_engine *e, uint32_t id, size_t len,
		   struct iovec iov[2], int *niov)
{
	struct tcp_conn *c = tcp_conn_find(e, id);
	uint32_t n;

	*niov = 0;
	if (!c)
		return -ENOENT;
	n = len < c->rcvq.len ? (uint32_t)len : c->rcvq.len;
	if (n) {
		*niov = tcp_ring_span(&c->rcvq, 0, n, iov);
		return n;
	}
	/* after the peer's FIN, or the user's close: nothing more to read */
	if (c->fin_rcvd || (c->orphan && !c->error))
		return 0;
	if (c->state == TCP_CLOSED || c->listener)
		return c->error ? -c->error : -ENOTCONN;
	return -EAGAIN;
}

void tcp_recv_done(struct tcp_engine *e, uint32_t id, size_t n, tcp_time now)
{
	struct tcp_conn *c = tcp_conn_find(e, id);

	if (c && n)
		tcp_rx_read(e, c, n < c->rcvq.len ? (uint32_t)n : c->rcvq.len,
			    now);
}

long tcp_recv(struct tcp_engine *e, uint32_t id, void *buf, size_t len,
	      tcp_time now)
{
	struct iovec iov[2];
	int k;
	long n = tcp_recv_peek(e, id, len, iov, &k);
	uint8_t *to = buf;

	for (int i = 0; i < k; to += iov[i].iov_len, i++)
		memcpy(to, iov[i].iov_base, iov[i].iov_len);
	if (n > 0)
		tcp_recv_done(e, id, (size_t)n, now);
	return n;
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

/* The peer of a connection in ST still takes a RST (§3.10.5 ABORT). */
static bool peer_listens(enum tcp_state st)
{
	return st == TCP_SYN_RECEIVED || st == TCP_ESTABLISHED ||
	       st == TCP_FIN_WAIT_1 || st == TCP_FIN_WAIT_2 ||
	       st == TCP_CLOSE_WAIT;
}

/* RFC 9293 §3.10.5 ABORT. */
static void do_abort(struct tcp_engine *e, struct tcp_conn *c, tcp_time now)
{
	if (peer_listens(c->state))
		tcp_send_ctl(e, c, c->snd_max, TCP_RST, now);
	if (c->listener)
		tcp_listener_close(e, c, now);
	else if (c->state != TCP_CLOSED)
		tcp_conn_fail(e, c, ECONNABORTED, now);
}

int tcp_close(struct tcp_engine *e, uint32_t id, tcp_time now)
{
	struct tcp_conn *c = tcp_conn_find(e, id);
	int rc = 0;

	if (!c)
		return -ENOENT;
	if (c->listener) {
		tcp_listener_close(e, c, now);
	} else if (c->rcvq.len && peer_listens(c->state)) {
		/* RFC 9293 §3.6 (SHLD-2), RFC 1122 §4.2.2.13: received data
		 * nobody will read: a RST instead of a FIN says it was lost,
		 * and the data goes (Linux's tcp_close) */
		c->orphan = true;
		tcp_rx_purge(c);
		do_abort(e, c, now);
		c->why = "closed with data unread: the peer was reset";
	} else if (c->state != TCP_CLOSED) {
		/* a read now gives end of file at once (tcp_recv_peek()): wake
		 * those waiting to read, the change of state may not (after a
		 * shutdown: FIN_WAIT_2, CLOSING, LAST_ACK stay) */
		if (!c->orphan)
			tcp_event(e, c, TCP_EV_READABLE);
		c->orphan = true;
		/* TIME_WAIT, CLOSING and LAST_ACK may hold some */
		tcp_rx_purge(c);
		rc = do_shutdown(e, c, now);
		tcp_fin_wait_2_timer(e, c, now); /* after a shutdown */
	}
	return rc;
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

int tcp_set_user_timeout(struct tcp_engine *e, uint32_t id, tcp_time us)
{
	struct tcp_conn *c = tcp_conn_find(e, id);
	tcp_time was;

	if (!c)
		return -ENOENT;
	was = tcp_user_deadline(c);
	c->user_timeout = us;
	/* Data outstanding already, the timer running out at the deadline
	 * at the latest (tcp_rtx_arm()): a shorter timeout may end it sooner
	 * (a past deadline at the next dispatch); a later deadline frees a
	 * timer held to the old one, which would retransmit and cut the
	 * window for nothing: the RTO from now, as an ACK restarts it (RFC
	 * 6298 §5.3). */
	if (c->t_rtx == TCP_NEVER)
		return 0;
	if (tcp_user_deadline(c) < c->t_rtx) {
		c->t_rtx = tcp_user_deadline(c);
		tcp_timers_update(e, c);
	} else if (c->t_rtx == was) {
		tcp_rtx_arm(e, c, e->now);
	}
	return 0;
}

int tcp_set_ip(struct tcp_engine *e, uint32_t id, enum tcp_ip_field f,
	       uint8_t v)
{
	struct tcp_conn *c = tcp_conn_find(e, id);

	if (!c)
		return -ENOENT;
	if (f == TCP_IP_TTL)
		c->ttl = v;
	else /* ECN's two bits are not the user's (RFC 3168) */
		c->tos = v & 0xfc;
	return 0;
}
