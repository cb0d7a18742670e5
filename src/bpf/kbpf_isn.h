/* tcpfs kbpf: the loader's table of connections' iss and irs by socket
 * cookie (internal to src/bpf; unit-tested by tests/unit/test_kbpf_isn.c).
 * Open addressing with linear probing, at most half full, deletion by
 * backward shift. */
#ifndef TCPFS_KBPF_ISN_H
#define TCPFS_KBPF_ISN_H

#include <stddef.h>
#include <stdint.h>

/* One connection. */
struct kbpf_isn {
	uint64_t cookie; /* 0: a free slot */
	uint64_t expire; /* when it may go (CLOCK_MONOTONIC ns), 0: never */
	uint32_t iss, irs;
};

/* The table; all zero is an empty one. */
struct kbpf_isn_tab {
	struct kbpf_isn *v;
	size_t cap; /* 0 or a power of 2 */
	size_t n;
	size_t max; /* most entries it takes, 0: KBPF_ISN_MAX */
};

/* Default for kbpf_isn_tab.max: 2^21 slots of 24 bytes at most, 48 MiB. */
#define KBPF_ISN_MAX (1u << 20)

/* The entry of COOKIE (non-zero) in T, or NULL. */
struct kbpf_isn *kbpf_isn_find(const struct kbpf_isn_tab *t, uint64_t cookie);
/* Set COOKIE's (non-zero) iss and irs, with no expiry; 0, -ENOSPC if T
 * holds max entries already, -ENOMEM (T unchanged then). */
int kbpf_isn_put(struct kbpf_isn_tab *t, uint64_t cookie, uint32_t iss,
		 uint32_t irs);
/* Remove COOKIE's entry if there is one. */
void kbpf_isn_del(struct kbpf_isn_tab *t, uint64_t cookie);
/* Remove every entry whose expire is non-zero and <= NOW; 0 or -ENOMEM
 * (T unchanged). Where none has, T is left as it is (no entry moves). */
int kbpf_isn_purge(struct kbpf_isn_tab *t, uint64_t now);
/* Free T's memory; T is empty after. */
void kbpf_isn_free(struct kbpf_isn_tab *t);

#endif
