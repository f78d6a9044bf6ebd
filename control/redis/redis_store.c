/* redis_store.c - pol_store_ops on Redis: decisions batched and pipelined, answered per reply or by the fail mode. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "policy/pol_limit.h"
#include "redis/redis_priv.h"
#include "redis/redis_store.h"
#include "util/sl_clock.h"
#include "util/sl_evloop.h"
#include "util/sl_hash.h"
#include "util/sl_log.h"

/*
 * Key schema (every key starts with the configured prefix, "sluice:" by
 * default):
 *
 *   <prefix>{<key>:<value>}:<kind>:<count>/<period_ms>/<burst>[#<n>]   GCRA TAT (string, us)
 *   <prefix>{<key>:<value>}:concurrency:<count>[#<n>]                  leases (ZSET)
 *
 *   <key>    ip | net | helo | sender | sender_domain | rcpt
 *   <value>  what pol_limit_key() gives: "203.0.113.7", "203.0.113.0/24",
 *            "2001:db8::/64", a lowercased name or address ("" = null sender)
 *   <kind>   conn_rate | msg_rate | rcpt_rate | byte_rate
 *   #<n>     the second, third... rule with the very same counter (n = 2, 3...)
 *
 * e.g. sluice:{ip:203.0.113.7}:msg_rate:5/60000/5
 *      sluice:{net:198.18.0.0/24}:conn_rate:100/3600000/100
 *      sluice:{ip:203.0.113.7}:concurrency:10
 *
 * The counter's parameters are part of its name, as in the embedded store
 * (pol_limit_same_counter): a reload that changes a rate starts new counters,
 * one that only changes the reply text or the fail mode keeps them, and every
 * node with the same rule shares the same key.
 *
 * The hash tag {<key>:<value>} puts every counter of one key value in one
 * Redis Cluster slot, and every command this store sends names keys of one
 * tag only, so Redis Cluster never answers CROSSSLOT:
 *
 * - a decision whose rules all key on one value (all per-IP) is one decide
 *   script, atomic, check all then charge all;
 * - a stage that mixes key types (ip, sender and sender_domain rules at
 *   MAIL) is split by hash tag: one decide per tag, "check this tag's rules
 *   and charge them if all conform", all sent in the same loop turn. When
 *   every group charged, the decision passes. When one refused, the groups
 *   that charged get a refund script (a TAT moved back by its increment,
 *   never below now; the lease member removed), and the verdict is the
 *   first refusing rule in config order, as one script would have said.
 *   The embedded store's rule holds: a refused decision charges nothing,
 *   once the refunds ran. Between a group's charge and its refund (about
 *   one round trip) another decision on that key sees the charge: it may be
 *   refused when it would have passed, never let through when it should
 *   not. A refund lost with the connection leaves its charge to drain (at
 *   most the rule's burst time) and its lease to run out (never refreshed).
 * - a group that errs or times out is unknown: its rules take their fail
 *   mode (a fail-closed one refuses with 451 4.7.0) while the groups that
 *   answered count as they said; whatever the verdict is a refusal, the
 *   groups that charged, in time or late, are refunded;
 * - END releases and lease refreshes name one lease key per command.
 *
 * Lease members are "<node>:<seq>": node is 64 random bits drawn when the
 * store starts, seq counts its leases. A lease is scored by its expiry in
 * the server's microseconds; this node re-scores all of its leases every
 * lease/3, so a crashed node's leases run out after one lease time.
 */

#define DEAD_MS_MIN   1000   /* no reply for this long with work outstanding: drop and reconnect */
#define KEY_BUF       (POL_KEY_MAX + 192) /* prefix, tag and rule suffix around the value */
#define RULES_MAX     64     /* rules of one stage sent per decision; more are not enforced */
#define ARGV_SCRATCH  (4 + 4 * RULES_MAX)

enum req_kind { REQ_DECIDE = 0, REQ_INTERNAL };

/* What one hash tag's decide script said. */
enum grp_state { GRP_WAIT = 0, GRP_CHARGED, GRP_OVER, GRP_FAILED };

/* The rules of one config generation; a request in flight keeps its own. */
struct redis_rules {
	unsigned refs;
	unsigned n;
	struct pol_limit *rules;
	char (*suffix)[96];      /**< the "<kind>:<params>[#n]" part of each rule's keys */
};

/*
 * One decision: the rules of its stage that apply, in config order, each in
 * the group of its key's hash tag (one Redis Cluster slot), and what each
 * group's script said. Freed when answered and every group's reply is in
 * (refs: one per request in hiredis, one for send_decision while it sends).
 */
struct redis_dec {
	unsigned refs;
	bool     answered;
	bool     accepted;       /**< the verdict given: late charges are kept (leases given back) or refunded */
	uint64_t token;
	pol_done_fn done;
	void    *arg;
	uint64_t lease_seq;
	struct redis_rules *rules;
	struct pol_query q;      /**< to name the keys again: leases, refunds */
	unsigned nidx, ngroups, pending;
	uint16_t idx[RULES_MAX];  /**< rule of each position, config order */
	uint8_t  grp[RULES_MAX];  /**< group of each position */
	uint64_t inc[RULES_MAX];  /**< GCRA increment charged (us), for a refund */
	uint8_t  state[RULES_MAX];/**< per group: enum grp_state */
	uint8_t  over[RULES_MAX]; /**< per group, GRP_OVER: the position that refused */
};

struct redis_req {
	struct redis_store *st;
	struct redis_req *prev, *next;  /**< in st's timeout FIFO (decisions only) */
	enum req_kind kind;
	bool     retried;
	bool     in_fifo;
	uint64_t deadline;
	uint64_t sent;
	uint64_t sent_ns;        /**< monotonic, for the round-trip histogram */
	struct redis_dec *dec;   /**< REQ_DECIDE: its decision, and which group */
	unsigned group;
	unsigned script;         /**< REQ_INTERNAL: 1 + the script a SCRIPT LOAD loads, else 0 */
	char    *cmd;            /**< formatted, for the NOSCRIPT retry */
	int      cmdlen;
};

/* One concurrency key on which this node holds leases. */
struct lease_key {
	struct lease_key *next;
	uint64_t hash;
	char    *key;
	size_t   klen;
	uint64_t *seq;
	unsigned n, cap;
};

#define LEASE_BUCKETS 4096

struct redis_store {
	struct pol_store base;
	struct redis_conn conn;
	struct redis_rules *rules;
	char    *prefix;
	uint32_t timeout_ms;
	uint32_t lease_ms;
	uint64_t node;
	uint64_t next_seq;
	bool     reloading;      /**< SCRIPT LOAD sent after a NOSCRIPT, reply not yet in */
	bool     destroying;
	struct redis_req *head, *tail;
	struct tw_timer timeout_timer;
	struct tw_timer refresh_timer;
	uint64_t last_reply;
	uint64_t last_send;
	uint64_t errors;         /**< error replies to decisions */
	struct lease_key *leases[LEASE_BUCKETS];
	struct redis_store_stats stats;
	/* scratch for building commands: decide() allocates only its decision
	 * and a request per group; refunds reuse it from reply callbacks */
	const char *argv[ARGV_SCRATCH];
	size_t argvlen[ARGV_SCRATCH];
	char keys[RULES_MAX][KEY_BUF];
	char params[RULES_MAX][2][24];
};

static const char *const key_names[CFG_KEY_COUNT] = {
	"ip", "net", "helo", "sender", "sender_domain", "rcpt",
};
static const char *const kind_names[CFG_LIMIT_KIND_COUNT] = {
	"conn_rate", "msg_rate", "rcpt_rate", "byte_rate", "concurrency",
};

#define STORE_OF(t, field) ((struct redis_store *)((char *)(t) - offsetof(struct redis_store, field)))

/* ---- rules */

static void rules_unref(struct redis_rules *r)
{
	if (r == NULL || --r->refs > 0)
		return;
	free(r->rules);
	free(r->suffix);
	free(r);
}

static struct redis_rules *rules_build(const struct cfg *c)
{
	struct redis_rules *r = calloc(1, sizeof(*r));
	unsigned i, j, n = c ? c->nlimits : 0;

	if (r == NULL)
		return NULL;
	r->refs = 1;
	r->n = n;
	r->rules = calloc(n ? n : 1, sizeof(*r->rules));
	r->suffix = calloc(n ? n : 1, sizeof(*r->suffix));
	if (r->rules == NULL || r->suffix == NULL) {
		rules_unref(r);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		struct pol_limit *l = &r->rules[i];
		unsigned dup = 1;
		int k;

		pol_limit_compile(l, &c->limits[i]);
		for (j = 0; j < i; j++)
			if (pol_limit_same_counter(&r->rules[j], l))
				dup++;
		if (!l->active)
			continue;
		if (l->cfg.kind == CFG_LIMIT_CONCURRENCY)
			k = snprintf(r->suffix[i], sizeof(r->suffix[i]), "concurrency:%" PRIu64,
				     l->cfg.count);
		else
			k = snprintf(r->suffix[i], sizeof(r->suffix[i]), "%s:%" PRIu64 "/%" PRIu64 "/%" PRIu64,
				     kind_names[l->cfg.kind], l->cfg.count, l->cfg.period_ms,
				     l->gcra.burst);
		if (dup > 1 && k > 0 && (size_t)k < sizeof(r->suffix[i]))
			snprintf(r->suffix[i] + k, sizeof(r->suffix[i]) - (size_t)k, "#%u", dup);
	}
	return r;
}

/* <prefix>{<key>:<value>}:<suffix>, or -1 when the rule does not apply to q */
static int rule_key(const struct redis_store *st, const struct redis_rules *rs, unsigned i,
		    const struct pol_query *q, char *buf, size_t len)
{
	char val[POL_KEY_MAX];
	int n = pol_limit_key(&rs->rules[i], q, val, sizeof(val));
	int k;

	if (n < 0)
		return -1;
	k = snprintf(buf, len, "%s{%s:%.*s}:%s", st->prefix, key_names[rs->rules[i].cfg.key], n, val,
		     rs->suffix[i]);
	return k > 0 && (size_t)k < len ? k : -1;
}

/* Microseconds, saturated well below 2^53 so the script's doubles stay exact. */
static uint64_t to_us(uint64_t ns)
{
	uint64_t us = ns / 1000;

	return us > (1ull << 52) ? (1ull << 52) : us;
}

/* ---- leases this node holds */

static uint64_t hash_key(const char *s, size_t n)
{
	return sl_hash_mix(sl_hash_bytes(SL_HASH_SEED, s, n));
}

static struct lease_key *lease_find(struct redis_store *st, const char *key, size_t n, bool create)
{
	uint64_t h = hash_key(key, n);
	struct lease_key **pp = &st->leases[h % LEASE_BUCKETS], *lk;

	for (lk = *pp; lk != NULL; lk = lk->next)
		if (lk->hash == h && lk->klen == n && memcmp(lk->key, key, n) == 0)
			return lk;
	if (!create || (lk = calloc(1, sizeof(*lk))) == NULL)
		return NULL;
	if ((lk->key = malloc(n + 1)) == NULL) {
		free(lk);
		return NULL;
	}
	memcpy(lk->key, key, n);
	lk->key[n] = '\0';
	lk->klen = n;
	lk->hash = h;
	lk->next = *pp;
	*pp = lk;
	return lk;
}

static void lease_key_free(struct redis_store *st, struct lease_key *lk)
{
	struct lease_key **pp = &st->leases[lk->hash % LEASE_BUCKETS];

	while (*pp != lk)
		pp = &(*pp)->next;
	*pp = lk->next;
	free(lk->key);
	free(lk->seq);
	free(lk);
}

static int member_name(const struct redis_store *st, uint64_t seq, char *buf, size_t len)
{
	return snprintf(buf, len, "%016" PRIx64 ":%" PRIu64, st->node, seq);
}

/* ---- sending */

static void on_reply(redisAsyncContext *ac, void *r, void *priv);

static bool can_send(const struct redis_store *st)
{
	return st->conn.ac != NULL && st->conn.state != REDIS_DOWN && !st->destroying;
}

static struct redis_req *req_new(struct redis_store *st, enum req_kind kind)
{
	struct redis_req *rq = calloc(1, sizeof(*rq));

	if (rq != NULL) {
		rq->st = st;
		rq->kind = kind;
	}
	return rq;
}

static void fifo_unlink(struct redis_store *st, struct redis_req *rq)
{
	if (!rq->in_fifo)
		return;
	if (rq->prev) rq->prev->next = rq->next; else st->head = rq->next;
	if (rq->next) rq->next->prev = rq->prev; else st->tail = rq->prev;
	rq->prev = rq->next = NULL;
	rq->in_fifo = false;
}

static void dec_unref(struct redis_dec *d)
{
	if (d == NULL || --d->refs > 0)
		return;
	rules_unref(d->rules);
	free(d);
}

static void req_free(struct redis_req *rq)
{
	fifo_unlink(rq->st, rq);
	dec_unref(rq->dec);
	if (rq->cmd != NULL)
		redisFreeCommand(rq->cmd);
	free(rq);
}

/* Hand rq to hiredis with the command in st->argv; false when it could not
 * be queued (rq is then still the caller's). */
static bool send_argv(struct redis_store *st, struct redis_req *rq, int argc, bool keep)
{
	char *cmd = NULL;
	int len = redisFormatCommandArgv(&cmd, argc, st->argv, st->argvlen);

	if (len < 0 || !can_send(st)) {
		if (cmd != NULL)
			redisFreeCommand(cmd);
		return false;
	}
	if (redisAsyncFormattedCommand(st->conn.ac, on_reply, rq, cmd, (size_t)len) != REDIS_OK) {
		redisFreeCommand(cmd);
		return false;
	}
	if (keep) {
		rq->cmd = cmd;
		rq->cmdlen = len;
	} else {
		redisFreeCommand(cmd);
	}
	return true;
}

static void load_scripts(struct redis_store *st)
{
	for (unsigned i = 0; i < REDIS_SCRIPT_STORE_COUNT; i++) {
		const struct redis_script *s = redis_script((enum redis_script_id)i);
		struct redis_req *rq = req_new(st, REQ_INTERNAL);

		if (rq == NULL)
			return;
		st->argv[0] = "SCRIPT";
		st->argvlen[0] = 6;
		st->argv[1] = "LOAD";
		st->argvlen[1] = 4;
		st->argv[2] = s->body;
		st->argvlen[2] = strlen(s->body);
		rq->script = i + 1; /* marks a SCRIPT LOAD and which one */
		if (!send_argv(st, rq, 3, false))
			req_free(rq);
	}
	st->reloading = true;
}

static void send_zrem(struct redis_store *st, const char *key, size_t klen, uint64_t seq)
{
	char member[48];
	struct redis_req *rq;

	if (!can_send(st) || (rq = req_new(st, REQ_INTERNAL)) == NULL)
		return; /* the lease runs out on its own: it is no longer refreshed */
	st->argv[0] = "ZREM";
	st->argvlen[0] = 4;
	st->argv[1] = key;
	st->argvlen[1] = klen;
	st->argv[2] = member;
	st->argvlen[2] = (size_t)member_name(st, seq, member, sizeof(member));
	if (!send_argv(st, rq, 3, false))
		req_free(rq);
}

/* ---- verdicts */

/* Redis could not be asked: the first fail-closed rule decides, else accept. */
static void fail_verdict(const struct redis_rules *rs, const uint16_t *idx, unsigned n,
			 struct pol_verdict *v)
{
	for (unsigned i = 0; i < n; i++) {
		if (rs->rules[idx[i]].cfg.fail_closed) {
			pol_limit_unreachable(&rs->rules[idx[i]], v);
			return;
		}
	}
	pol_verdict_accept(v);
}

/* The verdict from what the groups said, in config order: the first rule
 * that is over, or that fails closed in a group with no answer (an error, a
 * timeout, Redis down), decides; else accept. With one group all unknown
 * this is fail_verdict(); with every group answered, what one script over
 * all the rules would have said. */
static bool dec_verdict(const struct redis_dec *d, struct pol_verdict *v, bool *over)
{
	for (unsigned p = 0; p < d->nidx; p++) {
		const struct pol_limit *r = &d->rules->rules[d->idx[p]];
		unsigned g = d->grp[p];

		if (d->state[g] == GRP_OVER && d->over[g] == p) {
			pol_limit_over(r, v);
			*over = true;
			return false;
		}
		if ((d->state[g] == GRP_WAIT || d->state[g] == GRP_FAILED) && r->cfg.fail_closed) {
			pol_limit_unreachable(r, v);
			return false;
		}
	}
	pol_verdict_accept(v);
	return true;
}

/* The script charged group g of d: note the leases it took, or give them
 * back when the decision was already answered by its fail mode. A session
 * refused then sends no END, and one let through may have ended already,
 * its END finding no lease: kept, the lease would be refreshed for ever. */
static void leases_taken(struct redis_store *st, struct redis_dec *d, unsigned g, bool keep)
{
	char key[KEY_BUF];

	for (unsigned p = 0; p < d->nidx; p++) {
		const struct pol_limit *r = &d->rules->rules[d->idx[p]];
		struct lease_key *lk;
		int n;

		if (d->grp[p] != g || r->cfg.kind != CFG_LIMIT_CONCURRENCY)
			continue;
		if ((n = rule_key(st, d->rules, d->idx[p], &d->q, key, sizeof(key))) < 0)
			continue;
		if (!keep) {
			send_zrem(st, key, (size_t)n, d->lease_seq);
			continue;
		}
		lk = lease_find(st, key, (size_t)n, true);
		if (lk == NULL)
			continue; /* no memory: the lease is not refreshed and runs out */
		if (lk->n == lk->cap) {
			unsigned cap = lk->cap ? lk->cap * 2 : 4;
			uint64_t *s = realloc(lk->seq, cap * sizeof(*s));
			if (s == NULL)
				continue;
			lk->seq = s;
			lk->cap = cap;
		}
		lk->seq[lk->n++] = d->lease_seq;
		st->stats.leases++;
	}
}

/* The frame of a decide or refund script around the n keys already in
 * argv[3..]: EVALSHA sha n k1..kn, then the lease member; nkeys and member
 * are the caller's buffers (argv points into them). Returns the next argv
 * index, where the rules' parameters go. */
static int evalsha_head(struct redis_store *st, enum redis_script_id id, unsigned n, char *nkeys, size_t nklen,
			char *member, size_t mlen, uint64_t lease_seq)
{
	int argc = 3 + (int)n;

	st->argv[0] = "EVALSHA";
	st->argvlen[0] = 7;
	st->argv[1] = redis_script(id)->sha;
	st->argvlen[1] = 40;
	snprintf(nkeys, nklen, "%u", n);
	st->argv[2] = nkeys;
	st->argvlen[2] = strlen(nkeys);
	st->argv[argc] = member;
	st->argvlen[argc++] = (size_t)member_name(st, lease_seq, member, mlen);
	return argc;
}

/* Undo group g's charge: the decision was refused (by another group, or by
 * a fail-closed rule whose group got no answer). Fire and forget, like a
 * release: lost with the connection, the charge drains by itself. Uses the
 * store's scratch: called from replies and timeouts, never while
 * send_decision builds a command. */
static void send_refund(struct redis_store *st, struct redis_dec *d, unsigned g)
{
	char member[48], nkeys[12];
	unsigned p, n = 0;
	int argc;
	struct redis_req *rq;

	if (!can_send(st) || (rq = req_new(st, REQ_INTERNAL)) == NULL)
		return;
	for (p = 0; p < d->nidx; p++) {
		int k;

		if (d->grp[p] != g)
			continue;
		if ((k = rule_key(st, d->rules, d->idx[p], &d->q, st->keys[n], sizeof(st->keys[n]))) < 0)
			continue; /* cannot be: decide named it the same way */
		st->argv[3 + n] = st->keys[n];
		st->argvlen[3 + n] = (size_t)k;
		if (d->rules->rules[d->idx[p]].cfg.kind == CFG_LIMIT_CONCURRENCY)
			snprintf(st->params[n][0], sizeof(st->params[n][0]), "c");
		else
			snprintf(st->params[n][0], sizeof(st->params[n][0]), "r");
		snprintf(st->params[n][1], sizeof(st->params[n][1]), "%" PRIu64, d->inc[p]);
		n++;
	}
	argc = evalsha_head(st, REDIS_SCRIPT_REFUND, n, nkeys, sizeof(nkeys), member, sizeof(member), d->lease_seq);
	for (p = 0; p < n; p++) {
		st->argv[argc] = st->params[p][0];
		st->argvlen[argc++] = 1;
		st->argv[argc] = st->params[p][1];
		st->argvlen[argc++] = strlen(st->params[p][1]);
	}
	if (n == 0 || !send_argv(st, rq, argc, true)) /* kept: NOSCRIPT retries it */
		req_free(rq);
}

/* Answer d from what its groups said so far (all of them, or a timeout).
 * A pass keeps the charges and notes the leases; a refusal refunds every
 * group that charged (those that charge later are refunded when their
 * reply comes). */
static void dec_answer(struct redis_store *st, struct redis_dec *d)
{
	struct pol_verdict v;
	bool over = false, unknown = false;
	unsigned g;

	if (d->answered)
		return;
	d->answered = true;
	for (g = 0; g < d->ngroups; g++)
		unknown = unknown || d->state[g] == GRP_WAIT || d->state[g] == GRP_FAILED;
	d->accepted = dec_verdict(d, &v, &over);
	if (over)
		st->stats.over++;
	else if (unknown)
		st->stats.failed++;
	for (g = 0; g < d->ngroups; g++) {
		if (d->state[g] != GRP_CHARGED)
			continue;
		if (d->accepted)
			leases_taken(st, d, g, true);
		else
			send_refund(st, d, g);
	}
	if (d->done != NULL)
		d->done(d->arg, d->token, &v);
}

const uint32_t redis_rtt_bounds_us[REDIS_RTT_BUCKETS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
};

static void rtt_note(struct redis_store *st, uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned b = 0;

	while (b < REDIS_RTT_BUCKETS && us > redis_rtt_bounds_us[b])
		b++;
	st->stats.rtt_bucket[b]++;
	st->stats.rtt_sum_us += us;
	st->stats.rtt_count++;
}

/* One group's decide reply: 0 charged, i > 0 its i-th key is over (nothing
 * charged), anything else (an error, NULL when the connection went) is no
 * answer. The last reply answers the decision; a late one (after the
 * timeout answered it) is kept or refunded by the verdict given. */
static void group_reply(struct redis_store *st, struct redis_req *rq, redisReply *reply)
{
	struct redis_dec *d = rq->dec;
	unsigned g = rq->group, p, nk = 0;
	enum grp_state state = GRP_FAILED;

	for (p = 0; p < d->nidx; p++)
		nk += d->grp[p] == g;
	if (reply != NULL && rq->sent_ns != 0)
		rtt_note(st, sl_clock_ns() - rq->sent_ns);
	if (reply != NULL && reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) {
		state = GRP_CHARGED;
	} else if (reply != NULL && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0 &&
		   reply->integer <= (long long)nk) {
		long long i = reply->integer;

		state = GRP_OVER;
		for (p = 0; p < d->nidx; p++)
			if (d->grp[p] == g && --i == 0)
				break;
		d->over[g] = (uint8_t)p;
	} else if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
		/* e.g. WRONGTYPE on a key someone else wrote, CROSSSLOT or MOVED
		 * from a cluster: log 1, 2, 4, 8... times */
		st->errors++;
		if ((st->errors & (st->errors - 1)) == 0)
			sl_warn("redis: decision failed (%" PRIu64 " so far): %s", st->errors, reply->str);
	}
	if (d->state[g] != GRP_WAIT)
		return;
	d->state[g] = (uint8_t)state;
	d->pending--;
	if (!d->answered) {
		if (d->pending == 0)
			dec_answer(st, d);
		return;
	}
	if (state == GRP_CHARGED) {
		if (d->accepted)
			leases_taken(st, d, g, false);
		else
			send_refund(st, d, g);
	}
}

static void on_reply(redisAsyncContext *ac, void *r, void *priv)
{
	struct redis_req *rq = priv;
	struct redis_store *st = rq->st;
	redisReply *reply = r;

	if (reply != NULL)
		st->last_reply = sl_evloop_now(st->conn.loop);
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR &&
	    strncmp(reply->str, "NOSCRIPT", 8) == 0 && !rq->retried && rq->cmd != NULL &&
	    can_send(st) && st->conn.ac == ac) {
		/* SCRIPT FLUSH or a restarted Redis: load again, then the same
		 * command once more, behind the load in the pipeline */
		st->stats.noscript++;
		if (!st->reloading)
			load_scripts(st);
		rq->retried = true;
		if (redisAsyncFormattedCommand(ac, on_reply, rq, rq->cmd, (size_t)rq->cmdlen) == REDIS_OK)
			return;
	}
	if (rq->kind == REQ_INTERNAL) {
		if (rq->script >= 1 && rq->script <= REDIS_SCRIPT_STORE_COUNT) {
			/* a SCRIPT LOAD */
			if (reply != NULL && reply->type == REDIS_REPLY_STRING &&
			    strcmp(reply->str, redis_script((enum redis_script_id)(rq->script - 1))->sha) != 0)
				sl_err("redis: script sha mismatch: %s", reply->str);
			if (rq->script == REDIS_SCRIPT_STORE_COUNT) {
				st->reloading = false;
				if (reply != NULL && reply->type != REDIS_REPLY_ERROR && st->conn.ac == ac &&
				    st->conn.state == REDIS_CONNECTING) {
					st->stats.connects++;
					redis_conn_ready(&st->conn);
				}
			}
			if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
				sl_err("redis: SCRIPT LOAD: %s", reply->str);
				if (st->conn.ac == ac)
					redis_conn_drop(&st->conn, "SCRIPT LOAD failed");
			}
		} else if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
			sl_warn("redis: %s", reply->str);
		}
		req_free(rq);
		return;
	}
	group_reply(st, rq, reply);
	req_free(rq);
}

/* ---- timeouts: every decision sent in one loop turn shares its deadline */

static uint64_t dead_ms(const struct redis_store *st)
{
	return SL_MAX((uint64_t)DEAD_MS_MIN, 10ull * st->timeout_ms);
}

/* The timer goes off at the first unanswered deadline, or when the oldest
 * request in flight would prove the connection dead. */
static void arm_timeout(struct redis_store *st)
{
	struct tw_wheel *w = sl_evloop_wheel(st->conn.loop);
	struct redis_req *rq;
	uint64_t at = UINT64_MAX;

	for (rq = st->head; rq != NULL && rq->dec->answered; rq = rq->next)
		;
	if (rq != NULL)
		at = rq->deadline;
	if (st->head != NULL)
		at = SL_MIN(at, SL_MAX(st->head->sent, st->last_reply) + dead_ms(st));
	if (at == UINT64_MAX)
		tw_cancel(w, &st->timeout_timer);
	else if (!tw_armed(&st->timeout_timer) || st->timeout_timer.expire != at)
		tw_arm(w, &st->timeout_timer, at);
}

static void on_timeout(struct tw_timer *t)
{
	struct redis_store *st = STORE_OF(t, timeout_timer);
	uint64_t now = sl_evloop_now(st->conn.loop);
	struct redis_req *rq;

	for (rq = st->head; rq != NULL; rq = rq->next) {
		if (rq->dec->answered)
			continue;
		if (rq->deadline > now)
			break;
		/* the groups still out are unknown: their rules' fail mode */
		st->stats.timeouts++;
		dec_answer(st, rq->dec);
	}
	/* replies come in order: if the oldest has waited this long and nothing
	 * came back meanwhile, Redis is hung or the path is dead */
	if (st->head != NULL && st->head->sent + dead_ms(st) <= now &&
	    st->last_reply + dead_ms(st) <= now) {
		redis_conn_drop(&st->conn, "no reply from Redis");
		return;
	}
	arm_timeout(st);
}

/* ---- the store */

/* Redis Cluster's hash tag of a key: what is between the first '{' and the
 * first '}' after it, when not empty; else the whole key. Keys with the
 * same tag are in one slot. */
static void key_tag(const char *key, size_t len, const char **tag, size_t *tlen)
{
	const char *o = memchr(key, '{', len), *c;

	*tag = key;
	*tlen = len;
	if (o == NULL || (c = memchr(o + 1, '}', len - (size_t)(o + 1 - key))) == NULL || c == o + 1)
		return;
	*tag = o + 1;
	*tlen = (size_t)(c - o - 1);
}

/* One group's decide: EVALSHA sha n k1..kn member t1 a1 b1 ... with the
 * keys st->keys holds for d's positions. */
static bool send_group(struct redis_store *st, struct redis_dec *d, unsigned g,
		       const int *klen, struct redis_req *rq)
{
	char member[48], nkeys[12];
	unsigned p, n = 0;
	int argc;

	for (p = 0; p < d->nidx; p++) {
		const struct pol_limit *r = &d->rules->rules[d->idx[p]];

		if (d->grp[p] != g)
			continue;
		st->argv[3 + n] = st->keys[p];
		st->argvlen[3 + n] = (size_t)klen[p];
		if (r->cfg.kind == CFG_LIMIT_CONCURRENCY) {
			snprintf(st->params[p][0], sizeof(st->params[p][0]), "%" PRIu64, r->cfg.count);
			snprintf(st->params[p][1], sizeof(st->params[p][1]), "%" PRIu64,
				 (uint64_t)st->lease_ms * 1000);
		} else {
			snprintf(st->params[p][0], sizeof(st->params[p][0]), "%" PRIu64, d->inc[p]);
			snprintf(st->params[p][1], sizeof(st->params[p][1]), "%" PRIu64,
				 to_us(r->gcra.tau_ns));
		}
		n++;
	}
	argc = evalsha_head(st, REDIS_SCRIPT_DECIDE, n, nkeys, sizeof(nkeys), member, sizeof(member), d->lease_seq);
	for (p = 0; p < d->nidx; p++) {
		if (d->grp[p] != g)
			continue;
		st->argv[argc] = d->rules->rules[d->idx[p]].cfg.kind == CFG_LIMIT_CONCURRENCY ? "c" : "r";
		st->argvlen[argc++] = 1;
		st->argv[argc] = st->params[p][0];
		st->argvlen[argc++] = strlen(st->params[p][0]);
		st->argv[argc] = st->params[p][1];
		st->argvlen[argc++] = strlen(st->params[p][1]);
	}
	return send_argv(st, rq, argc, true);
}

/* The rules of q's stage, grouped by hash tag, one decide per group, all
 * queued now (the same loop turn and write as the other decisions). A
 * stage whose keys share one tag is exactly one script. */
static void send_decision(struct redis_store *st, const struct pol_query *q, uint64_t token,
			  pol_done_fn done, void *arg)
{
	struct redis_rules *rs = st->rules;
	struct redis_dec *d;
	struct pol_verdict v;
	const char *tag[RULES_MAX];
	size_t tlen[RULES_MAX];
	int klen[RULES_MAX];
	uint8_t first[RULES_MAX];
	unsigned i, g, n = 0, sent = 0;
	uint64_t now = sl_evloop_now(st->conn.loop);

	d = calloc(1, sizeof(*d));
	if (d == NULL)
		goto fail_nomem;
	d->refs = 1;
	d->rules = rs;
	rs->refs++;
	d->q = *q;
	d->token = token;
	d->done = done;
	d->arg = arg;
	for (i = 0; i < rs->n && n < RULES_MAX; i++) {
		const struct pol_limit *r = &rs->rules[i];
		int k = rule_key(st, rs, i, q, st->keys[n], sizeof(st->keys[n]));

		if (k < 0)
			continue;
		d->idx[n] = (uint16_t)i;
		klen[n] = k;
		if (r->cfg.kind != CFG_LIMIT_CONCURRENCY)
			d->inc[n] = to_us(pol_gcra_increment(&r->gcra, pol_limit_cost(r, q)));
		key_tag(st->keys[n], (size_t)k, &tag[n], &tlen[n]);
		for (g = 0; g < d->ngroups; g++)
			if (tlen[first[g]] == tlen[n] && memcmp(tag[first[g]], tag[n], tlen[n]) == 0)
				break;
		if (g == d->ngroups)
			first[d->ngroups++] = (uint8_t)n;
		d->grp[n] = (uint8_t)g;
		n++;
	}
	d->nidx = n;
	if (n == 0) {
		/* no rule of this stage: nothing to ask */
		pol_verdict_accept(&v);
		if (done != NULL)
			done(arg, token, &v);
		dec_unref(d);
		return;
	}
	d->lease_seq = ++st->next_seq;
	d->pending = d->ngroups;
	for (g = 0; g < d->ngroups; g++) {
		struct redis_req *rq = can_send(st) ? req_new(st, REQ_DECIDE) : NULL;

		if (rq != NULL) {
			rq->dec = d;
			rq->group = g;
			d->refs++;
		}
		if (rq == NULL || !send_group(st, d, g, klen, rq)) {
			/* not queued: this group has no answer, its rules' fail mode */
			if (rq != NULL)
				req_free(rq);
			d->state[g] = GRP_FAILED;
			d->pending--;
			continue;
		}
		sent++;
		st->stats.round_trips++;
		rq->sent = now;
		rq->sent_ns = sl_clock_ns();
		rq->deadline = now + st->timeout_ms;
		if (st->head == NULL)
			st->last_reply = now; /* idle until now: start the dead-peer clock here */
		rq->in_fifo = true;
		rq->prev = st->tail;
		if (st->tail) st->tail->next = rq; else st->head = rq;
		st->tail = rq;
	}
	if (sent > 0) {
		if (now != st->last_send)
			st->stats.batches++;
		st->last_send = now;
		if (!tw_armed(&st->timeout_timer) || st->timeout_timer.expire > now + st->timeout_ms)
			tw_arm(sl_evloop_wheel(st->conn.loop), &st->timeout_timer, now + st->timeout_ms);
	}
	if (d->pending == 0)
		dec_answer(st, d); /* nothing queued: Redis down or no memory */
	dec_unref(d);
	return;
fail_nomem:
	/* no memory for the decision: the same as an unreachable store */
	{
		uint16_t idx[RULES_MAX];
		char k[KEY_BUF];

		for (i = 0, n = 0; i < rs->n && n < RULES_MAX; i++)
			if (rule_key(st, rs, i, q, k, sizeof(k)) >= 0)
				idx[n++] = (uint16_t)i;
		st->stats.failed++;
		fail_verdict(rs, idx, n, &v);
		if (done != NULL)
			done(arg, token, &v);
	}
}

/* END: give back the slot CONNECT took, one of this node's leases per key. */
static void release(struct redis_store *st, const struct pol_query *q)
{
	struct redis_rules *rs = st->rules;
	struct pol_query cq = *q;
	char key[KEY_BUF];

	cq.stage = POL_STAGE_CONNECT;
	for (unsigned i = 0; i < rs->n; i++) {
		struct lease_key *lk;
		int n;

		if (rs->rules[i].cfg.kind != CFG_LIMIT_CONCURRENCY)
			continue;
		if ((n = rule_key(st, rs, i, &cq, key, sizeof(key))) < 0)
			continue;
		lk = lease_find(st, key, (size_t)n, false);
		if (lk == NULL || lk->n == 0)
			continue; /* fail-open CONNECT, or taken under another rule set */
		send_zrem(st, key, (size_t)n, lk->seq[--lk->n]);
		st->stats.leases--;
		if (lk->n == 0)
			lease_key_free(st, lk);
	}
}

static void rs_decide(struct pol_store *base, const struct pol_query *q, uint64_t now_ms,
		      uint64_t token, pol_done_fn done, void *arg)
{
	struct redis_store *st = (struct redis_store *)base;
	struct pol_verdict v;

	(void)now_ms; /* the server's clock decides */
	st->stats.decisions++;
	if (q->stage == POL_STAGE_END || q->skip_limits || q->stage >= POL_STAGE_COUNT) {
		if (q->stage == POL_STAGE_END)
			release(st, q);
		pol_verdict_accept(&v);
		if (done != NULL)
			done(arg, token, &v);
		return;
	}
	send_decision(st, q, token, done, arg);
}

/* Is key one of rs's concurrency counters (by its "}:<suffix>" end)? */
static bool lease_key_live(const struct redis_rules *rs, const struct lease_key *lk)
{
	for (unsigned i = 0; i < rs->n; i++) {
		size_t n = strlen(rs->suffix[i]);

		if (rs->rules[i].cfg.kind != CFG_LIMIT_CONCURRENCY || !rs->rules[i].active)
			continue;
		if (lk->klen > n + 2 && memcmp(lk->key + lk->klen - n - 2, "}:", 2) == 0 &&
		    memcmp(lk->key + lk->klen - n, rs->suffix[i], n) == 0)
			return true;
	}
	return false;
}

/* New rules keep the counters of the rules that stay (same names). Leases
 * under a concurrency rule that went away can never be released by an END
 * (it names the new rules' keys): stop refreshing them and let them run out. */
static int rs_apply(struct pol_store *base, const struct cfg *c)
{
	struct redis_store *st = (struct redis_store *)base;
	struct redis_rules *rs = rules_build(c);

	if (rs == NULL)
		return SL_ERROR;
	rules_unref(st->rules);
	st->rules = rs;
	for (unsigned b = 0; b < LEASE_BUCKETS; b++) {
		struct lease_key *lk = st->leases[b], *next;

		for (; lk != NULL; lk = next) {
			next = lk->next;
			if (!lease_key_live(rs, lk)) {
				st->stats.leases -= lk->n;
				lease_key_free(st, lk);
			}
		}
	}
	/* the timings apply at once; where Redis is and the key names need a
	 * new store (redis_store_same_server) */
	if (c != NULL && c->redis_timeout_ms > 0)
		st->timeout_ms = c->redis_timeout_ms;
	if (c != NULL && c->redis_lease_ms > 0)
		st->lease_ms = c->redis_lease_ms;
	return SL_OK;
}

bool redis_store_same_server(const struct cfg *a, const struct cfg *b)
{
	return a->policy_store == b->policy_store &&
	       (a->policy_store != CFG_POLICY_REDIS ||
		(sl_addr_equal(&a->redis_addr, &b->redis_addr) && a->redis_addr.port == b->redis_addr.port &&
		 strcmp(a->redis_path, b->redis_path) == 0 &&
		 strcmp(a->redis_password, b->redis_password) == 0 && a->redis_db == b->redis_db &&
		 strcmp(a->redis_prefix, b->redis_prefix) == 0 &&
		 a->redis_connect_timeout_ms == b->redis_connect_timeout_ms));
}

static void refresh_leases(struct redis_store *st)
{
	char lease[24];
	size_t cap = 0;
	char (*names)[48] = NULL;

	snprintf(lease, sizeof(lease), "%" PRIu64, (uint64_t)st->lease_ms * 1000);
	for (unsigned b = 0; b < LEASE_BUCKETS && can_send(st); b++) {
		for (struct lease_key *lk = st->leases[b]; lk != NULL && can_send(st); lk = lk->next) {
			const char **argv;
			size_t *argvlen;
			struct redis_req *rq;
			char *cmd = NULL;
			int len;

			if (lk->n + 5 > cap) {
				size_t nc = lk->n + 5;
				void *p = realloc(names, nc * sizeof(*names));
				if (p == NULL)
					continue;
				names = p;
				cap = nc;
			}
			argv = calloc(lk->n + 5, sizeof(*argv));
			argvlen = calloc(lk->n + 5, sizeof(*argvlen));
			if (argv == NULL || argvlen == NULL) {
				free(argv);
				free(argvlen);
				continue;
			}
			argv[0] = "EVALSHA"; argvlen[0] = 7;
			argv[1] = redis_script(REDIS_SCRIPT_REFRESH)->sha; argvlen[1] = 40;
			argv[2] = "1"; argvlen[2] = 1;
			argv[3] = lk->key; argvlen[3] = lk->klen;
			argv[4] = lease; argvlen[4] = strlen(lease);
			for (unsigned i = 0; i < lk->n; i++) {
				argv[5 + i] = names[i];
				argvlen[5 + i] = (size_t)member_name(st, lk->seq[i], names[i], sizeof(names[i]));
			}
			len = redisFormatCommandArgv(&cmd, (int)lk->n + 5, argv, argvlen);
			free(argv);
			free(argvlen);
			if (len < 0 || (rq = req_new(st, REQ_INTERNAL)) == NULL) {
				if (cmd != NULL)
					redisFreeCommand(cmd);
				continue;
			}
			rq->cmd = cmd; /* kept: NOSCRIPT retries it */
			rq->cmdlen = len;
			if (redisAsyncFormattedCommand(st->conn.ac, on_reply, rq, cmd, (size_t)len) != REDIS_OK)
				req_free(rq);
		}
	}
	free(names);
}

static void on_refresh(struct tw_timer *t)
{
	struct redis_store *st = STORE_OF(t, refresh_timer);

	refresh_leases(st);
	tw_arm(sl_evloop_wheel(st->conn.loop), &st->refresh_timer,
	       sl_evloop_now(st->conn.loop) + SL_MAX(st->lease_ms / 3, 1u));
}

static void rs_tick(struct pol_store *base, uint64_t now_ms)
{
	(void)base;
	(void)now_ms; /* timers of our own do the work: refresh, timeouts, reconnect */
}

static void rs_destroy(struct pol_store *base)
{
	struct redis_store *st = (struct redis_store *)base;

	if (st == NULL)
		return;
	/* Leases are left to run out: after a shutdown or a crash alike. */
	st->destroying = true;
	tw_cancel(sl_evloop_wheel(st->conn.loop), &st->timeout_timer);
	tw_cancel(sl_evloop_wheel(st->conn.loop), &st->refresh_timer);
	/* every request still in hiredis gets its callback (NULL reply) here,
	 * and with it the fail-mode verdict */
	redis_conn_fini(&st->conn);
	for (unsigned b = 0; b < LEASE_BUCKETS; b++)
		while (st->leases[b] != NULL)
			lease_key_free(st, st->leases[b]);
	rules_unref(st->rules);
	free(st->prefix);
	free(st);
}

static void on_setup(struct redis_conn *rc, void *arg)
{
	struct redis_store *st = arg;

	(void)rc;
	st->reloading = false;
	load_scripts(st);
}

static const struct pol_store_ops redis_ops = {
	.name = "redis",
	.decide = rs_decide,
	.apply = rs_apply,
	.tick = rs_tick,
	.destroy = rs_destroy,
};

struct pol_store *redis_store_new_opts(const struct cfg *c, struct sl_evloop *loop,
				       const struct redis_store_opts *o)
{
	struct redis_store *st = calloc(1, sizeof(*st));
	bool target_ok;

	if (st == NULL)
		return NULL;
	redis_scripts_init();
	st->base.ops = &redis_ops;
	redis_conn_init(&st->conn, loop);
	target_ok = redis_conn_target(&st->conn, o->host, o->port, o->path, o->password, o->db,
				      o->connect_timeout_ms, o->backoff_min_ms, o->backoff_max_ms);
	st->conn.on_setup = on_setup;
	st->conn.arg = st;
	st->prefix = strdup(o->prefix ? o->prefix : REDIS_DEFAULT_PREFIX);
	st->timeout_ms = o->timeout_ms ? o->timeout_ms : REDIS_DEFAULT_TIMEOUT_MS;
	st->lease_ms = o->lease_ms ? o->lease_ms : REDIS_DEFAULT_LEASE_MS;
	st->rules = rules_build(c);
	if (getrandom(&st->node, sizeof(st->node), GRND_NONBLOCK) != sizeof(st->node))
		st->node = st->conn.rng * 0x9e3779b97f4a7c15ull;
	tw_timer_init(&st->timeout_timer, on_timeout);
	tw_timer_init(&st->refresh_timer, on_refresh);
	if (st->prefix == NULL || st->rules == NULL || !target_ok) {
		rs_destroy(&st->base);
		return NULL;
	}
	if (strchr(st->prefix, '{') != NULL || strchr(st->prefix, '}') != NULL)
		sl_warn("redis: prefix \"%s\" holds a brace: the hash tags will not be the key values",
			st->prefix);
	tw_arm(sl_evloop_wheel(loop), &st->refresh_timer,
	       sl_evloop_now(loop) + SL_MAX(st->lease_ms / 3, 1u));
	redis_conn_start(&st->conn);
	return &st->base;
}

struct pol_store *redis_store_new(const struct cfg *c, struct sl_evloop *loop)
{
	struct redis_store_opts o = { 0 };
	char host[SL_ADDR_STRLEN];

	if (c->redis_path[0] != '\0') {
		o.path = c->redis_path;
	} else {
		o.host = sl_addr_format(&c->redis_addr, host, sizeof(host), false);
		o.port = c->redis_addr.port;
	}
	o.password = c->redis_password[0] != '\0' ? c->redis_password : NULL;
	o.db = (int)c->redis_db;
	o.prefix = c->redis_prefix[0] != '\0' ? c->redis_prefix : NULL;
	o.timeout_ms = c->redis_timeout_ms;
	o.connect_timeout_ms = c->redis_connect_timeout_ms;
	o.lease_ms = c->redis_lease_ms;
	return redis_store_new_opts(c, loop, &o);
}

void redis_store_stats(const struct pol_store *base, struct redis_store_stats *out)
{
	const struct redis_store *st = (const struct redis_store *)base;

	*out = st->stats;
	out->up = st->conn.state == REDIS_UP;
	out->writes = st->conn.writes;
	out->errors = st->errors;
}
