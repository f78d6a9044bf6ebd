/* pol_snapshot.h - building a list snapshot entry by entry, for stores that
 * do not keep struct cfg_list_entry arrays (the runtime lists, the Redis
 * mirror). pol.h has the snapshot itself and its lookups. */
#ifndef POL_SNAPSHOT_H
#define POL_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/pol.h"

struct pol_snapshot_builder;

/* NULL on no memory. */
struct pol_snapshot_builder *pol_snapshot_builder_new(void);

/*
 * Add one entry. Of duplicates (same list, kind and value) the first added
 * stays, with its reason. reason may be NULL or "" for none; the builder
 * copies it, once per distinct pointer when the caller interns its reasons
 * (a feed of a million entries with one reason keeps one copy). Host bits of
 * an IP prefix below its length are ignored. Names are normalised as
 * queries arrive: lowercased, a sender or recipient without its <>.
 * A failed add (no memory) makes finish() fail; adds after it do nothing.
 */
void pol_snapshot_builder_add_ip(struct pol_snapshot_builder *b, bool allow,
				 const struct sl_prefix *p, const char *reason);
void pol_snapshot_builder_add_name(struct pol_snapshot_builder *b, enum cfg_list_kind kind,
				   bool allow, const char *name, const char *reason);
/* Add entries of the config's form (what pol_snapshot_build() does). */
void pol_snapshot_builder_add_cfg(struct pol_snapshot_builder *b, const struct cfg_list_entry *e,
				  unsigned n);

/* The snapshot, or NULL on no memory. Frees b either way. */
struct pol_snapshot *pol_snapshot_builder_finish(struct pol_snapshot_builder *b);
/* Give up: frees b. */
void pol_snapshot_builder_abort(struct pol_snapshot_builder *b);

/*
 * pol_snapshot_lookup_ip - the longest prefix of the block (allow false) or
 * allow list that holds a, without a verdict: its length in *len and its
 * reason ("" for none) in *reason. true on a match. a as it is (no IPv4
 * mapping); worker side, no allocation. pol_lists_check is this plus the
 * allow-over-block rule and the reply text.
 */
bool pol_snapshot_lookup_ip(const struct pol_snapshot *s, bool allow, const struct sl_addr *a,
			    unsigned *len, const char **reason);

/* Bytes the snapshot holds (arrays, indexes, strings), for the metrics and
 * the benchmark. */
size_t pol_snapshot_bytes(const struct pol_snapshot *s);

#endif
