/* tcpfs num: numbers as users write them in options: plain decimal digits,
 * no sign, blank, exponent, hex, inf or nan (strtod and strtoul take all
 * of those). */
#ifndef TCPFS_NUM_H
#define TCPFS_NUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * num_whole - S's first N characters as a whole number
 * \param out: the value, 0 to 2^64 - 1
 * Returns false if N is 0, a character is not a digit, or it overflows.
 */
bool num_whole(const char *s, size_t n, uint64_t *out);
/**
 * num_decimal - S, all of it, as "D" or "D.D" (digits, a point, digits)
 * \param out: the value
 * Returns false if S is anything else.
 */
bool num_decimal(const char *s, double *out);

#endif
