/* ctl_stats.h - where the control socket and the metrics find the
 * transport's counters: a callback the daemon's main registers. */
#ifndef CTL_STATS_H
#define CTL_STATS_H

#include <stdbool.h>
#include <stdint.h>

/* The counters a transport can give (fields as in kt_stats). */
struct ctl_wstats {
	uint64_t accepted;
	uint64_t rejected_busy;
	uint64_t conns;
	uint64_t policy_sent;
	uint64_t policy_full;
	uint64_t verdicts;
	uint64_t verdicts_stale;
	uint64_t forced_closes;
};

/*
 * Fill out for worker `worker`, or the totals when worker < 0. Return SL_OK,
 * or SL_DECLINED when the transport has no counters for that worker (the
 * kernel transport today only sums them: kt_get_stats).
 */
typedef int (*ctl_stats_fn)(void *arg, int worker, struct ctl_wstats *out);

/*
 * ctl_stats_register - set (or clear, fn NULL) the source. Any thread. Clear
 * it before the transport is freed: once this returns, no call is running
 * and none starts.
 */
void ctl_stats_register(ctl_stats_fn fn, void *arg);
/* Call the source; false when none is registered or it declined. */
bool ctl_stats_get(int worker, struct ctl_wstats *out);

#endif
