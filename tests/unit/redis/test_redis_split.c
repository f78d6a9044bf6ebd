/* test_redis_split.c - decisions whose rules span hash tags (ip + sender + domain): split per slot, refunded on a refusal; on a plain redis-server and on a one-node Redis Cluster. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static struct server plain, clus;
static bool have_plain, have_clus;
static struct server *srv;      /* the one the running suite talks to */
static struct sl_evloop *loop;

/* ---- a one-node Redis Cluster: every slot on one server, so one
 * connection reaches every key, and the server still refuses any command
 * whose keys are in more than one slot (CROSSSLOT) */

static redisReply *cmd(const struct server *s, const char *fmt, const char *arg)
{
	redisContext *c = server_client(s);
	redisReply *r;

	if (c == NULL)
		return NULL;
	r = arg != NULL ? redisCommand(c, fmt, arg) : redisCommand(c, fmt);
	redisFree(c);
	return r;
}

static bool cluster_ok(const struct server *s)
{
	redisReply *r = cmd(s, "CLUSTER INFO", NULL);
	bool ok = r != NULL && r->type == REDIS_REPLY_STRING && strstr(r->str, "cluster_state:ok") != NULL;

	if (r != NULL)
		freeReplyObject(r);
	return ok;
}

static bool cluster_start(struct server *s)
{
	char port[16], bus[16], conf[128];
	redisReply *r;
	pid_t pid;
	bool up = false;

	s->port = pick_port();
	strcpy(s->dir, "/tmp/sluice-redis-cluster.XXXXXX");
	if (mkdtemp(s->dir) == NULL) {
		s->dir[0] = '\0';
		return false;
	}
	snprintf(s->sock, sizeof(s->sock), "%s/redis.sock", s->dir);
	snprintf(conf, sizeof(conf), "%s/nodes.conf", s->dir);
	snprintf(port, sizeof(port), "%d", s->port);
	/* the cluster bus port of our own: port + 10000 may be taken or past 65535 */
	snprintf(bus, sizeof(bus), "%d", pick_port());
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
		       "--appendonly", "no", "--dir", s->dir, "--daemonize", "no", "--unixsocket", s->sock,
		       "--cluster-enabled", "yes", "--cluster-config-file", conf, "--cluster-port", bus,
		       (char *)NULL);
		_exit(127);
	}
	s->pid = pid;
	for (int i = 0; i < 100 && !up; i++) {
		r = cmd(s, "PING", NULL);
		up = r != NULL && r->type != REDIS_REPLY_ERROR;
		if (r != NULL)
			freeReplyObject(r);
		if (!up) {
			if (waitpid(pid, NULL, WNOHANG) == pid) {
				s->pid = 0;
				return false;
			}
			usleep(50000);
		}
	}
	if (!up)
		return false;
	r = cmd(s, "CLUSTER ADDSLOTSRANGE 0 16383", NULL);
	if (r != NULL)
		freeReplyObject(r);
	for (int i = 0; i < 100; i++) {
		if (cluster_ok(s))
			return true;
		usleep(50000);
	}
	return false;
}

/* ---- the store side (as in test_redis_store.c) */

static struct cfg_limit limits[8];
static struct cfg cfg;

#define NANSWER 1024
static struct pol_verdict answers[NANSWER];
static unsigned nanswers;

static void on_done(void *arg, uint64_t token, const struct pol_verdict *v)
{
	(void)arg;
	(void)token;
	if (nanswers < NANSWER)
		answers[nanswers] = *v;
	nanswers++;
}

static void reset(void)
{
	memset(limits, 0, sizeof(limits));
	memset(&cfg, 0, sizeof(cfg));
	cfg.limits = limits;
	nanswers = 0;
}

static struct cfg_limit *lim(enum cfg_limit_kind kind, enum cfg_limit_key key, uint64_t count,
			     uint64_t period_ms, bool fail_closed)
{
	struct cfg_limit *l = &limits[cfg.nlimits++];

	l->kind = kind;
	l->key = key;
	l->count = count;
	l->period_ms = period_ms;
	l->fail_closed = fail_closed;
	return l;
}

static struct redis_store_opts opts(void)
{
	struct redis_store_opts o = {
		.host = "127.0.0.1",
		.port = (uint16_t)srv->port,
		.timeout_ms = 200,
		.connect_timeout_ms = 500,
		.backoff_min_ms = 50,
		.backoff_max_ms = 300,
	};
	return o;
}

static struct redis_store_stats stats(struct pol_store *st)
{
	struct redis_store_stats s;

	redis_store_stats(st, &s);
	return s;
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
	uint64_t end = sl_clock_ms() + 3000;

	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	while (!stats(st).up && sl_clock_ms() < end)
		sl_evloop_run_once(loop, 5);
	CU_ASSERT_FATAL(stats(st).up);
	return st;
}

/* one decision, waited for; its verdict */
static const struct pol_verdict *decide(struct pol_store *st, enum pol_stage stage, const char *ip,
					const char *sender)
{
	static struct pol_verdict none;
	struct pol_query q;
	unsigned before = nanswers;
	uint64_t end = sl_clock_ms() + 3000;

	memset(&q, 0, sizeof(q));
	q.stage = (uint8_t)stage;
	CU_ASSERT_FATAL(sl_addr_parse(ip, &q.client, false) == 0);
	strcpy(q.helo, "client.example");
	strcpy(q.sender, sender);
	strcpy(q.rcpt, "r@example.net");
	pol_store_decide(st, &q, sl_clock_ms(), 1, on_done, NULL);
	while (nanswers == before && sl_clock_ms() < end)
		sl_evloop_run_once(loop, 5);
	CU_ASSERT_EQUAL(nanswers, before + 1); /* exactly once */
	if (nanswers != before + 1 || before >= NANSWER)
		return &none;
	return &answers[before];
}

#define ACCEPTS(st, stage, ip, sender) CU_ASSERT_EQUAL(decide(st, stage, ip, sender)->action, POL_ACCEPT)
#define REFUSED_BY(st, stage, ip, sender, rule_name)                                   \
	do {                                                                           \
		const struct pol_verdict *v_ = decide(st, stage, ip, sender);          \
		CU_ASSERT_NOT_EQUAL(v_->action, POL_ACCEPT);                           \
		CU_ASSERT_STRING_EQUAL(v_->rule, rule_name);                           \
	} while (0)

static long long zcard(const char *key)
{
	redisReply *r = cmd(srv, "ZCARD %s", key);
	long long n = r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

	if (r != NULL)
		freeReplyObject(r);
	return n;
}

static long long keyslot(const char *key)
{
	redisReply *r = cmd(srv, "CLUSTER KEYSLOT %s", key);
	long long n = r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

	if (r != NULL)
		freeReplyObject(r);
	return n;
}

#define NEED(have)                                                                     \
	do {                                                                           \
		if (!(have)) {                                                         \
			fprintf(stderr, "SKIP: redis-server not installed\n");        \
			CU_ASSERT(getenv("CI") == NULL); /* CI installs it: fail */    \
			CU_ASSERT(!have_plain); /* installed, yet no cluster: fail */  \
			return;                                                        \
		}                                                                      \
		server_cmd(srv, "FLUSHALL");                                           \
		reset();                                                               \
	} while (0)

/* ---- tests, each run on both servers */

/* the cluster really is one: it refuses a script across slots, and the keys
 * these tests mix are in different slots */
static void t_cluster_is_strict(void)
{
	redisReply *r;

	NEED(have_clus);
	CU_ASSERT(cluster_ok(srv));
	r = cmd(srv, "EVAL %s 2 sluice:{ip:198.18.1.1}:x sluice:{sender:a@example.com}:x", "return 1");
	CU_ASSERT(r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "CROSSSLOT", 9) == 0);
	if (r != NULL)
		freeReplyObject(r);
	CU_ASSERT_NOT_EQUAL(keyslot("sluice:{ip:198.18.1.1}:msg_rate:5/60000/5"),
			    keyslot("sluice:{sender:a@example.com}:msg_rate:2/60000/2"));
	CU_ASSERT_NOT_EQUAL(keyslot("sluice:{ip:198.18.1.1}:msg_rate:5/60000/5"),
			    keyslot("sluice:{sender_domain:example.com}:msg_rate:100/60000/100"));
}

/* ip 5/min, sender 2/min, domain 100/min at MAIL: three slots. A refusal
 * by the sender rule leaves the ip and domain counters as they were. */
static void t_mixed_stage(void)
{
	struct redis_store_opts o;
	struct pol_store *st;
	struct redis_store_stats s0, s1;
	long long ttl;

	NEED(srv == &plain ? have_plain : have_clus);
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_IP, 5, MIN, true);
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_SENDER, 2, MIN, true);
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_SENDER_DOMAIN, 100, MIN, true);
	o = opts();
	st = new_store(&o);
	s0 = stats(st);
	ACCEPTS(st, POL_STAGE_MAIL, "198.18.1.1", "a@example.com");
	ACCEPTS(st, POL_STAGE_MAIL, "198.18.1.1", "a@example.com");
	for (int i = 0; i < 3; i++)
		REFUSED_BY(st, POL_STAGE_MAIL, "198.18.1.1", "a@example.com", "limit msg_rate sender");
	CU_ASSERT_EQUAL(answers[nanswers - 1].code, 450);
	/* the three refused did not charge the ip: three more pass, then the ip is over */
	ACCEPTS(st, POL_STAGE_MAIL, "198.18.1.1", "b@example.com");
	ACCEPTS(st, POL_STAGE_MAIL, "198.18.1.1", "b@example.com");
	ACCEPTS(st, POL_STAGE_MAIL, "198.18.1.1", "c@example.com");
	REFUSED_BY(st, POL_STAGE_MAIL, "198.18.1.1", "d@example.com", "limit msg_rate ip");
	/* nor the domain: 5 charges of 600 ms, not 9 (the last refund is on its way) */
	run_for(100);
	ttl = server_pttl(srv, "sluice:{sender_domain:example.com}:msg_rate:100/60000/100");
	CU_ASSERT(ttl > 2000 && ttl <= 3001);
	if (!(ttl > 2000 && ttl <= 3001))
		fprintf(stderr, "domain TAT %lld ms ahead, want about 3000\n", ttl);
	s1 = stats(st);
	CU_ASSERT_EQUAL(s1.failed - s0.failed, 0); /* no CROSSSLOT, no error */
	CU_ASSERT_EQUAL(s1.round_trips - s0.round_trips, 9 * 3); /* a script per slot */
	CU_ASSERT_EQUAL(s1.over - s0.over, 4);
	st->ops->destroy(st);
}

/* the first refusing rule in config order is reported, whichever slot said it */
static void t_config_order(void)
{
	struct redis_store_opts o;
	struct pol_store *st;
	long long ttl;

	NEED(srv == &plain ? have_plain : have_clus);
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_SENDER_DOMAIN, 2, MIN, false);
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_IP, 100, MIN, false);
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_SENDER, 1, MIN, false);
	o = opts();
	st = new_store(&o);
	ACCEPTS(st, POL_STAGE_MAIL, "198.18.1.2", "a@x.example");
	REFUSED_BY(st, POL_STAGE_MAIL, "198.18.1.2", "a@x.example", "limit msg_rate sender");
	ACCEPTS(st, POL_STAGE_MAIL, "198.18.1.2", "b@x.example"); /* the domain was refunded */
	REFUSED_BY(st, POL_STAGE_MAIL, "198.18.1.2", "c@x.example", "limit msg_rate sender_domain");
	/* both over: the domain rule comes first in the config */
	REFUSED_BY(st, POL_STAGE_MAIL, "198.18.1.2", "a@x.example", "limit msg_rate sender_domain");
	/* the ip was charged twice (600 ms each), not five times */
	run_for(100);
	ttl = server_pttl(srv, "sluice:{ip:198.18.1.2}:msg_rate:100/60000/100");
	CU_ASSERT(ttl > 800 && ttl <= 1201);
	st->ops->destroy(st);
}

/* rules of one tag stay one script per decision */
static void t_one_tag_one_script(void)
{
	struct redis_store_opts o;
	struct pol_store *st;
	struct redis_store_stats s0, s1;

	NEED(srv == &plain ? have_plain : have_clus);
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_IP, 3, MIN, false);
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_IP, 10, MIN, false);
	lim(CFG_LIMIT_RCPT_RATE, CFG_KEY_SENDER, 10, MIN, false); /* another stage */
	o = opts();
	st = new_store(&o);
	s0 = stats(st);
	for (int i = 0; i < 3; i++)
		ACCEPTS(st, POL_STAGE_MAIL, "198.18.1.3", "a@example.com");
	REFUSED_BY(st, POL_STAGE_MAIL, "198.18.1.3", "a@example.com", "limit msg_rate ip");
	s1 = stats(st);
	CU_ASSERT_EQUAL(s1.round_trips - s0.round_trips, 4);
	CU_ASSERT_EQUAL(s1.failed, 0);
	st->ops->destroy(st);
}

/* concurrency ip + conn_rate net at CONNECT: two slots. A refusal by one
 * gives back what the other took (a lease, a connection); END releases. */
static void t_concurrency_mixed(void)
{
	struct redis_store_opts o;
	struct pol_store *st;
	const char *k1 = "sluice:{ip:198.18.2.1}:concurrency:2";
	const char *k2 = "sluice:{ip:198.18.2.2}:concurrency:2";
	const char *k3 = "sluice:{ip:198.18.2.3}:concurrency:2";

	NEED(srv == &plain ? have_plain : have_clus);
	lim(CFG_LIMIT_CONCURRENCY, CFG_KEY_IP, 2, 0, false);
	lim(CFG_LIMIT_CONN_RATE, CFG_KEY_NET, 3, MIN, false);
	o = opts();
	st = new_store(&o);
	ACCEPTS(st, POL_STAGE_CONNECT, "198.18.2.1", "");
	ACCEPTS(st, POL_STAGE_CONNECT, "198.18.2.1", "");
	REFUSED_BY(st, POL_STAGE_CONNECT, "198.18.2.1", "", "limit concurrency ip");
	CU_ASSERT_EQUAL(answers[nanswers - 1].code, 421);
	/* the /24 was charged twice, not three times: one more connection fits */
	ACCEPTS(st, POL_STAGE_CONNECT, "198.18.2.2", "");
	REFUSED_BY(st, POL_STAGE_CONNECT, "198.18.2.3", "", "limit conn_rate net");
	run_for(100); /* refunds are fire and forget */
	CU_ASSERT_EQUAL(zcard(k1), 2);
	CU_ASSERT_EQUAL(zcard(k2), 1);
	CU_ASSERT_EQUAL(zcard(k3), 0); /* the lease the refused one took went back */
	CU_ASSERT_EQUAL(stats(st).leases, 3);
	ACCEPTS(st, POL_STAGE_END, "198.18.2.1", "");
	ACCEPTS(st, POL_STAGE_END, "198.18.2.1", "");
	ACCEPTS(st, POL_STAGE_END, "198.18.2.2", "");
	run_for(100);
	CU_ASSERT_EQUAL(zcard(k1), 0);
	CU_ASSERT_EQUAL(zcard(k2), 0);
	CU_ASSERT_EQUAL(stats(st).leases, 0);
	CU_ASSERT_EQUAL(stats(st).failed, 0);
	st->ops->destroy(st);
}

/* leases of a mixed stage are refreshed (one key per command) and a dead
 * node's run out */
static void t_lease_refresh(void)
{
	struct redis_store_opts o;
	struct pol_store *a, *b;

	NEED(srv == &plain ? have_plain : have_clus);
	lim(CFG_LIMIT_CONCURRENCY, CFG_KEY_IP, 1, 0, false);
	lim(CFG_LIMIT_CONN_RATE, CFG_KEY_NET, 100, MIN, false);
	o = opts();
	o.lease_ms = 600;
	a = new_store(&o);
	b = new_store(&o);
	ACCEPTS(a, POL_STAGE_CONNECT, "198.18.3.1", "");
	run_for(1500); /* two and a half lease times: alive only if refreshed */
	REFUSED_BY(b, POL_STAGE_CONNECT, "198.18.3.1", "", "limit concurrency ip");
	a->ops->destroy(a);
	run_for(800);
	ACCEPTS(b, POL_STAGE_CONNECT, "198.18.3.1", "");
	CU_ASSERT_EQUAL(stats(b).failed, 0);
	b->ops->destroy(b);
}

/* one slot errs (a key of another type): its fail-closed rule refuses with
 * 451 and the slot that charged is refunded; fail open keeps the charge */
static void t_group_error(void)
{
	struct redis_store_opts o;
	struct pol_store *st;
	const struct pol_verdict *v;
	const char *ipkey = "sluice:{ip:198.18.4.1}:msg_rate:5/60000/5";

	NEED(srv == &plain ? have_plain : have_clus);
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_IP, 5, MIN, false);
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_SENDER, 5, MIN, true);
	server_cmd(srv, "LPUSH sluice:{sender:w@example.com}:msg_rate:5/60000/5 x");
	o = opts();
	st = new_store(&o);
	v = decide(st, POL_STAGE_MAIL, "198.18.4.1", "w@example.com");
	CU_ASSERT_EQUAL(v->code, 451);
	CU_ASSERT_STRING_EQUAL(v->status, "4.7.0");
	CU_ASSERT_STRING_EQUAL(v->rule, "limit msg_rate sender");
	run_for(100);
	CU_ASSERT_EQUAL(server_pttl(srv, ipkey), -2); /* refunded to nothing */
	CU_ASSERT_EQUAL(stats(st).failed, 1);

	limits[1].fail_closed = false; /* same counters, live */
	CU_ASSERT_EQUAL(st->ops->apply(st, &cfg), SL_OK);
	ACCEPTS(st, POL_STAGE_MAIL, "198.18.4.1", "w@example.com");
	run_for(100);
	CU_ASSERT(server_pttl(srv, ipkey) > 0); /* let through: charged */
	st->ops->destroy(st);
}

/* Redis hung: the decision is answered by its timeout with its rules' fail
 * mode; the replies that come late are refunded (refused) or keep their
 * charge and give their leases back (let through) */
static void t_timeout(void)
{
	struct redis_store_opts o;
	struct pol_store *st;
	const struct pol_verdict *v;

	NEED(srv == &plain ? have_plain : have_clus);
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_IP, 2, MIN, true);
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_SENDER, 2, MIN, false);
	lim(CFG_LIMIT_CONCURRENCY, CFG_KEY_IP, 3, 0, false);
	lim(CFG_LIMIT_CONN_RATE, CFG_KEY_NET, 100, MIN, false);
	o = opts();
	st = new_store(&o);
	server_kill(srv, SIGSTOP);
	v = decide(st, POL_STAGE_MAIL, "198.18.5.1", "t@example.com");
	CU_ASSERT_EQUAL(v->code, 451);
	CU_ASSERT_STRING_EQUAL(v->rule, "limit msg_rate ip");
	ACCEPTS(st, POL_STAGE_CONNECT, "198.18.5.1", ""); /* fail open */
	CU_ASSERT_EQUAL(stats(st).timeouts, 2);
	kill(srv->pid, SIGCONT);
	run_for(300);
	/* the refused MAIL charged nothing in the end: two pass, then 450 */
	ACCEPTS(st, POL_STAGE_MAIL, "198.18.5.1", "t@example.com");
	ACCEPTS(st, POL_STAGE_MAIL, "198.18.5.1", "t@example.com");
	v = decide(st, POL_STAGE_MAIL, "198.18.5.1", "t@example.com");
	CU_ASSERT_EQUAL(v->code, 450);
	/* the CONNECT let through by its fail mode: no lease kept, the rate charged */
	run_for(100);
	CU_ASSERT_EQUAL(zcard("sluice:{ip:198.18.5.1}:concurrency:3"), 0);
	CU_ASSERT_EQUAL(stats(st).leases, 0);
	CU_ASSERT(server_pttl(srv, "sluice:{net:198.18.5.0/24}:conn_rate:100/60000/100") > 0);
	st->ops->destroy(st);
}

/* 1000 mixed decisions in one loop turn: GCRA in arrival order per slot,
 * exactly the sender's count pass; the time beside 1000 of one slot */
static uint64_t burst(struct pol_store *st, const char *ip, unsigned *acc, bool *ordered)
{
	uint64_t t0 = sl_clock_ms(), end = t0 + 10000;
	unsigned before = nanswers = 0;
	struct pol_query q;

	memset(&q, 0, sizeof(q));
	q.stage = POL_STAGE_MAIL;
	CU_ASSERT_FATAL(sl_addr_parse(ip, &q.client, false) == 0);
	strcpy(q.sender, "burst@example.com");
	for (unsigned i = 0; i < 1000; i++)
		pol_store_decide(st, &q, sl_clock_ms(), i, on_done, NULL);
	while (nanswers < before + 1000 && sl_clock_ms() < end)
		sl_evloop_run_once(loop, 5);
	CU_ASSERT_EQUAL(nanswers, 1000);
	*acc = 0;
	*ordered = true;
	for (unsigned i = 0; i < 1000 && i < nanswers && i < NANSWER; i++)
		if ((answers[i].action == POL_ACCEPT) != (i < 100))
			*ordered = false;
	for (unsigned i = 0; i < nanswers && i < NANSWER; i++)
		*acc += answers[i].action == POL_ACCEPT;
	return sl_clock_ms() - t0;
}

static void t_burst(void)
{
	struct redis_store_opts o;
	struct pol_store *st;
	unsigned acc;
	bool ordered;
	uint64_t one, three;

	NEED(srv == &plain ? have_plain : have_clus);
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_IP, 100, MIN, true);
	o = opts();
	o.timeout_ms = 5000; /* about counts, not speed */
	st = new_store(&o);
	one = burst(st, "198.18.6.1", &acc, &ordered);
	CU_ASSERT(ordered);
	st->ops->destroy(st);
	server_cmd(srv, "FLUSHALL");
	reset();
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_IP, 100000, MIN, true);
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_SENDER, 100, MIN, true);
	lim(CFG_LIMIT_MSG_RATE, CFG_KEY_SENDER_DOMAIN, 100000, MIN, true);
	st = new_store(&o);
	three = burst(st, "198.18.6.1", &acc, &ordered);
	CU_ASSERT(ordered);
	CU_ASSERT_EQUAL(acc, 100);
	CU_ASSERT_EQUAL(stats(st).failed, 0);
	fprintf(stderr, "[1000 decisions: one slot %llu ms, three slots %llu ms] ",
		(unsigned long long)one, (unsigned long long)three);
	/* the refused ones' ip charges all went back: 100 of 0.6 ms, not 1000.
	 * One more decision on the same connection answers after them all. */
	ACCEPTS(st, POL_STAGE_MAIL, "198.18.6.1", "sync@example.com");
	CU_ASSERT(server_pttl(srv, "sluice:{ip:198.18.6.1}:msg_rate:100000/60000/100000") <= 62);
	st->ops->destroy(st);
}

#define BOTH(fn)                                                    \
	static void plain_##fn(void) { srv = &plain; fn(); }        \
	static void clus_##fn(void) { srv = &clus; fn(); }
BOTH(t_mixed_stage)
BOTH(t_config_order)
BOTH(t_one_tag_one_script)
BOTH(t_concurrency_mixed)
BOTH(t_lease_refresh)
BOTH(t_group_error)
BOTH(t_timeout)
BOTH(t_burst)

static void clus_t_cluster_is_strict(void) { srv = &clus; t_cluster_is_strict(); }

#define CASES(pre)                                                                         \
	{ "ip + sender + domain: split per slot, a sender refusal charges nothing", pre##t_mixed_stage }, \
	{ "the first refusing rule in config order", pre##t_config_order },                 \
	{ "one tag: one script per decision", pre##t_one_tag_one_script },                  \
	{ "concurrency + net rate: refunds of leases and rates, END", pre##t_concurrency_mixed }, \
	{ "leases refreshed, a dead node's run out", pre##t_lease_refresh },                \
	{ "one slot errs: fail closed 451, the other refunded; fail open keeps", pre##t_group_error }, \
	{ "timeout: fail mode, late charges refunded or leases given back", pre##t_timeout }, \
	{ "1000 mixed decisions pipelined: exactly the sender's count pass", pre##t_burst }

static const struct test_case plain_cases[] = {
	CASES(plain_),
	{ NULL, NULL },
};

static const struct test_case clus_cases[] = {
	{ "the one-node cluster refuses CROSSSLOT; the tags are in other slots", clus_t_cluster_is_strict },
	CASES(clus_),
	{ NULL, NULL },
};

static void cleanup_at_exit(void)
{
	server_cleanup(&plain);
	server_cleanup(&clus);
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
	atexit(cleanup_at_exit);
	have_plain = server_start(&plain);
	have_clus = have_plain && cluster_start(&clus);
	if (!have_plain)
		fprintf(stderr, "SKIP: cannot start redis-server (is it installed? deploy/setup.sh does it)\n");
	else if (!have_clus)
		fprintf(stderr, "cannot start a one-node Redis Cluster\n");
	test_suite("redis_split plain", plain_cases);
	test_suite("redis_split cluster", clus_cases);
}
