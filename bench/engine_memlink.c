/* bench/engine_memlink.c: the engine against itself over memlink, without
 * a network or a clock (issue 3's benchmark).
 *
 *  1. bulk throughput: payload bytes per CPU second, at MSS 1460 (MTU
 *     1500) and 64960 (MTU 65000), both engines and the link in this one
 *     thread, so that every byte is sent and received on the same CPU;
 *  2. handshakes + closes per CPU second, one connection at a time;
 *  3. heap per idle (ESTABLISHED, no data) connection with 100k open,
 *     from mallinfo2() (each side's connection counts once);
 *  4. goodput under loss (0, 1, 5, 10 %) and RTT (0.1, 10, 100 ms) in
 *     simulated time: 16 MiB transfers (from the SYN), the median of five
 *     link seeds.
 *
 * usage: engine_memlink [TABLE_FILE]   (the goodput table also goes there)
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "tcpfs/link.h"
#include "tcpfs/tcp.h"

#define SEC 1000000ull
#define MS 1000ull
#define BULK_CPU 1.5	  /* seconds of CPU per bulk figure */
#define HS_CPU 1.0	  /* ... for handshakes */
#define IDLE_CONNS 100000 /* connections each side holds */
#define GOODPUT_SIZE (16u << 20)
#define GOODPUT_SEEDS 5

/* Issue 3's targets: kernel TCP through a userspace TUN forwarder. */
#define TUN_1500_BPS (2e9 / 8)
#define TUN_65000_BPS (22e9 / 8)
#define IDLE_TARGET 2048

struct pair {
	struct memlink *l;
	struct tcp_engine *e[2];
	tcp_time now;
};

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ep(struct wire_ep *p, int side, uint16_t port)
{
	memset(p, 0, sizeof(*p));
	p->family = AF_INET;
	p->a[0] = 198;
	p->a[1] = 18;
	p->a[3] = (uint8_t)(side + 1);
	p->port = port;
}

/* BATCH (env ENGINE_BATCH=1): the engines see the packets of one instant
 * as one batch, one tcp_dispatch() for all (pair_step), and answer a
 * window with one ACK (RFC 9293 MUST-58); by default each packet is a
 * batch of its own, dispatched at once, as the figures have always been
 * measured. One stretch ACK lost to the link's loss silences a whole
 * window: under heavy loss batching costs RTOs the table would show. */
static bool batch;

static void deliver(void *ctx, const uint8_t *pkt, size_t len, uint64_t now)
{
	tcp_input(ctx, pkt, len, now);
	if (!batch)
		tcp_dispatch(ctx, now);
}

static void die(const char *what)
{
	fprintf(stderr, "engine_memlink: %s\n", what);
	exit(1);
}

/* Two engines with BASE's settings over a link with IMP each way. */
static void pair_init(struct pair *p, const struct tcp_config *base,
		      const struct impair_config *imp, uint64_t seed)
{
	int s;

	memset(p, 0, sizeof(*p));
	p->l = memlink_new(imp, imp, seed);
	if (!p->l)
		die("memlink_new");
	for (s = MEMLINK_A; s <= MEMLINK_B; s++) {
		struct tcp_config cfg = *base;

		cfg.key[0] = 7 + (uint64_t)s;
		ep(&cfg.addr4, s, 0);
		cfg.output = memlink_output;
		cfg.ctx = memlink_port(p->l, (enum memlink_side)s);
		p->e[s] = tcp_engine_new(&cfg);
		if (!p->e[s])
			die("tcp_engine_new");
		memlink_attach(p->l, (enum memlink_side)s, deliver, p->e[s]);
	}
}

static void pair_fini(struct pair *p)
{
	tcp_engine_free(p->e[0]);
	tcp_engine_free(p->e[1]);
	memlink_free(p->l);
}

/* Run timers and the link up to the next event; false when none is left. */
static bool pair_step(struct pair *p)
{
	tcp_time a = tcp_dispatch(p->e[0], p->now),
		 b = tcp_dispatch(p->e[1], p->now);
	tcp_time t = memlink_next(p->l);

	t = a < t ? a : t;
	t = b < t ? b : t;
	if (t == TCP_NEVER)
		return false;
	if (t > p->now)
		p->now = t;
	memlink_clock(p->l, p->now);
	memlink_run(p->l, p->now);
	return true;
}

/* A on port LPORT (0: ephemeral) to B's listener L on port RPORT; the
 * pair of ids once B accepted. */
static void pair_connect(struct pair *p, int l, uint16_t lport, uint16_t rport,
			 int *ida, int *idb)
{
	struct wire_ep r;

	ep(&r, MEMLINK_B, rport);
	*ida = tcp_open(p->e[0]);
	if (*ida < 0 || tcp_connect(p->e[0], (uint32_t)*ida, &r, lport, p->now))
		die("connect");
	while ((*idb = tcp_accept(p->e[1], (uint32_t)l)) == -EAGAIN)
		if (!pair_step(p))
			die("handshake stalled");
}

static int pair_listen(struct pair *p, uint16_t port)
{
	struct wire_ep lep = {.port = port};
	int l = tcp_open(p->e[1]);

	if (l < 0 || tcp_listen(p->e[1], (uint32_t)l, &lep, 4096))
		die("listen");
	return l;
}

/* ---- 1. Bulk throughput ---- */

/* Send from A and read at B until about CPU seconds have gone; bytes per
 * CPU second. */
static double bulk(uint16_t mss, double cpu)
{
	static uint8_t buf[1 << 20];
	struct tcp_config cfg;
	struct pair p;
	uint64_t rcvd = 0;
	double c0;
	int a, b, l;
	long r;

	tcp_config_default(&cfg);
	cfg.mss = mss;
	cfg.sndbuf = cfg.rcvbuf = 4 << 20;
	cfg.rcvbuf_max = 16 << 20;
	pair_init(&p, &cfg, NULL, 1);
	l = pair_listen(&p, 80);
	pair_connect(&p, l, 0, 80, &a, &b);
	c0 = cpu_now();
	while (cpu_now() - c0 < cpu) {
		for (int i = 0; i < 64; i++) {
			while (tcp_send(p.e[0], (uint32_t)a, buf, sizeof(buf),
					p.now) > 0)
				;
			while ((r = tcp_recv(p.e[1], (uint32_t)b, buf,
					     sizeof(buf), p.now)) > 0)
				rcvd += (uint64_t)r;
			if (!pair_step(&p))
				die("bulk stalled");
		}
	}
	cpu = cpu_now() - c0;
	pair_fini(&p);
	return (double)rcvd / cpu;
}

/* ---- 2. Handshakes and closes ---- */

/* Open, close (four-way) and free connections one after the other; how
 * many per CPU second. */
static double handshakes(double cpu)
{
	struct tcp_config cfg;
	struct tcp_info_snap ia, ib;
	struct pair p;
	long n = 0;
	double c0;
	int a, b, l;

	tcp_config_default(&cfg);
	pair_init(&p, &cfg, NULL, 1);
	l = pair_listen(&p, 80);
	c0 = cpu_now();
	while (cpu_now() - c0 < cpu) {
		pair_connect(&p, l, 0, 80, &a, &b);
		tcp_close(p.e[0], (uint32_t)a, p.now);
		do {
			if (!pair_step(&p))
				die("close stalled");
			tcp_info_get(p.e[0], (uint32_t)a, &ia);
			tcp_info_get(p.e[1], (uint32_t)b, &ib);
			if (ib.state == TCP_CLOSE_WAIT)
				tcp_close(p.e[1], (uint32_t)b, p.now);
		} while (ia.state != TCP_TIME_WAIT || ib.state != TCP_CLOSED);
		tcp_free(p.e[0], (uint32_t)a, p.now); /* TIME_WAIT: forgotten */
		tcp_free(p.e[1], (uint32_t)b, p.now);
		n++;
	}
	cpu = cpu_now() - c0;
	pair_fini(&p);
	return (double)n / cpu;
}

/* ---- 3. Memory per idle connection ---- */

static size_t heap_used(void)
{
	return mallinfo2().uordblks;
}

/* IDLE_CONNS connections (two listening ports, fixed local ports: the
 * ephemeral range is smaller), all ESTABLISHED and accepted; heap bytes
 * per connection, counting each side's. */
static double idle_memory(size_t *total)
{
	struct tcp_config cfg;
	struct pair p;
	size_t h0;
	int l[2], a, b, i;

	tcp_config_default(&cfg);
	pair_init(&p, &cfg, NULL, 1);
	l[0] = pair_listen(&p, 80);
	l[1] = pair_listen(&p, 81);
	h0 = heap_used();
	for (i = 0; i < IDLE_CONNS; i++)
		pair_connect(&p, l[i & 1], (uint16_t)(1024 + i / 2),
			     80 + (i & 1), &a, &b);
	while (pair_step(&p)) /* the last ACKs; nothing else is due */
		;
	*total = heap_used() - h0;
	pair_fini(&p);
	return (double)*total / (2.0 * IDLE_CONNS);
}

/* ---- 4. Goodput under loss and delay ---- */

/* GOODPUT_SIZE bytes from A to B over a link with IMP; bytes per simulated
 * second from the connect to the last byte read. */
static double goodput_one(const struct impair_config *imp, uint64_t seed)
{
	static uint8_t buf[65536];
	struct tcp_config cfg;
	struct pair p;
	uint64_t sent = 0, rcvd = 0;
	int a, b, l;
	long r;

	tcp_config_default(&cfg);
	cfg.msl = SEC;
	cfg.sndbuf = 4 << 20; /* the sender must not be the limit */
	pair_init(&p, &cfg, imp, seed);
	l = pair_listen(&p, 80);
	pair_connect(&p, l, 0, 80, &a, &b);
	while (rcvd < GOODPUT_SIZE) {
		size_t n = GOODPUT_SIZE - sent < sizeof(buf) ?
				   GOODPUT_SIZE - sent :
				   sizeof(buf);

		while (n &&
		       (r = tcp_send(p.e[0], (uint32_t)a, buf, n, p.now)) > 0) {
			sent += (uint64_t)r;
			n = GOODPUT_SIZE - sent < sizeof(buf) ?
				    GOODPUT_SIZE - sent :
				    sizeof(buf);
		}
		while ((r = tcp_recv(p.e[1], (uint32_t)b, buf, sizeof(buf),
				     p.now)) > 0)
			rcvd += (uint64_t)r;
		if (rcvd < GOODPUT_SIZE && !pair_step(&p))
			die("transfer stalled");
	}
	pair_fini(&p);
	return (double)GOODPUT_SIZE / ((double)p.now / 1e6);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median over GOODPUT_SEEDS link seeds: one unlucky tail (a lost
 * probe costs an RTO) would swing a single run. */
static double goodput(const struct impair_config *imp)
{
	double g[GOODPUT_SEEDS];
	int i;

	for (i = 0; i < GOODPUT_SEEDS; i++)
		g[i] = goodput_one(imp, 99 + (uint64_t)i);
	qsort(g, GOODPUT_SEEDS, sizeof(g[0]), cmp_double);
	return g[GOODPUT_SEEDS / 2];
}

static void goodput_table(FILE *out)
{
	static const double loss[] = {0, 1, 5, 10};
	static const tcp_time rtt[] = {100, 10 * MS, 100 * MS};
	struct impair_config imp = {0};
	size_t i, j;

	fprintf(out, "# goodput, MB/s of simulated time: 16 MiB transfers, "
		     "median of 5 link seeds\n");
	fprintf(out, "# (bench/engine_memlink; CUBIC, rto_min 200 ms)\n");
	fprintf(out, "loss%%   rtt 0.1ms   rtt 10ms  rtt 100ms\n");
	for (i = 0; i < sizeof(loss) / sizeof(loss[0]); i++) {
		fprintf(out, "%5.0f", loss[i]);
		for (j = 0; j < sizeof(rtt) / sizeof(rtt[0]); j++) {
			imp.loss = loss[i];
			imp.delay = rtt[j] / 2;
			fprintf(out, " %10.3f", goodput(&imp) / 1e6);
		}
		fprintf(out, "\n");
	}
}

static void print_bulk(const char *name, uint16_t mss, double target)
{
	double bps = bulk(mss, BULK_CPU);

	printf("bulk %-9s MSS %5u: %8.1f MB per CPU second = %6.2f Gbit/s; "
	       "target %.0f Gbit/s (TUN forwarder): %.2fx\n",
	       name, mss, bps / 1e6, bps * 8 / 1e9, target * 8 / 1e9,
	       bps / target);
}

int main(int argc, char **argv)
{
	size_t total, len;
	char *text;
	double per;
	FILE *table;

	batch = getenv("ENGINE_BATCH") && atoi(getenv("ENGINE_BATCH"));
	print_bulk("MTU 1500", 1460, TUN_1500_BPS);
	print_bulk("MTU 65000", 64960, TUN_65000_BPS);
	printf("handshakes + closes: %.0f per CPU second\n",
	       handshakes(HS_CPU));
	per = idle_memory(&total);
	printf("idle connections: %d each side, %.1f MiB heap, %.0f bytes "
	       "per connection; target <= %d: %s\n",
	       IDLE_CONNS, (double)total / (1 << 20), per, IDLE_TARGET,
	       per <= IDLE_TARGET ? "met" : "MISSED");
	table = open_memstream(&text, &len);
	if (!table)
		die("open_memstream");
	goodput_table(table);
	fclose(table);
	fputs(text, stdout);
	if (argc > 1) {
		table = fopen(argv[1], "w");
		if (!table || fputs(text, table) < 0 || fclose(table))
			die("cannot write the table");
	}
	free(text);
	return 0;
}
