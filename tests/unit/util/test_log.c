/* test_log.c - log records routed through a ring for threads that make no syscalls. */
#include <string.h>

#include "test.h"
#include "util/sl_log.h"
#include "util/sl_ring.h"

static void test_ring_route(void)
{
	struct sl_ring *r = sl_log_ring_create(4);
	char line[SL_LOG_LINE_MAX];
	uint64_t dropped = sl_log_dropped();

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	sl_log_set_thread_ring(r);
	sl_info("session=%x hello %s", 7u, "ring");
	for (int i = 0; i < 5; i++)
		sl_info("filler %d", i); /* 4 slots: the last two do not fit */
	sl_log_set_thread_ring(NULL);
	CU_ASSERT_EQUAL(sl_ring_count(r), 4);
	CU_ASSERT_EQUAL(sl_log_dropped() - dropped, 2);
	CU_ASSERT_TRUE(sl_ring_pop(r, line));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "info: session=7 hello ring\n"));
	CU_ASSERT_EQUAL(line[strlen(line) - 1], '\n');
	/* a very long record is cut to a slot and still ends its line */
	sl_log_set_thread_ring(r);
	while (sl_ring_pop(r, line))
		;
	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sl_info("%s", big);
	sl_log_set_thread_ring(NULL);
	CU_ASSERT_TRUE(sl_ring_pop(r, line));
	CU_ASSERT_EQUAL(strlen(line), SL_LOG_LINE_MAX - 1);
	CU_ASSERT_EQUAL(line[SL_LOG_LINE_MAX - 2], '\n');
	sl_ring_free(r);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "records through a ring", test_ring_route },
		{ NULL, NULL },
	};
	test_suite("log", cases);
}
