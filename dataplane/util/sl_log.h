/* sl_log.h - one-line log records to stderr (or a test's sink). */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum sl_log_level { SL_LOG_ERR = 0, SL_LOG_WARN, SL_LOG_INFO, SL_LOG_DEBUG };

typedef void (*sl_log_sink_fn)(enum sl_log_level level, const char *line, void *arg);

void sl_log_set_level(enum sl_log_level level);
enum sl_log_level sl_log_get_level(void);
/* Route records to fn instead of stderr (tests); NULL restores stderr. */
void sl_log_set_sink(sl_log_sink_fn fn, void *arg);
int sl_log_level_parse(const char *s, enum sl_log_level *level);
const char *sl_log_level_name(enum sl_log_level level);

/*
 * A thread that must not make syscalls (a DPDK lcore) gives its records to a
 * ring instead of writing them: another thread drains it with
 * sl_log_drain_ring(). A full ring drops the record and counts it.
 */
struct sl_ring;
#define SL_LOG_LINE_MAX 512
void sl_log_set_thread_ring(struct sl_ring *r);
struct sl_ring *sl_log_ring_create(unsigned lines);
/* Write what the ring holds (at most max records); returns how many. */
unsigned sl_log_drain_ring(struct sl_ring *r, unsigned max);
uint64_t sl_log_dropped(void);

void sl_log(enum sl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sl_vlog(enum sl_log_level level, const char *fmt, va_list ap);

#define sl_err(...)   sl_log(SL_LOG_ERR, __VA_ARGS__)
#define sl_warn(...)  sl_log(SL_LOG_WARN, __VA_ARGS__)
#define sl_info(...)  sl_log(SL_LOG_INFO, __VA_ARGS__)
#define sl_debug(...) do { if (sl_log_get_level() >= SL_LOG_DEBUG) sl_log(SL_LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
