/* relay_session.h - one proxied SMTP session: the server engine on the client
 * leg, policy decisions, and the backend leg. Sans-IO: a transport drives it. */
#ifndef RELAY_SESSION_H
#define RELAY_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "policy/pol.h"
#include "relay_stats.h"
#include "transport.h"

struct backend_pool;
struct relay_session;

/* What a session is doing, as the control socket's sessions command shows it. */
enum relay_stage {
	RELAY_STAGE_CONNECT = 0,    /* before the greeting (connect verdict, greet pause) */
	RELAY_STAGE_GREETED,        /* 220 sent, no HELO yet */
	RELAY_STAGE_HELO,
	RELAY_STAGE_MAIL,           /* MAIL given, no recipient accepted yet */
	RELAY_STAGE_RCPT,
	RELAY_STAGE_DATA,           /* message content flowing */
	RELAY_STAGE_CLOSING,
	RELAY_STAGE_COUNT
};

/* One live session, by value: it travels on a ring to the control thread. */
struct relay_session_info {
	uint64_t       id;
	struct sl_addr client;         /**< with port */
	uint64_t       age_ms;
	uint64_t       bytes;          /**< message bytes from the client, the one in progress included */
	uint32_t       messages;       /**< messages the backend took */
	uint8_t        stage;          /**< enum relay_stage */
	char           helo[SL_HELO_MAX + 1];
	char           sender[SL_PATH_MAX + 1]; /**< of the transaction in progress, "" otherwise */
	char           backend[CFG_NAME_MAX];   /**< "" without a backend leg */
};

/*
 * What the sessions of one worker share. Owned by the worker (the
 * transport); sessions only read it, except the counters.
 */
struct relay_worker {
	uint16_t                   id;
	struct cfg                *cfg;        /**< current generation (new sessions take a ref) */
	const struct pol_snapshot *lists;      /**< current list snapshot */
	struct backend_pool       *pool;       /**< shared by all workers */
	uint32_t                   sessions;   /**< open sessions on this worker */
	bool                       stressed;   /**< sessions >= stress_sessions: short timeouts */
	bool                       shutting_down;
	uint64_t                   now_ms;     /**< the worker's clock, updated by its loop */
	uint64_t                   next_id;    /**< session numbering */
	struct relay_session      *live;       /**< every started, not yet freed session (registry) */
	void                      *rc_cache;   /**< freed backend-leg blocks, linked through their first word */
	uint32_t                   rc_cached;  /**< how many (at most RELAY_RC_CACHE_MAX) */
	/* Outcomes of the worker's sessions: only its sessions write them; the
	 * control thread reads them (control_worker_stats_set/read). Last: large. */
	struct relay_stats         stats;
};

/*
 * A backend leg's state (relay_client, ~30 KiB) is taken at a session's first
 * backend connect and given back at its end. Freed blocks stay on their
 * worker, up to this many, so a steady load allocates nothing: on a DPDK lcore
 * a free() can make glibc trim its heap, a madvise(2) on the packet path with
 * a TLB shootdown of the other CPUs (seen in bench_dpdk_capacity with perf).
 */
#define RELAY_RC_CACHE_MAX 512u

/* relay_worker_fini - free what the worker keeps (its backend-leg cache);
 * after its last session. The transports call it when a worker goes. */
void relay_worker_fini(struct relay_worker *w);

/* Per-session facts the transport knows at accept. */
struct relay_session_params {
	uint64_t       id;       /**< unique; used by the transport to route verdicts */
	struct sl_addr client;   /**< with port */
	struct sl_addr local;    /**< with port */
};

size_t relay_session_size(void);
/*
 * relay_session_start - initialise mem (relay_session_size() bytes) and start:
 * the connect-stage policy, then the greeting (after greet_pause). Takes a
 * cfg reference and counts the session in w->sessions. ops/conn are how the
 * session reaches its transport.
 */
struct relay_session *relay_session_start(void *mem, struct relay_worker *w,
					  const struct relay_session_params *p,
					  const struct sl_transport_ops *ops, void *conn);

/* Client bytes; returns how many were consumed (the rest is offered again
 * after the session calls ops->resume). */
size_t relay_session_client_input(struct relay_session *s, const struct sl_rx *rx);
/* Backend bytes; always consumed whole. */
void   relay_session_backend_input(struct relay_session *s, const struct sl_rx *rx);
/* The backend connect finished: ok, or failed (refused, unreachable, timeout). */
void   relay_session_backend_connected(struct relay_session *s, bool ok);
/* A leg ended without the session asking: EOF, reset or error. */
void   relay_session_leg_closed(struct relay_session *s, enum sl_leg leg, bool reset);
/* Queued output on a leg has drained below the transport's mark. */
void   relay_session_writable(struct relay_session *s, enum sl_leg leg);
void   relay_session_timer(struct relay_session *s, enum sl_timer_id id);
void   relay_session_verdict(struct relay_session *s, uint32_t seq, const struct pol_verdict *v);
/* Graceful shutdown: 421 4.3.2 at the next command if no transaction is in
 * flight; a transaction in flight finishes first. */
void   relay_session_shutdown(struct relay_session *s);
/* Both legs are closed: log the session, release what it holds. The memory
 * is the transport's to free afterwards. */
void   relay_session_free(struct relay_session *s);

uint64_t relay_session_id(const struct relay_session *s);

/*
 * The worker's registry: relay_session_start links a session into w->live,
 * relay_session_free unlinks it, so every transport has it without a hook.
 * Walk with relay_session_first/next (no session may start or end meanwhile).
 */
struct relay_session *relay_session_first(const struct relay_worker *w);
struct relay_session *relay_session_next(const struct relay_session *s);
/* The live session with this id on w, or NULL. Linear: for operators, not packets. */
struct relay_session *relay_session_find(const struct relay_worker *w, uint64_t id);
void relay_session_describe(const struct relay_session *s, struct relay_session_info *out);
const char *relay_stage_name(enum relay_stage st);

/*
 * relay_session_kill - the operator closes the session: 421 4.3.2 to the
 * client, the backend leg dropped (a message not yet ended goes nowhere: the
 * client was not told 250, so it sends again). When the end of a message is
 * at the backend, the kill waits for its reply, which the client gets first:
 * a message the backend took is never sent twice. Returns SL_OK (closing
 * now), SL_AGAIN (after that reply) or SL_DONE (it was closing already).
 * The transport settles the connection afterwards, as after any call.
 */
int relay_session_kill(struct relay_session *s);

#endif
