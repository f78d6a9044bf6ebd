/* ring_sluice.h - sluice itself (`transport dpdk` and its control thread) on port A of a ring pair, for test_dpdk_smtp_ring and bench_dpdk_capacity. */
#ifndef RING_SLUICE_H
#define RING_SLUICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/backend_pool.h"

struct cfg;
struct control;
struct dpdk_dp;
struct ring_pair;

struct ring_sluice {
	struct cfg          *cfg;
	struct backend_pool  pool;
	struct dpdk_dp      *dp;
	struct control      *ctl;
	pthread_t            ctl_thread;
	bool                 ctl_started;
};

/*
 * ring_sluice_start - the config text conf (len bytes, named name in its
 * errors), its backend pool, the dataplane on rp's port A at addr/plen
 * (ring_pair_dp, mbufs per pool), the control, the transport, the workers
 * launched and the control thread running. 0, or -1 with the reason on
 * stderr; ring_sluice_stop undoes what was made either way. s is zeroed first.
 */
int ring_sluice_start(struct ring_sluice *s, const struct ring_pair *rp, const char *name,
		      const char *conf, size_t len, const char *addr, unsigned plen, uint32_t mbufs);

/*
 * ring_sluice_stop - shut the transport down and wait (at most 300 turns)
 * until it is idle, calling settle(arg) each turn (the peer must answer the
 * closes; NULL: 10 ms of sleep), then stop the workers and the control and
 * free all of it. Before ring_pair_close.
 */
void ring_sluice_stop(struct ring_sluice *s, void (*settle)(void *arg), void *arg);

#endif
