/* net_arp.h - ARP for IPv4 over Ethernet (RFC 826): packets, and the per-lcore neighbour cache. */
#ifndef NET_ARP_H
#define NET_ARP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/net_eth.h"
#include "net/net_if.h"
#include "net/net_stats.h"

#define NET_ARP_HLEN       28                 /**< Ethernet/IPv4 ARP body */
#define NET_ARP_FRAME_LEN  NET_ETH_MIN_FRAME  /**< every ARP frame we build, padded */
#define NET_ARP_OP_REQUEST 1
#define NET_ARP_OP_REPLY   2

/* The body for htype 1 (Ethernet), ptype 0x0800; fields in network order. */
struct net_arp_hdr {
	uint16_t       htype;
	uint16_t       ptype;
	uint8_t        hlen;
	uint8_t        plen;
	uint16_t       op;
	struct net_mac sha;
	uint8_t        spa[4];   /**< bytes, not uint32_t: only 2-byte aligned here */
	struct net_mac tha;
	uint8_t        tpa[4];
} __attribute__((packed));

_Static_assert(sizeof(struct net_arp_hdr) == NET_ARP_HLEN, "struct net_arp_hdr must be 28 bytes");

/* What net_arp_parse found; MACs point into the packet. */
struct net_arp_info {
	uint16_t op;                 /**< host order */
	const struct net_mac *sha;
	const struct net_mac *tha;
	uint32_t spa, tpa;           /**< network order */
};

/*
 * net_arp_parse - validate an ARP body (p = first byte after the Ethernet
 * header): Ethernet/IPv4 sizes, op request or reply, a unicast sender MAC.
 * NET_DROP_NONE or NET_DROP_ARP_BAD.
 */
enum net_drop net_arp_parse(const uint8_t *p, size_t len, struct net_arp_info *ai);

/*
 * Frame builders: each writes a whole frame (Ethernet header, tag if the
 * port has a VLAN, ARP body, zero padding) of NET_ARP_FRAME_LEN bytes into
 * buf, which must hold that many, and returns the length.
 *  - request: who has tpa? broadcast, tha zero (RFC 826);
 *  - reply: to the requester of req, unicast, we are the sender;
 *  - gratuitous: an announcement (RFC 5227 section 3): a broadcast request
 *    with spa = tpa = our address, so neighbours refresh their caches.
 */
size_t net_arp_build_request(uint8_t *buf, const struct net_if *ifp, uint32_t tpa);
size_t net_arp_build_reply(uint8_t *buf, const struct net_if *ifp, const struct net_arp_info *req);
size_t net_arp_build_gratuitous(uint8_t *buf, const struct net_if *ifp);

/* ---- neighbour cache ---- */

/* Neighbour states (the subset of RFC 4861 7.3.2 an ARP host needs; NDP will reuse them). */
enum net_neigh_state {
	NET_NEIGH_FREE = 0,
	NET_NEIGH_INCOMPLETE,   /**< request sent, packets wait in the entry's queue */
	NET_NEIGH_REACHABLE,    /**< confirmed recently: use without asking */
	NET_NEIGH_STALE,        /**< not confirmed lately: use, and ask again */
};

#define NET_ARP_QMAX 4   /**< most packets one INCOMPLETE entry can hold (fits the cache line) */
#define NET_ARP_WAYS 4   /**< entries per hash set */

/*
 * One entry per 64-byte cache line: a lookup touches one line per way.
 * Times are ms of the caller's clock (virtual in tests).
 */
struct net_arp_entry {
	uint32_t       ip;        /**< network order */
	uint8_t        state;     /**< enum net_neigh_state */
	uint8_t        probes;    /**< requests sent while INCOMPLETE */
	uint8_t        qlen;
	uint8_t        qhead;
	struct net_mac mac;
	uint16_t       pad;
	uint64_t       updated;   /**< confirmed (REACHABLE/STALE) or first request (INCOMPLETE) */
	uint64_t       probed;    /**< last request sent */
	void          *q[NET_ARP_QMAX];   /**< FIFO ring of waiting packets (port layer: mbufs) */
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct net_arp_entry) == 64, "struct net_arp_entry must be one cache line");

/*
 * How the cache acts on the world; all three are called on the owning lcore.
 *  - solicit: send an ARP request for ip (first miss, retransmit, refresh);
 *  - send: ip is resolved to mac: transmit the waiting pkt; owns pkt after;
 *  - free: pkt is dropped (next hop unresolved, cache flushed); owns pkt after.
 * Every packet the cache accepted leaves it through exactly one send or free.
 */
struct net_neigh_ops {
	void (*solicit)(void *ctx, uint32_t ip);
	void (*send)(void *ctx, void *pkt, const struct net_mac *mac);
	void (*free)(void *ctx, void *pkt);
	void *ctx;
};

/* Timers in ms. Defaults from Linux/RFC 4861 (30 s reachable, 1 s retransmit, 3 probes). */
struct net_arp_cfg {
	uint32_t reachable_ms;   /**< REACHABLE -> STALE */
	uint32_t stale_ms;       /**< STALE with no confirmation -> freed */
	uint32_t retrans_ms;     /**< between requests (INCOMPLETE, STALE refresh) */
	uint8_t  max_probes;     /**< requests before an INCOMPLETE entry gives up */
	uint8_t  queue_max;      /**< waiting packets per entry, 0..NET_ARP_QMAX */
};

struct net_arp_cache {
	struct net_arp_entry *tab;   /**< nsets * NET_ARP_WAYS entries, owned by the caller */
	uint32_t set_mask;
	uint32_t set_shift;          /**< 32 - log2(nsets), for the multiplicative hash */
	uint32_t used;
	struct net_arp_cfg cfg;
	struct net_neigh_ops ops;
	struct net_stats *stats;
};

void net_arp_cfg_default(struct net_arp_cfg *cfg);

/*
 * net_arp_cache_init - set up a cache over tab[0..n), n a power of two and a
 * multiple of NET_ARP_WAYS; the memory (e.g. rte_zmalloc_socket on the
 * lcore's node) stays the caller's. SL_OK, or SL_ERROR for a bad n or cfg.
 */
int net_arp_cache_init(struct net_arp_cache *c, struct net_arp_entry *tab, uint32_t n,
		       const struct net_arp_cfg *cfg, const struct net_neigh_ops *ops,
		       struct net_stats *stats);

/* Result of net_arp_resolve. */
enum net_arp_res {
	NET_ARP_HIT,       /**< *mac is set; send now. pkt was not taken */
	NET_ARP_QUEUED,    /**< pkt is the cache's now; a request is out (solicit called if needed) */
	NET_ARP_REFUSED,   /**< queue or table full: pkt not taken, the caller frees it (counted) */
};

/*
 * net_arp_resolve - MAC of next hop ip (network order). On a miss an
 * INCOMPLETE entry is made and solicit called; pkt (may be NULL: just
 * resolve ahead) waits in its queue. A STALE hit also solicits, at most once
 * per retrans_ms, so a dead neighbour is found while traffic still flows.
 */
enum net_arp_res net_arp_resolve(struct net_arp_cache *c, uint32_t ip, void *pkt,
				 struct net_mac *mac, uint64_t now);

/*
 * net_arp_learn - sender information from a received ARP packet (RFC 826
 * merge). An existing entry takes the MAC (a reply makes it REACHABLE, a
 * request keeps or, on a new MAC, sets STALE) and an INCOMPLETE one sends its
 * queue. A new entry is made only when create (we were the target), as
 * STALE: unsolicited information is not proof of reachability (RFC 4861 7.2.3).
 */
void net_arp_learn(struct net_arp_cache *c, uint32_t ip, const struct net_mac *mac,
		   bool is_reply, bool create, uint64_t now);

/*
 * What one net_arp_learn call was told (its arguments), so that a cache on
 * another lcore can learn it too: a reply to this lcore's request may reach
 * any lcore of the port, and the one whose packets wait for it must hear of
 * it (net_ctx.arp_learned, net_arp_learn_update). 12 bytes.
 */
struct net_arp_update {
	uint32_t       ip;         /**< network order */
	struct net_mac mac;
	uint8_t        is_reply;
	uint8_t        create;
};

/* net_arp_learn_update - net_arp_learn with the arguments of u (another lcore's learn). */
static inline void net_arp_learn_update(struct net_arp_cache *c, const struct net_arp_update *u, uint64_t now)
{
	net_arp_learn(c, u->ip, &u->mac, u->is_reply != 0, u->create != 0, now);
}

/* net_arp_confirm - upper-layer proof of reachability (TCP saw new data ACKed, RFC 4861 7.3.1). */
void net_arp_confirm(struct net_arp_cache *c, uint32_t ip, uint64_t now);

/*
 * net_arp_tick - timers, to call every ~100 ms to 1 s from the lcore loop:
 * retransmit requests, give up after max_probes (queued packets freed and
 * counted as NET_DROP_ARP_TIMEOUT), REACHABLE -> STALE, free old STALE.
 * Walks the whole table: a few hundred lines, far from the per-packet path.
 */
void net_arp_tick(struct net_arp_cache *c, uint64_t now);

/* net_arp_flush - free every entry and every waiting packet (port stop). */
void net_arp_flush(struct net_arp_cache *c);

/* net_arp_lookup - the entry for ip or NULL, with no side effect (tests, dumps). */
const struct net_arp_entry *net_arp_lookup(const struct net_arp_cache *c, uint32_t ip);

#endif
