/* tcpfs tcp: the engine's shared structures (a connection, the engine),
 * sequence arithmetic and limits: the bottom layer, a header only. Each
 * module's functions are in its own header (src/tcp/meson.build lists the
 * layers). */
#ifndef TCPFS_TCP_SOCK_H
#define TCPFS_TCP_SOCK_H

#include <sys/socket.h>

#include "tcpfs/tcp.h"

/* Sequence-space comparisons modulo 2^32 (RFC 9293 §3.4). */
#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) SEQ_LT(b, a)
#define SEQ_GEQ(a, b) SEQ_LEQ(b, a)
#define SEQ_MAX(a, b) (SEQ_GT(a, b) ? (a) : (b))
#define SEQ_MIN(a, b) (SEQ_LT(a, b) ? (a) : (b))

/* The send MSS when the peer's SYN has no MSS option (RFC 9293 §3.7.1,
 * MUST-15): 536 for IPv4, 1220 for IPv6 (RFC 8200's 1280-byte minimum MTU
 * less 60 bytes of headers). */
#define TCP_DEFAULT_MSS(family) ((family) == AF_INET6 ? 1220 : 536)
/* The smallest send MSS the engine takes from a peer's MSS option: below
 * it, 48 (Linux's tcp_min_snd_mss, CVE-2019-11479). A peer announcing
 * less gets 48-byte segments (options included, RFC 6691): it must take
 * 576-byte datagrams anyway (RFC 1122 §3.3.2, EMTU_R), and 48 leaves
 * data room beside the largest options (40 bytes). Queues are byte
 * rings, so small segments cost time, never memory per segment. */
#define TCP_MIN_SND_MSS 48
/* The smallest path MTU an ICMP error may set: IPv6's minimum link MTU
 * (RFC 8200 §5, RFC 8201 §4), and for IPv4 Linux's min_pmtu (512 bytes of
 * data and 40 of headers) rather than RFC 1191's 68, so that a forged
 * error cannot shrink segments to a few bytes (RFC 5927 §7). */
#define TCP_MIN_PMTU(family) ((family) == AF_INET6 ? 1280u : 552u)
/* How long a path MTU learnt from ICMP holds before the negotiated MSS
 * is tried again (RFC 1191 §6.3, RFC 8201 §4: no less than 5 minutes,
 * 10 recommended; Linux's mtu_expires). */
#define TCP_PMTU_AGE (600ull * 1000000)

#define TCP_RTO_SYN_LOST 3000000ull /* RFC 6298 §5.7 */
/* A send ring's first storage, as Linux's tcp_wmem[1]; it grows up to
 * the send limit (cfg.sndbuf) as writes need it. */
#define TCP_SND_INIT (16u * 1024)
#define TCP_OOO_MAX 16	     /* out-of-order islands kept by the receiver */
#define TCP_SACKED_MAX 32    /* SACKed ranges kept by the sender */
#define TCP_SYNACK_RETRIES 7 /* 247 s: RFC 1122 4.2.3.5 R2 >= 3 min */
#define TCP_KEEP_PROBES 9
#define TCP_KEEP_INTVL 75000000ull
#define TCP_TS_HZ_DIV 1000 /* timestamp clock: 1 ms (RFC 7323 §5.4) */
#define TCP_PAWS_IDLE (24ull * 86400 * 1000000) /* RFC 7323 §5.5 */
#define TCP_CHALLENGE_PER_SEC 100		/* RFC 5961 §7 */
#define TCP_OOW_ACK_GAP 500000ull /* Linux's tcp_invalid_ratelimit */
/* TIME_WAIT reuse (RFC 6191, RFC 7323 Appendix B.2): the peer's
 * timestamp clock ticks at least once a second (RFC 7323 §5.4), so a
 * second after its latest timestamp its new ones are above every old
 * one (Linux's tcp_tw_reuse_delay). */
#define TCP_TW_REUSE_DELAY 1000000ull
/* A destination with this many ports held keeps a bitmap of them (fewer
 * cost at most this many looks at the 4-tuple table). */
#define TCP_DEST_MAP_MIN 64
#define TCP_TRACE_PIN 8	      /* trace entries of a connection's open kept */
#define TCP_TLP_MIN 2000      /* PTO floor: RTT samples are whole ms */
#define TCP_TLP_DELACK 200000 /* RFC 8985 §7.2 WCDelAckT */
#define TCP_RXT_LOST_SEGS 1   /* SACKed after a resend: it was lost */

struct tcp_mem;

/* One owner's account (tcp_mem.c): what its connections hold. It lives
 * while the owner has a connection. */
struct tcp_mem_acct {
	struct tcp_mem_acct *next;
	struct tcp_mem *mem; /* the engine's */
	uint32_t owner;
	unsigned conns;
	uint64_t bytes;
};

/* The engine's buffer memory (tcp_mem.c): the total charged, the
 * pressure state, the owners' accounts. */
struct tcp_mem {
	const struct tcp_config *cfg; /* the caps */
	uint64_t bytes;
	bool pressure;		/* above 2/3 of mem_max, until below 1/2 */
	enum tcp_limit refused; /* the limit the latest refusal hit */
	uint64_t rcv_drops;
	struct tcp_mem_acct *accts;
};

/* A byte ring. BUF is allocated on first use so that a connection that
 * never moves data costs no buffer memory; it is charged to ACCT. */
struct tcp_ring {
	uint8_t *buf;
	uint32_t cap, head, len;
	struct tcp_mem_acct *acct;
};

/* [left, right) in sequence space. */
struct tcp_ival {
	uint32_t left, right;
};

struct tcp_conn;

/* One destination of ephemeral ports: the engine's address and the peer's
 * address and port, with every 4-tuple of a port in the range towards it
 * counted (RFC 6056 §3.3.4, algorithm 4, its table kept exactly, one
 * entry a destination): a full range is known at once, and each connect
 * goes on from where the last one stopped. From TCP_DEST_MAP_MIN 4-tuples
 * on, a bitmap of the ports held finds the next free one a 64-port word
 * at a time, however few are left. */
struct tcp_dest {
	struct tcp_dest *next;	      /* hash chain */
	struct wire_ep local, remote; /* local.port 0 */
	uint32_t n;		      /* 4-tuples held, ports in the range */
	uint32_t off;		      /* RFC 6056's F(local, remote) */
	uint32_t cursor;	      /* the next offset in the range to try */
	uint64_t *held; /* bit P - port_lo: port P held; NULL below the min */
	/* Its connections in TIME_WAIT with timestamps, the least recently
	 * active first: the candidates for reuse. */
	struct tcp_conn *tw_head, *tw_tail;
};

/* Congestion control (RFC 5681 NewReno, RFC 9438 CUBIC). */
struct tcp_cc_ops {
	const char *name;
	void (*init)(struct tcp_conn *c);
	/* ACKED new bytes arrived outside recovery; LIMITED: the window was
	 * what held the sender back (RFC 7661, RFC 9438 §5.8: an
	 * application-limited sender's window does not grow). */
	void (*on_ack)(struct tcp_conn *c, uint32_t acked, bool limited,
		       tcp_time now);
	/* A loss was detected, FLIGHT bytes in flight then (RFC 5681's
	 * FlightSize): set ssthresh (and internal state). */
	void (*on_loss)(struct tcp_conn *c, uint32_t flight, tcp_time now);
};

struct tcp_cubic {
	double w_max, w_last_max, k, w_est; /* segments */
	double frac;	/* bytes of growth not yet in cwnd */
	tcp_time epoch; /* TCP_NEVER: no epoch */
	tcp_time held;	/* since when the window has not limited the sender
			   (TCP_NEVER: it does) */
};

/* A connection's counters, each also a field of struct tcp_info_snap. */
#define TCP_COUNTERS(X)                                                        \
	X(segs_in)                                                             \
	X(segs_out)                                                            \
	X(bytes_in)                                                            \
	X(bytes_out)                                                           \
	X(retrans_segs)                                                        \
	X(fast_retrans)                                                        \
	X(rto_timeouts) X(dup_acks) X(ooo_segs) X(challenge_acks)

struct tcp_counters {
#define FIELD(f) uint64_t f;
	TCP_COUNTERS(FIELD)
#undef FIELD
};

struct tcp_conn {
	uint32_t id;
	enum tcp_state state;
	struct tcp_mem_acct *acct; /* its owner's: everything it holds */
	struct tcp_conn *id_next, *tuple_next; /* hash chains */
	bool in_tuple;			       /* in the 4-tuple table */
	bool listener;			       /* LISTEN: a passive open */
	bool passive;	   /* came from a listener (RFC 9293 §3.10.7.4) */
	bool accepted;	   /* handed to the user (or never a child) */
	bool ev_queued;	   /* id is in the engine's event queue */
	bool out_queued;   /* in the engine's output queue */
	bool want_write;   /* tcp_send hit a full buffer */
	bool rxt_una;	   /* SND.UNA's hole goes again with the next output */
	bool nodelay;	   /* Nagle off */
	uint8_t ttl, tos;  /* of every packet; ttl 0: 64 */
	unsigned ev;	   /* TCP_EV_* waiting for delivery */
	size_t heap_idx;   /* in the timer heap; SIZE_MAX if not */
	tcp_time deadline; /* earliest timer */
	struct wire_ep local, remote;
	struct tcp_dest *dest; /* its port's destination, if in the range */
	struct tcp_conn *tw_prev, *tw_next; /* in dest's TIME_WAIT list */
	bool in_tw_list;
	tcp_time tw_since; /* TIME_WAIT: entered, or the peer's latest */
	int error;
	const char *why; /* the error in words (a static string), or NULL */
	int soft_error;	 /* the latest ICMP error, told at a timeout */
	struct wire_ep icmp_from; /* who sent it */

	/* Listener: backlog, half-open children, accept queue; the cookie
	 * period (tcp_cookie_period()) of the last SYN cookie sent, 0: none. */
	struct tcp_conn *parent;
	struct tcp_conn *aq_next;
	struct tcp_conn *aq_head, *aq_tail;
	unsigned backlog, half_open, aq_len;
	uint32_t cookie_period;

	/* Send sequence variables, RFC 9293 §3.3.1. SND_MAX is the highest
	 * sequence sent (SND_NXT goes back to SND_UNA after an RTO). */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
	uint32_t max_snd_wnd;
	uint32_t snd_data; /* sequence number of sndq's first byte */
	bool fin_queued;   /* the user shut down the sending side */
	bool snd_urg;	   /* SND.UP is set: urgent data is outstanding */
	bool urg_next;	   /* the next tcp_send() is urgent */
	uint32_t snd_up;   /* the byte after our urgent data (RFC 6093) */
	bool orphan;	   /* the user closed: FIN_WAIT_2 ends after 2 MSL */
	struct tcp_ring sndq;
	uint32_t snd_limit; /* the send buffer (cfg.sndbuf): sndq grows to it */
	uint16_t mss;	    /* effective send MSS */
	/* The path MTU an ICMP error gave (0: none, the MSS rules) and the
	 * negotiated MSS it holds down (0 while it does not), until T_PMTU. */
	uint16_t mss_full;
	uint32_t pmtu;
	uint8_t snd_wscale, rcv_wscale;
	bool ws_ok, ts_ok, sack_ok;

	/* Receive sequence variables. RCV_ADV is the right window edge we
	 * announced; it never moves left (RFC 9293 §3.8.6.2.2). LAST_ACK_SENT
	 * is the ACK field we sent last (RFC 7323 §4.3). */
	uint32_t irs, rcv_nxt, rcv_adv, last_ack_sent;
	struct tcp_ring rcvq; /* in order unread bytes, then room for OOO */
	struct tcp_ival ooo[TCP_OOO_MAX];
	int nooo;
	uint32_t ooo_last; /* start of the latest OOO arrival (RFC 2018) */
	/* the left edges of the SACK blocks sent last (RFC 2018 §4) */
	uint32_t sack_sent[WIRE_MAX_SACK];
	int nsack_sent;
	bool fin_rcvd, fin_ooo;
	/* the last window field said 0 for a window under one unit of the
	 * scale, the ring holding less than a unit (tcp_rx.c) */
	bool rcv_unit_shut;
	/* RCV.UP (RFC 9293 §3.10.7.4 sixth): the sequence number after the
	 * peer's urgent data, valid once URG_SEEN. */
	uint32_t rcv_up;
	bool urg_seen;
	uint32_t rcv_fin_seq;
	uint32_t ts_recent;
	tcp_time ts_recent_time;
	uint32_t ts_sent;   /* the latest TSval we sent */
	uint32_t ack_bytes; /* in-order bytes not yet acknowledged */
	uint32_t rcv_mss;   /* the largest segment the peer sent */
	bool ack_now;
	bool ack_dup; /* out-of-order data: its duplicate ACK goes at once */
	tcp_time rcv_tune_time; /* receive buffer auto-tuning epoch */
	uint32_t rcv_tune_bytes;

	/* RTT and timers (RFC 6298). */
	tcp_time srtt, rttvar, rto;
	bool rtt_valid, rtt_timing;
	uint32_t rtt_seq;
	tcp_time rtt_time;
	unsigned backoff;
	bool syn_lost; /* our SYN was retransmitted: IW of one segment */
	/* The user timeout (RFC 9293 §3.8.3 (d), MUST-21: R2 per connection;
	 * RFC 5482): abort when no new data is acknowledged for USER_TIMEOUT
	 * while some is outstanding, counted from UNA_TIME; 0: R2 is
	 * TCP_R2_RTOS backoffs. UNA_TIME: when data (SYN, FIN) went out with
	 * nothing else outstanding, or the latest ACK of new data. */
	tcp_time user_timeout, una_time;
	tcp_time last_send; /* when data (or a FIN) went last */
	tcp_time t_rtx, t_persist, t_delack, t_keep, t_wait;
	tcp_time t_pto;	 /* tail loss probe (RFC 8985 §7), with t_rtx only */
	tcp_time t_pmtu; /* PMTU ages out (RFC 1191 §6.3) */
	tcp_time keep_idle, last_rcv;
	tcp_time oow_ack_next; /* an unacceptable ACK or SYN is answered
				  from then on (unacceptable()) */
	unsigned keep_sent;    /* keep-alive probes unanswered */
	unsigned probes_out;   /* zero-window probes unanswered */

	/* Congestion control and loss recovery. */
	const struct tcp_cc_ops *cc;
	struct tcp_cubic cubic;
	uint32_t cwnd, ssthresh, ca_acked;
	/* the window's use over the data up to cwnd_seq (tcp_cwnd_used()):
	 * it held the sender back; the most in flight */
	bool cwnd_full;
	uint32_t cwnd_seq, max_flight;
	bool in_recovery;
	uint32_t recover, high_rxt;
	uint32_t rxt_mark; /* data from here went after the latest resend */
	unsigned dupacks;
	bool tlp_out, tlp_rxt;	   /* a probe is out; it was a resend */
	uint32_t tlp_seq, tlp_end; /* its sequence range */
	struct tcp_ival sacked[TCP_SACKED_MAX];
	int nsacked;

	struct tcp_counters n;
	tcp_time chal_sec; /* RFC 5961 §7 rate limit, per connection */
	unsigned chal_count;

	/* Trace: TR[0, tr_pin) is the connection's open, kept for its life;
	 * TR[tr_pin, tr_cap) a ring of the latest entries (tr_count from
	 * tr_head). tr_dropped counts what the ring lost in between. */
	struct tcp_trace_ent *tr;
	unsigned tr_cap, tr_pin, tr_head, tr_count;
	bool tr_pinning; /* the open is still being recorded */
	bool tr_pin_ack; /* ... up to our ACK of the SYN,ACK */
	uint64_t tr_dropped;
};

struct tcp_engine {
	struct tcp_config cfg;
	struct tcp_stats st;
	struct tcp_mem mem;
	uint32_t next_id;
	struct tcp_conn **by_id, **by_tuple;
	size_t nbuckets, nconns;
	struct tcp_conn **heap;
	size_t nheap, heap_cap;
	uint32_t *evq;
	size_t nevq, evq_cap;
	/* Connections with something to send: tcp_dispatch() sends it. */
	struct tcp_conn **outq;
	size_t noutq, outq_cap;
	bool outq_lost; /* a mark found no room: walk every connection */
	bool in_dispatch;
	tcp_time now;	 /* the latest time a call brought */
	uint64_t key[2]; /* SipHash key: ISNs, ports, cookies */
	/* The ISS of the connection a SYN opens from TIME_WAIT (RFC 9293
	 * §3.6.1): above the old one's, for the next tcp_conn_init_seq(). */
	uint32_t tw_iss;
	bool tw_iss_set;
	uint32_t eph_next;	 /* a new destination's first cursor */
	struct tcp_dest **dests; /* by destination (tcp_table.c) */
	size_t ndest_buckets, ndests;
	struct tcp_dest *dest_last; /* the latest found: a connect's again */
	/* The connection that took in-order data last: tcp_rx_landing()'s */
	uint32_t rx_hot;
	uint8_t pkt[65600];
	uint8_t payload[65536];
};

/* The MSS we announce: cfg.mss is the IPv4 figure (MTU - 40); IPv6
 * headers take 20 bytes more. */
static inline uint16_t tcp_own_mss(const struct tcp_engine *e, int family)
{
	return e->cfg.mss - (family == AF_INET6 ? 20 : 0);
}

#endif
