/* The connection tables (tcp_table.c): by id, by 4-tuple, ports, and the
 * engine's own addresses. */
#ifndef TCPFS_TCP_TABLE_H
#define TCPFS_TCP_TABLE_H

#include "tcp_sock.h"

/* Put new connection C (id set) in the id table. */
void tcp_table_link(struct tcp_engine *e, struct tcp_conn *c);
/* Take C out of both tables. */
void tcp_table_unlink(struct tcp_engine *e, struct tcp_conn *c);
/* Connection ID, or NULL. */
struct tcp_conn *tcp_conn_find(const struct tcp_engine *e, uint32_t id);
/* The connection of a segment to LOCAL from REMOTE: the exact 4-tuple,
 * else a listener on the address, on any of its family, on both. */
struct tcp_conn *tcp_lookup(struct tcp_engine *e, const struct wire_ep *local,
			    const struct wire_ep *remote);
/* Put C under its 4-tuple (and count it in its destination); 0,
 * -EADDRINUSE or -ENOMEM. */
int tcp_tuple_add(struct tcp_engine *e, struct tcp_conn *c);
/* Take C from the 4-tuple table (if there). */
void tcp_tuple_del(struct tcp_engine *e, struct tcp_conn *c);
/* An ephemeral port for LOCAL towards REMOTE (RFC 6056 algorithm 4) in
 * LOCAL->port; 0, -EADDRNOTAVAIL (every one taken) or -ENOMEM. */
int tcp_pick_port(struct tcp_engine *e, struct wire_ep *local,
		  const struct wire_ep *remote);
/* C has entered TIME_WAIT at NOW, or its peer spoke to it there: NOW is
 * its tw_since, and it goes to the end of its destination's list of
 * reuse candidates (if it used timestamps and has an ephemeral port). */
void tcp_tw_list(struct tcp_conn *c, tcp_time now);
/* The least recently active candidate of tcp_tw_list() from LOCAL's
 * address to REMOTE, or NULL. */
struct tcp_conn *tcp_tw_oldest(const struct tcp_engine *e,
			       const struct wire_ep *local,
			       const struct wire_ep *remote);
/* Free the destinations (the engine goes). */
void tcp_dests_free(struct tcp_engine *e);
/* The engine's address of FAMILY, or NULL. */
const struct wire_ep *tcp_own_addr(const struct tcp_engine *e, int family);

#endif
