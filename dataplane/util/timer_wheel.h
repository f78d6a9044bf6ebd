/* timer_wheel.h - a hashed timer wheel per worker (kernel and DPDK transports, TCP). */
#ifndef TIMER_WHEEL_H
#define TIMER_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tw_timer;
typedef void (*tw_fn)(struct tw_timer *t);

/*
 * A timer lives inside its owner (a session, a TCB); the callback finds the
 * owner with container_of. Arming, cancelling and firing are O(1); a slot
 * holds every timer whose expiry hashes there, whatever its round, and only
 * the due ones fire when the slot comes round (Varghese & Lauck, scheme 4).
 */
struct tw_timer {
	struct tw_timer  *next;
	struct tw_timer **pprev;   /**< NULL when not armed */
	uint64_t          expire;  /**< absolute, in the wheel's time unit */
	tw_fn             fn;
};

struct tw_wheel {
	struct tw_timer **slots;
	uint32_t          mask;     /**< nslots - 1 */
	uint32_t          tick;     /**< time units per slot (e.g. 1 ms) */
	uint64_t          now;      /**< time of the last advance */
	uint64_t          armed;    /**< timers armed */
};

/* nslots is rounded up to a power of two. Returns 0 or -1 (no memory). */
int  tw_init(struct tw_wheel *w, uint32_t nslots, uint32_t tick, uint64_t now);
void tw_fini(struct tw_wheel *w);

static inline void tw_timer_init(struct tw_timer *t, tw_fn fn)
{
	t->next = NULL;
	t->pprev = NULL;
	t->expire = 0;
	t->fn = fn;
}

static inline bool tw_armed(const struct tw_timer *t) { return t->pprev != NULL; }

/* Arm t to fire at absolute time `expire` (re-arms if already armed). An
 * expiry in the past fires at the next tw_advance. */
void tw_arm(struct tw_wheel *w, struct tw_timer *t, uint64_t expire);
void tw_cancel(struct tw_wheel *w, struct tw_timer *t);

/* Fire every timer due at or before `now`. Callbacks may arm and cancel
 * any timer, including the one firing. Returns the number fired. */
unsigned tw_advance(struct tw_wheel *w, uint64_t now);

/* Time until the next slot that may hold a due timer, for a poll timeout:
 * -1 when nothing is armed. */
int64_t tw_next_timeout(const struct tw_wheel *w, uint64_t now);

#endif
