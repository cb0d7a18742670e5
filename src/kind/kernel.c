/* The kernel kind: kernel/, one directory per kernel TCP socket.
 *
 * Each reader sees the sockets of its own network namespace (the pool,
 * netns.h, gives the sock_diag handles of the request's pid's namespace),
 * unless --netns pinned the pool to one. A directory's name holds the
 * socket's tuple and cookie (sockname.h), so every load asks sock_diag of
 * the reader's namespace for that one socket afresh: a socket of another
 * namespace is not found there. Its own rows are pid and, with kbpf,
 * trace; ctl close (or hangup) is SOCK_DESTROY, in the namespace the
 * connection was loaded from. The destroy monitor of each namespace in use
 * posts an events line for every socket the kernel destroys. With
 * kbpf, the daemon's own network namespace is watched: every state change
 * and reset posts an events line, and each socket's last entries are kept
 * by cookie (khist.h) for its trace and its iss/irs. */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
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
#include "tcpfs/netns.h"
#include "tcpfs/nsscan.h"
#include "tcpfs/procpid.h"

#include "cookieset.h"

/* The namespaces listed last, each with the cookies of the sockets its
 * listing showed where the kernel's lookup reaches them: such a socket
 * that the lookup misses is gone, and is not searched for in a dump of
 * every socket's ports (18 ms at 100k sockets, for each `[ -d ]` after a
 * close, or each socket a reader of many finds gone). A socket listed
 * otherwise, or not listed (its name from `ss -e`, a listing of another
 * namespace), is searched for. */
#define LISTED_NS 4
struct listed {
	uint64_t netns;		 /* 0: unused */
	uint64_t tick;		 /* of its last listing: the oldest goes */
	struct cookielist conns; /* listed, not idle */
	struct cookieset search; /* of those, bound to an interface, or
				    with an idle twin */
};

struct kernel {
	struct loop *loop;
	struct events *events;
	struct netns_pool *pool;
	struct nsscan *scan; /* the host's namespaces, for netns/ */
	struct procpid *procpid;
	bool watching;	    /* the pool's fd is in the loop */
	struct kbpf *kbpf;  /* NULL: no sequence numbers */
	int seq_err;	    /* the last kbpf_seq() error logged, to log once */
	struct khist *hist; /* NULL: no history (no kbpf, or not watching) */
	uint64_t netns;	    /* the namespace watched */
	uint64_t lost;	    /* kbpf_lost() at the last drain */
	bool draining;	    /* kbpf_fd() is in the loop */
	struct {
		uint64_t netns; /* 0: empty */
		uint64_t at_us;
		struct diag_sock s;
		struct view view; /* its view, with kbpf's and khist's parts */
	} last; /* the socket loaded last: see LOAD_FRESH_US */
	struct {
		uid_t uid;
		gid_t gid;
		uint64_t at_ms; /* 0: empty */
	} groups[64];		/* owner uid -> primary group, GROUP_FRESH_MS */
	struct listed listed[LISTED_NS];
	uint64_t ticks; /* listings so far */
};

/* A loaded socket: as the kernel described it, and where. */
struct ksock {
	struct diag_sock s;
	uint64_t netns; /* the inode of the namespace it was loaded from */
	struct kind_caller who; /* who loaded it: the pid file is for them */
};

_Static_assert(sizeof(struct ksock) <= KIND_PRIV_MAX, "priv too small");

/* One `cat kernel/NAME/pid` loads the socket twice (the lookup of NAME,
 * the open): the same socket of the same namespace loaded less than this
 * long ago is not asked of sock_diag again, and its view is not made again
 * (kbpf's lookup, a system call, costs as much as the netlink request). A
 * destroy, through ctl or seen by the namespace's monitor, forgets it. */
#define LOAD_FRESH_US 1000

/* A scan of the host's namespaces younger than this answers a lookup under
 * netns/ (a listing, and an open of name or pids, scans afresh). */
#define SCAN_FRESH_MS 1000

/* A uid's primary group is looked up again after this long. */
#define GROUP_FRESH_MS 10000
/* The group of a uid without a passwd entry: the kernel's overflow gid,
 * what it shows for a gid it cannot map. */
#define GROUP_UNKNOWN 65534

static uint64_t mono_ms(void);

/* The primary group of UID in the passwd database, GROUP_UNKNOWN if it has
 * no entry. An entry may pass any buffer (a long GECOS field): the buffer
 * grows until getpwuid_r() stops saying ERANGE. */
static gid_t passwd_group(uid_t uid)
{
	struct passwd pw, *found = NULL;
	size_t size = 4096;
	char *buf = NULL, *more;
	int err = ERANGE;
	while (err == ERANGE && size <= (1u << 20) &&
	       (more = realloc(buf, size))) {
		buf = more;
		err = getpwuid_r(uid, &pw, buf, size, &found);
		size *= 2;
	}
	gid_t gid = !err && found ? found->pw_gid : GROUP_UNKNOWN;
	free(buf);
	return gid;
}

/* The primary group of UID, from a small cache: a listing stats every
 * socket, and NSS may be slow. */
static gid_t owner_group(struct kernel *kk, uid_t uid)
{
	uint64_t now = mono_ms() + 1;
	size_t n = sizeof(kk->groups) / sizeof(kk->groups[0]);
	__typeof__(kk->groups[0]) *g = &kk->groups[uid % n];
	if (g->at_ms && g->uid == uid && now - g->at_ms < GROUP_FRESH_MS)
		return g->gid;
	g->uid = uid;
	g->gid = passwd_group(uid);
	g->at_ms = now;
	return g->gid;
}

static const struct diag_sock *sock_of(const struct kind_conn *c)
{
	return &((const struct ksock *)c->priv)->s;
}

/* Add the sequence numbers kbpf has of S to V, if any: a socket that is
 * gone or another one (-ENOENT) shows none, and neither does an error
 * (logged at debug level when it differs from the last one). */
static void add_seq(struct kernel *kk, const struct netns *ns,
		    const struct diag_sock *s, struct view *v)
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
	/* the lookup runs in the calling thread's namespace */
	int err = netns_pool_enter(kk->pool, ns);
	if (err == 0) {
		err = kbpf_seq(kk->kbpf, &t, s->ifindex, s->key.cookie, &q);
		netns_pool_leave(kk->pool, ns);
	}
	if (err == 0) {
		view_add_kseq(v, &q);
	} else if (err != -ENOENT && err != kk->seq_err) {
		kk->seq_err = err;
		tlog(LOG_DEBUG, "kernel sequence numbers: kbpf_seq: %s",
		     strerror(-err));
	}
#else
	(void)kk, (void)ns, (void)s, (void)v;
#endif
}

#ifdef HAVE_KBPF
static void drain(struct kernel *kk);
#endif

/* Bring the history up to date before it is read: what the ring holds is
 * drained now (the ring wakes the loop at most every 50 ms), so a file
 * read right after a change shows it. The count of lost events waits for
 * the loop: it costs a system call per eBPF program. */
static void catch_up(struct kernel *kk)
{
#ifdef HAVE_KBPF
	if (kk->draining)
		drain(kk);
#else
	(void)kk;
#endif
}

/* Add the iss and irs the history has of S to V, where kbpf_seq() gave
 * none; never an irs in SYN_SENT: the peer's SYN has not come, one kept is
 * of an earlier connection of the socket (its history missed the change). */
static void add_hist(struct kernel *kk, const struct diag_sock *s,
		     struct view *v)
{
	const struct khist_sock *h =
		kk->hist ? khist_get(kk->hist, s->key.cookie) : NULL;
	if (!h)
		return;
	if (h->has_iss && !view_has(v, VF_ISS))
		view_set(v, VF_ISS, "%u", h->iss);
	if (h->has_irs && !view_has(v, VF_IRS) &&
	    s->kstate != DIAG_TCP_SYN_SENT)
		view_set(v, VF_IRS, "%u", h->irs);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The host's namespace INO as a scan found it: a scan younger than
 * MAX_AGE_MS, or a new one if that does not have it; -ENOENT if there is
 * none now. */
static int scan_find(struct kernel *kk, uint64_t ino, uint64_t max_age_ms,
		     const struct nsscan_ns **e)
{
	int err = nsscan_refresh(kk->scan, mono_ms(), max_age_ms);
	*e = err ? NULL : nsscan_find(kk->scan, ino);
	if (!err && !*e && !(err = nsscan_refresh(kk->scan, mono_ms(), 0)))
		*e = nsscan_find(kk->scan, ino);
	return err < 0 ? err : *e ? 0 : -ENOENT;
}

/* The namespace of scope INO (netns/INO): open already, or opened from
 * the file the scan found for it. */
static int scope_ns(struct kernel *kk, uint64_t ino, struct netns **ns)
{
	const struct nsscan_ns *e;
	if ((*ns = netns_pool_find(kk->pool, ino)))
		return 0;
	int err = scan_find(kk, ino, SCAN_FRESH_MS, &e);
	return err < 0 ? err : netns_pool_of_path(kk->pool, e->path, ino, ns);
}

/* The namespace WHO sees: the scope asked for, or the reader's own. */
static int reader_ns(struct kernel *kk, const struct kind_caller *who,
		     struct netns **ns)
{
	if (who->scope)
		return scope_ns(kk, who->scope, ns);
	return netns_pool_of_pid(kk->pool, who->pid, ns);
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static bool key_eq(const struct diag_key *a, const struct diag_key *b)
{
	return a->cookie == b->cookie && a->family == b->family &&
	       a->sport == b->sport && a->dport == b->dport &&
	       !memcmp(a->src, b->src, sizeof(a->src)) &&
	       !memcmp(a->dst, b->dst, sizeof(a->dst));
}

/* Whether the last listing of namespace NETNS showed the socket KEY names
 * where the kernel's lookup reaches it. */
static bool reached(struct kernel *kk, uint64_t netns,
		    const struct diag_key *key)
{
	for (int i = 0; i < LISTED_NS; i++) {
		struct listed *l = &kk->listed[i];
		if (l->netns == netns)
			return cookielist_has(&l->conns, key->cookie) &&
			       !cookieset_has(&l->search, key->cookie);
	}
	return false;
}

/* The socket KEY names in NS, into S, and its view into V: the one loaded
 * last if it is that one and fresh, else from sock_diag (and kbpf, and the
 * history). */
static int get_sock(struct kernel *kk, struct netns *ns,
		    const struct diag_key *key, struct diag_sock *s,
		    struct view *v)
{
	uint64_t now = mono_us();
	if (kk->last.netns == ns->ino && now - kk->last.at_us < LOAD_FRESH_US &&
	    key_eq(&kk->last.s.key, key)) {
		*s = kk->last.s;
		*v = kk->last.view;
		return 0;
	}
	int err = diag_get(ns->diag, key, s, !reached(kk, ns->ino, key));
	kk->last.netns = err ? 0 : ns->ino;
	kk->last.at_us = now;
	if (err)
		return err;
	view_from_diag(v, s);
	add_seq(kk, ns, s, v);
	catch_up(kk);
	add_hist(kk, s, v);
	kk->last.s = *s;
	kk->last.view = *v;
	return 0;
}

static int kernel_load(void *k, const struct kind_caller *who, const char *name,
		       struct kind_conn *c)
{
	struct kernel *kk = k;
	struct ksock *ks = (struct ksock *)c->priv;
	struct diag_sock *s = &ks->s;
	struct diag_key key;
	struct netns *ns;

	if (sockname_parse(name, &key) < 0)
		return -ENOENT;
	int err = reader_ns(kk, who, &ns);
	if (err == 0)
		err = get_sock(kk, ns, &key, s, &c->view);
	if (err < 0)
		return err;
	ks->netns = ns->ino;
	ks->who = *who;
	c->lives = 0; /* the kernel frees a socket by itself, any time */
	c->owned = s->full;
	c->owner = s->full ? s->uid : 0;
	c->group = s->full ? owner_group(kk, s->uid) : 0;
	c->key = s->key.cookie;
	return 0;
}

/* The sockets of one dump, by cookie, so that each name is listed once:
 * while its owner holds a connection that bound its own port and ended,
 * the kernel dumps it twice, the closed socket (from the bind table) and
 * then its timewait remnant (from the established table, which the dump
 * walks last), with one tuple and one cookie. The remnant is left out; the
 * name opens it, and the closed socket after it (a search finds it). */
struct once {
	struct cookielist *conns; /* the ones not idle, or NULL */
	struct cookieset *search; /* of those, the ones the kernel's lookup
				     may miss: bound to an interface, or
				     twins; or NULL */
	struct cookieset idle;	  /* bound, neither listening nor connected */
};

/* Whether S's name is new to O's dump; notes S. */
static bool once(struct once *o, const struct diag_sock *s)
{
	uint64_t c = s->key.cookie;
	if (s->kstate == DIAG_TCP_CLOSE ||
	    s->kstate == DIAG_TCP_BOUND_INACTIVE) {
		cookieset_add(&o->idle, c);
		return true;
	}
	bool twin = cookieset_has(&o->idle, c);
	if (o->conns)
		cookielist_add(o->conns, c);
	if (o->search && (twin || s->ifindex))
		cookieset_add(o->search, c);
	return !twin;
}

struct lister {
	kind_list_fn fn;
	void *arg;
	struct once once;
};

static void list_socket(const struct diag_sock *s, void *arg)
{
	struct lister *l = arg;
	char name[SOCKNAME_MAX];
	if (!once(&l->once, s))
		return;
	sockname_format(name, &s->key);
	/* d_ino is a hint only: the socket inode, else its cookie */
	l->fn(l->arg, name, s->inode ? s->inode : s->key.cookie);
}

/* Namespace NETNS's listing, emptied for a new one: its own, or the one
 * listed longest ago. */
static struct listed *listed_of(struct kernel *kk, uint64_t netns)
{
	struct listed *l = &kk->listed[0];
	for (int i = 0; i < LISTED_NS && l->netns != netns; i++)
		if (kk->listed[i].netns == netns ||
		    kk->listed[i].tick < l->tick)
			l = &kk->listed[i];
	l->netns = netns;
	l->tick = ++kk->ticks;
	cookielist_clear(&l->conns);
	cookieset_clear(&l->search);
	return l;
}

static int kernel_list(void *k, const struct kind_caller *who, kind_list_fn fn,
		       void *arg)
{
	struct kernel *kk = k;
	struct netns *ns;
	int err = reader_ns(kk, who, &ns);
	if (err < 0)
		return err;
	struct listed *memo = listed_of(kk, ns->ino);
	struct lister l = {fn, arg, {&memo->conns, &memo->search, {0}}};
	err = diag_dump(ns->diag, list_socket, &l);
	cookieset_free(&l.once.idle);
	return err;
}

static bool has_holders(void *k, const struct kind_conn *c)
{
	(void)k;
	return sock_of(c)->full && sock_of(c)->inode != 0;
}

static int render_pid(void *k, const struct kind_conn *c, struct buf *out)
{
	struct kernel *kk = k;
	const struct ksock *ks = (const struct ksock *)c->priv;
	return procpid_render(kk->procpid, ks->s.inode, &ks->who, mono_ms(),
			      out);
}

/* kernel/pids: a line per socket of the reader's namespace and holder,
 * "NAME PID COMM" ("NAME" alone for a socket without one), from one dump
 * and one /proc scan: what `ss -tanp` says, for every socket at once. */
struct pids_ctx {
	struct procpid *pp;
	struct procpid_reader r; /* sees only whom /proc shows it */
	struct buf *out;
	uint64_t now_ms;
	struct once once;
};

static void pids_socket(const struct diag_sock *s, void *arg)
{
	struct pids_ctx *p = arg;
	char name[SOCKNAME_MAX];
	if (!once(&p->once, s))
		return;
	sockname_format(name, &s->key);
	if (!s->full || !s->inode ||
	    !procpid_holders(p->pp, s->inode, &p->r, name, p->now_ms, p->out))
		buf_printf(p->out, "%s\n", name);
}

static const char *const kernel_fixed[] = {"pids"};

static int kernel_fixed_open(void *k, int i, const struct kind_caller *who,
			     struct buf *out)
{
	struct kernel *kk = k;
	struct pids_ctx p = {
		.pp = kk->procpid, .out = out, .now_ms = mono_ms()};
	struct netns *ns;
	(void)i;
	int err = reader_ns(kk, who, &ns);
	if (!err)
		err = procpid_refresh(kk->procpid, p.now_ms);
	procpid_reader(kk->procpid, who, &p.r);
	if (!err)
		err = diag_dump(ns->diag, pids_socket, &p);
	cookieset_free(&p.once.idle);
	return err < 0 ? err : out->err;
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

/* Kernel sockets take close (and hangup): SOCK_DESTROY, with the cookie,
 * in the namespace the socket was loaded from (the writer's). */
static int kernel_ctl(void *k, struct kind_conn *c, const struct ctl_cmd *cmd,
		      const struct kind_caller *who)
{
	struct kernel *kk = k;
	const struct diag_key *key = &sock_of(c)->key;
	/* loaded by this very request: its namespace is open */
	struct netns *ns =
		netns_pool_find(kk->pool, ((struct ksock *)c->priv)->netns);
	(void)who;
	if (cmd->verb != CTL_CLOSE && cmd->verb != CTL_HANGUP)
		return kind_fail(c, -EINVAL,
				 "'%s' is for engine connections; a kernel "
				 "socket takes close or hangup",
				 ctl_verb_name(cmd->verb));
	if (!ns)
		return kind_fail(c, -ENOENT, "its network namespace is gone");

	int err = diag_destroy(ns->diag, key, sock_of(c)->ifindex);
	struct diag_sock still;
	kk->last.netns = 0;
	/* The kernel's lookup reaches one SO_REUSEPORT sibling only, and no
	 * socket bound and idle (dumped as CLOSE, or BOUND_INACTIVE): for
	 * them it says "gone" while the socket is still there. */
	if (err == -ENOENT &&
	    diag_get(ns->diag, key, &still, !reached(kk, ns->ino, key)) == 0) {
		if (still.kstate == DIAG_TCP_BOUND_INACTIVE ||
		    still.kstate == DIAG_TCP_CLOSE)
			return kind_fail(c, -EOPNOTSUPP,
					 "the kernel destroys no socket that "
					 "is bound but neither listening nor "
					 "connected");
		err = -EBUSY;
	}
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

/* netns/: every network namespace of the host, named by inode. */
static int kernel_scope_list(void *k, kind_list_fn fn, void *arg)
{
	struct kernel *kk = k;
	char name[24];
	int err = nsscan_refresh(kk->scan, mono_ms(), 0);
	for (int i = 0; !err && i < nsscan_count(kk->scan); i++) {
		const struct nsscan_ns *e = nsscan_at(kk->scan, i);
		snprintf(name, sizeof(name), "%llu",
			 (unsigned long long)e->ino);
		fn(arg, name, e->ino);
	}
	return err;
}

enum { SCOPE_NAME, SCOPE_PIDS };
static const char *const scope_files[] = {
	[SCOPE_NAME] = "name",
	[SCOPE_PIDS] = "pids",
};

/* netns/INO itself (I -1), its name (only where it has one) or pids:
 * opened, from a fresh scan. */
static int kernel_scope_file(void *k, uint64_t scope, int i, struct buf *out)
{
	struct kernel *kk = k;
	const struct nsscan_ns *e;
	int err = scan_find(kk, scope, out ? 0 : SCAN_FRESH_MS, &e);
	if (err < 0)
		return err;
	if (i == SCOPE_NAME && !e->name[0])
		return -ENOENT;
	if (!out || i < 0)
		return 0;
	if (i == SCOPE_NAME)
		buf_printf(out, "%s\n", e->name);
	for (int j = 0; i == SCOPE_PIDS && j < e->npids; j++)
		buf_printf(out, "%d %s\n", (int)e->pids[j], e->comm[j]);
	return out->err;
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

/* The socket at the other end of OF, if its history is kept: of that
 * tuple, one that lived while OF did (khist_find()). */
static int kernel_ladder_peer(void *k, const struct ladder_side *of,
			      uid_t reader, struct ladder_side *out)
{
	struct kernel *kk = k;
	(void)reader; /* every kernel socket's ladder is 0444 */
	catch_up(kk);
	const struct khist_sock *h = kk->hist ? khist_find(kk->hist, of) : NULL;
	return h ? khist_ladder(h, out) : -ENOENT;
}

static const struct kind_file kernel_files[] = {
	{"pid", 0444, false, has_holders, render_pid},
	{"trace", 0444, false, has_trace, render_trace},
};

static void kernel_drop(void *k);
#ifdef HAVE_KBPF
static void kernel_save(void *k, struct buf *out);
static int kernel_restore(void *k, const void *p, size_t len);
#endif

static const struct kind_ops kernel_ops = {
	.files = kernel_files,
	.nfiles = 2,
	.fixed = kernel_fixed,
	.nfixed = 1,
	.fixed_open = kernel_fixed_open,
	/* no streams; no rmdir: the kernel's sockets are closed through ctl,
	 * their directories go with them */
	.list = kernel_list,
	.load = kernel_load,
	.ctl = kernel_ctl,
	.scopes = "netns",
	.scope_files = scope_files,
	.nscope_files = 2,
	.scope_list = kernel_scope_list,
	.scope_file = kernel_scope_file,
	.ladder = kernel_ladder,
	.ladder_peer = kernel_ladder_peer,
#ifdef HAVE_KBPF
	.save = kernel_save,
	.restore = kernel_restore,
#endif
	.destroy = kernel_drop,
};

/* Post a line about namespace NS: as is to its readers, as netns/INO/...
 * to root readers of other namespaces, to nobody else; with --netns, to
 * every reader as is (they all read that namespace). */
__attribute__((format(printf, 3, 4))) static void
say_ns(struct kernel *kk, const struct netns *ns, const char *fmt, ...)
{
	char text[400], where[40];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(where, sizeof(where), "netns/%llu/",
		 (unsigned long long)ns->ino);
	events_say_in(kk->events, netns_pool_pinned(kk->pool) ? 0 : ns->ino,
		      where, "%s", text);
}

/* The scope of an events reader: its namespace's inode, whose monitor
 * stays open while it reads (none: a reader whose namespace is not known
 * sees no kernel lines); -EMFILE if it may not hold one more. */
static int reader_scope(void *arg, const struct kind_caller *who,
			uint64_t *scope)
{
	struct kernel *kk = arg;
	struct netns *ns;
	*scope = UINT64_MAX;
	if (netns_pool_of_pid(kk->pool, who->pid, &ns) < 0)
		return 0;
	int err = netns_pool_hold(kk->pool, ns, who->uid);
	if (err == 0)
		*scope = ns->ino;
	return err;
}

static void reader_left(void *arg, const struct kind_caller *who,
			uint64_t scope)
{
	struct kernel *kk = arg;
	netns_pool_release(kk->pool, scope, who->uid);
}

static void on_destroyed(const struct netns *ns, const struct diag_sock *s,
			 void *arg)
{
	struct kernel *kk = arg;
	char name[SOCKNAME_MAX];
	if (!s) {
		say_ns(kk, ns, "kernel lost destroy events (netlink overrun)");
		return;
	}
	if (kk->last.netns == ns->ino && kk->last.s.key.cookie == s->key.cookie)
		kk->last.netns = 0;
	sockname_format(name, &s->key);
	say_ns(kk, ns, "kernel/%s destroyed", name);
}

static void on_pool(void *arg)
{
	struct kernel *kk = arg;
	netns_pool_run(kk->pool);
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
	const struct netns *home = netns_pool_home(kk->pool);
	sockname_format(name, &h->key);
	uint32_t i = h->said > khist_first(h) ? h->said : khist_first(h);
	for (; i < h->n; i++) {
		const struct khist_ent *e = khist_at(h, i);
		switch (e->type) {
		case KHIST_STATE:
			say_ns(kk, home, "kernel/%s %s -> %s", name,
			       diag_state_name(e->from),
			       diag_state_name(e->to));
			break;
		case KHIST_RESET_SENT:
			say_ns(kk, home, "kernel/%s reset sent", name);
			break;
		case KHIST_RESET_RECV:
			say_ns(kk, home, "kernel/%s reset received", name);
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

static void drain(struct kernel *kk)
{
	int n = kbpf_drain(kk->kbpf, on_event, kk);
	if (n < 0)
		tlog(LOG_DEBUG, "kernel history: kbpf_drain: %s", strerror(-n));
}

static void on_kbpf(void *arg)
{
	struct kernel *kk = arg;
	drain(kk);
	uint64_t lost = kbpf_lost(kk->kbpf);
	if (lost > kk->lost)
		say_ns(kk, netns_pool_home(kk->pool),
		       "kernel lost %llu history events",
		       (unsigned long long)(lost - kk->lost));
	kk->lost = lost;
}

/* What an upgrade hands over: the history of the daemon's namespace (its
 * length, then khist_save()'s) and the iss/irs kbpf keeps (kbpf_save()'s).
 * What happens while the images change (from the old one's last drain to
 * the new one's programs) is not seen. */
#define KERNEL_SAVE_VERSION 1

struct saved_kernel {
	uint32_t version, zero;
	uint64_t netns, hist_len;
};

static void kernel_save(void *k, struct buf *out)
{
	struct kernel *kk = k;
	if (!kk->hist)
		return;
	drain(kk); /* what the ring holds still */
	struct saved_kernel h = {KERNEL_SAVE_VERSION, 0, kk->netns, 0};
	size_t at = out->len, n = kbpf_save(kk->kbpf, NULL, 0);
	char *isn = malloc(n ? n : 1);
	buf_add(out, &h, sizeof(h));
	khist_save(kk->hist, out);
	if (!isn || out->err) {
		free(isn);
		out->err = -ENOMEM;
		return;
	}
	h.hist_len = out->len - at - sizeof(h);
	memcpy(out->p + at, &h, sizeof(h));
	kbpf_save(kk->kbpf, isn, n);
	buf_add(out, isn, n);
	free(isn);
}

static int kernel_restore(void *k, const void *p, size_t len)
{
	struct kernel *kk = k;
	struct saved_kernel h;
	if (!kk->hist || !len) /* no history here, or none there */
		return 0;
	if (len < sizeof(h))
		return -EINVAL;
	memcpy(&h, p, sizeof(h));
	if (h.version != KERNEL_SAVE_VERSION || h.hist_len > len - sizeof(h))
		return -EINVAL;
	if (h.netns != kk->netns) /* another namespace's */
		return 0;
	const char *hist = (const char *)p + sizeof(h);
	int err = khist_load(kk->hist, hist, h.hist_len);
	int isn = kbpf_load(kk->kbpf, hist + h.hist_len,
			    len - sizeof(h) - h.hist_len);
	return err < 0 ? err : isn;
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
		loop_del(kk->loop, netns_pool_fd(kk->pool));
	netns_pool_free(kk->pool);
	nsscan_free(kk->scan);
	procpid_free(kk->procpid);
#ifdef HAVE_KBPF
	if (kk->draining) {
		loop_del(kk->loop, kbpf_fd(kk->kbpf));
		kbpf_unwatch_netns(kk->kbpf, kk->netns);
	}
	kbpf_close(kk->kbpf);
#endif
	khist_free(kk->hist);
	for (int i = 0; i < LISTED_NS; i++) {
		cookielist_free(&kk->listed[i].conns);
		cookieset_free(&kk->listed[i].search);
	}
	free(kk);
}

int kernel_kind_new(struct kind *k, struct loop *loop, struct events *events,
		    struct netns_pool *pool, struct nsscan *scan,
		    struct procpid *procpid, struct kbpf *kbpf)
{
	struct kernel *kk = calloc(1, sizeof(*kk));
	if (!kk) {
		netns_pool_free(pool);
		nsscan_free(scan);
		procpid_free(procpid);
#ifdef HAVE_KBPF
		kbpf_close(kbpf);
#endif
		return -ENOMEM;
	}
	*kk = (struct kernel){.loop = loop,
			      .events = events,
			      .pool = pool,
			      .scan = scan,
			      .procpid = procpid,
			      .kbpf = kbpf};
	int err = pool && scan && procpid ? 0 : -ENOMEM;
	if (!err && !(err = loop_add(loop, netns_pool_fd(pool), on_pool, kk)))
		kk->watching = true;
	if (err < 0) {
		kernel_drop(kk);
		return err;
	}
	netns_pool_on_destroyed(pool, on_destroyed, kk);
	events_set_scope(events, reader_scope, reader_left, kk);
#ifdef HAVE_KBPF
	if (kbpf)
		watch_history(kk);
#endif
	*k = (struct kind){.ops = &kernel_ops,
			   .priv = kk,
			   .dir = "kernel",
			   .per_reader = !netns_pool_pinned(pool)};
	return 0;
}
