/* A connection's trace of segments and state changes (tcp_trace.c). */
#ifndef TCPFS_TCP_TRACE_H
#define TCPFS_TCP_TRACE_H

#include "tcp_sock.h"

/* Note segment S, sent (DIR '>') or received ('<'). */
void tcp_trace_seg(const struct tcp_engine *e, struct tcp_conn *c, char dir,
		   const struct wire_seg *s, tcp_time now);
/* Note a received segment and count it. */
void tcp_trace_in(const struct tcp_engine *e, struct tcp_conn *c,
		  const struct wire_seg *s, tcp_time now);
/* Note a state change. */
void tcp_trace_state(const struct tcp_engine *e, struct tcp_conn *c,
		     enum tcp_state from, enum tcp_state to, tcp_time now);
/* Up to MAX entries of C's trace into OUT, oldest first; how many. */
int tcp_trace_copy(const struct tcp_conn *c, struct tcp_trace_ent *out,
		   int max);

#endif
