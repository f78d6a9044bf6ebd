/* ctl_limits.h - rate limits set at run time through the control socket,
 * laid over the configuration's: a set replaces the config rule it names
 * (same kind, key and period) or adds one; they survive reloads, not a
 * restart, like the runtime block/allow entries. */
#ifndef CTL_LIMITS_H
#define CTL_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"

#define CTL_LIMITS_MAX 256   /**< runtime rules at most */

struct ctl_limit_entry {
	struct cfg_limit lim;    /**< line 0 */
	uint32_t uid;            /**< who set it */
	int64_t  set_unix;       /**< when */
};

struct ctl_limits {
	struct ctl_limit_entry ent[CTL_LIMITS_MAX];
	unsigned n;
};

/* Add or replace (same rule). SL_OK (added), SL_DONE (replaced) or
 * SL_ERROR (CTL_LIMITS_MAX reached). */
int ctl_limits_set(struct ctl_limits *rl, const struct cfg_limit *lim, uint32_t uid, int64_t now_unix);
/* Remove the runtime rule at index i. */
void ctl_limits_remove(struct ctl_limits *rl, unsigned i);
/* The runtime rule that is the same rule as lim, or -1. */
int ctl_limits_find(const struct ctl_limits *rl, const struct cfg_limit *lim);

/*
 * ctl_limits_effective - the limits in force: c's own (file) rules, each
 * replaced by the runtime rule of the same identity if any, then the
 * runtime rules that replace none. Writes at most max into out; returns the
 * count. replaced[i] (may be NULL) gets the file line a runtime rule
 * replaces, 0 for none; runtime[i] whether out[i] is a runtime rule.
 */
unsigned ctl_limits_effective(const struct ctl_limits *rl, const struct cfg *file, struct cfg_limit *out,
			      bool *runtime, int *replaced, unsigned max);
/*
 * ctl_limits_overlay - the generation to run for file: file itself (a new
 * reference) without runtime rules, else cfg_with_limits(file, effective).
 * NULL on no memory.
 */
struct cfg *ctl_limits_overlay(const struct ctl_limits *rl, struct cfg *file);

#endif
