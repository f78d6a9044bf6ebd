/* sl_addr.c - parse, format and match IPv4/IPv6 addresses and prefixes. */
#include "sl_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int sl_addr_parse(const char *s, struct sl_addr *a, bool need_port)
{
	char host[64];
	const char *port = NULL;
	size_t n;

	memset(a, 0, sizeof(*a));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || (size_t)(close - s - 1) >= sizeof(host))
			return -1;
		n = (size_t)(close - s - 1);
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return -1;
		if (inet_pton(AF_INET6, host, a->ip) != 1)
			return -1;
		a->family = SL_AF_INET6;
	} else {
		const char *colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			/* bare IPv6, no port possible */
			if (strlen(s) >= sizeof(host) || inet_pton(AF_INET6, s, a->ip) != 1)
				return -1;
			a->family = SL_AF_INET6;
		} else {
			n = colon ? (size_t)(colon - s) : strlen(s);
			if (n >= sizeof(host))
				return -1;
			memcpy(host, s, n);
			host[n] = '\0';
			if (colon)
				port = colon + 1;
			if (inet_pton(AF_INET, host, a->ip) != 1)
				return -1;
			a->family = SL_AF_INET;
		}
	}
	if (port != NULL) {
		if (parse_port(port, &a->port) < 0)
			return -1;
	} else if (need_port) {
		return -1;
	}
	return 0;
}

const char *sl_addr_format(const struct sl_addr *a, char *buf, size_t len, bool with_port)
{
	char host[INET6_ADDRSTRLEN];

	if (a->family == SL_AF_INET)
		inet_ntop(AF_INET, a->ip, host, sizeof(host));
	else if (a->family == SL_AF_INET6)
		inet_ntop(AF_INET6, a->ip, host, sizeof(host));
	else
		snprintf(host, sizeof(host), "unknown");
	if (!with_port)
		snprintf(buf, len, "%s", host);
	else if (a->family == SL_AF_INET6)
		snprintf(buf, len, "[%s]:%u", host, a->port);
	else
		snprintf(buf, len, "%s:%u", host, a->port);
	return buf;
}

static unsigned addr_bits(const struct sl_addr *a)
{
	return a->family == SL_AF_INET ? 32 : 128;
}

struct sl_addr sl_addr_mask(const struct sl_addr *a, unsigned len)
{
	struct sl_addr m = *a;
	unsigned bits = addr_bits(a), i;

	if (len > bits)
		len = bits;
	for (i = 0; i < bits / 8; i++) {
		if (i * 8 + 8 <= len)
			continue;
		if (i * 8 >= len)
			m.ip[i] = 0;
		else
			m.ip[i] &= (uint8_t)(0xff00u >> (len - i * 8));
	}
	return m;
}

int sl_prefix_parse(const char *s, struct sl_prefix *p)
{
	char host[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	struct sl_addr masked;

	memset(p, 0, sizeof(*p));
	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (strchr(host, ':') != NULL) {
		if (inet_pton(AF_INET6, host, p->addr.ip) != 1)
			return -1;
		p->addr.family = SL_AF_INET6;
	} else {
		if (inet_pton(AF_INET, host, p->addr.ip) != 1)
			return -1;
		p->addr.family = SL_AF_INET;
	}
	p->len = (uint8_t)addr_bits(&p->addr);
	if (slash) {
		char *end;
		unsigned long v;
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		v = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || v > addr_bits(&p->addr))
			return -1;
		p->len = (uint8_t)v;
	}
	masked = sl_addr_mask(&p->addr, p->len);
	if (memcmp(masked.ip, p->addr.ip, sizeof(masked.ip)) != 0)
		return -1; /* host bits set: almost always a typo */
	return 0;
}

const char *sl_prefix_format(const struct sl_prefix *p, char *buf, size_t len)
{
	char host[SL_ADDR_STRLEN];

	sl_addr_format(&p->addr, host, sizeof(host), false);
	snprintf(buf, len, "%s/%u", host, p->len);
	return buf;
}

bool sl_prefix_match(const struct sl_prefix *p, const struct sl_addr *a)
{
	struct sl_addr m;

	if (p->addr.family != a->family)
		return false;
	m = sl_addr_mask(a, p->len);
	return memcmp(m.ip, p->addr.ip, sizeof(m.ip)) == 0;
}

bool sl_addr_equal(const struct sl_addr *a, const struct sl_addr *b)
{
	return a->family == b->family && memcmp(a->ip, b->ip, sizeof(a->ip)) == 0;
}

int sl_addr_to_sockaddr(const struct sl_addr *a, struct sockaddr_storage *ss, unsigned *sslen)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == SL_AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(a->port);
		memcpy(&sin->sin_addr, a->ip, 4);
		*sslen = sizeof(*sin);
		return 0;
	}
	if (a->family == SL_AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(a->port);
		memcpy(&sin6->sin6_addr, a->ip, 16);
		*sslen = sizeof(*sin6);
		return 0;
	}
	return -1;
}

int sl_addr_from_sockaddr(struct sl_addr *a, const struct sockaddr *sa)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		a->family = SL_AF_INET;
		a->port = ntohs(sin->sin_port);
		memcpy(a->ip, &sin->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		/* v4-mapped addresses are IPv4 clients: police them as such */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			a->family = SL_AF_INET;
			memcpy(a->ip, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			a->family = SL_AF_INET6;
			memcpy(a->ip, &sin6->sin6_addr, 16);
		}
		a->port = ntohs(sin6->sin6_port);
		return 0;
	}
	return -1;
}
