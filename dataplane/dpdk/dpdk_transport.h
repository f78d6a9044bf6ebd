/* dpdk_transport.h - `transport dpdk`: SMTP sessions on our TCP stack, one stack and session table per worker lcore. */
#ifndef DPDK_TRANSPORT_H
#define DPDK_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Like dpdk.h, this needs no DPDK header: main.c includes it. */

struct backend_pool;
struct cfg;
struct control;
struct dpdk_dp;

/*
 * Lifecycle, from main (the kernel transport's, kt.h, on lcores):
 *   dpdk_dp_create(); ctl = control_new(c, dpdk_dp_nworkers(dp), pool);
 *   dpdk_tp_start(dp, c, ctl, pool); dpdk_dp_launch(dp);
 *   ... dpdk_tp_shutdown(dp); wait for dpdk_tp_idle(dp) (bounded) ...
 *   dpdk_dp_stop(dp); dpdk_tp_free(dp); dpdk_dp_destroy(dp);
 */

/*
 * dpdk_tp_start - before dpdk_dp_launch: per worker lcore a TCP stack, a
 * timer wheel, a session table bounded by c->max_sessions, the worker's
 * control port, and a listener on every c->listen port (any of our
 * addresses: one stack serves all ports of the lcore). Takes a cfg
 * reference per worker. ctl may be NULL (ops->policy fails). SL_OK or
 * SL_ERROR with err set; on error nothing is attached.
 */
int dpdk_tp_start(struct dpdk_dp *dp, struct cfg *c, struct control *ctl, struct backend_pool *pool,
		  char *err, size_t errlen);

/*
 * dpdk_tp_shutdown - graceful stop: workers stop listening, call
 * relay_session_shutdown() on every session and abort what is left after
 * cfg->shutdown_grace_ms. Async-signal-safe (one atomic store); idempotent.
 */
void dpdk_tp_shutdown(struct dpdk_dp *dp);

/* dpdk_tp_idle - after dpdk_tp_shutdown: true once every worker holds no connection. */
bool dpdk_tp_idle(const struct dpdk_dp *dp);

/* dpdk_tp_free - after dpdk_dp_stop (no worker runs): abort what is left, free the stacks. */
void dpdk_tp_free(struct dpdk_dp *dp);

/*
 * Counters summed over the workers (tests, metrics); racy reads of
 * single-writer words. handed_over and handover_drops are the dataplane's
 * flow hand-over between lcores (dpdk_stats ho_out, ho_drop): segments that
 * reached another lcore's queue than their flow's owner.
 */
struct dpdk_tp_stats {
	uint64_t accepted, rejected_busy, conns, policy_sent, policy_full;
	uint64_t verdicts, verdicts_stale, forced_closes, connect_fail;
	uint64_t handed_over, handover_drops;
};
void dpdk_tp_get_stats(const struct dpdk_dp *dp, struct dpdk_tp_stats *out);

/*
 * dpdk_tp_worker_stats - worker w's own counters (as dpdk_tp_get_stats sums
 * them), and in *tcp its TCP stack's, which its lcore writes with plain
 * stores: load each word with a relaxed atomic. *tcp stays valid until
 * dpdk_tp_free. SL_OK, or SL_DECLINED when w has no transport attached.
 */
struct tcp_counters;
int dpdk_tp_worker_stats(const struct dpdk_dp *dp, unsigned w, struct dpdk_tp_stats *out,
			 const struct tcp_counters **tcp);

#endif
