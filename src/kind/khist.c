/* Kernel sockets' state history: a hash by cookie and an LRU list; a
 * socket's history as a ladder's record. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "khist.h"
#include "tcpfs/buf.h"
#include "tcpfs/ladder.h"

struct khist {
	size_t max, count, nbuckets;
	struct khist_sock **buckets;
	struct khist_sock *head, *tail; /* most recent first */
};

static size_t bucket(const struct khist *h, uint64_t cookie)
{
	uint64_t x = cookie * 0x9e3779b97f4a7c15ull;
	return (size_t)(x >> 32) & (h->nbuckets - 1);
}

struct khist *khist_new(size_t max)
{
	if (max == 0) {
		errno = EINVAL;
		return NULL;
	}
	struct khist *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->max = max;
	h->nbuckets = 16;
	while (h->nbuckets < max * 2)
		h->nbuckets *= 2;
	h->buckets = calloc(h->nbuckets, sizeof(*h->buckets));
	if (!h->buckets) {
		free(h);
		return NULL;
	}
	return h;
}

void khist_free(struct khist *h)
{
	if (!h)
		return;
	for (struct khist_sock *s = h->head, *n; s; s = n) {
		n = s->next;
		free(s->ent);
		free(s);
	}
	free(h->buckets);
	free(h);
}

struct khist_sock *khist_get(const struct khist *h, uint64_t cookie)
{
	for (struct khist_sock *s = h->buckets[bucket(h, cookie)]; s;
	     s = s->hnext)
		if (s->cookie == cookie)
			return s;
	return NULL;
}

size_t khist_count(const struct khist *h)
{
	return h->count;
}

static void unlink_lru(struct khist *h, struct khist_sock *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		h->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		h->tail = s->prev;
	s->prev = s->next = NULL;
}

static void push_lru(struct khist *h, struct khist_sock *s)
{
	s->prev = NULL;
	s->next = h->head;
	if (h->head)
		h->head->prev = s;
	h->head = s;
	if (!h->tail)
		h->tail = s;
}

static void evict(struct khist *h, struct khist_sock *s)
{
	struct khist_sock **p = &h->buckets[bucket(h, s->cookie)];
	while (*p != s)
		p = &(*p)->hnext;
	*p = s->hnext;
	unlink_lru(h, s);
	h->count--;
	free(s->ent);
	free(s);
}

/* Room in S for entry S->n; false if out of memory. */
static bool make_room(struct khist_sock *s)
{
	uint32_t room = s->room ? 2 * s->room : KHIST_ROOM;
	struct khist_ent *ent;

	if (s->n < s->room || s->room == KHIST_DEPTH)
		return true;
	if (room > KHIST_DEPTH)
		room = KHIST_DEPTH;
	if (!(ent = realloc(s->ent, room * sizeof(*ent))))
		return false;
	s->ent = ent;
	s->room = room;
	return true;
}

uint32_t khist_first(const struct khist_sock *s)
{
	return s->n > KHIST_DEPTH ? s->n - KHIST_DEPTH : 0;
}

const struct khist_ent *khist_at(const struct khist_sock *s, uint32_t i)
{
	return &s->ent[i % KHIST_DEPTH];
}

/* Whether KEY names its socket: both ports are known, or it is a
 * listener's (remote port 0) opening or closing; a child leaving LISTEN
 * for SYN_RECV may not know its peer's port yet. */
static bool named(const struct diag_key *key, const struct khist_ent *e)
{
	bool listener =
		e->type == KHIST_STATE &&
		(e->to == DIAG_TCP_LISTEN ||
		 (e->from == DIAG_TCP_LISTEN && e->to == DIAG_TCP_CLOSE));
	return key->sport && (key->dport || listener);
}

/* Whether E begins a new life of its socket, a connect or a listen: one
 * used again (after connect(AF_UNSPEC), or a listener closed) keeps its
 * cookie, and nothing kept of its earlier connection is this one's. */
static bool begins(const struct khist_ent *e)
{
	return e->type == KHIST_STATE &&
	       (e->to == DIAG_TCP_SYN_SENT || e->to == DIAG_TCP_LISTEN);
}

/* Forget S's entries, name and numbers, for a new life of its socket. */
static void restart(struct khist_sock *s)
{
	s->named = false;
	s->n = s->said = 0;
	s->retrans = 0;
	s->has_iss = s->has_irs = false;
}

/* A new socket COOKIE in H (the least recently added to evicted if H is
 * full), not yet on the LRU list; NULL if out of memory. */
static struct khist_sock *sock_new(struct khist *h, uint64_t cookie)
{
	if (h->count >= h->max)
		evict(h, h->tail);
	struct khist_sock *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cookie = cookie;
	size_t b = bucket(h, s->cookie);
	s->hnext = h->buckets[b];
	h->buckets[b] = s;
	h->count++;
	return s;
}

struct khist_sock *khist_add(struct khist *h, const struct diag_key *key,
			     const struct khist_ent *e)
{
	struct khist_sock *s = khist_get(h, key->cookie);
	if (s) {
		unlink_lru(h, s);
		if (begins(e))
			restart(s);
	} else if (!(s = sock_new(h, key->cookie))) {
		return NULL;
	}
	push_lru(h, s);
	if (named(key, e)) {
		s->key = *key;
		s->named = true;
	}
	if (e->type == KHIST_STATE && (e->has & KHIST_ISS)) {
		s->has_iss = true;
		s->iss = e->iss;
	}
	if (e->type == KHIST_STATE && (e->has & KHIST_IRS)) {
		s->has_irs = true;
		s->irs = e->irs;
	}
	if (e->type == KHIST_RETRANS) {
		s->retrans++;
		if (s->n > 0) {
			struct khist_ent *last =
				&s->ent[(s->n - 1) % KHIST_DEPTH];
			if (last->type == KHIST_RETRANS &&
			    last->seq == e->seq &&
			    last->end_seq == e->end_seq) {
				last->count++;
				last->ts_ns = e->ts_ns;
				return s;
			}
		}
	}
	if (!make_room(s))
		return NULL;
	struct khist_ent *slot = &s->ent[s->n % KHIST_DEPTH];
	*slot = *e;
	slot->count = 1;
	s->n++;
	return s;
}

/* ---- upgrades ---- */

/* What khist_save() writes: KHIST_SAVE_VERSION, then each socket so (every
 * byte set: it goes to a file), followed by its KEPT entries as they are,
 * the oldest first. */
struct saved_sock {
	uint64_t cookie, retrans;
	uint8_t family, named, has_iss, has_irs;
	uint16_t sport, dport;
	uint8_t src[16], dst[16];
	uint32_t n, said, iss, irs, kept;
};

static void save_sock(const struct khist_sock *s, struct buf *out)
{
	struct saved_sock r;
	memset(&r, 0, sizeof(r));
	r.cookie = s->cookie;
	r.retrans = s->retrans;
	r.family = s->key.family;
	r.named = s->named;
	r.has_iss = s->has_iss;
	r.has_irs = s->has_irs;
	r.sport = s->key.sport;
	r.dport = s->key.dport;
	memcpy(r.src, s->key.src, sizeof(r.src));
	memcpy(r.dst, s->key.dst, sizeof(r.dst));
	r.n = s->n;
	r.said = s->said;
	r.iss = s->iss;
	r.irs = s->irs;
	r.kept = s->n - khist_first(s);
	buf_add(out, &r, sizeof(r));
	for (uint32_t i = khist_first(s); i < s->n; i++)
		buf_add(out, khist_at(s, i), sizeof(struct khist_ent));
}

_Static_assert(sizeof(struct khist_ent) == 48, "khist_ent has no padding");

void khist_save(const struct khist *h, struct buf *out)
{
	uint32_t version = KHIST_SAVE_VERSION;
	buf_add(out, &version, sizeof(version));
	for (const struct khist_sock *s = h->head; s; s = s->next)
		save_sock(s, out);
}

/* R's socket, its entries at E, into H, the least recent (R checked; H
 * has room). */
static int load_sock(struct khist *h, const struct saved_sock *r, const char *e)
{
	uint32_t room = KHIST_ROOM; /* as make_room() grows it: to DEPTH */
	while (room < r->n && room < KHIST_DEPTH)
		room *= 2;
	if (khist_get(h, r->cookie))
		return 0; /* the store's own is newer */
	struct khist_sock *s = sock_new(h, r->cookie);
	if (!s)
		return -ENOMEM;
	s->prev = h->tail;
	if (h->tail)
		h->tail->next = s;
	else
		h->head = s;
	h->tail = s;
	if (!(s->ent = malloc(room * sizeof(*s->ent)))) {
		evict(h, s);
		return -ENOMEM;
	}
	s->room = room;
	s->key = (struct diag_key){.family = r->family,
				   .sport = r->sport,
				   .dport = r->dport,
				   .cookie = r->cookie};
	memcpy(s->key.src, r->src, sizeof(s->key.src));
	memcpy(s->key.dst, r->dst, sizeof(s->key.dst));
	s->named = r->named;
	s->retrans = r->retrans;
	s->has_iss = r->has_iss;
	s->has_irs = r->has_irs;
	s->iss = r->iss;
	s->irs = r->irs;
	s->said = r->said;
	for (s->n = r->n - r->kept; s->n < r->n; e += sizeof(*s->ent))
		memcpy(&s->ent[s->n++ % KHIST_DEPTH], e, sizeof(*s->ent));
	return 0;
}

int khist_load(struct khist *h, const void *p, size_t len)
{
	const char *at = p;
	uint32_t version;
	if (len < sizeof(version))
		return -EINVAL;
	memcpy(&version, at, sizeof(version));
	if (version != KHIST_SAVE_VERSION)
		return -EINVAL;
	at += sizeof(version);
	len -= sizeof(version);
	while (len && h->count < h->max) { /* the rest are older still */
		struct saved_sock r;
		if (len < sizeof(r))
			return -EINVAL;
		memcpy(&r, at, sizeof(r));
		uint32_t keep = r.n > KHIST_DEPTH ? KHIST_DEPTH : r.n;
		size_t whole =
			sizeof(r) + (size_t)r.kept * sizeof(struct khist_ent);
		if (!r.cookie || r.kept != keep || r.said > r.n || len < whole)
			return -EINVAL;
		int err = load_sock(h, &r, at + sizeof(r));
		if (err < 0)
			return err;
		at += whole;
		len -= whole;
	}
	return 0;
}

static void put(char *buf, size_t size, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t size, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(*pos < size ? buf + *pos : NULL,
			  *pos < size ? size - *pos : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n;
}

int khist_format(const struct khist_ent *e, uint64_t t0, char *buf, size_t size)
{
	uint64_t t = e->ts_ns >= t0 ? (e->ts_ns - t0) / 1000 : 0;
	size_t pos = 0;

	if (size)
		buf[0] = 0;
	put(buf, size, &pos, "%" PRIu64 ".%06" PRIu64 " ", t / 1000000,
	    t % 1000000);
	switch (e->type) {
	case KHIST_STATE:
		put(buf, size, &pos, "* %s -> %s", diag_state_name(e->from),
		    diag_state_name(e->to));
		break;
	case KHIST_RESET_SENT:
		put(buf, size, &pos, "> RST");
		break;
	case KHIST_RESET_RECV:
		put(buf, size, &pos, "< RST");
		break;
	case KHIST_RETRANS:
		put(buf, size, &pos, "retransmit");
		if (e->has & KHIST_SEQ)
			put(buf, size, &pos, " seq=%" PRIu32 " len=%" PRIu32,
			    e->seq, e->end_seq - e->seq);
		if (e->count > 1)
			put(buf, size, &pos, " times=%" PRIu32, e->count);
		break;
	default:
		put(buf, size, &pos, "? type %u", e->type);
		break;
	}
	if (e->has & KHIST_SND_UNA)
		put(buf, size, &pos, " snd_una=%" PRIu32, e->snd_una);
	if (e->has & KHIST_SND_NXT)
		put(buf, size, &pos, " snd_nxt=%" PRIu32, e->snd_nxt);
	if (e->has & KHIST_RCV_NXT)
		put(buf, size, &pos, " rcv_nxt=%" PRIu32, e->rcv_nxt);
	if (e->has & KHIST_ISS)
		put(buf, size, &pos, " iss=%" PRIu32, e->iss);
	if (e->has & KHIST_IRS)
		put(buf, size, &pos, " irs=%" PRIu32, e->irs);
	return (int)pos;
}

static void key_ep(struct wire_ep *ep, int family, const uint8_t *a,
		   uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = (uint8_t)family;
	memcpy(ep->a, a, family == AF_INET ? 4 : 16);
	ep->port = port;
}

/* When S lived, and the ISNs it knew. */
static void sock_span(const struct khist_sock *s, struct ladder_span *sp)
{
	ladder_span_init(sp);
	for (uint32_t i = khist_first(s); i < s->n; i++) {
		const struct khist_ent *e = khist_at(s, i);
		ladder_span_add(
			sp, e->ts_ns,
			e->type == KHIST_STATE ? diag_state_name(e->to) : NULL);
	}
	sp->has_iss = s->has_iss;
	sp->iss = s->iss;
	sp->has_irs = s->has_irs;
	sp->irs = s->irs;
}

struct khist_sock *khist_find(const struct khist *h,
			      const struct ladder_side *of)
{
	struct khist_sock *best = NULL;
	enum ladder_fit fit = LADDER_FIT_NONE;
	struct ladder_span want, sp;
	ladder_span_of(of, &want);
	for (struct khist_sock *s = h->head; s && fit < LADDER_FIT_ISN;
	     s = s->next) {
		const struct diag_key *k = &s->key;
		struct wire_ep local, remote;
		key_ep(&local, k->family, k->src, k->sport);
		key_ep(&remote, k->family, k->dst, k->dport);
		if (!s->named || !ladder_peer_of(of, &local, &remote))
			continue;
		sock_span(s, &sp);
		enum ladder_fit f = ladder_fit(&want, &sp);
		if (f > fit) {
			fit = f;
			best = s;
		}
	}
	return best;
}

/* The variables entry E recorded. */
static void ladder_vars(struct ladder_ev *ev, const struct khist_ent *e)
{
	ev->has |= (e->has & KHIST_SND_UNA ? LADDER_SND_UNA : 0) |
		   (e->has & KHIST_SND_NXT ? LADDER_SND_NXT : 0) |
		   (e->has & KHIST_RCV_NXT ? LADDER_RCV_NXT : 0);
	ev->snd_una = e->snd_una;
	ev->snd_nxt = e->snd_nxt;
	ev->rcv_nxt = e->rcv_nxt;
}

static void ladder_ent(struct ladder_ev *ev, const struct khist_ent *e)
{
	ev->t = e->ts_ns;
	switch (e->type) {
	case KHIST_STATE:
		ev->from = diag_state_name(e->from);
		ev->to = diag_state_name(e->to);
		ladder_vars(ev, e);
		break;
	case KHIST_RESET_SENT:
	case KHIST_RESET_RECV:
		ev->out = e->type == KHIST_RESET_SENT;
		ev->flags = TCP_RST;
		ladder_vars(ev, e);
		break;
	case KHIST_RETRANS:
		ev->out = ev->rexmit = true;
		ev->has = e->has & KHIST_SEQ ? LADDER_SEQ | LADDER_LEN : 0;
		ev->seq = e->seq;
		ev->len = e->end_seq - e->seq;
		ev->times = e->count;
		break;
	}
}

static enum ladder_type ladder_type_of(const struct khist_ent *e)
{
	return e->type == KHIST_STATE ? LADDER_STATE : LADDER_SEG;
}

int khist_ladder(const struct khist_sock *s, struct ladder_side *out)
{
	const struct diag_key *k = &s->key;
	uint32_t first = khist_first(s);
	struct ladder_ev *ev;
	if (s->named) {
		key_ep(&out->local, k->family, k->src, k->sport);
		key_ep(&out->remote, k->family, k->dst, k->dport);
	}
	snprintf(out->label, sizeof(out->label), "kernel #%" PRIx64, s->cookie);
	out->has_iss = s->has_iss;
	out->iss = s->iss;
	out->has_irs = s->has_irs;
	out->irs = s->irs;
	if (first && (ev = ladder_add(out, LADDER_GAP))) {
		ev->t = khist_at(s, first)->ts_ns;
		ev->lost = first;
	}
	for (uint32_t i = first; i < s->n; i++) {
		const struct khist_ent *e = khist_at(s, i);
		if (e->type >= KHIST_STATE && e->type <= KHIST_RETRANS &&
		    (ev = ladder_add(out, ladder_type_of(e))))
			ladder_ent(ev, e);
	}
	return out->oom ? -ENOMEM : 0;
}
