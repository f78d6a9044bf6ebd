/* test_pol_store.c - the embedded store: rule kinds and keys, atomic charges, concurrency, reload, full table. */
#include <stdio.h>
#include <string.h>

#include "policy/pol.h"
#include "test.h"

#define HOUR 3600000ull
#define MIN  60000ull

static struct cfg_limit limits[8];
static struct cfg cfg;
static struct pol_verdict last;
static unsigned ndone;
static uint64_t last_token;

static void reset(void)
{
	memset(limits, 0, sizeof(limits));
	memset(&cfg, 0, sizeof(cfg));
	cfg.limits = limits;
}

static struct cfg_limit *lim(enum cfg_limit_kind kind, enum cfg_limit_key key, uint64_t count,
			     uint64_t period_ms, uint64_t burst)
{
	struct cfg_limit *l = &limits[cfg.nlimits++];

	l->kind = kind;
	l->key = key;
	l->count = count;
	l->period_ms = period_ms;
	l->burst = burst;
	return l;
}

static void on_done(void *arg, uint64_t token, const struct pol_verdict *v)
{
	(*(unsigned *)arg)++;
	last = *v;
	last_token = token;
}

static struct pol_query query(enum pol_stage stage, const char *ip)
{
	struct pol_query q;

	memset(&q, 0, sizeof(q));
	q.stage = (uint8_t)stage;
	CU_ASSERT_FATAL(sl_addr_parse(ip, &q.client, false) == 0);
	strcpy(q.helo, "client.example");
	return q;
}

/* decide and return the action; last holds the verdict */
static int decide(struct pol_store *st, const struct pol_query *q, uint64_t now_ms)
{
	unsigned before = ndone;

	pol_store_decide(st, q, now_ms, 77, on_done, &ndone);
	CU_ASSERT_EQUAL(ndone, before + 1); /* synchronous, exactly once */
	CU_ASSERT_EQUAL(last_token, 77);
	return last.action;
}

static int connect_at(struct pol_store *st, const char *ip, uint64_t now_ms)
{
	struct pol_query q = query(POL_STAGE_CONNECT, ip);

	return decide(st, &q, now_ms);
}

static int mail_at(struct pol_store *st, const char *ip, const char *sender, uint64_t now_ms)
{
	struct pol_query q = query(POL_STAGE_MAIL, ip);

	strcpy(q.sender, sender);
	return decide(st, &q, now_ms);
}

static int rcpt_at(struct pol_store *st, const char *ip, const char *rcpt, uint64_t now_ms)
{
	struct pol_query q = query(POL_STAGE_RCPT, ip);

	strcpy(q.sender, "s@example.com");
	strcpy(q.rcpt, rcpt);
	return decide(st, &q, now_ms);
}

static void test_conn_rate(void)
{
	struct pol_store *st;
	uint64_t t = 10 * HOUR;
	struct pol_query q;

	reset();
	lim(CFG_LIMIT_CONN_RATE, CFG_KEY_IP, 3, MIN, 0);
	lim(CFG_LIMIT_CONN_RATE, CFG_KEY_NET, 5, MIN, 0)->net4_prefix = 24;
	st = pol_store_embedded_new(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_STRING_EQUAL(st->ops->name, "embedded");
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_DISCONNECT);
	CU_ASSERT_EQUAL(last.code, 421);
	CU_ASSERT_STRING_EQUAL(last.status, "4.7.1");
	CU_ASSERT_STRING_EQUAL(last.rule, "limit conn_rate ip");
	CU_ASSERT(last.text[0] != '\0');
	/* same /24, other host: the ip rule is fresh, the net rule has 2 left */
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.2", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.3", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.4", t), POL_DISCONNECT);
	CU_ASSERT_STRING_EQUAL(last.rule, "limit conn_rate net");
	CU_ASSERT_EQUAL(connect_at(st, "198.18.1.4", t), POL_ACCEPT);
	/* 12 s = 60 s / 5 later one more fits in the /24 */
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.4", t + 12000), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.5", t + 12000), POL_DISCONNECT);
	/* v6: /64 by default */
	CU_ASSERT_EQUAL(connect_at(st, "2001:2::1", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "2001:2::2", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "2001:2::3", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "2001:2::4", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "2001:2::5", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "2001:2::6", t), POL_DISCONNECT);
	CU_ASSERT_EQUAL(connect_at(st, "2001:2:0:1::6", t), POL_ACCEPT);
	/* HELO decides nothing; nor do stages past END */
	q = query(POL_STAGE_HELO, "198.18.0.1");
	CU_ASSERT_EQUAL(decide(st, &q, t), POL_ACCEPT);
	q.stage = 200;
	CU_ASSERT_EQUAL(decide(st, &q, t), POL_ACCEPT);
	st->ops->destroy(st);
}

static void test_msg_keys(void)
{
	struct pol_store *st;
	uint64_t t = 10 * HOUR;
	struct cfg_limit *l;

	reset();
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_SENDER, 2, HOUR, 0);
	l = lim(CFG_LIMIT_MSG_RATE, CFG_KEY_SENDER_DOMAIN, 3, HOUR, 0);
	l->code = 450;
	strcpy(l->status, "4.7.2");
	strcpy(l->text, "Domain sends too much");
	st = pol_store_embedded_new(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(mail_at(st, "198.18.0.1", "A@Example.com", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(mail_at(st, "198.18.0.2", "a@example.COM", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(mail_at(st, "198.18.0.3", "a@example.com", t), POL_TEMPFAIL);
	CU_ASSERT_STRING_EQUAL(last.rule, "limit msg_rate sender");
	CU_ASSERT_EQUAL(last.code, 450);
	CU_ASSERT_STRING_EQUAL(last.status, "4.7.1");
	/* the domain had 2 of 3: one more sender of it, then its own reply */
	CU_ASSERT_EQUAL(mail_at(st, "198.18.0.1", "b@EXAMPLE.com", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(mail_at(st, "198.18.0.1", "c@example.com", t), POL_TEMPFAIL);
	CU_ASSERT_STRING_EQUAL(last.rule, "limit msg_rate sender_domain");
	CU_ASSERT_STRING_EQUAL(last.status, "4.7.2");
	CU_ASSERT_STRING_EQUAL(last.text, "Domain sends too much");
	/* the null sender is a sender key, with no domain */
	CU_ASSERT_EQUAL(mail_at(st, "198.18.0.1", "", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(mail_at(st, "198.18.0.1", "", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(mail_at(st, "198.18.0.1", "", t), POL_TEMPFAIL);
	CU_ASSERT_STRING_EQUAL(last.rule, "limit msg_rate sender");
	/* RCPT and CONNECT are not charged by msg_rate */
	CU_ASSERT_EQUAL(rcpt_at(st, "198.18.0.1", "x@example.net", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_ACCEPT);
	st->ops->destroy(st);

	reset();
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_HELO, 1, HOUR, 0);
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_RCPT, 1, HOUR, 0); /* no recipient at MAIL: never applies */
	st = pol_store_embedded_new(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(mail_at(st, "198.18.0.1", "a@example.com", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(mail_at(st, "198.18.0.2", "b@example.com", t), POL_TEMPFAIL);
	CU_ASSERT_STRING_EQUAL(last.rule, "limit msg_rate helo");
	st->ops->destroy(st);
}

static void test_rcpt_and_bytes(void)
{
	struct pol_store *st;
	uint64_t t = 10 * HOUR;
	struct pol_query q;

	reset();
	lim(CFG_LIMIT_RCPT_RATE, CFG_KEY_RCPT, 2, MIN, 0);
	lim(CFG_LIMIT_RCPT_RATE, CFG_KEY_IP, 4, MIN, 0);
	lim(CFG_LIMIT_BYTE_RATE, CFG_KEY_IP, 1000, MIN, 0);
	st = pol_store_embedded_new(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(rcpt_at(st, "198.18.0.1", "u@example.net", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(rcpt_at(st, "198.18.0.2", "U@example.net", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(rcpt_at(st, "198.18.0.3", "u@example.net", t), POL_TEMPFAIL);
	CU_ASSERT_STRING_EQUAL(last.rule, "limit rcpt_rate rcpt");
	CU_ASSERT_EQUAL(rcpt_at(st, "198.18.0.1", "v@example.net", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(rcpt_at(st, "198.18.0.1", "w@example.net", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(rcpt_at(st, "198.18.0.1", "x@example.net", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(rcpt_at(st, "198.18.0.1", "y@example.net", t), POL_TEMPFAIL);
	CU_ASSERT_STRING_EQUAL(last.rule, "limit rcpt_rate ip");

	/* byte_rate: the message size is the cost, at end of DATA only */
	q = query(POL_STAGE_DATA, "198.18.0.1");
	q.size = 600;
	q.nrcpt = 1;
	CU_ASSERT_EQUAL(decide(st, &q, t), POL_ACCEPT);
	q.size = 401;
	CU_ASSERT_EQUAL(decide(st, &q, t), POL_TEMPFAIL);
	CU_ASSERT_STRING_EQUAL(last.rule, "limit byte_rate ip");
	q.size = 400;
	CU_ASSERT_EQUAL(decide(st, &q, t), POL_ACCEPT);
	q.size = 1;
	CU_ASSERT_EQUAL(decide(st, &q, t), POL_TEMPFAIL);
	/* 60 ms give back 1 byte */
	CU_ASSERT_EQUAL(decide(st, &q, t + 60), POL_ACCEPT);
	/* a message over the whole burst never passes */
	q = query(POL_STAGE_DATA, "198.18.9.9");
	q.size = 1001;
	CU_ASSERT_EQUAL(decide(st, &q, t), POL_TEMPFAIL);
	st->ops->destroy(st);
}

static void test_atomic(void)
{
	struct pol_store *st;
	uint64_t t = 10 * HOUR;
	char sender[64];
	int i;

	reset();
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_IP, 5, HOUR, 0);
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_SENDER, 1, HOUR, 0);
	st = pol_store_embedded_new(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(mail_at(st, "198.18.0.1", "once@example.com", t), POL_ACCEPT);
	/* refused by the sender rule: the ip rule must not be charged */
	for (i = 0; i < 10; i++) {
		CU_ASSERT_EQUAL(mail_at(st, "198.18.0.1", "once@example.com", t), POL_TEMPFAIL);
		CU_ASSERT_STRING_EQUAL(last.rule, "limit msg_rate sender");
	}
	for (i = 0; i < 4; i++) {
		snprintf(sender, sizeof(sender), "s%d@example.com", i);
		CU_ASSERT_EQUAL(mail_at(st, "198.18.0.1", sender, t), POL_ACCEPT);
	}
	/* ip rule (first in config order) is over now: it gives the reply,
	 * and the new sender is not charged either */
	CU_ASSERT_EQUAL(mail_at(st, "198.18.0.1", "fresh@example.com", t), POL_TEMPFAIL);
	CU_ASSERT_STRING_EQUAL(last.rule, "limit msg_rate ip");
	CU_ASSERT_EQUAL(mail_at(st, "198.18.0.2", "fresh@example.com", t), POL_ACCEPT);

	/* conn_rate over at CONNECT takes no concurrency slot */
	st->ops->destroy(st);
	reset();
	lim(CFG_LIMIT_CONCURRENCY, CFG_KEY_IP, 2, 0, 0);
	lim(CFG_LIMIT_CONN_RATE, CFG_KEY_IP, 1, HOUR, 0);
	st = pol_store_embedded_new(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_ACCEPT);
	for (i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_DISCONNECT);
		CU_ASSERT_STRING_EQUAL(last.rule, "limit conn_rate ip");
	}
	/* an hour later: the second slot is still free */
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t + HOUR), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t + 2 * HOUR), POL_DISCONNECT);
	CU_ASSERT_STRING_EQUAL(last.rule, "limit concurrency ip");
	st->ops->destroy(st);
}

static void test_concurrency(void)
{
	struct pol_store *st;
	struct pol_store_stats s;
	struct pol_query end = query(POL_STAGE_END, "198.18.0.1");
	uint64_t t = 10 * HOUR;

	reset();
	lim(CFG_LIMIT_CONCURRENCY, CFG_KEY_IP, 2, 0, 0);
	lim(CFG_LIMIT_CONCURRENCY, CFG_KEY_NET, 3, 0, 0);
	st = pol_store_embedded_new(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_DISCONNECT);
	CU_ASSERT_EQUAL(last.code, 421);
	CU_ASSERT_STRING_EQUAL(last.status, "4.7.0");
	CU_ASSERT_STRING_EQUAL(last.rule, "limit concurrency ip");
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.2", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.3", t), POL_DISCONNECT);
	CU_ASSERT_STRING_EQUAL(last.rule, "limit concurrency net");
	/* time does not free a session; END does */
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t + 100 * HOUR), POL_DISCONNECT);
	CU_ASSERT_EQUAL(decide(st, &end, t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.3", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_DISCONNECT);
	CU_ASSERT_STRING_EQUAL(last.rule, "limit concurrency net");
	/* END ignores skip_limits: an allowlisted-at-MAIL session did take its slots */
	end.skip_limits = 1;
	CU_ASSERT_EQUAL(decide(st, &end, t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_ACCEPT);
	/* release all: 1 x2, .2, .3 */
	CU_ASSERT_EQUAL(decide(st, &end, t), POL_ACCEPT);
	CU_ASSERT_EQUAL(decide(st, &end, t), POL_ACCEPT);
	end = query(POL_STAGE_END, "198.18.0.2");
	decide(st, &end, t);
	end = query(POL_STAGE_END, "198.18.0.3");
	decide(st, &end, t);
	pol_store_embedded_stats(st, &s);
	CU_ASSERT_EQUAL(s.buckets, 0);
	/* a spurious END never goes below zero */
	decide(st, &end, t);
	decide(st, &end, t);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.3", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.3", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.3", t), POL_DISCONNECT);
	st->ops->destroy(st);
}

static void test_skip_limits(void)
{
	struct pol_store *st;
	struct pol_query q;
	uint64_t t = 10 * HOUR;
	int i;

	reset();
	lim(CFG_LIMIT_CONN_RATE, CFG_KEY_IP, 1, HOUR, 0);
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_IP, 1, HOUR, 0);
	st = pol_store_embedded_new(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	q = query(POL_STAGE_MAIL, "198.18.0.1");
	q.skip_limits = 1;
	for (i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(decide(st, &q, t), POL_ACCEPT);
	/* and skipped requests charged nothing */
	q.skip_limits = 0;
	CU_ASSERT_EQUAL(decide(st, &q, t), POL_ACCEPT);
	CU_ASSERT_EQUAL(decide(st, &q, t), POL_TEMPFAIL);
	q.skip_limits = 1;
	CU_ASSERT_EQUAL(decide(st, &q, t), POL_ACCEPT);
	st->ops->destroy(st);
}

static void test_apply(void)
{
	struct pol_store *st;
	struct pol_store_stats s;
	uint64_t t = 10 * HOUR;
	struct cfg_limit *l;
	int i;

	reset();
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_IP, 2, HOUR, 0);
	lim(CFG_LIMIT_RCPT_RATE, CFG_KEY_IP, 2, HOUR, 0);
	lim(CFG_LIMIT_CONN_RATE, CFG_KEY_IP, 1, HOUR, 0);
	lim(CFG_LIMIT_CONCURRENCY, CFG_KEY_IP, 5, 0, 0);
	st = pol_store_embedded_new(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	for (i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(mail_at(st, "198.18.0.1", "a@example.com", t), POL_ACCEPT);
		CU_ASSERT_EQUAL(rcpt_at(st, "198.18.0.1", "r@example.net", t), POL_ACCEPT);
	}
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(mail_at(st, "198.18.0.1", "a@example.com", t), POL_TEMPFAIL);
	CU_ASSERT_EQUAL(rcpt_at(st, "198.18.0.1", "r@example.net", t), POL_TEMPFAIL);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_DISCONNECT);

	/* reload: msg_rate unchanged but a new text; rcpt_rate now 3/hour; the
	 * conn_rate rule goes; the concurrency rule moves in the list */
	reset();
	lim(CFG_LIMIT_CONCURRENCY, CFG_KEY_IP, 5, 0, 0);
	l = lim(CFG_LIMIT_MSG_RATE, CFG_KEY_IP, 2, HOUR, 2); /* burst 2 written out = default */
	strcpy(l->text, "new text");
	lim(CFG_LIMIT_RCPT_RATE, CFG_KEY_IP, 3, HOUR, 0);
	CU_ASSERT_EQUAL(st->ops->apply(st, &cfg), SL_OK);
	CU_ASSERT_EQUAL(mail_at(st, "198.18.0.1", "a@example.com", t), POL_TEMPFAIL);
	CU_ASSERT_STRING_EQUAL(last.text, "new text");
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(rcpt_at(st, "198.18.0.1", "r@example.net", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(rcpt_at(st, "198.18.0.1", "r@example.net", t), POL_TEMPFAIL);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_ACCEPT);
	/* concurrency kept its count: 1 before + 1 now, 3 more fit */
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_DISCONNECT);

	/* the buckets of dropped rules go away on tick, live ones stay */
	pol_store_embedded_stats(st, &s);
	CU_ASSERT_EQUAL(s.buckets, 5); /* old rcpt, old conn, msg, new rcpt, concurrency */
	for (i = 0; i < 1024; i++)
		st->ops->tick(st, t);
	pol_store_embedded_stats(st, &s);
	CU_ASSERT_EQUAL(s.buckets, 3);

	/* an empty config: nothing limited, nothing kept */
	reset();
	CU_ASSERT_EQUAL(st->ops->apply(st, &cfg), SL_OK);
	CU_ASSERT_EQUAL(mail_at(st, "198.18.0.1", "a@example.com", t), POL_ACCEPT);
	for (i = 0; i < 1024; i++)
		st->ops->tick(st, t);
	pol_store_embedded_stats(st, &s);
	CU_ASSERT_EQUAL(s.buckets, 0);
	st->ops->destroy(st);
}

static void test_full_table(void)
{
	struct pol_store *st;
	struct pol_store_stats s;
	uint64_t t = 10 * HOUR;
	char ip[32];
	int i;

	reset();
	lim(CFG_LIMIT_CONN_RATE, CFG_KEY_IP, 1, HOUR, 0);
	st = pol_store_embedded_new_cap(&cfg, 16);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	for (i = 0; i < 16; i++) {
		snprintf(ip, sizeof(ip), "198.18.0.%d", i + 1);
		CU_ASSERT_EQUAL(connect_at(st, ip, t), POL_ACCEPT);
	}
	pol_store_embedded_stats(st, &s);
	CU_ASSERT_EQUAL(s.buckets, 16);
	CU_ASSERT_EQUAL(s.capacity, 16);
	CU_ASSERT_EQUAL(s.full, 0);
	/* full, nothing idle: new keys pass uncounted, and that is counted */
	CU_ASSERT_EQUAL(connect_at(st, "198.18.1.1", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.1.1", t), POL_ACCEPT);
	pol_store_embedded_stats(st, &s);
	CU_ASSERT_EQUAL(s.full, 2);
	CU_ASSERT_EQUAL(s.buckets, 16);
	/* known keys are still limited */
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_DISCONNECT);
	/* an hour later every bucket is idle: room again, without a tick */
	CU_ASSERT_EQUAL(connect_at(st, "198.18.1.1", t + HOUR), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.1.1", t + HOUR), POL_DISCONNECT);
	pol_store_embedded_stats(st, &s);
	CU_ASSERT_EQUAL(s.full, 2);
	CU_ASSERT(s.reclaimed >= 1);
	CU_ASSERT(s.buckets <= 16);
	st->ops->destroy(st);
}

static void test_churn_and_clock(void)
{
	struct pol_store *st;
	struct pol_store_stats s;
	uint64_t t = 10 * HOUR;
	char ip[32];
	int i, j;

	/* many keys over time in a small table: never grows, stays correct */
	reset();
	lim(CFG_LIMIT_CONN_RATE, CFG_KEY_IP, 1, 1000, 0);
	st = pol_store_embedded_new_cap(&cfg, 256);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	for (j = 0; j < 50; j++) {
		for (i = 0; i < 200; i++) {
			snprintf(ip, sizeof(ip), "198.%d.%d.%d", 18 + (j & 1), j, i);
			CU_ASSERT_EQUAL(connect_at(st, ip, t), POL_ACCEPT);
			CU_ASSERT_EQUAL(connect_at(st, ip, t), POL_DISCONNECT);
		}
		st->ops->tick(st, t);
		t += 1000;
	}
	pol_store_embedded_stats(st, &s);
	CU_ASSERT(s.buckets <= 256);
	CU_ASSERT_EQUAL(s.full, 0);
	for (i = 0; i < 64; i++)
		st->ops->tick(st, t + 1000);
	pol_store_embedded_stats(st, &s);
	CU_ASSERT_EQUAL(s.buckets, 0);

	/* the clock going back grants nothing */
	t += 10000;
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_ACCEPT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t - 5000), POL_DISCONNECT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", 0), POL_DISCONNECT);
	/* a tick at a later time, then a step back: still nothing extra */
	st->ops->tick(st, t + 500);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t + 100), POL_DISCONNECT);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t + 1000), POL_ACCEPT);
	pol_store_embedded_stats(st, &s);
	CU_ASSERT(s.decisions > 20000);
	st->ops->destroy(st);

	/* no cfg at all: a store that limits nothing */
	st = pol_store_embedded_new(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(connect_at(st, "198.18.0.1", t), POL_ACCEPT);
	st->ops->destroy(st);
}

void register_tests(void)
{
	static const struct test_case store[] = {
		{ "conn_rate ip and net", test_conn_rate },
		{ "msg_rate sender, domain, helo", test_msg_keys },
		{ "rcpt_rate and byte_rate", test_rcpt_and_bytes },
		{ "atomic across rules", test_atomic },
		{ "concurrency take and release", test_concurrency },
		{ "skip_limits", test_skip_limits },
		{ "apply keeps counters", test_apply },
		{ "table full fails open, counted", test_full_table },
		{ "churn, tick, clock back", test_churn_and_clock },
		{ NULL, NULL },
	};
	test_suite("pol_store", store);
}
