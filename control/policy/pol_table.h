/* pol_table.h - fixed-capacity open-addressing table of limit buckets, keyed by (rule uid, key fingerprint). */
#ifndef POL_TABLE_H
#define POL_TABLE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A bucket is identified by the uid of its rule and a 64-bit fingerprint of
 * its key value; the key itself is not stored, so a bucket is 24 bytes
 * whatever the key (a 256-byte address included) and 1M buckets fit in
 * 48 MB of slots. Two keys of one rule share a bucket only if their
 * fingerprints collide: for n keys that is about n^2 / 2^65 (3e-8 at 1M).
 *
 * Linear probing with backward-shift deletion: no tombstones, so a long
 * run of inserts and expiries never degrades lookups. The slot array is at
 * least twice the capacity, so a probe always ends at an empty slot.
 */

struct pol_bucket {
	uint64_t fp;   /**< never 0; 0 marks an empty slot */
	uint64_t val;  /**< rate: TAT in ns; concurrency: sessions open */
	uint32_t uid;  /**< rule */
	uint32_t pad;
};

/* May this bucket be dropped (dead rule, TAT passed, no sessions)? */
typedef bool (*pol_reclaim_fn)(const struct pol_bucket *b, void *arg);

struct pol_table {
	struct pol_bucket *slot;
	uint32_t mask;
	uint32_t capacity;  /**< most buckets held at once */
	uint32_t n;
	uint32_t cursor;    /**< where the incremental sweep goes on */
	pol_reclaim_fn reclaimable;
	void *arg;
	uint64_t reclaimed;
};

int pol_table_init(struct pol_table *t, uint32_t capacity, pol_reclaim_fn fn, void *arg);
void pol_table_fini(struct pol_table *t);

static inline uint64_t pol_table_fp(uint64_t h)
{
	return h ? h : 1;
}

struct pol_bucket *pol_table_find(struct pol_table *t, uint32_t uid, uint64_t fp);
/* Find or add (val 0). NULL when full and nothing nearby can be reclaimed. */
struct pol_bucket *pol_table_insert(struct pol_table *t, uint32_t uid, uint64_t fp);
void pol_table_delete(struct pol_table *t, struct pol_bucket *b);
/* Look at up to budget slots from the cursor, drop the reclaimable ones. */
unsigned pol_table_sweep(struct pol_table *t, unsigned budget);

#endif
