/* Congestion control (tcp_cc.c): NewReno and CUBIC behind tcp_cc_ops. */
#ifndef TCPFS_TCP_CC_H
#define TCPFS_TCP_CC_H

#include "tcp_sock.h"

extern const struct tcp_cc_ops tcp_cc_newreno, tcp_cc_cubic;

/* RFC 6928: IW = min(10 MSS, max(2 MSS, 14600)). */
uint32_t tcp_initial_window(const struct tcp_conn *c);
/* After a send, PIPE bytes now in flight; SENT: something went. Keeps,
 * over the data sent up to a window's end, whether the window held the
 * sender back (less than a segment of room left) and the most in flight
 * (Linux's tcp_cwnd_validate()). */
void tcp_cwnd_used(struct tcp_conn *c, uint32_t pipe, bool sent);
/* Whether the window limits the sender, for an ACK's growth (Linux's
 * tcp_is_cwnd_limited()): it held the sender back within the latest
 * window of data, or, in slow start, it is less than twice the most in
 * flight then. A sender held back by the application or by the peer's
 * window does not grow it (RFC 7661, RFC 9438 §5.8). */
bool tcp_cwnd_limited(const struct tcp_conn *c);
/* Before sending at NOW: after an idle longer than the RTO, the window
 * restarts from min(IW, cwnd) (RFC 5681 §4.1). */
void tcp_cwnd_restart(struct tcp_conn *c, tcp_time now);

#endif
