/* bench/engine_connrate.c: connect+close rate to one peer, the engine's
 * (over its TUN device, without FUSE), the kernel's, and the engine's
 * through the mounted filesystem (bench/engine_connrate.sh runs them).
 *
 *   engine_connrate serve PORT            accept, read to EOF, close; until
 *                                         killed (the peer of every mode)
 *   engine_connrate kernel HOST PORT SECS socket, connect, close, again
 *   engine_connrate engine HOST PORT SECS the same through the engine's
 *                                         driver (env PORTS=LO-HI,
 *                                         TW_REUSE=on|off, MSL=seconds)
 *   engine_connrate fs MNT HOST PORT SECS clone, "connect", "close" (ctl)
 *
 * Each client closes first, so its side of every connection goes through
 * TIME_WAIT; a connect refused with EADDRNOTAVAIL (every port to the peer
 * held) is counted and tried again 1 ms later. Prints "CONNECTS REFUSED
 * SECONDS". Linked against the build's libdrv.a, libutil.a, libtcp.a,
 * liblink.a and libwire.a (see bench/engine_connrate.sh). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tcpfs/loop.h"
#include "tcpfs/tcp.h"
#include "tcpfs/tundrv.h"
#include "tcpfs/wire.h"

static unsigned long ok, refused;

static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what)
{
	fprintf(stderr, "engine_connrate: %s: %s\n", what, strerror(errno));
	return 1;
}

static int serve(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
	char buf[256];
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, 4) ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 4096))
		return die("listen");
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		while (read(c, buf, sizeof(buf)) > 0)
			;
		close(c);
	}
}

static int kernel(const char *host, int port, double dur)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	double t0 = secs(), t;
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return die(host);
	while ((t = secs()) - t0 < dur) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0)
			return die("socket");
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
			ok++;
		else if (errno == EADDRNOTAVAIL)
			refused++, usleep(1000);
		else
			return die("connect");
		close(s);
	}
	printf("%lu %lu %.3f\n", ok, refused, t - t0);
	return 0;
}

/* ---- the engine, driven as engine_raw does ---- */

static struct {
	struct tundrv *st;
	uint32_t cur;	     /* the connect under way, 0 if none */
	uint32_t gone[4096]; /* CLOSED: freed after the round */
	unsigned ngone;
	int err;
} g;

static void on_event(void *ctx, uint32_t id, unsigned events)
{
	struct tcp_engine *e = tundrv_tcp(g.st);
	int st = tcp_state(e, id);
	(void)ctx;
	(void)events;
	if (id == g.cur && st == TCP_ESTABLISHED) {
		tcp_close(e, id, tundrv_now());
		ok++;
		g.cur = 0;
	} else if (st == TCP_CLOSED) {
		struct tcp_info_snap i;
		if (id == g.cur && tcp_info_get(e, id, &i) == 0)
			g.err = i.error ? i.error : EIO;
		if (g.ngone < sizeof(g.gone) / sizeof(g.gone[0]))
			g.gone[g.ngone++] = id;
	}
}

static int engine(const char *host, int port, double dur)
{
	struct tundrv_config sc;
	struct wire_ep ep;
	const char *why = NULL, *ports = getenv("PORTS"),
		   *reuse = getenv("TW_REUSE"), *msl = getenv("MSL");
	char whybuf[256], addr[80];
	unsigned lo, hi;
	snprintf(addr, sizeof(addr), "%s:%d", host, port);
	if (wire_ep_parse(addr, -1, &ep, &why) < 0) {
		fprintf(stderr, "engine_connrate: %s: %s\n", addr, why);
		return 2;
	}
	tundrv_config_default(&sc);
	if (ports && sscanf(ports, "%u-%u", &lo, &hi) == 2) {
		sc.port_lo = (uint16_t)lo;
		sc.port_hi = (uint16_t)hi;
	}
	sc.tw_reuse = !reuse || strcmp(reuse, "off");
	if (msl)
		sc.msl = (tcp_time)(atof(msl) * 1e6);
	sc.tcp_ev = on_event;
	struct loop *loop = loop_new();
	g.st = loop ? tundrv_new(loop, &sc, whybuf, sizeof(whybuf)) : NULL;
	if (!g.st) {
		fprintf(stderr, "engine_connrate: %s\n",
			loop ? whybuf : "loop");
		return 1;
	}
	struct tcp_engine *e = tundrv_tcp(g.st);
	double t0 = secs(), t;
	while ((t = secs()) - t0 < dur && !g.err) {
		if (!g.cur) {
			int id = tcp_open(e), rc;
			if (id < 0) {
				errno = -id;
				return die("tcp_open");
			}
			rc = tcp_connect(e, (uint32_t)id, &ep, 0, tundrv_now());
			if (rc == -EADDRNOTAVAIL) {
				refused++;
				tcp_free(e, (uint32_t)id, tundrv_now());
				usleep(1000);
				continue;
			}
			if (rc < 0) {
				errno = -rc;
				return die("tcp_connect");
			}
			g.cur = (uint32_t)id;
		}
		int err = loop_once(loop);
		if (err < 0 && err != -EINTR) {
			errno = -err;
			return die("loop");
		}
		for (unsigned i = 0; i < g.ngone; i++)
			tcp_free(e, g.gone[i], tundrv_now());
		g.ngone = 0;
	}
	if (g.err) {
		errno = g.err;
		return die("a connect failed");
	}
	printf("%lu %lu %.3f\n", ok, refused, t - t0);
	tundrv_free(g.st);
	loop_free(loop);
	return 0;
}

/* ---- through the filesystem ---- */

static int ctl(const char *mnt, const char *id, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/engine/%s/ctl", mnt, id);
	int fd = open(path, O_WRONLY), rc = 0;
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int fs(const char *mnt, const char *host, int port, double dur)
{
	char path[512], id[32], cmd[128];
	double t0 = secs(), t;
	snprintf(path, sizeof(path), "%s/engine/clone", mnt);
	snprintf(cmd, sizeof(cmd), "connect %s:%d\n", host, port);
	while ((t = secs()) - t0 < dur) {
		int fd = open(path, O_RDONLY), rc;
		ssize_t n = fd < 0 ? -1 : read(fd, id, sizeof(id) - 1);
		if (n <= 0)
			return die("clone");
		close(fd);
		id[n - 1] = 0; /* its newline */
		rc = ctl(mnt, id, cmd);
		if (rc == -EADDRNOTAVAIL) {
			refused++;
			usleep(1000);
		} else if (rc < 0) {
			errno = -rc;
			return die("connect");
		} else if ((rc = ctl(mnt, id, "close\n")) < 0) {
			errno = -rc;
			return die("close");
		} else {
			ok++;
		}
	}
	printf("%lu %lu %.3f\n", ok, refused, t - t0);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "kernel"))
		return kernel(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "engine"))
		return engine(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc == 6 && !strcmp(argv[1], "fs"))
		return fs(argv[2], argv[3], atoi(argv[4]), atof(argv[5]));
	fprintf(stderr,
		"usage: engine_connrate serve PORT | kernel HOST PORT "
		"SECS | engine HOST PORT SECS | fs MNT HOST PORT SECS\n");
	return 2;
}
