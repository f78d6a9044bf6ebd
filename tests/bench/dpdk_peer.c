/* dpdk_peer.c - an SMTP load generator and backend sink on our own TCP stack, on one DPDK port (see dpdk_peer.h). */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "dpdk/dpdk_eal.h"
#include "dpdk/dpdk_lcore.h"
#include "dpdk/dpdk_tx.h"
#include "dpdk_peer.h"
#include "net/net_arp.h"
#include "net/net_csum.h"
#include "net/net_if.h"
#include "net/net_input.h"
#include "net/net_ipv4.h"
#include "tcp/tcp.h"
#include "util/sl_addr.h"
#include "util/sl_status.h"

#define PEER_BURST      32
#define PEER_TXQ_MAX    (4 * PEER_BURST)
#define PEER_ARP_N      64
#define PEER_ARP_TICK   100     /* ms */
#define PEER_TRIES      64      /* source ports tried per connect */
#define PEER_CHUNK      (16u * 1024)

struct dpdk_peer;

/* One client session: the script position and the start of the reply line being read. */
struct peer_client {
	struct dpdk_peer   *p;
	struct peer_client *next_free;
	uint32_t            sent;     /**< bytes of msg queued in TCP */
	uint8_t             step;     /**< index in script[] of the reply awaited */
	bool                failed;
	bool                good;     /**< 221 arrived after everything else */
	uint8_t             len;      /**< bytes of the current line kept (at most 4) */
	char                line[4];
};

/* One sink session: command line or DATA comparison state. */
struct peer_sink {
	struct dpdk_peer *p;
	struct peer_sink *next_free;
	bool              data;   /**< between 354 and the end of DATA */
	bool              bad;    /**< DATA differs from msg: searching for its end byte by byte */
	bool              quit;
	uint8_t           len;
	char              cmd[4]; /**< the first bytes of the command line being read */
	uint32_t          pos;    /**< DATA bytes received */
	uint8_t           win[5]; /**< the last five DATA bytes (slow path only) */
};

struct dpdk_peer {
	struct dpdk_peer_cfg   cfg;
	struct dpdk_peer_stats st;
	struct net_if          ifp;
	struct net_stats       nst;
	struct net_arp_cache   arp;
	struct net_arp_entry  *arp_tab;
	struct net_ctx         nc;
	struct tcp_stack      *tcp;
	uint64_t               tsc_per_ms;
	uint64_t               now;        /**< ms */
	uint64_t               next_arp;
	uint64_t               t_mark;     /**< TSC at the end of the last accounted stretch */
	bool                   work;       /**< something started since the last poll */
	uint8_t                server_ip[4];
	uint16_t               server_port;
	uint16_t               next_port;
	unsigned               fails_shown;
	struct peer_client    *clients, *client_free;
	struct peer_sink      *sinks, *sink_free;
	uint16_t               txn;
	struct rte_mbuf       *txq[PEER_TXQ_MAX];
};

/* ---- TX: frames wait in txq for one burst per poll ---- */

static void txq_drain(struct dpdk_peer *p)
{
	uint64_t bytes = 0;
	uint16_t sent;

	if (p->txn == 0)
		return;
	/* lengths first: once a frame is on the ring, the other lcore may take and free it */
	for (uint16_t i = 0; i < p->txn; i++)
		bytes += rte_pktmbuf_pkt_len(p->txq[i]);
	sent = rte_eth_tx_burst(p->cfg.port_id, 0, p->txq, p->txn);
	for (uint16_t i = sent; i < p->txn; i++)
		bytes -= rte_pktmbuf_pkt_len(p->txq[i]);
	p->st.tx_pkts += sent;
	p->st.tx_bytes += bytes;
	if (sent < p->txn)
		memmove(p->txq, p->txq + sent, (size_t)(p->txn - sent) * sizeof(p->txq[0]));
	p->txn = (uint16_t)(p->txn - sent);
}

/* Owns m after. A queue still full after a drain: the other side is behind, drop (TCP retransmits). */
static void txq_put(struct dpdk_peer *p, struct rte_mbuf *m)
{
	if (p->txn >= PEER_TXQ_MAX) {
		txq_drain(p);
		if (p->txn >= PEER_TXQ_MAX) {
			p->st.tx_drop++;
			rte_pktmbuf_free(m);
			return;
		}
	}
	p->txq[p->txn++] = m;
}

/* net_tx_ops: ARP replies and requests built by the net layer */
static uint8_t *tx_alloc(void *ctx, size_t len, void **hdl)
{
	struct dpdk_peer *p = ctx;
	struct rte_mbuf *m = rte_pktmbuf_alloc(p->cfg.pool);

	if (m == NULL || len > rte_pktmbuf_tailroom(m)) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	*hdl = m;
	return rte_pktmbuf_mtod(m, uint8_t *);
}

static void tx_send(void *ctx, void *hdl, size_t len)
{
	struct rte_mbuf *m = hdl;

	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	txq_put(ctx, m);
}

static const struct net_tx_ops peer_tx_ops = { .alloc = tx_alloc, .send = tx_send };

/* neighbour cache callbacks: each waiting packet leaves by send or free */
static void neigh_solicit(void *ctx, uint32_t ip)
{
	struct dpdk_peer *p = ctx;

	net_arp_send_request(&p->nc, ip);
}

static void neigh_send(void *ctx, void *pkt, const struct net_mac *mac)
{
	memcpy(rte_pktmbuf_mtod((struct rte_mbuf *)pkt, uint8_t *), mac->b, NET_ETH_ALEN);
	txq_put(ctx, pkt);
}

static void neigh_free(void *ctx, void *pkt)
{
	(void)ctx;
	rte_pktmbuf_free(pkt);
}

/* tcp_stack_ops.output: one segment into one frame, TCP checksum in software */
static void tcp_out(void *ctx, const struct tcp_seg_out *s)
{
	static const struct net_mac zero;
	struct dpdk_peer *p = ctx;
	uint32_t src, dst, nh, thl = TCP_HDR_LEN + s->optlen, l4len = thl + s->len, sum;
	struct rte_mbuf *m;
	struct net_mac mac;
	size_t l2, total;
	uint8_t *b, *th;
	uint16_t cs;

	memcpy(&src, s->tuple->laddr, 4);
	memcpy(&dst, s->tuple->raddr, 4);
	if (net_route4(&p->ifp, dst, &nh) != SL_OK) {
		p->st.tx_drop++;
		return;
	}
	m = rte_pktmbuf_alloc(p->cfg.pool);
	if (m == NULL) {
		p->st.tx_drop++;
		return;
	}
	b = rte_pktmbuf_mtod(m, uint8_t *);
	l2 = net_eth_build(b, &zero, &p->ifp.mac, NET_ETHERTYPE_IPV4, 0);
	total = l2 + NET_IPV4_HLEN + l4len;
	if (SL_MAX(total, (size_t)NET_ETH_MIN_FRAME) > rte_pktmbuf_tailroom(m)) {
		p->st.tx_drop++;
		rte_pktmbuf_free(m);
		return;
	}
	net_ipv4_build(b + l2, src, dst, NET_IPPROTO_TCP, (uint16_t)l4len, NET_IPV4_DEFAULT_TTL, true);
	th = b + l2 + NET_IPV4_HLEN;
	tcp_build_header(s, th);
	/* summed from the fields and the pieces, not read back from the fresh mbuf (as sluice does) */
	sum = net_csum_pseudo4(src, dst, NET_IPPROTO_TCP, (uint16_t)l4len) + tcp_header_sum(s);
	for (unsigned k = 0, at = 0; k < s->npieces; at += s->dlen[k], k++) {   /* copied, owners or not */
		uint16_t v = net_csum_fold(net_csum_add(0, s->data[k], s->dlen[k]));

		sum += (at & 1) ? (uint16_t)(v << 8 | v >> 8) : v;
		memcpy(th + thl + at, s->data[k], s->dlen[k]);
	}
	cs = net_csum_finish(sum);
	memcpy(th + 16, &cs, 2);
	total = net_eth_pad(b, total);
	m->data_len = (uint16_t)total;
	m->pkt_len = (uint32_t)total;
	switch (net_arp_resolve(&p->arp, nh, m, &mac, p->now)) {
	case NET_ARP_HIT:
		memcpy(b, mac.b, NET_ETH_ALEN);
		txq_put(p, m);
		break;
	case NET_ARP_QUEUED:
		break;
	default:
		p->st.tx_drop++;
		rte_pktmbuf_free(m);
		break;
	}
}

static const struct tcp_stack_ops peer_tcp_ops = {
	.output = tcp_out, .hold = dpdk_tx_mbuf_hold, .release = dpdk_tx_mbuf_release,
};

/* ---- the sink ---- */

static void sink_reply(struct tcp_conn *c, const char *s, uint32_t len)
{
	tcp_send(c, s, len);   /* a few bytes into an empty 16 KiB buffer: cannot fail short of a closing TCB */
}

#define SINK_REPLY(c, lit) sink_reply((c), lit, sizeof(lit) - 1)

static void sink_end_of_data(struct tcp_conn *c, struct peer_sink *k)
{
	struct dpdk_peer *p = k->p;

	p->st.sink_msgs++;
	if (!k->bad && k->pos == p->cfg.msg_len) {
		p->st.sink_good++;
		p->st.sink_bytes += k->pos;
	}
	k->data = false;
	SINK_REPLY(c, "250 2.0.0 Ok: queued\r\n");
}

static void sink_command(struct tcp_conn *c, struct peer_sink *k)
{
	const char *w = k->cmd;

	if (k->len < 4) {
		SINK_REPLY(c, "500 5.5.2 Error: bad syntax\r\n");
	} else if (strncasecmp(w, "DATA", 4) == 0) {
		k->data = true;
		k->bad = false;
		k->pos = 0;
		SINK_REPLY(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
	} else if (strncasecmp(w, "QUIT", 4) == 0) {
		k->quit = true;
		SINK_REPLY(c, "221 2.0.0 Bye\r\n");
		tcp_close(c);
	} else if (strncasecmp(w, "EHLO", 4) == 0) {
		if (k->p->cfg.sink_pipelining)
			SINK_REPLY(c, "250-sink.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
		else
			SINK_REPLY(c, "250-sink.test\r\n250 8BITMIME\r\n");
	} else {
		SINK_REPLY(c, "250 2.0.0 Ok\r\n");   /* HELO MAIL RCPT RSET NOOP */
	}
}

/* DATA after a difference: byte by byte until "\r\n.\r\n" (or ".\r\n" as the first line). Returns bytes used. */
static uint32_t sink_slow(struct tcp_conn *c, struct peer_sink *k, const uint8_t *d, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++) {
		k->pos++;
		memmove(k->win, k->win + 1, 4);
		k->win[4] = d[i];
		if ((k->pos == 3 && memcmp(k->win + 2, ".\r\n", 3) == 0) ||
		    (k->pos >= 5 && memcmp(k->win, "\r\n.\r\n", 5) == 0)) {
			sink_end_of_data(c, k);
			return i + 1;
		}
	}
	return len;
}

/* DATA: the bytes are compared with msg as they come; the end of msg is the end of DATA. Returns bytes used. */
static uint32_t sink_fast(struct tcp_conn *c, struct peer_sink *k, const uint8_t *d, uint32_t len)
{
	const struct dpdk_peer_cfg *cfg = &k->p->cfg;
	uint32_t n = SL_MIN(len, cfg->msg_len - k->pos), j;

	if (memcmp(d, cfg->msg + k->pos, n) == 0) {
		k->pos += n;
		if (k->pos == cfg->msg_len)
			sink_end_of_data(c, k);
		return n;
	}
	/* they differ: keep the matching prefix, then look for the real end byte by byte */
	for (j = 0; j < n && d[j] == (uint8_t)cfg->msg[k->pos + j]; j++)
		;
	k->pos += j;
	k->bad = true;
	for (int w = 0; w < 5; w++) {
		int64_t at = (int64_t)k->pos - 5 + w;

		k->win[w] = at >= 0 ? (uint8_t)cfg->msg[at] : 0;
	}
	return j + sink_slow(c, k, d + j, len - j);
}

static uint32_t sink_data(struct tcp_conn *c, void *user, const uint8_t *d, uint32_t len, void *owner)
{
	struct peer_sink *k = user;
	uint32_t i = 0;

	(void)owner;
	while (i < len && !k->quit) {
		if (k->data) {
			i += k->bad ? sink_slow(c, k, d + i, len - i) : sink_fast(c, k, d + i, len - i);
			continue;
		}
		const uint8_t *nl = memchr(d + i, '\n', len - i);
		uint32_t end = nl != NULL ? (uint32_t)(nl - d) : len;

		while (k->len < sizeof(k->cmd) && i < end)
			k->cmd[k->len++] = (char)d[i++];
		i = end;
		if (nl == NULL)
			break;
		i++;
		sink_command(c, k);
		k->len = 0;
	}
	return len;   /* after QUIT the rest is ignored */
}

static void sink_closed(struct tcp_conn *c, void *user, enum tcp_close_reason why)
{
	struct peer_sink *k = user;
	struct dpdk_peer *p = k->p;

	(void)c, (void)why;
	k->next_free = p->sink_free;
	p->sink_free = k;
}

static const struct tcp_conn_cbs sink_cbs = { .data = sink_data, .closed = sink_closed };

static int sink_accept(void *lctx, struct tcp_conn *c)
{
	struct dpdk_peer *p = lctx;
	struct peer_sink *k = p->sink_free;

	if (k == NULL)
		return SL_ERROR;   /* reset */
	p->sink_free = k->next_free;
	memset(k, 0, sizeof(*k));
	k->p = p;
	p->st.sink_sessions++;
	tcp_conn_set_cbs(c, &sink_cbs, k);
	SINK_REPLY(c, "220 sink.test ESMTP\r\n");
	return SL_OK;
}

/* ---- the clients ---- */

/* The reply each step waits for and what it sends then (NULL at 354: the message; at 221: close). */
static const struct {
	int         code;
	const char *send;
	uint32_t    len;
} script[] = {
#define STEP(code, s) { code, s, sizeof(s) - 1 }
	STEP(220, "EHLO client.test.example\r\n"),
	STEP(250, "MAIL FROM:<a@b.example>\r\n"),
	STEP(250, "RCPT TO:<user@example.net>\r\n"),
	STEP(250, "DATA\r\n"),
	{ 354, NULL, 0 },
	STEP(250, "QUIT\r\n"),
	{ 221, NULL, 0 },
#undef STEP
};

#define SCRIPT_STEPS ((uint8_t)(sizeof(script) / sizeof(script[0])))

/* Queue msg as far as the send buffer takes it; writable brings the rest. */
static void client_push(struct tcp_conn *c, struct peer_client *k)
{
	const struct dpdk_peer_cfg *cfg = &k->p->cfg;

	while (k->sent < cfg->msg_len) {
		uint32_t n = SL_MIN(cfg->msg_len - k->sent, PEER_CHUNK), room = tcp_send_space(c);

		if (room > 0 && room < n)
			n = room;
		if (tcp_send(c, cfg->msg + k->sent, n) != SL_OK)
			return;   /* SL_AGAIN: writable() comes when there is room */
		k->sent += n;
	}
}

static void client_writable(struct tcp_conn *c, void *user)
{
	struct peer_client *k = user;

	if (k->step > 4 && k->sent < k->p->cfg.msg_len)   /* past 354 */
		client_push(c, k);
}

static void client_unexpected(struct tcp_conn *c, struct peer_client *k, const char *line, unsigned len)
{
	struct dpdk_peer *p = k->p;

	p->st.fail_class[line[0] >= '1' && line[0] <= '5' ? line[0] - '0' : 0]++;
	if (p->fails_shown < p->cfg.verbose_fails) {
		p->fails_shown++;
		fprintf(stderr, "dpdk_peer: client step %u wants %d, got \"%.*s...\"\n", k->step,
			script[k->step < SCRIPT_STEPS ? k->step : SCRIPT_STEPS - 1].code, (int)len, line);
	}
	k->failed = true;
	tcp_abort(c);   /* closed() runs now */
}

/* A whole reply line began with k->line: the last line of a reply moves the script on. false: aborted. */
static bool client_line(struct tcp_conn *c, struct peer_client *k)
{
	int code;

	if (k->len == 4 && k->line[3] == '-')
		return true;   /* continuation */
	if (k->len < 3 || k->step >= SCRIPT_STEPS || k->line[0] < '0' || k->line[0] > '9') {
		client_unexpected(c, k, k->line, k->len);
		return false;
	}
	code = (k->line[0] - '0') * 100 + (k->line[1] - '0') * 10 + (k->line[2] - '0');
	if (code != script[k->step].code) {
		client_unexpected(c, k, k->line, k->len);
		return false;
	}
	if (code == 354) {
		k->sent = 0;
		client_push(c, k);
	} else if (script[k->step].send != NULL) {
		tcp_send(c, script[k->step].send, script[k->step].len);
	} else {   /* 221 */
		k->good = true;
		tcp_close(c);
	}
	k->step++;
	return true;
}

static uint32_t client_data(struct tcp_conn *c, void *user, const uint8_t *d, uint32_t len, void *owner)
{
	struct peer_client *k = user;
	uint32_t i = 0;

	(void)owner;
	while (i < len && !k->failed && !k->good) {
		const uint8_t *nl = memchr(d + i, '\n', len - i);
		uint32_t end = nl != NULL ? (uint32_t)(nl - d) : len;

		while (k->len < sizeof(k->line) && i < end)
			k->line[k->len++] = (char)d[i++];
		if (nl == NULL)
			break;
		i = end + 1;
		if (!client_line(c, k))
			break;   /* aborted: k is free now */
		k->len = 0;
	}
	return len;
}

static void client_closed(struct tcp_conn *c, void *user, enum tcp_close_reason why)
{
	struct peer_client *k = user;
	struct dpdk_peer *p = k->p;

	(void)c, (void)why;
	p->st.done++;
	if (k->good && !k->failed)
		p->st.ok++;
	else
		p->st.failed++;
	k->next_free = p->client_free;
	p->client_free = k;
}

static const struct tcp_conn_cbs client_cbs = {
	.data = client_data, .writable = client_writable, .closed = client_closed,
};

bool dpdk_peer_start(struct dpdk_peer *p)
{
	struct peer_client *k = p->client_free;
	const uint16_t lo = p->cfg.client_port_lo, hi = p->cfg.client_port_hi;
	uint8_t us[4];

	if (k == NULL || p->cfg.server == NULL) {
		p->st.connect_fail++;
		return false;
	}
	memcpy(us, &p->ifp.ip4, 4);
	p->client_free = k->next_free;
	memset(k, 0, sizeof(*k));
	k->p = p;
	for (int t = 0; t < PEER_TRIES; t++) {
		uint16_t port = p->next_port;

		p->next_port = port >= hi ? lo : (uint16_t)(port + 1);
		if (port == p->cfg.sink_port)
			continue;
		if (tcp_connect(p->tcp, SL_AF_INET, us, port, p->server_ip, p->server_port, &client_cbs, k) != NULL) {
			p->st.started++;
			p->work = true;
			return true;
		}
	}
	k->next_free = p->client_free;   /* back to the pool */
	p->client_free = k;
	p->st.connect_fail++;
	return false;
}

/* ---- the loop ---- */

/*
 * A frame as one segment: sluice chains indirect mbufs for the DATA it
 * relays by reference, and net_input reads one contiguous frame. In place
 * when the first segment is ours to write (DPDK's linearize), else a copy
 * into a fresh mbuf (as sluice's own lcores do). NULL (m freed) when
 * neither works.
 */
static struct rte_mbuf *rx_linear(struct dpdk_peer *p, struct rte_mbuf *m)
{
	p->st.rx_chained++;
	if (RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1 && rte_pktmbuf_linearize(m) == 0)
		return m;
	m = dpdk_mbuf_linearise(m, p->cfg.pool);
	if (m == NULL)
		p->st.rx_drop++;
	return m;
}

/* Cycles since the last mark count as busy or idle. */
static inline void account(struct dpdk_peer *p, bool busy)
{
	uint64_t t = rte_rdtsc();

	if (busy)
		p->st.busy_cycles += t - p->t_mark;
	else
		p->st.idle_cycles += t - p->t_mark;
	p->t_mark = t;
}

unsigned dpdk_peer_poll(struct dpdk_peer *p)
{
	struct rte_mbuf *pkts[PEER_BURST];
	uint16_t n = rte_eth_rx_burst(p->cfg.port_id, 0, pkts, PEER_BURST);
	uint64_t tx0 = p->st.tx_pkts;
	unsigned moved;

	p->now = rte_rdtsc() / p->tsc_per_ms;
	p->nc.now_ms = p->now;
	tcp_advance(p->tcp, p->now);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct net_rx rx;

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		p->st.rx_pkts++;
		p->st.rx_bytes += rte_pktmbuf_pkt_len(m);
		if (m->nb_segs != 1 && (m = rx_linear(p, m)) == NULL)
			continue;
		if (net_input(&p->nc, rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m), dpdk_rx_flags(m),
			      &rx) == NET_RX_TCP) {
			struct tcp_seg_in seg = { .family = SL_AF_INET, .saddr = rx.src.ip, .daddr = rx.dst.ip,
						  .tcp = rx.l4, .len = rx.l4_len, .owner = m };

			tcp_input(p->tcp, &seg);
		}
		rte_pktmbuf_free(m);   /* what the stack keeps, it holds */
	}
	if (p->now >= p->next_arp) {
		net_arp_tick(&p->arp, p->now);
		p->next_arp = p->now + PEER_ARP_TICK;
	}
	txq_drain(p);
	moved = n + (unsigned)(p->st.tx_pkts - tx0);
	p->st.loops++;
	account(p, moved > 0 || p->work);
	p->work = false;
	return moved;
}

int dpdk_peer_resolve(struct dpdk_peer *p, unsigned ms)
{
	uint64_t end = rte_rdtsc() + (uint64_t)ms * p->tsc_per_ms;
	uint32_t ip, nh;
	struct net_mac mac;

	memcpy(&ip, p->server_ip, 4);
	if (net_route4(&p->ifp, ip, &nh) != SL_OK)
		return SL_ERROR;
	net_arp_resolve(&p->arp, nh, NULL, &mac, p->now);
	while (rte_rdtsc() < end) {
		const struct net_arp_entry *e;

		dpdk_peer_poll(p);
		e = net_arp_lookup(&p->arp, nh);
		if (e != NULL && e->state == NET_NEIGH_REACHABLE)
			return SL_OK;
		rte_delay_us_sleep(100);
	}
	return SL_ERROR;
}

int dpdk_peer_run(struct dpdk_peer *p, uint64_t n, unsigned concurrency, uint64_t deadline_tsc, bool yield)
{
	uint64_t target = p->st.started + n;

	while (p->st.done < target) {
		while (p->st.started < target && p->st.started - p->st.done < concurrency)
			if (!dpdk_peer_start(p))
				break;
		if (dpdk_peer_poll(p) == 0 && yield) {
			sched_yield();
			account(p, false);
		}
		if (rte_rdtsc() > deadline_tsc)
			return SL_ERROR;
	}
	return SL_OK;
}

static uint64_t live_conns(const struct dpdk_peer *p)
{
	uint64_t n = 0;

	for (int s = TCP_SYN_SENT; s <= TCP_LAST_ACK; s++)
		n += p->tcp->cnt.conns[s];
	return n;
}

bool dpdk_peer_settle(struct dpdk_peer *p, unsigned ms, bool yield)
{
	uint64_t end = rte_rdtsc() + (uint64_t)ms * p->tsc_per_ms;

	while (live_conns(p) > 0) {
		if (rte_rdtsc() > end)
			return false;
		if (dpdk_peer_poll(p) == 0 && yield) {
			sched_yield();
			account(p, false);
		}
	}
	return true;
}

int dpdk_peer_sink_listen(struct dpdk_peer *p, bool on)
{
	if (p->cfg.sink_port == 0)
		return SL_ERROR;
	if (!on) {
		tcp_unlisten(p->tcp, p->cfg.sink_port);
		return SL_OK;
	}
	return tcp_listen(p->tcp, p->cfg.sink_port, sink_accept, p);
}

const struct dpdk_peer_stats *dpdk_peer_stats(const struct dpdk_peer *p)
{
	return &p->st;
}

const struct tcp_counters *dpdk_peer_tcp(const struct dpdk_peer *p)
{
	return &p->tcp->cnt;
}

/* ---- set-up ---- */

/* The only end of DATA in m is its last five bytes (or m is ".\r\n"): see dpdk_peer.h. */
static bool msg_ok(const char *m, uint32_t len)
{
	if (m == NULL || len < 3)
		return false;
	if (len == 3)
		return memcmp(m, ".\r\n", 3) == 0;
	return memcmp(m, ".\r\n", 3) != 0 && memmem(m, len, "\r\n.\r\n", 5) == m + len - 5;
}

struct dpdk_peer *dpdk_peer_new(const struct dpdk_peer_cfg *cfg, char *err, size_t errlen)
{
	struct dpdk_peer *p;
	struct net_arp_cfg acfg;
	struct net_neigh_ops nops = { .solicit = neigh_solicit, .send = neigh_send, .free = neigh_free };
	struct tcp_config tcfg;
	struct rte_ether_addr ea;
	struct sl_addr a;
	struct net_mac mac = cfg->mac;

	if (cfg->pool == NULL || cfg->max_sessions == 0 || !msg_ok(cfg->msg, cfg->msg_len)) {
		dpdk_set_err(err, errlen, "dpdk_peer: %s", cfg->pool == NULL ? "no mbuf pool" :
			cfg->max_sessions == 0 ? "max_sessions is 0" :
			"the message must end with CRLF.CRLF and hold no earlier one");
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		dpdk_set_err(err, errlen, "dpdk_peer: no memory");
		return NULL;
	}
	p->cfg = *cfg;
	if (p->cfg.client_port_lo == 0 || p->cfg.client_port_hi < p->cfg.client_port_lo) {
		p->cfg.client_port_lo = 10000;
		p->cfg.client_port_hi = 60999;
	}
	p->next_port = p->cfg.client_port_lo;
	p->tsc_per_ms = rte_get_tsc_hz() / 1000;
	if (p->tsc_per_ms == 0)
		p->tsc_per_ms = 1;
	p->now = rte_rdtsc() / p->tsc_per_ms;
	p->t_mark = rte_rdtsc();

	if (net_mac_is_zero(&mac) && rte_eth_macaddr_get(cfg->port_id, &ea) == 0)
		memcpy(mac.b, ea.addr_bytes, NET_ETH_ALEN);
	net_if_init(&p->ifp, cfg->port_id, &mac);
	if (cfg->addr == NULL || sl_addr_parse(cfg->addr, &a, false) != 0 ||
	    net_if_set_ipv4(&p->ifp, &a, cfg->plen, NULL) != SL_OK) {
		dpdk_set_err(err, errlen, "dpdk_peer: bad address %s/%u", cfg->addr != NULL ? cfg->addr : "(none)",
			cfg->plen);
		goto fail;
	}
	if (cfg->server != NULL) {
		if (sl_addr_parse(cfg->server, &a, true) != 0 || a.family != SL_AF_INET) {
			dpdk_set_err(err, errlen, "dpdk_peer: bad server address %s (IPv4:PORT)", cfg->server);
			goto fail;
		}
		memcpy(p->server_ip, a.ip, 4);
		p->server_port = a.port;
	}
	p->arp_tab = aligned_alloc(64, PEER_ARP_N * sizeof(struct net_arp_entry));
	if (p->arp_tab == NULL)
		goto nomem;
	memset(p->arp_tab, 0, PEER_ARP_N * sizeof(struct net_arp_entry));
	nops.ctx = p;
	net_arp_cfg_default(&acfg);
	if (net_arp_cache_init(&p->arp, p->arp_tab, PEER_ARP_N, &acfg, &nops, &p->nst) != SL_OK) {
		dpdk_set_err(err, errlen, "dpdk_peer: ARP cache init failed");
		goto fail;
	}
	p->nc.ifp = &p->ifp;
	p->nc.arp = &p->arp;
	p->nc.stats = &p->nst;
	p->nc.tx = &peer_tx_ops;
	p->nc.tx_ctx = p;
	p->nc.now_ms = p->now;

	p->clients = calloc(cfg->max_sessions, sizeof(*p->clients));
	p->sinks = calloc(cfg->max_sessions, sizeof(*p->sinks));
	if (p->clients == NULL || p->sinks == NULL)
		goto nomem;
	for (uint32_t i = cfg->max_sessions; i-- > 0;) {
		p->clients[i].next_free = p->client_free;
		p->client_free = &p->clients[i];
		p->sinks[i].next_free = p->sink_free;
		p->sink_free = &p->sinks[i];
	}

	tcp_config_defaults(&tcfg);
	tcfg.max_conns = 2 * cfg->max_sessions + 64;
	tcfg.max_tw = cfg->max_tw != 0 ? cfg->max_tw : 65536;
	tcfg.snd_buf = cfg->snd_buf != 0 ? cfg->snd_buf : 16 * 1024;
	tcfg.key[0] = rte_rdtsc();
	tcfg.key[1] = 0x736c756963652d70ull;   /* "sluice-p" */
	p->tcp = tcp_stack_new(&tcfg, &peer_tcp_ops, p, p->now);
	if (p->tcp == NULL) {
		dpdk_set_err(err, errlen, "dpdk_peer: TCP stack of %u connections, %u-byte buffers: no memory or bad size",
			tcfg.max_conns, tcfg.snd_buf);
		goto fail;
	}
	if (cfg->sink_port != 0 && tcp_listen(p->tcp, cfg->sink_port, sink_accept, p) != SL_OK) {
		dpdk_set_err(err, errlen, "dpdk_peer: cannot listen on port %u", cfg->sink_port);
		goto fail;
	}
	net_send_gratuitous(&p->nc);
	txq_drain(p);
	return p;
nomem:
	dpdk_set_err(err, errlen, "dpdk_peer: no memory for %u sessions", cfg->max_sessions);
fail:
	dpdk_peer_free(p);
	return NULL;
}

void dpdk_peer_free(struct dpdk_peer *p)
{
	if (p == NULL)
		return;
	tcp_stack_free(p->tcp);   /* no callbacks: the session objects just go */
	if (p->arp_tab != NULL)
		net_arp_flush(&p->arp);
	for (uint16_t i = 0; i < p->txn; i++)
		rte_pktmbuf_free(p->txq[i]);
	free(p->arp_tab);
	free(p->clients);
	free(p->sinks);
	free(p);
}
