/* The kernel kind: kernel/, one directory per kernel TCP socket.
 *
 * A directory's name holds the socket's tuple and cookie (sockname.h), so
 * every load asks sock_diag for that one socket afresh. Its own rows are pid
 * and, with kbpf, trace; ctl close (or hangup) is SOCK_DESTROY. The destroy
 * monitor posts an events line for every socket the kernel destroys. With
 * kbpf, the daemon's own network namespace is watched: every state change
 * and reset posts an events line, and each socket's last entries are kept
 * by cookie (khist.h) for its trace and its iss/irs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "khist.h"
#include "sockname.h"
#include "tcpfs/events.h"
#ifdef HAVE_KBPF
#include "tcpfs/kbpf.h"
#endif
#include "tcpfs/kinds.h"
#include "tcpfs/ladder.h"
#include "tcpfs/log.h"
#include "tcpfs/loop.h"
#include "tcpfs/procpid.h"

struct kernel {
	struct loop *loop;
	struct events *events;
	struct diag *diag;
	struct diag *monitor; /* NULL: no destroy events */
	struct procpid *procpid;
	bool watching;	    /* MONITOR is in the loop */
	struct kbpf *kbpf;  /* NULL: no sequence numbers */
	int seq_err;	    /* the last kbpf_seq() error logged, to log once */
	struct khist *hist; /* NULL: no history (no kbpf, or not watching) */
	uint64_t netns;	    /* the namespace watched */
	uint64_t lost;	    /* kbpf_lost() at the last drain */
	bool draining;	    /* kbpf_fd() is in the loop */
};

_Static_assert(sizeof(struct diag_sock) <= KIND_PRIV_MAX, "priv too small");

static const struct diag_sock *sock_of(const struct kind_conn *c)
{
	return (const struct diag_sock *)c->priv;
}

/* Add the sequence numbers kbpf has of S to V, if any: a socket that is
 * gone or another one (-ENOENT) shows none, and neither does an error
 * (logged at debug level when it differs from the last one). */
static void add_seq(struct kernel *kk, const struct diag_sock *s,
		    struct view *v)
{
#ifdef HAVE_KBPF
	struct kbpf_tuple t = {.family = s->key.family,
			       .sport = s->key.sport,
			       .dport = s->key.dport};
	struct kbpf_seq q;

	if (!kk->kbpf)
		return;
	memcpy(t.src, s->key.src, sizeof(t.src));
	memcpy(t.dst, s->key.dst, sizeof(t.dst));
	int err = kbpf_seq(kk->kbpf, &t, s->key.cookie, &q);
	if (err == 0) {
		view_add_kseq(v, &q);
	} else if (err != -ENOENT && err != kk->seq_err) {
		kk->seq_err = err;
		tlog(LOG_DEBUG, "kernel sequence numbers: kbpf_seq: %s",
		     strerror(-err));
	}
#else
	(void)kk, (void)s, (void)v;
#endif
}

/* Add the iss and irs the history has of S to V, where kbpf_seq() gave
 * none. */
static void add_hist(struct kernel *kk, const struct diag_sock *s,
		     struct view *v)
{
	const struct khist_sock *h =
		kk->hist ? khist_get(kk->hist, s->key.cookie) : NULL;
	if (!h)
		return;
	if (h->has_iss && !view_has(v, VF_ISS))
		view_set(v, VF_ISS, "%u", h->iss);
	if (h->has_irs && !view_has(v, VF_IRS))
		view_set(v, VF_IRS, "%u", h->irs);
}

static int kernel_load(void *k, const char *name, struct kind_conn *c)
{
	struct kernel *kk = k;
	struct diag_sock *s = (struct diag_sock *)c->priv;
	struct diag_key key;

	if (sockname_parse(name, &key) < 0)
		return -ENOENT;
	int err = diag_get(kk->diag, &key, s);
	if (err < 0)
		return err;
	view_from_diag(&c->view, s);
	add_seq(kk, s, &c->view);
	add_hist(kk, s, &c->view);
	c->owned = s->full;
	c->owner = s->full ? s->uid : 0;
	c->key = s->key.cookie;
	return 0;
}

struct lister {
	kind_list_fn fn;
	void *arg;
};

static void list_socket(const struct diag_sock *s, void *arg)
{
	struct lister *l = arg;
	char name[SOCKNAME_MAX];
	sockname_format(name, &s->key);
	/* d_ino is a hint only: the socket inode, else its cookie */
	l->fn(l->arg, name, s->inode ? s->inode : s->key.cookie);
}

static int kernel_list(void *k, kind_list_fn fn, void *arg)
{
	struct kernel *kk = k;
	struct lister l = {fn, arg};
	return diag_dump(kk->diag, list_socket, &l);
}

static bool has_holders(void *k, const struct kind_conn *c)
{
	(void)k;
	return sock_of(c)->full && sock_of(c)->inode != 0;
}

static int render_pid(void *k, const struct kind_conn *c, struct buf *out)
{
	struct kernel *kk = k;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now_ms =
		(uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	return procpid_render(kk->procpid, sock_of(c)->inode, now_ms, out);
}

static bool has_trace(void *k, const struct kind_conn *c)
{
	struct kernel *kk = k;
	return kk->hist && khist_get(kk->hist, sock_of(c)->key.cookie);
}

/* The history, a line per entry, times from the first entry kept. */
static int render_trace(void *k, const struct kind_conn *c, struct buf *out)
{
	struct kernel *kk = k;
	const struct khist_sock *h =
		kk->hist ? khist_get(kk->hist, sock_of(c)->key.cookie) : NULL;
	if (!h)
		return -ENOENT;
	uint32_t first = khist_first(h);
	uint64_t t0 = khist_at(h, first)->ts_ns;
	if (first)
		buf_printf(out, "# %u earlier entries dropped\n", first);
	for (uint32_t i = first; i < h->n; i++) {
		char line[256];
		khist_format(khist_at(h, i), t0, line, sizeof(line));
		buf_printf(out, "%s\n", line);
	}
	return out->err;
}

/* Kernel sockets take close (and hangup): SOCK_DESTROY, with the cookie. */
static int kernel_ctl(void *k, struct kind_conn *c, const struct ctl_cmd *cmd,
		      uid_t caller)
{
	struct kernel *kk = k;
	const struct diag_key *key = &sock_of(c)->key;
	(void)caller;
	if (cmd->verb != CTL_CLOSE && cmd->verb != CTL_HANGUP)
		return kind_fail(c, -EINVAL,
				 "'%s' is for engine connections; a kernel "
				 "socket takes close or hangup",
				 ctl_verb_name(cmd->verb));

	int err = diag_destroy(kk->diag, key);
	struct diag_sock still;
	/* The kernel's lookup reaches one SO_REUSEPORT sibling only: for the
	 * others it says "gone" while the socket is still there. */
	if (err == -ENOENT && diag_get(kk->diag, key, &still) == 0)
		err = -EBUSY;
	switch (err) {
	case 0:
		c->err[0] = 0;
		tlog(LOG_INFO, "%s: destroyed", c->label);
		return 0;
	case -ENOENT:
		return kind_fail(c, err, "the socket is gone");
	case -EOPNOTSUPP:
		return kind_fail(c, err,
				 "this kernel cannot destroy sockets "
				 "(CONFIG_INET_DIAG_DESTROY is off)");
	case -EPERM:
	case -EACCES:
		return kind_fail(c, -EPERM,
				 "the kernel refused: SOCK_DESTROY "
				 "needs CAP_NET_ADMIN in the namespace");
	case -EBUSY:
		return kind_fail(c, -EBUSY,
				 "the kernel's lookup of this tuple "
				 "finds another socket (SO_REUSEPORT); "
				 "it cannot be destroyed by cookie");
	default:
		return kind_fail(c, err, "SOCK_DESTROY failed: %s",
				 strerror(-err));
	}
}

/* The history as a ladder's record; none without one. */
static int kernel_ladder(void *k, const struct kind_conn *c,
			 struct ladder_side *out)
{
	struct kernel *kk = k;
	const struct khist_sock *h =
		kk->hist ? khist_get(kk->hist, sock_of(c)->key.cookie) : NULL;
	if (!h)
		return -ENOENT;
	return out ? khist_ladder(h, out) : 0;
}

/* The socket at the other end of OF, if its history is kept: the newest
 * of that tuple that lived on into OF's time. */
static int kernel_ladder_peer(void *k, const struct ladder_side *of,
			      uid_t reader, struct ladder_side *out)
{
	struct kernel *kk = k;
	(void)reader; /* every kernel socket's ladder is 0444 */
	uint64_t since = of->n ? of->ev[0].t : 0;
	const struct khist_sock *h =
		kk->hist ?
			khist_find(kk->hist, &of->remote, &of->local, since) :
			NULL;
	return h ? khist_ladder(h, out) : -ENOENT;
}

static const struct kind_file kernel_files[] = {
	{"pid", 0444, false, has_holders, render_pid},
	{"trace", 0444, false, has_trace, render_trace},
};

static void kernel_drop(void *k);

static const struct kind_ops kernel_ops = {
	.files = kernel_files,
	.nfiles = 2,
	/* no fixed files, no streams; no rmdir: the kernel's sockets are
	 * closed through ctl, their directories go with them */
	.list = kernel_list,
	.load = kernel_load,
	.ctl = kernel_ctl,
	.ladder = kernel_ladder,
	.ladder_peer = kernel_ladder_peer,
	.destroy = kernel_drop,
};

static void on_destroyed(const struct diag_sock *s, void *arg)
{
	struct kernel *kk = arg;
	char name[SOCKNAME_MAX];
	sockname_format(name, &s->key);
	events_say(kk->events, "kernel/%s destroyed", name);
}

static void on_monitor(void *arg)
{
	struct kernel *kk = arg;
	if (diag_monitor_read(kk->monitor, on_destroyed, kk) == -ENOBUFS)
		events_say(kk->events,
			   "kernel lost destroy events (netlink overrun)");
}

#ifdef HAVE_KBPF
_Static_assert((int)KHIST_STATE == (int)KBPF_EV_STATE &&
		       (int)KHIST_RESET_SENT == (int)KBPF_EV_RESET_SENT &&
		       (int)KHIST_RESET_RECV == (int)KBPF_EV_RESET_RECV &&
		       (int)KHIST_RETRANS == (int)KBPF_EV_RETRANS,
	       "khist types are kbpf's");
_Static_assert((int)KHIST_SND_UNA == (int)KBPF_SND_UNA &&
		       (int)KHIST_SND_NXT == (int)KBPF_SND_NXT &&
		       (int)KHIST_RCV_NXT == (int)KBPF_RCV_NXT &&
		       (int)KHIST_ISS == (int)KBPF_ISS &&
		       (int)KHIST_IRS == (int)KBPF_IRS &&
		       (int)KHIST_SEQ == (int)KBPF_SEQ,
	       "khist bits are kbpf's");

/* Post the events lines of H's entries not said yet, once its name is
 * known (entering SYN_SENT or SYN_RECV, a socket has no ports yet: those
 * lines wait for its next event). Retransmits make no line. */
static void say_new(struct kernel *kk, struct khist_sock *h)
{
	if (!h->named)
		return;
	char name[SOCKNAME_MAX];
	sockname_format(name, &h->key);
	uint32_t i = h->said > khist_first(h) ? h->said : khist_first(h);
	for (; i < h->n; i++) {
		const struct khist_ent *e = khist_at(h, i);
		switch (e->type) {
		case KHIST_STATE:
			events_say(kk->events, "kernel/%s %s -> %s", name,
				   diag_state_name(e->from),
				   diag_state_name(e->to));
			break;
		case KHIST_RESET_SENT:
			events_say(kk->events, "kernel/%s reset sent", name);
			break;
		case KHIST_RESET_RECV:
			events_say(kk->events, "kernel/%s reset received",
				   name);
			break;
		}
	}
	h->said = h->n;
}

static void on_event(const struct kbpf_event *e, void *arg)
{
	struct kernel *kk = arg;
	if (e->netns != kk->netns)
		return;
	struct diag_key key = {.family = e->tuple.family,
			       .sport = e->tuple.sport,
			       .dport = e->tuple.dport,
			       .cookie = e->cookie};
	memcpy(key.src, e->tuple.src, sizeof(key.src));
	memcpy(key.dst, e->tuple.dst, sizeof(key.dst));
	struct khist_ent ent = {.ts_ns = e->ts_ns,
				.type = e->type,
				.from = e->from,
				.to = e->to,
				.has = e->has,
				.snd_una = e->snd_una,
				.snd_nxt = e->snd_nxt,
				.rcv_nxt = e->rcv_nxt,
				.iss = e->iss,
				.irs = e->irs,
				.seq = e->seq,
				.end_seq = e->end_seq};
	struct khist_sock *h = khist_add(kk->hist, &key, &ent);
	if (h)
		say_new(kk, h);
}

static void on_kbpf(void *arg)
{
	struct kernel *kk = arg;
	int n = kbpf_drain(kk->kbpf, on_event, kk);
	if (n < 0)
		tlog(LOG_DEBUG, "kernel history: kbpf_drain: %s", strerror(-n));
	uint64_t lost = kbpf_lost(kk->kbpf);
	if (lost > kk->lost)
		events_say(kk->events, "kernel lost %llu history events",
			   (unsigned long long)(lost - kk->lost));
	kk->lost = lost;
}

/* Watch the daemon's own namespace and keep its history; without it the
 * kind still works, with no trace (logged). */
static void watch_history(struct kernel *kk)
{
	uint64_t netns;
	int err = kbpf_netns_self(&netns);
	if (!err && !(kk->hist = khist_new(KHIST_SOCKETS)))
		err = -ENOMEM;
	if (!err && !(err = kbpf_watch_netns(kk->kbpf, netns))) {
		kk->netns = netns;
		kk->lost = kbpf_lost(kk->kbpf);
		err = loop_add(kk->loop, kbpf_fd(kk->kbpf), on_kbpf, kk);
		if (err)
			kbpf_unwatch_netns(kk->kbpf, netns);
		else
			kk->draining = true;
	}
	if (err) {
		tlog(LOG_WARNING, "kernel sockets' history is off: %s",
		     strerror(-err));
		khist_free(kk->hist);
		kk->hist = NULL;
	}
}
#endif

/* Free KK and what it owns. */
static void kernel_drop(void *k)
{
	struct kernel *kk = k;
	if (kk->watching)
		loop_del(kk->loop, diag_fd(kk->monitor));
	diag_close(kk->monitor);
	diag_close(kk->diag);
	procpid_free(kk->procpid);
#ifdef HAVE_KBPF
	if (kk->draining) {
		loop_del(kk->loop, kbpf_fd(kk->kbpf));
		kbpf_unwatch_netns(kk->kbpf, kk->netns);
	}
	kbpf_close(kk->kbpf);
#endif
	khist_free(kk->hist);
	free(kk);
}

int kernel_kind_new(struct kind *k, struct loop *loop, struct events *events,
		    struct diag *diag, struct diag *monitor,
		    struct procpid *procpid, struct kbpf *kbpf)
{
	struct kernel *kk = calloc(1, sizeof(*kk));
	if (!kk) {
		diag_close(diag);
		diag_close(monitor);
		procpid_free(procpid);
#ifdef HAVE_KBPF
		kbpf_close(kbpf);
#endif
		return -ENOMEM;
	}
	*kk = (struct kernel){.loop = loop,
			      .events = events,
			      .diag = diag,
			      .monitor = monitor,
			      .procpid = procpid,
			      .kbpf = kbpf};
	int err = diag && procpid ? 0 : -ENOMEM;
	if (!err && monitor &&
	    !(err = loop_add(loop, diag_fd(monitor), on_monitor, kk)))
		kk->watching = true;
	if (err < 0) {
		kernel_drop(kk);
		return err;
	}
#ifdef HAVE_KBPF
	if (kbpf)
		watch_history(kk);
#endif
	*k = (struct kind){&kernel_ops, kk, "kernel"};
	return 0;
}
