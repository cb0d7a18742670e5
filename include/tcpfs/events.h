/* tcpfs events: lines broadcast to every open reader of MNT/events.
 *
 * Each subscriber has its own bounded queue; a reader too slow to keep up
 * loses lines, and is told how many in a line of its own. */
#ifndef TCPFS_EVENTS_H
#define TCPFS_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes a subscriber may have queued. */
#define EVENTS_QUEUE_MAX (256 * 1024)

struct events;
struct events_sub;

/* An empty hub. */
struct events *events_new(void);
/* Free the hub and every subscriber. */
void events_free(struct events *ev);
/* A new subscriber: it sees the lines posted from now on. */
struct events_sub *events_subscribe(struct events *ev);
/* Remove and free a subscriber. */
void events_unsubscribe(struct events *ev, struct events_sub *sub);
/* Queue LINE (a newline is added) for every subscriber. */
void events_post(struct events *ev, const char *line);
/* True if SUB has something to read. */
bool events_pending(const struct events_sub *sub);
/* Move whole lines, at most SIZE bytes, from SUB's queue to BUF; the bytes
 * moved (a line longer than SIZE is cut to fit). */
size_t events_read(struct events_sub *sub, char *buf, size_t size);
/* The opaque pointer a subscriber carries (a parked request). */
void **events_waiter(struct events_sub *sub);
/* Call FN for every subscriber. */
void events_each(struct events *ev, void (*fn)(struct events_sub *, void *),
		 void *arg);

#endif
