/* Buffer memory and connection accounting. Every connection belongs to
 * an owner (a uid, for the daemon); what it holds (the connection
 * itself, its trace, its rings when they are allocated or grow) is
 * charged to its owner's account and to the engine, and uncharged when
 * freed. A charge that would pass cfg.mem_owner or cfg.mem_max is
 * refused: the caller drops, or fails with ENOBUFS.
 *
 * Memory pressure is Linux's tcp_mem with its ratios: "high" is mem_max,
 * the engine comes under pressure above 2/3 of it ("pressure") and
 * leaves it below 1/2 ("low"). Under pressure receive buffers stop
 * growing and the windows offered are clamped to 4 MSS (Linux's
 * tcp_clamp_window), and send rings stop growing (tcp_send(), as
 * Linux's tcp_should_expand_sndbuf); at high nothing more is charged: new
 * connections are refused and data that needs new buffer memory is
 * dropped. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_mem.h"

void tcp_mem_init(struct tcp_engine *e)
{
	e->mem.cfg = &e->cfg;
}

void tcp_mem_fini(struct tcp_engine *e)
{
	struct tcp_mem_acct *a, *next;

	for (a = e->mem.accts; a; a = next) {
		next = a->next;
		free(a);
	}
	e->mem.accts = NULL;
}

static struct tcp_mem_acct *acct_find(const struct tcp_mem *m, uint32_t owner)
{
	struct tcp_mem_acct *a;

	for (a = m->accts; a && a->owner != owner; a = a->next)
		;
	return a;
}

/* Pressure with hysteresis: on above 2/3 of the cap, off below 1/2. */
static void mem_level(struct tcp_mem *m)
{
	uint64_t max = m->cfg->mem_max;

	if (m->bytes > max / 3 * 2)
		m->pressure = true;
	else if (m->bytes < max / 2)
		m->pressure = false;
}

/* Whether N more bytes of A (NULL: an owner with nothing yet) fit. */
static bool mem_fits(struct tcp_mem *m, const struct tcp_mem_acct *a,
		     uint64_t n)
{
	uint64_t own = a ? a->bytes : 0;

	if (n > m->cfg->mem_max || m->bytes > m->cfg->mem_max - n)
		m->refused = TCP_LIMIT_MEM;
	else if (n > m->cfg->mem_owner || own > m->cfg->mem_owner - n)
		m->refused = TCP_LIMIT_OWNER_MEM;
	else
		return true;
	return false;
}

int tcp_mem_room(struct tcp_mem *m, const struct tcp_mem_acct *a)
{
	uint64_t n = sizeof(struct tcp_conn) + 4ull * m->cfg->mss;

	return mem_fits(m, a, n) ? 0 : -ENOBUFS;
}

int tcp_mem_admit(struct tcp_engine *e, uint32_t owner)
{
	const struct tcp_mem_acct *a = acct_find(&e->mem, owner);

	if (e->nconns >= e->cfg.max_conns) {
		e->mem.refused = TCP_LIMIT_CONNS;
		return -ENFILE;
	}
	if (a && a->conns >= e->cfg.max_conns_owner) {
		e->mem.refused = TCP_LIMIT_OWNER_CONNS;
		return -EMFILE;
	}
	return tcp_mem_room(&e->mem, a);
}

struct tcp_mem_acct *tcp_mem_conn_add(struct tcp_engine *e, uint32_t owner)
{
	struct tcp_mem_acct *a = acct_find(&e->mem, owner);

	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a)
			return NULL;
		a->mem = &e->mem;
		a->owner = owner;
		a->next = e->mem.accts;
		e->mem.accts = a;
	}
	a->conns++;
	return a;
}

void tcp_mem_conn_del(struct tcp_mem_acct *a)
{
	struct tcp_mem_acct **p;

	if (--a->conns)
		return;
	for (p = &a->mem->accts; *p != a; p = &(*p)->next)
		;
	*p = a->next;
	free(a);
}

bool tcp_mem_charge(struct tcp_mem_acct *a, uint64_t n)
{
	if (!mem_fits(a->mem, a, n))
		return false;
	a->bytes += n;
	a->mem->bytes += n;
	mem_level(a->mem);
	return true;
}

void tcp_mem_uncharge(struct tcp_mem_acct *a, uint64_t n)
{
	a->bytes -= n;
	a->mem->bytes -= n;
	mem_level(a->mem);
}

uint32_t tcp_mem_snd_room(const struct tcp_conn *c)
{
	uint32_t limit = c->snd_limit;

	if (c->acct->mem->pressure && c->sndq.cap < limit)
		limit = c->sndq.cap;
	return limit > c->sndq.len ? limit - c->sndq.len : 0;
}

uint32_t tcp_mem_rcv_clamp(const struct tcp_conn *c)
{
	const struct tcp_mem *m = c->acct->mem;

	return m->pressure ? 4u * m->cfg->mss : UINT32_MAX;
}

uint32_t tcp_mem_rcv_cap(const struct tcp_conn *c, uint32_t wnd)
{
	struct tcp_mem *m = c->acct->mem;
	uint32_t cap = c->rcvq.cap, small = 4u * m->cfg->mss;
	enum tcp_limit refused = m->refused;

	if (small < wnd)
		small = wnd;
	if (small >= cap)
		return cap;
	if (!m->pressure && mem_fits(m, c->acct, cap))
		return cap;
	m->refused = refused; /* only asked: nothing was refused */
	return small;
}

void tcp_mem_get(const struct tcp_engine *e, uint32_t owner,
		 struct tcp_mem_info *out)
{
	const struct tcp_mem_acct *a = acct_find(&e->mem, owner);

	memset(out, 0, sizeof(*out));
	out->bytes = e->mem.bytes;
	out->max = e->cfg.mem_max;
	out->low = e->cfg.mem_max / 2;
	out->pressure_at = e->cfg.mem_max / 3 * 2;
	out->pressure = e->mem.pressure;
	out->conns = (unsigned)e->nconns;
	out->max_conns = e->cfg.max_conns;
	out->owner_bytes = a ? a->bytes : 0;
	out->owner_conns = a ? a->conns : 0;
	out->owner_max = e->cfg.mem_owner;
	out->owner_max_conns = e->cfg.max_conns_owner;
	out->refused = e->mem.refused;
	out->rcv_drops = e->mem.rcv_drops;
}
