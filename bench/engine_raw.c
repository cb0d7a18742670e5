/* bench/engine_raw.c: the engine's own throughput over its TUN device,
 * without FUSE: the daemon's engine driver (src/drv: TUN link, timerfd, epoll
 * loop) driven from memory instead of from the `data` file.
 *
 *   engine_raw send MTU HOST:PORT SECS   connect, send zeros for SECS, close
 *   engine_raw recv MTU HOST:PORT        connect, send one byte, read to EOF
 *                                        (in reads of 64 KiB or more)
 *
 * Creates the default device (tcpfs0, 198.19.253.1/30 host, .2 engine)
 * with MTU in the current network namespace, so run it in a namespace of
 * its own. Prints "BYTES SECONDS": send: from ESTABLISHED until everything
 * including the FIN is acknowledged; recv: from the go byte to EOF.
 * Linked against the build's libtcpfs_core.a, libtcp.a, liblink.a and
 * libwire.a (see bench/engine_tun.sh). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcpfs/loop.h"
#include "tcpfs/tcp.h"
#include "tcpfs/tundrv.h"
#include "tcpfs/wire.h"

static struct {
	struct tundrv *st;
	uint32_t id;
	int send;
	tcp_time dur, t0, t1, end;
	unsigned long long bytes;
	int closing, done;
} g;

#define READ_MIN (64 * 1024)

static char zeros[1 << 20], sink[1 << 20];

static void on_event(void *ctx, uint32_t id, unsigned events)
{
	struct tcp_engine *e = tundrv_tcp(g.st);
	tcp_time now = tundrv_now();
	struct tcp_info_snap i;
	(void)ctx;
	if (id != g.id || g.done)
		return;
	if (tcp_info_get(e, id, &i) < 0 || i.state == TCP_CLOSED) {
		if (!g.t1)
			g.t1 = now;
		g.done = i.error ? -i.error : 1;
		return;
	}
	if ((events & TCP_EV_ESTABLISHED) && !g.t0) {
		g.t0 = now;
		g.end = now + g.dur;
		if (!g.send)
			tcp_send(e, id, "x", 1, now);
	}
	if (g.send && g.t0 && !g.closing) {
		while (now < g.end) {
			long n = tcp_send(e, id, zeros, sizeof(zeros), now);
			if (n <= 0)
				break;
			g.bytes += (unsigned long long)n;
		}
		if (now >= g.end) {
			tcp_close(e, id, now);
			g.closing = 1;
		}
	}
	if (g.send && g.closing && i.snd_una == i.snd_nxt &&
	    (i.state == TCP_FIN_WAIT_2 || i.state == TCP_TIME_WAIT)) {
		g.t1 = now;
		g.done = 1;
	}
	/* read in chunks of at least READ_MIN, as a reader of `data` with
	 * bs=1M does (a read per arriving segment would make the engine
	 * announce the window after every one) */
	if (!g.send && (events & TCP_EV_READABLE) &&
	    (tcp_readable(e, id) >= READ_MIN || i.state != TCP_ESTABLISHED)) {
		for (;;) {
			long n = tcp_recv(e, id, sink, sizeof(sink), now);
			if (n > 0) {
				g.bytes += (unsigned long long)n;
				continue;
			}
			if (n == 0) {
				g.t1 = now;
				g.done = 1;
				tcp_close(e, id, now);
			}
			break;
		}
	}
}

int main(int argc, char **argv)
{
	struct tundrv_config sc;
	struct wire_ep ep;
	const char *why = NULL;
	char whybuf[256];

	if (argc < 4 || (strcmp(argv[1], "send") && strcmp(argv[1], "recv")) ||
	    (strcmp(argv[1], "send") == 0 && argc != 5)) {
		fprintf(stderr, "usage: engine_raw send MTU HOST:PORT SECS | "
				"recv MTU HOST:PORT (env OFFLOAD=on|off)\n");
		return 2;
	}
	g.send = strcmp(argv[1], "send") == 0;
	g.dur = g.send ? (tcp_time)(atof(argv[4]) * 1e6) : 0;
	if (wire_ep_parse(argv[3], -1, &ep, &why) < 0) {
		fprintf(stderr, "engine_raw: %s: %s\n", argv[3], why);
		return 2;
	}
	tundrv_config_default(&sc);
	sc.tun.mtu = (unsigned)atoi(argv[2]);
	/* OFFLOAD=off: as tcpfs --offload=off */
	sc.tun.offload = !getenv("OFFLOAD") || strcmp(getenv("OFFLOAD"), "off");
	sc.msl = 1000000;
	sc.tcp_ev = on_event;
	struct loop *loop = loop_new();
	g.st = loop ? tundrv_new(loop, &sc, whybuf, sizeof(whybuf)) : NULL;
	if (!g.st) {
		fprintf(stderr, "engine_raw: %s\n", loop ? whybuf : "loop");
		return 1;
	}
	struct tcp_engine *e = tundrv_tcp(g.st);
	int id = tcp_open(e);
	if (id < 0 || tcp_connect(e, (uint32_t)id, &ep, 0, tundrv_now()) < 0) {
		fprintf(stderr, "engine_raw: cannot connect\n");
		return 1;
	}
	g.id = (uint32_t)id;
	while (!g.done) {
		int err = loop_once(loop);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "engine_raw: loop: %s\n",
				strerror(-err));
			return 1;
		}
	}
	if (g.done < 0) {
		fprintf(stderr, "engine_raw: connection failed: %s\n",
			strerror(-g.done));
		return 1;
	}
	printf("%llu %.6f\n", g.bytes, (double)(g.t1 - g.t0) / 1e6);
	tundrv_free(g.st);
	loop_free(loop);
	return 0;
}
