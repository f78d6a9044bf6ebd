/* dpdk_counters.c - one worker's dataplane, L3 and TCP counters as named records for sluicectl stats and the metrics. */
#include "dpdk/dpdk_counters.h"

#include <stddef.h>
#include <string.h>

#include "dpdk/dpdk.h"
#include "dpdk/dpdk_transport.h"
#include "net/net_stats.h"
#include "tcp/tcp_names.h"
#include "util/sl_status.h"

/*
 * The names below are the protocol (PROTOCOL.md, "stats") and the metric
 * families (sluice_dataplane_NAME): add, never rename. Tables of offsets,
 * so that a field is named once and its help sits beside it.
 */
struct fld {
	const char      *name;
	const char      *help;
	size_t           off;
	enum ctl_dp_kind kind;
};

#define DS(f, n, k, h) { n, h, offsetof(struct dpdk_stats, f), k }
#define NS(f, n, h) { n, h, offsetof(struct dpdk_stats, net) + offsetof(struct net_stats, f), CTL_DP_COUNTER }
#define TC(f, n, k, h) { n, h, offsetof(struct tcp_counters, f), k }
#define C CTL_DP_COUNTER
#define G CTL_DP_GAUGE

/* lcore_id and tsc_hz are per worker only (first in the table: skipped for the totals) */
#define DS_WORKER_ONLY 2
static const struct fld ds_flds[] = {
	DS(lcore_id, "lcore_id", G, "EAL lcore the worker runs on."),
	DS(tsc_hz, "tsc_hz", G, "TSC cycles per second (turns cycles into time)."),
	DS(rx_pkts, "rx_packets", C, "Frames taken from the worker's RX queues."),
	DS(rx_bytes, "rx_bytes", C, "Bytes of the frames taken from the RX queues."),
	DS(tx_pkts, "tx_packets", C, "Frames the TX queues accepted."),
	DS(tx_bytes, "tx_bytes", C, "Bytes of the frames the TX queues accepted."),
	DS(tx_drop, "tx_drops", C, "Frames built but freed: TX queue full, or left at stop."),
	DS(rx_nonlinear, "rx_multiseg", C, "Multi-segment RX frames: linearised into one mbuf, or dropped when too long or out of mbufs."),
	DS(ho_out, "handover_out", C, "Frames handed to the worker that owns their flow."),
	DS(ho_in, "handover_in", C, "Frames other workers handed to this one."),
	DS(ho_drop, "handover_drops", C, "Frames for another worker dropped: its hand-over ring was full."),
	DS(arp_share_drop, "arp_share_drops", C, "ARP learns another worker missed: its ring was full."),
	DS(loops, "loops", C, "Iterations of the worker's loop."),
	DS(busy_cycles, "busy_cycles", C, "TSC cycles of loop iterations that did work."),
	DS(idle_cycles, "idle_cycles", C, "TSC cycles of empty loop iterations."),
};

static const struct fld ns_flds[] = {
	NS(arp_requests_in, "arp_requests_in", "ARP requests for our addresses."),
	NS(arp_replies_in, "arp_replies_in", "ARP replies addressed to us."),
	NS(arp_requests_out, "arp_requests_out", "ARP requests sent (resolutions, retries, refreshes)."),
	NS(arp_replies_out, "arp_replies_out", "ARP replies sent."),
	NS(icmp_echo_out, "icmp_echo_replies", "ICMP echo replies sent."),
	NS(tcp_in, "tcp_segments_to_stack", "TCP segments handed from IP to the TCP stack."),
};

static const struct fld tc_flds[] = {
	TC(seg_in, "tcp_segments_in", C, "TCP segments the stack received."),
	TC(seg_out, "tcp_segments_out", C, "TCP segments the stack sent."),
	TC(bytes_in, "tcp_bytes_in", C, "TCP payload bytes received."),
	TC(bytes_out, "tcp_bytes_out", C, "TCP payload bytes sent, retransmissions included."),
	TC(retransmits, "tcp_retransmits", C, "Segments sent again after a timeout (RTO, go-back), and SYNs sent again at once after a stale ACK."),
	TC(fast_retransmits, "tcp_fast_retransmits", C, "Segments sent again on duplicate or partial ACKs."),
	TC(fast_recoveries, "tcp_fast_recoveries", C, "Entries into NewReno fast recovery."),
	TC(rto_fired, "tcp_rto_fired", C, "Retransmission timeouts."),
	TC(persist_probes, "tcp_persist_probes", C, "Zero-window probes sent."),
	TC(keepalive_probes, "tcp_keepalive_probes", C, "Keepalive probes sent."),
	TC(delayed_acks, "tcp_delayed_acks", C, "ACKs sent by the delayed-ACK timer."),
	TC(challenge_acks, "tcp_challenge_acks", C, "Challenge ACKs sent (RFC 5961)."),
	TC(challenge_acks_limited, "tcp_challenge_acks_limited", C, "Challenge ACKs not sent: rate limit."),
	TC(rst_sent, "tcp_rst_sent", C, "RST segments sent."),
	TC(rst_limited, "tcp_rst_limited", C, "RST segments not sent: rate limit."),
	TC(ooo_queued, "tcp_ooo_queued", C, "Out-of-order segments queued."),
	TC(accepted, "tcp_accepted", C, "Passive opens completed (client legs)."),
	TC(connected, "tcp_connected", C, "Active opens completed (backend legs, health checks)."),
	TC(timeouts, "tcp_timeouts", C, "Connections ended by a timeout."),
	TC(tw_reused, "tcp_time_wait_reused", C, "TIME-WAIT entries reused by a new SYN."),
	TC(tw_recycled, "tcp_time_wait_recycled", C, "TIME-WAIT entries evicted early."),
	TC(tw_reset, "tcp_time_wait_reset", C, "TIME-WAIT entries ended by a client's RST to our ACK of its refused SYN."),
	TC(rtt_samples, "tcp_rtt_samples", C, "Round-trip time samples taken."),
	TC(cwnd_idle_resets, "tcp_cwnd_idle_resets", C, "Congestion windows restarted after idle."),
	TC(syncookies_sent, "tcp_syncookies_sent", C, "SYN-ACKs sent with a SYN cookie (backlog full)."),
	TC(syncookies_accepted, "tcp_syncookies_accepted", C, "ACKs whose SYN cookie validated."),
	TC(syncookies_rejected, "tcp_syncookies_rejected", C, "ACKs with a bad or expired SYN cookie."),
	TC(snd_ref_bytes, "tcp_send_ref_bytes", C, "Bytes queued for sending by reference (no copy)."),
	TC(snd_copy_bytes, "tcp_send_copy_bytes", C, "Bytes copied into send buffers."),
};

#undef DS
#undef NS
#undef TC
#undef C
#undef G

#define NFLD(t) (sizeof(t) / sizeof((t)[0]))
/* busy_percent and checksum_errors, then the labelled families (TCP_CLOSED is not shown) */
#define DPDK_COUNTERS_MAX (NFLD(ds_flds) + 1 + NFLD(ns_flds) + 1 + (NET_DROP_MAX - 1) + \
			   NFLD(tc_flds) + TCP_DROP_COUNT + (TCP_STATE_COUNT - 1))
_Static_assert(DPDK_COUNTERS_MAX <= CTL_DP_REC_MAX, "raise CTL_DP_REC_MAX: the records of a worker must fit");

static const char help_net_drops[] = "Frames dropped below TCP, by reason.";
static const char help_tcp_drops[] = "TCP segments dropped by the stack, by reason.";
static const char help_tcp_conns[] = "TCP connections now in each state.";

struct sink {
	struct ctl_dp_rec *out;
	unsigned           n, max;
};

static void put(struct sink *s, const char *name, const char *help, enum ctl_dp_kind kind,
		const char *label, const char *lvalue, uint64_t v)
{
	if (s->n == s->max)
		return;
	s->out[s->n++] = (struct ctl_dp_rec){
		.name = name, .help = help, .label = label, .lvalue = lvalue, .kind = kind, .value = v,
	};
}

static void put_table(struct sink *s, const struct fld *t, size_t n, const void *base)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v;

		memcpy(&v, (const char *)base + t[i].off, sizeof(v));
		put(s, t[i].name, t[i].help, t[i].kind, NULL, NULL, v);
	}
}

unsigned dpdk_counters_fill(const struct dpdk_stats *ds, const struct tcp_counters *tc, bool worker,
			    struct ctl_dp_rec *out, unsigned max)
{
	struct sink s = { out, 0, max };
	uint64_t all = ds->busy_cycles + ds->idle_cycles;
	const uint64_t *nd = ds->net.drop;

	if (worker)
		put_table(&s, ds_flds, NFLD(ds_flds), ds);
	else
		put_table(&s, ds_flds + DS_WORKER_ONLY, NFLD(ds_flds) - DS_WORKER_ONLY, ds);
	/* since start, rounded: the metrics' rate() of the cycles says it for an interval */
	put(&s, "busy_percent", "Share of the loop's cycles spent on work since start, in percent.",
	    CTL_DP_GAUGE, NULL, NULL, all ? (ds->busy_cycles * 100 + all / 2) / all : 0);
	put_table(&s, ns_flds, NFLD(ns_flds), ds);
	/* our checksums are all checked below TCP (net_input): one figure for the three */
	put(&s, "checksum_errors", "Frames dropped for a bad IPv4, ICMP or TCP checksum.", CTL_DP_COUNTER,
	    NULL, NULL, nd[NET_DROP_IP_CSUM] + nd[NET_DROP_ICMP_CSUM] + nd[NET_DROP_TCP_CSUM]);
	for (unsigned r = 1; r < NET_DROP_MAX; r++)   /* NET_DROP_NONE is not a drop */
		put(&s, "net_drops", help_net_drops, CTL_DP_COUNTER, "reason", net_drop_name((enum net_drop)r),
		    nd[r]);
	if (tc == NULL)
		return s.n;
	put_table(&s, tc_flds, NFLD(tc_flds), tc);
	for (unsigned r = 0; r < TCP_DROP_COUNT; r++)
		put(&s, "tcp_drops", help_tcp_drops, CTL_DP_COUNTER, "reason", tcp_drop_name((enum tcp_drop)r),
		    tc->drops[r]);
	for (unsigned st = TCP_CLOSED + 1; st < TCP_STATE_COUNT; st++)
		put(&s, "tcp_connections", help_tcp_conns, CTL_DP_GAUGE, "state",
		    tcp_state_label((enum tcp_state)st), tc->conns[st]);
	return s.n;
}

_Static_assert(sizeof(struct tcp_counters) % sizeof(uint64_t) == 0, "tcp_counters must be whole words");

bool dpdk_counters_tcp_read(const struct dpdk_dp *dp, unsigned w, struct tcp_counters *out)
{
	struct dpdk_tp_stats tps;
	const struct tcp_counters *tc;
	const uint64_t *src;
	uint64_t *dst = (uint64_t *)out;

	if (dpdk_tp_worker_stats(dp, w, &tps, &tc) != SL_OK || tc == NULL)
		return false;
	/* the lcore's plain stores of whole aligned words: relaxed loads never tear them */
	src = (const uint64_t *)tc;
	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	return true;
}

unsigned dpdk_counters_get(void *arg, int worker, struct ctl_dp_rec *out, unsigned max)
{
	const struct dpdk_dp *dp = arg;
	struct dpdk_stats ds;
	struct tcp_counters tc, one;
	bool have_tcp = false;
	unsigned nw = dpdk_dp_nworkers(dp);

	if (worker >= 0) {
		if (dpdk_stats_read(dp, (unsigned)worker, &ds) != SL_OK)
			return 0;
		have_tcp = dpdk_counters_tcp_read(dp, (unsigned)worker, &tc);
		return dpdk_counters_fill(&ds, have_tcp ? &tc : NULL, true, out, max);
	}
	dpdk_stats_total(dp, &ds);
	memset(&tc, 0, sizeof(tc));
	for (unsigned w = 0; w < nw; w++) {
		uint64_t *t = (uint64_t *)&tc;
		const uint64_t *o = (const uint64_t *)&one;

		if (!dpdk_counters_tcp_read(dp, w, &one))
			continue;
		have_tcp = true;
		for (size_t i = 0; i < sizeof(tc) / sizeof(uint64_t); i++)
			t[i] += o[i];
	}
	return dpdk_counters_fill(&ds, have_tcp ? &tc : NULL, false, out, max);
}
