/* ctl_stats.h - where the control socket and the metrics find the
 * transport's counters: callbacks the daemon's main registers. */
#ifndef CTL_STATS_H
#define CTL_STATS_H

#include <stdbool.h>
#include <stdint.h>

struct ctl_buf;

/* The counters a transport can give (fields as in kt_stats). */
struct ctl_wstats {
	uint64_t accepted;
	uint64_t rejected_busy;
	uint64_t conns;
	uint64_t policy_sent;
	uint64_t policy_full;
	uint64_t verdicts;
	uint64_t verdicts_stale;
	uint64_t forced_closes;
};

/*
 * Fill out for worker `worker`, or the totals when worker < 0. Return SL_OK,
 * or SL_DECLINED when the transport has no counters for that worker (the
 * kernel transport today only sums them: kt_get_stats).
 */
typedef int (*ctl_stats_fn)(void *arg, int worker, struct ctl_wstats *out);

/*
 * ctl_stats_register - set (or clear, fn NULL) the source. Any thread. Clear
 * it before the transport is freed: once this returns, no call is running
 * and none starts.
 */
void ctl_stats_register(ctl_stats_fn fn, void *arg);
/* Call the source; false when none is registered or it declined. */
bool ctl_stats_get(int worker, struct ctl_wstats *out);

/*
 * Dataplane figures (packets, drops by reason, TCP...) as named records, so
 * the control side shows whatever the transport counts without knowing its
 * structs. `stats` puts them under "dataplane", the metrics make them
 * sluice_dataplane_NAME (counters with _total) with a worker label. Names
 * are stable: PROTOCOL.md lists them.
 */
enum ctl_dp_kind {
	CTL_DP_COUNTER = 0,   /**< only grows (until a restart) */
	CTL_DP_GAUGE,         /**< a level: goes up and down */
};

/*
 * One figure. Every string is static (the source's own tables): records
 * outlive the call. Records of one name (one family) are adjacent and all
 * have the same label name, one record per label value.
 */
struct ctl_dp_rec {
	const char      *name;    /**< lower_snake, [a-z0-9_], not ending in _total */
	const char      *help;    /**< one line, for the metrics' HELP */
	const char      *label;   /**< label name ("reason", "state"), NULL: the figure has none */
	const char      *lvalue;  /**< the label's value, [a-z0-9_] */
	enum ctl_dp_kind kind;
	uint64_t         value;
};

/* Bound on the records of one call (a worker, or the totals). */
#define CTL_DP_REC_MAX 192

/*
 * Fill out[0..max) for worker `worker` (totals when worker < 0); return how
 * many, 0 when the transport has none for it. Same rules as ctl_stats_fn:
 * any thread, loads only, no lock taken.
 */
typedef unsigned (*ctl_dp_fn)(void *arg, int worker, struct ctl_dp_rec *out, unsigned max);

/* ctl_dp_register - as ctl_stats_register, for the dataplane records. */
void ctl_dp_register(ctl_dp_fn fn, void *arg);
/* Call the source (max at most CTL_DP_REC_MAX); 0 when none is registered or it has none. */
unsigned ctl_dp_get(int worker, struct ctl_dp_rec *out, unsigned max);

/*
 * ctl_dp_json - the records as one JSON object: "name":value, and a family
 * with a label as "name":{"lvalue":value,...}. Appends to b.
 */
void ctl_dp_json(struct ctl_buf *b, const struct ctl_dp_rec *r, unsigned n);

#endif
