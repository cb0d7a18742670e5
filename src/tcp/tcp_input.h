/* Segment arrival (tcp_input.c). */
#ifndef TCPFS_TCP_INPUT_H
#define TCPFS_TCP_INPUT_H

#include "tcp_sock.h"

/* Parsed segment S at NOW (RFC 9293 §3.10.7). */
void tcp_input_seg(struct tcp_engine *e, struct wire_seg *s, tcp_time now);

/* ICMP error IC about one of our segments at NOW (RFC 1122 §4.2.3.9, RFC
 * 5927, RFC 1191, RFC 8201). */
void tcp_icmp_input(struct tcp_engine *e, const struct wire_icmp *ic,
		    tcp_time now);

#endif
