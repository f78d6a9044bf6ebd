/* sl_hash.h - FNV-1a over bytes and a 64-bit finalizer, for the in-memory tables of the policy, the runtime lists and the Redis store. */
#ifndef SL_HASH_H
#define SL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SL_HASH_SEED 0xcbf29ce484222325ull   /**< FNV-1a's offset basis */

/* FNV-1a: h folded with n bytes at p. Chain calls to hash several fields. */
static inline uint64_t sl_hash_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The murmur3 finalizer: every output bit depends on every input bit, so
 * the low bits an open-addressing or masked table uses are well spread
 * (FNV's alone are not). */
static inline uint64_t sl_hash_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb3fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

#endif
