/* dpdk_tx.h - one lcore's TCP segments into Ethernet/IPv4 frames: headers, payload copied or chained by reference, checksums, next hop (internal to dataplane/dpdk). */
#ifndef DPDK_TX_H
#define DPDK_TX_H

#include <stdbool.h>
#include <stdint.h>

#include "dpdk/dpdk-t.h"
#include "tcp/tcp.h"

#define DPDK_TX_PORTS 8   /**< lcore ports whose TX may chain held pieces */

/*
 * What the TCP stack's output needs of its lcore: the ports (by source
 * address), how many mbufs one frame may chain on each, and the clock the
 * ARP cache is given. One per transport lcore, the ctx of dpdk_tx_tcp_ops.
 */
struct dpdk_tx {
	struct dpdk_lcore *lc;
	const uint64_t    *now_ms;
	bool               zero_copy;              /**< held pieces may be chained (SL_DPDK_COPY=1: no) */
	uint8_t            segs[DPDK_TX_PORTS];    /**< per lcore port: mbufs a frame may chain, 0: copy */
};

/*
 * dpdk_tx_setup - for lc's ports: chain held pieces (relayed DATA) as
 * indirect mbufs where the device takes multi-segment frames, copy
 * otherwise; SL_DPDK_COPY=1 in the environment copies everywhere
 * (measurements). now_ms: the transport's clock, read at each frame.
 */
void dpdk_tx_setup(struct dpdk_tx *tx, struct dpdk_lcore *lc, const uint64_t *now_ms);

/* The tcp_stack_ops of a transport lcore's stack: output, hold, release (ctx: its struct dpdk_tx). */
extern const struct tcp_stack_ops dpdk_tx_tcp_ops;

/* Its hold and release, for any stack whose received buffers are mbufs (ctx
 * unused): the stack keeps one past tcp_input (unconsumed or out-of-order
 * data, DATA relayed by reference) with a reference, and drops it. */
void dpdk_tx_mbuf_hold(void *ctx, void *owner);
void dpdk_tx_mbuf_release(void *ctx, void *owner);

#endif
