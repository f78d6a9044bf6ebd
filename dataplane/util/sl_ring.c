/* sl_ring.c - SPSC ring: acquire/release on head and tail is all it needs. */
#include "sl_ring.h"

#include <stdlib.h>
#include <string.h>

struct sl_ring *sl_ring_create(uint32_t count, uint32_t slot_size)
{
	struct sl_ring *r;
	uint32_t n = 2;

	while (n < count)
		n <<= 1;
	r = aligned_alloc(64, sizeof(*r));
	if (r == NULL)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->slots = malloc((size_t)n * slot_size);
	if (r->slots == NULL) {
		free(r);
		return NULL;
	}
	r->mask = n - 1;
	r->slot_size = slot_size;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	return r;
}

void sl_ring_free(struct sl_ring *r)
{
	if (r == NULL)
		return;
	free(r->slots);
	free(r);
}

bool sl_ring_push(struct sl_ring *r, const void *msg, uint32_t len)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (len > r->slot_size || head - tail > r->mask)
		return false;
	memcpy(r->slots + (size_t)(head & r->mask) * r->slot_size, msg, len);
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	return true;
}

bool sl_ring_pop(struct sl_ring *r, void *msg)
{
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);

	if (tail == head)
		return false;
	memcpy(msg, r->slots + (size_t)(tail & r->mask) * r->slot_size, r->slot_size);
	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
	return true;
}

uint32_t sl_ring_count(const struct sl_ring *r)
{
	return atomic_load_explicit(&r->head, memory_order_acquire) -
	       atomic_load_explicit(&r->tail, memory_order_acquire);
}
