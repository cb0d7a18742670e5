/* Timers running out (tcp_timeout.c). */
#ifndef TCPFS_TCP_TIMEOUT_H
#define TCPFS_TCP_TIMEOUT_H

#include "tcp_sock.h"

/* Run C's expired timers at NOW; C may be gone afterwards. */
void tcp_timers_run(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);

#endif
