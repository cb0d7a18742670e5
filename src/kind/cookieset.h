/* A set of socket cookies (nonzero 64-bit numbers), open addressing. */
#ifndef TCPFS_COOKIESET_H
#define TCPFS_COOKIESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cookieset {
	uint64_t *slot; /* 0: empty; mask + 1 of them, a power of two */
	size_t mask, n;
};

/**
 * cookieset_clear - empty a set, keeping its room
 * \param s: the set (zeroed: empty)
 */
void cookieset_clear(struct cookieset *s);
/**
 * cookieset_add - add a cookie
 * \param s: the set
 * \param cookie: nonzero
 * Returns 0, or -ENOMEM (the set is unchanged).
 */
int cookieset_add(struct cookieset *s, uint64_t cookie);
/**
 * cookieset_has - whether a cookie is in the set
 * \param s: the set
 * \param cookie: the cookie
 * Returns true if it is.
 */
bool cookieset_has(const struct cookieset *s, uint64_t cookie);
/**
 * cookieset_free - free a set's room; it is empty after
 * \param s: the set
 */
void cookieset_free(struct cookieset *s);

#endif
