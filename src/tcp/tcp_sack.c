/* Sequence intervals and the sender's SACK scoreboard (RFC 2018), with
 * what recovery asks of it: the pipe and the next segment to resend (RFC
 * 6675, NewReno RFC 6582 without SACK), and RACK's view of a hole (RFC
 * 8985). */
#include <string.h>

#include "tcp_sack.h"

/* Merge [LEFT, RIGHT) into the sorted, disjoint V of *N (at most MAX);
 * the index of the interval now holding it, or -1 when there is no room. */
int tcp_ival_add(struct tcp_ival *v, int *n, int max, uint32_t left,
		 uint32_t right)
{
	int i = 0, j;

	while (i < *n && SEQ_LT(v[i].right, left))
		i++;
	for (j = i; j < *n && SEQ_LEQ(v[j].left, right); j++) {
		left = SEQ_MIN(left, v[j].left);
		right = SEQ_MAX(right, v[j].right);
	}
	if (j == i) {
		if (*n == max)
			return -1;
		memmove(&v[i + 1], &v[i], (size_t)(*n - i) * sizeof(*v));
		(*n)++;
	} else {
		memmove(&v[i + 1], &v[j], (size_t)(*n - j) * sizeof(*v));
		*n -= j - i - 1;
	}
	v[i].left = left;
	v[i].right = right;
	return i;
}

/* Forget everything below UPTO. */
void tcp_ival_trim(struct tcp_ival *v, int *n, uint32_t upto)
{
	int i = 0;

	while (i < *n && SEQ_LEQ(v[i].right, upto))
		i++;
	memmove(v, &v[i], (size_t)(*n - i) * sizeof(*v));
	*n -= i;
	if (*n && SEQ_LT(v[0].left, upto))
		v[0].left = upto;
}

/* Take the SACK blocks of an ACK, ignoring impossible ones (RFC 2018 §8
 * leaves validation to us: above SND.UNA, not beyond SND.MAX). */
void tcp_sack_update(struct tcp_conn *c, const struct wire_opts *o)
{
	int i;

	if (!c->sack_ok)
		return;
	for (i = 0; i < o->nsack; i++) {
		uint32_t l = o->sack[i].left, r = o->sack[i].right;

		if (!SEQ_LT(l, r) || SEQ_LEQ(r, c->snd_una) ||
		    SEQ_GT(r, c->snd_max))
			continue;
		tcp_ival_add(c->sacked, &c->nsacked, TCP_SACKED_MAX,
			     SEQ_MAX(l, c->snd_una), r);
	}
	tcp_ival_trim(c->sacked, &c->nsacked, c->snd_una);
}

/* Whether SEQ is SACKed; *END gets where that run (or the hole) ends. */
bool tcp_sack_is_sacked(const struct tcp_conn *c, uint32_t seq, uint32_t *end)
{
	int i;

	for (i = 0; i < c->nsacked; i++) {
		if (SEQ_LT(seq, c->sacked[i].left)) {
			*end = c->sacked[i].left;
			return false;
		}
		if (SEQ_LT(seq, c->sacked[i].right)) {
			*end = c->sacked[i].right;
			return true;
		}
	}
	*end = c->snd_max;
	return false;
}

static uint32_t tcp_sack_high(const struct tcp_conn *c)
{
	return c->nsacked ? c->sacked[c->nsacked - 1].right : c->snd_una;
}

/* SACKed bytes below BELOW. */
uint32_t tcp_sacked_bytes(const struct tcp_conn *c, uint32_t below)
{
	uint32_t sum = 0;
	int i;

	for (i = 0; i < c->nsacked && SEQ_LT(c->sacked[i].left, below); i++)
		sum += SEQ_MIN(c->sacked[i].right, below) - c->sacked[i].left;
	return sum;
}

/* RFC 6675 §4 SetPipe: bytes believed in the network. Outside recovery
 * everything sent, neither acknowledged nor SACKed; without SACK, less
 * limited transmit's share (RFC 3042: each of the first two duplicate
 * ACKs lets one more segment go).
 * In recovery, holes below the
 * highest SACK (or resent, RACK-TLP found losses without SACKs above)
 * are lost unless retransmitted; without SACK each duplicate ACK stands
 * for one segment that left (RFC 5681 §3.2 inflation). */
uint32_t tcp_pipe(const struct tcp_conn *c)
{
	uint32_t flight = c->snd_nxt - c->snd_una, high, rxt, gone;

	if (!c->in_recovery) {
		gone = c->nsacked ? tcp_sacked_bytes(c, c->snd_nxt) :
				    (c->dupacks < 2 ? c->dupacks : 2) * c->mss;
		return gone < flight ? flight - gone : 0;
	}
	if (c->sack_ok) { /* a resent hole counts once: as the resend */
		high = SEQ_MAX(tcp_sack_high(c), c->high_rxt);
		rxt = SEQ_GT(c->high_rxt, c->snd_una) ?
			      c->high_rxt - c->snd_una -
				      tcp_sacked_bytes(c, c->high_rxt) :
			      0;
		return c->snd_max - high + rxt;
	}
	gone = c->dupacks * c->mss;
	if (SEQ_GT(c->high_rxt, c->snd_una))
		flight += c->mss;
	return gone < flight ? flight - gone : 0;
}

/* RFC 6675 NextSeg() rule 1 with SACK, RFC 6582 without: the next range
 * to retransmit in recovery. */
bool tcp_next_rxt(const struct tcp_conn *c, uint32_t *seq, uint32_t *len)
{
	uint32_t s = SEQ_MAX(c->snd_una, c->high_rxt), high, end;

	if (!c->in_recovery)
		return false;
	high = c->sack_ok && c->nsacked ? tcp_sack_high(c) :
					  c->snd_una + (s == c->snd_una);
	while (SEQ_LT(s, high)) {
		if (!tcp_sack_is_sacked(c, s, &end)) {
			end = SEQ_MIN(end, c->snd_max);
			*seq = s;
			*len = end - s > c->mss ? c->mss : end - s;
			return *len > 0;
		}
		s = end;
	}
	return false;
}

/* RFC 8985 §6.2 for data sent once: SACKed data above SND.UNA went out
 * after the hole there (the sequence order is the sending order), so the
 * hole is lost after a reordering window; outside any recovery. */
bool tcp_rack_hole(const struct tcp_conn *c)
{
	return c->nsacked && !c->in_recovery && SEQ_GEQ(c->snd_una, c->recover);
}
