/* test_ring.c - the SPSC ring, alone and between two threads. */
#include <pthread.h>
#include <stdint.h>

#include "test.h"
#include "util/sl_ring.h"

struct msg {
	uint64_t seq;
	uint8_t pad[56];
};

static void test_full_empty(void)
{
	struct sl_ring *r = sl_ring_create(5, sizeof(struct msg)); /* rounds to 8 */
	struct msg m = { 0 };
	unsigned n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	while (sl_ring_push(r, &m, sizeof(m))) {
		m.seq++;
		n++;
	}
	CU_ASSERT_EQUAL(n, 8);
	CU_ASSERT_EQUAL(sl_ring_count(r), 8);
	for (uint64_t i = 0; i < 8; i++) {
		CU_ASSERT_TRUE(sl_ring_pop(r, &m));
		CU_ASSERT_EQUAL(m.seq, i);
	}
	CU_ASSERT_FALSE(sl_ring_pop(r, &m));
	CU_ASSERT_FALSE(sl_ring_push(r, &m, sizeof(m) + 1)); /* too big for a slot */
	sl_ring_free(r);
}

#define N_MSGS 200000

static void *producer(void *arg)
{
	struct sl_ring *r = arg;
	struct msg m = { 0 };

	for (uint64_t i = 0; i < N_MSGS; i++) {
		m.seq = i;
		while (!sl_ring_push(r, &m, sizeof(m)))
			;
	}
	return NULL;
}

static void test_two_threads(void)
{
	struct sl_ring *r = sl_ring_create(64, sizeof(struct msg));
	pthread_t t;
	struct msg m;
	uint64_t expect = 0, bad = 0;

	pthread_create(&t, NULL, producer, r);
	while (expect < N_MSGS) {
		if (sl_ring_pop(r, &m)) {
			if (m.seq != expect)
				bad++;
			expect++;
		}
	}
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(sl_ring_count(r), 0);
	sl_ring_free(r);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "full and empty", test_full_empty },
		{ "in order between two threads", test_two_threads },
		{ NULL, NULL },
	};
	test_suite("ring", cases);
}
