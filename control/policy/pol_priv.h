/* pol_priv.h - helpers shared by the policy files (not for other modules). */
#ifndef POL_PRIV_H
#define POL_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "policy/pol.h"
#include "util/sl_hash.h"

/* ASCII only: names in SMTP are compared without the locale. */
static inline char pol_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* FNV-1a over the lowercased bytes, then a final mix so that the low bits
 * (the ones an open-addressing table uses) depend on every input byte. */
static inline uint64_t pol_hash_ci(uint64_t h, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (uint8_t)pol_lower(s[i]);
		h *= 0x100000001b3ull;
	}
	return h;
}

/* An IPv4-mapped IPv6 client (::ffff:a.b.c.d, from a dual-stack socket) is
 * the IPv4 client for lists and limits: otherwise "ip 1.2.3.4" would miss. */
struct sl_addr pol_addr_canon(const struct sl_addr *a);

/* Fill a non-accept verdict; the text is formatted and truncated to fit. */
void pol_verdict_set(struct pol_verdict *v, enum pol_action action, uint16_t code,
		     const char *status, const char *rule);
void pol_verdict_text(struct pol_verdict *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pol_copy(char *dst, size_t len, const char *src);

#endif
