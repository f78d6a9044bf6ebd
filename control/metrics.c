/* metrics.c - Prometheus metrics: the exposition text, and an HTTP/1.0
 * responder for GET /metrics on the control loop (one request, then close). */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "ctlsock/ctl_sock.h"
#include "ctlsock/ctl_stats.h"
#include "metrics_relay.h"
#include "redis/redis_lists.h"
#include "redis/redis_store.h"
#include "relay/backend_pool.h"
#include "util/sl_clock.h"
#include "util/sl_evloop.h"
#include "util/sl_log.h"
#include "util/sl_ring.h"
#include "util/sl_status.h"

#define MET_REQ_MAX     4096    /* request line + headers */
#define MET_CLIENTS_MAX 32
#define MET_TIMEOUT_MS  10000   /* a scrape that does not finish its request in this is dropped */

/* ---- the text */

static void head(struct ctl_buf *b, const char *name, const char *type, const char *help)
{
	ctl_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(struct ctl_buf *b, const char *name, const char *type, const char *help, uint64_t v)
{
	head(b, name, type, help);
	ctl_buf_printf(b, "%s %" PRIu64 "\n", name, v);
}

/* A label value: backslash, quote and newline escaped. */
static void label(struct ctl_buf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			ctl_buf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			ctl_buf_puts(b, "\\n");
		else
			ctl_buf_add(b, v, 1);
	}
}

static void backend_metric(struct ctl_buf *b, struct backend_pool *p, const char *name, const char *type,
			   const char *help, int which)
{
	head(b, name, type, help);
	for (unsigned i = 0; i < CFG_BACKEND_MAX; i++) {
		const struct backend_slot *x = &p->slots[i];
		uint64_t v;
		if (!atomic_load(&x->in_use))
			continue;
		switch (which) {
		case 0: v = atomic_load(&x->up); break;
		case 1: v = atomic_load(&x->drained); break;
		case 2: v = atomic_load(&x->active); break;
		case 3: v = x->cfg.weight; break;
		default: v = atomic_load(&x->picked); break;
		}
		ctl_buf_printf(b, "%s{backend=\"", name);
		label(b, x->cfg.name);
		ctl_buf_printf(b, "\"} %" PRIu64 "\n", v);
	}
}

/* Does worker u have a record of this name? (a family already written from an earlier worker) */
static bool dp_has(const struct ctl_dp_rec *rec, const unsigned *cnt, unsigned stride, unsigned u,
		   const char *name)
{
	for (unsigned i = 0; i < cnt[u]; i++)
		if (strcmp(rec[u * stride + i].name, name) == 0)
			return true;
	return false;
}

void ctl_metrics_dataplane(struct ctl_buf *b, unsigned nw, const struct ctl_dp_rec *rec, const unsigned *cnt,
			   unsigned stride)
{
	char fam[160];

	/*
	 * The exposition wants every sample of a family in one group: a family
	 * is written when first met, with the samples of every worker at once.
	 * The workers of one transport give the same names in the same order;
	 * one that lacks some (no TCP stack) just has fewer samples.
	 */
	for (unsigned w = 0; w < nw; w++) {
		for (unsigned i = 0; i < cnt[w]; i++) {
			const struct ctl_dp_rec *x = &rec[w * stride + i];
			bool seen = i > 0 && strcmp(rec[w * stride + i - 1].name, x->name) == 0;

			for (unsigned u = 0; !seen && u < w; u++)
				seen = dp_has(rec, cnt, stride, u, x->name);
			if (seen)
				continue;
			snprintf(fam, sizeof(fam), "sluice_dataplane_%s%s", x->name,
				 x->kind == CTL_DP_COUNTER ? "_total" : "");
			head(b, fam, x->kind == CTL_DP_COUNTER ? "counter" : "gauge", x->help);
			for (unsigned u = w; u < nw; u++) {
				for (unsigned j = 0; j < cnt[u]; j++) {
					const struct ctl_dp_rec *y = &rec[u * stride + j];

					if (strcmp(y->name, x->name) != 0)
						continue;
					ctl_buf_printf(b, "%s{worker=\"%u\"", fam, u);
					if (y->label != NULL) {
						ctl_buf_printf(b, ",%s=\"", y->label);
						label(b, y->lvalue);
						ctl_buf_puts(b, "\"");
					}
					ctl_buf_printf(b, "} %" PRIu64 "\n", y->value);
				}
			}
		}
	}
}

/* Every worker's dataplane records: on the heap, a scrape is not a hot path. */
static void dataplane_metrics(struct ctl_buf *b, unsigned nw)
{
	struct ctl_dp_rec *rec;
	unsigned *cnt;

	if (nw == 0)
		return;
	rec = malloc((size_t)nw * CTL_DP_REC_MAX * sizeof(*rec));
	cnt = calloc(nw, sizeof(*cnt));
	if (rec == NULL || cnt == NULL) {
		b->oom = true;   /* the scrape fails whole rather than silently short */
	} else {
		for (unsigned w = 0; w < nw; w++)
			cnt[w] = ctl_dp_get((int)w, rec + (size_t)w * CTL_DP_REC_MAX, CTL_DP_REC_MAX);
		ctl_metrics_dataplane(b, nw, rec, cnt, CTL_DP_REC_MAX);
	}
	free(rec);
	free(cnt);
}

/* The Redis round trips as a histogram (cumulative buckets, seconds). */
static void redis_rtt(struct ctl_buf *b, const struct redis_store_stats *rs)
{
	const char *name = "sluice_redis_round_trip_seconds";
	uint64_t cum = 0;

	head(b, name, "histogram", "Decide scripts, from the write to Redis' reply.");
	for (unsigned i = 0; i < REDIS_RTT_BUCKETS; i++) {
		cum += rs->rtt_bucket[i];
		ctl_buf_printf(b, "%s_bucket{le=\"%u.%06u\"} %" PRIu64 "\n", name, redis_rtt_bounds_us[i] / 1000000u,
			       redis_rtt_bounds_us[i] % 1000000u, cum);
	}
	cum += rs->rtt_bucket[REDIS_RTT_BUCKETS];
	ctl_buf_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
	ctl_buf_printf(b, "%s_sum %" PRIu64 ".%06" PRIu64 "\n", name, rs->rtt_sum_us / 1000000u,
		       rs->rtt_sum_us % 1000000u);
	ctl_buf_printf(b, "%s_count %" PRIu64 "\n", name, rs->rtt_count);
}

/* The Redis mirror of the runtime lists, when there is one. */
static void lists_mirror(struct ctl_buf *b, struct control *ctl)
{
	struct redis_lists *rl = control_lists_mirror(ctl);
	struct redis_lists_stats ls;

	if (rl == NULL)
		return;
	redis_lists_stats(rl, &ls);
	one(b, "sluice_redis_lists_up", "gauge", "1 when both connections of the lists mirror are ready.",
	    ls.up ? 1 : 0);
	one(b, "sluice_redis_lists_resyncs_total", "counter", "Full resyncs of the lists mirror done.", ls.resyncs);
	one(b, "sluice_redis_lists_last_resync_milliseconds", "gauge", "How long the last full resync took.",
	    ls.last_resync_ms);
	one(b, "sluice_redis_lists_messages_total", "counter", "Change messages applied from pub/sub.", ls.messages);
	one(b, "sluice_redis_lists_gaps_total", "counter", "Version gaps seen in the changes (each asks a resync).",
	    ls.gaps);
	one(b, "sluice_redis_lists_writes_total", "counter", "List writes sent to Redis.", ls.writes);
	one(b, "sluice_redis_lists_write_errors_total", "counter", "List writes refused or lost (retried).",
	    ls.write_errors);
	one(b, "sluice_redis_lists_reseeds_total", "counter",
	    "Times Redis had lost the lists and this node wrote them back.", ls.reseeds);
	one(b, "sluice_redis_lists_pending", "gauge", "Local list changes not yet in Redis.", ls.pending);
}

void ctl_metrics_render(struct control *ctl, struct ctl_sock *s, struct ctl_buf *b)
{
	static const char *const kinds[CFG_LIST_KIND_COUNT] = { "ip", "helo", "sender", "domain", "rcpt" };
	const struct pol_snapshot *snap = control_lists(ctl);
	struct backend_pool *p = control_pool(ctl);
	struct pol_store *st = control_store(ctl);
	unsigned nw = control_nworkers(ctl);
	struct ctl_wstats t;

	one(b, "sluice_up", "gauge", "1 while the control thread answers.", 1);
	if (s != NULL)
		one(b, "sluice_uptime_seconds", "gauge", "Seconds since the control thread started.",
		    (sl_clock_ms() - ctl_sock_start_ms(s)) / 1000);
	one(b, "sluice_workers", "gauge", "Dataplane workers.", nw);

	if (ctl_stats_get(-1, &t)) {
		one(b, "sluice_sessions", "gauge", "Client connections open now, over all workers.", t.conns);
		one(b, "sluice_connections_accepted_total", "counter", "Connections given a session.", t.accepted);
		one(b, "sluice_connections_rejected_busy_total", "counter",
		    "Connections refused with 421 at max_sessions.", t.rejected_busy);
		one(b, "sluice_policy_queries_total", "counter", "Policy queries sent to the control thread.",
		    t.policy_sent);
		one(b, "sluice_policy_queries_ring_full_total", "counter",
		    "Policy queries refused because the ring was full.", t.policy_full);
		one(b, "sluice_policy_verdicts_total", "counter", "Verdicts delivered to a session.", t.verdicts);
		one(b, "sluice_policy_verdicts_stale_total", "counter",
		    "Verdicts that came back for a session already gone.", t.verdicts_stale);
		one(b, "sluice_forced_closes_total", "counter",
		    "Graceful closes that timed out and were aborted.", t.forced_closes);
	}

	head(b, "sluice_worker_ring_depth", "gauge", "Messages waiting on each worker's rings.");
	for (unsigned w = 0; w < nw; w++) {
		struct control_port *cp = control_port(ctl, w);
		ctl_buf_printf(b, "sluice_worker_ring_depth{worker=\"%u\",dir=\"to_control\"} %u\n", w,
			       sl_ring_count(cp->to_control));
		ctl_buf_printf(b, "sluice_worker_ring_depth{worker=\"%u\",dir=\"to_worker\"} %u\n", w,
			       sl_ring_count(cp->to_worker));
	}

	dataplane_metrics(b, nw);

	head(b, "sluice_list_entries", "gauge", "Entries in the workers' list snapshot (block and allow), per kind.");
	for (int k = 0; k < CFG_LIST_KIND_COUNT; k++)
		ctl_buf_printf(b, "sluice_list_entries{kind=\"%s\"} %u\n", kinds[k],
			       pol_snapshot_size(snap, (enum cfg_list_kind)k));
	if (s != NULL) {
		const struct ctl_lists *l = ctl_sock_lists(s);
		const struct ctl_sock_counters *n = ctl_sock_counters(s);
		head(b, "sluice_runtime_list_entries", "gauge", "Entries added through the control socket.");
		for (int a = 0; a < 2; a++)
			for (int k = 0; k < CFG_LIST_KIND_COUNT; k++)
				ctl_buf_printf(b, "sluice_runtime_list_entries{list=\"%s\",kind=\"%s\"} %u\n",
					       a ? "allow" : "block", kinds[k],
					       ctl_lists_count(l, (enum cfg_list_kind)k, a));
		one(b, "sluice_runtime_list_expired_total", "counter", "Runtime entries dropped by their TTL.",
		    n->expired);
		one(b, "sluice_reloads_total", "counter", "Configuration reloads applied.", n->reloads);
		one(b, "sluice_control_connections_total", "counter", "Control socket clients accepted.",
		    n->connections);
		one(b, "sluice_control_refused_total", "counter",
		    "Control socket clients refused (uid not allowed, too many).", n->refused);
		one(b, "sluice_control_requests_total", "counter", "Control socket requests answered.", n->requests);
		one(b, "sluice_control_errors_total", "counter", "Control socket error replies.", n->errors);
	}

	if (p != NULL) {
		backend_metric(b, p, "sluice_backend_up", "gauge", "1 when health checks say the backend is up.", 0);
		backend_metric(b, p, "sluice_backend_drained", "gauge", "1 when the operator drained the backend.", 1);
		backend_metric(b, p, "sluice_backend_active_sessions", "gauge", "Sessions holding the backend now.", 2);
		backend_metric(b, p, "sluice_backend_weight", "gauge", "Configured weight.", 3);
		backend_metric(b, p, "sluice_backend_sessions_total", "counter", "Sessions sent to the backend.", 4);
	}
	ctl_metrics_relay(ctl, b);

	if (st != NULL && strcmp(st->ops->name, "embedded") == 0) {
		struct pol_store_stats ps;
		pol_store_embedded_stats(st, &ps);
		one(b, "sluice_policy_decisions_total", "counter", "Rate-limit decisions taken by the store.",
		    ps.decisions);
		one(b, "sluice_policy_over_limit_total", "counter", "Requests refused by a rate limit.", ps.over);
		one(b, "sluice_policy_store_full_total", "counter",
		    "Charges skipped because the store table was full (fail open).", ps.full);
		one(b, "sluice_policy_buckets", "gauge", "Rate-limit buckets in use.", ps.buckets);
	}
	if (st != NULL && strcmp(st->ops->name, "redis") == 0) {
		struct redis_store_stats rs;
		redis_store_stats(st, &rs);
		one(b, "sluice_redis_up", "gauge", "1 when the Redis store is connected and its scripts loaded.",
		    rs.up ? 1 : 0);
		one(b, "sluice_policy_decisions_total", "counter", "Rate-limit decisions taken by the store.",
		    rs.decisions);
		one(b, "sluice_policy_over_limit_total", "counter", "Requests refused by a rate limit.", rs.over);
		one(b, "sluice_redis_failed_total", "counter",
		    "Decisions answered by the rules' fail mode (Redis down, error or slow).", rs.failed);
		one(b, "sluice_redis_timeouts_total", "counter", "Decisions slower than the store's timeout.",
		    rs.timeouts);
		one(b, "sluice_redis_round_trips_total", "counter", "Scripts sent (EVALSHA).", rs.round_trips);
		one(b, "sluice_redis_writes_total", "counter",
		    "Socket writes that carried them (fewer than round trips: pipelining).", rs.writes);
		one(b, "sluice_redis_noscript_total", "counter", "NOSCRIPT replies (scripts reloaded).", rs.noscript);
		one(b, "sluice_redis_connects_total", "counter", "Connections set up.", rs.connects);
		one(b, "sluice_redis_leases", "gauge", "Concurrency leases this node holds.", rs.leases);
		one(b, "sluice_redis_errors_total", "counter",
		    "Error replies to decide scripts (WRONGTYPE, CROSSSLOT, MOVED...).", rs.errors);
		redis_rtt(b, &rs);
	}
	lists_mirror(b, ctl);
}

/* ---- the HTTP responder */

struct met_conn {
	struct met_conn  *next, **pprev;
	struct ctl_metrics *m;
	int               fd;
	char              in[MET_REQ_MAX];
	size_t            inlen;
	struct ctl_buf    out;
	bool              answered;
	uint64_t          start_ms;
};

struct ctl_metrics {
	struct control   *ctl;
	struct ctl_sock  *s;
	struct sl_evloop *loop;
	int               fd;
	struct met_conn  *conns;
	unsigned          nconns;
	struct tw_timer   tick;
};

static void met_conn_free(struct met_conn *c)
{
	sl_evloop_del(c->m->loop, c->fd);
	close(c->fd);
	*c->pprev = c->next;
	if (c->next != NULL)
		c->next->pprev = c->pprev;
	c->m->nconns--;
	ctl_buf_free(&c->out);
	free(c);
}

static void respond(struct met_conn *c, const char *status, const char *type, const char *body, size_t len)
{
	ctl_buf_printf(&c->out,
		       "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		       status, type, len);
	ctl_buf_add(&c->out, body, len);
	c->answered = true;
}

static void answer(struct met_conn *c)
{
	char method[8], path[64];
	const char *sp1, *sp2;
	size_t n;

	/* "GET /metrics HTTP/1.x": headers are read to their end but not used */
	sp1 = memchr(c->in, ' ', c->inlen);
	sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', c->inlen - (size_t)(sp1 + 1 - c->in)) : NULL;
	if (sp1 == NULL || sp2 == NULL || (size_t)(sp1 - c->in) >= sizeof(method) ||
	    (size_t)(sp2 - sp1 - 1) >= sizeof(path)) {
		static const char msg[] = "bad request\n";
		respond(c, "400 Bad Request", "text/plain", msg, sizeof(msg) - 1);
		return;
	}
	n = (size_t)(sp1 - c->in);
	memcpy(method, c->in, n);
	method[n] = '\0';
	n = (size_t)(sp2 - sp1 - 1);
	memcpy(path, sp1 + 1, n);
	path[n] = '\0';
	if (strcmp(method, "GET") != 0) {
		static const char msg[] = "only GET\n";
		respond(c, "405 Method Not Allowed", "text/plain", msg, sizeof(msg) - 1);
		return;
	}
	if (strcmp(path, "/metrics") != 0 && strncmp(path, "/metrics?", 9) != 0) {
		static const char msg[] = "try /metrics\n";
		respond(c, "404 Not Found", "text/plain", msg, sizeof(msg) - 1);
		return;
	}
	{
		struct ctl_buf body = { 0 };
		ctl_metrics_render(c->m->ctl, c->m->s, &body);
		if (body.oom) {
			static const char msg[] = "no memory\n";
			respond(c, "503 Service Unavailable", "text/plain", msg, sizeof(msg) - 1);
		} else {
			respond(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body.p ? body.p : "", body.len);
		}
		ctl_buf_free(&body);
	}
}

static void on_met_conn(struct sl_evloop *l, int fd, unsigned events, void *arg)
{
	struct met_conn *c = arg;

	(void)l;
	(void)fd;
	if (!c->answered && (events & (SL_EV_READ | SL_EV_ERROR))) {
		for (;;) {
			ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen, MSG_DONTWAIT);
			if (n > 0) {
				c->inlen += (size_t)n;
				c->in[c->inlen] = '\0';
				if (strstr(c->in, "\r\n\r\n") != NULL || strstr(c->in, "\n\n") != NULL) {
					answer(c);
					break;
				}
				if (c->inlen == sizeof(c->in) - 1) {
					static const char msg[] = "request too large\n";
					respond(c, "431 Request Header Fields Too Large", "text/plain", msg, sizeof(msg) - 1);
					break;
				}
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return;
			met_conn_free(c); /* EOF before a whole request, or an error */
			return;
		}
	}
	while (c->out.len > 0) {
		ssize_t n = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			sl_evloop_mod(c->m->loop, c->fd, SL_EV_WRITE);
			return;
		}
		if (n < 0)
			break;
		ctl_buf_consume(&c->out, (size_t)n);
	}
	met_conn_free(c); /* HTTP/1.0, Connection: close */
}

static void on_met_accept(struct sl_evloop *l, int lfd, unsigned events, void *arg)
{
	struct ctl_metrics *m = arg;

	(void)events;
	for (unsigned budget = 64; budget > 0; budget--) {
		struct met_conn *c;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (m->nconns >= MET_CLIENTS_MAX) {
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL || sl_evloop_add(l, fd, SL_EV_READ, on_met_conn, c) < 0) {
			free(c);
			close(fd);
			continue;
		}
		c->m = m;
		c->fd = fd;
		c->start_ms = sl_clock_ms();
		c->next = m->conns;
		if (m->conns != NULL)
			m->conns->pprev = &c->next;
		c->pprev = &m->conns;
		m->conns = c;
		m->nconns++;
	}
}

static void on_met_tick(struct tw_timer *t)
{
	struct ctl_metrics *m = (struct ctl_metrics *)((char *)t - offsetof(struct ctl_metrics, tick));
	uint64_t now = sl_clock_ms();
	struct met_conn *c, *next;

	for (c = m->conns; c != NULL; c = next) {
		next = c->next;
		if (now - c->start_ms > MET_TIMEOUT_MS)
			met_conn_free(c);
	}
	tw_arm(sl_evloop_wheel(m->loop), &m->tick, sl_evloop_now(m->loop) + 1000);
}

static bool is_loopback(const struct sl_addr *a)
{
	static const uint8_t v6lo[16] = { [15] = 1 };

	if (a->family == SL_AF_INET)
		return a->ip[0] == 127;
	return memcmp(a->ip, v6lo, 16) == 0;
}

struct ctl_metrics *ctl_metrics_new(struct control *ctl, struct ctl_sock *s, const struct cfg *c)
{
	struct sockaddr_storage ss;
	struct ctl_metrics *m;
	unsigned sslen;
	char a[SL_ADDR_STRLEN];
	int one = 1;

	if (c->metrics_addr.family == 0)
		return NULL;
	sl_addr_format(&c->metrics_addr, a, sizeof(a), true);
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->ctl = ctl;
	m->s = s;
	m->loop = control_loop(ctl);
	m->fd = -1;
	if (sl_addr_to_sockaddr(&c->metrics_addr, &ss, &sslen) != 0)
		goto fail;
	m->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd < 0)
		goto fail;
	setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(m->fd, (struct sockaddr *)&ss, sslen) < 0 || listen(m->fd, 64) < 0 ||
	    sl_evloop_add(m->loop, m->fd, SL_EV_READ, on_met_accept, m) < 0)
		goto fail;
	if (!is_loopback(&c->metrics_addr))
		sl_warn("metrics on %s: not a loopback address, anyone who reaches it reads the counters", a);
	tw_timer_init(&m->tick, on_met_tick);
	tw_arm(sl_evloop_wheel(m->loop), &m->tick, sl_evloop_now(m->loop) + 1000);
	sl_info("metrics on http://%s/metrics", a);
	return m;
fail:
	sl_err("metrics %s: %s; running without the listener", a, strerror(errno));
	if (m->fd >= 0)
		close(m->fd);
	free(m);
	return NULL;
}

void ctl_metrics_free(struct ctl_metrics *m)
{
	if (m == NULL)
		return;
	while (m->conns != NULL)
		met_conn_free(m->conns);
	if (tw_armed(&m->tick))
		tw_cancel(sl_evloop_wheel(m->loop), &m->tick);
	sl_evloop_del(m->loop, m->fd);
	close(m->fd);
	free(m);
}
