/* The engine on its TUN link, driven by the loop: packets, timer, events. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "tcpfs/link.h"
#include "tcpfs/log.h"
#include "tcpfs/loop.h"
#include "tcpfs/nat.h"
#include "tcpfs/stack.h"

/* Packets read from the device per wakeup: enough to batch, few enough
 * that FUSE requests are not starved. */
#define READ_BATCH 64
#define PKT_MAX 65536

struct stack {
	struct stack_config cfg;
	struct loop *loop;
	struct tun *tun;
	struct nat *nat;
	struct impair *out, *in; /* --impair: engine to host, host to engine */
	struct tcp_engine *tcp;
	int timerfd;
	tcp_time armed;
	uint8_t pkt[PKT_MAX];
};

void stack_config_default(struct stack_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->tun.name, "tcpfs0");
	cfg->tun.mtu = 1500;
	inet_pton(AF_INET, "198.19.253.1", &cfg->tun.host4);
	cfg->tun.prefix4 = 30;
	inet_pton(AF_INET6, "fdcf:7c9f:7cfa::1", &cfg->tun.host6);
	cfg->tun.prefix6 = 64;
	cfg->tun.route_localnet = true;
	inet_pton(AF_INET, "198.19.253.2", &cfg->engine4);
	inet_pton(AF_INET6, "fdcf:7c9f:7cfa::2", &cfg->engine6);
	cfg->msl = 60 * 1000000ull;
	cfg->syn_retries = -1;
}

tcp_time stack_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (tcp_time)ts.tv_sec * 1000000 + (tcp_time)ts.tv_nsec / 1000;
}

/* Hand every packet due at NOW from IMP to the device or the engine. */
static void flush(struct stack *st, struct impair *imp, tcp_time now)
{
	uint8_t pkt[LINK_MAX_PKT];
	size_t n;
	while ((n = impair_pop(imp, now, pkt, sizeof(pkt))) > 0) {
		if (imp == st->out)
			tun_write(st->tun, pkt, n);
		else
			tcp_input(st->tcp, pkt, n, now);
	}
}

static void on_output(void *ctx, const uint8_t *pkt, size_t len)
{
	struct stack *st = ctx;
	if (!st->out) {
		tun_write(st->tun, pkt, len);
		return;
	}
	impair_push(st->out, pkt, len, stack_now());
	flush(st, st->out, stack_now());
}

/* Called from tcp_dispatch() only, so the owner may call the engine. */
static void on_event(void *ctx, uint32_t id, unsigned events)
{
	struct stack *st = ctx;
	if (st->cfg.event)
		st->cfg.event(st->cfg.ctx, id, events);
}

static void arm(struct stack *st, tcp_time deadline)
{
	if (deadline == st->armed)
		return;
	struct itimerspec its = {0};
	if (deadline != TCP_NEVER) {
		its.it_value.tv_sec = (time_t)(deadline / 1000000);
		its.it_value.tv_nsec = (long)(deadline % 1000000) * 1000;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1; /* zero would disarm */
	}
	timerfd_settime(st->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
	st->armed = deadline;
}

static tcp_time min3(tcp_time a, tcp_time b, tcp_time c)
{
	tcp_time m = a < b ? a : b;
	return m < c ? m : c;
}

/* After every round of the loop (packets, timer, FUSE requests that made
 * engine calls): one dispatch, then the timer at the next deadline. */
static void dispatch(void *arg)
{
	struct stack *st = arg;
	if (st->in)
		flush(st, st->in, stack_now());
	tcp_time next = tcp_dispatch(st->tcp, stack_now());
	if (st->out) {
		flush(st, st->out, stack_now());
		next = min3(next, impair_next(st->in), impair_next(st->out));
	}
	arm(st, next);
}

static void on_timer(void *arg)
{
	struct stack *st = arg;
	uint64_t n;
	if (read(st->timerfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		tlog(LOG_WARNING, "engine: timerfd: %s", strerror(errno));
	st->armed = TCP_NEVER;
}

static void on_packets(void *arg)
{
	struct stack *st = arg;
	for (int i = 0; i < READ_BATCH; i++) {
		ssize_t n = tun_read(st->tun, st->pkt, sizeof(st->pkt));
		if (n <= 0)
			break;
		if (st->in) {
			impair_push(st->in, st->pkt, (size_t)n, stack_now());
			flush(st, st->in, stack_now());
		} else {
			tcp_input(st->tcp, st->pkt, (size_t)n, stack_now());
		}
	}
}

/* --impair SPEC: "loss=PCT,dup=PCT,reorder=PCT,corrupt=PCT,delay=MS,
 * seed=N", the same in both directions (a test option). */
int stack_impair_parse(const char *spec, struct impair_config *cfg,
		       uint64_t *seed, char *why, size_t whylen)
{
	char buf[256], *save, *tok;
	memset(cfg, 0, sizeof(*cfg));
	*seed = 1;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		double v = eq ? strtod(eq + 1, &end) : -1;
		if (!eq || end == eq + 1 || *end || v < 0) {
			snprintf(why, whylen, "'%s' is not KEY=NUMBER", tok);
			return -1;
		}
		*eq = 0;
		if (v > 100 && strcmp(tok, "delay") && strcmp(tok, "seed")) {
			snprintf(why, whylen, "%s=%g: a percentage is 0 to 100",
				 tok, v);
			return -1;
		}
		if (strcmp(tok, "loss") == 0)
			cfg->loss = v;
		else if (strcmp(tok, "dup") == 0)
			cfg->duplicate = v;
		else if (strcmp(tok, "reorder") == 0)
			cfg->reorder = v;
		else if (strcmp(tok, "corrupt") == 0)
			cfg->corrupt = v;
		else if (strcmp(tok, "delay") == 0)
			cfg->delay = (uint64_t)(v * 1000);
		else if (strcmp(tok, "seed") == 0)
			*seed = (uint64_t)v;
		else {
			snprintf(why, whylen,
				 "unknown key '%s' (loss, dup, "
				 "reorder, corrupt, delay, seed)",
				 tok);
			return -1;
		}
	}
	return 0;
}

static int impair_open(struct stack *st, const char *spec, char *why,
		       size_t whylen)
{
	struct impair_config ic;
	uint64_t seed;
	char bad[160];
	if (stack_impair_parse(spec, &ic, &seed, bad, sizeof(bad)) < 0) {
		snprintf(why, whylen, "--impair: %s", bad);
		return -1;
	}
	/* a queue as deep as a real interface's, so only the rates drop */
	ic.queue_max = 4u << 20;
	st->out = impair_new(&ic, seed);
	st->in = impair_new(&ic, seed + 1);
	if (!st->out || !st->in) {
		snprintf(why, whylen, "--impair: %s", strerror(errno));
		return -1;
	}
	tlog(LOG_WARNING,
	     "test option --impair %s: the engine's link loses, "
	     "duplicates, reorders or corrupts packets on purpose",
	     spec);
	return 0;
}

static struct tcp_engine *new_engine(struct stack *st)
{
	struct tcp_config tc;
	tcp_config_default(&tc);
	tc.addr4.family = AF_INET;
	memcpy(tc.addr4.a, &st->cfg.engine4, 4);
	tc.addr6.family = AF_INET6;
	memcpy(tc.addr6.a, &st->cfg.engine6, 16);
	/* IPv4's MSS; the engine takes 20 more off for IPv6's header */
	tc.mss = (uint16_t)(st->cfg.tun.mtu - 40);
	tc.msl = st->cfg.msl;
	if (st->cfg.syn_retries >= 0)
		tc.syn_retries = (unsigned)st->cfg.syn_retries;
	tc.seed = stack_now() ^ ((uint64_t)getpid() << 32);
	tc.output = on_output;
	tc.event = on_event;
	tc.ctx = st;
	return tcp_engine_new(&tc);
}

static uint32_t mask4(unsigned prefix)
{
	return prefix ? htonl(~0u << (32 - prefix)) : 0;
}

static struct in_addr link_net4(const struct tun_config *t)
{
	return (struct in_addr){t->host4.s_addr & mask4(t->prefix4)};
}

static bool in_prefix6(const uint8_t *a, const struct in6_addr *net,
		       unsigned prefix)
{
	for (unsigned i = 0; i < prefix; i++) {
		unsigned byte = i / 8, bit = 0x80 >> (i % 8);
		if ((a[byte] & bit) != (net->s6_addr[byte] & bit))
			return false;
	}
	return true;
}

/* True if DST is an address of this host (any interface). */
static bool host_address(const struct wire_ep *dst)
{
	struct ifaddrs *ifa, *i;
	bool found = false;
	if (getifaddrs(&ifa) < 0)
		return true; /* cannot tell: let the SYN try */
	for (i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != dst->family)
			continue;
		const void *a =
			dst->family == AF_INET ?
				(const void *)&(
					(struct sockaddr_in *)i->ifa_addr)
					->sin_addr :
				(const void *)&(
					(struct sockaddr_in6 *)i->ifa_addr)
					->sin6_addr;
		found = memcmp(a, dst->a, dst->family == AF_INET ? 4 : 16) == 0;
	}
	freeifaddrs(ifa);
	return found;
}

int stack_route(struct stack *st, const struct wire_ep *dst, const char **why)
{
	const struct tun_config *t = &st->cfg.tun;
	if (dst->family == AF_INET) {
		uint32_t a;
		memcpy(&a, dst->a, 4);
		if (st->nat || (a & mask4(t->prefix4)) == link_net4(t).s_addr ||
		    ((ntohl(a) >> 24) == 127 && t->route_localnet) ||
		    host_address(dst))
			return 0;
		*why = "not an address of this host or of the engine's link "
		       "(--nat lets the engine reach other hosts)";
		return -ENETUNREACH;
	}
	if (memcmp(dst->a, &in6addr_loopback, 16) == 0) {
		*why = "::1 cannot be reached from the TUN link (IPv6 has no "
		       "route_localnet); use the host's address on it";
		return -ENETUNREACH;
	}
	if (in_prefix6(dst->a, &t->host6, t->prefix6) || host_address(dst))
		return 0;
	*why = "not an address of this host or of the engine's link "
	       "(IPv6 has no --nat)";
	return -ENETUNREACH;
}

struct stack *stack_new(struct loop *loop, const struct stack_config *cfg,
			char *why, size_t whylen)
{
	struct stack *st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	st->cfg = *cfg;
	st->loop = loop;
	st->armed = TCP_NEVER;
	st->timerfd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	st->tun = tun_open(&cfg->tun, why, whylen);
	if (st->tun && cfg->nat)
		st->nat = nat_open(cfg->tun.name, link_net4(&cfg->tun),
				   cfg->tun.prefix4, why, whylen);
	if (!st->tun || (cfg->nat && !st->nat) || st->timerfd < 0) {
		if (st->timerfd < 0)
			snprintf(why, whylen, "timerfd: %s", strerror(errno));
		stack_free(st);
		return NULL;
	}
	if (cfg->impair && impair_open(st, cfg->impair, why, whylen) < 0) {
		stack_free(st);
		return NULL;
	}
	st->tcp = new_engine(st);
	if (!st->tcp || loop_add(loop, tun_fd(st->tun), on_packets, st) < 0 ||
	    loop_add(loop, st->timerfd, on_timer, st) < 0 ||
	    loop_after(loop, dispatch, st) < 0) {
		snprintf(why, whylen, "engine: %s", strerror(errno));
		stack_free(st);
		return NULL;
	}
	return st;
}

void stack_free(struct stack *st)
{
	if (!st)
		return;
	nat_close(st->nat);
	loop_after_del(st->loop, dispatch, st);
	if (st->tun) {
		loop_del(st->loop, tun_fd(st->tun));
		tun_close(st->tun);
	}
	impair_free(st->out);
	impair_free(st->in);
	if (st->timerfd >= 0) {
		loop_del(st->loop, st->timerfd);
		close(st->timerfd);
	}
	if (st->tcp)
		tcp_engine_free(st->tcp);
	free(st);
}

struct tcp_engine *stack_tcp(struct stack *st)
{
	return st->tcp;
}
