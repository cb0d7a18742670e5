/* tcpfs link: packet impairments and an in-memory link, sans I/O.
 *
 * impair is one direction of a bad network: loss, duplication, reordering,
 * corruption, delay with jitter and a bandwidth limit with a bounded queue,
 * decided by a seeded PRNG so that a run can be replayed exactly. It copies
 * packets in with impair_push() and hands them out with impair_pop() when
 * they are due; it reads no clock (times are microseconds, the caller's
 * clock, as tcp_time) and knows nothing of what the packets hold.
 *
 * memlink joins two sides, A and B, with an impair stage per direction and
 * delivers each packet by calling the receiving side's function: two
 * engines talk through it in simulated time. */
#ifndef TCPFS_LINK_H
#define TCPFS_LINK_H

#include <stddef.h>
#include <stdint.h>

/* No deadline (the same value as TCP_NEVER). */
#define LINK_NEVER UINT64_MAX
/* The largest packet a stage takes: an IPv6 header and a 64 KiB payload. */
#define LINK_MAX_PKT (40 + 65535)

/* Rates are percentages (0 to 100), times microseconds; all zero is a
 * perfect link. */
struct impair_config {
	double loss;	  /* packets dropped */
	double duplicate; /* packets sent twice */
	double corrupt;	  /* copies with one random bit flipped */
	/* Packets held back until the next one has passed (or reorder_wait,
	 * 0 = 10 ms, is over). */
	double reorder;
	uint64_t reorder_wait;
	/* Added to every packet: delay, and up to jitter more (uniform);
	 * jitter keeps the order of packets. */
	uint64_t delay, jitter;
	/* Bytes per second on the wire (0 = unlimited, at most 2^40), and
	 * how many bytes may wait for it (0 = 64 KiB, at most 4 GiB) before
	 * packets are tail dropped. */
	uint64_t rate;
	size_t queue_max;
	unsigned limit; /* packets in the stage at most (0 = 10000) */
};

/* Counters of one stage, in packets. */
struct impair_stats {
	uint64_t pushed;      /* given to impair_push() */
	uint64_t passed;      /* handed out by impair_pop() */
	uint64_t lost;	      /* dropped by the loss rate */
	uint64_t duplicated;  /* extra copies made */
	uint64_t reordered;   /* held back behind a later packet */
	uint64_t corrupted;   /* copies with a bit flipped */
	uint64_t queue_drops; /* tail dropped: queue_max or limit */
	unsigned queued;      /* in the stage now */
};

struct impair;

/**
 * impair_new - an impairment stage
 * \param cfg: its impairments (NULL: a perfect link)
 * \param seed: its PRNG's
 * Returns it; NULL with errno EINVAL (a percentage outside 0..100, a time
 * over 2^48) or ENOMEM.
 */
struct impair *impair_new(const struct impair_config *cfg, uint64_t seed);
/**
 * impair_free - free a stage and every packet in it
 * \param imp: it, or NULL
 */
void impair_free(struct impair *imp);
/**
 * impair_push - offer a packet
 * \param imp: the stage
 * \param pkt: LEN bytes
 * \param now: the time
 * Returns 0 (even if the stage dropped it); -EINVAL (LEN 0 or above
 * LINK_MAX_PKT); -ENOMEM.
 */
int impair_push(struct impair *imp, const uint8_t *pkt, size_t len,
		uint64_t now);
/**
 * impair_pop - the next packet due
 * \param imp: the stage
 * \param now: the time
 * \param buf: CAP bytes get the packet (cut to fit)
 * Returns its full length, or 0 when none is due.
 */
size_t impair_pop(struct impair *imp, uint64_t now, uint8_t *buf, size_t cap);
/**
 * impair_next - when impair_pop() will next have a packet, exactly
 * \param imp: the stage
 * Returns the time, or LINK_NEVER.
 */
uint64_t impair_next(const struct impair *imp);
/**
 * impair_stats_get - a stage's counters
 * \param imp: the stage
 * \param out: filled
 */
void impair_stats_get(const struct impair *imp, struct impair_stats *out);

enum memlink_side { MEMLINK_A, MEMLINK_B };

struct memlink;

/* Called with each packet arriving at a side, at the time of memlink_run();
 * PKT is valid during the call only. It may memlink_send() (not run). */
typedef void memlink_deliver_fn(void *ctx, const uint8_t *pkt, size_t len,
				uint64_t now);

/**
 * memlink_new - a link of two sides in memory
 * \param a_to_b: impairments of that direction (NULL: perfect)
 * \param b_to_a: and of the other
 * \param seed: for both stages
 * Returns it; NULL with errno EINVAL or ENOMEM.
 */
struct memlink *memlink_new(const struct impair_config *a_to_b,
			    const struct impair_config *b_to_a, uint64_t seed);
/**
 * memlink_free - free a link and every packet in flight
 * \param l: it, or NULL
 */
void memlink_free(struct memlink *l);
/**
 * memlink_attach - who gets the packets arriving at a side
 * \param l: the link
 * \param side: the side
 * \param fn: called with CTX; NULL: they are dropped on arrival
 */
void memlink_attach(struct memlink *l, enum memlink_side side,
		    memlink_deliver_fn *fn, void *ctx);
/**
 * memlink_send - send a packet to the other side
 * \param l: the link
 * \param side: from
 * \param pkt: LEN bytes
 * \param now: the time
 * Returns as impair_push().
 */
int memlink_send(struct memlink *l, enum memlink_side side, const uint8_t *pkt,
		 size_t len, uint64_t now);
/**
 * memlink_run - deliver every packet due, also those sent meanwhile
 * \param l: the link
 * \param now: the time
 * Returns how many were delivered.
 */
unsigned memlink_run(struct memlink *l, uint64_t now);
/**
 * memlink_next - when the next packet is due
 * \param l: the link
 * Returns the time, or LINK_NEVER.
 */
uint64_t memlink_next(const struct memlink *l);
/**
 * memlink_clock - the time memlink_output() stamps packets with
 * \param l: the link
 * \param now: the time (memlink_run() sets it too)
 */
void memlink_clock(struct memlink *l, uint64_t now);
/**
 * memlink_port - a ctx for memlink_output()
 * \param l: the link
 * \param side: it sends from
 * Returns the ctx.
 */
void *memlink_port(struct memlink *l, enum memlink_side side);
/**
 * memlink_output - send at the link's clock; fits tcp_config.output
 * \param port: from memlink_port()
 * \param pkt: LEN bytes
 */
void memlink_output(void *port, const uint8_t *pkt, size_t len);
/**
 * memlink_stats_get - the counters of one direction
 * \param l: the link
 * \param side: from
 * \param out: filled
 */
void memlink_stats_get(const struct memlink *l, enum memlink_side side,
		       struct impair_stats *out);

#endif
