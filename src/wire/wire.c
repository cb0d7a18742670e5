/* IPv4 (RFC 791), IPv6 (RFC 8200) and TCP (RFC 9293 §3.1) headers: parse
 * with every length checked, build with both checksums. */
#include <string.h>
#include <sys/socket.h>

#include "tcpfs/wire.h"
#include "wire_int.h"

#define TCP_MAX_OPTS 40

enum {
	OPT_EOL = 0,
	OPT_NOP = 1,
	OPT_MSS = 2,
	OPT_WS = 3,
	OPT_SACK_OK = 4,
	OPT_SACK = 5,
	OPT_TS = 8,
};

static const char *const err_names[WIRE_NERR] = {
	[WIRE_OK] = "ok",
	[WIRE_SHORT] = "short",
	[WIRE_VERSION] = "version",
	[WIRE_IPHDR] = "ip-header",
	[WIRE_IPCSUM] = "ip-checksum",
	[WIRE_FRAGMENT] = "fragment",
	[WIRE_NOT_TCP] = "not-tcp",
	[WIRE_TCPHDR] = "tcp-header",
	[WIRE_OPTION] = "option",
	[WIRE_CSUM] = "checksum",
	[WIRE_ADDR] = "address",
};

const char *wire_err_name(enum wire_err err)
{
	if ((unsigned)err >= WIRE_NERR)
		return "unknown";
	return err_names[err];
}

/* ---- checksum (RFC 1071) ---- */

/* One 64-bit one's-complement add: the carry out of bit 63 goes back in
 * at bit 0 (end-around carry, RFC 1071 §2(C)). */
static inline uint64_t add64(uint64_t s, uint64_t w)
{
	s += w;
	return s + (s < w);
}

/* Sum in native byte order, 64 bits at a time with end-around carries,
 * four words per round into a 128-bit sum where there is one: the one's
 * complement sum is byte-order independent and may be taken over any word
 * width, then folded (RFC 1071 §2(B), §4.1), so one swap at the end gives
 * the big-endian sum. memcpy() makes any alignment safe. */
static uint64_t sum_native(const uint8_t *p, size_t len)
{
	uint64_t s = 0, w[4];
	uint32_t u;
	uint16_t h;

#ifdef __SIZEOF_INT128__
	if (len >= 32) {
		/* add/adc pairs: the carries pile up in the high half, the
		 * 8-byte loop below does the rest (and all of it without
		 * 128-bit integers) */
		unsigned __int128 acc = 0;

		for (; len >= 32; p += 32, len -= 32) {
			memcpy(w, p, 32);
			acc += w[0];
			acc += w[1];
			acc += w[2];
			acc += w[3];
		}
		s = add64((uint64_t)acc, (uint64_t)(acc >> 64));
	}
#endif
	for (; len >= 8; p += 8, len -= 8) {
		memcpy(w, p, 8);
		s = add64(s, w[0]);
	}
	if (len >= 4) {
		memcpy(&u, p, 4);
		s = add64(s, u);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		s = add64(s, h);
		p += 2;
		len -= 2;
	}
	if (len) {
		/* The odd byte is the high half of a zero-padded word. */
		const uint8_t pad[2] = {*p, 0};
		memcpy(&h, pad, 2);
		s = add64(s, h);
	}
	return s;
}

static uint32_t fold16(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

uint32_t wire_csum_add(uint32_t sum, const void *buf, size_t len)
{
	uint16_t native = (uint16_t)fold16(sum_native(buf, len));
	uint8_t b[2];

	memcpy(b, &native, 2);
	return fold16(sum) + ((uint32_t)b[0] << 8 | b[1]);
}

uint16_t wire_csum_fold(uint32_t sum)
{
	return (uint16_t)~fold16(sum);
}

/* ---- parse ---- */

static bool addr4_bad(const uint8_t *a)
{
	static const uint8_t any[4], bcast[4] = {255, 255, 255, 255};

	/* 224/4 is multicast (RFC 5771). */
	return !memcmp(a, any, 4) || !memcmp(a, bcast, 4) ||
	       (a[0] & 0xf0) == 224;
}

static bool addr6_bad(const uint8_t *a)
{
	static const uint8_t any[16];

	/* ff00::/8 is multicast (RFC 4291 §2.7). */
	return !memcmp(a, any, 16) || a[0] == 0xff;
}

bool wire_ep_unicast(const struct wire_ep *ep)
{
	if (ep->family == AF_INET)
		return !addr4_bad(ep->a);
	return ep->family == AF_INET6 && !addr6_bad(ep->a);
}

/* The pseudo-header sum (RFC 9293 §3.1, RFC 8200 §8.1) for a TCP segment of
 * TCPLEN bytes between SRC and DST. */
static uint32_t pseudo_sum(const struct wire_ep *src, const struct wire_ep *dst,
			   size_t tcplen)
{
	size_t alen = src->family == AF_INET ? 4 : 16;
	uint32_t sum = wire_csum_add(0, src->a, alen);

	sum = wire_csum_add(sum, dst->a, alen);
	return sum + IPPROTO_TCP_ + (uint32_t)tcplen;
}

/* SEG's addresses (source then destination, back to back at ADDRS) and
 * TTL from an IP header of FAMILY; WIRE_ADDR if one is unusable. */
static enum wire_err take_addrs(struct wire_seg *seg, int family,
				const uint8_t *addrs, uint8_t ttl)
{
	size_t alen = family == AF_INET ? 4 : 16;
	bool (*bad)(const uint8_t *) = family == AF_INET ? addr4_bad :
							   addr6_bad;
	seg->src.family = seg->dst.family = (uint8_t)family;
	memcpy(seg->src.a, addrs, alen);
	memcpy(seg->dst.a, addrs + alen, alen);
	if (bad(seg->src.a) || bad(seg->dst.a))
		return WIRE_ADDR;
	seg->ttl = ttl;
	return WIRE_OK;
}

static enum wire_err parse_ip4(const uint8_t *pkt, size_t len,
			       struct wire_seg *seg, size_t *off, size_t *end)
{
	size_t ihl, tot;

	if (len < IP4_HLEN)
		return WIRE_SHORT;
	ihl = (size_t)(pkt[0] & 0x0f) * 4;
	tot = get16(pkt + 2);
	/* The datagram must hold its header and a TCP header at least. */
	if (ihl < IP4_HLEN || tot < ihl + TCP_HLEN)
		return WIRE_IPHDR;
	/* Link padding beyond the total length is not ours to read. */
	if (tot > len)
		return WIRE_SHORT;
	if (wire_csum_fold(wire_csum_add(0, pkt, ihl)))
		return WIRE_IPCSUM;
	/* MF or a fragment offset (RFC 791 §3.1): never reassembled. */
	if (get16(pkt + 6) & 0x3fff)
		return WIRE_FRAGMENT;
	*off = ihl;
	*end = tot;
	if (pkt[9] != IPPROTO_TCP_)
		return WIRE_NOT_TCP;
	seg->tos = pkt[1];
	return take_addrs(seg, AF_INET, pkt + 12, pkt[8]);
}

static enum wire_err parse_ip6(const uint8_t *pkt, size_t len,
			       struct wire_seg *seg, size_t *off, size_t *end)
{
	size_t plen;

	if (len < IP6_HLEN)
		return WIRE_SHORT;
	plen = get16(pkt + 4);
	if (plen < TCP_HLEN)
		return WIRE_IPHDR;
	if (IP6_HLEN + plen > len)
		return WIRE_SHORT;
	*off = IP6_HLEN;
	*end = IP6_HLEN + plen;
	/* Extension headers (fragments included) are refused, not walked. */
	if (pkt[6] != IPPROTO_TCP_)
		return WIRE_NOT_TCP;
	seg->tos = (uint8_t)(get32(pkt) >> 20);
	return take_addrs(seg, AF_INET6, pkt + 8, pkt[7]);
}

/* Whether OLEN is right for a known option KIND; unknown kinds are skipped.
 * SACK is 2 + 8 * blocks, 1 to 4 blocks (RFC 2018 §3). */
static bool opt_len_ok(uint8_t kind, size_t olen)
{
	switch (kind) {
	case OPT_MSS:
		return olen == 4;
	case OPT_WS:
		return olen == 3;
	case OPT_SACK_OK:
		return olen == 2;
	case OPT_SACK:
		return olen >= 10 && olen <= 2 + 8 * WIRE_MAX_SACK &&
		       (olen - 2) % 8 == 0;
	case OPT_TS:
		return olen == 10;
	default:
		return true;
	}
}

/* One option at P of a valid length OLEN (RFC 9293 §3.2, 7323, 2018);
 * a later copy of an option replaces an earlier one. */
static void opt_one(struct wire_opts *o, const uint8_t *p, size_t olen)
{
	switch (p[0]) {
	case OPT_MSS:
		o->has_mss = true;
		o->mss = get16(p + 2);
		break;
	case OPT_WS:
		o->has_ws = true;
		o->ws = p[2];
		break;
	case OPT_SACK_OK:
		o->sack_ok = true;
		break;
	case OPT_SACK:
		o->nsack = (uint8_t)((olen - 2) / 8);
		for (size_t i = 0; i < o->nsack; i++) {
			o->sack[i].left = get32(p + 2 + 8 * i);
			o->sack[i].right = get32(p + 6 + 8 * i);
		}
		break;
	case OPT_TS:
		o->has_ts = true;
		o->tsval = get32(p + 2);
		o->tsecr = get32(p + 6);
		break;
	}
}

static enum wire_err parse_opts(struct wire_opts *o, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] != OPT_EOL) {
		size_t olen;

		if (p[i] == OPT_NOP) {
			i++;
			continue;
		}
		if (n - i < 2)
			return WIRE_OPTION;
		olen = p[i + 1];
		if (olen < 2 || olen > n - i || !opt_len_ok(p[i], olen))
			return WIRE_OPTION;
		opt_one(o, p + i, olen);
		i += olen;
	}
	return WIRE_OK;
}

/* The TCP segment T of TLEN bytes (at least a header's worth); its
 * checksum checked if CSUM. */
static enum wire_err parse_tcp(const uint8_t *t, size_t tlen,
			       struct wire_seg *seg, bool csum)
{
	size_t doff = (size_t)(t[12] >> 4) * 4;

	if (doff < TCP_HLEN || doff > tlen)
		return WIRE_TCPHDR;
	if (csum && wire_csum_fold(wire_csum_add(
			    pseudo_sum(&seg->src, &seg->dst, tlen), t, tlen)))
		return WIRE_CSUM;
	seg->src.port = get16(t);
	seg->dst.port = get16(t + 2);
	/* Port 0 is reserved (RFC 6335 §6): no connection can use it. */
	if (!seg->src.port || !seg->dst.port)
		return WIRE_ADDR;
	seg->seq = get32(t + 4);
	seg->ack = get32(t + 8);
	seg->flags = t[13];
	seg->wnd = get16(t + 14);
	seg->urp = get16(t + 18);
	seg->data = t + doff;
	seg->len = tlen - doff;
	return parse_opts(&seg->opt, t + TCP_HLEN, doff - TCP_HLEN);
}

static enum wire_err parse(const uint8_t *pkt, size_t len, struct wire_seg *seg,
			   bool csum)
{
	size_t off, end;
	enum wire_err err;

	memset(seg, 0, sizeof(*seg));
	if (len < 1)
		return WIRE_SHORT;
	switch (pkt[0] >> 4) {
	case 4:
		err = parse_ip4(pkt, len, seg, &off, &end);
		break;
	case 6:
		err = parse_ip6(pkt, len, seg, &off, &end);
		break;
	default:
		return WIRE_VERSION;
	}
	if (err == WIRE_OK)
		err = parse_tcp(pkt + off, end - off, seg, csum);
	if (err != WIRE_OK)
		memset(seg, 0, sizeof(*seg));
	return err;
}

enum wire_err wire_parse(const uint8_t *pkt, size_t len, struct wire_seg *seg)
{
	return parse(pkt, len, seg, true);
}

enum wire_err wire_parse_trusted(const uint8_t *pkt, size_t len,
				 struct wire_seg *seg)
{
	return parse(pkt, len, seg, false);
}

/* ---- ICMP errors (RFC 792, RFC 4443, RFC 5927 §4) ---- */

#define IPPROTO_ICMP_ 1
#define IPPROTO_ICMPV6_ 58
#define ICMP_HLEN 8 /* type, code, checksum, 4 more bytes */

/* The quoted datagram Q (QLEN bytes) of FAMILY: its IP header and the
 * first 8 bytes of TCP (ports, sequence number), all RFC 792 promises. */
static enum wire_err icmp_quote(const uint8_t *q, size_t qlen, int family,
				struct wire_icmp *ic)
{
	size_t ihl = IP6_HLEN, alen = family == AF_INET ? 4 : 16;
	const uint8_t *addrs = q + 8;

	if (family == AF_INET) {
		if (qlen < IP4_HLEN || q[0] >> 4 != 4)
			return WIRE_SHORT;
		ihl = (size_t)(q[0] & 0x0f) * 4;
		if (ihl < IP4_HLEN || q[9] != IPPROTO_TCP_)
			return WIRE_NOT_TCP;
		addrs = q + 12;
	} else if (qlen < IP6_HLEN || q[0] >> 4 != 6 || q[6] != IPPROTO_TCP_) {
		return qlen < IP6_HLEN ? WIRE_SHORT : WIRE_NOT_TCP;
	}
	if (qlen < ihl + 8)
		return WIRE_SHORT;
	ic->src.family = ic->dst.family = (uint8_t)family;
	memcpy(ic->src.a, addrs, alen);
	memcpy(ic->dst.a, addrs + alen, alen);
	ic->src.port = get16(q + ihl);
	ic->dst.port = get16(q + ihl + 2);
	ic->seq = get32(q + ihl + 4);
	return WIRE_OK;
}

/* The ICMP message M of MLEN bytes: its kind, by type and code. */
static enum wire_err icmp_kind(const uint8_t *m, int family,
			       struct wire_icmp *ic)
{
	ic->type = m[0];
	ic->code = m[1];
	if (family == AF_INET && m[0] == 3) { /* destination unreachable */
		ic->kind = m[1] == 4 ? WIRE_ICMP_PTB : WIRE_ICMP_UNREACH;
		ic->mtu = m[1] == 4 ? get16(m + 6) : 0;
		return WIRE_OK;
	}
	if (family == AF_INET6 && (m[0] == 1 || m[0] == 2)) {
		ic->kind = m[0] == 2 ? WIRE_ICMP_PTB : WIRE_ICMP_UNREACH;
		ic->mtu = m[0] == 2 ? get32(m + 4) : 0;
		return WIRE_OK;
	}
	return WIRE_NOT_TCP; /* echo, time exceeded, ...: not for TCP */
}

enum wire_err wire_parse_icmp(const uint8_t *pkt, size_t len,
			      struct wire_icmp *ic)
{
	struct wire_seg outer;
	size_t off, end;
	enum wire_err err;
	int fam;
	uint32_t sum;

	memset(ic, 0, sizeof(*ic));
	memset(&outer, 0, sizeof(outer));
	if (len < IP4_HLEN)
		return WIRE_SHORT;
	fam = pkt[0] >> 4 == 4 ? AF_INET : pkt[0] >> 4 == 6 ? AF_INET6 : 0;
	if (!fam)
		return WIRE_VERSION;
	err = fam == AF_INET ? parse_ip4(pkt, len, &outer, &off, &end) :
			       parse_ip6(pkt, len, &outer, &off, &end);
	if (err != WIRE_NOT_TCP) /* a TCP segment is wire_parse()'s */
		return err == WIRE_OK ? WIRE_NOT_TCP : err;
	if (pkt[fam == AF_INET ? 9 : 6] !=
	    (fam == AF_INET ? IPPROTO_ICMP_ : IPPROTO_ICMPV6_))
		return WIRE_NOT_TCP;
	if (end - off < ICMP_HLEN)
		return WIRE_SHORT;
	/* ICMPv6's checksum covers a pseudo-header (RFC 4443 §2.3) */
	sum = fam == AF_INET ? 0 :
			       wire_csum_add(0, pkt + 8, 32) + IPPROTO_ICMPV6_ +
				       (uint32_t)(end - off);
	if (wire_csum_fold(wire_csum_add(sum, pkt + off, end - off)))
		return WIRE_CSUM;
	err = take_addrs(&outer, fam, pkt + (fam == AF_INET ? 12 : 8), 0);
	ic->from = outer.src;
	ic->to = outer.dst;
	if (err == WIRE_OK)
		err = icmp_kind(pkt + off, fam, ic);
	if (err == WIRE_OK)
		err = icmp_quote(pkt + off + ICMP_HLEN, end - off - ICMP_HLEN,
				 fam, ic);
	if (err != WIRE_OK)
		memset(ic, 0, sizeof(*ic));
	return err;
}

/* ---- build ---- */

/* Bytes of options other than SACK blocks, in the order opts_write() puts
 * them. */
static size_t opts_base_len(const struct wire_opts *o)
{
	size_t n = o->has_mss ? 4 : 0;

	if (o->has_ts)
		n += 12;
	else if (o->sack_ok)
		n += 4;
	return n + (o->has_ws ? 4 : 0);
}

/* SACK blocks that fit beside the other options (at most 20 bytes) in 40;
 * the last ones are left out, as Linux does. */
static size_t sack_blocks(const struct wire_opts *o)
{
	size_t room = (TCP_MAX_OPTS - opts_base_len(o) - 4) / 8;
	size_t n = o->nsack < WIRE_MAX_SACK ? o->nsack : WIRE_MAX_SACK;

	return n < room ? n : room;
}

size_t wire_opts_len(const struct wire_opts *opt)
{
	size_t n = sack_blocks(opt);

	return opts_base_len(opt) + (n ? 4 + 8 * n : 0);
}

static uint8_t *put_kl(uint8_t *p, uint8_t kind, uint8_t len)
{
	p[0] = kind;
	p[1] = len;
	return p + 2;
}

/* Linux's order (tcp_options_write): MSS, SACK-permitted with timestamps,
 * window scale, SACK blocks; NOPs keep every option 4-aligned. */
static uint8_t *opts_write(uint8_t *p, const struct wire_opts *o)
{
	size_t nsack = sack_blocks(o);

	if (o->has_mss)
		p = put16(put_kl(p, OPT_MSS, 4), o->mss);
	if (o->has_ts) {
		p = o->sack_ok ? put_kl(p, OPT_SACK_OK, 2) :
				 put_kl(p, OPT_NOP, OPT_NOP);
		p = put32(put32(put_kl(p, OPT_TS, 10), o->tsval), o->tsecr);
	} else if (o->sack_ok) {
		p = put_kl(put_kl(p, OPT_NOP, OPT_NOP), OPT_SACK_OK, 2);
	}
	if (o->has_ws) {
		*p++ = OPT_NOP;
		p = put_kl(p, OPT_WS, 3);
		*p++ = o->ws;
	}
	if (nsack) {
		p = put_kl(p, OPT_NOP, OPT_NOP);
		p = put_kl(p, OPT_SACK, (uint8_t)(2 + 8 * nsack));
		for (size_t i = 0; i < nsack; i++)
			p = put32(put32(p, o->sack[i].left), o->sack[i].right);
	}
	return p;
}

/* IPv4 header (RFC 791): SEG's TOS (RFC 2474's DSCP and RFC 3168's ECN),
 * DF set, id 0 (RFC 6864 §4.1 allows it for atomic datagrams), no
 * options. */
static void build_ip4(uint8_t *p, const struct wire_seg *seg, size_t total,
		      uint8_t ttl)
{
	p[0] = 0x45;
	p[1] = seg->tos;
	put16(p + 2, (uint16_t)total);
	put16(p + 4, 0);
	put16(p + 6, 0x4000);
	p[8] = ttl;
	p[9] = IPPROTO_TCP_;
	put16(p + 10, 0);
	memcpy(p + 12, seg->src.a, 4);
	memcpy(p + 16, seg->dst.a, 4);
	put16(p + 10, wire_csum_fold(wire_csum_add(0, p, IP4_HLEN)));
}

/* IPv6 header (RFC 8200 §3): the traffic class of SEG, flow label 0. */
static void build_ip6(uint8_t *p, const struct wire_seg *seg, size_t plen,
		      uint8_t hops)
{
	put32(p, 6u << 28 | (uint32_t)seg->tos << 20);
	put16(p + 4, (uint16_t)plen);
	p[6] = IPPROTO_TCP_;
	p[7] = hops;
	memcpy(p + 8, seg->src.a, 16);
	memcpy(p + 24, seg->dst.a, 16);
}

/* The TCP header of SEG (TLEN bytes with the payload); its checksum
 * whole over the payload at T + header (HEAD_ONLY false), or left partial
 * (HEAD_ONLY): the pseudo-header's sum alone, not inverted, for the link
 * to complete (virtio NEEDS_CSUM; Linux's tcp_v4_send_check() with
 * CHECKSUM_PARTIAL). */
static void build_tcp(uint8_t *t, const struct wire_seg *seg, size_t tlen,
		      bool head_only)
{
	size_t hlen = TCP_HLEN + wire_opts_len(&seg->opt);
	uint32_t sum;

	put16(t, seg->src.port);
	put16(t + 2, seg->dst.port);
	put32(t + 4, seg->seq);
	put32(t + 8, seg->ack);
	t[12] = (uint8_t)(hlen / 4 << 4);
	t[13] = seg->flags;
	put16(t + 14, seg->wnd);
	put16(t + 16, 0);
	put16(t + 18, seg->urp);
	opts_write(t + TCP_HLEN, &seg->opt);
	sum = pseudo_sum(&seg->src, &seg->dst, tlen);
	if (head_only)
		put16(t + 16, (uint16_t)~wire_csum_fold(sum));
	else
		put16(t + 16, wire_csum_fold(wire_csum_add(sum, t, tlen)));
}

/* The headers of SEG into BUF (and its payload after them unless
 * HEAD_ONLY); the packet's length, or 0 as wire_build(). */
static size_t build(uint8_t *buf, size_t cap, const struct wire_seg *seg,
		    bool head_only)
{
	int fam = seg->src.family;
	size_t iphl = fam == AF_INET ? IP4_HLEN : IP6_HLEN;
	size_t tlen = TCP_HLEN + wire_opts_len(&seg->opt) + seg->len;
	uint8_t ttl = seg->ttl ? seg->ttl : 64;

	if ((fam != AF_INET && fam != AF_INET6) || seg->dst.family != fam ||
	    seg->len > UINT16_MAX)
		return 0;
	/* Both length fields are 16 bits: IPv4's counts its header too. */
	if ((fam == AF_INET ? iphl + tlen : tlen) > UINT16_MAX ||
	    iphl + tlen - (head_only ? seg->len : 0) > cap)
		return 0;
	/* The payload first: it may already sit in BUF, even under where the
	 * headers go. */
	if (seg->len && !head_only)
		memmove(buf + tlen + iphl - seg->len, seg->data, seg->len);
	if (fam == AF_INET)
		build_ip4(buf, seg, iphl + tlen, ttl);
	else
		build_ip6(buf, seg, tlen, ttl);
	build_tcp(buf + iphl, seg, tlen, head_only);
	return iphl + tlen;
}

size_t wire_build(uint8_t *buf, size_t cap, const struct wire_seg *seg)
{
	return build(buf, cap, seg, false);
}

size_t wire_build_head(uint8_t *buf, size_t cap, const struct wire_seg *seg)
{
	size_t n = build(buf, cap, seg, true);

	return n ? n - seg->len : 0;
}

/* ---- offloads: what a TUN device with a virtio-net header leaves us ---- */

int wire_csum_complete(uint8_t *pkt, size_t len, size_t start, size_t offset)
{
	if (start > len || offset > len - start || len - start - offset < 2)
		return -1;
	/* The field holds the pseudo-header sum: summing over it from START
	 * to the end gives the whole sum (virtio 1.2 §5.1.6.2.1; Linux's
	 * skb_checksum_help()). */
	put16(pkt + start + offset,
	      wire_csum_fold(wire_csum_add(0, pkt + start, len - start)));
	return 0;
}

/* The IP and TCP header lengths of a TCP packet PKT of LEN bytes (IPv4
 * with options, IPv6 without extension headers); 0 if it is not one. */
static size_t tcp_headers(const uint8_t *pkt, size_t len, size_t *iphl)
{
	size_t thl;

	if (len < IP4_HLEN)
		return 0;
	if (pkt[0] >> 4 == 4 && pkt[9] == IPPROTO_TCP_)
		*iphl = (size_t)(pkt[0] & 15) * 4;
	else if (pkt[0] >> 4 == 6 && len >= IP6_HLEN && pkt[6] == IPPROTO_TCP_)
		*iphl = IP6_HLEN;
	else
		return 0;
	if (*iphl < IP4_HLEN || len < *iphl + TCP_HLEN)
		return 0;
	thl = (size_t)(pkt[*iphl + 12] >> 4) * 4;
	return thl >= TCP_HLEN && len >= *iphl + thl ? *iphl + thl : 0;
}

enum wire_err wire_parse_head(const uint8_t *hdr, size_t hlen, size_t len,
			      struct wire_seg *seg)
{
	size_t iphl;
	enum wire_err err;

	memset(seg, 0, sizeof(*seg));
	if (tcp_headers(hdr, hlen, &iphl) != hlen || len < hlen)
		return WIRE_TCPHDR;
	/* trusted: only the headers are read */
	err = parse(hdr, len, seg, false);
	seg->data = NULL;
	return err;
}

/* Segment I of a split: SEG holds the headers of the super-packet (HDR
 * bytes, IP header IPHL) and N bytes of payload that start OFF bytes in;
 * LAST says it ends the packet. The IP lengths, the IPv4 id and checksum,
 * the sequence number, the flags and (if CSUM) the TCP checksum are set as
 * Linux's tcp_gso_segment() and inet_gso_segment() set them. */
static void tso_fix(uint8_t *seg, size_t iphl, size_t hdr, size_t n, size_t off,
		    unsigned i, bool last, bool csum)
{
	uint8_t *t = seg + iphl;
	size_t tlen = hdr - iphl + n;
	bool v4 = seg[0] >> 4 == 4;
	uint32_t sum;

	if (v4) {
		put16(seg + 2, (uint16_t)(hdr + n));
		put16(seg + 4, (uint16_t)(get16(seg + 4) + i));
		put16(seg + 10, 0);
		put16(seg + 10, wire_csum_fold(wire_csum_add(0, seg, iphl)));
	} else {
		put16(seg + 4, (uint16_t)tlen);
	}
	put32(t + 4, get32(t + 4) + (uint32_t)off);
	if (!last)
		t[13] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
	if (i)
		t[13] &= (uint8_t)~TCP_CWR;
	if (!csum)
		return;
	sum = wire_csum_add(0, seg + (v4 ? 12 : 8), v4 ? 8 : 32);
	put16(t + 16, 0);
	sum += IPPROTO_TCP_ + (uint32_t)tlen;
	put16(t + 16, wire_csum_fold(wire_csum_add(sum, t, tlen)));
}

int wire_tso_split(uint8_t *pkt, size_t len, size_t mss, bool csum,
		   wire_emit_fn *emit, void *ctx)
{
	uint8_t head[60 + 60]; /* IPv4 and TCP headers with options, at most */
	size_t iphl, hdr = tcp_headers(pkt, len, &iphl);
	unsigned i = 0;

	if (!hdr || !mss)
		return -1;
	memcpy(head, pkt, hdr);
	/* No copy of the payload: segment I's headers go just before its
	 * payload, over the end of segment I-1's, which EMIT has taken. */
	for (size_t off = 0; off < len - hdr || !i; off += mss, i++) {
		size_t n = len - hdr - off < mss ? len - hdr - off : mss;
		uint8_t *seg = pkt + off;

		if (i)
			memcpy(seg, head, hdr);
		tso_fix(seg, iphl, hdr, n, off, i, off + n == len - hdr, csum);
		emit(ctx, seg, hdr + n);
	}
	return (int)i;
}
