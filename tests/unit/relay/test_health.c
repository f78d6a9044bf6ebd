/* test_health.c - health checks against real sockets on 127.0.0.1 in this process. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "relay/health.h"
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

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "220 passes", test_pass },
		{ "554 fails", test_refused_greeting },
		{ "silent server times out", test_silent_server },
		{ "closed port", test_closed_port },
		{ "interval, apply, free", test_interval_and_free },
		{ NULL, NULL },
	};
	test_suite("health", cases);
}
