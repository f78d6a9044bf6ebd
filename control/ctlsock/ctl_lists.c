/* ctl_lists.c - runtime block/allow entries: validation, a compact store with
 * a hash index and interned reasons, TTL expiry, and the merged snapshot. */
#include "ctlsock/ctl_lists.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/pol_snapshot.h"
#include "util/sl_hash.h"
#include "util/sl_status.h"

static const char *const kind_names[CFG_LIST_KIND_COUNT] = { "ip", "helo", "sender", "domain", "rcpt" };

int ctl_lists_kind(const char *word)
{
	for (int k = 0; k < CFG_LIST_KIND_COUNT; k++)
		if (strcmp(word, kind_names[k]) == 0)
			return k;
	return -1;
}

const char *ctl_lists_kind_name(enum cfg_list_kind k)
{
	return (unsigned)k < CFG_LIST_KIND_COUNT ? kind_names[k] : "?";
}

/* ---- values */

static bool valid_address(const char *s)
{
	const char *at = strrchr(s, '@');

	return at != NULL && at != s && at[1] != '\0' && strchr(s, '<') == NULL &&
	       strchr(s, '>') == NULL;
}

/* Letters, digits, '-' and dots between labels; a leading dot means subdomains too. */
static bool valid_domain(const char *s)
{
	size_t label = 0, n = strlen(s);

	if (*s == '.')
		s++, n--;
	if (n == 0 || n > SL_DOMAIN_MAX)
		return false;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)*s) || *s == '-' || *s == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

/* No space, tab, control byte or DEL: SMTP words never hold them, and the
 * Redis mirror's messages separate fields with tabs. */
static bool plain_word(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

int ctl_lists_parse_value(enum cfg_list_kind kind, const char *value, struct cfg_list_entry *e,
			  char *err, size_t errlen)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	if (strlen(value) >= sizeof(e->value)) {
		snprintf(err, errlen, "value too long (max %zu bytes)", sizeof(e->value) - 1);
		return SL_DECLINED;
	}
	if (kind != CFG_LIST_IP && (unsigned)kind < CFG_LIST_KIND_COUNT && !plain_word(value)) {
		snprintf(err, errlen, "bad %s value: no spaces or control characters", kind_names[kind]);
		return SL_DECLINED;
	}
	switch (kind) {
	case CFG_LIST_IP:
		if (sl_prefix_parse(value, &e->prefix) != 0) {
			snprintf(err, errlen, "bad ip value '%.64s': want an address or a CIDR like 203.0.113.0/24 "
				 "(host bits zero)", value);
			return SL_DECLINED;
		}
		/* canonical text, so "2001:db8::0/32" and "2001:db8::/32" are one entry */
		sl_prefix_format(&e->prefix, e->value, sizeof(e->value));
		return SL_OK;
	case CFG_LIST_HELO:
		if (value[0] == '\0' || strlen(value) > SL_HELO_MAX) {
			snprintf(err, errlen, "bad helo value: want a name of 1 to %d bytes", SL_HELO_MAX);
			return SL_DECLINED;
		}
		break;
	case CFG_LIST_SENDER:
		if (strcmp(value, "<>") != 0 && !valid_address(value)) {
			snprintf(err, errlen, "bad sender value '%.64s': want local@domain, or <> for the null sender", value);
			return SL_DECLINED;
		}
		break;
	case CFG_LIST_DOMAIN:
		if (!valid_domain(value)) {
			snprintf(err, errlen, "bad domain value '%.64s': want a domain (.example.net for subdomains)", value);
			return SL_DECLINED;
		}
		break;
	case CFG_LIST_RCPT:
		if (!valid_address(value)) {
			snprintf(err, errlen, "bad rcpt value '%.64s': want local@domain", value);
			return SL_DECLINED;
		}
		break;
	default:
		snprintf(err, errlen, "bad kind");
		return SL_DECLINED;
	}
	for (size_t i = 0; value[i] != '\0'; i++)
		e->value[i] = (char)tolower((unsigned char)value[i]);
	return SL_OK;
}

bool ctl_lists_same(const struct cfg_list_entry *a, const struct cfg_list_entry *b)
{
	if (a->kind != b->kind || a->allow != b->allow)
		return false;
	if (a->kind == CFG_LIST_IP)
		return a->prefix.len == b->prefix.len && sl_addr_equal(&a->prefix.addr, &b->prefix.addr);
	return strcmp(a->value, b->value) == 0;
}

/* ---- hashing */

static uint64_t hash_str(uint64_t h, const char *s)
{
	return sl_hash_mix(sl_hash_bytes(h, s, strlen(s)));
}

/* What identifies an entry: list, kind and value (ip: family, length, address). */
struct key {
	uint8_t kind, allow, plen, v6;
	const uint8_t *ip;
	const char *name;
};

static struct key key_of_cfg(const struct cfg_list_entry *e)
{
	struct key k = { (uint8_t)e->kind, (uint8_t)e->allow, 0, 0, NULL, NULL };

	if (e->kind == CFG_LIST_IP) {
		k.plen = e->prefix.len;
		k.v6 = e->prefix.addr.family == SL_AF_INET6;
		k.ip = e->prefix.addr.ip;
	} else {
		k.name = e->value;
	}
	return k;
}

static struct key key_of_entry(const struct ctl_list_entry *x)
{
	struct key k = { x->kind, x->allow, x->plen, (x->flags & CTL_E_V6) != 0, NULL, NULL };

	if (x->kind == CFG_LIST_IP)
		k.ip = x->v.ip;
	else
		k.name = x->v.name;
	return k;
}

static uint64_t key_hash(const struct key *k)
{
	uint64_t meta = (uint64_t)k->kind | (uint64_t)k->allow << 8 | (uint64_t)k->plen << 16 |
			(uint64_t)k->v6 << 24;
	uint64_t a = 0, b = 0;

	if (k->name != NULL)
		return hash_str(SL_HASH_SEED ^ meta, k->name);
	if (k->v6) {
		memcpy(&a, k->ip, 8);
		memcpy(&b, k->ip + 8, 8);
	} else {
		uint32_t v4;
		memcpy(&v4, k->ip, 4);
		a = v4;
	}
	return sl_hash_mix(a ^ sl_hash_mix(b ^ meta ^ 0x9e3779b97f4a7c15ull));
}

static bool key_match(const struct key *k, const struct ctl_list_entry *x)
{
	if (x->kind != k->kind || x->allow != k->allow)
		return false;
	if (k->name != NULL)
		return strcmp(x->v.name, k->name) == 0;
	return x->plen == k->plen && ((x->flags & CTL_E_V6) != 0) == k->v6 &&
	       memcmp(x->v.ip, k->ip, k->v6 ? 16 : 4) == 0;
}

/* ---- the entry index: linear probing, backward-shift deletion */

static uint32_t *slot_of(const struct ctl_lists *l, const struct key *k)
{
	uint32_t i;

	if (l->idx == NULL)
		return NULL;
	for (i = (uint32_t)key_hash(k) & l->mask; l->idx[i] != 0; i = (i + 1) & l->mask)
		if (key_match(k, &l->ent[l->idx[i] - 1]))
			return &l->idx[i];
	return NULL;
}

static void idx_put(uint32_t *idx, uint32_t mask, uint64_t h, uint32_t v)
{
	uint32_t i;

	for (i = (uint32_t)h & mask; idx[i] != 0; i = (i + 1) & mask)
		;
	idx[i] = v;
}

static int idx_grow(struct ctl_lists *l, unsigned want)
{
	uint32_t slots = l->mask ? l->mask + 1 : 64, *idx;

	if (l->idx != NULL && want <= slots / 2)
		return 0;
	while (want > slots / 2)
		slots *= 2;
	idx = calloc(slots, sizeof(*idx));
	if (idx == NULL)
		return -1;
	for (unsigned i = 0; i < l->nent; i++) {
		struct key k = key_of_entry(&l->ent[i]);
		idx_put(idx, slots - 1, key_hash(&k), i + 1);
	}
	free(l->idx);
	l->idx = idx;
	l->mask = slots - 1;
	return 0;
}

static void idx_delete(struct ctl_lists *l, uint32_t *slot)
{
	uint32_t i = (uint32_t)(slot - l->idx), j = i;

	for (;;) {
		uint32_t h;
		struct key k;
		j = (j + 1) & l->mask;
		if (l->idx[j] == 0)
			break;
		k = key_of_entry(&l->ent[l->idx[j] - 1]);
		h = (uint32_t)key_hash(&k) & l->mask;
		if (((j - h) & l->mask) >= ((j - i) & l->mask)) {
			l->idx[i] = l->idx[j];
			i = j;
		}
	}
	l->idx[i] = 0;
}

/* ---- interned reasons */

static uint32_t reason_get(struct ctl_lists *l, const char *s)
{
	uint32_t h, i, id;

	if (s == NULL || s[0] == '\0')
		return 0;
	h = (uint32_t)hash_str(0x84222325cbf29ce4ull, s);
	if (l->ridx == NULL || 2 * (l->nreasons + 1) > l->rmask + 1) {
		uint32_t slots = l->rmask ? 2 * (l->rmask + 1) : 64, *ri = calloc(slots, sizeof(*ri));
		if (ri == NULL)
			return UINT32_MAX;
		for (id = 1; id <= l->reasons_cap; id++)
			if (l->reasons[id - 1].s != NULL)
				idx_put(ri, slots - 1, l->reasons[id - 1].hash, id);
		free(l->ridx);
		l->ridx = ri;
		l->rmask = slots - 1;
	}
	for (i = h & l->rmask; (id = l->ridx[i]) != 0; i = (i + 1) & l->rmask) {
		struct ctl_reason *r = &l->reasons[id - 1];
		if (r->hash == h && strcmp(r->s, s) == 0) {
			r->refs++;
			return id;
		}
	}
	if (l->reasons_free != 0) {
		id = l->reasons_free;
		l->reasons_free = l->reasons[id - 1].refs;
	} else {
		if (l->reasons_cap == UINT32_MAX - 1)
			return UINT32_MAX;
		if (l->reasons_cap % 64 == 0) {
			struct ctl_reason *p = realloc(l->reasons, (l->reasons_cap + 64) * sizeof(*p));
			if (p == NULL)
				return UINT32_MAX;
			l->reasons = p;
		}
		id = ++l->reasons_cap;
	}
	l->reasons[id - 1] = (struct ctl_reason){ strdup(s), 1, h };
	if (l->reasons[id - 1].s == NULL) {
		l->reasons[id - 1].refs = l->reasons_free;
		l->reasons_free = id;
		return UINT32_MAX;
	}
	l->ridx[i] = id;
	l->nreasons++;
	return id;
}

static void reason_put(struct ctl_lists *l, uint32_t id)
{
	struct ctl_reason *r;
	uint32_t i, j;

	if (id == 0 || id > l->reasons_cap)
		return;
	r = &l->reasons[id - 1];
	if (--r->refs > 0)
		return;
	for (i = r->hash & l->rmask; l->ridx[i] != id; i = (i + 1) & l->rmask)
		;
	/* backward shift in the reason index */
	for (j = i;;) {
		uint32_t h;
		j = (j + 1) & l->rmask;
		if (l->ridx[j] == 0)
			break;
		h = l->reasons[l->ridx[j] - 1].hash & l->rmask;
		if (((j - h) & l->rmask) >= ((j - i) & l->rmask)) {
			l->ridx[i] = l->ridx[j];
			i = j;
		}
	}
	l->ridx[i] = 0;
	free(r->s);
	r->s = NULL;
	r->refs = l->reasons_free;
	l->reasons_free = id;
	l->nreasons--;
}

const char *ctl_lists_reason(const struct ctl_lists *l, const struct ctl_list_entry *x)
{
	return x->reason != 0 && x->reason <= l->reasons_cap ? l->reasons[x->reason - 1].s : "";
}

/* ---- entries */

static void count(struct ctl_lists *l, const struct ctl_list_entry *x, int d)
{
	l->count[x->kind][x->allow != 0] += (unsigned)d;
	l->n += (unsigned)d;
}

static void note_expiry(struct ctl_lists *l, uint64_t expires_ms)
{
	if (expires_ms != 0 && l->next_expiry != 0 && expires_ms < l->next_expiry)
		l->next_expiry = expires_ms;
}

struct ctl_list_entry *ctl_lists_find(const struct ctl_lists *l, const struct cfg_list_entry *e)
{
	struct key k = key_of_cfg(e);
	uint32_t *slot = slot_of(l, &k);

	return slot != NULL ? &l->ent[*slot - 1] : NULL;
}

/* A new live entry for e (not yet in the store); NULL when full or no memory. */
static struct ctl_list_entry *insert(struct ctl_lists *l, const struct cfg_list_entry *e)
{
	struct ctl_list_entry *x;
	struct key k;

	if (l->nent >= CTL_LISTS_MAX || (unsigned)e->kind >= CFG_LIST_KIND_COUNT)
		return NULL;
	if (e->kind == CFG_LIST_IP && e->prefix.addr.family != SL_AF_INET &&
	    e->prefix.addr.family != SL_AF_INET6)
		return NULL;
	if (l->nent == l->cap) {
		/* 1.5x: a million entries do not leave a million slots unused */
		unsigned cap = l->cap ? l->cap + l->cap / 2 : 64;
		struct ctl_list_entry *p = realloc(l->ent, (size_t)cap * sizeof(*p));
		if (p == NULL)
			return NULL;
		l->ent = p;
		l->cap = cap;
	}
	if (idx_grow(l, l->nent + 1) < 0)
		return NULL;
	x = &l->ent[l->nent];
	memset(x, 0, sizeof(*x));
	x->kind = (uint8_t)e->kind;
	x->allow = e->allow;
	if (e->kind == CFG_LIST_IP) {
		x->plen = e->prefix.len;
		if (e->prefix.addr.family == SL_AF_INET6) {
			memcpy(x->v.ip, e->prefix.addr.ip, 16);
			x->flags |= CTL_E_V6;
		} else {
			memcpy(x->v.ip, e->prefix.addr.ip, 4);
		}
	} else if ((x->v.name = strdup(e->value)) == NULL) {
		return NULL;
	}
	k = key_of_entry(x);
	idx_put(l->idx, l->mask, key_hash(&k), l->nent + 1);
	l->nent++;
	count(l, x, 1);
	return x;
}

/* Reason and expiry of x from e; true when either changed. NULL reason
 * store failure leaves the old one (the entry still applies). */
static bool update(struct ctl_lists *l, struct ctl_list_entry *x, const char *reason,
		   uint64_t expires_ms)
{
	const char *old = ctl_lists_reason(l, x);
	bool changed = x->expires_ms != expires_ms;

	if (strcmp(old, reason) != 0) {
		uint32_t id = reason_get(l, reason);
		if (id != UINT32_MAX) {
			reason_put(l, x->reason);
			x->reason = id;
			changed = true;
		}
	}
	x->expires_ms = expires_ms;
	note_expiry(l, expires_ms);
	return changed;
}

static void revive(struct ctl_lists *l, struct ctl_list_entry *x)
{
	if (x->flags & CTL_E_DEAD) {
		x->flags &= (uint8_t)~CTL_E_DEAD;
		count(l, x, 1);
	}
}

void ctl_lists_set_dirty(struct ctl_lists *l, struct ctl_list_entry *x, bool dirty)
{
	if (dirty && !(x->flags & CTL_E_DIRTY)) {
		x->flags |= CTL_E_DIRTY;
		l->ndirty++;
	} else if (!dirty && (x->flags & CTL_E_DIRTY)) {
		x->flags &= (uint8_t)~CTL_E_DIRTY;
		l->ndirty--;
	}
}

int ctl_lists_add(struct ctl_lists *l, const struct cfg_list_entry *e, uint64_t expires_ms)
{
	struct ctl_list_entry *x = ctl_lists_find(l, e);
	int rc = SL_DONE;

	if (x == NULL || !ctl_lists_live(x))
		rc = SL_OK;
	if (x == NULL && (x = insert(l, e)) == NULL)
		return SL_ERROR;
	revive(l, x);
	update(l, x, e->reason, expires_ms);
	if (l->mirrored)
		ctl_lists_set_dirty(l, x, true);
	return rc;
}

struct ctl_list_entry *ctl_lists_set(struct ctl_lists *l, const struct cfg_list_entry *e,
				     uint64_t expires_ms, uint64_t version, bool *changed)
{
	struct ctl_list_entry *x = ctl_lists_find(l, e);
	bool ch = false;

	if (x == NULL) {
		if ((x = insert(l, e)) == NULL)
			return NULL;
		ch = true;
	} else if (!ctl_lists_live(x)) {
		revive(l, x);
		ch = true;
	}
	ch |= update(l, x, e->reason, expires_ms);
	x->version = version;
	if (changed != NULL)
		*changed = ch;
	return x;
}

void ctl_lists_kill(struct ctl_lists *l, struct ctl_list_entry *x)
{
	if (ctl_lists_live(x)) {
		x->flags |= CTL_E_DEAD;
		count(l, x, -1);
	}
}

void ctl_lists_remove(struct ctl_lists *l, struct ctl_list_entry *x)
{
	unsigned i = (unsigned)(x - l->ent), last = l->nent - 1;
	struct key k = key_of_entry(x);
	uint32_t *slot = slot_of(l, &k);

	if (slot != NULL)
		idx_delete(l, slot);
	ctl_lists_kill(l, x);
	ctl_lists_set_dirty(l, x, false);
	reason_put(l, x->reason);
	if (x->kind != CFG_LIST_IP)
		free(x->v.name);
	if (i != last) {
		/* the last entry fills the hole; its index slot follows it */
		l->ent[i] = l->ent[last];
		k = key_of_entry(&l->ent[i]);
		slot = slot_of(l, &k);
		if (slot != NULL)
			*slot = i + 1;
	}
	l->nent--;
}

int ctl_lists_del(struct ctl_lists *l, const struct cfg_list_entry *e)
{
	struct ctl_list_entry *x = ctl_lists_find(l, e);

	if (x == NULL || !ctl_lists_live(x))
		return SL_DECLINED;
	if (l->mirrored) {
		ctl_lists_kill(l, x);
		ctl_lists_set_dirty(l, x, true);
	} else {
		ctl_lists_remove(l, x);
	}
	return SL_OK;
}

unsigned ctl_lists_expire(struct ctl_lists *l, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;
	unsigned i = 0, gone = 0;

	if (l->next_expiry != 0 && now_ms < l->next_expiry)
		return 0;
	while (i < l->nent) {
		struct ctl_list_entry *x = &l->ent[i];
		if (x->expires_ms != 0 && x->expires_ms <= now_ms) {
			/* Redis drops its copy on its own (the expiry ZSET): no write */
			gone += ctl_lists_live(x);
			ctl_lists_remove(l, x);
			continue; /* the last entry moved here */
		}
		if (x->expires_ms != 0 && x->expires_ms < next)
			next = x->expires_ms;
		i++;
	}
	l->next_expiry = next;
	return gone;
}

unsigned ctl_lists_count(const struct ctl_lists *l, enum cfg_list_kind kind, bool allow)
{
	return (unsigned)kind < CFG_LIST_KIND_COUNT ? l->count[kind][allow] : 0;
}

const char *ctl_lists_value(const struct ctl_list_entry *x, char *buf, size_t len)
{
	struct sl_prefix p;

	if (x->kind != CFG_LIST_IP)
		return x->v.name;
	memset(&p, 0, sizeof(p));
	p.addr.family = (x->flags & CTL_E_V6) ? SL_AF_INET6 : SL_AF_INET;
	memcpy(p.addr.ip, x->v.ip, 16);
	p.len = x->plen;
	return sl_prefix_format(&p, buf, len);
}

void ctl_lists_entry(const struct ctl_lists *l, const struct ctl_list_entry *x, struct cfg_list_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->kind = (enum cfg_list_kind)x->kind;
	e->allow = x->allow;
	if (x->kind == CFG_LIST_IP) {
		e->prefix.addr.family = (x->flags & CTL_E_V6) ? SL_AF_INET6 : SL_AF_INET;
		memcpy(e->prefix.addr.ip, x->v.ip, 16);
		e->prefix.len = x->plen;
		sl_prefix_format(&e->prefix, e->value, sizeof(e->value));
	} else {
		snprintf(e->value, sizeof(e->value), "%s", x->v.name);
	}
	snprintf(e->reason, sizeof(e->reason), "%s", ctl_lists_reason(l, x));
}

size_t ctl_lists_bytes(const struct ctl_lists *l)
{
	size_t b = (size_t)l->cap * sizeof(*l->ent) + (l->idx ? (l->mask + 1) * sizeof(*l->idx) : 0) +
		   (l->ridx ? (l->rmask + 1) * sizeof(*l->ridx) : 0) +
		   ((l->reasons_cap + 63) / 64 * 64) * sizeof(*l->reasons);

	for (unsigned i = 0; i < l->nent; i++)
		if (l->ent[i].kind != CFG_LIST_IP)
			b += strlen(l->ent[i].v.name) + 1;
	for (uint32_t id = 1; id <= l->reasons_cap; id++)
		if (l->reasons[id - 1].s != NULL)
			b += strlen(l->reasons[id - 1].s) + 1;
	return b;
}

struct pol_snapshot *ctl_lists_build(const struct ctl_lists *l, const struct cfg *c)
{
	return pol_snapshot_builder_finish(ctl_lists_collect(l, c));
}

struct pol_snapshot_builder *ctl_lists_collect(const struct ctl_lists *l, const struct cfg *c)
{
	struct pol_snapshot_builder *b = pol_snapshot_builder_new();

	if (b == NULL)
		return NULL;
	/* config first: of duplicates the first added stays */
	pol_snapshot_builder_add_cfg(b, c->lists, c->nlists);
	for (unsigned i = 0; i < l->nent; i++) {
		const struct ctl_list_entry *x = &l->ent[i];
		const char *reason = ctl_lists_reason(l, x);

		if (!ctl_lists_live(x))
			continue;
		if (x->kind == CFG_LIST_IP) {
			struct sl_prefix p;
			p.addr.family = (x->flags & CTL_E_V6) ? SL_AF_INET6 : SL_AF_INET;
			memcpy(p.addr.ip, x->v.ip, 16);
			p.len = x->plen;
			pol_snapshot_builder_add_ip(b, x->allow, &p, reason);
		} else {
			pol_snapshot_builder_add_name(b, (enum cfg_list_kind)x->kind, x->allow, x->v.name, reason);
		}
	}
	return b;
}

void ctl_lists_free(struct ctl_lists *l)
{
	for (unsigned i = 0; i < l->nent; i++)
		if (l->ent[i].kind != CFG_LIST_IP)
			free(l->ent[i].v.name);
	for (uint32_t id = 1; id <= l->reasons_cap; id++)
		free(l->reasons[id - 1].s);
	free(l->ent);
	free(l->idx);
	free(l->reasons);
	free(l->ridx);
	*l = (struct ctl_lists){ 0 };
}
