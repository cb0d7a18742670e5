/* A connection's history as a ladder diagram (ladder.h).
 *
 * The two records are merged by time into items; the items become rows
 * (an arrow, the arrow's further lines of text, a state change, a gap);
 * the rows are printed in fixed columns: time, this end's state, its
 * lifeline, the lane the arrows cross, the peer's lifeline, its state. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "tcpfs/ladder.h"

#define STATE_W 12    /* "SYN_RECEIVED" */
#define WIDTH_MAX 200 /* columns drawn at most */
#define TEXT_MAX (WIDTH_MAX * 2)
#define NEAR_NS 100000000 /* a state change this close before its segment */
#define CAUSE_NS                                                               \
	1000000	    /* a state change this close after the arrival of
			   * a segment is that segment's doing */
#define NBSP '\x01' /* a space the label is not broken at */

/* The glyphs of a style. */
enum { G_LIFE, G_SHAFT, G_DASH, G_RIGHT, G_LEFT, G_DOTS, G_MORE, G_TIMES };
static const char *const utf8[] = {"│", "─", "╌", "▶", "◀", "┆", "…", "×"};
static const char *const ascii[] = {"|", "-", "-", ">", "<", ":", "...", "x"};

void ladder_style_default(struct ladder_style *st)
{
	*st = (struct ladder_style){.width = LADDER_WIDTH,
				    .head = LADDER_HEAD,
				    .tail = LADDER_TAIL};
}

/* Whether a locale name's codeset is UTF-8: "xx_YY.UTF-8@mod", "C.utf8". */
static bool utf8_name(const char *name)
{
	const char *dot = strchr(name, '.');
	if (!dot)
		return false;
	size_t n = strcspn(dot + 1, "@");
	return (n == 5 && strncasecmp(dot + 1, "utf-8", 5) == 0) ||
	       (n == 4 && strncasecmp(dot + 1, "utf8", 4) == 0);
}

bool ladder_utf8_locale(const char *lc_all, const char *lc_ctype,
			const char *lang)
{
	const char *v[] = {lc_all, lc_ctype, lang};
	for (size_t i = 0; i < 3; i++)
		if (v[i] && *v[i])
			return utf8_name(v[i]);
	return false;
}

void ladder_side_init(struct ladder_side *s)
{
	*s = (struct ladder_side){0};
}

void ladder_side_free(struct ladder_side *s)
{
	free(s->ev);
	s->ev = NULL;
	s->n = s->cap = 0;
}

struct ladder_ev *ladder_add(struct ladder_side *s, enum ladder_type type)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct ladder_ev *ev = realloc(s->ev, cap * sizeof(*ev));
		if (!ev) {
			s->oom = true;
			return NULL;
		}
		s->ev = ev;
		s->cap = cap;
	}
	struct ladder_ev *e = &s->ev[s->n++];
	*e = (struct ladder_ev){.type = (uint8_t)type};
	return e;
}

/* EP, an IPv4-mapped IPv6 address (a dual-stack socket's IPv4 peer) as
 * the IPv4 address it maps. */
static struct wire_ep unmapped(const struct wire_ep *ep)
{
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	struct wire_ep v4 = {.family = AF_INET, .port = ep->port};
	if (ep->family != AF_INET6 || memcmp(ep->a, mapped, 12) != 0)
		return *ep;
	memcpy(v4.a, ep->a + 12, 4);
	return v4;
}

static bool same_ep(const struct wire_ep *a, const struct wire_ep *b)
{
	struct wire_ep x = unmapped(a), y = unmapped(b);
	return x.family == y.family && x.port == y.port &&
	       memcmp(x.a, y.a, sizeof(x.a)) == 0;
}

bool ladder_peer_of(const struct ladder_side *of, const struct wire_ep *local,
		    const struct wire_ep *remote)
{
	return same_ep(local, &of->remote) && same_ep(remote, &of->local);
}

/* ---- which connection of a four-tuple is a record's peer ---- */

void ladder_span_init(struct ladder_span *sp)
{
	*sp = (struct ladder_span){.first = UINT64_MAX};
}

void ladder_span_add(struct ladder_span *sp, uint64_t t, const char *to)
{
	sp->first = t < sp->first ? t : sp->first;
	sp->last = t > sp->last ? t : sp->last;
	if (to)
		sp->closed = !strcmp(to, "CLOSED");
}

void ladder_span_of(const struct ladder_side *s, struct ladder_span *sp)
{
	ladder_span_init(sp);
	for (size_t i = 0; i < s->n; i++)
		ladder_span_add(sp, s->ev[i].t,
				s->ev[i].type == LADDER_STATE ? s->ev[i].to :
								NULL);
	sp->has_iss = s->has_iss;
	sp->iss = s->iss;
	sp->has_irs = s->has_irs;
	sp->irs = s->irs;
}

/* The time SP's connection lived until: on, if it has not closed (its
 * latest event need not be its last: an idle connection has none). */
static uint64_t span_end(const struct ladder_span *sp)
{
	return sp->closed ? sp->last : UINT64_MAX;
}

enum ladder_fit ladder_fit(const struct ladder_span *of,
			   const struct ladder_span *c)
{
	if (c->first > span_end(of) || span_end(c) < of->first)
		return LADDER_FIT_NONE;
	if ((of->has_irs && c->has_iss && of->irs == c->iss) ||
	    (of->has_iss && c->has_irs && of->iss == c->irs))
		return LADDER_FIT_ISN;
	return LADDER_FIT_TIME;
}

/* ---- the items: both records merged by time ---- */

struct item {
	const struct ladder_ev *e;
	uint8_t side; /* whose record: 0 this end, 1 the peer */
	uint8_t from; /* SEG: the end that sent it */
	bool rexmit;  /* SEG: a retransmission */
};

enum { ROW_EMPTY, ROW_ARROW, ROW_TEXT, ROW_GAP };

/* One line of the diagram. */
struct row {
	uint8_t kind;
	bool timed;
	uint64_t t; /* ns since the first event */
	const char *state[2];
	uint8_t to;  /* ARROW: the end it points at; TEXT: the end it is at */
	bool dashed; /* ARROW: a retransmission */
	bool top;    /* the columns' titles */
	size_t item; /* ARROW: its item */
	char text[TEXT_MAX];
};

struct draw {
	const struct ladder_style *st;
	const char *const *g; /* glyphs */
	const struct ladder_side *side[2];
	int src;       /* the full record segments come from, or -1 */
	bool known[2]; /* each end's ISN is known */
	uint32_t isn[2];
	struct item *it;
	size_t n;
	uint64_t t0;
	struct row *rows;
	size_t nrows, cap;
	long last_arrow;	/* the arrow only its text follows, or -1 */
	const char *pending[2]; /* a state for the next arrow an end sends */
	unsigned width, tw, lane;
	int err;
};

/* Whether side S's record has a reset it sent. */
static bool sent_reset(const struct ladder_side *s)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (s->ev[i].type == LADDER_SEG && s->ev[i].out &&
		    (s->ev[i].flags & TCP_RST))
			return true;
	return false;
}

/* Whether event E of record S is drawn: a state change that changes the
 * state; segments from the full record, without one from both, except a
 * reset one end received that the other end's record has sent. */
static bool drawn(const struct draw *d, int s, const struct ladder_ev *e)
{
	if (e->type == LADDER_STATE) /* the kernel reports LAST_ACK again */
		return !e->from || !e->to || strcmp(e->from, e->to) != 0;
	if (e->type != LADDER_SEG)
		return true;
	if (d->src >= 0)
		return s == d->src;
	if (e->out || !d->side[!s] || !(e->flags & TCP_RST))
		return true;
	return !sent_reset(d->side[!s]);
}

/* The drawn events of both records, by time; ties keep this end first. */
static int merge(struct draw *d)
{
	size_t n0 = d->side[0]->n, n1 = d->side[1] ? d->side[1]->n : 0;
	size_t i = 0, j = 0;
	d->it = malloc((n0 + n1 + 1) * sizeof(*d->it));
	if (!d->it)
		return -ENOMEM;
	while (i < n0 || j < n1) {
		int s = j >= n1 || (i < n0 && d->side[0]->ev[i].t <=
						      d->side[1]->ev[j].t) ?
				0 :
				1;
		const struct ladder_ev *e = s == 0 ? &d->side[0]->ev[i++] :
						     &d->side[1]->ev[j++];
		if (!drawn(d, s, e))
			continue;
		d->it[d->n++] = (struct item){
			.e = e,
			.side = (uint8_t)s,
			.from = (uint8_t)(e->out ? s : !s),
		};
	}
	d->t0 = d->n ? d->it[0].e->t : 0;
	return 0;
}

/* The ISN of an end as record R knows it: of R's own end (MINE), its iss,
 * else the SYN it sent; of the other, its irs, else the SYN received. */
static bool isn_in(const struct ladder_side *r, bool mine, uint32_t *isn)
{
	if (r && (mine ? r->has_iss : r->has_irs)) {
		*isn = mine ? r->iss : r->irs;
		return true;
	}
	for (size_t i = 0; r && i < r->n; i++) {
		const struct ladder_ev *e = &r->ev[i];
		if (e->type == LADDER_SEG && e->out == mine &&
		    (e->has & (LADDER_FLAGS | LADDER_SEQ)) ==
			    (LADDER_FLAGS | LADDER_SEQ) &&
		    (e->flags & TCP_SYN)) {
			*isn = e->seq;
			return true;
		}
	}
	return false;
}

/* Each end's ISN: as this end's record knows it, else as the peer's does.
 * This end's first: the peer's record may be of another connection of the
 * tuple. */
static void find_isns(struct draw *d)
{
	for (int s = 0; s < 2; s++)
		d->known[s] = isn_in(d->side[0], s == 0, &d->isn[s]) ||
			      isn_in(d->side[1], s == 1, &d->isn[s]);
}

/* The end of E's sequence space, SYN and FIN counted; E's seq when it
 * has none (or its flags are unknown: nothing is inferred of it). */
static uint32_t seq_end(const struct ladder_ev *e)
{
	if ((e->has & (LADDER_FLAGS | LADDER_SEQ)) !=
	    (LADDER_FLAGS | LADDER_SEQ))
		return e->seq;
	return e->seq + e->len + !!(e->flags & TCP_SYN) +
	       !!(e->flags & TCP_FIN);
}

/* Whether E's flags are known and those of MASK are F. */
static bool flags_are(const struct ladder_ev *e, uint8_t mask, uint8_t f)
{
	return (e->has & LADDER_FLAGS) && (e->flags & mask) == f;
}

/* Which of the segments record R's end sent went again (sequence space
 * below the most it had sent, in its sending order; or R says so): MARK,
 * one flag an event. Only the sender knows: what its peer receives below
 * that may be reordered. The first SYN,ACK after the peer's SYN answers
 * it: in a simultaneous open it resends the SYN's sequence number, and
 * is no retransmission. */
static void mark_resent(const struct ladder_side *r, bool *mark)
{
	bool seen = false, syn_in = false, synack_out = false;
	uint32_t high = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct ladder_ev *e = &r->ev[i];
		uint32_t end = seq_end(e);
		mark[i] = e->type == LADDER_SEG && e->rexmit;
		if (e->type == LADDER_SEG && !e->out)
			syn_in |= flags_are(e, TCP_SYN | TCP_ACK, TCP_SYN);
		if (e->type != LADDER_SEG || !e->out || end == e->seq)
			continue;
		bool synack =
			flags_are(e, TCP_SYN | TCP_ACK, TCP_SYN | TCP_ACK);
		if (seen && (int32_t)(e->seq - high) < 0 &&
		    !(synack && syn_in && !synack_out))
			mark[i] = true;
		synack_out |= synack;
		if (!seen || (int32_t)(end - high) > 0)
			high = end;
		seen = true;
	}
}

/* The segment of record R, sent by its end, that arrived as E: the last
 * with E's sequence space and kind sent no later (a SYN and the SYN,ACK
 * of a simultaneous open have the same space); its index, or R->n. */
static size_t sent_as(const struct ladder_side *r, const struct ladder_ev *e)
{
	const uint8_t kind = TCP_SYN | TCP_ACK | TCP_FIN | TCP_RST;
	size_t found = r->n;
	for (size_t i = 0; i < r->n; i++) {
		const struct ladder_ev *s = &r->ev[i];
		if (s->type == LADDER_SEG && s->out && s->t <= e->t &&
		    s->seq == e->seq && seq_end(s) == seq_end(e) &&
		    (s->flags & kind) == (e->flags & kind))
			found = i;
	}
	return found;
}

/* Whether item IT is a retransmission: by its sender's record, which is
 * IT's own record when it sent IT, else the other when that is full (it
 * has what its end sent); a segment received, with no such record, only
 * if its record says so. MARK: mark_resent() of each record. */
static bool resent(const struct draw *d, const struct item *it,
		   bool *const mark[2])
{
	int s = it->side;
	const struct ladder_side *o = d->side[!s];
	size_t j;
	if (it->e->out)
		return mark[s][it->e - d->side[s]->ev];
	if (o && o->full && (j = sent_as(o, it->e)) < o->n)
		return mark[!s][j] || it->e->rexmit;
	return it->e->rexmit;
}

/* Mark the segments that are retransmissions. */
static int find_rexmits(struct draw *d)
{
	bool *mark[2] = {NULL, NULL};
	int err = 0;
	for (int s = 0; s < 2 && !err; s++) {
		size_t n = d->side[s] ? d->side[s]->n : 0;
		if (!(mark[s] = calloc(n + 1, sizeof(bool))))
			err = -ENOMEM;
		else if (n)
			mark_resent(d->side[s], mark[s]);
	}
	for (size_t i = 0; i < d->n && !err; i++)
		if (d->it[i].e->type == LADDER_SEG)
			d->it[i].rexmit = resent(d, &d->it[i], mark);
	free(mark[0]);
	free(mark[1]);
	return err;
}

/* ---- the rows ---- */

/* E's time since the first item's (0 for one before it: records of
 * two clocks' readings may be a little out of order). */
static uint64_t since(const struct draw *d, const struct ladder_ev *e)
{
	return e->t > d->t0 ? e->t - d->t0 : 0;
}

static long new_row(struct draw *d, int kind, const struct item *it)
{
	if (d->nrows == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct row *r = realloc(d->rows, cap * sizeof(*r));
		if (!r) {
			d->err = -ENOMEM;
			return -1;
		}
		d->rows = r;
		d->cap = cap;
	}
	struct row *r = &d->rows[d->nrows];
	*r = (struct row){.kind = (uint8_t)kind};
	if (it) {
		r->timed = true;
		r->t = since(d, it->e);
	}
	if (kind != ROW_TEXT)
		d->last_arrow = kind == ROW_ARROW ? (long)d->nrows : -1;
	return (long)d->nrows++;
}

/* Append to TEXT (TEXT_MAX bytes), printf style. */
__attribute__((format(printf, 2, 3))) static void add(char *text,
						      const char *fmt, ...)
{
	size_t len = strlen(text);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text + len, TEXT_MAX - len, fmt, ap);
	va_end(ap);
}

/* V relative to end S's ISN, or as it is when that is unknown. */
static uint32_t rel(const struct draw *d, int s, uint32_t v)
{
	return d->known[s] ? v - d->isn[s] : v;
}

/* The options, one unbroken word: "<mss 1460,sackOK,TS,wscale 7>" on a
 * SYN; SACK blocks, relative to the receiver's ISN, on others. */
static void add_opts(const struct draw *d, char *text, const struct item *it)
{
	const struct wire_opts *o = &it->e->opt;
	char sep = '<';
	if (it->e->flags & TCP_SYN) {
		if (o->has_mss)
			add(text, "%cmss%c%u", sep, NBSP, o->mss), sep = ',';
		if (o->sack_ok)
			add(text, "%csackOK", sep), sep = ',';
		if (o->has_ts)
			add(text, "%cTS", sep), sep = ',';
		if (o->has_ws)
			add(text, "%cwscale%c%u", sep, NBSP, o->ws), sep = ',';
	}
	for (int i = 0; i < o->nsack; i++) {
		add(text, "%c%s%" PRIu32 "-%" PRIu32, sep, i ? "" : "sack\x01",
		    rel(d, !it->from, o->sack[i].left),
		    rel(d, !it->from, o->sack[i].right));
		sep = ',';
	}
	if (sep != '<')
		add(text, "> ");
}

/* What a record says of an end's variables, as a line of its own. */
static void add_vars(const struct draw *d, char *text, int s,
		     const struct ladder_ev *e)
{
	const char *sep = "";
	if (e->has & LADDER_SND_UNA)
		add(text, "%ssnd_una=%" PRIu32, sep, rel(d, s, e->snd_una)),
			sep = " ";
	if (e->has & LADDER_SND_NXT)
		add(text, "%ssnd_nxt=%" PRIu32, sep, rel(d, s, e->snd_nxt)),
			sep = " ";
	if (e->has & LADDER_RCV_NXT)
		add(text, "%srcv_nxt=%" PRIu32, sep, rel(d, !s, e->rcv_nxt));
}

/* The name of a segment a record knows only by its sequence space: a
 * reset, or a retransmission (that of the ISN alone is the SYN). True
 * if that names its length too. */
static bool add_bare(const struct draw *d, char *text, const struct item *it)
{
	const struct ladder_ev *e = it->e;
	if (e->flags & TCP_RST) {
		add(text, "RST ");
	} else if ((e->has & (LADDER_SEQ | LADDER_LEN)) ==
			   (LADDER_SEQ | LADDER_LEN) &&
		   d->known[it->from] && e->seq == d->isn[it->from] &&
		   e->len == 1) {
		add(text, "SYN ");
		return true;
	}
	return false;
}

/* An arrow's label: flags, numbers, the retransmission mark, options,
 * and (after a newline) the recording end's variables. */
static void label(const struct draw *d, char *text, const struct item *it)
{
	const struct ladder_ev *e = it->e;
	int f = it->from;
	bool named = false;
	text[0] = 0;
	if (e->has & LADDER_FLAGS)
		wire_flags_format(e->flags, text, TEXT_MAX), add(text, " ");
	else
		named = add_bare(d, text, it);
	if (e->has & LADDER_SEQ)
		add(text, "seq=%" PRIu32 " ", rel(d, f, e->seq));
	if (e->has & LADDER_ACK)
		add(text, "ack=%" PRIu32 " ", rel(d, !f, e->ack));
	if (e->has & LADDER_WIN)
		add(text, "win=%" PRIu32 " ", e->win);
	if ((e->has & LADDER_LEN) && !named &&
	    (e->len || !(e->has & LADDER_FLAGS)))
		add(text, "len=%" PRIu32 " ", e->len);
	if (it->rexmit && e->times > 1)
		add(text, "(retransmitted%c%s%" PRIu32 ") ", NBSP,
		    d->g[G_TIMES], e->times);
	else if (it->rexmit)
		add(text, "(retransmitted) ");
	if (e->has & LADDER_OPTS)
		add_opts(d, text, it);
	size_t len = strlen(text);
	if (len && text[len - 1] == ' ')
		text[len - 1] = 0;
	if (e->has & (LADDER_SND_UNA | LADDER_SND_NXT | LADDER_RCV_NXT)) {
		add(text, "\n");
		add_vars(d, text, it->side, e);
	}
}

/* Columns a UTF-8 string takes: its bytes but continuation bytes. */
static unsigned cols(const char *s, size_t len)
{
	unsigned n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* Bytes of S's longest prefix that takes at most MAX columns. */
static size_t fit(const char *s, size_t len, unsigned max)
{
	size_t i = 0;
	unsigned n = 0;
	for (; i < len; i++) {
		bool lead = ((unsigned char)s[i] & 0xc0) != 0x80;
		if (lead && n == max)
			break;
		n += lead;
	}
	return i;
}

/* The length of S's next line of at most MAX columns: up to a newline,
 * else broken at the last space that fits, else after the last comma,
 * else where it must. */
static size_t next_line(const char *s, unsigned max)
{
	size_t nl = strcspn(s, "\n");
	if (cols(s, nl) <= max)
		return nl;
	size_t cut = fit(s, nl, max), i;
	for (i = cut; i > 0 && s[i] != ' '; i--)
		;
	if (i > 0)
		return i;
	for (i = cut; i > 1 && s[i - 1] != ','; i--)
		;
	return i > 1 ? i : cut;
}

/* Put LEN bytes of S in TEXT, the unbroken spaces as spaces. */
static void put_line(char *text, const char *s, size_t len)
{
	if (len >= TEXT_MAX)
		len = TEXT_MAX - 1;
	for (size_t i = 0; i < len; i++)
		text[i] = s[i] == NBSP ? ' ' : s[i];
	text[len] = 0;
}

/* TEXT in row R, in lines of at most MAX columns: the first in R, the
 * others on text rows under it, at end TO's side. */
static void put_text(struct draw *d, long r, const char *text, unsigned max,
		     uint8_t to)
{
	const char *s = text;
	for (long row = r;;) {
		size_t len = next_line(s, max);
		put_line(d->rows[row].text, s, len);
		s += len;
		s += *s == ' ' || *s == '\n';
		if (!*s || (row = new_row(d, ROW_TEXT, NULL)) < 0)
			break;
		d->rows[row].to = to;
	}
}

/* An arrow for segment IT, its label's further lines under it. */
static void add_seg(struct draw *d, const struct item *it)
{
	char text[TEXT_MAX];
	long r = new_row(d, ROW_ARROW, it);
	if (r < 0)
		return;
	d->rows[r].to = (uint8_t)!it->from;
	d->rows[r].item = (size_t)(it - d->it);
	d->rows[r].dashed = it->rexmit;
	d->rows[r].state[it->from] = d->pending[it->from];
	d->pending[it->from] = NULL;
	label(d, text, it);
	put_text(d, r, text, d->lane - 5, it->from);
}

/* Whether the item after I is a SYN, FIN or RST end S sends right after
 * it (entering SYN_SENT, FIN_WAIT_1, LAST_ACK, CLOSED): not an ACK, that
 * the peer's record may show arriving after a change it did not make. */
static bool sends_next(const struct draw *d, size_t i, size_t last, int s)
{
	if (i + 1 >= last)
		return false;
	const struct ladder_ev *nx = d->it[i + 1].e;
	return nx->type == LADDER_SEG && d->it[i + 1].from == s &&
	       ((nx->flags & (TCP_SYN | TCP_FIN | TCP_RST)) ||
		!(nx->has & LADDER_FLAGS)) &&
	       since(d, nx) <= since(d, d->it[i].e) + NEAR_NS;
}

/* Whether state change IT goes beside the last arrow, drawn at most
 * NEAR_NS before it: one that reached its end, or the reset its end just
 * sent (then it is CLOSED). */
static bool beside_last(const struct draw *d, const struct item *it)
{
	if (d->last_arrow < 0)
		return false;
	const struct row *r = &d->rows[d->last_arrow];
	const struct item *a = &d->it[r->item];
	return !r->state[it->side] &&
	       since(d, it->e) <= since(d, a->e) + NEAR_NS &&
	       (r->to == it->side || (a->e->flags & TCP_RST));
}

/* Whether a state is entered by a user's call that sends a SYN or a FIN
 * (connect, close), not by a segment that arrives (RFC 9293 3.5, 3.6). */
static bool sending_state(const char *state)
{
	return !strcmp(state, "SYN_SENT") || !strcmp(state, "FIN_WAIT_1") ||
	       !strcmp(state, "LAST_ACK");
}

/* A state change: one a user's call makes beside the SYN or FIN its end
 * sends next; else beside the arrow that just reached its end (or the
 * reset it just sent); else beside what its end sends next; else on a
 * row of its own with the variables its record has. */
static void add_state(struct draw *d, size_t i, size_t last)
{
	const struct item *it = &d->it[i];
	int s = it->side;
	bool next = sends_next(d, i, last, s);
	if (!(next && sending_state(it->e->to)) && beside_last(d, it)) {
		d->rows[d->last_arrow].state[s] = it->e->to;
		return;
	}
	if (next) {
		d->pending[s] = it->e->to;
		return;
	}
	char text[TEXT_MAX] = "";
	long r = new_row(d, ROW_EMPTY, it);
	if (r < 0)
		return;
	d->rows[r].state[s] = it->e->to;
	d->rows[r].to = (uint8_t)s;
	add_vars(d, text, s, it->e);
	if (!text[0])
		return;
	d->rows[r].kind = ROW_TEXT;
	put_text(d, r, text, d->lane - 4, (uint8_t)s); /* lane_text()'s */
}

/* A line that says N WHAT (events not shown, entries lost) between
 * dotted lifelines: in the lane, without its ellipses if it must, else
 * cut. */
static void add_gap(struct draw *d, const struct item *it, uint64_t n,
		    const char *what)
{
	long r = new_row(d, ROW_GAP, it);
	if (r < 0)
		return;
	char *text = d->rows[r].text;
	d->rows[r].timed = false;
	snprintf(text, TEXT_MAX, "%s %" PRIu64 " %s %s", d->g[G_MORE], n, what,
		 d->g[G_MORE]);
	if (cols(text, strlen(text)) > d->lane)
		snprintf(text, TEXT_MAX, "%" PRIu64 " %s", n, what);
	text[fit(text, strlen(text), d->lane)] = 0;
}

static void add_item(struct draw *d, size_t i, size_t last)
{
	const struct item *it = &d->it[i];
	switch (it->e->type) {
	case LADDER_STATE:
		add_state(d, i, last);
		break;
	case LADDER_SEG:
		add_seg(d, it);
		break;
	case LADDER_GAP:
		add_gap(d, it, it->e->lost,
			it->side ? "entries of the peer's record lost" :
				   "entries of this end's record lost");
		break;
	}
}

/* The state each end was in before its first change. */
static void add_start(struct draw *d)
{
	const char *first[2] = {NULL, NULL};
	for (size_t i = 0; i < d->n; i++)
		if (d->it[i].e->type == LADDER_STATE && !first[d->it[i].side])
			first[d->it[i].side] = d->it[i].e->from;
	if (!first[0] && !first[1])
		return;
	long r = new_row(d, ROW_EMPTY, NULL);
	if (r >= 0) {
		d->rows[r].state[0] = first[0];
		d->rows[r].state[1] = first[1];
	}
}

/* Every row: the first HEAD items, how many are left out, the last
 * TAIL. */
static void build(struct draw *d)
{
	size_t head = d->st->head, tail = d->st->tail, n = d->n;
	bool cut = n > head + tail;
	add_start(d);
	for (size_t i = 0; i < n && !d->err; i++) {
		if (cut && i == head) {
			add_gap(d, NULL, n - head - tail, "events not shown");
			i = n - tail;
		}
		add_item(d, i, cut && i < head ? head : n);
	}
}

/* ---- printing ---- */

/* A line under construction: bytes, and the columns they take. */
struct line {
	char b[WIDTH_MAX * 4 + 64];
	size_t len;
};

static void lput(struct line *l, const char *s)
{
	size_t n = strlen(s);
	if (l->len + n < sizeof(l->b)) {
		memcpy(l->b + l->len, s, n);
		l->len += n;
	}
}

static void lrep(struct line *l, const char *s, unsigned n)
{
	while (n--)
		lput(l, s);
}

static void lpad(struct line *l, const char *s, unsigned w, bool right)
{
	unsigned n = s ? cols(s, strlen(s)) : 0;
	if (right)
		lrep(l, " ", w > n ? w - n : 0);
	if (s)
		lput(l, s);
	if (!right)
		lrep(l, " ", w > n ? w - n : 0);
}

/* The lane of an arrow row: the label near its tail. */
static void lane_arrow(const struct draw *d, struct line *l,
		       const struct row *r)
{
	const char *shaft = d->g[r->dashed ? G_DASH : G_SHAFT];
	unsigned n = cols(r->text, strlen(r->text));
	unsigned k = d->lane > n + 4 ? d->lane - n - 4 : 1;
	if (r->to == 1) {
		lput(l, shaft);
		lput(l, " ");
		lput(l, r->text);
		lput(l, " ");
		lrep(l, shaft, k);
		lput(l, d->g[G_RIGHT]);
	} else {
		lput(l, d->g[G_LEFT]);
		lrep(l, shaft, k);
		lput(l, " ");
		lput(l, r->text);
		lput(l, " ");
		lput(l, shaft);
	}
}

/* The lane of any other row: text at the side it belongs to, or in the
 * middle of a gap. */
static void lane_text(const struct draw *d, struct line *l, const struct row *r)
{
	unsigned n = cols(r->text, strlen(r->text));
	unsigned w = d->lane > 4 ? d->lane - 4 : 0;
	if (r->kind == ROW_GAP) {
		unsigned left = d->lane > n ? (d->lane - n) / 2 : 0;
		lrep(l, " ", left);
		lpad(l, r->text, d->lane - left, false);
		return;
	}
	lput(l, "  ");
	lpad(l, r->kind == ROW_TEXT ? r->text : NULL, w, r->to == 1);
	lput(l, "  ");
}

static void print_time(const struct draw *d, struct line *l,
		       const struct row *r)
{
	char t[32] = "";
	if (r->top)
		snprintf(t, sizeof(t), "time");
	else if (r->timed)
		snprintf(t, sizeof(t), "%" PRIu64 ".%06" PRIu64,
			 r->t / 1000000000, r->t / 1000 % 1000000);
	lpad(l, t, d->tw, true);
}

static void print_row(struct draw *d, const struct row *r, struct buf *out)
{
	struct line l = {.len = 0};
	const char *life = d->g[r->kind == ROW_GAP ? G_DOTS : G_LIFE];
	print_time(d, &l, r);
	lput(&l, " ");
	lpad(&l, r->state[0], STATE_W, true);
	lput(&l, " ");
	lput(&l, life);
	if (r->kind == ROW_ARROW)
		lane_arrow(d, &l, r);
	else
		lane_text(d, &l, r);
	lput(&l, life);
	lput(&l, " ");
	lpad(&l, r->state[1], 0, false);
	while (l.len && l.b[l.len - 1] == ' ')
		l.len--;
	buf_add(out, l.b, l.len);
	buf_add(out, "\n", 1);
}

/* The width of the time column, the latest time's; the lane's, what the
 * width leaves (a dozen columns at least). */
static void measure(struct draw *d)
{
	char t[32];
	uint64_t last = 0;
	for (size_t i = 0; i < d->n; i++)
		if (since(d, d->it[i].e) > last)
			last = since(d, d->it[i].e);
	d->tw = (unsigned)snprintf(t, sizeof(t), "%" PRIu64 ".%06" PRIu64,
				   last / 1000000000, last / 1000 % 1000000);
	d->width = d->st->width < LADDER_WIDTH_MIN ? LADDER_WIDTH_MIN :
		   d->st->width > WIDTH_MAX	   ? WIDTH_MAX :
						     d->st->width;
	unsigned fixed = d->tw + 2 * STATE_W + 5;
	d->lane = d->width > fixed + 12 ? d->width - fixed : 12;
}

/* One end's header line: its address, whose record, its ISN; each in a
 * column as wide as the two ends need. The ISN goes on a line of its own
 * where the line would pass the width (long IPv6 addresses). */
static void print_end(const struct draw *d, int s, struct buf *out)
{
	const struct ladder_side *me = d->side[0];
	const char *who[2] = {me->label,
			      d->side[1] ? d->side[1]->label : "no record"};
	char a[2][64] = {"?", "?"}, isn[48];
	wire_ep_format(&me->local, a[0], sizeof(a[0]));
	wire_ep_format(&me->remote, a[1], sizeof(a[1]));
	size_t w = strlen(a[strlen(a[0]) < strlen(a[1])]);
	size_t l = strlen(who[strlen(who[0]) < strlen(who[1])]);
	if (d->known[s])
		snprintf(isn, sizeof(isn), "ISN %" PRIu32, d->isn[s]);
	else
		snprintf(isn, sizeof(isn),
			 "ISN unknown: its numbers are absolute");
	bool wrap = 9 + 1 + w + 2 + l + 2 + strlen(isn) > d->width;
	buf_printf(out, "%-9s %-*s  %-*s%s%s\n", s ? "peer" : "this end",
		   (int)w, a[s], wrap ? 0 : (int)l, who[s],
		   wrap ? "\n          " : "  ", isn);
}

static void print(struct draw *d, struct buf *out)
{
	struct row top = {.state = {"this end", "peer"}, .top = true};
	print_end(d, 0, out);
	print_end(d, 1, out);
	buf_printf(out, "time in seconds from the first event; seq and ack "
			"relative to the sender's ISN\n");
	if (d->src < 0)
		buf_printf(out, "segments other than resets and "
				"retransmissions are not recorded\n");
	buf_printf(out, "\n");
	print_row(d, &top, out);
	for (size_t i = 0; i < d->nrows; i++)
		print_row(d, &d->rows[i], out);
}

int ladder_render(const struct ladder_side *own, const struct ladder_side *peer,
		  const struct ladder_style *st, struct buf *out)
{
	struct draw d = {.st = st,
			 .g = st->ascii ? ascii : utf8,
			 .side = {own, peer},
			 .src = own->full	   ? 0 :
				peer && peer->full ? 1 :
						     -1,
			 .last_arrow = -1};
	if (own->oom || (peer && peer->oom))
		return -ENOMEM;
	int err = merge(&d);
	if (!err) {
		find_isns(&d);
		err = find_rexmits(&d);
	}
	if (!err) {
		measure(&d);
		build(&d);
		err = d.err;
	}
	if (!err)
		print(&d, out);
	free(d.it);
	free(d.rows);
	return err ? err : out->err;
}
