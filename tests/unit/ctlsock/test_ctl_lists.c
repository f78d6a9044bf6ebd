/* test_ctl_lists.c - runtime list entries: value checks, add/update/del, TTL expiry, merged
 * snapshots, the compact store (index, interned reasons, tombstones) at a million entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlsock/ctl_lists.h"
#include "policy/pol_snapshot.h"
#include "test.h"
#include "util/sl_clock.h"
#include "util/sl_status.h"

struct value_case {
	const char *kind;
	const char *value;
	bool        ok;
	const char *stored;
};

static const struct value_case value_cases[] = {
	{ "ip", "203.0.113.0/24", true, "203.0.113.0/24" },
	{ "ip", "203.0.113.7", true, "203.0.113.7/32" },
	{ "ip", "2001:DB8::/32", true, "2001:db8::/32" },
	{ "ip", "203.0.113.1/24", false, NULL },
	{ "ip", "nonsense", false, NULL },
	{ "helo", "Zombie.Example", true, "zombie.example" },
	{ "helo", "", false, NULL },
	{ "sender", "A@B.example", true, "a@b.example" },
	{ "sender", "<>", true, "<>" },
	{ "sender", "nobody", false, NULL },
	{ "sender", "<a@b.example>", false, NULL },
	{ "domain", ".Worse.Example", true, ".worse.example" },
	{ "domain", "bad..example", false, NULL },
	{ "domain", "a b", false, NULL },
	{ "rcpt", "user@example.net", true, "user@example.net" },
	{ "rcpt", "@example.net", false, NULL },
	/* values travel in tab-separated Redis messages: no spaces or controls */
	{ "helo", "two words", false, NULL },
	{ "helo", "tab\there", false, NULL },
	{ "helo", "del\x7f", false, NULL },
	{ "sender", "a b@c.example", false, NULL },
	{ "rcpt", "x@y.example\r", false, NULL },
	{ NULL, NULL, false, NULL },
};

static void test_values(void)
{
	struct cfg_list_entry e;
	char err[160];

	CU_ASSERT_EQUAL(ctl_lists_kind("bogus"), -1);
	for (const struct value_case *t = value_cases; t->kind != NULL; t++) {
		int k = ctl_lists_kind(t->kind);
		int rc = ctl_lists_parse_value((enum cfg_list_kind)k, t->value, &e, err, sizeof(err));
		CU_ASSERT_EQUAL(rc == SL_OK, t->ok);
		if (rc == SL_OK && t->ok)
			CU_ASSERT_STRING_EQUAL(e.value, t->stored);
		if ((rc == SL_OK) != t->ok)
			fprintf(stderr, "\ncase %s %s: rc %d (%s)\n", t->kind, t->value, rc, err);
	}
}

static struct cfg_list_entry entry(enum cfg_list_kind k, const char *v, bool allow)
{
	struct cfg_list_entry e;
	char err[160];

	CU_ASSERT_EQUAL(ctl_lists_parse_value(k, v, &e, err, sizeof(err)), SL_OK);
	e.allow = allow;
	return e;
}

static void test_add_del_expire(void)
{
	struct ctl_lists l = { 0 };
	struct cfg_list_entry a = entry(CFG_LIST_IP, "203.0.113.0/24", false);
	struct cfg_list_entry a2 = entry(CFG_LIST_IP, "203.0.113.0/24", true);
	struct cfg_list_entry b = entry(CFG_LIST_SENDER, "a@b.example", false);

	CU_ASSERT_EQUAL(ctl_lists_add(&l, &a, 1000), SL_OK);
	CU_ASSERT_EQUAL(ctl_lists_add(&l, &a, 5000), SL_DONE); /* same entry: new TTL */
	CU_ASSERT_EQUAL(l.n, 1);
	CU_ASSERT_EQUAL(l.ent[0].expires_ms, 5000);
	CU_ASSERT_EQUAL(ctl_lists_add(&l, &a2, 0), SL_OK);     /* allowlist is another list */
	CU_ASSERT_EQUAL(ctl_lists_add(&l, &b, 2000), SL_OK);
	CU_ASSERT_EQUAL(ctl_lists_count(&l, CFG_LIST_IP, false), 1);
	CU_ASSERT_EQUAL(ctl_lists_count(&l, CFG_LIST_IP, true), 1);
	CU_ASSERT_EQUAL(ctl_lists_expire(&l, 1999), 0);
	CU_ASSERT_EQUAL(ctl_lists_expire(&l, 2000), 1);
	CU_ASSERT_EQUAL(l.n, 2);
	CU_ASSERT_EQUAL(ctl_lists_del(&l, &b), SL_DECLINED);
	CU_ASSERT_EQUAL(ctl_lists_del(&l, &a), SL_OK);
	CU_ASSERT_EQUAL(l.n, 1);
	CU_ASSERT_EQUAL(ctl_lists_expire(&l, UINT64_MAX), 0);  /* no TTL: stays */
	ctl_lists_free(&l);
}

static void test_build_merges(void)
{
	struct ctl_lists l = { 0 };
	struct cfg *c = cfg_defaults();
	struct cfg_list_entry cfg_entry = entry(CFG_LIST_IP, "198.51.100.0/24", false);
	struct cfg_list_entry rt = entry(CFG_LIST_IP, "203.0.113.0/24", false);
	struct pol_snapshot *s;
	struct pol_query q;
	struct pol_verdict v;

	c->lists = calloc(1, sizeof(*c->lists));
	c->lists[0] = cfg_entry;
	c->nlists = 1;
	CU_ASSERT_EQUAL(ctl_lists_add(&l, &rt, 0), SL_OK);
	s = ctl_lists_build(&l, c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(pol_snapshot_size(s, CFG_LIST_IP), 2);
	memset(&q, 0, sizeof(q));
	q.stage = POL_STAGE_CONNECT;
	CU_ASSERT_EQUAL(sl_addr_parse("203.0.113.9", &q.client, false), 0);
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_DECLINED);
	CU_ASSERT_EQUAL(sl_addr_parse("198.51.100.9", &q.client, false), 0);
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_DECLINED);
	CU_ASSERT_EQUAL(sl_addr_parse("192.0.2.9", &q.client, false), 0);
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_OK);
	pol_snapshot_free(s);
	ctl_lists_free(&l);
	cfg_unref(c);
}


/* ---- the compact store */

static struct cfg_list_entry ip4(uint32_t a, unsigned len, bool allow)
{
	struct cfg_list_entry e;

	memset(&e, 0, sizeof(e));
	e.kind = CFG_LIST_IP;
	e.allow = allow;
	e.prefix.addr.family = SL_AF_INET;
	e.prefix.addr.ip[0] = (uint8_t)(a >> 24);
	e.prefix.addr.ip[1] = (uint8_t)(a >> 16);
	e.prefix.addr.ip[2] = (uint8_t)(a >> 8);
	e.prefix.addr.ip[3] = (uint8_t)a;
	e.prefix.len = (uint8_t)len;
	return e;
}

static uint32_t rnd_state = 2463534242u;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static void test_entry_size(void)
{
	/* the point of the store: 40 bytes an entry whatever its kind */
	CU_ASSERT_EQUAL(sizeof(struct ctl_list_entry), 40);
}

/* Many adds and deletes in random order: every live entry is found, no
 * deleted one is, and the counts follow (the index survives the swaps). */
static void test_index_churn(void)
{
	enum { N = 50000 };
	struct ctl_lists l = { 0 };
	uint32_t *addr = malloc(N * sizeof(*addr));
	bool *live = calloc(N, sizeof(*live));
	unsigned nlive = 0, bad = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(addr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(live);
	for (unsigned i = 0; i < N; i++)
		addr[i] = rnd(); /* xorshift32 repeats nothing within its period */
	for (unsigned round = 0; round < 4 * N; round++) {
		unsigned i = rnd() % N;
		struct cfg_list_entry e = ip4(addr[i], 32, i & 1);
		if (!live[i]) {
			CU_ASSERT_EQUAL(ctl_lists_add(&l, &e, 0), SL_OK);
			live[i] = true;
			nlive++;
		} else {
			CU_ASSERT_EQUAL(ctl_lists_del(&l, &e), SL_OK);
			live[i] = false;
			nlive--;
		}
	}
	CU_ASSERT_EQUAL(l.n, nlive);
	CU_ASSERT_EQUAL(l.nent, nlive); /* not mirrored: no tombstones */
	CU_ASSERT_EQUAL(ctl_lists_count(&l, CFG_LIST_IP, false) + ctl_lists_count(&l, CFG_LIST_IP, true), nlive);
	for (unsigned i = 0; i < N; i++) {
		struct cfg_list_entry e = ip4(addr[i], 32, i & 1);
		struct ctl_list_entry *x = ctl_lists_find(&l, &e);
		if ((x != NULL) != live[i])
			bad++;
		/* the other list never has it */
		e.allow = !e.allow;
		if (ctl_lists_find(&l, &e) != NULL)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* same address, another length: another entry */
	{
		struct cfg_list_entry a = ip4(0xcb007100, 24, false), b = ip4(0xcb007100, 25, false);
		CU_ASSERT_EQUAL(ctl_lists_add(&l, &a, 0), SL_OK);
		CU_ASSERT_EQUAL(ctl_lists_add(&l, &b, 0), SL_OK);
		CU_ASSERT_EQUAL(ctl_lists_del(&l, &a), SL_OK);
		CU_ASSERT_PTR_NOT_NULL(ctl_lists_find(&l, &b));
	}
	ctl_lists_free(&l);
	free(addr);
	free(live);
}

static void test_names_and_reasons(void)
{
	struct ctl_lists l = { 0 };
	struct cfg_list_entry e;
	char v[64];
	struct ctl_list_entry *x;

	for (unsigned i = 0; i < 1000; i++) {
		snprintf(v, sizeof(v), "u%u@spam.example", i);
		e = entry(CFG_LIST_SENDER, v, false);
		snprintf(e.reason, sizeof(e.reason), "%s", i % 2 ? "feed one" : "feed two");
		CU_ASSERT_EQUAL(ctl_lists_add(&l, &e, 0), SL_OK);
	}
	/* a thousand entries, two reasons stored */
	CU_ASSERT_EQUAL(l.nreasons, 2);
	e = entry(CFG_LIST_SENDER, "u7@spam.example", false);
	x = ctl_lists_find(&l, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_STRING_EQUAL(ctl_lists_reason(&l, x), "feed one");
	CU_ASSERT_STRING_EQUAL(ctl_lists_value(x, v, sizeof(v)), "u7@spam.example");
	/* a new reason for one: three stored, and back to two when it goes */
	snprintf(e.reason, sizeof(e.reason), "hand-picked");
	CU_ASSERT_EQUAL(ctl_lists_add(&l, &e, 0), SL_DONE);
	CU_ASSERT_EQUAL(l.nreasons, 3);
	CU_ASSERT_EQUAL(ctl_lists_del(&l, &e), SL_OK);
	CU_ASSERT_EQUAL(l.nreasons, 2);
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(v, sizeof(v), "u%u@spam.example", i);
		e = entry(CFG_LIST_SENDER, v, false);
		if (i != 7)
			CU_ASSERT_EQUAL(ctl_lists_del(&l, &e), SL_OK);
	}
	CU_ASSERT_EQUAL(l.n, 0);
	CU_ASSERT_EQUAL(l.nreasons, 0);
	/* a freed reason id is taken again */
	e = entry(CFG_LIST_HELO, "x.example", true);
	snprintf(e.reason, sizeof(e.reason), "again");
	CU_ASSERT_EQUAL(ctl_lists_add(&l, &e, 0), SL_OK);
	CU_ASSERT_EQUAL(l.nreasons, 1);
	CU_ASSERT(l.reasons_cap <= 3);
	ctl_lists_free(&l);
}

/* With a mirror: changes are DIRTY, a delete is a tombstone that the
 * snapshot and the counts skip, an add brings it back. */
static void test_mirrored(void)
{
	struct ctl_lists l = { 0 };
	struct cfg *c = cfg_defaults();
	struct cfg_list_entry a = entry(CFG_LIST_IP, "203.0.113.0/24", false);
	struct ctl_list_entry *x;
	struct pol_snapshot *s;
	bool changed;

	l.mirrored = true;
	CU_ASSERT_EQUAL(ctl_lists_add(&l, &a, 0), SL_OK);
	CU_ASSERT_EQUAL(l.ndirty, 1);
	x = ctl_lists_find(&l, &a);
	ctl_lists_set_dirty(&l, x, false);
	CU_ASSERT_EQUAL(ctl_lists_del(&l, &a), SL_OK);
	x = ctl_lists_find(&l, &a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT(!ctl_lists_live(x));
	CU_ASSERT_EQUAL(l.ndirty, 1);
	CU_ASSERT_EQUAL(l.n, 0);
	CU_ASSERT_EQUAL(ctl_lists_count(&l, CFG_LIST_IP, false), 0);
	CU_ASSERT_EQUAL(ctl_lists_del(&l, &a), SL_DECLINED); /* already gone here */
	s = ctl_lists_build(&l, c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(pol_snapshot_size(s, CFG_LIST_IP), 0);
	pol_snapshot_free(s);
	/* Redis' state arriving: live again, not DIRTY by itself */
	ctl_lists_set_dirty(&l, x, false);
	x = ctl_lists_set(&l, &a, 0, 42, &changed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT(changed);
	CU_ASSERT(ctl_lists_live(x));
	CU_ASSERT_EQUAL(x->version, 42);
	CU_ASSERT_EQUAL(l.ndirty, 0);
	x = ctl_lists_set(&l, &a, 0, 43, &changed);
	CU_ASSERT(!changed); /* same reason, same expiry */
	ctl_lists_set_inflight(x, 3);
	CU_ASSERT_EQUAL(ctl_lists_inflight(x), 3);
	CU_ASSERT(ctl_lists_live(x)); /* the count lives beside the flags */
	ctl_lists_set_inflight(x, 99);
	CU_ASSERT_EQUAL(ctl_lists_inflight(x), CTL_E_INFLIGHT_MAX);
	ctl_lists_remove(&l, x);
	CU_ASSERT_EQUAL(l.nent, 0);
	ctl_lists_free(&l);
	cfg_unref(c);
}

static void test_expire_cheap(void)
{
	struct ctl_lists l = { 0 };
	struct cfg_list_entry e;

	for (uint32_t i = 0; i < 1000; i++) {
		e = ip4(0xc6120000 + i, 32, false);
		CU_ASSERT_EQUAL(ctl_lists_add(&l, &e, i < 10 ? 5000 + i : 0), SL_OK);
	}
	CU_ASSERT_EQUAL(ctl_lists_expire(&l, 1000), 0);
	CU_ASSERT_EQUAL(l.next_expiry, 5000);      /* known now: later calls return at once */
	CU_ASSERT_EQUAL(ctl_lists_expire(&l, 5004), 5);
	CU_ASSERT_EQUAL(l.next_expiry, 5005);
	e = ip4(0xc6130000, 32, false);
	CU_ASSERT_EQUAL(ctl_lists_add(&l, &e, 2000), SL_OK);
	CU_ASSERT_EQUAL(l.next_expiry, 2000);      /* an earlier one lowers it */
	CU_ASSERT_EQUAL(ctl_lists_expire(&l, UINT64_MAX - 1), 6);
	CU_ASSERT_EQUAL(l.n, 990);
	ctl_lists_free(&l);
}

/* A million IPv4 /32s through the runtime store and a snapshot build:
 * linear (no quadratic add), compact, and every entry found. */
static void test_million(void)
{
	const unsigned n = 1000000;
	struct ctl_lists l = { 0 };
	struct cfg *c = cfg_defaults();
	struct pol_snapshot *s;
	struct pol_query q;
	struct pol_verdict v;
	uint64_t t0, t1, t2;
	unsigned bad = 0;

	rnd_state = 88172645u;
	t0 = sl_clock_ns();
	for (unsigned i = 0; i < n; i++) {
		struct cfg_list_entry e = ip4(rnd(), 32, false);
		snprintf(e.reason, sizeof(e.reason), "feed");
		if (ctl_lists_add(&l, &e, 0) != SL_OK)
			bad++;
	}
	t1 = sl_clock_ns();
	s = ctl_lists_build(&l, c);
	t2 = sl_clock_ns();
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(l.n, n);
	CU_ASSERT_EQUAL(pol_snapshot_size(s, CFG_LIST_IP), n);
	printf("\n  1M IPv4 /32: store %.0f ms (%.1f MB), snapshot %.0f ms\n", (double)(t1 - t0) / 1e6,
	       (double)ctl_lists_bytes(&l) / 1e6, (double)(t2 - t1) / 1e6);
	CU_ASSERT(ctl_lists_bytes(&l) < 64u * 1000 * 1000);
	CU_ASSERT(t1 - t0 < 3000000000ull);
	rnd_state = 88172645u;
	memset(&q, 0, sizeof(q));
	q.stage = POL_STAGE_CONNECT;
	q.client.family = SL_AF_INET;
	for (unsigned i = 0; i < n; i += 97) {
		uint32_t a = rnd();
		for (unsigned k = 1; k < 97 && i + k < n; k++)
			(void)rnd();
		q.client.ip[0] = (uint8_t)(a >> 24);
		q.client.ip[1] = (uint8_t)(a >> 16);
		q.client.ip[2] = (uint8_t)(a >> 8);
		q.client.ip[3] = (uint8_t)a;
		if (pol_lists_check(s, &q, &v) != SL_DECLINED || strstr(v.text, "; feed") == NULL)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	pol_snapshot_free(s);
	ctl_lists_free(&l);
	cfg_unref(c);
}

/* Many IPv6 prefixes of one length under one /32 (the snapshot indexes
 * them by the bits after what they share), a few wider ones, and lookups
 * checked against a plain scan. */
static void test_v6_many(void)
{
	enum { N = 20000, P = 20000 };
	struct ctl_lists l = { 0 };
	struct cfg *c = cfg_defaults();
	struct pol_snapshot *s;
	uint8_t (*pfx)[16] = calloc(N, 16);
	unsigned bad = 0, hits = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(pfx);
	rnd_state = 1234567u;
	for (unsigned i = 0; i < N; i++) {
		struct cfg_list_entry e;
		uint32_t r = rnd();
		memset(&e, 0, sizeof(e));
		e.kind = CFG_LIST_IP;
		e.prefix.addr.family = SL_AF_INET6;
		pfx[i][0] = 0x20, pfx[i][1] = 0x01, pfx[i][2] = 0x0d, pfx[i][3] = 0xb8;
		pfx[i][4] = (uint8_t)(r >> 24), pfx[i][5] = (uint8_t)(r >> 16), pfx[i][6] = (uint8_t)(r >> 8);
		memcpy(e.prefix.addr.ip, pfx[i], 16);
		e.prefix.len = 56;
		ctl_lists_add(&l, &e, 0);
	}
	{
		/* a wider one that covers some, and one elsewhere */
		struct cfg_list_entry w = entry(CFG_LIST_IP, "2001:db8:4200::/40", false);
		struct cfg_list_entry o = entry(CFG_LIST_IP, "2001:2::/48", false);
		ctl_lists_add(&l, &w, 0);
		ctl_lists_add(&l, &o, 0);
	}
	s = ctl_lists_build(&l, c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (unsigned i = 0; i < P; i++) {
		struct sl_addr a = { .family = SL_AF_INET6 };
		uint32_t r = rnd(), r2 = rnd();
		bool want = false, got;
		unsigned len = 0, wl = 0;
		const char *reason;
		if (i % 2 == 0) {
			memcpy(a.ip, pfx[r % N], 16);       /* a listed /56 */
		} else {
			a.ip[0] = 0x20, a.ip[1] = 0x01, a.ip[2] = 0x0d, a.ip[3] = 0xb8;
			a.ip[4] = (uint8_t)(r >> 24), a.ip[5] = (uint8_t)(r >> 16), a.ip[6] = (uint8_t)(r >> 8);
			if (i % 7 == 1)
				a.ip[3] = 0xb9;                 /* outside the /32 they share */
			if (i % 11 == 1)
				a.ip[4] = 0x42;                 /* under the /40 */
		}
		memcpy(a.ip + 8, &r2, 4);
		for (unsigned k = 0; k < N && !want; k++)
			if (memcmp(pfx[k], a.ip, 7) == 0)
				want = true, wl = 56;
		if (!want && a.ip[0] == 0x20 && a.ip[1] == 0x01 && a.ip[2] == 0x0d && a.ip[3] == 0xb8 && a.ip[4] == 0x42)
			want = true, wl = 40;
		got = pol_snapshot_lookup_ip(s, false, &a, &len, &reason);
		if (got != want || (got && len != wl))
			bad++;
		hits += got;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(hits >= P / 2);
	pol_snapshot_free(s);
	ctl_lists_free(&l);
	cfg_unref(c);
	free(pfx);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "values checked and normalised", test_values },
		{ "add, update, delete, expire", test_add_del_expire },
		{ "config and runtime entries merged", test_build_merges },
		{ "an entry is 40 bytes", test_entry_size },
		{ "index through adds and deletes", test_index_churn },
		{ "names, interned reasons", test_names_and_reasons },
		{ "mirrored: dirty, tombstones, Redis state", test_mirrored },
		{ "expiry keeps the earliest", test_expire_cheap },
		{ "a million IPv4 entries", test_million },
		{ "many IPv6 prefixes, indexed", test_v6_many },
		{ NULL, NULL },
	};
	test_suite("ctl_lists", cases);
}
