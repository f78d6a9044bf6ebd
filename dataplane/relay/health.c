/* health.c - when the backends are checked and what their results do to the pool, on the control thread. */
#include "health.h"
#include "health_priv.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/sl_log.h"
#include "util/sl_status.h"

/* One check in flight per backend slot, at most. */
struct health_slot {
	struct health_checker *h;
	uint16_t        idx;
	bool            running;
	uint32_t        id;        /**< the check awaited */
	struct sl_addr  addr;      /**< what is being checked (the slot may be reconfigured) */
	struct tw_timer timeout;
};

struct health_checker {
	struct sl_evloop     *loop;
	struct backend_pool  *pool;
	uint32_t              interval_ms;
	uint32_t              timeout_ms;
	uint32_t              rise, fall;
	uint32_t              next_id;
	struct tw_timer       tick;
	const struct health_runner_ops *ops;
	void                 *runner;
	health_post_fn        post;   /**< the posted runner's */
	void                 *post_arg;
	struct health_slot    slots[CFG_BACKEND_MAX];
};

static void finish(struct health_slot *s, enum health_result r, const char *why)
{
	struct health_checker *h = s->h;
	char addr[SL_ADDR_STRLEN];

	tw_cancel(sl_evloop_wheel(h->loop), &s->timeout);
	s->running = false;
	if (r == HEALTH_SKIP) {
		sl_debug("health check of backend %s not run: %s", h->pool->slots[s->idx].cfg.name,
			 why != NULL ? why : "?");
		return;
	}
	if (r != HEALTH_PASS)
		sl_debug("health check of backend %s %s failed: %s", h->pool->slots[s->idx].cfg.name,
			 sl_addr_format(&s->addr, addr, sizeof(addr), true), why != NULL ? why : "?");
	backend_pool_health_result_why(h->pool, s->idx, r == HEALTH_PASS, h->rise, h->fall, why);
}

void health_checker_result(struct health_checker *h, uint16_t idx, uint32_t id, enum health_result r,
			   const char *why)
{
	struct health_slot *s;

	if (h == NULL || idx >= CFG_BACKEND_MAX)
		return;
	s = &h->slots[idx];
	if (!s->running || s->id != id)
		return;   /* stale: that check was given up */
	finish(s, r, why);
}

static void slot_timeout(struct tw_timer *t)
{
	struct health_slot *s = (struct health_slot *)((char *)t - offsetof(struct health_slot, timeout));
	char why[HEALTH_WHY_MAX] = "timeout";

	s->h->ops->stop(s->h->runner, s->idx, why, sizeof(why));
	finish(s, HEALTH_FAIL, why);
}

static void slot_stop(struct health_slot *s)
{
	if (!s->running)
		return;
	s->h->ops->stop(s->h->runner, s->idx, NULL, 0);
	tw_cancel(sl_evloop_wheel(s->h->loop), &s->timeout);
	s->running = false;
}

static void slot_start(struct health_checker *h, struct health_slot *s)
{
	const struct backend_slot *b = &h->pool->slots[s->idx];
	struct health_probe_req r = {
		.idx = s->idx,
		.proxy = (uint8_t)b->cfg.proxy,
		.timeout_ms = h->timeout_ms,
		.addr = b->cfg.addr,
	};
	char why[HEALTH_WHY_MAX] = "";
	int st;

	if (++h->next_id == 0)
		h->next_id = 1;   /* 0 is never a check */
	r.id = h->next_id;
	s->id = r.id;
	s->addr = r.addr;
	s->running = true;
	tw_arm(sl_evloop_wheel(h->loop), &s->timeout, sl_evloop_now(h->loop) + h->timeout_ms + h->ops->slack_ms);
	st = h->ops->start(h->runner, &r, why, sizeof(why));
	if (st == SL_ERROR)
		finish(s, HEALTH_FAIL, why);
	else if (st == SL_DECLINED)
		finish(s, HEALTH_SKIP, why);
}

static void health_tick(struct tw_timer *t)
{
	struct health_checker *h = (struct health_checker *)((char *)t - offsetof(struct health_checker, tick));

	if (h->interval_ms == 0)
		return;
	tw_arm(sl_evloop_wheel(h->loop), &h->tick, sl_evloop_now(h->loop) + h->interval_ms);
	for (int i = 0; i < CFG_BACKEND_MAX; i++)
		if (atomic_load(&h->pool->slots[i].in_use) && !h->slots[i].running)
			slot_start(h, &h->slots[i]);
}

static void health_set(struct health_checker *h, const struct cfg *c)
{
	uint32_t old = h->interval_ms;

	h->interval_ms = c->relay.health_interval_ms;
	h->timeout_ms = c->relay.health_timeout_ms ? c->relay.health_timeout_ms : 5000;
	/* a check cannot take longer than the gap between two */
	if (h->interval_ms != 0 && h->timeout_ms > h->interval_ms)
		h->timeout_ms = h->interval_ms;
	h->rise = c->relay.health_rise;
	h->fall = c->relay.health_fall;
	if (h->interval_ms == 0)
		tw_cancel(sl_evloop_wheel(h->loop), &h->tick);
	else if (old != h->interval_ms || !tw_armed(&h->tick))
		/* the first round starts at once, then every interval */
		tw_arm(sl_evloop_wheel(h->loop), &h->tick, sl_evloop_now(h->loop));
}

static struct health_checker *checker_new(struct sl_evloop *l, struct backend_pool *pool)
{
	struct health_checker *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->loop = l;
	h->pool = pool;
	tw_timer_init(&h->tick, health_tick);
	for (int i = 0; i < CFG_BACKEND_MAX; i++) {
		struct health_slot *s = &h->slots[i];
		s->h = h;
		s->idx = (uint16_t)i;
		tw_timer_init(&s->timeout, slot_timeout);
	}
	return h;
}

struct health_checker *health_checker_new(struct sl_evloop *l, struct backend_pool *pool,
					  const struct cfg *c)
{
	struct health_checker *h = checker_new(l, pool);

	if (h == NULL)
		return NULL;
	h->ops = &health_sock_ops;
	h->runner = health_sock_new(l, h);
	if (h->runner == NULL) {
		free(h);
		return NULL;
	}
	health_set(h, c);
	return h;
}

/* ---- the posted runner: the check runs elsewhere, only its answer comes back */

static int posted_start(void *runner, const struct health_probe_req *r, char *why, size_t whylen)
{
	struct health_checker *h = runner;

	if (h->post(h->post_arg, r))
		return SL_OK;
	snprintf(why, whylen, "could not post the check");
	return SL_DECLINED;
}

static void posted_stop(void *runner, uint16_t idx, char *why, size_t whylen)
{
	(void)runner;
	(void)idx;
	/* the runner's own timeout would have answered first: it did not answer at all */
	if (why != NULL)
		snprintf(why, whylen, "no answer from the checking worker");
}

static void posted_free(void *runner)
{
	(void)runner;
}

static const struct health_runner_ops posted_ops = {
	.slack_ms = HEALTH_POSTED_SLACK_MS,
	.start = posted_start,
	.stop = posted_stop,
	.free = posted_free,
};

struct health_checker *health_checker_new_posted(struct sl_evloop *l, struct backend_pool *pool,
						 const struct cfg *c, health_post_fn post, void *arg)
{
	struct health_checker *h;

	if (post == NULL)
		return NULL;
	h = checker_new(l, pool);
	if (h == NULL)
		return NULL;
	h->ops = &posted_ops;
	h->runner = h;
	h->post = post;
	h->post_arg = arg;
	health_set(h, c);
	return h;
}

/* ---- life cycle */

void health_checker_apply(struct health_checker *h, const struct cfg *c)
{
	/* a check of a backend that was removed or moved says nothing about the new one */
	for (int i = 0; i < CFG_BACKEND_MAX; i++) {
		struct health_slot *s = &h->slots[i];
		struct backend_slot *b = &h->pool->slots[i];
		if (s->running &&
		    (!atomic_load(&b->in_use) || !sl_addr_equal(&s->addr, &b->cfg.addr) ||
		     s->addr.port != b->cfg.addr.port))
			slot_stop(s);
	}
	health_set(h, c);
}

void health_checker_free(struct health_checker *h)
{
	if (h == NULL)
		return;
	for (int i = 0; i < CFG_BACKEND_MAX; i++)
		slot_stop(&h->slots[i]);
	tw_cancel(sl_evloop_wheel(h->loop), &h->tick);
	h->ops->free(h->runner);
	free(h);
}
