/* The engine kind: engine/, the connections of tcpfs's own engine.
 *
 * clone allocates a connection for its reader; ctl drives it (connect
 * finishes later: ctl_wait); data and listen are streams; trace renders
 * the engine's log of the connection, and gives fs the ladder's record. The engine's event callback (called
 * from tcp_dispatch() after every loop round) announces state changes on
 * the events hub and wakes the connection's wait queue; a timer frees
 * connections closed longer than the reap time. */
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "edir.h"
#include "tcpfs/events.h"
#include "tcpfs/kinds.h"
#include "tcpfs/ladder.h"
#include "tcpfs/log.h"
#include "tcpfs/loop.h"
#include "tcpfs/tundrv.h"

struct engine {
	struct loop *loop;
	struct events *events;
	struct tundrv *drv; /* NULL: the engine is off */
	struct edirs *dirs; /* the connections engine/ shows */
	tcp_time reap;	    /* closed connections live this long */
	int timer;	    /* timerfd: the next reap */
	tcp_time armed;	    /* when TIMER expires, or TCP_NEVER */
	bool watching;	    /* TIMER is in the loop */
	unsigned freed;	    /* connections freed since the last trim */
	tcp_time trimmed;   /* when malloc_trim() last ran */
	tcp_time told;	    /* when a refused clone was last logged */
};

/* An open data or listen file. */
struct estream {
	uint32_t id;
	bool listen;
	/* listen: the line naming the connection this open accepted, and how
	 * much of it was read (all of it: EOF); empty before the accept */
	char line[12];
	uint8_t line_len, line_off;
};

_Static_assert(sizeof(struct tcp_info_snap) <= KIND_PRIV_MAX, "priv");

static struct tcp_engine *tcp_of(struct engine *e)
{
	return tundrv_tcp(e->drv);
}

static const struct tcp_info_snap *info_of(const struct kind_conn *c)
{
	return (const struct tcp_info_snap *)c->priv;
}

/* The entry of ID if it is alive, else NULL. */
static struct edir *find(struct engine *e, uint32_t id)
{
	struct edir *ec = e->drv ? edirs_find(e->dirs, id) : NULL;
	return ec && !ec->gone ? ec : NULL;
}

/* ---- reaping ---- */

/* After TRIM_AFTER connections were freed, the reap timer gives freed
 * memory back to the system (malloc_trim), at most every TRIM_EVERY: a
 * burst of connections leaves the heap full of holes glibc keeps. */
#define TRIM_AFTER 64
#define TRIM_EVERY 1000000 /* us */

/* When the next trim is due, or TCP_NEVER. */
static tcp_time trim_due(const struct engine *e)
{
	return e->freed >= TRIM_AFTER ? e->trimmed + TRIM_EVERY : TCP_NEVER;
}

static void trim(struct engine *e, tcp_time now)
{
	if (trim_due(e) > now)
		return;
	tlog(LOG_DEBUG, "engine: %u connections freed: malloc_trim", e->freed);
	malloc_trim(0);
	e->freed = 0;
	e->trimmed = now;
}

/* Arm the timer at the first closed connection's reap time (or the trim's,
 * if sooner), unless it is armed there or sooner already: then it fires,
 * finds nothing to reap, and arms again (a clone that is connected leaves
 * the timer as it was, saving a timerfd_settime per clone). */
static void reap_arm(struct engine *e)
{
	const struct edir *ec = edirs_first_idle(e->dirs);
	tcp_time first = trim_due(e);
	if (ec && ec->idle_since + e->reap < first)
		first = ec->idle_since + e->reap;
	if (first >= e->armed)
		return;
	struct itimerspec its = {0};
	if (first != TCP_NEVER) {
		tcp_time now = tundrv_now(), in = first > now ? first - now : 1;
		its.it_value.tv_sec = (time_t)(in / 1000000);
		its.it_value.tv_nsec = (long)(in % 1000000) * 1000;
	}
	timerfd_settime(e->timer, 0, &its, NULL);
	e->armed = first;
}

/* Forget EC: whoever waits on it is woken and finds it gone. */
static void drop(struct engine *e, struct edir *ec, tcp_time now)
{
	uint32_t id = ec->id;
	tcp_free(tcp_of(e), id, now);
	ec->gone = true;
	waitq_wake(&ec->wq);
	edirs_del(e->dirs, id);
	e->freed++;
}

static void on_reap(void *arg)
{
	struct engine *e = arg;
	struct edir *ec;
	uint64_t n;
	if (read(e->timer, &n, sizeof(n)) < 0)
		return;
	e->armed = TCP_NEVER;
	tcp_time now = tundrv_now();
	while ((ec = edirs_first_idle(e->dirs)) &&
	       now - ec->idle_since >= e->reap) {
		tlog(LOG_DEBUG, "%s: reaped, closed for %llu s", ec->label,
		     (unsigned long long)((now - ec->idle_since) / 1000000));
		drop(e, ec, now);
	}
	trim(e, now);
	reap_arm(e);
}

/* ---- what the engine reports ---- */

/* How err begins when it tells of an ICMP error the connection lives
 * with: the reason it ends, if it does, replaces it. */
#define SOFT_ERR "ICMP from "

/* An ICMP error arrived: err says so (RFC 1122 §4.2.3.9: soft errors are
 * reported to the application, which decides). */
static void soft_error(struct engine *e, struct edir *ec)
{
	struct tcp_info_snap i;
	char from[64];
	if (tcp_info_get(tcp_of(e), ec->id, &i) < 0 || !i.soft_error)
		return;
	if (wire_ep_format(&i.icmp_from, from, sizeof(from)) < 0)
		snprintf(from, sizeof(from), "?");
	char *port = strrchr(from, ':'); /* the ICMP has none: ":0" */
	if (port)
		*port = 0;
	snprintf(ec->err, TCPFS_ERR_MAX,
		 SOFT_ERR "%s: %s (a soft error: the connection goes on)", from,
		 strerror(i.soft_error));
}

static void announce(struct engine *e, struct edir *ec, int state)
{
	struct tcp_info_snap i = {.state = state};
	if (state == TCP_CLOSED)
		tcp_info_get(tcp_of(e), ec->id, &i);
	/* the error, or why it closed without one (TIME_WAIT reused) */
	if (state == TCP_CLOSED && (i.error || i.why))
		events_say(e->events, "%s %s -> %s (%s)", ec->label,
			   tcp_state_name(ec->state), tcp_state_name(state),
			   i.error ? strerror(i.error) : i.why);
	else
		events_say(e->events, "%s %s -> %s", ec->label,
			   tcp_state_name(ec->state), tcp_state_name(state));
	bool soft = !strncmp(ec->err, SOFT_ERR, strlen(SOFT_ERR));
	if (state == TCP_ESTABLISHED && soft) /* the connect got through */
		ec->err[0] = 0;
	if (state == TCP_CLOSED && i.error && (!ec->err[0] || soft)) {
		snprintf(ec->err, sizeof(ec->err), "closed: %s%s%s",
			 strerror(i.error), i.why ? ": " : "",
			 i.why ? i.why : "");
		tlog(LOG_NOTICE, "%s: %s", ec->label, ec->err);
	}
	ec->state = state;
	edirs_idle(e->dirs, ec, state == TCP_CLOSED ? tundrv_now() : 0);
	if (state == TCP_CLOSED)
		reap_arm(e);
}

static void on_tcp_ev(void *ctx, uint32_t id, unsigned events)
{
	struct engine *e = ctx;
	struct edir *ec = edirs_find(e->dirs, id);
	if (!ec)
		return; /* not accepted yet: it has no directory */
	/* every change of state says so: no snapshot per packet otherwise */
	int state = (events & TCP_EV_STATE) ? tcp_state(tcp_of(e), id) : -1;
	if (state >= 0 && state != (int)ec->state)
		announce(e, ec, state);
	if (events & TCP_EV_URGENT) /* RFC 9293 MUST-32: told at once */
		events_say(e->events, "%s urgent data", ec->label);
	if ((events & TCP_EV_SOFTERR) && ec->state != TCP_CLOSED)
		soft_error(e, ec);
	waitq_wake(&ec->wq);
}

/* A connection a listener accepted, or clone made, belongs to OWNER. */
static struct edir *adopt(struct engine *e, uint32_t id, uid_t owner)
{
	struct edir *ec = edirs_add(e->dirs, id, owner);
	if (!ec) {
		tcp_free(tcp_of(e), id, tundrv_now());
		return NULL;
	}
	int state = tcp_state(tcp_of(e), id);
	if (state >= 0)
		ec->state = state;
	return ec;
}

/* ---- engine/ and its directories ---- */

/* The id NAME spells: decimal, no sign, no leading zero; 0 if none. */
static uint32_t parse_id(const char *name)
{
	char *end;
	if (name[0] < '1' || name[0] > '9')
		return 0;
	unsigned long id = strtoul(name, &end, 10);
	return *end || id > UINT32_MAX ? 0 : (uint32_t)id;
}

/* The engine is the daemon's own: every reader sees the same. */
static int engine_list(void *k, const struct kind_caller *who, kind_list_fn fn,
		       void *arg)
{
	struct engine *e = k;
	(void)who;
	char name[16];
	for (size_t i = 0; i < edirs_count(e->dirs); i++) {
		uint32_t id = edirs_at(e->dirs, i)->id;
		snprintf(name, sizeof(name), "%u", id);
		fn(arg, name, 0);
	}
	return 0;
}

static int engine_load(void *k, const struct kind_caller *who, const char *name,
		       struct kind_conn *c)
{
	struct engine *e = k;
	(void)who;
	struct tcp_info_snap *i = (struct tcp_info_snap *)c->priv;
	uint32_t id = parse_id(name);
	struct edir *ec = id ? find(e, id) : NULL;
	if (!ec || tcp_info_get(tcp_of(e), id, i) < 0)
		return -ENOENT;
	view_from_tcp(&c->view, i, ec->owner);
	c->err = ec->err;
	c->owned = true;
	c->owner = ec->owner;
	c->key = id;
	/* reaped REAP after its close (or its clone, if never used) */
	tcp_time now = tundrv_now(),
		 end = (ec->idle_since ? ec->idle_since : now) + e->reap;
	c->lives = end > now ? (double)(end - now) / 1e6 : 0;
	return 0;
}

static int engine_rmdir(void *k, struct kind_conn *c)
{
	struct engine *e = k;
	struct edir *ec = find(e, (uint32_t)c->key);
	enum tcp_state state = info_of(c)->state;
	if (!ec)
		return -ENOENT;
	if (state != TCP_CLOSED) {
		return kind_fail(
			c, -EBUSY,
			state == TCP_TIME_WAIT ?
				"rmdir: the connection is in %s: wait "
				"2 MSL, or hangup" :
				"rmdir: the connection is %s: close or "
				"hangup first",
			tcp_state_name(state));
	}
	drop(e, ec, tundrv_now());
	if (e->freed == TRIM_AFTER)
		reap_arm(e); /* the trim is due */
	return 0;
}

/* The cap the engine's latest refusal hit, for OWNER, in words with its
 * value and the option that sets it, into WHY. */
static void limit_words(struct engine *e, uid_t owner, char *why, size_t len)
{
	struct tcp_mem_info m;
	tcp_mem_get(tcp_of(e), owner, &m);
	switch (m.refused) {
	case TCP_LIMIT_CONNS:
		snprintf(why, len,
			 "the engine holds %u connections, its cap "
			 "(engine-conns-max=%u)",
			 m.conns, m.max_conns);
		break;
	case TCP_LIMIT_OWNER_CONNS:
		snprintf(why, len,
			 "uid %u holds %u engine connections, the cap of "
			 "each user (engine-conns-uid=%u)",
			 (unsigned)owner, m.owner_conns, m.owner_max_conns);
		break;
	case TCP_LIMIT_MEM:
		snprintf(why, len,
			 "the engine's buffer memory is at its cap: %llu of "
			 "%llu bytes in use (engine-mem-max=%llu)",
			 (unsigned long long)m.bytes, (unsigned long long)m.max,
			 (unsigned long long)m.max);
		break;
	default:
		snprintf(why, len,
			 "uid %u's engine buffer memory is at the cap of "
			 "each user: %llu of %llu bytes in use "
			 "(engine-mem-uid=%llu)",
			 (unsigned)owner, (unsigned long long)m.owner_bytes,
			 (unsigned long long)m.owner_max,
			 (unsigned long long)m.owner_max);
	}
}

/* A cap refused a clone: the reader gets the errno, the log the reason,
 * at most once a second (a flood must not flood the log too). */
static int clone_refused(struct engine *e, uid_t owner, int err)
{
	char why[200];
	tcp_time now = tundrv_now();
	if (err == -ENOMEM || now - e->told < 1000000)
		return err;
	e->told = now;
	limit_words(e, owner, why, sizeof(why));
	tlog(LOG_WARNING, "engine/clone by uid %u: %s: %s", (unsigned)owner,
	     strerror(-err), why);
	return err;
}

/* The files of engine/ beside the connections. */
enum { FIXED_CLONE, FIXED_STATS, FIXED_N };

/* engine/stats: the engine's counters and memory, and the reader's own
 * share of it, as "name value" lines (an operator's /proc/net/sockstat). */
static int engine_stats(struct engine *e, uid_t reader, struct buf *out)
{
	struct tcp_stats st;
	struct tcp_mem_info m;
	tcp_stats_get(tcp_of(e), &st);
	tcp_mem_get(tcp_of(e), reader, &m);
	buf_printf(
		out,
		"conns %u\nconns_max %u\nhalf_open %u\n"
		"mem %llu\nmem_max %llu\nmem_low %llu\nmem_pressure_at %llu\n"
		"pressure %s\nrcv_drops %llu\n"
		"uid %u\nuid_conns %u\nuid_conns_max %u\n"
		"uid_mem %llu\nuid_mem_max %llu\n",
		st.conns, m.max_conns, st.half_open,
		(unsigned long long)m.bytes, (unsigned long long)m.max,
		(unsigned long long)m.low, (unsigned long long)m.pressure_at,
		m.pressure ? "yes" : "no", (unsigned long long)m.rcv_drops,
		(unsigned)reader, m.owner_conns, m.owner_max_conns,
		(unsigned long long)m.owner_bytes,
		(unsigned long long)m.owner_max);
	buf_printf(out,
		   "in_pkts %llu\nout_pkts %llu\nrst_sent %llu\n"
		   "syn_cookies_sent %llu\nsyn_dropped %llu\n"
		   "challenge_acks %llu\npaws_drops %llu\nicmp_in %llu\n"
		   "icmp_drops %llu\ndrop_no_conn %llu\n",
		   (unsigned long long)st.in_pkts,
		   (unsigned long long)st.out_pkts,
		   (unsigned long long)st.rst_sent,
		   (unsigned long long)st.syn_cookies_sent,
		   (unsigned long long)st.syn_dropped,
		   (unsigned long long)st.challenge_acks,
		   (unsigned long long)st.paws_drops,
		   (unsigned long long)st.icmp_in,
		   (unsigned long long)st.icmp_drops,
		   (unsigned long long)st.drop_no_conn);
	for (int r = WIRE_OK + 1; r < WIRE_NERR; r++)
		buf_printf(out, "drop_%s %llu\n", wire_err_name(r),
			   (unsigned long long)st.drop_wire[r]);
	struct tundrv_stats link;
	tundrv_stats_get(e->drv, &link);
	buf_printf(out,
		   "link_rx_malformed %llu\nlink_tx_errors %llu\n"
		   "link_drops %llu\n",
		   (unsigned long long)link.rx_malformed,
		   (unsigned long long)link.tx_errors,
		   (unsigned long long)link.drops);
	return out->err;
}

/* Reading clone allocates a connection, charged to the reader's uid, and
 * gives its name; reading stats renders the counters. */
static int engine_fixed_open(void *k, int i, const struct kind_caller *who,
			     struct buf *out)
{
	struct engine *e = k;
	if (!e->drv) /* the log said why at start, once */
		return -ENETDOWN;
	if (i == FIXED_STATS)
		return engine_stats(e, who->uid, out);
	int id = tcp_open_owner(tcp_of(e), who->uid);
	if (id < 0)
		return clone_refused(e, who->uid, id);
	struct edir *ec = adopt(e, (uint32_t)id, who->uid);
	if (!ec)
		return -ENOMEM;
	edirs_idle(e->dirs, ec, tundrv_now()); /* reaped if never used */
	reap_arm(e);
	buf_printf(out, "%d\n", id);
	return out->err;
}

/* ---- ctl ---- */

/* An engine call's error, in words, as connect(2) and friends would. */
static int engine_fail(struct engine *e, struct kind_conn *c,
		       const struct ctl_cmd *cmd, int err)
{
	char cap[200];
	const char *why;
	switch (-err) {
	case ENOBUFS:
		limit_words(e, c->owner, cap, sizeof(cap));
		why = cap;
		break;
	case EISCONN:
		why = "the connection is already open";
		break;
	case ENOTCONN:
		why = "the connection is not open";
		break;
	case EADDRINUSE:
		why = "that local address and port are in use";
		break;
	case EADDRNOTAVAIL:
		why = "every local port of the engine's range to that peer "
		      "is in use (TIME_WAIT ones too)";
		break;
	case ENETUNREACH:
		why = "the engine has no address of that family";
		break;
	case ENOENT:
		why = "the connection is gone";
		break;
	default:
		why = strerror(-err);
		break;
	}
	return kind_fail(c, err, "%s: %s", ctl_verb_name(cmd->verb), why);
}

/* "PORT", "*:PORT" or "ADDR:PORT" (also with '!'): where to listen. */
static int parse_announce(const char *arg, struct wire_ep *ep, const char **why)
{
	if (arg[0] == '*' && (arg[1] == ':' || arg[1] == '!'))
		arg += 2;
	if (!strpbrk(arg, ":!")) {
		memset(ep, 0, sizeof(*ep));
		return wire_port_parse(arg, &ep->port, why);
	}
	return wire_ep_parse(arg, -1, ep, why);
}

/* "on" or "off", as a bool in *ON. */
static int parse_switch(const char *arg, bool *on)
{
	*on = strcmp(arg, "on") == 0;
	return *on || strcmp(arg, "off") == 0 ? 0 : -EINVAL;
}

/* SECONDS (0 to a week) of the command's argument, in µs; without one,
 * DEF. */
static int parse_seconds(const struct ctl_cmd *cmd, tcp_time def, tcp_time *us)
{
	char *end;
	if (cmd->argc == 0) {
		*us = def;
		return 0;
	}
	unsigned long sec = strtoul(cmd->argv[0], &end, 10);
	*us = (tcp_time)sec * 1000000;
	return isdigit((unsigned char)*cmd->argv[0]) && !*end &&
			       sec <= 86400 * 7 ?
		       0 :
		       -EINVAL;
}

/* ARG as a byte: decimal (a leading 0 is not octal), or hex with 0x (a
 * DSCP is often given so). */
static int parse_byte(const char *arg, uint8_t *v)
{
	char *end;
	bool hex = arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X');
	unsigned long n = strtoul(arg, &end, hex ? 16 : 10);
	*v = (uint8_t)n;
	return isdigit((unsigned char)*arg) && !*end && n <= 255 ? 0 : -EINVAL;
}

/* Ports below 1024 are root's, as with bind(2) (CAP_NET_BIND_SERVICE of
 * the writer is not looked at). */
static int privileged_port(struct kind_conn *c, const struct ctl_cmd *cmd,
			   uint16_t port, uid_t caller)
{
	if (!port || port >= 1024 || caller == 0)
		return 0;
	return kind_fail(c, -EACCES,
			 "%s: port %u is below 1024: only root may take it",
			 ctl_verb_name(cmd->verb), (unsigned)port);
}

static int engine_connect(struct engine *e, struct kind_conn *c,
			  const struct ctl_cmd *cmd, uid_t caller)
{
	struct wire_ep ep;
	const char *why = "";
	uint16_t lport = 0;
	int err;
	if (wire_ep_parse(cmd->argv[0], -1, &ep, &why) < 0)
		return kind_fail(c, -EINVAL, "connect: %s: %s", cmd->argv[0],
				 why);
	if (!wire_ep_unicast(&ep))
		return kind_fail(c, -EINVAL,
				 "connect: %s: an unspecified, broadcast or "
				 "multicast address cannot be a TCP peer",
				 cmd->argv[0]);
	if (cmd->argc > 1 && wire_port_parse(cmd->argv[1], &lport, &why) < 0)
		return kind_fail(c, -EINVAL, "connect: local port '%s': %s",
				 cmd->argv[1], why);
	if ((err = privileged_port(c, cmd, lport, caller)) < 0)
		return err;
	if ((err = tundrv_route(e->drv, &ep, &why)) < 0)
		return kind_fail(c, err, "connect: %s: %s", cmd->argv[0], why);
	err = tcp_connect(tcp_of(e), (uint32_t)c->key, &ep, lport,
			  tundrv_now());
	if (err == -EISCONN &&
	    tcp_state(tcp_of(e), (uint32_t)c->key) == TCP_CLOSED)
		return kind_fail(c, err,
				 "connect: this connection has ended and "
				 "cannot be used again: read engine/clone "
				 "for a new one");
	if (err < 0)
		return engine_fail(e, c, cmd, err);
	c->err[0] = 0; /* a write that worked empties it, as any other */
	return -EINPROGRESS;
}

/* Engine connections take every verb. connect answers later. */
static int engine_ctl(void *k, struct kind_conn *c, const struct ctl_cmd *cmd,
		      const struct kind_caller *who)
{
	uid_t caller = who->uid;
	struct engine *e = k;
	struct tcp_engine *tcp = tcp_of(e);
	uint32_t id = (uint32_t)c->key;
	tcp_time now = tundrv_now(), us;
	struct wire_ep ep;
	const char *why = "";
	uint8_t byte;
	bool on;
	int err;

	switch (cmd->verb) {
	case CTL_CONNECT:
		return engine_connect(e, c, cmd, caller);
	case CTL_ANNOUNCE:
		if (parse_announce(cmd->argv[0], &ep, &why) < 0)
			return kind_fail(c, -EINVAL, "announce: %s: %s",
					 cmd->argv[0], why);
		if ((err = privileged_port(c, cmd, ep.port, caller)) < 0)
			return err;
		err = tcp_listen(tcp, id, &ep, 128);
		if (err == -EINVAL) /* the port was checked above */
			return kind_fail(c, err,
					 "announce: %s: not an address of the "
					 "engine's; give only a port, or one "
					 "of the engine's addresses",
					 cmd->argv[0]);
		break;
	case CTL_CLOSE:
		err = tcp_close(tcp, id, now);
		break;
	case CTL_SHUTDOWN:
		err = tcp_shutdown(tcp, id, now);
		break;
	case CTL_HANGUP:
		err = tcp_abort(tcp, id, now);
		break;
	case CTL_URGENT:
		err = tcp_send_urgent(tcp, id);
		break;
	case CTL_KEEPALIVE: /* idle seconds; without one, 2 hours */
	case CTL_TIMEOUT:
		if (parse_seconds(
			    cmd,
			    cmd->verb == CTL_KEEPALIVE ? 7200 * 1000000ull : 0,
			    &us) < 0)
			return kind_fail(c, -EINVAL,
					 "%s: '%s' is not a number of seconds "
					 "(0 to 604800)",
					 ctl_verb_name(cmd->verb),
					 cmd->argv[0]);
		err = cmd->verb == CTL_KEEPALIVE ?
			      tcp_set_keepalive(tcp, id, us) :
			      tcp_set_user_timeout(tcp, id, us);
		break;
	case CTL_TTL: /* a number 0 to 255, decimal or 0x hex */
	case CTL_TOS:
		if (parse_byte(cmd->argv[0], &byte) < 0)
			return kind_fail(c, -EINVAL,
					 "%s: '%s' is not a number from 0 to "
					 "255",
					 ctl_verb_name(cmd->verb),
					 cmd->argv[0]);
		err = tcp_set_ip(tcp, id,
				 cmd->verb == CTL_TTL ? TCP_IP_TTL : TCP_IP_TOS,
				 byte);
		break;
	case CTL_NODELAY:
		if (parse_switch(cmd->argv[0], &on) < 0)
			return kind_fail(c, -EINVAL,
					 "nodelay: say on or off, not '%s'",
					 cmd->argv[0]);
		err = tcp_set_nodelay(tcp, id, on);
		break;
	default:
		err = -EINVAL;
	}
	if (err < 0)
		return engine_fail(e, c, cmd, err);
	c->err[0] = 0;
	return 0;
}

/* A connect under way: done when the handshake is over, either way; a
 * simultaneous open's SYN_RECEIVED is still under way (connect(2) too
 * returns only once ESTABLISHED). */
static int engine_ctl_wait(void *k, uint64_t key, struct waitq **wq)
{
	struct engine *e = k;
	struct edir *ec = find(e, (uint32_t)key);
	int state = ec ? tcp_state(tcp_of(e), ec->id) : -ENOENT;
	if (state < 0)
		return -ENOENT;
	if (state == TCP_SYN_SENT || state == TCP_SYN_RECEIVED) {
		*wq = &ec->wq;
		return -EAGAIN;
	}
	if (state == TCP_CLOSED) {
		struct tcp_info_snap i;
		tcp_info_get(tcp_of(e), ec->id, &i);
		return i.error ? -i.error : -ECONNABORTED;
	}
	return 0;
}

/* ---- rows: trace, data, listen ---- */

static bool is_listener(void *k, const struct kind_conn *c)
{
	(void)k;
	return info_of(c)->listener;
}

/* ID's trace into *ENT (to free), *DROPPED the entries lost after the
 * open; how many, or -ENOMEM. */
static int trace_of(struct engine *e, uint32_t id, struct tcp_trace_ent **ent,
		    uint64_t *dropped)
{
	enum { MAX = 4096 };
	*dropped = 0;
	if (!(*ent = malloc(MAX * sizeof(**ent))))
		return -ENOMEM;
	return tcp_trace_get(tcp_of(e), id, *ent, MAX, dropped);
}

/* The trace, a line per entry, times from the connection's first. */
static int render_trace(void *k, const struct kind_conn *c, struct buf *out)
{
	struct engine *e = k;
	struct tcp_trace_ent *ent;
	uint64_t dropped;
	uint32_t id = (uint32_t)c->key;
	char line[512];

	int n = trace_of(e, id, &ent, &dropped);
	if (n < 0)
		return n;
	int kept = (int)tcp_trace_kept(tcp_of(e), id);
	for (int i = 0; i <= n; i++) {
		if (i == kept && dropped) /* between the open and the latest */
			buf_printf(out, "# %llu entries dropped\n",
				   (unsigned long long)dropped);
		if (i == n)
			break;
		tcp_trace_format(&ent[i], ent[0].t, line, sizeof(line));
		buf_printf(out, "%s\n", line);
	}
	free(ent);
	return out->err;
}

/* ---- ladder ---- */

/* Whether a connection of I has a history to draw: not a listener, nor
 * one that never opened. */
static bool has_ladder(const struct tcp_info_snap *i)
{
	return !i->listener && (i->state != TCP_CLOSED || i->iss);
}

/* ID's record for a ladder, from its trace. */
static int record(struct engine *e, uint32_t id, const struct tcp_info_snap *i,
		  struct ladder_side *out)
{
	struct tcp_trace_ent *ent;
	uint64_t dropped;
	int n = trace_of(e, id, &ent, &dropped);
	if (n < 0)
		return n;
	int err = ladder_from_tcp(out, i, ent, n, tcp_trace_kept(tcp_of(e), id),
				  dropped);
	snprintf(out->label, sizeof(out->label), "engine/%u", id);
	free(ent);
	return err;
}

static int engine_ladder(void *k, const struct kind_conn *c,
			 struct ladder_side *out)
{
	if (!has_ladder(info_of(c)))
		return -ENOENT;
	return out ? record(k, (uint32_t)c->key, info_of(c), out) : 0;
}

/* How well connection ID fits as the peer of OF, whose span is WANT
 * (ladder_fit()), or -ENOMEM. */
static int peer_fit(struct engine *e, uint32_t id, const struct ladder_side *of,
		    const struct ladder_span *want)
{
	struct tcp_info_snap i;
	struct ladder_side rec;
	struct ladder_span sp;
	if (tcp_info_get(tcp_of(e), id, &i) != 0 || !has_ladder(&i) ||
	    !ladder_peer_of(of, &i.local, &i.remote))
		return LADDER_FIT_NONE;
	ladder_side_init(&rec);
	int err = record(e, id, &i, &rec);
	ladder_span_of(&rec, &sp);
	ladder_side_free(&rec);
	return err ? err : (int)ladder_fit(want, &sp);
}

/* The connection whose ends are OF's, swapped, that lived while OF did:
 * one whose ISNs match OF's, else the newest. Not given if READER may not
 * read its ladder (its owner, or root: it is 0400 as the trace); nor is
 * another in its place, which would be another connection's record. */
static int engine_ladder_peer(void *k, const struct ladder_side *of,
			      uid_t reader, struct ladder_side *out)
{
	struct engine *e = k;
	struct tcp_info_snap i;
	struct ladder_span want;
	const struct edir *best = NULL;
	int fit = LADDER_FIT_NONE;
	ladder_span_of(of, &want);
	for (size_t n = e->drv ? edirs_count(e->dirs) : 0;
	     n-- > 0 && fit < LADDER_FIT_ISN;) {
		const struct edir *ec = edirs_at(e->dirs, n);
		int f = peer_fit(e, ec->id, of, &want);
		if (f < 0)
			return f;
		if (f > fit) {
			fit = f;
			best = ec;
		}
	}
	if (!best || (reader != 0 && reader != best->owner) ||
	    tcp_info_get(tcp_of(e), best->id, &i) != 0)
		return -ENOENT;
	return record(e, best->id, &i, out);
}

/* The user timeout in seconds, 0 for the default. */
static int render_timeout(void *k, const struct kind_conn *c, struct buf *out)
{
	(void)k;
	buf_printf(out, "%llu\n",
		   (unsigned long long)(info_of(c)->user_timeout / 1000000));
	return out->err;
}

/* The TTL (or hop limit) and the TOS (or traffic class) of its packets. */
static int render_ttl(void *k, const struct kind_conn *c, struct buf *out)
{
	(void)k;
	buf_printf(out, "%u\n", info_of(c)->ttl);
	return out->err;
}

static int render_tos(void *k, const struct kind_conn *c, struct buf *out)
{
	(void)k;
	buf_printf(out, "0x%02x\n", info_of(c)->tos);
	return out->err;
}

enum { ROW_DATA, ROW_LISTEN, ROW_TRACE, ROW_TIMEOUT, ROW_TTL, ROW_TOS, ROW_N };

static const struct kind_file engine_files[] = {
	[ROW_DATA] = {"data", 0600, true, NULL, NULL},
	[ROW_LISTEN] = {"listen", 0400, true, is_listener, NULL},
	[ROW_TRACE] = {"trace", 0400, false, NULL, render_trace},
	[ROW_TIMEOUT] = {"timeout", 0444, false, NULL, render_timeout},
	[ROW_TTL] = {"ttl", 0444, false, NULL, render_ttl},
	[ROW_TOS] = {"tos", 0444, false, NULL, render_tos},
};

static int stream_open(void *k, const struct kind_conn *c, int r, void **s)
{
	struct estream *st = calloc(1, sizeof(*st));
	(void)k;
	if (!st)
		return -ENOMEM;
	st->id = (uint32_t)c->key;
	st->listen = r == ROW_LISTEN;
	*s = st;
	return 0;
}

static void stream_close(void *k, void *s)
{
	(void)k;
	free(s);
}

/* True while ID's handshake is under way. */
static bool opening(struct engine *e, uint32_t id)
{
	int state = tcp_state(tcp_of(e), id);
	return state == TCP_SYN_SENT || state == TCP_SYN_RECEIVED;
}

/* A listen open accepts one connection and gives its number on a line,
 * in pieces to reads shorter than it (a shell's read takes a byte at a
 * time from a file it cannot seek), then EOF. */
static long accept_one(struct engine *e, struct estream *st, struct edir *lec,
		       size_t size, struct kind_sink *sink, struct waitq **wq)
{
	if (!st->line_len) {
		if (!lec) /* the listener's directory was removed */
			return -ENOENT;
		int id = tcp_accept(tcp_of(e), st->id);
		if (id == -EAGAIN)
			*wq = &lec->wq;
		if (id < 0)
			return id;
		struct edir *ec = adopt(e, (uint32_t)id, lec->owner);
		if (!ec)
			return -ENOMEM;
		/* reset in the accept queue, which only ESTABLISHED children
		 * enter: said and reaped as any close, err giving the reason */
		if (ec->state == TCP_CLOSED) {
			ec->state = TCP_ESTABLISHED;
			announce(e, ec, TCP_CLOSED);
		}
		st->line_len = (uint8_t)snprintf(st->line, sizeof(st->line),
						 "%d\n", id);
	}
	size_t left = (size_t)(st->line_len - st->line_off);
	struct iovec iov = {st->line + st->line_off, left < size ? left : size};
	if (!iov.iov_len)
		return 0;
	int err = sink->take(sink, &iov, 1);
	if (err < 0)
		return err;
	st->line_off += (uint8_t)iov.iov_len;
	return (long)iov.iov_len;
}

/* The received bytes go to the reader from the receive queue itself, and
 * are taken from it only once the reader has them. */
static long stream_read(void *k, void *s, size_t size, struct kind_sink *sink,
			struct waitq **wq)
{
	struct engine *e = k;
	struct estream *st = s;
	struct edir *ec = find(e, st->id);
	struct iovec iov[2];
	int niov, err;
	if (st->listen)
		return accept_one(e, st, ec, size, sink, wq);
	if (!ec)
		return -ENOENT;
	long n = tcp_recv_peek(tcp_of(e), st->id, size, iov, &niov);
	if (n == -EAGAIN)
		*wq = &ec->wq;
	if (n <= 0)
		return n;
	if ((err = sink->take(sink, iov, niov)) < 0)
		return err;
	tcp_recv_done(tcp_of(e), st->id, (size_t)n, tundrv_now());
	return n;
}

/* Whether EC's last write was cut short by a memory cap (its send buffer
 * could not grow): the write returns what it took and the next gets
 * ENOBUFS, rather than wait, at its cap, on a peer that may not read. */
static bool capped(struct engine *e, const struct edir *ec)
{
	struct tcp_mem_info mi;

	tcp_mem_get(tcp_of(e), ec->owner, &mi);
	return mi.refused != TCP_LIMIT_NONE;
}

static long stream_write(void *k, void *s, const char *data, size_t size,
			 struct waitq **wq)
{
	struct engine *e = k;
	struct estream *st = s;
	struct edir *ec = find(e, st->id);
	if (st->listen)
		return -EBADF;
	if (!ec)
		return -ENOENT;
	long n = tcp_send(tcp_of(e), st->id, data, size, tundrv_now());
	if (n == -ENOTCONN && opening(e, st->id))
		n = -EAGAIN; /* as send(2) on a connecting socket: wait */
	if (n == -ENOBUFS) { /* the reason in err: write(2) has no words */
		char why[200];
		limit_words(e, ec->owner, why, sizeof(why));
		snprintf(ec->err, sizeof(ec->err), "write: %s", why);
		tlog(LOG_INFO, "%s: write: %s", ec->label, why);
	}
	if (n == -EAGAIN || (n >= 0 && (size_t)n < size && !capped(e, ec)))
		*wq = &ec->wq;
	return n;
}

static unsigned stream_poll(void *k, void *s, struct waitq **wq)
{
	struct engine *e = k;
	struct estream *st = s;
	struct edir *ec = find(e, st->id);
	*wq = NULL;
	if (!ec)
		return POLLERR;
	*wq = &ec->wq;
	unsigned r = tcp_ready(tcp_of(e), ec->id), ev = 0;
	if (st->listen)
		return st->line_len || (r & (TCP_READY_IN | TCP_READY_ERR)) ?
			       POLLIN | POLLRDNORM :
			       0;
	if (r & TCP_READY_IN)
		ev |= POLLIN | POLLRDNORM;
	if (r & TCP_READY_OUT)
		ev |= POLLOUT | POLLWRNORM;
	if (r & TCP_READY_ERR)
		ev |= POLLERR;
	return ev;
}

static const char *const engine_fixed[] = {
	[FIXED_CLONE] = "clone", [FIXED_STATS] = "stats"};

static void engine_drop(void *k);

static const struct kind_ops engine_ops = {
	.files = engine_files,
	.nfiles = ROW_N,
	.fixed = engine_fixed,
	.nfixed = FIXED_N,
	.fixed_ctl = 1u << FIXED_CLONE,
	.ladder_mode = 0400, /* as trace: what it carried, in size and time */
	.list = engine_list,
	.load = engine_load,
	.ctl = engine_ctl,
	.ctl_wait = engine_ctl_wait,
	.rmdir = engine_rmdir,
	.fixed_open = engine_fixed_open,
	.stream_open = stream_open,
	.stream_read = stream_read,
	.stream_write = stream_write,
	.stream_poll = stream_poll,
	.stream_close = stream_close,
	.ladder = engine_ladder,
	.ladder_peer = engine_ladder_peer,
	.destroy = engine_drop,
};

/* ---- the kind's life ---- */

/* Reset every connection (the peers learn it now, not at a timeout) and
 * free E and what it owns. */
static void engine_drop(void *k)
{
	struct engine *e = k;
	for (size_t i = 0; e->dirs && i < edirs_count(e->dirs); i++) {
		struct edir *ec = edirs_at(e->dirs, i);
		waitq_wake(&ec->wq); /* nobody should wait any more */
		if (e->drv)
			tcp_abort(tcp_of(e), ec->id, tundrv_now());
	}
	if (e->watching)
		loop_del(e->loop, e->timer);
	if (e->timer >= 0)
		close(e->timer);
	edirs_free(e->dirs);
	tundrv_free(e->drv);
	free(e);
}

int engine_kind_new(struct kind *k, struct loop *loop, struct events *events,
		    struct tundrv *drv, tcp_time reap)
{
	struct engine *e = calloc(1, sizeof(*e));
	if (!e) {
		tundrv_free(drv);
		return -ENOMEM;
	}
	*e = (struct engine){.loop = loop,
			     .events = events,
			     .drv = drv,
			     .reap = reap,
			     .timer = -1,
			     .armed = TCP_NEVER};
	int err = (e->dirs = edirs_new()) ? 0 : -ENOMEM;
	if (!err && (e->timer = timerfd_create(CLOCK_MONOTONIC,
					       TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
		err = -errno;
	if (!err && !(err = loop_add(loop, e->timer, on_reap, e)))
		e->watching = true;
	if (err < 0) {
		engine_drop(e);
		return err;
	}
	if (drv)
		tundrv_set_tcp_ev(drv, on_tcp_ev, e);
	*k = (struct kind){.ops = &engine_ops, .priv = e, .dir = "engine"};
	return 0;
}
