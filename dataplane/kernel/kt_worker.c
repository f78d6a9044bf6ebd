/* kt_worker.c - the kernel transport's worker threads: epoll loop, rings to
 * the control thread, timers, session table, start and graceful shutdown. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "control.h"
#include "control_msg.h"
#include "kt_conn.h"
#include "util/sl_clock.h"
#include "util/sl_log.h"

#define KT_MAX_WORKERS  1024
#define KT_EVENTS       128
#define KT_RING_BURST   1024   /**< messages taken from to_worker per iteration */
#define KT_SLOTS_INIT   256u

unsigned kt_workers_for(const struct cfg *c)
{
	cpu_set_t set;
	long n;

	if (c->workers > 0)
		return c->workers > KT_MAX_WORKERS ? KT_MAX_WORKERS : c->workers;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		n = CPU_COUNT(&set);
	else
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return n > KT_MAX_WORKERS ? KT_MAX_WORKERS : (unsigned)n;
}

unsigned kt_nworkers(const struct kt *k)
{
	return k->n;
}

uint16_t kt_listen_port(const struct kt *k, unsigned i)
{
	return i < k->cfg->nlisten ? k->port[i] : 0;
}

/* ---- helpers for kt_conn.c */

/* Keep fd's registration at `want`, with one epoll_ctl per change only. */
void kt_worker_epoll(struct kt_worker *w, int fd, struct kt_handle *h, uint32_t *cur, uint32_t want)
{
	struct epoll_event ev = { .events = want, .data.ptr = h };
	int op;

	if (*cur == want)
		return;
	/* paused legs leave the set: epoll reports EPOLLHUP/EPOLLERR even for an
	 * empty mask, which would wake a level-triggered loop for nothing */
	if (*cur == 0)
		op = EPOLL_CTL_ADD;
	else
		op = want == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
	if (epoll_ctl(w->epfd, op, fd, &ev) != 0 && op == EPOLL_CTL_ADD && errno == EEXIST)
		epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev);
	*cur = want;
}

void kt_worker_again(struct kt_worker *w, struct kt_conn *c)
{
	if (c->on_again || c->dead)
		return;
	c->on_again = true;
	c->again_next = w->again;
	w->again = c;
}

/* Session ids and their slots: sl_slots.c. */
int kt_worker_slot_alloc(struct kt_worker *w, struct kt_conn *c)
{
	uint32_t i = sl_slots_take(&w->slots, c, &c->id);

	if (i == SL_SLOT_NONE)
		return -1;
	c->slot = i;
	return 0;
}

void kt_worker_slot_free(struct kt_worker *w, struct kt_conn *c)
{
	sl_slots_put(&w->slots, c->slot);
}

static struct kt_conn *lookup(struct kt_worker *w, uint64_t id)
{
	struct kt_conn *c = sl_slots_find(&w->slots, id);

	return c != NULL && c->session != NULL ? c : NULL;
}

/* ---- messages from the control thread */

static void handle_msg(struct kt_worker *w, const struct ctl_msg *m)
{
	struct kt_conn *c;

	switch (m->type) {
	case CTL_MSG_POLICY_VERDICT:
		c = lookup(w, m->session);
		if (c == NULL) {
			KT_STAT_INC(w, verdicts_stale);
			return;
		}
		KT_STAT_INC(w, verdicts);
		relay_session_verdict(c->session, m->seq, &m->u.verdict);
		kt_conn_settle(c);
		break;
	default:
		if (control_worker_msg(w->ctl, &w->rw, m, &w->generation)) {
			/* a kill wrote to the session's legs: settle it, as after a verdict */
			if (m->type == CTL_MSG_SESSION_KILL && (c = lookup(w, m->session)) != NULL)
				kt_conn_settle(c);
			break;
		}
		sl_warn("kernel worker %u: unknown control message %u", w->idx, m->type);
		break;
	}
}

/* Returns true when messages are left for the next iteration. */
static bool drain_ring(struct kt_worker *w)
{
	struct ctl_msg m;

	if (w->port == NULL)
		return false;
	for (int i = 0; i < KT_RING_BURST; i++) {
		if (!sl_ring_pop(w->port->to_worker, &m))
			return false;
		handle_msg(w, &m);
	}
	return sl_ring_count(w->port->to_worker) > 0;
}

static void drain_efd(int fd)
{
	uint64_t v;
	ssize_t n = read(fd, &v, sizeof(v));

	(void)n;
}

/* ---- shutdown */

static void close_listeners(struct kt_worker *w)
{
	for (unsigned i = 0; i < w->nlisten; i++) {
		if (w->lfd[i] >= 0)
			close(w->lfd[i]);
		w->lfd[i] = -1;
	}
	tw_cancel(&w->wheel, &w->accept_timer);
}

static void begin_drain(struct kt_worker *w)
{
	w->draining = true;
	w->rw.shutting_down = true;
	w->deadline = w->rw.now_ms + w->rw.cfg->shutdown_grace_ms;
	close_listeners(w);
	for (uint32_t i = 0; i < w->slots.n; i++) {
		struct kt_conn *c = w->slots.s[i].conn;

		if (c == NULL || c->session == NULL)
			continue;
		relay_session_shutdown(c->session);
		kt_conn_settle(c);
	}
}

static void abort_all(struct kt_worker *w)
{
	for (uint32_t i = 0; i < w->slots.n; i++) {
		struct kt_conn *c = w->slots.s[i].conn;

		if (c != NULL)
			kt_conn_abort(c);
	}
}

static void bury_dead(struct kt_worker *w)
{
	while (w->dead != NULL) {
		struct kt_conn *c = w->dead;
		w->dead = c->dead_next;
		kt_conn_destroy(c);
	}
}

/* ---- the loop */

static void accept_timer_fn(struct tw_timer *t)
{
	struct kt_worker *w = (struct kt_worker *)(void *)((char *)t - offsetof(struct kt_worker, accept_timer));

	if (!w->draining)
		kt_listen_pause(w, false);
}

static int wait_timeout(struct kt_worker *w, bool busy)
{
	int64_t t = -1;

	if (busy || w->again != NULL)
		return 0;
	if (w->wheel.armed > 0) {
		t = tw_next_timeout(&w->wheel, w->rw.now_ms);
		if (t < KT_MIN_WAIT_MS)
			t = KT_MIN_WAIT_MS;
	}
	if (w->draining) {
		int64_t left = w->deadline > w->rw.now_ms ? (int64_t)(w->deadline - w->rw.now_ms) : 0;
		if (t < 0 || left < t)
			t = left;
	}
	return t > 60000 ? 60000 : (int)t;
}

static void dispatch(struct kt_worker *w, const struct epoll_event *ev)
{
	struct kt_handle *h = ev->data.ptr;

	switch (h->kind) {
	case KT_H_LEG: {
		struct kt_leg *l = (struct kt_leg *)(void *)h;   /* h is the leg's first member */
		struct kt_conn *c = (struct kt_conn *)(void *)((char *)(l - h->leg) - offsetof(struct kt_conn, leg));
		kt_conn_event(c, (enum sl_leg)h->leg, ev->events);
		break;
	}
	case KT_H_LISTEN:
		/* no new session once a shutdown is asked, even before we drain */
		if (!w->draining && !w->accept_paused &&
		    !atomic_load_explicit(&w->k->stop, memory_order_relaxed))
			kt_listen_accept(w, h->index);
		break;
	case KT_H_KICK:
		drain_efd(w->kick_efd);
		break;
	case KT_H_CONTROL:
		drain_efd(w->port->worker_efd);
		break;
	default:
		break;
	}
}

static void *worker_main(void *arg)
{
	struct kt_worker *w = arg;
	struct epoll_event evs[KT_EVENTS];
	bool busy = false;
	char name[16];

	snprintf(name, sizeof(name), "sl-kt/%u", w->idx);
	pthread_setname_np(pthread_self(), name);
	w->rw.now_ms = sl_clock_ms();
	for (;;) {
		int n = epoll_wait(w->epfd, evs, KT_EVENTS, wait_timeout(w, busy));

		if (n < 0 && errno != EINTR) {
			sl_err("kernel worker %u: epoll_wait: %s", w->idx, strerror(errno));
			break;
		}
		w->iter++;
		w->rw.now_ms = sl_clock_ms();
		for (int i = 0; i < n; i++)
			dispatch(w, &evs[i]);

		w->rw.now_ms = sl_clock_ms();
		tw_advance(&w->wheel, w->rw.now_ms);
		busy = drain_ring(w);

		/* settle what asked to go on; what asks again waits one iteration */
		struct kt_conn *again = w->again;
		w->again = NULL;
		while (again != NULL) {
			struct kt_conn *c = again;
			again = c->again_next;
			c->on_again = false;
			kt_conn_settle(c);
		}

		if (!w->draining && atomic_load_explicit(&w->k->stop, memory_order_acquire))
			begin_drain(w);
		if (w->draining && w->rw.now_ms >= w->deadline)
			abort_all(w);
		bury_dead(w);

		if (w->wake_control) {
			w->wake_control = false;
			control_wake(w->ctl);
		}
		if (w->ctl != NULL)
			control_worker_quiescent(w->ctl, w->idx, w->generation);
		if (w->draining && w->nconns == 0)
			break;
	}
	/* only after an epoll failure can anything be left here */
	abort_all(w);
	bury_dead(w);
	if (w->wake_control)
		control_wake(w->ctl);
	return NULL;
}

/* ---- start, shutdown, join */

static void worker_free(struct kt_worker *w)
{
	if (w == NULL)
		return;
	control_worker_stats_set(w->ctl, w->idx, NULL);   /* no scrape reads them past here */
	close_listeners(w);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->kick_efd >= 0)
		close(w->kick_efd);
	tw_fini(&w->wheel);
	sl_slots_fini(&w->slots);
	relay_worker_fini(&w->rw);
	cfg_unref(w->rw.cfg);
	free(w);
}

static struct kt_worker *worker_new(struct kt *k, unsigned idx, struct backend_pool *pool,
				    char *err, size_t errlen)
{
	struct kt_worker *w = aligned_alloc(64, (sizeof(*w) + 63) / 64 * 64);
	struct epoll_event ev;

	if (w == NULL) {
		snprintf(err, errlen, "kernel worker %u: no memory", idx);
		return NULL;
	}
	memset(w, 0, sizeof(*w));
	w->k = k;
	w->idx = idx;
	w->kick_efd = -1;
	for (unsigned i = 0; i < CFG_LISTEN_MAX; i++)
		w->lfd[i] = -1;
	w->rw.id = (uint16_t)idx;
	w->rw.cfg = cfg_ref(k->cfg);
	w->rw.pool = pool;
	w->ctl = k->ctl;
	tw_timer_init(&w->accept_timer, accept_timer_fn);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->kick_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->epfd < 0 || w->kick_efd < 0 ||
	    tw_init(&w->wheel, KT_WHEEL_SLOTS, KT_TICK_MS, sl_clock_ms()) != 0 ||
	    sl_slots_init(&w->slots, (uint16_t)idx, KT_SLOTS_INIT, 0) != 0) {
		snprintf(err, errlen, "kernel worker %u: %s", idx, strerror(errno));
		goto fail;
	}
	w->kick_h.kind = KT_H_KICK;
	ev.events = EPOLLIN;
	ev.data.ptr = &w->kick_h;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->kick_efd, &ev) != 0)
		goto fail_errno;
	if (k->ctl != NULL) {
		w->port = control_port(k->ctl, idx);
		if (w->port == NULL) {
			snprintf(err, errlen, "kernel worker %u: the control has no port for it", idx);
			goto fail;
		}
		/* sl_ring_pop copies a whole slot into our message; push needs room for one */
		if (w->port->to_worker->slot_size > sizeof(struct ctl_msg) ||
		    w->port->to_control->slot_size < sizeof(struct ctl_msg)) {
			snprintf(err, errlen, "kernel worker %u: control ring slots of %u/%u bytes, messages of %zu",
				 idx, w->port->to_worker->slot_size, w->port->to_control->slot_size,
				 sizeof(struct ctl_msg));
			goto fail;
		}
		w->rw.lists = control_lists(k->ctl);
		if (w->port->worker_efd >= 0) {
			w->ctl_h.kind = KT_H_CONTROL;
			ev.data.ptr = &w->ctl_h;
			if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->port->worker_efd, &ev) != 0)
				goto fail_errno;
		}
	}
	w->nlisten = k->cfg->nlisten;
	for (unsigned i = 0; i < w->nlisten; i++) {
		uint16_t port = idx == 0 ? k->cfg->listen[i].port : k->port[i];

		w->lfd[i] = kt_listen_open(&k->cfg->listen[i], port, err, errlen);
		if (w->lfd[i] < 0)
			goto fail;
		if (idx == 0)
			k->port[i] = kt_listen_bound_port(w->lfd[i]);
		w->lh[i].kind = KT_H_LISTEN;
		w->lh[i].index = (uint16_t)i;
		ev.data.ptr = &w->lh[i];
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->lfd[i], &ev) != 0)
			goto fail_errno;
	}
	control_worker_stats_set(k->ctl, idx, &w->rw.stats);
	return w;
fail_errno:
	snprintf(err, errlen, "kernel worker %u: epoll_ctl: %s", idx, strerror(errno));
fail:
	worker_free(w);
	return NULL;
}

/* With one worker per core, keep each on its core: its caches hold its sessions. */
static void pin(struct kt_worker *w)
{
	cpu_set_t set, one;
	unsigned seen = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		if (seen++ == w->idx) {
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			pthread_setaffinity_np(w->thread, sizeof(one), &one);
			return;
		}
	}
}

struct kt *kt_start(struct cfg *c, struct control *ctl, struct backend_pool *pool,
		    char *err, size_t errlen)
{
	struct kt *k = calloc(1, sizeof(*k));
	int rc;

	if (k == NULL) {
		snprintf(err, errlen, "kernel transport: no memory");
		return NULL;
	}
	k->n = kt_workers_for(c);
	k->cfg = cfg_ref(c);
	k->ctl = ctl;
	atomic_init(&k->stop, false);
	if (c->nlisten == 0 || c->nlisten > CFG_LISTEN_MAX) {
		snprintf(err, errlen, "kernel transport: %u listen addresses", c->nlisten);
		goto fail;
	}
	k->w = calloc(k->n, sizeof(*k->w));
	if (k->w == NULL) {
		snprintf(err, errlen, "kernel transport: no memory");
		goto fail;
	}
	/* every bind before any thread: a bad address fails the start, nothing runs */
	for (unsigned i = 0; i < k->n; i++) {
		k->w[i] = worker_new(k, i, pool, err, errlen);
		if (k->w[i] == NULL)
			goto fail;
	}
	for (unsigned i = 0; i < k->n; i++) {
		rc = pthread_create(&k->w[i]->thread, NULL, worker_main, k->w[i]);
		if (rc != 0) {
			snprintf(err, errlen, "kernel worker %u: pthread_create: %s", i, strerror(rc));
			kt_shutdown(k);
			kt_join(k);
			return NULL;
		}
		k->w[i]->started = true;
		if (c->workers == 0)
			pin(k->w[i]);
	}
	return k;
fail:
	for (unsigned i = 0; k->w != NULL && i < k->n; i++)
		worker_free(k->w[i]);
	free(k->w);
	cfg_unref(k->cfg);
	free(k);
	return NULL;
}

void kt_shutdown(struct kt *k)
{
	uint64_t one = 1;

	atomic_store_explicit(&k->stop, true, memory_order_release);
	for (unsigned i = 0; i < k->n; i++) {
		if (k->w[i] != NULL && k->w[i]->kick_efd >= 0) {
			ssize_t n = write(k->w[i]->kick_efd, &one, sizeof(one));
			(void)n;
		}
	}
}

void kt_join(struct kt *k)
{
	if (k == NULL)
		return;
	for (unsigned i = 0; i < k->n; i++) {
		if (k->w[i] != NULL && k->w[i]->started)
			pthread_join(k->w[i]->thread, NULL);
	}
	for (unsigned i = 0; i < k->n; i++)
		worker_free(k->w[i]);
	free(k->w);
	cfg_unref(k->cfg);
	free(k);
}

void kt_get_stats(const struct kt *k, struct kt_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < k->n; i++) {
		const struct kt_wstats *s = &k->w[i]->stats;
#define KT_SUM(f) out->f += atomic_load_explicit(&s->f, memory_order_relaxed)
		KT_SUM(accepted);
		KT_SUM(rejected_busy);
		KT_SUM(conns);
		KT_SUM(policy_sent);
		KT_SUM(policy_full);
		KT_SUM(verdicts);
		KT_SUM(verdicts_stale);
		KT_SUM(forced_closes);
#undef KT_SUM
	}
}
