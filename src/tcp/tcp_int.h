/* tcpfs tcp: the engine's private structures, shared by the engine files. */
#ifndef TCPFS_TCP_INT_H
#define TCPFS_TCP_INT_H

#include "tcpfs/tcp.h"

/* Sequence-space comparisons modulo 2^32 (RFC 9293 §3.4). */
#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) SEQ_LT(b, a)
#define SEQ_GEQ(a, b) SEQ_LEQ(b, a)
#define SEQ_MAX(a, b) (SEQ_GT(a, b) ? (a) : (b))
#define SEQ_MIN(a, b) (SEQ_LT(a, b) ? (a) : (b))

#define TCP_OOO_MAX 16	  /* out-of-order islands kept by the receiver */
#define TCP_SACKED_MAX 32 /* SACKed ranges kept by the sender */
#define TCP_SYNACK_RETRIES 5
#define TCP_KEEP_PROBES 9
#define TCP_KEEP_INTVL 75000000ull
#define TCP_TS_HZ_DIV 1000 /* timestamp clock: 1 ms (RFC 7323 §5.4) */
#define TCP_PAWS_IDLE (24ull * 86400 * 1000000) /* RFC 7323 §5.5 */
#define TCP_CHALLENGE_PER_SEC 100		/* RFC 5961 §7 */
#define TCP_EPH_MIN 32768
#define TCP_EPH_MAX 60999
#define TCP_TRACE_PIN 8	      /* trace entries of a connection's open kept */
#define TCP_TLP_MIN 2000      /* PTO floor: RTT samples are whole ms */
#define TCP_TLP_DELACK 200000 /* RFC 8985 §7.2 WCDelAckT */
#define TCP_RXT_LOST_SEGS 1   /* SACKed after a resend: it was lost */

/* A byte ring. BUF is allocated on first use so that a connection that
 * never moves data costs no buffer memory. */
struct tcp_ring {
	uint8_t *buf;
	uint32_t cap, head, len;
};

/* [left, right) in sequence space. */
struct tcp_ival {
	uint32_t left, right;
};

struct tcp_conn;

/* Congestion control (RFC 5681 NewReno, RFC 9438 CUBIC). */
struct tcp_cc_ops {
	const char *name;
	void (*init)(struct tcp_conn *c);
	/* ACKED new bytes arrived outside recovery. */
	void (*on_ack)(struct tcp_conn *c, uint32_t acked, tcp_time now);
	/* A loss was detected: set ssthresh (and internal state). */
	void (*on_loss)(struct tcp_conn *c, tcp_time now);
};

struct tcp_cubic {
	double w_max, w_last_max, k, w_est; /* segments */
	double frac;	/* bytes of growth not yet in cwnd */
	tcp_time epoch; /* TCP_NEVER: no epoch */
};

struct tcp_counters {
	uint64_t segs_in, segs_out, bytes_in, bytes_out;
	uint64_t retrans_segs, fast_retrans, rto_timeouts, dup_acks;
	uint64_t ooo_segs, challenge_acks;
};

struct tcp_conn {
	uint32_t id;
	enum tcp_state state;
	struct tcp_conn *id_next, *tuple_next; /* hash chains */
	bool in_tuple;			       /* in the 4-tuple table */
	bool listener;			       /* LISTEN: a passive open */
	bool passive;	   /* came from a listener (RFC 9293 §3.10.7.4) */
	bool accepted;	   /* handed to the user (or never a child) */
	bool ev_queued;	   /* id is in the engine's event queue */
	bool out_queued;   /* in the engine's output queue */
	bool want_write;   /* tcp_send hit a full buffer */
	bool nodelay;	   /* Nagle off */
	unsigned ev;	   /* TCP_EV_* waiting for delivery */
	size_t heap_idx;   /* in the timer heap; SIZE_MAX if not */
	tcp_time deadline; /* earliest timer */
	struct wire_ep local, remote;
	int error;

	/* Listener: backlog, half-open children, accept queue. */
	struct tcp_conn *parent;
	struct tcp_conn *aq_next;
	struct tcp_conn *aq_head, *aq_tail;
	unsigned backlog, half_open, aq_len;

	/* Send sequence variables, RFC 9293 §3.3.1. SND_MAX is the highest
	 * sequence sent (SND_NXT goes back to SND_UNA after an RTO). */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
	uint32_t max_snd_wnd;
	uint32_t snd_data; /* sequence number of sndq's first byte */
	bool fin_queued;   /* the user shut down the sending side */
	bool orphan;	   /* the user closed: FIN_WAIT_2 ends after 2 MSL */
	struct tcp_ring sndq;
	uint16_t mss; /* effective send MSS */
	uint8_t snd_wscale, rcv_wscale;
	bool ws_ok, ts_ok, sack_ok;

	/* Receive sequence variables. RCV_ADV is the right window edge we
	 * announced; it never moves left (RFC 9293 §3.8.6.2.2). */
	uint32_t irs, rcv_nxt, rcv_adv;
	struct tcp_ring rcvq; /* in order unread bytes, then room for OOO */
	struct tcp_ival ooo[TCP_OOO_MAX];
	int nooo;
	uint32_t ooo_last; /* start of the latest OOO arrival (RFC 2018) */
	bool fin_rcvd, fin_ooo;
	uint32_t rcv_fin_seq;
	uint32_t ts_recent;
	tcp_time ts_recent_time;
	unsigned ack_segs; /* full segments not yet acknowledged */
	uint32_t rcv_mss;  /* the largest segment the peer sent */
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
	bool syn_lost;	    /* our SYN was retransmitted: IW of one segment */
	tcp_time rtx_start; /* first unanswered retransmission (R2) */
	tcp_time t_rtx, t_persist, t_delack, t_keep, t_wait;
	tcp_time t_pto; /* tail loss probe (RFC 8985 §7), with t_rtx only */
	tcp_time keep_idle, last_rcv;
	unsigned keep_sent;

	/* Congestion control and loss recovery. */
	const struct tcp_cc_ops *cc;
	struct tcp_cubic cubic;
	uint32_t cwnd, ssthresh, ca_acked;
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
	uint32_t eph_next;
	uint8_t pkt[65600];
	uint8_t payload[65536];
};

/* tcp_engine.c */
struct tcp_conn *tcp_conn_new(struct tcp_engine *e);
void tcp_conn_destroy(struct tcp_engine *e, struct tcp_conn *c);
struct tcp_conn *tcp_conn_find(const struct tcp_engine *e, uint32_t id);
struct tcp_conn *tcp_lookup(struct tcp_engine *e, const struct wire_ep *local,
			    const struct wire_ep *remote);
int tcp_tuple_add(struct tcp_engine *e, struct tcp_conn *c);
void tcp_set_state(struct tcp_engine *e, struct tcp_conn *c, enum tcp_state st,
		   tcp_time now);
void tcp_event(struct tcp_engine *e, struct tcp_conn *c, unsigned ev);
void tcp_conn_mark(struct tcp_engine *e, struct tcp_conn *c);
void tcp_conn_end(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
void tcp_conn_fail(struct tcp_engine *e, struct tcp_conn *c, int err,
		   tcp_time now);
void tcp_conn_init_seq(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
void tcp_child_established(struct tcp_engine *e, struct tcp_conn *c);
uint16_t tcp_own_mss(const struct tcp_engine *e, int family);

/* tcp_ring.c */
uint32_t tcp_ring_write(struct tcp_ring *r, const void *src, uint32_t n);
void tcp_ring_put(struct tcp_ring *r, uint32_t off, const void *src,
		  uint32_t n);
void tcp_ring_peek(const struct tcp_ring *r, uint32_t off, void *dst,
		   uint32_t n);
void tcp_ring_drop(struct tcp_ring *r, uint32_t n);
bool tcp_ring_grow(struct tcp_ring *r, uint32_t cap);
void tcp_ring_free(struct tcp_ring *r);

/* tcp_isn.c */
uint64_t tcp_siphash(const uint64_t key[2], const void *msg, size_t len);
uint32_t tcp_isn(const struct tcp_engine *e, const struct wire_ep *local,
		 const struct wire_ep *remote, tcp_time now);
int tcp_pick_port(struct tcp_engine *e, struct wire_ep *local,
		  const struct wire_ep *remote);
uint32_t tcp_cookie_make(const struct tcp_engine *e, const struct wire_seg *syn,
			 uint16_t *mss, tcp_time now);
bool tcp_cookie_check(const struct tcp_engine *e, const struct wire_seg *ack,
		      uint16_t *mss, tcp_time now);
uint32_t tcp_cookie_tsval(const struct wire_opts *syn, uint32_t ts_now);
void tcp_cookie_opts(uint32_t tsecr, struct wire_opts *o);

/* tcp_trace.c */
void tcp_trace_seg(const struct tcp_engine *e, struct tcp_conn *c, char dir,
		   const struct wire_seg *s, tcp_time now);
void tcp_trace_state(const struct tcp_engine *e, struct tcp_conn *c,
		     enum tcp_state from, enum tcp_state to, tcp_time now);

/* tcp_output.c */
void tcp_output(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
void tcp_output_force(struct tcp_engine *e, struct tcp_conn *c, bool force,
		      tcp_time now);
uint8_t tcp_wscale_for(uint32_t bytes);
void tcp_send_probe(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
void tcp_send_tlp(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
void tcp_resend_una(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
void tcp_send_ctl(struct tcp_engine *e, struct tcp_conn *c, uint32_t seq,
		  uint8_t flags, tcp_time now);
void tcp_send_ack(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
void tcp_send_syn(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
void tcp_send_rst_reply(struct tcp_engine *e, const struct wire_seg *s);
void tcp_send_raw(struct tcp_engine *e, struct wire_seg *s);
bool tcp_challenge_ack(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
uint32_t tcp_fin_seq(const struct tcp_conn *c);
bool tcp_fin_acked(const struct tcp_conn *c);

/* tcp_input.c */
void tcp_input_seg(struct tcp_engine *e, struct wire_seg *s, tcp_time now);

/* tcp_timer.c */
void tcp_timers_update(struct tcp_engine *e, struct tcp_conn *c);
void tcp_heap_del(struct tcp_engine *e, struct tcp_conn *c);
void tcp_timers_run(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
/* Arm FIN_WAIT_2's limit if C was closed (not only shut down). */
void tcp_fin_wait_2_timer(struct tcp_engine *e, struct tcp_conn *c,
			  tcp_time now);
void tcp_rtt_sample(struct tcp_conn *c, tcp_time rtt,
		    const struct tcp_config *cfg);
void tcp_rtx_arm(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
void tcp_tlp_arm(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
void tcp_keep_arm(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
void tcp_delack_arm(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
uint32_t tcp_ts_now(tcp_time now);

/* tcp_cc.c */
extern const struct tcp_cc_ops tcp_cc_newreno, tcp_cc_cubic;

/* tcp_sack.c: the sender's scoreboard and RFC 6675 recovery. */
int tcp_ival_add(struct tcp_ival *v, int *n, int max, uint32_t left,
		 uint32_t right);
void tcp_ival_trim(struct tcp_ival *v, int *n, uint32_t upto);
void tcp_sack_update(struct tcp_conn *c, const struct wire_opts *o);
uint32_t tcp_sacked_bytes(const struct tcp_conn *c, uint32_t below);
bool tcp_sack_is_sacked(const struct tcp_conn *c, uint32_t seq, uint32_t *end);
uint32_t tcp_pipe(const struct tcp_conn *c);
bool tcp_next_rxt(const struct tcp_conn *c, uint32_t *seq, uint32_t *len);
bool tcp_rack_hole(const struct tcp_conn *c);
void tcp_recovery_start(struct tcp_conn *c, tcp_time now);

/* tcp_rx.c: reassembly and the receive window. */
void tcp_rx_data(struct tcp_engine *e, struct tcp_conn *c,
		 const struct wire_seg *s, tcp_time now);
uint16_t tcp_rcv_wnd_field(struct tcp_conn *c, bool syn);
void tcp_rx_sack_blocks(const struct tcp_conn *c, struct wire_opts *o);
void tcp_rx_read(struct tcp_engine *e, struct tcp_conn *c, uint32_t n,
		 tcp_time now);

#endif
