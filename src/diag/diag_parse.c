/* Parsing sock_diag replies: pure functions over untrusted bytes. */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#include <libmnl/libmnl.h>

#include "tcpfs/diag.h"

/* Our bundled layout must agree with the installed header where they overlap. */
_Static_assert(offsetof(struct diag_tcp_info, rto) ==
		       offsetof(struct tcp_info, tcpi_rto),
	       "tcp_info layout");
_Static_assert(offsetof(struct diag_tcp_info, pacing_rate) ==
		       offsetof(struct tcp_info, tcpi_pacing_rate),
	       "tcp_info layout");
_Static_assert(offsetof(struct diag_tcp_info, snd_wnd) ==
		       offsetof(struct tcp_info, tcpi_snd_wnd),
	       "tcp_info layout");

static const char *const state_names[] = {
	[DIAG_TCP_ESTABLISHED] = "ESTABLISHED",
	[DIAG_TCP_SYN_SENT] = "SYN_SENT",
	[DIAG_TCP_SYN_RECV] = "SYN_RECEIVED",
	[DIAG_TCP_FIN_WAIT1] = "FIN_WAIT_1",
	[DIAG_TCP_FIN_WAIT2] = "FIN_WAIT_2",
	[DIAG_TCP_TIME_WAIT] = "TIME_WAIT",
	[DIAG_TCP_CLOSE] = "CLOSED",
	[DIAG_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	[DIAG_TCP_LAST_ACK] = "LAST_ACK",
	[DIAG_TCP_LISTEN] = "LISTEN",
	[DIAG_TCP_CLOSING] = "CLOSING",
	[DIAG_TCP_NEW_SYN_RECV] = "SYN_RECEIVED",
	/* bound but neither listening nor connected: RFC 9293 CLOSED */
	[DIAG_TCP_BOUND_INACTIVE] = "CLOSED",
};

const char *diag_state_name(uint8_t kstate)
{
	if (kstate < sizeof(state_names) / sizeof(state_names[0]) &&
	    state_names[kstate])
		return state_names[kstate];
	return "UNKNOWN";
}

static void parse_attr(const struct nlattr *a, struct diag_sock *s)
{
	uint16_t len = mnl_attr_get_payload_len(a);

	switch (mnl_attr_get_type(a)) {
	case INET_DIAG_INFO:
		/* The kernel's struct may be shorter or longer than ours:
		 * keep what fits and remember how much was real. */
		s->info_len = len < sizeof(s->info) ? len : sizeof(s->info);
		memcpy(&s->info, mnl_attr_get_payload(a), s->info_len);
		break;
	case INET_DIAG_CONG:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0 &&
		    len <= sizeof(s->cong))
			memcpy(s->cong, mnl_attr_get_str(a), len);
		break;
	case INET_DIAG_SHUTDOWN:
		if (len >= 1) {
			s->has_shutdown = true;
			s->shutdown = mnl_attr_get_u8(a) & 3;
		}
		break;
	}
}

static bool is_full_socket(const struct inet_diag_msg *m)
{
	/* a timewait mini-socket has timer 3, and says its substate: an
	 * orphan in FIN_WAIT_2 (tcp_fin_timeout) is one too */
	if (m->idiag_state == DIAG_TCP_TIME_WAIT ||
	    m->idiag_state == DIAG_TCP_NEW_SYN_RECV || m->idiag_timer == 3)
		return false;
	/* request sockets are reported as SYN_RECV with no inode */
	return !(m->idiag_state == DIAG_TCP_SYN_RECV && m->idiag_inode == 0);
}

int diag_parse(const void *buf, size_t len, struct diag_sock *s)
{
	const struct nlmsghdr *nlh = buf;

	if (len > INT32_MAX || !mnl_nlmsg_ok(nlh, (int)len) ||
	    (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY &&
	     nlh->nlmsg_type != TCPDIAG_GETSOCK) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct inet_diag_msg))
		return -EINVAL;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
		return -EINVAL;

	memset(s, 0, sizeof(*s));
	s->key.family = m->idiag_family;
	memcpy(s->key.src, m->id.idiag_src, 16);
	memcpy(s->key.dst, m->id.idiag_dst, 16);
	s->key.sport = ntohs(m->id.idiag_sport);
	s->key.dport = ntohs(m->id.idiag_dport);
	s->key.cookie = (uint64_t)m->id.idiag_cookie[1] << 32 |
			m->id.idiag_cookie[0];
	s->ifindex = m->id.idiag_if;
	s->kstate = m->idiag_state;
	s->timer = m->idiag_timer;
	s->retrans = m->idiag_retrans;
	s->expires_ms = m->idiag_expires;
	s->rqueue = m->idiag_rqueue;
	s->wqueue = m->idiag_wqueue;
	s->full = is_full_socket(m);
	if (s->full) {
		s->uid = m->idiag_uid;
		s->inode = m->idiag_inode;
	}

	const struct nlattr *a;
	size_t off = sizeof(*m);
	mnl_attr_for_each(a, nlh, off)
		parse_attr(a, s);
	/* mnl_attr_for_each stops at the first attribute that overruns: an
	 * unconsumed tail means the message lied about a length. */
	if ((const char *)a != (const char *)mnl_nlmsg_get_payload_tail(nlh))
		return -EINVAL;
	return 0;
}
