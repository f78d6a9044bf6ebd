/* test_ctl_limits.c - limits set at run time: the words parsed as the
 * file's `limit` lines, which rule a set replaces, the overlay generation
 * that shares the file's lists. */
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "ctlsock/ctl_limits.h"
#include "test.h"
#include "util/sl_status.h"

#define TAIL "relay_domains example.net\nbackend b 127.0.0.1:25\n"

static struct cfg *parse(const char *text)
{
	char err[512];
	struct cfg *c = cfg_parse_string("t.conf", text, strlen(text), err, sizeof(err));

	if (c == NULL)
		fprintf(stderr, "\n%s\n", err);
	return c;
}

/* Split s on blanks (no quotes needed here) and parse it as a rule. */
static int parse_words(const char *s, struct cfg_limit *out, char *err, size_t errlen)
{
	char buf[512], *save = NULL, *w;
	const char *words[32];
	unsigned n = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	for (w = strtok_r(buf, " ", &save); w != NULL && n < 32; w = strtok_r(NULL, " ", &save))
		words[n++] = w;
	return cfg_limit_parse(words, NULL, n, out, err, errlen);
}

static void test_parse(void)
{
	static const struct { const char *in; const char *err; } bad[] = {
		{ "msg_rate rcpt 10/hour", "key 'rcpt' is not allowed for 'msg_rate' (any but rcpt)" },
		{ "msg_rate ip 0/hour", "bad value '0/hour' for 'msg_rate': expected COUNT/PERIOD like 100/hour or 100/10m (period up to 49d)" },
		{ "msg_rate ip", "'limit' needs KIND KEY RATE (or: limit concurrency KEY N)" },
		{ "msg_rate ip 10/hour fail maybe", "bad value 'maybe' for 'fail': expected open or closed" },
		{ "concurrency ip 5 burst 2", "unknown option 'burst' for 'limit concurrency'" },
		{ "bogus ip 1/hour", "bad value 'bogus' for 'limit': expected conn_rate, msg_rate, rcpt_rate, byte_rate or concurrency" },
	};
	struct cfg_limit l;
	char err[256];

	CU_ASSERT_EQUAL(parse_words("msg_rate ip 100/hour burst 20 fail closed", &l, err, sizeof(err)), SL_OK);
	CU_ASSERT_EQUAL(l.kind, CFG_LIMIT_MSG_RATE);
	CU_ASSERT_EQUAL(l.key, CFG_KEY_IP);
	CU_ASSERT_EQUAL(l.count, 100);
	CU_ASSERT_EQUAL(l.period_ms, 3600000);
	CU_ASSERT_EQUAL(l.burst, 20);
	CU_ASSERT_TRUE(l.fail_closed);
	CU_ASSERT_EQUAL(l.code, 450);
	CU_ASSERT_EQUAL(l.line, 0);
	CU_ASSERT_EQUAL(parse_words("conn_rate net 10/1m prefix4 16", &l, err, sizeof(err)), SL_OK);
	CU_ASSERT_EQUAL(l.net4_prefix, 16);
	CU_ASSERT_EQUAL(l.code, 421);
	CU_ASSERT_EQUAL(parse_words("byte_rate sender 50m/day", &l, err, sizeof(err)), SL_OK);
	CU_ASSERT_EQUAL(l.count, 50u << 20);
	for (size_t i = 0; i < SL_ARRAY_SIZE(bad); i++) {
		CU_ASSERT_EQUAL(parse_words(bad[i].in, &l, err, sizeof(err)), SL_DECLINED);
		if (strcmp(err, bad[i].err) != 0)
			fprintf(stderr, "\n'%s': got '%s'\n", bad[i].in, err);
		CU_ASSERT_STRING_EQUAL(err, bad[i].err);
	}
}

static void test_same_rule(void)
{
	struct cfg_limit a, b;
	char err[256];

	parse_words("msg_rate ip 100/hour burst 20", &a, err, sizeof(err));
	parse_words("msg_rate ip 5/hour fail closed", &b, err, sizeof(err));
	CU_ASSERT_TRUE(cfg_limit_same_rule(&a, &b));     /* count and burst are what, not which */
	parse_words("msg_rate ip 100/minute", &b, err, sizeof(err));
	CU_ASSERT_FALSE(cfg_limit_same_rule(&a, &b));    /* another period: another rule */
	parse_words("msg_rate net 100/hour", &b, err, sizeof(err));
	CU_ASSERT_FALSE(cfg_limit_same_rule(&a, &b));
	parse_words("conn_rate net 10/hour prefix4 16", &a, err, sizeof(err));
	parse_words("conn_rate net 10/hour", &b, err, sizeof(err));
	CU_ASSERT_FALSE(cfg_limit_same_rule(&a, &b));    /* /16 and /24 count apart */
}

static void test_overlay(void)
{
	struct cfg *file = parse("limit msg_rate ip 100/hour burst 20\nlimit concurrency ip 10\n"
				 "blocklist ip 203.0.113.0/24\n" TAIL);
	struct ctl_limits *rl = calloc(1, sizeof(*rl));
	struct cfg_limit l, out[8];
	bool rt[8];
	int rep[8];
	char err[256];
	struct cfg *o, *o2;
	unsigned n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(file);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	/* nothing at run time: the file itself */
	o = ctl_limits_overlay(rl, file);
	CU_ASSERT_PTR_EQUAL(o, file);
	cfg_unref(o);
	/* one replaces the file's msg_rate, one is new */
	parse_words("msg_rate ip 7/hour burst 1", &l, err, sizeof(err));
	CU_ASSERT_EQUAL(ctl_limits_set(rl, &l, 0, 0), SL_OK);
	parse_words("rcpt_rate ip 3/minute", &l, err, sizeof(err));
	CU_ASSERT_EQUAL(ctl_limits_set(rl, &l, 0, 0), SL_OK);
	parse_words("rcpt_rate ip 4/minute", &l, err, sizeof(err));
	CU_ASSERT_EQUAL(ctl_limits_set(rl, &l, 0, 0), SL_DONE);
	n = ctl_limits_effective(rl, file, out, rt, rep, 8);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(out[0].count, 7);
	CU_ASSERT_TRUE(rt[0]);
	CU_ASSERT_EQUAL(rep[0], 1);                       /* the file's line 1 */
	CU_ASSERT_EQUAL(out[1].kind, CFG_LIMIT_CONCURRENCY);
	CU_ASSERT_FALSE(rt[1]);
	CU_ASSERT_EQUAL(out[1].line, 2);
	CU_ASSERT_EQUAL(out[2].kind, CFG_LIMIT_RCPT_RATE);
	CU_ASSERT_EQUAL(out[2].count, 4);
	CU_ASSERT_TRUE(rt[2]);
	CU_ASSERT_EQUAL(rep[2], 0);
	/* the overlay shares the lists and keeps the file alive */
	o = ctl_limits_overlay(rl, file);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_PTR_EQUAL(o->base, file);
	CU_ASSERT_PTR_EQUAL(o->lists, file->lists);
	CU_ASSERT_EQUAL(o->nlimits, 3);
	CU_ASSERT_EQUAL(file->nlimits, 2);
	/* an overlay of an overlay points at the file, not a chain */
	o2 = cfg_with_limits(o, out, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o2);
	CU_ASSERT_PTR_EQUAL(o2->base, file);
	cfg_unref(file);                                  /* the overlays hold it */
	CU_ASSERT_EQUAL(o->nlists, 1);
	CU_ASSERT_STRING_EQUAL(o->lists[0].value, "203.0.113.0/24");
	cfg_unref(o);
	cfg_unref(o2);                                    /* ASan: freed once, lists once */
	/* remove: the file's rule comes back */
	ctl_limits_remove(rl, (unsigned)ctl_limits_find(rl, &out[0]));
	CU_ASSERT_EQUAL(rl->n, 1);
	for (unsigned i = rl->n; i < CTL_LIMITS_MAX; i++) {
		l.period_ms = 1000 * (i + 100);
		CU_ASSERT_EQUAL(ctl_limits_set(rl, &l, 0, 0), SL_OK);
	}
	CU_ASSERT_EQUAL(ctl_limits_set(rl, &out[0], 0, 0), SL_ERROR); /* full */
	free(rl);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "words parsed as a limit line", test_parse },
		{ "which rule a set replaces", test_same_rule },
		{ "effective limits and the overlay", test_overlay },
		{ NULL, NULL }
	};

	test_suite("runtime limits", cases);
}
