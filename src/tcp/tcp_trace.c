/* Per-connection trace: the connection's open, pinned, and a bounded ring of
 * the latest segments and state changes. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_mem.h"
#include "tcp_trace.h"

static const char *const state_names[] = {
	[TCP_CLOSED] = "CLOSED",	   [TCP_LISTEN] = "LISTEN",
	[TCP_SYN_SENT] = "SYN_SENT",	   [TCP_SYN_RECEIVED] = "SYN_RECEIVED",
	[TCP_ESTABLISHED] = "ESTABLISHED", [TCP_FIN_WAIT_1] = "FIN_WAIT_1",
	[TCP_FIN_WAIT_2] = "FIN_WAIT_2",   [TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	[TCP_CLOSING] = "CLOSING",	   [TCP_LAST_ACK] = "LAST_ACK",
	[TCP_TIME_WAIT] = "TIME_WAIT",
};

const char *tcp_state_name(enum tcp_state state)
{
	if ((unsigned)state > TCP_TIME_WAIT)
		return "?";
	return state_names[state];
}

/* The open pinned at most: TCP_TRACE_PIN entries, and never more than
 * half the trace, so that the ring keeps the rest. */
static unsigned pin_max(const struct tcp_engine *e)
{
	unsigned half = e->cfg.trace_len / 2;

	return half < TCP_TRACE_PIN ? half : TCP_TRACE_PIN;
}

/* Room for more entries: the array starts at TCP_TRACE_PIN entries and
 * doubles up to trace_len, so that an idle connection holds its open
 * only. The pinned head stays; the ring restarts at its slot 0. */
static bool trace_grow(const struct tcp_engine *e, struct tcp_conn *c)
{
	unsigned cap = c->tr_cap ? c->tr_cap * 2 : TCP_TRACE_PIN, i;
	unsigned ring = c->tr_cap - c->tr_pin;
	struct tcp_trace_ent *t;

	if (cap > e->cfg.trace_len)
		cap = e->cfg.trace_len;
	if (!tcp_mem_charge(c->acct, (cap - c->tr_cap) * sizeof(*t)))
		return false; /* a memory cap: the ring stays as it is */
	t = malloc(cap * sizeof(*t));
	if (!t) {
		tcp_mem_uncharge(c->acct, (cap - c->tr_cap) * sizeof(*t));
		return false;
	}
	for (i = 0; i < c->tr_pin; i++)
		t[i] = c->tr[i];
	for (i = 0; i < c->tr_count; i++)
		t[c->tr_pin + i] = c->tr[c->tr_pin + (c->tr_head + i) % ring];
	free(c->tr);
	c->tr = t;
	c->tr_cap = cap;
	c->tr_head = 0;
	return true;
}

/* Whether T, a SYN or SYN,ACK, repeats one of C's first N entries: sent
 * again (a lost one) or received again (a peer that resends). */
static bool repeats(const struct tcp_conn *c, unsigned n,
		    const struct tcp_trace_ent *t)
{
	if ((t->dir != '<' && t->dir != '>') || !(t->flags & TCP_SYN))
		return false;
	for (unsigned i = 0; i < n; i++)
		if (c->tr[i].dir == t->dir && c->tr[i].flags == t->flags)
			return true;
	return false;
}

/* Make room in C's full open, for its end (a SYN,ACK, the move to
 * ESTABLISHED, our ACK) after SYNs and SYN,ACKs sent or received again
 * (lost ones, a peer that answers late): the first two repeats in a row
 * become a '#' entry that counts them, and a '#' entry takes the repeat
 * after it. Returns false if no two entries fold so. */
static bool pin_fold(struct tcp_conn *c)
{
	for (unsigned j = 1; j + 1 < c->tr_pin; j++) {
		struct tcp_trace_ent *a = &c->tr[j], *b = a + 1;
		if (!repeats(c, j + 1, b))
			continue;
		if (a->dir == '#')
			a->len += a->len < UINT32_MAX;
		else if (repeats(c, j, a))
			*a = (struct tcp_trace_ent){
				.t = a->t, .dir = '#', .len = 2};
		else
			continue;
		memmove(b, b + 1, (c->tr_pin - j - 2) * sizeof(*b));
		c->tr_pin--;
		return true;
	}
	return false;
}

/* The next slot: in the head while the open is recorded (made room in,
 * if need be), else in the ring, whose oldest entry goes when it is
 * full. */
static struct tcp_trace_ent *trace_slot(const struct tcp_engine *e,
					struct tcp_conn *c)
{
	unsigned ring, i;

	if (c->tr_pin + c->tr_count == c->tr_cap &&
	    c->tr_cap < e->cfg.trace_len)
		trace_grow(e, c);
	if (c->tr_pinning && c->tr_pin == pin_max(e))
		pin_fold(c);
	if (c->tr_pinning && c->tr_pin < pin_max(e) && c->tr_pin < c->tr_cap)
		return &c->tr[c->tr_pin++];
	c->tr_pinning = false;
	ring = c->tr_cap - c->tr_pin;
	if (!ring) {
		c->tr_dropped++;
		return NULL;
	}
	i = (c->tr_head + c->tr_count) % ring;
	if (c->tr_count == ring) {
		c->tr_head = (c->tr_head + 1) % ring;
		c->tr_dropped++;
	} else {
		c->tr_count++;
	}
	return &c->tr[c->tr_pin + i];
}

/* The open ends with the move to ESTABLISHED; an active opener's ACK of
 * the SYN,ACK follows that move and is the handshake's third segment,
 * so it is kept too. (Whatever happens, trace_slot() ends it after
 * pin_max entries.) */
static void pin_update(struct tcp_conn *c, const struct tcp_trace_ent *t)
{
	if (t->dir == '*' && t->to == TCP_ESTABLISHED) {
		c->tr_pin_ack = t->from == TCP_SYN_SENT;
		c->tr_pinning = c->tr_pin_ack;
	} else if (c->tr_pin_ack && t->dir == '>') {
		c->tr_pinning = false;
	}
}

static void trace_add(const struct tcp_engine *e, struct tcp_conn *c,
		      const struct tcp_trace_ent *t)
{
	struct tcp_trace_ent *slot;

	if (!e->cfg.trace_len)
		return;
	slot = trace_slot(e, c);
	if (slot)
		*slot = *t;
	if (c->tr_pinning)
		pin_update(c, t);
}

void tcp_trace_seg(const struct tcp_engine *e, struct tcp_conn *c, char dir,
		   const struct wire_seg *s, tcp_time now)
{
	struct tcp_trace_ent t = {
		.t = now,
		.dir = dir,
		.flags = s->flags,
		.urp = s->flags & TCP_URG ? s->urp : 0,
		.seq = s->seq,
		.ack = s->ack,
		.wnd = s->wnd,
		.len = (uint32_t)s->len,
		.opt = s->opt,
	};

	trace_add(e, c, &t);
}

void tcp_trace_state(const struct tcp_engine *e, struct tcp_conn *c,
		     enum tcp_state from, enum tcp_state to, tcp_time now)
{
	struct tcp_trace_ent t = {.t = now, .dir = '*', .from = from, .to = to};

	trace_add(e, c, &t);
}

void tcp_trace_in(const struct tcp_engine *e, struct tcp_conn *c,
		  const struct wire_seg *s, tcp_time now)
{
	tcp_trace_seg(e, c, '<', s, now);
	/* a super-packet: the segments it stands for, as Linux's
	 * tcp_segs_in() counts gso_segs */
	c->n.segs_in += s->gso ? (s->len + s->gso - 1) / s->gso : 1;
}

/* The pinned open, then the ring from its oldest entry; the ring's losses
 * lie between the two. */
int tcp_trace_copy(const struct tcp_conn *c, struct tcp_trace_ent *out, int max)
{
	unsigned n, i, ring;

	if (!c->tr || max <= 0)
		return 0;
	ring = c->tr_cap - c->tr_pin;
	n = c->tr_pin + c->tr_count;
	if (n > (unsigned)max)
		n = (unsigned)max;
	for (i = 0; i < n; i++)
		out[i] = i < c->tr_pin ?
				 c->tr[i] :
				 c->tr[c->tr_pin +
				       (c->tr_head + i - c->tr_pin) % ring];
	return (int)n;
}

/* Append to BUF at *POS, never past SIZE (snprintf semantics overall). */
__attribute__((format(printf, 4, 5))) static void
put(char *buf, size_t size, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*pos < size ? buf + *pos : NULL,
		      *pos < size ? size - *pos : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n;
}

static void put_flags(char *buf, size_t size, size_t *pos, uint8_t flags)
{
	char names[40];

	wire_flags_format(flags, names, sizeof(names));
	put(buf, size, pos, "%s", names);
}

static void put_opts(char *buf, size_t size, size_t *pos,
		     const struct wire_opts *o)
{
	const char *sep = "";
	int i;

	if (!o->has_mss && !o->sack_ok && !o->has_ts && !o->has_ws && !o->nsack)
		return;
	put(buf, size, pos, " <");
	if (o->has_mss) {
		put(buf, size, pos, "mss %u", o->mss);
		sep = ",";
	}
	if (o->sack_ok) {
		put(buf, size, pos, "%ssackOK", sep);
		sep = ",";
	}
	if (o->has_ts) {
		put(buf, size, pos, "%sTS val %" PRIu32 " ecr %" PRIu32, sep,
		    o->tsval, o->tsecr);
		sep = ",";
	}
	if (o->has_ws) {
		put(buf, size, pos, "%swscale %u", sep, o->ws);
		sep = ",";
	}
	if (o->nsack) {
		put(buf, size, pos, "%ssack %u", sep, o->nsack);
		for (i = 0; i < o->nsack; i++)
			put(buf, size, pos, " {%" PRIu32 ":%" PRIu32 "}",
			    o->sack[i].left, o->sack[i].right);
	}
	put(buf, size, pos, ">");
}

int tcp_trace_format(const struct tcp_trace_ent *ent, tcp_time t0, char *buf,
		     size_t size)
{
	tcp_time t = ent->t >= t0 ? ent->t - t0 : 0;
	size_t pos = 0;

	if (size)
		buf[0] = 0;
	if (ent->dir == '#') {
		put(buf, size, &pos, "# %" PRIu32 " entries dropped", ent->len);
		return (int)pos;
	}
	put(buf, size, &pos, "%" PRIu64 ".%06" PRIu64 " %c ", t / 1000000,
	    t % 1000000, ent->dir);
	if (ent->dir == '*') {
		put(buf, size, &pos, "%s -> %s", tcp_state_name(ent->from),
		    tcp_state_name(ent->to));
		return (int)pos;
	}
	put_flags(buf, size, &pos, ent->flags);
	put(buf, size, &pos, " seq=%" PRIu32, ent->seq);
	if (ent->flags & TCP_ACK)
		put(buf, size, &pos, " ack=%" PRIu32, ent->ack);
	put(buf, size, &pos, " win=%" PRIu32, ent->wnd);
	if (ent->len)
		put(buf, size, &pos, " len=%" PRIu32, ent->len);
	if (ent->flags & TCP_URG) /* RFC 9293 §3.8.5: the urgent pointer */
		put(buf, size, &pos, " urg=%u", ent->urp);
	put_opts(buf, size, &pos, &ent->opt);
	return (int)pos;
}
