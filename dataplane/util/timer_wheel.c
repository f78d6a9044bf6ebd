/* timer_wheel.c - hashed timer wheel: intrusive doubly linked slots. */
#include "timer_wheel.h"

#include <stdlib.h>

int tw_init(struct tw_wheel *w, uint32_t nslots, uint32_t tick, uint64_t now)
{
	uint32_t n = 1;

	while (n < nslots)
		n <<= 1;
	w->slots = calloc(n, sizeof(*w->slots));
	if (w->slots == NULL)
		return -1;
	w->mask = n - 1;
	w->tick = tick ? tick : 1;
	w->now = now;
	w->armed = 0;
	return 0;
}

void tw_fini(struct tw_wheel *w)
{
	/* Unlink whatever is still armed, so owners may test tw_armed() later. */
	for (uint32_t i = 0; w->slots != NULL && i <= w->mask; i++) {
		struct tw_timer *t = w->slots[i];
		while (t != NULL) {
			struct tw_timer *next = t->next;
			t->next = NULL;
			t->pprev = NULL;
			t = next;
		}
	}
	free(w->slots);
	w->slots = NULL;
	w->armed = 0;
}

static void unlink_timer(struct tw_timer *t)
{
	if (t->next != NULL)
		t->next->pprev = t->pprev;
	*t->pprev = t->next;
	t->next = NULL;
	t->pprev = NULL;
}

static void link_timer(struct tw_timer **head, struct tw_timer *t)
{
	t->next = *head;
	if (*head != NULL)
		(*head)->pprev = &t->next;
	*head = t;
	t->pprev = head;
}

void tw_arm(struct tw_wheel *w, struct tw_timer *t, uint64_t expire)
{
	if (tw_armed(t))
		unlink_timer(t);
	else
		w->armed++;
	/* A past expiry goes to the slot processed next, never behind us. */
	if (expire <= w->now)
		expire = w->now + 1;
	t->expire = expire;
	link_timer(&w->slots[(expire / w->tick) & w->mask], t);
}

void tw_cancel(struct tw_wheel *w, struct tw_timer *t)
{
	if (!tw_armed(t))
		return;
	unlink_timer(t);
	w->armed--;
}

unsigned tw_advance(struct tw_wheel *w, uint64_t now)
{
	unsigned fired = 0;
	uint64_t from, to, tick;

	if (now <= w->now)
		return 0;
	/* Revisit the slot of the last advance: timers armed later in that
	 * same tick may be due now. Visiting a slot fires only what is due. */
	from = w->now / w->tick;
	to = now / w->tick;
	if (to - from > w->mask)
		from = to - w->mask; /* one revolution visits every slot */
	w->now = now;
	for (tick = from; tick <= to && w->armed > 0; tick++) {
		struct tw_timer **slot = &w->slots[tick & w->mask];
		struct tw_timer *due = NULL, *t, *next;

		/* Move the due timers out first: callbacks may re-arm into this slot. */
		for (t = *slot; t != NULL; t = next) {
			next = t->next;
			if (t->expire <= now) {
				unlink_timer(t);
				link_timer(&due, t);
			}
		}
		while ((t = due) != NULL) {
			unlink_timer(t);
			w->armed--;
			fired++;
			t->fn(t);
		}
	}
	return fired;
}

int64_t tw_next_timeout(const struct tw_wheel *w, uint64_t now)
{
	if (w->armed == 0)
		return -1;
	uint64_t next_tick = (now / w->tick + 1) * w->tick;
	return (int64_t)(next_tick - now);
}
