/* net_arp.c - ARP packets and the per-lcore neighbour cache (set-associative, bounded, virtual time). */
#include <string.h>

#include "net/net_arp.h"
#include "util/sl_status.h"

/* ---- packets ---- */

enum net_drop net_arp_parse(const uint8_t *p, size_t len, struct net_arp_info *ai)
{
	/* htype 1, ptype 0x0800, hlen 6, plen 4: one compare for the four fields */
	static const uint8_t eth_ipv4[6] = { 0x00, 0x01, 0x08, 0x00, 0x06, 0x04 };
	uint16_t op;

	if (len < NET_ARP_HLEN || memcmp(p, eth_ipv4, sizeof(eth_ipv4)) != 0)
		return NET_DROP_ARP_BAD;
	op = (uint16_t)(p[6] << 8 | p[7]);
	if (op != NET_ARP_OP_REQUEST && op != NET_ARP_OP_REPLY)
		return NET_DROP_ARP_BAD;
	ai->op = op;
	ai->sha = (const struct net_mac *)(p + 8);
	ai->tha = (const struct net_mac *)(p + 18);
	memcpy(&ai->spa, p + 14, 4);
	memcpy(&ai->tpa, p + 24, 4);
	/* a group or zero sender MAC would make every reply a broadcast: forged */
	if (net_mac_is_mcast(ai->sha) || net_mac_is_zero(ai->sha))
		return NET_DROP_ARP_BAD;
	return NET_DROP_NONE;
}

static const struct net_mac mac_zero;

static size_t arp_frame(uint8_t *buf, const struct net_if *ifp, const struct net_mac *eth_dst,
			uint16_t op, const struct net_mac *tha, uint32_t tpa)
{
	size_t off = net_eth_build(buf, eth_dst, &ifp->mac, NET_ETHERTYPE_ARP, ifp->vlan_id);
	uint8_t *a = buf + off;

	a[0] = 0x00;
	a[1] = 0x01;   /* Ethernet */
	a[2] = 0x08;
	a[3] = 0x00;   /* IPv4 */
	a[4] = NET_ETH_ALEN;
	a[5] = 4;
	a[6] = 0;
	a[7] = (uint8_t)op;
	memcpy(a + 8, ifp->mac.b, NET_ETH_ALEN);
	memcpy(a + 14, &ifp->ip4, 4);
	memcpy(a + 18, tha->b, NET_ETH_ALEN);
	memcpy(a + 24, &tpa, 4);
	return net_eth_pad(buf, off + NET_ARP_HLEN);
}

size_t net_arp_build_request(uint8_t *buf, const struct net_if *ifp, uint32_t tpa)
{
	return arp_frame(buf, ifp, &net_mac_bcast, NET_ARP_OP_REQUEST, &mac_zero, tpa);
}

size_t net_arp_build_reply(uint8_t *buf, const struct net_if *ifp, const struct net_arp_info *req)
{
	/* copy first: req->sha may point into the frame buf is about to overwrite */
	struct net_mac to = *req->sha;

	return arp_frame(buf, ifp, &to, NET_ARP_OP_REPLY, &to, req->spa);
}

size_t net_arp_build_gratuitous(uint8_t *buf, const struct net_if *ifp)
{
	return arp_frame(buf, ifp, &net_mac_bcast, NET_ARP_OP_REQUEST, &mac_zero, ifp->ip4);
}

/* ---- cache ---- */

void net_arp_cfg_default(struct net_arp_cfg *cfg)
{
	cfg->reachable_ms = 30000;
	cfg->stale_ms = 60000;
	cfg->retrans_ms = 1000;
	cfg->max_probes = 3;
	cfg->queue_max = NET_ARP_QMAX;
}

int net_arp_cache_init(struct net_arp_cache *c, struct net_arp_entry *tab, uint32_t n,
		       const struct net_arp_cfg *cfg, const struct net_neigh_ops *ops,
		       struct net_stats *stats)
{
	uint32_t nsets = n / NET_ARP_WAYS, shift = 32;

	if (tab == NULL || n < NET_ARP_WAYS || (n & (n - 1)) != 0 || cfg->queue_max > NET_ARP_QMAX ||
	    cfg->max_probes == 0 || cfg->retrans_ms == 0)
		return SL_ERROR;
	while ((1u << (32 - shift)) < nsets)
		shift--;
	memset(tab, 0, sizeof(*tab) * n);
	c->tab = tab;
	c->set_mask = nsets - 1;
	c->set_shift = shift;
	c->used = 0;
	c->cfg = *cfg;
	c->ops = *ops;
	c->stats = stats;
	return SL_OK;
}

/*
 * Fibonacci hashing: one multiply, the top bits pick the set. Entries are
 * only made for our own next hops and for hosts that ARP for us, so there is
 * no attacker-chosen key flood to defend against, only a bound (ways).
 */
static inline struct net_arp_entry *set_of(const struct net_arp_cache *c, uint32_t ip)
{
	uint32_t h = (uint32_t)(((uint64_t)(uint32_t)(ip * 0x9e3779b1u)) >> c->set_shift);

	return &c->tab[(h & c->set_mask) * NET_ARP_WAYS];
}

static inline struct net_arp_entry *find(const struct net_arp_cache *c, uint32_t ip)
{
	struct net_arp_entry *s = set_of(c, ip);

	for (unsigned w = 0; w < NET_ARP_WAYS; w++)
		if (s[w].ip == ip && s[w].state != NET_NEIGH_FREE)
			return &s[w];
	return NULL;
}

const struct net_arp_entry *net_arp_lookup(const struct net_arp_cache *c, uint32_t ip)
{
	return find(c, ip);
}

/*
 * A slot for ip in its set: a free way, else the oldest STALE, else the
 * oldest REACHABLE (they can be learned again). INCOMPLETE entries hold
 * packets and are never evicted: NULL when all ways are INCOMPLETE.
 */
static struct net_arp_entry *slot_for(struct net_arp_cache *c, uint32_t ip)
{
	struct net_arp_entry *s = set_of(c, ip), *victim = NULL;

	for (unsigned w = 0; w < NET_ARP_WAYS; w++) {
		struct net_arp_entry *e = &s[w];

		if (e->state == NET_NEIGH_FREE) {
			victim = e;
			break;
		}
		if (e->state == NET_NEIGH_INCOMPLETE)
			continue;
		if (victim == NULL ||
		    (e->state == NET_NEIGH_STALE && victim->state == NET_NEIGH_REACHABLE) ||
		    (e->state == victim->state && e->updated < victim->updated))
			victim = e;
	}
	if (victim == NULL)
		return NULL;
	if (victim->state == NET_NEIGH_FREE)
		c->used++;
	memset(victim, 0, sizeof(*victim));
	victim->ip = ip;
	return victim;
}

static inline uint64_t elapsed(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static void solicit(struct net_arp_cache *c, struct net_arp_entry *e, uint64_t now)
{
	e->probed = now;
	if (e->probes < UINT8_MAX)
		e->probes++;
	c->stats->arp_requests_out++;
	c->ops.solicit(c->ops.ctx, e->ip);
}

/* Hand every waiting packet to send, oldest first. Popped before the call. */
static void send_queue(struct net_arp_cache *c, struct net_arp_entry *e)
{
	while (e->qlen > 0) {
		void *pkt = e->q[e->qhead];

		e->q[e->qhead] = NULL;
		e->qhead = (e->qhead + 1) & (NET_ARP_QMAX - 1);
		e->qlen--;
		c->ops.send(c->ops.ctx, pkt, &e->mac);
	}
	e->qhead = 0;
}

/* Free the entry; its waiting packets go to free (counted as reason when not NONE). */
static void release(struct net_arp_cache *c, struct net_arp_entry *e, enum net_drop reason)
{
	while (e->qlen > 0) {
		void *pkt = e->q[e->qhead];

		e->qhead = (e->qhead + 1) & (NET_ARP_QMAX - 1);
		e->qlen--;
		if (reason != NET_DROP_NONE)
			net_stats_drop(c->stats, reason);
		c->ops.free(c->ops.ctx, pkt);
	}
	memset(e, 0, sizeof(*e));
	c->used--;
}

_Static_assert((NET_ARP_QMAX & (NET_ARP_QMAX - 1)) == 0, "NET_ARP_QMAX must be a power of two");

enum net_arp_res net_arp_resolve(struct net_arp_cache *c, uint32_t ip, void *pkt,
				 struct net_mac *mac, uint64_t now)
{
	struct net_arp_entry *e = find(c, ip);

	if (__builtin_expect(e != NULL && e->state == NET_NEIGH_REACHABLE, 1)) {
		*mac = e->mac;
		return NET_ARP_HIT;
	}
	if (e != NULL && e->state == NET_NEIGH_STALE) {
		if (e->probes == 0 || elapsed(now, e->probed) >= c->cfg.retrans_ms)
			solicit(c, e, now);
		*mac = e->mac;
		return NET_ARP_HIT;
	}
	if (e == NULL) {
		e = slot_for(c, ip);
		if (e == NULL) {
			if (pkt != NULL)
				net_stats_drop(c->stats, NET_DROP_ARP_TABLE_FULL);
			return NET_ARP_REFUSED;
		}
		e->state = NET_NEIGH_INCOMPLETE;
		e->updated = now;
		solicit(c, e, now);
	}
	if (pkt == NULL)
		return NET_ARP_QUEUED;
	if (e->qlen >= c->cfg.queue_max) {
		net_stats_drop(c->stats, NET_DROP_ARP_QUEUE_FULL);
		return NET_ARP_REFUSED;
	}
	e->q[(e->qhead + e->qlen) & (NET_ARP_QMAX - 1)] = pkt;
	e->qlen++;
	return NET_ARP_QUEUED;
}

void net_arp_learn(struct net_arp_cache *c, uint32_t ip, const struct net_mac *mac,
		   bool is_reply, bool create, uint64_t now)
{
	struct net_arp_entry *e = find(c, ip);

	if (e == NULL) {
		if (!create || (e = slot_for(c, ip)) == NULL)
			return;
		e->state = NET_NEIGH_STALE;
		e->mac = *mac;
		e->updated = now;
		return;
	}
	if (e->state == NET_NEIGH_INCOMPLETE) {
		e->mac = *mac;
		e->state = is_reply ? NET_NEIGH_REACHABLE : NET_NEIGH_STALE;
		e->updated = now;
		e->probes = 0;
		send_queue(c, e);
		return;
	}
	if (is_reply) {
		e->mac = *mac;
		e->state = NET_NEIGH_REACHABLE;
		e->updated = now;
		e->probes = 0;
	} else if (!net_mac_equal(&e->mac, mac)) {
		/* moved (failover, gratuitous ARP): use the new MAC, but verify it */
		e->mac = *mac;
		e->state = NET_NEIGH_STALE;
		e->updated = now;
		e->probes = 0;
	}
}

void net_arp_confirm(struct net_arp_cache *c, uint32_t ip, uint64_t now)
{
	struct net_arp_entry *e = find(c, ip);

	if (e != NULL && e->state != NET_NEIGH_INCOMPLETE) {
		e->state = NET_NEIGH_REACHABLE;
		e->updated = now;
		e->probes = 0;
	}
}

void net_arp_tick(struct net_arp_cache *c, uint64_t now)
{
	uint32_t n = (c->set_mask + 1) * NET_ARP_WAYS;
	const struct net_arp_cfg *cfg = &c->cfg;

	for (uint32_t i = 0; i < n && c->used > 0; i++) {
		struct net_arp_entry *e = &c->tab[i];

		switch (e->state) {
		case NET_NEIGH_INCOMPLETE:
			if (elapsed(now, e->probed) < cfg->retrans_ms)
				break;
			if (e->probes >= cfg->max_probes)
				release(c, e, NET_DROP_ARP_TIMEOUT);
			else
				solicit(c, e, now);
			break;
		case NET_NEIGH_REACHABLE:
			if (elapsed(now, e->updated) >= cfg->reachable_ms) {
				e->state = NET_NEIGH_STALE;
				e->probes = 0;
			}
			break;
		case NET_NEIGH_STALE:
			if (elapsed(now, e->updated) >= (uint64_t)cfg->reachable_ms + cfg->stale_ms)
				release(c, e, NET_DROP_NONE);
			break;
		default:
			break;
		}
	}
}

void net_arp_flush(struct net_arp_cache *c)
{
	uint32_t n = (c->set_mask + 1) * NET_ARP_WAYS;

	for (uint32_t i = 0; i < n; i++)
		if (c->tab[i].state != NET_NEIGH_FREE)
			release(c, &c->tab[i], NET_DROP_NONE);
}
