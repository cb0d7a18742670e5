/* tcpfs kbpf: the loader (libbpf, the bpftool skeleton of kbpf.bpf.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "kbpf.skel.h"
#include "kbpf_abi.h"
#include "kbpf_isn.h"
#include "tcpfs/kbpf.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#define TCP_FIN_WAIT2 5
#define TCP_TIME_WAIT 6
#define TCP_CLOSE 7

struct kbpf {
	struct kbpf_skel *skel;
	struct kbpf_isn_tab isn; /* of the handshakes events showed */
	pthread_mutex_t lock;	 /* of isn: kbpf_seq() may run elsewhere */
	uint64_t next_purge;	 /* ns: when to drop ended TIME_WAIT entries */
	uint64_t misses;	 /* the programs' recursion misses, last read */
	uint64_t next_misses;	 /* ns: when to read them again */
	struct ring_buffer *rb;
	int epfd, tfd;
	int seq_fd;
	unsigned int nwatch;
	bool asleep; /* the timer stopped until a record wakes the drain */
	/* the drain in progress */
	kbpf_event_cb cb;
	void *arg;
};

/* The timer's tag in the drain's epoll set (the ring's is 0). */
#define TICK 1u

/* The test-run packet: Ethernet header, request, room for the answer. */
#define REQ_OFF KBPF_ETH_HLEN
#define RESP_OFF (REQ_OFF + sizeof(struct kbpf_abi_req))
#define PKT_LEN (RESP_OFF + sizeof(struct kbpf_abi_resp))

/* ---- open ---- */

/* The last libbpf warning while kbpf_open() runs, for the reason. */
static __thread char last_warn[160];

static int capture_print(enum libbpf_print_level level, const char *fmt,
			 va_list ap)
{
	if (level == LIBBPF_WARN) {
		vsnprintf(last_warn, sizeof(last_warn), fmt, ap);
		last_warn[strcspn(last_warn, "\n")] = '\0';
	}
	return 0;
}

static bool has_cap(const struct __user_cap_data_struct d[2], int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

/* 0 if the effective set may load and attach the programs, else -EPERM. */
static int check_caps(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {0};

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	if (has_cap(d, CAP_SYS_ADMIN))
		return 0;
	if (has_cap(d, CAP_BPF) && has_cap(d, CAP_PERFMON) &&
	    has_cap(d, CAP_NET_ADMIN))
		return 0;
	return -EPERM;
}

static struct kbpf *fail(struct kbpf *k, int err, char *why, size_t whylen,
			 const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static struct kbpf *fail(struct kbpf *k, int err, char *why, size_t whylen,
			 const char *fmt, ...)
{
	va_list ap;

	if (whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	kbpf_close(k);
	errno = err;
	return NULL;
}

static int on_record(void *ctx, void *data, size_t len);

struct kbpf *kbpf_open(char *why, size_t whylen)
{
	libbpf_print_fn_t old;
	struct epoll_event ev = {.events = EPOLLIN};
	struct epoll_event tick = {.events = EPOLLIN, .data.u32 = TICK};
	struct kbpf *k;
	int err;

	if (whylen)
		why[0] = '\0';
	if (check_caps() < 0)
		return fail(NULL, EPERM, why, whylen,
			    "kbpf needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN "
			    "(or CAP_SYS_ADMIN)");
	if (access("/sys/kernel/btf/vmlinux", R_OK) < 0)
		return fail(NULL, ENOENT, why, whylen,
			    "kbpf needs kernel BTF (/sys/kernel/btf/vmlinux: "
			    "%s)",
			    strerror(errno));
	k = calloc(1, sizeof(*k));
	if (!k)
		return fail(NULL, ENOMEM, why, whylen, "kbpf: out of memory");
	k->epfd = k->tfd = -1;
	pthread_mutex_init(&k->lock, NULL);

	last_warn[0] = '\0';
	old = libbpf_set_print(capture_print);
	k->skel = kbpf_skel__open();
	err = k->skel ? kbpf_skel__load(k->skel) : -errno;
	libbpf_set_print(old);
	if (err) {
		err = err < 0 ? -err : EINVAL;
		if (err == ENOSYS)
			return fail(k, err, why, whylen,
				    "kbpf: BPF is disabled in this kernel");
		if (err == EPERM || err == EACCES)
			return fail(k, EPERM, why, whylen,
				    "kbpf: the kernel refused BPF (%s)%s%s",
				    strerror(err), last_warn[0] ? ": " : "",
				    last_warn);
		return fail(k, err, why, whylen,
			    "kbpf: loading failed (%s)%s%s", strerror(err),
			    last_warn[0] ? ": " : "", last_warn);
	}
	k->seq_fd = bpf_program__fd(k->skel->progs.kbpf_seq);

	k->rb = ring_buffer__new(bpf_map__fd(k->skel->maps.ring), on_record, k,
				 NULL);
	if (!k->rb)
		return fail(k, errno, why, whylen, "kbpf: ring buffer: %s",
			    strerror(errno));
	k->epfd = epoll_create1(EPOLL_CLOEXEC);
	k->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (k->epfd < 0 || k->tfd < 0)
		return fail(k, errno, why, whylen, "kbpf: %s", strerror(errno));
	if (epoll_ctl(k->epfd, EPOLL_CTL_ADD, k->tfd, &tick) < 0 ||
	    epoll_ctl(k->epfd, EPOLL_CTL_ADD, bpf_map__fd(k->skel->maps.ring),
		      &ev) < 0)
		return fail(k, errno, why, whylen, "kbpf: epoll: %s",
			    strerror(errno));
	return k;
}

void kbpf_close(struct kbpf *k)
{
	if (!k)
		return;
	kbpf_isn_free(&k->isn);
	pthread_mutex_destroy(&k->lock);
	ring_buffer__free(k->rb);
	kbpf_skel__destroy(k->skel);
	if (k->epfd >= 0)
		close(k->epfd);
	if (k->tfd >= 0)
		close(k->tfd);
	free(k);
}

/* ---- iss and irs ---- */

/* A TIME_WAIT mini-socket lives TCP_TIMEWAIT_LEN (60 s); keep a margin. A
 * FIN_WAIT2 one lives tcp_fin_timeout (60 s at most, else the full socket
 * stays), then, if the peer's FIN comes, as long again in TIME_WAIT: its
 * entry is kept twice as long, in case that change is not seen. */
#define TW_LIFE_NS (61ull * 1000000000)
/* How often kbpf_drain() drops the ended mini-sockets' entries. */
#define PURGE_NS (10ull * 1000000000)
/* How often kbpf_lost() asks the kernel for the programs' misses: a
 * system call per program, too dear for every drain. */
#define MISSES_NS (1000000000ull)

/* Whether E says a socket became a mini-socket in FIN_WAIT2 still: no
 * change of state (the programs' FIN_WAIT2 -> FIN_WAIT2). */
static bool became_mini(const struct kbpf_event *e)
{
	return e->type == KBPF_EV_STATE && e->from == TCP_FIN_WAIT2 &&
	       e->to == TCP_FIN_WAIT2;
}

/* Record what a state change says about a connection's iss and irs. */
static void isn_event(struct kbpf *k, const struct kbpf_event *e)
{
	bool mini = e->to == TCP_TIME_WAIT || became_mini(e);
	struct kbpf_isn *p;

	if (e->type != KBPF_EV_STATE ||
	    !(e->has & KBPF_ISS || mini || e->to == TCP_CLOSE))
		return;
	pthread_mutex_lock(&k->lock);
	if ((e->has & KBPF_ISS) && (e->has & KBPF_IRS))
		(void)kbpf_isn_put(&k->isn, e->cookie, e->iss, e->irs);
	else if (mini && (p = kbpf_isn_find(&k->isn, e->cookie)))
		p->expire = e->ts_ns + TW_LIFE_NS * (became_mini(e) ? 2 : 1);
	else if (e->to == TCP_CLOSE)
		kbpf_isn_del(&k->isn, e->cookie);
	pthread_mutex_unlock(&k->lock);
}

/* ---- sequence numbers ---- */

static bool v4mapped(const uint8_t a[16])
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0,	  0,
					0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a, pfx, sizeof(pfx)) == 0;
}

int kbpf_seq(struct kbpf *k, const struct kbpf_tuple *t, uint32_t ifindex,
	     uint64_t cookie, struct kbpf_seq *out)
{
	uint8_t in[PKT_LEN] = {0}, res[PKT_LEN] = {0};
	struct kbpf_abi_req q = {0};
	struct kbpf_abi_resp rr, *r = &rr;
	/* the packet comes in on the socket's interface (lo if 0), the one
	 * its lookup matches a bound socket with */
	struct __sk_buff ctx = {.ifindex = ifindex};
	struct kbpf_isn *p;
	int err;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in,
		    .data_size_in = sizeof(in), .data_out = res,
		    .data_size_out = sizeof(res), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (!k || !t || !out)
		return -EINVAL;
	if (t->family != AF_INET && t->family != AF_INET6)
		return -EAFNOSUPPORT;
	in[12] = KBPF_ETHERTYPE >> 8;
	in[13] = KBPF_ETHERTYPE & 0xff;
	q.family = t->family;
	q.lport = htons(t->sport);
	q.rport = htons(t->dport);
	q.cookie = cookie;
	if (t->family == AF_INET6 && v4mapped(t->src)) {
		/* a dual-stack socket of an IPv4 connection: the kernel
		 * hashes it by its IPv4 addresses */
		q.family = AF_INET;
		memcpy(q.laddr, t->src + 12, 4);
		memcpy(q.raddr, t->dst + 12, 4);
	} else {
		memcpy(q.laddr, t->src, 16);
		memcpy(q.raddr, t->dst, 16);
	}
	memcpy(in + REQ_OFF, &q, sizeof(q));
	err = bpf_prog_test_run_opts(k->seq_fd, &o);
	if (err)
		return err < 0 ? err : -EIO;
	if (o.data_size_out < sizeof(res))
		return -EIO;
	memcpy(r, res + RESP_OFF, sizeof(*r));
	if (r->err)
		return -r->err;
	if (!r->kind)
		return -EIO;
	memset(out, 0, sizeof(*out));
	out->cookie = r->cookie;
	out->kind = r->kind;
	out->state = r->state;
	out->substate = r->substate;
	out->has = r->has;
	out->snd_una = r->snd_una;
	out->snd_nxt = r->snd_nxt;
	out->rcv_nxt = r->rcv_nxt;
	out->snd_wl1 = r->snd_wl1;
	out->write_seq = r->write_seq;
	out->copied_seq = r->copied_seq;
	out->iss = r->iss;
	out->irs = r->irs;
	if (out->has & KBPF_ISS)
		return 0;
	pthread_mutex_lock(&k->lock);
	if ((p = kbpf_isn_find(&k->isn, out->cookie))) {
		out->iss = p->iss;
		out->irs = p->irs;
		out->has |= KBPF_ISS | KBPF_IRS;
	}
	pthread_mutex_unlock(&k->lock);
	return 0;
}

/* ---- events ---- */

int kbpf_netns_self(uint64_t *out)
{
	struct stat st;

	if (stat("/proc/thread-self/ns/net", &st) < 0)
		return -errno;
	*out = st.st_ino;
	return 0;
}

#define EVENT_PROGS 5

/* The event programs and their links, in the same order. */
static void event_progs(struct kbpf *k, struct bpf_program *p[EVENT_PROGS],
			struct bpf_link **l[EVENT_PROGS])
{
	struct kbpf_skel *s = k->skel;

	p[0] = s->progs.kbpf_state;
	p[1] = s->progs.kbpf_rst_sent;
	p[2] = s->progs.kbpf_rst_recv;
	p[3] = s->progs.kbpf_retrans;
	p[4] = s->progs.kbpf_tw_fin;
	l[0] = &s->links.kbpf_state;
	l[1] = &s->links.kbpf_rst_sent;
	l[2] = &s->links.kbpf_rst_recv;
	l[3] = &s->links.kbpf_retrans;
	l[4] = &s->links.kbpf_tw_fin;
}

/* The drain timer: every KBPF_DRAIN_MS, or stopped. */
static int set_timer(struct kbpf *k, bool on)
{
	struct itimerspec it = {0};

	if (on) {
		it.it_interval.tv_nsec = KBPF_DRAIN_MS * 1000000L;
		it.it_value = it.it_interval;
	}
	return timerfd_settime(k->tfd, 0, &it, NULL) < 0 ? -errno : 0;
}

/* Whether the reader sleeps, for itself and for the programs (their
 * `sleeping`: the next record wakes the drain). */
static void note_asleep(struct kbpf *k, bool asleep)
{
	k->asleep = asleep;
	__atomic_store_n(&k->skel->bss->sleeping, asleep, __ATOMIC_SEQ_CST);
}

/* Sleep (the timer stopped) or wake (the timer going). */
static void set_asleep(struct kbpf *k, bool asleep)
{
	note_asleep(k, asleep);
	set_timer(k, !asleep);
}

/* While a namespace is watched: the event programs attached and the drain
 * timer armed; else neither (nothing runs on a state change). 0 or -errno
 * of attaching (all detached then). */
static int follow(struct kbpf *k)
{
	struct bpf_program *p[EVENT_PROGS];
	struct bpf_link **l[EVENT_PROGS];
	int i, err = 0, terr;

	event_progs(k, p, l);
	for (i = 0; i < EVENT_PROGS && k->nwatch && !err; i++)
		if (!*l[i] && !(*l[i] = bpf_program__attach(p[i])))
			err = -errno;
	if (err || !k->nwatch)
		for (i = 0; i < EVENT_PROGS; i++) {
			bpf_link__destroy(*l[i]);
			*l[i] = NULL;
		}
	note_asleep(k, false);
	terr = set_timer(k, k->nwatch && !err);
	return err ? err : terr;
}

/* The slot of NETNS in the programs' watch list, or -1. */
static int watch_slot(const struct kbpf *k, uint32_t netns)
{
	for (int i = 0; i < KBPF_ABI_WATCH_MAX; i++)
		if (k->skel->bss->watch[i] == netns)
			return i;
	return -1;
}

int kbpf_watch_netns(struct kbpf *k, uint64_t netns)
{
	int i, err;

	if (!k || !netns || netns > UINT32_MAX)
		return -EINVAL;
	if (watch_slot(k, netns) >= 0)
		return 0;
	if ((i = watch_slot(k, 0)) < 0)
		return -E2BIG;
	__atomic_store_n(&k->skel->bss->watch[i], netns, __ATOMIC_RELEASE);
	k->nwatch++;
	err = follow(k);
	if (err) {
		__atomic_store_n(&k->skel->bss->watch[i], 0, __ATOMIC_RELEASE);
		k->nwatch--;
		follow(k);
	}
	return err;
}

int kbpf_unwatch_netns(struct kbpf *k, uint64_t netns)
{
	int i;

	if (!k)
		return -EINVAL;
	if (!netns || netns > UINT32_MAX || (i = watch_slot(k, netns)) < 0)
		return -ENOENT;
	__atomic_store_n(&k->skel->bss->watch[i], 0, __ATOMIC_RELEASE);
	k->nwatch--;
	return follow(k);
}

int kbpf_fd(const struct kbpf *k)
{
	return k ? k->epfd : -EINVAL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Times PROG did not run because it was running already on that CPU (a
 * softirq's state change inside a process's, say): events lost too. */
static uint64_t misses(const struct bpf_program *prog)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) < 0)
		return 0;
	return info.recursion_misses;
}

size_t kbpf_save(struct kbpf *k, void *out, size_t size)
{
	size_t need = 0;

	if (!k)
		return 0;
	pthread_mutex_lock(&k->lock);
	for (size_t i = 0; i < k->isn.cap; i++) {
		const struct kbpf_isn *v = &k->isn.v[i];

		if (!v->cookie)
			continue;
		if (need + sizeof(*v) <= size)
			memcpy((char *)out + need, v, sizeof(*v));
		need += sizeof(*v);
	}
	pthread_mutex_unlock(&k->lock);
	return need;
}

int kbpf_load(struct kbpf *k, const void *p, size_t len)
{
	struct kbpf_isn v, *have;
	int err = 0;

	if (!k || len % sizeof(v))
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	for (size_t at = 0; !err && at < len; at += sizeof(v)) {
		memcpy(&v, (const char *)p + at, sizeof(v));
		if (!v.cookie)
			err = -EINVAL;
		else if (!kbpf_isn_find(&k->isn, v.cookie) &&
			 !(err = kbpf_isn_put(&k->isn, v.cookie, v.iss,
					      v.irs)) &&
			 (have = kbpf_isn_find(&k->isn, v.cookie)))
			have->expire = v.expire;
	}
	pthread_mutex_unlock(&k->lock);
	return err == -ENOSPC ? 0 : err; /* full: the rest stay out */
}

uint64_t kbpf_lost(struct kbpf *k)
{
	struct bpf_program *p = NULL;
	uint64_t now = now_ns();

	if (!k)
		return 0;
	if (now >= k->next_misses) {
		k->misses = 0;
		while ((p = bpf_object__next_program(k->skel->obj, p)))
			k->misses += misses(p);
		k->next_misses = now + MISSES_NS;
	}
	return __atomic_load_n(&k->skel->bss->lost, __ATOMIC_RELAXED) +
	       k->misses;
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct kbpf *k = ctx;
	const struct kbpf_abi_ev *r = data;
	struct kbpf_event e = {0};

	if (len < sizeof(*r))
		return 0;
	e.ts_ns = r->ts_ns;
	e.cookie = r->cookie;
	e.netns = r->netns;
	e.tuple.family = r->family;
	memcpy(e.tuple.src, r->laddr, 16);
	memcpy(e.tuple.dst, r->raddr, 16);
	e.tuple.sport = ntohs(r->lport);
	e.tuple.dport = ntohs(r->rport);
	e.type = r->type;
	e.from = r->from;
	e.to = r->to;
	e.state = r->state;
	e.has = r->has;
	e.snd_una = r->snd_una;
	e.snd_nxt = r->snd_nxt;
	e.rcv_nxt = r->rcv_nxt;
	e.iss = r->iss;
	e.irs = r->irs;
	e.seq = r->seq;
	e.end_seq = r->end_seq;
	isn_event(k, &e);
	if (!became_mini(&e))
		k->cb(&e, k->arg);
	return 0;
}

int kbpf_drain(struct kbpf *k, kbpf_event_cb cb, void *arg)
{
	struct epoll_event evs[2];
	uint64_t ticks, now;
	int n;

	if (!k || !cb)
		return -EINVAL;
	/* clear the readiness of kbpf_fd(): the epoll set's own (it says
	 * ready until someone asks it), and the timer's when it ticked */
	n = epoll_wait(k->epfd, evs, 2, 0);
	for (int i = 0; i < n; i++) {
		if (evs[i].data.u32 != TICK)
			continue;
		while (read(k->tfd, &ticks, sizeof(ticks)) > 0)
			;
		(void)epoll_wait(k->epfd, evs, 2, 0);
		break;
	}
	k->cb = cb;
	k->arg = arg;
	n = ring_buffer__consume(k->rb);
	if (n == 0 && !k->asleep && k->nwatch) {
		/* a quiet tick: sleep, then look once more, for a record that
		 * came before the programs could see the reader asleep */
		set_asleep(k, true);
		n = ring_buffer__consume(k->rb);
	}
	if (n > 0 && k->asleep)
		set_asleep(k, false);
	k->cb = NULL;
	k->arg = NULL;
	now = now_ns();
	if (now >= k->next_purge) {
		pthread_mutex_lock(&k->lock);
		(void)kbpf_isn_purge(&k->isn, now);
		pthread_mutex_unlock(&k->lock);
		k->next_purge = now + PURGE_NS;
	}
	return n;
}
