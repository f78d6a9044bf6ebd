/* test_slots.c - sl_slots: ids carry worker, slot and generation; freed slots rest, oldest reused first; growth and its bound. */
#include <stdint.h>

#include "test.h"
#include "util/sl_slots.h"

static int objs[8];

/* An id finds its conn until its slot is put back; then never again, even once the slot is reused. */
static void test_ids_and_generations(void)
{
	struct sl_slots t;
	uint64_t id0, id1, again;
	uint32_t i0, i1, i;

	CU_ASSERT_EQUAL_FATAL(sl_slots_init(&t, 7, 2, 2), 0);
	i0 = sl_slots_take(&t, &objs[0], &id0);
	i1 = sl_slots_take(&t, &objs[1], &id1);
	CU_ASSERT_NOT_EQUAL(i0, SL_SLOT_NONE);
	CU_ASSERT_NOT_EQUAL(i1, SL_SLOT_NONE);
	CU_ASSERT_NOT_EQUAL(i0, i1);
	CU_ASSERT_NOT_EQUAL(id0, id1);
	CU_ASSERT_EQUAL(id0 >> 48, 7);
	CU_ASSERT_PTR_EQUAL(sl_slots_find(&t, id0), &objs[0]);
	CU_ASSERT_PTR_EQUAL(sl_slots_find(&t, id1), &objs[1]);
	/* another worker's id, with the same slot and generation */
	CU_ASSERT_PTR_NULL(sl_slots_find(&t, (id0 & ~(0xffffull << 48)) | (8ull << 48)));
	/* full at max: no third */
	CU_ASSERT_EQUAL(sl_slots_take(&t, &objs[2], &again), SL_SLOT_NONE);

	sl_slots_put(&t, i0);
	CU_ASSERT_PTR_NULL(sl_slots_find(&t, id0));
	i = sl_slots_take(&t, &objs[3], &again);
	CU_ASSERT_EQUAL(i, i0);                 /* the only free one */
	CU_ASSERT_NOT_EQUAL(again, id0);        /* next generation */
	CU_ASSERT_PTR_NULL(sl_slots_find(&t, id0));
	CU_ASSERT_PTR_EQUAL(sl_slots_find(&t, again), &objs[3]);
	sl_slots_fini(&t);
}

/* Freed slots are handed out again in the order they were freed, after the never-used ones. */
static void test_fifo_reuse(void)
{
	struct sl_slots t;
	uint64_t id;
	uint32_t a, b, c, d;

	CU_ASSERT_EQUAL_FATAL(sl_slots_init(&t, 0, 4, 4), 0);
	a = sl_slots_take(&t, &objs[0], &id);
	b = sl_slots_take(&t, &objs[1], &id);
	sl_slots_put(&t, b);
	sl_slots_put(&t, a);
	c = sl_slots_take(&t, &objs[2], &id);
	d = sl_slots_take(&t, &objs[3], &id);
	CU_ASSERT(c != a && c != b);            /* slots 2 and 3 were free before them */
	CU_ASSERT(d != a && d != b && d != c);
	CU_ASSERT_EQUAL(sl_slots_take(&t, &objs[4], &id), b);   /* freed first */
	CU_ASSERT_EQUAL(sl_slots_take(&t, &objs[5], &id), a);
	CU_ASSERT_EQUAL(sl_slots_take(&t, &objs[6], &id), SL_SLOT_NONE);
	sl_slots_fini(&t);
}

/* An empty table grows by doubling up to max; existing ids stay valid and a slot's mem is kept across uses. */
static void test_growth_and_mem(void)
{
	enum { N = 1000 };
	static uint64_t ids[N];
	struct sl_slots t;
	uint32_t i, first;

	CU_ASSERT_EQUAL_FATAL(sl_slots_init(&t, 3, 0, N), 0);
	CU_ASSERT_EQUAL(t.n, 0);
	for (i = 0; i < N; i++)
		CU_ASSERT_NOT_EQUAL_FATAL(sl_slots_take(&t, &objs[i % 8], &ids[i]), SL_SLOT_NONE);
	CU_ASSERT_EQUAL(t.n, N);
	CU_ASSERT_EQUAL(sl_slots_take(&t, &objs[0], &ids[0]), SL_SLOT_NONE);
	for (i = 0; i < N; i++)
		CU_ASSERT_PTR_EQUAL(sl_slots_find(&t, ids[i]), &objs[i % 8]);

	first = (uint32_t)(ids[5] >> SL_SLOT_GEN_BITS) & ((1u << SL_SLOT_BITS) - 1);
	t.s[first].mem = &objs[7];
	sl_slots_put(&t, first);
	CU_ASSERT_EQUAL(sl_slots_take(&t, NULL, &ids[5]), first);
	CU_ASSERT_PTR_EQUAL(t.s[first].mem, &objs[7]);
	CU_ASSERT_PTR_NULL(sl_slots_find(&t, ids[5]));  /* taken with no conn yet */
	sl_slots_fini(&t);
}

/* The generation wraps within its bits and the id still tells reuse apart. */
static void test_generation_wraps(void)
{
	struct sl_slots t;
	uint64_t id, prev = 0;

	CU_ASSERT_EQUAL_FATAL(sl_slots_init(&t, 1, 1, 1), 0);
	t.s[0].gen = (1u << SL_SLOT_GEN_BITS) - 2;
	for (int k = 0; k < 4; k++) {
		uint32_t i = sl_slots_take(&t, &objs[0], &id);

		CU_ASSERT_EQUAL(i, 0);
		CU_ASSERT_NOT_EQUAL(id, prev);
		CU_ASSERT_PTR_EQUAL(sl_slots_find(&t, id), &objs[0]);
		CU_ASSERT(t.s[0].gen < (1u << SL_SLOT_GEN_BITS));
		prev = id;
		sl_slots_put(&t, i);
		CU_ASSERT_PTR_NULL(sl_slots_find(&t, id));
	}
	sl_slots_fini(&t);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "ids and generations", test_ids_and_generations },
		{ "freed slots reused oldest first", test_fifo_reuse },
		{ "growth to max, mem kept", test_growth_and_mem },
		{ "generation wraps", test_generation_wraps },
		{ NULL, NULL },
	};
	test_suite("sl_slots", cases);
}
