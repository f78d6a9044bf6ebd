/* pol_snapshot.c - immutable list snapshots: CIDR longest-prefix and name sets, read lock-free by workers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/pol_priv.h"

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

struct pol_ip6_set {
	struct pol_ip6_ent *ent;
	uint32_t off[130];
	uint64_t used[3];
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

/* Reasons repeat (a feed loaded with one reason): reuse the previous copy. */
static uint32_t add_reason(struct pol_snapshot *s, const char *reason, uint32_t *last_off,
			   const char **last)
{
	uint32_t off;

	if (reason[0] == '\0')
		return 0;
	if (*last != NULL && strcmp(*last, reason) == 0)
		return *last_off;
	off = arena_add(s, reason, strnlen(reason, CFG_TEXT_MAX - 1));
	*last = reason;
	*last_off = off;
	return off;
}

struct ip_tmp {
	uint64_t hi, lo;  /* v4: lo holds the address */
	uint32_t seq;     /* config order: the first of duplicates wins */
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
 * for them (linear, and stable: duplicates stay in config order). */
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

/* Sort, drop duplicates, and lay out the IPv6 prefixes of one list. */
static int build_ip6(struct pol_snapshot *s, struct ip_tmp *t, size_t n, int which)
{
	struct pol_ip6_set *set = &s->ip6[which];
	size_t i, out = 0;
	unsigned l;

	qsort(t, n, sizeof(*t), ip_tmp_cmp);
	set->ent = malloc((n ? n : 1) * sizeof(*set->ent));
	if (set->ent == NULL)
		return -1;
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
	s->count[CFG_LIST_IP] += (unsigned)out;
	return 0;
}

static int build_ips(struct pol_snapshot *s, const struct cfg_list_entry *e, unsigned n)
{
	struct ip4_tmp *t4[2] = { NULL, NULL };
	struct ip_tmp *t6[2] = { NULL, NULL };
	size_t n4[2] = { 0, 0 }, n6[2] = { 0, 0 };
	const char *last = NULL;
	uint32_t last_off = 0, reason;
	unsigned i;
	int w, rc = -1;

	for (i = 0; i < n; i++) {
		if (e[i].kind != CFG_LIST_IP)
			continue;
		w = e[i].allow ? POL_ALLOW : POL_BLOCK;
		if (e[i].prefix.addr.family == SL_AF_INET)
			n4[w]++;
		else if (e[i].prefix.addr.family == SL_AF_INET6)
			n6[w]++;
	}
	for (w = 0; w < 2; w++) {
		t4[w] = malloc((n4[w] ? n4[w] : 1) * sizeof(*t4[w]));
		t6[w] = malloc((n6[w] ? n6[w] : 1) * sizeof(*t6[w]));
		if (t4[w] == NULL || t6[w] == NULL)
			goto fail;
		n4[w] = n6[w] = 0;
	}
	for (i = 0; i < n; i++) {
		const struct cfg_list_entry *x = &e[i];
		const uint8_t *ip = x->prefix.addr.ip;
		unsigned len = x->prefix.len;

		if (x->kind != CFG_LIST_IP)
			continue;
		if (x->prefix.addr.family != SL_AF_INET && x->prefix.addr.family != SL_AF_INET6)
			continue; /* the parser never makes these; skip rather than guess */
		w = x->allow ? POL_ALLOW : POL_BLOCK;
		reason = add_reason(s, x->reason, &last_off, &last);
		if (reason == UINT32_MAX)
			goto fail;
		/* host bits are zero from the parser; mask anyway, lookups rely on it */
		if (x->prefix.addr.family == SL_AF_INET) {
			struct ip4_tmp *p = &t4[w][n4[w]++];
			len = SL_MIN(len, 32u);
			p->key = (uint64_t)len << 32 | (load_be32(ip) & mask32(len));
			p->reason = reason;
		} else {
			struct ip_tmp *p = &t6[w][n6[w]++];
			len = SL_MIN(len, 128u);
			p->len = (uint8_t)len;
			p->seq = i;
			p->hi = load_be64(ip) & mask64(len);
			p->lo = load_be64(ip + 8) & mask64(len > 64 ? len - 64 : 0);
			p->reason = reason;
		}
	}
	for (w = 0; w < 2; w++)
		if (build_ip4(s, t4[w], n4[w], w) < 0 || build_ip6(s, t6[w], n6[w], w) < 0)
			goto fail;
	rc = 0;
fail:
	for (w = 0; w < 2; w++) {
		free(t4[w]);
		free(t6[w]);
	}
	return rc;
}

/* Entries are compared the way queries arrive: lowercased, sender without
 * its angle brackets ("<>" alone stays: it names the null sender). */
static void normalize(const struct cfg_list_entry *x, char *out, size_t *outlen)
{
	const char *v = x->value;
	size_t n = strnlen(v, SL_PATH_MAX), i;

	if ((x->kind == CFG_LIST_SENDER || x->kind == CFG_LIST_RCPT) && n > 2 && v[0] == '<' &&
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
	return (uint32_t)pol_hash_mix(pol_hash_ci(POL_HASH_SEED, q, n));
}

static int build_names(struct pol_snapshot *s, const struct cfg_list_entry *e, unsigned n)
{
	unsigned cnt[CFG_LIST_KIND_COUNT][2];
	const char *last = NULL;
	uint32_t last_off = 0;
	char buf[SL_PATH_MAX + 1];
	unsigned i, k, w;

	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < n; i++)
		if (e[i].kind != CFG_LIST_IP && (unsigned)e[i].kind < CFG_LIST_KIND_COUNT)
			cnt[e[i].kind][e[i].allow ? POL_ALLOW : POL_BLOCK]++;
	for (k = 0; k < CFG_LIST_KIND_COUNT; k++)
		for (w = 0; w < 2; w++) {
			struct pol_name_set *ns = &s->names[k][w];
			uint32_t cap = 8;
			if (cnt[k][w] == 0)
				continue;
			while (cap < 2u * cnt[k][w])
				cap *= 2;
			ns->slot = calloc(cap, sizeof(*ns->slot));
			ns->names = malloc(cnt[k][w] * sizeof(*ns->names));
			if (ns->slot == NULL || ns->names == NULL)
				return -1;
			ns->mask = cap - 1;
		}
	for (i = 0; i < n; i++) {
		const struct cfg_list_entry *x = &e[i];
		struct pol_name_set *ns;
		struct pol_name *nm;
		size_t len;
		uint32_t h, j;

		if (x->kind == CFG_LIST_IP || (unsigned)x->kind >= CFG_LIST_KIND_COUNT)
			continue;
		ns = &s->names[x->kind][x->allow ? POL_ALLOW : POL_BLOCK];
		normalize(x, buf, &len);
		if (len == 0)
			continue;
		h = name_hash(buf, len);
		if (name_find(s, ns, buf, len, h) != NULL)
			continue; /* duplicate: the first one (and its reason) stays */
		nm = &ns->names[ns->n];
		nm->off = arena_add(s, buf, len);
		nm->len = (uint32_t)len;
		nm->hash = h;
		nm->reason = add_reason(s, x->reason, &last_off, &last);
		if (nm->off == UINT32_MAX || nm->reason == UINT32_MAX)
			return -1;
		for (j = h & ns->mask; ns->slot[j] != 0; j = (j + 1) & ns->mask)
			;
		ns->slot[j] = ++ns->n;
		s->count[x->kind]++;
	}
	return 0;
}

struct pol_snapshot *pol_snapshot_build(const struct cfg_list_entry *e, unsigned n)
{
	struct pol_snapshot *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	/* offset 0 must be the empty string for "no reason" */
	s->arena_cap = 4096;
	s->arena = malloc(s->arena_cap);
	if (s->arena == NULL)
		goto fail;
	s->arena[0] = '\0';
	s->arena_len = 1;
	if (build_ips(s, e, n) < 0 || build_names(s, e, n) < 0)
		goto fail;
	return s;
fail:
	pol_snapshot_free(s);
	return NULL;
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

			used &= ~(1ull << b);
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
