/* redis_scripts.c - the Lua scripts the Redis store runs (GCRA and leases, atomically) and their SHA1s. */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "redis/redis_priv.h"

/*
 * decide: one decision, every rule of its stage at once.
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

static struct redis_script scripts[REDIS_SCRIPT_COUNT] = {
	[REDIS_SCRIPT_DECIDE] = { "decide", decide_lua, "" },
	[REDIS_SCRIPT_REFRESH] = { "refresh", refresh_lua, "" },
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
