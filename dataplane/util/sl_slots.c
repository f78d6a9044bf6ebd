/* sl_slots.c - a worker's table of session slots (see sl_slots.h). */
#include <stdlib.h>

#include "util/sl_slots.h"

#define GEN_MASK ((1u << SL_SLOT_GEN_BITS) - 1)

static uint64_t make_id(const struct sl_slots *t, uint32_t slot, uint32_t gen)
{
	return ((uint64_t)t->worker << 48) | ((uint64_t)slot << SL_SLOT_GEN_BITS) | (gen & GEN_MASK);
}

/* Up to n slots, the new ones free at the tail. */
static int grow(struct sl_slots *t, uint32_t n)
{
	struct sl_slot *s;

	if (n > t->max)
		n = t->max;
	if (n <= t->n)
		return -1;
	s = realloc(t->s, (size_t)n * sizeof(*s));
	if (s == NULL)
		return -1;
	for (uint32_t i = t->n; i < n; i++)
		s[i] = (struct sl_slot){ .next_free = i + 1 < n ? i + 1 : SL_SLOT_NONE };
	if (t->free_head == SL_SLOT_NONE)
		t->free_head = t->n;
	else
		s[t->free_tail].next_free = t->n;
	t->free_tail = n - 1;
	t->s = s;
	t->n = n;
	return 0;
}

int sl_slots_init(struct sl_slots *t, uint16_t worker, uint32_t first, uint32_t max)
{
	*t = (struct sl_slots){ .worker = worker, .free_head = SL_SLOT_NONE, .free_tail = SL_SLOT_NONE };
	t->max = max == 0 || max > (1u << SL_SLOT_BITS) ? 1u << SL_SLOT_BITS : max;
	return first == 0 ? 0 : grow(t, first);
}

void sl_slots_fini(struct sl_slots *t)
{
	free(t->s);
	t->s = NULL;
	t->n = 0;
	t->free_head = t->free_tail = SL_SLOT_NONE;
}

uint32_t sl_slots_take(struct sl_slots *t, void *conn, uint64_t *id)
{
	uint32_t i;

	if (t->free_head == SL_SLOT_NONE && grow(t, t->n ? t->n * 2 : 64) != 0)
		return SL_SLOT_NONE;
	i = t->free_head;
	t->free_head = t->s[i].next_free;
	if (t->free_head == SL_SLOT_NONE)
		t->free_tail = SL_SLOT_NONE;
	t->s[i].conn = conn;
	t->s[i].next_free = SL_SLOT_NONE;
	*id = make_id(t, i, t->s[i].gen);
	return i;
}

void sl_slots_put(struct sl_slots *t, uint32_t i)
{
	struct sl_slot *s = &t->s[i];

	s->conn = NULL;
	s->gen = (s->gen + 1) & GEN_MASK;
	s->next_free = SL_SLOT_NONE;
	if (t->free_tail == SL_SLOT_NONE)
		t->free_head = i;
	else
		t->s[t->free_tail].next_free = i;
	t->free_tail = i;
}

void *sl_slots_find(const struct sl_slots *t, uint64_t id)
{
	uint32_t slot = (uint32_t)(id >> SL_SLOT_GEN_BITS) & ((1u << SL_SLOT_BITS) - 1);

	if ((id >> 48) != t->worker || slot >= t->n || t->s[slot].conn == NULL)
		return NULL;
	return make_id(t, slot, t->s[slot].gen) == id ? t->s[slot].conn : NULL;
}
