/* sl_log.c - formats a record in one buffer and writes it with one call, so
 * lines from several worker threads never interleave. */
#include "sl_log.h"

#include <stdatomic.h>

#include "sl_ring.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static enum sl_log_level log_level = SL_LOG_INFO;
static __thread struct sl_ring *thread_ring;
static _Atomic uint64_t ring_dropped;
static sl_log_sink_fn log_sink;
static void *log_sink_arg;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void sl_log_set_level(enum sl_log_level level) { log_level = level; }
enum sl_log_level sl_log_get_level(void) { return log_level; }

void sl_log_set_sink(sl_log_sink_fn fn, void *arg)
{
	log_sink = fn;
	log_sink_arg = arg;
}

const char *sl_log_level_name(enum sl_log_level level)
{
	return (unsigned)level < 4 ? level_names[level] : "?";
}

int sl_log_level_parse(const char *s, enum sl_log_level *level)
{
	for (unsigned i = 0; i < 4; i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*level = (enum sl_log_level)i;
			return 0;
		}
	}
	return -1;
}

/*
 * "2026-12-04T20:04:41" and "Z sluice[PID]: " of this thread's last
 * second. A worker logs two lines per session: gmtime_r, strftime and
 * getpid (a system call since glibc 2.25) on each were half of the cost
 * of a line. Now they run once a second per thread; a line adds only its
 * milliseconds.
 */
static __thread time_t stamp_sec = (time_t)-1;
static __thread char stamp_date[24], stamp_pid[32];
static __thread int stamp_date_len, stamp_pid_len;

/* The line's prefix, "DATE.mmmZ sluice[PID]: LEVEL: ", into line; its length. */
static int log_prefix(char *line, enum sl_log_level level)
{
	const char *lv = sl_log_level_name(level);
	struct timespec ts;
	size_t lvlen = strlen(lv);
	long ms;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != stamp_sec) {
		struct tm tm;

		gmtime_r(&ts.tv_sec, &tm);
		stamp_date_len = (int)strftime(stamp_date, sizeof(stamp_date), "%Y-%m-%dT%H:%M:%S", &tm);
		stamp_pid_len = snprintf(stamp_pid, sizeof(stamp_pid), "Z sluice[%d]: ", (int)getpid());
		stamp_sec = ts.tv_sec;
	}
	memcpy(line, stamp_date, (size_t)stamp_date_len);
	n = stamp_date_len;
	ms = ts.tv_nsec / 1000000;
	line[n++] = '.';
	line[n++] = (char)('0' + ms / 100);
	line[n++] = (char)('0' + ms / 10 % 10);
	line[n++] = (char)('0' + ms % 10);
	memcpy(line + n, stamp_pid, (size_t)stamp_pid_len);
	n += stamp_pid_len;
	memcpy(line + n, lv, lvlen);
	n += (int)lvlen;
	line[n++] = ':';
	line[n++] = ' ';
	return n;
}

void sl_vlog(enum sl_log_level level, const char *fmt, va_list ap)
{
	char line[2048];
	int n = 0;

	if (level > log_level)
		return;
	if (log_sink == NULL)
		n = log_prefix(line, level);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	if (log_sink != NULL) {
		line[n] = '\0';
		log_sink(level, line, log_sink_arg);
		return;
	}
	line[n++] = '\n';
	if (thread_ring != NULL) {
		/* no syscall on this thread: the record waits for the drainer */
		if (n > SL_LOG_LINE_MAX - 1) {
			n = SL_LOG_LINE_MAX - 1;
			line[n - 1] = '\n';
		}
		line[n] = '\0';
		if (!sl_ring_push(thread_ring, line, (uint32_t)n + 1))
			atomic_fetch_add_explicit(&ring_dropped, 1, memory_order_relaxed);
		return;
	}
	/* one write(2): atomic for lines this short, never interleaved */
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}

void sl_log(enum sl_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sl_vlog(level, fmt, ap);
	va_end(ap);
}

void sl_log_set_thread_ring(struct sl_ring *r)
{
	thread_ring = r;
}

struct sl_ring *sl_log_ring_create(unsigned lines)
{
	return sl_ring_create(lines, SL_LOG_LINE_MAX);
}

unsigned sl_log_drain_ring(struct sl_ring *r, unsigned max)
{
	char line[SL_LOG_LINE_MAX];
	unsigned n = 0;

	while (n < max && sl_ring_pop(r, line)) {
		line[SL_LOG_LINE_MAX - 1] = '\0';
		ssize_t w = write(STDERR_FILENO, line, strlen(line));
		(void)w;
		n++;
	}
	return n;
}

uint64_t sl_log_dropped(void)
{
	return atomic_load_explicit(&ring_dropped, memory_order_relaxed);
}
