/* ladder: the ladder diagrams of connections, compared byte for byte with
 * the files of tests/unit/ladder/. Two engines talk over memlink in
 * simulated time (5 ms each way) and the client's ladder is drawn from
 * both traces (ladder_from_tcp()); kernel sockets' records, which hold
 * states, resets and retransmissions only, are built by hand as khist
 * gives them. TCPFS_LADDER_UPDATE=1 writes the files instead (then look
 * at them before committing). */
#include "khist.h"
#include "tcp_harness.h"
#include "tcpfs/kinds.h"
#include "tcpfs/ladder.h"

#define TRACE_MAX 256

/* ---- two engines over memlink ---- */

struct duo {
	struct memlink *l;
	struct tcp_engine *e[2];
	tcp_time now;
	int id[2];     /* the connection of each side */
	int listener;  /* B's */
	int drop_syn;  /* SYNs from A that the link loses */
	int drop_seq;  /* segments from B with sequence space (data, SYN,
			  FIN) that the link loses */
	int hold_data; /* ... that it holds back behind the next packet */
	uint8_t *held; /* the one held back, HELD_LEN bytes */
	size_t held_len;
};

static void input_a(struct duo *d, const uint8_t *pkt, size_t len, uint64_t now)
{
	tcp_input(d->e[0], pkt, len, now);
	tcp_dispatch(d->e[0], now);
}

/* A's side of the link: loses B's first DROP_SEQ segments with sequence
 * space, then holds the next HOLD_DATA back, each until the packet after
 * it has passed. */
static void deliver_a(void *ctx, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct duo *d = ctx;
	struct wire_seg s;
	bool data = wire_parse(pkt, len, &s) == WIRE_OK &&
		    (s.len > 0 || (s.flags & (TCP_SYN | TCP_FIN)));
	if (data && d->drop_seq) {
		d->drop_seq--;
		return;
	}
	if (data && d->hold_data && !d->held) {
		d->hold_data--;
		d->held = malloc(len);
		assert_non_null(d->held);
		memcpy(d->held, pkt, len);
		d->held_len = len;
		return;
	}
	input_a(d, pkt, len, now);
	if (d->held) {
		input_a(d, d->held, d->held_len, now);
		free(d->held);
		d->held = NULL;
	}
}

/* B's side of the link: loses A's first DROP_SYN SYNs. */
static void deliver_b(void *ctx, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct duo *d = ctx;
	struct wire_seg s;
	if (d->drop_syn && wire_parse(pkt, len, &s) == WIRE_OK &&
	    (s.flags & TCP_SYN)) {
		d->drop_syn--;
		return;
	}
	tcp_input(d->e[1], pkt, len, now);
	tcp_dispatch(d->e[1], now);
}

static struct tcp_engine *engine(struct duo *d, enum memlink_side side)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.msl = SEC;
	cfg.key[0] = 11 + side;
	cfg.trace_len = TRACE_MAX;
	ep4(&cfg.addr4, side == MEMLINK_A ? 1 : 2, 0);
	cfg.output = memlink_output;
	cfg.ctx = memlink_port(d->l, side);
	struct tcp_engine *e = tcp_engine_new(&cfg);
	assert_non_null(e);
	memlink_attach(d->l, side, side == MEMLINK_A ? deliver_a : deliver_b,
		       d);
	return e;
}

/* Everything due until UNTIL, then the clock at UNTIL. */
static void run(struct duo *d, tcp_time until)
{
	for (int i = 0; i < 100000; i++) {
		tcp_time t = TCP_NEVER;
		for (int s = 0; s < 2; s++) {
			tcp_time n = tcp_dispatch(d->e[s], d->now);
			t = n < t ? n : t;
		}
		if (memlink_next(d->l) < t)
			t = memlink_next(d->l);
		if (t > until)
			break;
		d->now = t > d->now ? t : d->now;
		memlink_clock(d->l, d->now);
		memlink_run(d->l, d->now);
	}
	d->now = until;
	memlink_clock(d->l, d->now);
}

/* A (198.18.0.1) and B (198.18.0.2) on a link, the clock at 1 s; A's
 * first DROP_SYN SYNs are lost. */
static struct duo *duo_link(int drop_syn)
{
	struct impair_config imp = {.delay = 5 * MS};
	struct duo *d = calloc(1, sizeof(*d));
	assert_non_null(d);
	d->drop_syn = drop_syn;
	d->l = memlink_new(&imp, &imp, 1);
	assert_non_null(d->l);
	d->e[0] = engine(d, MEMLINK_A);
	d->e[1] = engine(d, MEMLINK_B);
	d->now = SEC;
	memlink_clock(d->l, d->now);
	return d;
}

/* Side S connects to the other's port PORT, from LPORT (0: any). */
static void duo_connect(struct duo *d, int s, uint16_t port, uint16_t lport)
{
	struct wire_ep rep;
	ep4(&rep, s ? 1 : 2, port);
	d->id[s] = tcp_open(d->e[s]);
	assert_int_equal(tcp_connect(d->e[s], (uint32_t)d->id[s], &rep, lport,
				     d->now),
			 0);
}

/* A connects to B's listener on 198.18.0.2:80 at time 1 s; A's first
 * DROP_SYN SYNs are lost. */
static struct duo *duo_new(int drop_syn)
{
	struct duo *d = duo_link(drop_syn);
	struct wire_ep lep = {.port = 80};
	d->listener = tcp_open(d->e[1]);
	assert_int_equal(tcp_listen(d->e[1], d->listener, &lep, 4), 0);
	duo_connect(d, 0, 80, 0);
	return d;
}

/* Both ends are in STATE. */
static void both_in(const struct duo *d, int state)
{
	assert_int_equal(tcp_state(d->e[0], d->id[0]), state);
	assert_int_equal(tcp_state(d->e[1], d->id[1]), state);
}

/* The handshake done, B's side accepted. */
static void duo_accept(struct duo *d, tcp_time until)
{
	run(d, until);
	d->id[1] = tcp_accept(d->e[1], d->listener);
	assert_true(d->id[1] > 0);
	both_in(d, TCP_ESTABLISHED);
}

static void duo_free(struct duo *d)
{
	tcp_engine_free(d->e[0]);
	tcp_engine_free(d->e[1]);
	memlink_free(d->l);
	free(d->held);
	free(d);
}

/* Side S's record, as the engine kind gives it. */
static void record(struct duo *d, int s, struct ladder_side *out)
{
	struct tcp_trace_ent *ent = calloc(TRACE_MAX, sizeof(*ent));
	struct tcp_info_snap i;
	uint64_t dropped = 0;
	uint32_t id = (uint32_t)d->id[s];
	assert_non_null(ent);
	assert_int_equal(tcp_info_get(d->e[s], id, &i), 0);
	int n = tcp_trace_get(d->e[s], id, ent, TRACE_MAX, &dropped);
	ladder_side_init(out);
	assert_int_equal(ladder_from_tcp(out, &i, ent, n,
					 tcp_trace_kept(d->e[s], id), dropped),
			 0);
	snprintf(out->label, sizeof(out->label), "engine/%u", id);
	free(ent);
}

/* ---- golden files ---- */

/* OUT must be the contents of tests/unit/ladder/NAME. */
static void golden(const char *name, const struct buf *out)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", LADDER_DIR, name);
	const char *update = getenv("TCPFS_LADDER_UPDATE");
	if (update && *update == '1') {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(out->p, 1, out->len, f), out->len);
		fclose(f);
		return;
	}
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	char *want = malloc(out->len + 2);
	assert_non_null(want);
	size_t n = fread(want, 1, out->len + 1, f);
	fclose(f);
	if (n != out->len || memcmp(want, out->p, n) != 0) {
		printf("# %s differs; the ladder drawn:\n%.*s", name,
		       (int)out->len, out->p);
		free(want);
		fail_msg("%s: not the ladder drawn", name);
	}
	free(want);
}

/* Every line of OUT's diagram takes at most WIDTH columns, and of its
 * header (up to the empty line; its fixed lines of prose are 80 wide) at
 * most that or 80. */
static void fits(const struct buf *out, unsigned width)
{
	const char *p = out->p, *body = memmem(p, out->len, "\n\n", 2);
	assert_non_null(body);
	for (unsigned n = 0; p < out->p + out->len; p++) {
		unsigned w = p < body && width < LADDER_WIDTH ? LADDER_WIDTH :
								width;
		n = *p == '\n' ? 0 : n + ((*p & 0xc0) != 0x80);
		if (n > w)
			fail_msg("a line is wider than %u columns:\n%.*s",
				 width, (int)out->len, out->p);
	}
}

/* A's ladder with B's record as the peer's, drawn in ST, against NAME. */
static void check_style(struct duo *d, const char *name,
			const struct ladder_style *st)
{
	struct ladder_side a, b;
	struct buf out = {0};
	record(d, 0, &a);
	record(d, 1, &b);
	assert_int_equal(ladder_render(&a, &b, st, &out), 0);
	fits(&out, st->width);
	golden(name, &out);
	buf_free(&out);
	ladder_side_free(&a);
	ladder_side_free(&b);
}

/* The same in the default style, or in ASCII. */
static void check_duo(struct duo *d, const char *name, bool ascii)
{
	struct ladder_style st;
	ladder_style_default(&st);
	st.ascii = ascii;
	check_style(d, name, &st);
}

/* ---- the engine's conversations ---- */

static void handshake(void **state)
{
	(void)state;
	struct duo *d = duo_new(0);
	duo_accept(d, SEC + 20 * MS);
	check_duo(d, "handshake.txt", false);
	check_duo(d, "handshake.ascii.txt", true);
	duo_free(d);
}

/* A sends 5 bytes and closes; B reads them, the EOF, and closes: A
 * ends in TIME_WAIT, then CLOSED 2 MSL (2 s) later. */
static void four_way_close(void **state)
{
	(void)state;
	char buf[16];
	struct duo *d = duo_new(0);
	duo_accept(d, SEC + 20 * MS);
	assert_int_equal(tcp_send(d->e[0], d->id[0], "hello", 5, d->now), 5);
	assert_int_equal(tcp_close(d->e[0], d->id[0], d->now), 0);
	run(d, SEC + 100 * MS);
	assert_int_equal(tcp_recv(d->e[1], d->id[1], buf, sizeof(buf), d->now),
			 5);
	assert_int_equal(tcp_recv(d->e[1], d->id[1], buf, sizeof(buf), d->now),
			 0);
	assert_int_equal(tcp_close(d->e[1], d->id[1], d->now), 0);
	run(d, SEC + 200 * MS);
	assert_int_equal(tcp_state(d->e[0], d->id[0]), TCP_TIME_WAIT);
	run(d, 4 * SEC);
	both_in(d, TCP_CLOSED);
	check_duo(d, "four_way_close.txt", false);
	/* 60 columns, the first and last 4 events: the labels wrap, a line
	 * says how many events are not shown */
	struct ladder_style st;
	ladder_style_default(&st);
	st.width = 60;
	st.head = st.tail = 4;
	check_style(d, "four_way_close.short.txt", &st);
	duo_free(d);
}

/* Both close at once: FINs cross, both go through CLOSING. */
static void simultaneous_close(void **state)
{
	(void)state;
	struct duo *d = duo_new(0);
	duo_accept(d, SEC + 20 * MS);
	assert_int_equal(tcp_close(d->e[0], d->id[0], d->now), 0);
	assert_int_equal(tcp_close(d->e[1], d->id[1], d->now), 0);
	run(d, SEC + 100 * MS);
	both_in(d, TCP_TIME_WAIT);
	check_duo(d, "simultaneous_close.txt", false);
	duo_free(d);
}

/* A aborts: its RST closes B. */
static void reset(void **state)
{
	(void)state;
	struct duo *d = duo_new(0);
	duo_accept(d, SEC + 20 * MS);
	assert_int_equal(tcp_abort(d->e[0], d->id[0], d->now), 0);
	run(d, SEC + 100 * MS);
	assert_int_equal(tcp_state(d->e[1], d->id[1]), TCP_CLOSED);
	check_duo(d, "reset.txt", false);
	check_duo(d, "reset.ascii.txt", true);
	duo_free(d);
}

/* A handshake over a link that loses A's first DROP_SYN SYNs and B's
 * first DROP_SYNACK SYN,ACKs, done by UNTIL: A's ladder against NAME. */
static void lossy_handshake(int drop_syn, int drop_synack, tcp_time until,
			    const char *name)
{
	struct duo *d = duo_new(drop_syn);
	d->drop_seq = drop_synack;
	duo_accept(d, until);
	check_duo(d, name, false);
	duo_free(d);
}

/* The link loses A's first SYN: A sends it again after its RTO (1 s). */
static void syn_retransmitted(void **state)
{
	(void)state;
	lossy_handshake(1, 0, 3 * SEC, "syn_retransmitted.txt");
}

/* The link loses B's SYN,ACK: the one B sends again is drawn as
 * retransmitted, though it answers a SYN (A's, sent again) too. */
static void synack_retransmitted(void **state)
{
	(void)state;
	lossy_handshake(0, 1, 4 * SEC, "synack_retransmitted.txt");
}

/* A (from port 1000) and B (from port 80) connect to each other at
 * once: the SYNs cross, each end answers the other's with a SYN,ACK
 * that resends its SYN's sequence number, and neither is a
 * retransmission. */
static void simultaneous_open(void **state)
{
	(void)state;
	struct duo *d = duo_link(0);
	for (int s = 0; s < 2; s++)
		duo_connect(d, s, s ? 1000 : 80, s ? 80 : 1000);
	run(d, SEC + 50 * MS);
	both_in(d, TCP_ESTABLISHED);
	check_duo(d, "simultaneous_open.txt", false);
	duo_free(d);
}

/* B sends A two full segments; the link holds the first back
 * behind the second: A receives them out of order, and neither is a
 * retransmission (B's record sent each once; without it, A's record
 * cannot tell). */
static void reordered(void **state)
{
	(void)state;
	struct duo *d = duo_new(0);
	struct ladder_side a;
	struct ladder_style st;
	struct buf out = {0};
	char buf[2 * 1448] = {0}; /* MSS 1460, less the timestamps */
	duo_accept(d, SEC + 20 * MS);
	d->hold_data = 1;
	assert_int_equal(tcp_send(d->e[1], d->id[1], buf, sizeof(buf), d->now),
			 sizeof(buf));
	run(d, SEC + 100 * MS);
	assert_int_equal(d->hold_data, 0);
	check_duo(d, "reordered.txt", false);
	record(d, 0, &a);
	ladder_style_default(&st);
	assert_int_equal(ladder_render(&a, NULL, &st, &out), 0);
	buf_add(&out, "", 1);
	assert_null(strstr(out.p, "retransmitted"));
	buf_free(&out);
	ladder_side_free(&a);
	duo_free(d);
}

/* The link loses B's first data segment; B sends it again: A's ladder
 * marks it from B's record, though A never saw the first. */
static void received_retransmitted(void **state)
{
	(void)state;
	struct duo *d = duo_new(0);
	duo_accept(d, SEC + 20 * MS);
	d->drop_seq = 1;
	assert_int_equal(tcp_send(d->e[1], d->id[1], "hello", 5, d->now), 5);
	run(d, 2 * SEC);
	assert_int_equal(d->drop_seq, 0);
	check_duo(d, "received_retransmitted.txt", false);
	duo_free(d);
}

/* ---- kernel sockets: records as khist keeps them ---- */

#define CLI_ISS 1000u
#define SRV_ISS 5000u
enum { UNA = KHIST_SND_UNA, NXT = KHIST_SND_NXT, RCV = KHIST_RCV_NXT };

/* 127.0.0.1:40000 -> 127.0.0.1:7001 (the client, cookie 0x11) or back
 * (the server, 0x12); PORTS false: not known yet (entering SYN_SENT). */
static struct diag_key kkey(bool server, bool ports)
{
	struct diag_key k = {.family = AF_INET, .cookie = server ? 0x12 : 0x11};
	k.src[0] = k.dst[0] = 127;
	k.src[3] = k.dst[3] = 1;
	if (ports) {
		k.sport = server ? 7001 : 40000;
		k.dport = server ? 40000 : 7001;
	}
	return k;
}

/* Socket SERVER's state FROM -> TO at US, with the variables of HAS. */
static void kstate(struct khist *h, bool server, uint64_t us, uint8_t from,
		   uint8_t to, uint32_t has, uint32_t una, uint32_t nxt,
		   uint32_t rcv)
{
	struct diag_key k = kkey(server, to != DIAG_TCP_SYN_SENT);
	struct khist_ent e = {.ts_ns = us * 1000,
			      .type = KHIST_STATE,
			      .from = from,
			      .to = to,
			      .has = has,
			      .snd_una = una,
			      .snd_nxt = nxt,
			      .rcv_nxt = rcv};
	if (to == DIAG_TCP_ESTABLISHED) {
		e.has |= KHIST_ISS | KHIST_IRS;
		e.iss = server ? SRV_ISS : CLI_ISS;
		e.irs = server ? CLI_ISS : SRV_ISS;
	}
	assert_non_null(khist_add(h, &k, &e));
}

/* A reset SERVER sent (OUT) or received at US. */
static void kreset(struct khist *h, bool server, uint64_t us, bool out)
{
	struct diag_key k = kkey(server, true);
	struct khist_ent e = {.ts_ns = us * 1000,
			      .type = out ? KHIST_RESET_SENT : KHIST_RESET_RECV,
			      .has = UNA | NXT | RCV,
			      .snd_una = server ? SRV_ISS + 1 : CLI_ISS + 1,
			      .snd_nxt = server ? SRV_ISS + 1 : CLI_ISS + 1,
			      .rcv_nxt = server ? CLI_ISS + 1 : SRV_ISS + 1};
	assert_non_null(khist_add(h, &k, &e));
}

/* [SEQ, END) retransmitted by the client at US. */
static void kretrans(struct khist *h, uint64_t us, uint32_t seq, uint32_t end)
{
	struct diag_key k = kkey(false, false);
	struct khist_ent e = {.ts_ns = us * 1000,
			      .type = KHIST_RETRANS,
			      .has = KHIST_SEQ,
			      .seq = seq,
			      .end_seq = end};
	assert_non_null(khist_add(h, &k, &e));
}

/* The handshake of a client and a server on loopback. */
static void khandshake(struct khist *h)
{
	kstate(h, false, 1000, DIAG_TCP_CLOSE, DIAG_TCP_SYN_SENT, UNA | NXT,
	       CLI_ISS, CLI_ISS, 0);
	kstate(h, false, 1060, DIAG_TCP_SYN_SENT, DIAG_TCP_ESTABLISHED,
	       UNA | NXT | RCV, CLI_ISS + 1, CLI_ISS + 1, SRV_ISS + 1);
	kstate(h, true, 1070, DIAG_TCP_SYN_RECV, DIAG_TCP_ESTABLISHED,
	       UNA | NXT | RCV, SRV_ISS + 1, SRV_ISS + 1, CLI_ISS + 1);
}

/* The client's ladder, beside the server's record if PEER. */
static void check_kernel(struct khist *h, bool peer, const char *name)
{
	struct ladder_side a, b;
	struct ladder_style st;
	struct buf out = {0};
	ladder_style_default(&st);
	ladder_side_init(&a);
	ladder_side_init(&b);
	struct khist_sock *cli = khist_get(h, 0x11);
	assert_non_null(cli);
	assert_int_equal(khist_ladder(cli, &a), 0);
	if (peer) {
		struct khist_sock *srv = khist_find(h, &a);
		assert_non_null(srv);
		assert_int_equal(srv->cookie, 0x12);
		assert_int_equal(khist_ladder(srv, &b), 0);
	}
	assert_int_equal(ladder_render(&a, peer ? &b : NULL, &st, &out), 0);
	fits(&out, st.width);
	golden(name, &out);
	buf_free(&out);
	ladder_side_free(&a);
	ladder_side_free(&b);
}

/* A kernel pair's active close: each side's states with the sequence
 * numbers recorded with them, no segment but what was recorded, no
 * "change" to the same state. */
static void kernel_close(void **state)
{
	(void)state;
	struct khist *h = khist_new(16);
	assert_non_null(h);
	khandshake(h);
	kstate(h, false, 2000, DIAG_TCP_ESTABLISHED, DIAG_TCP_FIN_WAIT1,
	       UNA | NXT | RCV, CLI_ISS + 1, CLI_ISS + 1, SRV_ISS + 1);
	kstate(h, true, 2030, DIAG_TCP_ESTABLISHED, DIAG_TCP_CLOSE_WAIT,
	       UNA | NXT | RCV, SRV_ISS + 1, SRV_ISS + 1, CLI_ISS + 2);
	kstate(h, false, 2050, DIAG_TCP_FIN_WAIT1, DIAG_TCP_FIN_WAIT2,
	       UNA | NXT | RCV, CLI_ISS + 2, CLI_ISS + 2, SRV_ISS + 1);
	kstate(h, true, 2400, DIAG_TCP_CLOSE_WAIT, DIAG_TCP_LAST_ACK,
	       UNA | NXT | RCV, SRV_ISS + 1, SRV_ISS + 1, CLI_ISS + 2);
	/* close() after shutdown(): the kernel says LAST_ACK again */
	kstate(h, true, 2420, DIAG_TCP_LAST_ACK, DIAG_TCP_LAST_ACK,
	       UNA | NXT | RCV, SRV_ISS + 1, SRV_ISS + 1, CLI_ISS + 2);
	kstate(h, false, 2450, DIAG_TCP_FIN_WAIT2, DIAG_TCP_TIME_WAIT,
	       UNA | NXT | RCV, CLI_ISS + 2, CLI_ISS + 2, SRV_ISS + 2);
	kstate(h, true, 2480, DIAG_TCP_LAST_ACK, DIAG_TCP_CLOSE,
	       UNA | NXT | RCV, SRV_ISS + 2, SRV_ISS + 2, CLI_ISS + 2);
	check_kernel(h, true, "kernel_close.txt");
	check_kernel(h, false, "kernel_close_alone.txt");
	khist_free(h);
}

/* The client resets: the RST is drawn once, from the record of the end
 * that sent it. */
static void kernel_reset(void **state)
{
	(void)state;
	struct khist *h = khist_new(16);
	assert_non_null(h);
	khandshake(h);
	kreset(h, false, 3000, true);
	kstate(h, false, 3000, DIAG_TCP_ESTABLISHED, DIAG_TCP_CLOSE, 0, 0, 0,
	       0);
	kreset(h, true, 3040, false);
	kstate(h, true, 3040, DIAG_TCP_ESTABLISHED, DIAG_TCP_CLOSE, 0, 0, 0, 0);
	check_kernel(h, true, "kernel_reset.txt");
	khist_free(h);
}

/* The client's SYN goes twice more: one retransmission line, counted,
 * named SYN since it is the ISN alone. */
static void kernel_syn_retransmitted(void **state)
{
	(void)state;
	struct khist *h = khist_new(16);
	assert_non_null(h);
	kstate(h, false, 1000, DIAG_TCP_CLOSE, DIAG_TCP_SYN_SENT, UNA | NXT,
	       CLI_ISS, CLI_ISS + 1, 0);
	kretrans(h, 1001000, CLI_ISS, CLI_ISS + 1);
	kretrans(h, 3001000, CLI_ISS, CLI_ISS + 1);
	kstate(h, false, 3001060, DIAG_TCP_SYN_SENT, DIAG_TCP_ESTABLISHED,
	       UNA | NXT | RCV, CLI_ISS + 1, CLI_ISS + 1, SRV_ISS + 1);
	check_kernel(h, false, "kernel_syn_retransmitted.txt");
	khist_free(h);
}

/* A kernel pair older than the mount, no ISN known: each end's variables
 * are absolute, ten digits each, and go on lines of their own under its
 * state, within 80 columns. */
static void kernel_wide_vars(void **state)
{
	(void)state;
	enum { ALL = UNA | NXT | RCV };
	struct khist *h = khist_new(16);
	assert_non_null(h);
	kstate(h, false, 2000, DIAG_TCP_ESTABLISHED, DIAG_TCP_FIN_WAIT1, ALL,
	       4000000001u, 4000000002u, 3000000001u);
	kstate(h, true, 2030, DIAG_TCP_ESTABLISHED, DIAG_TCP_CLOSE_WAIT, ALL,
	       3000000001u, 3000000001u, 4000000002u);
	kstate(h, false, 2050, DIAG_TCP_FIN_WAIT1, DIAG_TCP_FIN_WAIT2, ALL,
	       4000000002u, 4000000002u, 3000000001u);
	check_kernel(h, true, "kernel_wide_vars.txt");
	khist_free(h);
}

/* A socket older than the mount: no ISN, so its numbers are absolute;
 * and more entries than khist keeps: the lost ones are counted. */
static void kernel_old_socket(void **state)
{
	(void)state;
	struct khist *h = khist_new(16);
	assert_non_null(h);
	for (uint32_t i = 0; i < KHIST_DEPTH + 3; i++)
		kretrans(h, 1000 + i * 200000, 77000 + i * 100,
			 77100 + i * 100);
	struct diag_key k = kkey(false, true);
	struct khist_ent e = {.ts_ns = 9000000000ull,
			      .type = KHIST_STATE,
			      .from = DIAG_TCP_ESTABLISHED,
			      .to = DIAG_TCP_CLOSE,
			      .has = UNA,
			      .snd_una = 80000};
	assert_non_null(khist_add(h, &k, &e));
	check_kernel(h, false, "kernel_old_socket.txt");
	khist_free(h);
}

/* A record a little out of order (two CPUs' clock readings): an event
 * before the first drawn counts as time 0, the columns stay in place. */
static void unordered(void **state)
{
	(void)state;
	struct ladder_side a;
	struct ladder_style st;
	struct buf out = {0};
	ladder_style_default(&st);
	ladder_side_init(&a);
	ep4(&a.local, 1, 1000);
	ep4(&a.remote, 2, 80);
	uint64_t t[] = {5000000, 3000000, 2005000000};
	const char *to[] = {"SYN_SENT", "ESTABLISHED", "FIN_WAIT_1"};
	for (int i = 0; i < 3; i++) {
		struct ladder_ev *e = ladder_add(&a, LADDER_STATE);
		assert_non_null(e);
		e->t = t[i];
		e->from = i ? to[i - 1] : "CLOSED";
		e->to = to[i];
	}
	assert_int_equal(ladder_render(&a, NULL, &st, &out), 0);
	buf_add(&out, "", 1);
	assert_non_null(strstr(out.p, "\n0.000000     SYN_SENT │"));
	assert_non_null(strstr(out.p, "\n0.000000  ESTABLISHED │"));
	assert_non_null(strstr(out.p, "\n2.000000   FIN_WAIT_1 │"));
	buf_free(&out);
	ladder_side_free(&a);
}

/* The longest IPv6 addresses and an unknown ISN: the header's ISN goes on
 * a line of its own, within 80 columns. */
static void long_addresses(void **state)
{
	(void)state;
	static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34,
				       0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
				       0x12, 0x34, 0x56, 0x78};
	struct ladder_side a;
	struct ladder_style st;
	struct buf out = {0};
	ladder_style_default(&st);
	ladder_side_init(&a);
	a.local = a.remote =
		(struct wire_ep){.family = AF_INET6, .port = 65535};
	memcpy(a.local.a, a6, 16);
	memcpy(a.remote.a, a6, 16);
	a.remote.a[15] = 0x79;
	struct ladder_ev *e = ladder_add(&a, LADDER_STATE);
	assert_non_null(e);
	*e = (struct ladder_ev){
		.t = 1000, .from = "ESTABLISHED", .to = "FIN_WAIT_1"};
	assert_int_equal(ladder_render(&a, NULL, &st, &out), 0);
	fits(&out, st.width);
	buf_add(&out, "", 1);
	assert_non_null(strstr(out.p, "\n          ISN unknown: its numbers "
				      "are absolute\n"));
	buf_free(&out);
	ladder_side_free(&a);
}

/* A record of LOCAL and REMOTE that began at US0 and entered state TO at
 * US1. */
static void span_rec(struct ladder_side *r, const struct wire_ep *local,
		     const struct wire_ep *remote, uint64_t us0, uint64_t us1,
		     const char *to)
{
	ladder_side_init(r);
	r->local = *local;
	r->remote = *remote;
	struct ladder_ev *e = ladder_add(r, LADDER_STATE);
	assert_non_null(e);
	*e = (struct ladder_ev){
		.t = us0 * 1000, .from = "CLOSED", .to = "SYN_SENT"};
	assert_non_null(e = ladder_add(r, LADDER_STATE));
	*e = (struct ladder_ev){.t = us1 * 1000, .from = "SYN_SENT", .to = to};
}

/* The peer is found by its tuple, also when it is an IPv6 socket with
 * IPv4-mapped addresses, only when it lived at the same time as the
 * record: not when one closed before the other began. */
static void kernel_find(void **state)
{
	(void)state;
	struct khist *h = khist_new(16);
	assert_non_null(h);
	struct diag_key k = {
		.family = AF_INET6, .sport = 80, .dport = 5000, .cookie = 0x21};
	k.src[10] = k.src[11] = k.dst[10] = k.dst[11] = 0xff;
	k.src[12] = k.dst[12] = 198;
	k.src[13] = k.dst[13] = 18;
	k.src[15] = 2;
	k.dst[15] = 1;
	struct khist_ent e = {.ts_ns = 5000000,
			      .type = KHIST_STATE,
			      .from = DIAG_TCP_SYN_RECV,
			      .to = DIAG_TCP_ESTABLISHED};
	assert_non_null(khist_add(h, &k, &e));
	struct wire_ep me, peer;
	struct ladder_side r;
	ep4(&me, 1, 5000);
	ep4(&peer, 2, 80);
	span_rec(&r, &me, &peer, 1000, 2000, "ESTABLISHED"); /* lives on */
	assert_ptr_equal(khist_find(h, &r), khist_get(h, 0x21));
	ladder_side_free(&r);
	span_rec(&r, &me, &peer, 1000, 2000, "CLOSED"); /* before it */
	assert_null(khist_find(h, &r));
	ladder_side_free(&r);
	e.ts_ns = 6000000;
	e.from = DIAG_TCP_ESTABLISHED;
	e.to = DIAG_TCP_CLOSE;
	assert_non_null(khist_add(h, &k, &e));
	span_rec(&r, &me, &peer, 6000, 7000, "CLOSED"); /* overlapping */
	assert_ptr_equal(khist_find(h, &r), khist_get(h, 0x21));
	ladder_side_free(&r);
	span_rec(&r, &me, &peer, 6001, 7000, "ESTABLISHED"); /* after it */
	assert_null(khist_find(h, &r));
	ladder_side_free(&r);
	span_rec(&r, &peer, &me, 0, 9000, "CLOSED"); /* the other way */
	assert_null(khist_find(h, &r));
	ladder_side_free(&r);
	me.port = 5001;
	span_rec(&r, &me, &peer, 0, 9000, "CLOSED");
	assert_null(khist_find(h, &r));
	ladder_side_free(&r);
	khist_free(h);
}

/* The key of a kernel socket at the other end of record R. */
static struct diag_key peer_key(const struct ladder_side *r, uint64_t cookie)
{
	struct diag_key k = {.family = AF_INET,
			     .sport = r->remote.port,
			     .dport = r->local.port,
			     .cookie = cookie};
	memcpy(k.src, r->remote.a, 4);
	memcpy(k.dst, r->local.a, 4);
	return k;
}

/* Kernel socket K's state FROM -> TO at MS ms; into ESTABLISHED with
 * ISS and IRS. */
static void kto(struct khist *h, const struct diag_key *k, uint64_t ms,
		uint8_t from, uint8_t to, uint32_t iss, uint32_t irs)
{
	struct khist_ent e = {.ts_ns = ms * 1000000,
			      .type = KHIST_STATE,
			      .from = from,
			      .to = to};
	if (to == DIAG_TCP_ESTABLISHED) {
		e.has = KHIST_ISS | KHIST_IRS;
		e.iss = iss;
		e.irs = irs;
	}
	assert_non_null(khist_add(h, k, &e));
}

/* A tuple used twice: kernel socket 0x21 (ISS A's irs) answers A from 1.0
 * to 1.3 s, then 0x22 (ISS 900000) takes the tuple from 1.5 s on. A, in
 * TIME_WAIT, lives on into 0x22's time too: its peer is 0x21, whose ISN
 * is A's irs, though 0x22 is newer. Even drawn beside 0x22's record, A's
 * SYN,ACK is seq=0 by the ISN A's own record saw. */
static void kernel_reused_tuple(void **state)
{
	(void)state;
	struct duo *d = duo_new(0);
	struct ladder_side a, p;
	struct ladder_style st;
	duo_accept(d, SEC + 20 * MS);
	assert_int_equal(tcp_close(d->e[0], d->id[0], d->now), 0);
	assert_int_equal(tcp_close(d->e[1], d->id[1], d->now), 0);
	run(d, SEC + 300 * MS);
	assert_int_equal(tcp_state(d->e[0], d->id[0]), TCP_TIME_WAIT);
	record(d, 0, &a);
	struct khist *h = khist_new(16);
	assert_non_null(h);
	struct diag_key k1 = peer_key(&a, 0x21), k2 = peer_key(&a, 0x22);
	kto(h, &k1, 1015, DIAG_TCP_SYN_RECV, DIAG_TCP_ESTABLISHED, a.irs,
	    a.iss);
	kto(h, &k1, 1300, DIAG_TCP_LAST_ACK, DIAG_TCP_CLOSE, 0, 0);
	kto(h, &k2, 1500, DIAG_TCP_SYN_RECV, DIAG_TCP_ESTABLISHED, 900000, 5);
	struct khist_sock *peer = khist_find(h, &a);
	assert_non_null(peer);
	assert_int_equal(peer->cookie, 0x21);
	ladder_side_init(&p);
	assert_int_equal(khist_ladder(khist_get(h, 0x22), &p), 0);
	struct buf out = {0};
	ladder_style_default(&st);
	assert_int_equal(ladder_render(&a, &p, &st, &out), 0);
	buf_add(&out, "", 1);
	assert_non_null(strstr(out.p, " SYN,ACK seq=0 ack=1 "));
	buf_free(&out);
	ladder_side_free(&p);
	ladder_side_free(&a);
	khist_free(h);
	duo_free(d);
}

/* The record of kernel socket K (127.0.0.1, IPv4-mapped in IPv6 if
 * FAMILY is AF_INET6, ports SPORT and DPORT), established at 1 ms. */
static void kmapped(struct khist *h, int family, uint16_t sport, uint16_t dport,
		    uint64_t cookie, struct ladder_side *r)
{
	struct diag_key k = {.family = (uint8_t)family,
			     .sport = sport,
			     .dport = dport,
			     .cookie = cookie};
	const uint8_t lo[4] = {127, 0, 0, 1};
	size_t at = family == AF_INET6 ? 12 : 0;
	if (at)
		k.src[10] = k.src[11] = k.dst[10] = k.dst[11] = 0xff;
	memcpy(k.src + at, lo, 4);
	memcpy(k.dst + at, lo, 4);
	kto(h, &k, 1, DIAG_TCP_SYN_RECV, DIAG_TCP_ESTABLISHED, 0, 0);
	ladder_side_init(r);
	assert_int_equal(khist_ladder(khist_get(h, cookie), r), 0);
}

/* A dual-stack listener ([::]:7008) accepted an IPv4 client: the server
 * socket's addresses are IPv4-mapped, the client's IPv4. Each is the
 * other's peer, found either way (the kernel's khist_find(), the
 * engine's ladder_peer_of()). */
static void kernel_find_mapped(void **state)
{
	(void)state;
	struct khist *h = khist_new(16);
	struct ladder_side cli, srv;
	assert_non_null(h);
	kmapped(h, AF_INET, 40000, 7008, 0x31, &cli);
	kmapped(h, AF_INET6, 7008, 40000, 0x32, &srv);
	assert_ptr_equal(khist_find(h, &cli), khist_get(h, 0x32));
	assert_ptr_equal(khist_find(h, &srv), khist_get(h, 0x31));
	assert_true(ladder_peer_of(&cli, &srv.local, &srv.remote));
	assert_true(ladder_peer_of(&srv, &cli.local, &cli.remote));
	ladder_side_free(&cli);
	ladder_side_free(&srv);
	khist_free(h);
}

/* The line that says how many entries a record lost stays between the
 * lifelines: shortened (in ASCII, "..." takes three columns) or cut. */
static void gap_fits(void **state)
{
	(void)state;
	const struct {
		bool ascii;
		uint64_t lost;
		const char *line;
	} c[] = {
		{false, 12, "┆ … 12 entries of this end's record lost …  ┆"},
		{true, 12, ":   12 entries of this end's record lost    :"},
		{false, 123456789012,
		 "┆123456789012 entries of this end's record l┆"},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct ladder_side a;
		struct ladder_style st;
		struct buf out = {0};
		ladder_style_default(&st);
		st.ascii = c[i].ascii;
		struct wire_ep me, peer;
		ep4(&me, 1, 5000);
		ep4(&peer, 2, 80);
		span_rec(&a, &me, &peer, 0, 1000, "CLOSED");
		struct ladder_ev *e = ladder_add(&a, LADDER_GAP);
		assert_non_null(e);
		e->lost = c[i].lost;
		assert_int_equal(ladder_render(&a, NULL, &st, &out), 0);
		fits(&out, LADDER_WIDTH);
		buf_add(&out, "", 1);
		if (!strstr(out.p, c[i].line))
			fail_msg("no line %s in\n%s", c[i].line, out.p);
		buf_free(&out);
		ladder_side_free(&a);
	}
}

/* UTF-8 is the codeset the first of LC_ALL, LC_CTYPE, LANG set names. */
static void locale(void **state)
{
	(void)state;
	assert_true(ladder_utf8_locale(NULL, NULL, "en_US.UTF-8"));
	assert_true(ladder_utf8_locale("C.utf8", NULL, NULL));
	assert_true(ladder_utf8_locale("", "de_DE.utf-8@euro", "C"));
	assert_false(ladder_utf8_locale(NULL, NULL, NULL));
	assert_false(ladder_utf8_locale("C", NULL, "en_US.UTF-8"));
	assert_false(ladder_utf8_locale(NULL, "POSIX", NULL));
	assert_false(ladder_utf8_locale(NULL, NULL, "en_US.ISO-8859-1"));
	assert_false(ladder_utf8_locale(NULL, NULL, "en_US.UTF-16"));
}

/* An engine trace's losses become gaps where they were: a '#' entry in
 * the open, and the ring's, also when the ring kept nothing (a memory
 * cap stopped it from growing: every entry after the open dropped). */
static void trace_gaps(void **state)
{
	(void)state;
	struct tcp_trace_ent ent[3] = {{.t = 1, .dir = '>', .flags = TCP_SYN},
				       {.t = 2, .dir = '#', .len = 4},
				       {.t = 3, .dir = '>', .flags = TCP_SYN}};
	struct tcp_info_snap i = {.state = TCP_SYN_SENT, .iss = 1};
	struct ladder_side s;
	ladder_side_init(&s);
	assert_int_equal(ladder_from_tcp(&s, &i, ent, 3, 3, 9), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.ev[0].type, LADDER_SEG);
	assert_int_equal(s.ev[1].type, LADDER_GAP);
	assert_int_equal(s.ev[1].lost, 4);
	assert_int_equal(s.ev[2].type, LADDER_SEG);
	assert_int_equal(s.ev[3].type, LADDER_GAP);
	assert_int_equal(s.ev[3].lost, 9);
	ladder_side_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(handshake),
		cmocka_unit_test(four_way_close),
		cmocka_unit_test(simultaneous_close),
		cmocka_unit_test(reset),
		cmocka_unit_test(syn_retransmitted),
		cmocka_unit_test(simultaneous_open),
		cmocka_unit_test(synack_retransmitted),
		cmocka_unit_test(reordered),
		cmocka_unit_test(received_retransmitted),
		cmocka_unit_test(kernel_close),
		cmocka_unit_test(kernel_reset),
		cmocka_unit_test(kernel_syn_retransmitted),
		cmocka_unit_test(kernel_old_socket),
		cmocka_unit_test(kernel_wide_vars),
		cmocka_unit_test(kernel_find),
		cmocka_unit_test(kernel_reused_tuple),
		cmocka_unit_test(kernel_find_mapped),
		cmocka_unit_test(unordered),
		cmocka_unit_test(gap_fits),
		cmocka_unit_test(long_addresses),
		cmocka_unit_test(locale),
		cmocka_unit_test(trace_gaps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
