/* The handshake's options (tcp_opts.c). */
#ifndef TCPFS_TCP_OPTS_H
#define TCPFS_TCP_OPTS_H

#include "tcp_sock.h"

/* What a SYN or SYN,ACK of ours offers or answers. */
struct tcp_synopt {
	uint16_t mss;
	bool ws, sack, ts;
	uint8_t wscale;
};

/* The window scale that lets BYTES of receive buffer be announced. */
uint8_t tcp_wscale_for(uint32_t bytes);
/* SYN or SYN,ACK options from W into O (timestamps' values not set). */
void tcp_syn_opts(const struct tcp_synopt *w, struct wire_opts *o);
/* Take the peer's SYN or SYN,ACK S: options, IRS, RCV.NXT, our MSS. */
void tcp_take_syn_opts(struct tcp_engine *e, struct tcp_conn *c,
		       const struct wire_seg *s, tcp_time now);
/* Lower C's send MSS to what its path MTU (c->pmtu, 0: none) allows;
 * true if it went down. */
bool tcp_mss_clamp(struct tcp_conn *c);
/* A SYN cookie's ACK S: the options its TSecr brought back. */
void tcp_take_cookie_opts(struct tcp_engine *e, struct tcp_conn *c,
			  const struct wire_seg *s, tcp_time now);

#endif
