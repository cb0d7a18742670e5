/* wire: checksums, build/parse round trips, real kernel SYNs, hostile
 * packets, endpoint text. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tcpfs/wire.h"

#define BUFSZ 2048

/* SYNs sent by Linux 6.18 to 198.18.0.2:80 and [2001:db8::2]:80, read from
 * a TUN device (full checksums, no offload): MSS, SACK-permitted, TS, WS. */
static const uint8_t syn4[] = {
	0x45, 0x00, 0x00, 0x3c, 0x88, 0x3a, 0x40, 0x00, 0x40, 0x06, 0x26, 0x5a,
	0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02, 0xa7, 0x3c, 0x00, 0x50,
	0x95, 0x5a, 0x8e, 0xaf, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0,
	0x22, 0xb9, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
	0x05, 0xa3, 0xcc, 0xf1, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
};

static const uint8_t syn6[] = {
	0x60, 0x0e, 0xcf, 0x5c, 0x00, 0x28, 0x06, 0x40, 0x20, 0x01, 0x0d, 0xb8,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x02, 0xbd, 0x4c, 0x00, 0x50, 0xc0, 0x30, 0xcb, 0x54,
	0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfd, 0x20, 0xae, 0xfd, 0x00, 0x00,
	0x02, 0x04, 0x05, 0xa0, 0x04, 0x02, 0x08, 0x0a, 0x7f, 0x0c, 0x78, 0x4f,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
};

static struct wire_ep ep(const char *s)
{
	struct wire_ep e;
	const char *why = NULL;

	assert_int_equal(wire_ep_parse(s, -1, &e, &why), 0);
	return e;
}

/* A segment from SRC to DST with every option and a payload. */
static struct wire_seg full_seg(const char *src, const char *dst,
				const void *data, size_t len)
{
	struct wire_seg s = {
		.src = ep(src),
		.dst = ep(dst),
		.seq = 0xfffffff0,
		.ack = 0x12345678,
		.flags = TCP_ACK | TCP_PSH | TCP_URG,
		.wnd = 501,
		.urp = 0x8001,
		.ttl = 17,
		.opt = {.has_ts = true,
			.tsval = 0xdeadbeef,
			.tsecr = 7,
			.nsack = 3},
		.data = data,
		.len = len,
	};

	for (int i = 0; i < 3; i++) {
		s.opt.sack[i].left = 1000u * (uint32_t)i;
		s.opt.sack[i].right = 1000u * (uint32_t)i + 500;
	}
	return s;
}

/* ---- checksums ---- */

/* Straight from RFC 1071's definition, 16 bits at a time. */
static uint16_t ref_csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void test_csum_rfc1071(void **state)
{
	/* RFC 1071 §3: the sum of these bytes is ddf2, the checksum 220d. */
	static const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03,
				    0xf4, 0xf5, 0xf6, 0xf7};
	/* An IPv4 header whose checksum (b861) is well known. */
	static const uint8_t ip[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
				     0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
				     0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	uint8_t zeroed[sizeof(ip)];

	(void)state;
	assert_int_equal(wire_csum_fold(wire_csum_add(0, b, sizeof(b))),
			 0x220d);
	assert_int_equal(~wire_csum_fold(wire_csum_add(0, b, sizeof(b))) &
				 0xffff,
			 0xddf2);
	assert_int_equal(wire_csum_fold(wire_csum_add(0, ip, sizeof(ip))), 0);
	memcpy(zeroed, ip, sizeof(ip));
	zeroed[10] = zeroed[11] = 0;
	assert_int_equal(wire_csum_fold(wire_csum_add(0, zeroed, sizeof(ip))),
			 0xb861);
	assert_int_equal(wire_csum_fold(0), 0xffff);
	assert_int_equal(wire_csum_fold(wire_csum_add(0, NULL, 0)), 0xffff);
}

/* Every length 0..2048 at every alignment against the reference, and
 * chaining, on random bytes and on runs of 0xff (which carry the most:
 * each 64-bit add overflows). */
static void test_csum_odd_lengths(void **state)
{
	static uint8_t raw[2048 + 8];

	(void)state;
	srand(1);
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i % 3 && i < 1024 ? rand() : 0xff);
	for (size_t off = 0; off < 8; off++) {
		for (size_t len = 0; len <= 2048; len++) {
			const uint8_t *p = raw + off;
			size_t half = len / 2 & ~(size_t)1;
			uint32_t sum = wire_csum_add(0, p, half);

			assert_int_equal(
				wire_csum_fold(wire_csum_add(0, p, len)),
				ref_csum(p, len));
			sum = wire_csum_add(sum, p + half, len - half);
			assert_int_equal(wire_csum_fold(sum), ref_csum(p, len));
		}
	}
}

/* Random buffers of random lengths up to 64 KiB at random alignments. */
static void test_csum_random(void **state)
{
	static uint8_t raw[65536 + 8];

	(void)state;
	srand(2);
	for (int round = 0; round < 200; round++) {
		size_t off = (size_t)rand() % 8, len = (size_t)rand() % 65537;

		for (size_t i = 0; i < len; i++)
			raw[off + i] = (uint8_t)rand();
		assert_int_equal(
			wire_csum_fold(wire_csum_add(0, raw + off, len)),
			ref_csum(raw + off, len));
	}
}

/* Many chained calls must not overflow the 32-bit running sum. */
static void test_csum_long_chain(void **state)
{
	static uint8_t ff[65536];
	uint32_t sum = 0;

	(void)state;
	memset(ff, 0xff, sizeof(ff));
	for (int i = 0; i < 1000; i++)
		sum = wire_csum_add(sum, ff, sizeof(ff));
	assert_int_equal(wire_csum_fold(sum), 0);
	assert_int_equal(wire_csum_fold(wire_csum_add(0, ff, 65535)),
			 ref_csum(ff, 65535));
}

/* ---- real packets ---- */

static void test_linux_syn4(void **state)
{
	struct wire_seg s;
	uint8_t buf[BUFSZ];
	size_t n;

	(void)state;
	assert_int_equal(wire_parse(syn4, sizeof(syn4), &s), WIRE_OK);
	assert_int_equal(s.src.family, AF_INET);
	assert_memory_equal(s.src.a, ((uint8_t[]){198, 18, 0, 1}), 4);
	assert_memory_equal(s.dst.a, ((uint8_t[]){198, 18, 0, 2}), 4);
	assert_int_equal(s.src.port, 42812);
	assert_int_equal(s.dst.port, 80);
	assert_int_equal(s.seq, 0x955a8eaf);
	assert_int_equal(s.ack, 0);
	assert_int_equal(s.flags, TCP_SYN);
	assert_int_equal(s.wnd, 64240);
	assert_int_equal(s.ttl, 64);
	assert_true(s.opt.has_mss && s.opt.sack_ok && s.opt.has_ts &&
		    s.opt.has_ws);
	assert_int_equal(s.opt.mss, 1460);
	assert_int_equal(s.opt.ws, 10);
	assert_int_equal(s.opt.tsval, 0x05a3ccf1);
	assert_int_equal(s.opt.tsecr, 0);
	assert_int_equal(s.opt.nsack, 0);
	assert_int_equal(s.len, 0);
	/* Rebuilt, the segment is Linux's to the byte (same option order,
	 * same TCP checksum); the IPv4 id differs (ours is 0). */
	n = wire_build(buf, sizeof(buf), &s);
	assert_int_equal(n, sizeof(syn4));
	assert_memory_equal(buf + 20, syn4 + 20, sizeof(syn4) - 20);
	assert_memory_equal(buf, syn4, 4);
	assert_memory_equal(buf + 6, syn4 + 6, 4);
	assert_int_equal(buf[4] | buf[5], 0);
	assert_int_equal(wire_parse(buf, n, &s), WIRE_OK);
	/* TTL 0 builds Linux's default, 64. */
	s.ttl = 0;
	assert_int_equal(wire_build(buf, sizeof(buf), &s), n);
	assert_memory_equal(buf, syn4, 4);
	assert_int_equal(buf[8], 64);
}

static void test_linux_syn6(void **state)
{
	struct wire_seg s;
	uint8_t buf[BUFSZ];

	(void)state;
	assert_int_equal(wire_parse(syn6, sizeof(syn6), &s), WIRE_OK);
	assert_int_equal(s.src.family, AF_INET6);
	assert_memory_equal(s.dst.a, syn6 + 24, 16);
	assert_int_equal(s.src.port, 48460);
	assert_int_equal(s.dst.port, 80);
	assert_int_equal(s.seq, 0xc030cb54);
	assert_int_equal(s.wnd, 64800);
	assert_int_equal(s.opt.mss, 1440);
	assert_true(s.opt.sack_ok && s.opt.has_ts && s.opt.has_ws);
	/* The flow label is Linux's own; everything after it matches. */
	assert_int_equal(wire_build(buf, sizeof(buf), &s), sizeof(syn6));
	assert_memory_equal(buf + 4, syn6 + 4, sizeof(syn6) - 4);
	assert_int_equal(buf[0], 0x60);
}

/* ---- round trips ---- */

static void check_same(const struct wire_seg *a, const struct wire_seg *b)
{
	assert_memory_equal(&a->src, &b->src, sizeof(a->src));
	assert_memory_equal(&a->dst, &b->dst, sizeof(a->dst));
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->ack, b->ack);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->wnd, b->wnd);
	assert_int_equal(a->urp, b->urp);
	assert_int_equal(a->len, b->len);
	if (a->len)
		assert_memory_equal(a->data, b->data, a->len);
	assert_int_equal(a->opt.has_mss, b->opt.has_mss);
	assert_int_equal(a->opt.has_ws, b->opt.has_ws);
	assert_int_equal(a->opt.sack_ok, b->opt.sack_ok);
	assert_int_equal(a->opt.has_ts, b->opt.has_ts);
	if (a->opt.has_mss)
		assert_int_equal(a->opt.mss, b->opt.mss);
	if (a->opt.has_ws)
		assert_int_equal(a->opt.ws, b->opt.ws);
	if (a->opt.has_ts) {
		assert_int_equal(a->opt.tsval, b->opt.tsval);
		assert_int_equal(a->opt.tsecr, b->opt.tsecr);
	}
}

/* Options per bit of MASK: 1 MSS, 2 WS, 4 SACK-permitted, 8 TS; NSACK
 * blocks. */
static void set_opts(struct wire_opts *o, unsigned mask, unsigned nsack)
{
	memset(o, 0, sizeof(*o));
	o->has_mss = mask & 1;
	o->mss = 1220;
	o->has_ws = mask & 2;
	o->ws = 14;
	o->sack_ok = mask & 4;
	o->has_ts = mask & 8;
	o->tsval = 0x80000001;
	o->tsecr = 0xfffffffe;
	o->nsack = (uint8_t)nsack;
	for (unsigned i = 0; i < nsack; i++) {
		o->sack[i].left = 0xfffff000 + 100 * i;
		o->sack[i].right = 0xfffff000 + 100 * i + 50;
	}
}

static void roundtrip(const char *src, const char *dst)
{
	static const size_t lens[] = {0, 1, 3, 1000, 1460};
	static uint8_t data[1460];
	uint8_t buf[BUFSZ];
	struct wire_seg in, out;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	for (unsigned mask = 0; mask < 16; mask++) {
		for (unsigned ns = 0; ns <= WIRE_MAX_SACK; ns++) {
			for (size_t l = 0; l < sizeof(lens) / sizeof(*lens);
			     l++) {
				size_t olen, n;

				in = full_seg(src, dst, data, lens[l]);
				set_opts(&in.opt, mask, ns);
				olen = wire_opts_len(&in.opt);
				assert_int_equal(olen % 4, 0);
				assert_true(olen <= 40);
				n = wire_build(buf, sizeof(buf), &in);
				assert_int_not_equal(n, 0);
				assert_int_equal(wire_parse(buf, n, &out),
						 WIRE_OK);
				check_same(&in, &out);
				assert_int_equal(out.ttl, 17);
				assert_true(out.opt.nsack <= ns);
				for (unsigned k = 0; k < out.opt.nsack; k++) {
					assert_int_equal(out.opt.sack[k].left,
							 in.opt.sack[k].left);
					assert_int_equal(out.opt.sack[k].right,
							 in.opt.sack[k].right);
				}
			}
		}
	}
}

static void test_roundtrip_v4(void **state)
{
	(void)state;
	roundtrip("198.18.0.1:65535", "198.18.0.2:1");
}

static void test_roundtrip_v6(void **state)
{
	(void)state;
	roundtrip("[2001:db8::1]:443", "[fe80::1]:51000");
}

/* The option bytes Linux would put on the wire, for each combination. */
static void test_option_layout(void **state)
{
	static const struct {
		unsigned mask, nsack;
		size_t len;
		uint8_t bytes[40];
	} cases[] = {
		{8, 0, 12, {1, 1, 8, 10, 0x80, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe}},
		{4, 0, 4, {1, 1, 4, 2}},
		{2, 0, 4, {1, 3, 3, 14}},
		{1, 0, 4, {2, 4, 0x04, 0xc4}},
		{0,
		 1,
		 12,
		 {1, 1, 5, 10, 0xff, 0xff, 0xf0, 0, 0xff, 0xff, 0xf0, 0x32}},
		{15, 0, 20, {2, 4, 0x04, 0xc4, 4,    2,	   8, 10, 0x80, 0,
			     0, 1, 0xff, 0xff, 0xff, 0xfe, 1, 3,  3,	14}},
	};
	uint8_t buf[BUFSZ];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct wire_seg s = full_seg("10.0.0.1:1", "10.0.0.2:2", 0, 0);

		set_opts(&s.opt, cases[i].mask, cases[i].nsack);
		assert_int_equal(wire_opts_len(&s.opt), cases[i].len);
		assert_int_equal(wire_build(buf, sizeof(buf), &s),
				 40 + cases[i].len);
		assert_int_equal(buf[32] >> 4, 5 + cases[i].len / 4);
		assert_memory_equal(buf + 40, cases[i].bytes, cases[i].len);
	}
}

/* SACK blocks that do not fit in 40 bytes of options are left out. */
static void test_sack_clamp(void **state)
{
	struct wire_opts o;

	(void)state;
	set_opts(&o, 8, 4); /* TS (12) + 3 blocks (28) */
	assert_int_equal(wire_opts_len(&o), 40);
	set_opts(&o, 15, 4); /* 20 + 2 blocks */
	assert_int_equal(wire_opts_len(&o), 40);
	set_opts(&o, 0, 4);
	assert_int_equal(wire_opts_len(&o), 36);
	o.nsack = 200;
	assert_int_equal(wire_opts_len(&o), 36);
}

static void test_build_limits(void **state)
{
	static uint8_t big[65536], out[65536 + 64];
	uint8_t buf[BUFSZ];
	struct wire_seg s = full_seg("10.0.0.1:1", "10.0.0.2:2", "abc", 3);
	size_t n = wire_build(buf, sizeof(buf), &s);

	(void)state;
	for (size_t cap = 0; cap < n; cap++)
		assert_int_equal(wire_build(buf, cap, &s), 0);
	s.dst = ep("[::2]:2");
	assert_int_equal(wire_build(buf, sizeof(buf), &s), 0);
	s.src.family = 0;
	s.dst.family = 0;
	assert_int_equal(wire_build(buf, sizeof(buf), &s), 0);
	/* IPv4 total length and IPv6 payload length are 16 bits; 40 bytes of
	 * options here. */
	s = full_seg("10.0.0.1:1", "10.0.0.2:2", big, 65535 - 80);
	assert_int_equal(wire_build(out, sizeof(out), &s), 65535);
	s.len++;
	assert_int_equal(wire_build(out, sizeof(out), &s), 0);
	s = full_seg("[::1]:1", "[::2]:2", big, 65535 - 60);
	assert_int_equal(wire_build(out, sizeof(out), &s), 65535 + 40);
	s.len++;
	assert_int_equal(wire_build(out, sizeof(out), &s), 0);
	s.len = SIZE_MAX - 30; /* no wrap-around in the length sum */
	assert_int_equal(wire_build(out, sizeof(out), &s), 0);
}

/* The payload may already sit in the output buffer, even at its start. */
static void test_build_in_place(void **state)
{
	uint8_t buf[BUFSZ];
	struct wire_seg s, out;
	size_t n;

	(void)state;
	memcpy(buf, "payload!", 8);
	s = full_seg("10.0.0.1:1", "10.0.0.2:2", buf, 8);
	n = wire_build(buf, sizeof(buf), &s);
	assert_int_equal(wire_parse(buf, n, &out), WIRE_OK);
	assert_int_equal(out.len, 8);
	assert_memory_equal(out.data, "payload!", 8);
}

/* ---- offloads ---- */

/* What wire_tso_split() hands out, checked as it comes. */
struct split {
	struct wire_seg first;
	uint8_t payload[65536];
	size_t got, n;
	uint16_t id;
};

static void on_seg(void *ctx, const uint8_t *pkt, size_t len)
{
	struct split *sp = ctx;
	struct wire_seg s;

	assert_int_equal(wire_parse(pkt, len, &s), WIRE_OK);
	assert_int_equal(s.seq, sp->first.seq + (uint32_t)sp->got);
	assert_int_equal(s.ack, sp->first.ack);
	assert_int_equal(s.opt.tsval, sp->first.opt.tsval);
	/* FIN, PSH at the end only; CWR at the start only */
	assert_int_equal(s.flags & (TCP_FIN | TCP_PSH),
			 sp->got + s.len == sp->first.len ?
				 sp->first.flags & (TCP_FIN | TCP_PSH) :
				 0);
	assert_int_equal(s.flags & TCP_CWR, sp->n ? 0 : TCP_CWR);
	if (s.src.family == AF_INET)
		assert_int_equal(pkt[4] << 8 | pkt[5],
				 (sp->id + sp->n) & 0xffff);
	memcpy(sp->payload + sp->got, s.data, s.len);
	sp->got += s.len;
	sp->n++;
}

/* A 64 KiB super-packet of each family is cut into MSS-sized segments that
 * parse (checksums right) and carry the payload in order. */
static void test_tso_split(void **state)
{
	static uint8_t data[65535], pkt[65536 + 64];
	static struct split sp;
	const char *pairs[][2] = {{"10.0.0.1:1", "10.0.0.2:2"},
				  {"[::1]:1", "[::2]:2"}};

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + i / 251);
	for (int f = 0; f < 2; f++) {
		struct wire_seg s = full_seg(pairs[f][0], pairs[f][1], data,
					     sizeof(data) - (f ? 60 : 80));
		size_t n;

		s.opt.nsack = 0;
		s.flags = TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR;
		n = wire_build(pkt, sizeof(pkt), &s);
		assert_true(n > 0);
		pkt[4] = 0xff; /* the IPv4 id wraps on the way */
		memset(&sp, 0, sizeof(sp));
		sp.first = s;
		sp.id = 0xff00;
		assert_int_equal(wire_tso_split(pkt, n, 1448, true, on_seg,
						&sp),
				 (s.len + 1447) / 1448);
		assert_int_equal(sp.got, s.len);
		assert_memory_equal(sp.payload, data, s.len);
	}
}

/* Without checksums (csum false) the segments are the same but for the
 * TCP checksum: wire_parse_trusted() takes them, wire_parse() does not. */
static void on_trusted(void *ctx, const uint8_t *pkt, size_t len)
{
	struct wire_seg s;
	unsigned *bad = ctx;

	assert_int_equal(wire_parse_trusted(pkt, len, &s), WIRE_OK);
	*bad += wire_parse(pkt, len, &s) == WIRE_CSUM;
}

static void test_tso_split_trusted(void **state)
{
	static uint8_t data[10000], pkt[12000];
	struct wire_seg s =
		full_seg("10.0.0.1:1", "10.0.0.2:2", data, sizeof(data));
	size_t n;
	unsigned bad = 0;

	(void)state;
	s.opt.nsack = 0;
	n = wire_build(pkt, sizeof(pkt), &s);
	assert_int_equal(wire_tso_split(pkt, n, 1448, false, on_trusted, &bad),
			 7);
	assert_int_equal(bad, 7);
}

/* wire_parse_trusted() skips the TCP checksum only: a bad IPv4 header
 * checksum is still refused. */
static void test_parse_trusted(void **state)
{
	uint8_t pkt[BUFSZ];
	struct wire_seg s = full_seg("10.0.0.1:1", "10.0.0.2:2", "abc", 3), out;
	size_t n = wire_build(pkt, sizeof(pkt), &s);

	(void)state;
	pkt[n - 1] ^= 1;
	assert_int_equal(wire_parse(pkt, n, &out), WIRE_CSUM);
	assert_int_equal(wire_parse_trusted(pkt, n, &out), WIRE_OK);
	assert_int_equal(out.len, 3);
	assert_memory_equal(out.data, "abb", 3);
	pkt[10] ^= 1;
	assert_int_equal(wire_parse_trusted(pkt, n, &out), WIRE_IPCSUM);
}

/* Packets that are no TCP super-packet are refused, short ones too. */
static void test_tso_split_refuses(void **state)
{
	static struct split sp;
	uint8_t pkt[BUFSZ];
	struct wire_seg s = full_seg("10.0.0.1:1", "10.0.0.2:2", "abc", 3);
	size_t n = wire_build(pkt, sizeof(pkt), &s);

	(void)state;
	for (size_t len = 0; len < n - 3; len++)
		assert_int_equal(
			wire_tso_split(pkt, len, 1448, true, on_seg, &sp), -1);
	assert_int_equal(wire_tso_split(pkt, n, 0, true, on_seg, &sp), -1);
	pkt[9] = 17; /* UDP */
	assert_int_equal(wire_tso_split(pkt, n, 1448, true, on_seg, &sp), -1);
}

/* A partial checksum (the pseudo-header sum in the field) is completed to
 * what wire_build() computes. */
static void test_csum_complete(void **state)
{
	uint8_t pkt[BUFSZ];
	struct wire_seg s = full_seg("10.0.0.1:1", "10.0.0.2:2", "abcde", 5);
	size_t n = wire_build(pkt, sizeof(pkt), &s);
	uint8_t pseudo[12] = {10, 0, 0, 1, 10, 0, 0, 2, 0, 6};
	uint16_t want = (uint16_t)(pkt[20 + 16] << 8 | pkt[20 + 17]);
	uint16_t partial;

	(void)state;
	pseudo[10] = (uint8_t)((n - 20) >> 8);
	pseudo[11] = (uint8_t)(n - 20);
	partial = (uint16_t)~wire_csum_fold(wire_csum_add(0, pseudo, 12));
	pkt[36] = (uint8_t)(partial >> 8);
	pkt[37] = (uint8_t)partial;
	assert_int_equal(wire_csum_complete(pkt, n, 20, 16), 0);
	assert_int_equal(pkt[36] << 8 | pkt[37], want);
	assert_int_equal(wire_csum_complete(pkt, n, 20, n - 21), -1);
	assert_int_equal(wire_csum_complete(pkt, n, n + 1, 0), -1);
}

/* ---- hostile packets ---- */

static size_t iphl(const uint8_t *p)
{
	return p[0] >> 4 == 4 ? (size_t)(p[0] & 15) * 4 : 40;
}

static void fix_ip(uint8_t *p)
{
	uint16_t c;

	if (p[0] >> 4 != 4)
		return;
	p[10] = p[11] = 0;
	c = wire_csum_fold(wire_csum_add(0, p, iphl(p)));
	p[10] = (uint8_t)(c >> 8);
	p[11] = (uint8_t)c;
}

/* Recompute the TCP checksum of a packet whose TCP part is TLEN bytes. */
static void fix_tcp(uint8_t *p, size_t tlen)
{
	bool v4 = p[0] >> 4 == 4;
	uint8_t *t = p + iphl(p);
	uint32_t sum = wire_csum_add(0, p + (v4 ? 12 : 8), v4 ? 8 : 32);
	uint16_t c;

	t[16] = t[17] = 0;
	sum += 6 + (uint32_t)tlen;
	c = wire_csum_fold(wire_csum_add(sum, t, tlen));
	t[16] = (uint8_t)(c >> 8);
	t[17] = (uint8_t)c;
}

/* A packet of family SRC whose TCP options are OPT (OLEN bytes, a multiple
 * of 4) followed by 5 payload bytes; its length. */
static size_t craft(uint8_t *buf, const char *src, const char *dst,
		    const void *opt, size_t olen)
{
	uint8_t body[64] = {0};
	struct wire_seg s = full_seg(src, dst, body, olen + 5);
	size_t n, hl;

	memset(&s.opt, 0, sizeof(s.opt));
	memcpy(body, opt, olen);
	memcpy(body + olen, "hello", 5);
	n = wire_build(buf, BUFSZ, &s);
	hl = iphl(buf);
	buf[hl + 12] = (uint8_t)((5 + olen / 4) << 4);
	fix_tcp(buf, n - hl);
	return n;
}

/* Parse a crafted packet with options OPT; S->data points into a static
 * buffer, valid until the next call. */
static enum wire_err parse_opts(const void *opt, size_t olen,
				struct wire_seg *s)
{
	static uint8_t buf[BUFSZ];
	size_t n = craft(buf, "10.0.0.1:1", "10.0.0.2:2", opt, olen);

	return wire_parse(buf, n, s);
}

static void test_truncated(void **state)
{
	static const char *const pairs[][2] = {
		{"10.0.0.1:1", "10.0.0.2:2"},
		{"[2001:db8::1]:1", "[2001:db8::2]:2"},
	};
	uint8_t buf[BUFSZ], *copy;
	struct wire_seg s;

	(void)state;
	for (int i = 0; i < 2; i++) {
		struct wire_seg in =
			full_seg(pairs[i][0], pairs[i][1], "xyz", 3);
		size_t n;

		set_opts(&in.opt, 15, 2);
		n = wire_build(buf, sizeof(buf), &in);
		for (size_t len = 0; len < n; len++) {
			/* A heap copy of exactly LEN bytes: ASan sees any
			 * read past it. */
			copy = malloc(len ? len : 1);
			memcpy(copy, buf, len);
			assert_int_not_equal(wire_parse(copy, len, &s),
					     WIRE_OK);
			assert_null(s.data);
			free(copy);
		}
		/* Link padding after the datagram is ignored. */
		memset(buf + n, 0xa5, 16);
		assert_int_equal(wire_parse(buf, n + 16, &s), WIRE_OK);
		assert_int_equal(s.len, 3);
	}
}

/* Any single bit flipped in an IPv4 packet is caught; in IPv6, all but
 * those in the traffic class, flow label and hop limit (no checksum covers
 * them). */
static void test_bit_flips(void **state)
{
	static const char *const pairs[][2] = {
		{"10.0.0.1:1", "10.0.0.2:2"},
		{"[2001:db8::1]:1", "[2001:db8::2]:2"},
	};
	uint8_t buf[BUFSZ];
	struct wire_seg s;

	(void)state;
	for (int i = 0; i < 2; i++) {
		struct wire_seg in =
			full_seg(pairs[i][0], pairs[i][1], "xyz", 3);
		size_t n;

		set_opts(&in.opt, 15, 0);
		n = wire_build(buf, sizeof(buf), &in);
		for (size_t bit = 0; bit < n * 8; bit++) {
			size_t byte = bit / 8;
			bool unguarded = i == 1 &&
					 (byte == 7 || (byte < 4 && bit >= 4));

			buf[byte] ^= (uint8_t)(1 << (7 - bit % 8));
			if (unguarded)
				assert_int_equal(wire_parse(buf, n, &s),
						 WIRE_OK);
			else
				assert_int_not_equal(wire_parse(buf, n, &s),
						     WIRE_OK);
			buf[byte] ^= (uint8_t)(1 << (7 - bit % 8));
		}
	}
}

static void test_ip4_errors(void **state)
{
	uint8_t p[BUFSZ];
	struct wire_seg s;
	size_t n = sizeof(syn4);

	(void)state;
	assert_int_equal(wire_parse(syn4, 0, &s), WIRE_SHORT);
	memcpy(p, syn4, n);
	p[0] = 0x55;
	assert_int_equal(wire_parse(p, n, &s), WIRE_VERSION);
	p[0] = 0x44; /* IHL 4 */
	fix_ip(p);
	assert_int_equal(wire_parse(p, n, &s), WIRE_IPHDR);
	p[0] = 0x4f; /* IHL 15: 60 bytes, more than the total length */
	p[3] = 40;
	fix_ip(p);
	assert_int_equal(wire_parse(p, n, &s), WIRE_IPHDR);
	memcpy(p, syn4, n);
	p[3] = 0x3d; /* total length one more than the buffer */
	fix_ip(p);
	assert_int_equal(wire_parse(p, n, &s), WIRE_SHORT);
	p[2] = 0;
	p[3] = 19;
	fix_ip(p);
	assert_int_equal(wire_parse(p, n, &s), WIRE_IPHDR);
	memcpy(p, syn4, n);
	p[11] ^= 1;
	assert_int_equal(wire_parse(p, n, &s), WIRE_IPCSUM);
	memcpy(p, syn4, n);
	p[6] = 0x20; /* MF */
	fix_ip(p);
	assert_int_equal(wire_parse(p, n, &s), WIRE_FRAGMENT);
	p[6] = 0x40;
	p[7] = 1; /* DF and offset 8 */
	fix_ip(p);
	assert_int_equal(wire_parse(p, n, &s), WIRE_FRAGMENT);
	memcpy(p, syn4, n);
	p[9] = 17;
	fix_ip(p);
	assert_int_equal(wire_parse(p, n, &s), WIRE_NOT_TCP);
}

/* IPv4 options are skipped: IHL 6 with a NOP-filled option word. */
static void test_ip4_options(void **state)
{
	uint8_t p[BUFSZ];
	struct wire_seg s;

	(void)state;
	p[0] = 0x46;
	memcpy(p + 1, syn4 + 1, 19);
	memset(p + 20, 1, 4);
	memcpy(p + 24, syn4 + 20, sizeof(syn4) - 20);
	p[3] += 4;
	fix_ip(p);
	assert_int_equal(wire_parse(p, sizeof(syn4) + 4, &s), WIRE_OK);
	assert_int_equal(s.opt.mss, 1460);
}

static void test_ip6_errors(void **state)
{
	static const uint8_t ext[] = {0, 44, 43, 60, 17, 58};
	uint8_t p[BUFSZ];
	struct wire_seg s;
	size_t n = sizeof(syn6);

	(void)state;
	memcpy(p, syn6, n);
	p[5] += 1;
	assert_int_equal(wire_parse(p, n, &s), WIRE_SHORT);
	p[5] -= 2; /* payload length one short of the TCP header */
	assert_int_equal(wire_parse(p, n, &s), WIRE_TCPHDR);
	for (size_t i = 0; i < sizeof(ext); i++) {
		memcpy(p, syn6, n);
		p[6] = ext[i];
		assert_int_equal(wire_parse(p, n, &s), WIRE_NOT_TCP);
	}
	memcpy(p, syn6, n);
	p[0] = 0x70;
	assert_int_equal(wire_parse(p, n, &s), WIRE_VERSION);
}

static void test_tcp_header_errors(void **state)
{
	uint8_t p[BUFSZ];
	struct wire_seg s;
	size_t n = sizeof(syn4);

	(void)state;
	memcpy(p, syn4, n);
	p[32] = 0x40; /* doff 4 */
	fix_tcp(p, n - 20);
	assert_int_equal(wire_parse(p, n, &s), WIRE_TCPHDR);
	p[32] = 0xb0; /* doff 11: 44 bytes of a 40-byte segment */
	fix_tcp(p, n - 20);
	assert_int_equal(wire_parse(p, n, &s), WIRE_TCPHDR);
	/* IP lengths leaving 19 bytes for TCP. */
	memcpy(p, syn4, n);
	p[3] = 39;
	fix_ip(p);
	assert_int_equal(wire_parse(p, n, &s), WIRE_IPHDR);
	memcpy(p, syn6, sizeof(syn6));
	p[5] = 19;
	assert_int_equal(wire_parse(p, sizeof(syn6), &s), WIRE_IPHDR);
	memcpy(p, syn4, n);
	p[36] ^= 0x80;
	assert_int_equal(wire_parse(p, n, &s), WIRE_CSUM);
	/* A checksum of 0 is not "no checksum" in TCP. */
	p[36] = p[37] = 0;
	assert_int_equal(wire_parse(p, n, &s), WIRE_CSUM);
}

static void test_options_hostile(void **state)
{
	static const struct {
		uint8_t o[12];
		size_t len;
	} bad[] = {
		{{30, 0, 1, 1}, 4},	       /* length 0 */
		{{30, 1, 1, 1}, 4},	       /* length 1 */
		{{1, 1, 30, 3}, 4},	       /* overruns by 1 */
		{{1, 1, 1, 30}, 4},	       /* kind with no length byte */
		{{2, 3, 5, 1}, 4},	       /* MSS length 3 */
		{{2, 2, 1, 1}, 4},	       /* MSS length 2 */
		{{3, 4, 7, 0}, 4},	       /* WS length 4 */
		{{4, 3, 0, 1}, 4},	       /* SACK-permitted length 3 */
		{{8, 8, 0, 0, 0, 0, 0, 0}, 8}, /* TS length 8 */
		{{5, 2, 1, 1}, 4},	       /* SACK with no block */
		{{5, 12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0}, 12}, /* 1.25 blocks */
		{{2, 4, 5, 0xb4, 8, 10, 0, 0}, 8},	     /* TS overruns */
	};
	struct wire_seg s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(parse_opts(bad[i].o, bad[i].len, &s),
				 WIRE_OPTION);
}

static void test_options_lenient(void **state)
{
	/* Unknown kinds skipped (MPTCP-like 30, experimental 254), SACK with
	 * one block, and garbage after EOL ignored. */
	static const uint8_t ok[] = {30, 4, 0xaa, 0xbb, 254, 2, 5, 10,	 0, 0,
				     0,	 1, 0,	  0,	0,   2, 0, 0xff, 0, 1};
	static const uint8_t dup[] = {2, 4, 1, 0, 2, 4, 2, 0};
	static const uint8_t sack4[36] = {
		1,	  1,	    5,	      34,	[7] = 1,  [11] = 2,
		[15] = 3, [19] = 4, [23] = 5, [27] = 6, [31] = 7, [35] = 8};
	struct wire_seg s;

	(void)state;
	assert_int_equal(parse_opts(ok, sizeof(ok), &s), WIRE_OK);
	assert_int_equal(s.opt.nsack, 1);
	assert_int_equal(s.opt.sack[0].left, 1);
	assert_int_equal(s.opt.sack[0].right, 2);
	assert_false(s.opt.has_mss || s.opt.has_ts || s.opt.has_ws);
	assert_int_equal(s.len, 5);
	assert_memory_equal(s.data, "hello", 5);
	/* A repeated option: the last one counts. */
	assert_int_equal(parse_opts(dup, sizeof(dup), &s), WIRE_OK);
	assert_int_equal(s.opt.mss, 512);
	assert_int_equal(parse_opts(sack4, sizeof(sack4), &s), WIRE_OK);
	assert_int_equal(s.opt.nsack, 4);
	assert_int_equal(s.opt.sack[3].left, 7);
	assert_int_equal(s.opt.sack[3].right, 8);
}

static void test_addresses(void **state)
{
	static const char *const bad[][2] = {
		{"224.0.0.1:1", "10.0.0.2:2"},
		{"10.0.0.1:1", "239.255.255.250:2"},
		{"10.0.0.1:1", "255.255.255.255:2"},
		{"0.0.0.0:1", "10.0.0.2:2"},
		{"[ff02::1]:1", "[2001:db8::2]:2"},
		{"[2001:db8::1]:1", "[ff05::2]:2"},
		{"[::]:1", "[2001:db8::2]:2"},
		{"[2001:db8::1]:1", "[::]:2"},
	};
	uint8_t buf[BUFSZ];
	struct wire_seg s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct wire_seg in = full_seg(bad[i][0], bad[i][1], "", 0);
		size_t n = wire_build(buf, sizeof(buf), &in);

		assert_int_equal(wire_parse(buf, n, &s), WIRE_ADDR);
	}
	/* Port 0 is no connection's port. */
	struct wire_seg in = full_seg("10.0.0.1:1", "10.0.0.2:2", "", 0);
	in.dst.port = 0;
	assert_int_equal(wire_parse(buf, wire_build(buf, sizeof(buf), &in), &s),
			 WIRE_ADDR);
	in.dst.port = 2;
	in.src.port = 0;
	assert_int_equal(wire_parse(buf, wire_build(buf, sizeof(buf), &in), &s),
			 WIRE_ADDR);
	/* Loopback and link-local are fine. */
	in = full_seg("127.0.0.1:1", "[fe80::1]:2", "", 0);
	in.dst = ep("127.0.0.2:2");
	assert_int_equal(wire_parse(buf, wire_build(buf, sizeof(buf), &in), &s),
			 WIRE_OK);
}

static void test_err_names(void **state)
{
	(void)state;
	for (int i = 0; i < WIRE_NERR; i++) {
		assert_non_null(wire_err_name(i));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(wire_err_name(i),
						wire_err_name(j));
	}
	assert_string_equal(wire_err_name(WIRE_CSUM), "checksum");
	assert_string_equal(wire_err_name(WIRE_NERR), "unknown");
}

/* ---- endpoints ---- */

static void test_ep_parse(void **state)
{
	static const struct {
		const char *in;
		int def;
		int family;
		const char *addr;
		int port;
		const char *why; /* NULL: parses */
	} t[] = {
		{"1.2.3.4:80", -1, AF_INET, "1.2.3.4", 80, NULL},
		{"1.2.3.4!80", -1, AF_INET, "1.2.3.4", 80, NULL},
		{"[::1]:80", -1, AF_INET6, "::1", 80, NULL},
		{"[::1]!80", -1, AF_INET6, "::1", 80, NULL},
		{"::1!80", -1, AF_INET6, "::1", 80, NULL},
		{"2001:db8::5!65535", -1, AF_INET6, "2001:db8::5", 65535, NULL},
		{"[::ffff:1.2.3.4]:1", -1, AF_INET6, "::ffff:1.2.3.4", 1, NULL},
		{"1.2.3.4", 8080, AF_INET, "1.2.3.4", 8080, NULL},
		{"[::1]", 22, AF_INET6, "::1", 22, NULL},
		{"::1", 22, AF_INET6, "::1", 22, NULL},
		{"0.0.0.0", 0, AF_INET, "0.0.0.0", 0, NULL},
		{"1.2.3.4:0", -1, 0, NULL, 0, "port out of range"},
		{"1.2.3.4:65536", -1, 0, NULL, 0, "port out of range"},
		{"1.2.3.4:99999999999999999999", -1, 0, NULL, 0,
		 "port out of range"},
		{"1.2.3.4:-1", -1, 0, NULL, 0, "bad port"},
		{"1.2.3.4:+1", -1, 0, NULL, 0, "bad port"},
		{"1.2.3.4:80x", -1, 0, NULL, 0, "bad port"},
		{"1.2.3.4: 80", -1, 0, NULL, 0, "bad port"},
		{"1.2.3.4", -1, 0, NULL, 0, "missing port"},
		{"1.2.3.4:", 80, 0, NULL, 0, "missing port"},
		{"1.2.3.4!", -1, 0, NULL, 0, "missing port"},
		{"[::1]", -1, 0, NULL, 0, "missing port"},
		{"[::1]:", -1, 0, NULL, 0, "missing port"},
		{"::1", -1, 0, NULL, 0, "missing port"},
		{"1.2.3:80", -1, 0, NULL, 0, "bad address"},
		{"1.2.3.256:80", -1, 0, NULL, 0, "bad address"},
		{"localhost:80", -1, 0, NULL, 0, "bad address"},
		{":80", -1, 0, NULL, 0, "bad address"},
		{"!80", -1, 0, NULL, 0, "bad address"},
		{"", 80, 0, NULL, 0, "bad address"},
		{"[::1:80", -1, 0, NULL, 0, "bad address"},
		{"[::1]x80", -1, 0, NULL, 0, "bad address"},
		{"[1.2.3.4]:80", -1, AF_INET, "1.2.3.4", 80, NULL},
		{"[]:80", -1, 0, NULL, 0, "bad address"},
		{"fe80::1%eth0!80", -1, 0, NULL, 0, "bad address"},
		{"1.2.3.4:80:90", -1, 0, NULL, 0, "bad address"},
		{"[0000:0000:0000:0000:0000:0000:0000:0000:1]:80", -1, 0, NULL,
		 0, "bad address"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		struct wire_ep e, want = {0};
		const char *why = NULL;
		int r = wire_ep_parse(t[i].in, t[i].def, &e, &why);

		if (t[i].why) {
			assert_int_equal(r, -EINVAL);
			assert_string_equal(why, t[i].why);
			continue;
		}
		assert_int_equal(r, 0);
		want.family = (uint8_t)t[i].family;
		want.port = (uint16_t)t[i].port;
		assert_int_equal(inet_pton(t[i].family, t[i].addr, want.a), 1);
		assert_memory_equal(&e, &want, sizeof(e));
	}
	assert_int_equal(wire_ep_parse(NULL, 80, &(struct wire_ep){0}, NULL),
			 -EINVAL);
}

static void test_ep_format(void **state)
{
	static const char *const t[] = {
		"1.2.3.4:80",	 "0.0.0.0:1",	      "255.255.255.255:65535",
		"[::1]:80",	 "[2001:db8::1]:443", "[::ffff:127.0.0.1]:22",
		"[fe80::1:2]:9",
	};
	char buf[64];
	struct wire_ep e = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		e = ep(t[i]);
		assert_int_equal(wire_ep_format(&e, buf, sizeof(buf)),
				 strlen(t[i]));
		assert_string_equal(buf, t[i]);
	}
	/* snprintf() rules: truncated, the length it would have had. */
	assert_int_equal(wire_ep_format(&e, buf, 4), strlen(t[6]));
	assert_string_equal(buf, "[fe");
	e.family = 0;
	assert_int_equal(wire_ep_format(&e, buf, sizeof(buf)), -EINVAL);
}

/* An ICMP error from a router (x.x.x.254 / ::fe) to the sender of PKT
 * (syn4 or syn6), quoting its first QLEN bytes: TYPE, CODE, then REST in
 * the 4 bytes after the checksum; into OUT, its length. */
static size_t icmp_about(const uint8_t *pkt, size_t qlen, uint8_t type,
			 uint8_t code, uint32_t rest, uint8_t *out)
{
	bool v6 = pkt[0] >> 4 == 6;
	size_t ip = v6 ? 40 : 20, mlen = 8 + qlen;
	uint8_t *m = out + ip;
	uint32_t sum = 0;

	memset(out, 0, ip + mlen);
	out[0] = v6 ? 0x60 : 0x45;
	if (v6) {
		out[4] = (uint8_t)(mlen >> 8);
		out[5] = (uint8_t)mlen;
		out[6] = 58;
		memcpy(out + 8, pkt + 24, 16); /* from the peer's side */
		out[23] = 0xfe;
		memcpy(out + 24, pkt + 8, 16);
		sum = wire_csum_add(0, out + 8, 32) + 58 + (uint32_t)mlen;
	} else {
		out[3] = (uint8_t)(ip + mlen);
		out[8] = 64;
		out[9] = 1;
		memcpy(out + 12, pkt + 16, 4);
		out[15] = 254;
		memcpy(out + 16, pkt + 12, 4);
		rest &= 0xffff;
		out[10] = 0;
		uint16_t c = wire_csum_fold(wire_csum_add(0, out, 20));
		out[10] = (uint8_t)(c >> 8);
		out[11] = (uint8_t)c;
	}
	m[0] = type;
	m[1] = code;
	for (int k = 0; k < 4; k++)
		m[4 + k] = (uint8_t)(rest >> (24 - 8 * k));
	memcpy(m + 8, pkt, qlen);
	uint16_t c = wire_csum_fold(wire_csum_add(sum, m, mlen));
	m[2] = (uint8_t)(c >> 8);
	m[3] = (uint8_t)c;
	return ip + mlen;
}

/* ICMP "fragmentation needed" and ICMPv6 "packet too big" about a SYN:
 * the MTU, the quoted segment's endpoints and sequence number; a bad
 * checksum, a short quote, a quote of UDP, an echo, and a TCP segment are
 * each refused with their reason (RFC 792, RFC 4443, RFC 5927 §4). */
static void test_icmp(void **state)
{
	uint8_t b[BUFSZ];
	struct wire_icmp ic;
	struct wire_seg s;
	size_t n;

	(void)state;
	assert_int_equal(wire_parse(syn4, sizeof(syn4), &s), WIRE_OK);
	n = icmp_about(syn4, 28, 3, 4, 1280, b);
	assert_int_equal(wire_parse(b, n, &s), WIRE_NOT_TCP);
	assert_int_equal(wire_parse_icmp(b, n, &ic), WIRE_OK);
	assert_int_equal(ic.kind, WIRE_ICMP_PTB);
	assert_int_equal(ic.mtu, 1280);
	assert_int_equal(ic.src.port, 0xa73c);
	assert_int_equal(ic.dst.port, 80);
	assert_int_equal(ic.seq, 0x955a8eaf);
	struct wire_ep me = ep("198.18.0.1:42812");
	assert_memory_equal(&ic.src, &me, sizeof(ic.src));
	assert_memory_equal(ic.to.a, ic.src.a, 16);
	assert_int_equal(ic.from.a[3], 254);
	n = icmp_about(syn4, 28, 3, 1, 0, b);
	assert_int_equal(wire_parse_icmp(b, n, &ic), WIRE_OK);
	assert_int_equal(ic.kind, WIRE_ICMP_UNREACH);
	assert_int_equal(ic.code, 1);
	b[n - 1] ^= 1;
	assert_int_equal(wire_parse_icmp(b, n, &ic), WIRE_CSUM);
	n = icmp_about(syn4, 27, 3, 1, 0, b);
	assert_int_equal(wire_parse_icmp(b, n, &ic), WIRE_SHORT);
	n = icmp_about(syn4, 28, 8, 0, 0, b); /* an echo request */
	assert_int_equal(wire_parse_icmp(b, n, &ic), WIRE_NOT_TCP);
	memcpy(b, syn4, sizeof(syn4));
	b[9] = 17; /* the quote is UDP */
	n = icmp_about(b, 28, 3, 3, 0, b + 100);
	assert_int_equal(wire_parse_icmp(b + 100, n, &ic), WIRE_NOT_TCP);
	assert_int_equal(wire_parse_icmp(syn4, sizeof(syn4), &ic),
			 WIRE_NOT_TCP);

	n = icmp_about(syn6, 48, 2, 0, 1280, b);
	assert_int_equal(wire_parse_icmp(b, n, &ic), WIRE_OK);
	assert_int_equal(ic.kind, WIRE_ICMP_PTB);
	assert_int_equal(ic.mtu, 1280);
	assert_int_equal(ic.seq, 0xc030cb54);
	assert_int_equal(ic.dst.port, 80);
	n = icmp_about(syn6, 48, 1, 4, 0, b);
	assert_int_equal(wire_parse_icmp(b, n, &ic), WIRE_OK);
	assert_int_equal(ic.kind, WIRE_ICMP_UNREACH);
	b[8 + 15] ^= 1; /* the pseudo-header counts: another source fails */
	assert_int_equal(wire_parse_icmp(b, n, &ic), WIRE_CSUM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_rfc1071),
		cmocka_unit_test(test_csum_odd_lengths),
		cmocka_unit_test(test_csum_random),
		cmocka_unit_test(test_csum_complete),
		cmocka_unit_test(test_tso_split),
		cmocka_unit_test(test_tso_split_refuses),
		cmocka_unit_test(test_tso_split_trusted),
		cmocka_unit_test(test_parse_trusted),
		cmocka_unit_test(test_csum_long_chain),
		cmocka_unit_test(test_linux_syn4),
		cmocka_unit_test(test_linux_syn6),
		cmocka_unit_test(test_roundtrip_v4),
		cmocka_unit_test(test_roundtrip_v6),
		cmocka_unit_test(test_option_layout),
		cmocka_unit_test(test_sack_clamp),
		cmocka_unit_test(test_build_limits),
		cmocka_unit_test(test_build_in_place),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_ip4_errors),
		cmocka_unit_test(test_ip4_options),
		cmocka_unit_test(test_ip6_errors),
		cmocka_unit_test(test_tcp_header_errors),
		cmocka_unit_test(test_options_hostile),
		cmocka_unit_test(test_options_lenient),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_err_names),
		cmocka_unit_test(test_ep_parse),
		cmocka_unit_test(test_ep_format),
		cmocka_unit_test(test_icmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
