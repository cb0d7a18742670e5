/* Broadcast of event lines to every open reader, each with its own queue. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tcpfs/buf.h"
#include "tcpfs/events.h"
#include "tcpfs/log.h"

struct events_sub {
	struct events_sub *next;
	struct buf q;
	size_t head;		/* bytes of q already read */
	uint64_t lost;		/* lines dropped since the last read */
	struct waitq wq;	/* readers waiting for a line */
	uint64_t scope;		/* its reader's */
	bool scoped;		/* SCOPE came from the scope function */
	struct kind_caller who; /* its reader, when scoped */
	bool all;  /* it sees the lines of every scope: root's (or no
		     reader's), not bounded in number */
	uid_t uid; /* its reader's */
};

struct events {
	struct events_sub *subs;
	events_scope_fn scope_of;
	events_leave_fn leave;
	void *scope_arg;
};

struct events *events_new(void)
{
	return calloc(1, sizeof(struct events));
}

void events_free(struct events *ev)
{
	if (!ev)
		return;
	while (ev->subs)
		events_unsubscribe(ev, ev->subs);
	free(ev);
}

void events_set_scope(struct events *ev, events_scope_fn fn,
		      events_leave_fn leave, void *arg)
{
	ev->scope_of = fn;
	ev->leave = leave;
	ev->scope_arg = arg;
}

/* Whether a subscriber of WHO would pass a bound: every reader's queue
 * may fill, and no user may take the daemon's memory from the others. */
static bool too_many(const struct events *ev, const struct kind_caller *who)
{
	unsigned all = 0, mine = 0;
	if (!who || who->uid == 0)
		return false;
	for (const struct events_sub *s = ev->subs; s; s = s->next) {
		all += !s->all;
		mine += !s->all && s->uid == who->uid;
	}
	if (all < EVENTS_SUBS_MAX && mine < EVENTS_SUBS_UID_MAX)
		return false;
	tlog(LOG_WARNING,
	     "events: uid %u's open refused (EMFILE): %u readers other than "
	     "root's already, %u of them uid %u's (at most %d, and %d a uid)",
	     (unsigned)who->uid, all, mine, (unsigned)who->uid, EVENTS_SUBS_MAX,
	     EVENTS_SUBS_UID_MAX);
	return true;
}

struct events_sub *events_subscribe(struct events *ev,
				    const struct kind_caller *who)
{
	if (too_many(ev, who)) {
		errno = EMFILE;
		return NULL;
	}
	struct events_sub *sub = calloc(1, sizeof(*sub));
	if (!sub)
		return NULL;
	sub->all = !who || who->uid == 0;
	sub->uid = who ? who->uid : 0;
	sub->scoped = who && ev->scope_of;
	if (sub->scoped) {
		int err = ev->scope_of(ev->scope_arg, who, &sub->scope);
		if (err < 0) {
			free(sub);
			errno = -err;
			return NULL;
		}
		sub->who = *who;
	}
	waitq_init(&sub->wq);
	sub->next = ev->subs;
	ev->subs = sub;
	return sub;
}

void events_unsubscribe(struct events *ev, struct events_sub *sub)
{
	struct events_sub **p = &ev->subs;
	while (*p && *p != sub)
		p = &(*p)->next;
	if (*p)
		*p = sub->next;
	if (sub->scoped && ev->leave)
		ev->leave(ev->scope_arg, &sub->who, sub->scope);
	buf_free(&sub->q);
	free(sub);
}

/* Queue the line that tells SUB how many lines it lost, if it lost any. */
static void say_lost(struct events_sub *sub)
{
	if (sub->lost) {
		buf_printf(&sub->q, "lost %llu events\n",
			   (unsigned long long)sub->lost);
		sub->lost = 0;
	}
}

static void enqueue(struct events_sub *sub, const char *line, size_t len)
{
	if (sub->head > sub->q.len / 2) { /* compact the read part away */
		memmove(sub->q.p, sub->q.p + sub->head, sub->q.len - sub->head);
		sub->q.len -= sub->head;
		sub->head = 0;
	}
	if (sub->q.len - sub->head + len + 1 > EVENTS_QUEUE_MAX) {
		sub->lost++;
		return;
	}
	size_t was = sub->q.len;
	uint64_t lost = sub->lost;
	say_lost(sub);
	buf_add(&sub->q, line, len);
	buf_add(&sub->q, "\n", 1);
	if (sub->q.err) { /* out of memory: this line is lost, not the next */
		sub->q.len = was;
		sub->q.err = 0;
		sub->lost = lost + 1;
	}
}

/* Queue LINE (of SCOPE; OTHER: as subscribers of another scope that see
 * every scope get it, NULL for an unscoped line) and wake who gets it. */
static void post(struct events *ev, uint64_t scope, const char *line,
		 const char *other)
{
	size_t len = strlen(line), olen = other ? strlen(other) : 0;
	for (struct events_sub *s = ev->subs; s; s = s->next) {
		if (!scope || s->scope == scope)
			enqueue(s, line, len);
		else if (s->all)
			enqueue(s, other, olen);
	}
	for (struct events_sub *s = ev->subs, *next; s; s = next) {
		next = s->next;
		if (!scope || s->scope == scope || s->all)
			waitq_wake(&s->wq);
	}
}

void events_post(struct events *ev, const char *line)
{
	post(ev, 0, line, NULL);
}

/* Print the wall clock's stamp into LINE (SIZE bytes); its length. */
static int stamp(char *line, size_t size)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return snprintf(line, size, "%lld.%06ld ", (long long)ts.tv_sec,
			ts.tv_nsec / 1000);
}

void events_say(struct events *ev, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n = stamp(line, sizeof(line));
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	events_post(ev, line);
}

void events_say_in(struct events *ev, uint64_t scope, const char *elsewhere,
		   const char *fmt, ...)
{
	char line[512], other[512];
	va_list ap;
	int n = stamp(line, sizeof(line));
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	snprintf(other, sizeof(other), "%.*s%s%s", n, line, elsewhere,
		 line + n);
	post(ev, scope, line, scope ? other : NULL);
}

bool events_pending(const struct events_sub *sub)
{
	return sub->head < sub->q.len || sub->lost;
}

size_t events_read(struct events_sub *sub, char *buf, size_t size)
{
	if (sub->head == sub->q.len) /* caught up: say what was lost now */
		say_lost(sub);
	const char *start = sub->q.p + sub->head;
	size_t avail = sub->q.len - sub->head, n = 0;

	while (n < avail) {
		const char *nl = memchr(start + n, '\n', avail - n);
		size_t line = (size_t)(nl - (start + n)) + 1;
		if (n + line > size)
			break;
		n += line;
	}
	if (n == 0) /* one line longer than the reader's buffer */
		n = avail < size ? avail : size;
	memcpy(buf, start, n);
	sub->head += n;
	return n;
}

struct waitq *events_waitq(struct events_sub *sub)
{
	return &sub->wq;
}
