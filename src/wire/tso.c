/* TCP segments joined into TSO super-packets: see tcpfs/tso.h. Offsets are
 * those of RFC 791 §3.1, RFC 8200 §3 and RFC 9293 §3.1. */
#include <string.h>

#include "tcpfs/tso.h"
#include "tcpfs/wire.h"
#include "wire_int.h"

#define TCP_CSUM 16

/* The IP header length of a TCP data segment of LEN bytes fit for a train
 * (IPv4 not a fragment, IPv6 without extension headers; flags ACK with
 * PSH or FIN at most), its header length in *HDR; 0 if it is none or the
 * AVAIL bytes at P are not its headers alone. */
static size_t data_seg(const uint8_t *p, size_t avail, size_t len, size_t *hdr)
{
	size_t iphl;

	if (avail >= IP4_HLEN && p[0] >> 4 == 4 && p[9] == IPPROTO_TCP_ &&
	    !(get16(p + 6) & 0x3fff))
		iphl = (size_t)(p[0] & 15) * 4;
	else if (avail >= IP6_HLEN && p[0] >> 4 == 6 && p[6] == IPPROTO_TCP_)
		iphl = IP6_HLEN;
	else
		return 0;
	if (iphl < IP4_HLEN || avail < iphl + 20)
		return 0;
	*hdr = iphl + (size_t)(p[iphl + 12] >> 4) * 4;
	if (*hdr < iphl + 20 || *hdr != avail || *hdr > TSO_HEAD_MAX ||
	    len <= *hdr || (p[iphl + 13] & ~(TCP_PSH | TCP_FIN)) != TCP_ACK)
		return 0;
	return iphl;
}

/* Equal headers but for what differs between a train's segments: IPv4
 * total length, id and checksum; IPv6 payload length; TCP sequence number,
 * flags and checksum. */
static bool same_headers(const uint8_t *a, const uint8_t *b, size_t iphl,
			 size_t hdr)
{
	static const struct {
		unsigned from, to;
	} v4[] = {{0, 2}, {6, 10}, {12, 0}}, v6[] = {{0, 4}, {6, 0}},
	  tcp[] = {{0, 4}, {8, 13}, {14, 16}, {18, 0}};
	bool is4 = a[0] >> 4 == 4;

	for (size_t i = 0; i < (is4 ? 3 : 2); i++) {
		unsigned from = is4 ? v4[i].from : v6[i].from,
			 to = is4 ? v4[i].to : v6[i].to;
		size_t end = to ? to : iphl;
		if (memcmp(a + from, b + from, end - from))
			return false;
	}
	for (size_t i = 0; i < 4; i++) {
		size_t end = tcp[i].to ? tcp[i].to : hdr - iphl;
		if (memcmp(a + iphl + tcp[i].from, b + iphl + tcp[i].from,
			   end - tcp[i].from))
			return false;
	}
	return true;
}

static size_t iphl_of(const uint8_t *p)
{
	return p[0] >> 4 == 4 ? (size_t)(p[0] & 15) * 4 : IP6_HLEN;
}

/* Whether PKT (headers HDR, IP header IPHL) continues T. */
static bool follows(const struct tso_train *t, const uint8_t *pkt, size_t len,
		    size_t iphl, size_t hdr)
{
	size_t n = len - hdr;
	uint32_t want = get32(t->head + iphl + 4) + (uint32_t)(t->len - t->hdr);

	return !t->closed && hdr == t->hdr && iphl == iphl_of(t->head) &&
	       n <= t->mss && t->len + n <= TSO_MAX &&
	       get32(pkt + iphl + 4) == want &&
	       same_headers(t->head, pkt, iphl, hdr);
}

/* Add the payload IOV[1..N) to T's pieces, where it lies (a piece that
 * starts where the last one ends extends it); false, T unchanged, if they
 * do not fit. */
static bool add_payload(struct tso_train *t, const struct iovec *iov, int n)
{
	struct iovec p[TSO_PIECES];
	int k = t->n;

	memcpy(p, t->iov, (size_t)k * sizeof(*p));
	for (int i = 1; i < n; i++) {
		const uint8_t *last = p[k - 1].iov_base;

		if (!iov[i].iov_len)
			continue;
		if (k > 1 && last + p[k - 1].iov_len == iov[i].iov_base)
			p[k - 1].iov_len += iov[i].iov_len;
		else if (k == TSO_PIECES)
			return false;
		else
			p[k++] = iov[i];
	}
	memcpy(t->iov, p, (size_t)k * sizeof(*p));
	t->n = k;
	return true;
}

bool tso_add(struct tso_train *t, const struct iovec *iov, int n)
{
	const uint8_t *pkt = iov[0].iov_base;
	size_t len = 0, hdr, iphl;
	uint8_t flags;

	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	iphl = data_seg(pkt, iov[0].iov_len, len, &hdr);
	if (!iphl || len > TSO_MAX ||
	    (t->len && !follows(t, pkt, len, iphl, hdr)))
		return false;
	flags = pkt[iphl + 13];
	if (!t->len) {
		memcpy(t->head, pkt, hdr);
		t->iov[0] = (struct iovec){t->head, hdr};
		t->n = 1;
		if (!add_payload(t, iov, n))
			return false;
		t->hdr = hdr;
		t->mss = len - hdr;
		t->segs = 1;
	} else {
		if (!add_payload(t, iov, n))
			return false;
		/* PSH and FIN go on the last segment of a split only */
		t->head[iphl + 13] |= flags;
		t->closed = len - hdr < t->mss;
		t->segs++;
	}
	t->len += len - (t->segs > 1 ? hdr : 0);
	t->closed = t->closed || (flags & (TCP_PSH | TCP_FIN));
	return true;
}

/* IP lengths, IPv4 checksum and the TCP pseudo-header sum of a train. */
static void finish(struct tso_train *t, size_t iphl, bool v6)
{
	uint8_t *p = t->head, *th = p + iphl;
	size_t tlen = t->len - iphl;
	uint32_t sum;

	if (v6) {
		put16(p + 4, (uint16_t)tlen);
	} else {
		put16(p + 2, (uint16_t)t->len);
		put16(p + 10, 0);
		put16(p + 10, wire_csum_fold(wire_csum_add(0, p, iphl)));
	}
	/* not inverted: the sender's half (Linux's tcp_v4_send_check() with
	 * CHECKSUM_PARTIAL), over the whole length as tcp_gso_segment()
	 * expects */
	sum = wire_csum_add(0, p + (v6 ? 8 : 12), v6 ? 32 : 8);
	sum += IPPROTO_TCP_ + (uint32_t)tlen;
	put16(th + TCP_CSUM, (uint16_t)~wire_csum_fold(sum));
}

size_t tso_take(struct tso_train *t, struct tso_gso *gso)
{
	size_t len = t->len, iphl = iphl_of(t->head);

	memset(gso, 0, sizeof(*gso));
	if (len) { /* a lone segment keeps its own partial sum */
		gso->v6 = t->head[0] >> 4 == 6;
		gso->csum_start = (uint16_t)iphl;
		gso->csum_off = TCP_CSUM;
	}
	if (len && t->segs > 1) {
		gso->hdr_len = (uint16_t)t->hdr;
		gso->mss = (uint16_t)t->mss;
		finish(t, iphl, gso->v6);
	}
	t->len = 0;
	t->closed = false;
	return len;
}
