/* backend_pool.c - weighted least-connections backend choice, passive and active health, drain. */
#include "backend_pool.h"

#include <stdio.h>
#include <string.h>

#include "util/sl_log.h"
#include "util/sl_status.h"

void backend_pool_init(struct backend_pool *p)
{
	memset(p, 0, sizeof(*p));
	for (unsigned i = 0; i < CFG_BACKEND_MAX; i++) {
		struct backend_slot *s = &p->slots[i];
		atomic_init(&s->active, 0);
		atomic_init(&s->in_use, false);
		atomic_init(&s->up, true);
		atomic_init(&s->drained, false);
		atomic_init(&s->fails, 0);
		atomic_init(&s->health_ok, 0);
		atomic_init(&s->health_bad, 0);
		atomic_init(&s->picked, 0);
	}
	atomic_init(&p->rr, 0);
}

static int slot_by_name(const struct backend_pool *p, const char *name)
{
	int found = -1;

	for (int i = 0; i < CFG_BACKEND_MAX; i++) {
		const struct backend_slot *s = &p->slots[i];
		if (s->cfg.name[0] == '\0' || strcmp(s->cfg.name, name) != 0)
			continue;
		if (atomic_load(&s->in_use))
			return i;
		found = i;   /* removed earlier, maybe still held: re-adding keeps its counters */
	}
	return found;
}

/*
 * backend_pool_apply - plan first, then commit, so a config that cannot be
 * placed leaves the pool as it was. A slot whose backend was removed keeps
 * its name and counters while sessions still hold it; it is reused for a new
 * backend only once idle, so late releases never touch a stranger's count.
 */
int backend_pool_apply(struct backend_pool *p, const struct cfg *c)
{
	int plan[CFG_BACKEND_MAX];
	bool taken[CFG_BACKEND_MAX] = { false };
	unsigned i;

	if (c->nbackends > CFG_BACKEND_MAX)
		return SL_ERROR;
	for (i = 0; i < c->nbackends; i++) {
		plan[i] = slot_by_name(p, c->backends[i].name);
		if (plan[i] >= 0) {
			if (taken[plan[i]])
				return SL_ERROR;   /* the same name twice */
			taken[plan[i]] = true;
		}
	}
	for (i = 0; i < c->nbackends; i++) {
		if (plan[i] >= 0)
			continue;
		/* A free slot: never used first, then idle ones removed earlier, then
		 * idle ones this config removes (still in use by name until commit). */
		for (int pass = 0; pass < 3 && plan[i] < 0; pass++) {
			for (int k = 0; k < CFG_BACKEND_MAX; k++) {
				struct backend_slot *s = &p->slots[k];
				bool used = atomic_load(&s->in_use);
				if (taken[k])
					continue;
				if (pass == 0 && (used || s->cfg.name[0] != '\0'))
					continue;
				if (pass == 1 && (used || atomic_load(&s->active) != 0))
					continue;
				if (pass == 2 && atomic_load(&s->active) != 0)
					continue;
				plan[i] = k;
				taken[k] = true;
				break;
			}
		}
		if (plan[i] < 0)
			return SL_ERROR;
	}

	/* commit: drop what is gone, then (re)configure */
	for (int k = 0; k < CFG_BACKEND_MAX; k++)
		if (!taken[k])
			atomic_store(&p->slots[k].in_use, false);
	for (i = 0; i < c->nbackends; i++) {
		struct backend_slot *s = &p->slots[plan[i]];
		bool same = strcmp(s->cfg.name, c->backends[i].name) == 0;

		if (!same)
			atomic_store(&s->in_use, false);   /* stop picks while it changes hands */
		s->cfg = c->backends[i];
		if (!same) {
			atomic_store(&s->active, 0);
			atomic_store(&s->up, true);
			atomic_store(&s->drained, false);
			atomic_store(&s->fails, 0);
			atomic_store(&s->health_ok, 0);
			atomic_store(&s->health_bad, 0);
			atomic_store(&s->picked, 0);
		}
		atomic_store(&s->in_use, true);
	}
	return SL_OK;
}

int backend_pool_pick(struct backend_pool *p, uint64_t exclude)
{
	for (;;) {
		int cand[CFG_BACKEND_MAX];
		uint32_t act[CFG_BACKEND_MAX];
		int ncand = 0, ntie = 0, best = -1;
		uint64_t ba = 0, bw = 1;

		for (int i = 0; i < CFG_BACKEND_MAX; i++) {
			struct backend_slot *s = &p->slots[i];
			if (i < 64 && (exclude & ((uint64_t)1 << i)))
				continue;
			if (!atomic_load(&s->in_use) || !atomic_load(&s->up) || atomic_load(&s->drained))
				continue;
			uint32_t a = atomic_load(&s->active);
			if (s->cfg.max_conns != 0 && a >= s->cfg.max_conns)
				continue;
			uint64_t w = s->cfg.weight ? s->cfg.weight : 1;
			/* (a+1)/w < (ba+1)/bw, cross-multiplied */
			uint64_t lhs = ((uint64_t)a + 1) * bw, rhs = (ba + 1) * w;
			if (best < 0 || lhs < rhs) {
				best = i;
				ba = a;
				bw = w;
				ntie = 1;
			} else if (lhs == rhs) {
				ntie++;
			}
			act[ncand] = a;
			cand[ncand++] = i;
		}
		if (best < 0)
			return -1;

		/* ties take turns */
		uint32_t turn = atomic_fetch_add(&p->rr, 1) % (uint32_t)ntie;
		int pick = -1;
		uint32_t pa = 0;
		for (int k = 0; k < ncand; k++) {
			uint64_t w = p->slots[cand[k]].cfg.weight ? p->slots[cand[k]].cfg.weight : 1;
			if (((uint64_t)act[k] + 1) * bw != (ba + 1) * w)
				continue;
			if (turn-- == 0) {
				pick = cand[k];
				pa = act[k];
				break;
			}
		}

		/* Take the session only if nobody moved the count since we looked:
		 * that is what keeps max_conns exact across workers. */
		struct backend_slot *s = &p->slots[pick];
		if (atomic_compare_exchange_strong(&s->active, &pa, pa + 1)) {
			atomic_fetch_add(&s->picked, 1);
			return pick;
		}
	}
}

void backend_pool_release(struct backend_pool *p, int idx)
{
	if (idx < 0 || idx >= CFG_BACKEND_MAX)
		return;
	_Atomic uint32_t *a = &p->slots[idx].active;
	uint32_t v = atomic_load(a);
	while (v > 0 && !atomic_compare_exchange_weak(a, &v, v - 1))
		;
}

static void log_transition(const struct backend_slot *s, const char *state, const char *why)
{
	char addr[SL_ADDR_STRLEN];

	sl_info("backend %s %s is %s: %s", s->cfg.name,
		sl_addr_format(&s->cfg.addr, addr, sizeof(addr), true), state, why);
}

void backend_pool_connect_result(struct backend_pool *p, int idx, bool ok, uint32_t fall)
{
	if (idx < 0 || idx >= CFG_BACKEND_MAX)
		return;
	struct backend_slot *s = &p->slots[idx];

	if (ok) {
		atomic_store(&s->fails, 0);
		return;
	}
	uint32_t f = atomic_fetch_add(&s->fails, 1) + 1;
	if (fall == 0 || f < fall)
		return;
	bool was_up = true;
	/* one worker wins the transition and logs it */
	if (atomic_compare_exchange_strong(&s->up, &was_up, false)) {
		char why[64];
		atomic_store(&s->health_ok, 0);
		snprintf(why, sizeof(why), "%u connect failures in a row", f);
		log_transition(s, "down", why);
	}
}

void backend_pool_health_result_why(struct backend_pool *p, int idx, bool ok, uint32_t rise,
				    uint32_t fall, const char *why)
{
	if (idx < 0 || idx >= CFG_BACKEND_MAX)
		return;
	struct backend_slot *s = &p->slots[idx];
	char msg[160];

	if (rise == 0)
		rise = 1;
	if (fall == 0)
		fall = 1;
	if (ok) {
		atomic_store(&s->health_bad, 0);
		uint32_t n = atomic_fetch_add(&s->health_ok, 1) + 1;
		bool was_up = false;
		if (n >= rise && atomic_compare_exchange_strong(&s->up, &was_up, true)) {
			atomic_store(&s->fails, 0);
			snprintf(msg, sizeof(msg), "%u health check%s passed", n, n == 1 ? "" : "s");
			log_transition(s, "up", msg);
		}
		return;
	}
	atomic_store(&s->health_ok, 0);
	uint32_t n = atomic_fetch_add(&s->health_bad, 1) + 1;
	bool was_up = true;
	if (n >= fall && atomic_compare_exchange_strong(&s->up, &was_up, false)) {
		snprintf(msg, sizeof(msg), "%u health check%s failed%s%s%s", n, n == 1 ? "" : "s",
			 why != NULL ? " (last: " : "", why != NULL ? why : "", why != NULL ? ")" : "");
		log_transition(s, "down", msg);
	}
}

void backend_pool_health_result(struct backend_pool *p, int idx, bool ok, uint32_t rise, uint32_t fall)
{
	backend_pool_health_result_why(p, idx, ok, rise, fall, NULL);
}

int backend_pool_find(const struct backend_pool *p, const char *name)
{
	for (int i = 0; i < CFG_BACKEND_MAX; i++)
		if (atomic_load(&p->slots[i].in_use) && strcmp(p->slots[i].cfg.name, name) == 0)
			return i;
	return -1;
}

void backend_pool_drain(struct backend_pool *p, int idx, bool drained)
{
	if (idx < 0 || idx >= CFG_BACKEND_MAX)
		return;
	atomic_store(&p->slots[idx].drained, drained);
}
