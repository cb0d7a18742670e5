/* The connection tables: by id, by 4-tuple (keyed hash) and by
 * destination (RFC 6056's ephemeral port choice, the TIME_WAIT
 * connections a connect may reuse), and the engine's own addresses.
 * Linux's inet_hashtables.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tcp_isn.h"
#include "tcp_table.h"

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

/* ---- destinations: RFC 6056 algorithm 4, TIME_WAIT lists ---- */

static bool eph_port(const struct tcp_engine *e, uint16_t port)
{
	return port >= e->cfg.port_lo && port <= e->cfg.port_hi;
}

static uint32_t eph_count(const struct tcp_engine *e)
{
	return (uint32_t)e->cfg.port_hi - e->cfg.port_lo + 1;
}

/* LOCAL (port 0) and REMOTE's keyed hash: its low 32 bits are RFC 6056's
 * F(local, remote), its high ones choose the bucket (dest_bucket()). */
static uint64_t dest_hash(const struct tcp_engine *e,
			  const struct wire_ep *local,
			  const struct wire_ep *remote)
{
	return tcp_tuple_hash(e, local, remote, 1);
}

static size_t dest_bucket(uint64_t h, size_t nbuckets)
{
	return (size_t)(h >> 32) & (nbuckets - 1);
}

/* The destination LOCAL, REMOTE of hash H, or NULL. */
static struct tcp_dest *dest_find(const struct tcp_engine *e, uint64_t h,
				  const struct wire_ep *local,
				  const struct wire_ep *remote)
{
	struct tcp_dest *d;

	if (!e->ndest_buckets)
		return NULL;
	d = e->dests[dest_bucket(h, e->ndest_buckets)];
	while (d && (memcmp(&d->local, local, sizeof(*local)) ||
		     memcmp(&d->remote, remote, sizeof(*remote))))
		d = d->next;
	return d;
}

/* Room for one more destination: the table starts at 64 buckets and
 * doubles when it averages one entry a bucket. False: no memory. */
static bool dests_room(struct tcp_engine *e)
{
	size_t old = e->ndest_buckets, n = old ? old * 2 : 64, i;
	struct tcp_dest **t, *d, *next;

	if (e->ndests < old)
		return true;
	t = calloc(n, sizeof(*t));
	if (!t)
		return old > 0; /* keep working with longer chains */
	for (i = 0; i < old; i++) {
		for (d = e->dests[i]; d; d = next) {
			size_t b = dest_bucket(
				dest_hash(e, &d->local, &d->remote), n);

			next = d->next;
			d->next = t[b];
			t[b] = d;
		}
	}
	free(e->dests);
	e->dests = t;
	e->ndest_buckets = n;
	return true;
}

/* The destination LOCAL (port 0), REMOTE; made if new. NULL: no memory.
 * A connect asks twice (its port, then its 4-tuple): the second time
 * from dest_last, without hashing. */
static struct tcp_dest *dest_get(struct tcp_engine *e,
				 const struct wire_ep *local,
				 const struct wire_ep *remote)
{
	struct tcp_dest *d = e->dest_last;
	uint64_t h;

	if (d && !memcmp(&d->local, local, sizeof(*local)) &&
	    !memcmp(&d->remote, remote, sizeof(*remote)))
		return d;
	h = dest_hash(e, local, remote);
	if ((d = dest_find(e, h, local, remote)))
		return e->dest_last = d;
	if (!dests_room(e) || !(d = calloc(1, sizeof(*d))))
		return NULL;
	d->local = *local;
	d->remote = *remote;
	d->off = (uint32_t)h;
	d->cursor = e->eph_next++; /* not where the last one to it began */
	d->next = e->dests[dest_bucket(h, e->ndest_buckets)];
	e->dests[dest_bucket(h, e->ndest_buckets)] = d;
	e->ndests++;
	return e->dest_last = d;
}

/* D goes when nothing holds a port towards it any more. */
static void dest_put(struct tcp_engine *e, struct tcp_dest *d)
{
	struct tcp_dest **p;

	if (d->n)
		return;
	p = &e->dests[dest_bucket(dest_hash(e, &d->local, &d->remote),
				  e->ndest_buckets)];
	while (*p != d)
		p = &(*p)->next;
	*p = d->next;
	e->ndests--;
	if (e->dest_last == d)
		e->dest_last = NULL;
	free(d->held);
	free(d);
}

/* PORT's bit in D's bitmap (if it has one) says HELD. */
static void map_mark(const struct tcp_engine *e, struct tcp_dest *d,
		     uint16_t port, bool held)
{
	uint32_t i = (uint32_t)port - e->cfg.port_lo;
	uint64_t bit = 1ull << (i % 64);

	if (d->held)
		d->held[i / 64] = held ? d->held[i / 64] | bit :
					 d->held[i / 64] & ~bit;
}

/* D's bitmap, made from the 4-tuple table when its ports held reach
 * TCP_DEST_MAP_MIN (once in its life: one look at every port). Without
 * memory, ports are looked at one by one as before. */
static void map_make(struct tcp_engine *e, struct tcp_dest *d)
{
	const uint32_t num = eph_count(e);
	struct wire_ep l = d->local;

	if (d->held || d->n < TCP_DEST_MAP_MIN ||
	    !(d->held = calloc((num + 63) / 64, sizeof(*d->held))))
		return;
	for (uint32_t i = 0; i < num; i++) {
		l.port = (uint16_t)(e->cfg.port_lo + i);
		if (tuple_find(e, &l, &d->remote))
			map_mark(e, d, l.port, true);
	}
}

/* The first port offset from AT on (cyclically) whose bit in MAP (NUM
 * bits) is clear, a word at a time; UINT32_MAX if none. */
static uint32_t map_next_free(const uint64_t *map, uint32_t num, uint32_t at)
{
	uint32_t nw = (num + 63) / 64, w = at / 64;
	uint64_t free = ~map[w] & (~0ull << (at % 64));

	for (uint32_t k = 0; k <= nw; k++) {
		if (w == nw - 1 && num % 64) /* no bits past the range */
			free &= (1ull << (num % 64)) - 1;
		if (free)
			return w * 64 + (uint32_t)__builtin_ctzll(free);
		w = (w + 1) % nw;
		free = ~map[w];
	}
	return UINT32_MAX;
}

static void tw_unlist(struct tcp_conn *c)
{
	struct tcp_dest *d = c->dest;

	if (!c->in_tw_list)
		return;
	*(c->tw_prev ? &c->tw_prev->tw_next : &d->tw_head) = c->tw_next;
	*(c->tw_next ? &c->tw_next->tw_prev : &d->tw_tail) = c->tw_prev;
	c->tw_prev = c->tw_next = NULL;
	c->in_tw_list = false;
}

void tcp_tw_list(struct tcp_conn *c, tcp_time now)
{
	struct tcp_dest *d = c->dest;

	c->tw_since = now;
	if (!d || !c->ts_ok || c->state != TCP_TIME_WAIT)
		return;
	tw_unlist(c);
	c->tw_prev = d->tw_tail;
	*(d->tw_tail ? &d->tw_tail->tw_next : &d->tw_head) = c;
	d->tw_tail = c;
	c->in_tw_list = true;
}

struct tcp_conn *tcp_tw_oldest(const struct tcp_engine *e,
			       const struct wire_ep *local,
			       const struct wire_ep *remote)
{
	struct wire_ep l = *local;
	struct tcp_dest *d;

	l.port = 0;
	d = dest_find(e, dest_hash(e, &l, remote), &l, remote);
	return d ? d->tw_head : NULL;
}

/* ---- the 4-tuple table ---- */

/* C's destination counts its port, if an ephemeral one (listeners have
 * none). False: no memory. */
static bool dest_hold(struct tcp_engine *e, struct tcp_conn *c)
{
	struct wire_ep l = c->local;

	if (!c->remote.family || !eph_port(e, c->local.port))
		return true;
	l.port = 0;
	if (!(c->dest = dest_get(e, &l, &c->remote)))
		return false;
	c->dest->n++;
	map_make(e, c->dest); /* C is not in the table yet: */
	map_mark(e, c->dest, c->local.port, true);
	return true;
}

int tcp_tuple_add(struct tcp_engine *e, struct tcp_conn *c)
{
	size_t b;

	if (tuple_find(e, &c->local, &c->remote))
		return -EADDRINUSE;
	if (!dest_hold(e, c))
		return -ENOMEM;
	b = tuple_bucket(e, &c->local, &c->remote);
	c->tuple_next = e->by_tuple[b];
	e->by_tuple[b] = c;
	c->in_tuple = true;
	return 0;
}

void tcp_tuple_del(struct tcp_engine *e, struct tcp_conn *c)
{
	struct tcp_conn **p;

	if (!c->in_tuple)
		return;
	p = &e->by_tuple[tuple_bucket(e, &c->local, &c->remote)];
	while (*p != c)
		p = &(*p)->tuple_next;
	*p = c->tuple_next;
	c->in_tuple = false;
	if (c->dest) {
		tw_unlist(c);
		map_mark(e, c->dest, c->local.port, false);
		c->dest->n--;
		dest_put(e, c->dest);
		c->dest = NULL;
	}
}

const struct wire_ep *tcp_own_addr(const struct tcp_engine *e, int family)
{
	if (family == AF_INET && e->cfg.addr4.family == AF_INET)
		return &e->cfg.addr4;
	if (family == AF_INET6 && e->cfg.addr6.family == AF_INET6)
		return &e->cfg.addr6;
	return NULL;
}

/* RFC 6056 §3.3.4 (algorithm 4): the destination's own offset and
 * counter, skipping ports whose 4-tuple is taken (by the bitmap, once
 * there is one) or that a listener holds; a full range is known by its
 * count, without a look at any port. */
int tcp_pick_port(struct tcp_engine *e, struct wire_ep *local,
		  const struct wire_ep *remote)
{
	const uint32_t num = eph_count(e);
	struct wire_ep l = *local;
	struct tcp_dest *d;
	uint32_t i, at, p, skip;

	l.port = 0;
	if (!(d = dest_get(e, &l, remote)))
		return -ENOMEM;
	for (i = 0; d->n < num && i < num; i += skip + 1) {
		at = p = (d->off + d->cursor) % num;
		if (d->held &&
		    (p = map_next_free(d->held, num, at)) == UINT32_MAX)
			break;
		skip = (p + num - at) % num;
		d->cursor += skip + 1;
		local->port = (uint16_t)(e->cfg.port_lo + p);
		/* to our own address, not the remote port itself: a segment
		 * from an endpoint to itself is dropped (a LAND attack) */
		if (!tcp_lookup(e, local, remote) &&
		    memcmp(local, remote, sizeof(*local)))
			return 0; /* tcp_tuple_add() counts it */
	}
	dest_put(e, d);
	return -EADDRNOTAVAIL; /* connect(2)'s errno for it */
}

void tcp_dests_free(struct tcp_engine *e)
{
	struct tcp_dest *d, *next;
	size_t i;

	for (i = 0; i < e->ndest_buckets; i++) {
		for (d = e->dests[i]; d; d = next) {
			next = d->next;
			free(d->held);
			free(d);
		}
	}
	free(e->dests);
}

void tcp_table_link(struct tcp_engine *e, struct tcp_conn *c)
{
	size_t b;

	if (e->nconns >= e->nbuckets)
		tables_grow(e);
	b = id_bucket(e, c->id);
	c->id_next = e->by_id[b];
	e->by_id[b] = c;
	e->nconns++;
}

void tcp_table_unlink(struct tcp_engine *e, struct tcp_conn *c)
{
	struct tcp_conn **p = &e->by_id[id_bucket(e, c->id)];

	tcp_tuple_del(e, c);
	while (*p != c)
		p = &(*p)->id_next;
	*p = c->id_next;
	e->nconns--;
}
