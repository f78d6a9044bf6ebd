/* test_ctl_lists.c - runtime list entries: value checks, add/update/del, TTL expiry, merged snapshots. */
#include <stdlib.h>
#include <string.h>

#include "ctlsock/ctl_lists.h"
#include "test.h"
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

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "values checked and normalised", test_values },
		{ "add, update, delete, expire", test_add_del_expire },
		{ "config and runtime entries merged", test_build_merges },
		{ NULL, NULL },
	};
	test_suite("ctl_lists", cases);
}
