/* dpdk.h - the DPDK dataplane as main.c sees it: create ports and workers, launch, stop, destroy. */
#ifndef DPDK_H
#define DPDK_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "dpdk/dpdk_eal.h"
#include "dpdk/dpdk_stats.h"
#include "net/net_eth.h"

/*
 * This header needs no DPDK header, so its users do not inherit DPDK's
 * compiler flags (-include rte_config.h, -march): only dataplane/dpdk does.
 */

struct dpdk_dp;

/* Port capabilities found at configure time, for the net and TCP layers. */
#define DPDK_CAP_RSS          0x01u   /**< RSS on, symmetric Toeplitz key */
#define DPDK_CAP_TX_IP_CSUM   0x02u   /**< the NIC fills IPv4 header checksums */
#define DPDK_CAP_TX_TCP_CSUM  0x04u   /**< the NIC fills TCP checksums (pseudo-header pre-filled) */
#define DPDK_CAP_RX_IP_CSUM   0x08u   /**< the NIC checks IPv4 header checksums */
#define DPDK_CAP_RX_TCP_CSUM  0x10u   /**< the NIC checks TCP checksums */
/*
 * RSS hashes the IPv4 TCP 4-tuple (RTE_ETH_RSS_NONFRAG_IPV4_TCP among the
 * hash functions the device reports enabled): the queue a segment lands on
 * is the flow's software owner (dpdk_steer), and a backend reply comes back
 * to the lcore that chose its source port. Without it (no RSS: af_packet,
 * tap, net_ring; or RSS over addresses only) the port is software-steered:
 * every lcore computes the owner of what it receives and hands the rest
 * over on a ring. Hand-over runs on every port with more than one worker;
 * on an RSS port it only catches what lands elsewhere by accident.
 */
#define DPDK_CAP_RSS_TCP4     0x20u
/* The device sends chained mbufs (RTE_ETH_TX_OFFLOAD_MULTI_SEGS enabled): a
 * segment's payload can be indirect mbufs of received data, up to
 * tx_seg_max pieces in all (zero-copy forwarding, dpdk_transport.c). */
#define DPDK_CAP_TX_MULTI_SEG 0x40u

#define DPDK_RSS_KEY_MAX 64

struct dpdk_port_info {
	uint16_t       port_id;
	uint16_t       nb_queues;   /**< RX/TX queue pairs, one per worker */
	uint16_t       mtu;
	uint32_t       caps;        /**< DPDK_CAP_* */
	uint64_t       rss_hf;      /**< RTE_ETH_RSS_* the device reports enabled, 0 without RSS */
	uint16_t       reta_size;   /**< RSS redirection table entries (dev_info), 0 without RSS */
	uint16_t       tx_seg_max;  /**< mbufs per TX frame (dev_info tx_desc_lim.nb_seg_max; 0 = no limit given) */
	uint8_t        rss_key_len;
	uint8_t        rss_key[DPDK_RSS_KEY_MAX];   /**< for software Toeplitz (flow steering) */
	struct net_mac mac;
	char           name[64];    /**< device: PCI address or vdev name */
	char           driver[32];
};

/*
 * dpdk_dp_create - after dpdk_eal_init: configure and start the ports of
 * cd (cfg port N = DPDK port id N, in the order EAL found the devices of its
 * -a / --vdev arguments, or a port by its device's name), the routes of cd,
 * one RX/TX queue pair per worker lcore (every EAL
 * lcore but the main one), an mbuf pool per socket of cd->mbufs mbufs, and
 * a per-lcore context for each worker. Nothing runs yet. SL_OK with *dpp
 * set, or SL_ERROR with err naming the port, the numbers and a fix.
 */
int dpdk_dp_create(struct dpdk_dp **dpp, const struct cfg_dpdk *cd, char *err, size_t errlen);

/* dpdk_dp_launch - start the run-to-completion loop on every worker lcore. SL_OK or SL_ERROR. */
int dpdk_dp_launch(struct dpdk_dp *dp, char *err, size_t errlen);

/* dpdk_dp_stop - raise the quit flag and wait for every worker to return (idempotent). */
void dpdk_dp_stop(struct dpdk_dp *dp);

/* dpdk_dp_destroy - stop, then stop and close the ports and free pools and lcore state (NULL ok). */
void dpdk_dp_destroy(struct dpdk_dp *dp);

unsigned dpdk_dp_nworkers(const struct dpdk_dp *dp);
unsigned dpdk_dp_nports(const struct dpdk_dp *dp);
/* dpdk_dp_port_info - what port i (0 <= i < nports, config order) is. SL_OK or SL_ERROR. */
int dpdk_dp_port_info(const struct dpdk_dp *dp, unsigned i, struct dpdk_port_info *pi);

/*
 * dpdk_dp_link_watch - for the control thread, about once a second: read
 * every port's link, log what changed, and have a port whose link came
 * back up announce our address again (gratuitous ARP from its worker).
 * Never on a worker: reading a link can be a system call. Returns how many
 * ports changed.
 */
unsigned dpdk_dp_link_watch(struct dpdk_dp *dp);

#endif
