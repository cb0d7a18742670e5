/* tcpfs kbpf: the few kernel types and UAPI constants the BPF programs use,
 * written by hand for CO-RE (compile once, relocate at load time against the
 * running kernel's BTF). Only the fields read are declared; their offsets
 * here mean nothing, libbpf matches them by name. Never generated from the
 * build machine's kernel. */
#ifndef TCPFS_KBPF_CORE_H
#define TCPFS_KBPF_CORE_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

/* UAPI constants (include/uapi/linux/bpf.h, stable ABI). */
enum {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_RINGBUF = 27,
};
enum {
	BPF_ANY = 0,
};
enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
};
enum {
	BPF_RB_AVAIL_DATA = 0,
};
#define BPF_F_CURRENT_NETNS (-1L)

/* include/uapi/linux/bpf.h: the tuple of bpf_sk_lookup_tcp(), as seen by an
 * incoming packet (saddr is the peer). */
struct bpf_sock_tuple {
	union {
		struct {
			__be32 saddr;
			__be32 daddr;
			__be16 sport;
			__be16 dport;
		} ipv4;
		struct {
			__be32 saddr[4];
			__be32 daddr[4];
			__be16 sport;
			__be16 dport;
		} ipv6;
	};
};

/* Kernel TCP states (include/net/tcp_states.h). */
enum {
	TCP_ESTABLISHED = 1,
	TCP_SYN_SENT = 2,
	TCP_SYN_RECV = 3,
	TCP_FIN_WAIT1 = 4,
	TCP_FIN_WAIT2 = 5,
	TCP_TIME_WAIT = 6,
	TCP_CLOSE = 7,
	TCP_CLOSE_WAIT = 8,
	TCP_LAST_ACK = 9,
	TCP_LISTEN = 10,
	TCP_CLOSING = 11,
	TCP_NEW_SYN_RECV = 12,
};

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

#define KBPF_CORE __attribute__((preserve_access_index))

struct ns_common {
	unsigned int inum;
} KBPF_CORE;

struct hlist_nulls_node {
	struct hlist_nulls_node *next;
} KBPF_CORE;

struct hlist_nulls_head {
	struct hlist_nulls_node *first;
} KBPF_CORE;

struct inet_ehash_bucket {
	struct hlist_nulls_head chain;
} KBPF_CORE;

struct inet_hashinfo {
	struct inet_ehash_bucket *ehash;
	unsigned int ehash_mask;
} KBPF_CORE;

struct inet_timewait_death_row {
	struct inet_hashinfo *hashinfo;
} KBPF_CORE;

struct netns_ipv4 {
	struct inet_timewait_death_row tcp_death_row;
} KBPF_CORE;

struct net {
	struct ns_common ns;
	struct netns_ipv4 ipv4;
} KBPF_CORE;

typedef struct {
	struct net *net;
} KBPF_CORE possible_net_t;

struct in6_addr {
	union {
		__u8 u6_addr8[16];
		__be32 u6_addr32[4];
	} in6_u;
} KBPF_CORE;

typedef struct {
	__s64 counter;
} KBPF_CORE atomic64_t;

struct sock_common {
	union {
		struct {
			__be32 skc_daddr;
			__be32 skc_rcv_saddr;
		};
	};
	union {
		unsigned int skc_hash;
	};
	union {
		struct {
			__be16 skc_dport;
			__u16 skc_num;
		};
	};
	unsigned short skc_family;
	volatile unsigned char skc_state;
	possible_net_t skc_net;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
	atomic64_t skc_cookie;
	union {
		struct hlist_nulls_node skc_nulls_node;
	};
	union {
		__u32 skc_tw_rcv_nxt;
	};
	union {
		__u32 skc_tw_snd_nxt;
	};
} KBPF_CORE;

struct sock {
	struct sock_common __sk_common;
	int sk_err;
	__u16 sk_protocol;
} KBPF_CORE;

struct inet_sock {
	struct sock sk;
	__be16 inet_sport;
} KBPF_CORE;

struct inet_connection_sock {
	struct inet_sock icsk_inet;
} KBPF_CORE;

struct tcp_sock {
	struct inet_connection_sock inet_conn;
	__u32 copied_seq;
	__u32 snd_wl1;
	__u32 write_seq;
	__u32 rcv_nxt;
	__u32 snd_nxt;
	__u32 snd_una;
	__u64 bytes_received;
	__u64 bytes_acked;
} KBPF_CORE;

struct request_sock {
	struct sock_common __req_common;
} KBPF_CORE;

struct inet_request_sock {
	struct request_sock req;
} KBPF_CORE;

struct tcp_request_sock {
	struct inet_request_sock req;
	__u32 rcv_isn;
	__u32 snt_isn;
	__u32 rcv_nxt;
} KBPF_CORE;

struct inet_timewait_sock {
	struct sock_common __tw_common;
	unsigned char tw_substate;
	__be16 tw_sport;
} KBPF_CORE;

struct tcp_timewait_sock {
	struct inet_timewait_sock tw_sk;
} KBPF_CORE;

struct sk_buff {
	char cb[48];
} KBPF_CORE;

/* The kfree_skb tracepoint's record: rx_sk says its arguments have the
 * socket (Linux 6.11). */
struct trace_event_raw_kfree_skb {
	void *rx_sk;
} KBPF_CORE;

struct __sk_buff;

#endif
