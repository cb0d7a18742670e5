/* Congestion control (tcp_cc.c): NewReno and CUBIC behind tcp_cc_ops. */
#ifndef TCPFS_TCP_CC_H
#define TCPFS_TCP_CC_H

#include "tcp_sock.h"

extern const struct tcp_cc_ops tcp_cc_newreno, tcp_cc_cubic;

/* RFC 6928: IW = min(10 MSS, max(2 MSS, 14600)). */
uint32_t tcp_initial_window(const struct tcp_conn *c);
/* Whether the window held the sender back, FLIGHT bytes in flight before
 * an ACK (Linux's tcp_is_cwnd_limited()): in slow start while the window
 * is less than twice the flight, else while the flight fills it to within
 * a segment. A sender held back by the application or by the peer's
 * window does not grow it (RFC 7661, RFC 9438 §5.8). */
bool tcp_cwnd_limited(const struct tcp_conn *c, uint32_t flight);
/* Before sending at NOW: after an idle longer than the RTO, the window
 * restarts from min(IW, cwnd) (RFC 5681 §4.1). */
void tcp_cwnd_restart(struct tcp_conn *c, tcp_time now);

#endif
