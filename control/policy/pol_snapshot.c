/* pol_snapshot.c - immutable list snapshots: CIDR longest-prefix and name sets, read lock-free by workers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/pol_priv.h"
#include "policy/pol_snapshot.h"

/*
 * Layout. Every list is kept twice, block [0] and allow [1], so that an
 * allowlist hit can be tested before the blocklist at the same stage.
 *
 * Prefixes: one array per address family sorted by (length, address); off[]
 * says where each length starts. A lookup tries the lengths that have
 * entries, longest first, with a binary search in each: O(L log n) with L the
 * number of distinct lengths in use, no allocation, and a build that is one
 * sort (1M /32 entries build in tens of milliseconds).
 *
 * Names: open addressing (linear probing) over indexes into a name array,
 * sized at build to a power of two at least twice the entries, so probes
 * stay short and a miss ends at an empty slot.
 *
 * Strings (names, reasons) live in one arena; offset 0 is the empty string.
 *
 * Why not DPDK's rte_lpm / rte_lpm6 / rte_hash / rte_rcu_qsbr (the issue
 * names them). tests/bench/bench_lists measures both on the same data in one
 * run (DPDK 22.11, EAL --no-huge -m 512; medians of 3 on a quiet moment of a
 * shared 2-core machine):
 *   - rte_lpm_add checks each rule against the rules of its depth one by
 *     one: 100k clustered /32s took 5.3 s, 224k 20 s (1M: some 9 minutes), and
 *     random /32s ran out of its 65536 tbl8 groups at 65k (one 1 KiB group
 *     per /24 that holds a /32: 1M random /32s want ~1 GB beside the 64 MB
 *     tbl24). This file builds 1M IPv4 + 100k IPv6 in 0.12 s into 10.9 MB.
 *   - lookups on the same entries: listed addresses ours 18 ns, rte_lpm 20
 *     (65k random /32s) or 45 against 16 (224k clustered); misses ours 15..26
 *     ns, rte_lpm 12. IPv6, 100k /56s: ours 48 / 54 ns (listed / not),
 *     rte_lpm6 29 / 47 ns, in 209 MB against 2.7 MB.
 *   - they need an initialised EAL, which the kernel transport runs without;
 *     rte_hash wants fixed-length keys (names are up to 256 bytes);
 *     rte_rcu_qsbr is what control.c already does: workers report the
 *     generation they are past each loop turn, old snapshots are freed
 *     after every worker passed them.
 * A lookup is once per connection or command, tens of nanoseconds either
 * way, and a rebuild follows every change: build time and memory decide, so
 * this stays.
 */

#define POL_BLOCK 0
#define POL_ALLOW 1

struct pol_ip4_ent {
	uint32_t key;    /* host order, host bits zero */
	uint32_t reason; /* arena offset */
};

struct pol_ip6_ent {
	uint64_t hi, lo; /* host order halves */
	uint32_t reason;
};

/* A length with many entries gets an index by the top 16 address bits, so
 * a lookup searches a few entries in one or two cache lines instead of
 * 20 levels of a binary search over megabytes (1M /32: 500 ns -> ~100). */
#define POL_IDX_MIN 4096
#define POL_IDX_SIZE 65537

struct pol_ip4_set {
	struct pol_ip4_ent *ent;
	uint32_t off[34];      /* entries of length l: [off[l], off[l+1]) */
	uint64_t used;         /* bit l: some entry has length l */
	uint32_t *idx[33];     /* NULL, or offsets within length l by top 16 bits */
};

/* The IPv6 twin of the IPv4 index: the entries of one length share their
 * first c bits (2001:db8::/32 for a provider's /56s), so the w bits after
 * those pick the slice to search. */
struct pol_ip6_idx {
	uint32_t *idx;         /* NULL, or 2^w + 1 offsets within the length */
	uint64_t  phi, plo;    /* the shared first c bits */
	uint8_t   c, w;
};

struct pol_ip6_set {
	struct pol_ip6_ent *ent;
	uint32_t off[130];
	uint64_t used[3];
	struct pol_ip6_idx idx[129];
};

struct pol_name {
	uint32_t off;    /* arena offset of the lowercased name */
	uint32_t len;
	uint32_t reason;
	uint32_t hash;
};

struct pol_name_set {
	uint32_t *slot;  /* name index + 1; 0 = empty */
	uint32_t mask;
	uint32_t n;
	struct pol_name *names;
};

struct pol_snapshot {
	struct pol_ip4_set ip4[2];
	struct pol_ip6_set ip6[2];
	struct pol_name_set names[CFG_LIST_KIND_COUNT][2]; /* ip unused */
	unsigned count[CFG_LIST_KIND_COUNT];
	char *arena;
	size_t arena_len, arena_cap;
	size_t bytes;     /* allocated for this snapshot, all told */
};

/* ---- build ---- */

static uint32_t arena_add(struct pol_snapshot *s, const char *str, size_t n)
{
	size_t need;
	uint32_t off;

	if (n == 0)
		return 0;
	need = s->arena_len + n + 1;
	if (need > UINT32_MAX)
		return UINT32_MAX;
	if (need > s->arena_cap) {
		size_t cap = s->arena_cap ? s->arena_cap : 4096;
		char *p;
		while (cap < need)
			cap *= 2;
		p = realloc(s->arena, cap);
		if (p == NULL)
			return UINT32_MAX;
		s->arena = p;
		s->arena_cap = cap;
	}
	off = (uint32_t)s->arena_len;
	memcpy(s->arena + off, str, n);
	s->arena[off + n] = '\0';
	s->arena_len = need;
	return off;
}

struct ip_tmp {
	uint64_t hi, lo;  /* v4: lo holds the address */
	uint32_t seq;     /* order of addition: the first of duplicates wins */
	uint32_t reason;
	uint8_t  len;
};

static int ip_tmp_cmp(const void *a, const void *b)
{
	const struct ip_tmp *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

static uint64_t load_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t mask64(unsigned len) /* the top len bits of a 64-bit half */
{
	return len == 0 ? 0 : len >= 64 ? ~0ull : ~0ull << (64 - len);
}

static uint32_t mask32(unsigned len)
{
	return len == 0 ? 0 : len >= 32 ? ~0u : ~0u << (32 - len);
}

/* IPv4 sort key: length above the address, so one sort orders by (length,
 * address); lists of a million entries are IPv4 feeds, hence a radix sort
 * for them (linear, and stable: duplicates stay in the order they came). */
struct ip4_tmp {
	uint64_t key;
	uint32_t reason;
};

static int radix_sort4(struct ip4_tmp *t, size_t n)
{
	struct ip4_tmp *tmp, *src = t, *dst, *x;
	size_t i, cnt[2048];
	unsigned shift;

	if (n < 2)
		return 0;
	tmp = malloc(n * sizeof(*tmp));
	if (tmp == NULL)
		return -1;
	dst = tmp;
	for (shift = 0; shift < 44; shift += 11) {
		size_t sum = 0;
		memset(cnt, 0, sizeof(cnt));
		for (i = 0; i < n; i++)
			cnt[(src[i].key >> shift) & 2047]++;
		if (cnt[(src[0].key >> shift) & 2047] == n)
			continue; /* one digit for all: the pass would not move anything */
		for (i = 0; i < 2048; i++) {
			size_t c = cnt[i];
			cnt[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[cnt[(src[i].key >> shift) & 2047]++] = src[i];
		x = src;
		src = dst;
		dst = x;
	}
	if (src != t)
		memcpy(t, src, n * sizeof(*t));
	free(tmp);
	return 0;
}

static int build_ip4(struct pol_snapshot *s, struct ip4_tmp *t, size_t n, int which)
{
	struct pol_ip4_set *set = &s->ip4[which];
	size_t i, out = 0;
	unsigned l;

	if (radix_sort4(t, n) < 0)
		return -1;
	set->ent = malloc((n ? n : 1) * sizeof(*set->ent));
	if (set->ent == NULL)
		return -1;
	s->bytes += (n ? n : 1) * sizeof(*set->ent);
	for (i = 0; i < n; i++) {
		if (i > 0 && t[i - 1].key == t[i].key)
			continue; /* the first of duplicates (and its reason) stays */
		set->ent[out].key = (uint32_t)t[i].key;
		set->ent[out].reason = t[i].reason;
		set->used |= 1ull << (t[i].key >> 32);
		t[out++].key = t[i].key; /* keep the lengths for off[] */
	}
	/* off[l] = first entry with length >= l; the array is sorted by length */
	for (l = 0, i = 0; l <= 33; l++) {
		while (i < out && (t[i].key >> 32) < l)
			i++;
		set->off[l] = (uint32_t)i;
	}
	for (l = 16; l <= 32; l++) {
		uint32_t b = set->off[l], e = set->off[l + 1], top;
		uint32_t *idx;
		if (e - b < POL_IDX_MIN)
			continue;
		idx = malloc(POL_IDX_SIZE * sizeof(*idx));
		if (idx == NULL)
			return -1;
		s->bytes += POL_IDX_SIZE * sizeof(*idx);
		/* idx[top] = first entry (relative to b) whose top 16 bits >= top */
		for (top = 0, i = b; top < POL_IDX_SIZE; top++) {
			while (i < e && (set->ent[i].key >> 16) < top)
				i++;
			idx[top] = (uint32_t)(i - b);
		}
		set->idx[l] = idx;
	}
	s->count[CFG_LIST_IP] += (unsigned)out;
	return 0;
}

/* The w bits of (hi, lo) after its first c (c + w <= 128, 1 <= w <= 16). */
static uint32_t bits128(uint64_t hi, uint64_t lo, unsigned c, unsigned w)
{
	uint64_t v = c == 0 ? hi : c < 64 ? (hi << c) | (lo >> (64 - c)) : lo << (c - 64);

	return (uint32_t)(v >> (64 - w));
}

static int build_idx6(struct pol_snapshot *s, struct pol_ip6_set *set, unsigned l)
{
	struct pol_ip6_idx *x = &set->idx[l];
	uint32_t b = set->off[l], e = set->off[l + 1], k, n;
	const struct pol_ip6_ent *f = &set->ent[b], *z = &set->ent[e - 1];
	unsigned c;
	size_t i;

	/* sorted: what the first and the last share, all share */
	if (f->hi != z->hi)
		c = (unsigned)__builtin_clzll(f->hi ^ z->hi);
	else
		c = 64 + (unsigned)__builtin_clzll(f->lo ^ z->lo); /* they differ: no duplicates */
	if (c >= l)
		return 0;
	x->c = (uint8_t)c;
	x->w = (uint8_t)SL_MIN(16u, l - c);
	x->phi = f->hi & mask64(c);
	x->plo = f->lo & mask64(c > 64 ? c - 64 : 0);
	n = 1u << x->w;
	x->idx = malloc((n + 1) * sizeof(*x->idx));
	if (x->idx == NULL)
		return -1;
	s->bytes += (n + 1) * sizeof(*x->idx);
	for (k = 0, i = b; k <= n; k++) {
		while (i < e && bits128(set->ent[i].hi, set->ent[i].lo, c, x->w) < k)
			i++;
		x->idx[k] = (uint32_t)(i - b);
	}
	return 0;
}

/* Sort, drop duplicates, and lay out the IPv6 prefixes of one list. */
static int build_ip6(struct pol_snapshot *s, struct ip_tmp *t, size_t n, int which)
{
	struct pol_ip6_set *set = &s->ip6[which];
	size_t i, out = 0;
	unsigned l;

	if (n > 1) /* the builder's array is NULL when nothing was added */
		qsort(t, n, sizeof(*t), ip_tmp_cmp);
	set->ent = malloc((n ? n : 1) * sizeof(*set->ent));
	if (set->ent == NULL)
		return -1;
	s->bytes += (n ? n : 1) * sizeof(*set->ent);
	for (i = 0; i < n; i++) {
		if (i > 0 && t[i - 1].len == t[i].len && t[i - 1].hi == t[i].hi &&
		    t[i - 1].lo == t[i].lo)
			continue; /* sorted by seq within equals: the first stays */
		set->ent[out].hi = t[i].hi;
		set->ent[out].lo = t[i].lo;
		set->ent[out].reason = t[i].reason;
		set->used[t[i].len / 64] |= 1ull << (t[i].len % 64);
		t[out++].len = t[i].len; /* keep the lengths for off[] */
	}
	for (l = 0, i = 0; l <= 129; l++) {
		while (i < out && t[i].len < l)
			i++;
		set->off[l] = (uint32_t)i;
	}
	for (l = 1; l <= 128; l++)
		if (set->off[l + 1] - set->off[l] >= POL_IDX_MIN && build_idx6(s, set, l) < 0)
			return -1;
	s->count[CFG_LIST_IP] += (unsigned)out;
	return 0;
}

/* Entries are compared the way queries arrive: lowercased, sender without
 * its angle brackets ("<>" alone stays: it names the null sender). */
static void normalize(enum cfg_list_kind kind, const char *v, char *out, size_t *outlen)
{
	size_t n = strnlen(v, SL_PATH_MAX), i;

	if ((kind == CFG_LIST_SENDER || kind == CFG_LIST_RCPT) && n > 2 && v[0] == '<' &&
	    v[n - 1] == '>') {
		v++;
		n -= 2;
	}
	for (i = 0; i < n; i++)
		out[i] = pol_lower(v[i]);
	out[n] = '\0';
	*outlen = n;
}

static struct pol_name *name_find(const struct pol_snapshot *s, const struct pol_name_set *ns,
				  const char *q, size_t n, uint32_t h)
{
	uint32_t i = h & ns->mask;

	if (ns->slot == NULL)
		return NULL;
	for (;; i = (i + 1) & ns->mask) {
		uint32_t idx = ns->slot[i];
		struct pol_name *nm;
		size_t k;

		if (idx == 0)
			return NULL;
		nm = &ns->names[idx - 1];
		if (nm->hash != h || nm->len != n)
			continue;
		for (k = 0; k < n; k++)
			if (s->arena[nm->off + k] != pol_lower(q[k]))
				break;
		if (k == n)
			return nm;
	}
}

static uint32_t name_hash(const char *q, size_t n)
{
	return (uint32_t)sl_hash_mix(pol_hash_ci(SL_HASH_SEED, q, n));
}

/* The hash table of one list's names; duplicates dropped, the first kept.
 * Takes names (n of them, strings in the arena) as the set's array. */
static int build_names(struct pol_snapshot *s, struct pol_name_set *ns, struct pol_name *names,
		       uint32_t n, enum cfg_list_kind kind)
{
	uint32_t cap = 8, i, j;

	if (n == 0) {
		free(names);
		return 0;
	}
	while (cap < 2u * n)
		cap *= 2;
	ns->slot = calloc(cap, sizeof(*ns->slot));
	ns->names = names;
	if (ns->slot == NULL)
		return -1;
	s->bytes += cap * sizeof(*ns->slot) + n * sizeof(*names);
	ns->mask = cap - 1;
	for (i = 0; i < n; i++) {
		struct pol_name nm = names[i];
		if (name_find(s, ns, s->arena + nm.off, nm.len, nm.hash) != NULL)
			continue; /* duplicate: the first one (and its reason) stays */
		names[ns->n] = nm;
		for (j = nm.hash & ns->mask; ns->slot[j] != 0; j = (j + 1) & ns->mask)
			;
		ns->slot[j] = ++ns->n;
		s->count[kind]++;
	}
	return 0;
}

/* ---- the builder: entries collected unsorted, laid out by finish() */

struct pol_snapshot_builder {
	struct pol_snapshot *s;
	struct ip4_tmp *t4[2];
	size_t n4[2], c4[2];
	struct ip_tmp *t6[2];
	size_t n6[2], c6[2];
	struct pol_name *nm[CFG_LIST_KIND_COUNT][2];
	size_t nn[CFG_LIST_KIND_COUNT][2], cn[CFG_LIST_KIND_COUNT][2];
	uint32_t seq;
	/* Reasons repeat (a feed loaded with one reason): the same pointer (an
	 * interned reason) or the same text as the one before shares one copy. */
	const char *last;
	uint32_t last_off;
	struct {
		const char *p;
		uint32_t off;
	} seen[256];
	bool failed;
};

static bool grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t c;
	void *q;

	if (n < *cap)
		return true;
	c = *cap ? *cap * 2 : 64;
	q = realloc(*p, c * size);
	if (q == NULL)
		return false;
	*p = q;
	*cap = c;
	return true;
}

static uint32_t builder_reason(struct pol_snapshot_builder *b, const char *reason)
{
	unsigned h;
	uint32_t off;

	if (reason == NULL || reason[0] == '\0')
		return 0;
	h = (unsigned)(((uintptr_t)reason >> 4) ^ ((uintptr_t)reason >> 12)) & 255;
	if (b->seen[h].p == reason)
		return b->seen[h].off;
	if (b->last != NULL && strcmp(b->last, reason) == 0)
		off = b->last_off;
	else
		off = arena_add(b->s, reason, strnlen(reason, CFG_TEXT_MAX - 1));
	if (off == UINT32_MAX) {
		b->failed = true;
		return 0;
	}
	b->seen[h].p = reason;
	b->seen[h].off = off;
	b->last = reason;
	b->last_off = off;
	return off;
}

struct pol_snapshot_builder *pol_snapshot_builder_new(void)
{
	struct pol_snapshot_builder *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->s = calloc(1, sizeof(*b->s));
	if (b->s == NULL)
		goto fail;
	/* offset 0 must be the empty string for "no reason" */
	b->s->arena_cap = 4096;
	b->s->arena = malloc(b->s->arena_cap);
	if (b->s->arena == NULL)
		goto fail;
	b->s->arena[0] = '\0';
	b->s->arena_len = 1;
	return b;
fail:
	pol_snapshot_builder_abort(b);
	return NULL;
}

void pol_snapshot_builder_add_ip(struct pol_snapshot_builder *b, bool allow,
				 const struct sl_prefix *p, const char *reason)
{
	int w = allow ? POL_ALLOW : POL_BLOCK;
	const uint8_t *ip = p->addr.ip;
	unsigned len = p->len;

	if (b == NULL || b->failed)
		return;
	/* host bits are zero from the parsers; mask anyway, lookups rely on it */
	if (p->addr.family == SL_AF_INET) {
		struct ip4_tmp *t;
		if (!grow((void **)&b->t4[w], &b->c4[w], b->n4[w], sizeof(*t)))
			goto fail;
		t = &b->t4[w][b->n4[w]++];
		len = SL_MIN(len, 32u);
		t->key = (uint64_t)len << 32 | (load_be32(ip) & mask32(len));
		t->reason = builder_reason(b, reason);
	} else if (p->addr.family == SL_AF_INET6) {
		struct ip_tmp *t;
		if (!grow((void **)&b->t6[w], &b->c6[w], b->n6[w], sizeof(*t)))
			goto fail;
		t = &b->t6[w][b->n6[w]++];
		len = SL_MIN(len, 128u);
		t->len = (uint8_t)len;
		t->seq = b->seq++;
		t->hi = load_be64(ip) & mask64(len);
		t->lo = load_be64(ip + 8) & mask64(len > 64 ? len - 64 : 0);
		t->reason = builder_reason(b, reason);
	}
	/* other families: the parsers never make them; skip rather than guess */
	return;
fail:
	b->failed = true;
}

void pol_snapshot_builder_add_name(struct pol_snapshot_builder *b, enum cfg_list_kind kind,
				   bool allow, const char *name, const char *reason)
{
	int w = allow ? POL_ALLOW : POL_BLOCK;
	char buf[SL_PATH_MAX + 1];
	struct pol_name *nm;
	size_t len;

	if (b == NULL || b->failed || kind == CFG_LIST_IP || (unsigned)kind >= CFG_LIST_KIND_COUNT)
		return;
	normalize(kind, name, buf, &len);
	if (len == 0)
		return;
	if (!grow((void **)&b->nm[kind][w], &b->cn[kind][w], b->nn[kind][w], sizeof(*nm))) {
		b->failed = true;
		return;
	}
	nm = &b->nm[kind][w][b->nn[kind][w]];
	nm->off = arena_add(b->s, buf, len);
	nm->len = (uint32_t)len;
	nm->hash = name_hash(buf, len);
	nm->reason = builder_reason(b, reason);
	if (nm->off == UINT32_MAX) {
		b->failed = true;
		return;
	}
	b->nn[kind][w]++;
}

void pol_snapshot_builder_add_cfg(struct pol_snapshot_builder *b, const struct cfg_list_entry *e,
				  unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (e[i].kind == CFG_LIST_IP)
			pol_snapshot_builder_add_ip(b, e[i].allow, &e[i].prefix, e[i].reason);
		else
			pol_snapshot_builder_add_name(b, e[i].kind, e[i].allow, e[i].value, e[i].reason);
	}
}

static void builder_free(struct pol_snapshot_builder *b)
{
	for (int w = 0; w < 2; w++) {
		free(b->t4[w]);
		free(b->t6[w]);
		for (int k = 0; k < CFG_LIST_KIND_COUNT; k++)
			free(b->nm[k][w]);
	}
	free(b);
}

void pol_snapshot_builder_abort(struct pol_snapshot_builder *b)
{
	if (b == NULL)
		return;
	pol_snapshot_free(b->s);
	builder_free(b);
}

struct pol_snapshot *pol_snapshot_builder_finish(struct pol_snapshot_builder *b)
{
	struct pol_snapshot *s;
	int w, k;

	if (b == NULL)
		return NULL;
	s = b->s;
	if (b->failed)
		goto fail;
	for (w = 0; w < 2; w++)
		if (build_ip4(s, b->t4[w], b->n4[w], w) < 0 || build_ip6(s, b->t6[w], b->n6[w], w) < 0)
			goto fail;
	for (k = 0; k < CFG_LIST_KIND_COUNT; k++) {
		for (w = 0; w < 2; w++) {
			struct pol_name *names = b->nm[k][w];
			b->nm[k][w] = NULL; /* the set owns it now */
			if (build_names(s, &s->names[k][w], names, (uint32_t)b->nn[k][w],
					(enum cfg_list_kind)k) < 0)
				goto fail;
		}
	}
	s->bytes += sizeof(*s) + s->arena_cap;
	builder_free(b);
	return s;
fail:
	pol_snapshot_builder_abort(b);
	return NULL;
}

struct pol_snapshot *pol_snapshot_build(const struct cfg_list_entry *e, unsigned n)
{
	struct pol_snapshot_builder *b = pol_snapshot_builder_new();

	pol_snapshot_builder_add_cfg(b, e, n);
	return pol_snapshot_builder_finish(b);
}

void pol_snapshot_free(struct pol_snapshot *s)
{
	unsigned k, w;

	if (s == NULL)
		return;
	for (w = 0; w < 2; w++) {
		for (k = 0; k < 33; k++)
			free(s->ip4[w].idx[k]);
		free(s->ip4[w].ent);
		free(s->ip6[w].ent);
		for (k = 0; k <= 128; k++)
			free(s->ip6[w].idx[k].idx);
		for (k = 0; k < CFG_LIST_KIND_COUNT; k++) {
			free(s->names[k][w].slot);
			free(s->names[k][w].names);
		}
	}
	free(s->arena);
	free(s);
}

unsigned pol_snapshot_size(const struct pol_snapshot *s, enum cfg_list_kind kind)
{
	if (s == NULL || (unsigned)kind >= CFG_LIST_KIND_COUNT)
		return 0;
	return s->count[kind];
}

size_t pol_snapshot_bytes(const struct pol_snapshot *s)
{
	return s != NULL ? s->bytes : 0;
}

/* ---- lookup (worker side: no locks, no allocation) ---- */

struct pol_ip_hit {
	uint32_t reason;
	unsigned len;
	struct sl_addr net; /* the matching prefix, for the reply text */
};

static int ip4_lookup(const struct pol_ip4_set *set, uint32_t a, struct pol_ip_hit *hit)
{
	uint64_t used = set->used;

	while (used != 0) {
		unsigned l = 63 - (unsigned)__builtin_clzll(used);
		uint32_t k = a & mask32(l), lo = set->off[l], hi = set->off[l + 1];

		used &= ~(1ull << l);
		if (set->idx[l] != NULL) {
			hi = lo + set->idx[l][(k >> 16) + 1];
			lo = lo + set->idx[l][k >> 16];
		}
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (set->ent[mid].key < k) {
				lo = mid + 1;
			} else if (set->ent[mid].key > k) {
				hi = mid;
			} else {
				hit->reason = set->ent[mid].reason;
				hit->len = l;
				return 1;
			}
		}
	}
	return 0;
}

static int ip6_lookup(const struct pol_ip6_set *set, uint64_t ahi, uint64_t alo,
		      struct pol_ip_hit *hit)
{
	int w;

	for (w = 2; w >= 0; w--) {
		uint64_t used = set->used[w];
		while (used != 0) {
			unsigned b = 63 - (unsigned)__builtin_clzll(used);
			unsigned l = (unsigned)w * 64 + b;
			uint64_t khi = ahi & mask64(l), klo = alo & mask64(l > 64 ? l - 64 : 0);
			uint32_t lo = set->off[l], hi = set->off[l + 1];
			const struct pol_ip6_idx *ix = &set->idx[l];

			used &= ~(1ull << b);
			if (ix->idx != NULL) {
				uint32_t k;
				if ((khi & mask64(ix->c)) != ix->phi ||
				    (klo & mask64(ix->c > 64 ? ix->c - 64 : 0)) != ix->plo)
					continue; /* outside what all of this length share */
				k = bits128(khi, klo, ix->c, ix->w);
				hi = lo + ix->idx[k + 1];
				lo = lo + ix->idx[k];
			}
			while (lo < hi) {
				uint32_t mid = lo + (hi - lo) / 2;
				const struct pol_ip6_ent *x = &set->ent[mid];
				if (x->hi < khi || (x->hi == khi && x->lo < klo)) {
					lo = mid + 1;
				} else if (x->hi > khi || x->lo > klo) {
					hi = mid;
				} else {
					hit->reason = x->reason;
					hit->len = l;
					return 1;
				}
			}
		}
	}
	return 0;
}

static int ip_lookup(const struct pol_snapshot *s, int which, const struct sl_addr *a,
		     struct pol_ip_hit *hit)
{
	int found;

	if (a->family == SL_AF_INET)
		found = ip4_lookup(&s->ip4[which], load_be32(a->ip), hit);
	else if (a->family == SL_AF_INET6)
		found = ip6_lookup(&s->ip6[which], load_be64(a->ip), load_be64(a->ip + 8), hit);
	else
		return 0;
	if (found)
		hit->net = sl_addr_mask(a, hit->len);
	return found;
}

bool pol_snapshot_lookup_ip(const struct pol_snapshot *s, bool allow, const struct sl_addr *a,
			    unsigned *len, const char **reason)
{
	struct pol_ip_hit hit;
	int which = allow ? POL_ALLOW : POL_BLOCK, found;

	if (s == NULL)
		return false;
	/* no sl_addr_mask here: callers that want the network ask for it */
	if (a->family == SL_AF_INET)
		found = ip4_lookup(&s->ip4[which], load_be32(a->ip), &hit);
	else if (a->family == SL_AF_INET6)
		found = ip6_lookup(&s->ip6[which], load_be64(a->ip), load_be64(a->ip + 8), &hit);
	else
		return false;
	if (found) {
		*len = hit.len;
		*reason = s->arena + hit.reason;
	}
	return found;
}

static const struct pol_name *name_lookup(const struct pol_snapshot *s, enum cfg_list_kind k,
					  int which, const char *q, size_t n)
{
	const struct pol_name_set *ns = &s->names[k][which];

	if (ns->n == 0 || n == 0)
		return NULL;
	return name_find(s, ns, q, n, name_hash(q, n));
}

/* "a.b.example.com" tries itself, then ".b.example.com", ".example.com",
 * ".com": the most specific entry wins. */
static const struct pol_name *domain_lookup(const struct pol_snapshot *s, int which,
					    const char *d, size_t n)
{
	const struct pol_name *nm;
	size_t i;

	if (s->names[CFG_LIST_DOMAIN][which].n == 0 || n == 0)
		return NULL;
	if ((nm = name_lookup(s, CFG_LIST_DOMAIN, which, d, n)) != NULL)
		return nm;
	for (i = 0; i < n; i++)
		if (d[i] == '.' && (nm = name_lookup(s, CFG_LIST_DOMAIN, which, d + i, n - i)) != NULL)
			return nm;
	return NULL;
}

static const char *reason_sep(const struct pol_snapshot *s, uint32_t reason)
{
	return reason ? "; " : "";
}

static int check_connect(const struct pol_snapshot *s, const struct pol_query *q,
			 struct pol_verdict *v)
{
	struct sl_addr a = pol_addr_canon(&q->client);
	struct pol_ip_hit hit;
	char ip[SL_ADDR_STRLEN], net[SL_ADDR_STRLEN];

	if (ip_lookup(s, POL_ALLOW, &a, &hit)) {
		pol_verdict_accept(v);
		v->allowlisted = 1;
		pol_copy(v->rule, sizeof(v->rule), "allowlist ip");
		return SL_DONE;
	}
	if (!ip_lookup(s, POL_BLOCK, &a, &hit))
		return SL_OK;
	pol_verdict_set(v, POL_DISCONNECT, 554, "5.7.1", "blocklist ip");
	sl_addr_format(&a, ip, sizeof(ip), false);
	sl_addr_format(&hit.net, net, sizeof(net), false);
	pol_verdict_text(v, "Service unavailable; client [%s] blocked using blocklist %s/%u%s%s", ip,
			 net, hit.len, reason_sep(s, hit.reason), s->arena + hit.reason);
	return SL_DECLINED;
}

static int check_helo(const struct pol_snapshot *s, const struct pol_query *q,
		      struct pol_verdict *v)
{
	size_t n = strnlen(q->helo, SL_HELO_MAX);
	const struct pol_name *nm;

	if (name_lookup(s, CFG_LIST_HELO, POL_ALLOW, q->helo, n) != NULL) {
		pol_verdict_accept(v);
		v->allowlisted = 1;
		pol_copy(v->rule, sizeof(v->rule), "allowlist helo");
		return SL_DONE;
	}
	if ((nm = name_lookup(s, CFG_LIST_HELO, POL_BLOCK, q->helo, n)) == NULL)
		return SL_OK;
	pol_verdict_set(v, POL_REJECT, 554, "5.7.1", "blocklist helo");
	pol_verdict_text(v, "<%s>: Helo command rejected: blocked using blocklist%s%s", q->helo,
			 reason_sep(s, nm->reason), s->arena + nm->reason);
	return SL_DECLINED;
}

/* MAIL checks the address and its domain; an allow hit on either wins over
 * a block hit on either. */
static int check_mail(const struct pol_snapshot *s, const struct pol_query *q,
		      struct pol_verdict *v)
{
	size_t n = strnlen(q->sender, SL_PATH_MAX);
	const char *at = memrchr(q->sender, '@', n);
	const char *dom = at ? at + 1 : "", *addr = n ? q->sender : "<>";
	size_t dn = at ? n - (size_t)(dom - q->sender) : 0, an = n ? n : 2;
	const struct pol_name *nm;

	if (name_lookup(s, CFG_LIST_SENDER, POL_ALLOW, addr, an) != NULL ||
	    domain_lookup(s, POL_ALLOW, dom, dn) != NULL) {
		pol_verdict_accept(v);
		v->allowlisted = 1;
		pol_copy(v->rule, sizeof(v->rule),
			 name_lookup(s, CFG_LIST_SENDER, POL_ALLOW, addr, an) ? "allowlist sender"
									    : "allowlist domain");
		return SL_DONE;
	}
	if ((nm = name_lookup(s, CFG_LIST_SENDER, POL_BLOCK, addr, an)) != NULL) {
		pol_verdict_set(v, POL_REJECT, 554, "5.7.1", "blocklist sender");
		pol_verdict_text(v, "<%s>: Sender address rejected: blocked using blocklist%s%s",
				 q->sender, reason_sep(s, nm->reason), s->arena + nm->reason);
		return SL_DECLINED;
	}
	if ((nm = domain_lookup(s, POL_BLOCK, dom, dn)) != NULL) {
		pol_verdict_set(v, POL_REJECT, 554, "5.7.1", "blocklist domain");
		pol_verdict_text(v, "<%s>: Sender address rejected: domain %s blocked using blocklist%s%s",
				 q->sender, s->arena + nm->off, reason_sep(s, nm->reason),
				 s->arena + nm->reason);
		return SL_DECLINED;
	}
	return SL_OK;
}

static int check_rcpt(const struct pol_snapshot *s, const struct pol_query *q,
		      struct pol_verdict *v)
{
	size_t n = strnlen(q->rcpt, SL_PATH_MAX);
	const struct pol_name *nm;

	if (name_lookup(s, CFG_LIST_RCPT, POL_ALLOW, q->rcpt, n) != NULL) {
		pol_verdict_accept(v);
		v->allowlisted = 1;
		pol_copy(v->rule, sizeof(v->rule), "allowlist rcpt");
		return SL_DONE;
	}
	if ((nm = name_lookup(s, CFG_LIST_RCPT, POL_BLOCK, q->rcpt, n)) == NULL)
		return SL_OK;
	pol_verdict_set(v, POL_REJECT, 554, "5.7.1", "blocklist rcpt");
	pol_verdict_text(v, "<%s>: Recipient address rejected: blocked using blocklist%s%s", q->rcpt,
			 reason_sep(s, nm->reason), s->arena + nm->reason);
	return SL_DECLINED;
}

int pol_lists_check(const struct pol_snapshot *s, const struct pol_query *q, struct pol_verdict *v)
{
	pol_verdict_accept(v);
	if (s == NULL)
		return SL_OK;
	switch (q->stage) {
	case POL_STAGE_CONNECT:
		return check_connect(s, q, v);
	case POL_STAGE_HELO:
		return check_helo(s, q, v);
	case POL_STAGE_MAIL:
		return check_mail(s, q, v);
	case POL_STAGE_RCPT:
		return check_rcpt(s, q, v);
	default:
		return SL_OK;
	}
}
