/* backend_pool.h - the backends, shared by every worker: weighted
 * least-connections choice, health, drain. */
#ifndef BACKEND_POOL_H
#define BACKEND_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"

/*
 * One table of fixed slots for the life of the process, so a session can
 * keep a slot index across reloads. Config fields are written only by the
 * control thread under reload (before workers see the new generation);
 * counters and flags are atomics any thread may touch. Not on the
 * per-packet path: only at backend choice and release.
 */
struct backend_slot {
	struct cfg_backend cfg;
	_Atomic uint32_t active;      /**< sessions holding this backend */
	_Atomic bool     in_use;      /**< slot holds a configured backend */
	_Atomic bool     up;          /**< health: true until checks say down */
	_Atomic bool     drained;     /**< operator: no new sessions */
	_Atomic uint32_t fails;       /**< consecutive failed connects (passive health) */
	_Atomic uint32_t health_ok;   /**< consecutive passed checks */
	_Atomic uint32_t health_bad;  /**< consecutive failed checks */
	_Atomic uint64_t picked;      /**< total sessions sent here */
};

struct backend_pool {
	struct backend_slot slots[CFG_BACKEND_MAX];
	_Atomic uint32_t rr;          /**< rotates ties */
};

void backend_pool_init(struct backend_pool *p);
/* Apply the config's backends: same name keeps its slot and counters, new ones
 * take free slots, removed ones stop taking sessions (in_use false). */
int  backend_pool_apply(struct backend_pool *p, const struct cfg *c);

/*
 * backend_pool_pick - the usable backend (in use, up, not drained, under its
 * cap, not in `exclude`, a bitmask of slot indexes already tried) with the
 * least active/weight. Takes a session on it (active++). Returns the slot
 * index or -1.
 */
int  backend_pool_pick(struct backend_pool *p, uint64_t exclude);
void backend_pool_release(struct backend_pool *p, int idx);

/* Passive health from sessions: a failed connect counts toward down; `fall`
 * failures in a row mark the backend down (fall 0: never, for setups without
 * active checks, which alone bring a backend back up). */
void backend_pool_connect_result(struct backend_pool *p, int idx, bool ok, uint32_t fall);
/* Active health check result; rise/fall from cfg_relay. */
void backend_pool_health_result(struct backend_pool *p, int idx, bool ok, uint32_t rise, uint32_t fall);
/* The same with what the check saw ("greeting 554", "timeout"), for the log line of a transition. */
void backend_pool_health_result_why(struct backend_pool *p, int idx, bool ok, uint32_t rise,
				    uint32_t fall, const char *why);

int  backend_pool_find(const struct backend_pool *p, const char *name);
void backend_pool_drain(struct backend_pool *p, int idx, bool drained);

#endif
