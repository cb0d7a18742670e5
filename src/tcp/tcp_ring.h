/* Byte rings: the send and receive queues (tcp_ring.c). */
#ifndef TCPFS_TCP_RING_H
#define TCPFS_TCP_RING_H

#include <sys/uio.h>

#include "tcp_sock.h"

/* Storage is charged to the ring's account (if any) when allocated or
 * grown, and uncharged when freed; a refused charge fails as ENOMEM
 * does (the account's mem->refused tells them apart). */

/* Append up to N bytes; how many fit (0 when the storage cannot be had). */
uint32_t tcp_ring_write(struct tcp_ring *r, const void *src, uint32_t n);
/* Store N bytes at OFF past the head; the length stays (out of order).
 * False when the storage cannot be had (nothing is stored). */
bool tcp_ring_put(struct tcp_ring *r, uint32_t off, const void *src,
		  uint32_t n);
/* Copy N bytes at OFF past the head to DST. */
void tcp_ring_peek(const struct tcp_ring *r, uint32_t off, void *dst,
		   uint32_t n);
/* The N bytes at OFF past the head where they lie, without a copy: one
 * or two pieces (the ring wraps) into IOV; how many. */
int tcp_ring_span(const struct tcp_ring *r, uint32_t off, uint32_t n,
		  struct iovec iov[2]);
/* Forget the first N bytes. */
void tcp_ring_drop(struct tcp_ring *r, uint32_t n);
/* Enlarge to CAP, every byte at its offset; false on ENOMEM. */
bool tcp_ring_grow(struct tcp_ring *r, uint32_t cap);
/* Free the storage; empty (capacity kept: it is allocated again on use). */
void tcp_ring_free(struct tcp_ring *r);

#endif
