/* test_timer_wheel.c - the hashed timer wheel under virtual time. */
#include <stddef.h>
#include <stdlib.h>

#include "test.h"
#include "util/timer_wheel.h"

struct probe {
	struct tw_timer t;
	int fired;
	uint64_t at;
	struct tw_wheel *w;
	uint64_t rearm;      /* re-arm this far ahead when firing, once */
};

static uint64_t now;

static void on_fire(struct tw_timer *t)
{
	struct probe *p = (struct probe *)((char *)t - offsetof(struct probe, t));
	p->fired++;
	p->at = now;
	if (p->rearm) {
		uint64_t d = p->rearm;
		p->rearm = 0;
		tw_arm(p->w, &p->t, now + d);
	}
}

static void test_fire_order_and_time(void)
{
	struct tw_wheel w;
	struct probe p[3] = { 0 };
	uint64_t delays[3] = { 5, 300, 9000 }; /* the last one wraps a 256-slot wheel */

	now = 1000;
	CU_ASSERT_EQUAL(tw_init(&w, 256, 1, now), 0);
	for (int i = 0; i < 3; i++) {
		tw_timer_init(&p[i].t, on_fire);
		tw_arm(&w, &p[i].t, now + delays[i]);
	}
	CU_ASSERT_EQUAL(w.armed, 3);
	for (now = 1001; now <= 1000 + 10000; now++) {
		tw_advance(&w, now);
		for (int i = 0; i < 3; i++)
			if (p[i].fired)
				CU_ASSERT_EQUAL(p[i].at, 1000 + delays[i]);
	}
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(p[i].fired, 1);
	CU_ASSERT_EQUAL(w.armed, 0);
	tw_fini(&w);
}

static void test_cancel_and_rearm(void)
{
	struct tw_wheel w;
	struct probe a = { 0 }, b = { 0 };

	now = 0;
	tw_init(&w, 64, 1, now);
	tw_timer_init(&a.t, on_fire);
	tw_timer_init(&b.t, on_fire);
	tw_arm(&w, &a.t, 10);
	tw_arm(&w, &b.t, 10);
	tw_cancel(&w, &a.t);
	CU_ASSERT_FALSE(tw_armed(&a.t));
	tw_arm(&w, &b.t, 20); /* re-arm moves it */
	now = 15;
	tw_advance(&w, now);
	CU_ASSERT_EQUAL(a.fired, 0);
	CU_ASSERT_EQUAL(b.fired, 0);
	now = 20;
	tw_advance(&w, now);
	CU_ASSERT_EQUAL(b.fired, 1);
	/* re-arming from inside the callback, into the same slot of the next round */
	b.w = &w;
	b.rearm = 64;
	tw_arm(&w, &b.t, 30);
	now = 30;
	tw_advance(&w, now);
	CU_ASSERT_EQUAL(b.fired, 2);
	CU_ASSERT_TRUE(tw_armed(&b.t));
	now = 93;
	tw_advance(&w, now);
	CU_ASSERT_EQUAL(b.fired, 2);
	now = 94;
	tw_advance(&w, now);
	CU_ASSERT_EQUAL(b.fired, 3);
	tw_fini(&w);
}

static void test_big_jump(void)
{
	struct tw_wheel w;
	struct probe p[100] = { 0 };

	now = 0;
	tw_init(&w, 16, 10, now);
	for (int i = 0; i < 100; i++) {
		tw_timer_init(&p[i].t, on_fire);
		tw_arm(&w, &p[i].t, (uint64_t)(i * 37 % 1000) + 1);
	}
	now = 5000; /* one advance over many revolutions fires everything */
	CU_ASSERT_EQUAL(tw_advance(&w, now), 100);
	CU_ASSERT_EQUAL(w.armed, 0);
	CU_ASSERT_EQUAL(tw_next_timeout(&w, now), -1);
	tw_fini(&w);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "fires at its time, across rounds", test_fire_order_and_time },
		{ "cancel and re-arm", test_cancel_and_rearm },
		{ "one advance over many rounds", test_big_jump },
		{ NULL, NULL },
	};
	test_suite("timer_wheel", cases);
}
