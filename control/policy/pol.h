/* pol.h - the policy interface: queries, verdicts, list snapshots, and the
 * store that decides rate limits (embedded now, Redis in issue 4). */
#ifndef POL_H
#define POL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "util/sl_addr.h"
#include "util/sl_status.h"

/*
 * Where a decision is taken. Lists are checked on the worker, at once,
 * against a snapshot; rate limits and concurrency are decided by the store
 * on the control thread and reach the worker as a verdict on its ring.
 */
enum pol_stage {
	POL_STAGE_CONNECT = 0, /* client address known */
	POL_STAGE_HELO,        /* + helo */
	POL_STAGE_MAIL,        /* + sender */
	POL_STAGE_RCPT,        /* + rcpt */
	POL_STAGE_DATA,        /* end of DATA: + size, nrcpt */
	POL_STAGE_END,         /* session over: release what CONNECT took */
	POL_STAGE_COUNT
};

struct pol_query {
	uint8_t        stage;          /**< enum pol_stage */
	uint8_t        skip_limits;    /**< allowlisted earlier in the session */
	uint16_t       worker;
	uint32_t       nrcpt;          /**< DATA: accepted recipients */
	uint64_t       size;           /**< DATA: message bytes */
	struct sl_addr client;
	char           helo[SL_HELO_MAX + 1];
	char           sender[SL_PATH_MAX + 1]; /**< mailbox without <>, "" = null sender */
	char           rcpt[SL_PATH_MAX + 1];   /**< mailbox without <> */
};

enum pol_action {
	POL_ACCEPT = 0,     /* go on */
	POL_REJECT,         /* 5xx for this command (session goes on) */
	POL_TEMPFAIL,       /* 4xx for this command (session goes on) */
	POL_DISCONNECT,     /* reply, then close (421, or 554 at connect) */
};

struct pol_verdict {
	uint8_t  action;             /**< enum pol_action */
	uint8_t  allowlisted;        /**< an allowlist matched: skip limits from now on */
	uint16_t code;               /**< 554, 550, 450, 451, 421 */
	char     status[8];          /**< "5.7.1" */
	char     text[CFG_TEXT_MAX]; /**< reply text without code */
	char     rule[48];           /**< what decided: "blocklist ip", "limit msg_rate ip" */
};

/* Fill v as an accept. */
void pol_verdict_accept(struct pol_verdict *v);

/* ---- lists: built from config (and later from the store), read lock-free */

struct pol_snapshot; /* opaque, immutable once built */

/* Build a snapshot of the config's blocklist/allowlist entries. NULL on no memory. */
struct pol_snapshot *pol_snapshot_build(const struct cfg_list_entry *e, unsigned n);
void pol_snapshot_free(struct pol_snapshot *s);
unsigned pol_snapshot_size(const struct pol_snapshot *s, enum cfg_list_kind kind);

/*
 * pol_lists_check - the list decision for q at q->stage.
 * CONNECT checks ip, HELO checks helo, MAIL checks sender and its domain,
 * RCPT checks rcpt. An allowlist entry beats a blocklist entry of the same
 * stage and marks v->allowlisted.
 * Returns SL_OK (no entry: go on to the limits), SL_DONE (allowlisted: accept,
 * skip limits) or SL_DECLINED (blocklisted: v holds 554 5.7.1 and the rule).
 */
int pol_lists_check(const struct pol_snapshot *s, const struct pol_query *q, struct pol_verdict *v);

/* ---- limits: the store, on the control thread */

struct pol_store;

/* Called with the verdict of a pol_store_decide(); may run inside decide()
 * (embedded store) or later from the control loop (Redis). */
typedef void (*pol_done_fn)(void *arg, uint64_t token, const struct pol_verdict *v);

struct pol_store_ops {
	const char *name;
	void (*decide)(struct pol_store *st, const struct pol_query *q, uint64_t now_ms,
		       uint64_t token, pol_done_fn done, void *arg);
	/* Limits changed (reload): keep counters of rules that stay. */
	int  (*apply)(struct pol_store *st, const struct cfg *c);
	/* Periodic housekeeping: expire idle buckets. */
	void (*tick)(struct pol_store *st, uint64_t now_ms);
	void (*destroy)(struct pol_store *st);
};

struct pol_store {
	const struct pol_store_ops *ops;
};

/* The in-process store: GCRA buckets and session counts in hash tables. */
struct pol_store *pol_store_embedded_new(const struct cfg *c);

/*
 * Notes for callers of every store:
 * - END releases the concurrency slots its CONNECT took, whatever
 *   skip_limits says then (a session allowlisted at MAIL did take them). Send
 *   END only for a session whose CONNECT went to the store without
 *   skip_limits and was accepted.
 * - done() is called exactly once per decide(), END included.
 */

/* Most buckets (one per rule and key value) the embedded store holds. Past
 * it, idle buckets are reused; when none is idle the request passes (fail
 * open) and stats.full counts it. */
#ifndef POL_STORE_EMBEDDED_CAPACITY
#define POL_STORE_EMBEDDED_CAPACITY (1u << 20)
#endif

struct pol_store_stats {
	uint64_t decisions;  /**< decide() calls, END included */
	uint64_t over;       /**< refused by a limit */
	uint64_t full;       /**< charges skipped because the table was full (fail open) */
	uint64_t reclaimed;  /**< idle or dead buckets dropped or reused */
	uint32_t buckets;    /**< in use now */
	uint32_t capacity;
};

/* The same with a chosen capacity (tests, small nodes). NULL on no memory. */
struct pol_store *pol_store_embedded_new_cap(const struct cfg *c, uint32_t capacity);
void pol_store_embedded_stats(const struct pol_store *st, struct pol_store_stats *out);

static inline void pol_store_decide(struct pol_store *st, const struct pol_query *q, uint64_t now_ms,
				    uint64_t token, pol_done_fn done, void *arg)
{
	st->ops->decide(st, q, now_ms, token, done, arg);
}

#endif
