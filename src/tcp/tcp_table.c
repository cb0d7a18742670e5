/* The connection tables: by id and by 4-tuple (keyed hash, RFC 6056's
 * ephemeral port choice), and the engine's own addresses. Linux's
 * inet_hashtables.c. */
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
}

const struct wire_ep *tcp_own_addr(const struct tcp_engine *e, int family)
{
	if (family == AF_INET && e->cfg.addr4.family == AF_INET)
		return &e->cfg.addr4;
	if (family == AF_INET6 && e->cfg.addr6.family == AF_INET6)
		return &e->cfg.addr6;
	return NULL;
}

/* RFC 6056 §3.3.3 (algorithm 3): a per-destination offset plus a global
 * counter, skipping ports whose 4-tuple is taken. */
int tcp_pick_port(struct tcp_engine *e, struct wire_ep *local,
		  const struct wire_ep *remote)
{
	const uint32_t num = TCP_EPH_MAX - TCP_EPH_MIN + 1;
	struct wire_ep l = *local;
	uint32_t off, i;

	l.port = 0;
	off = (uint32_t)tcp_tuple_hash(e, &l, remote, 1);
	for (i = 0; i < num; i++) {
		local->port = TCP_EPH_MIN + (off + e->eph_next++) % num;
		if (!tcp_lookup(e, local, remote))
			return 0;
	}
	return -EADDRNOTAVAIL; /* connect(2)'s errno for it */
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
