/* The engine tests' harness (libtcp_harness): one engine driven by
 * hand-built segments (a scripted peer), and two engines joined by
 * memlink. Every failure is a cmocka assertion. */
#ifndef TCPFS_TEST_TCP_HARNESS_H
#define TCPFS_TEST_TCP_HARNESS_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "tcpfs/link.h"
#include "tcpfs/tcp.h"

#define H_QUEUE 4096
#define H_PKT 1600
#define MS 1000ull
#define SEC 1000000ull
#define PEER_ISS 1000000u

/* ---- One engine and a scripted peer ---- */

struct harness {
	struct tcp_engine *e;
	struct tcp_config cfg;
	struct wire_ep me, peer; /* me.port: the engine side's port */
	uint8_t (*q)[H_PKT];
	size_t qlen[H_QUEUE];
	unsigned head, n;
	unsigned ev[64]; /* events seen, by id */
	struct wire_seg last;
	uint8_t last_raw[H_PKT]; /* the packet h_next() parsed last */
	size_t last_rawlen;
	/* Called for every event after it is noted in ev (may be NULL). */
	void (*on_event)(struct harness *h, uint32_t id, unsigned ev);
	void *user; /* for on_event */
};

/* cfg.output of the harness: queues the packet for h_next(). */
void h_output(void *ctx, const uint8_t *pkt, size_t len);
/* 198.18.0.LAST:PORT / 2001:db8::LAST, port PORT. */
void ep4(struct wire_ep *ep, uint8_t last, uint16_t port);
void ep6(struct wire_ep *ep, uint8_t last, uint16_t port);
/* An engine at 198.18.0.1 talking to a peer at 198.18.0.2:40000; CFG
 * NULL: defaults with the key {1, 0}. */
struct harness *h_new(const struct tcp_config *cfg);
void h_free(struct harness *h);
/* Take (and check) every packet the engine sent so far. */
void h_drain(struct harness *h);
/* The next packet the engine sent, parsed (data valid until the next
 * call); fails the test if there is none. */
struct wire_seg *h_next(struct harness *h);
/* An ICMP (IPv4) or ICMPv6 error, by h->me's family, from a router to
 * the engine at NOW: TYPE, CODE, REST (the 4 bytes after the checksum:
 * the MTU of a PTB), quoting the first QLEN bytes of the packet h_next()
 * took last. */
void h_icmp(struct harness *h, uint8_t type, uint8_t code, uint32_t rest,
	    size_t qlen, tcp_time now);
/* Fails the test if the engine sent anything more. */
void h_none(struct harness *h);
/* The next segment must have exactly FLAGS and (with ACK) ACK ... */
struct wire_seg *h_expect_flags(struct harness *h, uint8_t flags, uint32_t ack);
/* ... and SEQ too. */
struct wire_seg *h_expect(struct harness *h, uint8_t flags, uint32_t seq,
			  uint32_t ack);
/* The peer's segment reaches tcp_input() at NOW (O may be NULL), and
 * nothing else: one packet of a batch. */
void h_feed(struct harness *h, uint8_t flags, uint32_t seq, uint32_t ack,
	    uint16_t wnd, const void *data, size_t len,
	    const struct wire_opts *o, tcp_time now);
/* The peer's segment: FLAGS, SEQ, ACK, a window of 65535, LEN bytes of
 * DATA, no options. */
struct wire_seg h_seg(const struct harness *h, uint8_t flags, uint32_t seq,
		      uint32_t ack, const void *data, size_t len);
/* The peer's super-packet of LEN bytes (at most 4000) standing for
 * segments of GSO bytes at NOW, as tundrv hands one over (ACK set,
 * trusted, taken whole), and nothing else. */
void h_feed_super(struct harness *h, uint32_t seq, uint32_t ack, size_t len,
		  size_t gso, tcp_time now);
/* The same, then the loop's tcp_dispatch() at NOW: a batch of one. */
void h_in_opt(struct harness *h, uint8_t flags, uint32_t seq, uint32_t ack,
	      uint16_t wnd, const void *data, size_t len,
	      const struct wire_opts *o, tcp_time now);
/* The same with a window of 65535 and no options. */
void h_in(struct harness *h, uint8_t flags, uint32_t seq, uint32_t ack,
	  const void *data, size_t len, tcp_time now);
/* User calls as the daemon's loop makes them: the call at NOW, then
 * tcp_dispatch() at NOW (its after-hook); the call's result. */
int h_connect(struct harness *h, int id, const struct wire_ep *remote,
	      uint16_t lport, tcp_time now);
long h_send(struct harness *h, int id, const void *buf, size_t len,
	    tcp_time now);
long h_recv(struct harness *h, int id, void *buf, size_t len, tcp_time now);
int h_shutdown(struct harness *h, int id, tcp_time now);
int h_close(struct harness *h, int id, tcp_time now);
int h_abort(struct harness *h, int id, tcp_time now);
struct tcp_info_snap h_info(struct harness *h, int id);
enum tcp_state h_state(struct harness *h, int id);
/* Connection ID connects to the peer (ephemeral port) at NOW: its SYN is
 * taken, h->me.port set; the SYN's sequence number (ISS). */
uint32_t h_syn_sent(struct harness *h, int id, tcp_time now);
/* A client connection ESTABLISHED with the scripted peer (no options);
 * *ISS gets its initial sequence number. */
int h_client(struct harness *h, uint32_t *iss, tcp_time now);
/* A server connection: listener on port 80, SYN, SYN,ACK, ACK, accept. */
int h_server(struct harness *h, uint32_t *iss, tcp_time now);
/* A server connection with SACK and timestamps (accepted at 10), SEGS
 * full segments (at most the initial window's 10) sent at 20 and taken. */
int h_sack_server(struct harness *h, uint32_t *iss, int segs);
/* The same with the MSS and timestamp options: the SYN's TSval TSV, the
 * ACK's TSV + 100; *L gets the listener. */
int h_server_ts(struct harness *h, uint32_t tsv, int *l, uint32_t *iss,
		tcp_time now);
/* The same with the peer's SYN offering MSS (h_server()'s offers none). */
int h_server_mss(struct harness *h, uint16_t mss, uint32_t *iss, tcp_time now);

/* ---- Two engines over memlink ---- */

struct pair {
	struct memlink *l;
	struct tcp_engine *a, *b;
	tcp_time now, next_a, next_b;
	int ida, idb; /* the connection on each side */
};

/* Engine SIDE of P's link (P->l set) with CFG (NULL: defaults with an MSL
 * of 1 s) and its EVENT callback (ctx: the side's memlink port), or NULL
 * if tcp_engine_new() failed. */
struct tcp_engine *pair_engine_new(struct pair *p, enum memlink_side side,
				   const struct tcp_config *cfg,
				   void (*event)(void *, uint32_t, unsigned));
/* A connects to B's listener on port 80 (both families) over a link with
 * IMP each way (NULL: clean), by IPv4 or (V6) IPv6; CFG NULL: defaults
 * with an MSL of 1 s. */
struct pair *pair_new_fam(const struct impair_config *imp,
			  const struct tcp_config *cfg, bool v6);
struct pair *pair_new(const struct impair_config *imp,
		      const struct tcp_config *cfg);
void pair_free(struct pair *p);
/* Advance to the next event: a packet arriving or a timer (not later
 * than WAKE). False when there is none: everything has stopped. */
bool pair_step(struct pair *p, tcp_time wake);
enum tcp_state pair_state(struct tcp_engine *e, int id);

/* One direction of a transfer: TX writes SIZE pattern bytes then shuts
 * down; RX reads (at most READ_MAX every READ_EVERY, when slow) and
 * checks. */
struct flow {
	struct tcp_engine *tx, *rx;
	int txid, rxid;
	uint64_t size, sent, rcvd;
	bool shut, eof;
	bool zero_wnd; /* a slow reader's window was seen closed */
	size_t read_max;
	tcp_time read_every, next_read;
};

void flow_write(struct flow *f, tcp_time now);
void flow_read(struct flow *f, tcp_time now);
/* Run the flows (NF of them) to their ends, then until both sides are
 * CLOSED; at most MAX_STEPS events. */
void pair_run(struct pair *p, struct flow *f, int nf, long max_steps);
/* The transfer size: TCPFS_TEST_MIB (default 64) MiB. */
uint64_t test_size(void);

#endif
