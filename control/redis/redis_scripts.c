/* redis_scripts.c - the Lua scripts of the Redis store (GCRA, leases) and of the lists mirror, and their SHA1s. */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "redis/redis_priv.h"

/*
 * decide: one decision, every rule of its stage at once, or of one hash tag
 * of its stage when the stage's keys span slots (redis_store.c splits it).
 *
 *   KEYS[i]            the counter of rule i (see the key schema in redis_store.c)
 *   ARGV[1]            the lease member for concurrency rules ("<node>:<seq>")
 *   ARGV[3i-1 .. 3i+1] rule i: "r", increment_us, tau_us   (GCRA, pol_rate.h)
 *                           or "c", max_sessions, lease_us (concurrency)
 *
 * Returns 0 when every rule conformed and all were charged, or the 1-based
 * index of the first rule (config order) that is over; then nothing was
 * charged: check all, then charge all, as the embedded store does.
 *
 * Time is the server's (TIME), in microseconds: every node reads one clock,
 * so skew between gateways does not matter, and microseconds since 1970 stay
 * below 2^53, where Lua's doubles are still exact integers. The C side turns
 * the nanosecond GCRA parameters into microseconds (rounding down) so the
 * script only adds and compares.
 *
 * A rate key holds the TAT and expires when it passes (an idle key is an
 * empty key). A concurrency key is a ZSET of leases scored by their expiry;
 * expired leases are dropped before counting, so a node that died frees its
 * slots once its leases run out; the key itself expires after the longest
 * lease it holds. Redis 7 replicates scripts by effects, so calling TIME
 * before writing is fine; older servers need replicate_commands().
 */
static const char decide_lua[] =
	"if redis.replicate_commands then pcall(redis.replicate_commands) end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
	"local n = #KEYS\n"
	"local nxt = {}\n"
	"for i = 1, n do\n"
	"  local kind, a, b = ARGV[3*i-1], tonumber(ARGV[3*i]), tonumber(ARGV[3*i+1])\n"
	"  if kind == 'r' then\n"
	"    local tat = tonumber(redis.call('GET', KEYS[i]) or '0') or 0\n"
	"    if tat < now then tat = now end\n"
	"    if tat + a - now > b then return i end\n"
	"    nxt[i] = tat + a\n"
	"  else\n"
	"    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)\n"
	"    if redis.call('ZCARD', KEYS[i]) >= a then return i end\n"
	"  end\n"
	"end\n"
	"for i = 1, n do\n"
	"  if ARGV[3*i-1] == 'r' then\n"
	"    local ms = math.floor((nxt[i] - now) / 1000) + 1\n"
	"    redis.call('SET', KEYS[i], string.format('%.0f', nxt[i]), 'PX', ms)\n"
	"  else\n"
	"    local lease = tonumber(ARGV[3*i+1])\n"
	"    local ms = math.floor(lease / 1000) + 1\n"
	"    redis.call('ZADD', KEYS[i], now + lease, ARGV[1])\n"
	"    if redis.call('PTTL', KEYS[i]) < ms then redis.call('PEXPIRE', KEYS[i], ms) end\n"
	"  end\n"
	"end\n"
	"return 0\n";

/*
 * refresh: extend this node's leases on one concurrency key.
 *
 *   KEYS[1]   the ZSET
 *   ARGV[1]   lease_us
 *   ARGV[2..] the members this node holds there
 *
 * Re-adds a member that is gone (Redis restarted empty, or the lease ran out
 * during a partition): the session is still open and does hold a slot.
 * Returns the number of members refreshed.
 */
static const char refresh_lua[] =
	"if redis.replicate_commands then pcall(redis.replicate_commands) end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
	"local lease = tonumber(ARGV[1])\n"
	"for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now + lease, ARGV[i]) end\n"
	"local ms = math.floor(lease / 1000) + 1\n"
	"if redis.call('PTTL', KEYS[1]) < ms then redis.call('PEXPIRE', KEYS[1], ms) end\n"
	"return #ARGV - 1\n";

/*
 * refund: take back what decide charged on one slot, when another slot of
 * the same decision refused it (or it was answered by its fail mode as a
 * refusal before this reply came). See "a decision across slots" in
 * redis_store.c.
 *
 *   KEYS[i]            the counters decide charged (one hash tag)
 *   ARGV[1]            the lease member decide added
 *   ARGV[2i], ARGV[2i+1] rule i: "r", increment_us  or  "c", "0"
 *
 * A TAT goes back by the increment, never below now: GCRA charges add up,
 * so charges others made meanwhile stay, and a refund can never leave more
 * room than an empty key (a TAT at or before now is an empty key: deleted).
 * A lease is removed by its member. Returns the number of keys.
 */
static const char refund_lua[] =
	"if redis.replicate_commands then pcall(redis.replicate_commands) end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
	"for i = 1, #KEYS do\n"
	"  if ARGV[2*i] == 'r' then\n"
	"    local tat = tonumber(redis.call('GET', KEYS[i]) or '')\n"
	"    if tat then\n"
	"      local nt = tat - tonumber(ARGV[2*i+1])\n"
	"      if nt <= now then\n"
	"        redis.call('DEL', KEYS[i])\n"
	"      else\n"
	"        local ms = math.floor((nt - now) / 1000) + 1\n"
	"        redis.call('SET', KEYS[i], string.format('%.0f', nt), 'PX', ms)\n"
	"      end\n"
	"    end\n"
	"  else\n"
	"    redis.call('ZREM', KEYS[i], ARGV[1])\n"
	"  end\n"
	"end\n"
	"return #KEYS\n";

/*
 * The lists mirror (redis_lists.c; key schema there and in README):
 *
 * lists_set: add or update one entry, and tell every node.
 *
 *   KEYS[1] the list's hash, KEYS[2] its expiry ZSET, KEYS[3] its ZSET of
 *           recent deletes, KEYS[4] the version counter
 *   ARGV    value, ttl_ms (0: none), reason, channel, list, kind, mode
 *
 * The hash field is the canonical value, its value "<expires_ms>|<reason>"
 * with expires_ms on the server's clock (0: no TTL). Every write counts the
 * version up and publishes "<version>\tadd\t<list>\t<kind>\t<value>\t<payload>"
 * in the same script, so messages carry the order in which Redis applied
 * them. Mode "nx" (a node writing its mirror back into a Redis that lost the
 * lists) keeps what Redis has, skips what was deleted lately (a delete that
 * waited for Redis wins over another node's older copy), and neither counts
 * nor publishes. Returns the version.
 */
static const char lists_set_lua[] =
	"if redis.replicate_commands then pcall(redis.replicate_commands) end\n"
	"local nx = ARGV[7] == 'nx'\n"
	"if nx and (redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('ZSCORE', KEYS[3], ARGV[1])) then\n"
	"  return tonumber(redis.call('GET', KEYS[4]) or '0')\n"
	"end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local ttl = tonumber(ARGV[2]) or 0\n"
	"local exp = 0\n"
	"if ttl > 0 then exp = now + ttl end\n"
	"local payload = string.format('%.0f', exp) .. '|' .. ARGV[3]\n"
	"redis.call('HSET', KEYS[1], ARGV[1], payload)\n"
	"if exp > 0 then redis.call('ZADD', KEYS[2], exp, ARGV[1]) else redis.call('ZREM', KEYS[2], ARGV[1]) end\n"
	"if nx then return tonumber(redis.call('GET', KEYS[4]) or '0') end\n"
	"redis.call('ZREM', KEYS[3], ARGV[1])\n"
	"local v = redis.call('INCR', KEYS[4])\n"
	"redis.call('PUBLISH', ARGV[4], v .. '\\tadd\\t' .. ARGV[5] .. '\\t' .. ARGV[6] .. '\\t' .. ARGV[1] .. '\\t' .. payload)\n"
	"return v\n";

/*
 * lists_del: remove one entry, note when, and tell every node.
 *
 *   KEYS as lists_set; ARGV value, channel, list, kind
 *
 * Publishes "<version>\tdel\t<list>\t<kind>\t<value>" whether or not the
 * entry was there (a node may still hold it). Returns the version.
 */
static const char lists_del_lua[] =
	"if redis.replicate_commands then pcall(redis.replicate_commands) end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"redis.call('HDEL', KEYS[1], ARGV[1])\n"
	"redis.call('ZREM', KEYS[2], ARGV[1])\n"
	"redis.call('ZADD', KEYS[3], now, ARGV[1])\n"
	"local v = redis.call('INCR', KEYS[4])\n"
	"redis.call('PUBLISH', ARGV[2], v .. '\\tdel\\t' .. ARGV[3] .. '\\t' .. ARGV[4] .. '\\t' .. ARGV[1])\n"
	"return v\n";

/*
 * lists_begin: the first step of a resync.
 *
 *   KEYS[1] the epoch, KEYS[2] the version counter, then each list's hash,
 *           expiry ZSET and deletes ZSET in threes
 *   ARGV    a new epoch (used when there is none), how many expired entries
 *           to drop per list at most, how long deletes are remembered (ms)
 *
 * The epoch is a random name a node writes when there is none; a Redis that
 * comes back without it (restarted empty, flushed) lost the lists, and each
 * node writes its mirror back. Expired entries are dropped from the hashes
 * here, a bounded number per call (nodes expire their own copies by
 * themselves, so this publishes nothing), and old deletes are forgotten.
 * Returns {epoch, version, now_ms, dropped}: the version before the scan
 * that follows, and the server's clock, which the node uses to turn
 * expiries into its own.
 */
static const char lists_begin_lua[] =
	"if redis.replicate_commands then pcall(redis.replicate_commands) end\n"
	"local e = redis.call('GET', KEYS[1])\n"
	"if not e then e = ARGV[1]; redis.call('SET', KEYS[1], e) end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local lim = tonumber(ARGV[2])\n"
	"local dropped = 0\n"
	"for i = 3, #KEYS - 2, 3 do\n"
	"  local gone = redis.call('ZRANGEBYSCORE', KEYS[i + 1], '-inf', now, 'LIMIT', 0, lim)\n"
	"  if #gone > 0 then\n"
	"    redis.call('HDEL', KEYS[i], unpack(gone))\n"
	"    redis.call('ZREM', KEYS[i + 1], unpack(gone))\n"
	"    dropped = dropped + #gone\n"
	"  end\n"
	"  redis.call('ZREMRANGEBYSCORE', KEYS[i + 2], '-inf', now - tonumber(ARGV[3]))\n"
	"end\n"
	"local v = redis.call('GET', KEYS[2]) or '0'\n"
	"return {e, v, string.format('%.0f', now), dropped}\n";

static struct redis_script scripts[REDIS_SCRIPT_COUNT] = {
	[REDIS_SCRIPT_DECIDE] = { "decide", decide_lua, "" },
	[REDIS_SCRIPT_REFRESH] = { "refresh", refresh_lua, "" },
	[REDIS_SCRIPT_REFUND] = { "refund", refund_lua, "" },
	[REDIS_SCRIPT_LISTS_SET] = { "lists_set", lists_set_lua, "" },
	[REDIS_SCRIPT_LISTS_DEL] = { "lists_del", lists_del_lua, "" },
	[REDIS_SCRIPT_LISTS_BEGIN] = { "lists_begin", lists_begin_lua, "" },
};

void redis_scripts_init(void)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i, j;

	for (i = 0; i < REDIS_SCRIPT_COUNT; i++) {
		if (scripts[i].sha[0] != '\0')
			continue;
		/* EVALSHA names a script by the SHA1 of its text: knowing it up
		 * front lets decisions queue right behind SCRIPT LOAD */
		if (EVP_Digest(scripts[i].body, strlen(scripts[i].body), md, &len, EVP_sha1(), NULL) != 1)
			len = 0;
		for (j = 0; j < len && j < 20; j++)
			snprintf(scripts[i].sha + 2 * j, 3, "%02x", md[j]);
	}
}

const struct redis_script *redis_script(enum redis_script_id id)
{
	return &scripts[id];
}
