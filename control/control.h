/* control.h - the control thread: it owns the policy store, the health
 * checks and config reloads, and meets the workers only on rings. */
#ifndef CONTROL_H
#define CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "control_msg.h"
#include "policy/pol.h"
#include "relay/relay_session.h"
#include "util/sl_ring.h"

struct backend_pool;
struct control;

/* One pair of rings per worker, plus how to wake each side. */
struct control_port {
	struct sl_ring *to_control;   /**< worker produces, control consumes */
	struct sl_ring *to_worker;    /**< control produces, worker consumes */
	int             worker_efd;   /**< eventfd the control writes after pushing (kernel transport polls it) */
	struct sl_ring *log;          /**< log records of a worker that makes no syscalls (DPDK lcore:
	                                   sl_log_set_thread_ring); the control thread writes them */
};

struct control *control_new(struct cfg *c, unsigned nworkers, struct backend_pool *pool);
void control_free(struct control *ctl);

struct control_port *control_port(struct control *ctl, unsigned worker);

/*
 * control_worker_stats_set - where worker `worker`'s outcome counters live
 * (its relay_worker's stats), or NULL when they go: the transport sets them
 * when it sets the worker up and clears them before it frees the worker. Not
 * from a worker's loop (it takes a lock); ctl may be NULL (no control). Once
 * a clear returns, no read of the old counters is running.
 */
void control_worker_stats_set(struct control *ctl, unsigned worker, const struct relay_stats *st);
/*
 * control_worker_stats_read - a copy of worker's counters, loaded word by
 * word (relaxed: each value one the worker wrote, no fence on its side).
 * SL_OK, or SL_DECLINED when it has none registered (out zeroed).
 */
int control_worker_stats_read(struct control *ctl, unsigned worker, struct relay_stats *out);

/* Worker side: after pushing queries, wake the control thread (one write per batch). */
void control_wake(struct control *ctl);

/* The current generations, for a worker that got CTL_MSG_RELOAD / SNAPSHOT.
 * control_cfg_ref returns a new reference the caller must cfg_unref. */
struct cfg *control_cfg_ref(struct control *ctl);
const struct pol_snapshot *control_lists(struct control *ctl);
/* Worker side: "I hold no pointer older than generation g" (quiescent state),
 * so the control thread may free older snapshots. */
void control_worker_quiescent(struct control *ctl, unsigned worker, uint64_t g);

/* For modules that live on the control thread (control socket, metrics,
 * the Redis store): its event loop, its store, its backend pool. */
struct sl_evloop;
struct sl_evloop *control_loop(struct control *ctl);
struct pol_store *control_store(struct control *ctl);
struct backend_pool *control_pool(struct control *ctl);
unsigned control_nworkers(const struct control *ctl);

/* Control thread only: make lists the workers' snapshot (runtime changes:
 * block/allow from the control socket). Takes ownership; the old snapshot is
 * freed once every worker passed it. */
void control_publish_lists(struct control *ctl, struct pol_snapshot *lists);
/*
 * Control thread only: the runtime lists changed (control socket, Redis
 * mirror, expiry). The workers get a snapshot of config + runtime entries
 * at once, or, while rebuilds of a big list are coming fast, a little later
 * (a rebuild waits three times the last one's build time): SL_OK, or
 * SL_ERROR when an immediate rebuild had no memory (retried).
 * control_lists_flush publishes a deferred one now ("block test").
 */
int  control_lists_changed(struct control *ctl);
void control_lists_flush(struct control *ctl);
/* The Redis mirror of the runtime lists (policy redis), or NULL. */
struct redis_lists;
struct redis_lists *control_lists_mirror(struct control *ctl);
/* Control thread only: replace the store (e.g. Redis instead of embedded);
 * the old one is destroyed. */
void control_set_store(struct control *ctl, struct pol_store *st);
/* Control thread only: publish c (a generation made at run time: limits
 * set through the control socket) to the workers, as a reload does; takes
 * the caller's reference. */
void control_publish_cfg(struct control *ctl, struct cfg *c);
/* Control thread only: send m to worker w (the control socket's requests);
 * a full ring keeps it for the next loop turn. The worker is woken. */
void control_post(struct control *ctl, unsigned w, const struct ctl_msg *m);

/*
 * control_worker_sessions - worker side of the control socket's sessions
 * command: answer CTL_MSG_SESSIONS_LIST with records of rw's live sessions
 * (the registry relay_session keeps), or CTL_MSG_SESSION_KILL by killing
 * one, on rw's ring to the control thread. The transport settles the
 * connection afterwards as after any call into a session (the DPDK one
 * does so from its ops; the kernel one looks the session up by id).
 */
void control_worker_sessions(struct control *ctl, struct relay_worker *rw, const struct ctl_msg *m);

/*
 * control_worker_msg - what every transport does with a message from the
 * control that is not a verdict: RELOAD or SNAPSHOT (take the new config
 * generation, sessions keep their own ref, or list snapshot into rw, and
 * note the generation for the quiescent report), and the sessions
 * command's requests. Returns false for other messages (verdicts are the
 * transport's to route).
 */
static inline bool control_worker_msg(struct control *ctl, struct relay_worker *rw,
				      const struct ctl_msg *m, uint64_t *generation)
{
	if (m->type == CTL_MSG_SESSIONS_LIST || m->type == CTL_MSG_SESSION_KILL) {
		control_worker_sessions(ctl, rw, m);
		return true;
	}
	if (m->type == CTL_MSG_RELOAD) {
		struct cfg *old = rw->cfg;
		rw->cfg = control_cfg_ref(ctl);
		cfg_unref(old);
	} else if (m->type == CTL_MSG_SNAPSHOT) {
		rw->lists = control_lists(ctl);
	} else {
		return false;
	}
	if (m->generation > *generation)
		*generation = m->generation;
	return true;
}

/* Run the control loop in this thread until control_stop(). */
int  control_run(struct control *ctl);
void control_stop(struct control *ctl);
/* Ask for a reload of the config file (any thread; done by the control loop). */
void control_request_reload(struct control *ctl);

#endif
