/* A deterministic bad network for one direction: every decision comes from
 * a seeded xoshiro256** so that a failing test replays exactly. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tcpfs/link.h"

#define DEFAULT_QUEUE_MAX 65536
#define DEFAULT_LIMIT 10000
#define DEFAULT_REORDER_WAIT 10000
/* Larger values are mistakes; these bounds keep the sums in 64 bits. */
#define MAX_TIME (1ULL << 48)
#define MAX_RATE (1ULL << 40)
#define MAX_QUEUE (1ULL << 32)

struct pkt {
	struct pkt *next;
	uint64_t due;
	size_t len;
	uint8_t data[];
};

struct impair {
	struct impair_config cfg;
	/* Probabilities as thresholds on 32 random bits (2^32: always). */
	uint64_t p_loss, p_dup, p_reorder, p_corrupt;
	uint64_t rng[4];
	struct pkt *head, *tail; /* due times never decrease along it */
	struct pkt *held;	 /* a reordered packet waiting to be passed */
	uint64_t held_until;
	/* The wire is free at wire_us + wire_rem / rate µs. */
	uint64_t wire_us, wire_rem;
	struct impair_stats st;
};

/* ---- PRNG: splitmix64 seeds xoshiro256** (Blackman, Vigna) ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rnd(struct impair *imp)
{
	uint64_t *s = imp->rng;
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* One draw per call, whatever the threshold, so that a run's sequence of
 * decisions does not depend on which rates are zero. */
static bool chance(struct impair *imp, uint64_t threshold)
{
	return rnd(imp) >> 32 < threshold;
}

/* ---- configuration ---- */

static bool pct_to_threshold(double pct, uint64_t *threshold)
{
	/* Written so that NaN fails too. */
	if (!(pct >= 0 && pct <= 100))
		return false;
	*threshold = (uint64_t)(pct / 100 * 4294967296.0);
	return true;
}

static bool config_set(struct impair *imp, const struct impair_config *cfg)
{
	struct impair_config *c = &imp->cfg;

	if (cfg)
		*c = *cfg;
	if (!c->queue_max)
		c->queue_max = DEFAULT_QUEUE_MAX;
	if (!c->limit)
		c->limit = DEFAULT_LIMIT;
	if (!c->reorder_wait)
		c->reorder_wait = DEFAULT_REORDER_WAIT;
	return pct_to_threshold(c->loss, &imp->p_loss) &&
	       pct_to_threshold(c->duplicate, &imp->p_dup) &&
	       pct_to_threshold(c->reorder, &imp->p_reorder) &&
	       pct_to_threshold(c->corrupt, &imp->p_corrupt) &&
	       c->delay < MAX_TIME && c->jitter < MAX_TIME &&
	       c->reorder_wait < MAX_TIME && c->rate <= MAX_RATE &&
	       c->queue_max <= MAX_QUEUE;
}

struct impair *impair_new(const struct impair_config *cfg, uint64_t seed)
{
	struct impair *imp = calloc(1, sizeof(*imp));

	if (!imp)
		return NULL;
	if (!config_set(imp, cfg)) {
		free(imp);
		errno = EINVAL;
		return NULL;
	}
	for (int i = 0; i < 4; i++)
		imp->rng[i] = splitmix64(&seed);
	return imp;
}

static void free_list(struct pkt *p)
{
	while (p) {
		struct pkt *next = p->next;

		free(p);
		p = next;
	}
}

void impair_free(struct impair *imp)
{
	if (!imp)
		return;
	free_list(imp->head);
	free(imp->held);
	free(imp);
}

/* ---- the pipeline: loss, duplication, queue, corruption, delay,
 * reordering ---- */

static void enqueue(struct impair *imp, struct pkt *p, uint64_t due)
{
	/* Jitter never reorders: a packet is due no earlier than the one
	 * before it. */
	if (imp->tail && due < imp->tail->due)
		due = imp->tail->due;
	p->due = due;
	p->next = NULL;
	if (imp->tail)
		imp->tail->next = p;
	else
		imp->head = p;
	imp->tail = p;
}

/* Put the held packet in the queue, due at DUE or after the packet now
 * last in it. */
static void release_held(struct impair *imp, uint64_t due)
{
	struct pkt *p = imp->held;

	imp->held = NULL;
	enqueue(imp, p, due);
}

/* A held packet that saw no successor before NOW goes on by itself. */
static void expire_held(struct impair *imp, uint64_t now)
{
	if (imp->held && imp->held_until <= now)
		release_held(imp, imp->held_until);
}

/* When a packet of LEN bytes offered at NOW is off the wire, or false when
 * the bytes waiting for the wire would exceed queue_max. An idle wire takes
 * any packet. Exact integers: no drift over millions of packets. */
static bool serialize(struct impair *imp, size_t len, uint64_t now,
		      uint64_t *done)
{
	uint64_t rate = imp->cfg.rate, max = imp->cfg.queue_max;

	if (!rate) {
		*done = now;
		return true;
	}
	if (imp->wire_us < now || (imp->wire_us == now && !imp->wire_rem)) {
		imp->wire_us = now;
		imp->wire_rem = 0;
	} else if (len > max || (imp->wire_us - now) * rate + imp->wire_rem >
					(max - len) * 1000000) {
		/* The backlog, (wire_us - now + wire_rem / rate) * rate / 1e6
		 * bytes, plus LEN is over queue_max. */
		return false;
	}
	imp->wire_rem += len * 1000000;
	imp->wire_us += imp->wire_rem / rate;
	imp->wire_rem %= rate;
	/* Due when the last bit is out: round up. */
	*done = imp->wire_us + (imp->wire_rem ? 1 : 0);
	return true;
}

static void corrupt(struct impair *imp, struct pkt *p)
{
	uint64_t bit = rnd(imp) % (p->len * 8);

	p->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	imp->st.corrupted++;
}

/* One copy of a packet from the queue onwards. */
static int admit(struct impair *imp, const uint8_t *data, size_t len,
		 uint64_t now)
{
	struct pkt *p = malloc(sizeof(*p) + len);
	uint64_t due;

	if (!p)
		return -ENOMEM;
	if (imp->st.queued >= imp->cfg.limit ||
	    !serialize(imp, len, now, &due)) {
		free(p);
		imp->st.queue_drops++;
		return 0;
	}
	p->len = len;
	memcpy(p->data, data, len);
	if (chance(imp, imp->p_corrupt))
		corrupt(imp, p);
	due += imp->cfg.delay + rnd(imp) % (imp->cfg.jitter + 1);
	imp->st.queued++;
	/* A held packet that would time out before this one is due goes
	 * first; otherwise this one overtakes it. */
	expire_held(imp, due);
	if (chance(imp, imp->p_reorder) && !imp->held) {
		p->due = due;
		imp->held = p;
		imp->held_until = due + imp->cfg.reorder_wait;
		return 0;
	}
	enqueue(imp, p, due);
	if (imp->held) {
		release_held(imp, imp->held->due);
		imp->st.reordered++;
	}
	return 0;
}

int impair_push(struct impair *imp, const uint8_t *pkt, size_t len,
		uint64_t now)
{
	int copies = 1, err = 0;

	if (!len || len > LINK_MAX_PKT)
		return -EINVAL;
	expire_held(imp, now);
	imp->st.pushed++;
	if (chance(imp, imp->p_loss)) {
		imp->st.lost++;
		return 0;
	}
	if (chance(imp, imp->p_dup)) {
		copies++;
		imp->st.duplicated++;
	}
	while (copies-- && !err)
		err = admit(imp, pkt, len, now);
	return err;
}

size_t impair_pop(struct impair *imp, uint64_t now, uint8_t *buf, size_t cap)
{
	struct pkt *p;
	size_t len;

	expire_held(imp, now);
	p = imp->head;
	if (!p || p->due > now)
		return 0;
	imp->head = p->next;
	if (!imp->head)
		imp->tail = NULL;
	len = p->len;
	memcpy(buf, p->data, len < cap ? len : cap);
	free(p);
	imp->st.queued--;
	imp->st.passed++;
	return len;
}

uint64_t impair_next(const struct impair *imp)
{
	/* A held packet never overtakes the queue: it is released behind
	 * the queue's tail. */
	if (imp->head)
		return imp->head->due;
	return imp->held ? imp->held_until : LINK_NEVER;
}

void impair_stats_get(const struct impair *imp, struct impair_stats *out)
{
	*out = imp->st;
}
