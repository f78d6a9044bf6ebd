/* pol_store_embedded.c - the in-process limit store: GCRA buckets and session counts, decided at once. */
#include <stdlib.h>
#include <string.h>

#include "policy/pol_limit.h"
#include "policy/pol_priv.h"
#include "policy/pol_table.h"

/* Slots looked at per tick(): with ticks every 100 ms a 1M-slot table is
 * swept in under a minute, at a few microseconds per tick. */
#define POL_TICK_BUDGET 4096

struct pol_charge {
	const struct pol_limit *rule;
	uint64_t fp;
	uint64_t val; /* what the bucket holds once committed */
};

struct pol_store_embedded {
	struct pol_store base;
	struct pol_limit *rules;
	unsigned nrules;
	struct pol_charge *charges; /* nrules of scratch: decide() never allocates */
	uint32_t next_uid;
	uint64_t now_ns;            /* the latest time seen: the store's clock never goes back */
	struct pol_table table;
	struct pol_store_stats stats;
};

static const struct pol_limit *rule_by_uid(const struct pol_store_embedded *e, uint32_t uid)
{
	unsigned i;

	for (i = 0; i < e->nrules; i++)
		if (e->rules[i].uid == uid)
			return &e->rules[i];
	return NULL;
}

static bool bucket_reclaimable(const struct pol_bucket *b, void *arg)
{
	const struct pol_store_embedded *e = arg;
	const struct pol_limit *r = rule_by_uid(e, b->uid);

	if (r == NULL || !r->active)
		return true; /* its rule went away in apply() */
	if (r->cfg.kind == CFG_LIMIT_CONCURRENCY)
		return b->val == 0;
	return pol_gcra_idle(b->val, e->now_ns);
}

static uint64_t key_fp(const struct pol_limit *r, const char *key, int n)
{
	uint64_t h = sl_hash_bytes(SL_HASH_SEED, &r->uid, sizeof(r->uid));

	return pol_table_fp(sl_hash_mix(sl_hash_bytes(h, key, (size_t)n)));
}

static void advance_clock(struct pol_store_embedded *e, uint64_t now_ms)
{
	unsigned __int128 ns = (unsigned __int128)now_ms * POL_NS_PER_MS;
	uint64_t now = ns > UINT64_MAX / 4 ? UINT64_MAX / 4 : (uint64_t)ns;

	/* A step back must not make a reclaimed bucket look fresh: hold the
	 * clock until real time catches up. */
	if (now > e->now_ns)
		e->now_ns = now;
}

static void release(struct pol_store_embedded *e, const struct pol_query *q)
{
	struct pol_query cq = *q;
	char key[POL_KEY_MAX];
	unsigned i;

	cq.stage = POL_STAGE_CONNECT; /* the key the CONNECT charged */
	for (i = 0; i < e->nrules; i++) {
		const struct pol_limit *r = &e->rules[i];
		struct pol_bucket *b;
		int n;

		if (r->cfg.kind != CFG_LIMIT_CONCURRENCY)
			continue;
		if ((n = pol_limit_key(r, &cq, key, sizeof(key))) < 0)
			continue;
		b = pol_table_find(&e->table, r->uid, key_fp(r, key, n));
		if (b == NULL || b->val == 0)
			continue; /* taken before a reload made the rule, or the table was full */
		if (--b->val == 0)
			pol_table_delete(&e->table, b);
	}
}

/* Check every rule of the stage, then charge them all, or none. */
static void decide_limits(struct pol_store_embedded *e, const struct pol_query *q,
			  struct pol_verdict *v)
{
	char key[POL_KEY_MAX];
	unsigned i, nc = 0;

	for (i = 0; i < e->nrules; i++) {
		const struct pol_limit *r = &e->rules[i];
		struct pol_charge *c = &e->charges[nc];
		struct pol_bucket *b;
		uint64_t cur;
		bool ok;
		int n;

		if ((n = pol_limit_key(r, q, key, sizeof(key))) < 0)
			continue;
		c->rule = r;
		c->fp = key_fp(r, key, n);
		b = pol_table_find(&e->table, r->uid, c->fp);
		cur = b ? b->val : 0;
		if (r->cfg.kind == CFG_LIMIT_CONCURRENCY) {
			ok = cur < r->cfg.count;
			c->val = cur + 1;
		} else {
			ok = pol_gcra_check(&r->gcra, cur, e->now_ns, pol_limit_cost(r, q), &c->val,
					    NULL);
		}
		if (!ok) {
			/* config order: the first rule over decides the reply */
			e->stats.over++;
			pol_limit_over(r, v);
			return;
		}
		nc++;
	}
	for (i = 0; i < nc; i++) {
		struct pol_bucket *b = pol_table_insert(&e->table, e->charges[i].rule->uid,
							e->charges[i].fp);
		if (b == NULL) {
			e->stats.full++; /* bounded memory first: let it pass uncounted */
			continue;
		}
		b->val = e->charges[i].val;
	}
}

static void emb_decide(struct pol_store *st, const struct pol_query *q, uint64_t now_ms,
		       uint64_t token, pol_done_fn done, void *arg)
{
	struct pol_store_embedded *e = (struct pol_store_embedded *)st;
	struct pol_verdict v;

	pol_verdict_accept(&v);
	e->stats.decisions++;
	advance_clock(e, now_ms);
	if (q->stage == POL_STAGE_END)
		release(e, q);
	else if (!q->skip_limits && q->stage < POL_STAGE_COUNT)
		decide_limits(e, q, &v);
	if (done != NULL)
		done(arg, token, &v);
}

static int compile_rules(const struct cfg *c, struct pol_limit **rules, unsigned *n,
			 struct pol_charge **charges)
{
	unsigned i, nl = c ? c->nlimits : 0;

	*rules = calloc(nl ? nl : 1, sizeof(**rules));
	*charges = calloc(nl ? nl : 1, sizeof(**charges));
	if (*rules == NULL || *charges == NULL) {
		free(*rules);
		free(*charges);
		return -1;
	}
	for (i = 0; i < nl; i++)
		pol_limit_compile(&(*rules)[i], &c->limits[i]);
	*n = nl;
	return 0;
}

/* A rule that keeps its counters keeps its uid; the buckets of the others
 * become dead and are reclaimed by tick() or reused by inserts. */
static int emb_apply(struct pol_store *st, const struct cfg *c)
{
	struct pol_store_embedded *e = (struct pol_store_embedded *)st;
	struct pol_limit *rules;
	struct pol_charge *charges;
	bool *taken;
	unsigned n, i, j;

	if (compile_rules(c, &rules, &n, &charges) < 0)
		return SL_ERROR;
	taken = calloc(e->nrules ? e->nrules : 1, sizeof(*taken));
	if (taken == NULL) {
		free(rules);
		free(charges);
		return SL_ERROR;
	}
	for (i = 0; i < n; i++) {
		rules[i].uid = 0;
		for (j = 0; j < e->nrules; j++) {
			if (!taken[j] && pol_limit_same_counter(&rules[i], &e->rules[j])) {
				taken[j] = true; /* two equal rules get one old uid each */
				rules[i].uid = e->rules[j].uid;
				break;
			}
		}
		if (rules[i].uid == 0)
			rules[i].uid = e->next_uid++;
	}
	free(taken);
	free(e->rules);
	free(e->charges);
	e->rules = rules;
	e->charges = charges;
	e->nrules = n;
	return SL_OK;
}

static void emb_tick(struct pol_store *st, uint64_t now_ms)
{
	struct pol_store_embedded *e = (struct pol_store_embedded *)st;

	advance_clock(e, now_ms);
	pol_table_sweep(&e->table, POL_TICK_BUDGET);
}

static void emb_destroy(struct pol_store *st)
{
	struct pol_store_embedded *e = (struct pol_store_embedded *)st;

	if (e == NULL)
		return;
	pol_table_fini(&e->table);
	free(e->rules);
	free(e->charges);
	free(e);
}

static const struct pol_store_ops emb_ops = {
	.name = "embedded",
	.decide = emb_decide,
	.apply = emb_apply,
	.tick = emb_tick,
	.destroy = emb_destroy,
};

struct pol_store *pol_store_embedded_new_cap(const struct cfg *c, uint32_t capacity)
{
	struct pol_store_embedded *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->base.ops = &emb_ops;
	e->next_uid = 1;
	if (pol_table_init(&e->table, capacity, bucket_reclaimable, e) < 0)
		goto fail;
	e->rules = calloc(1, sizeof(*e->rules));
	e->charges = calloc(1, sizeof(*e->charges));
	if (e->rules == NULL || e->charges == NULL)
		goto fail;
	if (c != NULL && emb_apply(&e->base, c) != SL_OK)
		goto fail;
	return &e->base;
fail:
	emb_destroy(&e->base);
	return NULL;
}

struct pol_store *pol_store_embedded_new(const struct cfg *c)
{
	return pol_store_embedded_new_cap(c, POL_STORE_EMBEDDED_CAPACITY);
}

void pol_store_embedded_stats(const struct pol_store *st, struct pol_store_stats *out)
{
	const struct pol_store_embedded *e = (const struct pol_store_embedded *)st;

	*out = e->stats;
	out->reclaimed = e->table.reclaimed;
	out->buckets = e->table.n;
	out->capacity = e->table.capacity;
}
