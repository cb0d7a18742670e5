/* kbpf_probe: drive the kbpf backend from the shell, for kernel_bpf.sh and
 * bench/kernel_bpf.sh. Plain text out, one fact per line.
 *
 *   kbpf_probe open
 *	"ok", or "error ERRNO REASON" and exit 2
 *   kbpf_probe seq LADDR LPORT RADDR RPORT [COOKIE]
 *	"kind=full state=ESTABLISHED cookie=N snd_una=N ..." (valid fields
 *	only, decimal), or "error ERRNO" and exit 3
 *   kbpf_probe events SECONDS
 *	watch the current namespace; print "ready netns=N", then one line
 *	per event for SECONDS, then "lost=N"
 *   kbpf_probe count
 *	watch the current namespace, print "ready netns=N", count events
 *	until stdin closes, then print "events=N lost=N"
 *   kbpf_probe serve EVENTFILE
 *	the same with one kbpf for events and lookups (iss and irs come from
 *	the handshakes it saw): events go to EVENTFILE, "ready netns=N" and
 *	the answers to "seq LADDR LPORT RADDR RPORT [COOKIE]" lines on stdin
 *	to stdout; at the end of stdin, "lost=N" to EVENTFILE
 *   kbpf_probe seqbench LADDR LPORT RADDR RPORT N
 *	N lookups by kbpf_seq, then N by diag_get: "kbpf_us=X diag_us=Y" */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tcpfs/diag.h"
#include "tcpfs/kbpf.h"

/* NAMES[I], or "unknown" if I is out of range or unnamed. */
static const char *name_of(const char *const *names, size_t n, unsigned i)
{
	return i < n && names[i] ? names[i] : "unknown";
}

static const char *kind_name(int kind)
{
	static const char *const names[] = {
		[KBPF_FULL] = "full",
		[KBPF_REQUEST] = "request",
		[KBPF_TIMEWAIT] = "timewait",
	};
	return name_of(names, sizeof(names) / sizeof(names[0]), kind);
}

static int parse_addr(const char *s, uint8_t *family, uint8_t a[16])
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET, s, a) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

static int parse_tuple(char **argv, struct kbpf_tuple *t)
{
	uint8_t f2;

	if (parse_addr(argv[0], &t->family, t->src) < 0 ||
	    parse_addr(argv[2], &f2, t->dst) < 0 || f2 != t->family) {
		fprintf(stderr, "kbpf_probe: bad address\n");
		return -1;
	}
	t->sport = atoi(argv[1]);
	t->dport = atoi(argv[3]);
	return 0;
}

static struct kbpf *open_or_die(void)
{
	char why[256];
	struct kbpf *k = kbpf_open(why, sizeof(why));

	if (!k) {
		printf("error %s %s\n", strerrorname_np(errno), why);
		exit(2);
	}
	return k;
}

static void field(FILE *f, uint32_t has, uint32_t bit, const char *name,
		  uint32_t v)
{
	if (has & bit)
		fprintf(f, " %s=%" PRIu32, name, v);
}

static void print_seq(const struct kbpf_seq *s)
{
	printf("kind=%s state=%s", kind_name(s->kind),
	       diag_state_name(s->state));
	if (s->substate)
		printf(" substate=%s", diag_state_name(s->substate));
	printf(" cookie=%" PRIu64, s->cookie);
	field(stdout, s->has, KBPF_SND_UNA, "snd_una", s->snd_una);
	field(stdout, s->has, KBPF_SND_NXT, "snd_nxt", s->snd_nxt);
	field(stdout, s->has, KBPF_RCV_NXT, "rcv_nxt", s->rcv_nxt);
	field(stdout, s->has, KBPF_SND_WL1, "snd_wl1", s->snd_wl1);
	field(stdout, s->has, KBPF_WRITE_SEQ, "write_seq", s->write_seq);
	field(stdout, s->has, KBPF_COPIED_SEQ, "copied_seq", s->copied_seq);
	field(stdout, s->has, KBPF_ISS, "iss", s->iss);
	field(stdout, s->has, KBPF_IRS, "irs", s->irs);
	printf("\n");
}

static const char *ev_name(int type)
{
	static const char *const names[] = {
		[KBPF_EV_STATE] = "state",
		[KBPF_EV_RESET_SENT] = "rst_sent",
		[KBPF_EV_RESET_RECV] = "rst_recv",
		[KBPF_EV_RETRANS] = "retrans",
	};
	return name_of(names, sizeof(names) / sizeof(names[0]), type);
}

static void print_event(const struct kbpf_event *e, void *arg)
{
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];
	FILE *f = arg ? arg : stdout;

	inet_ntop(e->tuple.family, e->tuple.src, l, sizeof(l));
	inet_ntop(e->tuple.family, e->tuple.dst, r, sizeof(r));
	fprintf(f,
		"%s ts=%" PRIu64 " netns=%" PRIu64 " cookie=%" PRIu64
		" local=%s:%u remote=%s:%u state=%s",
		ev_name(e->type), e->ts_ns, e->netns, e->cookie, l,
		e->tuple.sport, r, e->tuple.dport, diag_state_name(e->state));
	if (e->type == KBPF_EV_STATE)
		fprintf(f, " from=%s to=%s", diag_state_name(e->from),
			diag_state_name(e->to));
	field(f, e->has, KBPF_SND_UNA, "snd_una", e->snd_una);
	field(f, e->has, KBPF_SND_NXT, "snd_nxt", e->snd_nxt);
	field(f, e->has, KBPF_RCV_NXT, "rcv_nxt", e->rcv_nxt);
	field(f, e->has, KBPF_ISS, "iss", e->iss);
	field(f, e->has, KBPF_IRS, "irs", e->irs);
	field(f, e->has, KBPF_SEQ, "seq", e->seq);
	field(f, e->has, KBPF_SEQ, "end_seq", e->end_seq);
	fprintf(f, "\n");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int watch_self(struct kbpf *k)
{
	uint64_t ns;
	int err;

	if ((err = kbpf_netns_self(&ns)) < 0 ||
	    (err = kbpf_watch_netns(k, ns)) < 0) {
		printf("error %s\n", strerrorname_np(-err));
		return -1;
	}
	printf("ready netns=%" PRIu64 "\n", ns);
	fflush(stdout);
	return 0;
}

static void drain(struct kbpf *k, FILE *f)
{
	kbpf_drain(k, print_event, f);
	fflush(f);
}

static int cmd_events(struct kbpf *k, double secs)
{
	struct pollfd p = {.fd = kbpf_fd(k), .events = POLLIN};
	double end = now_s() + secs, left;

	if (watch_self(k) < 0)
		return 3;
	while ((left = end - now_s()) > 0) {
		if (poll(&p, 1, left * 1000 + 1) < 0 && errno != EINTR)
			return 3;
		drain(k, stdout);
	}
	drain(k, stdout);
	printf("lost=%" PRIu64 "\n", kbpf_lost(k));
	return 0;
}

static void count_event(const struct kbpf_event *e, void *arg)
{
	(void)e;
	++*(uint64_t *)arg;
}

static int cmd_count(struct kbpf *k)
{
	struct pollfd p[2] = {{.fd = kbpf_fd(k), .events = POLLIN},
			      {.fd = 0, .events = POLLIN}};
	uint64_t n = 0;
	char c;

	if (watch_self(k) < 0)
		return 3;
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 3;
		kbpf_drain(k, count_event, &n);
		if (p[1].revents && read(0, &c, 1) <= 0)
			break;
	}
	kbpf_drain(k, count_event, &n);
	printf("events=%" PRIu64 " lost=%" PRIu64 "\n", n, kbpf_lost(k));
	return 0;
}

/* One "seq ..." command line: answer it on stdout. */
static void serve_line(struct kbpf *k, char *line)
{
	char *w[8];
	int n = 0;
	struct kbpf_tuple t = {0};
	struct kbpf_seq s;
	int err;

	for (char *tok = strtok(line, " \t\n"); tok && n < 8;
	     tok = strtok(NULL, " \t\n"))
		w[n++] = tok;
	if ((n != 5 && n != 6) || strcmp(w[0], "seq") ||
	    parse_tuple(w + 1, &t) < 0) {
		printf("error EINVAL\n");
		return;
	}
	err = kbpf_seq(k, &t, 0, n == 6 ? strtoull(w[5], 0, 0) : 0, &s);
	if (err < 0)
		printf("error %s\n", strerrorname_np(-err));
	else
		print_seq(&s);
}

static int cmd_serve(struct kbpf *k, const char *path)
{
	struct pollfd p[2] = {{.fd = kbpf_fd(k), .events = POLLIN},
			      {.fd = 0, .events = POLLIN}};
	FILE *f = fopen(path, "w");
	char line[512];

	if (!f) {
		printf("error %s\n", strerrorname_np(errno));
		return 3;
	}
	if (watch_self(k) < 0)
		return 3;
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 3;
		drain(k, f);
		if (p[1].revents) {
			/* one command per line, answered before the next */
			if (!fgets(line, sizeof(line), stdin))
				break;
			serve_line(k, line);
			fflush(stdout);
		}
	}
	drain(k, f);
	fprintf(f, "lost=%" PRIu64 "\n", kbpf_lost(k));
	fclose(f);
	return 0;
}

static int cmd_seqbench(struct kbpf *k, const struct kbpf_tuple *t, long n)
{
	struct diag *d = diag_open();
	struct diag_key key = {
		.family = t->family, .sport = t->sport, .dport = t->dport};
	struct diag_sock ds;
	struct kbpf_seq s;
	double t0, t1, t2;
	long i;
	int err;

	if (!d) {
		printf("error diag_open %s\n", strerrorname_np(errno));
		return 3;
	}
	memcpy(key.src, t->src, 16);
	memcpy(key.dst, t->dst, 16);
	if ((err = kbpf_seq(k, t, 0, 0, &s)) < 0) {
		printf("error %s\n", strerrorname_np(-err));
		return 3;
	}
	key.cookie = s.cookie;
	t0 = now_s();
	for (i = 0; i < n; i++)
		if (kbpf_seq(k, t, 0, s.cookie, &s) < 0)
			return 3;
	t1 = now_s();
	for (i = 0; i < n; i++)
		if (diag_get(d, &key, &ds, true) < 0)
			return 3;
	t2 = now_s();
	printf("kbpf_us=%.2f diag_us=%.2f\n", (t1 - t0) * 1e6 / n,
	       (t2 - t1) * 1e6 / n);
	diag_close(d);
	return 0;
}

int main(int argc, char **argv)
{
	struct kbpf_tuple t = {0};
	struct kbpf_seq s;
	struct kbpf *k;
	int rc = 0, err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		goto usage;
	if (!strcmp(argv[1], "open")) {
		k = open_or_die();
		printf("ok\n");
	} else if (!strcmp(argv[1], "seq") && (argc == 6 || argc == 7)) {
		if (parse_tuple(argv + 2, &t) < 0)
			return 1;
		k = open_or_die();
		err = kbpf_seq(k, &t, 0,
			       argc == 7 ? strtoull(argv[6], 0, 0) : 0, &s);
		if (err < 0) {
			printf("error %s\n", strerrorname_np(-err));
			rc = 3;
		} else {
			print_seq(&s);
		}
	} else if (!strcmp(argv[1], "events") && argc == 3) {
		k = open_or_die();
		rc = cmd_events(k, atof(argv[2]));
	} else if (!strcmp(argv[1], "count") && argc == 2) {
		k = open_or_die();
		rc = cmd_count(k);
	} else if (!strcmp(argv[1], "serve") && argc == 3) {
		k = open_or_die();
		rc = cmd_serve(k, argv[2]);
	} else if (!strcmp(argv[1], "seqbench") && argc == 7) {
		if (parse_tuple(argv + 2, &t) < 0)
			return 1;
		k = open_or_die();
		rc = cmd_seqbench(k, &t, atol(argv[6]));
	} else {
		goto usage;
	}
	kbpf_close(k);
	return rc;
usage:
	fprintf(stderr,
		"usage: kbpf_probe open | seq LADDR LPORT RADDR RPORT "
		"[COOKIE] | events SECONDS | count | serve EVENTFILE | seqbench LADDR LPORT "
		"RADDR RPORT N\n");
	return 1;
}
