/* Listeners and their children (tcp_listen.c). */
#ifndef TCPFS_TCP_LISTEN_H
#define TCPFS_TCP_LISTEN_H

#include "tcp_sock.h"

/* Segment S for listener L (§3.10.7.2): RST, SYN,ACK or SYN cookie at
 * once. A cookie's ACK makes a child: it is returned for the segment to
 * go on to it (SYN-RECEIVED); else NULL. */
struct tcp_conn *tcp_listen_input(struct tcp_engine *e, struct tcp_conn *l,
				  struct wire_seg *s, tcp_time now);
/* Child C reached ESTABLISHED: to its listener's accept queue. */
void tcp_child_established(struct tcp_engine *e, struct tcp_conn *c);
/* Close listener L: its children not accepted die with a RST. */
void tcp_listener_close(struct tcp_engine *e, struct tcp_conn *l, tcp_time now);

#endif
