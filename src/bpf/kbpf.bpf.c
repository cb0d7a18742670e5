// SPDX-License-Identifier: GPL-2.0 OR MIT
/* tcpfs kbpf: BPF programs for kernel TCP sockets.
 *
 * kbpf_seq (SCHED_CLS, run only by BPF_PROG_TEST_RUN): the packet carries a
 * tuple and a cookie after an Ethernet header; the program looks the socket
 * up in the caller's network namespace, as if the packet came in on the
 * device the test run names (a socket bound to a device matches only its
 * own), and writes its sequence numbers after the request. One hash
 * lookup, whatever the number of sockets.
 *
 * kbpf_state, kbpf_rst_sent, kbpf_rst_recv, kbpf_retrans (tp_btf): one ring
 * buffer record per state change, reset and retransmission of a TCP socket
 * whose network namespace is in the watch map; kbpf_tw_fin (tp_btf) one
 * for a FIN_WAIT2 mini-socket's change to TIME_WAIT, which no state
 * tracepoint reports. Records wake the reader only when the ring is half
 * full, or when it sleeps (it found the ring empty and stopped its drain
 * timer): else its timer drains them. */
#include "kbpf_core.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "kbpf_abi.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Network namespaces watched, by inode number; 0 is a free slot (set by
 * the loader through the mmap of .bss). A scan of these beats a hash map
 * lookup by some 45 ns an event. */
__u32 watch[KBPF_ABI_WATCH_MAX] = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, KBPF_ABI_RING_SIZE);
} ring SEC(".maps");

/* Records lost because the ring was full. */
__u64 lost = 0;

/* Set by the reader when it finds the ring empty and stops its timer,
 * before it looks once more: a record committed after that look sees it
 * set (the commit is a full barrier), wakes the reader and clears it. */
__u32 sleeping = 0;

/* ---- sequence numbers by tuple (test run) ---- */

static __always_inline int seq_of(struct bpf_sock *skc, __u64 want,
				  struct kbpf_abi_resp *r)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(skc);
	struct tcp_request_sock *rq;
	struct tcp_timewait_sock *tw;

	if (tp) {
		r->cookie = tp->inet_conn.icsk_inet.sk.__sk_common.skc_cookie
				    .counter;
		if (want && r->cookie != want)
			return 2; /* ENOENT */
		r->kind = KBPF_ABI_FULL;
		r->state = tp->inet_conn.icsk_inet.sk.__sk_common.skc_state;
		if (r->state == TCP_LISTEN)
			return 0; /* a listener has no sequence numbers */
		r->snd_una = tp->snd_una;
		r->snd_nxt = tp->snd_nxt;
		r->rcv_nxt = tp->rcv_nxt;
		r->snd_wl1 = tp->snd_wl1;
		r->write_seq = tp->write_seq;
		r->copied_seq = tp->copied_seq;
		r->has = KBPF_ABI_SND_UNA | KBPF_ABI_SND_NXT |
			 KBPF_ABI_RCV_NXT | KBPF_ABI_SND_WL1 |
			 KBPF_ABI_WRITE_SEQ | KBPF_ABI_COPIED_SEQ;
		if (r->state == TCP_SYN_SENT) { /* its SYN is unacknowledged */
			r->iss = r->snd_una;
			r->has |= KBPF_ABI_ISS;
		}
		return 0;
	}
	rq = bpf_skc_to_tcp_request_sock(skc);
	if (rq) {
		r->cookie = rq->req.req.__req_common.skc_cookie.counter;
		if (want && r->cookie != want)
			return 2;
		r->kind = KBPF_ABI_REQUEST;
		r->state = TCP_SYN_RECV;
		r->iss = rq->snt_isn;
		r->irs = rq->rcv_isn;
		r->rcv_nxt = rq->rcv_nxt;
		r->has = KBPF_ABI_ISS | KBPF_ABI_IRS | KBPF_ABI_RCV_NXT;
		return 0;
	}
	tw = bpf_skc_to_tcp_timewait_sock(skc);
	if (tw) {
		r->cookie = tw->tw_sk.__tw_common.skc_cookie.counter;
		if (want && r->cookie != want)
			return 2;
		r->kind = KBPF_ABI_TIMEWAIT;
		r->state = tw->tw_sk.__tw_common.skc_state;
		r->substate = tw->tw_sk.tw_substate;
		r->snd_nxt = tw->tw_sk.__tw_common.skc_tw_snd_nxt;
		r->rcv_nxt = tw->tw_sk.__tw_common.skc_tw_rcv_nxt;
		r->has = KBPF_ABI_SND_NXT | KBPF_ABI_RCV_NXT;
		return 0;
	}
	return 2;
}

SEC("tc")
int kbpf_seq(struct __sk_buff *skb)
{
	struct kbpf_abi_resp r = {};
	struct kbpf_abi_req q;
	struct bpf_sock_tuple t = {};
	struct bpf_sock *skc;
	__u32 tlen;

	if (bpf_skb_load_bytes(skb, KBPF_ETH_HLEN, &q, sizeof(q)))
		return 0; /* too short: data_out unchanged, caller sees it */
	if (q.family == AF_INET) {
		__builtin_memcpy(&t.ipv4.saddr, q.raddr, 4);
		__builtin_memcpy(&t.ipv4.daddr, q.laddr, 4);
		t.ipv4.sport = q.rport;
		t.ipv4.dport = q.lport;
		tlen = sizeof(t.ipv4);
	} else if (q.family == AF_INET6) {
		__builtin_memcpy(t.ipv6.saddr, q.raddr, 16);
		__builtin_memcpy(t.ipv6.daddr, q.laddr, 16);
		t.ipv6.sport = q.rport;
		t.ipv6.dport = q.lport;
		tlen = sizeof(t.ipv6);
	} else {
		r.err = 97; /* EAFNOSUPPORT */
		goto out;
	}
	skc = bpf_skc_lookup_tcp(skb, &t, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!skc) {
		r.err = 2; /* ENOENT */
		goto out;
	}
	r.err = seq_of(skc, q.cookie, &r);
	bpf_sk_release(skc);
	if (r.err)
		r = (struct kbpf_abi_resp){.err = r.err};
out:
	bpf_skb_store_bytes(skb, KBPF_ETH_HLEN + sizeof(q), &r, sizeof(r), 0);
	return 0;
}

/* ---- events ---- */

/* Reserve a record and fill the socket's identity in; NULL if its network
 * namespace is not watched, or if the ring is full (counted in lost). */
static __always_inline struct kbpf_abi_ev *ev_new(const struct sock_common *c,
						  __u8 type)
{
	__u32 ino = c->skc_net.net->ns.inum;
	struct kbpf_abi_ev *e;
	int hit = 0;

	for (int i = 0; i < KBPF_ABI_WATCH_MAX; i++)
		hit |= watch[i] == ino;
	if (!hit)
		return 0;
	e = bpf_ringbuf_reserve(&ring, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost, 1);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->cookie = c->skc_cookie.counter;
	if (!e->cookie) /* the first event of the socket: make one */
		e->cookie = bpf_get_socket_cookie((void *)c);
	e->netns = ino;
	e->type = type;
	e->family = c->skc_family;
	e->state = c->skc_state;
	e->lport = bpf_htons(c->skc_num);
	e->rport = c->skc_dport;
	if (e->family == AF_INET) {
		__builtin_memcpy(e->laddr, &c->skc_rcv_saddr, 4);
		__builtin_memcpy(e->raddr, &c->skc_daddr, 4);
	} else {
		bpf_probe_read_kernel(e->laddr, 16, &c->skc_v6_rcv_saddr);
		bpf_probe_read_kernel(e->raddr, 16, &c->skc_v6_daddr);
	}
	return e;
}

/* Submit, waking the reader when the ring is half full; then, if the reader
 * sleeps, wake it with a nudge: a record shorter than any event, which it
 * skips. Two CPUs may both nudge it: one wake-up too many, no harm. */
static __always_inline void ev_submit(struct kbpf_abi_ev *e)
{
	__u64 avail = bpf_ringbuf_query(&ring, BPF_RB_AVAIL_DATA);
	__u32 nudge = 0;

	bpf_ringbuf_submit(e, avail >= KBPF_ABI_RING_SIZE / 2 ?
				      BPF_RB_FORCE_WAKEUP :
				      BPF_RB_NO_WAKEUP);
	if (sleeping) {
		sleeping = 0;
		bpf_ringbuf_output(&ring, &nudge, sizeof(nudge),
				   BPF_RB_FORCE_WAKEUP);
	}
}

static __always_inline void ev_tcp(struct kbpf_abi_ev *e, struct tcp_sock *tp)
{
	e->snd_una = tp->snd_una;
	e->snd_nxt = tp->snd_nxt;
	e->has |= KBPF_ABI_SND_UNA | KBPF_ABI_SND_NXT;
	/* In SYN_SENT the peer's numbers are not known (the kernel's rcv_nxt
	 * is 0) until the SYN-ACK that makes it ESTABLISHED. */
	if (e->state == TCP_SYN_SENT && e->to != TCP_ESTABLISHED)
		return;
	e->rcv_nxt = tp->rcv_nxt;
	e->has |= KBPF_ABI_RCV_NXT;
}

/* Sequence numbers of any kind of socket: full, request or timewait. */
static __always_inline void ev_any(struct kbpf_abi_ev *e, void *sk)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	struct tcp_request_sock *rq;
	struct tcp_timewait_sock *tw;

	if (tp) {
		e->lport = tp->inet_conn.icsk_inet.inet_sport;
		if (e->state != TCP_LISTEN)
			ev_tcp(e, tp);
		return;
	}
	rq = bpf_skc_to_tcp_request_sock(sk);
	if (rq) {
		e->iss = rq->snt_isn;
		e->irs = rq->rcv_isn;
		e->rcv_nxt = rq->rcv_nxt;
		e->has |= KBPF_ABI_ISS | KBPF_ABI_IRS | KBPF_ABI_RCV_NXT;
		e->state = TCP_SYN_RECV;
		return;
	}
	tw = bpf_skc_to_tcp_timewait_sock(sk);
	if (tw) {
		e->lport = tw->tw_sk.tw_sport;
		e->snd_nxt = tw->tw_sk.__tw_common.skc_tw_snd_nxt;
		e->rcv_nxt = tw->tw_sk.__tw_common.skc_tw_rcv_nxt;
		e->has |= KBPF_ABI_SND_NXT | KBPF_ABI_RCV_NXT;
	}
}

/* How far down an ehash chain to look for a mini-socket: it is put at the
 * head, and chains are about one socket long. */
#define TW_CHAIN_MAX 8

/* The substate of the mini-socket with COOKIE in SK's ehash chain: TIME_WAIT,
 * or FIN_WAIT2 for a socket closed before its peer closed (its FIN is still
 * to come); 0 if none is found. Racy reads of a live RCU list through
 * bpf_probe_read_kernel: at worst a miss, and then the event says CLOSE, as
 * the tracepoint did. */
static __always_inline __u8 tw_substate(struct sock *sk, __u64 cookie)
{
	__u32 off = bpf_core_field_offset(struct sock_common, skc_nulls_node);
	struct inet_ehash_bucket *b;
	struct hlist_nulls_node *n;
	struct inet_hashinfo *h;
	struct sock_common *c;
	__u32 mask;
	__u64 ck;
	__u8 st;

	if (!bpf_core_field_exists(struct inet_timewait_death_row, hashinfo))
		return 0;
	h = BPF_CORE_READ(sk, __sk_common.skc_net.net,
			  ipv4.tcp_death_row.hashinfo);
	if (!h)
		return 0;
	b = BPF_CORE_READ(h, ehash);
	mask = BPF_CORE_READ(h, ehash_mask);
	b = (void *)((char *)b +
		     (sk->__sk_common.skc_hash & mask) *
			     bpf_core_type_size(struct inet_ehash_bucket));
	n = BPF_CORE_READ(b, chain.first);
	for (int i = 0; i < TW_CHAIN_MAX; i++) {
		if ((unsigned long)n & 1) /* the nulls marker: the end */
			return 0;
		c = (struct sock_common *)((char *)n - off);
		ck = BPF_CORE_READ(c, skc_cookie.counter);
		st = BPF_CORE_READ(c, skc_state);
		if (ck == cookie && st == TCP_TIME_WAIT)
			return BPF_CORE_READ((struct inet_timewait_sock *)c,
					     tw_substate);
		n = BPF_CORE_READ(n, next);
	}
	return 0;
}

/* The watched sockets that became FIN_WAIT2 mini-sockets, by cookie, until
 * kbpf_tw_fin sees them in TIME_WAIT; the least recently added go first
 * when it is full (their change to TIME_WAIT is not seen then). */
#define FIN_WAIT2_MAX 8192
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FIN_WAIT2_MAX);
	__type(key, __u64);
	__type(value, __u8);
} fin_wait2 SEC(".maps");

/* The watched sockets in a simultaneous open (SYN_SENT -> SYN_RECV), by
 * cookie, until their change to ESTABLISHED: their bytes_acked counts their
 * SYN, as a client's does, where a listener's child's does not; the least
 * recently added go first when it is full. */
#define SIMOPEN_MAX 1024
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SIMOPEN_MAX);
	__type(key, __u64);
	__type(value, __u8);
} simopen SEC(".maps");

SEC("tp_btf/inet_sock_set_state")
int kbpf_state(__u64 *ctx)
{
	struct sock *sk = (struct sock *)ctx[0];
	int from = (int)ctx[1], to = (int)ctx[2];
	struct kbpf_abi_ev *e;
	struct tcp_sock *tp;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return 0;
	e = ev_new(&sk->__sk_common, KBPF_ABI_EV_STATE);
	if (!e)
		return 0;
	e->from = from;
	e->to = to;
	e->state = from; /* the tracepoint runs before the state is stored */
	/* Entering CLOSE the socket has given its port back already; entering
	 * SYN_SENT it has none yet, but the port of an earlier connection of
	 * the socket (connected again after connect(AF_UNSPEC)) in inet_sport:
	 * skc_num, as ev_new() read it, is its port then, or 0. */
	if (to != TCP_SYN_SENT)
		e->lport = tp->inet_conn.icsk_inet.inet_sport;
	/* Entering SYN_SENT (no ISN chosen yet) or SYN_RECV (the child still
	 * holds its listener's numbers), and listeners, have no sequence
	 * numbers. */
	if (to != TCP_SYN_SENT && to != TCP_SYN_RECV && to != TCP_LISTEN &&
	    from != TCP_LISTEN)
		ev_tcp(e, tp);
	if (from == TCP_SYN_SENT && to == TCP_SYN_RECV) {
		__u64 cookie = e->cookie;
		__u8 one = 1;

		bpf_map_update_elem(&simopen, &cookie, &one, BPF_ANY);
	}
	if (to == TCP_ESTABLISHED &&
	    (from == TCP_SYN_SENT || from == TCP_SYN_RECV)) {
		__u64 cookie = e->cookie;

		/* A client's bytes_acked counts its SYN (so does that of
		 * either end of a simultaneous open), a listener's child's
		 * does not: its snd_una starts past its SYN; bytes_received
		 * never counts the peer's SYN. */
		e->iss = tp->snd_una - (__u32)tp->bytes_acked;
		if (from == TCP_SYN_RECV &&
		    bpf_map_delete_elem(&simopen, &cookie))
			e->iss -= 1;
		e->irs = tp->rcv_nxt - (__u32)tp->bytes_received - 1;
		e->has |= KBPF_ABI_ISS | KBPF_ABI_IRS;
	}
	/* A socket that becomes a mini-socket is closed after its mini-socket
	 * took its place (and cookie) in the hash table: in TIME_WAIT, or, an
	 * orphan whose peer has not closed, in FIN_WAIT2 still (no change:
	 * FIN_WAIT2 -> FIN_WAIT2, for the loader's iss table only; the change
	 * to TIME_WAIT comes from kbpf_tw_fin). */
	if (to == TCP_CLOSE && (from == TCP_FIN_WAIT2 || from == TCP_CLOSING) &&
	    !sk->sk_err) {
		__u64 cookie = e->cookie;
		__u8 sub = tw_substate(sk, cookie);

		if (sub == TCP_TIME_WAIT || sub == TCP_FIN_WAIT2)
			e->to = sub;
		if (sub == TCP_FIN_WAIT2)
			bpf_map_update_elem(&fin_wait2, &cookie, &sub, BPF_ANY);
	}
	ev_submit(e);
	return 0;
}

/* A record of socket C with its sequence numbers, submitted unless SEQ is
 * set: then the caller fills more in and submits. */
static __always_inline struct kbpf_abi_ev *ev_sock(void *c, __u8 type, int seq)
{
	struct kbpf_abi_ev *e = ev_new(c, type);

	if (e) {
		ev_any(e, c);
		if (!seq) {
			ev_submit(e);
			return 0;
		}
	}
	return e;
}

SEC("tp_btf/tcp_send_reset")
int kbpf_rst_sent(__u64 *ctx)
{
	void *sk = (void *)ctx[0];

	if (sk) /* else a reset for a tuple without a socket */
		ev_sock(sk, KBPF_ABI_EV_RESET_SENT, 0);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int kbpf_rst_recv(__u64 *ctx)
{
	ev_sock((void *)ctx[0], KBPF_ABI_EV_RESET_RECV, 0);
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int kbpf_retrans(__u64 *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx[1];
	struct kbpf_abi_ev *e = ev_sock((void *)ctx[0], KBPF_ABI_EV_RETRANS, 1);
	__u32 se[2];

	if (!e)
		return 0;
	/* TCP_SKB_CB(skb): seq and end_seq open struct tcp_skb_cb */
	if (!bpf_probe_read_kernel(se, sizeof(se), skb->cb)) {
		e->seq = se[0];
		e->end_seq = se[1];
		e->has |= KBPF_ABI_SEQ;
	}
	ev_submit(e);
	return 0;
}

/* No state tracepoint reports a FIN_WAIT2 mini-socket's change to TIME_WAIT
 * (tcp_timewait_state_process() makes it), but the segment that makes it,
 * the peer's FIN, is freed through kfree_skb with the mini-socket as rx_sk
 * (Linux 6.11; before, rx_sk does not exist and this does nothing): the
 * first segment freed that finds one of fin_wait2's in TIME_WAIT is the
 * change. */
SEC("tp_btf/kfree_skb")
int kbpf_tw_fin(__u64 *ctx)
{
	struct tcp_timewait_sock *tw;
	struct kbpf_abi_ev *e;
	__u64 cookie;
	void *sk;

	if (!bpf_core_field_exists(struct trace_event_raw_kfree_skb, rx_sk))
		return 0;
	sk = (void *)ctx[3];
	tw = sk ? bpf_skc_to_tcp_timewait_sock(sk) : 0;
	if (!tw || tw->tw_sk.tw_substate != TCP_TIME_WAIT)
		return 0;
	cookie = tw->tw_sk.__tw_common.skc_cookie.counter;
	if (bpf_map_delete_elem(&fin_wait2, &cookie)) /* not one of them */
		return 0;
	e = ev_sock(sk, KBPF_ABI_EV_STATE, 1);
	if (!e)
		return 0;
	e->from = e->state = TCP_FIN_WAIT2;
	e->to = TCP_TIME_WAIT;
	ev_submit(e);
	return 0;
}
