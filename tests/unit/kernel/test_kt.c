/* test_kt.c - the kernel transport over loopback sockets, driving a fake session. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake.h"
#include "kernel/kt.h"
#include "kernel/kt_conn.h"
#include "test.h"
#include "util/sl_clock.h"

#define WAIT_MS 3000

/* ---- environment: a kt with one listener on 127.0.0.1, ephemeral port */

struct env {
	struct cfg     *cfg;
	struct control *ctl;
	struct kt      *k;
	uint16_t        port;
};

static void env_start_ring(struct env *e, unsigned workers, uint32_t max_sessions, uint32_t grace_ms,
			   uint32_t ring)
{
	char err[256] = "";

	fake_reset();
	e->cfg = cfg_defaults();
	CU_ASSERT_PTR_NOT_NULL_FATAL(e->cfg);
	e->cfg->nlisten = 1;
	sl_addr_parse("127.0.0.1:0", &e->cfg->listen[0], true);
	e->cfg->workers = workers;
	e->cfg->max_sessions = max_sessions;
	e->cfg->shutdown_grace_ms = grace_ms;
	e->ctl = fake_control_new(e->cfg, workers, ring);
	e->k = kt_start(e->cfg, e->ctl, NULL, err, sizeof(err));
	if (e->k == NULL)
		fprintf(stderr, "kt_start: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e->k);
	CU_ASSERT_EQUAL(kt_nworkers(e->k), workers);
	e->port = kt_listen_port(e->k, 0);
	CU_ASSERT_NOT_EQUAL_FATAL(e->port, 0);
}

static void env_start(struct env *e, unsigned workers, uint32_t max_sessions, uint32_t grace_ms)
{
	env_start_ring(e, workers, max_sessions, grace_ms, 64);
}

/* Stop, and check every session started was freed, each on its own worker. */
static void env_stop(struct env *e)
{
	kt_shutdown(e->k);
	kt_join(e->k);
	CU_ASSERT_EQUAL(atomic_load(&fake.starts), atomic_load(&fake.frees));
	CU_ASSERT_EQUAL(atomic_load(&fake.wrong_worker), 0);
	fake_control_free(e->ctl);
	cfg_unref(e->cfg);
}

#define WAIT_UNTIL(cond, ms)                                                       \
	do {                                                                       \
		uint64_t end_ = sl_clock_ms() + (ms);                              \
		while (!(cond) && sl_clock_ms() < end_)                            \
			usleep(1000);                                              \
	} while (0)

/* ---- a test client with a line reader */

struct tc {
	int    fd;
	size_t len;
	char   buf[8192];
};

static int tcp_connect(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static bool tc_open(struct tc *t, uint16_t port)
{
	t->len = 0;
	t->fd = tcp_connect(port);
	return t->fd >= 0;
}

static void tc_close(struct tc *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static void tc_reset(struct tc *t)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	tc_close(t);
}

static void send_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			return;
		}
		s += w;
		n -= (size_t)w;
	}
}

static void tc_send(struct tc *t, const char *s)
{
	send_all(t->fd, s, strlen(s));
}

/* One line without CRLF: 1, 0 on timeout, -1 on EOF or error. */
static int tc_line(struct tc *t, char *out, size_t outlen, int ms)
{
	uint64_t end = sl_clock_ms() + (uint64_t)ms;

	for (;;) {
		char *nl = memchr(t->buf, '\n', t->len);
		if (nl != NULL) {
			size_t n = (size_t)(nl - t->buf);
			size_t c = n < outlen - 1 ? n : outlen - 1;
			memcpy(out, t->buf, c);
			out[c] = '\0';
			if (c > 0 && out[c - 1] == '\r')
				out[c - 1] = '\0';
			memmove(t->buf, nl + 1, t->len - n - 1);
			t->len -= n + 1;
			return 1;
		}
		int64_t left = (int64_t)(end - sl_clock_ms());
		if (left <= 0 || t->len == sizeof(t->buf))
			return 0;
		struct pollfd p = { .fd = t->fd, .events = POLLIN };
		if (poll(&p, 1, (int)left) <= 0)
			return 0;
		ssize_t r = recv(t->fd, t->buf + t->len, sizeof(t->buf) - t->len, 0);
		if (r <= 0)
			return -1;
		t->len += (size_t)r;
	}
}

static bool tc_expect(struct tc *t, const char *prefix)
{
	char line[512];
	int r = tc_line(t, line, sizeof(line), WAIT_MS);

	if (r != 1 || strncmp(line, prefix, strlen(prefix)) != 0) {
		fprintf(stderr, "expected '%s', got %s'%s'\n", prefix,
			r == 1 ? "" : r == 0 ? "(timeout) " : "(eof) ", r == 1 ? line : "");
		return false;
	}
	return true;
}

/* Nothing more: true when the peer closed (FIN or RST) within ms. */
static bool tc_eof(struct tc *t, int ms)
{
	char line[512];

	return t->len == 0 && tc_line(t, line, sizeof(line), ms) == -1;
}

static bool tc_quiet(struct tc *t, int ms)
{
	char line[512];

	return tc_line(t, line, sizeof(line), ms) == 0;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	getsockname(fd, (struct sockaddr *)&sin, &len);
	return ntohs(sin.sin_port);
}

/* ---- a test backend */

static int srv_listen(uint16_t *port, int rcvbuf)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, 16) != 0) {
		close(fd);
		return -1;
	}
	*port = local_port(fd);
	return fd;
}

static int srv_accept(int lfd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	if (poll(&p, 1, WAIT_MS) <= 0)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* A port nothing listens on: bound, never listened. Kept bound so no one takes it. */
static int closed_port(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	*port = local_port(fd);
	return fd;
}

/* Read exactly len bytes (or until timeout / EOF); returns the count. */
static size_t recv_n(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, WAIT_MS) <= 0)
			break;
		ssize_t r = recv(fd, buf + got, len - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* The peer's end: 0 = EOF, 1 = reset, -1 = timeout or data. */
static int peer_end(int fd)
{
	char b[256];
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (;;) {
		if (poll(&p, 1, WAIT_MS) <= 0)
			return -1;
		ssize_t r = recv(fd, b, sizeof(b), 0);
		if (r == 0)
			return 0;
		if (r < 0)
			return errno == ECONNRESET ? 1 : -1;
	}
}

static void attach_backend(struct tc *t, int lfd, uint16_t port, int *bfd)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "BACKEND 127.0.0.1:%u\r\n", port);
	tc_send(t, cmd);
	*bfd = srv_accept(lfd);
	CU_ASSERT_FATAL(*bfd >= 0);
	CU_ASSERT(tc_expect(t, "250 backend up"));
}

/* ---- tests */

static void test_greet_ping_quit(void)
{
	struct env e;
	struct tc t;

	env_start(&e, 1, 100, 1000);
	CU_ASSERT_FATAL(tc_open(&t, e.port));
	CU_ASSERT(tc_expect(&t, "220 fake"));
	tc_send(&t, "PING\r\n");
	CU_ASSERT(tc_expect(&t, "250 pong"));
	tc_send(&t, "QUIT\r\n");
	CU_ASSERT(tc_expect(&t, "221 bye"));
	CU_ASSERT(tc_eof(&t, WAIT_MS));
	WAIT_UNTIL(atomic_load(&fake.frees) == 1, WAIT_MS);
	CU_ASSERT_EQUAL(atomic_load(&fake.frees), 1);
	tc_close(&t);

	struct kt_stats st;
	kt_get_stats(e.k, &st);
	CU_ASSERT_EQUAL(st.accepted, 1);
	WAIT_UNTIL((kt_get_stats(e.k, &st), st.conns == 0), WAIT_MS);
	CU_ASSERT_EQUAL(st.conns, 0);
	env_stop(&e);
}

/* Commands cut anywhere, and several in one segment. */
static void test_split_input(void)
{
	struct env e;
	struct tc t;
	const char *parts[] = { "P", "IN", "G\r", "\nPI", "NG\r\nPING", "\r\n" };

	env_start(&e, 1, 100, 1000);
	CU_ASSERT_FATAL(tc_open(&t, e.port));
	CU_ASSERT(tc_expect(&t, "220 fake"));
	for (size_t i = 0; i < SL_ARRAY_SIZE(parts); i++) {
		tc_send(&t, parts[i]);
		usleep(15000);
	}
	CU_ASSERT(tc_expect(&t, "250 pong"));
	CU_ASSERT(tc_expect(&t, "250 pong"));
	CU_ASSERT(tc_expect(&t, "250 pong"));
	tc_send(&t, "PING\r\nPING\r\nPING\r\nQUIT\r\n");
	CU_ASSERT(tc_expect(&t, "250 pong"));
	CU_ASSERT(tc_expect(&t, "250 pong"));
	CU_ASSERT(tc_expect(&t, "250 pong"));
	CU_ASSERT(tc_expect(&t, "221 bye"));
	CU_ASSERT(tc_eof(&t, WAIT_MS));
	tc_close(&t);
	env_stop(&e);
}

static void test_backend_relay(void)
{
	struct env e;
	struct tc t;
	uint16_t bport;
	int lfd = srv_listen(&bport, 0), bfd;
	char buf[64];

	CU_ASSERT_FATAL(lfd >= 0);
	env_start(&e, 1, 100, 1000);
	CU_ASSERT_FATAL(tc_open(&t, e.port));
	CU_ASSERT(tc_expect(&t, "220 fake"));
	attach_backend(&t, lfd, bport, &bfd);
	tc_send(&t, "hello backend\r\n");
	CU_ASSERT_EQUAL(recv_n(bfd, buf, 15), 15);
	CU_ASSERT(memcmp(buf, "hello backend\r\n", 15) == 0);
	send_all(bfd, "250 from backend\r\n", 18);
	CU_ASSERT(tc_expect(&t, "250 from backend"));
	/* QUIT closes the backend gracefully: it sees a FIN, not a reset */
	tc_send(&t, "QUIT\r\n");
	CU_ASSERT(tc_expect(&t, "221 bye"));
	CU_ASSERT_EQUAL(peer_end(bfd), 0);
	CU_ASSERT(tc_eof(&t, WAIT_MS));
	close(bfd);
	tc_close(&t);
	close(lfd);
	env_stop(&e);
}

static void test_backend_refused(void)
{
	struct env e;
	struct tc t;
	uint16_t port;
	int hold = closed_port(&port);
	char cmd[64];

	env_start(&e, 1, 100, 1000);
	CU_ASSERT_FATAL(tc_open(&t, e.port));
	CU_ASSERT(tc_expect(&t, "220 fake"));
	snprintf(cmd, sizeof(cmd), "BACKEND 127.0.0.1:%u\r\n", port);
	tc_send(&t, cmd);
	CU_ASSERT(tc_expect(&t, "451 backend down"));
	/* the session goes on, and may try again */
	tc_send(&t, cmd);
	CU_ASSERT(tc_expect(&t, "451 backend down"));
	tc_send(&t, "PING\r\n");
	CU_ASSERT(tc_expect(&t, "250 pong"));
	tc_close(&t);
	close(hold);
	env_stop(&e);
}

/* Backend EOF, then a reconnect on the same session and a backend reset. */
static void test_backend_eof_reset(void)
{
	struct env e;
	struct tc t;
	uint16_t bport;
	int lfd = srv_listen(&bport, 0), bfd;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	env_start(&e, 1, 100, 1000);
	CU_ASSERT_FATAL(tc_open(&t, e.port));
	CU_ASSERT(tc_expect(&t, "220 fake"));
	attach_backend(&t, lfd, bport, &bfd);
	close(bfd);
	CU_ASSERT(tc_expect(&t, "421 backend lost 0"));
	CU_ASSERT_EQUAL(atomic_load(&fake.backend_eof), 1);

	attach_backend(&t, lfd, bport, &bfd);
	setsockopt(bfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(bfd);
	CU_ASSERT(tc_expect(&t, "421 backend lost 1"));
	CU_ASSERT_EQUAL(atomic_load(&fake.backend_reset), 1);

	/* and the session survives both */
	tc_send(&t, "PING\r\n");
	CU_ASSERT(tc_expect(&t, "250 pong"));
	tc_close(&t);
	close(lfd);
	env_stop(&e);
}

/* Client EOF (with a backend up: the session resets it) and client reset. */
static void test_client_eof_reset(void)
{
	struct env e;
	struct tc t, u;
	uint16_t bport;
	int lfd = srv_listen(&bport, 0), bfd;

	env_start(&e, 1, 100, 1000);
	CU_ASSERT_FATAL(tc_open(&t, e.port));
	CU_ASSERT(tc_expect(&t, "220 fake"));
	attach_backend(&t, lfd, bport, &bfd);
	tc_send(&t, "PING\r\n");
	shutdown(t.fd, SHUT_WR);
	/* input before the EOF is still answered, then the transport closes */
	CU_ASSERT(tc_expect(&t, "250 pong"));
	CU_ASSERT(tc_eof(&t, WAIT_MS));
	WAIT_UNTIL(atomic_load(&fake.frees) == 1, WAIT_MS);
	CU_ASSERT_EQUAL(atomic_load(&fake.client_eof), 1);
	CU_ASSERT_EQUAL(atomic_load(&fake.frees), 1);
	CU_ASSERT_EQUAL(peer_end(bfd), 1);
	close(bfd);
	tc_close(&t);

	CU_ASSERT_FATAL(tc_open(&u, e.port));
	CU_ASSERT(tc_expect(&u, "220 fake"));
	tc_reset(&u);
	WAIT_UNTIL(atomic_load(&fake.frees) == 2, WAIT_MS);
	CU_ASSERT_EQUAL(atomic_load(&fake.client_reset), 1);
	CU_ASSERT_EQUAL(atomic_load(&fake.frees), 2);
	close(lfd);
	env_stop(&e);
}

static void test_timers(void)
{
	struct env e;
	struct tc t;
	uint64_t t0, dt;

	env_start(&e, 1, 100, 1000);
	CU_ASSERT_FATAL(tc_open(&t, e.port));
	CU_ASSERT(tc_expect(&t, "220 fake"));
	t0 = sl_clock_ms();
	tc_send(&t, "TIMER c 60\r\n");
	CU_ASSERT(tc_expect(&t, "250 armed"));
	CU_ASSERT(tc_expect(&t, "250 timer c"));
	dt = sl_clock_ms() - t0;
	CU_ASSERT(dt >= 55);
	CU_ASSERT(dt < 1000);

	/* both timers independent; 0 cancels */
	tc_send(&t, "TIMER b 40\r\nTIMER c 40\r\nTIMER b 0\r\n");
	CU_ASSERT(tc_expect(&t, "250 armed"));
	CU_ASSERT(tc_expect(&t, "250 armed"));
	CU_ASSERT(tc_expect(&t, "250 armed"));
	CU_ASSERT(tc_expect(&t, "250 timer c"));
	CU_ASSERT(tc_quiet(&t, 200));

	/* re-arming moves the expiry */
	t0 = sl_clock_ms();
	tc_send(&t, "TIMER b 30\r\nTIMER b 150\r\n");
	CU_ASSERT(tc_expect(&t, "250 armed"));
	CU_ASSERT(tc_expect(&t, "250 armed"));
	CU_ASSERT(tc_expect(&t, "250 timer b"));
	CU_ASSERT(sl_clock_ms() - t0 >= 140);
	CU_ASSERT(tc_quiet(&t, 100));

	/* a timer armed by a session that is gone never fires into freed memory */
	tc_send(&t, "TIMER c 30\r\nQUIT\r\n");
	CU_ASSERT(tc_expect(&t, "250 armed"));
	CU_ASSERT(tc_expect(&t, "221 bye"));
	CU_ASSERT(tc_eof(&t, WAIT_MS));
	usleep(60000);
	tc_close(&t);
	env_stop(&e);
}

static void test_max_sessions(void)
{
	struct env e;
	struct tc a, b, c, d;
	struct kt_stats st;

	env_start(&e, 1, 2, 1000);
	CU_ASSERT_FATAL(tc_open(&a, e.port));
	CU_ASSERT(tc_expect(&a, "220 fake"));
	CU_ASSERT_FATAL(tc_open(&b, e.port));
	CU_ASSERT(tc_expect(&b, "220 fake"));
	CU_ASSERT_FATAL(tc_open(&c, e.port));
	CU_ASSERT(tc_expect(&c, "421 4.3.2 Too many sessions, try again later"));
	CU_ASSERT(tc_eof(&c, WAIT_MS));
	tc_close(&c);
	kt_get_stats(e.k, &st);
	CU_ASSERT_EQUAL(st.rejected_busy, 1);
	CU_ASSERT_EQUAL(atomic_load(&fake.starts), 2);

	/* room again once one ends */
	tc_send(&a, "QUIT\r\n");
	CU_ASSERT(tc_expect(&a, "221 bye"));
	WAIT_UNTIL(atomic_load(&fake.frees) == 1, WAIT_MS);
	CU_ASSERT_FATAL(tc_open(&d, e.port));
	CU_ASSERT(tc_expect(&d, "220 fake"));
	tc_close(&a);
	tc_close(&b);
	tc_close(&d);
	env_stop(&e);
}

/* ---- back-pressure: 5 MB from a client to a backend that reads slowly */

#define BP_LINE  100
#define BP_LINES 52429   /* 5 MB */

static char bp_byte(size_t off)
{
	size_t line = off / BP_LINE, pos = off % BP_LINE;
	char head[24];

	if (pos == BP_LINE - 1)
		return '\n';
	if (pos < 9) {
		snprintf(head, sizeof(head), "d%08zu", line);
		return head[pos];
	}
	return (char)('a' + (line + pos) % 26);
}

struct bp_sender {
	int    fd;
	size_t sent;
};

static void *bp_send(void *arg)
{
	struct bp_sender *s = arg;
	char chunk[BP_LINE * 40];

	for (size_t off = 0; off < (size_t)BP_LINE * BP_LINES; off += sizeof(chunk)) {
		size_t n = SL_MIN(sizeof(chunk), (size_t)BP_LINE * BP_LINES - off);
		for (size_t i = 0; i < n; i++)
			chunk[i] = bp_byte(off + i);
		send_all(s->fd, chunk, n);
		s->sent += n;
	}
	return NULL;
}

static void test_backpressure(void)
{
	struct env e;
	struct tc t;
	uint16_t bport;
	int lfd = srv_listen(&bport, 16384), bfd;
	struct bp_sender snd;
	pthread_t th;
	const size_t total = (size_t)BP_LINE * BP_LINES;
	size_t got = 0, bad = 0;
	char buf[8192];

	env_start(&e, 1, 100, 1000);
	CU_ASSERT_FATAL(tc_open(&t, e.port));
	CU_ASSERT(tc_expect(&t, "220 fake"));
	attach_backend(&t, lfd, bport, &bfd);
	snd.fd = t.fd;
	snd.sent = 0;
	pthread_create(&th, NULL, bp_send, &snd);
	/* slow: nothing for a while (every buffer on the way fills), then 8 KiB
	 * reads with pauses */
	usleep(300000);
	while (got < total) {
		struct pollfd p = { .fd = bfd, .events = POLLIN };
		if (poll(&p, 1, WAIT_MS) <= 0)
			break;
		ssize_t r = recv(bfd, buf, sizeof(buf), 0);
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			bad += buf[i] != bp_byte(got + (size_t)i);
		got += (size_t)r;
		usleep(200);
	}
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(got, total);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(atomic_load(&fake.blocks) > 0);
	CU_ASSERT_EQUAL(atomic_load(&fake.forward_errors), 0);
	CU_ASSERT(atomic_load(&fake.max_pending) <= KT_OUT_MAX);
	/* the session's own 200 KiB threshold held, plus at most one input buffer */
	CU_ASSERT(atomic_load(&fake.max_pending) <= 200u * 1024 + KT_IN_SIZE);

	tc_send(&t, "QUIT\r\n");
	CU_ASSERT(tc_expect(&t, "221 bye"));
	CU_ASSERT_EQUAL(peer_end(bfd), 0);
	close(bfd);
	tc_close(&t);
	close(lfd);
	env_stop(&e);
}

/* The other way: a backend floods a client that does not read. */
#define FLOOD_CHUNKS 1024   /* 16 MB */
struct flood {
	int            fd;
	_Atomic size_t sent;
};

static void *flood_send(void *arg)
{
	struct flood *f = arg;
	char chunk[16384];

	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < FLOOD_CHUNKS; i++) {
		send_all(f->fd, chunk, sizeof(chunk));
		f->sent += sizeof(chunk);
	}
	return NULL;
}

static void test_backend_flood(void)
{
	struct env e;
	struct tc t;
	uint16_t bport;
	int lfd = srv_listen(&bport, 0), bfd;
	struct flood f = { .fd = -1 };
	pthread_t th;
	size_t got = 0, want = (size_t)FLOOD_CHUNKS * 16384;
	char buf[16384];

	env_start(&e, 1, 100, 1000);
	CU_ASSERT_FATAL(tc_open(&t, e.port));
	CU_ASSERT(tc_expect(&t, "220 fake"));
	attach_backend(&t, lfd, bport, &bfd);
	f.fd = bfd;
	pthread_create(&th, NULL, flood_send, &f);
	usleep(300000);   /* the client reads nothing for a while */
	CU_ASSERT(atomic_load(&f.sent) < want);
	while (got < want) {
		struct pollfd p = { .fd = t.fd, .events = POLLIN };
		if (poll(&p, 1, WAIT_MS) <= 0)
			break;
		ssize_t r = recv(t.fd, buf, sizeof(buf), 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(got, want);
	CU_ASSERT_EQUAL(atomic_load(&fake.forward_errors), 0);
	CU_ASSERT(atomic_load(&fake.max_pending_client) <= KT_OUT_MARK + KT_RBUF_SIZE);
	close(bfd);
	CU_ASSERT(tc_expect(&t, "421 backend lost 0"));
	tc_close(&t);
	close(lfd);
	env_stop(&e);
}

/* ---- policy: queries out, verdicts routed back by session id */

static void push_verdict(struct env *e, unsigned w, uint64_t id, uint32_t seq, uint8_t action, uint16_t code)
{
	struct ctl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CTL_MSG_POLICY_VERDICT;
	m.worker = (uint16_t)w;
	m.session = id;
	m.seq = seq;
	m.u.verdict.action = action;
	m.u.verdict.code = code;
	fake_control_push(e->ctl, w, &m);
}

static void test_verdict_routing(void)
{
	struct env e;
	struct tc a, b;
	struct ctl_msg q1, q2, *qa, *qb;
	char line[128];

	env_start(&e, 1, 100, 1000);
	CU_ASSERT_FATAL(tc_open(&a, e.port));
	CU_ASSERT(tc_expect(&a, "220 fake"));
	CU_ASSERT_FATAL(tc_open(&b, e.port));
	CU_ASSERT(tc_expect(&b, "220 fake"));
	tc_send(&a, "POLICY\r\nPING\r\n");
	tc_send(&b, "POLICY\r\nPING\r\n");
	CU_ASSERT_FATAL(fake_control_pop(e.ctl, 0, &q1, WAIT_MS));
	CU_ASSERT_FATAL(fake_control_pop(e.ctl, 0, &q2, WAIT_MS));
	CU_ASSERT_EQUAL(q1.type, CTL_MSG_POLICY_QUERY);
	CU_ASSERT_EQUAL(q2.type, CTL_MSG_POLICY_QUERY);
	CU_ASSERT_NOT_EQUAL(q1.session, q2.session);
	CU_ASSERT(fake_control_wakes(e.ctl) >= 1);
	qa = q1.u.query.client.port == local_port(a.fd) ? &q1 : &q2;
	qb = qa == &q1 ? &q2 : &q1;
	CU_ASSERT_EQUAL(qb->u.query.client.port, local_port(b.fd));
	CU_ASSERT_EQUAL(qa->seq, 1);

	/* the pipelined PING waits behind the query */
	CU_ASSERT(tc_quiet(&a, 100));
	push_verdict(&e, 0, qb->session, qb->seq, POL_REJECT, 550);
	CU_ASSERT(tc_expect(&b, "250 verdict 1 1 550"));
	CU_ASSERT(tc_expect(&b, "250 pong"));
	CU_ASSERT(tc_quiet(&a, 50));
	push_verdict(&e, 0, qa->session, qa->seq, POL_ACCEPT, 250);
	CU_ASSERT(tc_expect(&a, "250 verdict 1 0 250"));
	CU_ASSERT(tc_expect(&a, "250 pong"));

	/* a second query of the same session gets the next seq */
	tc_send(&a, "POLICY\r\n");
	CU_ASSERT_FATAL(fake_control_pop(e.ctl, 0, &q1, WAIT_MS));
	CU_ASSERT_EQUAL(q1.seq, 2);
	CU_ASSERT_EQUAL(q1.session, qa->session);
	push_verdict(&e, 0, q1.session, q1.seq, POL_TEMPFAIL, 451);
	CU_ASSERT(tc_expect(&a, "250 verdict 2 2 451"));
	CU_ASSERT(tc_line(&b, line, sizeof(line), 50) == 0);
	tc_close(&a);
	tc_close(&b);
	env_stop(&e);
}

/* A verdict for a session that ended is dropped, even once its slot is reused. */
static void test_verdict_stale(void)
{
	struct env e;
	struct tc c, d;
	struct ctl_msg q;
	struct kt_stats st;

	env_start(&e, 1, 1000, 1000);
	CU_ASSERT_FATAL(tc_open(&c, e.port));
	CU_ASSERT(tc_expect(&c, "220 fake"));
	tc_send(&c, "POLICY\r\n");
	CU_ASSERT_FATAL(fake_control_pop(e.ctl, 0, &q, WAIT_MS));
	tc_close(&c);
	WAIT_UNTIL(atomic_load(&fake.frees) == 1, WAIT_MS);
	CU_ASSERT_EQUAL(atomic_load(&fake.frees), 1);

	/* enough sessions that the slot of c comes round again */
	for (int i = 0; i < 300; i++) {
		CU_ASSERT_FATAL(tc_open(&d, e.port));
		CU_ASSERT(tc_expect(&d, "220 fake"));
		tc_close(&d);
	}
	CU_ASSERT_FATAL(tc_open(&d, e.port));
	CU_ASSERT(tc_expect(&d, "220 fake"));
	push_verdict(&e, 0, q.session, q.seq, POL_REJECT, 554);
	/* and one with another worker's id, and one far out of the table */
	push_verdict(&e, 0, q.session | (7ull << 48), q.seq, POL_REJECT, 554);
	push_verdict(&e, 0, q.session | (0xfffffull << SL_SLOT_GEN_BITS), q.seq, POL_REJECT, 554);
	tc_send(&d, "PING\r\n");
	CU_ASSERT(tc_expect(&d, "250 pong"));
	CU_ASSERT(tc_quiet(&d, 100));
	WAIT_UNTIL((kt_get_stats(e.k, &st), st.verdicts_stale == 3), WAIT_MS);
	CU_ASSERT_EQUAL(st.verdicts_stale, 3);
	CU_ASSERT_EQUAL(st.verdicts, 0);
	tc_close(&d);
	env_stop(&e);
}

static void test_policy_ring_full(void)
{
	struct env e;
	struct tc t[3];
	struct ctl_msg q;
	struct kt_stats st;

	env_start_ring(&e, 1, 100, 1000, 2);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_FATAL(tc_open(&t[i], e.port));
		CU_ASSERT(tc_expect(&t[i], "220 fake"));
	}
	tc_send(&t[0], "POLICY\r\n");
	tc_send(&t[1], "POLICY\r\n");
	WAIT_UNTIL((kt_get_stats(e.k, &st), st.policy_sent == 2), WAIT_MS);
	tc_send(&t[2], "POLICY\r\n");
	CU_ASSERT(tc_expect(&t[2], "451 policy ring full"));
	kt_get_stats(e.k, &st);
	CU_ASSERT_EQUAL(st.policy_full, 1);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_FATAL(fake_control_pop(e.ctl, 0, &q, WAIT_MS));
		push_verdict(&e, 0, q.session, q.seq, POL_ACCEPT, 0);
	}
	CU_ASSERT(tc_expect(&t[0], "250 verdict 1"));
	CU_ASSERT(tc_expect(&t[1], "250 verdict 1"));
	for (int i = 0; i < 3; i++)
		tc_close(&t[i]);
	env_stop(&e);
}

/* Four workers: every query names its worker, every verdict finds its session. */
static void test_workers(void)
{
	enum { N = 24 };
	struct env e;
	struct tc t[N];
	struct ctl_msg q;
	unsigned seen = 0;
	char want[64];

	env_start(&e, 4, 100, 1000);
	for (int i = 0; i < N; i++) {
		CU_ASSERT_FATAL(tc_open(&t[i], e.port));
		CU_ASSERT(tc_expect(&t[i], "220 fake"));
		tc_send(&t[i], "POLICY\r\n");
	}
	for (int n = 0; n < N; n++) {
		CU_ASSERT_FATAL(fake_control_pop_any(e.ctl, &q, WAIT_MS));
		CU_ASSERT_EQUAL(q.session >> 48, q.worker);
		CU_ASSERT_EQUAL(q.u.query.worker, q.worker);
		seen |= 1u << q.worker;
		int idx = -1;
		for (int i = 0; i < N; i++)
			if (local_port(t[i].fd) == q.u.query.client.port)
				idx = i;
		CU_ASSERT_FATAL(idx >= 0);
		push_verdict(&e, q.worker, q.session, q.seq, POL_ACCEPT, (uint16_t)(200 + idx));
	}
	CU_ASSERT(__builtin_popcount(seen) >= 2);
	for (int i = 0; i < N; i++) {
		snprintf(want, sizeof(want), "250 verdict 1 0 %d", 200 + i);
		CU_ASSERT(tc_expect(&t[i], want));
		tc_close(&t[i]);
	}
	env_stop(&e);
}

/* RELOAD swaps the worker's config (new sessions see it); SNAPSHOT and
 * RELOAD generations are reported as quiescent. */
static void test_reload(void)
{
	struct env e;
	struct tc a, b;
	struct ctl_msg m;
	struct cfg *c2;

	env_start(&e, 1, 5, 1000);
	c2 = cfg_defaults();
	c2->max_sessions = 1;
	fake_control_set_cfg(e.ctl, c2);
	memset(&m, 0, sizeof(m));
	m.type = CTL_MSG_RELOAD;
	m.generation = 7;
	fake_control_push(e.ctl, 0, &m);
	WAIT_UNTIL(fake_control_quiescent(e.ctl, 0) == 7, WAIT_MS);
	CU_ASSERT_EQUAL(fake_control_quiescent(e.ctl, 0), 7);
	CU_ASSERT_FATAL(tc_open(&a, e.port));
	CU_ASSERT(tc_expect(&a, "220 fake"));
	CU_ASSERT_FATAL(tc_open(&b, e.port));
	CU_ASSERT(tc_expect(&b, "421 4.3.2"));
	m.type = CTL_MSG_SNAPSHOT;
	m.generation = 8;
	fake_control_push(e.ctl, 0, &m);
	WAIT_UNTIL(fake_control_quiescent(e.ctl, 0) == 8, WAIT_MS);
	CU_ASSERT_EQUAL(fake_control_quiescent(e.ctl, 0), 8);
	tc_close(&a);
	tc_close(&b);
	cfg_unref(c2);
	env_stop(&e);
}

/* ---- shutdown */

static void test_shutdown_idle(void)
{
	struct env e;
	struct tc t;
	uint64_t t0;

	/* one worker: its listener is closed before its sessions hear of the
	 * shutdown, so once the 421 is here a connect must fail */
	env_start(&e, 1, 100, 5000);
	CU_ASSERT_FATAL(tc_open(&t, e.port));
	CU_ASSERT(tc_expect(&t, "220 fake"));
	t0 = sl_clock_ms();
	kt_shutdown(e.k);
	CU_ASSERT(tc_expect(&t, "421 4.3.2 shutting down"));
	CU_ASSERT(tc_eof(&t, WAIT_MS));
	tc_close(&t);   /* ends the transport's linger */
	/* the listeners are gone */
	int fd = tcp_connect(e.port);
	CU_ASSERT(fd < 0);
	if (fd >= 0)
		close(fd);
	kt_join(e.k);
	CU_ASSERT(sl_clock_ms() - t0 < 2000);
	CU_ASSERT_EQUAL(atomic_load(&fake.shutdowns), 1);
	CU_ASSERT_EQUAL(atomic_load(&fake.frees), 1);
	fake_control_free(e.ctl);
	cfg_unref(e.cfg);
}

/* A session in a transaction finishes it: it still relays, then quits. */
static void test_shutdown_busy(void)
{
	struct env e;
	struct tc t;
	uint16_t bport;
	int lfd = srv_listen(&bport, 0), bfd;
	char buf[16];
	uint64_t t0;

	env_start(&e, 1, 100, 5000);
	CU_ASSERT_FATAL(tc_open(&t, e.port));
	CU_ASSERT(tc_expect(&t, "220 fake"));
	attach_backend(&t, lfd, bport, &bfd);
	tc_send(&t, "BUSY\r\n");
	CU_ASSERT(tc_expect(&t, "250 busy"));
	t0 = sl_clock_ms();
	kt_shutdown(e.k);
	WAIT_UNTIL(atomic_load(&fake.shutdowns) == 1, WAIT_MS);
	tc_send(&t, "message\r\n");
	CU_ASSERT_EQUAL(recv_n(bfd, buf, 9), 9);
	CU_ASSERT(memcmp(buf, "message\r\n", 9) == 0);
	send_all(bfd, "250 queued\r\n", 12);
	CU_ASSERT(tc_expect(&t, "250 queued"));
	tc_send(&t, "QUIT\r\n");
	CU_ASSERT(tc_expect(&t, "221 bye"));
	CU_ASSERT(tc_eof(&t, WAIT_MS));
	CU_ASSERT_EQUAL(peer_end(bfd), 0);
	tc_close(&t);
	close(bfd);
	kt_join(e.k);
	CU_ASSERT(sl_clock_ms() - t0 < 4000);
	CU_ASSERT_EQUAL(atomic_load(&fake.frees), 1);
	close(lfd);
	fake_control_free(e.ctl);
	cfg_unref(e.cfg);
}

/* A session that does not finish within the grace is reset, and the workers exit. */
static void test_shutdown_grace(void)
{
	struct env e;
	struct tc t, idle;
	uint16_t bport;
	int lfd = srv_listen(&bport, 0), bfd;
	uint64_t t0, dt;

	env_start(&e, 1, 100, 300);
	CU_ASSERT_FATAL(tc_open(&t, e.port));
	CU_ASSERT(tc_expect(&t, "220 fake"));
	attach_backend(&t, lfd, bport, &bfd);
	tc_send(&t, "BUSY\r\n");
	CU_ASSERT(tc_expect(&t, "250 busy"));
	CU_ASSERT_FATAL(tc_open(&idle, e.port));
	CU_ASSERT(tc_expect(&idle, "220 fake"));
	t0 = sl_clock_ms();
	kt_shutdown(e.k);
	CU_ASSERT(tc_expect(&idle, "421 4.3.2 shutting down"));
	CU_ASSERT(tc_eof(&t, WAIT_MS));
	dt = sl_clock_ms() - t0;
	CU_ASSERT(dt >= 250);
	CU_ASSERT_EQUAL(peer_end(bfd), 1);
	kt_join(e.k);
	CU_ASSERT(sl_clock_ms() - t0 < 2000);
	CU_ASSERT_EQUAL(atomic_load(&fake.frees), 2);
	close(bfd);
	close(lfd);
	tc_close(&t);
	tc_close(&idle);
	fake_control_free(e.ctl);
	cfg_unref(e.cfg);
}

static void test_bind_error(void)
{
	struct cfg *c = cfg_defaults();
	uint16_t port;
	int lfd = srv_listen(&port, 0);   /* no SO_REUSEPORT: the port is taken */
	char err[256] = "", want[64];
	struct kt *k;

	c->nlisten = 2;
	sl_addr_parse("127.0.0.1:0", &c->listen[0], true);
	c->listen[1] = c->listen[0];
	c->listen[1].port = port;
	c->workers = 2;
	k = kt_start(c, NULL, NULL, err, sizeof(err));
	CU_ASSERT_PTR_NULL(k);
	snprintf(want, sizeof(want), "listen 127.0.0.1:%u: bind:", port);
	CU_ASSERT(strncmp(err, want, strlen(want)) == 0);
	if (k != NULL) {
		kt_shutdown(k);
		kt_join(k);
	}
	close(lfd);
	cfg_unref(c);
}

/* Both families on one port number, and no control at all. */
static void test_ipv6_no_control(void)
{
	struct cfg *c = cfg_defaults();
	char err[256] = "";
	struct kt *k;
	struct tc t;

	fake_reset();
	c->nlisten = 2;
	sl_addr_parse("127.0.0.1:0", &c->listen[0], true);
	sl_addr_parse("[::1]:0", &c->listen[1], true);
	c->workers = 2;
	k = kt_start(c, NULL, NULL, err, sizeof(err));
	if (k == NULL) {
		/* a host without IPv6 loopback */
		fprintf(stderr, "ipv6 skipped: %s\n", err);
		cfg_unref(c);
		return;
	}
	CU_ASSERT_NOT_EQUAL(kt_listen_port(k, 1), 0);

	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(kt_listen_port(k, 1)),
				     .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	t.len = 0;
	t.fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(connect(t.fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0);
	CU_ASSERT(tc_expect(&t, "220 fake"));
	tc_send(&t, "POLICY\r\n");
	CU_ASSERT(tc_expect(&t, "451 policy ring full"));
	tc_close(&t);
	CU_ASSERT_FATAL(tc_open(&t, kt_listen_port(k, 0)));
	CU_ASSERT(tc_expect(&t, "220 fake"));
	tc_close(&t);
	kt_shutdown(k);
	kt_join(k);
	CU_ASSERT_EQUAL(atomic_load(&fake.starts), atomic_load(&fake.frees));
	cfg_unref(c);
}

static void test_workers_for(void)
{
	struct cfg *c = cfg_defaults();

	c->workers = 3;
	CU_ASSERT_EQUAL(kt_workers_for(c), 3);
	c->workers = 0;
	CU_ASSERT(kt_workers_for(c) >= 1);
	cfg_unref(c);
}

void register_tests(void)
{
	static const struct test_case basic[] = {
		{ "workers_for", test_workers_for },
		{ "greet_ping_quit", test_greet_ping_quit },
		{ "split_input", test_split_input },
		{ "timers", test_timers },
		{ "max_sessions", test_max_sessions },
		{ "bind_error", test_bind_error },
		{ "ipv6_no_control", test_ipv6_no_control },
		{ NULL, NULL },
	};
	static const struct test_case legs[] = {
		{ "backend_relay", test_backend_relay },
		{ "backend_refused", test_backend_refused },
		{ "backend_eof_reset", test_backend_eof_reset },
		{ "client_eof_reset", test_client_eof_reset },
		{ "backpressure_5mb", test_backpressure },
		{ "backend_flood", test_backend_flood },
		{ NULL, NULL },
	};
	static const struct test_case control[] = {
		{ "verdict_routing", test_verdict_routing },
		{ "verdict_stale", test_verdict_stale },
		{ "policy_ring_full", test_policy_ring_full },
		{ "workers", test_workers },
		{ "reload", test_reload },
		{ NULL, NULL },
	};
	static const struct test_case shut[] = {
		{ "idle", test_shutdown_idle },
		{ "busy", test_shutdown_busy },
		{ "grace", test_shutdown_grace },
		{ NULL, NULL },
	};

	signal(SIGPIPE, SIG_IGN);
	test_suite("kt_basic", basic);
	test_suite("kt_legs", legs);
	test_suite("kt_control", control);
	test_suite("kt_shutdown", shut);
}
