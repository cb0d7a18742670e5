/* khist: per-cookie history, ring of KHIST_DEPTH (its room made as the
 * entries come), LRU eviction, iss/irs, retransmits counted, a socket used
 * again, the trace line format. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "khist.h"
#include "tcpfs/buf.h"

static struct diag_key key_of(uint64_t cookie, uint16_t sport)
{
	struct diag_key k = {
		.family = 2, .sport = sport, .dport = 80, .cookie = cookie};
	k.src[0] = 127, k.src[3] = 1, k.dst[0] = 127, k.dst[3] = 1;
	return k;
}

static struct khist_ent state(uint64_t ts, uint8_t from, uint8_t to)
{
	return (struct khist_ent){
		.ts_ns = ts, .type = KHIST_STATE, .from = from, .to = to};
}

static void test_add_get(void **st)
{
	(void)st;
	struct khist *h = khist_new(4);
	assert_non_null(h);
	assert_null(khist_get(h, 7));
	struct diag_key k = key_of(7, 0); /* port not known yet */
	struct khist_ent e = state(1000, DIAG_TCP_CLOSE, DIAG_TCP_SYN_SENT);
	struct khist_sock *s = khist_add(h, &k, &e);
	assert_non_null(s);
	assert_false(s->named);
	k = key_of(7, 5555);
	e = state(2000, DIAG_TCP_SYN_SENT, DIAG_TCP_ESTABLISHED);
	e.has = KHIST_ISS | KHIST_IRS | KHIST_SND_NXT;
	e.iss = 100, e.irs = 200, e.snd_nxt = 101;
	assert_ptr_equal(khist_add(h, &k, &e), s);
	assert_true(s->named);
	assert_int_equal(s->key.sport, 5555);
	assert_int_equal(s->key.cookie, 7);
	assert_true(s->has_iss && s->has_irs);
	assert_int_equal(s->iss, 100);
	assert_int_equal(s->irs, 200);
	assert_int_equal(s->n, 2);
	assert_int_equal(khist_first(s), 0);
	assert_int_equal(khist_at(s, 1)->to, DIAG_TCP_ESTABLISHED);
	/* a later event with no ports keeps the tuple */
	k = key_of(7, 0);
	e = state(3000, DIAG_TCP_ESTABLISHED, DIAG_TCP_FIN_WAIT1);
	khist_add(h, &k, &e);
	assert_int_equal(s->key.sport, 5555);
	assert_ptr_equal(khist_get(h, 7), s);
	assert_int_equal(khist_count(h), 1);
	khist_free(h);
}

/* A listener's remote port is 0: it is named from its first event; a
 * child leaving LISTEN without its peer's port is not. */
static void test_listener_named(void **st)
{
	(void)st;
	struct khist *h = khist_new(4);
	struct diag_key k = key_of(8, 8080);
	k.dport = 0;
	struct khist_ent e = state(1000, DIAG_TCP_CLOSE, DIAG_TCP_LISTEN);
	struct khist_sock *s = khist_add(h, &k, &e);
	assert_non_null(s);
	assert_true(s->named);
	assert_int_equal(s->key.sport, 8080);
	e = state(1000, DIAG_TCP_LISTEN, DIAG_TCP_SYN_RECV);
	k.cookie = 9;
	assert_false(khist_add(h, &k, &e)->named);
	khist_free(h);
}

/* A socket connecting or listening anew (after connect(AF_UNSPEC), a
 * listener closed) keeps its cookie: its history begins afresh, with no
 * name, entry, retransmit, iss or irs of its earlier connection. */
static void test_begins_again(void **st)
{
	(void)st;
	struct khist *h = khist_new(4);
	struct diag_key k = key_of(6, 4444);
	struct khist_ent e =
		state(1000, DIAG_TCP_SYN_SENT, DIAG_TCP_ESTABLISHED);
	e.has = KHIST_ISS | KHIST_IRS;
	e.iss = 100, e.irs = 200;
	struct khist_sock *s = khist_add(h, &k, &e);
	struct khist_ent r = {.ts_ns = 1500, .type = KHIST_RETRANS};
	khist_add(h, &k, &r);
	e = state(2000, DIAG_TCP_ESTABLISHED, DIAG_TCP_CLOSE);
	khist_add(h, &k, &e);
	s->said = s->n;
	for (int i = 0; i < 2; i++) {
		static const uint8_t to[] = {DIAG_TCP_SYN_SENT,
					     DIAG_TCP_LISTEN};
		k = key_of(6, 0); /* no port yet */
		e = state(3000, DIAG_TCP_CLOSE, to[i]);
		assert_ptr_equal(khist_add(h, &k, &e), s);
		assert_false(s->named);
		assert_int_equal(s->n, 1);
		assert_int_equal(s->said, 0);
		assert_int_equal(s->retrans, 0);
		assert_false(s->has_iss || s->has_irs);
		assert_int_equal(khist_at(s, 0)->to, to[i]);
	}
	/* any other change keeps what came before */
	e = state(4000, DIAG_TCP_LISTEN, DIAG_TCP_CLOSE);
	khist_add(h, &k, &e);
	assert_int_equal(s->n, 2);
	khist_free(h);
}

static void test_ring(void **st)
{
	(void)st;
	struct khist *h = khist_new(2);
	struct diag_key k = key_of(9, 1);
	struct khist_sock *s = NULL;
	for (uint32_t i = 0; i < KHIST_DEPTH + 5; i++) {
		struct khist_ent e =
			state(i, DIAG_TCP_ESTABLISHED, DIAG_TCP_CLOSE_WAIT);
		e.has = KHIST_SND_UNA;
		e.snd_una = i;
		s = khist_add(h, &k, &e);
		/* room as the entries come, never more than DEPTH */
		assert_int_equal(s->room, i < KHIST_ROOM     ? KHIST_ROOM :
					  i < 2 * KHIST_ROOM ? 2 * KHIST_ROOM :
							       KHIST_DEPTH);
		/* every entry kept so far is in order */
		for (uint32_t j = khist_first(s); j <= i; j++)
			assert_int_equal(khist_at(s, j)->snd_una, j);
	}
	assert_int_equal(s->n, KHIST_DEPTH + 5);
	assert_int_equal(khist_first(s), 5);
	assert_int_equal(khist_at(s, 5)->snd_una, 5);
	assert_int_equal(khist_at(s, KHIST_DEPTH + 4)->snd_una,
			 KHIST_DEPTH + 4);
	khist_free(h);
}

static void test_lru(void **st)
{
	(void)st;
	struct khist *h = khist_new(3);
	struct khist_ent e = state(1, DIAG_TCP_CLOSE, DIAG_TCP_SYN_SENT);
	for (uint64_t c = 1; c <= 3; c++) {
		struct diag_key k = key_of(c, 1);
		assert_non_null(khist_add(h, &k, &e));
	}
	/* 1 is added to again: 2 is now the least recent */
	struct diag_key k1 = key_of(1, 1);
	khist_add(h, &k1, &e);
	struct diag_key k4 = key_of(4, 1);
	khist_add(h, &k4, &e);
	assert_int_equal(khist_count(h), 3);
	assert_non_null(khist_get(h, 1));
	assert_null(khist_get(h, 2));
	assert_non_null(khist_get(h, 3));
	assert_non_null(khist_get(h, 4));
	struct diag_key k5 = key_of(5, 1);
	khist_add(h, &k5, &e);
	assert_null(khist_get(h, 3));
	assert_non_null(khist_get(h, 1));
	assert_int_equal(khist_count(h), 3);
	khist_free(h);
	assert_null(khist_new(0));
}

static void test_retrans(void **st)
{
	(void)st;
	struct khist *h = khist_new(1);
	struct diag_key k = key_of(3, 1);
	struct khist_ent r = {.ts_ns = 10,
			      .type = KHIST_RETRANS,
			      .has = KHIST_SEQ,
			      .seq = 1000,
			      .end_seq = 1100};
	struct khist_sock *s = khist_add(h, &k, &r);
	r.ts_ns = 20;
	khist_add(h, &k, &r);
	r.seq = 1100, r.end_seq = 1200;
	khist_add(h, &k, &r);
	assert_int_equal(s->retrans, 3);
	assert_int_equal(s->n, 2);
	assert_int_equal(khist_at(s, 0)->count, 2);
	assert_int_equal(khist_at(s, 1)->count, 1);
	char line[256];
	khist_format(khist_at(s, 0), 10, line, sizeof(line));
	assert_string_equal(line,
			    "0.000000 retransmit seq=1000 len=100 times=2");
	khist_free(h);
}

/* Entry I of A and of B are the same. */
static void same_ent(const struct khist_sock *a, const struct khist_sock *b,
		     uint32_t i)
{
	const struct khist_ent *x = khist_at(a, i), *y = khist_at(b, i);
	assert_int_equal(x->ts_ns, y->ts_ns);
	assert_int_equal(x->type, y->type);
	assert_int_equal(x->from, y->from);
	assert_int_equal(x->to, y->to);
	assert_int_equal(x->has, y->has);
	assert_int_equal(x->snd_una, y->snd_una);
	assert_int_equal(x->seq, y->seq);
	assert_int_equal(x->count, y->count);
}

/* An upgrade: what khist_save() wrote, khist_load() takes back whole
 * (entries past a full ring, names, numbers, cursors, the LRU order), but
 * for a socket the new store has already; a cut or bad one is refused. */
static void test_save_load(void **st)
{
	(void)st;
	struct khist *h = khist_new(4), *g = khist_new(4);
	struct diag_key k1 = key_of(1, 11), k2 = key_of(2, 22);
	struct khist_ent e;
	for (uint32_t i = 0; i < KHIST_DEPTH + 29; i++) { /* ring wrapped */
		e = state(i, DIAG_TCP_ESTABLISHED, DIAG_TCP_CLOSE_WAIT);
		e.has = KHIST_SND_UNA, e.snd_una = i;
		khist_add(h, &k1, &e);
	}
	e = (struct khist_ent){
		.ts_ns = 5, .type = KHIST_RETRANS, .seq = 7, .end_seq = 9};
	khist_add(h, &k1, &e);
	khist_add(h, &k1, &e); /* times=2 */
	e = state(3, DIAG_TCP_SYN_SENT, DIAG_TCP_ESTABLISHED);
	e.has = KHIST_ISS | KHIST_IRS, e.iss = 100, e.irs = 200;
	struct khist_sock *b = khist_add(h, &k2, &e);
	b->said = 1;
	struct diag_key k3 = key_of(3, 33);
	khist_add(h, &k3, &e);
	khist_add(g, &k3, &e); /* the new store's own socket 3 */
	khist_add(g, &k3, &e);

	struct buf out = {0};
	khist_save(h, &out);
	assert_int_equal(out.err, 0);
	assert_int_equal(khist_load(g, out.p, out.len), 0);
	assert_int_equal(khist_count(g), 3);
	const struct khist_sock *a = khist_get(h, 1), *a2 = khist_get(g, 1);
	assert_int_equal(a2->n, a->n);
	assert_int_equal(khist_first(a2), khist_first(a));
	assert_int_equal(a2->retrans, 2);
	for (uint32_t i = khist_first(a); i < a->n; i++)
		same_ent(a, a2, i);
	const struct khist_sock *b2 = khist_get(g, 2);
	assert_true(b2->named && b2->has_iss && b2->has_irs);
	assert_int_equal(b2->key.sport, 22);
	assert_memory_equal(b2->key.src, k2.src, sizeof(k2.src));
	assert_int_equal(b2->iss, 100);
	assert_int_equal(b2->irs, 200);
	assert_int_equal(b2->said, 1);
	assert_int_equal(khist_get(g, 3)->n, 2); /* its own, not h's */
	/* new entries go on after the loaded ones */
	e = state(99, DIAG_TCP_CLOSE_WAIT, DIAG_TCP_LAST_ACK);
	khist_add(g, &k1, &e);
	assert_int_equal(khist_at(a2, a->n)->ts_ns, 99);
	/* LRU: the loaded ones are older than the store's own (3), in
	 * their order (1 was added to last, above): 2 goes first */
	struct diag_key k4 = key_of(4, 1), k5 = key_of(5, 1);
	khist_add(g, &k4, &e);
	khist_add(g, &k5, &e);
	assert_null(khist_get(g, 2));
	assert_non_null(khist_get(g, 1));
	assert_non_null(khist_get(g, 3));
	/* a full store takes no more */
	assert_int_equal(khist_load(g, out.p, out.len), 0);
	assert_null(khist_get(g, 2));

	struct khist *f = khist_new(4);
	assert_int_equal(khist_load(f, out.p, out.len - 1), -EINVAL);
	assert_int_equal(khist_load(f, out.p, 3), -EINVAL);
	memset(out.p + 4, 0, 8); /* the first socket's cookie: none */
	assert_int_equal(khist_load(f, out.p, out.len), -EINVAL);
	memset(out.p, 0, 4); /* another version */
	assert_int_equal(khist_load(f, out.p, out.len), -EINVAL);
	khist_free(f);
	buf_free(&out);
	khist_free(g);
	khist_free(h);
}

/* A socket that had more entries than it keeps is loaded with room for
 * the ring, KHIST_DEPTH entries, whatever its count: not room for every
 * entry it ever had (48 MB for a million), nor a doubling that goes round
 * to 0 and never ends (a count over 2^31). */
static void test_load_room(void **st)
{
	(void)st;
	struct khist *h = khist_new(4);
	struct diag_key k = key_of(7, 77);
	for (uint32_t i = 0; i < 1000; i++) {
		struct khist_ent e = {.ts_ns = i,
				      .type = KHIST_RETRANS,
				      .has = KHIST_SEQ,
				      .seq = i,
				      .end_seq = i + 1};
		khist_add(h, &k, &e);
	}
	struct buf out = {0};
	khist_save(h, &out);
	assert_int_equal(out.err, 0);
	struct khist *g = khist_new(4);
	assert_int_equal(khist_load(g, out.p, out.len), 0);
	const struct khist_sock *s = khist_get(g, 7);
	assert_non_null(s);
	assert_int_equal(s->n, 1000);
	assert_int_equal(s->room, KHIST_DEPTH);
	for (uint32_t i = khist_first(s); i < s->n; i++)
		same_ent(khist_get(h, 7), s, i);
	/* the count near its end: the socket's n, after its cookie,
	 * retransmits, 4 flags, 2 ports and 2 addresses */
	uint32_t n = 3u << 30;
	memcpy(out.p + sizeof(uint32_t) + 56, &n, sizeof(n));
	struct khist *f = khist_new(4);
	assert_int_equal(khist_load(f, out.p, out.len), 0);
	s = khist_get(f, 7);
	assert_int_equal(s->n, n);
	assert_int_equal(s->room, KHIST_DEPTH);
	struct khist_ent e =
		state(1, DIAG_TCP_ESTABLISHED, DIAG_TCP_CLOSE_WAIT);
	khist_add(f, &k, &e); /* goes on in the ring */
	assert_int_equal(khist_at(s, n)->ts_ns, 1);
	khist_free(f);
	khist_free(g);
	khist_free(h);
	buf_free(&out);
}

static void test_format(void **st)
{
	(void)st;
	struct khist_ent e =
		state(3500000, DIAG_TCP_SYN_SENT, DIAG_TCP_ESTABLISHED);
	e.has = KHIST_SND_UNA | KHIST_SND_NXT | KHIST_RCV_NXT | KHIST_ISS |
		KHIST_IRS;
	e.snd_una = 11, e.snd_nxt = 11, e.rcv_nxt = 21, e.iss = 10, e.irs = 20;
	char line[256];
	int n = khist_format(&e, 1000000, line, sizeof(line));
	assert_string_equal(line, "0.002500 * SYN_SENT -> ESTABLISHED "
				  "snd_una=11 snd_nxt=11 rcv_nxt=21 iss=10 "
				  "irs=20");
	assert_int_equal(n, (int)strlen(line));
	e = (struct khist_ent){.ts_ns = 2000001000, .type = KHIST_RESET_RECV};
	khist_format(&e, 1000, line, sizeof(line));
	assert_string_equal(line, "2.000000 < RST");
	e.type = KHIST_RESET_SENT;
	khist_format(&e, 1000, line, sizeof(line));
	assert_string_equal(line, "2.000000 > RST");
	e = state(5, DIAG_TCP_FIN_WAIT2, DIAG_TCP_TIME_WAIT);
	khist_format(&e, 5, line, sizeof(line));
	assert_string_equal(line, "0.000000 * FIN_WAIT_2 -> TIME_WAIT");
	/* cut, terminated, the length it needed */
	assert_int_equal(khist_format(&e, 5, line, 4), n = 34);
	assert_string_equal(line, "0.0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_get),
		cmocka_unit_test(test_listener_named),
		cmocka_unit_test(test_begins_again),
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_lru),
		cmocka_unit_test(test_retrans),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_load_room),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
