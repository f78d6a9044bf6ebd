/* metrics.h - Prometheus text exposition of the control thread's view, over
 * a minimal HTTP listener and through the control socket. */
#ifndef METRICS_H
#define METRICS_H

#include "cfg.h"
#include "ctlsock/ctl_proto.h"

struct control;
struct ctl_sock;
struct ctl_metrics;

/* Append the exposition text (text/plain; version=0.0.4) to out. s may be
 * NULL. Control thread only. */
void ctl_metrics_render(struct control *ctl, struct ctl_sock *s, struct ctl_buf *out);

/*
 * ctl_metrics_dataplane - the sluice_dataplane_* families from the records
 * of nw workers: worker w's are rec[w * stride .. w * stride + cnt[w]).
 * Part of ctl_metrics_render; apart for the tests.
 */
struct ctl_dp_rec;
void ctl_metrics_dataplane(struct ctl_buf *b, unsigned nw, const struct ctl_dp_rec *rec, const unsigned *cnt,
			   unsigned stride);

/*
 * ctl_metrics_new - serve GET /metrics on c->metrics_addr from the control
 * loop. Returns NULL when no address is configured or the listener cannot
 * be set up (logged: the gateway runs without it).
 */
struct ctl_metrics *ctl_metrics_new(struct control *ctl, struct ctl_sock *s, const struct cfg *c);
void ctl_metrics_free(struct ctl_metrics *m);

#endif
