/* tcpfs tcp: a userspace TCP engine, sans I/O (RFC 9293).
 *
 * The engine never reads a clock and never touches a file descriptor: the
 * caller passes packets in with tcp_input(), the time with every call, and
 * gets packets out through cfg.output. tcp_dispatch() runs the timers due
 * at NOW, delivers events and returns the next deadline: the caller calls it
 * after every batch of packets and every batch of user calls (smoltcp's
 * process/dispatch/poll_at). Everything is single threaded.
 *
 * A connection is named by a small integer id (> 0) that is never reused
 * while the engine lives. It exists from tcp_open() until tcp_free(): a
 * closed connection keeps its final state, counters, error and trace so that
 * a user can still read them. */
#ifndef TCPFS_TCP_H
#define TCPFS_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "tcpfs/wire.h"

/* Time in microseconds, on any monotonic clock the caller chooses. */
typedef uint64_t tcp_time;
#define TCP_NEVER UINT64_MAX

/* RFC 9293 §3.3.2 states, in the diagram's order. */
enum tcp_state {
	TCP_CLOSED,
	TCP_LISTEN,
	TCP_SYN_SENT,
	TCP_SYN_RECEIVED,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2,
	TCP_CLOSE_WAIT,
	TCP_CLOSING,
	TCP_LAST_ACK,
	TCP_TIME_WAIT,
};

/* What happened to a connection; several may be or-ed in one event. */
enum {
	TCP_EV_STATE = 0x01,	   /* state changed (see info) */
	TCP_EV_ESTABLISHED = 0x02, /* handshake done */
	TCP_EV_READABLE = 0x04,	   /* data or the peer's FIN to read */
	TCP_EV_WRITABLE = 0x08,	   /* send buffer space freed */
	TCP_EV_ACCEPT = 0x10,	   /* a listener has a connection to accept */
	TCP_EV_CLOSED = 0x20,	   /* reached CLOSED; error in info.error */
	TCP_EV_URGENT = 0x40,	   /* urgent data arrived, none was pending */
	TCP_EV_SOFTERR = 0x80,	   /* an ICMP error: see info.soft_error */
};

enum tcp_cc_algo { TCP_CC_CUBIC, TCP_CC_NEWRENO };

struct tcp_engine;

struct tcp_config {
	struct wire_ep addr4, addr6; /* the engine's own addresses (port 0);
					family 0 = none of that version */
	uint16_t mss;		     /* MSS we announce (MTU - 40 or - 60) */
	uint32_t sndbuf, rcvbuf;     /* bytes per connection (send: the limit
				      * its ring grows to from 16 KiB) */
	uint32_t rcvbuf_max;	     /* auto-tuning bound (>= rcvbuf) */
	tcp_time msl;		     /* TIME_WAIT lasts 2 * msl */
	tcp_time rto_min, rto_max, rto_initial;
	tcp_time delack;	  /* delayed ACK, at most 40 ms */
	unsigned syn_retries;	  /* connect gives up: ETIMEDOUT */
	tcp_time user_timeout;	  /* R2: connections' default (0 = off) */
	unsigned max_conns;	  /* every connection, listeners included */
	unsigned max_conns_owner; /* ... of one owner (tcp_open_owner()) */
	/* Buffer memory (rings, trace, the connection itself), overall and
	 * per owner, in bytes: the hard caps. Above 2/3 of MEM_MAX the engine
	 * is under pressure until it falls below 1/2 (Linux's tcp_mem). */
	uint64_t mem_max, mem_owner;
	unsigned max_half_open; /* SYN_RECEIVED in total */
	unsigned backlog_max;	/* cap on listen()'s backlog */
	unsigned trace_len;	/* trace entries kept per connection */
	/* Ephemeral ports, PORT_LO to PORT_HI (RFC 6056 §2.1; Linux's
	 * ip_local_port_range: 32768-60999). */
	uint16_t port_lo, port_hi;
	/* When every port to a peer is taken, a new connect may take the
	 * 4-tuple of the least recently active TIME_WAIT connection to it
	 * that used timestamps, once it is safe (RFC 6191, RFC 7323
	 * Appendix B.2; Linux's tcp_tw_reuse): on by default. */
	bool tw_reuse;
	enum tcp_cc_algo cc;
	/* The 128-bit secret key of ISNs (RFC 6528 §3: F is SipHash-2-4
	 * under it), ephemeral ports (RFC 6056) and SYN cookies. The
	 * daemon draws it from getrandom(); tests give a fixed one. */
	uint64_t key[2];
	/* Send one IP packet (headers built, checksums done). */
	void (*output)(void *ctx, const uint8_t *pkt, size_t len);
	/* Or, when set (then used for every packet, output never): send one
	 * IP packet in N pieces, IOV[0] its headers alone (valid during the
	 * call) and the rest its payload where it lies in the send queue (no
	 * copy), valid until output_flush; its TCP checksum partial, the
	 * pseudo-header's sum alone, for the link to complete (virtio-net
	 * NEEDS_CSUM, or TSO). */
	void (*output_partial)(void *ctx, const struct iovec *iov, int n);
	/* The payload output_partial gave since the last call is valid no
	 * longer after this one: a link that kept it sends it now. Called
	 * before the engine frees a send queue, before it calls event, and
	 * before tcp_dispatch() returns (the only call that sends payload).
	 * May be NULL: then the payload is valid during output_partial only. */
	void (*output_flush)(void *ctx);
	/* Connection ID saw EVENTS (TCP_EV_*). Called only from
	 * tcp_dispatch(), which goes on until no event is left, so it may call
	 * back into the engine for reads and writes, but not tcp_free() ID.
	 * May be NULL. */
	void (*event)(void *ctx, uint32_t id, unsigned events);
	void *ctx;
};

/* Fill CFG with the defaults (Linux-like: rto_min 200 ms, msl 60 s, ...);
 * output, event, ctx, the addresses and the key (zero) are left for the
 * caller. */
void tcp_config_default(struct tcp_config *cfg);
/* A new engine with a copy of CFG. Returns it, or NULL with errno
 * EINVAL: no output (nor output_partial), or a value out of range (mss
 * 64..65495, delack at most 40 ms, rto_min <= rto_initial <= rto_max,
 * 0 < port_lo <= port_hi, ...); ENOMEM: out of memory. */
struct tcp_engine *tcp_engine_new(const struct tcp_config *cfg);
/* Free the engine and every connection, sending nothing. */
void tcp_engine_free(struct tcp_engine *e);

/* One packet PKT of LEN bytes from the link at NOW: a TCP segment, or
 * an ICMP or ICMPv6 error about one we sent (RFC 1122 §4.2.3.9, RFC 5927,
 * RFC 1191 / 8201: see tcp_input.c). It changes state and
 * sends only what answers this one segment at once (RST, challenge ACK,
 * SYN,ACK, the duplicate ACK of out-of-order data); data and ACKs wait
 * for tcp_dispatch(), so that a batch of packets gets one ACK (RFC 9293
 * §3.10.7.4, MUST-58/59). Malformed packets are dropped and counted;
 * segments for no connection get RST (RFC 9293 §3.10.7.1). No errors. */
void tcp_input(struct tcp_engine *e, const uint8_t *pkt, size_t len,
	       tcp_time now);
/* As tcp_input(), for a packet whose TCP checksum the link vouches for
 * (the kernel marks it NEEDS_CSUM or DATA_VALID, virtio 1.2 §5.1.6.4):
 * not checked. GSO, if not 0, says it is a super-packet of the host's own
 * stack (TSO, or segments GRO joined) standing for segments of GSO bytes:
 * it is taken whole, as Linux takes a GRO packet, and counts as that many
 * segments (segs_in, the ACK of every second full-sized one). */
void tcp_input_trusted(struct tcp_engine *e, const uint8_t *pkt, size_t len,
		       size_t gso, tcp_time now);
/* Zero-copy receive, for a link that reads a packet in pieces: where the
 * next in-order payload of the connection that took in-order data last
 * goes in its receive queue (*AT: the free room from RCV.NXT on, as far
 * as the queue's storage runs before it wraps). Returns the room's
 * length, 0 for none (no such connection, out-of-order data waiting in
 * that room, no storage yet). Until the next call into the engine the
 * link may write there (it holds nothing), then hand the packet in with
 * tcp_input_placed(): a payload that lies where it goes is not copied. */
size_t tcp_rx_landing(struct tcp_engine *e, uint8_t **at);
/* tcp_input_trusted() for a TCP packet in two pieces: its headers (HLEN
 * bytes at HDR: IP, TCP, options) and its payload (DLEN bytes at DATA,
 * anywhere, the room tcp_rx_landing() gave included). */
void tcp_input_placed(struct tcp_engine *e, const uint8_t *hdr, size_t hlen,
		      const uint8_t *data, size_t dlen, size_t gso,
		      tcp_time now);
/* Send what the packets and calls since the last call left to send (data
 * the windows allow, at most one ACK a connection), run the timers due at
 * NOW, deliver the events (the callbacks may call in; their sends go out
 * in the same call; a change of state the packets or calls made is told
 * before the round sends, data events after), in rounds until quiet.
 * Returns the next deadline: TCP_NEVER for none, NOW when work is left
 * (call again). Called from an event callback it does nothing and returns
 * NOW. No errors. */
tcp_time tcp_dispatch(struct tcp_engine *e, tcp_time now);

/* A new connection in CLOSED, owned by OWNER (a uid: its memory and
 * its count are charged to OWNER, as are those of the connections a
 * listener of OWNER accepts). Returns its id (> 0), or
 * -ENFILE: cfg.max_conns connections exist;
 * -EMFILE: OWNER holds cfg.max_conns_owner connections;
 * -ENOBUFS: a new connection does not fit in cfg.mem_max, or in
 *           cfg.mem_owner beside OWNER's (tcp_mem_get() says which);
 * -ENOMEM: out of memory. */
int tcp_open_owner(struct tcp_engine *e, uint32_t owner);
/* tcp_open_owner() for owner 0. */
int tcp_open(struct tcp_engine *e);
/* Active open of ID to REMOTE from LPORT (0: random, RFC 6056) at NOW:
 * SYN_SENT and its SYN at once. With cfg.tw_reuse, a 4-tuple held only
 * by a connection in TIME_WAIT that used timestamps, whose peer sent
 * nothing for a second, is taken over: that connection ends (CLOSED, no
 * error, info.why says so) and ID starts above its sequence numbers and
 * timestamps (LPORT given, or every ephemeral port taken). Returns 0, or
 * -ENOENT: no connection ID;
 * -EALREADY: ID's connect is under way; -EISCONN: ID is in use;
 * -EINVAL: REMOTE is not IPv4/IPv6, is unspecified, broadcast or
 *          multicast (RFC 9293 MUST-46), or its port is 0;
 * -ENETUNREACH: the engine has no address of REMOTE's family;
 * -EADDRINUSE: LPORT is taken;
 * -EADDRNOTAVAIL: every ephemeral port to REMOTE is taken (and none
 *                 can be reused);
 * -ENOBUFS: no room for the connection's buffers (a memory cap);
 * -ENOMEM: out of memory. */
int tcp_connect(struct tcp_engine *e, uint32_t id, const struct wire_ep *remote,
		uint16_t lport, tcp_time now);
/* Passive open of ID on LOCAL (family 0: both families; port required),
 * with an accept queue of BACKLOG (1 to cfg.backlog_max). Returns 0, or
 * -ENOENT: no connection ID; -EISCONN: ID is in use;
 * -EINVAL: port 0, or an address that is not the engine's;
 * -EADDRINUSE: a listener holds the port on an address of LOCAL's;
 * -ENOBUFS: no room for a connection's buffers (a memory cap). */
int tcp_listen(struct tcp_engine *e, uint32_t id, const struct wire_ep *local,
	       unsigned backlog);
/* Take an established connection from listener ID. Returns its id, or
 * -ENOENT: no connection ID; -EINVAL: ID is no listener (or closed);
 * -EAGAIN: none to accept yet. */
int tcp_accept(struct tcp_engine *e, uint32_t id);
/* Queue up to LEN bytes of BUF on ID at NOW (sent by tcp_dispatch()).
 * Returns the bytes taken, or -ENOENT: no connection ID;
 * -EAGAIN: the send buffer is full; -EPIPE: after shutdown or close;
 * -ENOTCONN: not ESTABLISHED or CLOSE_WAIT;
 * -ENOMEM: no memory for the send buffer (the connection stays);
 * -ENOBUFS: the send buffer would pass a memory cap (it stays);
 * -E...: the error ID failed with (ECONNRESET, ETIMEDOUT, ENOMEM when
 *        its receive buffer could not be had: it was reset, ...). */
long tcp_send(struct tcp_engine *e, uint32_t id, const void *buf, size_t len,
	      tcp_time now);
/* The next tcp_send() on ID is urgent (RFC 9293 §3.10.2 SEND with
 * URGENT, §3.8.5; as send(2) with MSG_OOB): segments before the end of
 * what it takes carry URG and the urgent pointer to the byte after it,
 * until that is acknowledged. One that takes part of its bytes leaves the
 * next urgent too (the rest of the same write, piece by piece). Returns
 * 0, or -ENOENT, -EPIPE, -ENOTCONN, -E... as tcp_send(). */
int tcp_send_urgent(struct tcp_engine *e, uint32_t id);
/* Take up to LEN received bytes of ID into BUF at NOW (a window update
 * goes with tcp_dispatch()). Returns the bytes, 0 at the peer's FIN
 * (EOF), or -ENOENT: no connection ID; -EAGAIN: nothing has arrived;
 * -ENOTCONN: CLOSED (or a listener) without an error;
 * -E...: the error ID failed with. */
long tcp_recv(struct tcp_engine *e, uint32_t id, void *buf, size_t len,
	      tcp_time now);
/* tcp_recv() without the copy: up to LEN received bytes of ID where they
 * lie, one or two pieces of its receive queue in IOV (*NIOV of them, 0
 * when none), valid until the next call into the engine. Returns as
 * tcp_recv(); nothing is taken until tcp_recv_done(). */
long tcp_recv_peek(struct tcp_engine *e, uint32_t id, size_t len,
		   struct iovec iov[2], int *niov);
/* The user took the first N bytes tcp_recv_peek() showed of ID, at NOW:
 * they are freed, and a window update goes with tcp_dispatch(). */
void tcp_recv_done(struct tcp_engine *e, uint32_t id, size_t n, tcp_time now);
/* Close ID's sending side at NOW: FIN after the queued data (with
 * tcp_dispatch()). Returns 0, or -ENOENT: no connection ID;
 * -ENOTCONN: CLOSED or a listener (-E...: the error it failed with). */
int tcp_shutdown(struct tcp_engine *e, uint32_t id, tcp_time now);
/* Graceful close of ID at NOW: shutdown, then the four-way close to
 * TIME_WAIT/CLOSED; FIN_WAIT_2 lasts at most 2 MSL. A listener closes at
 * once, its children not accepted with a RST. Returns 0, or
 * -ENOENT: no connection ID; -ENOTCONN (-E...) as tcp_shutdown(). */
int tcp_close(struct tcp_engine *e, uint32_t id, tcp_time now);
/* Abort ID at NOW: RST to the peer at once (if synchronized), CLOSED
 * with ECONNABORTED. Returns 0, or -ENOENT: no connection ID. */
int tcp_abort(struct tcp_engine *e, uint32_t id, tcp_time now);
/* Forget ID at NOW (its id is not reused); an open connection is aborted
 * first (RST), one in TIME_WAIT is dropped silently. No such ID: no-op. */
void tcp_free(struct tcp_engine *e, uint32_t id, tcp_time now);
/* Per-connection switches: keepalive after IDLE µs (0 = off), Nagle off
 * (ON). Return 0, or -ENOENT: no connection ID. */
int tcp_set_keepalive(struct tcp_engine *e, uint32_t id, tcp_time idle);
int tcp_set_nodelay(struct tcp_engine *e, uint32_t id, bool on);
/* ID's user timeout (RFC 9293 §3.8.3 (d), MUST-21; RFC 5482):
 * when no new data has been acknowledged for US µs while some (or a SYN,
 * a FIN) is outstanding, the connection is reset and fails with
 * ETIMEDOUT; counted from when it went out with nothing else
 * outstanding, or from the latest ACK of new data. 0: the default,
 * 15 retransmission timeouts (and --syn-retries for a SYN). A listener
 * passes it on. Returns 0, or -ENOENT: no connection ID. */
int tcp_set_user_timeout(struct tcp_engine *e, uint32_t id, tcp_time us);
/* Set F of ID's packets to V from now on: the IPv4 TTL or IPv6 hop limit
 * (RFC 1122 §3.2.1.7: configurable; 0: the default, 64), or the TOS or
 * traffic class (RFC 1122 §4.2.4.2, RFC 2474: DSCP << 2; the 2 ECN bits
 * are the engine's, RFC 3168, and are cleared). A listener passes them
 * on. Returns 0, or -ENOENT: no connection ID. */
enum tcp_ip_field { TCP_IP_TTL, TCP_IP_TOS };
int tcp_set_ip(struct tcp_engine *e, uint32_t id, enum tcp_ip_field f,
	       uint8_t v);
/* Readiness of a connection, as poll(2) sees a socket. */
enum {
	TCP_READY_IN = 0x01,  /* data or EOF to read; listener: to accept */
	TCP_READY_OUT = 0x02, /* send buffer space, and sending is open */
	TCP_READY_HUP = 0x04, /* the peer's FIN arrived, or CLOSED */
	TCP_READY_ERR = 0x08, /* CLOSED with an error (or no such id) */
};
/* ID's state (enum tcp_state), or -ENOENT. Cheap: no snapshot. */
int tcp_state(const struct tcp_engine *e, uint32_t id);
/* ID's readiness, TCP_READY_* or-ed; ERR|HUP for a bad id. */
unsigned tcp_ready(const struct tcp_engine *e, uint32_t id);
/* Bytes readable now / send buffer space now; -ENOENT for a bad id. */
long tcp_readable(struct tcp_engine *e, uint32_t id);
long tcp_writable(struct tcp_engine *e, uint32_t id);

/* Everything a person would want to see of one connection. */
struct tcp_info_snap {
	enum tcp_state state;
	struct wire_ep local, remote;
	int error;	 /* errno it closed with, 0 if none */
	const char *why; /* the error in words, or why it closed without
			  * one (TIME_WAIT cut short), or NULL; static */
	bool listener;
	tcp_time user_timeout; /* µs, 0: the default (see above) */
	uint8_t ttl, tos;      /* of its packets (tcp_set_ip()) */
	uint32_t iss, irs;
	uint32_t snd_una, snd_nxt, snd_wnd, snd_wl1, snd_wl2;
	uint32_t rcv_nxt, rcv_wnd;
	uint8_t snd_wscale, rcv_wscale;
	bool sack_ok, ts_ok;
	uint16_t mss;		    /* effective send MSS */
	tcp_time srtt, rttvar, rto; /* microseconds */
	uint32_t cwnd, ssthresh;    /* bytes */
	const char *cc;		    /* "cubic" or "newreno" */
	uint32_t send_q, recv_q;    /* bytes queued */
	uint64_t segs_in, segs_out, bytes_in, bytes_out;
	uint64_t retrans_segs, fast_retrans, rto_timeouts, dup_acks;
	uint64_t ooo_segs, challenge_acks;
	unsigned accept_q; /* listener: established, not accepted */
	/* Urgent data (RFC 9293 §3.8.5, MUST-33): bytes from the next one
	 * to read up to the peer's urgent pointer (some may not have arrived
	 * yet); 0: none pending. It is delivered inline (RFC 6093 §6). */
	uint32_t urgent;
	/* The latest ICMP error (RFC 1122 §4.2.3.9), 0 if none or if new data
	 * was acknowledged since, and who sent it. */
	int soft_error;
	struct wire_ep icmp_from;
};

/* Snapshot of ID into OUT. Returns 0, or -ENOENT: no connection ID. */
int tcp_info_get(const struct tcp_engine *e, uint32_t id,
		 struct tcp_info_snap *out);
/* RFC 9293 name of STATE, e.g. "SYN_RECEIVED". */
const char *tcp_state_name(enum tcp_state state);

/* One trace entry: a segment in or out, or a state change. */
struct tcp_trace_ent {
	tcp_time t;
	char dir; /* '<' received, '>' sent, '*' state change, '#' in the
		     open: LEN entries dropped here (SYNs and SYN,ACKs sent
		     or received again, past the open's room) */
	uint8_t flags;
	uint16_t urp; /* the urgent pointer field, with URG */
	uint32_t seq, ack;
	uint32_t wnd; /* as on the wire */
	uint32_t len;
	struct wire_opts opt;
	enum tcp_state from, to; /* for '*' */
};

/* Entries of ID's trace, oldest first: the connection's open (kept for
 * its life), then a ring of the latest ones. Copies up to MAX into OUT and
 * returns how many; *DROPPED gets how many the ring lost between them. */
int tcp_trace_get(const struct tcp_engine *e, uint32_t id,
		  struct tcp_trace_ent *out, int max, uint64_t *dropped);
/* How many entries at the start of ID's trace are its open. */
unsigned tcp_trace_kept(const struct tcp_engine *e, uint32_t id);
/* One trace line (no newline) with time relative to T0, e.g.
 * "0.000141 < SYN,ACK seq=91238 ack=2841594 win=65535 <mss 1460,...>";
 * a segment with URG says "urg=N", its urgent pointer field. */
int tcp_trace_format(const struct tcp_trace_ent *ent, tcp_time t0, char *buf,
		     size_t size);

/* Engine-wide counters (drops by reason, RSTs sent, SYN cookies, ...). */
struct tcp_stats {
	uint64_t in_pkts, out_pkts, drop_wire[WIRE_NERR];
	uint64_t drop_no_conn, rst_sent, syn_cookies_sent, syn_dropped;
	uint64_t challenge_acks, paws_drops;
	uint64_t icmp_in, icmp_drops; /* ICMP errors taken, and not */
	unsigned conns, half_open;
};
void tcp_stats_get(const struct tcp_engine *e, struct tcp_stats *out);

/* The limits a call can hit (tcp_open_owner(), tcp_connect(), ...). */
enum tcp_limit {
	TCP_LIMIT_NONE,
	TCP_LIMIT_CONNS,       /* cfg.max_conns: -ENFILE */
	TCP_LIMIT_OWNER_CONNS, /* cfg.max_conns_owner: -EMFILE */
	TCP_LIMIT_MEM,	       /* cfg.mem_max: -ENOBUFS */
	TCP_LIMIT_OWNER_MEM,   /* cfg.mem_owner: -ENOBUFS */
};

/* The engine's memory, and one owner's. */
struct tcp_mem_info {
	uint64_t bytes, max;	   /* charged overall; cfg.mem_max */
	uint64_t low, pressure_at; /* the thresholds: 1/2, 2/3 of max */
	bool pressure;		   /* under pressure (see tcp_mem.c) */
	unsigned conns, max_conns;
	uint64_t owner_bytes, owner_max; /* the owner's; cfg.mem_owner */
	unsigned owner_conns, owner_max_conns;
	enum tcp_limit refused; /* the limit the latest refusal hit */
	uint64_t rcv_drops;	/* segments dropped: no buffer memory */
};
/* The memory of the engine and of OWNER into OUT. */
void tcp_mem_get(const struct tcp_engine *e, uint32_t owner,
		 struct tcp_mem_info *out);

#endif
