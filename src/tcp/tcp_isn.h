/* The keyed hash of the sequence space (tcp_isn.c): ISNs (RFC 6528), the
 * tuple hash of tables and ports, SYN cookies (RFC 4987 §3.6). */
#ifndef TCPFS_TCP_ISN_H
#define TCPFS_TCP_ISN_H

#include "tcp_sock.h"

/* SipHash-2-4 of MSG under KEY. */
uint64_t tcp_siphash(const uint64_t key[2], const void *msg, size_t len);
/* The engine's keyed hash of a 4-tuple and EXTRA. */
uint64_t tcp_tuple_hash(const struct tcp_engine *e, const struct wire_ep *local,
			const struct wire_ep *remote, uint64_t extra);
/* RFC 6528's ISN of a 4-tuple at NOW. */
uint32_t tcp_isn(const struct tcp_engine *e, const struct wire_ep *local,
		 const struct wire_ep *remote, tcp_time now);
/* The cookie ISN answering SYN; *MSS gets the MSS it encodes. */
uint32_t tcp_cookie_make(const struct tcp_engine *e, const struct wire_seg *syn,
			 uint16_t *mss, tcp_time now);
/* The 64 s period a cookie made at NOW is of, from 1 (0 stands for
 * none): a cookie is good in its period and the next. */
uint32_t tcp_cookie_period(tcp_time now);
/* Whether ACK brings back a cookie of ours (this or the last 64 s). */
bool tcp_cookie_check(const struct tcp_engine *e, const struct wire_seg *ack,
		      uint16_t *mss, tcp_time now);
/* A cookie SYN,ACK's TSval carrying SYN's window scale and SACK-OK. */
uint32_t tcp_cookie_tsval(const struct wire_opts *syn, uint32_t ts_now);
/* The options a cookie TSval carried, from the peer's TSECR. */
void tcp_cookie_opts(uint32_t tsecr, struct wire_opts *o);

#endif
