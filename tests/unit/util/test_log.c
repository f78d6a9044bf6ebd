/* test_log.c - log records routed through a ring for threads that make no syscalls. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* The seconds since the epoch of a record's "YYYY-MM-DDTHH:MM:SS.mmmZ sluice[PID]: info: " prefix, -1 if it is not one of ours. */
static long long record_time(const char *line, int *ms)
{
	struct tm tm = { 0 };
	int pid = 0, used = 0;

	if (sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ sluice[%d]: info: %n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, ms, &pid, &used) != 8 || used == 0 || pid != (int)getpid())
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm);
}

/* The prefix: UTC date and time to the millisecond, our pid, the level; a
 * new second gives a new date (the date is kept per thread for a second). */
static void test_prefix(void)
{
	struct sl_ring *r = sl_log_ring_create(4);
	char line[SL_LOG_LINE_MAX];
	struct timespec now, wait;
	long long t1, t2;
	int ms1 = -1, ms2 = -1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	sl_log_set_thread_ring(r);
	clock_gettime(CLOCK_REALTIME, &now);
	sl_info("first");
	/* past the next second boundary */
	wait.tv_sec = 0;
	wait.tv_nsec = 1000000000L - now.tv_nsec + 20000000L;
	if (wait.tv_nsec >= 1000000000L) {
		wait.tv_sec = 1;
		wait.tv_nsec -= 1000000000L;
	}
	nanosleep(&wait, NULL);
	sl_info("second");
	sl_log_set_thread_ring(NULL);
	CU_ASSERT_TRUE_FATAL(sl_ring_pop(r, line));
	t1 = record_time(line, &ms1);
	CU_ASSERT(t1 == (long long)now.tv_sec || t1 == (long long)now.tv_sec + 1);
	CU_ASSERT(ms1 >= 0 && ms1 <= 999);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "info: first\n"));
	CU_ASSERT_TRUE_FATAL(sl_ring_pop(r, line));
	t2 = record_time(line, &ms2);
	CU_ASSERT(t2 > t1);
	CU_ASSERT(ms2 >= 0 && ms2 <= 999);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "info: second\n"));
	sl_ring_free(r);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "records through a ring", test_ring_route },
		{ "prefix: time, pid, level; a new second", test_prefix },
		{ NULL, NULL },
	};
	test_suite("log", cases);
}
