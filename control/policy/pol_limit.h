/* pol_limit.h - limit rules as every store applies them: stage, key value, cost, replies. */
#ifndef POL_LIMIT_H
#define POL_LIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/pol.h"
#include "policy/pol_rate.h"

/* Longest key value: a path, or "[v6]/128" */
#define POL_KEY_MAX (SL_PATH_MAX + 8)

struct pol_limit {
	struct cfg_limit cfg;  /**< copy: the reply text and code come from here */
	uint32_t uid;          /**< names its counters; kept across apply() when unchanged */
	bool     active;       /**< false: nothing to enforce (count or period 0) */
	uint8_t  stage;        /**< enum pol_stage where it is decided */
	uint8_t  net4, net6;   /**< CFG_KEY_NET prefix lengths, defaults filled */
	struct pol_gcra gcra;  /**< rate kinds */
	char     name[48];     /**< "limit msg_rate ip" */
};

void pol_limit_compile(struct pol_limit *r, const struct cfg_limit *c);

/* Same counters: kind, key, count, period, burst and net prefixes. A change
 * of reply text or fail mode keeps the counters. */
bool pol_limit_same_counter(const struct pol_limit *a, const struct pol_limit *b);

/*
 * pol_limit_key - the key value of q for rule r, lowercased, into buf.
 * Returns its length (0 is valid: the null sender), or -1 when the rule
 * does not apply to q (not its stage, or no such value, e.g. the domain of
 * the null sender).
 */
int pol_limit_key(const struct pol_limit *r, const struct pol_query *q, char *buf, size_t len);

/* Events q costs under r: message bytes for byte_rate, else 1. */
uint64_t pol_limit_cost(const struct pol_limit *r, const struct pol_query *q);

/* The verdict when r is over. */
void pol_limit_over(const struct pol_limit *r, struct pol_verdict *v);

/* The verdict when the store cannot be asked: accept (fail open) or 451
 * 4.7.0 (fail closed). Never 5xx: an internal failure is not policy. */
void pol_limit_unreachable(const struct pol_limit *r, struct pol_verdict *v);

#endif
