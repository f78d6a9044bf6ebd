/* net_csum.h - the Internet checksum (RFC 1071), incremental updates (RFC 1624), IPv4 pseudo-header. */
#ifndef NET_CSUM_H
#define NET_CSUM_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Byte order: every value here is a one's complement sum of 16-bit words
 * loaded in host order, and every checksum returned is ready to be stored
 * with memcpy (or compared with the raw header field) without a byte swap.
 * RFC 1071 (section 2.B) shows the sum is independent of byte order, so we
 * never swap per word (speed); only the small constants of the pseudo-header
 * are converted once.
 */

/*
 * net_csum_add - add len bytes at buf to a running sum and return it folded
 * to 16 bits. Call it in pieces only at even offsets: an odd length is only
 * right for the last piece (its final byte is padded with zero, RFC 1071).
 */
uint32_t net_csum_add(uint32_t sum, const void *buf, size_t len);

/* Fold a 32-bit sum to 16 bits with end-around carry. */
static inline uint16_t net_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The checksum field for data whose sum is sum: complement of the fold. */
static inline uint16_t net_csum_finish(uint32_t sum)
{
	return (uint16_t)~net_csum_fold(sum);
}

/* net_csum - the checksum of one buffer; 0 when the buffer holds a correct one. */
static inline uint16_t net_csum(const void *buf, size_t len)
{
	return net_csum_finish(net_csum_add(0, buf, len));
}

/*
 * net_csum_pseudo4 - sum of the IPv4 pseudo-header of TCP/UDP (RFC 793 3.1,
 * RFC 9293 3.1): src and dst in network order as they sit in the IP header,
 * proto, and the L4 length (header + data) in host order. The folded,
 * uncomplemented value is what a NIC with TX L4 offload wants pre-filled in
 * the checksum field (DPDK's rte_ipv4_phdr_cksum contract).
 */
static inline uint32_t net_csum_pseudo4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t l4_len)
{
	uint64_t s = (uint64_t)src + dst;

	/* [0, proto] and the length are big-endian words: swap these two constants, never the data */
	s += (uint32_t)htobe16(proto) + htobe16(l4_len);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return net_csum_fold((uint32_t)s);
}

/*
 * net_csum_update16 - RFC 1624 equation 3: the checksum after one 16-bit
 * word of the covered data changes from old_w to new_w, HC' = ~(~HC + ~m + m'),
 * without summing the data again (values as stored in memory).
 */
static inline uint16_t net_csum_update16(uint16_t csum, uint16_t old_w, uint16_t new_w)
{
	uint32_t s = (uint32_t)(uint16_t)~csum + (uint16_t)~old_w + new_w;

	return (uint16_t)~net_csum_fold(s);
}

/* Same for a 32-bit field (an address): two words at once. */
static inline uint16_t net_csum_update32(uint16_t csum, uint32_t old_v, uint32_t new_v)
{
	uint64_t s = (uint64_t)(uint16_t)~csum + (uint32_t)~old_v + new_v;

	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return (uint16_t)~net_csum_fold((uint32_t)s);
}

#endif
