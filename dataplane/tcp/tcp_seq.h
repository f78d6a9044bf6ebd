/* tcp_seq.h - 32-bit sequence space arithmetic with wraparound (RFC 9293 section 3.4). */
#ifndef TCP_SEQ_H
#define TCP_SEQ_H

#include <stdint.h>

/*
 * Sequence numbers live modulo 2^32; a is "before" b when the signed
 * distance b - a is positive. This is valid while the two are less than
 * 2^31 apart, which windows (at most 2^30 with scaling, RFC 7323 2.3) ensure.
 */
#define SEQ_DIFF(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)))
#define SEQ_LT(a, b)   (SEQ_DIFF(a, b) < 0)
#define SEQ_LEQ(a, b)  (SEQ_DIFF(a, b) <= 0)
#define SEQ_GT(a, b)   (SEQ_DIFF(a, b) > 0)
#define SEQ_GEQ(a, b)  (SEQ_DIFF(a, b) >= 0)
#define SEQ_MAX(a, b)  (SEQ_GT(a, b) ? (a) : (b))
#define SEQ_MIN(a, b)  (SEQ_LT(a, b) ? (a) : (b))

/* lo <= x < hi in sequence space (hi exclusive). */
static inline int tcp_seq_in(uint32_t x, uint32_t lo, uint32_t hi)
{
	return SEQ_GEQ(x, lo) && SEQ_LT(x, hi);
}

#endif
