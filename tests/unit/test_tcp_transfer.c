/* Byte-exact transfers between two engines over memlink: clean, and with
 * 10% loss, 10% reordering, 1% duplication, 1% corruption; each way, both
 * at once, and into a slow reader (zero windows). */
#include <time.h>

#include "test_tcp_harness.c"

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

static void run(const char *name, const struct impair_config *imp, uint64_t ab,
		uint64_t ba, tcp_time read_every)
{
	struct pair *p = pair_new(imp, NULL);
	struct flow f[2] = {
		{.tx = p->a,
		 .rx = p->b,
		 .txid = p->ida,
		 .rxid = p->idb,
		 .size = ab},
		{.tx = p->b,
		 .rx = p->a,
		 .txid = p->idb,
		 .rxid = p->ida,
		 .size = ba},
	};
	clock_t c0 = clock();

	if (read_every) {
		f[0].read_every = f[1].read_every = read_every;
		f[0].read_max = f[1].read_max = 4096;
	}
	pair_run(p, f, 2, 200000000);
	report(name, p, ab + ba, c0);
	pair_free(p);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clean_both),	cmocka_unit_test(slow_reader),
		cmocka_unit_test(lossy_a_to_b), cmocka_unit_test(lossy_b_to_a),
		cmocka_unit_test(lossy_both),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
