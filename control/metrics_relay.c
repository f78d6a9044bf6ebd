/* metrics_relay.c - the exposition of the workers' outcome counters: how
 * sessions and transactions ended, and which rule refused what at which stage. */
#include "metrics_relay.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "control.h"
#include "ctlsock/ctl_stats.h"
#include "relay/relay_stats.h"
#include "util/sl_status.h"

/* Label values: stable, documented names (never addresses or hostnames). */
static const char *const session_names[RELAY_SO_COUNT] = {
	[RELAY_SO_QUIT] = "quit",
	[RELAY_SO_CLIENT_CLOSED] = "client_closed",
	[RELAY_SO_TIMEOUT] = "timeout",
	[RELAY_SO_REJECTED_CONNECT] = "rejected_connect",
	[RELAY_SO_REJECTED] = "rejected",
	[RELAY_SO_PREGREET] = "pregreet",
	[RELAY_SO_PROTOCOL] = "protocol",
	[RELAY_SO_TOO_MANY_ERRORS] = "too_many_errors",
	[RELAY_SO_KILLED] = "killed",
	[RELAY_SO_SHUTDOWN] = "shutdown",
	[RELAY_SO_OTHER] = "other",
};

static const char *const tx_names[RELAY_TX_COUNT] = {
	[RELAY_TX_RELAYED] = "relayed",
	[RELAY_TX_REJECTED] = "rejected_5xx",
	[RELAY_TX_TEMPFAIL] = "tempfail_4xx",
	[RELAY_TX_ABORTED] = "aborted",
};

static const char *const stage_names[RELAY_REJ_STAGE_COUNT] = {
	[RELAY_REJ_CONNECT] = "connect",
	[RELAY_REJ_HELO] = "helo",
	[RELAY_REJ_MAIL] = "mail",
	[RELAY_REJ_RCPT] = "rcpt",
	[RELAY_REJ_DATA] = "data",
};

static const char *const class_names[RELAY_REJ_CLASS_COUNT] = {
	[RELAY_REJ_4XX] = "4xx",
	[RELAY_REJ_5XX] = "5xx",
};

/* "blocklist_ip", "relay_domains", "limit_msg_rate_ip"...: built from the
 * config's own names of list kinds, limit kinds and keys. */
static const char *rule_name(unsigned r, char *buf, size_t len)
{
	if (r < RELAY_RULE_RELAY_DOMAINS) {
		enum cfg_list_kind k = (enum cfg_list_kind)(r - RELAY_RULE_BLOCKLIST);

		snprintf(buf, len, "blocklist_%s", cfg_list_kind_name(k));
		return buf;
	}
	switch (r) {
	case RELAY_RULE_RELAY_DOMAINS:
		return "relay_domains";
	case RELAY_RULE_OVERLOAD:
		return "overload";
	case RELAY_RULE_POLICY_TIMEOUT:
		return "policy_timeout";
	case RELAY_RULE_OTHER:
		return "other";
	default:
		r -= RELAY_RULE_LIMIT;
		snprintf(buf, len, "limit_%s_%s", cfg_limit_kind_name((enum cfg_limit_kind)(r / CFG_KEY_COUNT)),
			 cfg_limit_key_name((enum cfg_limit_key)(r % CFG_KEY_COUNT)));
		return buf;
	}
}

static void head(struct ctl_buf *b, const char *name, const char *help)
{
	ctl_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
}

void ctl_metrics_relay_stats(struct ctl_buf *b, const struct relay_stats *sum, uint64_t busy)
{
	char rb[64];

	head(b, "sluice_sessions_total",
	     "Client sessions ended, by how (busy: refused with 421 at max_sessions, never a session).");
	for (unsigned i = 0; i < RELAY_SO_COUNT; i++)
		ctl_buf_printf(b, "sluice_sessions_total{outcome=\"%s\"} %" PRIu64 "\n", session_names[i],
			       sum->sessions[i]);
	ctl_buf_printf(b, "sluice_sessions_total{outcome=\"busy\"} %" PRIu64 "\n", busy);

	head(b, "sluice_transactions_total",
	     "Mail transactions (MAIL to its end) by outcome: relayed (the backend said 2xx), ended by "
	     "a 5xx or a 4xx (ours or the backend's), aborted (RSET, QUIT, close).");
	for (unsigned i = 0; i < RELAY_TX_COUNT; i++)
		ctl_buf_printf(b, "sluice_transactions_total{outcome=\"%s\"} %" PRIu64 "\n", tx_names[i],
			       sum->tx[i]);

	head(b, "sluice_relayed_bytes_total",
	     "Message bytes of the relayed transactions as the clients sent them (the final dot line too).");
	ctl_buf_printf(b, "sluice_relayed_bytes_total %" PRIu64 "\n", sum->relayed_bytes);

	/* stages x rules x classes is ~400 series, nearly all zero: only those
	 * that happened are written (a counter appears at its first refusal) */
	head(b, "sluice_rejections_total",
	     "Commands refused by policy, by stage, rule (list, relay_domains, limit kind and key) "
	     "and reply class.");
	for (unsigned i = 0; i < RELAY_REJ_STAGE_COUNT * RELAY_RULE_COUNT * RELAY_REJ_CLASS_COUNT; i++) {
		unsigned st = i / (RELAY_RULE_COUNT * RELAY_REJ_CLASS_COUNT);
		unsigned r = i / RELAY_REJ_CLASS_COUNT % RELAY_RULE_COUNT, c = i % RELAY_REJ_CLASS_COUNT;
		uint64_t v = sum->rejections[st][r][c];

		if (v == 0)
			continue;
		ctl_buf_printf(b, "sluice_rejections_total{stage=\"%s\",rule=\"%s\",class=\"%s\"} %" PRIu64 "\n",
			       stage_names[st], rule_name(r, rb, sizeof(rb)), class_names[c], v);
	}
}

void ctl_metrics_relay(struct control *ctl, struct ctl_buf *b)
{
	struct relay_stats sum, one;
	uint64_t *o = (uint64_t *)&sum;
	const uint64_t *w = (const uint64_t *)&one;
	struct ctl_wstats t;
	unsigned nw = control_nworkers(ctl);

	memset(&sum, 0, sizeof(sum));
	for (unsigned i = 0; i < nw; i++) {
		if (control_worker_stats_read(ctl, i, &one) != SL_OK)
			continue;
		for (size_t k = 0; k < sizeof(one) / sizeof(uint64_t); k++)
			o[k] += w[k];
	}
	ctl_metrics_relay_stats(b, &sum, ctl_stats_get(-1, &t) ? t.rejected_busy : 0);
}
