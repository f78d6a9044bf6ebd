/* metrics_relay.h - the metric families of the workers' session,
 * transaction and rejection outcomes (relay_stats.h). */
#ifndef METRICS_RELAY_H
#define METRICS_RELAY_H

#include "ctlsock/ctl_proto.h"

struct control;
struct relay_stats;

/*
 * ctl_metrics_relay - sluice_sessions_total{outcome}, sluice_transactions_total
 * {outcome}, sluice_relayed_bytes_total and sluice_rejections_total{stage,
 * rule,class}, summed over the workers that registered their counters.
 * Part of ctl_metrics_render; control thread only.
 */
void ctl_metrics_relay(struct control *ctl, struct ctl_buf *b);

/* The same from a sum already made (and busy: 421s at max_sessions); for the tests. */
void ctl_metrics_relay_stats(struct ctl_buf *b, const struct relay_stats *sum, uint64_t busy);

#endif
