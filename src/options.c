/* The daemon's own options: parsed by fuse_opt, checked here. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "tcpfs/link.h"
#include "tcpfs/log.h"
#include "tcpfs/num.h"

static const char *const names[OPT_COUNT] = {
#define OPT_NAME(id, name) [OPT_##id] = name,
	OPTIONS(OPT_NAME)
#undef OPT_NAME
};

enum { KEY_NO_ENGINE = OPT_COUNT, KEY_NAT, KEY_ASCII, KEY_UPGRADE_PROBE };

/* "--NAME=X" and, in a -o list (mount(8), fstab), "NAME=X": a template
 * ending in '=' matches the whole name and the '=' only, where fuse_opt's
 * "--NAME " (for "--NAME X") would match every word beginning with --NAME
 * (--tunnel=x as --tun, --mtu9000 as --mtu): join_separate() makes
 * "--NAME X" "--NAME=X" first. All are keys, and option_proc takes the
 * value. */
static const struct fuse_opt spec[] = {
#define OPT_SPEC(id, name)                                                     \
	FUSE_OPT_KEY("--" name "=", OPT_##id), FUSE_OPT_KEY(name "=", OPT_##id),
	OPTIONS(OPT_SPEC)
#undef OPT_SPEC
		FUSE_OPT_KEY("--no-engine", KEY_NO_ENGINE),
	FUSE_OPT_KEY("no-engine", KEY_NO_ENGINE),
	FUSE_OPT_KEY("--nat", KEY_NAT),
	FUSE_OPT_KEY("nat", KEY_NAT),
	FUSE_OPT_KEY("--ascii", KEY_ASCII),
	FUSE_OPT_KEY("ascii", KEY_ASCII),
	FUSE_OPT_KEY("--upgrade-probe", KEY_UPGRADE_PROBE),
	FUSE_OPT_END,
};

/* mount.fuse3 runs "tcpfs SOURCE MOUNTPOINT -o ...": the first word that
 * is not an option is held back until a second one shows it was a source
 * (fuse_parse_cmdline takes one word, the mount point). */
static int nonopt(struct options *opt, const char *arg)
{
	if (++opt->nonopts > 1)
		return 1;
	opt->source = strdup(arg);
	return opt->source ? 0 : -1;
}

static int option_proc(void *data, const char *arg, int key,
		       struct fuse_args *outargs)
{
	struct options *opt = data;
	(void)outargs;
	if (key == FUSE_OPT_KEY_NONOPT)
		return nonopt(opt, arg);
	bool *flag = key == KEY_NO_ENGINE     ? &opt->no_engine :
		     key == KEY_NAT	      ? &opt->nat :
		     key == KEY_ASCII	      ? &opt->ascii :
		     key == KEY_UPGRADE_PROBE ? &opt->upgrade_probe :
						NULL;
	if (flag) {
		*flag = true;
		return 0;
	}
	if (key == FUSE_OPT_KEY_OPT && !strncmp(arg, "x-", 2))
		return 0; /* fstab's x-*: for other programs (x-systemd.*) */
	if (key < 0 || key >= OPT_COUNT)
		return 1; /* keep it for fuse_parse_cmdline */
	const char *val = arg + (arg[0] == '-' ? 2 : 0) + strlen(names[key]);
	if (*val == '=')
		val++;
	free(opt->val[key]);
	opt->val[key] = strdup(val);
	return opt->val[key] ? 0 : -1;
}

/* The option whose whole name is ARG ("--NAME"), or -1. */
static int option_named(const char *arg)
{
	for (int i = 0; i < OPT_COUNT && !strncmp(arg, "--", 2); i++)
		if (!strcmp(arg + 2, names[i]))
			return i;
	return -1;
}

/* ARGS with each "--NAME VALUE" made "--NAME=VALUE", the words read as
 * fuse_opt reads them: the word after -o is its list, and nothing after
 * "--" is an option. -1 if a value is missing (said in the log), or on
 * ENOMEM. */
static int join_separate(struct fuse_args *args)
{
	struct fuse_args out = FUSE_ARGS_INIT(0, NULL);
	bool opts = true;
	int err = 0;
	for (int i = 0; i < args->argc && !err; i++) {
		const char *arg = args->argv[i];
		int id = i && opts ? option_named(arg) : -1;
		if (id < 0) {
			if (i && !strcmp(arg, "--"))
				opts = false;
			else if (opts && !strcmp(arg, "-o") &&
				 i + 1 < args->argc)
				err = fuse_opt_add_arg(&out, args->argv[i++]);
			err = err ?: fuse_opt_add_arg(&out, args->argv[i]);
			continue;
		}
		if (i + 1 == args->argc) {
			tlog(LOG_ERR, "--%s: the value is missing", names[id]);
			err = -1;
			break;
		}
		char *joined;
		if (asprintf(&joined, "%s=%s", arg, args->argv[++i]) < 0)
			err = -1;
		else {
			err = fuse_opt_add_arg(&out, joined);
			free(joined);
		}
	}
	if (err) {
		fuse_opt_free_args(&out);
		return -1;
	}
	fuse_opt_free_args(args);
	*args = out;
	return 0;
}

int options_parse(struct fuse_args *args, struct options *opt)
{
	if (join_separate(args) < 0 ||
	    fuse_opt_parse(args, opt, spec, option_proc) < 0)
		return -1;
	if (opt->nonopts == 1) /* it was the mount point */
		return fuse_opt_add_arg(args, opt->source);
	return 0;
}

void options_free(struct options *opt)
{
	for (int i = 0; i < OPT_COUNT; i++)
		free(opt->val[i]);
	free(opt->source);
}

__attribute__((format(printf, 2, 3))) static int bad(int id, const char *fmt,
						     ...)
{
	char why[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	for (char *c = why; *c; c++) /* one line, whatever the value holds */
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			*c = '?';
	tlog(LOG_ERR, "--%s: %s", names[id], why);
	return -1;
}

static const char digits[] = "0123456789";

/* A number in [MIN, MAX]: plain decimal digits (num.h), with decimals
 * ("D.D") if SCALE > 1 (seconds to us). */
static int number(int id, const char *s, double min, double max, double scale,
		  uint64_t *out)
{
	uint64_t w;
	double v;
	bool ok = scale > 1 ? num_decimal(s, &v) : num_whole(s, strlen(s), &w);
	if (ok && scale <= 1)
		v = (double)w;
	if (!ok || !(v >= min && v <= max))
		return bad(
			id,
			scale > 1 ?
				"'%s' is not a number from %.10g to %.10g" :
				"'%s' is not a whole number from %.10g to %.10g",
			s, min, max);
	*out = (uint64_t)(v * scale + 0.5);
	return 0;
}

/* "on" or "off" in *ON. */
static int on_off(int id, const char *s, bool *on)
{
	if (strcmp(s, "on") && strcmp(s, "off"))
		return bad(id, "'%s' is not on or off", s);
	*on = !strcmp(s, "on");
	return 0;
}

/* "LO-HI": the ephemeral ports, unprivileged (bind(2)'s rule for ports
 * below 1024 stays the user's). */
static int port_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	size_t n = strspn(s, digits);
	uint64_t a, b;
	if (!num_whole(s, n, &a) || s[n] != '-' ||
	    !num_whole(s + n + 1, strlen(s + n + 1), &b) || a < 1024 ||
	    b > 65535 || a > b)
		return bad(OPT_PORTS,
			   "'%s' is not LO-HI with 1024 <= LO <= HI "
			   "<= 65535",
			   s);
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

/* Bytes from 1 MiB to 1 TiB, in plain decimal digits with an optional K,
 * M, G or T (powers of 1024, as sizes in the man page are). */
static int bytes(int id, const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	size_t n = strspn(s, digits);
	const char *u = s[n] ? strchr(units, s[n]) : NULL;
	uint64_t v;
	bool ok = (!s[n] || (u && !s[n + 1])) && num_whole(s, n, &v);
	if (ok && u) {
		unsigned shift = 10 * (unsigned)(u - units + 1);
		ok = v <= (1ull << 40) >> shift;
		v <<= shift;
	}
	if (!ok || v < (1 << 20) || v > (1ull << 40))
		return bad(id,
			   "'%s' is not a size from 1M to 1T (bytes, or with "
			   "K, M, G or T)",
			   s);
	*out = v;
	return 0;
}

/* "ADDR/PREFIX" or "ADDR" (PREFIX stays as it was) of family AF. */
static int address(int id, const char *s, int af, void *addr, unsigned *prefix)
{
	char buf[INET6_ADDRSTRLEN + 8];
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	unsigned max = af == AF_INET ? 32 : 128;
	if (slash) {
		uint64_t p;
		if (!prefix)
			return bad(
				id,
				"'%s': the engine's address takes no prefix "
				"length (the link's is --host%d's): give the "
				"address alone",
				s, af == AF_INET ? 4 : 6);
		if (!num_whole(slash + 1, strlen(slash + 1), &p) || p < 1 ||
		    p >= max)
			return bad(id,
				   "'%s': the prefix length is a whole number "
				   "from 1 to %u",
				   s, max - 1);
		*prefix = (unsigned)p;
		*slash = 0;
	}
	if (inet_pton(af, buf, addr) != 1)
		return bad(id, "'%s' is not an IPv%d address", s,
			   af == AF_INET ? 4 : 6);
	return 0;
}

/* The engine's address of family AF must be one the host reaches on its
 * link (tundrv_engine_on_link()): else why not, for option ID. */
static int engine_on_link(const struct tundrv_config *sc, int id, int af)
{
	const void *engine = af == AF_INET ? (const void *)&sc->engine4 :
					     (const void *)&sc->engine6;
	const void *host = af == AF_INET ? (const void *)&sc->tun.host4 :
					   (const void *)&sc->tun.host6;
	unsigned prefix = af == AF_INET ? sc->tun.prefix4 : sc->tun.prefix6;
	char e[INET6_ADDRSTRLEN], h[INET6_ADDRSTRLEN];
	if (tundrv_engine_on_link(sc, af))
		return 0;
	inet_ntop(af, engine, e, sizeof(e));
	inet_ntop(af, host, h, sizeof(h));
	return bad(id,
		   "%s cannot be the engine's address on the link %s/%u "
		   "(--host%d): give --engine%d one in that prefix, not the "
		   "host's own%s",
		   e, h, prefix, af == AF_INET ? 4 : 6, af == AF_INET ? 4 : 6,
		   af == AF_INET ? " nor its network or broadcast address" :
				   "");
}

/* --tun NAME into NAMEBUF (NAMELEN, IFNAMSIZ): a name that Linux takes for
 * a device (not "." nor "..", no '/', ':', blank or '%' of a template) and
 * nft for a table ("ip tcpfs_NAME", --nat) and an interface. */
static int device_name(const char *name, char *namebuf, size_t namelen)
{
	size_t n = strlen(name);
	if (!n || n >= namelen || !strcmp(name, ".") || !strcmp(name, "..") ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz"
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != n)
		return bad(OPT_TUN,
			   "'%s' is not a device name: 1 to %zu letters, "
			   "digits, '_', '-' or '.', not . nor ..",
			   name, namelen - 1);
	memcpy(namebuf, name, n + 1);
	return 0;
}

void options_config_default(struct tcpfs_config *cfg)
{
	cfg->engine = true;
	tundrv_config_default(&cfg->drv);
	cfg->reap = 300 * 1000000ull;
}

/* The engine's caps; a uid's follows the overall one (an eighth) unless
 * given. */
static int engine_caps(const char *const *v, struct tundrv_config *sc)
{
	uint64_t n;
	int err = 0;
	if (v[OPT_ENGINE_CONNS] &&
	    !(err |= number(OPT_ENGINE_CONNS, v[OPT_ENGINE_CONNS], 1, 1 << 24,
			    1, &n))) {
		sc->max_conns = (unsigned)n;
		sc->max_conns_uid = n / 8 ? (unsigned)n / 8 : 1;
	}
	if (v[OPT_ENGINE_CONNS_UID] &&
	    !(err |= number(OPT_ENGINE_CONNS_UID, v[OPT_ENGINE_CONNS_UID], 1,
			    1 << 24, 1, &n)))
		sc->max_conns_uid = (unsigned)n;
	if (v[OPT_ENGINE_MEM] &&
	    !(err |= bytes(OPT_ENGINE_MEM, v[OPT_ENGINE_MEM], &sc->mem_max)))
		sc->mem_uid = sc->mem_max / 8;
	if (v[OPT_ENGINE_MEM_UID])
		err |= bytes(OPT_ENGINE_MEM_UID, v[OPT_ENGINE_MEM_UID],
			     &sc->mem_uid);
	return err;
}

int options_config(const struct options *opt, struct tcpfs_config *cfg)
{
	struct tundrv_config *sc = &cfg->drv;
	const char *const *v = (const char *const *)opt->val;
	uint64_t n;
	int err = 0;

	cfg->engine = !opt->no_engine;
	cfg->ascii = opt->ascii;
	sc->nat = opt->nat;
	if (v[OPT_TUN])
		err |= device_name(v[OPT_TUN], sc->tun.name,
				   sizeof(sc->tun.name));
	if (v[OPT_MTU] &&
	    !(err |= number(OPT_MTU, v[OPT_MTU], 1280, 65535, 1, &n)))
		sc->tun.mtu = (unsigned)n;
	if (v[OPT_HOST4])
		err |= address(OPT_HOST4, v[OPT_HOST4], AF_INET, &sc->tun.host4,
			       &sc->tun.prefix4);
	if (v[OPT_ENGINE4])
		err |= address(OPT_ENGINE4, v[OPT_ENGINE4], AF_INET,
			       &sc->engine4, NULL);
	if (v[OPT_HOST6])
		err |= address(OPT_HOST6, v[OPT_HOST6], AF_INET6,
			       &sc->tun.host6, &sc->tun.prefix6);
	if (v[OPT_ENGINE6])
		err |= address(OPT_ENGINE6, v[OPT_ENGINE6], AF_INET6,
			       &sc->engine6, NULL);
	if (!err && cfg->engine) {
		err |= engine_on_link(sc, OPT_ENGINE4, AF_INET);
		err |= engine_on_link(sc, OPT_ENGINE6, AF_INET6);
	}
	if (v[OPT_MSL] &&
	    !(err |= number(OPT_MSL, v[OPT_MSL], 0.001, 600, 1e6, &n)))
		sc->msl = n;
	if (v[OPT_SYN_RETRIES] &&
	    !(err |= number(OPT_SYN_RETRIES, v[OPT_SYN_RETRIES], 0, 10, 1, &n)))
		sc->syn_retries = (int)n;
	if (v[OPT_REAP] &&
	    !(err |= number(OPT_REAP, v[OPT_REAP], 0, 86400, 1e6, &n)))
		cfg->reap = n;
	err |= engine_caps(v, sc);
	if (v[OPT_OFFLOAD])
		err |= on_off(OPT_OFFLOAD, v[OPT_OFFLOAD], &sc->tun.offload);
	if (v[OPT_TW_REUSE])
		err |= on_off(OPT_TW_REUSE, v[OPT_TW_REUSE], &sc->tw_reuse);
	if (v[OPT_PORTS])
		err |= port_range(v[OPT_PORTS], &sc->port_lo, &sc->port_hi);
	if (v[OPT_IMPAIR]) {
		struct impair_config ic;
		uint64_t seed;
		char why[200];
		if (tundrv_impair_parse(v[OPT_IMPAIR], &ic, &seed, why,
					sizeof(why)) < 0)
			err |= bad(OPT_IMPAIR, "%s", why);
		sc->impair = v[OPT_IMPAIR];
	}
	return err ? -1 : 0;
}

void options_help(void)
{
	printf("tcpfs options (each also as -o NAME=VALUE, or -o no-engine, -o nat,\n"
	       "  -o ascii):\n"
	       "    --netns=PATH|NAME|PID  show the sockets of another network namespace\n"
	       "                           (a file such as /proc/PID/ns/net, a name under\n"
	       "                           /var/run/netns, or a process id)\n"
	       "    --no-engine            no userspace engine, no TUN device: engine/ stays\n"
	       "                           empty but for clone and stats (ENETDOWN)\n"
	       "    --nat                  engine connections may reach other hosts (IPv4):\n"
	       "                           forwarding and an nft masquerade table, undone at exit\n"
	       "    --tun=NAME             the engine's TUN device (tcpfs0)\n"
	       "    --mtu=BYTES            its MTU (1500)\n"
	       "    --host4=ADDR/PREFIX    the host's IPv4 address on it (198.19.253.1/30)\n"
	       "    --engine4=ADDR         the engine's IPv4 address (198.19.253.2)\n"
	       "    --host6=ADDR/PREFIX    the host's IPv6 address (fdcf:7c9f:7cfa::1/64)\n"
	       "    --engine6=ADDR         the engine's IPv6 address (fdcf:7c9f:7cfa::2)\n"
	       "    --msl=SECONDS          maximum segment lifetime; TIME_WAIT is 2 MSL (60)\n"
	       "    --syn-retries=N        SYN retransmissions before ETIMEDOUT (7: 247 s)\n"
	       "    --reap=SECONDS         closed engine connections are freed after (300)\n"
	       "    --offload=on|off       TUN checksum and segmentation offloads where the\n"
	       "                           kernel has them (on)\n"
	       "    --ports=LO-HI          the engine's ephemeral ports (32768-60999)\n"
	       "    --tw-reuse=on|off      a connect may take over a TIME_WAIT 4-tuple when\n"
	       "                           every port to the peer is taken and timestamps\n"
	       "                           make it safe (on)\n"
	       "    --engine-conns-max=N   engine connections at most: ENFILE (1048576)\n"
	       "    --engine-conns-uid=N   ... of one uid: EMFILE (an eighth of the above)\n"
	       "    --engine-mem-max=BYTES engine buffer memory at most: ENOBUFS (a quarter\n"
	       "                           of the physical memory; K, M, G, T: KiB, MiB, ...)\n"
	       "    --engine-mem-uid=BYTES ... of one uid (an eighth of the above)\n"
	       "    --impair=SPEC          test option: impair the engine's link, see tcpfs(8)\n"
	       "    --log=FILE             log to FILE (appended, with timestamps), not to\n"
	       "                           stderr or syslog\n"
	       "    --ascii                draw the ladder files in ASCII (the default is\n"
	       "                           UTF-8 when LC_ALL, LC_CTYPE or LANG says UTF-8)\n\n");
}
