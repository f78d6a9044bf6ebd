/* sl_addr.h - IPv4/IPv6 addresses and prefixes, independent of sockets. */
#ifndef SL_ADDR_H
#define SL_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_AF_INET  4
#define SL_AF_INET6 6

/* An address as both transports and the policy code see it: no sockaddr, so
 * the DPDK stack and the tests can build one without the kernel. */
struct sl_addr {
	uint8_t  family;   /**< SL_AF_INET or SL_AF_INET6; 0 = unset */
	uint8_t  pad;
	uint16_t port;     /**< host byte order, 0 when not known */
	uint8_t  ip[16];   /**< network byte order; IPv4 in ip[0..3] */
};

struct sl_prefix {
	struct sl_addr addr; /**< host bits are zero */
	uint8_t len;         /**< 0..32 or 0..128 */
};

/* Longest text of an address with port: "[" v6 "]:" 65535 NUL */
#define SL_ADDR_STRLEN 56

/*
 * sl_addr_parse - parse "1.2.3.4", "1.2.3.4:25", "::1", "[::1]:25".
 * With need_port a port is required; without it a port is accepted if
 * present. Returns 0, or -1 on bad syntax.
 */
int sl_addr_parse(const char *s, struct sl_addr *a, bool need_port);

/* sl_addr_format - "1.2.3.4" or "::1" (with_port: "1.2.3.4:25", "[::1]:25"). */
const char *sl_addr_format(const struct sl_addr *a, char *buf, size_t len, bool with_port);

/* sl_prefix_parse - "198.18.0.0/15", "2001:2::/48", or a bare address
 * (full length). Host bits set below the length are an error. */
int sl_prefix_parse(const char *s, struct sl_prefix *p);
const char *sl_prefix_format(const struct sl_prefix *p, char *buf, size_t len);

bool sl_prefix_match(const struct sl_prefix *p, const struct sl_addr *a);
bool sl_addr_equal(const struct sl_addr *a, const struct sl_addr *b); /* ignores port */

/* sl_addr_mask - a copy of a with only its first len bits kept (port kept). */
struct sl_addr sl_addr_mask(const struct sl_addr *a, unsigned len);

/* Conversion to and from the kernel's socket addresses (kernel transport, tests). */
struct sockaddr;
struct sockaddr_storage;
int sl_addr_to_sockaddr(const struct sl_addr *a, struct sockaddr_storage *ss, unsigned *sslen);
int sl_addr_from_sockaddr(struct sl_addr *a, const struct sockaddr *sa);

#endif
