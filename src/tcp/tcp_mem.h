/* Buffer memory and connection accounting (tcp_mem.c): the caps of
 * struct tcp_config, per owner and overall, and the memory pressure that
 * clamps receive windows. */
#ifndef TCPFS_TCP_MEM_H
#define TCPFS_TCP_MEM_H

#include "tcp_sock.h"

/* Start E's accounting (nothing charged, no pressure). */
void tcp_mem_init(struct tcp_engine *e);
/* Free the accounts left when E goes (its connections were released). */
void tcp_mem_fini(struct tcp_engine *e);
/* Whether one more connection of OWNER fits, with room for its buffers
 * to start (tcp_mem_room()): 0, or -ENFILE (max_conns), -EMFILE
 * (max_conns_owner), -ENOBUFS (mem_max, mem_owner); e->mem.refused
 * says which. */
int tcp_mem_admit(struct tcp_engine *e, uint32_t owner);
/* Whether A (NULL: an owner with nothing yet) and the engine have room
 * for one more connection: its struct and the smallest receive buffer it
 * moves data with (the window under pressure, 4 MSS). Connect, listen and
 * a SYN to a listener ask the same as a new connection, so that one
 * answer holds for all. 0, or -ENOBUFS (m->refused says which cap). */
int tcp_mem_room(struct tcp_mem *m, const struct tcp_mem_acct *a);
/* One more connection of OWNER: its account, made on the first; NULL on
 * ENOMEM. */
struct tcp_mem_acct *tcp_mem_conn_add(struct tcp_engine *e, uint32_t owner);
/* A connection of A is gone (all its memory uncharged): A goes with the
 * last. */
void tcp_mem_conn_del(struct tcp_mem_acct *a);
/* Charge N bytes to A and the engine. False, nothing charged and
 * mem->refused set, if either would pass its cap. */
bool tcp_mem_charge(struct tcp_mem_acct *a, uint64_t n);
/* N bytes charged to A are freed. */
void tcp_mem_uncharge(struct tcp_mem_acct *a, uint64_t n);
/* The bytes C's send queue may store now: up to its send limit, or under
 * pressure up to the ring it has, as Linux stops expanding sndbuf
 * (tcp_should_expand_sndbuf). The one answer for tcp_send(), POLLOUT
 * (tcp_ready()) and tcp_writable(). */
uint32_t tcp_mem_snd_room(const struct tcp_conn *c);
/* The largest window C offers from RCV.NXT: 4 MSS under pressure, as
 * Linux clamps rcv_ssthresh; else no limit (UINT32_MAX). */
uint32_t tcp_mem_rcv_clamp(const struct tcp_conn *c);
/* The capacity to give C's receive ring when it is allocated, with WND
 * bytes of window already offered: its full capacity when that fits and
 * the engine is not under pressure, else no less than WND (a window
 * offered is never taken back, RFC 9293 §3.8.6) nor the clamp. */
uint32_t tcp_mem_rcv_cap(const struct tcp_conn *c, uint32_t wnd);

#endif
