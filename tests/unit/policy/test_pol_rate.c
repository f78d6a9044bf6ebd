/* test_pol_rate.c - GCRA arithmetic tables: bursts, refill, cost, clocks going back. */
#include <stdio.h>
#include <string.h>

#include "policy/pol_rate.h"
#include "util/sl_status.h"
#include "test.h"

#define MS POL_NS_PER_MS

/* Requests of cost at now until one is refused; returns how many passed. */
static unsigned drain(const struct pol_gcra *g, uint64_t *tat, uint64_t now, uint64_t cost)
{
	unsigned n = 0;
	uint64_t nt;

	while (n < 100000 && pol_gcra_check(g, *tat, now, cost, &nt, NULL)) {
		*tat = nt;
		n++;
	}
	return n;
}

static void test_init(void)
{
	struct pol_gcra g;

	CU_ASSERT_EQUAL(pol_gcra_init(&g, 0, 1000, 0), -1);
	CU_ASSERT_EQUAL(pol_gcra_init(&g, 10, 0, 0), -1);
	CU_ASSERT_EQUAL(pol_gcra_init(&g, 10, 1000, 0), 0);
	CU_ASSERT_EQUAL(g.burst, 10);
	CU_ASSERT_EQUAL(g.tau_ns, 1000 * MS);
	CU_ASSERT_EQUAL(pol_gcra_increment(&g, 1), 100 * MS);
	CU_ASSERT_EQUAL(pol_gcra_increment(&g, 7), 700 * MS);
	CU_ASSERT_EQUAL(pol_gcra_init(&g, 100, 3600000, 20), 0);
	CU_ASSERT_EQUAL(g.tau_ns, 20 * 36000 * MS);
	/* a byte rate of 10 GB/hour: T = 0.36 us, kept exact through the cost */
	CU_ASSERT_EQUAL(pol_gcra_init(&g, 10000000000ull, 3600000, 0), 0);
	CU_ASSERT_EQUAL(pol_gcra_increment(&g, 1000000), 360000000ull);
	/* huge values saturate instead of wrapping */
	CU_ASSERT_EQUAL(pol_gcra_init(&g, 1, UINT64_MAX / 2, UINT64_MAX), 0);
	CU_ASSERT(g.tau_ns <= UINT64_MAX / 4);
	CU_ASSERT(pol_gcra_increment(&g, UINT64_MAX) <= UINT64_MAX / 4);
}

/* The table of the brief: burst at once, one more after T, burst after a full period. */
static void test_table(void)
{
	static const struct {
		uint64_t count, period_ms, burst;
	} rows[] = {
		{ 10, 1000, 0 },      /* burst = count */
		{ 10, 1000, 3 },
		{ 100, 3600000, 20 }, /* 100/hour burst 20 */
		{ 3, 1000, 0 },       /* T = 333333333.3 ns: not a whole number */
		{ 7, 60000, 1 },
		{ 1, 86400000, 0 },
	};
	unsigned i;

	for (i = 0; i < SL_ARRAY_SIZE(rows); i++) {
		struct pol_gcra g;
		uint64_t t0 = 5000 * MS, tat = 0, period, tee;
		unsigned burst;

		CU_ASSERT_FATAL(pol_gcra_init(&g, rows[i].count, rows[i].period_ms, rows[i].burst) == 0);
		burst = (unsigned)g.burst;
		period = rows[i].period_ms * MS;
		tee = (period + rows[i].count - 1) / rows[i].count; /* a full T, rounded up */

		CU_ASSERT_EQUAL(drain(&g, &tat, t0, 1), burst);
		CU_ASSERT_EQUAL(drain(&g, &tat, t0, 1), 0);
		/* just before T: still nothing; at T: exactly one (T is rounded
		 * down per request: within burst ns of the exact T) */
		CU_ASSERT_EQUAL(drain(&g, &tat, t0 + tee - 1 - burst, 1), 0);
		CU_ASSERT_EQUAL(drain(&g, &tat, t0 + tee, 1), 1);
		CU_ASSERT_EQUAL(drain(&g, &tat, t0 + tee, 1), 0);
		/* after a full period of silence: burst again (not more) */
		CU_ASSERT_EQUAL(drain(&g, &tat, t0 + tee + period + period, 1), burst);
		if (i == 0) {
			/* the sustained rate is count per period: 10 in 1 s at 100 ms steps */
			uint64_t t = t0 + 100000 * MS, n = 0, k;
			tat = 0;
			drain(&g, &tat, t, 1);
			for (k = 1; k <= 10; k++)
				n += drain(&g, &tat, t + k * 100 * MS, 1);
			CU_ASSERT_EQUAL(n, 10);
		}
	}
}

static void test_cost(void)
{
	struct pol_gcra g;
	uint64_t tat = 0, nt, retry = 0, t0 = 1000 * MS;

	/* 1 MB per minute, burst = count: byte_rate with message sizes as cost */
	CU_ASSERT_FATAL(pol_gcra_init(&g, 1000000, 60000, 0) == 0);
	CU_ASSERT(pol_gcra_check(&g, tat, t0, 600000, &nt, NULL));
	tat = nt;
	CU_ASSERT(pol_gcra_check(&g, tat, t0, 400000, &nt, NULL));
	tat = nt;
	CU_ASSERT_FALSE(pol_gcra_check(&g, tat, t0, 1, &nt, &retry));
	CU_ASSERT_EQUAL(retry, 60000); /* one byte's worth: 60 s / 1e6 = 60 us */
	/* half a minute later half the budget is back */
	CU_ASSERT_FALSE(pol_gcra_check(&g, tat, t0 + 30000 * MS, 500001, &nt, NULL));
	CU_ASSERT(pol_gcra_check(&g, tat, t0 + 30000 * MS, 500000, &nt, NULL));
	/* a request larger than the burst never fits, even on an empty key */
	CU_ASSERT_FALSE(pol_gcra_check(&g, 0, t0, 1000001, &nt, NULL));
	/* cost 0 always passes and changes nothing */
	CU_ASSERT(pol_gcra_check(&g, tat, t0, 0, &nt, NULL));
	CU_ASSERT_EQUAL(nt, tat);
	/* cost 5 on 10/s: two of them, then none */
	CU_ASSERT_FATAL(pol_gcra_init(&g, 10, 1000, 0) == 0);
	tat = 0;
	CU_ASSERT_EQUAL(drain(&g, &tat, t0, 5), 2);
	CU_ASSERT_EQUAL(drain(&g, &tat, t0 + 499 * MS, 5), 0);
	CU_ASSERT_EQUAL(drain(&g, &tat, t0 + 500 * MS, 5), 1);
}

static void test_clock_backwards(void)
{
	struct pol_gcra g;
	uint64_t tat = 0, t0 = 100000 * MS, nt, back;
	unsigned n;

	CU_ASSERT_FATAL(pol_gcra_init(&g, 10, 1000, 0) == 0);
	CU_ASSERT_EQUAL(drain(&g, &tat, t0, 1), 10);
	/* every step back, small or huge, grants nothing */
	for (back = 1; back <= t0; back *= 10)
		CU_ASSERT_EQUAL(drain(&g, &tat, t0 - back, 1), 0);
	CU_ASSERT_EQUAL(drain(&g, &tat, 0, 1), 0);
	/* a step back after a partial refill: no more than at the latest time */
	tat = 0;
	drain(&g, &tat, t0, 1);
	n = drain(&g, &tat, t0 + 300 * MS, 1);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(drain(&g, &tat, t0 + 200 * MS, 1), 0);
	/* and time going forward again refills as usual */
	CU_ASSERT_EQUAL(drain(&g, &tat, t0 + 400 * MS, 1), 1);
	/* now 0 and the far future: no wrap */
	CU_ASSERT(pol_gcra_check(&g, 0, 0, 1, &nt, NULL));
	CU_ASSERT(pol_gcra_check(&g, 0, UINT64_MAX, 1, &nt, NULL));
	CU_ASSERT_FALSE(pol_gcra_check(&g, UINT64_MAX / 4, 0, 1, &nt, NULL));
	CU_ASSERT(pol_gcra_idle(5, 5));
	CU_ASSERT_FALSE(pol_gcra_idle(6, 5));
}

void register_tests(void)
{
	static const struct test_case rate[] = {
		{ "init and increments", test_init },
		{ "burst, refill, period table", test_table },
		{ "cost > 1", test_cost },
		{ "clock going backwards", test_clock_backwards },
		{ NULL, NULL },
	};
	test_suite("pol_rate", rate);
}
