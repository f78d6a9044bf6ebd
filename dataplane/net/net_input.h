/* net_input.h - the one entry point from a received frame to ARP, ICMP echo or the TCP layer. */
#ifndef NET_INPUT_H
#define NET_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "net/net_arp.h"
#include "net/net_if.h"
#include "net/net_stats.h"
#include "util/sl_addr.h"

/*
 * The buffer provider: how the stack gets a frame to fill and sends it. The
 * DPDK port layer allocates an mbuf and returns its data pointer (hdl = the
 * mbuf), send sets data_len and queues it for TX; tests use plain arrays.
 *  - alloc: room for len bytes, or NULL (pool empty: the reply is dropped,
 *    counted NET_DROP_TX_NOBUF);
 *  - send: transmit len bytes of a buffer from alloc; owns hdl after.
 */
struct net_tx_ops {
	uint8_t *(*alloc)(void *ctx, size_t len, void **hdl);
	void (*send)(void *ctx, void *hdl, size_t len);
};

/*
 * Everything net_input needs, one per (lcore, port): the port's shared
 * read-only config, this lcore's ARP cache and counters, the provider.
 * now_ms is the lcore's clock, set once per RX burst (no clock read per packet).
 * arp_learned (optional, ctx tx_ctx): told what a received ARP packet taught
 * arp, after it learned it, so that the port layer gives the same update to
 * the caches of its other lcores (net_arp_learn_update), which never call
 * it back: one lcore's learn reaches each other cache once.
 */
struct net_ctx {
	const struct net_if     *ifp;
	struct net_arp_cache    *arp;
	struct net_stats        *stats;
	const struct net_tx_ops *tx;
	void                    *tx_ctx;
	uint64_t                 now_ms;
	void                   (*arp_learned)(void *ctx, const struct net_arp_update *u);
};

/* rx_flags: what the NIC verified (DPDK: RTE_MBUF_F_RX_IP_CKSUM_GOOD / _L4_CKSUM_GOOD).
 * Without a flag the stack checks in software; "bad" from a NIC is simply no flag. */
#define NET_RX_IP_CSUM_GOOD 0x1u
#define NET_RX_L4_CSUM_GOOD 0x2u

enum net_verdict {
	NET_RX_DROP,   /**< dropped, reason counted: the caller frees the frame */
	NET_RX_DONE,   /**< consumed here (ARP handled, echo replied): the caller frees the frame */
	NET_RX_TCP,    /**< a TCP segment for us: see struct net_rx; the frame must outlive its use */
};

/* What net_input tells its caller; pointers point into the frame. */
struct net_rx {
	enum net_drop  reason;   /**< NET_RX_DROP: why */
	const uint8_t *l4;       /**< NET_RX_TCP: the TCP header (data offset checked: 20..len) */
	uint32_t       l4_off;   /**< its offset in the frame, for rte_pktmbuf_adj */
	uint32_t       l4_len;   /**< header + payload, link padding excluded */
	struct sl_addr src;      /**< IP source (port 0: the TCP layer reads ports) */
	struct sl_addr dst;      /**< IP destination (ours) */
	uint8_t        tos;
	uint8_t        ttl;
};

/*
 * net_input - classify one received frame[0..len) and do the L2/L3 work:
 *  - ARP: learn the sender (and tell nc->arp_learned), answer requests for our address;
 *  - IPv4 to us: ICMP echo request -> echo reply; TCP -> NET_RX_TCP once the
 *    checksum is verified (skipped with NET_RX_L4_CSUM_GOOD);
 *  - everything else: NET_RX_DROP with its reason.
 * Replies are built in buffers from nc->tx, so frame is never written and
 * the port layer may free it as soon as the verdict is not NET_RX_TCP.
 * Never reads outside frame[0..len); no allocation other than nc->tx->alloc.
 */
enum net_verdict net_input(struct net_ctx *nc, const uint8_t *frame, size_t len,
			   unsigned rx_flags, struct net_rx *rx);

/*
 * net_arp_send_request - build and send an ARP request for ip: the body of
 * the ARP cache's solicit callback (the port layer binds its ctx to a net_ctx).
 * net_send_gratuitous - announce our address (port start, link up).
 * Both return SL_OK or SL_ERROR (no buffer, counted).
 */
int net_arp_send_request(struct net_ctx *nc, uint32_t ip);
int net_send_gratuitous(struct net_ctx *nc);

#endif
