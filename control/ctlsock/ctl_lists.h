/* ctl_lists.h - block/allow entries added at run time through the control
 * socket, kept on the control thread beside the config's, with TTLs. */
#ifndef CTL_LISTS_H
#define CTL_LISTS_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "policy/pol.h"

#define CTL_LISTS_MAX 65536   /**< runtime entries at most (each ~0.4 KiB) */

struct ctl_list_entry {
	struct cfg_list_entry e;   /**< value normalised as the config parser does */
	uint64_t expires_ms;       /**< monotonic; 0 = no TTL */
};

struct ctl_lists {
	struct ctl_list_entry *ent;
	unsigned n, cap;
};

/*
 * ctl_lists_parse_value - check and normalise VALUE for KIND the way the
 * config parser does (ip: a CIDR or an address; names lowercased; sender "<>"
 * the null sender; domain ".x" for subdomains). Fills e->kind, e->value,
 * e->prefix. Returns SL_OK or SL_DECLINED with err.
 */
int ctl_lists_parse_value(enum cfg_list_kind kind, const char *value, struct cfg_list_entry *e,
			  char *err, size_t errlen);
/* "ip" -> CFG_LIST_IP...; -1 when unknown. */
int ctl_lists_kind(const char *word);

/* Add or update (same list, kind and value: new TTL and reason). Returns
 * SL_OK (added), SL_DONE (updated) or SL_ERROR (full / no memory). */
int ctl_lists_add(struct ctl_lists *l, const struct cfg_list_entry *e, uint64_t expires_ms);
/* Remove; SL_OK, or SL_DECLINED when there is no such runtime entry. */
int ctl_lists_del(struct ctl_lists *l, const struct cfg_list_entry *e);
/* Drop entries expired at now_ms; returns how many. */
unsigned ctl_lists_expire(struct ctl_lists *l, uint64_t now_ms);
/* Same list, kind and value (ip: same prefix). */
bool ctl_lists_same(const struct cfg_list_entry *a, const struct cfg_list_entry *b);
unsigned ctl_lists_count(const struct ctl_lists *l, enum cfg_list_kind kind, bool allow);

/* The workers' snapshot: the config's entries followed by the runtime ones.
 * NULL on no memory. */
struct pol_snapshot *ctl_lists_build(const struct ctl_lists *l, const struct cfg *c);
void ctl_lists_free(struct ctl_lists *l);

#endif
