/* The engine kind's directory entries: a table sorted by id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edir.h"

struct edirs {
	struct edir **v;
	size_t n, cap;
	struct edir *idle, *idle_last; /* by idle_since */
};

struct edirs *edirs_new(void)
{
	return calloc(1, sizeof(struct edirs));
}

void edirs_free(struct edirs *t)
{
	while (t && t->n)
		free(t->v[--t->n]);
	if (t)
		free(t->v);
	free(t);
}

/* Index of ID, or of where it would go. */
static size_t search(const struct edirs *t, uint32_t id)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->v[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct edir *edirs_add(struct edirs *t, uint32_t id, uid_t owner)
{
	size_t at = search(t, id);
	if (at < t->n && t->v[at]->id == id)
		return NULL;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		struct edir **v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	struct edir *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = id;
	c->owner = owner;
	snprintf(c->label, sizeof(c->label), "engine/%u", id);
	waitq_init(&c->wq);
	/* new connections come last, but one accepted late sits earlier */
	memmove(&t->v[at + 1], &t->v[at], (t->n - at) * sizeof(t->v[0]));
	t->v[at] = c;
	t->n++;
	return c;
}

struct edir *edirs_find(struct edirs *t, uint32_t id)
{
	size_t i = search(t, id);
	return i < t->n && t->v[i]->id == id ? t->v[i] : NULL;
}

static void unidle(struct edirs *t, struct edir *ec)
{
	if (!ec->idle_since)
		return;
	*(ec->iprev ? &ec->iprev->inext : &t->idle) = ec->inext;
	*(ec->inext ? &ec->inext->iprev : &t->idle_last) = ec->iprev;
	ec->iprev = ec->inext = NULL;
	ec->idle_since = 0;
}

void edirs_idle(struct edirs *t, struct edir *ec, tcp_time since)
{
	unidle(t, ec);
	if (!since)
		return;
	ec->idle_since = since;
	ec->iprev = t->idle_last;
	*(t->idle_last ? &t->idle_last->inext : &t->idle) = ec;
	t->idle_last = ec;
}

struct edir *edirs_first_idle(struct edirs *t)
{
	return t->idle;
}

void edirs_del(struct edirs *t, uint32_t id)
{
	size_t i = search(t, id);
	if (i == t->n || t->v[i]->id != id)
		return;
	unidle(t, t->v[i]);
	free(t->v[i]);
	memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(t->v[0]));
	t->n--;
}

size_t edirs_count(const struct edirs *t)
{
	return t->n;
}

struct edir *edirs_at(struct edirs *t, size_t i)
{
	return t->v[i];
}
