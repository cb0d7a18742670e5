/* tcpfs diag: kernel TCP sockets through netlink sock_diag (libmnl).
 *
 * The parsing half (diag_parse) is a pure function over one netlink message
 * and is what the unit tests drive with crafted buffers; the I/O half opens a
 * NETLINK_SOCK_DIAG socket and dumps, fetches or destroys sockets. */
#ifndef TCPFS_DIAG_H
#define TCPFS_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* struct tcp_info as the running kernel may send it (Linux 6.x layout); the
 * installed header can be older. Only the prefix the kernel actually sent is
 * valid: see diag_info_has(). */
struct diag_tcp_info {
	uint8_t state, ca_state, retransmits, probes, backoff, options;
	uint8_t wscale; /* snd:4 (low nibble), rcv:4 (high nibble) */
	uint8_t flags;
	uint32_t rto, ato, snd_mss, rcv_mss;
	uint32_t unacked, sacked, lost, retrans, fackets;
	uint32_t last_data_sent, last_ack_sent, last_data_recv, last_ack_recv;
	uint32_t pmtu, rcv_ssthresh, rtt, rttvar, snd_ssthresh, snd_cwnd;
	uint32_t advmss, reordering, rcv_rtt, rcv_space, total_retrans;
	uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
	uint32_t segs_out, segs_in, notsent_bytes, min_rtt;
	uint32_t data_segs_in, data_segs_out;
	uint64_t delivery_rate, busy_time, rwnd_limited, sndbuf_limited;
	uint32_t delivered, delivered_ce;
	uint64_t bytes_sent, bytes_retrans;
	uint32_t dsack_dups, reord_seen, rcv_ooopack, snd_wnd, rcv_wnd;
};

/* True if the kernel's tcp_info carried field FIELD. */
#define diag_info_has(s, field)                                                \
	((s)->info_len >=                                                      \
	 offsetof(struct diag_tcp_info, field) + sizeof((s)->info.field))

/* What identifies one kernel socket: the 4-tuple and its cookie. */
struct diag_key {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t src[16], dst[16];
	uint16_t sport, dport; /* host order */
	uint64_t cookie;
};

/* One socket as the kernel described it. */
struct diag_sock {
	struct diag_key key;
	uint8_t kstate; /* kernel TCP_* state number */
	uint8_t timer, retrans;
	bool full; /* a full socket: uid and inode are real (not TIME_WAIT or
		    * a request socket) */
	uint32_t expires_ms, rqueue, wqueue, uid, inode, ifindex;
	uint32_t info_len; /* bytes of tcp_info the kernel sent, 0 if none */
	struct diag_tcp_info info;
	bool has_shutdown;
	uint8_t shutdown; /* bit 0: receive side shut, bit 1: send side */
	char cong[16];	  /* congestion control name, "" if not sent */
};

/* Kernel TCP state numbers (include/net/tcp_states.h, a stable ABI; the
 * last two are missing from older headers). */
enum diag_kstate {
	DIAG_TCP_ESTABLISHED = 1,
	DIAG_TCP_SYN_SENT,
	DIAG_TCP_SYN_RECV,
	DIAG_TCP_FIN_WAIT1,
	DIAG_TCP_FIN_WAIT2,
	DIAG_TCP_TIME_WAIT,
	DIAG_TCP_CLOSE,
	DIAG_TCP_CLOSE_WAIT,
	DIAG_TCP_LAST_ACK,
	DIAG_TCP_LISTEN,
	DIAG_TCP_CLOSING,
	DIAG_TCP_NEW_SYN_RECV,
	DIAG_TCP_BOUND_INACTIVE,
};

/**
 * diag_parse - parse one SOCK_DIAG_BY_FAMILY (or TCPDIAG_GETSOCK) reply
 * \param buf: LEN bytes of it
 * \param out: filled
 * Returns 0, or -EINVAL if it is malformed or truncated.
 */
int diag_parse(const void *buf, size_t len, struct diag_sock *out);
/**
 * diag_state_name - the RFC 9293 name of a kernel TCP state
 * \param kstate: the kernel's state number
 * Returns e.g. "ESTABLISHED"; "UNKNOWN" if out of range.
 */
const char *diag_state_name(uint8_t kstate);

struct diag;
/* Callback for each socket of a dump. */
typedef void (*diag_cb)(const struct diag_sock *s, void *arg);

/**
 * diag_open - a sock_diag socket in the current network namespace
 * Returns it, or NULL with errno set (socket() or bind()'s, or ENOMEM).
 */
struct diag *diag_open(void);
/**
 * diag_close - close it
 * \param d: it, or NULL
 */
void diag_close(struct diag *d);
/**
 * diag_dump - every TCP socket, IPv4 and IPv6, every state, no tcp_info;
 *             in one walk of the kernel's tables where the kernel has the
 *             request for any family (else IPv4, then IPv6): each
 *             family's bound and idle sockets come before its others
 * \param d: the socket
 * \param cb: called with ARG for each (a listing needs only identities)
 * Returns 0, or -errno (-ENOBUFS, -EINTR from netlink, ...).
 */
int diag_dump(struct diag *d, diag_cb cb, void *arg);
/**
 * diag_get - the one socket a key names, cookie included
 * \param d: the socket
 * \param key: the tuple and cookie
 * \param out: filled
 * \param search: where the kernel's lookup misses, also look where it
 *                cannot reach: false when the socket was last seen
 *                where it reaches (bound to no interface, not idle)
 * Asks the kernel for the tuple; where its lookup misses a listener (a
 * SO_REUSEPORT sibling), dumps the listeners; and given SEARCH, where it
 * misses a socket bound to an interface or bound and idle, dumps the
 * sockets of its ports (the kernel walks them all: 18 ms at 100k).
 * Returns 0; -ENOENT if it is gone; or netlink's -errno.
 */
int diag_get(struct diag *d, const struct diag_key *key, struct diag_sock *out,
	     bool search);
/**
 * diag_destroy - SOCK_DESTROY the socket a key names, cookie included
 * \param d: the socket
 * \param key: the tuple and cookie
 * \param ifindex: the interface it is bound to (diag_sock.ifindex), or 0
 * Returns 0; -ENOENT (the kernel's lookup does not find it: gone, or one
 * diag_get() finds another way); -EOPNOTSUPP (no
 * CONFIG_INET_DIAG_DESTROY); -EPERM (no CAP_NET_ADMIN); or netlink's
 * -errno.
 */
int diag_destroy(struct diag *d, const struct diag_key *key, uint32_t ifindex);

/**
 * diag_monitor_open - a socket told of every TCP socket the kernel destroys
 * Returns it (non-blocking; needs CAP_NET_ADMIN), or NULL with errno set.
 */
struct diag *diag_monitor_open(void);
/**
 * diag_fd - the fd to poll
 * \param d: the socket
 * Returns the fd.
 */
int diag_fd(const struct diag *d);
/**
 * diag_monitor_read - every destroyed socket queued
 * \param d: a monitor
 * \param cb: called with ARG for each
 * Returns 0; -ENOBUFS if the kernel dropped notifications; or -errno.
 */
int diag_monitor_read(struct diag *d, diag_cb cb, void *arg);

#endif
