/* net_icmp.h - ICMP echo (RFC 792): check a request, turn it into a reply. */
#ifndef NET_ICMP_H
#define NET_ICMP_H

#include <stddef.h>
#include <stdint.h>

#include "net/net_stats.h"

#define NET_ICMP_ECHO_REPLY   0
#define NET_ICMP_ECHO_REQUEST 8
#define NET_ICMP_HLEN         8

struct net_icmp_echo {
	uint8_t  type;
	uint8_t  code;
	uint16_t csum;
	uint16_t id;
	uint16_t seq;
} __attribute__((packed));

_Static_assert(sizeof(struct net_icmp_echo) == NET_ICMP_HLEN, "struct net_icmp_echo must be 8 bytes");

/*
 * net_icmp_check_echo - is msg[0..len) (the IP payload) an echo request with
 * a good checksum? NET_DROP_NONE, NET_DROP_ICMP_SHORT, NET_DROP_ICMP_CSUM or
 * NET_DROP_ICMP_TYPE (any other message: ignored, counted; errors such as
 * fragmentation-needed are for the TCP layer later).
 */
enum net_drop net_icmp_check_echo(const uint8_t *msg, size_t len);

/*
 * net_icmp_echo_reply - copy the (checked) request msg[0..len) to out as the
 * echo reply: type 0, same identifier, sequence and data (RFC 792). The
 * checksum is patched (RFC 1624) rather than recomputed: only the type word
 * changes, so a long ping costs one copy, not a copy and a sum.
 */
void net_icmp_echo_reply(uint8_t *out, const uint8_t *msg, size_t len);

#endif
