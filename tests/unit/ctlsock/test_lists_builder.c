/* test_lists_builder.c - the lists builder thread: results come back on the loop, in order, the loop free meanwhile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists_builder.h"
#include "policy/pol_snapshot.h"
#include "test.h"
#include "util/sl_addr.h"
#include "util/sl_clock.h"
#include "util/sl_status.h"

struct got {
	unsigned n;
	struct pol_snapshot *s;
	uint64_t tag;
};

static void on_built(void *arg, struct pol_snapshot *s, uint64_t tag, uint64_t build_ns)
{
	struct got *g = arg;

	(void)build_ns;
	g->n++;
	pol_snapshot_free(g->s);
	g->s = s;
	g->tag = tag;
}

/* n IPv4 /32s from 10.0.0.0 up, blocked */
static struct pol_snapshot_builder *many(unsigned n)
{
	struct pol_snapshot_builder *b = pol_snapshot_builder_new();

	for (unsigned i = 0; b != NULL && i < n; i++) {
		struct sl_prefix p = { .len = 32 };
		uint32_t a = 0x0a000000u + i;

		p.addr.family = SL_AF_INET;
		p.addr.ip[0] = (uint8_t)(a >> 24);
		p.addr.ip[1] = (uint8_t)(a >> 16);
		p.addr.ip[2] = (uint8_t)(a >> 8);
		p.addr.ip[3] = (uint8_t)a;
		pol_snapshot_builder_add_ip(b, false, &p, "bulk");
	}
	return b;
}

static bool listed(const struct pol_snapshot *s, uint32_t a)
{
	struct sl_addr x = { .family = SL_AF_INET };
	unsigned len;
	const char *why;

	x.ip[0] = (uint8_t)(a >> 24);
	x.ip[1] = (uint8_t)(a >> 16);
	x.ip[2] = (uint8_t)(a >> 8);
	x.ip[3] = (uint8_t)a;
	return pol_snapshot_lookup_ip(s, false, &x, &len, &why);
}

/* Run the loop until the callback ran `want` times (bounded: 30 s); the
 * longest single turn of the loop meanwhile in *longest_ms. */
static void run_until(struct sl_evloop *l, struct got *g, unsigned want, uint64_t *longest_ms)
{
	uint64_t end = sl_clock_ms() + 30000;

	*longest_ms = 0;
	while (g->n < want && sl_clock_ms() < end) {
		uint64_t t0 = sl_clock_ms();
		sl_evloop_run_once(l, 5);
		if (sl_clock_ms() - t0 > *longest_ms)
			*longest_ms = sl_clock_ms() - t0;
	}
}

static void test_build_off_thread(void)
{
	struct sl_evloop *l = sl_evloop_new();
	struct got g = { 0 };
	struct lists_builder *lb = lists_builder_new(l, on_built, &g);
	uint64_t longest, t0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(lb);
	CU_ASSERT_FALSE(lists_builder_busy(lb));
	t0 = sl_clock_ms();
	CU_ASSERT_EQUAL(lists_builder_start(lb, many(1000000), 7), SL_OK);
	CU_ASSERT_TRUE(lists_builder_busy(lb));
	/* one at a time: a second start is refused (and its builder freed) */
	CU_ASSERT_EQUAL(lists_builder_start(lb, many(10), 8), SL_AGAIN);
	run_until(l, &g, 1, &longest);
	CU_ASSERT_EQUAL(g.n, 1);
	CU_ASSERT_EQUAL(g.tag, 7);
	CU_ASSERT_FALSE(lists_builder_busy(lb));
	CU_ASSERT_PTR_NOT_NULL_FATAL(g.s);
	CU_ASSERT_TRUE(listed(g.s, 0x0a000000u));
	CU_ASSERT_TRUE(listed(g.s, 0x0a000000u + 999999));
	CU_ASSERT_FALSE(listed(g.s, 0x0a000000u + 1000000));
	/* the build ran on the thread: the loop kept turning in short steps
	 * (a 5 ms poll; 100 ms leaves room for a loaded machine, far below a
	 * build of a million entries on this loop, which bench_lists puts at
	 * 90-400 ms) */
	printf("\n  1M /32s: built in %llu ms, longest loop turn meanwhile %llu ms\n",
	       (unsigned long long)(sl_clock_ms() - t0), (unsigned long long)longest);
	CU_ASSERT(longest < 100);

	/* and again: the thread takes the next job */
	CU_ASSERT_EQUAL(lists_builder_start(lb, many(3), 9), SL_OK);
	run_until(l, &g, 2, &longest);
	CU_ASSERT_EQUAL(g.n, 2);
	CU_ASSERT_EQUAL(g.tag, 9);
	CU_ASSERT_TRUE(g.s != NULL && listed(g.s, 0x0a000002u) && !listed(g.s, 0x0a000003u));

	lists_builder_free(lb);
	pol_snapshot_free(g.s);
	sl_evloop_free(l);
}

/* Freed with a build in flight: it waits for it and frees the result; no callback. */
static void test_free_in_flight(void)
{
	struct sl_evloop *l = sl_evloop_new();
	struct got g = { 0 };
	struct lists_builder *lb = lists_builder_new(l, on_built, &g);

	CU_ASSERT_PTR_NOT_NULL_FATAL(lb);
	CU_ASSERT_EQUAL(lists_builder_start(lb, many(200000), 1), SL_OK);
	lists_builder_free(lb);
	CU_ASSERT_EQUAL(g.n, 0);
	lists_builder_free(NULL);
	sl_evloop_free(l);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "a million entries built off the loop", test_build_off_thread },
		{ "freed with a build in flight", test_free_in_flight },
		{ NULL, NULL }
	};

	test_suite("lists builder", cases);
}
