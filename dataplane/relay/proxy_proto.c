/* proxy_proto.c - PROXY protocol v1 (text) and v2 (binary) headers for the backend leg. */
#include "proxy_proto.h"

#include <stdio.h>
#include <string.h>

/* The v2 signature: "\r\n\r\n\0\r\nQUIT\n" (proxy-protocol.txt section 2.2). */
static const uint8_t proxy_v2_sig[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};

static bool same_known_family(const struct sl_addr *a, const struct sl_addr *b)
{
	return a->family == b->family && (a->family == SL_AF_INET || a->family == SL_AF_INET6);
}

size_t proxy_v1_build(char *buf, size_t len, const struct sl_addr *src, const struct sl_addr *dst)
{
	char s[SL_ADDR_STRLEN], d[SL_ADDR_STRLEN];
	int n;

	if (!same_known_family(src, dst)) {
		/* the receiver then uses the connection's own addresses */
		n = snprintf(buf, len, "PROXY UNKNOWN\r\n");
	} else {
		sl_addr_format(src, s, sizeof(s), false);
		sl_addr_format(dst, d, sizeof(d), false);
		n = snprintf(buf, len, "PROXY %s %s %s %u %u\r\n",
			     src->family == SL_AF_INET ? "TCP4" : "TCP6", s, d, src->port, dst->port);
	}
	if (n < 0 || (size_t)n >= len || n > PROXY_V1_MAX)
		return 0;
	return (size_t)n;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

size_t proxy_v2_build(uint8_t *buf, size_t len, const struct sl_addr *src, const struct sl_addr *dst)
{
	size_t alen, total;
	uint8_t fam;

	if (!same_known_family(src, dst)) {
		fam = 0x00;   /* AF_UNSPEC: no address block, the receiver uses the real ends */
		alen = 0;
	} else if (src->family == SL_AF_INET) {
		fam = 0x11;   /* AF_INET, STREAM */
		alen = 12;
	} else {
		fam = 0x21;   /* AF_INET6, STREAM */
		alen = 36;
	}
	total = 16 + alen;
	if (len < total)
		return 0;
	memcpy(buf, proxy_v2_sig, sizeof(proxy_v2_sig));
	buf[12] = 0x21;   /* version 2, command PROXY */
	buf[13] = fam;
	put16(buf + 14, (uint16_t)alen);
	if (alen == 12) {
		memcpy(buf + 16, src->ip, 4);
		memcpy(buf + 20, dst->ip, 4);
		put16(buf + 24, src->port);
		put16(buf + 26, dst->port);
	} else if (alen == 36) {
		memcpy(buf + 16, src->ip, 16);
		memcpy(buf + 32, dst->ip, 16);
		put16(buf + 48, src->port);
		put16(buf + 50, dst->port);
	}
	return total;
}

size_t proxy_v2_local(uint8_t *buf, size_t len)
{
	if (len < 16)
		return 0;
	memcpy(buf, proxy_v2_sig, sizeof(proxy_v2_sig));
	buf[12] = 0x20;   /* version 2, command LOCAL: the receiver uses the real ends */
	buf[13] = 0x00;   /* AF_UNSPEC */
	put16(buf + 14, 0);
	return 16;
}
