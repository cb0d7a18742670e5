/* Segment arrival (tcp_input.c). */
#ifndef TCPFS_TCP_INPUT_H
#define TCPFS_TCP_INPUT_H

#include "tcp_sock.h"

/* Parsed segment S at NOW (RFC 9293 §3.10.7). */
void tcp_input_seg(struct tcp_engine *e, struct wire_seg *s, tcp_time now);

#endif
