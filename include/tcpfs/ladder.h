/* tcpfs ladder: a connection's history drawn as a ladder diagram.
 *
 * Each end of a connection that tcpfs keeps a record of gives a struct
 * ladder_side: its two addresses, the initial sequence numbers it knows,
 * and its events in time order: its state changes, the segments it sent
 * and received (every one for an engine connection; only the resets and
 * retransmissions for a kernel socket), and the gaps where its record lost
 * entries. ladder_render() draws this end on the left and the peer on the
 * right, with the peer's own record when tcpfs has one (its states then
 * show too): an arrow per segment, each end's state beside it as it
 * changes, the time on the left, seq and ack relative to the sender's ISN.
 *
 * Pure: no I/O, no clock; the kinds fill the sides, fs draws them. */
#ifndef TCPFS_LADDER_H
#define TCPFS_LADDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcpfs/buf.h"
#include "tcpfs/wire.h"

/* What an event is. */
enum ladder_type {
	LADDER_STATE, /* FROM -> TO */
	LADDER_SEG,   /* a segment sent (OUT) or received */
	LADDER_GAP,   /* the record lost LOST entries here */
};

/* Which fields of an event are known. */
enum {
	LADDER_FLAGS = 1u << 0, /* flags (else only RST or a retransmission) */
	LADDER_SEQ = 1u << 1,
	LADDER_ACK = 1u << 2,
	LADDER_WIN = 1u << 3,
	LADDER_LEN = 1u << 4, /* payload bytes; without FLAGS: the sequence
				 space, SYN and FIN counted */
	LADDER_OPTS = 1u << 5,
	LADDER_SND_UNA = 1u << 6, /* the recording end's variables then */
	LADDER_SND_NXT = 1u << 7,
	LADDER_RCV_NXT = 1u << 8,
};

/* One event of one end. Times are in nanoseconds on a clock both ends'
 * records share (CLOCK_MONOTONIC). */
struct ladder_ev {
	uint64_t t;
	uint8_t type;  /* enum ladder_type */
	bool out;      /* SEG: sent by this end, else received */
	bool rexmit;   /* SEG: a retransmission, as the record says */
	uint8_t flags; /* SEG: TCP_SYN, TCP_ACK, ... */
	uint32_t has;  /* LADDER_* */
	uint32_t seq, ack, win, len;
	uint32_t times;	      /* SEG: sent this many times in a row (0: once) */
	struct wire_opts opt; /* SEG: with LADDER_OPTS */
	const char *from, *to; /* STATE: state names, static strings */
	uint32_t snd_una, snd_nxt, rcv_nxt;
	uint64_t lost; /* GAP */
};

/* One end's record of a connection. */
struct ladder_side {
	struct wire_ep local, remote;
	char label[48]; /* where it is shown: "engine/3", "kernel #1f0a" */
	bool full; /* every segment is in EV, not only RSTs and retransmits */
	bool has_iss, has_irs;
	uint32_t iss, irs;
	struct ladder_ev *ev;
	size_t n, cap;
	bool oom; /* an event could not be added */
};

/* How to draw. */
struct ladder_style {
	bool ascii;	/* '|', '-', '>' instead of box drawing and arrows */
	unsigned width; /* columns, at least LADDER_WIDTH_MIN */
	unsigned head, tail; /* a longer history shows its first HEAD and
				last TAIL events, and how many between */
};

#define LADDER_WIDTH 80
#define LADDER_WIDTH_MIN 60
#define LADDER_HEAD 40
#define LADDER_TAIL 40

/**
 * ladder_style_default - 80 columns, UTF-8, the first and last 40 events
 * \param st: filled
 */
void ladder_style_default(struct ladder_style *st);
/**
 * ladder_utf8_locale - whether the locale the environment names writes
 *                      UTF-8, as setlocale(LC_CTYPE, "") would choose it
 * \param lc_all: $LC_ALL, or NULL
 * \param lc_ctype: $LC_CTYPE, or NULL
 * \param lang: $LANG, or NULL
 * Returns true if the first of them set and not empty names the UTF-8
 * codeset ("en_US.UTF-8", "C.utf8"); false otherwise (none set: "C").
 */
bool ladder_utf8_locale(const char *lc_all, const char *lc_ctype,
			const char *lang);
/**
 * ladder_side_init - an empty record
 * \param s: set
 */
void ladder_side_init(struct ladder_side *s);
/**
 * ladder_side_free - free a record's events (it may be filled again
 *                    after ladder_side_init())
 * \param s: it
 */
void ladder_side_free(struct ladder_side *s);
/**
 * ladder_add - a new event at the end of a record
 * \param s: the record; events go in time order
 * Returns the event, zeroed but for its TYPE; NULL when out of memory
 * (then s->oom is set).
 */
struct ladder_ev *ladder_add(struct ladder_side *s, enum ladder_type type);
/**
 * ladder_peer_of - whether an end is the peer of a record's end
 * \param of: the record
 * \param local: the end's local address and port
 * \param remote: its remote one
 * Returns true if LOCAL is OF's remote and REMOTE OF's local, an IPv4
 * address and its IPv4-mapped IPv6 form (a dual-stack socket's) alike.
 */
bool ladder_peer_of(const struct ladder_side *of, const struct wire_ep *local,
		    const struct wire_ep *remote);

/* When a connection lived, as its record tells, and the ISNs it knows:
 * what tells it from another connection of the same four-tuple. */
struct ladder_span {
	uint64_t first, last; /* its record's earliest and latest events */
	bool closed;	      /* the last state it entered is CLOSED; else it
				 lives on after LAST */
	bool has_iss, has_irs;
	uint32_t iss, irs;
};

/* How well a connection fits as a record's peer (ladder_fit()). */
enum ladder_fit {
	LADDER_FIT_NONE, /* it lived at another time */
	LADDER_FIT_TIME, /* it lived at the same time */
	LADDER_FIT_ISN,	 /* and an ISN one end chose is the other's irs */
};

/**
 * ladder_span_init - an empty span, for ladder_span_add()
 * \param sp: set
 */
void ladder_span_init(struct ladder_span *sp);
/**
 * ladder_span_add - one event of a record, in the record's order
 * \param sp: the span
 * \param t: the event's time
 * \param to: the state it entered ("CLOSED", ...), or NULL (not a state)
 */
void ladder_span_add(struct ladder_span *sp, uint64_t t, const char *to);
/**
 * ladder_span_of - a record's span
 * \param s: the record
 * \param sp: set
 */
void ladder_span_of(const struct ladder_side *s, struct ladder_span *sp);
/**
 * ladder_fit - how well a connection of a record's four-tuple, swapped
 *              (ladder_peer_of()), fits as the record's peer
 * \param of: the record's span
 * \param c: the connection's
 * Returns LADDER_FIT_NONE unless their lifetimes overlap (one that has
 * not closed lives on); LADDER_FIT_ISN if one's iss is the other's irs;
 * else LADDER_FIT_TIME.
 */
enum ladder_fit ladder_fit(const struct ladder_span *of,
			   const struct ladder_span *c);
/**
 * ladder_render - draw a connection's ladder
 * \param own: this end's record: the left column
 * \param peer: the peer's record (its local address is OWN's remote), or
 *              NULL when tcpfs has none: the right column then shows only
 *              what OWN saw of it
 * \param st: how to draw
 * \param out: the diagram, appended
 * Segments are drawn from OWN when it is full, else from PEER when it is,
 * else from both (a reset one end sent and the other received, once).
 * Returns 0, or -ENOMEM (an event could not be recorded, or OUT failed).
 */
int ladder_render(const struct ladder_side *own, const struct ladder_side *peer,
		  const struct ladder_style *st, struct buf *out);

#endif
