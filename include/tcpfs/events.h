/* tcpfs events: the hub of lines broadcast to every open reader of
 * MNT/events (not the engine's TCP_EV_ events, nor the kernel's destroy
 * monitor, which both post here).
 *
 * Each subscriber has its own bounded queue and a wait queue woken when a
 * line is posted; a reader too slow to keep up loses lines, and is told how
 * many in a line of its own as soon as it has read what was kept.
 *
 * A line may belong to a scope (the kernel's: a network namespace): it
 * goes as is to the subscribers in that scope, with the scope named to
 * those that see every scope (root), and to nobody else. A subscriber's
 * scope is the one the scope function gives for its reader. */
#ifndef TCPFS_EVENTS_H
#define TCPFS_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcpfs/kind.h"
#include "tcpfs/waitq.h"

/* Bytes a subscriber may have queued. */
#define EVENTS_QUEUE_MAX (256 * 1024)
/* Subscribers at once other than root's, and of one uid other than root:
 * each may queue EVENTS_QUEUE_MAX (64 and 8 MiB). */
#define EVENTS_SUBS_MAX 256
#define EVENTS_SUBS_UID_MAX 32

struct events;
struct events_sub;

/**
 * events_new - an empty hub
 * Returns it, or NULL with errno ENOMEM.
 */
struct events *events_new(void);
/**
 * events_free - free a hub and every subscriber
 * \param ev: the hub, or NULL; nobody may wait on a subscriber
 */
void events_free(struct events *ev);
/* The scope of a reader WHO, at subscribe (see events_set_scope()), into
 * SCOPE: 0, or -errno to refuse it. */
typedef int (*events_scope_fn)(void *arg, const struct kind_caller *who,
			       uint64_t *scope);
/* Subscriber WHO of SCOPE leaves. */
typedef void (*events_leave_fn)(void *arg, const struct kind_caller *who,
				uint64_t scope);

/**
 * events_set_scope - how to find a reader's scope, for scoped lines
 * \param ev: the hub
 * \param fn: called with ARG at each subscribe, whose error it returns;
 *            without it, every reader is in scope 0 (sees only unscoped
 *            lines, or all if root)
 * \param leave: called with ARG, the reader and the scope FN gave when a
 *               subscriber goes (so that its scope's source may stop), or
 *               NULL
 */
void events_set_scope(struct events *ev, events_scope_fn fn,
		      events_leave_fn leave, void *arg);
/**
 * events_subscribe - a new subscriber, seeing the lines posted from now on
 * \param ev: the hub
 * \param who: its reader: its scope, and whether it sees every scope (uid
 *             0); NULL: sees every line, as posted
 * Returns it, or NULL with errno: ENOMEM; EMFILE past EVENTS_SUBS_MAX or
 * EVENTS_SUBS_UID_MAX (the reason logged); or the scope function's.
 */
struct events_sub *events_subscribe(struct events *ev,
				    const struct kind_caller *who);
/**
 * events_unsubscribe - remove and free a subscriber
 * \param ev: the hub
 * \param sub: its subscriber; nobody may wait on it
 */
void events_unsubscribe(struct events *ev, struct events_sub *sub);
/**
 * events_post - queue a line for every subscriber and wake their queues
 * \param ev: the hub
 * \param line: the line, without its newline (one is added)
 */
void events_post(struct events *ev, const char *line);
/**
 * events_say - post a line stamped with the wall clock
 * \param ev: the hub
 * \param fmt: the line after "SECONDS.MICROSECONDS ", printf style; the
 *              whole line is cut to 511 bytes
 */
void events_say(struct events *ev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/**
 * events_say_in - events_say() for a line of a scope
 * \param ev: the hub
 * \param scope: its scope; 0: every subscriber's (events_say())
 * \param elsewhere: put after the stamp for subscribers of another scope
 *                   that see every scope (e.g. "netns/4026531840/")
 * \param fmt: as events_say()
 */
void events_say_in(struct events *ev, uint64_t scope, const char *elsewhere,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/**
 * events_pending - whether a subscriber has something to read
 * \param sub: the subscriber
 * Returns true if a read would give bytes.
 */
bool events_pending(const struct events_sub *sub);
/**
 * events_read - take whole lines from a subscriber's queue
 * \param sub: the subscriber
 * \param buf: where to, SIZE bytes
 * \param size: at most this many bytes
 * Returns the bytes moved: whole lines, or one line cut to fit in SIZE.
 */
size_t events_read(struct events_sub *sub, char *buf, size_t size);
/**
 * events_waitq - a subscriber's wait queue
 * \param sub: the subscriber
 * Returns the queue woken whenever a line is posted.
 */
struct waitq *events_waitq(struct events_sub *sub);

#endif
