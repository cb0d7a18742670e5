/* Congestion control (tcp_cc.c): NewReno and CUBIC behind tcp_cc_ops. */
#ifndef TCPFS_TCP_CC_H
#define TCPFS_TCP_CC_H

#include "tcp_sock.h"

extern const struct tcp_cc_ops tcp_cc_newreno, tcp_cc_cubic;

/* RFC 6928: IW = min(10 MSS, max(2 MSS, 14600)). */
uint32_t tcp_initial_window(const struct tcp_conn *c);
/* Before sending at NOW: after an idle longer than the RTO, the window
 * restarts from min(IW, cwnd) (RFC 5681 §4.1). */
void tcp_cwnd_restart(struct tcp_conn *c, tcp_time now);

#endif
