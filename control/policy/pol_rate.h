/* pol_rate.h - GCRA rate arithmetic on integer nanoseconds, pure (no state, no clock). */
#ifndef POL_RATE_H
#define POL_RATE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * GCRA (the generic cell rate algorithm, as in ATM policing): a rule of
 * `count` events per `period` with `burst` events at once keeps one number
 * per key, the theoretical arrival time (TAT). With the emission interval
 * T = period / count and the tolerance tau = T * burst, a request of `cost`
 * events at `now` conforms when
 *
 *     max(TAT, now) + T * cost - now <= tau
 *
 * and then TAT becomes max(TAT, now) + T * cost. An empty key (TAT <= now)
 * thus admits exactly `burst` unit requests at one instant, one more every
 * T, and `burst` again after burst * T of silence. A request whose cost
 * exceeds the burst never conforms: it cannot fit in the bucket.
 *
 * Units: nanoseconds, so that T stays exact for every sane rate (byte rates
 * of GB/s included); T * cost and tau are computed with 128-bit products
 * from period and count, never from a rounded T, and round down (within
 * 1 ns per request). No floats: a decision must be the same everywhere (the
 * Redis script does the same integer arithmetic).
 *
 * Time going backwards (another node's clock, a stepped clock) only makes
 * `now` smaller: max(TAT, now) keeps TAT, the request costs more, never
 * less. No subtraction can wrap.
 */

#define POL_NS_PER_MS 1000000ull

struct pol_gcra {
	uint64_t period_ns;
	uint64_t count;      /**< events per period, >= 1 */
	uint64_t burst;      /**< events at once, >= 1 */
	uint64_t tau_ns;     /**< T * burst */
};

/* pol_gcra_init - 0, or -1 when count or period is 0 (no rate to enforce).
 * burst 0 means the default: count. */
int pol_gcra_init(struct pol_gcra *g, uint64_t count, uint64_t period_ms, uint64_t burst);

/* T * cost in ns, saturating. */
uint64_t pol_gcra_increment(const struct pol_gcra *g, uint64_t cost);

/*
 * pol_gcra_check - does a request of cost at now conform to a key whose TAT
 * is tat (0 for a key never seen)? On true, *new_tat is the TAT to store if
 * the request is committed; on false, *retry_ns (if not NULL) is how long
 * until the same request would conform (a hint for "try again in").
 */
bool pol_gcra_check(const struct pol_gcra *g, uint64_t tat, uint64_t now_ns, uint64_t cost,
		    uint64_t *new_tat, uint64_t *retry_ns);

/* A key whose TAT is in the past holds no state worth keeping. */
static inline bool pol_gcra_idle(uint64_t tat, uint64_t now_ns)
{
	return tat <= now_ns;
}

#endif
