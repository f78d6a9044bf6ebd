/* test_ctl_stats.c - the dataplane records' source (bounded, clearable), their JSON in `stats`, their
 * sluice_dataplane_* metric families, and the exposition checker the tests use in promtool's stead. */
#include <stdlib.h>
#include <string.h>

#include "ctlsock/ctl_proto.h"
#include "ctlsock/ctl_stats.h"
#include "metrics.h"
#include "prom_check.h"
#include "test.h"
#include "util/sl_status.h"

#define REC(n, k, v) { .name = n, .help = "Help of " n ".", .kind = k, .value = v }
#define LREC(n, l, lv, k, v) { .name = n, .help = "Help of " n ".", .label = l, .lvalue = lv, .kind = k, .value = v }

static const struct ctl_dp_rec sample_recs[] = {
	REC("rx_packets", CTL_DP_COUNTER, 11),
	LREC("net_drops", "reason", "ip_csum", CTL_DP_COUNTER, 2),
	LREC("net_drops", "reason", "ttl", CTL_DP_COUNTER, 0),
	LREC("tcp_connections", "state", "established", CTL_DP_GAUGE, 3),
	REC("busy_percent", CTL_DP_GAUGE, 42),
};

static int fake_calls, fake_last_worker;
static unsigned fake_extra;   /* claim this many more records than max */

static unsigned fake_dp(void *arg, int worker, struct ctl_dp_rec *out, unsigned max)
{
	unsigned n = SL_ARRAY_SIZE(sample_recs);

	CU_ASSERT_PTR_EQUAL(arg, &fake_calls);
	fake_calls++;
	fake_last_worker = worker;
	if (worker > 0)
		return 0;   /* only worker 0 and the totals have records */
	if (n > max)
		n = max;
	memcpy(out, sample_recs, n * sizeof(*out));
	return n + fake_extra;
}

static void test_source(void)
{
	struct ctl_dp_rec rec[CTL_DP_REC_MAX];

	CU_ASSERT_EQUAL(ctl_dp_get(-1, rec, CTL_DP_REC_MAX), 0);   /* nothing registered */
	ctl_dp_register(fake_dp, &fake_calls);
	CU_ASSERT_EQUAL(ctl_dp_get(0, rec, CTL_DP_REC_MAX), SL_ARRAY_SIZE(sample_recs));
	CU_ASSERT_EQUAL(fake_last_worker, 0);
	CU_ASSERT_STRING_EQUAL(rec[3].lvalue, "established");
	CU_ASSERT_EQUAL(ctl_dp_get(-1, rec, CTL_DP_REC_MAX), SL_ARRAY_SIZE(sample_recs));
	CU_ASSERT_EQUAL(fake_last_worker, -1);
	CU_ASSERT_EQUAL(ctl_dp_get(1, rec, CTL_DP_REC_MAX), 0);
	/* a source that claims more than it was given room for is cut at the bound */
	fake_extra = 1000;
	CU_ASSERT_EQUAL(ctl_dp_get(0, rec, 2), 2);
	CU_ASSERT_EQUAL(ctl_dp_get(0, rec, CTL_DP_REC_MAX + 50), CTL_DP_REC_MAX);
	fake_extra = 0;
	/* cleared: no call any more */
	ctl_dp_register(NULL, NULL);
	fake_calls = 0;
	CU_ASSERT_EQUAL(ctl_dp_get(0, rec, CTL_DP_REC_MAX), 0);
	CU_ASSERT_EQUAL(fake_calls, 0);
}

static void test_json(void)
{
	struct ctl_buf b = { 0 };

	ctl_dp_json(&b, sample_recs, SL_ARRAY_SIZE(sample_recs));
	CU_ASSERT_FALSE(b.oom);
	CU_ASSERT_STRING_EQUAL(b.p, "{\"rx_packets\":11,\"net_drops\":{\"ip_csum\":2,\"ttl\":0},"
				   "\"tcp_connections\":{\"established\":3},\"busy_percent\":42}");
	ctl_buf_reset(&b);
	ctl_dp_json(&b, sample_recs, 0);
	CU_ASSERT_STRING_EQUAL(b.p, "{}");
	/* a labelled family last, and one alone */
	ctl_buf_reset(&b);
	ctl_dp_json(&b, sample_recs + 1, 2);
	CU_ASSERT_STRING_EQUAL(b.p, "{\"net_drops\":{\"ip_csum\":2,\"ttl\":0}}");
	ctl_buf_free(&b);
}

static void check_valid(const char *text)
{
	char err[512];
	int rc = prom_check(text, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "\n%s\n--- in ---\n%s", err, text);
	CU_ASSERT_EQUAL(rc, 0);
}

static void test_metrics(void)
{
	/* worker 0 has nothing (not started), 1 all, 2 the records without the TCP ones */
	struct ctl_dp_rec rec[3 * 8];
	unsigned cnt[3] = { 0, SL_ARRAY_SIZE(sample_recs), 3 };
	struct ctl_buf b = { 0 };
	double v = 0;

	memcpy(rec + 8, sample_recs, sizeof(sample_recs));
	memcpy(rec + 16, sample_recs, 3 * sizeof(rec[0]));
	rec[16].value = 5;
	ctl_metrics_dataplane(&b, 3, rec, cnt, 8);
	CU_ASSERT_FALSE_FATAL(b.oom);
	CU_ASSERT_STRING_EQUAL(b.p,
		"# HELP sluice_dataplane_rx_packets_total Help of rx_packets.\n"
		"# TYPE sluice_dataplane_rx_packets_total counter\n"
		"sluice_dataplane_rx_packets_total{worker=\"1\"} 11\n"
		"sluice_dataplane_rx_packets_total{worker=\"2\"} 5\n"
		"# HELP sluice_dataplane_net_drops_total Help of net_drops.\n"
		"# TYPE sluice_dataplane_net_drops_total counter\n"
		"sluice_dataplane_net_drops_total{worker=\"1\",reason=\"ip_csum\"} 2\n"
		"sluice_dataplane_net_drops_total{worker=\"1\",reason=\"ttl\"} 0\n"
		"sluice_dataplane_net_drops_total{worker=\"2\",reason=\"ip_csum\"} 2\n"
		"sluice_dataplane_net_drops_total{worker=\"2\",reason=\"ttl\"} 0\n"
		"# HELP sluice_dataplane_tcp_connections Help of tcp_connections.\n"
		"# TYPE sluice_dataplane_tcp_connections gauge\n"
		"sluice_dataplane_tcp_connections{worker=\"1\",state=\"established\"} 3\n"
		"# HELP sluice_dataplane_busy_percent Help of busy_percent.\n"
		"# TYPE sluice_dataplane_busy_percent gauge\n"
		"sluice_dataplane_busy_percent{worker=\"1\"} 42\n");
	check_valid(b.p);
	CU_ASSERT_EQUAL(prom_value(b.p, "sluice_dataplane_rx_packets_total", "worker=\"2\"", &v), 0);
	CU_ASSERT_DOUBLE_EQUAL(v, 5, 0);
	CU_ASSERT_EQUAL(prom_value(b.p, "sluice_dataplane_rx_packets_total", "worker=\"0\"", &v), -1);
	/* no worker has records: nothing at all, not empty families */
	ctl_buf_reset(&b);
	cnt[1] = cnt[2] = 0;
	ctl_metrics_dataplane(&b, 3, rec, cnt, 8);
	CU_ASSERT_EQUAL(b.len, 0);
	ctl_buf_free(&b);
}

/* The checker must refuse what a scraper would (else the tests above prove nothing). */
static void test_checker(void)
{
	static const char hd[] = "# HELP a_total A.\n# TYPE a_total counter\n";
	static const struct {
		const char *text;
		int         want;
	} rows[] = {
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n", 0 },
		{ "# HELP a_total A \\\\ \\n.\n# TYPE a_total counter\na_total{x=\"q\\\"\\\\\\n\",y=\"\"} 1 123\n", 0 },
		{ "# HELP g G.\n# TYPE g gauge\ng{w=\"0\"} -1.5e3\ng{w=\"1\"} +Inf\ng{w=\"2\"} NaN\n", 0 },
		{ "# HELP g G.\n# TYPE g gauge\ng{w=\"0\",} 1\n", 0 },                 /* trailing comma is allowed */
		{ "# just a comment\n\n", 0 },
		{ "a_total 1\n", -1 },                                                  /* no HELP/TYPE */
		{ "# TYPE a_total counter\na_total 1\n", -1 },                          /* no HELP */
		{ "# HELP a A.\n# TYPE a counter\na 1\n", -1 },                         /* counter without _total */
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total 1", -1 },          /* no final newline */
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total 1\na_total 2\n", -1 },           /* twice */
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\",y=\"2\"} 1\na_total{y=\"2\",x=\"1\"} 1\n", -1 },
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\",x=\"2\"} 1\n", -1 },
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"\\q\"} 1\n", -1 },          /* bad escape */
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1} 1\n", -1 },              /* unterminated */
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total{1x=\"1\"} 1\n", -1 },
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total{__x=\"1\"} 1\n", -1 },
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total one\n", -1 },
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total 0x10\n", -1 },
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total 1 now\n", -1 },
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total1\n", -1 },
		{ "# HELP a_total A.\n# TYPE a_total counter\n# TYPE a_total counter\n", -1 },
		{ "# HELP a_total A.\n# TYPE a_total countr\n", -1 },
		{ "# HELP g G.\n# TYPE g gauge\ng 1\n# HELP h H.\n# TYPE h gauge\nh 1\ng{w=\"1\"} 1\n", -1 }, /* split */
		{ "# HELP g G.\n# TYPE g gauge\ng 1\r\n", -1 },
		{ "# HELP 0g G.\n# TYPE 0g gauge\n", -1 },
		/* histograms: NAME_bucket{le}, NAME_sum, NAME_count belong to NAME */
		{ "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.3\nh_count 2\n", 0 },
		{ "# HELP h H.\n# TYPE h histogram\nh_bucket 1\n", -1 },                     /* bucket without le */
		{ "# HELP h H.\n# TYPE h gauge\nh_sum 1\n", -1 },                            /* not a histogram */
		{ "# HELP h H.\n# TYPE h histogram\nh_count 1\nh_count 2\n", -1 },           /* twice */
		{ "# HELP h H.\n# TYPE h histogram\nh_sum 1\n# HELP g G.\n# TYPE g gauge\ng 1\nh_count 1\n", -1 },
	};
	char err[256];

	for (size_t i = 0; i < SL_ARRAY_SIZE(rows); i++) {
		int rc = prom_check(rows[i].text, err, sizeof(err));
		if (rc != rows[i].want)
			fprintf(stderr, "\nrow %zu: got %d (%s)\n", i, rc, err);
		CU_ASSERT_EQUAL(rc, rows[i].want);
	}
	CU_ASSERT_EQUAL(prom_check(hd, err, sizeof(err)), 0);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "source_bounded_and_cleared", test_source },
		{ "records_as_json", test_json },
		{ "records_as_metric_families", test_metrics },
		{ "exposition_checker_refuses", test_checker },
		{ NULL, NULL },
	};
	test_suite("ctl_stats", cases);
}
