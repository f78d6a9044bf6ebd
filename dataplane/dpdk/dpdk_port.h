/* dpdk_port.h - mbuf pools and port configuration (internal to dataplane/dpdk). */
#ifndef DPDK_PORT_H
#define DPDK_PORT_H

#include <stddef.h>

#include "dpdk/dpdk-t.h"

/*
 * dpdk_pools_create - one mbuf pool of mbufs mbufs on each socket that has a
 * worker, checked first against what the ports' descriptors and the lcore
 * caches pin and against the memory EAL has on that socket. SL_OK or SL_ERROR.
 */
int dpdk_pools_create(struct dpdk_dp *dp, uint32_t mbufs, char *err, size_t errlen);
void dpdk_pools_free(struct dpdk_dp *dp);

/*
 * dpdk_port_lookup - the DPDK port id of cp: by its device name (a PCI
 * address or a vdev) or by EAL's number. SL_ERROR, with the ports EAL
 * found in err, when there is none.
 */
int dpdk_port_lookup(const struct cfg_dpdk_port *cp, uint16_t *pid, char *err, size_t errlen);

/*
 * The queues need the pools, and the pools' size needs the descriptor
 * counts of every port, so a port comes up in two halves:
 *  - dpdk_port_setup: find cp's DPDK port (dpdk_port_lookup), log what the device offers,
 *    configure dp->nworkers queue pairs (RSS with the symmetric key, checksum
 *    offloads where offered), settle the descriptor counts;
 *  - dpdk_port_start: once the pools exist, queue q on worker q's socket,
 *    start, promiscuous off, MAC and MTU from the device, p->ifp from cp,
 *    link state logged.
 * Both SL_OK or SL_ERROR with err set.
 */
int dpdk_port_setup(struct dpdk_dp *dp, struct dpdk_port *p, const struct cfg_dpdk_port *cp,
		    char *err, size_t errlen);
int dpdk_port_start(struct dpdk_dp *dp, struct dpdk_port *p, const struct cfg_dpdk_port *cp,
		    char *err, size_t errlen);
/*
 * dpdk_routes_add - the config's `route PREFIX via GW` into the route table
 * of the port whose subnet holds GW (the ports' addresses set: after
 * dpdk_port_start). SL_ERROR when GW is on no port's subnet or on two, is
 * our own address, or the port's table is full.
 */
int dpdk_routes_add(struct dpdk_dp *dp, const struct cfg_dpdk *cd, char *err, size_t errlen);
/* dpdk_port_close - stop and close a port set up by dpdk_port_setup (safe twice). */
void dpdk_port_close(struct dpdk_port *p);

#endif
