/* dpdk_counters.h - the dpdk dataplane's per-worker counters as the control side's named records (ctl_stats.h). */
#ifndef DPDK_COUNTERS_H
#define DPDK_COUNTERS_H

/* Like dpdk.h, this needs no DPDK header: main.c includes it. */

#include "ctlsock/ctl_stats.h"
#include "dpdk/dpdk_stats.h"
#include "tcp/tcp-t.h"

struct dpdk_dp;

/*
 * dpdk_counters_fill - records from copies of one worker's (or the summed)
 * counters; tc may be NULL (no transport: no tcp_* records). worker false
 * leaves out what means nothing summed (lcore_id, tsc_hz). Returns how many
 * of out[0..max) it filled: all of them when max >= CTL_DP_REC_MAX (a
 * static assertion keeps it so). Pure: no EAL.
 */
unsigned dpdk_counters_fill(const struct dpdk_stats *ds, const struct tcp_counters *tc, bool worker,
			    struct ctl_dp_rec *out, unsigned max);

/* dpdk_counters_tcp_read - tear-free copy of worker w's TCP counters; false when w has no transport. */
bool dpdk_counters_tcp_read(const struct dpdk_dp *dp, unsigned w, struct tcp_counters *out);

/*
 * dpdk_counters_get - a ctl_dp_fn (arg: the struct dpdk_dp): worker's
 * records, or the totals over every worker when worker < 0. Any thread.
 */
unsigned dpdk_counters_get(void *arg, int worker, struct ctl_dp_rec *out, unsigned max);

#endif
