/* tcpfs kbpf: kernel TCP sockets' sequence numbers and history through eBPF
 * (libbpf), an optional backend: built only with -Dbpf (meson defines
 * HAVE_KBPF=1 in kbpf_dep's users), and one that may fail to open at run
 * time (no BTF, no capabilities, BPF disabled) without harm to the rest.
 *
 * Sequence numbers come from a socket lookup by 4-tuple in a BPF program
 * run with BPF_PROG_TEST_RUN: one hash lookup, whatever the number of
 * sockets. The lookup runs in the network namespace of the calling thread.
 *
 * History comes from tracepoints (inet_sock_set_state, tcp_send_reset,
 * tcp_receive_reset, tcp_retransmit_skb; and kfree_skb for a FIN_WAIT2
 * mini-socket's change to TIME_WAIT, from Linux 6.11) through a BPF ring
 * buffer, for the network namespaces selected with kbpf_watch_netns()
 * only. Poll kbpf_fd() and call kbpf_drain() whenever it is readable: every
 * KBPF_DRAIN_MS while records come (they wake it early only when the ring
 * is half full); once a drain finds none, at the next record only, so that
 * an idle reader is not woken at all.
 *
 * iss and irs are known for connections whose handshake kbpf_drain() saw
 * (an ESTABLISHED event), and exactly for request sockets (both) and
 * SYN_SENT sockets (iss: snd_una until the SYN is acknowledged); never for
 * other sockets older than the watch.
 *
 * Threads: kbpf_seq() may run in any thread (in the namespace it looks
 * in) at the same time as the rest; kbpf_watch_netns(), kbpf_unwatch_netns(),
 * kbpf_drain() and kbpf_close() belong to one thread (the event loop's).
 *
 * All sequence numbers are absolute (as on the wire), host order. */
#ifndef TCPFS_KBPF_H
#define TCPFS_KBPF_H

#include <stddef.h>
#include <stdint.h>

/* How often kbpf_fd() is readable while records come. */
#define KBPF_DRAIN_MS 50

/* One TCP socket's addresses as the socket sees them (the layout and
 * meaning of struct diag_key's first five fields). */
struct kbpf_tuple {
	uint8_t family;		  /* AF_INET or AF_INET6 */
	uint8_t src[16], dst[16]; /* local, remote; IPv4 in the first 4 */
	uint16_t sport, dport;	  /* local, remote; host order */
};

/* Which fields of struct kbpf_seq and struct kbpf_event are valid. */
enum {
	KBPF_SND_UNA = 1u << 0,
	KBPF_SND_NXT = 1u << 1,
	KBPF_RCV_NXT = 1u << 2,
	KBPF_SND_WL1 = 1u << 3,
	KBPF_WRITE_SEQ = 1u << 4,
	KBPF_COPIED_SEQ = 1u << 5,
	KBPF_ISS = 1u << 6, /* exact: seen in the handshake or kept */
	KBPF_IRS = 1u << 7, /* by the kernel (a request socket) */
	KBPF_SEQ = 1u << 8, /* events: seq and end_seq */
};

/* What kind of kernel socket answered. */
enum kbpf_kind {
	KBPF_FULL = 1,	   /* a struct tcp_sock: every field but iss/irs */
	KBPF_REQUEST = 2,  /* SYN_RECV request: iss, irs, rcv_nxt */
	KBPF_TIMEWAIT = 3, /* TIME_WAIT mini-socket: snd_nxt, rcv_nxt */
};

/* The sequence numbers of one socket, now. */
struct kbpf_seq {
	uint64_t cookie;  /* the socket's cookie */
	uint8_t kind;	  /* enum kbpf_kind */
	uint8_t state;	  /* kernel TCP_* state (SYN_RECV for requests) */
	uint8_t substate; /* TIME_WAIT: the state it stands for, else 0 */
	uint32_t has;	  /* KBPF_* bits: the fields below that are valid */
	uint32_t snd_una; /* oldest unacknowledged */
	uint32_t snd_nxt; /* next to send */
	uint32_t rcv_nxt; /* next expected */
	uint32_t snd_wl1; /* seq of the segment that last updated the window */
	uint32_t write_seq;  /* end of what the application has written */
	uint32_t copied_seq; /* end of what the application has read */
	uint32_t iss, irs;   /* initial send / receive sequence numbers */
};

/* Event types. */
enum kbpf_event_type {
	KBPF_EV_STATE = 1,	/* from -> to */
	KBPF_EV_RESET_SENT = 2, /* the kernel sent a RST on this socket */
	KBPF_EV_RESET_RECV = 3, /* an acceptable RST arrived */
	KBPF_EV_RETRANS = 4,	/* a segment [seq, end_seq) was retransmitted */
};

/* One event of one socket. Sequence numbers are absent entering SYN_SENT
 * (no ISN chosen yet) and SYN_RECV (the new socket still holds its
 * listener's), and for listeners; rcv_nxt in SYN_SENT (before the peer's
 * SYN) but on the change to ESTABLISHED; the local port is 0 entering
 * SYN_SENT (none chosen yet), unless the socket was bound to one. */
struct kbpf_event {
	uint64_t ts_ns;		 /* CLOCK_MONOTONIC, ns */
	uint64_t cookie;	 /* the socket's cookie */
	uint64_t netns;		 /* inode of its network namespace */
	struct kbpf_tuple tuple; /* as the socket sees it */
	uint8_t type;		 /* enum kbpf_event_type */
	uint8_t from, to; /* STATE: kernel TCP_* states; to is TIME_WAIT when
			   * the socket became a TIME_WAIT mini-socket (the
			   * tracepoint says CLOSE; the program found the
			   * mini-socket with the same cookie, in TIME_WAIT),
			   * and when a FIN_WAIT2 mini-socket received the
			   * peer's FIN. A socket that became a FIN_WAIT2
			   * mini-socket (closed before its peer closed)
			   * makes no event: its state has not changed. */
	uint8_t state;	  /* the socket's state at the event */
	uint32_t has;	  /* KBPF_* bits: the fields below that are valid */
	uint32_t snd_una, snd_nxt, rcv_nxt; /* at that moment */
	uint32_t iss, irs;     /* STATE to ESTABLISHED after a handshake; resets
			    * of request sockets */
	uint32_t seq, end_seq; /* RETRANS */
};

struct kbpf;

/* Load the programs (the event ones are attached while a namespace is
 * watched); the handle, or NULL with errno set and a
 * one-line reason in WHY (WHYLEN bytes, may be 0): EPERM without CAP_BPF,
 * CAP_PERFMON and CAP_NET_ADMIN (or CAP_SYS_ADMIN), ENOENT without kernel
 * BTF, ENOSYS if BPF is disabled, ENOMEM, or the loader's errno. */
struct kbpf *kbpf_open(char *why, size_t whylen);
/* Detach, unload and free K (NULL is fine). */
void kbpf_close(struct kbpf *k);
/* The sequence numbers of the socket T names, in the calling thread's
 * network namespace, into OUT; IFINDEX is the interface the socket is bound
 * to (SO_BINDTODEVICE, a VRF, an IPv6 link-local address: sock_diag's
 * idiag_if), or 0 (the kernel's lookup finds a bound socket only with its
 * interface); COOKIE 0 takes any socket, else it must be the socket's (a
 * tuple whose connection is gone may find its listener). 0, -ENOENT if no
 * such socket or another cookie, -EAFNOSUPPORT for a family other than
 * AF_INET/AF_INET6, -EINVAL if K, T or OUT is NULL, -ENODEV if there is no
 * interface IFINDEX, or the -errno of BPF_PROG_TEST_RUN. */
int kbpf_seq(struct kbpf *k, const struct kbpf_tuple *t, uint32_t ifindex,
	     uint64_t cookie, struct kbpf_seq *out);
/* Record events of the network namespace whose inode is NETNS (see
 * kbpf_netns_self()); 0, -E2BIG if 16 are watched already, -EINVAL if K
 * is NULL or NETNS is 0 or above 32 bits, or -errno of attaching the
 * event programs to their tracepoints (the first one). */
int kbpf_watch_netns(struct kbpf *k, uint64_t netns);
/* Stop recording events of NETNS (the last one detaches the programs); 0,
 * -ENOENT if it was not watched, -EINVAL if K is NULL. */
int kbpf_unwatch_netns(struct kbpf *k, uint64_t netns);
/* The inode of the calling thread's network namespace into OUT; 0 or
 * -errno of stat(2) on /proc/thread-self/ns/net. */
int kbpf_netns_self(uint64_t *out);
/* An fd to poll for EPOLLIN (an epoll fd): when readable, call
 * kbpf_drain(). -EINVAL if K is NULL. */
int kbpf_fd(const struct kbpf *k);
/* Callback for each event; the event is valid during the call only. */
typedef void (*kbpf_event_cb)(const struct kbpf_event *e, void *arg);
/* Call CB for every event queued, oldest first (one ring for all CPUs);
 * the number of events, or -EINVAL if K or CB is NULL, or the -errno
 * of reading the ring. Also keeps the iss/irs that kbpf_seq() reports. */
int kbpf_drain(struct kbpf *k, kbpf_event_cb cb, void *arg);
/* The iss and irs kept, for a new image of the daemon (an upgrade): up to
 * SIZE bytes of them at OUT, whole records; the bytes they all take (0 if
 * K is NULL). Call it from the loop's thread. */
size_t kbpf_save(struct kbpf *k, void *out, size_t size);
/* Take what kbpf_save() of this version wrote, LEN bytes at P, where K
 * has room, but for connections K knows already (its own are newer); 0,
 * -EINVAL if they are no such records (or K is NULL), -ENOMEM. */
int kbpf_load(struct kbpf *k, const void *p, size_t len);
/* Events lost so far: the ring buffer was full, or a tracepoint fired
 * while its program ran on the same CPU (0 if K is NULL; the second kind
 * is asked of the kernel at most once a second). */
uint64_t kbpf_lost(struct kbpf *k);

#endif
