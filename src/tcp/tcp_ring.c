/* Byte rings for the send and receive queues. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tcp_mem.h"
#include "tcp_ring.h"

/* Charge N bytes of R's storage to its account (if it has one). */
static bool ring_charge(struct tcp_ring *r, uint32_t n)
{
	return !r->acct || tcp_mem_charge(r->acct, n);
}

static void ring_uncharge(struct tcp_ring *r, uint32_t n)
{
	if (r->acct)
		tcp_mem_uncharge(r->acct, n);
}

/* A transparent huge page (x86-64, arm64 with 4 KiB pages). */
#define RING_HUGE (2u << 20)

/* Storage for a ring of CAP bytes: from RING_HUGE on, in huge pages where
 * the kernel gives them on request (transparent_hugepage "madvise"; a
 * hint, harmless if refused). A receive ring's bytes go to a reader of
 * `data` straight from it, and FUSE pins every page it copies from
 * (get_user_pages): a huge page is pinned in one go, not 512 times. Rings
 * below it stay plain: idle connections hold little. */
static uint8_t *ring_storage(uint32_t cap)
{
	uint8_t *p;

	if (cap < RING_HUGE)
		return malloc(cap);
	p = aligned_alloc(RING_HUGE, (cap + RING_HUGE - 1) & ~(RING_HUGE - 1));
	if (p)
		madvise(p, cap, MADV_HUGEPAGE);
	return p;
}

/* Allocate the storage on first use: idle connections hold no buffers. */
static bool tcp_ring_reserve(struct tcp_ring *r)
{
	if (r->buf)
		return true;
	if (!ring_charge(r, r->cap))
		return false;
	r->buf = ring_storage(r->cap);
	if (!r->buf)
		ring_uncharge(r, r->cap);
	return r->buf != NULL;
}

int tcp_ring_span(const struct tcp_ring *r, uint32_t off, uint32_t n,
		  struct iovec iov[2])
{
	uint32_t pos = (r->head + off) % r->cap;
	uint32_t first = n < r->cap - pos ? n : r->cap - pos;

	iov[0] = (struct iovec){r->buf + pos, first};
	iov[1] = (struct iovec){r->buf, n - first};
	return n ? 1 + (n > first) : 0;
}

/* Copy N bytes between SRC/DST and the ring at offset OFF from the head. */
static void ring_copy(const struct tcp_ring *r, uint32_t off, uint8_t *ext,
		      uint32_t n, bool to_ring)
{
	struct iovec iov[2];
	int k = tcp_ring_span(r, off, n, iov);

	/* the wrapped piece first: bytes read into the free room already lie
	 * where they go (tcp_rx_landing()), or a little before it, and the
	 * first piece's move overwrites the end of that room, where the
	 * second piece's bytes are */
	for (int i = k - 1; i >= 0; i--) {
		uint8_t *at = ext + (i ? iov[0].iov_len : 0);
		if (to_ring && iov[i].iov_base != at)
			memmove(iov[i].iov_base, at, iov[i].iov_len);
		else if (!to_ring)
			memcpy(at, iov[i].iov_base, iov[i].iov_len);
	}
}

/* Append up to N bytes; how many fit. */
uint32_t tcp_ring_write(struct tcp_ring *r, const void *src, uint32_t n)
{
	if (n > r->cap - r->len)
		n = r->cap - r->len;
	if (!n || !tcp_ring_reserve(r))
		return 0;
	ring_copy(r, r->len, (uint8_t *)src, n, true);
	r->len += n;
	return n;
}

/* Store N bytes at OFF past the head without changing the length: the
 * out-of-order data waiting beyond the in-order bytes. */
bool tcp_ring_put(struct tcp_ring *r, uint32_t off, const void *src, uint32_t n)
{
	if (n && !tcp_ring_reserve(r))
		return false;
	if (n)
		ring_copy(r, off, (uint8_t *)src, n, true);
	return true;
}

void tcp_ring_peek(const struct tcp_ring *r, uint32_t off, void *dst,
		   uint32_t n)
{
	if (n)
		ring_copy(r, off, dst, n, false);
}

void tcp_ring_drop(struct tcp_ring *r, uint32_t n)
{
	r->head = (r->head + n) % r->cap;
	r->len -= n;
}

/* Enlarge to CAP keeping every byte of the old capacity (in-order and
 * out-of-order alike) at the same offset from the head. */
bool tcp_ring_grow(struct tcp_ring *r, uint32_t cap)
{
	uint8_t *nb;

	if (cap <= r->cap)
		return true;
	if (!r->buf) {
		r->cap = cap;
		return true;
	}
	if (!ring_charge(r, cap - r->cap))
		return false;
	nb = ring_storage(cap);
	if (!nb) {
		ring_uncharge(r, cap - r->cap);
		return false;
	}
	ring_copy(r, 0, nb, r->cap, false);
	free(r->buf);
	r->buf = nb;
	r->head = 0;
	r->cap = cap;
	return true;
}

void tcp_ring_free(struct tcp_ring *r)
{
	if (r->buf)
		ring_uncharge(r, r->cap);
	free(r->buf);
	r->buf = NULL;
	r->head = r->len = 0;
}
