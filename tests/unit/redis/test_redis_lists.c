/* test_redis_lists.c - the lists mirror on an sl_evloop against a real redis-server this test
 * starts, kills and restarts: write-through, messages between two nodes, resync, versions,
 * Redis down and back (from nothing), NOSCRIPT, bad values. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "ctlsock/ctl_lists.h"
#include "redis/redis_lists.h"
#include "redis_server.h"
#include "test.h"
#include "util/sl_clock.h"
#include "util/sl_evloop.h"
#include "util/sl_log.h"

static struct server srv;
static bool have_redis;
static struct sl_evloop *loop;
static unsigned changes;

#define HASH "sluice:{lists}:block:ip"

static void on_changed(void *arg)
{
	(void)arg;
	changes++;
}

static struct redis_lists *node(struct ctl_lists *l, uint32_t resync_ms)
{
	struct redis_lists_opts o = { .host = "127.0.0.1", .port = (uint16_t)srv.port, .resync_ms = resync_ms,
				      .backoff_min_ms = 20, .backoff_max_ms = 200, .scan_count = 100 };
	struct redis_lists *rl = redis_lists_new_opts(loop, l, &o, on_changed, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	return rl;
}

static bool settled(struct redis_lists *rl)
{
	struct redis_lists_stats st;

	redis_lists_stats(rl, &st);
	return st.up && !st.resyncing && st.pending == 0 && st.inflight == 0 && st.resyncs > 0;
}

/* run the loop until cond or ms; true when cond held */
#define RUN_UNTIL(cond, ms)                                                 \
	({                                                                   \
		uint64_t t_end_ = sl_clock_ms() + (ms);                      \
		while (!(cond) && sl_clock_ms() < t_end_)                    \
			sl_evloop_run_once(loop, 5);                         \
		(cond);                                                      \
	})

static struct cfg_list_entry ip(const char *v, bool allow, const char *reason)
{
	struct cfg_list_entry e;
	char err[160];

	CU_ASSERT_EQUAL(ctl_lists_parse_value(CFG_LIST_IP, v, &e, err, sizeof(err)), SL_OK);
	e.allow = allow;
	snprintf(e.reason, sizeof(e.reason), "%s", reason ? reason : "");
	return e;
}

static bool has(struct ctl_lists *l, const char *v, bool allow)
{
	struct cfg_list_entry e = ip(v, allow, NULL);
	struct ctl_list_entry *x = ctl_lists_find(l, &e);

	return x != NULL && ctl_lists_live(x);
}

/* what Redis' reply to cmd is, as a string ("" for nil or not a string) */
static void redis_str(const char *cmd, char *out, size_t len)
{
	redisContext *c = server_client(&srv);
	redisReply *r;

	out[0] = '\0';
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	r = redisCommand(c, cmd);
	if (r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
		snprintf(out, len, "%s", r->str);
	else if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		snprintf(out, len, "%lld", r->integer);
	if (r != NULL)
		freeReplyObject(r);
	redisFree(c);
}

static void local_add(struct ctl_lists *l, struct redis_lists *rl, struct cfg_list_entry *e, uint64_t ttl_ms)
{
	CU_ASSERT(ctl_lists_add(l, e, ttl_ms ? sl_clock_ms() + ttl_ms : 0) != SL_ERROR);
	redis_lists_write(rl, e);
}

#define NEED_REDIS()                                                                   \
	do {                                                                           \
		if (!have_redis) {                                                     \
			fprintf(stderr, "\n  redis-server not available: failing\n"); \
			CU_FAIL("redis-server not available");                        \
			return;                                                        \
		}                                                                      \
		server_cmd(&srv, "FLUSHALL");                                          \
	} while (0)

/* A's add reaches Redis with its reason and TTL, and B by a message. */
static void test_write_and_message(void)
{
	struct ctl_lists la = { 0 }, lb = { 0 };
	struct redis_lists *a, *b;
	struct cfg_list_entry e = ip("198.18.1.0/24", false, "spam run");
	struct ctl_list_entry *xa, *xb;
	char v[256];
	uint64_t exp;

	NEED_REDIS();
	a = node(&la, 3600000);
	b = node(&lb, 3600000);
	CU_ASSERT_FATAL(RUN_UNTIL(settled(a) && settled(b), 5000));
	local_add(&la, a, &e, 60000);
	CU_ASSERT(RUN_UNTIL(has(&lb, "198.18.1.0/24", false) && settled(a), 2000));
	redis_str("HGET " HASH " 198.18.1.0/24", v, sizeof(v));
	CU_ASSERT_PTR_NOT_NULL(strstr(v, "|spam run"));
	exp = strtoull(v, NULL, 10);
	{
		struct timeval tv;
		gettimeofday(&tv, NULL);
		uint64_t now = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
		CU_ASSERT(exp > now + 55000 && exp < now + 61000); /* Redis' clock */
	}
	redis_str("ZSCORE " HASH ":expiry 198.18.1.0/24", v, sizeof(v));
	CU_ASSERT_EQUAL(strtoull(v, NULL, 10), exp);
	xa = ctl_lists_find(&la, &e);
	xb = ctl_lists_find(&lb, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xa);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xb);
	CU_ASSERT_STRING_EQUAL(ctl_lists_reason(&lb, xb), "spam run");
	/* B's expiry, from Redis' clock to its own: the same moment within a second */
	CU_ASSERT(xb->expires_ms + 1000 > xa->expires_ms && xb->expires_ms < xa->expires_ms + 1000);
	CU_ASSERT(xa->version > 0 && xa->version == xb->version);
	CU_ASSERT(!(xa->flags & CTL_E_DIRTY));

	/* deleted on A: gone on B, gone in Redis, and A keeps no tombstone */
	CU_ASSERT_EQUAL(ctl_lists_del(&la, &e), SL_OK);
	CU_ASSERT_EQUAL(la.nent, 1); /* the tombstone until Redis has it */
	redis_lists_write(a, &e);
	CU_ASSERT(RUN_UNTIL(!has(&lb, "198.18.1.0/24", false) && settled(a), 2000));
	CU_ASSERT_EQUAL(la.nent, 0);
	redis_str("HEXISTS " HASH " 198.18.1.0/24", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "0");
	redis_str("ZSCORE " HASH ":expiry 198.18.1.0/24", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "");
	redis_lists_free(a);
	redis_lists_free(b);
	ctl_lists_free(&la);
	ctl_lists_free(&lb);
}

/* A resync makes the mirror equal to Redis: written and removed by hand,
 * without messages; values that are no entries are skipped. */
static void test_resync(void)
{
	struct ctl_lists l = { 0 };
	struct redis_lists *rl;
	struct redis_lists_stats st;
	uint64_t n;

	NEED_REDIS();
	server_cmd(&srv, "HSET " HASH " 198.18.2.1/32 0|first");
	server_cmd(&srv, "HSET " HASH " 198.18.2.2/32 0|second");
	server_cmd(&srv, "HSET " HASH " not-an-address 0|junk");
	server_cmd(&srv, "HSET sluice:{lists}:allow:sender postmaster@example.net whatever");
	rl = node(&l, 3600000);
	CU_ASSERT_FATAL(RUN_UNTIL(settled(rl), 5000));
	CU_ASSERT(has(&l, "198.18.2.1/32", false));
	CU_ASSERT(has(&l, "198.18.2.2/32", false));
	CU_ASSERT_EQUAL(ctl_lists_count(&l, CFG_LIST_SENDER, true), 1);
	redis_lists_stats(rl, &st);
	CU_ASSERT(st.bad_values >= 1); /* once per resync that met it */
	CU_ASSERT_EQUAL(l.n, 3);
	server_cmd(&srv, "HDEL " HASH " 198.18.2.1/32");
	server_cmd(&srv, "HSET " HASH " 198.18.2.3/32 0|third");
	server_cmd(&srv, "HSET " HASH " 198.18.2.2/32 0|second,new-reason");
	n = st.resyncs;
	redis_lists_resync(rl);
	CU_ASSERT(RUN_UNTIL((redis_lists_stats(rl, &st), st.resyncs > n && !st.resyncing), 3000));
	CU_ASSERT(!has(&l, "198.18.2.1/32", false));
	CU_ASSERT(has(&l, "198.18.2.3/32", false));
	{
		struct cfg_list_entry e = ip("198.18.2.2/32", false, NULL);
		struct ctl_list_entry *x = ctl_lists_find(&l, &e);
		CU_ASSERT_PTR_NOT_NULL_FATAL(x);
		CU_ASSERT_STRING_EQUAL(ctl_lists_reason(&l, x), "second,new-reason");
	}
	/* an expired entry in Redis is not taken, and the next resync drops it there */
	server_cmd(&srv, "HSET " HASH " 198.18.2.4/32 1000|long gone");
	server_cmd(&srv, "ZADD " HASH ":expiry 1000 198.18.2.4/32");
	n = st.resyncs;
	redis_lists_resync(rl);
	CU_ASSERT(RUN_UNTIL((redis_lists_stats(rl, &st), st.resyncs > n && !st.resyncing), 3000));
	CU_ASSERT(!has(&l, "198.18.2.4/32", false));
	{
		char v[16];
		redis_str("HEXISTS " HASH " 198.18.2.4/32", v, sizeof(v));
		CU_ASSERT_STRING_EQUAL(v, "0");
	}
	redis_lists_free(rl);
	ctl_lists_free(&l);
}

/* Messages carry versions: an old one, or one for an entry with a change
 * of ours on its way, is ignored; a gap asks for a resync. */
static void test_versions(void)
{
	struct ctl_lists l = { 0 };
	struct redis_lists *rl;
	struct redis_lists_stats st;
	char cmd[256];
	uint64_t n;

	NEED_REDIS();
	rl = node(&l, 3600000);
	CU_ASSERT_FATAL(RUN_UNTIL(settled(rl), 5000));
	/* messages as a writer sends them: the counter first */
	server_cmd(&srv, "INCR sluice:{lists}:version");
	redis_lists_stats(rl, &st);
	snprintf(cmd, sizeof(cmd), "PUBLISH sluice:{lists}:changes %" PRIu64 "\tadd\tblock\tip\t198.18.3.1/32\t0|m1",
		 st.version + 1);
	server_cmd(&srv, cmd);
	CU_ASSERT(RUN_UNTIL(has(&l, "198.18.3.1/32", false), 2000));
	/* an older one for the same entry: ignored */
	snprintf(cmd, sizeof(cmd), "PUBLISH sluice:{lists}:changes %" PRIu64 "\tdel\tblock\tip\t198.18.3.1/32",
		 st.version);
	server_cmd(&srv, cmd);
	CU_ASSERT(RUN_UNTIL((redis_lists_stats(rl, &st), st.messages_ignored >= 1), 2000));
	CU_ASSERT(has(&l, "198.18.3.1/32", false));
	/* far ahead: a gap (messages were missed), so a resync, which finds
	 * that Redis has neither entry (they only were in messages) */
	n = st.resyncs;
	server_cmd(&srv, "INCRBY sluice:{lists}:version 10");
	snprintf(cmd, sizeof(cmd), "PUBLISH sluice:{lists}:changes %" PRIu64 "\tadd\tblock\tip\t198.18.3.2/32\t0|m2",
		 st.version + 10);
	server_cmd(&srv, cmd);
	CU_ASSERT(RUN_UNTIL((redis_lists_stats(rl, &st), st.gaps == 1 && st.resyncs > n && !st.resyncing), 3000));
	CU_ASSERT(!has(&l, "198.18.3.2/32", false));
	CU_ASSERT(!has(&l, "198.18.3.1/32", false));
	CU_ASSERT_EQUAL(st.reseeds, 0);
	/* nonsense on the channel is counted, nothing else */
	server_cmd(&srv, "PUBLISH sluice:{lists}:changes garbage");
	CU_ASSERT(RUN_UNTIL((redis_lists_stats(rl, &st), st.bad_values >= 1), 2000));
	redis_lists_free(rl);
	ctl_lists_free(&l);
}

/* Redis down: local changes wait, DIRTY (a delete as a tombstone); Redis
 * back with nothing (killed, no dump): every node writes its mirror back. */
static void test_down_and_empty_restart(void)
{
	struct ctl_lists la = { 0 }, lb = { 0 };
	struct redis_lists *a, *b;
	struct redis_lists_stats st;
	struct cfg_list_entry e1 = ip("198.18.4.1/32", false, "before"), e2 = ip("198.18.4.2/32", false, "while down"),
			      e3 = ip("198.18.4.3/32", true, "from b");
	char v[64];

	NEED_REDIS();
	a = node(&la, 3600000);
	b = node(&lb, 3600000);
	CU_ASSERT_FATAL(RUN_UNTIL(settled(a) && settled(b), 5000));
	local_add(&la, a, &e1, 0);
	local_add(&lb, b, &e3, 0);
	CU_ASSERT_FATAL(RUN_UNTIL(has(&lb, "198.18.4.1/32", false) && has(&la, "198.18.4.3/32", true), 2000));
	server_kill(&srv, SIGKILL);
	RUN_UNTIL((redis_lists_stats(a, &st), !st.up), 2000);
	CU_ASSERT_EQUAL(ctl_lists_add(&la, &e2, 0), SL_OK);
	CU_ASSERT_EQUAL(redis_lists_write(a, &e2), SL_DECLINED);
	CU_ASSERT_EQUAL(ctl_lists_del(&la, &e1), SL_OK);
	CU_ASSERT_EQUAL(redis_lists_write(a, &e1), SL_DECLINED);
	redis_lists_stats(a, &st);
	CU_ASSERT_EQUAL(st.pending, 2);
	/* the mirrors keep what they had */
	CU_ASSERT(has(&lb, "198.18.4.1/32", false));
	CU_ASSERT_FATAL(server_start(&srv)); /* no dump: empty */
	CU_ASSERT(RUN_UNTIL(settled(a) && settled(b) && has(&lb, "198.18.4.2/32", false) &&
			    !has(&lb, "198.18.4.1/32", false), 8000));
	redis_lists_stats(a, &st);
	CU_ASSERT(st.reseeds >= 1);
	/* Redis has what the nodes had: A's change, B's own entry */
	redis_str("HGET " HASH " 198.18.4.2/32", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "0|while down");
	CU_ASSERT(RUN_UNTIL((redis_str("HGET sluice:{lists}:allow:ip 198.18.4.3/32", v, sizeof(v)),
			     strcmp(v, "0|from b") == 0), 3000));
	redis_str("HEXISTS " HASH " 198.18.4.1/32", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "0");
	CU_ASSERT(has(&la, "198.18.4.3/32", true));
	CU_ASSERT_EQUAL(la.nent, la.n); /* no tombstone left */
	redis_lists_free(a);
	redis_lists_free(b);
	ctl_lists_free(&la);
	ctl_lists_free(&lb);
}

/* SCRIPT FLUSH: the write that meets NOSCRIPT is kept, the connection comes
 * back with the scripts, and the write lands. */
static void test_noscript(void)
{
	struct ctl_lists l = { 0 };
	struct redis_lists *rl;
	struct cfg_list_entry e = ip("198.18.5.1/32", false, "after flush");
	char v[64];

	NEED_REDIS();
	rl = node(&l, 3600000);
	CU_ASSERT_FATAL(RUN_UNTIL(settled(rl), 5000));
	server_cmd(&srv, "SCRIPT FLUSH");
	local_add(&l, rl, &e, 0);
	CU_ASSERT(RUN_UNTIL((redis_str("HGET " HASH " 198.18.5.1/32", v, sizeof(v)), strcmp(v, "0|after flush") == 0),
			    5000));
	CU_ASSERT(RUN_UNTIL(settled(rl), 3000));
	redis_lists_free(rl);
	ctl_lists_free(&l);
}

/* Many entries: write-through in a bounded window, messages to a second
 * node, and a third node's resync in HSCAN batches of 100. */
static void test_many(void)
{
	enum { N = 20000 };
	struct ctl_lists la = { 0 }, lb = { 0 }, lc = { 0 };
	struct redis_lists *a, *b, *c;
	struct redis_lists_stats st;
	char v[64];
	uint64_t t0;

	NEED_REDIS();
	a = node(&la, 3600000);
	b = node(&lb, 3600000);
	CU_ASSERT_FATAL(RUN_UNTIL(settled(a) && settled(b), 5000));
	t0 = sl_clock_ms();
	for (unsigned i = 0; i < N; i++) {
		char addr[32];
		struct cfg_list_entry e;
		snprintf(addr, sizeof(addr), "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
		e = ip(addr, false, i % 2 ? "odd" : "even");
		local_add(&la, a, &e, 0);
	}
	redis_lists_stats(a, &st);
	CU_ASSERT(st.inflight <= REDIS_LISTS_WRITES_MAX);
	CU_ASSERT(RUN_UNTIL(settled(a) && lb.n == N, 30000));
	printf("\n  %u entries written through and mirrored by messages: %" PRIu64 " ms\n", N, sl_clock_ms() - t0);
	redis_str("HLEN " HASH, v, sizeof(v));
	CU_ASSERT_EQUAL(atoi(v), N);
	CU_ASSERT_EQUAL(lb.nreasons, 2);
	t0 = sl_clock_ms();
	c = node(&lc, 3600000);
	CU_ASSERT(RUN_UNTIL(settled(c) && lc.n == N, 30000));
	printf("  a third node's resync of %u entries (HSCAN COUNT 100): %" PRIu64 " ms\n", N, sl_clock_ms() - t0);
	redis_lists_free(a);
	redis_lists_free(b);
	redis_lists_free(c);
	ctl_lists_free(&la);
	ctl_lists_free(&lb);
	ctl_lists_free(&lc);
}

/* Entries made before the mirror (embedded store, another Redis) are
 * written at the first connect; after free() they stay as local ones. */
static void test_attach_detach(void)
{
	struct ctl_lists l = { 0 };
	struct redis_lists *rl;
	struct cfg_list_entry e = ip("198.18.6.1/32", false, "local first");
	char v[64];

	NEED_REDIS();
	CU_ASSERT_EQUAL(ctl_lists_add(&l, &e, 0), SL_OK);
	rl = node(&l, 3600000);
	CU_ASSERT(RUN_UNTIL(settled(rl), 5000));
	redis_str("HGET " HASH " 198.18.6.1/32", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "0|local first");
	redis_lists_free(rl);
	CU_ASSERT(!l.mirrored);
	CU_ASSERT(has(&l, "198.18.6.1/32", false));
	CU_ASSERT_EQUAL(ctl_lists_del(&l, &e), SL_OK);
	CU_ASSERT_EQUAL(l.nent, 0); /* no mirror: no tombstone */
	ctl_lists_free(&l);
}

static void cleanup_at_exit(void)
{
	server_cleanup(&srv);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "write-through, message, delete", test_write_and_message },
		{ "resync equals Redis", test_resync },
		{ "versions, gaps, junk", test_versions },
		{ "Redis down, restarted empty", test_down_and_empty_restart },
		{ "NOSCRIPT", test_noscript },
		{ "20000 entries", test_many },
		{ "entries before the mirror, after it", test_attach_detach },
		{ NULL, NULL },
	};

	signal(SIGPIPE, SIG_IGN);
	sl_log_set_level(getenv("TEST_LOG") ? SL_LOG_DEBUG : SL_LOG_ERR);
	loop = sl_evloop_new();
	if (loop == NULL)
		exit(2);
	have_redis = server_start(&srv);
	if (!have_redis)
		fprintf(stderr, "cannot start redis-server (is it installed? deploy/setup.sh does it)\n");
	atexit(cleanup_at_exit);
	test_suite("redis_lists", cases);
}
