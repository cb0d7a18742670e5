/* Segments out (tcp_output.c). */
#ifndef TCPFS_TCP_OUTPUT_H
#define TCPFS_TCP_OUTPUT_H

#include "tcp_sock.h"

/* SEG.LEN: data plus one for each of SYN and FIN. */
uint32_t tcp_seg_len(const struct wire_seg *s);
/* The sequence number of our FIN (once queued). */
uint32_t tcp_fin_seq(const struct tcp_conn *c);
/* Whether the peer acknowledged our FIN. */
bool tcp_fin_acked(const struct tcp_conn *c);
/* SND.WND and its WL1/WL2 from segment S (§3.10.7.4 fifth). */
void tcp_take_window(struct tcp_conn *c, const struct wire_seg *s);
/* Build and send S, with no connection. */
void tcp_send_raw(struct tcp_engine *e, struct wire_seg *s);
/* The RST answering S for no connection (§3.10.7.1). */
void tcp_send_rst_reply(struct tcp_engine *e, const struct wire_seg *s);
/* A segment of C without data: SEQ, FLAGS (RST, SYN,ACK), at once. */
void tcp_send_ctl(struct tcp_engine *e, struct tcp_conn *c, uint32_t seq,
		  uint8_t flags, tcp_time now);
/* A pure ACK at once (seq SND.MAX). */
void tcp_send_ack(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
/* SYN (SYN-SENT) or SYN,ACK (SYN-RECEIVED), first or again; RTO armed. */
void tcp_send_syn(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
/* RFC 5961 §7: a challenge ACK unless over the rate; whether it went. */
bool tcp_challenge_ack(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
/* Send LEN sequence numbers at SEQ (data, FIN); how many went. */
uint32_t tcp_send_range(struct tcp_engine *e, struct tcp_conn *c, uint32_t seq,
			uint32_t len, tcp_time now);
/* Whether state ST sends data. */
bool tcp_can_send_data(enum tcp_state st);
/* Sequence numbers not yet sent from SND.NXT (data, 1 for a FIN). */
uint32_t tcp_unsent(const struct tcp_conn *c);
/* Room the peer's window leaves at SND.NXT. */
uint32_t tcp_wnd_room(const struct tcp_conn *c);
/* Whether the FIN queued goes with the LEN bytes sent from SND.NXT: they
 * are all the data left, and the peer's window has room for the FIN too
 * (a receiver with no window may drop it). */
bool tcp_fin_rides(const struct tcp_conn *c, uint32_t len);
/* Send what state, windows and queue allow, then an ACK owed; FORCE: the
 * SWS override (persist). tcp_output(): without FORCE. */
void tcp_output_force(struct tcp_engine *e, struct tcp_conn *c, bool force,
		      tcp_time now);
void tcp_output(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);
/* A zero-window or keepalive probe (seq SND.UNA - 1). */
void tcp_send_probe(struct tcp_engine *e, struct tcp_conn *c, tcp_time now);

#endif
