/* tcpfs khist: kernel sockets' state history, as kbpf_drain() tells it,
 * kept per socket cookie for the kernel kind (its trace row, its iss/irs,
 * its events lines).
 *
 * Each socket keeps its last KHIST_DEPTH entries; the store keeps at most
 * its MAX sockets and evicts the one least recently added to. A socket
 * that closed stays until evicted. Pure data: no I/O, no clock. */
#ifndef TCPFS_KHIST_H
#define TCPFS_KHIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcpfs/diag.h"
#include "tcpfs/wire.h"

struct buf;
struct ladder_side;

/* Entries kept per socket; room made for them at first (a socket's life
 * is some 4 to 8 changes of state), doubled as they come; sockets kept
 * by default. */
#define KHIST_DEPTH 32
#define KHIST_ROOM 8
#define KHIST_SOCKETS 4096
/* The version of what khist_save() writes. */
#define KHIST_SAVE_VERSION 1

/* Entry types (the values of enum kbpf_event_type). */
enum khist_type {
	KHIST_STATE = 1,      /* from -> to */
	KHIST_RESET_SENT = 2, /* the kernel sent a RST */
	KHIST_RESET_RECV = 3, /* a RST arrived */
	KHIST_RETRANS = 4,    /* [seq, end_seq) retransmitted */
};

/* Which fields of an entry are valid (the values of the KBPF_* bits). */
enum {
	KHIST_SND_UNA = 1u << 0,
	KHIST_SND_NXT = 1u << 1,
	KHIST_RCV_NXT = 1u << 2,
	KHIST_ISS = 1u << 6,
	KHIST_IRS = 1u << 7,
	KHIST_SEQ = 1u << 8,
};

/* One event of one socket. Every byte a member (ZERO is 0), so that
 * khist_save() writes it as it is; a change of layout is a change of
 * KHIST_SAVE_VERSION. */
struct khist_ent {
	uint64_t ts_ns;	  /* CLOCK_MONOTONIC */
	uint8_t type;	  /* enum khist_type */
	uint8_t from, to; /* STATE: kernel TCP_* states */
	uint8_t zero;
	uint32_t has; /* KHIST_* bits */
	uint32_t snd_una, snd_nxt, rcv_nxt, iss, irs;
	uint32_t seq, end_seq; /* RETRANS */
	uint32_t count;	       /* RETRANS: times in a row (1 or more) */
};

/* One socket's history. */
struct khist_sock {
	uint64_t cookie;
	struct diag_key key; /* the last complete tuple seen, with COOKIE */
	bool named;	     /* KEY is known (both ports seen) */
	uint32_t n;	     /* entries ever added; the last DEPTH are kept */
	uint32_t said;	     /* entries the owner has handled (its cursor) */
	uint64_t retrans;    /* retransmits, all told */
	bool has_iss, has_irs;
	uint32_t iss, irs;
	/* entry i at ent[i % DEPTH]: room for ROOM of them, then twice as
	 * many each time it fills, up to DEPTH, then a ring */
	struct khist_ent *ent;
	uint32_t room;
	/* the store's links */
	struct khist_sock *hnext, *prev, *next;
};

struct khist;

/**
 * khist_new - an empty store
 * \param max: most sockets kept (at least 1)
 * Returns it, or NULL with errno ENOMEM (or EINVAL if MAX is 0).
 */
struct khist *khist_new(size_t max);
/**
 * khist_free - free a store and its sockets
 * \param h: it, or NULL
 */
void khist_free(struct khist *h);
/**
 * khist_add - add an entry to a socket's history (made if new, evicting
 * the least recently added to socket when full), the socket becoming the
 * most recent; a change into SYN_SENT or LISTEN (a socket connecting or
 * listening anew keeps its cookie) begins the history afresh: no entry,
 * name, retransmit count, iss or irs of before
 * \param h: the store
 * \param key: the socket's tuple and cookie; its ports may be 0 (not
 *             known yet: entering SYN_SENT or SYN_RECV), then the tuple
 *             already kept stays
 * \param e: the entry (count ignored); a retransmit of the same range
 *           as the last entry counts there instead
 * Returns the socket, or NULL with errno ENOMEM.
 */
struct khist_sock *khist_add(struct khist *h, const struct diag_key *key,
			     const struct khist_ent *e);
/**
 * khist_save - the store, for a new image of the daemon (an upgrade)
 * \param h: the store
 * \param out: appended: each socket, the most recently added to first,
 *             with what it keeps (its entries, name, numbers, cursor)
 */
void khist_save(const struct khist *h, struct buf *out);
/**
 * khist_load - take into a store what khist_save() of this version wrote,
 *              as less recent than every socket it has (those are newer,
 *              and left as they are), as far as it has room
 * \param h: the store
 * \param p: LEN bytes
 * Returns 0; -EINVAL if they are not such (what came before the fault
 * stays); -ENOMEM.
 */
int khist_load(struct khist *h, const void *p, size_t len);
/**
 * khist_get - a socket's history
 * \param h: the store
 * \param cookie: the socket's cookie
 * Returns it, or NULL if the store has none.
 */
struct khist_sock *khist_get(const struct khist *h, uint64_t cookie);
/**
 * khist_count - sockets kept
 */
size_t khist_count(const struct khist *h);
/**
 * khist_first - the index of a socket's oldest entry kept
 */
uint32_t khist_first(const struct khist_sock *s);
/**
 * khist_at - a socket's entry I, khist_first() <= I < s->n
 */
const struct khist_ent *khist_at(const struct khist_sock *s, uint32_t i);
/**
 * khist_format - one trace line (without newline) of an entry
 * \param e: the entry
 * \param t0: the time its times count from (the first entry's)
 * \param buf: SIZE bytes, always terminated if SIZE > 0
 * Returns the length it needed (snprintf style).
 */
int khist_format(const struct khist_ent *e, uint64_t t0, char *buf,
		 size_t size);
/**
 * khist_find - the socket at the other end of a record's connection
 * \param h: the store
 * \param of: the record (ladder.h): the socket's local address is OF's
 *            remote and its remote OF's local (ladder_peer_of(): IPv4
 *            and IPv4-mapped IPv6 alike)
 * Returns, of the sockets that lived while OF's connection did (others
 * are former or later connections of that tuple), the most recently added
 * to whose ISN is OF's irs or whose irs is OF's iss, else the most recently
 * added to; NULL if none.
 */
struct khist_sock *khist_find(const struct khist *h,
			      const struct ladder_side *of);
/**
 * khist_ladder - a socket's history as a ladder record (ladder.h): its
 *                states with the sequence numbers recorded with them,
 *                its resets and retransmissions; not a full record
 * \param s: the socket
 * \param out: filled (after ladder_side_init()), its label "kernel #COOKIE"
 * Returns 0, or -ENOMEM (some events are missing).
 */
int khist_ladder(const struct khist_sock *s, struct ladder_side *out);

#endif
