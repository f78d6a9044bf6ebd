/* test_pol_lists.c - list snapshots: prefixes, names, domains, allow over block, 1M entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/pol.h"
#include "test.h"
#include "util/sl_clock.h"

static struct cfg_list_entry ents[64];
static unsigned nents;

static void add(enum cfg_list_kind k, bool allow, const char *value, const char *reason)
{
	struct cfg_list_entry *e = &ents[nents++];

	memset(e, 0, sizeof(*e));
	e->kind = k;
	e->allow = allow;
	if (k == CFG_LIST_IP)
		CU_ASSERT_FATAL(sl_prefix_parse(value, &e->prefix) == 0);
	snprintf(e->value, sizeof(e->value), "%s", value);
	snprintf(e->reason, sizeof(e->reason), "%s", reason ? reason : "");
}

static struct pol_query q_ip(const char *ip)
{
	struct pol_query q;

	memset(&q, 0, sizeof(q));
	q.stage = POL_STAGE_CONNECT;
	CU_ASSERT_FATAL(sl_addr_parse(ip, &q.client, false) == 0);
	return q;
}

static int check_ip(const struct pol_snapshot *s, const char *ip, struct pol_verdict *v)
{
	struct pol_query q = q_ip(ip);

	return pol_lists_check(s, &q, v);
}

static void test_v4_longest_prefix(void)
{
	struct pol_snapshot *s;
	struct pol_verdict v;

	nents = 0;
	add(CFG_LIST_IP, false, "198.18.0.0/16", "wide");
	add(CFG_LIST_IP, false, "198.18.5.0/24", "narrow");
	add(CFG_LIST_IP, false, "198.18.5.7", "host");
	s = pol_snapshot_build(ents, nents);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(pol_snapshot_size(s, CFG_LIST_IP), 3);

	CU_ASSERT_EQUAL(check_ip(s, "198.18.5.7", &v), SL_DECLINED);
	CU_ASSERT_STRING_EQUAL(v.text,
			       "Service unavailable; client [198.18.5.7] blocked using blocklist 198.18.5.7/32; host");
	CU_ASSERT_EQUAL(v.action, POL_DISCONNECT);
	CU_ASSERT_EQUAL(v.code, 554);
	CU_ASSERT_STRING_EQUAL(v.status, "5.7.1");
	CU_ASSERT_STRING_EQUAL(v.rule, "blocklist ip");
	CU_ASSERT_EQUAL(v.allowlisted, 0);

	CU_ASSERT_EQUAL(check_ip(s, "198.18.5.8", &v), SL_DECLINED);
	CU_ASSERT_PTR_NOT_NULL(strstr(v.text, "198.18.5.0/24; narrow"));
	CU_ASSERT_EQUAL(check_ip(s, "198.18.200.1", &v), SL_DECLINED);
	CU_ASSERT_PTR_NOT_NULL(strstr(v.text, "198.18.0.0/16; wide"));
	CU_ASSERT_EQUAL(check_ip(s, "198.19.0.1", &v), SL_OK);
	CU_ASSERT_EQUAL(v.action, POL_ACCEPT);
	CU_ASSERT_EQUAL(check_ip(s, "2001:2::1", &v), SL_OK);
	/* an IPv4-mapped client is the IPv4 client */
	CU_ASSERT_EQUAL(check_ip(s, "::ffff:198.18.5.7", &v), SL_DECLINED);
	CU_ASSERT_PTR_NOT_NULL(strstr(v.text, "[198.18.5.7]"));
	pol_snapshot_free(s);
}

static void test_v4_zero_and_host(void)
{
	struct pol_snapshot *s;
	struct pol_verdict v;

	nents = 0;
	add(CFG_LIST_IP, false, "0.0.0.0/0", NULL);
	add(CFG_LIST_IP, true, "198.18.0.1/32", NULL);
	s = pol_snapshot_build(ents, nents);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(check_ip(s, "203.0.113.9", &v), SL_DECLINED);
	CU_ASSERT_STRING_EQUAL(v.text,
			       "Service unavailable; client [203.0.113.9] blocked using blocklist 0.0.0.0/0");
	CU_ASSERT_EQUAL(check_ip(s, "255.255.255.255", &v), SL_DECLINED);
	CU_ASSERT_EQUAL(check_ip(s, "0.0.0.0", &v), SL_DECLINED);
	CU_ASSERT_EQUAL(check_ip(s, "198.18.0.1", &v), SL_DONE);
	CU_ASSERT_EQUAL(v.allowlisted, 1);
	CU_ASSERT_EQUAL(v.action, POL_ACCEPT);
	CU_ASSERT_STRING_EQUAL(v.rule, "allowlist ip");
	CU_ASSERT_EQUAL(check_ip(s, "198.18.0.2", &v), SL_DECLINED);
	/* a v4 /0 says nothing about v6 */
	CU_ASSERT_EQUAL(check_ip(s, "2001:2::1", &v), SL_OK);
	pol_snapshot_free(s);
}

static void test_v6(void)
{
	struct pol_snapshot *s;
	struct pol_verdict v;

	nents = 0;
	add(CFG_LIST_IP, false, "2001:2::/48", "net48");
	add(CFG_LIST_IP, false, "2001:2:0:1::/64", "net64");
	add(CFG_LIST_IP, false, "2001:2:0:1::8000:0/97", "net97");
	add(CFG_LIST_IP, false, "2001:2:0:1::8000:1/128", "host");
	add(CFG_LIST_IP, true, "2001:2:0:2::/63", NULL);
	s = pol_snapshot_build(ents, nents);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(check_ip(s, "2001:2:0:1::8000:1", &v), SL_DECLINED);
	CU_ASSERT_PTR_NOT_NULL(strstr(v.text, "2001:2:0:1::8000:1/128; host"));
	CU_ASSERT_EQUAL(check_ip(s, "2001:2:0:1::8000:2", &v), SL_DECLINED);
	CU_ASSERT_PTR_NOT_NULL(strstr(v.text, "/97; net97"));
	CU_ASSERT_EQUAL(check_ip(s, "2001:2:0:1::7fff:ffff", &v), SL_DECLINED);
	CU_ASSERT_PTR_NOT_NULL(strstr(v.text, "2001:2:0:1::/64; net64"));
	CU_ASSERT_EQUAL(check_ip(s, "2001:2:0:ffff::1", &v), SL_DECLINED);
	CU_ASSERT_PTR_NOT_NULL(strstr(v.text, "2001:2::/48; net48"));
	CU_ASSERT_EQUAL(check_ip(s, "2001:2:0:3::1", &v), SL_DONE); /* /63 covers :2 and :3 */
	CU_ASSERT_EQUAL(check_ip(s, "2001:2:0:4::1", &v), SL_DECLINED);
	CU_ASSERT_EQUAL(check_ip(s, "2001:3::1", &v), SL_OK);
	CU_ASSERT_EQUAL(check_ip(s, "198.18.0.1", &v), SL_OK);
	pol_snapshot_free(s);

	nents = 0;
	add(CFG_LIST_IP, false, "::/0", NULL);
	s = pol_snapshot_build(ents, nents);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(check_ip(s, "ffff::1", &v), SL_DECLINED);
	CU_ASSERT_EQUAL(check_ip(s, "::", &v), SL_DECLINED);
	CU_ASSERT_EQUAL(check_ip(s, "198.18.0.1", &v), SL_OK);
	pol_snapshot_free(s);
}

static void test_allow_beats_block(void)
{
	struct pol_snapshot *s;
	struct pol_verdict v;
	struct pol_query q;

	nents = 0;
	/* block more specific than allow: allow still wins at its stage */
	add(CFG_LIST_IP, true, "198.18.0.0/15", NULL);
	add(CFG_LIST_IP, false, "198.18.0.9/32", NULL);
	add(CFG_LIST_IP, false, "198.18.0.10/32", NULL);
	add(CFG_LIST_IP, true, "198.18.0.10/32", NULL);
	add(CFG_LIST_HELO, false, "mx.example.org", NULL);
	add(CFG_LIST_HELO, true, "mx.example.org", NULL);
	add(CFG_LIST_DOMAIN, false, "example.com", NULL);
	add(CFG_LIST_SENDER, true, "boss@example.com", NULL);
	add(CFG_LIST_RCPT, false, "a@example.net", NULL);
	add(CFG_LIST_RCPT, true, "a@example.net", NULL);
	s = pol_snapshot_build(ents, nents);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(check_ip(s, "198.18.0.9", &v), SL_DONE);
	CU_ASSERT_EQUAL(v.allowlisted, 1);
	CU_ASSERT_EQUAL(check_ip(s, "198.18.0.10", &v), SL_DONE);

	memset(&q, 0, sizeof(q));
	q.stage = POL_STAGE_HELO;
	strcpy(q.helo, "MX.Example.ORG");
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_DONE);
	CU_ASSERT_STRING_EQUAL(v.rule, "allowlist helo");

	q.stage = POL_STAGE_MAIL;
	strcpy(q.sender, "boss@example.com");
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_DONE);
	CU_ASSERT_STRING_EQUAL(v.rule, "allowlist sender");
	CU_ASSERT_EQUAL(v.allowlisted, 1);
	strcpy(q.sender, "other@example.com");
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_DECLINED);
	CU_ASSERT_STRING_EQUAL(v.rule, "blocklist domain");
	CU_ASSERT_EQUAL(v.action, POL_REJECT);

	q.stage = POL_STAGE_RCPT;
	strcpy(q.rcpt, "A@Example.Net");
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_DONE);
	CU_ASSERT_STRING_EQUAL(v.rule, "allowlist rcpt");
	/* the stages do not leak into each other */
	q.stage = POL_STAGE_DATA;
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_OK);
	pol_snapshot_free(s);
}

static void test_names_case(void)
{
	struct pol_snapshot *s;
	struct pol_verdict v;
	struct pol_query q;

	nents = 0;
	add(CFG_LIST_HELO, false, "Bad.Example", "forged helo");
	add(CFG_LIST_SENDER, false, "<Spam@Example.com>", NULL);
	add(CFG_LIST_RCPT, false, "trap@example.net", "spam trap");
	add(CFG_LIST_RCPT, false, "TRAP@example.net", "duplicate");
	s = pol_snapshot_build(ents, nents);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(pol_snapshot_size(s, CFG_LIST_HELO), 1);
	CU_ASSERT_EQUAL(pol_snapshot_size(s, CFG_LIST_RCPT), 1);
	CU_ASSERT_EQUAL(pol_snapshot_size(s, CFG_LIST_IP), 0);

	memset(&q, 0, sizeof(q));
	q.stage = POL_STAGE_HELO;
	strcpy(q.helo, "bad.EXAMPLE");
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_DECLINED);
	CU_ASSERT_STRING_EQUAL(v.text, "<bad.EXAMPLE>: Helo command rejected: blocked using blocklist; forged helo");
	CU_ASSERT_STRING_EQUAL(v.rule, "blocklist helo");
	CU_ASSERT_EQUAL(v.action, POL_REJECT);
	strcpy(q.helo, "bad.example.");
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_OK);
	strcpy(q.helo, "ad.example");
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_OK);
	q.helo[0] = '\0';
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_OK);

	q.stage = POL_STAGE_MAIL;
	strcpy(q.sender, "SPAM@example.COM");
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_DECLINED);
	CU_ASSERT_STRING_EQUAL(v.rule, "blocklist sender");
	CU_ASSERT_PTR_NOT_NULL(strstr(v.text, "<SPAM@example.COM>: Sender address rejected"));
	strcpy(q.sender, "spam@example.co");
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_OK);

	q.stage = POL_STAGE_RCPT;
	strcpy(q.rcpt, "Trap@Example.NET");
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_DECLINED);
	CU_ASSERT_STRING_EQUAL(v.rule, "blocklist rcpt");
	CU_ASSERT_PTR_NOT_NULL(strstr(v.text, "; spam trap")); /* the first of duplicates */
	strcpy(q.rcpt, "trap2@example.net");
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_OK);
	pol_snapshot_free(s);
}

static void test_domains(void)
{
	static const struct {
		const char *sender;
		int rc;
		const char *entry;
	} rows[] = {
		{ "a@example.com", SL_DECLINED, "domain example.com " },
		{ "a@EXAMPLE.com", SL_DECLINED, "domain example.com " },
		{ "a@mail.example.com", SL_OK, NULL },     /* "example.com" is exact */
		{ "a@sub.example.org", SL_DECLINED, "domain .example.org " },
		{ "a@a.b.c.example.org", SL_DECLINED, "domain .example.org " },
		{ "a@example.org", SL_OK, NULL },          /* ".example.org" is subdomains only */
		{ "a@xexample.org", SL_OK, NULL },
		{ "a@deep.sub.example.net", SL_DECLINED, "domain .sub.example.net " },
		{ "a@sub.example.net", SL_DECLINED, "domain sub.example.net " },
		{ "a@ok.example.net", SL_OK, NULL },
		{ "a@good.sub.example.net", SL_DONE, NULL }, /* allow beats the wider block */
		{ "x@y@example.com", SL_DECLINED, "domain example.com " }, /* after the last @ */
		{ "nodomain", SL_OK, NULL },
		{ "", SL_OK, NULL },
	};
	struct pol_snapshot *s;
	struct pol_verdict v;
	struct pol_query q;
	unsigned i;

	nents = 0;
	add(CFG_LIST_DOMAIN, false, "example.com", NULL);
	add(CFG_LIST_DOMAIN, false, ".example.org", NULL);
	add(CFG_LIST_DOMAIN, false, ".sub.example.net", NULL);
	add(CFG_LIST_DOMAIN, false, "sub.example.net", NULL);
	add(CFG_LIST_DOMAIN, true, "good.sub.example.net", NULL);
	s = pol_snapshot_build(ents, nents);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(pol_snapshot_size(s, CFG_LIST_DOMAIN), 5);
	memset(&q, 0, sizeof(q));
	q.stage = POL_STAGE_MAIL;
	for (i = 0; i < SL_ARRAY_SIZE(rows); i++) {
		int rc;
		strcpy(q.sender, rows[i].sender);
		rc = pol_lists_check(s, &q, &v);
		if (rc != rows[i].rc)
			printf("\n  row %u <%s>: rc %d, want %d (%s)\n", i, rows[i].sender, rc, rows[i].rc, v.text);
		CU_ASSERT_EQUAL(rc, rows[i].rc);
		if (rows[i].entry != NULL)
			CU_ASSERT_PTR_NOT_NULL(strstr(v.text, rows[i].entry));
	}
	pol_snapshot_free(s);
}

static void test_null_sender(void)
{
	struct pol_snapshot *s;
	struct pol_verdict v;
	struct pol_query q;

	nents = 0;
	add(CFG_LIST_SENDER, false, "<>", "no bounces here");
	s = pol_snapshot_build(ents, nents);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(&q, 0, sizeof(q));
	q.stage = POL_STAGE_MAIL;
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_DECLINED);
	CU_ASSERT_STRING_EQUAL(v.rule, "blocklist sender");
	CU_ASSERT_PTR_NOT_NULL(strstr(v.text, "no bounces here"));
	strcpy(q.sender, "a@example.com");
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_OK);
	pol_snapshot_free(s);

	/* without a "<>" entry the null sender matches nothing */
	nents = 0;
	add(CFG_LIST_SENDER, false, "a@example.com", NULL);
	add(CFG_LIST_DOMAIN, false, ".", NULL);
	s = pol_snapshot_build(ents, nents);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	q.sender[0] = '\0';
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_OK);
	pol_snapshot_free(s);
}

static void test_empty_and_text_safety(void)
{
	struct pol_snapshot *s = pol_snapshot_build(NULL, 0);
	struct pol_verdict v;
	struct pol_query q;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(check_ip(s, "198.18.0.1", &v), SL_OK);
	CU_ASSERT_EQUAL(pol_snapshot_size(s, CFG_LIST_SENDER), 0);
	pol_snapshot_free(s);
	CU_ASSERT_EQUAL(check_ip(NULL, "198.18.0.1", &v), SL_OK);

	/* a reply line never carries a CR/LF, and a long name is cut, not overrun */
	nents = 0;
	add(CFG_LIST_RCPT, false, "x@example.net", "bad\r\nrcpt");
	s = pol_snapshot_build(ents, nents);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(&q, 0, sizeof(q));
	q.stage = POL_STAGE_RCPT;
	strcpy(q.rcpt, "x@example.net");
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_DECLINED);
	CU_ASSERT_PTR_NULL(strpbrk(v.text, "\r\n"));
	pol_snapshot_free(s);
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	/* xorshift32: reproducible without libc's rand */
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void test_million_v4(void)
{
	const unsigned n = 1000000, probes = 200000;
	struct cfg_list_entry *e = calloc(n, sizeof(*e));
	uint32_t *keys = malloc(n * sizeof(*keys));
	struct pol_snapshot *s;
	struct pol_verdict v;
	struct pol_query q;
	uint64_t t0, t1, t2;
	uint32_t *probe;
	bool *want;
	unsigned i, hits = 0, misses = 0, bad = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(keys);
	for (i = 0; i < n; i++) {
		uint32_t a = rnd();
		keys[i] = a;
		e[i].kind = CFG_LIST_IP;
		e[i].prefix.addr.family = SL_AF_INET;
		e[i].prefix.addr.ip[0] = (uint8_t)(a >> 24);
		e[i].prefix.addr.ip[1] = (uint8_t)(a >> 16);
		e[i].prefix.addr.ip[2] = (uint8_t)(a >> 8);
		e[i].prefix.addr.ip[3] = (uint8_t)a;
		e[i].prefix.len = 32;
	}
	t0 = sl_clock_ns();
	s = pol_snapshot_build(e, n);
	t1 = sl_clock_ns();
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	qsort(keys, n, sizeof(*keys), u32_cmp);
	/* xorshift32 repeats no value within its period: all distinct */
	CU_ASSERT_EQUAL(pol_snapshot_size(s, CFG_LIST_IP), n);
	printf("\n  build of %u IPv4 /32: %.1f ms\n", n, (double)(t1 - t0) / 1e6);
	CU_ASSERT(t1 - t0 < 1000000000ull);

	/* even probes: a listed address; odd ones: a random one, listed or not
	 * by the reference bsearch */
	probe = malloc(probes * sizeof(*probe));
	want = malloc(probes * sizeof(*want));
	CU_ASSERT_PTR_NOT_NULL_FATAL(probe);
	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	for (i = 0; i < probes; i++) {
		probe[i] = (i & 1) ? rnd() : keys[rnd() % n];
		want[i] = bsearch(&probe[i], keys, n, sizeof(*keys), u32_cmp) != NULL;
		if (want[i])
			hits++;
		else
			misses++;
	}
	memset(&q, 0, sizeof(q));
	q.stage = POL_STAGE_CONNECT;
	q.client.family = SL_AF_INET;
	t1 = sl_clock_ns();
	for (i = 0; i < probes; i++) {
		int rc;
		q.client.ip[0] = (uint8_t)(probe[i] >> 24);
		q.client.ip[1] = (uint8_t)(probe[i] >> 16);
		q.client.ip[2] = (uint8_t)(probe[i] >> 8);
		q.client.ip[3] = (uint8_t)probe[i];
		rc = pol_lists_check(s, &q, &v);
		if (rc != (want[i] ? SL_DECLINED : SL_OK))
			bad++;
	}
	t2 = sl_clock_ns();
	printf("  %u lookups (%u hits, %u misses): %.0f ns each, reply text included\n", probes,
	       hits, misses, (double)(t2 - t1) / probes);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(hits > probes / 3);
	CU_ASSERT(misses > probes / 3);
	free(probe);
	free(want);
	pol_snapshot_free(s);
	free(keys);
	free(e);
}

/* Many prefixes of one length below 32 (the indexed path), mixed with a
 * longer allow entry and a shorter block, checked against a reference. */
static void test_many_prefixes(void)
{
	const unsigned n = 20000, probes = 50000;
	struct cfg_list_entry *e = calloc(n + 2, sizeof(*e));
	uint32_t *keys = malloc(n * sizeof(*keys));
	struct pol_snapshot *s;
	struct pol_verdict v;
	struct pol_query q;
	unsigned i, bad = 0, hits = 0;
	uint32_t allow28;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(keys);
	for (i = 0; i < n; i++) {
		uint32_t a = rnd() & 0xfffff000u; /* /20, never in 10.0.0.0/8 */
		if ((a >> 24) == 10)
			a ^= 0x01000000u;
		keys[i] = a;
		e[i].kind = CFG_LIST_IP;
		e[i].prefix.addr.family = SL_AF_INET;
		e[i].prefix.addr.ip[0] = (uint8_t)(a >> 24);
		e[i].prefix.addr.ip[1] = (uint8_t)(a >> 16);
		e[i].prefix.addr.ip[2] = (uint8_t)(a >> 8);
		e[i].prefix.len = 20;
	}
	e[n].kind = CFG_LIST_IP;
	CU_ASSERT_FATAL(sl_prefix_parse("10.0.0.0/8", &e[n].prefix) == 0);
	e[n + 1].kind = CFG_LIST_IP;
	e[n + 1].allow = true;
	e[n + 1].prefix = e[0].prefix;
	e[n + 1].prefix.len = 28;
	allow28 = keys[0];
	s = pol_snapshot_build(e, n + 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	qsort(keys, n, sizeof(*keys), u32_cmp);
	memset(&q, 0, sizeof(q));
	q.stage = POL_STAGE_CONNECT;
	q.client.family = SL_AF_INET;
	for (i = 0; i < probes; i++) {
		uint32_t a = (i & 1) ? rnd() : keys[rnd() % n] | (rnd() & 0xfff), m = a & 0xfffff000u;
		int want = bsearch(&m, keys, n, sizeof(*keys), u32_cmp) ? SL_DECLINED : SL_OK, rc;
		if ((a >> 24) == 10)
			want = SL_DECLINED;
		if ((a & 0xfffffff0u) == allow28)
			continue; /* the allow /28: checked below */
		q.client.ip[0] = (uint8_t)(a >> 24);
		q.client.ip[1] = (uint8_t)(a >> 16);
		q.client.ip[2] = (uint8_t)(a >> 8);
		q.client.ip[3] = (uint8_t)a;
		rc = pol_lists_check(s, &q, &v);
		bad += rc != want;
		hits += rc == SL_DECLINED;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(hits > probes / 3);
	memcpy(q.client.ip, e[0].prefix.addr.ip, 4);
	q.client.ip[3] = 15;
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_DONE);
	q.client.ip[3] = 16;
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_DECLINED);
	q.client.ip[0] = 10;
	CU_ASSERT_EQUAL(pol_lists_check(s, &q, &v), SL_DECLINED);
	CU_ASSERT_PTR_NOT_NULL(strstr(v.text, "10.0.0.0/8"));
	pol_snapshot_free(s);
	free(keys);
	free(e);
}

void register_tests(void)
{
	static const struct test_case lists[] = {
		{ "v4 longest prefix", test_v4_longest_prefix },
		{ "v4 /0 and /32", test_v4_zero_and_host },
		{ "v6 prefixes, /0, /128", test_v6 },
		{ "allow beats block", test_allow_beats_block },
		{ "names case-insensitive", test_names_case },
		{ "domains and subdomains", test_domains },
		{ "null sender", test_null_sender },
		{ "empty lists, reply text safety", test_empty_and_text_safety },
		{ "20k /20 prefixes (indexed)", test_many_prefixes },
		{ "1M IPv4 entries", test_million_v4 },
		{ NULL, NULL },
	};
	test_suite("pol_lists", lists);
}
