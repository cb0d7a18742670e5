/* Byte-exact transfers between two engines over memlink: clean, and with
 * 10% loss, 10% reordering, 1% duplication, 1% corruption; each way, both
 * at once, and into a slow reader (zero windows). */
#include <time.h>

#include "tcp_harness.h"

static const struct impair_config bad = {
	.loss = 10,
	.reorder = 10,
	.duplicate = 1,
	.corrupt = 1,
	.delay = 1000,
};

static void report(const char *name, struct pair *p, uint64_t bytes, clock_t c0)
{
	double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
	struct tcp_info_snap a, b;

	tcp_info_get(p->a, p->ida, &a);
	tcp_info_get(p->b, p->idb, &b);
	printf("# %s: %llu bytes, %.3f s simulated, %.2f s CPU; "
	       "retrans a %llu b %llu, rto a %llu b %llu, fast a %llu b %llu\n",
	       name, (unsigned long long)bytes, (double)p->now / 1e6, cpu,
	       (unsigned long long)a.retrans_segs,
	       (unsigned long long)b.retrans_segs,
	       (unsigned long long)a.rto_timeouts,
	       (unsigned long long)b.rto_timeouts,
	       (unsigned long long)a.fast_retrans,
	       (unsigned long long)b.fast_retrans);
}

static void run_cc(const char *name, const struct impair_config *imp,
		   uint64_t ab, uint64_t ba, tcp_time read_every,
		   enum tcp_cc_algo cc)
{
	struct flow f[2] = {{.size = ab}, {.size = ba}};
	clock_t c0 = clock();
	struct tcp_info_snap ia, ib;
	struct tcp_config cfg;
	struct pair *p;

	tcp_config_default(&cfg);
	cfg.msl = SEC;
	cfg.cc = cc;
	p = pair_new(imp, &cfg);
	f[0].tx = f[1].rx = p->a;
	f[0].rx = f[1].tx = p->b;
	f[0].txid = f[1].rxid = p->ida;
	f[0].rxid = f[1].txid = p->idb;
	if (read_every) {
		f[0].read_every = f[1].read_every = read_every;
		f[0].read_max = f[1].read_max = 4096;
	}
	pair_run(p, f, 2, 200000000);
	report(name, p, ab + ba, c0);
	tcp_info_get(p->a, p->ida, &ia);
	tcp_info_get(p->b, p->idb, &ib);
	assert_int_equal(ib.bytes_in, ab); /* each byte counted once */
	assert_int_equal(ia.bytes_in, ba);
	assert_int_equal(ia.snd_una - ia.iss, ab + 2); /* SYN and FIN */
	assert_int_equal(ib.snd_una - ib.iss, ba + 2);
	if (read_every)
		assert_true(f[0].zero_wnd && f[1].zero_wnd);
	if (!imp) /* a clean link: not one segment resent */
		assert_int_equal(ia.retrans_segs + ib.retrans_segs, 0);
	pair_free(p);
}

static void run(const char *name, const struct impair_config *imp, uint64_t ab,
		uint64_t ba, tcp_time read_every)
{
	run_cc(name, imp, ab, ba, read_every, TCP_CC_CUBIC);
}

static void clean_both(void **state)
{
	(void)state;
	run("clean", NULL, 8 << 20, 8 << 20, 0);
}

static void lossy_a_to_b(void **state)
{
	(void)state;
	run("lossy a->b", &bad, test_size(), 0, 0);
}

static void lossy_b_to_a(void **state)
{
	(void)state;
	run("lossy b->a", &bad, 0, test_size(), 0);
}

static void lossy_both(void **state)
{
	(void)state;
	run("lossy both", &bad, test_size(), test_size(), 0);
}

/* A reader taking 4 KiB every 10 ms: the window closes and reopens. */
static void slow_reader(void **state)
{
	(void)state;
	run("slow reader", &bad, 2 << 20, 1 << 20, 10 * MS);
}

/* The same with NewReno instead of CUBIC. */
static void lossy_newreno(void **state)
{
	(void)state;
	run_cc("lossy both, newreno", &bad, test_size() / 4, test_size() / 4, 0,
	       TCP_CC_NEWRENO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clean_both),	cmocka_unit_test(slow_reader),
		cmocka_unit_test(lossy_a_to_b), cmocka_unit_test(lossy_b_to_a),
		cmocka_unit_test(lossy_both),	cmocka_unit_test(lossy_newreno),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
