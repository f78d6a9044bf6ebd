/* net_icmp.c - ICMP echo request check and echo reply. */
#include <string.h>

#include "net/net_csum.h"
#include "net/net_icmp.h"

enum net_drop net_icmp_check_echo(const uint8_t *msg, size_t len)
{
	if (len < NET_ICMP_HLEN)
		return NET_DROP_ICMP_SHORT;
	if (net_csum(msg, len) != 0)
		return NET_DROP_ICMP_CSUM;
	if (msg[0] != NET_ICMP_ECHO_REQUEST || msg[1] != 0)
		return NET_DROP_ICMP_TYPE;
	return NET_DROP_NONE;
}

void net_icmp_echo_reply(uint8_t *out, const uint8_t *msg, size_t len)
{
	uint16_t old_w, new_w, csum;

	memmove(out, msg, len);
	memcpy(&old_w, out, 2);          /* type, code */
	out[0] = NET_ICMP_ECHO_REPLY;
	out[1] = 0;
	memcpy(&new_w, out, 2);
	memcpy(&csum, out + 2, 2);
	csum = net_csum_update16(csum, old_w, new_w);
	memcpy(out + 2, &csum, 2);
}
