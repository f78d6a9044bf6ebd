/* pol_table.c - the bucket table of the embedded store (see pol_table.h). */
#include <stdlib.h>
#include <string.h>

#include "policy/pol_table.h"

/* Bounded work when an insert finds the table full: a little more than a
 * tick, so a full table of idle buckets frees room at once. */
#define POL_TABLE_FULL_SWEEP 1024

int pol_table_init(struct pol_table *t, uint32_t capacity, pol_reclaim_fn fn, void *arg)
{
	uint64_t slots = 16;

	memset(t, 0, sizeof(*t));
	if (capacity == 0 || capacity > (1u << 30))
		return -1;
	while (slots < 2ull * capacity)
		slots *= 2;
	/* calloc: the kernel maps the pages only as buckets land on them */
	t->slot = calloc(slots, sizeof(*t->slot));
	if (t->slot == NULL)
		return -1;
	t->mask = (uint32_t)(slots - 1);
	t->capacity = capacity;
	t->reclaimable = fn;
	t->arg = arg;
	return 0;
}

void pol_table_fini(struct pol_table *t)
{
	free(t->slot);
	t->slot = NULL;
}

static uint32_t home(const struct pol_table *t, uint64_t fp)
{
	return (uint32_t)(fp ^ (fp >> 32)) & t->mask;
}

struct pol_bucket *pol_table_find(struct pol_table *t, uint32_t uid, uint64_t fp)
{
	uint32_t i;

	for (i = home(t, fp); t->slot[i].fp != 0; i = (i + 1) & t->mask)
		if (t->slot[i].fp == fp && t->slot[i].uid == uid)
			return &t->slot[i];
	return NULL;
}

static struct pol_bucket *insert_once(struct pol_table *t, uint32_t uid, uint64_t fp)
{
	struct pol_bucket *reuse = NULL, *b;
	uint32_t i;

	for (i = home(t, fp); t->slot[i].fp != 0; i = (i + 1) & t->mask) {
		b = &t->slot[i];
		if (b->fp == fp && b->uid == uid)
			return b;
		/* A reclaimable bucket on our own probe path can take the new key:
		 * it stays before the empty slot that ends every lookup of it. */
		if (reuse == NULL && t->reclaimable(b, t->arg))
			reuse = b;
	}
	if (reuse != NULL) {
		t->reclaimed++;
		b = reuse;
	} else if (t->n < t->capacity) {
		b = &t->slot[i];
		t->n++;
	} else {
		return NULL;
	}
	b->fp = fp;
	b->uid = uid;
	b->val = 0;
	return b;
}

struct pol_bucket *pol_table_insert(struct pol_table *t, uint32_t uid, uint64_t fp)
{
	struct pol_bucket *b = insert_once(t, uid, fp);

	if (b == NULL && pol_table_sweep(t, POL_TABLE_FULL_SWEEP) > 0)
		b = insert_once(t, uid, fp);
	return b;
}

void pol_table_delete(struct pol_table *t, struct pol_bucket *b)
{
	uint32_t i = (uint32_t)(b - t->slot), j = i;

	/* Backward shift: pull later members of the run into the hole when
	 * their home does not lie cyclically in (hole, their slot]. */
	for (;;) {
		uint32_t k;
		j = (j + 1) & t->mask;
		if (t->slot[j].fp == 0)
			break;
		k = home(t, t->slot[j].fp);
		if (((j - k) & t->mask) >= ((j - i) & t->mask)) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	memset(&t->slot[i], 0, sizeof(t->slot[i]));
	t->n--;
}

unsigned pol_table_sweep(struct pol_table *t, unsigned budget)
{
	unsigned freed = 0;

	while (budget-- > 0 && t->n > 0) {
		struct pol_bucket *b = &t->slot[t->cursor];
		if (b->fp != 0 && t->reclaimable(b, t->arg)) {
			/* stay on this slot: the shift may have moved a bucket here */
			pol_table_delete(t, b);
			freed++;
		} else {
			t->cursor = (t->cursor + 1) & t->mask;
		}
	}
	t->reclaimed += freed;
	return freed;
}
