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
/* Put C under its 4-tuple; 0 or -EADDRINUSE. */
int tcp_tuple_add(struct tcp_engine *e, struct tcp_conn *c);
/* Take C from the 4-tuple table (if there). */
void tcp_tuple_del(struct tcp_engine *e, struct tcp_conn *c);
/* An ephemeral port for LOCAL towards REMOTE (RFC 6056 algorithm 3); 0 or
 * -EADDRINUSE. */
int tcp_pick_port(struct tcp_engine *e, struct wire_ep *local,
		  const struct wire_ep *remote);
/* The engine's address of FAMILY, or NULL. */
const struct wire_ep *tcp_own_addr(const struct tcp_engine *e, int family);

#endif
