/* dpdk_eal.h - EAL arguments from the config's dpdk block plus command-line overrides, and EAL start. */
#ifndef DPDK_EAL_H
#define DPDK_EAL_H

#include <stddef.h>

#define DPDK_EAL_ARGV_MAX 64     /**< words, argv[0] included */
#define DPDK_EAL_BUF_MAX  2048   /**< bytes of all words together */

/* An argv for rte_eal_init; the words live in buf, so the struct can be kept for the process. */
struct dpdk_eal_argv {
	int   argc;
	char *argv[DPDK_EAL_ARGV_MAX + 1];   /**< NULL-terminated */
	char  buf[DPDK_EAL_BUF_MAX];
	size_t used;
};

/*
 * dpdk_eal_split - split s into words on blanks as a shell would for plain
 * arguments: '...' is literal, "..." allows \" and \\, a backslash outside
 * quotes escapes the next byte. Words are appended to a. SL_OK, or SL_ERROR
 * with err set (unterminated quote, too many or too long words).
 */
int dpdk_eal_split(const char *s, struct dpdk_eal_argv *a, char *err, size_t errlen);

/*
 * dpdk_eal_build - the argv for rte_eal_init: argv[0] = prog, then the
 * config's words (cfg_eal), then the overrides (ovr[0..novr), e.g. from
 * `sluice --eal ...`). EAL refuses most options twice (-l after -l is an
 * error, not an override), so an override option removes the config's
 * options of its group (-l/-c/--lcores, -m/--socket-mem, ...) with their
 * values; repeatable options (--vdev, -a, -b, -d, --log-level) add up.
 * SL_OK, or SL_ERROR with err set.
 */
int dpdk_eal_build(const char *prog, const char *cfg_eal, int novr, char *const *ovr,
		   struct dpdk_eal_argv *a, char *err, size_t errlen);

/*
 * dpdk_eal_init - build the argv and start EAL, once per process (EAL cannot
 * be started twice). Call from the main thread before anything else of DPDK;
 * that thread becomes the main lcore, which is never a worker (it runs the
 * control loop). SL_OK, or SL_ERROR with err naming rte_errno and a hint.
 */
int dpdk_eal_init(const char *prog, const char *cfg_eal, int novr, char *const *ovr,
		  char *err, size_t errlen);

/* dpdk_eal_cleanup - release EAL's memory at exit (after every port is closed). */
void dpdk_eal_cleanup(void);

/* dpdk_set_err - vsnprintf into a caller's error buffer; nothing when err is NULL or errlen 0. */
void dpdk_set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
