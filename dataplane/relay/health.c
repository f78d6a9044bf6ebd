/* health.c - active SMTP health checks of the backends on the control thread's event loop. */
#include "health.h"
#include "proxy_proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend_reply.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

enum probe_state { PROBE_IDLE = 0, PROBE_CONNECTING, PROBE_GREETING };

/* One check in flight per backend slot, at most. */
struct health_probe {
	struct health_checker *h;
	int              idx;       /**< backend slot */
	enum probe_state state;
	int              fd;
	struct sl_addr   addr;      /**< what is being checked (the slot may be reconfigured) */
	enum cfg_proxy   proxy;     /**< the backend expects a PROXY header first */
	struct tw_timer  timeout;
	struct backend_reply_parser parser;
};

struct health_checker {
	struct sl_evloop     *loop;
	struct backend_pool  *pool;
	uint32_t              interval_ms;
	uint32_t              timeout_ms;
	uint32_t              rise, fall;
	struct tw_timer       tick;
	struct backend_reply  reply;   /**< scratch for a parsed greeting */
	struct health_probe   probes[CFG_BACKEND_MAX];
};

static void probe_stop(struct health_probe *pr)
{
	struct health_checker *h = pr->h;

	tw_cancel(sl_evloop_wheel(h->loop), &pr->timeout);
	if (pr->fd >= 0) {
		sl_evloop_del(h->loop, pr->fd);
		close(pr->fd);
		pr->fd = -1;
	}
	pr->state = PROBE_IDLE;
}

static void probe_done(struct health_probe *pr, bool ok, const char *why)
{
	struct health_checker *h = pr->h;
	char addr[SL_ADDR_STRLEN];

	probe_stop(pr);
	if (!ok)
		sl_debug("health check of backend %s %s failed: %s", h->pool->slots[pr->idx].cfg.name,
			 sl_addr_format(&pr->addr, addr, sizeof(addr), true), why);
	backend_pool_health_result_why(h->pool, pr->idx, ok, h->rise, h->fall, why);
}

static void probe_timeout(struct tw_timer *t)
{
	struct health_probe *pr = (struct health_probe *)((char *)t - offsetof(struct health_probe, timeout));

	probe_done(pr, false, pr->state == PROBE_CONNECTING ? "connect timeout" : "greeting timeout");
}

static void probe_read(struct health_probe *pr)
{
	uint8_t buf[2048];
	char why[64];

	for (;;) {
		ssize_t n = recv(pr->fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			snprintf(why, sizeof(why), "read: %s", strerror(errno));
			probe_done(pr, false, why);
			return;
		}
		if (n == 0) {
			probe_done(pr, false, "closed before the greeting");
			return;
		}
		size_t used = 0;
		int st = backend_reply_parse(&pr->parser, buf, (size_t)n, &used, &pr->h->reply);
		if (st == SL_AGAIN)
			continue;
		if (st != SL_OK) {
			probe_done(pr, false, "malformed greeting");
			return;
		}
		bool ok = pr->h->reply.code / 100 == 2;
		/* say goodbye politely; a full socket buffer here is not worth waiting for */
		static const char quit[] = "QUIT\r\n";
		ssize_t w = send(pr->fd, quit, sizeof(quit) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)w;
		snprintf(why, sizeof(why), "greeting %u", pr->h->reply.code);
		probe_done(pr, ok, why);
		return;
	}
}

static void probe_event(struct sl_evloop *l, int fd, unsigned events, void *arg)
{
	struct health_probe *pr = arg;
	char why[64];

	if (pr->state == PROBE_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err == 0 && (events & SL_EV_ERROR))
			err = ECONNRESET;
		if (err != 0) {
			snprintf(why, sizeof(why), "connect: %s", strerror(err));
			probe_done(pr, false, why);
			return;
		}
		if (!(events & (SL_EV_WRITE | SL_EV_READ)))
			return;
		pr->state = PROBE_GREETING;
		/* A backend behind the PROXY protocol greets only after the header.
		 * v2 has LOCAL for a connection of our own, as HAProxy's checks
		 * send; v1 has only UNKNOWN, which Postfix 3.7 refuses, so v1 names
		 * this very connection: our address to the backend's. */
		if (pr->proxy != CFG_PROXY_OFF) {
			uint8_t hdr[PROXY_V1_MAX];
			size_t n = 0;
			if (pr->proxy == CFG_PROXY_V2) {
				n = proxy_v2_local(hdr, sizeof(hdr));
			} else {
				struct sockaddr_storage me;
				socklen_t ml = sizeof(me);
				struct sl_addr src;
				if (getsockname(fd, (struct sockaddr *)&me, &ml) == 0 &&
				    sl_addr_from_sockaddr(&src, (struct sockaddr *)&me) == 0)
					n = proxy_v1_build((char *)hdr, sizeof(hdr), &src, &pr->addr);
			}
			if (n == 0 || send(fd, hdr, n, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)n) {
				probe_done(pr, false, "PROXY header");
				return;
			}
		}
		if (sl_evloop_mod(l, fd, SL_EV_READ) < 0) {
			probe_done(pr, false, "event loop");
			return;
		}
		if (!(events & SL_EV_READ))
			return;
	}
	if (pr->state == PROBE_GREETING)
		probe_read(pr);
}

static void probe_start(struct health_checker *h, int idx)
{
	struct health_probe *pr = &h->probes[idx];
	struct sockaddr_storage ss;
	unsigned sslen = 0;
	char why[64];

	pr->addr = h->pool->slots[idx].cfg.addr;
	pr->proxy = h->pool->slots[idx].cfg.proxy;
	backend_reply_parser_init(&pr->parser);
	tw_arm(sl_evloop_wheel(h->loop), &pr->timeout, sl_evloop_now(h->loop) + h->timeout_ms);
	pr->state = PROBE_CONNECTING;

	if (sl_addr_to_sockaddr(&pr->addr, &ss, &sslen) < 0) {
		probe_done(pr, false, "bad address");
		return;
	}
	pr->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (pr->fd < 0) {
		snprintf(why, sizeof(why), "socket: %s", strerror(errno));
		probe_done(pr, false, why);
		return;
	}
	if (connect(pr->fd, (struct sockaddr *)&ss, sslen) < 0 && errno != EINPROGRESS) {
		snprintf(why, sizeof(why), "connect: %s", strerror(errno));
		probe_done(pr, false, why);
		return;
	}
	/* connected at once or not, the write event says when to look at SO_ERROR */
	if (sl_evloop_add(h->loop, pr->fd, SL_EV_WRITE, probe_event, pr) < 0) {
		close(pr->fd);
		pr->fd = -1;
		probe_done(pr, false, "event loop");
	}
}

static void health_tick(struct tw_timer *t)
{
	struct health_checker *h = (struct health_checker *)((char *)t - offsetof(struct health_checker, tick));

	if (h->interval_ms == 0)
		return;
	tw_arm(sl_evloop_wheel(h->loop), &h->tick, sl_evloop_now(h->loop) + h->interval_ms);
	for (int i = 0; i < CFG_BACKEND_MAX; i++)
		if (atomic_load(&h->pool->slots[i].in_use) && h->probes[i].state == PROBE_IDLE)
			probe_start(h, i);
}

static void health_set(struct health_checker *h, const struct cfg *c)
{
	uint32_t old = h->interval_ms;

	h->interval_ms = c->relay.health_interval_ms;
	h->timeout_ms = c->relay.health_timeout_ms ? c->relay.health_timeout_ms : 5000;
	/* a check cannot take longer than the gap between two */
	if (h->interval_ms != 0 && h->timeout_ms > h->interval_ms)
		h->timeout_ms = h->interval_ms;
	h->rise = c->relay.health_rise;
	h->fall = c->relay.health_fall;
	if (h->interval_ms == 0)
		tw_cancel(sl_evloop_wheel(h->loop), &h->tick);
	else if (old != h->interval_ms || !tw_armed(&h->tick))
		/* the first round starts at once, then every interval */
		tw_arm(sl_evloop_wheel(h->loop), &h->tick, sl_evloop_now(h->loop));
}

struct health_checker *health_checker_new(struct sl_evloop *l, struct backend_pool *pool,
					  const struct cfg *c)
{
	struct health_checker *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->loop = l;
	h->pool = pool;
	tw_timer_init(&h->tick, health_tick);
	for (int i = 0; i < CFG_BACKEND_MAX; i++) {
		struct health_probe *pr = &h->probes[i];
		pr->h = h;
		pr->idx = i;
		pr->fd = -1;
		pr->state = PROBE_IDLE;
		tw_timer_init(&pr->timeout, probe_timeout);
	}
	health_set(h, c);
	return h;
}

void health_checker_apply(struct health_checker *h, const struct cfg *c)
{
	/* a check of a backend that was removed or moved says nothing about the new one */
	for (int i = 0; i < CFG_BACKEND_MAX; i++) {
		struct health_probe *pr = &h->probes[i];
		struct backend_slot *s = &h->pool->slots[i];
		if (pr->state != PROBE_IDLE &&
		    (!atomic_load(&s->in_use) || !sl_addr_equal(&pr->addr, &s->cfg.addr) ||
		     pr->addr.port != s->cfg.addr.port))
			probe_stop(pr);
	}
	health_set(h, c);
}

void health_checker_free(struct health_checker *h)
{
	if (h == NULL)
		return;
	for (int i = 0; i < CFG_BACKEND_MAX; i++)
		probe_stop(&h->probes[i]);
	tw_cancel(sl_evloop_wheel(h->loop), &h->tick);
	free(h);
}
