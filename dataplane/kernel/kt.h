/* kt.h - the kernel transport: worker threads running epoll over kernel sockets. */
#ifndef KT_H
#define KT_H

#include <stddef.h>
#include <stdint.h>

struct cfg;
struct control;
struct backend_pool;
struct kt;

/*
 * Lifecycle, from main:
 *   n = kt_workers_for(cfg);   size the control with n ports
 *   k = kt_start(cfg, ctl, pool, err, sizeof(err));
 *   ... kt_shutdown(k) (signal handler or control) ...
 *   kt_join(k);
 */

/* How many workers kt_start() will run for c: c->workers, or one per CPU
 * this process may run on when it is 0. */
unsigned kt_workers_for(const struct cfg *c);

/*
 * kt_start - bind every c->listen address once per worker (SO_REUSEPORT, so
 * the kernel spreads connections over the workers), then start the worker
 * threads. Binding happens before any thread starts: on failure nothing runs,
 * NULL is returned and err names the address ("listen 0.0.0.0:25: bind:
 * Address already in use"). A listen port of 0 picks one ephemeral port
 * shared by all workers (see kt_listen_port). Takes its own reference on c;
 * ctl must have kt_workers_for(c) ports and outlive kt_join(). ctl may be
 * NULL (no policy queries: ops->policy fails).
 */
struct kt *kt_start(struct cfg *c, struct control *ctl, struct backend_pool *pool,
		    char *err, size_t errlen);

unsigned kt_nworkers(const struct kt *k);

/* The port c->listen[i] is bound to (differs from the config only for port 0). */
uint16_t kt_listen_port(const struct kt *k, unsigned i);

/*
 * kt_shutdown - graceful stop: workers close their listeners, call
 * relay_session_shutdown() on every session, exit once they hold no
 * connection, and abort what is left after cfg->shutdown_grace_ms.
 * Async-signal-safe (an atomic store and eventfd writes); idempotent.
 */
void kt_shutdown(struct kt *k);

/* kt_join - wait for the workers to exit (after kt_shutdown), free everything. */
void kt_join(struct kt *k);

/* Counters summed over the workers (metrics, tests). Read without locks:
 * each value is exact for its worker, the sum is not a snapshot. */
struct kt_stats {
	uint64_t accepted;        /**< connections given a session */
	uint64_t rejected_busy;   /**< 421 at max_sessions */
	uint64_t conns;           /**< connections open now (sessions + closing) */
	uint64_t policy_sent;     /**< queries pushed to the control */
	uint64_t policy_full;     /**< queries refused: ring full */
	uint64_t verdicts;        /**< verdicts delivered to a session */
	uint64_t verdicts_stale;  /**< verdicts for a session that is gone */
	uint64_t forced_closes;   /**< graceful closes that timed out, grace aborts */
};
void kt_get_stats(const struct kt *k, struct kt_stats *out);

#endif
