/* Sets of socket cookies: linear probing in a table at most half full; a
 * list sorted when first asked, then searched by halves. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cookieset.h"

/* Cookies count up from one: a multiplicative hash spreads them. */
static size_t home(uint64_t cookie, size_t mask)
{
	return (size_t)((cookie * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}

/* Put COOKIE in SLOT; returns 1 if it was not there. */
static size_t put(uint64_t *slot, size_t mask, uint64_t cookie)
{
	size_t i = home(cookie, mask);
	while (slot[i] && slot[i] != cookie)
		i = (i + 1) & mask;
	size_t added = !slot[i];
	slot[i] = cookie;
	return added;
}

static int grow(struct cookieset *s)
{
	size_t cap = s->slot ? (s->mask + 1) * 2 : 1024;
	uint64_t *slot = calloc(cap, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; s->slot && i <= s->mask; i++)
		if (s->slot[i])
			put(slot, cap - 1, s->slot[i]);
	free(s->slot);
	s->slot = slot;
	s->mask = cap - 1;
	return 0;
}

void cookieset_clear(struct cookieset *s)
{
	if (s->slot)
		memset(s->slot, 0, (s->mask + 1) * sizeof(*s->slot));
	s->n = 0;
}

int cookieset_add(struct cookieset *s, uint64_t cookie)
{
	if ((!s->slot || (s->n + 1) * 2 > s->mask + 1) && grow(s) < 0)
		return -ENOMEM;
	s->n += put(s->slot, s->mask, cookie);
	return 0;
}

bool cookieset_has(const struct cookieset *s, uint64_t cookie)
{
	if (!s->slot || !cookie)
		return false;
	size_t i = home(cookie, s->mask);
	while (s->slot[i]) {
		if (s->slot[i] == cookie)
			return true;
		i = (i + 1) & s->mask;
	}
	return false;
}

void cookieset_free(struct cookieset *s)
{
	free(s->slot);
	*s = (struct cookieset){0};
}

void cookielist_clear(struct cookielist *l)
{
	l->n = 0;
	l->sorted = true;
}

int cookielist_add(struct cookielist *l, uint64_t cookie)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		uint64_t *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->sorted = l->sorted && (!l->n || l->v[l->n - 1] <= cookie);
	l->v[l->n++] = cookie;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

bool cookielist_has(struct cookielist *l, uint64_t cookie)
{
	if (!l->sorted && l->n) /* none: v may be NULL, not qsort's */
		qsort(l->v, l->n, sizeof(*l->v), cmp);
	l->sorted = true;
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->v[mid] < cookie)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < l->n && l->v[lo] == cookie;
}

void cookielist_free(struct cookielist *l)
{
	free(l->v);
	*l = (struct cookielist){0};
}
