/* dpdk.c - the dataplane's life: workers and ports up from the config, launch, stop, tear down. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_launch.h>

#include "dpdk/dpdk_eal.h"
#include "dpdk/dpdk-t.h"
#include "dpdk/dpdk_lcore.h"
#include "dpdk/dpdk_port.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

int dpdk_dp_create(struct dpdk_dp **dpp, const struct cfg_dpdk *cd, char *err, size_t errlen)
{
	struct dpdk_dp *dp;
	uint16_t pids[DPDK_PORT_MAX];
	unsigned lcore_id;

	*dpp = NULL;
	if (cd->nports == 0 || cd->nports > DPDK_PORT_MAX) {
		dpdk_set_err(err, errlen, "dpdk: %u ports configured (need 1..%d)", cd->nports, DPDK_PORT_MAX);
		return SL_ERROR;
	}
	dp = calloc(1, sizeof(*dp));
	if (dp == NULL) {
		dpdk_set_err(err, errlen, "dpdk: out of memory");
		return SL_ERROR;
	}
	/* every port found, and each only once (a number and a name may be one
	 * device), before anything is allocated or any device touched */
	for (unsigned i = 0; i < cd->nports; i++) {
		if (dpdk_port_lookup(&cd->ports[i], &pids[i], err, errlen) != SL_OK)
			goto fail;
		for (unsigned k = 0; k < i; k++)
			if (pids[k] == pids[i]) {
				char name[RTE_ETH_NAME_MAX_LEN];

				if (rte_eth_dev_get_name_by_port(pids[i], name) != 0)
					snprintf(name, sizeof(name), "?");
				dpdk_set_err(err, errlen, "dpdk: port %u (%s) is configured twice", pids[i], name);
				goto fail;
			}
	}
	/* the main lcore runs the control thread: workers are every other EAL lcore */
	RTE_LCORE_FOREACH_WORKER(lcore_id) {
		if (dp->nworkers >= DPDK_WORKER_MAX) {
			sl_warn("dpdk: more than %d worker lcores; lcore %u and later stay idle",
				DPDK_WORKER_MAX, lcore_id);
			break;
		}
		dp->lcores[dp->nworkers] = dpdk_lcore_alloc(dp, lcore_id, dp->nworkers, err, errlen);
		if (dp->lcores[dp->nworkers] == NULL)
			goto fail;
		dp->nworkers++;
	}
	if (dp->nworkers == 0) {
		dpdk_set_err(err, errlen,
			"dpdk: EAL gave no worker lcore: the main lcore (%u) is the control thread and never "
			"polls a port; give EAL at least two lcores (e.g. -l 0-1)", rte_get_main_lcore());
		goto fail;
	}
	for (unsigned i = 0; i < cd->nports; i++) {
		if (dpdk_port_setup(dp, &dp->ports[i], &cd->ports[i], err, errlen) != SL_OK) {
			dp->nports = i + 1;   /* close what was configured */
			goto fail;
		}
		dp->nports = i + 1;
	}
	if (dpdk_pools_create(dp, cd->mbufs, err, errlen) != SL_OK)
		goto fail;
	for (unsigned i = 0; i < dp->nports; i++)
		if (dpdk_port_start(dp, &dp->ports[i], &cd->ports[i], err, errlen) != SL_OK)
			goto fail;
	if (dpdk_routes_add(dp, cd, err, errlen) != SL_OK)
		goto fail;
	for (unsigned w = 0; w < dp->nworkers; w++)
		if (dpdk_lcore_bind(dp, dp->lcores[w], err, errlen) != SL_OK)
			goto fail;
	if (dpdk_lcore_link(dp, err, errlen) != SL_OK)
		goto fail;
	*dpp = dp;
	return SL_OK;
fail:
	dpdk_dp_destroy(dp);
	return SL_ERROR;
}

int dpdk_dp_launch(struct dpdk_dp *dp, char *err, size_t errlen)
{
	__atomic_store_n(&dp->quit, 0, __ATOMIC_RELAXED);
	for (unsigned w = 0; w < dp->nworkers; w++) {
		struct dpdk_lcore *lc = dp->lcores[w];
		int rc = rte_eal_remote_launch(dpdk_lcore_main, lc, lc->lcore_id);

		if (rc != 0) {
			dpdk_set_err(err, errlen, "dpdk: cannot launch worker %u on lcore %u: %s", w, lc->lcore_id,
				rc == -EBUSY ? "lcore busy" : "error");
			dpdk_dp_stop(dp);
			return SL_ERROR;
		}
		dp->launched = true;
	}
	return SL_OK;
}

void dpdk_dp_stop(struct dpdk_dp *dp)
{
	if (dp == NULL || !dp->launched)
		return;
	__atomic_store_n(&dp->quit, 1, __ATOMIC_RELEASE);
	for (unsigned w = 0; w < dp->nworkers; w++)
		rte_eal_wait_lcore(dp->lcores[w]->lcore_id);
	dp->launched = false;
}

void dpdk_dp_destroy(struct dpdk_dp *dp)
{
	if (dp == NULL)
		return;
	dpdk_dp_stop(dp);
	/* workers first: their TX buffers and ARP queues hold mbufs of the pools */
	for (unsigned w = 0; w < dp->nworkers; w++)
		dpdk_lcore_free(dp->lcores[w]);
	for (unsigned i = 0; i < dp->nports; i++)
		dpdk_port_close(&dp->ports[i]);
	dpdk_pools_free(dp);
	free(dp);
}

unsigned dpdk_dp_nworkers(const struct dpdk_dp *dp)
{
	return dp->nworkers;
}

unsigned dpdk_dp_nports(const struct dpdk_dp *dp)
{
	return dp->nports;
}

int dpdk_dp_port_info(const struct dpdk_dp *dp, unsigned i, struct dpdk_port_info *pi)
{
	if (dp == NULL || i >= dp->nports)
		return SL_ERROR;
	*pi = dp->ports[i].info;
	return SL_OK;
}
