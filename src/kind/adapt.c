/* The kinds' adapters to the view: the kernel's socket, the engine's
 * connection, each as the one-value files show them; and the engine's
 * trace as a ladder's record. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "sockname.h"
#include "tcpfs/kbpf.h" /* the struct only: no libbpf needed */
#include "tcpfs/kinds.h"
#include "tcpfs/ladder.h"

/* idiag_timer values, as ss names them */
static const char *const timer_names[] = {"off", "on", "keepalive", "timewait",
					  "persist"};
static const char *const shutdown_names[] = {"none", "read", "write", "both"};

static void set_options(struct view *v, uint8_t o)
{
	static const char *const words[] = {
		"timestamps", "sack", "wscale", "ecn", "ecn_seen", "syn_data"};
	char s[VIEW_VAL_MAX] = "";

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (o & (1u << i))
			snprintf(s + strlen(s), sizeof(s) - strlen(s), "%s%s",
				 *s ? " " : "", words[i]);
	view_set(v, VF_OPTIONS, "%s", *s ? s : "none");
}

/* Kernel sentinels meaning "no value": never shown as numbers. */
#define INFINITE_SSTHRESH 0x7fffffffu
#define NO_MIN_RTT 0xffffffffu
#define NO_PACING_RATE UINT64_MAX

#define SET_INFO(v, s, F, field, fmt)                                          \
	do {                                                                   \
		if (diag_info_has(s, field))                                   \
			view_set(v, F, fmt, (s)->info.field);                  \
	} while (0)

static void set_pacing(struct view *v, const struct diag_sock *s)
{
	SET_INFO(v, s, VF_CWND, snd_cwnd, "%u");
	if (diag_info_has(s, pacing_rate) &&
	    s->info.pacing_rate != NO_PACING_RATE)
		view_set(v, VF_PACING_RATE, "%llu",
			 (unsigned long long)s->info.pacing_rate);
}

static void set_tcp_info(struct view *v, const struct diag_sock *s)
{
	const struct diag_tcp_info *i = &s->info;

	set_pacing(v, s);
	/* tcp_get_info() stops after cwnd and the pacing rates for a
	 * listener: the rest of its tcp_info is zero fill, not values. */
	if (s->kstate == DIAG_TCP_LISTEN)
		return;
	if (diag_info_has(s, options)) {
		set_options(v, i->options);
		if (i->options & 4) /* TCPI_OPT_WSCALE */
			view_set(v, VF_WSCALE, "%u,%u", i->wscale & 15,
				 i->wscale >> 4);
	}
	SET_INFO(v, s, VF_SND_MSS, snd_mss, "%u");
	SET_INFO(v, s, VF_RCV_MSS, rcv_mss, "%u");
	SET_INFO(v, s, VF_SND_WND, snd_wnd, "%u");
	SET_INFO(v, s, VF_RCV_WND, rcv_wnd, "%u");
	SET_INFO(v, s, VF_RCV_SPACE, rcv_space, "%u");
	if (diag_info_has(s, snd_ssthresh) &&
	    i->snd_ssthresh < INFINITE_SSTHRESH)
		view_set(v, VF_SSTHRESH, "%u", i->snd_ssthresh);
	SET_INFO(v, s, VF_RTT, rtt, "%u");
	SET_INFO(v, s, VF_RTTVAR, rttvar, "%u");
	if (diag_info_has(s, min_rtt) && i->min_rtt != NO_MIN_RTT)
		view_set(v, VF_MIN_RTT, "%u", i->min_rtt);
	SET_INFO(v, s, VF_RTO, rto, "%u");
	SET_INFO(v, s, VF_BYTES_ACKED, bytes_acked, "%" PRIu64);
	SET_INFO(v, s, VF_BYTES_RECEIVED, bytes_received, "%" PRIu64);
	SET_INFO(v, s, VF_BYTES_SENT, bytes_sent, "%" PRIu64);
	SET_INFO(v, s, VF_BYTES_RETRANS, bytes_retrans, "%" PRIu64);
	SET_INFO(v, s, VF_SEGS_IN, segs_in, "%u");
	SET_INFO(v, s, VF_SEGS_OUT, segs_out, "%u");
	SET_INFO(v, s, VF_TOTAL_RETRANS, total_retrans, "%u");
	SET_INFO(v, s, VF_DELIVERY_RATE, delivery_rate, "%" PRIu64);
}

void view_from_diag(struct view *v, const struct diag_sock *s)
{
	char a[SOCKNAME_ADDR_MAX];

	v->have = 0;
	view_set(v, VF_STATE, "%s", diag_state_name(s->kstate));
	sockname_addr(a, s->key.family, s->key.src, s->key.sport);
	view_set(v, VF_LOCAL, "%s", a);
	sockname_addr(a, s->key.family, s->key.dst, s->key.dport);
	view_set(v, VF_REMOTE, "%s", a);
	if (s->full)
		view_set(v, VF_UID, "%u", s->uid);
	if (s->full && s->inode) /* none until accepted */
		view_set(v, VF_INODE, "%u", s->inode);
	view_set(v, VF_COOKIE, "%llx", (unsigned long long)s->key.cookie);
	view_set(v, VF_RECV_Q, "%u", s->rqueue);
	view_set(v, VF_SEND_Q, "%u", s->wqueue);
	if (s->timer == 0)
		view_set(v, VF_TIMER, "off");
	else if (s->timer < sizeof(timer_names) / sizeof(timer_names[0]))
		view_set(v, VF_TIMER, "%s %u", timer_names[s->timer],
			 s->expires_ms);
	view_set(v, VF_RETRANS, "%u", s->retrans);
	if (s->has_shutdown)
		view_set(v, VF_SHUTDOWN, "%s", shutdown_names[s->shutdown & 3]);
	if (s->cong[0])
		view_set(v, VF_CONGESTION, "%s", s->cong);
	if (s->info_len)
		set_tcp_info(v, s);
}

void view_add_kseq(struct view *v, const struct kbpf_seq *q)
{
	static const struct {
		uint32_t bit;
		enum view_field f;
		size_t off; /* in struct kbpf_seq */
	} seqs[] = {
#define SEQ(bit, f, field) {bit, f, offsetof(struct kbpf_seq, field)}
		SEQ(KBPF_ISS, VF_ISS, iss),
		SEQ(KBPF_IRS, VF_IRS, irs),
		SEQ(KBPF_SND_UNA, VF_SND_UNA, snd_una),
		SEQ(KBPF_SND_NXT, VF_SND_NXT, snd_nxt),
		SEQ(KBPF_SND_WL1, VF_SND_WL1, snd_wl1),
		SEQ(KBPF_RCV_NXT, VF_RCV_NXT, rcv_nxt),
		SEQ(KBPF_WRITE_SEQ, VF_WRITE_SEQ, write_seq),
		SEQ(KBPF_COPIED_SEQ, VF_COPIED_SEQ, copied_seq),
#undef SEQ
	};

	uint32_t has = q->has;
	/* before the peer's SYN, what it is to send is not known yet: like
	 * the engine's, these wait for the connection to be synchronized */
	if (q->state == DIAG_TCP_SYN_SENT)
		has &= ~(uint32_t)(KBPF_RCV_NXT | KBPF_SND_WL1 |
				   KBPF_COPIED_SEQ);
	for (size_t k = 0; k < sizeof(seqs) / sizeof(seqs[0]); k++) {
		uint32_t x;
		if (!(has & seqs[k].bit))
			continue;
		memcpy(&x, (const char *)q + seqs[k].off, sizeof(x));
		view_set(v, seqs[k].f, "%u", x);
	}
}

/* Segments of MSS bytes in BYTES, as the kernel counts cwnd. */
static unsigned segments(uint32_t bytes, uint16_t mss)
{
	return mss ? bytes / mss : bytes;
}

static void set_engine_options(struct view *v, const struct tcp_info_snap *i)
{
	/* the bits of set_options(): timestamps 1, sack 2, wscale 4 */
	bool ws = i->snd_wscale || i->rcv_wscale;
	set_options(v, (uint8_t)(i->ts_ok | i->sack_ok << 1 | ws << 2));
	if (ws)
		view_set(v, VF_WSCALE, "%u,%u", i->snd_wscale, i->rcv_wscale);
}

/* The engine's 32-bit numbers, each shown as the file of its meaning: once
 * it sent something, and once it is synchronized. */
struct u32_field {
	enum view_field f;
	size_t off; /* in struct tcp_info_snap */
};
#define U32(f, field)                                                          \
	{                                                                      \
		f, offsetof(struct tcp_info_snap, field)                       \
	}
static const struct u32_field sent_u32[] = {
	U32(VF_ISS, iss),	  U32(VF_SND_UNA, snd_una),
	U32(VF_SND_NXT, snd_nxt), U32(VF_RECV_Q, recv_q),
	U32(VF_SEND_Q, send_q),
};
static const struct u32_field synced_u32[] = {
	U32(VF_IRS, irs),	  U32(VF_RCV_NXT, rcv_nxt),
	U32(VF_RCV_WND, rcv_wnd), U32(VF_SND_WND, snd_wnd),
	U32(VF_SND_WL1, snd_wl1), U32(VF_SND_WL2, snd_wl2),
};
#undef U32

static void set_u32s(struct view *v, const struct tcp_info_snap *i,
		     const struct u32_field *t, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		uint32_t x;
		memcpy(&x, (const char *)i + t[k].off, sizeof(x));
		view_set(v, t[k].f, "%u", x);
	}
}

void view_from_tcp(struct view *v, const struct tcp_info_snap *i, uid_t owner)
{
	char a[SOCKNAME_ADDR_MAX];
	bool synced = i->state >= TCP_SYN_RECEIVED ||
		      (i->state == TCP_CLOSED && i->irs);

	v->have = 0;
	view_set(v, VF_STATE, "%s", tcp_state_name(i->state));
	if (i->local.family) {
		wire_ep_format(&i->local, a, sizeof(a));
		view_set(v, VF_LOCAL, "%s", a);
	} else if (i->local.port) { /* a listener on every address */
		view_set(v, VF_LOCAL, "*:%u", i->local.port);
	}
	if (i->remote.family) {
		wire_ep_format(&i->remote, a, sizeof(a));
		view_set(v, VF_REMOTE, "%s", a);
	}
	view_set(v, VF_UID, "%u", (unsigned)owner);
	view_set(v, VF_URGENT, "%u", i->urgent); /* RFC 9293 MUST-33 */
	if (i->listener || (i->state == TCP_CLOSED && !i->iss))
		return; /* nothing sent or received: no numbers to show */
	set_u32s(v, i, sent_u32, sizeof(sent_u32) / sizeof(sent_u32[0]));
	view_set(v, VF_MSS, "%u", i->mss);
	view_set(v, VF_SND_MSS, "%u", i->mss);
	view_set(v, VF_CWND, "%u", segments(i->cwnd, i->mss));
	if (i->ssthresh < INFINITE_SSTHRESH)
		view_set(v, VF_SSTHRESH, "%u", segments(i->ssthresh, i->mss));
	view_set(v, VF_RTO, "%llu", (unsigned long long)i->rto);
	view_set(v, VF_CONGESTION, "%s", i->cc);
	view_set(v, VF_SEGS_IN, "%" PRIu64, i->segs_in);
	view_set(v, VF_SEGS_OUT, "%" PRIu64, i->segs_out);
	view_set(v, VF_BYTES_SENT, "%" PRIu64, i->bytes_out);
	view_set(v, VF_BYTES_RECEIVED, "%" PRIu64, i->bytes_in);
	view_set(v, VF_TOTAL_RETRANS, "%" PRIu64, i->retrans_segs);
	if (!synced)
		return;
	set_u32s(v, i, synced_u32, sizeof(synced_u32) / sizeof(synced_u32[0]));
	set_engine_options(v, i);
	if (i->srtt) {
		view_set(v, VF_RTT, "%llu", (unsigned long long)i->srtt);
		view_set(v, VF_SRTT, "%llu", (unsigned long long)i->srtt);
		view_set(v, VF_RTTVAR, "%llu", (unsigned long long)i->rttvar);
	}
}

/* A trace entry as a ladder event; sent and received windows scaled by
 * the shift each end announced (never a SYN's). */
static void ladder_ent(struct ladder_ev *ev, const struct tcp_info_snap *i,
		       const struct tcp_trace_ent *t)
{
	ev->t = t->t * 1000;
	if (t->dir == '*') {
		ev->from = tcp_state_name(t->from);
		ev->to = tcp_state_name(t->to);
		return;
	}
	unsigned shift = t->dir == '>' ? i->rcv_wscale : i->snd_wscale;
	ev->out = t->dir == '>';
	ev->flags = t->flags;
	ev->has = LADDER_FLAGS | LADDER_SEQ | LADDER_WIN | LADDER_LEN |
		  LADDER_OPTS | (t->flags & TCP_ACK ? LADDER_ACK : 0);
	ev->seq = t->seq;
	ev->ack = t->ack;
	ev->win = t->flags & TCP_SYN ? t->wnd : t->wnd << shift;
	ev->len = t->len;
	ev->opt = t->opt;
}

/* A gap in S's record at T (microseconds): LOST entries dropped. */
static void add_gap(struct ladder_side *s, tcp_time t, uint64_t lost)
{
	struct ladder_ev *ev = ladder_add(s, LADDER_GAP);
	if (ev) {
		ev->t = t * 1000;
		ev->lost = lost;
	}
}

int ladder_from_tcp(struct ladder_side *s, const struct tcp_info_snap *i,
		    const struct tcp_trace_ent *ent, int n, unsigned kept,
		    uint64_t dropped)
{
	s->local = i->local;
	s->remote = i->remote;
	s->full = true;
	s->has_iss = !i->listener && (i->state != TCP_CLOSED || i->iss);
	s->iss = i->iss;
	s->has_irs = i->state >= TCP_SYN_RECEIVED ||
		     (i->state == TCP_CLOSED && i->irs);
	s->irs = i->irs;
	for (int k = 0; k <= n; k++) {
		if ((unsigned)k == kept && dropped) /* at the next entry */
			add_gap(s,
				k < n ? ent[k].t :
				n     ? ent[n - 1].t :
					0,
				dropped);
		if (k == n)
			break;
		if (ent[k].dir == '#') {
			add_gap(s, ent[k].t, ent[k].len);
			continue;
		}
		struct ladder_ev *ev = ladder_add(
			s, ent[k].dir == '*' ? LADDER_STATE : LADDER_SEG);
		if (ev)
			ladder_ent(ev, i, &ent[k]);
	}
	return s->oom ? -ENOMEM : 0;
}
