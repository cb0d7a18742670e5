/* bench/engine_ports.c: what choosing an ephemeral port costs the engine,
 * by how many ports to the one peer are taken already: N connections held
 * (SYN_SENT), then M connects to the same peer, each freed again (an
 * exhausted range: each refused with EADDRNOTAVAIL). Uses only the
 * engine's public API (tcp.h), so bench/engine_ports.sh builds it against
 * an older tree as well, the reference of the same run.
 *
 *   engine_ports M N...   prints "N MICROSECONDS_PER_CONNECT" a line */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "tcpfs/tcp.h"

static void discard(void *ctx, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	(void)pkt;
	(void)len;
}

static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct wire_ep ep(uint8_t last, uint16_t port)
{
	struct wire_ep e = {
		.family = AF_INET, .a = {198, 18, 0, last}, .port = port};
	return e;
}

/* N held, then M connects and frees: microseconds a connect. */
static double measure(long m, long n)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.addr4 = ep(1, 0);
	cfg.output = discard;
	cfg.key[0] = 42;
	struct tcp_engine *e = tcp_engine_new(&cfg);
	struct wire_ep peer = ep(2, 80);
	tcp_time now = 1;
	if (!e)
		exit(1);
	for (long i = 0; i < n; i++) {
		int id = tcp_open(e);
		if (id < 0 || tcp_connect(e, (uint32_t)id, &peer, 0, now))
			break; /* the range is full */
	}
	tcp_dispatch(e, now);
	double t0 = secs();
	for (long i = 0; i < m; i++) {
		int id = tcp_open(e), rc;
		rc = tcp_connect(e, (uint32_t)id, &peer, 0, now);
		if (rc && rc != -EADDRNOTAVAIL)
			exit(1);
		tcp_free(e, (uint32_t)id, now);
	}
	double t = secs() - t0;
	tcp_engine_free(e);
	return t / (double)m * 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: engine_ports M N...\n");
		return 2;
	}
	for (int i = 2; i < argc; i++)
		printf("%s %.3f\n", argv[i],
		       measure(atol(argv[1]), atol(argv[i])));
	return 0;
}
