/* redis_lists.h - the runtime block/allow lists kept in Redis and mirrored
 * on every node: write-through, pub/sub, periodic resync. */
#ifndef REDIS_LISTS_H
#define REDIS_LISTS_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "ctlsock/ctl_lists.h"

struct sl_evloop;
struct redis_lists;

/*
 * Key schema (under the prefix, "sluice:" by default; {lists} is the hash
 * tag of every key, so one script touches one Redis Cluster slot):
 *
 *   <prefix>{lists}:<list>:<kind>          HASH  value -> "<expires_ms>|<reason>"
 *   <prefix>{lists}:<list>:<kind>:expiry   ZSET  value scored by expires_ms (entries with a TTL)
 *   <prefix>{lists}:<list>:<kind>:deleted  ZSET  value scored by when it was deleted (kept 10 min)
 *   <prefix>{lists}:version                counter, +1 per write
 *   <prefix>{lists}:epoch                  random name; missing = Redis lost the lists
 *   <prefix>{lists}:changes                pub/sub channel
 *
 *   <list>  block | allow;  <kind>  ip | helo | sender | domain | rcpt
 *   value   canonical: "203.0.113.0/24", "2001:db8::/32", "a@b.example", ".example.net"
 *   expires_ms on Redis' clock (ms since 1970), 0 = no TTL
 *
 * Messages: "<version>\tadd\t<list>\t<kind>\t<value>\t<expires_ms>|<reason>",
 * "<version>\tdel\t<list>\t<kind>\t<value>", "0\tresync" (look again).
 *
 * Who is right. Redis holds the runtime entries of the fleet; the config's
 * entries stay on their node. A local change (control socket) applies on
 * this node at once and is written through; while Redis is down it waits,
 * marked DIRTY (a delete as a tombstone), and is written when Redis is back,
 * before the resync reads Redis. A resync (after every (re)connect of either
 * connection, on a version gap in the messages, and every resync_ms) scans
 * the hashes with HSCAN in batches and makes the mirror equal to Redis,
 * local changes not yet written excepted. Versions order messages against
 * the scan: what a message newer than the scan's start said stays.
 * Redis that lost the lists (its epoch is gone or its version went back:
 * restarted empty or from an older dump): every node writes its mirror back
 * (HSET only where Redis has nothing and nothing was deleted in the last 10
 * minutes), so additions survive, and so does a delete that waited for Redis;
 * a delete that Redis lost (written to it before it lost its data, but after
 * its last dump) may come back from another node's mirror.
 */

#define REDIS_LISTS_DEFAULT_RESYNC_MS 30000
#define REDIS_LISTS_SCAN_COUNT        1000   /* HSCAN COUNT: entries per reply, about */
#define REDIS_LISTS_WRITES_MAX        4096   /* writes in flight; more wait, DIRTY */

struct redis_lists_opts {
	const char *host;             /**< "127.0.0.1"; NULL with path set: unix socket */
	uint16_t    port;             /**< 6379 */
	const char *path;
	const char *password;
	int         db;
	const char *prefix;           /**< "sluice:" */
	uint32_t    connect_timeout_ms;
	uint32_t    resync_ms;        /**< full resync every this long */
	uint32_t    backoff_min_ms, backoff_max_ms;
	uint32_t    scan_count;       /**< HSCAN COUNT */
};

/* Called on the control thread when the mirror changed what the workers
 * should see: rebuild and publish the snapshot (coalesced by the caller). */
typedef void (*redis_lists_changed_fn)(void *arg);

/*
 * redis_lists_new - mirror l (the control socket's runtime lists) with the
 * Redis of c's `policy redis`. Entries already in l (embedded store before a
 * reload, or another Redis) are written at the first connect. Connects in
 * the background. NULL on no memory. l must outlive the mirror.
 */
struct redis_lists *redis_lists_new(const struct cfg *c, struct sl_evloop *loop, struct ctl_lists *l,
				    redis_lists_changed_fn changed, void *arg);
struct redis_lists *redis_lists_new_opts(struct sl_evloop *loop, struct ctl_lists *l,
					 const struct redis_lists_opts *o,
					 redis_lists_changed_fn changed, void *arg);
/* Stop mirroring: l keeps its entries as plain local ones. */
void redis_lists_free(struct redis_lists *rl);
/* Live settings of a reload (the resync interval). */
void redis_lists_apply(struct redis_lists *rl, const struct cfg *c);
/* Does a reload from a to b keep the mirror (same server, db, prefix...)? */
bool redis_lists_same_server(const struct cfg *a, const struct cfg *b);

/*
 * redis_lists_write - e was just added, updated or deleted in l
 * (ctl_lists_add/del): write it through. Returns SL_OK (sent now), SL_AGAIN
 * (Redis is up but many writes are in flight: sent as they drain) or
 * SL_DECLINED (Redis is down: written once it is back). It applies on this
 * node in every case.
 */
int redis_lists_write(struct redis_lists *rl, const struct cfg_list_entry *e);
/* Resync now (or right after the one running). */
void redis_lists_resync(struct redis_lists *rl);

struct redis_lists_stats {
	bool     up;               /**< both connections ready */
	bool     resyncing;        /**< one runs, or one is asked for */
	uint64_t resyncs;          /**< finished */
	uint64_t last_resync_ms;   /**< how long the last one took */
	uint64_t last_resync_entries;
	uint64_t messages;         /**< change messages applied */
	uint64_t messages_ignored; /**< older than what we had, or for an entry with a local change */
	uint64_t gaps;             /**< version gaps seen (resync asked) */
	uint64_t writes;           /**< writes sent */
	uint64_t write_errors;     /**< error replies and lost writes (retried) */
	uint64_t reseeds;          /**< times Redis had lost the lists and this node wrote them back */
	uint64_t bad_values;       /**< entries in Redis that are not valid values (skipped) */
	uint64_t dropped;          /**< entries Redis has that did not fit (CTL_LISTS_MAX, memory) */
	uint64_t version;          /**< highest version seen */
	unsigned pending;          /**< local changes not yet in Redis */
	unsigned inflight;         /**< writes sent, reply not yet in */
};
void redis_lists_stats(const struct redis_lists *rl, struct redis_lists_stats *out);

#endif
