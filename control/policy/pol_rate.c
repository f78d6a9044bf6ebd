/* pol_rate.c - GCRA arithmetic (see pol_rate.h): integer ns, 128-bit products, saturating. */
#include <stddef.h>

#include "policy/pol_rate.h"

/* Far enough from UINT64_MAX that TAT + tau never wraps. */
#define POL_NS_SAT (UINT64_MAX / 4)

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > POL_NS_SAT || b > POL_NS_SAT - a ? POL_NS_SAT : a + b;
}

static uint64_t mul_div(uint64_t a, uint64_t b, uint64_t d)
{
	unsigned __int128 r = (unsigned __int128)a * b / d;

	return r > POL_NS_SAT ? POL_NS_SAT : (uint64_t)r;
}

int pol_gcra_init(struct pol_gcra *g, uint64_t count, uint64_t period_ms, uint64_t burst)
{
	unsigned __int128 p = (unsigned __int128)period_ms * POL_NS_PER_MS;

	if (count == 0 || period_ms == 0)
		return -1;
	g->period_ns = p > POL_NS_SAT ? POL_NS_SAT : (uint64_t)p;
	g->count = count;
	g->burst = burst ? burst : count;
	g->tau_ns = mul_div(g->period_ns, g->burst, g->count);
	return 0;
}

uint64_t pol_gcra_increment(const struct pol_gcra *g, uint64_t cost)
{
	return mul_div(g->period_ns, cost, g->count);
}

bool pol_gcra_check(const struct pol_gcra *g, uint64_t tat, uint64_t now_ns, uint64_t cost,
		    uint64_t *new_tat, uint64_t *retry_ns)
{
	uint64_t base = tat > now_ns ? tat : now_ns;
	uint64_t next = sat_add(base, pol_gcra_increment(g, cost));
	uint64_t limit = sat_add(now_ns, g->tau_ns);

	if (next <= limit) {
		*new_tat = next;
		return true;
	}
	/* conforms once now + tau reaches next: at next - tau */
	if (retry_ns != NULL)
		*retry_ns = next - limit;
	return false;
}
