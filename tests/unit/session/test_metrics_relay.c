/* test_metrics_relay.c - the workers' outcome counters reach the metrics: the
 * control's per-worker registry (set, read, clear) and the families rendered
 * from it, summed over workers, checked as an exposition (prom_check). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "control.h"
#include "ctlsock/ctl_proto.h"
#include "ctlsock/prom_check.h"
#include "metrics.h"
#include "relay/backend_pool.h"
#include "relay/relay_stats.h"
#include "test.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

static char dir[] = "/tmp/sl-metrics-relay.XXXXXX";
static struct cfg *cfg;
static struct backend_pool pool;
static struct control *ctl;

static int start(void)
{
	char text[512], err[256];

	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(text, sizeof(text), "hostname gw.example.net\nrelay_domains example.net\n"
		 "backend b 127.0.0.1:9 xclient off\ncontrol %s/c.sock mode 0600\n", dir);
	cfg = cfg_parse_string("t.conf", text, strlen(text), err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "config: %s\n", err);
		return -1;
	}
	backend_pool_init(&pool);
	if (backend_pool_apply(&pool, cfg) != SL_OK)
		return -1;
	ctl = control_new(cfg, 2, &pool);
	return ctl != NULL ? 0 : -1;
}

static void stop(void)
{
	char p[sizeof(dir) + 16];

	control_free(ctl);
	if (cfg != NULL)
		cfg_unref(cfg);
	snprintf(p, sizeof(p), "%s/c.sock", dir);
	unlink(p);
	rmdir(dir);
}

/* The value of one sample in a fresh rendering; -1 when it is not there. */
static double sample(const char *name, const char *labels)
{
	struct ctl_buf b = { 0 };
	char err[256];
	double v = -1;

	ctl_metrics_render(ctl, NULL, &b);
	CU_ASSERT_FATAL(b.p != NULL && !b.oom);
	ctl_buf_add(&b, "", 1);
	if (prom_check(b.p, err, sizeof(err)) != 0) {
		CU_FAIL("not a valid exposition");
		fprintf(stderr, "\n%s\n", err);
	}
	if (prom_value(b.p, name, labels, &v) != 0)
		v = -1;
	ctl_buf_free(&b);
	return v;
}

static unsigned limit_rule(enum cfg_limit_kind k, enum cfg_limit_key y)
{
	return RELAY_RULE_LIMIT + (unsigned)k * CFG_KEY_COUNT + (unsigned)y;
}

static void test_registry(void)
{
	static struct relay_stats w0, w1, out;

	memset(&w0, 0, sizeof(w0));
	memset(&w1, 0, sizeof(w1));
	CU_ASSERT_EQUAL(control_worker_stats_read(ctl, 0, &out), SL_DECLINED);
	control_worker_stats_set(ctl, 0, &w0);
	control_worker_stats_set(ctl, 1, &w1);
	control_worker_stats_set(ctl, 2, &w1);   /* no such worker: ignored */
	CU_ASSERT_EQUAL(control_worker_stats_read(ctl, 2, &out), SL_DECLINED);
	w0.sessions[RELAY_SO_QUIT] = 3;
	w0.tx[RELAY_TX_RELAYED] = 2;
	w0.relayed_bytes = 1000;
	w1.sessions[RELAY_SO_QUIT] = 4;
	w1.sessions[RELAY_SO_TIMEOUT] = 1;
	w1.relayed_bytes = 24;
	w1.rejections[RELAY_REJ_MAIL][limit_rule(CFG_LIMIT_MSG_RATE, CFG_KEY_IP)][RELAY_REJ_4XX] = 5;
	w0.rejections[RELAY_REJ_CONNECT][RELAY_RULE_BLOCKLIST + CFG_LIST_IP][RELAY_REJ_5XX] = 1;
	w1.rejections[RELAY_REJ_CONNECT][RELAY_RULE_BLOCKLIST + CFG_LIST_IP][RELAY_REJ_5XX] = 2;
	CU_ASSERT_EQUAL(control_worker_stats_read(ctl, 1, &out), SL_OK);
	CU_ASSERT_EQUAL(memcmp(&out, &w1, sizeof(out)), 0);

	/* summed over the workers */
	CU_ASSERT_EQUAL(sample("sluice_sessions_total", "outcome=\"quit\""), 7);
	CU_ASSERT_EQUAL(sample("sluice_sessions_total", "outcome=\"timeout\""), 1);
	CU_ASSERT_EQUAL(sample("sluice_sessions_total", "outcome=\"killed\""), 0);   /* always written */
	CU_ASSERT_EQUAL(sample("sluice_sessions_total", "outcome=\"busy\""), 0);
	CU_ASSERT_EQUAL(sample("sluice_transactions_total", "outcome=\"relayed\""), 2);
	CU_ASSERT_EQUAL(sample("sluice_transactions_total", "outcome=\"aborted\""), 0);
	CU_ASSERT_EQUAL(sample("sluice_relayed_bytes_total", ""), 1024);
	CU_ASSERT_EQUAL(sample("sluice_rejections_total",
			       "stage=\"mail\",rule=\"limit_msg_rate_ip\",class=\"4xx\""), 5);
	CU_ASSERT_EQUAL(sample("sluice_rejections_total",
			       "stage=\"connect\",rule=\"blocklist_ip\",class=\"5xx\""), 3);
	/* a refusal that never happened has no sample */
	CU_ASSERT_EQUAL(sample("sluice_rejections_total",
			       "stage=\"rcpt\",rule=\"relay_domains\",class=\"5xx\""), -1);

	/* a worker that went: its counters are no longer read */
	control_worker_stats_set(ctl, 1, NULL);
	CU_ASSERT_EQUAL(control_worker_stats_read(ctl, 1, &out), SL_DECLINED);
	CU_ASSERT_EQUAL(sample("sluice_sessions_total", "outcome=\"quit\""), 3);
	CU_ASSERT_EQUAL(sample("sluice_rejections_total",
			       "stage=\"mail\",rule=\"limit_msg_rate_ip\",class=\"4xx\""), -1);
	control_worker_stats_set(ctl, 0, NULL);
}

/* Every rule index has a label value of the exposition's charset. */
static void test_rule_names(void)
{
	static struct relay_stats w;
	struct ctl_buf b = { 0 };
	char err[256];
	unsigned lines = 0;

	for (unsigned r = 0; r < RELAY_RULE_COUNT; r++)
		w.rejections[RELAY_REJ_RCPT][r][RELAY_REJ_5XX] = r + 1;
	control_worker_stats_set(ctl, 0, &w);
	ctl_metrics_render(ctl, NULL, &b);
	ctl_buf_add(&b, "", 1);
	CU_ASSERT_FATAL(b.p != NULL);
	CU_ASSERT_EQUAL(prom_check(b.p, err, sizeof(err)), 0);
	for (const char *p = b.p; (p = strstr(p, "\nsluice_rejections_total{")) != NULL; p++)
		lines++;
	CU_ASSERT_EQUAL(lines, RELAY_RULE_COUNT);   /* one per rule: no two share a name */
	CU_ASSERT_PTR_NOT_NULL(strstr(b.p, "rule=\"limit_concurrency_sender_domain\",class=\"5xx\"} "));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.p, "rule=\"blocklist_rcpt\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.p, "rule=\"policy_timeout\""));
	ctl_buf_free(&b);
	control_worker_stats_set(ctl, 0, NULL);
}

static void test_registry_suite(void)
{
	if (start() != 0) {
		CU_FAIL("control_new failed");
		stop();
		return;
	}
	test_registry();
	test_rule_names();
	stop();
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "registry, sums, clear; every rule's label", test_registry_suite },
		{ NULL, NULL }
	};

	sl_log_set_level(SL_LOG_ERR);
	test_suite("metrics of the relay counters", cases);
}
