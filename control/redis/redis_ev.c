/* redis_ev.c - hiredis async on sl_evloop: fd interest, connect timeout, AUTH/SELECT, reconnect with backoff. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "redis/redis_priv.h"
#include "redis/redis_store.h"
#include "util/sl_evloop.h"
#include "util/sl_log.h"

#define CONN_OF(t, field) ((struct redis_conn *)((char *)(t) - offsetof(struct redis_conn, field)))

/* ---- the adapter: hiredis says which events it wants, we tell epoll */

static void on_fd(struct sl_evloop *l, int fd, unsigned events, void *arg)
{
	struct redis_conn *rc = arg;
	redisAsyncContext *ac = rc->ac;

	(void)l;
	(void)fd;
	if (ac == NULL)
		return;
	/* An error on a connecting socket comes without EPOLLIN: hiredis finds
	 * the connect result in either handler. */
	if (events & (SL_EV_READ | SL_EV_ERROR))
		redisAsyncHandleRead(ac);
	/* the read may have freed the context (disconnect): look again */
	if ((events & SL_EV_WRITE) && rc->ac == ac) {
		rc->writes++;
		redisAsyncHandleWrite(ac);
	}
}

static void set_interest(struct redis_conn *rc, unsigned events)
{
	rc->events = events;
	if (!rc->fd_added) {
		if (sl_evloop_add(rc->loop, rc->fd, events, on_fd, rc) == 0)
			rc->fd_added = true;
		else
			sl_err("redis: cannot watch fd %d: %s", rc->fd, strerror(errno));
		return;
	}
	sl_evloop_mod(rc->loop, rc->fd, events);
}

static void ev_add_read(void *p)  { struct redis_conn *rc = p; set_interest(rc, rc->events | SL_EV_READ); }
static void ev_del_read(void *p)  { struct redis_conn *rc = p; set_interest(rc, rc->events & ~SL_EV_READ); }
static void ev_add_write(void *p) { struct redis_conn *rc = p; set_interest(rc, rc->events | SL_EV_WRITE); }
static void ev_del_write(void *p) { struct redis_conn *rc = p; set_interest(rc, rc->events & ~SL_EV_WRITE); }

/* hiredis calls this before it closes the fd: drop it from epoll first, or
 * a new socket with the same number would inherit our handler */
static void ev_cleanup(void *p)
{
	struct redis_conn *rc = p;

	if (rc->fd_added)
		sl_evloop_del(rc->loop, rc->fd);
	rc->fd_added = false;
	rc->events = 0;
	rc->fd = -1;
}

static void attach(struct redis_conn *rc, redisAsyncContext *ac)
{
	rc->fd = ac->c.fd;
	rc->events = 0;
	rc->fd_added = false;
	ac->ev.data = rc;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	ac->data = rc;
}

static const char *conn_name(const struct redis_conn *rc)
{
	return rc->what != NULL ? rc->what : "redis";
}

/* ---- reconnect */

static uint64_t next_rand(struct redis_conn *rc)
{
	/* xorshift64*: jitter only, no secrecy needed */
	rc->rng ^= rc->rng >> 12;
	rc->rng ^= rc->rng << 25;
	rc->rng ^= rc->rng >> 27;
	return rc->rng * 0x2545f4914f6cdd1dull;
}

/* Full-ish jitter in [backoff/2, backoff]: a fleet that lost Redis together
 * does not come back in lock step. */
static void schedule_retry(struct redis_conn *rc)
{
	uint32_t b = rc->backoff_ms, d;

	rc->state = REDIS_DOWN;
	rc->ac = NULL;
	tw_cancel(sl_evloop_wheel(rc->loop), &rc->connect_timer);
	if (rc->closing)
		return;
	d = b / 2 + (uint32_t)(next_rand(rc) % (b / 2 + 1));
	rc->backoff_ms = b >= rc->backoff_max_ms / 2 ? rc->backoff_max_ms : b * 2;
	tw_arm(sl_evloop_wheel(rc->loop), &rc->retry_timer, sl_evloop_now(rc->loop) + d);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct redis_conn *rc = ac->data;

	if (rc == NULL || rc->ac != ac)
		return;
	if (status != REDIS_OK) {
		/* the first failure in a row, then about once a minute at the
		 * longest backoff: a Redis down for hours must not flood the log */
		if (rc->failures++ % 16 == 0)
			sl_warn("%s: connect to %s%s%u failed: %s (retrying with backoff)",
				conn_name(rc), rc->path ? rc->path : rc->host, rc->path ? "" : ":",
				rc->path ? 0u : rc->port, ac->errstr);
		/* hiredis frees the context after this callback */
		schedule_retry(rc);
	}
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct redis_conn *rc = ac->data;

	if (rc == NULL || rc->ac != ac)
		return; /* we dropped it ourselves */
	if (status != REDIS_OK)
		sl_warn("%s: connection lost: %s", conn_name(rc), ac->errstr);
	schedule_retry(rc);
}

static void on_setup_reply(redisAsyncContext *ac, void *r, void *priv)
{
	struct redis_conn *rc = ac->data;
	redisReply *reply = r;
	const char *what = priv;

	if (reply == NULL || rc == NULL || rc->ac != ac)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		sl_err("%s: %s refused: %s", conn_name(rc), what, reply->str);
		redis_conn_drop(rc, what);
	}
}

static void on_connect_timeout(struct tw_timer *t)
{
	struct redis_conn *rc = CONN_OF(t, connect_timer);

	if (rc->state == REDIS_CONNECTING)
		redis_conn_drop(rc, "connect timeout");
}

static void connect_now(struct redis_conn *rc)
{
	redisAsyncContext *ac;

	ac = rc->path ? redisAsyncConnectUnix(rc->path) : redisAsyncConnect(rc->host, rc->port);
	if (ac == NULL || ac->err) {
		sl_warn("%s: connect: %s", conn_name(rc), ac ? ac->errstr : "no memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		schedule_retry(rc);
		return;
	}
	rc->ac = ac;
	rc->state = REDIS_CONNECTING;
	attach(rc, ac);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	/* queued now, written once the socket connects, answered in order */
	if (rc->password != NULL)
		redisAsyncCommand(ac, on_setup_reply, "AUTH", "AUTH %s", rc->password);
	if (rc->db > 0)
		redisAsyncCommand(ac, on_setup_reply, "SELECT", "SELECT %d", rc->db);
	if (rc->on_setup != NULL)
		rc->on_setup(rc, rc->arg);
	if (rc->ac == ac)
		tw_arm(sl_evloop_wheel(rc->loop), &rc->connect_timer,
		       sl_evloop_now(rc->loop) + rc->connect_timeout_ms);
}

static void on_retry(struct tw_timer *t)
{
	struct redis_conn *rc = CONN_OF(t, retry_timer);

	if (rc->state == REDIS_DOWN && !rc->closing)
		connect_now(rc);
}

int redis_conn_init(struct redis_conn *rc, struct sl_evloop *loop)
{
	rc->loop = loop;
	rc->fd = -1;
	rc->state = REDIS_DOWN;
	if (getrandom(&rc->rng, sizeof(rc->rng), GRND_NONBLOCK) != sizeof(rc->rng))
		rc->rng = (uint64_t)(uintptr_t)rc ^ sl_evloop_now(loop);
	rc->rng |= 1;
	tw_timer_init(&rc->retry_timer, on_retry);
	tw_timer_init(&rc->connect_timer, on_connect_timeout);
	return 0;
}

bool redis_conn_target(struct redis_conn *rc, const char *host, uint16_t port, const char *path,
		       const char *password, int db, uint32_t connect_timeout_ms, uint32_t backoff_min_ms,
		       uint32_t backoff_max_ms)
{
	rc->port = port ? port : 6379;
	rc->db = db;
	rc->connect_timeout_ms = connect_timeout_ms ? connect_timeout_ms : REDIS_DEFAULT_CONNECT_TIMEOUT_MS;
	rc->backoff_min_ms = backoff_min_ms ? backoff_min_ms : REDIS_DEFAULT_BACKOFF_MIN_MS;
	rc->backoff_max_ms = backoff_max_ms ? backoff_max_ms : REDIS_DEFAULT_BACKOFF_MAX_MS;
	if (rc->backoff_max_ms < rc->backoff_min_ms)
		rc->backoff_max_ms = rc->backoff_min_ms;
	rc->path = path ? strdup(path) : NULL;
	rc->host = path ? NULL : strdup(host ? host : "127.0.0.1");
	rc->password = password ? strdup(password) : NULL;
	return (path ? rc->path != NULL : rc->host != NULL) && (password == NULL || rc->password != NULL);
}

void redis_conn_start(struct redis_conn *rc)
{
	rc->backoff_ms = rc->backoff_min_ms;
	connect_now(rc);
}

void redis_conn_ready(struct redis_conn *rc)
{
	if (rc->state != REDIS_CONNECTING)
		return;
	rc->state = REDIS_UP;
	rc->backoff_ms = rc->backoff_min_ms;
	rc->failures = 0;
	tw_cancel(sl_evloop_wheel(rc->loop), &rc->connect_timer);
	sl_info("%s: connected to %s%s%u", conn_name(rc), rc->path ? rc->path : rc->host, rc->path ? "" : ":",
		rc->path ? 0u : rc->port);
}

void redis_conn_drop(struct redis_conn *rc, const char *why)
{
	redisAsyncContext *ac = rc->ac;

	if (ac == NULL)
		return;
	sl_warn("%s: dropping the connection: %s", conn_name(rc), why);
	/* detach first: the callbacks redisAsyncFree runs see ac != rc->ac */
	schedule_retry(rc);
	redisAsyncFree(ac);
}

void redis_conn_fini(struct redis_conn *rc)
{
	redisAsyncContext *ac = rc->ac;

	rc->closing = true;
	tw_cancel(sl_evloop_wheel(rc->loop), &rc->retry_timer);
	tw_cancel(sl_evloop_wheel(rc->loop), &rc->connect_timer);
	rc->ac = NULL;
	rc->state = REDIS_DOWN;
	if (ac != NULL)
		redisAsyncFree(ac);
	free(rc->host);
	free(rc->path);
	free(rc->password);
	rc->host = rc->path = rc->password = NULL;
}
