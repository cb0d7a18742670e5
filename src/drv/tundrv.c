/* The engine on its TUN link, driven by the loop: packets, timer, events. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "tcpfs/link.h"
#include "tcpfs/log.h"
#include "tcpfs/loop.h"
#include "tcpfs/nat.h"
#include "tcpfs/num.h"
#include "tcpfs/tso.h"
#include "tcpfs/tundrv.h"
#include "tcpfs/wire.h"

/* Packets read from the device per wakeup: enough to batch, few enough
 * that FUSE requests are not starved. */
#define READ_BATCH 64
/* Packets to the engine's own address wait here, not on the device: at
 * most LOOP_MAX of them (more are lost, as on a full link), delivered in
 * at most LOOP_ROUNDS rounds of a dispatch before the loop runs again. */
#define LOOP_MAX 4096
#define LOOP_ROUNDS 64

/* A packet of the engine to itself. */
struct lpkt {
	struct lpkt *next;
	size_t len;
	uint8_t data[];
};

struct tundrv {
	struct tundrv_config cfg;
	struct loop *loop;
	struct tun *tun;
	struct nat *nat;
	struct impair *out, *in; /* --impair: engine to host, host to engine */
	struct tcp_engine *tcp;
	int timerfd;
	tcp_time armed;
	uint8_t pkt[LINK_MAX_PKT];
	size_t rx_hdr;		    /* headers of the last data read */
	struct tso_train train;	    /* the engine's segments, joined */
	struct lpkt *lo, **lo_tail; /* to the engine itself, oldest first */
	unsigned nlo;
	uint64_t drops, split_bad; /* tundrv_stats's, tun's aside */
};

void tundrv_config_default(struct tundrv_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->tun.name, "tcpfs0");
	cfg->tun.mtu = 1500;
	inet_pton(AF_INET, "198.19.253.1", &cfg->tun.host4);
	cfg->tun.prefix4 = 30;
	inet_pton(AF_INET6, "fdcf:7c9f:7cfa::1", &cfg->tun.host6);
	cfg->tun.prefix6 = 64;
	cfg->tun.route_localnet = true;
	cfg->tun.offload = true;
	inet_pton(AF_INET, "198.19.253.2", &cfg->engine4);
	inet_pton(AF_INET6, "fdcf:7c9f:7cfa::2", &cfg->engine6);
	cfg->msl = 60 * 1000000ull;
	cfg->syn_retries = -1;
	/* A quarter of the memory, as Linux's tcp_mem is a fraction of it;
	 * a uid an eighth of the engine's, so that one alone stays below
	 * the pressure threshold (2/3) that slows every connection. */
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	cfg->mem_max = pages > 0 && page > 0 ?
			       (uint64_t)pages * (uint64_t)page / 4 :
			       1ull << 30;
	cfg->mem_uid = cfg->mem_max / 8;
	cfg->max_conns = 1u << 20;
	cfg->max_conns_uid = cfg->max_conns / 8;
	struct tcp_config tc;
	tcp_config_default(&tc);
	cfg->port_lo = tc.port_lo;
	cfg->port_hi = tc.port_hi;
	cfg->tw_reuse = tc.tw_reuse;
}

tcp_time tundrv_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (tcp_time)ts.tv_sec * 1000000 + (tcp_time)ts.tv_nsec / 1000;
}

/* True if PKT is addressed to the engine itself. */
static bool to_self(const struct tundrv *drv, const uint8_t *pkt, size_t len)
{
	if (len >= 20 && pkt[0] >> 4 == 4)
		return !memcmp(pkt + 16, &drv->cfg.engine4, 4);
	return len >= 40 && pkt[0] >> 4 == 6 &&
	       !memcmp(pkt + 24, &drv->cfg.engine6, 16);
}

/* The IP header length of the engine's packet at P (IPv4 without
 * options, or IPv6): where its TCP checksum's sum starts. */
static size_t iphl_of(const uint8_t *p)
{
	return p[0] >> 4 == 4 ? (size_t)(p[0] & 15) * 4 : 40;
}

/* A packet of the engine to its own address, IOV[0..N) joined, its
 * checksum completed if PARTIAL: queued to go back to the engine (the
 * host would send it back only if it forwards, and then through two
 * copies). */
static void loop_queue(struct tundrv *drv, const struct iovec *iov, int n,
		       bool partial)
{
	size_t len = 0, at = 0;
	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	struct lpkt *p = drv->nlo < LOOP_MAX ? malloc(sizeof(*p) + len) : NULL;
	if (!p) {
		drv->drops++; /* lost: TCP sends it again */
		return;
	}
	for (int i = 0; i < n; at += iov[i].iov_len, i++)
		memcpy(p->data + at, iov[i].iov_base, iov[i].iov_len);
	if (partial)
		wire_csum_complete(p->data, len, iphl_of(p->data), 16);
	p->next = NULL;
	p->len = len;
	if (!drv->lo)
		drv->lo_tail = &drv->lo;
	*drv->lo_tail = p;
	drv->lo_tail = &p->next;
	drv->nlo++;
}

/* A packet out of the engine, its checksums done: to the device, or back
 * to the engine when it is addressed to the engine's own address. */
static void emit(struct tundrv *drv, const uint8_t *pkt, size_t len)
{
	struct iovec iov = {(void *)pkt, len};
	if (!to_self(drv, pkt, len))
		tun_write(drv->tun, pkt, len);
	else
		loop_queue(drv, &iov, 1, false);
}

/* Hand the packets the engine sent itself so far back to it. */
static void loop_back(struct tundrv *drv, tcp_time now)
{
	struct lpkt *p = drv->lo;
	drv->lo = NULL;
	drv->nlo = 0;
	while (p) {
		struct lpkt *next = p->next;
		tcp_input(drv->tcp, p->data, p->len, now);
		free(p);
		p = next;
	}
}

/* Hand every packet due at NOW from IMP to the device or the engine. */
static void flush(struct tundrv *drv, struct impair *imp, tcp_time now)
{
	uint8_t pkt[LINK_MAX_PKT];
	size_t n;
	while ((n = impair_pop(imp, now, pkt, sizeof(pkt))) > 0) {
		if (imp == drv->out)
			emit(drv, pkt, n);
		else
			tcp_input(drv->tcp, pkt, n, now);
	}
}

/* Write the train of segments: one TSO super-packet, or one packet (the
 * engine's output_flush: its payload is about to move). */
static void train_flush(void *ctx)
{
	struct tundrv *drv = ctx;
	struct tso_gso gso;
	if (tso_take(&drv->train, &gso))
		tun_writev(drv->tun, drv->train.iov, drv->train.n, &gso);
}

/* A packet of the engine without offloads, or through --impair's stage,
 * which sees only plain segments. */
static void on_output(void *ctx, const uint8_t *pkt, size_t len)
{
	struct tundrv *drv = ctx;
	if (!drv->out) {
		emit(drv, pkt, len);
		return;
	}
	drv->drops += impair_push(drv->out, pkt, len, tundrv_now()) < 0;
	flush(drv, drv->out, tundrv_now());
}

/* On an offloading device the engine's packets come in pieces (headers,
 * then the payload where it lies in its send queue), their checksums left
 * to the kernel. Data segments wait on the train, their payload where it
 * lies, until one does not join it or the engine flushes (output_flush);
 * any other packet goes at once, its pieces as they lie. */
_Static_assert(TSO_PIECES <= TUN_IOV_MAX, "a train is one write");

static void on_output_partial(void *ctx, const struct iovec *iov, int n)
{
	struct tundrv *drv = ctx;
	const uint8_t *pkt = iov[0].iov_base;
	if (to_self(drv, pkt, iov[0].iov_len)) {
		loop_queue(drv, iov, n, true);
		return;
	}
	if (tso_add(&drv->train, iov, n))
		return;
	train_flush(drv);
	if (tso_add(&drv->train, iov, n))
		return;
	struct tso_gso gso = {.v6 = pkt[0] >> 4 == 6,
			      .csum_start = (uint16_t)iphl_of(pkt),
			      .csum_off = 16};
	tun_writev(drv->tun, iov, n, &gso);
}

/* Called from tcp_dispatch() only, so the owner may call the engine. */
static void on_tcp_ev(void *ctx, uint32_t id, unsigned events)
{
	struct tundrv *drv = ctx;
	if (drv->cfg.tcp_ev)
		drv->cfg.tcp_ev(drv->cfg.ctx, id, events);
}

/* The timer at DEADLINE if that is earlier than it stands. It is never
 * moved later: a timer that fires early costs one round that finds
 * nothing due, and moving it costs a system call in every round that
 * pushes a deadline on (each ACK pushes the RTO). */
static void arm(struct tundrv *drv, tcp_time deadline)
{
	if (deadline >= drv->armed)
		return;
	struct itimerspec its = {0};
	its.it_value.tv_sec = (time_t)(deadline / 1000000);
	its.it_value.tv_nsec = (long)(deadline % 1000000) * 1000;
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1; /* zero would disarm */
	timerfd_settime(drv->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
	drv->armed = deadline;
}

static tcp_time min3(tcp_time a, tcp_time b, tcp_time c)
{
	tcp_time m = a < b ? a : b;
	return m < c ? m : c;
}

/* After every round of the loop (packets, timer, FUSE requests that made
 * engine calls): a dispatch, again after each batch the engine sent
 * itself, then the timer at the next deadline. */
static void dispatch(void *arg)
{
	struct tundrv *drv = arg;
	tcp_time next;
	for (int round = 0;; round++) {
		if (drv->in)
			flush(drv, drv->in, tundrv_now());
		/* it ends with output_flush: the train is out */
		next = tcp_dispatch(drv->tcp, tundrv_now());
		if (drv->out) {
			flush(drv, drv->out, tundrv_now());
			next = min3(next, impair_next(drv->in),
				    impair_next(drv->out));
		}
		if (!drv->lo || round == LOOP_ROUNDS)
			break;
		loop_back(drv, tundrv_now());
	}
	arm(drv, drv->lo ? tundrv_now() : next);
}

static void on_timer(void *arg)
{
	struct tundrv *drv = arg;
	uint64_t n;
	if (read(drv->timerfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		tlog(LOG_WARNING, "engine: timerfd: %s", strerror(errno));
	drv->armed = TCP_NEVER;
}

/* A packet from the host, to the engine or through --impair's stage. */
static void deliver(void *ctx, const uint8_t *pkt, size_t len)
{
	struct tundrv *drv = ctx;
	if (drv->in) {
		drv->drops += impair_push(drv->in, pkt, len, tundrv_now()) < 0;
		flush(drv, drv->in, tundrv_now());
	} else {
		tcp_input(drv->tcp, pkt, len, tundrv_now());
	}
}

/* A packet read from the device: a super-packet (whose checksums the
 * kernel vouches for) goes to the engine whole, as the segments it stands
 * for, and so does a plain packet the kernel vouches for, unchecked; with
 * --impair, whose corruption only checksums catch, each segment is cut
 * out and summed, and goes through the impairments. */
static void on_packet(struct tundrv *drv, uint8_t *pkt, size_t n,
		      const struct tun_rx *rx)
{
	if (!drv->in && rx->trusted) {
		tcp_input_trusted(drv->tcp, pkt, n, rx->gso, tundrv_now());
	} else if (rx->gso) {
		if (wire_tso_split(pkt, n, rx->gso, true, deliver, drv) < 0)
			drv->split_bad++;
	} else {
		if (rx->partial)
			wire_csum_complete(pkt, n, rx->csum_start,
					   rx->csum_off);
		deliver(drv, pkt, n);
	}
}

/* The IP and TCP header length of a TCP packet of N bytes at P the
 * kernel vouches for, with a payload, of which the first AT bytes are at
 * P (the rest was read elsewhere); 0 for any other, or one whose headers
 * pass AT. */
static size_t data_hdr(const uint8_t *p, size_t n, size_t at,
		       const struct tun_rx *rx)
{
	size_t iphl = n >= 40 && at >= 40 ? iphl_of(p) : 0, h;
	if (!rx->trusted || !iphl || n < iphl + 20 || at < iphl + 13 ||
	    p[p[0] >> 4 == 4 ? 9 : 6] != 6 /* TCP */)
		return 0;
	h = iphl + (size_t)(p[iphl + 12] >> 4) * 4;
	return h < n ? h : 0;
}

/* Read one packet with its payload straight into the receive queue of the
 * connection that took data last, where its next bytes go (guessing its
 * headers are HDR bytes long, as its last packet's were): the engine then
 * takes it without a copy. Else the packet is joined in drv->pkt (what
 * landed in the queue's free room copied back) and goes as any other. As
 * tun_read, and *LEN: 0 if taken in place, else the joined length. */
static ssize_t read_placed(struct tundrv *drv, size_t hdr, uint8_t *room,
			   size_t rlen, size_t *len, struct tun_rx *rx)
{
	struct iovec iov[3] = {{drv->pkt, hdr},
			       {room, rlen},
			       {drv->pkt + hdr, sizeof(drv->pkt) - hdr}};
	ssize_t n = tun_readv(drv->tun, iov, 3, rx);
	*len = 0;
	if (n <= 0)
		return n;
	size_t pay = (size_t)n > hdr ? (size_t)n - hdr : 0;
	if (pay && pay <= rlen && !drv->in &&
	    data_hdr(drv->pkt, (size_t)n, hdr, rx) == hdr) {
		drv->rx_hdr = hdr;
		tcp_input_placed(drv->tcp, drv->pkt, hdr, room, pay, rx->gso,
				 tundrv_now());
		return n;
	}
	size_t in_room = pay < rlen ? pay : rlen;
	memmove(drv->pkt + hdr + in_room, drv->pkt + hdr, pay - in_room);
	memcpy(drv->pkt + hdr, room, in_room);
	*len = (size_t)n;
	return n;
}

/* A read says the device is gone (ip link del: EBADFD, and its fd polls
 * readable for ever). Stop watching it, lest the loop spin, and say so;
 * the engine's connections then time out. */
static void device_failed(struct tundrv *drv, int err)
{
	tlog(LOG_ERR,
	     "%s: %s: the engine sends and receives nothing from now on, "
	     "its connections time out (restart tcpfs for a new device)",
	     tun_name(drv->tun), strerror(-err));
	loop_del(drv->loop, tun_fd(drv->tun));
}

static void on_packets(void *arg)
{
	struct tundrv *drv = arg;
	for (int i = 0; i < READ_BATCH; i++) {
		struct tun_rx rx;
		uint8_t *room = NULL;
		size_t n = 0, rlen = drv->rx_hdr && !drv->in ?
					     tcp_rx_landing(drv->tcp, &room) :
					     0;
		ssize_t got = rlen ? read_placed(drv, drv->rx_hdr, room, rlen,
						 &n, &rx) :
				     tun_read(drv->tun, drv->pkt,
					      sizeof(drv->pkt), &rx);
		if (got < 0)
			device_failed(drv, (int)got);
		if (got <= 0)
			break;
		if (rlen && !n)
			continue; /* taken in place */
		if (!rlen)
			n = (size_t)got;
		size_t h = data_hdr(drv->pkt, n, n, &rx);
		if (h)
			drv->rx_hdr = h;
		on_packet(drv, drv->pkt, n, &rx);
	}
}

/* The longest --impair SPEC, and the longest delay (ms, an hour). */
#define IMPAIR_SPEC_MAX 255
#define IMPAIR_DELAY_MAX 3600000

/* --impair SPEC: "loss=PCT,dup=PCT,reorder=PCT,corrupt=PCT,delay=MS,
 * seed=N", the same in both directions (a test option). */
int tundrv_impair_parse(const char *spec, struct impair_config *cfg,
			uint64_t *seed, char *why, size_t whylen)
{
	char buf[IMPAIR_SPEC_MAX + 1], *save, *tok;
	memset(cfg, 0, sizeof(*cfg));
	*seed = 1;
	if (strlen(spec) > IMPAIR_SPEC_MAX) {
		snprintf(why, whylen, "longer than %d characters",
			 IMPAIR_SPEC_MAX);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	int keys = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save), keys++) {
		char *eq = strchr(tok, '=');
		double v;
		if (!eq) {
			snprintf(why, whylen, "'%s' is not KEY=NUMBER", tok);
			return -1;
		}
		*eq = 0;
		const char *val = eq + 1;
		double *pct = !strcmp(tok, "loss")    ? &cfg->loss :
			      !strcmp(tok, "dup")     ? &cfg->duplicate :
			      !strcmp(tok, "reorder") ? &cfg->reorder :
			      !strcmp(tok, "corrupt") ? &cfg->corrupt :
							NULL;
		if (pct && (!num_decimal(val, &v) || v > 100)) {
			snprintf(why, whylen,
				 "%s=%s: not a percentage from 0 to 100", tok,
				 val);
			return -1;
		} else if (pct) {
			*pct = v;
		} else if (!strcmp(tok, "delay")) {
			if (!num_decimal(val, &v) || v > IMPAIR_DELAY_MAX) {
				snprintf(why, whylen,
					 "delay=%s: not a number of ms from 0 "
					 "to %d",
					 val, IMPAIR_DELAY_MAX);
				return -1;
			}
			cfg->delay = (uint64_t)(v * 1000);
		} else if (!strcmp(tok, "seed")) {
			if (!num_whole(val, strlen(val), seed)) {
				snprintf(why, whylen,
					 "seed=%s: not a whole number from 0 "
					 "to 2^64 - 1",
					 val);
				return -1;
			}
		} else {
			snprintf(why, whylen,
				 "unknown key '%s' (loss, dup, "
				 "reorder, corrupt, delay, seed)",
				 tok);
			return -1;
		}
	}
	if (!keys) {
		snprintf(why, whylen,
			 "empty: it would impair nothing (give "
			 "KEY=NUMBER,...)");
		return -1;
	}
	return 0;
}

static int impair_open(struct tundrv *drv, const char *spec, char *why,
		       size_t whylen)
{
	struct impair_config ic;
	uint64_t seed;
	char bad[160];
	if (tundrv_impair_parse(spec, &ic, &seed, bad, sizeof(bad)) < 0) {
		snprintf(why, whylen, "--impair: %s", bad);
		return -1;
	}
	if (!ic.loss && !ic.duplicate && !ic.reorder && !ic.corrupt &&
	    !ic.delay) { /* "loss=$P" with P=0 in a script, say */
		tlog(LOG_NOTICE,
		     "--impair %s impairs nothing: the engine's link is "
		     "left as it is",
		     spec);
		return 0;
	}
	/* a queue as deep as a real interface's: the rates drop, and a queue
	 * a fast sender overruns (counted in link_drops) */
	ic.queue_max = 4u << 20;
	drv->out = impair_new(&ic, seed);
	drv->in = impair_new(&ic, seed + 1);
	if (!drv->out || !drv->in) {
		snprintf(why, whylen, "--impair: %s", strerror(errno));
		return -1;
	}
	tlog(LOG_WARNING,
	     "test option --impair %s: the engine's link loses, "
	     "duplicates, reorders or corrupts packets on purpose",
	     spec);
	return 0;
}

static struct tcp_engine *new_engine(struct tundrv *drv)
{
	struct tcp_config tc;
	tcp_config_default(&tc);
	tc.addr4.family = AF_INET;
	memcpy(tc.addr4.a, &drv->cfg.engine4, 4);
	tc.addr6.family = AF_INET6;
	memcpy(tc.addr6.a, &drv->cfg.engine6, 16);
	/* IPv4's MSS; the engine takes 20 more off for IPv6's header */
	tc.mss = (uint16_t)(drv->cfg.tun.mtu - 40);
	tc.msl = drv->cfg.msl;
	if (drv->cfg.syn_retries >= 0)
		tc.syn_retries = (unsigned)drv->cfg.syn_retries;
	tc.max_conns = drv->cfg.max_conns;
	tc.max_conns_owner = drv->cfg.max_conns_uid;
	tc.mem_max = drv->cfg.mem_max;
	tc.mem_owner = drv->cfg.mem_uid;
	tc.port_lo = drv->cfg.port_lo;
	tc.port_hi = drv->cfg.port_hi;
	tc.tw_reuse = drv->cfg.tw_reuse;
	/* RFC 6528 §3: a random secret of 128 bits; 16 bytes never come
	 * short from getrandom() (at most 256 are atomic) */
	if (getrandom(tc.key, sizeof(tc.key), 0) != (ssize_t)sizeof(tc.key))
		return NULL;
	/* with offloads the kernel sums and joins; --impair needs whole
	 * packets, their checksums done, to corrupt and to check */
	if (tun_offload(drv->tun) && !drv->out) {
		tc.output_partial = on_output_partial;
		tc.output_flush = train_flush;
	} else
		tc.output = on_output;
	tc.event = on_tcp_ev;
	tc.ctx = drv;
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

/* Whether A (network order) is on T's IPv4 link. */
static bool on_link4(const struct tun_config *t, uint32_t a)
{
	return (a & mask4(t->prefix4)) == link_net4(t).s_addr;
}

/* Whether A is the broadcast address of T's IPv4 link (a /31 or /32 has
 * none). */
static bool link_broadcast4(const struct tun_config *t, uint32_t a)
{
	return t->prefix4 < 31 &&
	       a == (link_net4(t).s_addr | ~mask4(t->prefix4));
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

/* Whether A, in T's IPv6 prefix, is its Subnet-Router anycast address (RFC
 * 4291 §2.6.1: the prefix, every other bit 0; a /127 or /128 has none). */
static bool link_anycast6(const struct tun_config *t, const uint8_t *a)
{
	if (t->prefix6 >= 127)
		return false;
	for (unsigned i = t->prefix6; i < 128; i++)
		if (a[i / 8] & 0x80 >> (i % 8))
			return false;
	return true;
}

bool tundrv_engine_on_link(const struct tundrv_config *cfg, int af)
{
	const struct tun_config *t = &cfg->tun;
	if (af == AF_INET6)
		return in_prefix6(cfg->engine6.s6_addr, &t->host6,
				  t->prefix6) &&
		       memcmp(&cfg->engine6, &t->host6, sizeof(t->host6));
	uint32_t e = cfg->engine4.s_addr;
	bool net = t->prefix4 < 31 && e == link_net4(t).s_addr;
	return on_link4(t, e) && e != t->host4.s_addr && !net &&
	       !link_broadcast4(t, e);
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

int tundrv_route(struct tundrv *drv, const struct wire_ep *dst,
		 const char **why)
{
	const struct tun_config *t = &drv->cfg.tun;
	if (dst->family == AF_INET) {
		uint32_t a;
		memcpy(&a, dst->a, 4);
		if (link_broadcast4(t, a)) {
			*why = "the engine's link's broadcast address (RFC 9293 "
			       "MUST-46: no connection to a broadcast or "
			       "multicast address)";
			return -EINVAL;
		}
		if (t->prefix4 < 31 && a == link_net4(t).s_addr) {
			*why = "the engine's link's network address, which no "
			       "host has (RFC 1122 §3.2.1.3)";
			return -EINVAL;
		}
		if (drv->nat || on_link4(t, a) ||
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
	bool on_link = in_prefix6(dst->a, &t->host6, t->prefix6);
	if (on_link && link_anycast6(t, dst->a)) {
		*why = "the engine's link's Subnet-Router anycast address, "
		       "which no host answers (RFC 4291 §2.6.1)";
		return -EINVAL;
	}
	if (on_link || host_address(dst))
		return 0;
	*why = "not an address of this host or of the engine's link "
	       "(IPv6 has no --nat)";
	return -ENETUNREACH;
}

struct tundrv *tundrv_new(struct loop *loop, const struct tundrv_config *cfg,
			  char *why, size_t whylen)
{
	struct tundrv *drv = calloc(1, sizeof(*drv));
	if (!drv) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	drv->cfg = *cfg;
	drv->loop = loop;
	drv->armed = TCP_NEVER;
	drv->timerfd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (drv->timerfd < 0) {
		snprintf(why, whylen, "timerfd: %s", strerror(errno));
		tundrv_free(drv);
		return NULL;
	}
	drv->tun = tun_open(&cfg->tun, why, whylen);
	if (drv->tun && cfg->nat)
		drv->nat = nat_open(tun_name(drv->tun), link_net4(&cfg->tun),
				    cfg->tun.prefix4, why, whylen);
	if (!drv->tun || (cfg->nat && !drv->nat)) {
		int err = errno; /* tun_open's, for the caller */
		tundrv_free(drv);
		errno = err;
		return NULL;
	}
	if (cfg->impair && impair_open(drv, cfg->impair, why, whylen) < 0) {
		tundrv_free(drv);
		return NULL;
	}
	drv->tcp = new_engine(drv);
	int err = drv->tcp ? 0 : errno ? -errno : -ENOMEM;
	if (!err &&
	    !(err = loop_add(loop, tun_fd(drv->tun), on_packets, drv)) &&
	    !(err = loop_add(loop, drv->timerfd, on_timer, drv)))
		err = loop_after(loop, dispatch, drv);
	if (err < 0) {
		snprintf(why, whylen, "engine: %s", strerror(-err));
		tundrv_free(drv);
		return NULL;
	}
	return drv;
}

void tundrv_free(struct tundrv *drv)
{
	if (!drv)
		return;
	nat_close(drv->nat);
	loop_after_del(drv->loop, dispatch, drv);
	if (drv->tun) {
		loop_del(drv->loop, tun_fd(drv->tun));
		tun_close(drv->tun);
	}
	impair_free(drv->out);
	impair_free(drv->in);
	if (drv->timerfd >= 0) {
		loop_del(drv->loop, drv->timerfd);
		close(drv->timerfd);
	}
	if (drv->tcp)
		tcp_engine_free(drv->tcp);
	for (struct lpkt *p = drv->lo, *next; p; p = next) {
		next = p->next;
		free(p);
	}
	free(drv);
}

void tundrv_set_tcp_ev(struct tundrv *drv,
		       void (*tcp_ev)(void *ctx, uint32_t id, unsigned events),
		       void *ctx)
{
	drv->cfg.tcp_ev = tcp_ev;
	drv->cfg.ctx = ctx;
}

void tundrv_stats_get(const struct tundrv *drv, struct tundrv_stats *out)
{
	struct tun_stats t;
	tun_stats_get(drv->tun, &t);
	out->rx_malformed = t.rx_malformed + drv->split_bad;
	out->tx_errors = t.tx_errors;
	out->drops = drv->drops;
	for (int i = 0; i < 2; i++) { /* --impair's queues overrun */
		struct impair_stats st;
		const struct impair *imp = i ? drv->in : drv->out;
		if (imp) {
			impair_stats_get(imp, &st);
			out->drops += st.queue_drops;
		}
	}
}

struct tcp_engine *tundrv_tcp(struct tundrv *drv)
{
	return drv->tcp;
}
