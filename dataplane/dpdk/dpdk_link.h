/* dpdk_link.h - the ports' link state: said at start, watched while sluice runs, announced again on link up. */
#ifndef DPDK_LINK_H
#define DPDK_LINK_H

#include <stddef.h>

#include <rte_ethdev.h>

struct dpdk_port;

/* dpdk_dp_link_watch (dpdk.h) is the third, on the control thread. */

/* "link up, 10000 Mbps, full-duplex, autoneg" or "link down" (rte_eth_link_to_str is experimental in 22.11). */
void dpdk_link_str(const struct rte_eth_link *l, char *buf, size_t len);

/* At port start, on the main thread: the state the watch compares with. */
void dpdk_link_init(struct dpdk_port *p, const struct rte_eth_link *l);

#endif
