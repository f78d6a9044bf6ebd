/* net_csum.c - the Internet checksum over a buffer (RFC 1071). */
#include <string.h>

#include "net/net_csum.h"

uint32_t net_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t acc = sum;

	/*
	 * 32-bit loads into a 64-bit accumulator: carries pile up in the high
	 * half and are folded once at the end instead of per word (RFC 1071
	 * "deferred carries"); 2^32 loads before it could overflow. memcpy keeps
	 * unaligned headers (IP after a 14-byte Ethernet header) legal and
	 * compiles to plain loads. Unrolled by four for the payload sizes of TCP.
	 */
	while (len >= 16) {
		uint32_t w[4];

		memcpy(w, p, 16);
		acc += (uint64_t)w[0] + w[1] + w[2] + w[3];
		p += 16;
		len -= 16;
	}
	while (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		acc += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		acc += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* the odd last byte is the high-order byte of a zero-padded word */
		uint8_t last[2] = { p[0], 0 };
		uint16_t w;

		memcpy(&w, last, 2);
		acc += w;
	}
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	return net_csum_fold((uint32_t)acc);
}
