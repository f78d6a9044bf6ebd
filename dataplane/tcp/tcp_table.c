/* tcp_table.c - per-lcore lookup structures: 4-tuple -> TCB hash, listeners, the TIME-WAIT ring. */
#include <stdlib.h>
#include <string.h>

#include "tcp_priv.h"

/*
 * The table hash runs on every segment, so it is a cheap keyed mix (a
 * multiply-xorshift over the tuple's 32-bit words, seeded from the stack's
 * secret) rather than SipHash: the seed keeps chains hard to aim at from
 * outside, and the mix costs a few cycles per word.
 */
uint32_t tcp_tuple_hash(const struct tcp_stack *st, const struct tcp_tuple *t)
{
	uint64_t h = st->hash_seed;
	uint32_t w[9];

	memcpy(w, t, 36);   /* laddr, raddr, ports */
	for (int i = 0; i < 9; i++) {
		h ^= w[i];
		h *= 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	h ^= t->family;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (uint32_t)h;
}

static inline bool tuple_eq(const struct tcp_tuple *a, const struct tcp_tuple *b)
{
	/* ports first: they differ most often, and they are one word. */
	return a->lport == b->lport && a->rport == b->rport && a->family == b->family &&
	       memcmp(a->raddr, b->raddr, 16) == 0 && memcmp(a->laddr, b->laddr, 16) == 0;
}

struct tcp_conn *tcp_conn_lookup(struct tcp_stack *st, const struct tcp_tuple *t)
{
	struct tcp_conn *c = st->buckets[tcp_tuple_hash(st, t) & st->bmask];

	while (c != NULL && !tuple_eq(&c->tuple, t))
		c = c->hnext;
	return c;
}

void tcp_conn_insert(struct tcp_stack *st, struct tcp_conn *c)
{
	struct tcp_conn **b = &st->buckets[tcp_tuple_hash(st, &c->tuple) & st->bmask];

	c->hnext = *b;
	*b = c;
}

void tcp_conn_remove(struct tcp_stack *st, struct tcp_conn *c)
{
	struct tcp_conn **pp = &st->buckets[tcp_tuple_hash(st, &c->tuple) & st->bmask];

	while (*pp != NULL && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp == c)
		*pp = c->hnext;
	c->hnext = NULL;
}

struct tcp_listener *tcp_listener_find(struct tcp_stack *st, uint16_t port)
{
	for (int i = 0; i < TCP_LISTEN_MAX; i++)
		if (st->listeners[i].port == port && port != 0)
			return &st->listeners[i];
	return NULL;
}

/* --- TIME-WAIT --- */

int tcp_tw_init(struct tcp_tw_table *tw, uint32_t cap)
{
	uint32_t nb = 1;

	if (cap == 0)
		cap = 1;
	while (nb < cap)
		nb <<= 1;
	tw->ents = calloc(cap, sizeof(*tw->ents));
	tw->buckets = malloc(nb * sizeof(*tw->buckets));
	if (tw->ents == NULL || tw->buckets == NULL)
		return -1;
	for (uint32_t i = 0; i < nb; i++)
		tw->buckets[i] = TCP_TW_NONE;
	tw->bmask = nb - 1;
	tw->cap = cap;
	tw->head = tw->count = tw->live = 0;
	return 0;
}

void tcp_tw_fini(struct tcp_tw_table *tw)
{
	free(tw->ents);
	free(tw->buckets);
	tw->ents = NULL;
	tw->buckets = NULL;
}

struct tcp_tw_entry *tcp_tw_lookup(struct tcp_stack *st, const struct tcp_tuple *t)
{
	struct tcp_tw_table *tw = &st->tw;
	uint32_t i;

	if (tw->live == 0)      /* the common case on a fresh lcore: skip the hash */
		return NULL;
	i = tw->buckets[tcp_tuple_hash(st, t) & tw->bmask];
	while (i != TCP_TW_NONE) {
		if (tuple_eq(&tw->ents[i].tuple, t))
			return &tw->ents[i];
		i = tw->ents[i].hnext;
	}
	return NULL;
}

/* Unlink a live entry from its chain and mark it dead; its ring slot is
 * reclaimed when the head reaches it. */
void tcp_tw_remove(struct tcp_stack *st, struct tcp_tw_entry *e)
{
	struct tcp_tw_table *tw = &st->tw;
	uint32_t idx = (uint32_t)(e - tw->ents);
	uint32_t *pp = &tw->buckets[tcp_tuple_hash(st, &e->tuple) & tw->bmask];

	if (!e->live)
		return;
	while (*pp != TCP_TW_NONE && *pp != idx)
		pp = &tw->ents[*pp].hnext;
	if (*pp == idx)
		*pp = e->hnext;
	e->live = 0;
	tw->live--;
	st->cnt.conns[TCP_TIME_WAIT] = tw->live;
}

static void tw_pop_head(struct tcp_stack *st)
{
	struct tcp_tw_table *tw = &st->tw;
	struct tcp_tw_entry *e = &tw->ents[tw->head];

	if (e->live)
		tcp_tw_remove(st, e);
	tw->head = (tw->head + 1) % tw->cap;
	tw->count--;
}

/* A new entry at the tail, expiring 2 MSL from now; the oldest is evicted
 * when the ring is full. The caller fills the fields after the tuple. */
struct tcp_tw_entry *tcp_tw_add(struct tcp_stack *st, const struct tcp_tuple *t)
{
	struct tcp_tw_table *tw = &st->tw;
	struct tcp_tw_entry *e;
	uint32_t idx, *b;

	if (tw->count == tw->cap) {
		if (tw->ents[tw->head].live)
			st->cnt.tw_recycled++;
		tw_pop_head(st);
	}
	idx = (tw->head + tw->count) % tw->cap;
	tw->count++;
	e = &tw->ents[idx];
	memset(e, 0, sizeof(*e));
	e->tuple = *t;
	e->expire = st->now + 2ull * st->cfg.msl_ms;
	e->live = 1;
	b = &tw->buckets[tcp_tuple_hash(st, t) & tw->bmask];
	e->hnext = *b;
	*b = idx;
	tw->live++;
	st->cnt.conns[TCP_TIME_WAIT] = tw->live;
	return e;
}

/* RFC 9293 3.10.7.4: a retransmitted FIN restarts the 2 MSL timeout. The
 * ring keeps expiry order, so the entry moves to the tail. */
struct tcp_tw_entry *tcp_tw_restart(struct tcp_stack *st, struct tcp_tw_entry *e)
{
	struct tcp_tw_entry copy = *e, *n;

	tcp_tw_remove(st, e);
	n = tcp_tw_add(st, &copy.tuple);
	copy.expire = n->expire;
	copy.hnext = n->hnext;
	copy.live = 1;
	*n = copy;
	return n;
}

void tcp_tw_expire(struct tcp_stack *st)
{
	struct tcp_tw_table *tw = &st->tw;

	while (tw->count > 0) {
		struct tcp_tw_entry *e = &tw->ents[tw->head];
		if (e->live && e->expire > st->now)
			break;
		tw_pop_head(st);
	}
}
