/* Timers, the arming side (tcp_timer.c); expiry is tcp_timeout.h's. */
#ifndef TCPFS_TCP_TIMER_H
#define TCPFS_TCP_TIMER_H

#include "tcp_sock.h"

/* The timestamp clock at NOW (RFC 7323 §5.4: 1 ms). */
uint32_t tcp_ts_now(tcp_time now);
/* File C again in the heap after any of its timers changed. */
void tcp_timers_update(struct tcp_engine *e, struct tcp_conn *c);
/* Take C out of the heap. */
void tcp_heap_del(struct tcp_engine *e, struct tcp_conn *c);
/* Room in the heap for N connections, taken as each is made, so that
 * arming a timer needs no memory: a connection the heap could not take
 * would never time out. False if there is no memory for it. */
bool tcp_heap_reserve(struct tcp_engine *e, size_t n);
/* After a connection went: halve the heap's room while a quarter of it
 * holds every connection, so that a burst of them leaves no memory held. */
void tcp_heap_trim(struct tcp_engine *e);
/* An RTT sample R (RFC 6298 §2): SRTT, RTTVAR, RTO within CFG's bounds. */
void tcp_rtt_sample(struct tcp_conn *c, tcp_time r,
		    const struct tcp_config *cfg);
/* When C's user timeout runs out (TCP_NEVER: none set, or nothing
 * outstanding). */
tcp_time tcp_user_deadline(const struct tcp_conn *c);
/* Retransmission timer at NOW + RTO, or at the user timeout if sooner
 * (persist off). */
void tcp_rtx_arm(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
/* The tail loss probe or RACK's reordering deadline, if before the RTO. */
void tcp_tlp_arm(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
/* Delayed ACK within cfg.delack (kept if already armed). */
void tcp_delack_arm(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
/* Keepalive from NOW, when on and synchronized. */
void tcp_keep_arm(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
/* FIN_WAIT_2's limit of 2 MSL, if C was closed (not only shut down). */
void tcp_fin_wait_2_timer(struct tcp_engine *e, struct tcp_conn *c,
			  tcp_time now);

#endif
