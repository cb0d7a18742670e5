/* tcpfs kbpf: iss and irs by socket cookie (see kbpf_isn.h). */
#include <errno.h>
#include <stdlib.h>

#include "kbpf_isn.h"

static size_t slot(const struct kbpf_isn_tab *t, uint64_t cookie)
{
	return (cookie * 0x9e3779b97f4a7c15ull) >> 32 & (t->cap - 1);
}

struct kbpf_isn *kbpf_isn_find(const struct kbpf_isn_tab *t, uint64_t cookie)
{
	size_t i;

	if (!t->cap || !cookie)
		return NULL;
	for (i = slot(t, cookie); t->v[i].cookie; i = (i + 1) & (t->cap - 1))
		if (t->v[i].cookie == cookie)
			return &t->v[i];
	return NULL;
}

/* Place V (its cookie not in T) in T, which has room. */
static void place(struct kbpf_isn_tab *t, const struct kbpf_isn *v)
{
	size_t i = slot(t, v->cookie);

	while (t->v[i].cookie)
		i = (i + 1) & (t->cap - 1);
	t->v[i] = *v;
	t->n++;
}

/* Rebuild T with CAP slots, leaving out the entries that expired by NOW
 * (0: none did); 0 or -ENOMEM (T unchanged). */
static int rebuild(struct kbpf_isn_tab *t, size_t cap, uint64_t now)
{
	struct kbpf_isn_tab nt = {calloc(cap, sizeof(*t->v)), cap, 0, t->max};
	size_t i;

	if (!nt.v)
		return -ENOMEM;
	for (i = 0; i < t->cap; i++)
		if (t->v[i].cookie &&
		    !(now && t->v[i].expire && t->v[i].expire <= now))
			place(&nt, &t->v[i]);
	free(t->v);
	*t = nt;
	return 0;
}

int kbpf_isn_put(struct kbpf_isn_tab *t, uint64_t cookie, uint32_t iss,
		 uint32_t irs)
{
	struct kbpf_isn v = {cookie, 0, iss, irs},
			*p = kbpf_isn_find(t, cookie);
	int err;

	if (p) {
		*p = v;
		return 0;
	}
	if (t->n >= (t->max ? t->max : KBPF_ISN_MAX))
		return -ENOSPC;
	if ((t->n + 1) * 2 > t->cap &&
	    (err = rebuild(t, t->cap ? t->cap * 2 : 1024, 0)) < 0)
		return err;
	place(t, &v);
	return 0;
}

void kbpf_isn_del(struct kbpf_isn_tab *t, uint64_t cookie)
{
	struct kbpf_isn *p = kbpf_isn_find(t, cookie);
	size_t i, j, h, mask = t->cap - 1;

	if (!p)
		return;
	i = p - t->v;
	for (j = (i + 1) & mask; t->v[j].cookie; j = (j + 1) & mask) {
		h = slot(t, t->v[j].cookie);
		/* move j into the hole i unless its home lies in (i, j] */
		if (((j - h) & mask) >= ((j - i) & mask)) {
			t->v[i] = t->v[j];
			i = j;
		}
	}
	t->v[i].cookie = 0;
	t->n--;
}

int kbpf_isn_purge(struct kbpf_isn_tab *t, uint64_t now)
{
	size_t i;

	/* a scan, no copy, finds that none expired (most rounds: the
	 * sockets of TIME_WAIT come and go at some rate or none) */
	for (i = 0; i < t->cap; i++)
		if (t->v[i].cookie && t->v[i].expire && t->v[i].expire <= now)
			return rebuild(t, t->cap, now);
	return 0;
}

void kbpf_isn_free(struct kbpf_isn_tab *t)
{
	free(t->v);
	t->v = NULL;
	t->cap = t->n = 0;
}
