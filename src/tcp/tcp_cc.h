/* Congestion control (tcp_cc.c): NewReno and CUBIC behind tcp_cc_ops. */
#ifndef TCPFS_TCP_CC_H
#define TCPFS_TCP_CC_H

#include "tcp_sock.h"

extern const struct tcp_cc_ops tcp_cc_newreno, tcp_cc_cubic;

#endif
