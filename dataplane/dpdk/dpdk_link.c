/* dpdk_link.c - the ports' link state: said at start, watched while sluice runs, announced again on link up. */
#include "dpdk/dpdk_link.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dpdk/dpdk-t.h"
#include "util/sl_log.h"

void dpdk_link_str(const struct rte_eth_link *l, char *buf, size_t len)
{
	if (l->link_status == RTE_ETH_LINK_DOWN) {
		snprintf(buf, len, "link down");
		return;
	}
	if (l->link_speed == RTE_ETH_SPEED_NUM_NONE || l->link_speed == RTE_ETH_SPEED_NUM_UNKNOWN)
		snprintf(buf, len, "link up, speed unknown, %s-duplex%s",
			 l->link_duplex == RTE_ETH_LINK_FULL_DUPLEX ? "full" : "half",
			 l->link_autoneg == RTE_ETH_LINK_AUTONEG ? ", autoneg" : "");
	else
		snprintf(buf, len, "link up, %" PRIu32 " Mbps, %s-duplex%s", l->link_speed,
			 l->link_duplex == RTE_ETH_LINK_FULL_DUPLEX ? "full" : "half",
			 l->link_autoneg == RTE_ETH_LINK_AUTONEG ? ", autoneg" : "");
}

void dpdk_link_init(struct dpdk_port *p, const struct rte_eth_link *l)
{
	__atomic_store_n(&p->link_up, l->link_status == RTE_ETH_LINK_UP, __ATOMIC_RELAXED);
	__atomic_store_n(&p->link_ups, 0, __ATOMIC_RELAXED);
}

/*
 * dpdk.h. rte_eth_link_get_nowait may be a system call on some PMDs, hence
 * the control thread. A link that came up is counted in p->link_ups, which
 * the port's queue-0 worker turns into a gratuitous ARP (switches and
 * neighbours relearn us, as Linux's arp_notify does).
 */
unsigned dpdk_dp_link_watch(struct dpdk_dp *dp)
{
	unsigned changed = 0;

	for (unsigned i = 0; i < dp->nports; i++) {
		struct dpdk_port *p = &dp->ports[i];
		struct rte_eth_link l;
		char buf[96];
		bool up;

		if (!p->started)
			continue;
		memset(&l, 0, sizeof(l));
		if (rte_eth_link_get_nowait(p->info.port_id, &l) != 0)
			continue;
		up = l.link_status == RTE_ETH_LINK_UP;
		if (up == (bool)__atomic_load_n(&p->link_up, __ATOMIC_RELAXED))
			continue;
		changed++;
		__atomic_store_n(&p->link_up, up, __ATOMIC_RELAXED);
		dpdk_link_str(&l, buf, sizeof(buf));
		if (up) {
			/* release: the worker that sees the count sees the link up */
			__atomic_add_fetch(&p->link_ups, 1, __ATOMIC_RELEASE);
			sl_info("dpdk: port %u (%s): %s", p->info.port_id, p->info.name, buf);
		} else {
			sl_warn("dpdk: port %u (%s): %s", p->info.port_id, p->info.name, buf);
		}
	}
	return changed;
}
