/* Sequence intervals and the sender's SACK scoreboard (tcp_sack.c). */
#ifndef TCPFS_TCP_SACK_H
#define TCPFS_TCP_SACK_H

#include "tcp_sock.h"

/* Merge [LEFT, RIGHT) into V (sorted, *N of at most MAX); its index, or
 * -1 when there is no room. */
int tcp_ival_add(struct tcp_ival *v, int *n, int max, uint32_t left,
		 uint32_t right);
/* Forget everything of V below UPTO. */
void tcp_ival_trim(struct tcp_ival *v, int *n, uint32_t upto);
/* Take an ACK's SACK blocks into the scoreboard (impossible ones not). */
void tcp_sack_update(struct tcp_conn *c, const struct wire_opts *o);
/* SACKed bytes below BELOW. */
uint32_t tcp_sacked_bytes(const struct tcp_conn *c, uint32_t below);
/* Whether SEQ is SACKed; *END: where that run (or hole) ends. */
bool tcp_sack_is_sacked(const struct tcp_conn *c, uint32_t seq, uint32_t *end);
/* RFC 6675 SetPipe: bytes believed in the network. */
uint32_t tcp_pipe(const struct tcp_conn *c);
/* RFC 6675 NextSeg rule 1 (RFC 6582 without SACK): the next range to
 * resend in recovery; false when there is none. */
bool tcp_next_rxt(const struct tcp_conn *c, uint32_t *seq, uint32_t *len);
/* RFC 8985 §6.2: SACKed data lies above SND.UNA outside recovery. */
bool tcp_rack_hole(const struct tcp_conn *c);

#endif
