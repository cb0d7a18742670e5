/* bench/tunfwd.c: a tiny userspace forwarder joining two TUN devices, the
 * reference for bench/engine_tun.sh: kernel TCP on both ends, every packet
 * crossing user space once, as the engine's packets do.
 *
 *   tunfwd [-t] NETNS_A IF_A NETNS_B IF_B
 *
 * Creates TUN device IF_A (IFF_TUN|IFF_NO_PI) in the network namespace
 * NETNS_A (a path such as /proc/PID/ns/net) and IF_B in NETNS_B, prints
 * "ready" on stdout, and copies every packet read from one to the other
 * with read(2)/write(2) until killed. The caller sets addresses, MTU and
 * brings the links up. By default one thread serves both devices with
 * poll(2) and nonblocking reads, as the tcpfs daemon's single loop does;
 * -t uses one blocking thread per direction instead.
 * No offloads (no IFF_VNET_HDR): one packet per read, at most the MTU.
 * Build: cc -O2 -pthread -o tunfwd tunfwd.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define PKT 65536
#define BATCH 64

static void die(const char *what)
{
	fprintf(stderr, "tunfwd: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int tun_in(const char *netns, const char *name, int flags)
{
	int ns = open(netns, O_RDONLY | O_CLOEXEC);
	if (ns < 0 || setns(ns, CLONE_NEWNET) < 0)
		die(netns);
	close(ns);
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | flags);
	if (fd < 0)
		die("/dev/net/tun");
	struct ifreq ifr = {.ifr_flags = IFF_TUN | IFF_NO_PI};
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		die(name);
	return fd;
}

struct dir {
	int from, to;
};

static void *copy_blocking(void *arg)
{
	struct dir *d = arg;
	static __thread char pkt[PKT];
	for (;;) {
		ssize_t n = read(d->from, pkt, sizeof(pkt));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read");
		if (write(d->to, pkt, (size_t)n) < 0 && errno != EIO &&
		    errno != ENOBUFS && errno != EAGAIN)
			die("write");
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 && strcmp(argv[1], "-t") == 0;
	if (argc != 5 + threads) {
		fprintf(stderr,
			"usage: tunfwd [-t] NETNS_A IF_A NETNS_B IF_B\n");
		return 2;
	}
	char **a = argv + 1 + threads;
	int flags = threads ? 0 : O_NONBLOCK;
	int fa = tun_in(a[0], a[1], flags), fb = tun_in(a[2], a[3], flags);
	printf("ready\n");
	fflush(stdout);

	if (threads) {
		struct dir ab = {fa, fb}, ba = {fb, fa};
		pthread_t t;
		if (pthread_create(&t, NULL, copy_blocking, &ab))
			die("pthread_create");
		copy_blocking(&ba);
	}
	static char pkt[PKT];
	struct pollfd p[2] = {{.fd = fa, .events = POLLIN},
			      {.fd = fb, .events = POLLIN}};
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (int i = 0; i < 2; i++) {
			if (!p[i].revents)
				continue;
			int to = i ? fa : fb;
			for (int k = 0; k < BATCH; k++) {
				ssize_t n = read(p[i].fd, pkt, sizeof(pkt));
				if (n <= 0)
					break;
				/* a full device queue drops, as a wire would */
				(void)!write(to, pkt, (size_t)n);
			}
		}
	}
}
