/* test_health.c - the sans-IO check (tables of greetings), and health checks against real sockets on 127.0.0.1 in this process. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "relay/health.h"
#include "relay/health_check.h"
#include "util/sl_status.h"
#include "util/sl_clock.h"
#include "util/sl_log.h"

/* A tiny SMTP server on the same event loop: greets with `greeting`, or says nothing. */
struct fake_server {
	int         lfd;
	uint16_t    port;
	const char *greeting;   /**< NULL: accept and stay silent */
	int         accepted;
	int         closed;     /**< connections the checker closed */
	int         quits;      /**< QUIT commands received */
	int         conns[16];
	int         nconns;
};

static struct sl_evloop *loop;
static struct backend_pool pool;
static struct cfg *conf;
static struct fake_server srv;
static char logbuf[4096];

static void log_sink(enum sl_log_level level, const char *line, void *arg)
{
	size_t n = strlen(logbuf);
	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", line);
}

static void conn_event(struct sl_evloop *l, int fd, unsigned events, void *arg)
{
	struct fake_server *s = arg;
	char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n > 0) {
		if (n >= 6 && memcmp(buf, "QUIT\r\n", 6) == 0)
			s->quits++;
		return;
	}
	s->closed++;
	sl_evloop_del(l, fd);
	close(fd);
	for (int i = 0; i < s->nconns; i++)
		if (s->conns[i] == fd)
			s->conns[i] = -1;
}

static void accept_event(struct sl_evloop *l, int fd, unsigned events, void *arg)
{
	struct fake_server *s = arg;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (c < 0)
		return;
	s->accepted++;
	if (s->greeting != NULL)
		CU_ASSERT(write(c, s->greeting, strlen(s->greeting)) == (ssize_t)strlen(s->greeting));
	CU_ASSERT_FATAL(s->nconns < 16);
	s->conns[s->nconns++] = c;
	CU_ASSERT(sl_evloop_add(l, c, SL_EV_READ, conn_event, s) == 0);
}

static uint16_t bound_socket(int *fd, bool do_listen)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(*fd >= 0);
	CU_ASSERT_FATAL(bind(*fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	if (do_listen)
		CU_ASSERT_FATAL(listen(*fd, 16) == 0);
	CU_ASSERT_FATAL(getsockname(*fd, (struct sockaddr *)&sin, &len) == 0);
	return ntohs(sin.sin_port);
}

static void server_start(const char *greeting)
{
	memset(&srv, 0, sizeof(srv));
	srv.greeting = greeting;
	srv.port = bound_socket(&srv.lfd, true);
	CU_ASSERT_FATAL(sl_evloop_add(loop, srv.lfd, SL_EV_READ, accept_event, &srv) == 0);
}

static void server_stop(void)
{
	for (int i = 0; i < srv.nconns; i++)
		if (srv.conns[i] >= 0) {
			sl_evloop_del(loop, srv.conns[i]);
			close(srv.conns[i]);
		}
	sl_evloop_del(loop, srv.lfd);
	close(srv.lfd);
}

static void setup(uint16_t port, uint32_t interval, uint32_t timeout)
{
	loop = sl_evloop_new();
	CU_ASSERT_FATAL(loop != NULL);
	if (conf == NULL)
		conf = malloc(sizeof(*conf));
	memset(conf, 0, sizeof(*conf));
	conf->relay.health_interval_ms = interval;
	conf->relay.health_timeout_ms = timeout;
	conf->relay.health_rise = 1;
	conf->relay.health_fall = 1;
	conf->nbackends = 1;
	snprintf(conf->backends[0].name, sizeof(conf->backends[0].name), "mta1");
	char a[32];
	snprintf(a, sizeof(a), "127.0.0.1:%u", port);
	CU_ASSERT_FATAL(sl_addr_parse(a, &conf->backends[0].addr, true) == 0);
	conf->backends[0].weight = 1;
	backend_pool_init(&pool);
	CU_ASSERT_FATAL(backend_pool_apply(&pool, conf) == SL_OK);
	logbuf[0] = '\0';
	sl_log_set_sink(log_sink, NULL);
}

static void teardown(void)
{
	sl_log_set_sink(NULL, NULL);
	sl_evloop_free(loop);
	loop = NULL;
}

/* Run the loop until the backend's check counters reach `results`, or 3 s pass. */
static bool run_until_results(int idx, uint32_t results)
{
	uint64_t deadline = sl_clock_ms() + 3000;

	while (sl_clock_ms() < deadline) {
		struct backend_slot *s = &pool.slots[idx];
		if (atomic_load(&s->health_ok) + atomic_load(&s->health_bad) >= results)
			return true;
		sl_evloop_run_once(loop, 10);
	}
	return false;
}

/* A few more turns, for the server side to see what the checker did last. */
static void run_a_bit(int ms)
{
	uint64_t until = sl_clock_ms() + (uint64_t)ms;

	while (sl_clock_ms() < until)
		sl_evloop_run_once(loop, 5);
}

static void test_pass(void)
{
	setup(0, 10000, 1000);
	server_start("220-mx.example.net ESMTP\r\n220 second line\r\n");
	conf->backends[0].addr.port = srv.port;
	backend_pool_apply(&pool, conf);
	atomic_store(&pool.slots[0].up, false);   /* must come up on a pass */
	struct health_checker *h = health_checker_new(loop, &pool, conf);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT(run_until_results(0, 1));
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[0].health_ok), 1);
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[0].health_bad), 0);
	CU_ASSERT(atomic_load(&pool.slots[0].up));
	char want[96];
	snprintf(want, sizeof(want), "backend mta1 127.0.0.1:%u is up", srv.port);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, want));
	run_a_bit(100);
	CU_ASSERT_EQUAL(srv.accepted, 1);
	CU_ASSERT_EQUAL(srv.quits, 1);
	CU_ASSERT_EQUAL(srv.closed, 1);
	/* one round per interval: nothing more within it */
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[0].health_ok), 1);
	health_checker_free(h);
	server_stop();
	teardown();
}

static void test_refused_greeting(void)
{
	setup(0, 10000, 1000);
	server_start("554 5.3.2 not now\r\n");
	conf->backends[0].addr.port = srv.port;
	backend_pool_apply(&pool, conf);
	struct health_checker *h = health_checker_new(loop, &pool, conf);
	CU_ASSERT(run_until_results(0, 1));
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[0].health_bad), 1);
	CU_ASSERT(!atomic_load(&pool.slots[0].up));
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "is down: 1 health check failed (last: greeting 554)"));
	run_a_bit(50);
	CU_ASSERT_EQUAL(srv.closed, 1);
	health_checker_free(h);
	server_stop();
	teardown();
}

static void test_silent_server(void)
{
	setup(0, 10000, 200);
	server_start(NULL);
	conf->backends[0].addr.port = srv.port;
	backend_pool_apply(&pool, conf);
	struct health_checker *h = health_checker_new(loop, &pool, conf);
	uint64_t t0 = sl_clock_ms();
	CU_ASSERT(run_until_results(0, 1));
	uint64_t took = sl_clock_ms() - t0;
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[0].health_bad), 1);
	CU_ASSERT(!atomic_load(&pool.slots[0].up));
	CU_ASSERT(took >= 190 && took < 1500);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "greeting timeout"));
	run_a_bit(50);
	CU_ASSERT_EQUAL(srv.accepted, 1);
	CU_ASSERT_EQUAL(srv.closed, 1);
	health_checker_free(h);
	server_stop();
	teardown();
}

static void test_closed_port(void)
{
	int fd;
	uint16_t port = bound_socket(&fd, false);   /* bound, never listening: refused */

	setup(port, 10000, 1000);
	struct health_checker *h = health_checker_new(loop, &pool, conf);
	CU_ASSERT(run_until_results(0, 1));
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[0].health_bad), 1);
	CU_ASSERT(!atomic_load(&pool.slots[0].up));
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "connect: "));
	health_checker_free(h);
	close(fd);
	teardown();
}

/* Checks repeat every interval, one at a time; free() closes the check in flight. */
static void test_interval_and_free(void)
{
	setup(0, 40, 1000);
	server_start("220 ok\r\n");
	conf->backends[0].addr.port = srv.port;
	backend_pool_apply(&pool, conf);
	struct health_checker *h = health_checker_new(loop, &pool, conf);
	CU_ASSERT(run_until_results(0, 3));
	CU_ASSERT(srv.accepted >= 3);
	/* no more checks once the interval is 0 */
	conf->relay.health_interval_ms = 0;
	health_checker_apply(h, conf);
	run_a_bit(60);
	int n = srv.accepted;
	run_a_bit(150);
	CU_ASSERT_EQUAL(srv.accepted, n);
	health_checker_free(h);
	server_stop();

	/* a silent server: free() with the check in flight closes its socket */
	server_start(NULL);
	conf->backends[0].addr.port = srv.port;
	conf->relay.health_interval_ms = 10000;
	backend_pool_apply(&pool, conf);
	h = health_checker_new(loop, &pool, conf);
	uint64_t until = sl_clock_ms() + 2000;
	while (srv.accepted == 0 && sl_clock_ms() < until)
		sl_evloop_run_once(loop, 10);
	CU_ASSERT_EQUAL_FATAL(srv.accepted, 1);
	health_checker_free(h);
	run_a_bit(50);
	CU_ASSERT_EQUAL(srv.closed, 1);
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[0].health_bad), 0);   /* no result after free */
	server_stop();
	teardown();
}

/* ---- the sans-IO check: greetings fed in pieces, prefaces, endings */

struct greeting_case {
	const char *bytes;
	size_t      split;       /**< fed in pieces of this many bytes (0: at once) */
	int         want;        /**< SL_OK, SL_DECLINED, or SL_AGAIN (incomplete) */
	const char *why;         /**< the reason, NULL when SL_AGAIN */
	bool        quit;        /**< QUIT is due */
};

static const struct greeting_case greeting_cases[] = {
	{ "220 mx.example.net ESMTP\r\n", 0, SL_OK, "greeting 220", true },
	{ "220-mx.example.net ESMTP\r\n220-more\r\n220 last\r\n", 0, SL_OK, "greeting 220", true },
	{ "220-mx.example.net ESMTP\r\n220-more\r\n220 last\r\n", 1, SL_OK, "greeting 220", true },
	{ "220 bare LF ending\n", 0, SL_OK, "greeting 220", true },
	{ "421 4.3.2 busy, try later\r\n", 0, SL_DECLINED, "greeting 421", true },
	{ "554 5.3.2 no SMTP service here\r\n", 3, SL_DECLINED, "greeting 554", true },
	{ "220-first\r\n554 second differs\r\n", 0, SL_DECLINED, "malformed greeting", false },
	{ "HTTP/1.1 400 Bad Request\r\n", 0, SL_DECLINED, "malformed greeting", false },
	{ "\x16\x03\x01\x02hello\r\n", 0, SL_DECLINED, "malformed greeting", false },
	{ "220-still going\r\n220-and going", 0, SL_AGAIN, NULL, false },
	{ "22", 0, SL_AGAIN, NULL, false },
};

static void test_check_greetings(void)
{
	struct sl_addr dst;
	static struct health_check hc;   /* big: the reply parser's line buffers */

	CU_ASSERT_FATAL(sl_addr_parse("198.18.1.2:25", &dst, true) == 0);
	for (size_t i = 0; i < SL_ARRAY_SIZE(greeting_cases); i++) {
		const struct greeting_case *g = &greeting_cases[i];
		const uint8_t *p = (const uint8_t *)g->bytes;
		size_t n = strlen(g->bytes), step = g->split ? g->split : n;
		uint8_t pre[HEALTH_PREFACE_MAX];
		char why[HEALTH_WHY_MAX] = "";
		int st = SL_AGAIN;

		health_check_init(&hc, &dst, CFG_PROXY_OFF);
		CU_ASSERT_EQUAL(health_check_connected(&hc, NULL, pre, sizeof(pre)), 0);
		for (size_t off = 0; off < n && st == SL_AGAIN; off += step)
			st = health_check_input(&hc, p + off, SL_MIN(step, n - off), why, sizeof(why));
		if (st != g->want || (g->why != NULL && strcmp(why, g->why) != 0))
			fprintf(stderr, "greeting case %zu: got %d '%s', want %d '%s'\n", i, st, why, g->want,
				g->why ? g->why : "");
		CU_ASSERT_EQUAL(st, g->want);
		if (g->why != NULL)
			CU_ASSERT_STRING_EQUAL(why, g->why);
		CU_ASSERT_EQUAL(health_check_wants_quit(&hc), g->quit);
		if (st == SL_AGAIN) {
			/* then the server goes away, or the clock runs out */
			struct health_check h2 = hc;
			health_check_eof(&h2, why, sizeof(why));
			CU_ASSERT_STRING_EQUAL(why, "closed before the greeting");
			health_check_timeout(&hc, why, sizeof(why));
			CU_ASSERT_STRING_EQUAL(why, "greeting timeout");
		}
		/* whatever comes after the result is refused, never a second result */
		CU_ASSERT_EQUAL(health_check_input(&hc, (const uint8_t *)"220 x\r\n", 7, why, sizeof(why)), SL_DECLINED);
	}
	CU_ASSERT_STRING_EQUAL(health_check_quit, "QUIT\r\n");
	CU_ASSERT_EQUAL(strlen(health_check_quit), HEALTH_CHECK_QUIT_LEN);
}

static void test_check_before_connect(void)
{
	static struct health_check hc;
	struct sl_addr dst;
	char why[HEALTH_WHY_MAX];

	CU_ASSERT_FATAL(sl_addr_parse("198.18.1.2:25", &dst, true) == 0);
	health_check_init(&hc, &dst, CFG_PROXY_OFF);
	health_check_timeout(&hc, why, sizeof(why));
	CU_ASSERT_STRING_EQUAL(why, "connect timeout");
	health_check_init(&hc, &dst, CFG_PROXY_OFF);
	health_check_eof(&hc, why, sizeof(why));
	CU_ASSERT_STRING_EQUAL(why, "connect refused");
	/* bytes before connected(): a driver bug, a failure rather than a pass */
	health_check_init(&hc, &dst, CFG_PROXY_OFF);
	CU_ASSERT_EQUAL(health_check_input(&hc, (const uint8_t *)"220 x\r\n", 7, why, sizeof(why)), SL_DECLINED);
	CU_ASSERT(!health_check_wants_quit(&hc));
}

static void test_check_proxy_preface(void)
{
	static struct health_check hc;
	struct sl_addr dst, src, src6;
	uint8_t pre[HEALTH_PREFACE_MAX];
	char why[HEALTH_WHY_MAX];
	static const uint8_t v2_local[16] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49,
					      0x54, 0x0A, 0x20, 0x00, 0x00, 0x00 };
	int n;

	CU_ASSERT_FATAL(sl_addr_parse("198.18.1.2:2525", &dst, true) == 0);
	CU_ASSERT_FATAL(sl_addr_parse("198.18.0.1:40001", &src, true) == 0);
	CU_ASSERT_FATAL(sl_addr_parse("[2001:2::1]:40001", &src6, true) == 0);

	/* v1: this connection, our end to the backend */
	health_check_init(&hc, &dst, CFG_PROXY_V1);
	n = health_check_connected(&hc, &src, pre, sizeof(pre));
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL((size_t)n, strlen("PROXY TCP4 198.18.0.1 198.18.1.2 40001 2525\r\n"));
	CU_ASSERT(memcmp(pre, "PROXY TCP4 198.18.0.1 198.18.1.2 40001 2525\r\n", (size_t)n) == 0);
	CU_ASSERT_EQUAL(health_check_input(&hc, (const uint8_t *)"220 ok\r\n", 8, why, sizeof(why)), SL_OK);

	/* v1 without our address (or of another family): no UNKNOWN, the check fails */
	health_check_init(&hc, &dst, CFG_PROXY_V1);
	CU_ASSERT_EQUAL(health_check_connected(&hc, NULL, pre, sizeof(pre)), -1);
	health_check_init(&hc, &dst, CFG_PROXY_V1);
	CU_ASSERT_EQUAL(health_check_connected(&hc, &src6, pre, sizeof(pre)), -1);

	/* v2: LOCAL, no addresses, whoever we are */
	health_check_init(&hc, &dst, CFG_PROXY_V2);
	n = health_check_connected(&hc, NULL, pre, sizeof(pre));
	CU_ASSERT_EQUAL_FATAL(n, 16);
	CU_ASSERT(memcmp(pre, v2_local, 16) == 0);
	CU_ASSERT_EQUAL(health_check_input(&hc, (const uint8_t *)"554 no\r\n", 8, why, sizeof(why)), SL_DECLINED);
	CU_ASSERT_STRING_EQUAL(why, "greeting 554");
	CU_ASSERT(health_check_wants_quit(&hc));
}

/* ---- the posted runner (transport dpdk): requests out, results back by id */

static struct health_probe_req posted[16];
static int nposted;
static bool post_refuses;

static bool fake_post(void *arg, const struct health_probe_req *r)
{
	(void)arg;
	if (post_refuses)
		return false;
	if (nposted < (int)SL_ARRAY_SIZE(posted))
		posted[nposted++] = *r;
	return true;
}

/* Turn the loop until n requests were posted, or 2 s pass. */
static bool run_until_posted(int n)
{
	uint64_t deadline = sl_clock_ms() + 2000;

	while (nposted < n && sl_clock_ms() < deadline)
		sl_evloop_run_once(loop, 5);
	return nposted >= n;
}

static void test_posted_results(void)
{
	setup(2525, 10000, 100);
	nposted = 0;
	post_refuses = false;
	struct health_checker *h = health_checker_new_posted(loop, &pool, conf, fake_post, NULL);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_FATAL(run_until_posted(1));
	/* the request carries values: slot, address, timeout, a non-zero id */
	CU_ASSERT_EQUAL(posted[0].idx, 0);
	CU_ASSERT_EQUAL(posted[0].addr.port, 2525);
	CU_ASSERT(sl_addr_equal(&posted[0].addr, &conf->backends[0].addr));
	CU_ASSERT_EQUAL(posted[0].timeout_ms, 100);
	CU_ASSERT_EQUAL(posted[0].proxy, CFG_PROXY_OFF);
	CU_ASSERT(posted[0].id != 0);
	/* a wrong id is somebody else's (an older check): dropped */
	health_checker_result(h, 0, posted[0].id + 1, HEALTH_FAIL, "stale");
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[0].health_bad), 0);
	/* the right one counts, once */
	health_checker_result(h, 0, posted[0].id, HEALTH_FAIL, "connect refused");
	health_checker_result(h, 0, posted[0].id, HEALTH_FAIL, "connect refused");
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[0].health_bad), 1);
	CU_ASSERT(!atomic_load(&pool.slots[0].up));
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "is down: 1 health check failed (last: connect refused)"));
	/* no result for a slot out of range, nor after free */
	health_checker_result(h, CFG_BACKEND_MAX, posted[0].id, HEALTH_PASS, "x");
	health_checker_free(h);
	teardown();
}

static void test_posted_no_answer_and_skip(void)
{
	setup(2525, 10000, 100);
	nposted = 0;
	post_refuses = false;
	struct health_checker *h = health_checker_new_posted(loop, &pool, conf, fake_post, NULL);
	uint64_t t0 = sl_clock_ms();
	CU_ASSERT_FATAL(run_until_posted(1));
	/* nobody answers: failed by the schedule after timeout + slack */
	CU_ASSERT(run_until_results(0, 1));
	uint64_t took = sl_clock_ms() - t0;
	CU_ASSERT(took >= 100 + HEALTH_POSTED_SLACK_MS - 20 && took < 100 + HEALTH_POSTED_SLACK_MS + 1500);
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[0].health_bad), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "(last: no answer from the checking worker)"));
	/* the late answer finds nobody waiting */
	health_checker_result(h, 0, posted[0].id, HEALTH_PASS, "greeting 220");
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[0].health_ok), 0);
	health_checker_free(h);

	/* a skipped check (no TCB on the worker) is not counted either way */
	nposted = 0;
	h = health_checker_new_posted(loop, &pool, conf, fake_post, NULL);
	CU_ASSERT_FATAL(run_until_posted(1));
	health_checker_result(h, 0, posted[0].id, HEALTH_SKIP, "no free TCB");
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[0].health_bad), 1);
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[0].health_ok), 0);
	health_checker_free(h);

	/* a post that fails is a skip too, and the next round posts again */
	conf->relay.health_interval_ms = 50;
	post_refuses = true;
	nposted = 0;
	h = health_checker_new_posted(loop, &pool, conf, fake_post, NULL);
	run_a_bit(120);
	CU_ASSERT_EQUAL(nposted, 0);
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[0].health_bad), 1);
	post_refuses = false;
	CU_ASSERT(run_until_posted(1));
	/* answered: up again (rise 1), its counters reset */
	health_checker_result(h, 0, posted[0].id, HEALTH_PASS, "greeting 220");
	CU_ASSERT(atomic_load(&pool.slots[0].up));
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[0].health_bad), 0);
	health_checker_free(h);
	teardown();
}

void register_tests(void)
{
	static const struct test_case check_cases[] = {
		{ "greetings: 220 (multi-line, split), 421, 554, garbage, incomplete", test_check_greetings },
		{ "endings before connect", test_check_before_connect },
		{ "PROXY v1/v2 preface", test_check_proxy_preface },
		{ NULL, NULL },
	};
	static const struct test_case cases[] = {
		{ "220 passes", test_pass },
		{ "554 fails", test_refused_greeting },
		{ "silent server times out", test_silent_server },
		{ "closed port", test_closed_port },
		{ "interval, apply, free", test_interval_and_free },
		{ "posted: request values, results by id", test_posted_results },
		{ "posted: no answer, skip, refused post", test_posted_no_answer_and_skip },
		{ NULL, NULL },
	};
	test_suite("health_check", check_cases);
	test_suite("health", cases);
}
