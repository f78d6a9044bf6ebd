/* net_eth.c - Ethernet II header parse and build. */
#include "net/net_eth.h"

const struct net_mac net_mac_bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

enum net_drop net_eth_parse(const uint8_t *frame, size_t len, struct net_eth_info *ei)
{
	uint16_t type;
	size_t hlen = NET_ETH_HLEN;

	if (__builtin_expect(len < NET_ETH_HLEN, 0))
		return NET_DROP_ETH_SHORT;
	ei->dst = (const struct net_mac *)frame;
	ei->src = (const struct net_mac *)(frame + NET_ETH_ALEN);
	ei->vlan = 0;
	type = rd16(frame + 12);
	/* one tag only: the port is on one VLAN at most, QinQ is not for an edge host */
	if (__builtin_expect(type == NET_ETHERTYPE_VLAN || type == NET_ETHERTYPE_QINQ, 0)) {
		if (len < NET_ETH_HLEN + NET_ETH_VLAN_HLEN)
			return NET_DROP_ETH_SHORT;
		ei->vlan = rd16(frame + 14) & 0x0fff;
		type = rd16(frame + 16);
		hlen += NET_ETH_VLAN_HLEN;
	}
	ei->type = type;
	ei->hlen = (uint16_t)hlen;
	if (__builtin_expect(net_mac_is_mcast(ei->src), 0))
		return NET_DROP_ETH_SRC;
	return NET_DROP_NONE;
}

size_t net_eth_build(uint8_t *buf, const struct net_mac *dst, const struct net_mac *src,
		     uint16_t type, uint16_t vlan)
{
	size_t off = 12;

	memcpy(buf, dst->b, NET_ETH_ALEN);
	memcpy(buf + NET_ETH_ALEN, src->b, NET_ETH_ALEN);
	if (vlan != 0) {
		buf[12] = NET_ETHERTYPE_VLAN >> 8;
		buf[13] = NET_ETHERTYPE_VLAN & 0xff;
		buf[14] = (uint8_t)((vlan >> 8) & 0x0f);   /* PCP 0, DEI 0 */
		buf[15] = (uint8_t)vlan;
		off = 16;
	}
	buf[off] = (uint8_t)(type >> 8);
	buf[off + 1] = (uint8_t)type;
	return off + 2;
}

size_t net_eth_pad(uint8_t *buf, size_t len)
{
	if (len >= NET_ETH_MIN_FRAME)
		return len;
	memset(buf + len, 0, NET_ETH_MIN_FRAME - len);
	return NET_ETH_MIN_FRAME;
}
