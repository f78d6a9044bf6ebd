/* redis_store.h - the Redis-backed limit store: one fleet-wide set of counters shared by every sluice node. */
#ifndef REDIS_STORE_H
#define REDIS_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "policy/pol.h"

struct sl_evloop;

/* How to reach Redis and how long to wait for it. Zero fields take the
 * defaults below; strings are copied. */
struct redis_store_opts {
	const char *host;             /**< "127.0.0.1"; NULL with path set: unix socket */
	uint16_t    port;             /**< 6379 */
	const char *path;             /**< unix socket path, or NULL */
	const char *password;         /**< AUTH after connect, or NULL */
	int         db;               /**< SELECT after connect when > 0 */
	const char *prefix;           /**< "sluice:"; must not hold '{' (it would steal the hash tag) */
	uint32_t    timeout_ms;       /**< a decision slower than this gets its rules' fail mode */
	uint32_t    connect_timeout_ms;
	uint32_t    lease_ms;         /**< concurrency lease; refreshed every lease/3 */
	uint32_t    backoff_min_ms;   /**< reconnect delay, doubled per failure up to max, with jitter */
	uint32_t    backoff_max_ms;
};

#define REDIS_DEFAULT_TIMEOUT_MS         100
#define REDIS_DEFAULT_CONNECT_TIMEOUT_MS 1000
#define REDIS_DEFAULT_LEASE_MS           30000
#define REDIS_DEFAULT_BACKOFF_MIN_MS     100
#define REDIS_DEFAULT_BACKOFF_MAX_MS     5000
#define REDIS_DEFAULT_PREFIX             "sluice:"

/* Upper bounds of the round-trip histogram's buckets, in microseconds. */
#define REDIS_RTT_BUCKETS 10
extern const uint32_t redis_rtt_bounds_us[REDIS_RTT_BUCKETS];

struct redis_store_stats {
	uint64_t decisions;   /**< decide() calls, END included */
	uint64_t round_trips; /**< decide scripts sent (EVALSHA; one per hash tag of a decision) */
	uint64_t batches;     /**< loop turns (ms) that sent decisions */
	uint64_t writes;      /**< socket writes that carried everything (pipelining: far fewer) */
	uint64_t over;        /**< refused by a limit */
	uint64_t failed;      /**< answered by the fail mode: down, error, timeout */
	uint64_t timeouts;    /**< of those, slower than timeout_ms */
	uint64_t noscript;    /**< NOSCRIPT replies (scripts reloaded, decision retried) */
	uint64_t connects;    /**< successful connections (setup done) */
	uint32_t leases;      /**< concurrency leases this node holds */
	bool     up;
	uint64_t errors;      /**< error replies to decide scripts (WRONGTYPE, CROSSSLOT, MOVED...) */
	/* Round-trip time of the decide scripts that got a reply, from the
	 * write to the reply: a Prometheus histogram (counts not cumulative;
	 * the last bucket is everything above the last bound). */
	uint64_t rtt_bucket[REDIS_RTT_BUCKETS + 1];
	uint64_t rtt_sum_us;
	uint64_t rtt_count;
};

/* A store on the control thread's loop, from c's policy redis address.
 * It connects in the background; until then decisions get the fail mode.
 * NULL on no memory. */
struct pol_store *redis_store_new(const struct cfg *c, struct sl_evloop *loop);
struct pol_store *redis_store_new_opts(const struct cfg *c, struct sl_evloop *loop,
				       const struct redis_store_opts *o);
void redis_store_stats(const struct pol_store *st, struct redis_store_stats *out);

/* Can a reload from a to b keep the running store (apply() the new limits),
 * or does it need a new one: another store kind, server, credentials, db or
 * key prefix? (Timeouts and the lease time apply live.) */
bool redis_store_same_server(const struct cfg *a, const struct cfg *b);

#endif
