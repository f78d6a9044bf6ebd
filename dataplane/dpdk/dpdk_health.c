/* dpdk_health.c - a worker's side of the backend health checks: the sans-IO check over a TCB of its own stack. */
#include "dpdk/dpdk_health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_msg.h"
#include "net/net_ipv4.h"
#include "relay/health.h"
#include "relay/health_check.h"
#include "tcp/tcp.h"
#include "util/sl_status.h"
#include "util/timer_wheel.h"

/* One check per backend slot: a newer one for the same slot replaces it. */
struct dpdk_probe {
	struct dpdk_health *h;
	struct tcp_conn    *tc;       /**< NULL when idle */
	uint32_t            id;       /**< the control's check id (the message's seq) */
	uint16_t            idx;
	bool                busy;
	struct tw_timer     timer;
	struct health_check hc;
};

struct dpdk_health {
	struct dpdk_health_env env;
	uint64_t               results_lost;   /**< the ring to the control was full */
	struct dpdk_probe      probes[CFG_BACKEND_MAX];
};

static const struct tcp_conn_cbs probe_cbs;

/* A TCB whose check is over: what the backend still says (its 221) is read
 * and dropped, and its end concerns nobody. */
static uint32_t gone_data(struct tcp_conn *tc, void *user, const uint8_t *p, uint32_t len, void *owner)
{
	(void)tc, (void)user, (void)p, (void)owner;
	return len;
}

static const struct tcp_conn_cbs gone_cbs = { .data = gone_data };

static void send_result(struct dpdk_health *h, const struct dpdk_probe *pr, enum health_result r, const char *why)
{
	struct ctl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CTL_MSG_HEALTH_RESULT;
	m.worker = h->env.worker;
	m.seq = pr->id;
	m.u.result.idx = pr->idx;
	m.u.result.result = (uint8_t)r;
	snprintf(m.u.result.why, sizeof(m.u.result.why), "%s", why != NULL ? why : "");
	if (h->env.to_control == NULL || !sl_ring_push(h->env.to_control, &m, sizeof(m))) {
		h->results_lost++;   /* the control's own timeout fails the check */
		return;
	}
	*h->env.wake_control = true;
}

/* Let go of the TCB: a FIN after what was queued (QUIT), or an RST when the
 * backend said nothing worth a goodbye. Its callbacks reach us no more. */
static void probe_release(struct dpdk_probe *pr, bool graceful)
{
	struct tcp_conn *tc = pr->tc;

	tw_cancel(pr->h->env.wheel, &pr->timer);
	pr->busy = false;
	pr->tc = NULL;
	if (tc == NULL)
		return;
	tcp_conn_set_cbs(tc, &gone_cbs, NULL);
	if (graceful)
		tcp_close(tc);
	else
		tcp_abort(tc);
}

static void probe_done(struct dpdk_probe *pr, enum health_result r, const char *why, bool graceful)
{
	if (!pr->busy)
		return;
	probe_release(pr, graceful);
	send_result(pr->h, pr, r, why);
}

static void probe_timeout(struct tw_timer *t)
{
	struct dpdk_probe *pr = (struct dpdk_probe *)((char *)t - offsetof(struct dpdk_probe, timer));
	char why[HEALTH_WHY_MAX];

	health_check_timeout(&pr->hc, why, sizeof(why));
	probe_done(pr, HEALTH_FAIL, why, false);
}

static void cb_established(struct tcp_conn *tc, void *user)
{
	struct dpdk_probe *pr = user;
	const struct tcp_tuple *t = tcp_conn_tuple(tc);
	uint8_t pre[HEALTH_PREFACE_MAX];
	struct sl_addr src;
	uint32_t a;
	int n;

	memcpy(&a, t->laddr, 4);
	net_addr4(&src, a);
	src.port = t->lport;
	n = health_check_connected(&pr->hc, &src, pre, sizeof(pre));
	if (n < 0 || (n > 0 && tcp_send(tc, pre, (uint32_t)n) != SL_OK))
		probe_done(pr, HEALTH_FAIL, "PROXY header", false);
}

static uint32_t cb_data(struct tcp_conn *tc, void *user, const uint8_t *p, uint32_t len, void *owner)
{
	struct dpdk_probe *pr = user;
	char why[HEALTH_WHY_MAX];
	int st;

	(void)owner;
	st = health_check_input(&pr->hc, p, len, why, sizeof(why));
	if (st == SL_AGAIN)
		return len;
	if (health_check_wants_quit(&pr->hc))
		(void)tcp_send(tc, health_check_quit, HEALTH_CHECK_QUIT_LEN);   /* an empty buffer: it fits */
	probe_done(pr, st == SL_OK ? HEALTH_PASS : HEALTH_FAIL, why, health_check_wants_quit(&pr->hc));
	return len;
}

static void cb_eof(struct tcp_conn *tc, void *user)
{
	struct dpdk_probe *pr = user;
	char why[HEALTH_WHY_MAX];

	(void)tc;
	health_check_eof(&pr->hc, why, sizeof(why));
	probe_done(pr, HEALTH_FAIL, why, true);
}

static void cb_closed(struct tcp_conn *tc, void *user, enum tcp_close_reason reason)
{
	struct dpdk_probe *pr = user;
	char why[HEALTH_WHY_MAX];

	(void)tc;
	pr->tc = NULL;   /* gone with this call */
	switch (reason) {
	case TCP_CLOSE_REFUSED:
		snprintf(why, sizeof(why), "connect refused");
		break;
	case TCP_CLOSE_TIMEOUT:
		health_check_timeout(&pr->hc, why, sizeof(why));
		break;
	case TCP_CLOSE_RESET:
		snprintf(why, sizeof(why), "reset by the backend");
		break;
	default:
		health_check_eof(&pr->hc, why, sizeof(why));
		break;
	}
	probe_done(pr, HEALTH_FAIL, why, false);
}

static const struct tcp_conn_cbs probe_cbs = {
	.established = cb_established,
	.data = cb_data,
	.eof = cb_eof,
	.closed = cb_closed,
};

void dpdk_health_probe(struct dpdk_health *h, const struct ctl_msg *m)
{
	const struct ctl_health_probe *q = &m->u.probe;
	struct dpdk_probe *pr;
	bool no_route = false;

	if (h == NULL || q->idx >= CFG_BACKEND_MAX)
		return;
	pr = &h->probes[q->idx];
	probe_release(pr, false);   /* an older check of this backend: its answer is not awaited */
	pr->id = m->seq;
	pr->busy = true;
	health_check_init(&pr->hc, &q->addr, (enum cfg_proxy)q->proxy);
	if (q->addr.family != SL_AF_INET || q->addr.port == 0) {
		probe_done(pr, HEALTH_FAIL, "not an IPv4 address and port", false);
		return;
	}
	tw_arm(h->env.wheel, &pr->timer, *h->env.now_ms + (q->timeout_ms ? q->timeout_ms : 5000));
	pr->tc = dpdk_tp_open(h->env.tp, &q->addr, &probe_cbs, pr, &no_route);
	if (pr->tc == NULL)
		/* no TCB free is this worker's state, not the backend's: not counted */
		probe_done(pr, no_route ? HEALTH_FAIL : HEALTH_SKIP,
			   no_route ? "no route to the backend" : "no free TCB", false);
}

struct dpdk_health *dpdk_health_new(const struct dpdk_health_env *env)
{
	struct dpdk_health *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->env = *env;
	for (int i = 0; i < CFG_BACKEND_MAX; i++) {
		h->probes[i].h = h;
		h->probes[i].idx = (uint16_t)i;
		tw_timer_init(&h->probes[i].timer, probe_timeout);
	}
	return h;
}

void dpdk_health_free(struct dpdk_health *h)
{
	if (h == NULL)
		return;
	for (int i = 0; i < CFG_BACKEND_MAX; i++)
		probe_release(&h->probes[i], false);
	free(h);
}
