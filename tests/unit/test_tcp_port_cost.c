/* The cost of choosing an ephemeral port, counted in 4-tuple hashes (the
 * link wraps tcp_siphash: each look at a port costs at least one): a
 * connect to a peer whose every port is taken knows it at once, instead
 * of looking at all 28,232 ports every time; one to a peer with many
 * ports taken, or all but one, looks at a few. */
#include "tcp_harness.h"

#define RANGE (60999 - 32768 + 1)

uint64_t __real_tcp_siphash(const uint64_t key[2], const void *msg, size_t len);
uint64_t __wrap_tcp_siphash(const uint64_t key[2], const void *msg, size_t len);

static unsigned long hashes;

uint64_t __wrap_tcp_siphash(const uint64_t key[2], const void *msg, size_t len)
{
	hashes++;
	return __real_tcp_siphash(key, msg, len);
}

/* N connections from the engine to the peer, in SYN_SENT. */
static void hold(struct harness *h, int n)
{
	for (int i = 0; i < n; i++) {
		int id = tcp_open(h->e);

		assert_true(id > 0);
		assert_int_equal(tcp_connect(h->e, id, &h->peer, 0, 0), 0);
		if (h->n > 1000)
			h_drain(h);
	}
	h_drain(h);
}

/* Every port taken: each connect fails with EADDRNOTAVAIL after a few
 * hashes, not 28,232 looks. */
static void exhausted(void **state)
{
	struct harness *h = h_new(NULL);
	int id;
	unsigned long before;

	(void)state;
	hold(h, RANGE);
	id = tcp_open(h->e);
	before = hashes;
	for (int k = 0; k < 10; k++)
		assert_int_equal(tcp_connect(h->e, id, &h->peer, 0, 0),
				 -EADDRNOTAVAIL);
	assert_true(hashes - before < 10 * 8);
	h_free(h);
}

/* HELD ports to the peer taken: connect and free a thousand times, a
 * few hashes each, even when the one port left is far from where the
 * search starts (the destination's bitmap of held ports). */
static void connect_free(int held)
{
	struct harness *h = h_new(NULL);
	unsigned long before;

	hold(h, held);
	before = hashes;
	for (int k = 0; k < 1000; k++) {
		int id = tcp_open(h->e);

		assert_int_equal(tcp_connect(h->e, id, &h->peer, 0, 0), 0);
		tcp_free(h->e, id, 0);
		h_drain(h);
	}
	assert_true(hashes - before < 1000 * 16);
	h_free(h);
}

static void many_taken(void **state)
{
	(void)state;
	connect_free(20000);
	connect_free(28000);
}

static void one_left(void **state)
{
	(void)state;
	connect_free(RANGE - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exhausted),
		cmocka_unit_test(many_taken),
		cmocka_unit_test(one_left),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
