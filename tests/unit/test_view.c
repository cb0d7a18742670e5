/* What a kernel socket and an engine connection show: real values only,
 * units as documented. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "tcpfs/kbpf.h"
#include "tcpfs/kinds.h"
#include "tcpfs/view.h"

static struct diag_sock established(void)
{
	struct diag_sock s = {0};
	s.key.family = AF_INET6;
	inet_pton(AF_INET6, "::1", s.key.src);
	inet_pton(AF_INET6, "::1", s.key.dst);
	s.key.sport = 22;
	s.key.dport = 40000;
	s.key.cookie = 0xbeef;
	s.kstate = DIAG_TCP_ESTABLISHED;
	s.full = true;
	s.uid = 1000;
	s.inode = 555;
	s.timer = 2;
	s.expires_ms = 7200000;
	s.has_shutdown = true;
	s.shutdown = 1;
	strcpy(s.cong, "cubic");
	s.info_len = sizeof(s.info);
	s.info.options = 1 | 2 | 4;
	s.info.wscale = 7 | 9 << 4;
	s.info.rtt = 123;
	s.info.snd_cwnd = 10;
	s.info.snd_ssthresh = 0x7fffffff;
	s.info.min_rtt = 0xffffffff;
	s.info.pacing_rate = UINT64_MAX;
	s.info.bytes_acked = 5000000000ULL;
	return s;
}

/* A connection in its listener's accept queue is a full socket with no
 * inode yet (no file holds it): it has uid, not inode. */
static void test_not_accepted(void **state)
{
	(void)state;
	struct diag_sock s = established();
	struct view v;
	s.inode = 0;
	view_from_diag(&v, &s);
	assert_true(view_has(&v, VF_UID));
	assert_false(view_has(&v, VF_INODE));
}

static void test_established(void **state)
{
	(void)state;
	struct diag_sock s = established();
	struct view v;
	view_from_diag(&v, &s);
	assert_string_equal(v.val[VF_STATE], "ESTABLISHED");
	assert_string_equal(v.val[VF_LOCAL], "[::1]:22");
	assert_string_equal(v.val[VF_REMOTE], "[::1]:40000");
	assert_string_equal(v.val[VF_UID], "1000");
	assert_string_equal(v.val[VF_INODE], "555");
	assert_string_equal(v.val[VF_COOKIE], "beef");
	assert_string_equal(v.val[VF_TIMER], "keepalive 7200000");
	assert_string_equal(v.val[VF_SHUTDOWN], "read");
	assert_string_equal(v.val[VF_CONGESTION], "cubic");
	assert_string_equal(v.val[VF_OPTIONS], "timestamps sack wscale");
	assert_string_equal(v.val[VF_WSCALE], "7,9");
	assert_string_equal(v.val[VF_RTT], "123");
	assert_string_equal(v.val[VF_CWND], "10");
	assert_string_equal(v.val[VF_BYTES_ACKED], "5000000000");
	/* kernel sentinels are not values */
	assert_false(view_has(&v, VF_SSTHRESH));
	assert_false(view_has(&v, VF_MIN_RTT));
	assert_false(view_has(&v, VF_PACING_RATE));
}

/* A listener's tcp_info holds cwnd and pacing rate; the rest is zero fill. */
static void test_listener(void **state)
{
	(void)state;
	struct diag_sock s = established();
	s.kstate = DIAG_TCP_LISTEN;
	s.info.pacing_rate = 12345;
	struct view v;
	view_from_diag(&v, &s);
	assert_string_equal(v.val[VF_STATE], "LISTEN");
	assert_string_equal(v.val[VF_CWND], "10");
	assert_string_equal(v.val[VF_PACING_RATE], "12345");
	assert_string_equal(v.val[VF_UID], "1000");
	assert_false(view_has(&v, VF_RTT));
	assert_false(view_has(&v, VF_OPTIONS));
	assert_false(view_has(&v, VF_WSCALE));
	assert_false(view_has(&v, VF_BYTES_ACKED));
	assert_false(view_has(&v, VF_SND_WND));
}

static void test_time_wait(void **state)
{
	(void)state;
	struct diag_sock s = established();
	s.kstate = DIAG_TCP_TIME_WAIT;
	s.full = false;
	s.info_len = 0;
	s.has_shutdown = false;
	s.cong[0] = 0;
	s.timer = 3;
	s.expires_ms = 59000;
	struct view v;
	view_from_diag(&v, &s);
	assert_string_equal(v.val[VF_STATE], "TIME_WAIT");
	assert_string_equal(v.val[VF_TIMER], "timewait 59000");
	static const enum view_field absent[] = {
		VF_UID,	   VF_INODE, VF_RTT,	 VF_CWND,     VF_OPTIONS,
		VF_WSCALE, VF_RTO,   VF_SND_WND, VF_SHUTDOWN, VF_CONGESTION,
	};
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		if (view_has(&v, absent[i]))
			fail_msg("TIME_WAIT shows %s", view_name(absent[i]));
	assert_true(view_has(&v, VF_RECV_Q));
}

static void test_old_kernel_info(void **state)
{
	(void)state;
	struct diag_sock s = established();
	s.info_len = offsetof(struct diag_tcp_info, snd_wnd);
	struct view v;
	view_from_diag(&v, &s);
	assert_true(view_has(&v, VF_BYTES_RETRANS));
	assert_false(view_has(&v, VF_SND_WND));
	assert_false(view_has(&v, VF_RCV_WND));
}

/* kbpf's numbers join the view, each only where its has bit is set, and
 * the rest of the view stays. */
static void test_kseq(void **state)
{
	(void)state;
	struct diag_sock s = established();
	struct view v;
	view_from_diag(&v, &s);
	uint64_t before = v.have;
	struct kbpf_seq q = {
		.kind = KBPF_FULL,
		.has = KBPF_SND_UNA | KBPF_SND_NXT | KBPF_RCV_NXT |
		       KBPF_SND_WL1 | KBPF_WRITE_SEQ | KBPF_COPIED_SEQ,
		.snd_una = 1,
		.snd_nxt = 4294967295u,
		.rcv_nxt = 3,
		.snd_wl1 = 4,
		.write_seq = 5,
		.copied_seq = 6,
		.iss = 7,
		.irs = 8,
	};
	view_add_kseq(&v, &q);
	assert_string_equal(v.val[VF_SND_UNA], "1");
	assert_string_equal(v.val[VF_SND_NXT], "4294967295");
	assert_string_equal(v.val[VF_RCV_NXT], "3");
	assert_string_equal(v.val[VF_SND_WL1], "4");
	assert_string_equal(v.val[VF_WRITE_SEQ], "5");
	assert_string_equal(v.val[VF_COPIED_SEQ], "6");
	assert_false(view_has(&v, VF_ISS));
	assert_false(view_has(&v, VF_IRS));
	assert_false(view_has(&v, VF_SND_WL2));
	assert_int_equal(v.have & before, before);
	assert_string_equal(v.val[VF_STATE], "ESTABLISHED");

	/* a TIME_WAIT mini-socket: snd_nxt and rcv_nxt only */
	view_from_diag(&v, &s);
	q = (struct kbpf_seq){.kind = KBPF_TIMEWAIT,
			      .has = KBPF_SND_NXT | KBPF_RCV_NXT,
			      .snd_nxt = 10,
			      .rcv_nxt = 20,
			      .write_seq = 30};
	view_add_kseq(&v, &q);
	assert_int_equal(v.have & ~before,
			 UINT64_C(1) << VF_SND_NXT | UINT64_C(1) << VF_RCV_NXT);
	assert_string_equal(v.val[VF_SND_NXT], "10");
	assert_string_equal(v.val[VF_RCV_NXT], "20");

	/* a request socket: iss, irs, rcv_nxt */
	view_from_diag(&v, &s);
	q = (struct kbpf_seq){.kind = KBPF_REQUEST,
			      .has = KBPF_ISS | KBPF_IRS | KBPF_RCV_NXT,
			      .iss = 100,
			      .irs = 200,
			      .rcv_nxt = 201};
	view_add_kseq(&v, &q);
	assert_int_equal(v.have & ~before, UINT64_C(1) << VF_ISS |
						   UINT64_C(1) << VF_IRS |
						   UINT64_C(1) << VF_RCV_NXT);
	assert_string_equal(v.val[VF_ISS], "100");
	assert_string_equal(v.val[VF_IRS], "200");

	/* SYN_SENT: nothing received yet, nothing to expect */
	view_from_diag(&v, &s);
	q = (struct kbpf_seq){.kind = KBPF_FULL,
			      .state = DIAG_TCP_SYN_SENT,
			      .has = KBPF_ISS | KBPF_SND_UNA | KBPF_SND_NXT |
				     KBPF_RCV_NXT | KBPF_SND_WL1 |
				     KBPF_WRITE_SEQ | KBPF_COPIED_SEQ,
			      .iss = 5,
			      .snd_una = 5,
			      .snd_nxt = 6,
			      .write_seq = 6};
	view_add_kseq(&v, &q);
	assert_int_equal(v.have & ~before, UINT64_C(1) << VF_ISS |
						   UINT64_C(1) << VF_SND_UNA |
						   UINT64_C(1) << VF_SND_NXT |
						   UINT64_C(1) << VF_WRITE_SEQ);

	/* nothing */
	view_from_diag(&v, &s);
	q = (struct kbpf_seq){.has = 0, .snd_nxt = 1};
	view_add_kseq(&v, &q);
	assert_int_equal(v.have, before);
}

/* VIEW_FIELDS only grows at its end: a field's number is its file's inode
 * slot (files.h), which an upgrade must find where it was. These are the
 * fields in the order they came; a new one goes after the last. */
static void test_append_only(void **state)
{
	static const char *const came[] = {
		"state",	 "local",
		"remote",	 "uid",
		"inode",	 "cookie",
		"iss",		 "irs",
		"snd_una",	 "snd_nxt",
		"snd_wl1",	 "snd_wl2",
		"rcv_nxt",	 "write_seq",
		"copied_seq",	 "recv_q",
		"send_q",	 "timer",
		"retrans",	 "shutdown",
		"congestion",	 "options",
		"wscale",	 "mss",
		"snd_mss",	 "rcv_mss",
		"snd_wnd",	 "rcv_wnd",
		"rcv_space",	 "cwnd",
		"ssthresh",	 "rtt",
		"srtt",		 "rttvar",
		"min_rtt",	 "rto",
		"bytes_acked",	 "bytes_received",
		"bytes_sent",	 "bytes_retrans",
		"segs_in",	 "segs_out",
		"total_retrans", "delivery_rate",
		"pacing_rate",	 "urgent",
	};
	(void)state;
	assert_true(VF_COUNT >= sizeof(came) / sizeof(came[0]));
	for (size_t f = 0; f < sizeof(came) / sizeof(came[0]); f++)
		assert_string_equal(view_name((int)f), came[f]);
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(view_lookup("state"), VF_STATE);
	assert_int_equal(view_lookup("pacing_rate"), VF_PACING_RATE);
	assert_int_equal(view_lookup("nope"), -1);
	for (int f = 0; f < VF_COUNT; f++)
		assert_int_equal(view_lookup(view_name(f)), f);
}

/* An engine connection: its sequence numbers once it sent something, the
 * peer's once synchronized, and still after it closed (man: engine files;
 * the README reads iss, irs, snd_una and rcv_nxt after the close). */
static void test_engine_closed(void **state)
{
	(void)state;
	struct tcp_info_snap i = {.state = TCP_CLOSED, .cc = "cubic"};
	struct view v;
	/* a fresh clone: nothing sent, no numbers */
	view_from_tcp(&v, &i, 1000);
	assert_string_equal(v.val[VF_STATE], "CLOSED");
	assert_false(view_has(&v, VF_ISS));
	assert_false(view_has(&v, VF_IRS));
	/* a connect refused in SYN_SENT: its own numbers only */
	i.iss = 100;
	i.snd_una = i.snd_nxt = 101;
	view_from_tcp(&v, &i, 1000);
	assert_string_equal(v.val[VF_ISS], "100");
	assert_false(view_has(&v, VF_IRS));
	assert_false(view_has(&v, VF_RCV_NXT));
	/* closed after the handshake: the peer's too */
	i.irs = 500;
	i.rcv_nxt = 502;
	view_from_tcp(&v, &i, 1000);
	assert_string_equal(v.val[VF_ISS], "100");
	assert_string_equal(v.val[VF_IRS], "500");
	assert_string_equal(v.val[VF_RCV_NXT], "502");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_established),
		cmocka_unit_test(test_not_accepted),
		cmocka_unit_test(test_listener),
		cmocka_unit_test(test_time_wait),
		cmocka_unit_test(test_old_kernel_info),
		cmocka_unit_test(test_kseq),
		cmocka_unit_test(test_engine_closed),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_append_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
