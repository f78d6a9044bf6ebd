/* sl_slots.h - a worker's table of session slots: ids of worker | slot | generation, freed slots reused oldest first (both transports). */
#ifndef SL_SLOTS_H
#define SL_SLOTS_H

#include <stdint.h>

#define SL_SLOT_BITS 20           /**< at most 2^20 sessions per worker */
#define SL_SLOT_GEN_BITS 28
#define SL_SLOT_NONE UINT32_MAX

/*
 * A session id is worker (16 bits) | slot (SL_SLOT_BITS) | generation
 * (SL_SLOT_GEN_BITS). A slot's generation moves on every time it is
 * freed, and freed slots are reused oldest first, so a verdict or a kill
 * for a session that is gone finds another generation and is dropped.
 */
struct sl_slot {
	void    *conn;       /**< the live session's connection, NULL when free */
	void    *mem;        /**< the owner's object kept with the slot across uses, or NULL */
	uint32_t gen;
	uint32_t next_free;
};

struct sl_slots {
	struct sl_slot *s;
	uint32_t        n, max;                /**< slots now; at most (doubling from the first size) */
	uint32_t        free_head, free_tail;  /**< FIFO */
	uint16_t        worker;
};

/* first slots now (0: none yet), growing by doubling up to max (<= 2^SL_SLOT_BITS). 0, or -1 without memory. */
int  sl_slots_init(struct sl_slots *t, uint16_t worker, uint32_t first, uint32_t max);
/* Frees the table (not the conn or mem objects: the owner's). */
void sl_slots_fini(struct sl_slots *t);
/* The oldest free slot for conn, growing the table if none is free: its
 * index, and its session id in *id; SL_SLOT_NONE when full at max. */
uint32_t sl_slots_take(struct sl_slots *t, void *conn, uint64_t *id);
/* Slot i is free again; its next session will carry the next generation. */
void sl_slots_put(struct sl_slots *t, uint32_t i);
/* The connection of session id, NULL when it is another worker's, gone, or its slot reused. */
void *sl_slots_find(const struct sl_slots *t, uint64_t id);

#endif
