/* The connection core (tcp_conn.c). */
#ifndef TCPFS_TCP_CONN_H
#define TCPFS_TCP_CONN_H

#include "tcp_sock.h"

/* A new connection of OWNER in CLOSED, in the id table, into *OUT.
 * Returns 0, or -ENFILE, -EMFILE, -ENOBUFS (tcp_mem_admit()), -ENOMEM
 * with *OUT NULL. */
int tcp_conn_new(struct tcp_engine *e, uint32_t owner, struct tcp_conn **out);
/* Free C's memory only (the engine is going). */
void tcp_conn_release(struct tcp_conn *c);
/* Unlink C from everything and free it; sends nothing. */
void tcp_conn_destroy(struct tcp_engine *e, struct tcp_conn *c);
/* ISS (RFC 6528) and the send variables, RTO, for a connection opening. */
void tcp_conn_init_seq(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
/* Enter state ST: half-open counts, buffers, trace, events, timers. */
void tcp_set_state(struct tcp_engine *e, struct tcp_conn *c, enum tcp_state st,
		   tcp_time now);
/* The normal end: CLOSED without an error. */
void tcp_conn_end(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
/* TW, in TIME_WAIT, gives its 4-tuple to a new incarnation (RFC 9293
 * §3.6.1, RFC 6191): the next tcp_conn_init_seq() starts above every
 * sequence number TW sent (Linux's: its SND.NXT + 65537) and TW ends,
 * saying why. */
void tcp_conn_tw_handover(struct tcp_engine *e, struct tcp_conn *tw,
			  tcp_time now);
/* Failure: CLOSED, and the user's calls return -ERR (ERR > 0). */
void tcp_conn_fail(struct tcp_engine *e, struct tcp_conn *c, int err,
		   tcp_time now);
/* Queue events EV (TCP_EV_*) of C for tcp_dispatch() to deliver. */
void tcp_event(struct tcp_engine *e, struct tcp_conn *c, unsigned ev);
/* Deliver the queued events in MASK (TCP_EV_*) to cfg.event; the others
 * stay queued (tcp_dispatch() only). */
void tcp_events_flush(struct tcp_engine *e, unsigned mask);
/* The payload lent to output_partial is needed no longer (cfg.output_flush):
 * before a send queue is freed, an event is called, dispatch returns. */
void tcp_output_flush(struct tcp_engine *e);
/* C has something to send: tcp_dispatch() calls tcp_output() for it. */
void tcp_conn_mark(struct tcp_engine *e, struct tcp_conn *c);
/* Take C from listener L's accept queue (if there). */
void tcp_aq_remove(struct tcp_conn *l, struct tcp_conn *c);

#endif
