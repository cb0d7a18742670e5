/* Loss recovery on the sender's side (tcp_recovery.c). */
#ifndef TCPFS_TCP_RECOVERY_H
#define TCPFS_TCP_RECOVERY_H

#include "tcp_sock.h"

/* Enter fast recovery: the congestion response, resend from SND.UNA (the
 * retransmission timer restarted). */
void tcp_recovery_start(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
/* SACKed bytes sent after the latest resend of SND.UNA's hole in the
 * go-back-N after an RTO (0 outside it): before an ACK's SACKs. */
uint32_t tcp_rto_sacked_after(const struct tcp_conn *c);
/* After ACK S's SACKs: if they grew BEFORE and the hole stays, its resend
 * was lost: resend it (at the next output). */
void tcp_rto_rxt_lost(struct tcp_conn *c, const struct wire_seg *s,
		      uint32_t before);
/* RFC 8985 §7.4: the ACK S of a tail loss probe, FLIGHT bytes in flight
 * before it. */
void tcp_tlp_acked(struct tcp_conn *c, const struct wire_seg *s,
		   uint32_t flight, tcp_time now);
/* After an ACK: lost resends, and whether fast recovery starts. */
void tcp_loss_detect(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
/* RFC 8985 §7.3: send the tail loss probe. */
void tcp_send_tlp(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
/* The probe timer ran out: recovery for a hole, else the probe. */
void tcp_pto_timeout(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);

#endif
