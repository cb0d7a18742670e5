/* The daemon's options: the --NAME=VALUE and --NAME VALUE forms, the same
 * as -o NAME=VALUE (mount(8), fstab, mount.fuse3's SOURCE MOUNTPOINT), what
 * stays for libfuse, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "options.h"
#include "tcpfs/link.h"

/* Parse ARGV (NULL-terminated): OPT filled, ARGS what is left for libfuse. */
static int parse(const char **argv, struct fuse_args *args, struct options *opt)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	*args = (struct fuse_args)FUSE_ARGS_INIT(0, NULL);
	for (int i = 0; i < argc; i++)
		assert_int_equal(fuse_opt_add_arg(args, argv[i]), 0);
	*opt = (struct options){0};
	return options_parse(args, opt);
}

/* ARGS, for libfuse, joined by spaces (fuse_opt puts options first). */
static const char *left(const struct fuse_args *args)
{
	static char s[512];
	s[0] = 0;
	for (int i = 1; i < args->argc; i++) {
		strcat(s, i > 1 ? " " : "");
		strcat(s, args->argv[i]);
	}
	return s;
}

static void done(struct fuse_args *args, struct options *opt)
{
	options_free(opt);
	fuse_opt_free_args(args);
}

static void test_long_forms(void **state)
{
	(void)state;
	struct fuse_args a;
	struct options o;
	const char *argv[] = {"tcpfs", "--netns=box", "--mtu", "1400",
			      "/mnt",  "--no-engine", "-f",    NULL};
	assert_int_equal(parse(argv, &a, &o), 0);
	assert_string_equal(o.val[OPT_NETNS], "box");
	assert_string_equal(o.val[OPT_MTU], "1400");
	assert_true(o.no_engine);
	assert_false(o.nat);
	assert_string_equal(left(&a), "-f /mnt");
	done(&a, &o);
}

/* An option is its whole name: --NAME=VALUE or --NAME VALUE; a longer
 * word (--tunnel=x, --mtu9000) is no option of ours and stays for libfuse,
 * which refuses it by name. The word after --NAME is its value whatever it
 * is, that after -o a list; after "--" nothing is an option. */
static void test_whole_names(void **state)
{
	(void)state;
	struct fuse_args a;
	struct options o;
	const char *argv[] = {"tcpfs", "--tunnel=x", "--mtu9000", "--tun",
			      "t0",    "--log",	     "--netns=x", "-o",
			      "--msl", "--reap=1",   "--",	  "--ports=1-2",
			      NULL};
	assert_int_equal(parse(argv, &a, &o), 0);
	assert_string_equal(o.val[OPT_TUN], "t0");
	assert_null(o.val[OPT_MTU]);
	assert_string_equal(o.val[OPT_LOG], "--netns=x");
	assert_null(o.val[OPT_NETNS]);
	assert_null(o.val[OPT_MSL]);
	assert_string_equal(o.val[OPT_REAP], "1");
	assert_null(o.val[OPT_PORTS]);
	/* the mount point: "--ports=1-2" */
	assert_string_equal(left(&a),
			    "-o --msl --tunnel=x --mtu9000 -- --ports=1-2");
	done(&a, &o);
	const char *last[] = {"tcpfs", "/mnt", "--mtu", NULL};
	assert_int_equal(parse(last, &a, &o), -1);
	done(&a, &o);
}

/* Every option of OPTIONS, as -o NAME=VALUE, and the two flags. */
static void test_every_option_as_o(void **state)
{
	(void)state;
	static const char *const names[] = {
#define OPT_NAME(id, name) name,
		OPTIONS(OPT_NAME)
#undef OPT_NAME
	};
	char list[1024] = "allow_other";
	for (int i = 0; i < OPT_COUNT; i++) {
		strcat(list, ",");
		strcat(list, names[i]);
		strcat(list, "=v");
		strcat(list, names[i]);
	}
	strcat(list, ",no-engine,nat,ascii,x-systemd.automount,x-foo=1");
	struct fuse_args a;
	struct options o;
	const char *argv[] = {"tcpfs", "/mnt", "-o", list, NULL};
	assert_int_equal(parse(argv, &a, &o), 0);
	for (int i = 0; i < OPT_COUNT; i++) {
		char want[64] = "v";
		strcat(want, names[i]);
		assert_non_null(o.val[i]);
		assert_string_equal(o.val[i], want);
	}
	assert_true(o.no_engine);
	assert_true(o.nat);
	assert_true(o.ascii);
	/* libfuse gets its own option back, and neither ours nor x-* */
	assert_string_equal(left(&a), "-o allow_other /mnt");
	done(&a, &o);
}

/* mount.fuse3 runs "tcpfs SOURCE MOUNTPOINT -o OPTIONS": the source goes. */
static void test_mount_helper(void **state)
{
	(void)state;
	struct fuse_args a;
	struct options o;
	const char *argv[] = {"tcpfs",
			      "tcpfs",
			      "/mnt/tcpfs",
			      "-o",
			      "rw,allow_other,netns=box,dev,suid",
			      NULL};
	assert_int_equal(parse(argv, &a, &o), 0);
	assert_string_equal(o.val[OPT_NETNS], "box");
	assert_string_equal(left(&a), "-o rw,allow_other,dev,suid /mnt/tcpfs");
	done(&a, &o);
	/* one word: the mount point, wherever it stands */
	const char *one[] = {"tcpfs", "-o", "tun=t1", "/mnt/x", "-f", NULL};
	assert_int_equal(parse(one, &a, &o), 0);
	assert_string_equal(o.val[OPT_TUN], "t1");
	assert_string_equal(left(&a), "-f /mnt/x");
	done(&a, &o);
}

/* An option tcpfs does not know stays, so that libfuse refuses it by name;
 * a bad value is refused by options_config(). */
static void test_refused(void **state)
{
	(void)state;
	struct fuse_args a;
	struct options o;
	struct tcpfs_config cfg;
	const char *argv[] = {"tcpfs", "/mnt", "-o", "bogus=1,mtu=99", NULL};
	assert_int_equal(parse(argv, &a, &o), 0);
	assert_string_equal(left(&a), "-o bogus=1 /mnt");
	options_config_default(&cfg);
	assert_int_equal(options_config(&o, &cfg), -1);
	done(&a, &o);
}

/* Options ARGS (after "tcpfs /mnt", NULL-terminated) through
 * options_config(): its result. */
static int config(const char **args)
{
	const char *argv[16] = {"tcpfs", "/mnt"};
	struct fuse_args a;
	struct options o;
	struct tcpfs_config cfg;
	int n = 2;
	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	assert_int_equal(parse(argv, &a, &o), 0);
	options_config_default(&cfg);
	int rc = options_config(&o, &cfg);
	done(&a, &o);
	return rc;
}

/* Each of the N options OPTS alone through config(): WANT. */
static void each(const char *const *opts, size_t n, int want)
{
	for (size_t i = 0; i < n; i++) {
		const char *args[] = {opts[i], NULL};
		if (config(args) != want)
			fail_msg("%s: %s", opts[i], want ? "taken" : "refused");
	}
}

/* Not a number is no number in range: strtod() reads "nan", which every
 * comparison calls false. */
static void test_nan(void **state)
{
	(void)state;
	static const char *const opts[] = {"--mtu=nan",
					   "--msl=nan",
					   "--syn-retries=nan",
					   "--engine-conns-max=nan",
					   "--engine-mem-max=nan",
					   "--reap=NaN",
					   "--mtu=inf"};
	each(opts, sizeof(opts) / sizeof(opts[0]), -1);
}

/* Whole numbers are plain decimal digits: no point, exponent, hex, sign
 * or blank; --msl and --reap take decimals (D.D) too. */
static void test_plain_decimal(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"--syn-retries=2.5",
		"--mtu=1500.7",
		"--mtu=0x5dc",
		"--mtu= 1500",
		"--mtu=1500 ",
		"--mtu=+1500",
		"--mtu=99999999999999999999999999",
		"--engine-conns-max=1e3",
		"--engine-conns-uid=-1",
		"--engine-mem-max=1.5G",
		"--engine-mem-max=0x100000",
		"--engine-mem-max=2048T",
		"--engine-mem-max=99999999999999999999G",
		"--ports= 2000-+3000",
		"--ports=2000-3000.0",
		"--ports=0x800-3000",
		"--host4=198.19.253.1/+30",
		"--host4=198.19.253.1/ 30",
		"--host6=fdcf:7c9f:7cfa::1/0x40",
		"--msl=1e2",
		"--msl=.5",
		"--msl=1.",
		"--msl=-0.5",
		"--msl=0x1p3",
		"--reap=inf",
		"--reap= 1"};
	each(bad, sizeof(bad) / sizeof(bad[0]), -1);
	static const char *const good[] = {"--mtu=01500",
					   "--syn-retries=0",
					   "--engine-conns-max=16777216",
					   "--engine-mem-max=1048576",
					   "--engine-mem-max=1T",
					   "--ports=1024-65535",
					   "--host4=198.19.253.1/30",
					   "--msl=0.001",
					   "--msl=600",
					   "--reap=0",
					   "--reap=1.5"};
	each(good, sizeof(good) / sizeof(good[0]), 0);
	struct fuse_args a;
	struct options o;
	struct tcpfs_config cfg;
	const char *argv[] = {"tcpfs", "/mnt", "--msl=0.25", "--reap=1.5",
			      NULL};
	assert_int_equal(parse(argv, &a, &o), 0);
	options_config_default(&cfg);
	assert_int_equal(options_config(&o, &cfg), 0);
	assert_true(cfg.drv.msl == 250000);
	assert_true(cfg.reap == 1500000);
	done(&a, &o);
}

/* --tun: a name Linux and nft both take, or refused at once. */
static void test_tun_name(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"--tun=",      "--tun=a b",  "--tun=a/b",
		"--tun=tcp%d", "--tun=.",    "--tun=..",
		"--tun=a:b",   "--tun=a#b",  "--tun=a@b",
		"--tun=a\tb",  "--tun=a\nb", "--tun=a\\b",
		"--tun=a\"b",  "--tun=é",    "--tun=0123456789abcdef"};
	each(bad, sizeof(bad) / sizeof(bad[0]), -1);
	static const char *const good[] = {"--tun=t", "--tun=tcpfs_1.a-b",
					   "--tun=0123456789abcde",
					   "--tun=..."};
	each(good, sizeof(good) / sizeof(good[0]), 0);
}

/* --impair: an empty SPEC impairs nothing, a value must be a plain finite
 * number in range (nan passed the range checks, inf and 1e30 overflowed
 * the integers), and a SPEC longer than 255 characters was cut. */
static void test_impair(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"--impair=",	      "--impair=,,",
		"--impair=delay=inf", "--impair=delay=nan",
		"--impair=seed=1e30", "--impair=seed=18446744073709551616",
		"--impair=seed=-1",   "--impair=loss=nan",
		"--impair=loss=inf",  "--impair=loss=0x10",
		"--impair=loss= 1",   "--impair=loss=1e1",
		"--impair=loss=101",  "--impair=delay=3600001",
		"--impair=loss",      "--impair=foo=1"};
	each(bad, sizeof(bad) / sizeof(bad[0]), -1);
	static const char *const good[] = {
		"--impair=loss=0.3,dup=1,reorder=2,corrupt=100,delay=0.5",
		"--impair=seed=18446744073709551615,delay=3600000"};
	each(good, sizeof(good) / sizeof(good[0]), 0);
	struct impair_config ic;
	uint64_t seed;
	char why[200], spec[300] = "seed=7";
	assert_int_equal(tundrv_impair_parse("delay=2.5,seed=99", &ic, &seed,
					     why, sizeof(why)),
			 0);
	assert_true(ic.delay == 2500 && seed == 99);
	while (strlen(spec) < 255) /* "seed=7,loss=0,loss=0...": 255 */
		strcat(spec, strlen(spec) < 249 ? ",loss=0" : "0");
	assert_int_equal(strlen(spec), 255);
	assert_int_equal(
		tundrv_impair_parse(spec, &ic, &seed, why, sizeof(why)), 0);
	assert_true(seed == 7);
	strcat(spec, "0"); /* 256: it was cut to 255 and taken */
	assert_int_equal(
		tundrv_impair_parse(spec, &ic, &seed, why, sizeof(why)), -1);
	assert_string_equal(why, "longer than 255 characters");
}

/* The engine's addresses must be on the host's link: in its prefix, not the
 * host's own, not (IPv4 below /31) the network or broadcast address; with
 * --no-engine they do not matter. */
static void test_engine_on_link(void **state)
{
	(void)state;
	assert_int_equal(config((const char *[]){NULL}), 0);
	assert_int_equal(config((const char *[]){"--host4=10.9.0.1/24", NULL}),
			 -1);
	assert_int_equal(config((const char *[]){"--host4=10.9.0.1/24",
						 "--engine4=10.9.0.200", NULL}),
			 0);
	assert_int_equal(
		config((const char *[]){"--engine4=198.19.253.1", NULL}), -1);
	assert_int_equal(
		config((const char *[]){"--engine4=198.19.253.3", NULL}), -1);
	assert_int_equal(
		config((const char *[]){"--engine4=198.19.253.0", NULL}), -1);
	assert_int_equal(config((const char *[]){"--host4=10.9.0.0/31",
						 "--engine4=10.9.0.1", NULL}),
			 0);
	assert_int_equal(
		config((const char *[]){"--engine6=fdcf:7c9f:7cfb::2", NULL}),
		-1);
	assert_int_equal(
		config((const char *[]){"--engine6=fdcf:7c9f:7cfa::1", NULL}),
		-1);
	assert_int_equal(config((const char *[]){"--host6=fd00::1/64", NULL}),
			 -1);
	assert_int_equal(config((const char *[]){"--host6=fd00::1/64",
						 "--engine6=fd00::9:2", NULL}),
			 0);
	assert_int_equal(config((const char *[]){"--no-engine",
						 "--host4=10.9.0.1/24", NULL}),
			 0);
}

/* --offload: on by default, off when asked, and nothing else. */
static void test_offload(void **state)
{
	(void)state;
	struct fuse_args a;
	struct options o;
	struct tcpfs_config cfg;
	const char *off[] = {"tcpfs", "/mnt", "--offload=off", NULL};
	const char *bad[] = {"tcpfs", "/mnt", "-o", "offload=yes", NULL};
	options_config_default(&cfg);
	assert_true(cfg.drv.tun.offload);
	assert_int_equal(parse(off, &a, &o), 0);
	assert_int_equal(options_config(&o, &cfg), 0);
	assert_false(cfg.drv.tun.offload);
	done(&a, &o);
	assert_int_equal(parse(bad, &a, &o), 0);
	assert_int_equal(options_config(&o, &cfg), -1);
	done(&a, &o);
}

/* --ports LO-HI and --tw-reuse: the engine's defaults, what is asked,
 * and nothing else (a privileged or upside-down range). */
static void test_ports(void **state)
{
	(void)state;
	struct fuse_args a;
	struct options o;
	struct tcpfs_config cfg;
	const char *set[] = {"tcpfs",	   "/mnt", "--ports=40000-40009",
			     "--tw-reuse", "off",  NULL};
	options_config_default(&cfg);
	assert_int_equal(cfg.drv.port_lo, 32768);
	assert_int_equal(cfg.drv.port_hi, 60999);
	assert_true(cfg.drv.tw_reuse);
	assert_int_equal(parse(set, &a, &o), 0);
	assert_int_equal(options_config(&o, &cfg), 0);
	assert_int_equal(cfg.drv.port_lo, 40000);
	assert_int_equal(cfg.drv.port_hi, 40009);
	assert_false(cfg.drv.tw_reuse);
	done(&a, &o);
	static const char *const bad[] = {
		"ports=80-90",	    "ports=5000-4000",	"ports=5000",
		"ports=5000-4000x", "ports=1024-65536", "tw-reuse=1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = {"tcpfs", "/mnt", "-o", bad[i], NULL};
		assert_int_equal(parse(argv, &a, &o), 0);
		options_config_default(&cfg);
		assert_int_equal(options_config(&o, &cfg), -1);
		done(&a, &o);
	}
}

/* The engine's caps: defaults from the physical memory (a quarter, a uid
 * an eighth of it), both forms of each option, sizes with K/M/G, a
 * uid's cap following the overall one, bad values. */
static void test_engine_caps(void **state)
{
	(void)state;
	struct fuse_args a;
	struct options o;
	struct tcpfs_config cfg;
	uint64_t ram = (uint64_t)sysconf(_SC_PHYS_PAGES) *
		       (uint64_t)sysconf(_SC_PAGESIZE);
	const char *given[] = {"tcpfs",
			       "/mnt",
			       "--engine-mem-max",
			       "64M",
			       "--engine-mem-uid=3M",
			       "-o",
			       "engine-conns-uid=7,engine-conns-max=100",
			       NULL};
	const char *follow[] = {"tcpfs", "/mnt", "-o",
				"engine-mem-max=1G,engine-conns-max=80", NULL};
	const char *bad[] = {"tcpfs", "/mnt", "--engine-mem-max=12", NULL};
	const char *bad2[] = {"tcpfs", "/mnt", "-o", "engine-mem-uid=1X", NULL};
	options_config_default(&cfg);
	assert_true(cfg.drv.mem_max == ram / 4);
	assert_true(cfg.drv.mem_uid == ram / 4 / 8);
	assert_int_equal(cfg.drv.max_conns, 1 << 20);
	assert_int_equal(cfg.drv.max_conns_uid, 1 << 17);
	assert_int_equal(parse(given, &a, &o), 0);
	assert_int_equal(options_config(&o, &cfg), 0);
	assert_true(cfg.drv.mem_max == 64ull << 20);
	assert_true(cfg.drv.mem_uid == 3ull << 20);
	assert_int_equal(cfg.drv.max_conns, 100);
	assert_int_equal(cfg.drv.max_conns_uid, 7);
	done(&a, &o);
	assert_int_equal(parse(follow, &a, &o), 0);
	assert_int_equal(options_config(&o, &cfg), 0);
	assert_true(cfg.drv.mem_max == 1ull << 30);
	assert_true(cfg.drv.mem_uid == 1ull << 27);
	assert_int_equal(cfg.drv.max_conns_uid, 10);
	done(&a, &o);
	assert_int_equal(parse(bad, &a, &o), 0);
	assert_int_equal(options_config(&o, &cfg), -1);
	done(&a, &o);
	assert_int_equal(parse(bad2, &a, &o), 0);
	assert_int_equal(options_config(&o, &cfg), -1);
	done(&a, &o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_forms),
		cmocka_unit_test(test_whole_names),
		cmocka_unit_test(test_every_option_as_o),
		cmocka_unit_test(test_mount_helper),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_nan),
		cmocka_unit_test(test_plain_decimal),
		cmocka_unit_test(test_tun_name),
		cmocka_unit_test(test_impair),
		cmocka_unit_test(test_offload),
		cmocka_unit_test(test_engine_on_link),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_engine_caps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
