/* Two sides joined in memory, one impair stage per direction: what tests
 * put between two engines instead of a network. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "tcpfs/link.h"

struct memlink_port {
	struct memlink *link;
	enum memlink_side side;
};

struct memlink {
	struct impair *dir[2]; /* dir[s]: packets sent from side s */
	struct {
		memlink_deliver_fn *fn;
		void *ctx;
	} rx[2];
	struct memlink_port port[2];
	uint64_t now;
	bool running;
	uint8_t buf[LINK_MAX_PKT];
};

struct memlink *memlink_new(const struct impair_config *a_to_b,
			    const struct impair_config *b_to_a, uint64_t seed)
{
	struct memlink *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	/* Two streams from one seed: the directions must not mirror. */
	l->dir[MEMLINK_A] = impair_new(a_to_b, seed);
	l->dir[MEMLINK_B] = impair_new(b_to_a, ~seed);
	if (!l->dir[MEMLINK_A] || !l->dir[MEMLINK_B]) {
		int err = errno;

		memlink_free(l);
		errno = err;
		return NULL;
	}
	for (int s = MEMLINK_A; s <= MEMLINK_B; s++)
		l->port[s] = (struct memlink_port){l, (enum memlink_side)s};
	return l;
}

void memlink_free(struct memlink *l)
{
	if (!l)
		return;
	impair_free(l->dir[MEMLINK_A]);
	impair_free(l->dir[MEMLINK_B]);
	free(l);
}

void memlink_attach(struct memlink *l, enum memlink_side side,
		    memlink_deliver_fn *fn, void *ctx)
{
	l->rx[side].fn = fn;
	l->rx[side].ctx = ctx;
}

int memlink_send(struct memlink *l, enum memlink_side side, const uint8_t *pkt,
		 size_t len, uint64_t now)
{
	return impair_push(l->dir[side], pkt, len, now);
}

/* The direction whose next packet is due first (A on a tie). */
static enum memlink_side first_due(const struct memlink *l)
{
	return impair_next(l->dir[MEMLINK_B]) < impair_next(l->dir[MEMLINK_A]) ?
		       MEMLINK_B :
		       MEMLINK_A;
}

unsigned memlink_run(struct memlink *l, uint64_t now)
{
	unsigned n = 0;

	/* Deliver functions send, but a nested run would reuse buf. */
	if (l->running)
		return 0;
	l->running = true;
	l->now = now;
	while (memlink_next(l) <= now) {
		enum memlink_side from = first_due(l), to = !from;
		size_t len =
			impair_pop(l->dir[from], now, l->buf, sizeof(l->buf));
		n++;
		if (l->rx[to].fn)
			l->rx[to].fn(l->rx[to].ctx, l->buf, len, now);
	}
	l->running = false;
	return n;
}

uint64_t memlink_next(const struct memlink *l)
{
	uint64_t a = impair_next(l->dir[MEMLINK_A]);
	uint64_t b = impair_next(l->dir[MEMLINK_B]);

	return a < b ? a : b;
}

void memlink_clock(struct memlink *l, uint64_t now)
{
	l->now = now;
}

void *memlink_port(struct memlink *l, enum memlink_side side)
{
	return &l->port[side];
}

void memlink_output(void *port, const uint8_t *pkt, size_t len)
{
	struct memlink_port *p = port;

	memlink_send(p->link, p->side, pkt, len, p->link->now);
}

void memlink_stats_get(const struct memlink *l, enum memlink_side side,
		       struct impair_stats *out)
{
	impair_stats_get(l->dir[side], out);
}
