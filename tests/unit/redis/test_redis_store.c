/* test_redis_store.c - the Redis store on an sl_evloop against a real redis-server this test starts and kills. */
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy/pol.h"
#include "redis/redis_store.h"
#include "redis_server.h"
#include "test.h"
#include "util/sl_clock.h"
#include "util/sl_evloop.h"
#include "util/sl_log.h"

#define MIN 60000ull

static struct server srv;
static bool have_redis;
static struct sl_evloop *loop;

/* ---- the store side */

static struct cfg_limit limits[8];
static struct cfg cfg;

#define NANSWER 2048
static struct pol_verdict answers[NANSWER];
static uint64_t answer_token[NANSWER];
static unsigned nanswers;

static void on_done(void *arg, uint64_t token, const struct pol_verdict *v)
{
	(void)arg;
	if (nanswers < NANSWER) {
		answers[nanswers] = *v;
		answer_token[nanswers] = token;
	}
	nanswers++;
}

static void reset(void)
{
	memset(limits, 0, sizeof(limits));
	memset(&cfg, 0, sizeof(cfg));
	cfg.limits = limits;
	nanswers = 0;
}

static struct cfg_limit *lim(enum cfg_limit_kind kind, uint64_t count, uint64_t period_ms)
{
	struct cfg_limit *l = &limits[cfg.nlimits++];

	l->kind = kind;
	l->key = CFG_KEY_IP;
	l->count = count;
	l->period_ms = period_ms;
	return l;
}

static struct redis_store_opts opts(void)
{
	struct redis_store_opts o = {
		.host = "127.0.0.1",
		.port = (uint16_t)srv.port,
		.timeout_ms = 200,
		.connect_timeout_ms = 500,
		.backoff_min_ms = 50,
		.backoff_max_ms = 300,
	};
	return o;
}

static bool store_up(struct pol_store *st)
{
	struct redis_store_stats s;

	redis_store_stats(st, &s);
	return s.up;
}

/* run the loop until *n reaches want or ms pass; true if reached */
static bool run_until(unsigned *n, unsigned want, uint64_t ms)
{
	uint64_t end = sl_clock_ms() + ms;

	while (*n < want && sl_clock_ms() < end)
		sl_evloop_run_once(loop, 5);
	return *n >= want;
}

static bool run_until_up(struct pol_store *st, uint64_t ms)
{
	uint64_t end = sl_clock_ms() + ms;

	while (!store_up(st) && sl_clock_ms() < end)
		sl_evloop_run_once(loop, 5);
	return store_up(st);
}

static void run_for(uint64_t ms)
{
	uint64_t end = sl_clock_ms() + ms;

	while (sl_clock_ms() < end)
		sl_evloop_run_once(loop, 5);
}

static struct pol_store *new_store(const struct redis_store_opts *o)
{
	struct pol_store *st = redis_store_new_opts(&cfg, loop, o);

	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_STRING_EQUAL(st->ops->name, "redis");
	CU_ASSERT(run_until_up(st, 3000));
	return st;
}

static struct pol_query query(enum pol_stage stage, const char *ip)
{
	struct pol_query q;

	memset(&q, 0, sizeof(q));
	q.stage = (uint8_t)stage;
	CU_ASSERT_FATAL(sl_addr_parse(ip, &q.client, false) == 0);
	strcpy(q.helo, "client.example");
	strcpy(q.sender, "s@example.com");
	strcpy(q.rcpt, "r@example.net");
	return q;
}

/* one decision, waited for; returns its verdict's action */
static int decide_wait(struct pol_store *st, enum pol_stage stage, const char *ip)
{
	struct pol_query q = query(stage, ip);
	unsigned before = nanswers;

	pol_store_decide(st, &q, sl_clock_ms(), 1000 + before, on_done, NULL);
	CU_ASSERT_FATAL(run_until(&nanswers, before + 1, 3000));
	CU_ASSERT_EQUAL(nanswers, before + 1); /* exactly once */
	return answers[before].action;
}

#define NEED_REDIS()                                                                   \
	do {                                                                           \
		if (!have_redis) {                                                     \
			fprintf(stderr, "SKIP: redis-server not installed\n");         \
			CU_ASSERT(getenv("CI") == NULL); /* CI installs it: fail */    \
			return;                                                        \
		}                                                                      \
		server_cmd(&srv, "FLUSHALL");                                          \
		reset();                                                               \
	} while (0)

/* ---- tests */

static void test_msg_rate(void)
{
	struct redis_store_opts o;
	struct pol_store *st;
	long long ttl;

	NEED_REDIS();
	lim(CFG_LIMIT_MSG_RATE, 5, MIN);
	o = opts();
	st = new_store(&o);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.1"), POL_ACCEPT);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.1"), POL_TEMPFAIL);
	CU_ASSERT_EQUAL(answers[nanswers - 1].code, 450);
	CU_ASSERT_STRING_EQUAL(answers[nanswers - 1].status, "4.7.1");
	CU_ASSERT_STRING_EQUAL(answers[nanswers - 1].rule, "limit msg_rate ip");
	/* another client is not charged; connect has no rule: no round trip */
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.2"), POL_ACCEPT);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_CONNECT, "198.18.0.1"), POL_ACCEPT);
	/* the documented key schema, and its TTL: the TAT is at most a minute ahead */
	ttl = server_pttl(&srv, "sluice:{ip:198.18.0.1}:msg_rate:5/60000/5");
	CU_ASSERT(ttl > 50000 && ttl <= 60001);
	st->ops->destroy(st);
}

static void test_two_nodes(void)
{
	struct redis_store_opts o;
	struct pol_store *a, *b;
	unsigned acc = 0;

	NEED_REDIS();
	lim(CFG_LIMIT_MSG_RATE, 5, MIN);
	o = opts();
	a = new_store(&o);
	b = new_store(&o);
	for (int i = 0; i < 10; i++)
		acc += decide_wait(i % 2 ? b : a, POL_STAGE_MAIL, "2001:2::7") == POL_ACCEPT;
	CU_ASSERT_EQUAL(acc, 5);
	a->ops->destroy(a);
	b->ops->destroy(b);
}

/* Clock skew between nodes: B's clock is an hour ahead, C's an hour behind
 * (the now each is handed). The scripts read Redis' TIME, so the three
 * share one limit exactly, and the refill is the server's too. */
static int decide_at(struct pol_store *st, const char *ip, int64_t skew_ms)
{
	struct pol_query q = query(POL_STAGE_MAIL, ip);
	unsigned before = nanswers;

	pol_store_decide(st, &q, (uint64_t)((int64_t)sl_clock_ms() + skew_ms), 1000 + before, on_done, NULL);
	CU_ASSERT_FATAL(run_until(&nanswers, before + 1, 3000));
	return answers[before].action;
}

static void test_clock_skew(void)
{
	struct redis_store_opts o;
	struct pol_store *st[3];
	static const int64_t skew[3] = { 0, 3600 * 1000, -3600 * 1000 };
	unsigned acc = 0;

	NEED_REDIS();
	lim(CFG_LIMIT_MSG_RATE, 6, MIN);
	o = opts();
	for (int n = 0; n < 3; n++)
		st[n] = new_store(&o);
	for (int i = 0; i < 12; i++)
		acc += decide_at(st[i % 3], "198.18.0.77", skew[i % 3]) == POL_ACCEPT;
	CU_ASSERT_EQUAL(acc, 6);   /* not 6 per node, nor a refill from B's hour ahead */
	/* a fresh key on the node an hour behind alone: its full burst, no more */
	acc = 0;
	for (int i = 0; i < 7; i++)
		acc += decide_at(st[2], "198.18.0.78", skew[2]) == POL_ACCEPT;
	CU_ASSERT_EQUAL(acc, 6);   /* C's clock an hour behind does not hold back the burst */
	for (int n = 0; n < 3; n++)
		st[n]->ops->destroy(st[n]);
}

static void test_concurrency(void)
{
	struct redis_store_opts o;
	struct pol_store *a, *b;

	NEED_REDIS();
	lim(CFG_LIMIT_CONCURRENCY, 2, 0);
	o = opts();
	a = new_store(&o);
	b = new_store(&o);
	CU_ASSERT_EQUAL(decide_wait(a, POL_STAGE_CONNECT, "198.18.0.9"), POL_ACCEPT);
	CU_ASSERT_EQUAL(decide_wait(b, POL_STAGE_CONNECT, "198.18.0.9"), POL_ACCEPT);
	CU_ASSERT_EQUAL(decide_wait(a, POL_STAGE_CONNECT, "198.18.0.9"), POL_DISCONNECT);
	CU_ASSERT_EQUAL(answers[nanswers - 1].code, 421);
	CU_ASSERT_STRING_EQUAL(answers[nanswers - 1].status, "4.7.0");
	CU_ASSERT_EQUAL(decide_wait(b, POL_STAGE_CONNECT, "198.18.0.10"), POL_ACCEPT);
	/* END on b frees b's slot: a may take it */
	CU_ASSERT_EQUAL(decide_wait(b, POL_STAGE_END, "198.18.0.9"), POL_ACCEPT);
	run_for(50); /* the ZREM is fire and forget */
	CU_ASSERT_EQUAL(decide_wait(a, POL_STAGE_CONNECT, "198.18.0.9"), POL_ACCEPT);
	CU_ASSERT_EQUAL(decide_wait(b, POL_STAGE_CONNECT, "198.18.0.9"), POL_DISCONNECT);
	/* an END without a lease here (a fail-open CONNECT) takes nothing away */
	CU_ASSERT_EQUAL(decide_wait(b, POL_STAGE_END, "198.18.0.9"), POL_ACCEPT);
	run_for(50);
	CU_ASSERT_EQUAL(decide_wait(b, POL_STAGE_CONNECT, "198.18.0.9"), POL_DISCONNECT);
	CU_ASSERT(server_pttl(&srv, "sluice:{ip:198.18.0.9}:concurrency:2") > 0);
	a->ops->destroy(a);
	b->ops->destroy(b);
}

static void test_lease_expiry(void)
{
	struct redis_store_opts o;
	struct pol_store *a, *b, *c;

	NEED_REDIS();
	lim(CFG_LIMIT_CONCURRENCY, 1, 0);
	o = opts();
	o.lease_ms = 600;
	a = new_store(&o);
	b = new_store(&o);
	c = new_store(&o);
	/* a live node keeps its slot past several lease times by refreshing */
	CU_ASSERT_EQUAL(decide_wait(c, POL_STAGE_CONNECT, "198.18.0.30"), POL_ACCEPT);
	run_for(1500);
	CU_ASSERT_EQUAL(decide_wait(b, POL_STAGE_CONNECT, "198.18.0.30"), POL_DISCONNECT);
	/* a crashed node (no END, no refresh) frees its slot after one lease */
	CU_ASSERT_EQUAL(decide_wait(a, POL_STAGE_CONNECT, "198.18.0.31"), POL_ACCEPT);
	a->ops->destroy(a);
	CU_ASSERT_EQUAL(decide_wait(b, POL_STAGE_CONNECT, "198.18.0.31"), POL_DISCONNECT);
	run_for(800);
	CU_ASSERT_EQUAL(decide_wait(b, POL_STAGE_CONNECT, "198.18.0.31"), POL_ACCEPT);
	b->ops->destroy(b);
	c->ops->destroy(c);
}

/* fail open passes, fail closed gives 451 4.7.0 (421 at connect), never 5xx */
static void check_fail_modes(struct pol_store *st, uint64_t max_ms)
{
	uint64_t t0;

	t0 = sl_clock_ms();
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.40"), POL_ACCEPT);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_RCPT, "198.18.0.40"), POL_TEMPFAIL);
	CU_ASSERT_EQUAL(answers[nanswers - 1].code, 451);
	CU_ASSERT_STRING_EQUAL(answers[nanswers - 1].status, "4.7.0");
	CU_ASSERT_STRING_EQUAL(answers[nanswers - 1].rule, "limit rcpt_rate ip");
	if (sl_clock_ms() - t0 > max_ms)
		fprintf(stderr, "fail modes took %llu ms (max %llu)\n", (unsigned long long)(sl_clock_ms() - t0), (unsigned long long)max_ms);
	CU_ASSERT(sl_clock_ms() - t0 <= max_ms);
}

static void test_redis_down(void)
{
	struct redis_store_opts o;
	struct pol_store *st;
	struct redis_store_stats s;
	uint64_t t0;
	unsigned before;

	NEED_REDIS();
	lim(CFG_LIMIT_MSG_RATE, 1000, MIN);
	lim(CFG_LIMIT_RCPT_RATE, 1000, MIN)->fail_closed = true;
	o = opts();
	st = new_store(&o);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_RCPT, "198.18.0.40"), POL_ACCEPT);

	/* hung: SIGSTOP; every decision is answered by its timeout */
	server_kill(&srv, SIGSTOP);
	check_fail_modes(st, 2 * (o.timeout_ms + 50));
	redis_store_stats(st, &s);
	CU_ASSERT(s.timeouts >= 2);
	/* a batch of decisions in flight at once: all answered by one timeout */
	before = nanswers;
	t0 = sl_clock_ms();
	for (int i = 0; i < 50; i++) {
		struct pol_query q = query(POL_STAGE_RCPT, "198.18.0.41");
		pol_store_decide(st, &q, sl_clock_ms(), (uint64_t)i, on_done, NULL);
	}
	CU_ASSERT(run_until(&nanswers, before + 50, 2000));
	CU_ASSERT(sl_clock_ms() - t0 <= o.timeout_ms + 100);
	CU_ASSERT_EQUAL(answers[before + 49].code, 451);
	kill(srv.pid, SIGCONT);
	run_for(100);

	/* killed: the connection drops, the store is down, answers at once */
	server_kill(&srv, SIGKILL);
	check_fail_modes(st, 2 * (o.timeout_ms + 50));
	run_for(200);
	check_fail_modes(st, 100); /* down: at once, no timeout to wait for */
	CU_ASSERT(!store_up(st));

	/* restarted: the store reconnects by itself and decides again */
	CU_ASSERT_FATAL(server_start(&srv));
	CU_ASSERT(run_until_up(st, 3000));
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_RCPT, "198.18.0.40"), POL_ACCEPT);
	redis_store_stats(st, &s);
	CU_ASSERT(s.connects >= 2);
	st->ops->destroy(st);
}

/* a CONNECT answered by its timeout (fail open) whose reply comes late:
 * the lease the script took goes back, none stays refreshed for ever */
static void test_late_reply(void)
{
	struct redis_store_opts o;
	struct redis_store_stats s;
	struct pol_store *st;
	redisContext *c;
	redisReply *r;

	NEED_REDIS();
	lim(CFG_LIMIT_CONCURRENCY, 3, 0);
	o = opts();
	st = new_store(&o);
	server_kill(&srv, SIGSTOP);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_CONNECT, "198.18.0.45"), POL_ACCEPT);
	redis_store_stats(st, &s);
	CU_ASSERT_EQUAL(s.timeouts, 1);
	kill(srv.pid, SIGCONT);
	run_for(300);
	redis_store_stats(st, &s);
	CU_ASSERT_EQUAL(s.leases, 0);
	c = server_client(&srv);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	r = redisCommand(c, "ZCARD sluice:{ip:198.18.0.45}:concurrency:3");
	CU_ASSERT(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 0);
	freeReplyObject(r);
	redisFree(c);
	st->ops->destroy(st);
}

/* destroy answers what is in flight, with the fail mode */
static void test_destroy_pending(void)
{
	struct redis_store_opts o;
	struct pol_store *st;
	struct pol_query q;

	NEED_REDIS();
	lim(CFG_LIMIT_RCPT_RATE, 1000, MIN)->fail_closed = true;
	o = opts();
	st = new_store(&o);
	q = query(POL_STAGE_RCPT, "198.18.0.50");
	server_kill(&srv, SIGSTOP);
	pol_store_decide(st, &q, sl_clock_ms(), 5, on_done, NULL);
	pol_store_decide(st, &q, sl_clock_ms(), 6, on_done, NULL);
	run_for(20);
	CU_ASSERT_EQUAL(nanswers, 0);
	st->ops->destroy(st);
	CU_ASSERT_EQUAL(nanswers, 2);
	CU_ASSERT_EQUAL(answers[0].code, 451);
	CU_ASSERT_EQUAL(answer_token[1], 6);
	kill(srv.pid, SIGCONT);
}

static void test_noscript(void)
{
	struct redis_store_opts o;
	struct pol_store *st;
	struct redis_store_stats s;

	NEED_REDIS();
	lim(CFG_LIMIT_MSG_RATE, 3, MIN)->fail_closed = true;
	o = opts();
	st = new_store(&o);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.60"), POL_ACCEPT);
	server_cmd(&srv, "SCRIPT FLUSH");
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.60"), POL_ACCEPT);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.60"), POL_ACCEPT);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.60"), POL_TEMPFAIL);
	CU_ASSERT_EQUAL(answers[nanswers - 1].code, 450); /* decided, not failed closed */
	redis_store_stats(st, &s);
	CU_ASSERT(s.noscript >= 1);
	CU_ASSERT_EQUAL(s.failed, 0);
	st->ops->destroy(st);
}

static void test_pipeline(void)
{
	struct redis_store_opts o;
	struct pol_store *st;
	struct redis_store_stats s;
	unsigned acc = 0;
	bool ordered = true;
	uint64_t writes0;

	NEED_REDIS();
	lim(CFG_LIMIT_MSG_RATE, 500, MIN);
	lim(CFG_LIMIT_RCPT_RATE, 100000, MIN);
	o = opts();
	o.timeout_ms = 5000; /* this is about order and batching, not speed */
	st = new_store(&o);
	redis_store_stats(st, &s);
	writes0 = s.writes;
	for (unsigned i = 0; i < 1000; i++) {
		struct pol_query q = query(POL_STAGE_MAIL, "198.18.0.70");
		pol_store_decide(st, &q, sl_clock_ms(), i, on_done, NULL);
	}
	CU_ASSERT(run_until(&nanswers, 1000, 10000));
	for (unsigned i = 0; i < 1000 && i < nanswers; i++) {
		ordered = ordered && answer_token[i] == i;
		acc += answers[i].action == POL_ACCEPT;
		/* the first 500 pass, the rest are over: GCRA in arrival order */
		if ((i < 500) != (answers[i].action == POL_ACCEPT))
			ordered = false;
	}
	CU_ASSERT(ordered);
	CU_ASSERT_EQUAL(acc, 500);
	redis_store_stats(st, &s);
	CU_ASSERT_EQUAL(s.round_trips, 1000);
	CU_ASSERT(s.batches <= 3); /* sent in one loop turn */
	fprintf(stderr, "[1000 decisions: %llu loop turn(s), %llu write(s)] ", (unsigned long long)s.batches, (unsigned long long)(s.writes - writes0));
	CU_ASSERT(s.writes - writes0 <= 20); /* in a few writes (socket buffer), not 1000 */
	CU_ASSERT_EQUAL(s.failed, 0);
	st->ops->destroy(st);
}

static void test_unix_auth_db(void)
{
	struct server s2 = { .password = "s3cret" };
	struct redis_store_opts o;
	struct pol_store *st;
	redisContext *c;
	redisReply *r;

	NEED_REDIS();
	CU_ASSERT_FATAL(server_start(&s2));
	lim(CFG_LIMIT_MSG_RATE, 2, MIN);
	o = opts();
	o.host = NULL;
	o.path = s2.sock;
	o.password = "s3cret";
	o.db = 3;
	o.prefix = "gw:";
	st = new_store(&o);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.80"), POL_ACCEPT);
	c = server_client(&s2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	r = redisCommand(c, "SELECT 3");
	freeReplyObject(r);
	r = redisCommand(c, "EXISTS gw:{ip:198.18.0.80}:msg_rate:2/60000/2");
	CU_ASSERT(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
	freeReplyObject(r);
	redisFree(c);
	st->ops->destroy(st);

	/* a wrong password: never up, every decision gets the fail mode, none hangs */
	reset();
	lim(CFG_LIMIT_MSG_RATE, 2, MIN)->fail_closed = true;
	o.password = "wrong";
	st = redis_store_new_opts(&cfg, loop, &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	run_for(300);
	CU_ASSERT(!store_up(st));
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.80"), POL_TEMPFAIL);
	CU_ASSERT_EQUAL(answers[nanswers - 1].code, 451);
	st->ops->destroy(st);
	server_cleanup(&s2);
}

static void test_no_server(void)
{
	struct redis_store_opts o;
	struct pol_store *st;
	uint64_t t0;

	reset();
	lim(CFG_LIMIT_CONN_RATE, 2, MIN)->fail_closed = true;
	lim(CFG_LIMIT_MSG_RATE, 2, MIN);
	o = opts();
	o.port = (uint16_t)pick_port(); /* nobody listens */
	st = redis_store_new_opts(&cfg, loop, &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	t0 = sl_clock_ms();
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_CONNECT, "198.18.0.90"), POL_DISCONNECT);
	CU_ASSERT_EQUAL(answers[nanswers - 1].code, 421);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.90"), POL_ACCEPT);
	CU_ASSERT(sl_clock_ms() - t0 < 1000);
	run_for(500); /* a few reconnects with backoff, no crash */
	st->ops->destroy(st);
}

/* reload: counters of rules that stay are kept, changed rates start afresh,
 * leases of a concurrency rule that went away are no longer refreshed */
static void test_apply(void)
{
	struct redis_store_opts o;
	struct redis_store_stats s;
	struct pol_store *st;

	NEED_REDIS();
	lim(CFG_LIMIT_MSG_RATE, 2, MIN);
	lim(CFG_LIMIT_CONCURRENCY, 1, 0);
	o = opts();
	st = new_store(&o);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.97"), POL_ACCEPT);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.97"), POL_ACCEPT);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.97"), POL_TEMPFAIL);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_CONNECT, "198.18.0.97"), POL_ACCEPT);
	redis_store_stats(st, &s);
	CU_ASSERT_EQUAL(s.leases, 1);

	strcpy(limits[0].text, "slow down"); /* same counter: kept */
	limits[1].count = 5;                  /* another counter: its leases are let go */
	CU_ASSERT_EQUAL(st->ops->apply(st, &cfg), SL_OK);
	redis_store_stats(st, &s);
	CU_ASSERT_EQUAL(s.leases, 0);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.97"), POL_TEMPFAIL);
	CU_ASSERT_STRING_EQUAL(answers[nanswers - 1].text, "slow down");

	limits[0].count = 3;                  /* a new rate: new counters */
	CU_ASSERT_EQUAL(st->ops->apply(st, &cfg), SL_OK);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.97"), POL_ACCEPT);
	st->ops->destroy(st);
}

/* two rules with the very same counter keep two counters, as embedded does */
static void test_duplicate_rules(void)
{
	struct redis_store_opts o;
	struct pol_store *st;

	NEED_REDIS();
	lim(CFG_LIMIT_MSG_RATE, 2, MIN);
	lim(CFG_LIMIT_MSG_RATE, 2, MIN);
	o = opts();
	st = new_store(&o);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.98"), POL_ACCEPT);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.98"), POL_ACCEPT);
	CU_ASSERT_EQUAL(decide_wait(st, POL_STAGE_MAIL, "198.18.0.98"), POL_TEMPFAIL);
	CU_ASSERT(server_pttl(&srv, "sluice:{ip:198.18.0.98}:msg_rate:2/60000/2") > 0);
	CU_ASSERT(server_pttl(&srv, "sluice:{ip:198.18.0.98}:msg_rate:2/60000/2#2") > 0);
	st->ops->destroy(st);
}

/* the glue from the config file: policy redis ADDR prefix ... lease ... */
static void test_from_config(void)
{
	char text[512], err[256];
	struct cfg *c;
	struct pol_store *st;
	struct pol_query q;

	NEED_REDIS();
	snprintf(text, sizeof(text),
		 "hostname mx.example.net\nrelay_domains example.net\nbackend b1 127.0.0.1:2526\n"
		 "policy redis 127.0.0.1:%d prefix t1: timeout 500ms lease 1s\n"
		 "limit msg_rate ip 1/hour fail closed\n", srv.port);
	c = cfg_parse_string("t.conf", text, strlen(text), err, sizeof(err));
	if (c == NULL)
		fprintf(stderr, "%s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	st = redis_store_new(c, loop);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT(run_until_up(st, 3000));
	q = query(POL_STAGE_MAIL, "198.18.0.95");
	pol_store_decide(st, &q, sl_clock_ms(), 1, on_done, NULL);
	pol_store_decide(st, &q, sl_clock_ms(), 2, on_done, NULL);
	CU_ASSERT(run_until(&nanswers, 2, 3000));
	CU_ASSERT_EQUAL(answers[0].action, POL_ACCEPT);
	CU_ASSERT_EQUAL(answers[1].code, 450);
	CU_ASSERT(server_pttl(&srv, "t1:{ip:198.18.0.95}:msg_rate:1/3600000/1") > 3500000);
	st->ops->destroy(st);
	cfg_unref(c);
}

static const struct test_case cases[] = {
	{ "msg_rate admits N, then 450 4.7.1", test_msg_rate },
	{ "two nodes share the counters", test_two_nodes },
	{ "three nodes with skewed clocks share one limit (the server's TIME)", test_clock_skew },
	{ "concurrency across nodes, END releases", test_concurrency },
	{ "leases: refreshed while alive, expire after a crash", test_lease_expiry },
	{ "Redis hung, killed, restarted: fail modes, reconnect", test_redis_down },
	{ "a late reply after the timeout gives its lease back", test_late_reply },
	{ "destroy answers requests in flight", test_destroy_pending },
	{ "NOSCRIPT after SCRIPT FLUSH: reload and retry", test_noscript },
	{ "1000 decisions pipelined, answered in order", test_pipeline },
	{ "unix socket, AUTH, SELECT, prefix; wrong password", test_unix_auth_db },
	{ "no server at all: fail modes at once", test_no_server },
	{ "from the config: policy redis ADDR prefix timeout lease", test_from_config },
	{ "apply: kept, new and dropped counters", test_apply },
	{ "two equal rules: two counters", test_duplicate_rules },
	{ NULL, NULL },
};

static void cleanup_at_exit(void)
{
	server_cleanup(&srv);
	if (loop != NULL)
		sl_evloop_free(loop);
}

void register_tests(void)
{
	signal(SIGPIPE, SIG_IGN);
	sl_log_set_level(SL_LOG_ERR);
	loop = sl_evloop_new();
	if (loop == NULL)
		exit(2);
	have_redis = server_start(&srv);
	if (!have_redis)
		fprintf(stderr, "SKIP: cannot start redis-server (is it installed? deploy/setup.sh does it)\n");
	atexit(cleanup_at_exit);
	test_suite("redis_store", cases);
}
