/* bench_log.c - the cost of one log line as a worker writes it (two per session): the whole record through a log ring, next to its message alone. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util/sl_log.h"
#include "util/sl_ring.h"

/*
 * A session's "relayed" line, the kind every relayed message writes. Two
 * figures per run, medians of RUNS runs of LINES lines each, in one run:
 *  - the record: sl_info into a thread's log ring (as a kernel-transport
 *    worker logs, and as the control thread formats the DPDK workers'
 *    records): prefix (UTC time to the ms, pid, level) and message;
 *  - the message alone: vsnprintf of the same format and arguments, the
 *    part no prefix cache can save.
 * The ring is emptied every 512 lines, outside neither figure's loop.
 */
#define LINES 200000
#define RUNS  7

static char sink_line[SL_LOG_LINE_MAX];
static volatile size_t sink_sum;

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void message_only(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sink_sum += (size_t)vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

#define FMT "session=%llx relayed from=<%s> nrcpt=%u backend=%s reply=%.*s"
#define ARGS(i) (unsigned long long)(i) * 0x10000001ull, "sender@example.org", 1u, "mx1", 12, "250 2.0.0 Ok"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	struct sl_ring *r = sl_log_ring_create(1024);
	double rec[RUNS], msg[RUNS];
	char buf[SL_LOG_LINE_MAX];

	if (r == NULL) {
		fprintf(stderr, "bench_log: no ring\n");
		return 1;
	}
	for (int run = 0; run < RUNS; run++) {
		double t0, t1, spent = 0;

		sl_log_set_thread_ring(r);
		for (int i = 0; i < LINES; i += 512) {
			t0 = now_ns();
			for (int k = i; k < i + 512 && k < LINES; k++)
				sl_info(FMT, ARGS(k));
			t1 = now_ns();
			spent += t1 - t0;
			while (sl_ring_pop(r, sink_line))
				sink_sum += (unsigned char)sink_line[0];
		}
		sl_log_set_thread_ring(NULL);
		rec[run] = spent / LINES;
		t0 = now_ns();
		for (int k = 0; k < LINES; k++)
			message_only(buf, sizeof(buf), FMT, ARGS(k));
		t1 = now_ns();
		msg[run] = (t1 - t0) / LINES;
	}
	qsort(rec, RUNS, sizeof(rec[0]), cmp_double);
	qsort(msg, RUNS, sizeof(msg[0]), cmp_double);
	printf("bench_log: one \"relayed\" line, %d lines per run, median of %d runs (min..max)\n", LINES, RUNS);
	printf("| %-46s | %10s | %17s |\n", "", "ns/line", "min .. max");
	printf("|%s|%s|%s|\n", "------------------------------------------------", "------------", "-------------------");
	printf("| %-46s | %10.0f | %7.0f .. %7.0f |\n", "record through a log ring (prefix + message)", rec[RUNS / 2], rec[0],
	       rec[RUNS - 1]);
	printf("| %-46s | %10.0f | %7.0f .. %7.0f |\n", "the message alone (vsnprintf)", msg[RUNS / 2], msg[0], msg[RUNS - 1]);
	printf("record / message: %.2f (sink %zu)\n", rec[RUNS / 2] / msg[RUNS / 2], (size_t)sink_sum);
	sl_ring_free(r);
	return 0;
}
