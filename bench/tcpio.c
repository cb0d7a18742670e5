/* bench/tcpio.c: the kernel's end of bench/engine_tun.sh's measurements.
 *
 *   tcpio sink PORT              accept one connection, read to EOF; print
 *                                "BYTES SECONDS" (first byte to EOF)
 *   tcpio serve PORT SECS        accept one, wait for one byte, then send
 *                                for SECS seconds and close; print the same
 *   tcpio send HOST PORT SECS    connect, send for SECS seconds, close; print
 *   tcpio drain PORT             accept and close connections until killed
 *   tcpio hold PORT BACKLOG      listen with BACKLOG, never accept, until killed
 *   tcpio connloop HOST PORT N   N x (socket, connect, close); print "N SECONDS"
 *   tcpio ctlloop MNT HOST PORT N
 *                                N x (read MNT/engine/clone, "connect HOST:PORT"
 *                                and "close" to its ctl); print "N SECONDS"
 *   tcpio cloneloop MNT HOST PORT N
 *                                N x (open MNT/engine/clone for reading and
 *                                writing, read its name, write "connect
 *                                HOST:PORT" and "close" to it, close it: the
 *                                clone's descriptor is the connection's ctl);
 *                                print "N SECONDS"
 *   tcpio ctlsteps MNT HOST PORT N
 *                                N rounds of one cycle each way (through
 *                                ctl, through the clone's descriptor, the
 *                                kernel's socket/connect/close), each step
 *                                timed; print each step's median and 90th
 *                                percentile in us, each way's sum of
 *                                medians and the kernel's sum over it
 *   tcpio ctlopen MNT HOST PORT N
 *                                N x (clone, connect), connections left open;
 *                                print "N SECONDS"
 *   tcpio datawrite MNT BYTES    write BYTES to the data file of every
 *                                connection in MNT/engine; print "N SECONDS"
 *
 * Listeners bind the wildcard address (IPv4) and set SO_REUSEADDR. Every
 * mode exits 1 with a message on an error. Build: cc -O2 -o tcpio tcpio.c */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static char buf[CHUNK];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "tcpio: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct sockaddr_in addr(const char *host, const char *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)atoi(port))};
	if (host && inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "tcpio: bad address %s\n", host);
		exit(1);
	}
	return a;
}

static int listener(const char *port, int backlog)
{
	struct sockaddr_in a = addr(NULL, port);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	if (listen(fd, backlog) < 0)
		die("listen");
	return fd;
}

static int dial(const char *host, const char *port)
{
	struct sockaddr_in a = addr(host, port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	return fd;
}

/* Read to EOF; bytes, and the time from the first byte in *SECS. */
static unsigned long long drain_fd(int fd, double *secs)
{
	unsigned long long total = 0;
	double t0 = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read");
		if (n == 0)
			break;
		if (!total)
			t0 = now();
		total += (unsigned long long)n;
	}
	if (secs)
		*secs = total ? now() - t0 : 0;
	return total;
}

/* Send for SECS seconds, then shut down our side; bytes sent. */
static unsigned long long blast(int fd, double secs, double *took)
{
	unsigned long long total = 0;
	double t0 = now(), end = t0 + secs;
	do {
		ssize_t n = write(fd, buf, 256 * 1024);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("write");
		total += (unsigned long long)n;
	} while (now() < end);
	shutdown(fd, SHUT_WR);
	*took = now() - t0;
	return total;
}

/* Write CMD to FD, a ctl; exit on an error. */
static void ctl_fd(int fd, const char *cmd)
{
	if (write(fd, cmd, strlen(cmd)) < 0) {
		fprintf(stderr, "tcpio: ctl '%s': %s\n", cmd, strerror(errno));
		exit(1);
	}
}

static void ctl(const char *path, const char *cmd)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		die(path);
	ctl_fd(fd, cmd);
	close(fd);
}

/* clone and connect; the connection's ctl path in PATH. */
static void engine_connect(const char *mnt, const char *host, const char *port,
			   char *path, size_t len)
{
	char name[64], cmd[128];
	snprintf(path, len, "%s/engine/clone", mnt);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path);
	ssize_t n = read(fd, name, sizeof(name) - 1);
	if (n <= 0)
		die("read clone");
	close(fd);
	name[n] = 0;
	name[strcspn(name, "\n")] = 0;
	snprintf(path, len, "%s/engine/%s/ctl", mnt, name);
	snprintf(cmd, sizeof(cmd), "connect %s:%s\n", host, port);
	ctl(path, cmd);
}

/* clone, connect and close through the clone's own descriptor. */
static void clone_cycle(const char *mnt, const char *cmd)
{
	char path[4096], name[64];
	snprintf(path, sizeof(path), "%s/engine/clone", mnt);
	int fd = open(path, O_RDWR);
	if (fd < 0)
		die(path);
	if (read(fd, name, sizeof(name)) <= 0)
		die("read clone");
	ctl_fd(fd, cmd);
	ctl_fd(fd, "close\n");
	close(fd);
}

/* The steps ctlsteps times, each way's in a row. */
static const char *const step_name[] = {
	"ctl: open clone",	 "ctl: read clone",    "ctl: close clone",
	"ctl: open N/ctl",	 "ctl: write connect", "ctl: close ctl",
	"ctl: open N/ctl again", "ctl: write close",   "ctl: close ctl",
	"fd: open clone rw",	 "fd: read name",      "fd: write connect",
	"fd: write close",	 "fd: close",	       "kernel: socket",
	"kernel: connect",	 "kernel: close",
};
enum { STEPS = sizeof(step_name) / sizeof(step_name[0]), FD0 = 9, K0 = 14 };

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* What ctlsteps times with: STEPS x N times, in us. */
struct steps {
	double *lat;
	long n;
	char dir[4000], clone[4096], cmd[128]; /* dir: MNT/engine */
	struct sockaddr_in peer;
	bool no_fd; /* a daemon whose clone is read only (older): no fd way */
};

/* Time EXPR as step S of round R of X, from *T to now (then *T = now). */
#define STEP(x, s, r, t, expr)                                                 \
	do {                                                                   \
		expr;                                                          \
		double t1 = now();                                             \
		(x)->lat[(size_t)(s) * (size_t)(x)->n + (size_t)(r)] =         \
			(t1 - *(t)) * 1e6;                                     \
		*(t) = t1;                                                     \
	} while (0)

/* Round R through ctl: read clone, connect and close through N/ctl. */
static void steps_ctl(struct steps *x, long r, double *t)
{
	char ctlp[4096], name[64];
	int fd, s = 0;
	ssize_t got;
	STEP(x, s++, r, t, fd = open(x->clone, O_RDONLY));
	STEP(x, s++, r, t, got = read(fd, name, sizeof(name) - 1));
	STEP(x, s++, r, t, close(fd));
	if (fd < 0 || got <= 0)
		die("clone");
	name[got] = 0;
	name[strcspn(name, "\n")] = 0;
	snprintf(ctlp, sizeof(ctlp), "%s/%s/ctl", x->dir, name);
	STEP(x, s++, r, t, fd = open(ctlp, O_WRONLY));
	STEP(x, s++, r, t, ctl_fd(fd, x->cmd));
	STEP(x, s++, r, t, close(fd));
	STEP(x, s++, r, t, fd = open(ctlp, O_WRONLY));
	STEP(x, s++, r, t, ctl_fd(fd, "close\n"));
	STEP(x, s++, r, t, close(fd));
}

/* Round R through the clone's own descriptor. */
static void steps_fd(struct steps *x, long r, double *t)
{
	char name[64];
	int fd, s = FD0;
	if (x->no_fd)
		return;
	STEP(x, s++, r, t, fd = open(x->clone, O_RDWR));
	if (fd < 0 && errno == EACCES) {
		x->no_fd = true;
		return;
	}
	if (fd < 0)
		die("clone");
	STEP(x, s++, r, t, (void)!read(fd, name, sizeof(name)));
	STEP(x, s++, r, t, ctl_fd(fd, x->cmd));
	STEP(x, s++, r, t, ctl_fd(fd, "close\n"));
	STEP(x, s++, r, t, close(fd));
}

/* Round R of the kernel's own. */
static void steps_kernel(struct steps *x, long r, double *t)
{
	int fd, s = K0, err;
	STEP(x, s++, r, t, fd = socket(AF_INET, SOCK_STREAM, 0));
	STEP(x, s++, r, t,
	     err = connect(fd, (struct sockaddr *)&x->peer, sizeof(x->peer)));
	STEP(x, s++, r, t, close(fd));
	if (err < 0)
		die("connect");
}

/* N rounds, each way once a round, the order turning each round (what one
 * way leaves the kernel or the daemon to finish lands on the next). */
static void ctlsteps(const char *mnt, const char *host, const char *port,
		     long n)
{
	static struct steps x;
	void (*const way[])(struct steps *, long,
			    double *) = {steps_ctl, steps_fd, steps_kernel};
	double sum[3] = {0};
	x.n = n;
	x.peer = addr(host, port);
	if (!(x.lat = malloc(sizeof(double) * STEPS * (size_t)n)))
		die("malloc");
	snprintf(x.dir, sizeof(x.dir), "%s/engine", mnt);
	snprintf(x.clone, sizeof(x.clone), "%s/clone", x.dir);
	snprintf(x.cmd, sizeof(x.cmd), "connect %s:%s\n", host, port);
	for (long r = 0; r < n; r++)
		for (int w = 0; w < 3; w++) {
			double t = now();
			way[(r + w) % 3](&x, r, &t);
		}
	for (int s = 0; s < STEPS; s++) {
		double *v = x.lat + (size_t)s * (size_t)n;
		if (x.no_fd && s >= FD0 && s < K0) {
			printf("%-22s -\n", step_name[s]);
			continue;
		}
		qsort(v, (size_t)n, sizeof(*v), cmp_double);
		printf("%-22s p50 %7.1f us  p90 %7.1f us\n", step_name[s],
		       v[n / 2], v[n * 9 / 10]);
		sum[s < FD0 ? 0 : s < K0 ? 1 : 2] += v[n / 2];
	}
	printf("sum of p50: ctl %.1f us, fd %.1f us, kernel %.1f us; "
	       "kernel/ctl %.3fx, kernel/fd %.3fx\n",
	       sum[0], sum[1], sum[2], sum[2] / sum[0],
	       x.no_fd ? 0 : sum[2] / sum[1]);
	free(x.lat);
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	double secs = 0;
	unsigned long long bytes;

	if (strcmp(m, "sink") == 0 && argc == 3) {
		int l = listener(argv[2], 16);
		int fd = accept(l, NULL, NULL);
		if (fd < 0)
			die("accept");
		bytes = drain_fd(fd, &secs);
		printf("%llu %.6f\n", bytes, secs);
	} else if (strcmp(m, "serve") == 0 && argc == 4) {
		int l = listener(argv[2], 16);
		int fd = accept(l, NULL, NULL);
		if (fd < 0)
			die("accept");
		if (read(fd, buf, 1) != 1)
			die("waiting for the go byte");
		bytes = blast(fd, atof(argv[3]), &secs);
		drain_fd(fd, NULL);
		printf("%llu %.6f\n", bytes, secs);
	} else if (strcmp(m, "send") == 0 && argc == 5) {
		int fd = dial(argv[2], argv[3]);
		bytes = blast(fd, atof(argv[4]), &secs);
		drain_fd(fd, NULL);
		printf("%llu %.6f\n", bytes, secs);
	} else if (strcmp(m, "drain") == 0 && argc == 3) {
		int l = listener(argv[2], 4096);
		for (;;) {
			int fd = accept(l, NULL, NULL);
			if (fd >= 0)
				close(fd);
			else if (errno != EINTR && errno != ECONNABORTED)
				die("accept");
		}
	} else if (strcmp(m, "hold") == 0 && argc == 4) {
		listener(argv[2], atoi(argv[3]));
		for (;;)
			pause();
	} else if (strcmp(m, "connloop") == 0 && argc == 5) {
		long n = atol(argv[4]);
		double t0 = now();
		for (long i = 0; i < n; i++)
			close(dial(argv[2], argv[3]));
		printf("%ld %.6f\n", n, now() - t0);
	} else if ((strcmp(m, "ctlloop") == 0 || strcmp(m, "ctlopen") == 0) &&
		   argc == 6) {
		char path[4096];
		long n = atol(argv[5]);
		bool keep = strcmp(m, "ctlopen") == 0;
		double t0 = now();
		for (long i = 0; i < n; i++) {
			engine_connect(argv[2], argv[3], argv[4], path,
				       sizeof(path));
			if (!keep)
				ctl(path, "close\n");
		}
		printf("%ld %.6f\n", n, now() - t0);
	} else if (strcmp(m, "cloneloop") == 0 && argc == 6) {
		char cmd[128];
		long n = atol(argv[5]);
		snprintf(cmd, sizeof(cmd), "connect %s:%s\n", argv[3], argv[4]);
		double t0 = now();
		for (long i = 0; i < n; i++)
			clone_cycle(argv[2], cmd);
		printf("%ld %.6f\n", n, now() - t0);
	} else if (strcmp(m, "ctlsteps") == 0 && argc == 6) {
		ctlsteps(argv[2], argv[3], argv[4], atol(argv[5]));
	} else if (strcmp(m, "datawrite") == 0 && argc == 4) {
		char path[4096];
		size_t len = (size_t)atol(argv[3]);
		long n = 0;
		double t0 = now();
		snprintf(path, sizeof(path), "%s/engine", argv[2]);
		DIR *d = opendir(path);
		if (!d)
			die(path);
		for (struct dirent *de; (de = readdir(d));) {
			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "%s/engine/%s/data",
				 argv[2], de->d_name);
			int fd = open(path, O_WRONLY);
			if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
				die(path);
			close(fd);
			n++;
		}
		closedir(d);
		printf("%ld %.6f\n", n, now() - t0);
	} else {
		fprintf(stderr,
			"usage: see the comment at the top of tcpio.c\n");
		return 2;
	}
	return 0;
}
