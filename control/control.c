/* control.c - the control thread: decides rate limits with the policy store,
 * publishes config and list generations, runs health checks, reloads. */
#include "control.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ctlsock/ctl_lists.h"
#include "ctlsock/ctl_sock.h"
#include "lists_builder.h"
#include "metrics.h"
#include "redis/redis_lists.h"
#include "redis/redis_store.h"
#include "relay/backend_pool.h"
#include "relay/health.h"
#include "util/sl_clock.h"
#include "util/sl_evloop.h"
#include "util/sl_log.h"

#define RING_DEPTH      8192   /* messages per direction per worker */
#define PENDING_MAX     65536  /* queries the store may hold at once (Redis: in flight) */
#define RETIRE_MAX      64     /* old generations waiting for the workers */

/* Where a verdict goes: the store answers a token, not a pointer. */
struct pending_query {
	uint64_t session;
	uint32_t seq;
	uint16_t worker;
	bool     used;
};

/* A verdict that found its ring full: retried on the next loop turn. */
struct backlog_entry {
	uint16_t      worker;
	struct ctl_msg msg;
};

enum retire_kind { RETIRE_CFG, RETIRE_SNAPSHOT };

struct retired {
	enum retire_kind kind;
	void    *ptr;
	uint64_t generation;   /**< free once every worker is past it */
};

struct control {
	unsigned nworkers;
	struct control_port *ports;
	_Atomic uint64_t *quiescent;      /**< per worker: last generation seen */
	int      efd;                     /**< workers -> control wakeup */
	struct sl_evloop *loop;
	struct backend_pool *pool;
	struct health_checker *health;
	unsigned health_rr;               /**< transport dpdk: the worker of the next check */
	struct pol_store *store;
	struct ctl_sock *sock;            /**< control socket and runtime lists */
	struct ctl_metrics *metrics;      /**< NULL without a metrics address */

	_Atomic(struct cfg *) cfg;
	struct cfg *started;              /**< the config at start: what reloads cannot change stays as it was */
	_Atomic(struct pol_snapshot *) lists;
	_Atomic uint64_t generation;

	struct retired retired[RETIRE_MAX];
	unsigned nretired;

	struct pending_query *pending;
	uint32_t pending_next;

	struct backlog_entry *backlog;
	unsigned nbacklog, backlog_cap;
	bool    *wake_worker;

	_Atomic bool stop;
	_Atomic bool reload;
	struct tw_timer tick;

	/* runtime lists (control_lists_changed) */
	struct redis_lists *mirror;       /**< policy redis: the lists in Redis */
	struct tw_timer lists_timer;      /**< a deferred rebuild */
	bool     lists_pending;
	uint64_t lists_next_ms;           /**< no rebuild before this (monotonic) */
	uint64_t lists_build_ms;          /**< what the last one took */
	struct lists_builder *builder;    /**< finishes rebuilds off this thread */
	uint64_t lists_epoch;             /**< bumped per build: a result superseded by a later build is dropped */
	uint64_t lists_t0_ns;             /**< when the build in flight started */

	/* each worker's outcome counters (control_worker_stats_set); the lock
	 * makes a clear wait for a read in flight, the workers never take it */
	const struct relay_stats **wstats;
	pthread_mutex_t wstats_lock;
};

struct control_port *control_port(struct control *ctl, unsigned worker)
{
	return worker < ctl->nworkers ? &ctl->ports[worker] : NULL;
}

void control_worker_stats_set(struct control *ctl, unsigned worker, const struct relay_stats *st)
{
	if (ctl == NULL || worker >= ctl->nworkers)
		return;
	pthread_mutex_lock(&ctl->wstats_lock);
	ctl->wstats[worker] = st;
	pthread_mutex_unlock(&ctl->wstats_lock);
}

int control_worker_stats_read(struct control *ctl, unsigned worker, struct relay_stats *out)
{
	uint64_t *dst = (uint64_t *)out;
	const uint64_t *src;
	int rc = SL_DECLINED;

	memset(out, 0, sizeof(*out));
	if (ctl == NULL || worker >= ctl->nworkers)
		return SL_DECLINED;
	pthread_mutex_lock(&ctl->wstats_lock);
	src = (const uint64_t *)ctl->wstats[worker];
	if (src != NULL) {
		for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
			dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
		rc = SL_OK;
	}
	pthread_mutex_unlock(&ctl->wstats_lock);
	return rc;
}

void control_wake(struct control *ctl)
{
	uint64_t one = 1;
	ssize_t n = write(ctl->efd, &one, sizeof(one));
	(void)n; /* EAGAIN means a wakeup is already pending */
}

struct cfg *control_cfg_ref(struct control *ctl)
{
	/* The control thread drops its reference to an old generation only
	 * after every worker passed it (retire()), so this load-then-ref is safe. */
	return cfg_ref(atomic_load_explicit(&ctl->cfg, memory_order_acquire));
}

const struct pol_snapshot *control_lists(struct control *ctl)
{
	return atomic_load_explicit(&ctl->lists, memory_order_acquire);
}

void control_worker_quiescent(struct control *ctl, unsigned worker, uint64_t g)
{
	if (worker < ctl->nworkers)
		atomic_store_explicit(&ctl->quiescent[worker], g, memory_order_release);
}

void control_stop(struct control *ctl)
{
	atomic_store(&ctl->stop, true);
	control_wake(ctl);
}

void control_request_reload(struct control *ctl)
{
	atomic_store(&ctl->reload, true);
	control_wake(ctl);
}

/* ---- generations */

static void retire(struct control *ctl, enum retire_kind kind, void *ptr, uint64_t g)
{
	if (ptr == NULL)
		return;
	if (ctl->nretired == RETIRE_MAX) {
		/* Reloads faster than the workers turn: keep the object (a bounded
		 * leak beats a use after free) and say so. */
		sl_warn("control: too many generations in flight, keeping an old one");
		return;
	}
	ctl->retired[ctl->nretired++] = (struct retired){ kind, ptr, g };
}

static void reclaim(struct control *ctl)
{
	uint64_t oldest = UINT64_MAX;
	unsigned i, j;

	for (i = 0; i < ctl->nworkers; i++)
		oldest = SL_MIN(oldest, atomic_load_explicit(&ctl->quiescent[i], memory_order_acquire));
	for (i = j = 0; i < ctl->nretired; i++) {
		struct retired *r = &ctl->retired[i];
		if (r->generation <= oldest) {
			if (r->kind == RETIRE_CFG)
				cfg_unref(r->ptr);
			else
				pol_snapshot_free(r->ptr);
		} else {
			ctl->retired[j++] = *r;
		}
	}
	ctl->nretired = j;
}

static void push_to_worker(struct control *ctl, unsigned w, const struct ctl_msg *m)
{
	if (!sl_ring_push(ctl->ports[w].to_worker, m, sizeof(*m))) {
		if (ctl->nbacklog == ctl->backlog_cap) {
			unsigned cap = ctl->backlog_cap ? ctl->backlog_cap * 2 : 1024;
			struct backlog_entry *b = realloc(ctl->backlog, cap * sizeof(*b));
			if (b == NULL) {
				sl_err("control: no memory for a verdict to worker %u", w);
				return;
			}
			ctl->backlog = b;
			ctl->backlog_cap = cap;
		}
		ctl->backlog[ctl->nbacklog++] = (struct backlog_entry){ (uint16_t)w, *m };
	}
	ctl->wake_worker[w] = true;
}

static void wake_workers(struct control *ctl)
{
	uint64_t one = 1;

	for (unsigned w = 0; w < ctl->nworkers; w++) {
		if (!ctl->wake_worker[w])
			continue;
		ctl->wake_worker[w] = false;
		ssize_t n = write(ctl->ports[w].worker_efd, &one, sizeof(one));
		(void)n;
	}
}

static void publish(struct control *ctl, struct cfg *c, struct pol_snapshot *lists)
{
	uint64_t g = atomic_fetch_add(&ctl->generation, 1) + 1;
	struct ctl_msg m = { .type = CTL_MSG_RELOAD, .generation = g };

	if (c != NULL)
		retire(ctl, RETIRE_CFG, atomic_exchange(&ctl->cfg, c), g);
	if (lists != NULL)
		retire(ctl, RETIRE_SNAPSHOT, atomic_exchange(&ctl->lists, lists), g);
	for (unsigned w = 0; w < ctl->nworkers; w++) {
		m.worker = (uint16_t)w;
		m.type = CTL_MSG_RELOAD;
		if (c != NULL)
			push_to_worker(ctl, w, &m);
		m.type = CTL_MSG_SNAPSHOT;
		if (lists != NULL)
			push_to_worker(ctl, w, &m);
	}
}

static void lists_mirror_apply(struct control *ctl, const struct cfg *old, const struct cfg *c);
static struct health_checker *health_start(struct control *ctl, const struct cfg *c);

static void do_reload(struct control *ctl)
{
	struct cfg *old = atomic_load(&ctl->cfg);
	char err[512];
	struct cfg *c = cfg_load(old->file, err, sizeof(err));
	struct pol_snapshot *lists;

	if (c == NULL) {
		sl_err("reload failed, keeping the running configuration: %s", err);
		return;
	}
	if (cfg_restart_only(ctl->started, c, err, sizeof(err)) > 0)
		sl_warn("reload: a restart is needed for: %s (the running values stay)", err);
	c = ctl_sock_reload_cfg(ctl->sock, c); /* limits set at run time survive a reload */
	lists_mirror_apply(ctl, old, c);
	/* runtime block/allow entries survive a reload */
	lists = ctl_sock_lists_build(ctl->sock, c);
	if (lists == NULL) {
		sl_err("reload failed: no memory for the lists");
		cfg_unref(c);
		return;
	}
	ctl->lists_epoch++;   /* a rebuild in flight is older than these lists: dropped when back */
	if (backend_pool_apply(ctl->pool, c) != SL_OK)
		sl_warn("reload: some backends did not fit the pool");
	if (!redis_store_same_server(old, c)) {
		/* another store or Redis server: start afresh; what the old one
		 * has in flight gets its fail mode */
		struct pol_store *st = c->policy_store == CFG_POLICY_REDIS ? redis_store_new(c, ctl->loop)
									 : pol_store_embedded_new(c);
		if (st != NULL)
			control_set_store(ctl, st);
		else
			sl_warn("reload: no memory for the new policy store, keeping the old one");
	} else if (ctl->store->ops->apply(ctl->store, c) != SL_OK) {
		sl_warn("reload: the policy store kept its old limits");
	}
	if (ctl->health != NULL)
		health_checker_apply(ctl->health, c);
	else
		ctl->health = health_start(ctl, c); /* turned on by the reload */
	sl_log_set_level((enum sl_log_level)c->log_level);
	publish(ctl, c, lists);
	sl_info("reloaded %s: %u backends, %u limits, %u list entries", c->file, c->nbackends,
		c->nlimits, c->nlists);
}

/* ---- policy queries */

static void verdict_done(void *arg, uint64_t token, const struct pol_verdict *v)
{
	struct control *ctl = arg;
	struct pending_query *p = &ctl->pending[token % PENDING_MAX];
	struct ctl_msg m;

	if (!p->used)
		return;
	p->used = false;
	memset(&m, 0, offsetof(struct ctl_msg, u));
	m.type = CTL_MSG_POLICY_VERDICT;
	m.worker = p->worker;
	m.seq = p->seq;
	m.session = p->session;
	m.u.verdict = *v;
	push_to_worker(ctl, p->worker, &m);
}

static void end_done(void *arg, uint64_t token, const struct pol_verdict *v)
{
	(void)arg;
	(void)token;
	(void)v; /* the session is gone: nobody waits for this verdict */
}

static void handle_query(struct control *ctl, unsigned w, const struct ctl_msg *m)
{
	uint32_t i;

	if (m->u.query.stage == POL_STAGE_END) {
		pol_store_decide(ctl->store, &m->u.query, sl_clock_ms(), 0, end_done, ctl);
		return;
	}

	/* find a free token; the table is far larger than the rings can hold */
	for (i = 0; i < PENDING_MAX; i++) {
		uint32_t t = (ctl->pending_next + i) % PENDING_MAX;
		if (!ctl->pending[t].used) {
			ctl->pending_next = t + 1;
			ctl->pending[t] = (struct pending_query){ m->session, m->seq, (uint16_t)w, true };
			pol_store_decide(ctl->store, &m->u.query, sl_clock_ms(), t, verdict_done, ctl);
			return;
		}
	}
	sl_err("control: policy table full, query from worker %u dropped", w);
}

/* ---- health checks: over kernel sockets on this loop, or, under transport
 * dpdk, posted to the workers: only their TCP stacks reach the backends */

static bool health_post(void *arg, const struct health_probe_req *r)
{
	struct control *ctl = arg;
	struct ctl_msg m;
	unsigned w;

	if (ctl->nworkers == 0)
		return false;
	/* in turn: the checks spread over the workers' stacks (one worker for
	 * every check would leave the others' source-port steering unchecked) */
	w = ctl->health_rr++ % ctl->nworkers;
	memset(&m, 0, sizeof(m));
	m.type = CTL_MSG_HEALTH_PROBE;
	m.worker = (uint16_t)w;
	m.seq = r->id;
	m.u.probe = (struct ctl_health_probe){ .idx = r->idx, .proxy = r->proxy, .timeout_ms = r->timeout_ms,
					       .addr = r->addr };
	control_post(ctl, w, &m);
	return true;
}

static struct health_checker *health_start(struct control *ctl, const struct cfg *c)
{
	if (c->transport == CFG_TRANSPORT_DPDK)
		return c->relay.health_interval_ms > 0
			       ? health_checker_new_posted(ctl->loop, ctl->pool, c, health_post, ctl)
			       : NULL;
	return cfg_health_checks_run(c) ? health_checker_new(ctl->loop, ctl->pool, c) : NULL;
}

static void health_result(struct control *ctl, const struct ctl_msg *m)
{
	char why[HEALTH_WHY_MAX];

	memcpy(why, m->u.result.why, sizeof(why));
	why[sizeof(why) - 1] = '\0';   /* a worker's string: bounded here whatever it sent */
	health_checker_result(ctl->health, m->u.result.idx, m->seq, (enum health_result)m->u.result.result, why);
}

static void drain_rings(struct control *ctl)
{
	struct ctl_msg m;
	unsigned i;

	/* retry verdicts that found a full ring last time, in order */
	for (i = 0; i < ctl->nbacklog; i++) {
		struct backlog_entry *b = &ctl->backlog[i];
		if (!sl_ring_push(ctl->ports[b->worker].to_worker, &b->msg, sizeof(b->msg)))
			break;
		ctl->wake_worker[b->worker] = true;
	}
	if (i > 0) {
		memmove(ctl->backlog, ctl->backlog + i, (ctl->nbacklog - i) * sizeof(*ctl->backlog));
		ctl->nbacklog -= i;
	}
	for (unsigned w = 0; w < ctl->nworkers; w++) {
		unsigned budget = 4096; /* fairness between workers */
		while (budget-- > 0 && sl_ring_pop(ctl->ports[w].to_control, &m)) {
			if (m.type == CTL_MSG_POLICY_QUERY)
				handle_query(ctl, w, &m);
			else if (m.type == CTL_MSG_HEALTH_RESULT)
				health_result(ctl, &m);
			else
				ctl_sock_worker_msg(ctl->sock, w, &m); /* answers to the sessions command */
		}
	}
	wake_workers(ctl);
}

static void on_wake(struct sl_evloop *l, int fd, unsigned events, void *arg)
{
	struct control *ctl = arg;
	uint64_t v;
	ssize_t n = read(fd, &v, sizeof(v));

	(void)l;
	(void)events;
	(void)n;
	drain_rings(ctl);
}

static void on_tick(struct tw_timer *t)
{
	struct control *ctl = (struct control *)((char *)t - offsetof(struct control, tick));

	ctl->store->ops->tick(ctl->store, sl_clock_ms());
	reclaim(ctl);
	tw_arm(sl_evloop_wheel(ctl->loop), &ctl->tick, sl_evloop_now(ctl->loop) + 100);
}

int control_run(struct control *ctl)
{
	while (!atomic_load(&ctl->stop)) {
		if (sl_evloop_run_once(ctl->loop, 100) < 0) {
			sl_err("control: event loop: %s", strerror(errno));
			return -1;
		}
		if (atomic_exchange(&ctl->reload, false))
			do_reload(ctl);
		/* a wakeup may have been folded into another: never leave queries waiting */
		drain_rings(ctl);
		for (unsigned w = 0; w < ctl->nworkers; w++)
			sl_log_drain_ring(ctl->ports[w].log, 1024);
	}
	return 0;
}

/* ---- for the modules of the control thread */

struct sl_evloop *control_loop(struct control *ctl) { return ctl->loop; }
struct pol_store *control_store(struct control *ctl) { return ctl->store; }
struct backend_pool *control_pool(struct control *ctl) { return ctl->pool; }
unsigned control_nworkers(const struct control *ctl) { return ctl->nworkers; }

void control_publish_lists(struct control *ctl, struct pol_snapshot *lists)
{
	publish(ctl, NULL, lists);
	wake_workers(ctl);
}

void control_set_store(struct control *ctl, struct pol_store *st)
{
	if (st == NULL || st == ctl->store)
		return;
	/* The old store answers what it still holds when destroyed (the Redis
	 * store with each rule's fail mode); sessions also bound their own wait. */
	if (ctl->store != NULL)
		ctl->store->ops->destroy(ctl->store);
	ctl->store = st;
}

/* ---- requests of the control socket to the workers */

void control_publish_cfg(struct control *ctl, struct cfg *c)
{
	publish(ctl, c, NULL);
	wake_workers(ctl);
}

void control_post(struct control *ctl, unsigned w, const struct ctl_msg *m)
{
	if (w >= ctl->nworkers)
		return;
	push_to_worker(ctl, w, m);
	wake_workers(ctl);
}

/* ---- runtime lists: when the workers get a new snapshot; the Redis mirror */

/* A rebuild (a million /32s: about 100 ms, tests/bench/bench_lists) runs on
 * the builder thread; this loop only copies the entries out. After one, the
 * next waits LISTS_HOLDOFF times as long, so that thread is busy at most a
 * quarter of the time however fast changes arrive (they are batched into
 * the next build), and a small list (microseconds) is republished at once.
 * Workers only swap a pointer. */
#define LISTS_HOLDOFF 3
/* And never more than one rebuild per this many ms (a burst of messages:
 * each would retire a generation, and the workers free them only as fast
 * as their loops turn). The first change after a quiet spell goes at once. */
#define LISTS_MIN_GAP_MS 10

static void lists_built(void *arg, struct pol_snapshot *snap, uint64_t tag, uint64_t build_ns);

/* Start a rebuild: the entries are copied here (fast), the sorting and
 * indexing is the builder thread's (lists_built takes the result). */
static void lists_publish_now(struct control *ctl)
{
	struct cfg *c = atomic_load(&ctl->cfg); /* ours: this thread replaces it */
	struct pol_snapshot_builder *b;

	if (lists_builder_busy(ctl->builder)) {
		ctl->lists_pending = true;   /* lists_built starts the next one */
		return;
	}
	ctl->lists_t0_ns = sl_clock_ns();
	ctl->lists_pending = false;
	b = ctl_lists_collect(ctl_sock_lists(ctl->sock), c);
	if (b == NULL || lists_builder_start(ctl->builder, b, ++ctl->lists_epoch) != SL_OK)
		lists_built(ctl, NULL, ctl->lists_epoch, 0);
}

/* A rebuild is back (on this thread). */
static void lists_built(void *arg, struct pol_snapshot *snap, uint64_t tag, uint64_t build_ns)
{
	struct control *ctl = arg;
	uint64_t now = sl_clock_ms();

	(void)build_ns;
	if (tag != ctl->lists_epoch) {
		pol_snapshot_free(snap);   /* a synchronous build (reload, flush) came after it */
		if (ctl->lists_pending)
			(void)control_lists_changed(ctl);
		return;
	}
	if (snap == NULL) {
		sl_err("control: no memory to rebuild the lists; trying again in a second");
		ctl->lists_pending = true;
		ctl->lists_next_ms = now + 1000;
		if (!tw_armed(&ctl->lists_timer))
			tw_arm(sl_evloop_wheel(ctl->loop), &ctl->lists_timer, sl_evloop_now(ctl->loop) + 1000);
		return;
	}
	ctl->lists_build_ms = (sl_clock_ns() - ctl->lists_t0_ns) / 1000000;
	ctl->lists_next_ms = now + SL_MAX(LISTS_HOLDOFF * ctl->lists_build_ms, (uint64_t)LISTS_MIN_GAP_MS);
	publish(ctl, NULL, snap);
	wake_workers(ctl);
	if (ctl->lists_pending)   /* changes that came during the build: after the hold-off */
		(void)control_lists_changed(ctl);
}

/* The same at once, on this thread: for what must see the change now. */
static int lists_publish_sync(struct control *ctl)
{
	struct cfg *c = atomic_load(&ctl->cfg);
	struct pol_snapshot *snap = ctl_lists_build(ctl_sock_lists(ctl->sock), c);

	if (snap == NULL)
		return SL_ERROR;
	ctl->lists_epoch++;   /* a build in flight is older than this */
	ctl->lists_pending = false;
	publish(ctl, NULL, snap);
	wake_workers(ctl);
	return SL_OK;
}

static void on_lists_timer(struct tw_timer *t)
{
	struct control *ctl = (struct control *)((char *)t - offsetof(struct control, lists_timer));

	if (ctl->lists_pending)
		lists_publish_now(ctl);
}

int control_lists_changed(struct control *ctl)
{
	uint64_t now = sl_clock_ms();

	if (ctl->sock == NULL)
		return SL_ERROR;
	if (tw_armed(&ctl->lists_timer) || lists_builder_busy(ctl->builder)) {
		ctl->lists_pending = true; /* the timer, or the build's return, publishes this change too */
		return SL_OK;
	}
	if (now >= ctl->lists_next_ms) {
		lists_publish_now(ctl);
		return ctl->lists_pending ? SL_ERROR : SL_OK;
	}
	ctl->lists_pending = true;
	tw_arm(sl_evloop_wheel(ctl->loop), &ctl->lists_timer,
	       sl_evloop_now(ctl->loop) + (ctl->lists_next_ms - now));
	return SL_OK;
}

void control_lists_flush(struct control *ctl)
{
	if (!ctl->lists_pending && !lists_builder_busy(ctl->builder))
		return;
	if (tw_armed(&ctl->lists_timer))
		tw_cancel(sl_evloop_wheel(ctl->loop), &ctl->lists_timer);
	if (lists_publish_sync(ctl) != SL_OK)
		sl_err("control: no memory to rebuild the lists");
}

struct redis_lists *control_lists_mirror(struct control *ctl)
{
	return ctl->mirror;
}

static void mirror_changed(void *arg)
{
	control_lists_changed(arg);
}

/* Start, keep, replace or stop the Redis mirror of the runtime lists for c
 * (old: the config before a reload, or NULL at start). */
static void lists_mirror_apply(struct control *ctl, const struct cfg *old, const struct cfg *c)
{
	/* the socket's runtime lists: the mirror is their other writer, on this thread */
	struct ctl_lists *l = (struct ctl_lists *)ctl_sock_lists(ctl->sock);

	if (ctl->mirror != NULL && old != NULL && redis_lists_same_server(old, c)) {
		redis_lists_apply(ctl->mirror, c);
		return;
	}
	redis_lists_free(ctl->mirror);
	ctl->mirror = NULL;
	if (c->policy_store == CFG_POLICY_REDIS && l != NULL) {
		ctl->mirror = redis_lists_new(c, ctl->loop, l, mirror_changed, ctl);
		if (ctl->mirror == NULL)
			sl_err("control: no memory for the Redis lists mirror; runtime lists stay local");
	}
}

/* ---- life cycle */

struct control *control_new(struct cfg *c, unsigned nworkers, struct backend_pool *pool)
{
	struct control *ctl = calloc(1, sizeof(*ctl));
	struct pol_snapshot *lists;

	if (ctl == NULL)
		return NULL;
	ctl->nworkers = nworkers;
	ctl->pool = pool;
	ctl->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ctl->ports = calloc(nworkers, sizeof(*ctl->ports));
	ctl->quiescent = calloc(nworkers, sizeof(*ctl->quiescent));
	ctl->wake_worker = calloc(nworkers, sizeof(*ctl->wake_worker));
	ctl->pending = calloc(PENDING_MAX, sizeof(*ctl->pending));
	ctl->wstats = calloc(nworkers ? nworkers : 1, sizeof(*ctl->wstats));
	pthread_mutex_init(&ctl->wstats_lock, NULL);
	ctl->loop = sl_evloop_new();
	if (ctl->efd < 0 || ctl->ports == NULL || ctl->quiescent == NULL || ctl->wake_worker == NULL ||
	    ctl->pending == NULL || ctl->wstats == NULL || ctl->loop == NULL)
		goto fail;
	for (unsigned w = 0; w < nworkers; w++) {
		struct control_port *p = &ctl->ports[w];
		p->to_control = sl_ring_create(RING_DEPTH, sizeof(struct ctl_msg));
		p->to_worker = sl_ring_create(RING_DEPTH, sizeof(struct ctl_msg));
		p->worker_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		p->log = sl_log_ring_create(4096);
		if (p->to_control == NULL || p->to_worker == NULL || p->worker_efd < 0 || p->log == NULL)
			goto fail;
	}
	/* Redis: connects in the background; until then its rules' fail modes answer */
	ctl->store = c->policy_store == CFG_POLICY_REDIS ? redis_store_new(c, ctl->loop)
							 : pol_store_embedded_new(c);
	lists = pol_snapshot_build(c->lists, c->nlists);
	if (ctl->store == NULL || lists == NULL) {
		pol_snapshot_free(lists);
		goto fail;
	}
	atomic_init(&ctl->cfg, cfg_ref(c));
	ctl->started = cfg_ref(c);
	atomic_init(&ctl->lists, lists);
	atomic_init(&ctl->generation, 1);
	for (unsigned w = 0; w < nworkers; w++)
		atomic_init(&ctl->quiescent[w], 1);
	if (sl_evloop_add(ctl->loop, ctl->efd, SL_EV_READ, on_wake, ctl) < 0)
		goto fail;
	ctl->health = health_start(ctl, c);
	tw_timer_init(&ctl->tick, on_tick);
	tw_arm(sl_evloop_wheel(ctl->loop), &ctl->tick, sl_evloop_now(ctl->loop) + 100);
	ctl->sock = ctl_sock_new(ctl, c);
	if (ctl->sock == NULL)
		goto fail;
	tw_timer_init(&ctl->lists_timer, on_lists_timer);
	ctl->builder = lists_builder_new(ctl->loop, lists_built, ctl);
	if (ctl->builder == NULL)
		goto fail;
	lists_mirror_apply(ctl, NULL, c);
	ctl->metrics = ctl_metrics_new(ctl, ctl->sock, c);
	return ctl;
fail:
	sl_err("control: cannot set up: %s", strerror(errno ? errno : ENOMEM));
	control_free(ctl);
	return NULL;
}

void control_free(struct control *ctl)
{
	if (ctl == NULL)
		return;
	ctl_metrics_free(ctl->metrics);
	lists_builder_free(ctl->builder);
	redis_lists_free(ctl->mirror); /* before the lists it mirrors */
	if (ctl->sock != NULL && tw_armed(&ctl->lists_timer))
		tw_cancel(sl_evloop_wheel(ctl->loop), &ctl->lists_timer);
	ctl_sock_free(ctl->sock);
	if (ctl->health != NULL)
		health_checker_free(ctl->health);
	if (ctl->store != NULL)
		ctl->store->ops->destroy(ctl->store);
	for (unsigned i = 0; i < ctl->nretired; i++) {
		if (ctl->retired[i].kind == RETIRE_CFG)
			cfg_unref(ctl->retired[i].ptr);
		else
			pol_snapshot_free(ctl->retired[i].ptr);
	}
	if (ctl->cfg != NULL)
		cfg_unref(atomic_load(&ctl->cfg));
	if (ctl->started != NULL)
		cfg_unref(ctl->started);
	pol_snapshot_free(atomic_load(&ctl->lists));
	for (unsigned w = 0; ctl->ports != NULL && w < ctl->nworkers; w++) {
		if (ctl->ports[w].log != NULL)
			sl_log_drain_ring(ctl->ports[w].log, UINT32_MAX);
		sl_ring_free(ctl->ports[w].log);
		sl_ring_free(ctl->ports[w].to_control);
		sl_ring_free(ctl->ports[w].to_worker);
		if (ctl->ports[w].worker_efd > 0)
			close(ctl->ports[w].worker_efd);
	}
	if (ctl->loop != NULL)
		sl_evloop_free(ctl->loop);
	if (ctl->efd >= 0)
		close(ctl->efd);
	free(ctl->ports);
	free((void *)ctl->quiescent);
	free(ctl->wake_worker);
	free(ctl->pending);
	free(ctl->backlog);
	free(ctl->wstats);
	pthread_mutex_destroy(&ctl->wstats_lock);
	free(ctl);
}
