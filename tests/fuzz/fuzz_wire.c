/* libFuzzer target for src/wire: any bytes as a packet, as an endpoint
 * string and as checksum input. A parsed packet must rebuild and parse back
 * to the same segment; a parsed endpoint must format and parse back.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true \
 *	-Db_sanitize=address,undefined -Db_lundef=false
 *   ninja -C build-fuzz && cp -r tests/fuzz/corpus/wire /tmp/corpus
 *   build-fuzz/tests/fuzz/fuzz_wire -max_total_time=300 /tmp/corpus */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tcpfs/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

/* Rebuilt, the segment parses back the same; SACK blocks may be cut when
 * our padding leaves less room than the sender's packing did. */
static void rebuild(const uint8_t *data, size_t size, const struct wire_seg *s)
{
	static uint8_t buf[65536 + 128];
	struct wire_seg b;
	size_t n = wire_build(buf, sizeof(buf), s);

	check(s->data >= data && s->data + s->len <= data + size);
	if (!n) {
		/* Only a 16-bit length field can refuse it. */
		check(s->len + 60 + 40 > 65535);
		return;
	}
	check(wire_parse(buf, n, &b) == WIRE_OK);
	check(!memcmp(&b.src, &s->src, sizeof(b.src)));
	check(!memcmp(&b.dst, &s->dst, sizeof(b.dst)));
	check(b.seq == s->seq && b.ack == s->ack && b.flags == s->flags);
	check(b.wnd == s->wnd && b.urp == s->urp &&
	      b.ttl == (s->ttl ? s->ttl : 64));
	check(b.len == s->len && !memcmp(b.data, s->data, s->len));
	check(b.opt.has_mss == s->opt.has_mss && b.opt.mss == s->opt.mss);
	check(b.opt.has_ws == s->opt.has_ws && b.opt.ws == s->opt.ws);
	check(b.opt.sack_ok == s->opt.sack_ok && b.opt.has_ts == s->opt.has_ts);
	check(b.opt.tsval == s->opt.tsval && b.opt.tsecr == s->opt.tsecr);
	check(b.opt.nsack <= s->opt.nsack);
	check(!memcmp(b.opt.sack, s->opt.sack,
		      b.opt.nsack * sizeof(b.opt.sack[0])));
}

static void endpoint(const uint8_t *data, size_t size)
{
	char s[128], out[128];
	struct wire_ep ep, back;
	const char *why = NULL;

	if (size >= sizeof(s))
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (wire_ep_parse(s, size & 1 ? 80 : -1, &ep, &why)) {
		check(why != NULL);
		return;
	}
	check(wire_ep_format(&ep, out, sizeof(out)) > 0);
	check(wire_ep_parse(out, -1, &back, &why) == 0);
	check(!memcmp(&ep, &back, sizeof(ep)));
}

/* Split at any point of even offset, the checksum is the same. */
static void csum(const uint8_t *data, size_t size)
{
	size_t cut = size ? (data[0] * 2u) % (size + 1) & ~(size_t)1 : 0;
	uint32_t whole = wire_csum_add(0, data, size);
	uint32_t parts = wire_csum_add(wire_csum_add(0, data, cut), data + cut,
				       size - cut);

	check(wire_csum_fold(whole) == wire_csum_fold(parts));
}

static void set16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Store the checksum of N bytes at P, plus SUM, at P + AT. */
static void seal(uint8_t *p, size_t n, size_t at, uint32_t sum)
{
	set16(p + at, 0);
	set16(p + at, wire_csum_fold(wire_csum_add(sum, p, n)));
}

/* Give P valid checksums where its lengths allow, so that the fuzzer gets
 * past them to the TCP header and options. */
static void fixup(uint8_t *p, size_t n)
{
	size_t ihl, end, alen;
	bool v4 = n >= 20 && p[0] >> 4 == 4;

	if (v4) {
		ihl = (size_t)(p[0] & 15) * 4;
		end = (size_t)(p[2] << 8 | p[3]);
		if (ihl < 20 || end < ihl || end > n)
			return;
		seal(p, ihl, 10, 0);
		alen = 4;
	} else if (n >= 40 && p[0] >> 4 == 6) {
		ihl = 40;
		end = 40 + (size_t)(p[4] << 8 | p[5]);
		if (end > n)
			return;
		alen = 16;
	} else {
		return;
	}
	/* TCP's checksum (pseudo-header, at 16); ICMP's (none, at 2) and
	 * ICMPv6's (pseudo-header, at 2), for wire_parse_icmp() */
	if (p[v4 ? 9 : 6] == 1 && v4 && end - ihl >= 4)
		seal(p + ihl, end - ihl, 2, 0);
	else if (p[v4 ? 9 : 6] == 58 && !v4 && end - ihl >= 4)
		seal(p + ihl, end - ihl, 2,
		     wire_csum_add(0, p + 8, 32) + 58 + (uint32_t)(end - ihl));
	else if (end - ihl >= 18)
		seal(p + ihl, end - ihl, 16,
		     wire_csum_add(0, p + (v4 ? 12 : 8), 2 * alen) + 6 +
			     (uint32_t)(end - ihl));
}

static void packet(const uint8_t *data, size_t size)
{
	struct wire_seg s;
	struct wire_icmp ic;
	enum wire_err err = wire_parse(data, size, &s);

	check(err >= WIRE_OK && err < WIRE_NERR);
	if (err == WIRE_OK)
		rebuild(data, size, &s);
	/* an ICMP error: never a TCP segment too; what it quotes is TCP of
	 * the same family as the error */
	err = wire_parse_icmp(data, size, &ic);
	check(err >= WIRE_OK && err < WIRE_NERR);
	if (err == WIRE_OK)
		check(wire_parse(data, size, &s) == WIRE_NOT_TCP &&
		      ic.src.family == ic.to.family &&
		      ic.dst.family == ic.to.family &&
		      (ic.kind == WIRE_ICMP_PTB || ic.mtu == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);

	packet(data, size);
	/* Exactly SIZE bytes on the heap: ASan sees any overread. */
	memcpy(copy, data, size);
	fixup(copy, size);
	packet(copy, size);
	free(copy);
	endpoint(data, size);
	csum(data, size);
	return 0;
}
