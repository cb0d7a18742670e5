/* The receive path (tcp_rx.c): reassembly and the receive window. */
#ifndef TCPFS_TCP_RX_H
#define TCPFS_TCP_RX_H

#include "tcp_sock.h"

/* RCV.WND: the window we announced, from RCV.NXT (never negative). */
uint32_t tcp_rcv_wnd(const struct tcp_conn *c);
/* RFC 7323 §2.2: a SYN's window is never scaled: SPACE, up to 65535. */
uint16_t tcp_syn_wnd(uint32_t space);
/* The window field of a segment (SYN: unscaled, RFC 7323 §2.2), moving
 * RCV_ADV right by receiver SWS avoidance (RFC 9293 §3.8.6.2.2). */
uint16_t tcp_rcv_wnd_field(struct tcp_conn *c, bool syn);
/* Segment S's text at RCV.NXT or beyond (§3.10.7.4 seventh): stored,
 * acknowledged by the delayed-ACK rules (RFC 5681 §4.2), or dropped with
 * an ACK at once when its buffer would pass a memory cap. 0, or -ENOMEM
 * when the receive buffer cannot be allocated (nothing is taken). */
int tcp_rx_data(struct tcp_engine *e, struct tcp_conn *c,
		const struct wire_seg *s, tcp_time now);
/* Our SACK blocks into O (RFC 2018 §4: the latest island first, then
 * those reported most recently), remembered as the latest report. */
void tcp_rx_sack_blocks(struct tcp_conn *c, struct wire_opts *o);
/* The user took N bytes: free them, tune, mark a window update. */
void tcp_rx_read(struct tcp_engine *e, struct tcp_conn *c, uint32_t n,
		 tcp_time now);

/* Nobody will read C's received data (a close that resets the peer for
 * it, RFC 1122 §4.2.2.13): free it, out-of-order data too, as Linux's
 * tcp_close purges its receive queue; the urgent mark goes with it. */
void tcp_rx_purge(struct tcp_conn *c);

/* §3.10.7.4 sixth, the URG bit of S: RCV.UP moves to the byte after the
 * urgent data (RFC 9293 MUST-31, RFC 6093), TCP_EV_URGENT when none was
 * pending (MUST-32). The data itself stays inline. */
void tcp_rx_urgent(struct tcp_engine *e, struct tcp_conn *c,
		   const struct wire_seg *s);
/* Urgent bytes not yet read (MUST-33): to RCV.UP from the next to read. */
uint32_t tcp_rx_urgent_left(const struct tcp_conn *c);

#endif
