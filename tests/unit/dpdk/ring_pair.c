/* ring_pair.c - two ring ethdevs joined in memory for the dpdk tests, and the dataplane on one of them. */
#include <stdio.h>
#include <string.h>

#include <rte_eth_ring.h>
#include <rte_ethdev.h>

#include "dpdk/dpdk.h"
#include "dpdk/dpdk_lcore.h"
#include "ring_pair.h"
#include "util/sl_addr.h"
#include "util/sl_status.h"

int ring_pair_open(struct ring_pair *rp, const char *prefix, unsigned nq, unsigned ring_size,
		   struct rte_mempool *pool, uint16_t nrx, uint16_t ntx)
{
	struct rte_eth_conf conf;
	char name[RTE_RING_NAMESIZE];

	memset(rp, 0, sizeof(*rp));
	rp->port_a = rp->port_b = -1;
	if (nq == 0 || nq > RING_PAIR_QMAX || pool == NULL)
		return -1;
	rp->nq = nq;
	for (unsigned q = 0; q < nq; q++) {
		snprintf(name, sizeof(name), "%s_ab%u", prefix, q);
		rp->ab[q] = rte_ring_create(name, ring_size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "%s_ba%u", prefix, q);
		rp->ba[q] = rte_ring_create(name, ring_size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (rp->ab[q] == NULL || rp->ba[q] == NULL) {
			fprintf(stderr, "ring_pair: rings of %u: no memory\n", ring_size);
			return -1;
		}
	}
	snprintf(name, sizeof(name), "%s_a", prefix);
	rp->port_a = rte_eth_from_rings(name, rp->ba, nq, rp->ab, nq, SOCKET_ID_ANY);
	snprintf(name, sizeof(name), "%s_b", prefix);
	rp->port_b = rte_eth_from_rings(name, rp->ab, nq, rp->ba, nq, SOCKET_ID_ANY);
	if (rp->port_a < 0 || rp->port_b < 0) {
		fprintf(stderr, "ring_pair: rte_eth_from_rings failed\n");
		return -1;
	}
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure((uint16_t)rp->port_b, (uint16_t)nq, (uint16_t)nq, &conf) != 0)
		return -1;
	for (uint16_t q = 0; q < nq; q++)
		if (rte_eth_rx_queue_setup((uint16_t)rp->port_b, q, nrx, SOCKET_ID_ANY, NULL, pool) != 0 ||
		    rte_eth_tx_queue_setup((uint16_t)rp->port_b, q, ntx, SOCKET_ID_ANY, NULL) != 0)
			return -1;
	if (rte_eth_dev_start((uint16_t)rp->port_b) != 0)
		return -1;
	rp->b_started = true;
	return 0;
}

void ring_pair_close(struct ring_pair *rp)
{
	if (rp->port_b >= 0) {
		if (rp->b_started)
			rte_eth_dev_stop((uint16_t)rp->port_b);
		rte_eth_dev_close((uint16_t)rp->port_b);
	}
	/* port A is closed by dpdk_dp_destroy when the dataplane configured it; else here */
	if (rp->port_a >= 0 && rte_eth_dev_is_valid_port((uint16_t)rp->port_a))
		rte_eth_dev_close((uint16_t)rp->port_a);
	for (unsigned q = 0; q < RING_PAIR_QMAX; q++) {
		rte_ring_free(rp->ab[q]);
		rte_ring_free(rp->ba[q]);
	}
	memset(rp, 0, sizeof(*rp));
	rp->port_a = rp->port_b = -1;
}

int ring_pair_dp(const struct ring_pair *rp, const char *addr, unsigned plen, uint32_t mbufs,
		 struct dpdk_dp **dp)
{
	struct cfg_dpdk cd;
	char err[512];

	memset(&cd, 0, sizeof(cd));
	cd.nports = 1;
	cd.ports[0].id = (unsigned)rp->port_a;
	if (sl_addr_parse(addr, &cd.ports[0].address.addr, false) != 0)
		return -1;
	cd.ports[0].address.len = (uint8_t)plen;
	cd.mbufs = mbufs;
	if (dpdk_dp_create(dp, &cd, err, sizeof(err)) != SL_OK) {
		fprintf(stderr, "dpdk_dp_create: %s\n", err);
		return -1;
	}
	return 0;
}

struct rte_mbuf *ring_pair_linear(struct rte_mbuf *m, struct rte_mempool *pool)
{
	if (m->nb_segs == 1)
		return m;
	return dpdk_mbuf_linearise(m, pool);
}
