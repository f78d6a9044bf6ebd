/* tcp_siphash.h - SipHash-2-4, the keyed hash behind our RFC 6528 ISNs and timestamp offsets. */
#ifndef TCP_SIPHASH_H
#define TCP_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 (Aumasson & Bernstein) of len bytes under a 128-bit key. */
uint64_t tcp_siphash24(const uint64_t key[2], const void *data, size_t len);

#endif
