/* tun_probe: open the engine's TUN device as the daemon does (src/link/tun.c)
 * and read packets from it, for tun_fallback.sh. One fact per line.
 *
 *   tun_probe NAME on|off|FLAGS
 *	create device NAME (host 198.18.0.1/30, MTU 1500): "on" asks for the
 *	engine's offloads, "off" for none (--offload=off), FLAGS (hex) for
 *	those TUNSETOFFLOAD flags; print "vnet=1" or "vnet=0" (whether every
 *	packet crosses with a virtio-net header), then wait up to 10 s for
 *	an IPv4 packet and print "packet version=V proto=P len=N" of the
 *	first one read, or "error ..." and exit 2 (open) or 3 (no packet) */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>

#include "tcpfs/tun.h"

int main(int argc, char **argv)
{
	struct tun_config cfg = {.mtu = 1500, .prefix4 = 30, .prefix6 = 64};
	char why[256] = "";
	unsigned char pkt[65536];

	if (argc != 3) {
		fprintf(stderr, "usage: tun_probe NAME on|off|FLAGS\n");
		return 1;
	}
	snprintf(cfg.name, sizeof(cfg.name), "%s", argv[1]);
	inet_pton(AF_INET, "198.18.0.1", &cfg.host4);
	inet_pton(AF_INET6, "fd00:198:18::1", &cfg.host6);
	cfg.offload = strcmp(argv[2], "off") != 0;
	if (cfg.offload && strcmp(argv[2], "on") != 0)
		cfg.offloads = (unsigned)strtoul(argv[2], NULL, 16);
	struct tun *t = tun_open(&cfg, why, sizeof(why));
	if (!t) {
		printf("error %s\n", why);
		return 2;
	}
	printf("vnet=%d\n", tun_offload(t));
	fflush(stdout);
	time_t end = time(NULL) + 10;
	while (time(NULL) < end) {
		struct pollfd p = {.fd = tun_fd(t), .events = POLLIN};
		struct tun_rx rx;
		poll(&p, 1, 200);
		ssize_t n = tun_read(t, pkt, sizeof(pkt), &rx);
		if (n < 0) {
			printf("error read: %s\n", strerror((int)-n));
			break;
		}
		if (n >= 20 && pkt[0] >> 4 == 4) {
			printf("packet version=%d proto=%d len=%zd\n",
			       pkt[0] >> 4, pkt[9], n);
			tun_close(t);
			return 0;
		}
	}
	printf("error no IPv4 packet\n");
	tun_close(t);
	return 3;
}
