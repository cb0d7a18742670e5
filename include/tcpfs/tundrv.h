/* tcpfs tundrv: the driver that runs the userspace TCP engine on its TUN
 * device, in the daemon's loop.
 *
 * A driver owns the engine (tcp.h), the TUN device its packets cross
 * (tun.h), an optional impairment stage on that link (a test option) and a
 * timerfd armed at the engine's next deadline. The loop feeds it packets
 * and timer ticks, and after every round of the loop the driver calls
 * tcp_dispatch(): the owner makes engine calls through tundrv_tcp() and
 * needs do nothing more. */
#ifndef TCPFS_TUNDRV_H
#define TCPFS_TUNDRV_H

#include <stddef.h>

#include "tcpfs/tcp.h"
#include "tcpfs/tun.h"

struct loop;
struct tundrv;

struct tundrv_config {
	struct tun_config tun;	/* the host's side of the link */
	struct in_addr engine4; /* the engine's own addresses */
	struct in6_addr engine6;
	tcp_time msl;	 /* TIME_WAIT is 2 * msl */
	int syn_retries; /* -1: the engine's default */
	/* The engine's caps (struct tcp_config): connections and buffer
	 * memory, overall and per uid. */
	unsigned max_conns, max_conns_uid;
	uint64_t mem_max, mem_uid;
	bool nat;	    /* masquerade the link to other hosts */
	const char *impair; /* test option, see tundrv_impair_parse() */
	/* Connection ID saw EVENTS (TCP_EV_*); called from tcp_dispatch(),
	 * so it may call the engine. */
	void (*tcp_ev)(void *ctx, uint32_t id, unsigned events);
	void *ctx;
	/* The engine's ephemeral ports and TIME_WAIT reuse (tcp_config's). */
	uint16_t port_lo, port_hi;
	bool tw_reuse;
};

/**
 * tundrv_config_default - the defaults
 * \param cfg: filled: device tcpfs0, MTU 1500, host 198.19.253.1/30 and
 *            fdcf:7c9f:7cfa::1/64, engine .2 and ::2, route_localnet on,
 *            ephemeral ports and TIME_WAIT reuse as the engine's;
 *            the caps: 1048576 connections, buffer memory a quarter of
 *            the physical memory (sysconf), per uid an eighth of each
 */
void tundrv_config_default(struct tundrv_config *cfg);
/**
 * tundrv_new - create the TUN device and the engine, and join the loop
 * \param loop: where its packets and timer are watched
 * \param cfg: the link, the engine and the event callback
 * \param why: the reason it failed, WHYLEN bytes
 * Returns it, or NULL with the reason in WHY (no privilege, ...) and
 * errno set: EBUSY when the TUN device exists and another process holds
 * it (see tun_open()).
 */
struct tundrv *tundrv_new(struct loop *loop, const struct tundrv_config *cfg,
			  char *why, size_t whylen);
/**
 * tundrv_free - leave the loop, free the engine and remove the device
 * \param st: it, or NULL
 */
void tundrv_free(struct tundrv *st);
/**
 * tundrv_set_tcp_ev - who hears the engine's TCP_EV_ events from now on
 * \param st: the driver
 * \param tcp_ev: called from tcp_dispatch() with CTX, an id and its
 *               TCP_EV_ bits; it may call the engine
 */
void tundrv_set_tcp_ev(struct tundrv *st,
		       void (*tcp_ev)(void *ctx, uint32_t id, unsigned events),
		       void *ctx);
/* The packets lost between the engine and its device. */
struct tundrv_stats {
	uint64_t rx_malformed; /* read with a bad virtio-net header, or a
				  super-packet that is not TCP's */
	uint64_t tx_errors;    /* whose write to the device failed */
	uint64_t drops;	       /* for want of room or memory: to the
				  engine's own address, or in --impair */
};
/**
 * tundrv_stats_get - the driver's counters
 * \param st: the driver
 * \param out: filled
 */
void tundrv_stats_get(const struct tundrv *st, struct tundrv_stats *out);
/**
 * tundrv_tcp - the engine, for connection calls
 * \param st: the driver
 * Returns its engine.
 */
struct tcp_engine *tundrv_tcp(struct tundrv *st);
/**
 * tundrv_now - the driver's clock
 * Returns CLOCK_MONOTONIC in microseconds.
 */
tcp_time tundrv_now(void);
/**
 * tundrv_route - whether the engine can reach an address
 * \param st: the driver
 * \param dst: the address
 * \param why: set to the reason when it cannot
 * Returns 0; -ENETUNREACH, or -EINVAL for the link's broadcast or network
 * address (IPv6: its Subnet-Router anycast address), with *WHY.
 */
int tundrv_route(struct tundrv *st, const struct wire_ep *dst,
		 const char **why);

/**
 * tundrv_engine_on_link - whether the host reaches the engine's address of
 *                         family AF through its link: in the prefix of the
 *                         host's address, not that address itself, and on
 *                         IPv4 below /31 (RFC 3021) not the prefix's
 *                         network or broadcast address
 * \param cfg: the configuration (tun's host4/prefix4 or host6/prefix6)
 * \param af: AF_INET (engine4) or AF_INET6 (engine6)
 */
bool tundrv_engine_on_link(const struct tundrv_config *cfg, int af);

struct impair_config;
/**
 * tundrv_impair_parse - parse --impair
 * \param spec: "loss=PCT,dup=PCT,reorder=PCT,corrupt=PCT,delay=MS,seed=N"
 * \param cfg: filled
 * \param seed: filled
 * \param why: the reason it is refused, WHYLEN bytes
 * Returns 0, or -1 with the reason in WHY.
 */
int tundrv_impair_parse(const char *spec, struct impair_config *cfg,
			uint64_t *seed, char *why, size_t whylen);

#endif
