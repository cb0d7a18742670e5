/* tcpfs kbpf: what the BPF programs and the loader exchange (the seq
 * request and answer carried by a test-run packet, and the ring buffer
 * records). Both sides compile it: fixed-width types only, explicit
 * padding, no pointers. */
#ifndef TCPFS_KBPF_ABI_H
#define TCPFS_KBPF_ABI_H

/* Ethertype of the test-run packet (IEEE 802 local experimental): the
 * kernel sees no IP header and leaves the packet alone. */
#define KBPF_ETHERTYPE 0x88b5
#define KBPF_ETH_HLEN 14

/* After the Ethernet header: the tuple to look up, as the socket sees it. */
struct kbpf_abi_req {
	__u8 family; /* AF_INET or AF_INET6 */
	__u8 pad[3];
	__be16 lport, rport; /* network order */
	__u8 laddr[16], raddr[16];
	__u32 pad2;
	__u64 cookie; /* 0: any */
};

/* kbpf_abi_resp.has bits */
#define KBPF_ABI_SND_UNA (1u << 0)
#define KBPF_ABI_SND_NXT (1u << 1)
#define KBPF_ABI_RCV_NXT (1u << 2)
#define KBPF_ABI_SND_WL1 (1u << 3)
#define KBPF_ABI_WRITE_SEQ (1u << 4)
#define KBPF_ABI_COPIED_SEQ (1u << 5)
#define KBPF_ABI_ISS (1u << 6)
#define KBPF_ABI_IRS (1u << 7)
#define KBPF_ABI_SEQ (1u << 8) /* events: seq and end_seq */

/* kbpf_abi_resp.kind */
#define KBPF_ABI_FULL 1
#define KBPF_ABI_REQUEST 2
#define KBPF_ABI_TIMEWAIT 3

/* After the request: the answer the program writes. */
struct kbpf_abi_resp {
	__s32 err; /* 0, or a positive errno */
	__u8 kind, state, substate, pad;
	__u32 has;
	__u32 pad2;
	__u64 cookie;
	__u32 snd_una, snd_nxt, rcv_nxt, snd_wl1;
	__u32 write_seq, copied_seq, iss, irs;
};

/* Ring buffer record types */
#define KBPF_ABI_EV_STATE 1
#define KBPF_ABI_EV_RESET_SENT 2
#define KBPF_ABI_EV_RESET_RECV 3
#define KBPF_ABI_EV_RETRANS 4

/* One ring buffer record. A STATE record from FIN_WAIT2 to FIN_WAIT2 is no
 * change: the socket became a mini-socket in FIN_WAIT2 still (the
 * tracepoint said CLOSE), of use to the loader's iss table only. */
struct kbpf_abi_ev {
	__u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 cookie;
	__u32 netns; /* inode number of the socket's network namespace */
	__u8 type, family, from, to; /* from/to: STATE only */
	__u8 state, pad[3];	     /* the socket's state then */
	__be16 lport, rport;
	__u8 laddr[16], raddr[16];
	__u32 has; /* KBPF_ABI_* bits of the fields below */
	__u32 pad3;
	__u32 snd_una, snd_nxt, rcv_nxt, iss, irs;
	__u32 seq, end_seq; /* RETRANS: the segment */
	__u32 pad2;
};

/* How many network namespaces the programs can watch at once. */
#define KBPF_ABI_WATCH_MAX 16

/* Ring buffer size (bytes, a power of 2 and a multiple of the page). */
#define KBPF_ABI_RING_SIZE (1u << 22)

#endif
