/* sock_diag replies: well-formed, truncated and hostile buffers. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>

#include "tcpfs/diag.h"

static char buf[4096] __attribute__((aligned(8)));

/* A reply for one socket, with no attributes yet. */
static struct nlmsghdr *reply(uint8_t family, uint8_t state, uint32_t inode)
{
	memset(buf, 0, sizeof(buf));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	struct inet_diag_msg *m = mnl_nlmsg_put_extra_header(nlh, sizeof(*m));
	m->idiag_family = family;
	m->idiag_state = state;
	m->idiag_uid = 1000;
	m->idiag_inode = inode;
	m->idiag_rqueue = 7;
	m->idiag_wqueue = 9;
	m->idiag_timer = 1;
	m->idiag_expires = 200;
	m->id.idiag_sport = htons(8080);
	m->id.idiag_dport = htons(51234);
	m->id.idiag_cookie[0] = 0x3a;
	m->id.idiag_cookie[1] = 0x1;
	inet_pton(AF_INET, "127.0.0.1", m->id.idiag_src);
	inet_pton(AF_INET, "198.18.0.2", m->id.idiag_dst);
	return nlh;
}

static void put_info(struct nlmsghdr *nlh, size_t len)
{
	char info[512] = {0};
	struct diag_tcp_info *i = (struct diag_tcp_info *)info;
	i->rtt = 260;
	i->snd_cwnd = 10;
	i->snd_wnd = 65536;
	i->rcv_wnd = 65483;
	mnl_attr_put(nlh, INET_DIAG_INFO, len, info);
}

static void test_full_socket(void **state)
{
	(void)state;
	struct nlmsghdr *nlh = reply(AF_INET, DIAG_TCP_ESTABLISHED, 4242);
	put_info(nlh, sizeof(struct diag_tcp_info));
	mnl_attr_put_strz(nlh, INET_DIAG_CONG, "cubic");
	mnl_attr_put_u8(nlh, INET_DIAG_SHUTDOWN, 2);
	struct diag_sock s;
	assert_int_equal(diag_parse(buf, nlh->nlmsg_len, &s), 0);
	assert_int_equal(s.key.family, AF_INET);
	assert_int_equal(s.key.sport, 8080);
	assert_int_equal(s.key.dport, 51234);
	assert_true(s.key.cookie == 0x10000003aULL);
	assert_true(s.full);
	assert_int_equal(s.uid, 1000);
	assert_int_equal(s.inode, 4242);
	assert_int_equal(s.rqueue, 7);
	assert_int_equal(s.wqueue, 9);
	assert_int_equal(s.info.rtt, 260);
	assert_true(diag_info_has(&s, rcv_wnd));
	assert_int_equal(s.info.rcv_wnd, 65483);
	assert_string_equal(s.cong, "cubic");
	assert_true(s.has_shutdown);
	assert_int_equal(s.shutdown, 2);
}

/* An older kernel's tcp_info ends before snd_wnd: those fields are absent. */
static void test_short_info(void **state)
{
	(void)state;
	struct nlmsghdr *nlh = reply(AF_INET, DIAG_TCP_ESTABLISHED, 1);
	put_info(nlh, offsetof(struct diag_tcp_info, snd_wnd));
	struct diag_sock s;
	assert_int_equal(diag_parse(buf, nlh->nlmsg_len, &s), 0);
	assert_true(diag_info_has(&s, rtt));
	assert_false(diag_info_has(&s, snd_wnd));
	assert_false(diag_info_has(&s, rcv_wnd));
}

/* A newer kernel's tcp_info is longer than ours: keep our part. */
static void test_long_info(void **state)
{
	(void)state;
	struct nlmsghdr *nlh = reply(AF_INET, DIAG_TCP_ESTABLISHED, 1);
	put_info(nlh, 400);
	struct diag_sock s;
	assert_int_equal(diag_parse(buf, nlh->nlmsg_len, &s), 0);
	assert_int_equal(s.info_len, sizeof(struct diag_tcp_info));
	assert_int_equal(s.info.snd_wnd, 65536);
}

static void test_time_wait_has_no_owner(void **state)
{
	(void)state;
	struct nlmsghdr *nlh = reply(AF_INET, DIAG_TCP_TIME_WAIT, 0);
	struct diag_sock s;
	assert_int_equal(diag_parse(buf, nlh->nlmsg_len, &s), 0);
	assert_false(s.full);
	assert_int_equal(s.uid, 0);
	assert_int_equal(s.info_len, 0);
	nlh = reply(AF_INET, DIAG_TCP_SYN_RECV, 0);
	assert_int_equal(diag_parse(buf, nlh->nlmsg_len, &s), 0);
	assert_false(s.full);
	nlh = reply(AF_INET, DIAG_TCP_SYN_RECV,
		    77); /* a full SYN_RECV socket */
	assert_int_equal(diag_parse(buf, nlh->nlmsg_len, &s), 0);
	assert_true(s.full);
	/* an orphan in FIN_WAIT_2, a timewait mini-socket (timer 3) */
	nlh = reply(AF_INET, DIAG_TCP_FIN_WAIT2, 0);
	((struct inet_diag_msg *)mnl_nlmsg_get_payload(nlh))->idiag_timer = 3;
	assert_int_equal(diag_parse(buf, nlh->nlmsg_len, &s), 0);
	assert_false(s.full);
	assert_int_equal(s.uid, 0);
	/* a full FIN_WAIT_2 socket (its timer: keepalive's) */
	nlh = reply(AF_INET, DIAG_TCP_FIN_WAIT2, 77);
	((struct inet_diag_msg *)mnl_nlmsg_get_payload(nlh))->idiag_timer = 2;
	assert_int_equal(diag_parse(buf, nlh->nlmsg_len, &s), 0);
	assert_true(s.full);
}

static void test_truncated(void **state)
{
	(void)state;
	struct diag_sock s;
	struct nlmsghdr *nlh = reply(AF_INET, DIAG_TCP_LISTEN, 1);
	uint32_t full = nlh->nlmsg_len;
	/* shorter than the buffer claims, shorter than a header, shorter
	 * than inet_diag_msg */
	assert_int_equal(diag_parse(buf, full - 1, &s), -EINVAL);
	assert_int_equal(diag_parse(buf, 8, &s), -EINVAL);
	assert_int_equal(diag_parse(buf, 0, &s), -EINVAL);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 10;
	assert_int_equal(diag_parse(buf, full, &s), -EINVAL);
}

static void test_hostile_attributes(void **state)
{
	(void)state;
	struct diag_sock s;
	struct nlmsghdr *nlh = reply(AF_INET, DIAG_TCP_ESTABLISHED, 1);
	put_info(nlh, 100);
	struct nlattr *a =
		(struct nlattr *)((char *)mnl_nlmsg_get_payload(nlh) +
				  sizeof(struct inet_diag_msg));
	a->nla_len = 2000; /* past the end of the message */
	assert_int_equal(diag_parse(buf, nlh->nlmsg_len, &s), -EINVAL);
	a->nla_len = 2; /* shorter than an attribute header */
	assert_int_equal(diag_parse(buf, nlh->nlmsg_len, &s), -EINVAL);

	/* a trailing fragment too short to be an attribute */
	nlh = reply(AF_INET, DIAG_TCP_ESTABLISHED, 1);
	nlh->nlmsg_len += 4;
	memset((char *)nlh + nlh->nlmsg_len - 4, 0xff, 4);
	assert_int_equal(diag_parse(buf, nlh->nlmsg_len, &s), -EINVAL);
}

static void test_cong_without_nul(void **state)
{
	(void)state;
	struct diag_sock s;
	struct nlmsghdr *nlh = reply(AF_INET, DIAG_TCP_ESTABLISHED, 1);
	mnl_attr_put(nlh, INET_DIAG_CONG, 5, "cubic");
	assert_int_equal(diag_parse(buf, nlh->nlmsg_len, &s), 0);
	assert_string_equal(s.cong, "");
	nlh = reply(AF_INET, DIAG_TCP_ESTABLISHED, 1);
	mnl_attr_put_strz(nlh, INET_DIAG_CONG, "a-name-longer-than-16");
	assert_int_equal(diag_parse(buf, nlh->nlmsg_len, &s), 0);
	assert_string_equal(s.cong, "");
}

static void test_wrong_type_or_family(void **state)
{
	(void)state;
	struct diag_sock s;
	struct nlmsghdr *nlh = reply(AF_UNIX, DIAG_TCP_ESTABLISHED, 1);
	assert_int_equal(diag_parse(buf, nlh->nlmsg_len, &s), -EINVAL);
	nlh = reply(AF_INET, DIAG_TCP_ESTABLISHED, 1);
	nlh->nlmsg_type = NLMSG_ERROR;
	assert_int_equal(diag_parse(buf, nlh->nlmsg_len, &s), -EINVAL);
}

/* The reply to the request for any family (TCPDIAG_GETSOCK, one walk of
 * the kernel's tables for a listing) is the same message by another type. */
static void test_any_family_reply(void **state)
{
	(void)state;
	struct diag_sock s;
	struct nlmsghdr *nlh = reply(AF_INET6, DIAG_TCP_LISTEN, 77);
	nlh->nlmsg_type = TCPDIAG_GETSOCK;
	assert_int_equal(diag_parse(buf, nlh->nlmsg_len, &s), 0);
	assert_int_equal(s.key.family, AF_INET6);
	assert_int_equal(s.kstate, DIAG_TCP_LISTEN);
	assert_int_equal(s.inode, 77);
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(diag_state_name(DIAG_TCP_ESTABLISHED),
			    "ESTABLISHED");
	assert_string_equal(diag_state_name(DIAG_TCP_SYN_RECV), "SYN_RECEIVED");
	assert_string_equal(diag_state_name(DIAG_TCP_NEW_SYN_RECV),
			    "SYN_RECEIVED");
	assert_string_equal(diag_state_name(DIAG_TCP_FIN_WAIT2), "FIN_WAIT_2");
	assert_string_equal(diag_state_name(DIAG_TCP_CLOSE), "CLOSED");
	assert_string_equal(diag_state_name(0), "UNKNOWN");
	assert_string_equal(diag_state_name(200), "UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_socket),
		cmocka_unit_test(test_short_info),
		cmocka_unit_test(test_long_info),
		cmocka_unit_test(test_time_wait_has_no_owner),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_hostile_attributes),
		cmocka_unit_test(test_cong_without_nul),
		cmocka_unit_test(test_wrong_type_or_family),
		cmocka_unit_test(test_any_family_reply),
		cmocka_unit_test(test_state_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
