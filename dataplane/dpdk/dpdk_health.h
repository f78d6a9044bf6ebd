/* dpdk_health.h - backend health checks run by a DPDK worker on its own TCP stack, asked for by the control thread. */
#ifndef DPDK_HEALTH_H
#define DPDK_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"

struct ctl_msg;
struct dpdk_health;
struct dpdk_tp;
struct sl_addr;
struct sl_ring;
struct tcp_conn;
struct tcp_conn_cbs;
struct tw_wheel;

/* TCBs a worker keeps for checks beyond its sessions' (one per backend at most). */
#define DPDK_HEALTH_TCBS CFG_BACKEND_MAX

/* What a worker lends its checks; every pointer is into the worker's own
 * state, used only on its lcore. */
struct dpdk_health_env {
	struct dpdk_tp  *tp;            /**< for dpdk_tp_open */
	struct tw_wheel *wheel;         /**< the worker's timers */
	const uint64_t  *now_ms;        /**< the worker's clock */
	struct sl_ring  *to_control;    /**< where results go */
	bool            *wake_control;  /**< set after a push: the loop wakes the control once per turn */
	uint16_t         worker;
};

struct dpdk_health *dpdk_health_new(const struct dpdk_health_env *env);
/* CTL_MSG_HEALTH_PROBE: connect, PROXY header if the backend wants one, the
 * greeting, QUIT, close; then a CTL_MSG_HEALTH_RESULT with the same seq.
 * A new check of a backend still being checked replaces the old one (whose
 * result nobody waits for any more). h NULL: ignored. */
void dpdk_health_probe(struct dpdk_health *h, const struct ctl_msg *m);
/* Before the stack is freed: aborts the checks in flight, no results. */
void dpdk_health_free(struct dpdk_health *h);

/*
 * dpdk_tp_open (dpdk_transport.c) - an active open on tp's stack to dst
 * with cbs/user, from the address of the port that routes to dst and a
 * source port whose replies reach this lcore (the backend legs' steering).
 * NULL when no port routes to dst (*no_route true) or no TCB or tuple is
 * free (*no_route false).
 */
struct tcp_conn *dpdk_tp_open(struct dpdk_tp *tp, const struct sl_addr *dst, const struct tcp_conn_cbs *cbs,
			      void *user, bool *no_route);

#endif
