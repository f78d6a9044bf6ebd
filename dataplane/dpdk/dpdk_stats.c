/* dpdk_stats.c - tear-free copies of the workers' counters for the control thread. */
#include <string.h>

#include "dpdk/dpdk-t.h"
#include "dpdk/dpdk_stats.h"
#include "util/sl_status.h"

/*
 * Relaxed loads of whole aligned words: enough for counters (each value is
 * one the lcore wrote, never a torn mix), and no fence on the lcore's side.
 */
static void copy_words(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

int dpdk_stats_read(const struct dpdk_dp *dp, unsigned w, struct dpdk_stats *out)
{
	if (dp == NULL || w >= dp->nworkers || dp->lcores[w] == NULL)
		return SL_ERROR;
	copy_words((uint64_t *)out, (const uint64_t *)&dp->lcores[w]->st,
		   sizeof(*out) / sizeof(uint64_t));
	return SL_OK;
}

void dpdk_stats_total(const struct dpdk_dp *dp, struct dpdk_stats *out)
{
	struct dpdk_stats one;
	uint64_t *o = (uint64_t *)out;
	const uint64_t *s = (const uint64_t *)&one;
	uint64_t lcore_id = 0, tsc_hz = 0;

	memset(out, 0, sizeof(*out));
	for (unsigned w = 0; dp != NULL && w < dp->nworkers; w++) {
		if (dpdk_stats_read(dp, w, &one) != SL_OK)
			continue;
		for (size_t i = 0; i < sizeof(one) / sizeof(uint64_t); i++)
			o[i] += s[i];
		if (w == 0) {
			lcore_id = one.lcore_id;
			tsc_hz = one.tsc_hz;
		}
	}
	/* not counters: summing them means nothing */
	out->lcore_id = lcore_id;
	out->tsc_hz = tsc_hz;
}
