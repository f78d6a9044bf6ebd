/* sl_ring.h - single-producer single-consumer ring of fixed-size messages,
 * the only meeting point of a worker and the control thread. */
#ifndef SL_RING_H
#define SL_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Messages are copied in and out: they carry ids, never pointers into the
 * other side's memory. One producer thread, one consumer thread; head and
 * tail live on their own cache lines so the two sides do not false-share.
 */
struct sl_ring {
	alignas(64) _Atomic uint32_t head;   /**< next slot to write (producer) */
	alignas(64) _Atomic uint32_t tail;   /**< next slot to read (consumer) */
	alignas(64) uint32_t mask;
	uint32_t slot_size;
	uint8_t *slots;
};

/* count is rounded up to a power of two. NULL on no memory. */
struct sl_ring *sl_ring_create(uint32_t count, uint32_t slot_size);
void sl_ring_free(struct sl_ring *r);

/* Copy len (<= slot_size) bytes in. Returns false when the ring is full. */
bool sl_ring_push(struct sl_ring *r, const void *msg, uint32_t len);
/* Copy the oldest message out (slot_size bytes). Returns false when empty. */
bool sl_ring_pop(struct sl_ring *r, void *msg);
uint32_t sl_ring_count(const struct sl_ring *r);

#endif
