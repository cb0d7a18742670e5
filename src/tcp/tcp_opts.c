/* The handshake's options (RFC 9293 §3.7.1, RFC 7323, RFC 2018, RFC
 * 6691): what our SYN offers and our SYN,ACK answers (one builder, for
 * connections and SYN cookies alike), and what the peer's SYN leaves
 * us. */
#include "tcp_opts.h"
#include "tcp_isn.h"
#include "tcp_rx.h"

#define TS_OPT_LEN 12 /* TS option with its two NOPs (RFC 7323 App. A) */

/* The window scale that lets the largest receive buffer be announced. */
uint8_t tcp_wscale_for(uint32_t bytes)
{
	uint8_t ws = 0;

	while (ws < 14 && (bytes >> ws) > 65535)
		ws++;
	return ws;
}

/* Offer (SYN) or answer (SYN,ACK) with W: MSS always, the rest as
 * negotiated (RFC 7323 §1.3, RFC 2018 §2). */
void tcp_syn_opts(const struct tcp_synopt *w, struct wire_opts *o)
{
	o->has_mss = true;
	o->mss = w->mss;
	o->has_ws = w->ws;
	o->ws = w->wscale;
	o->sack_ok = w->sack;
	o->has_ts = w->ts;
}

/* Options of the peer's SYN or SYN,ACK (RFC 9293 §3.7.1, RFC 7323 §2-3,
 * RFC 2018 §2). What one side did not offer, neither uses. */
void tcp_take_syn_opts(struct tcp_engine *e, struct tcp_conn *c,
		       const struct wire_seg *s, tcp_time now)
{
	const struct wire_opts *o = &s->opt;
	/* RFC 9293 §3.7.1 (MUST-14, MUST-16): the peer's MSS bounds every
	 * segment, however small, down to TCP_MIN_SND_MSS; none: MUST-15. */
	uint16_t mss = !o->has_mss ? TCP_DEFAULT_MSS(c->local.family) :
		       o->mss < TCP_MIN_SND_MSS ? TCP_MIN_SND_MSS :
						  o->mss;
	uint16_t own = tcp_own_mss(e, c->local.family);

	c->ws_ok = o->has_ws;
	c->snd_wscale = c->ws_ok ? (o->ws > 14 ? 14 : o->ws) : 0;
	c->rcv_wscale = c->ws_ok ? tcp_wscale_for(e->cfg.rcvbuf_max) : 0;
	c->sack_ok = o->sack_ok;
	c->ts_ok = o->has_ts;
	if (c->ts_ok) {
		c->ts_recent = o->tsval;
		c->ts_recent_time = now;
	}
	/* RFC 6691: the MSS excludes options; leave room for timestamps. */
	c->mss = (mss < own ? mss : own) - (c->ts_ok ? TS_OPT_LEN : 0);
	tcp_mss_clamp(c); /* an ICMP error about our SYN said less */
	c->irs = s->seq;
	c->rcv_nxt = c->last_ack_sent = s->seq + 1; /* what we ACK first */
	tcp_rcv_wnd_field(c, true); /* our SYN's window, now from RCV.NXT */
}

/* RFC 1191 §5, RFC 8201 §5: no segment larger than the path MTU, headers
 * and timestamps included; the negotiated MSS is kept for when it ages
 * out (the first clamp keeps it: later ones only go lower). */
bool tcp_mss_clamp(struct tcp_conn *c)
{
	uint32_t hdr = (c->local.family == AF_INET6 ? 40u : 20u) + 20u +
		       (c->ts_ok ? TS_OPT_LEN : 0u);

	if (!c->pmtu || c->pmtu - hdr >= c->mss)
		return false;
	if (!c->mss_full)
		c->mss_full = c->mss;
	c->mss = (uint16_t)(c->pmtu - hdr);
	return true;
}

/* The options a SYN cookie carried in our TSval, back in the peer's TSecr
 * (tcp_cookie_tsval()); without timestamps a cookie keeps none. */
void tcp_take_cookie_opts(struct tcp_engine *e, struct tcp_conn *c,
			  const struct wire_seg *s, tcp_time now)
{
	struct wire_opts o;

	tcp_cookie_opts(s->opt.tsecr, &o);
	c->ts_ok = true;
	c->ts_recent = s->opt.tsval;
	c->ts_recent_time = now;
	c->mss -= TS_OPT_LEN;
	c->sack_ok = o.sack_ok;
	c->ws_ok = o.has_ws;
	c->snd_wscale = o.has_ws ? o.ws : 0;
	c->rcv_wscale = o.has_ws ? tcp_wscale_for(e->cfg.rcvbuf_max) : 0;
}
