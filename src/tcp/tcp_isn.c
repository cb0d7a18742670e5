/* Secrets of the sequence space: ISNs (RFC 6528), the tuple hash behind the
 * tables and ephemeral ports (RFC 6056) and SYN cookies, all from one
 * keyed hash (SipHash-2-4). */
#include <string.h>

#include "tcp_isn.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL(v[1], 13) ^ v[0];
	v[0] = ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = ROTL(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = ROTL(v[1], 17) ^ v[2];
	v[2] = ROTL(v[2], 32);
}

static void sipblock(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sipround(v);
	sipround(v);
	v[0] ^= m;
}

uint64_t tcp_siphash(const uint64_t key[2], const void *msg, size_t len)
{
	const uint8_t *p = msg;
	uint64_t v[4] = {key[0] ^ 0x736f6d6570736575ull,
			 key[1] ^ 0x646f72616e646f6dull,
			 key[0] ^ 0x6c7967656e657261ull,
			 key[1] ^ 0x7465646279746573ull};
	uint64_t m, last = (uint64_t)len << 56;
	size_t i;

	for (; len >= 8; len -= 8, p += 8) {
		for (m = 0, i = 0; i < 8; i++)
			m |= (uint64_t)p[i] << (8 * i);
		sipblock(v, m);
	}
	for (i = 0; i < len; i++)
		last |= (uint64_t)p[i] << (8 * i);
	sipblock(v, last);
	v[2] ^= 0xff;
	for (i = 0; i < 4; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* Hash of the connection identifiers plus EXTRA. */
uint64_t tcp_tuple_hash(const struct tcp_engine *e, const struct wire_ep *local,
			const struct wire_ep *remote, uint64_t extra)
{
	uint8_t m[16 + 16 + 2 + 2 + 1 + 8];

	memcpy(m, local->a, 16);
	memcpy(m + 16, remote->a, 16);
	memcpy(m + 32, &local->port, 2);
	memcpy(m + 34, &remote->port, 2);
	m[36] = local->family;
	memcpy(m + 37, &extra, 8);
	return tcp_siphash(e->key, m, sizeof(m));
}

/* RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, key),
 * M a 4 µs timer: the caller's clock. */
uint32_t tcp_isn(const struct tcp_engine *e, const struct wire_ep *local,
		 const struct wire_ep *remote, tcp_time now)
{
	return (uint32_t)(now / 4) +
	       (uint32_t)tcp_tuple_hash(e, local, remote, 0);
}

/* SYN cookies: the ISN carries a keyed hash of the 4-tuple, the peer's ISN
 * and a 64 s counter, plus the MSS in its low 3 bits: the largest of the
 * table not above the peer's; the smallest is the engine's floor, so a
 * cookie sends no more than a connection with state would. State is created only
 * when the final ACK brings the cookie back (RFC 4987 §3.6). */
static const uint16_t cookie_mss[8] = {
	TCP_MIN_SND_MSS, 536, 1220, 1360, 1440, 1460, 4312, 8960};

/* The MSS index is hashed too, so that no other low bits pass. */
static uint32_t cookie_hash(const struct tcp_engine *e,
			    const struct wire_seg *s, uint32_t peer_isn,
			    uint64_t count, uint32_t idx)
{
	uint64_t x = (count << 35) ^ ((uint64_t)idx << 32) ^ peer_isn;

	return ((uint32_t)tcp_tuple_hash(e, &s->dst, &s->src, x) & ~7u) | idx;
}

uint32_t tcp_cookie_make(const struct tcp_engine *e, const struct wire_seg *syn,
			 uint16_t *mss, tcp_time now)
{
	uint16_t want = syn->opt.has_mss ? syn->opt.mss :
					   TCP_DEFAULT_MSS(syn->dst.family);
	uint16_t own = tcp_own_mss(e, syn->dst.family);
	uint32_t i = 7;

	if (want > own)
		want = own;
	while (i > 0 && cookie_mss[i] > want)
		i--;
	*mss = cookie_mss[i];
	return cookie_hash(e, syn, syn->seq, tcp_cookie_period(now), i);
}

uint32_t tcp_cookie_period(tcp_time now)
{
	return (uint32_t)(now / 64000000) + 1;
}

bool tcp_cookie_check(const struct tcp_engine *e, const struct wire_seg *ack,
		      uint16_t *mss, tcp_time now)
{
	uint32_t cookie = ack->ack - 1, peer_isn = ack->seq - 1;
	uint64_t count = tcp_cookie_period(now);
	int age;

	for (age = 0; age < 2 && count >= (uint64_t)age; age++) {
		if (cookie ==
		    cookie_hash(e, ack, peer_isn, count - age, cookie & 7)) {
			*mss = cookie_mss[cookie & 7];
			return true;
		}
	}
	return false;
}

/* With timestamps the SYN's other options survive too (the Linux way): the
 * low 6 bits of our TSval carry its window scale (15: none) and SACK-OK,
 * and the peer's TSecr brings them back. TSval never runs ahead of the
 * clock, or the peer's PAWS would drop what follows. */
#define COOKIE_TS_MASK 63u
#define COOKIE_NO_WS 15u
#define COOKIE_SACK 16u

uint32_t tcp_cookie_tsval(const struct wire_opts *syn, uint32_t ts_now)
{
	uint32_t bits = syn->has_ws ? (syn->ws > 14 ? 14 : syn->ws) :
				      COOKIE_NO_WS;
	uint32_t ts;

	bits |= syn->sack_ok ? COOKIE_SACK : 0;
	ts = (ts_now & ~COOKIE_TS_MASK) | bits;
	return SEQ_GT(ts, ts_now) ? ts - (COOKIE_TS_MASK + 1) : ts;
}

void tcp_cookie_opts(uint32_t tsecr, struct wire_opts *o)
{
	o->has_ws = (tsecr & COOKIE_NO_WS) != COOKIE_NO_WS;
	o->ws = tsecr & COOKIE_NO_WS;
	o->sack_ok = tsecr & COOKIE_SACK;
}
