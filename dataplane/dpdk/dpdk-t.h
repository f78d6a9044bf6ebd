/* dpdk-t.h - the dataplane's internal types: ports, per-lcore state, the dataplane object. */
#ifndef DPDK_T_H
#define DPDK_T_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dpdk/dpdk.h"
#include "dpdk/dpdk_stats.h"
#include "dpdk/dpdk_steer.h"
#include "net/net_arp.h"
#include "net/net_if.h"
#include "net/net_input.h"

#define DPDK_PORT_MAX     CFG_DPDK_PORT_MAX
#define DPDK_WORKER_MAX   64
#define DPDK_BURST        32                 /**< RX and TX burst size (l2fwd/l3fwd use 32) */
#define DPDK_TXQ_MAX      (2 * DPDK_BURST)   /**< TX buffer: one burst plus what a short tx_burst left */
#define DPDK_NB_RXD       1024
#define DPDK_NB_TXD       1024
#define DPDK_POOL_CACHE   256                /**< per-lcore mempool cache */
#define DPDK_ARP_ENTRIES  1024               /**< neighbour cache per (lcore, port): 64 KB */
#define DPDK_ARP_TICK_MS  100
#define DPDK_ALLOC_STASH  32                 /**< mbufs a worker takes from its pool at once (dpdk_lcore_mbuf) */
#define DPDK_ALLOC_AHEAD  4                  /**< of them, how many ahead are prefetched for writing */
#define DPDK_HO_RING      1024               /**< frames per (from, to) hand-over ring */
#define DPDK_ARP_RING     256                /**< ARP updates waiting for one lcore */

/* One port, configured by the main thread, then read-only for the workers. */
struct dpdk_port {
	struct dpdk_port_info info;
	struct net_if         ifp;   /**< shared by every lcore of the port (net_if.h contract) */
	uint16_t              nb_rxd, nb_txd;
	bool                  started;
	/* dpdk_link.c: written by the control thread's watch; the workers read link_ups */
	uint32_t              link_up;     /**< 1 while the link is up (the watch's last reading) */
	uint32_t              link_ups;    /**< times it came up since start: a new value means announce */
	/*
	 * Who owns a flow (worker index), as the NIC's RSS computes it or, on
	 * a software-steered port, as every lcore computes it for the
	 * hand-over ring; and which source ports bring backend replies home.
	 */
	struct dpdk_steer     steer;
};

/* Frames waiting for one tx_burst. m[0..n) are ours until tx_burst takes them. */
struct dpdk_txq {
	uint16_t         n;
	struct rte_mbuf *m[DPDK_TXQ_MAX];
};

/* Frames for one other lcore, gathered during the RX bursts, enqueued once after them. */
struct dpdk_ho_buf {
	struct rte_ring *ring;   /**< the owner's hand-over ring from us (it frees the ring) */
	uint16_t         n;
	struct rte_mbuf *m[DPDK_BURST];
};

/* One lcore's ARP learn for another lcore's cache of the same port (an element of its arp_in). */
struct dpdk_arp_msg {
	struct net_arp_update u;
	uint8_t               port;     /**< index in lc->ports */
	uint8_t               pad[3];
};

struct dpdk_lcore;
struct dpdk_lcore_port;
struct net_rx;

/*
 * What the loop calls when a transport (dpdk_transport.c) is attached:
 * pointers, so the loop's library does not pull the transport (and with it
 * the relay, TCP and control code) into programs that only move packets.
 *  - tcp_rx: a NET_RX_TCP segment; the callee takes the mbuf (frees it);
 *  - poll:   once per iteration, after RX: timers, rings, deferred work;
 *            returns true when it did something (busy-cycle accounting).
 */
struct dpdk_hooks {
	void (*tcp_rx)(struct dpdk_lcore *lc, struct dpdk_lcore_port *lp, struct rte_mbuf *m,
		       const struct net_rx *rx);
	bool (*poll)(struct dpdk_lcore *lc, uint64_t now_ms);
};

/* What one lcore keeps per port: its queue, its ARP cache, its TX buffer, net_input's context. */
struct dpdk_lcore_port {
	struct dpdk_lcore     *lc;
	const struct dpdk_port *port;
	uint16_t               port_id;
	uint16_t               queue_id;
	struct net_ctx         nc;
	struct net_arp_cache   arp;
	struct net_arp_entry  *arp_tab;   /**< rte_zmalloc_socket on the lcore's node */
	struct dpdk_txq        txq;
	uint32_t               link_ups_seen; /**< queue 0: port->link_ups last announced */
} __rte_cache_aligned;

/*
 * Everything one worker touches per packet, on its own NUMA node and cache
 * lines (l2fwd's lcore_queue_conf idea): no other lcore writes here; the
 * control thread only reads st (dpdk_stats.h).
 */
struct dpdk_lcore {
	unsigned            lcore_id;
	unsigned            idx;          /**< worker number = queue id on every port */
	int                 socket;
	struct rte_mempool *pool;         /**< mbufs of this lcore's socket */
	const int          *quit;         /**< the dataplane's quit flag */
	uint64_t            tsc_per_ms;
	unsigned            nports;
	const struct dpdk_hooks *hooks;   /**< NULL: no transport, TCP segments are counted and freed */
	void               *tp;           /**< the transport's per-lcore state (struct dpdk_tp) */
	/*
	 * Flow hand-over (more than one worker): a TCP segment is processed
	 * only by the lcore that owns its flow (port->steer), so each session
	 * lives on one lcore whatever queue its packets reach. ho_in[w] is the
	 * SP/SC ring from worker w (NULL for ourselves), ho_out[w] our frames
	 * for it; arp_in takes the other lcores' ARP learns (multi-producer).
	 */
	unsigned            nworkers;
	bool                yield_idle;   /**< another worker runs on our CPU: an idle iteration yields it */
	struct dpdk_lcore *const *peers;  /**< every worker by index (dp->lcores), for their arp_in */
	struct rte_ring    *arp_in;
	struct dpdk_ho_buf *ho_out;       /**< [nworkers], on our node */
	struct rte_ring    *ho_in[DPDK_WORKER_MAX];
	/*
	 * Fresh mbufs for TX, taken from pool DPDK_ALLOC_STASH at a time and
	 * handed out in order, each prefetched for writing DPDK_ALLOC_AHEAD
	 * allocations before it is used (dpdk_lcore_mbuf): stash[next..n).
	 * data_at: from an mbuf to its data at the default headroom.
	 */
	uint16_t            stash_next, stash_n;
	uint32_t            data_at;
	struct rte_mbuf    *stash[DPDK_ALLOC_STASH];
	struct dpdk_stats   st __rte_cache_aligned;
	struct dpdk_lcore_port ports[DPDK_PORT_MAX];
} __rte_cache_aligned;

struct dpdk_dp {
	int                 quit;         /**< set by dpdk_dp_stop, read by every worker */
	bool                launched;
	unsigned            nports;
	struct dpdk_port    ports[DPDK_PORT_MAX];
	unsigned            nworkers;
	struct dpdk_lcore  *lcores[DPDK_WORKER_MAX];
	struct rte_mempool *pools[RTE_MAX_NUMA_NODES];
	int                 tp_stop;      /**< dpdk_tp_shutdown: workers drain their sessions */
};

#endif
