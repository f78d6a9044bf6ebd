/* test_dpdk_counters.c - the dpdk dataplane's records without EAL: every reason and state named,
 * names unique and well-formed, values where they belong, the totals' and the no-TCP variants, and
 * the records through the control side's JSON and metrics (a valid exposition). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlsock/ctl_proto.h"
#include "ctlsock/ctl_stats.h"
#include "dpdk/dpdk_counters.h"
#include "metrics.h"
#include "net/net_stats.h"
#include "prom_check.h"
#include "tcp/tcp_names.h"
#include "test.h"
#include "util/sl_status.h"

static struct dpdk_stats ds;
static struct tcp_counters tc;

static void setup(void)
{
	memset(&ds, 0, sizeof(ds));
	memset(&tc, 0, sizeof(tc));
	ds.lcore_id = 1;
	ds.tsc_hz = 2000000000;
	ds.rx_pkts = 11;
	ds.tx_bytes = 12345;
	ds.busy_cycles = 300;
	ds.idle_cycles = 100;
	ds.net.drop[NET_DROP_IP_CSUM] = 1;
	ds.net.drop[NET_DROP_TCP_CSUM] = 2;
	ds.net.drop[NET_DROP_ICMP_CSUM] = 4;
	ds.net.drop[NET_DROP_TTL] = 8;
	tc.retransmits = 7;
	tc.syncookies_sent = 5;
	tc.syncookies_accepted = 3;
	tc.drops[TCP_DROP_NO_CONN] = 9;
	tc.conns[TCP_ESTABLISHED] = 6;
	tc.conns[TCP_TIME_WAIT] = 2;
}

/* The value of name (with lvalue when labelled); -1 when there is no such record. */
static long long find(const struct ctl_dp_rec *r, unsigned n, const char *name, const char *lvalue)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(r[i].name, name) == 0 &&
		    (lvalue == NULL ? r[i].label == NULL : r[i].label != NULL && strcmp(r[i].lvalue, lvalue) == 0))
			return (long long)r[i].value;
	return -1;
}

static bool snake(const char *s)
{
	if (s == NULL || *s == '\0' || !islower((unsigned char)*s))
		return false;
	for (; *s != '\0'; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

static void test_names(void)
{
	for (unsigned r = 1; r < NET_DROP_MAX; r++)
		CU_ASSERT_STRING_NOT_EQUAL(net_drop_name((enum net_drop)r), "unknown");
	for (unsigned r = 0; r < TCP_DROP_COUNT; r++) {
		CU_ASSERT_STRING_NOT_EQUAL(tcp_drop_name((enum tcp_drop)r), "unknown");
		CU_ASSERT_TRUE(snake(tcp_drop_name((enum tcp_drop)r)));
	}
	for (unsigned s = 0; s < TCP_STATE_COUNT; s++) {
		CU_ASSERT_STRING_NOT_EQUAL(tcp_state_label((enum tcp_state)s), "unknown");
		CU_ASSERT_TRUE(snake(tcp_state_label((enum tcp_state)s)));
	}
	CU_ASSERT_STRING_EQUAL(tcp_drop_name(TCP_DROP_NO_CONN), "no_conn");
	CU_ASSERT_STRING_EQUAL(tcp_drop_name(TCP_DROP_COUNT), "unknown");
	CU_ASSERT_STRING_EQUAL(tcp_state_label(TCP_ESTABLISHED), "established");
	CU_ASSERT_STRING_EQUAL(tcp_state_label(TCP_FIN_WAIT_2), "fin_wait_2");
	CU_ASSERT_STRING_EQUAL(tcp_state_label(TCP_STATE_COUNT), "unknown");
}

/* Well-formed: snake names, help, a family's records adjacent with one label name, no (name, lvalue) twice. */
static void check_shape(const struct ctl_dp_rec *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		size_t len = strlen(r[i].name);

		CU_ASSERT_TRUE(snake(r[i].name));
		CU_ASSERT_FALSE(len >= 6 && strcmp(r[i].name + len - 6, "_total") == 0);
		CU_ASSERT_TRUE(r[i].help != NULL && r[i].help[0] != '\0' && strchr(r[i].help, '\n') == NULL);
		if (r[i].label != NULL) {
			CU_ASSERT_TRUE(snake(r[i].label));
			CU_ASSERT_TRUE(snake(r[i].lvalue));
			CU_ASSERT_STRING_NOT_EQUAL(r[i].lvalue, "unknown");
		}
		for (unsigned j = i + 1; j < n; j++) {
			bool same = strcmp(r[i].name, r[j].name) == 0;

			if (!same)
				continue;
			CU_ASSERT_TRUE(r[i].label != NULL && r[j].label != NULL);
			if (r[i].label == NULL || r[j].label == NULL)
				continue;
			CU_ASSERT_STRING_EQUAL(r[i].label, r[j].label);
			CU_ASSERT_STRING_NOT_EQUAL(r[i].lvalue, r[j].lvalue);
			CU_ASSERT_EQUAL(r[i].kind, r[j].kind);
			/* adjacent: everything between is the same family */
			for (unsigned k = i + 1; k < j; k++)
				CU_ASSERT_STRING_EQUAL(r[k].name, r[i].name);
		}
	}
}

static void test_worker(void)
{
	struct ctl_dp_rec r[CTL_DP_REC_MAX];
	unsigned n;

	setup();
	n = dpdk_counters_fill(&ds, &tc, true, r, CTL_DP_REC_MAX);
	CU_ASSERT_TRUE(n > 50 && n <= CTL_DP_REC_MAX);
	check_shape(r, n);
	CU_ASSERT_EQUAL(find(r, n, "lcore_id", NULL), 1);
	CU_ASSERT_EQUAL(find(r, n, "rx_packets", NULL), 11);
	CU_ASSERT_EQUAL(find(r, n, "tx_bytes", NULL), 12345);
	CU_ASSERT_EQUAL(find(r, n, "busy_cycles", NULL), 300);
	CU_ASSERT_EQUAL(find(r, n, "idle_cycles", NULL), 100);
	CU_ASSERT_EQUAL(find(r, n, "busy_percent", NULL), 75);
	CU_ASSERT_EQUAL(find(r, n, "checksum_errors", NULL), 7);
	CU_ASSERT_EQUAL(find(r, n, "net_drops", "ttl"), 8);
	CU_ASSERT_EQUAL(find(r, n, "net_drops", "tcp_csum"), 2);
	CU_ASSERT_EQUAL(find(r, n, "net_drops", "none"), -1);   /* not a drop */
	CU_ASSERT_EQUAL(find(r, n, "tcp_retransmits", NULL), 7);
	CU_ASSERT_EQUAL(find(r, n, "tcp_syncookies_sent", NULL), 5);
	CU_ASSERT_EQUAL(find(r, n, "tcp_syncookies_accepted", NULL), 3);
	CU_ASSERT_EQUAL(find(r, n, "tcp_drops", "no_conn"), 9);
	CU_ASSERT_EQUAL(find(r, n, "tcp_drops", "paws"), 0);
	CU_ASSERT_EQUAL(find(r, n, "tcp_connections", "established"), 6);
	CU_ASSERT_EQUAL(find(r, n, "tcp_connections", "time_wait"), 2);
	CU_ASSERT_EQUAL(find(r, n, "tcp_connections", "closed"), -1);
	/* every reason and state is there, by its name */
	for (unsigned d = 1; d < NET_DROP_MAX; d++)
		CU_ASSERT_TRUE(find(r, n, "net_drops", net_drop_name((enum net_drop)d)) >= 0);
	for (unsigned d = 0; d < TCP_DROP_COUNT; d++)
		CU_ASSERT_TRUE(find(r, n, "tcp_drops", tcp_drop_name((enum tcp_drop)d)) >= 0);
	for (unsigned s = TCP_LISTEN; s < TCP_STATE_COUNT; s++)
		CU_ASSERT_TRUE(find(r, n, "tcp_connections", tcp_state_label((enum tcp_state)s)) >= 0);
	/* a small bound is kept */
	CU_ASSERT_EQUAL(dpdk_counters_fill(&ds, &tc, true, r, 5), 5);
	CU_ASSERT_EQUAL(dpdk_counters_fill(&ds, &tc, true, r, 0), 0);
}

static void test_totals_and_no_tcp(void)
{
	struct ctl_dp_rec r[CTL_DP_REC_MAX];
	unsigned n, nt;

	setup();
	nt = dpdk_counters_fill(&ds, &tc, false, r, CTL_DP_REC_MAX);
	check_shape(r, nt);
	CU_ASSERT_EQUAL(find(r, nt, "lcore_id", NULL), -1);   /* means nothing summed */
	CU_ASSERT_EQUAL(find(r, nt, "tsc_hz", NULL), -1);
	CU_ASSERT_EQUAL(find(r, nt, "rx_packets", NULL), 11);
	n = dpdk_counters_fill(&ds, NULL, true, r, CTL_DP_REC_MAX);
	check_shape(r, n);
	CU_ASSERT_TRUE(n < nt);
	CU_ASSERT_EQUAL(find(r, n, "tcp_retransmits", NULL), -1);
	CU_ASSERT_EQUAL(find(r, n, "tcp_drops", "no_conn"), -1);
	CU_ASSERT_EQUAL(find(r, n, "rx_packets", NULL), 11);
	/* no cycles yet: 0 %, not a division by zero */
	ds.busy_cycles = ds.idle_cycles = 0;
	n = dpdk_counters_fill(&ds, NULL, true, r, CTL_DP_REC_MAX);
	CU_ASSERT_EQUAL(find(r, n, "busy_percent", NULL), 0);
}

/* Two workers' records through the control side: one valid exposition, JSON with the values. */
static void test_rendered(void)
{
	static struct ctl_dp_rec r[2 * CTL_DP_REC_MAX];
	unsigned cnt[2];
	struct ctl_buf b = { 0 };
	char err[512];
	double v;
	int rc;

	setup();
	cnt[0] = dpdk_counters_fill(&ds, &tc, true, r, CTL_DP_REC_MAX);
	ds.rx_pkts = 22;
	ds.lcore_id = 2;
	cnt[1] = dpdk_counters_fill(&ds, &tc, true, r + CTL_DP_REC_MAX, CTL_DP_REC_MAX);
	ctl_metrics_dataplane(&b, 2, r, cnt, CTL_DP_REC_MAX);
	CU_ASSERT_FALSE_FATAL(b.oom);
	rc = prom_check(b.p, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "\n%s\n", err);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(prom_value(b.p, "sluice_dataplane_rx_packets_total", "worker=\"0\"", &v), 0);
	CU_ASSERT_DOUBLE_EQUAL(v, 11, 0);
	CU_ASSERT_EQUAL(prom_value(b.p, "sluice_dataplane_rx_packets_total", "worker=\"1\"", &v), 0);
	CU_ASSERT_DOUBLE_EQUAL(v, 22, 0);
	CU_ASSERT_EQUAL(prom_value(b.p, "sluice_dataplane_tcp_connections", "worker=\"1\",state=\"established\"",
				   &v), 0);
	CU_ASSERT_DOUBLE_EQUAL(v, 6, 0);
	CU_ASSERT_EQUAL(prom_value(b.p, "sluice_dataplane_net_drops_total", "worker=\"0\",reason=\"ttl\"", &v), 0);
	CU_ASSERT_DOUBLE_EQUAL(v, 8, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.p, "# TYPE sluice_dataplane_busy_percent gauge\n"));
	ctl_buf_reset(&b);
	ctl_dp_json(&b, r, cnt[0]);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.p, "\"rx_packets\":11,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.p, "\"tcp_retransmits\":7,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.p, "\"tcp_connections\":{\"listen\":0,\"syn_sent\":0,\"syn_rcvd\":0,"
					   "\"established\":6,"));
	ctl_buf_free(&b);
}

/* Every name and label value is in PROTOCOL.md's stats table, in backquotes: the names are the protocol. */
static void test_documented(void)
{
	struct ctl_dp_rec r[CTL_DP_REC_MAX];
	char path[1024], *doc, want[160];
	unsigned n;
	long len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/../../control/ctlsock/PROTOCOL.md", test_data_dir());
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	doc = calloc(1, (size_t)len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_EQUAL(fread(doc, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	setup();
	n = dpdk_counters_fill(&ds, &tc, true, r, CTL_DP_REC_MAX);
	for (unsigned i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "`%s`", r[i].name);
		if (strstr(doc, want) == NULL)
			fprintf(stderr, "\n%s not in %s\n", want, path);
		CU_ASSERT_PTR_NOT_NULL(strstr(doc, want));
		if (r[i].label == NULL)
			continue;
		snprintf(want, sizeof(want), "`%s`", r[i].lvalue);
		if (strstr(doc, want) == NULL)
			fprintf(stderr, "\n%s (%s) not in %s\n", want, r[i].name, path);
		CU_ASSERT_PTR_NOT_NULL(strstr(doc, want));
	}
	free(doc);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "reason_and_state_names", test_names },
		{ "worker_records", test_worker },
		{ "totals_and_no_tcp", test_totals_and_no_tcp },
		{ "rendered_json_and_metrics", test_rendered },
		{ "names_in_protocol_md", test_documented },
		{ NULL, NULL },
	};
	test_suite("dpdk_counters", cases);
}
