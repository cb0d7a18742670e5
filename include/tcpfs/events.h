/* tcpfs events: the hub of lines broadcast to every open reader of
 * MNT/events (not the engine's TCP_EV_ events, nor the kernel's destroy
 * monitor, which both post here).
 *
 * Each subscriber has its own bounded queue and a wait queue woken when a
 * line is posted; a reader too slow to keep up loses lines, and is told how
 * many in a line of its own. */
#ifndef TCPFS_EVENTS_H
#define TCPFS_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcpfs/waitq.h"

/* Bytes a subscriber may have queued. */
#define EVENTS_QUEUE_MAX (256 * 1024)

struct events;
struct events_sub;

/* An empty hub; NULL on ENOMEM. */
struct events *events_new(void);
/* Free the hub and every subscriber (nobody may wait on one). */
void events_free(struct events *ev);
/* A new subscriber: it sees the lines posted from now on; NULL on ENOMEM. */
struct events_sub *events_subscribe(struct events *ev);
/* Remove and free subscriber SUB of EV (nobody may wait on it). */
void events_unsubscribe(struct events *ev, struct events_sub *sub);
/* Queue LINE (a newline is added) for every subscriber of EV and wake
 * their wait queues. */
void events_post(struct events *ev, const char *line);
/* Post to EV the line FMT formats, after the wall clock time
 * ("SECONDS.MICROSECONDS "); cut to 512 bytes. */
void events_say(struct events *ev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* True if SUB has something to read. */
bool events_pending(const struct events_sub *sub);
/* Move whole lines, at most SIZE bytes, from SUB's queue to BUF; returns
 * the bytes moved (a line longer than SIZE is cut to fit). */
size_t events_read(struct events_sub *sub, char *buf, size_t size);
/* SUB's wait queue: woken whenever a line is posted. */
struct waitq *events_waitq(struct events_sub *sub);

#endif
