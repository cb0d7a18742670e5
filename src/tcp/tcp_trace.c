/* Per-connection trace: a bounded ring of segments and state changes. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_int.h"

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

/* Room for one more entry: the ring starts small and doubles up to
 * trace_len, so that an idle connection holds a few entries only. */
static bool trace_grow(const struct tcp_engine *e, struct tcp_conn *c)
{
	unsigned cap = c->tr_cap ? c->tr_cap * 2 : 8, i;
	struct tcp_trace_ent *t;

	if (cap > e->cfg.trace_len)
		cap = e->cfg.trace_len;
	t = malloc(cap * sizeof(*t));
	if (!t)
		return false;
	for (i = 0; i < c->tr_count; i++)
		t[i] = c->tr[(c->tr_head + i) % c->tr_cap];
	free(c->tr);
	c->tr = t;
	c->tr_cap = cap;
	c->tr_head = 0;
	return true;
}

/* The next slot of C's ring; the oldest entry goes when it is full. */
static struct tcp_trace_ent *trace_slot(const struct tcp_engine *e,
					struct tcp_conn *c)
{
	unsigned i;

	if (c->tr_count == c->tr_cap && c->tr_cap < e->cfg.trace_len)
		trace_grow(e, c);
	if (!c->tr_cap)
		return NULL;
	i = (c->tr_head + c->tr_count) % c->tr_cap;
	if (c->tr_count == c->tr_cap) {
		c->tr_head = (c->tr_head + 1) % c->tr_cap;
		c->tr_dropped++;
	} else {
		c->tr_count++;
	}
	memset(&c->tr[i], 0, sizeof(c->tr[i]));
	return &c->tr[i];
}

void tcp_trace_seg(const struct tcp_engine *e, struct tcp_conn *c, char dir,
		   const struct wire_seg *s, tcp_time now)
{
	struct tcp_trace_ent *t = trace_slot(e, c);

	if (!t)
		return;
	t->t = now;
	t->dir = dir;
	t->flags = s->flags;
	t->seq = s->seq;
	t->ack = s->ack;
	t->wnd = s->wnd;
	t->len = (uint32_t)s->len;
	t->opt = s->opt;
}

void tcp_trace_state(const struct tcp_engine *e, struct tcp_conn *c,
		     enum tcp_state from, enum tcp_state to, tcp_time now)
{
	struct tcp_trace_ent *t = trace_slot(e, c);

	if (!t)
		return;
	t->t = now;
	t->dir = '*';
	t->from = from;
	t->to = to;
}

int tcp_trace_get(const struct tcp_engine *e, uint32_t id,
		  struct tcp_trace_ent *out, int max, uint64_t *dropped)
{
	const struct tcp_conn *c = tcp_conn_find(e, id);
	int i;

	if (dropped)
		*dropped = c ? c->tr_dropped : 0;
	if (!c || !c->tr)
		return 0;
	for (i = 0; i < max && (unsigned)i < c->tr_count; i++)
		out[i] = c->tr[(c->tr_head + i) % c->tr_cap];
	return i;
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
	static const struct {
		uint8_t bit;
		const char *name;
	} names[] = {{TCP_SYN, "SYN"}, {TCP_FIN, "FIN"}, {TCP_RST, "RST"},
		     {TCP_PSH, "PSH"}, {TCP_ACK, "ACK"}, {TCP_URG, "URG"},
		     {TCP_ECE, "ECE"}, {TCP_CWR, "CWR"}};
	const char *sep = "";
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (flags & names[i].bit) {
			put(buf, size, pos, "%s%s", sep, names[i].name);
			sep = ",";
		}
	}
	if (!*sep)
		put(buf, size, pos, "none");
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
	put_opts(buf, size, &pos, &ent->opt);
	return (int)pos;
}
