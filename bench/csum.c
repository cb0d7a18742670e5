/* bench/csum.c: the engine's Internet checksum (wire_csum_add, 64-bit
 * words with end-around carry) against two references measured in the same
 * run: RFC 1071's plain 16-bit loop and the 32-bit-word sum tcpfs used
 * before. Prints Gbit/s per buffer length and the ratios.
 *
 * build: cc -O2 -D_GNU_SOURCE -Iinclude -o csum bench/csum.c src/wire/wire.c
 *        src/wire/ep.c (bench/csum.sh does it)
 * usage: csum [MB per length, default 2000] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tcpfs/wire.h"

static uint32_t ref16(uint32_t s, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	return s;
}

/* tcpfs's sum before 64-bit words: 32 bits at a time into 64 bits. */
static uint32_t ref32(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t s = 0;
	uint32_t w;
	uint16_t h;
	uint8_t b[2];

	for (; len >= 4; p += 4, len -= 4) {
		memcpy(&w, p, 4);
		s += w;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		s += h;
		p += 2;
		len -= 2;
	}
	if (len) {
		const uint8_t pad[2] = {*p, 0};
		memcpy(&h, pad, 2);
		s += h;
	}
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	h = (uint16_t)s;
	memcpy(b, &h, 2);
	return sum + ((uint32_t)b[0] << 8 | b[1]);
}

typedef uint32_t sum_fn(uint32_t, const void *, size_t);

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Gbit/s of FN over LEN bytes at P, about MB megabytes in all. */
static double gbit(sum_fn *fn, const uint8_t *p, size_t len, double mb,
		   volatile uint32_t *sink)
{
	size_t rounds = (size_t)(mb * 1e6 / (double)len) + 1;
	uint32_t s = 0;
	double t = now();

	for (size_t i = 0; i < rounds; i++)
		s += wire_csum_fold(fn(0, p + (i & 1), len));
	t = now() - t;
	*sink = s;
	return (double)rounds * (double)len * 8 / t / 1e9;
}

int main(int argc, char **argv)
{
	static const size_t lens[] = {40, 64, 576, 1480, 9000, 65535};
	static uint8_t buf[65536 + 8];
	double mb = argc > 1 ? atof(argv[1]) : 2000;
	volatile uint32_t sink;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		if (ref16(0, buf, lens[i]) % 0xffff !=
		    wire_csum_add(0, buf, lens[i]) % 0xffff)
			return fprintf(stderr, "csum: wrong sum\n"), 1;
	printf("%7s %10s %10s %10s %8s %8s  (Gbit/s; odd alignment "
	       "every other call)\n",
	       "bytes", "wire_csum", "before32", "rfc16", "x before",
	       "x rfc16");
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		double w = gbit(wire_csum_add, buf, lens[i], mb, &sink);
		double b = gbit(ref32, buf, lens[i], mb, &sink);
		double r = gbit(ref16, buf, lens[i], mb / 4, &sink);

		printf("%7zu %10.1f %10.1f %10.1f %8.2f %8.2f\n", lens[i], w, b,
		       r, w / b, w / r);
	}
	return 0;
}
