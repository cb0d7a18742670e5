/* Sets of socket cookies (nonzero 64-bit numbers): a hash set, and a list
 * sorted when first asked. */
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

/* A list of socket cookies, sorted when first asked: a listing appends
 * each of its sockets' at the cost of a store, and only a lookup that
 * needs it sorts it. */
struct cookielist {
	uint64_t *v;
	size_t n, cap;
	bool sorted;
};

/**
 * cookielist_clear - empty a list, keeping its room
 * \param l: the list (zeroed: empty)
 */
void cookielist_clear(struct cookielist *l);
/**
 * cookielist_add - append a cookie
 * \param l: the list
 * \param cookie: the cookie
 * Returns 0, or -ENOMEM (the list is unchanged).
 */
int cookielist_add(struct cookielist *l, uint64_t cookie);
/**
 * cookielist_has - whether a cookie is in the list (sorted first if need be)
 * \param l: the list
 * \param cookie: the cookie
 * Returns true if it is.
 */
bool cookielist_has(struct cookielist *l, uint64_t cookie);
/**
 * cookielist_free - free a list's room; it is empty after
 * \param l: the list
 */
void cookielist_free(struct cookielist *l);

#endif
