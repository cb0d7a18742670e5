/* tso: trains of segments joined into super-packets, and back again with
 * wire_tso_split() (what the kernel's segmentation does): the same
 * segments; and every reason a segment does not join. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "tcpfs/tso.h"
#include "tcpfs/wire.h"

#define MSS 1448

static uint8_t data[70000];
static struct tso_train train;

static struct wire_seg seg_at(int family, uint32_t off, size_t len,
			      uint8_t flags)
{
	struct wire_seg s = {.seq = 1000 + off,
			     .ack = 77,
			     .flags = flags,
			     .wnd = 500,
			     .opt = {.has_ts = true, .tsval = 5, .tsecr = 6},
			     .data = data + off,
			     .len = len};
	const char *a = family == AF_INET ? "10.0.0.1:1" : "[fd00::1]:1",
		   *b = family == AF_INET ? "10.0.0.2:2" : "[fd00::2]:2";

	assert_int_equal(wire_ep_parse(a, -1, &s.src, NULL), 0);
	assert_int_equal(wire_ep_parse(b, -1, &s.dst, NULL), 0);
	return s;
}

/* Add segment S to the train as the engine's output_partial gives it:
 * its headers (checksum partial), then its payload in two pieces, as a
 * send queue that wraps holds it; whether it joined. */
static bool add(const struct wire_seg *s)
{
	uint8_t head[128];
	size_t n = wire_build_head(head, sizeof(head), s), half = s->len / 2;
	struct iovec iov[3] = {{head, n},
			       {(void *)s->data, half},
			       {(void *)(s->data + half), s->len - half}};

	assert_true(n > 0);
	return tso_add(&train, iov, 3);
}

/* The train's pieces joined into OUT, as the device reads them; their
 * length. */
static size_t joined(uint8_t *out)
{
	size_t n = 0;

	for (int i = 0; i < train.n; i++) {
		memcpy(out + n, train.iov[i].iov_base, train.iov[i].iov_len);
		n += train.iov[i].iov_len;
	}
	return n;
}

/* What the split hands back: in order, as built. */
static struct {
	int family;
	uint32_t off;
	unsigned n;
	uint8_t last_flags;
} back;

static void on_seg(void *ctx, const uint8_t *pkt, size_t len)
{
	struct wire_seg s;

	(void)ctx;
	assert_int_equal(wire_parse(pkt, len, &s), WIRE_OK);
	assert_int_equal(s.seq, 1000 + back.off);
	assert_int_equal(s.ack, 77);
	assert_int_equal(s.wnd, 500);
	assert_true(s.opt.has_ts && s.opt.tsval == 5 && s.opt.tsecr == 6);
	assert_true(s.len <= MSS);
	assert_memory_equal(s.data, data + back.off, s.len);
	back.off += (uint32_t)s.len;
	back.n++;
	back.last_flags = s.flags;
}

/* 45 full segments and a short one of each family: one super-packet of
 * 65 KiB whose split gives them back, PSH on the last only. */
static void test_round_trip(void **state)
{
	static uint8_t out[TSO_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + i / 256);
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		uint32_t off = 0;
		struct tso_gso gso;
		size_t n;

		memset(&train, 0, sizeof(train));
		for (int i = 0; i < 44; i++, off += MSS) {
			struct wire_seg s = seg_at(family, off, MSS, TCP_ACK);
			assert_true(add(&s));
		}
		struct wire_seg last =
			seg_at(family, off, 100, TCP_ACK | TCP_PSH);
		assert_true(add(&last));
		/* closed by PSH: the next one waits for a new train */
		struct wire_seg more = seg_at(family, off + 100, 10, TCP_ACK);
		assert_false(add(&more));
		n = tso_take(&train, &gso);
		assert_int_equal(n, (f ? 40 : 20) + 32 + 44 * MSS + 100);
		assert_int_equal(gso.mss, MSS);
		assert_int_equal(gso.v6, f);
		assert_int_equal(gso.hdr_len, (f ? 40 : 20) + 32);
		assert_int_equal(gso.csum_start, f ? 40 : 20);
		assert_int_equal(gso.csum_off, 16);
		/* the headers, then the payload where it lies: one run */
		assert_int_equal(train.n, 2);
		assert_ptr_equal(train.iov[1].iov_base, data);
		assert_int_equal(joined(out), n);
		/* the kernel's NEEDS_CSUM: from the pseudo-header sum in the
		 * field to a checksum over the whole super-packet */
		assert_int_equal(wire_csum_complete(out, n, gso.csum_start,
						    gso.csum_off),
				 0);
		size_t iphl = gso.csum_start, tlen = n - iphl;
		uint32_t sum = wire_csum_add(0, out + (f ? 8 : 12), f ? 32 : 8);
		sum += 6 + (uint32_t)tlen;
		assert_int_equal(
			wire_csum_fold(wire_csum_add(sum, out + iphl, tlen)),
			0);
		memset(&back, 0, sizeof(back));
		assert_int_equal(wire_tso_split(out, n, gso.mss, true, on_seg,
						NULL),
				 45);
		assert_int_equal(back.off, 44 * MSS + 100);
		assert_int_equal(back.last_flags, TCP_ACK | TCP_PSH);
		assert_int_equal(tso_take(&train, &gso), 0);
	}
}

/* A lone segment comes back as it went, joined (mss 0: one packet), its
 * partial checksum for the kernel to complete (NEEDS_CSUM): then it is
 * wire_build()'s packet. */
static void test_single(void **state)
{
	struct wire_seg s = seg_at(AF_INET, 0, 300, TCP_ACK | TCP_FIN);
	struct tso_gso gso;
	uint8_t pkt[2048], head[128], out[2048];
	size_t n = wire_build(pkt, sizeof(pkt), &s);
	size_t h = wire_build_head(head, sizeof(head), &s);

	(void)state;
	assert_int_equal(h, n - 300);
	memset(&train, 0, sizeof(train));
	assert_true(add(&s));
	assert_int_equal(tso_take(&train, &gso), n);
	assert_int_equal(gso.mss, 0);
	assert_int_equal(gso.csum_start, 20);
	assert_int_equal(gso.csum_off, 16);
	assert_int_equal(joined(out), n);
	assert_memory_equal(out, head, h);
	assert_memory_equal(out + h, data, 300);
	assert_int_equal(wire_csum_complete(out, n, 20, 16), 0);
	assert_memory_equal(out, pkt, n);
}

/* Payload that is not one run (segments from apart, as a queue that wraps
 * gives them): a piece each, as many as a train holds; the segment that
 * needs one more is refused, the train unchanged, and starts the next. */
static void test_pieces(void **state)
{
	static uint8_t apart[TSO_PIECES * (MSS + 16)], out[TSO_MAX];
	uint8_t head[128];
	struct iovec iov[2];
	struct tso_gso gso;
	int i;

	(void)state;
	memset(&train, 0, sizeof(train));
	for (i = 0; i < TSO_PIECES; i++) {
		struct wire_seg s =
			seg_at(AF_INET, (uint32_t)i * MSS, MSS, TCP_ACK);
		uint8_t *at = apart + (size_t)i * (MSS + 16);

		memcpy(at, s.data, MSS);
		iov[0] = (struct iovec){head, wire_build_head(head, 128, &s)};
		iov[1] = (struct iovec){at, MSS};
		if (i == TSO_PIECES - 1)
			break;
		assert_true(tso_add(&train, iov, 2));
		assert_int_equal(train.n, i + 2);
	}
	assert_false(tso_add(&train, iov, 2));
	size_t n = tso_take(&train, &gso);
	assert_int_equal(n, 20 + 32 + (size_t)i * MSS);
	assert_int_equal(joined(out), n);
	memset(&back, 0, sizeof(back));
	assert_int_equal(wire_tso_split(out, n, gso.mss, true, on_seg, NULL),
			 i);
	assert_int_equal(back.off, i * MSS);
	assert_true(tso_add(&train, iov, 2));
	assert_int_equal(tso_take(&train, &gso), 20 + 32 + MSS);
}

/* What never joins: no payload, SYN, RST, URG, ECN flags; and what ends a
 * train: a gap, another connection, other headers, a longer segment, a
 * train at 64 KiB. */
static void test_refused(void **state)
{
	static const uint8_t bad_flags[] = {
		TCP_SYN | TCP_ACK, TCP_RST | TCP_ACK, TCP_URG | TCP_ACK,
		TCP_ECE | TCP_ACK, TCP_CWR | TCP_ACK, 0};
	struct wire_seg s;

	(void)state;
	memset(&train, 0, sizeof(train));
	s = seg_at(AF_INET, 0, 0, TCP_ACK);
	assert_false(add(&s));
	for (size_t i = 0; i < sizeof(bad_flags); i++) {
		s = seg_at(AF_INET, 0, 10, bad_flags[i]);
		assert_false(add(&s));
	}
	s = seg_at(AF_INET, 0, MSS, TCP_ACK);
	assert_true(add(&s));
	s = seg_at(AF_INET, MSS + 1, MSS, TCP_ACK); /* a gap */
	assert_false(add(&s));
	s = seg_at(AF_INET6, MSS, MSS, TCP_ACK);
	assert_false(add(&s));
	s = seg_at(AF_INET, MSS, MSS, TCP_ACK);
	s.dst.port = 3;
	assert_false(add(&s));
	s = seg_at(AF_INET, MSS, MSS, TCP_ACK);
	s.opt.tsval = 9;
	assert_false(add(&s));
	s = seg_at(AF_INET, MSS, MSS, TCP_ACK);
	s.wnd = 1;
	assert_false(add(&s));
	s = seg_at(AF_INET, MSS, MSS + 1, TCP_ACK);
	assert_false(add(&s));
	/* a short one joins and closes the train */
	s = seg_at(AF_INET, MSS, 10, TCP_ACK);
	assert_true(add(&s));
	s = seg_at(AF_INET, MSS + 10, 10, TCP_ACK);
	assert_false(add(&s));
	/* 64 KiB at most */
	memset(&train, 0, sizeof(train));
	uint32_t off = 0;
	while (train.len + MSS <= 65535) {
		s = seg_at(AF_INET, off, MSS, TCP_ACK);
		assert_true(add(&s));
		off += MSS;
	}
	s = seg_at(AF_INET, off, MSS, TCP_ACK);
	assert_false(add(&s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_single),
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
