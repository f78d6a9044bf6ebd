/* fuzz_tcp_input.c - libFuzzer harness for the packet input path: Ethernet frames through net_input into the TCP stack. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_csum.h"
#include "net/net_input.h"
#include "net/net_ipv4.h"
#include "tcp/tcp.h"
#include "tcp/tcp_seq.h"
#include "util/sl_status.h"

/*
 * What it drives: one port (198.18.0.1/24, MAC 02:00:00:00:00:01) with its
 * ARP cache and counters, and one TCP stack with a listener on port 25,
 * glued as dpdk_lcore.c / dpdk_transport.c glue them: every frame goes
 * through net_input; a NET_RX_TCP verdict goes to tcp_input with the frame
 * as its refcounted owner (hold/release); what the stack sends is built as
 * an Ethernet/IPv4/TCP frame and goes through ARP resolution (queued packets
 * leave by the cache's send or free). Nothing of EAL.
 *
 * To reach deep states the harness first scripts a prefix itself: ARP from
 * both peers, a passive open from 198.18.0.2:40000 (options chosen by input
 * byte 0) and an active open to the "backend" 198.18.0.3:2525, each with a
 * greeting in flight. The rest of the input is a list of records: a whole
 * fuzzed frame, or a segment to one of 32 remote peers whose IP/TCP headers
 * the harness writes (addresses, ports, checksums, sequence and ack numbers
 * relative to what the stack last said) with fuzzed flags, offsets, window,
 * options and payload length; time steps; application calls (send, close,
 * abort, resume, receive space, keepalive, new active opens). Virtual time
 * moves after every record so RTO, delayed ACK, persist, keepalive,
 * FIN-WAIT-2, TIME-WAIT and ARP timers run.
 *
 * Invariants (a failure is __builtin_trap):
 *  - no read outside a frame: each frame sits in an exactly sized heap
 *    buffer (ASan), and what the stack keeps is read back only through it;
 *  - every received frame is released exactly once (refcount never below
 *    zero, all freed at the end); every frame we build leaves the ARP cache
 *    exactly once (sent or freed);
 *  - every frame the stack sends is valid for a Linux peer: net_input of a
 *    peer context accepts it as TCP (IP and TCP checksums, lengths), it fits
 *    the MTU, payload bytes are the ones the application queued at that
 *    sequence number;
 *  - bytes delivered to the application are the peer's bytes at those
 *    sequence numbers (segments the harness writes carry a pattern keyed by
 *    sequence number), in order, with no gap or repeat;
 *  - callbacks: established at most once, nothing after closed, closed
 *    exactly once per connection the application knows;
 *  - counters: per-state connection counts match the TCB pool, TIME-WAIT
 *    count matches its table, the listener's SYN count matches its half-open
 *    TCBs, seg_in / seg_out match the calls, net rx_pkts / tcp_in match.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

#define MAX_CONNS 8
#define NPEERS    32
#define MTU       1500
#define LPORT     25

/* ---------------------------------------------------------------- input */

struct in {
	const uint8_t *p;
	size_t n, off;
};

static unsigned u8(struct in *in)
{
	return in->off < in->n ? in->p[in->off++] : 0;
}

static unsigned u16(struct in *in)
{
	unsigned hi = u8(in);
	return hi << 8 | u8(in);
}

static uint32_t u32(struct in *in)
{
	uint32_t hi = u16(in);
	return hi << 16 | u16(in);
}

static bool more(const struct in *in)
{
	return in->off < in->n;
}

/* --------------------------------------------------------------- buffers */

/* A received frame: the owner the stack holds (rte_mbuf's part). */
struct rxbuf {
	int refs;
	size_t len;
	uint8_t data[];
};

/* A frame we built, waiting for ARP or being sent. */
struct txpkt {
	size_t len;
	uint32_t nh;
	uint8_t data[];
};

static long live_rx, live_tx;

/* ----------------------------------------------------------------- peers */

/* A remote endpoint: what the harness knows of the stack's view of it. */
struct peer {
	uint8_t ip[4];
	uint16_t port;
	uint16_t lport;          /* our port: 25, or the active open's source port */
	uint32_t iss;            /* the peer's ISS: its SYNs use it */
	uint32_t nxt;            /* next new sequence number the peer would send */
	uint32_t tsval;          /* the peer's timestamp clock */
	/* from the stack's last segment to this peer */
	bool heard;
	uint32_t st_seq, st_end, st_ack, st_tsval, st_iss;
	uint16_t st_wnd;
};

/* What the application side knows of one connection. */
struct app {
	bool used, established, closed, eof, tainted;
	struct tcp_conn *c;
	uint32_t irs;            /* taken at establishment: delivery is checked from irs + 1 */
	uint32_t rx;             /* bytes consumed so far */
	uint32_t tx;             /* bytes queued by tcp_send so far */
	uint8_t mode;            /* 0 all, 1 none, 2 half, 3 at most 7 bytes */
	uint8_t echo;            /* answer every data callback with this many bytes */
	bool byref;              /* tcp_send_ref instead of tcp_send */
	bool close_on_eof;
};

struct h {
	struct net_if ifp;
	struct net_arp_entry tab[16];
	struct net_arp_cache arp;
	struct net_stats ns;
	struct net_ctx nc;
	/* a Linux peer's view, to validate what we send */
	struct net_if pifp;
	struct net_arp_entry ptab[4];
	struct net_arp_cache parp;
	struct net_stats pns;
	struct net_ctx pnc;
	struct tcp_stack *st;
	uint64_t now;
	struct peer peers[NPEERS];
	struct app apps[2 * MAX_CONNS];
	uint64_t frames, tcp_frames, tcp_inputs, outputs;
	uint16_t next_lport;
};

static struct h H;

static const struct net_mac our_mac = { { 0x02, 0, 0, 0, 0, 0x01 } };
static const uint8_t our_ip[4] = { 198, 18, 0, 1 };

static struct net_mac peer_mac(const uint8_t *ip)
{
	struct net_mac m = { { 0x02, 0, 0, 0, ip[2], ip[3] } };
	return m;
}

static uint8_t in_pat(uint32_t seq)
{
	return (uint8_t)(seq * 7u + (seq >> 9) + 0x5a);
}

static uint8_t out_pat(uint32_t off)
{
	return (uint8_t)(off * 13u + (off >> 11) + 3);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static struct peer *peer_find(const uint8_t *ip, uint16_t port, uint16_t lport)
{
	for (int i = 0; i < NPEERS; i++)
		if (memcmp(H.peers[i].ip, ip, 4) == 0 && H.peers[i].port == port && H.peers[i].lport == lport)
			return &H.peers[i];
	return NULL;
}

static struct app *app_of(const struct tcp_conn *c)
{
	for (unsigned i = 0; i < 2 * MAX_CONNS; i++)
		if (H.apps[i].used && !H.apps[i].closed && H.apps[i].c == c)
			return &H.apps[i];
	return NULL;
}

static struct app *app_new(void)
{
	for (unsigned i = 0; i < 2 * MAX_CONNS; i++)
		if (!H.apps[i].used || H.apps[i].closed) {
			memset(&H.apps[i], 0, sizeof(H.apps[i]));
			H.apps[i].used = true;
			return &H.apps[i];
		}
	CHECK(0);   /* more live connections than TCBs */
	return NULL;
}

static struct tcp_conn *conn_of_tuple(const struct tcp_tuple *t)
{
	for (uint32_t i = 0; i < MAX_CONNS; i++)
		if (H.st->pool[i].state != TCP_CLOSED && &H.st->pool[i].tuple == t)
			return &H.st->pool[i];
	return NULL;
}

/* ------------------------------------------------------- what we transmit */

/* A frame leaves the port: a Linux peer must take it as a TCP segment (or
 * it is ARP); learn what the stack said. */
static void wire(const uint8_t *frame, size_t len)
{
	struct net_rx rx;
	enum net_verdict v;
	uint16_t et;
	const uint8_t *t;
	struct peer *p;

	CHECK(len >= NET_ETH_MIN_FRAME && len <= NET_ETH_HLEN + MTU);
	CHECK(memcmp(frame + 6, our_mac.b, 6) == 0);
	et = (uint16_t)(frame[12] << 8 | frame[13]);
	if (et == NET_ETHERTYPE_ARP)
		return;
	CHECK(et == NET_ETHERTYPE_IPV4);
	/* the peer context answers to the frame's destination address */
	memcpy(&H.pifp.ip4, frame + NET_ETH_HLEN + 16, 4);
	memcpy(H.pifp.mac.b, frame, 6);
	H.pnc.now_ms = H.now;
	v = net_input(&H.pnc, frame, len, 0, &rx);
	CHECK(v == NET_RX_TCP);
	t = rx.l4;
	p = peer_find(rx.dst.ip, (uint16_t)(t[2] << 8 | t[3]), (uint16_t)(t[0] << 8 | t[1]));
	if (p == NULL)
		return;
	{
		uint32_t hl = (uint32_t)(t[12] >> 4) * 4, dl = rx.l4_len - hl, end;
		uint8_t fl = t[13];
		const uint8_t *o = t + 20;

		p->heard = true;
		p->st_seq = get32(t + 4);
		end = p->st_seq + dl + ((fl & TCP_SYN) ? 1 : 0) + ((fl & TCP_FIN) ? 1 : 0);
		if (!(fl & TCP_RST) && (SEQ_GT(end, p->st_end) || (fl & TCP_SYN)))
			p->st_end = end;
		if (fl & TCP_SYN)
			p->st_iss = p->st_seq;
		if (fl & TCP_ACK)
			p->st_ack = get32(t + 8);
		p->st_wnd = (uint16_t)(t[14] << 8 | t[15]);
		for (uint32_t i = 0; i + 1 < hl - 20;) {
			if (o[i] == 0)
				break;
			if (o[i] == 1) {
				i++;
				continue;
			}
			CHECK(o[i + 1] >= 2 && i + o[i + 1] <= hl - 20);
			if (o[i] == 8 && o[i + 1] == 10)
				p->st_tsval = get32(o + i + 2);
			i += o[i + 1];
		}
	}
}

static void q_solicit(void *ctx, uint32_t ip)
{
	net_arp_send_request(ctx, ip);
}

static void q_send(void *ctx, void *pkt, const struct net_mac *mac)
{
	struct txpkt *tp = pkt;

	(void)ctx;
	memcpy(tp->data, mac->b, 6);
	wire(tp->data, tp->len);
	free(tp);
	live_tx--;
}

static void q_free(void *ctx, void *pkt)
{
	(void)ctx;
	free(pkt);
	live_tx--;
}

/* net_tx_ops for ARP replies and requests: exactly sized buffers. */
static uint8_t *tx_buf;
static size_t tx_cap;

static uint8_t *f_alloc(void *ctx, size_t len, void **hdl)
{
	(void)ctx;
	CHECK(tx_buf == NULL);
	tx_buf = malloc(len);
	CHECK(tx_buf != NULL);
	tx_cap = len;
	*hdl = tx_buf;
	return tx_buf;
}

static void f_send(void *ctx, void *hdl, size_t len)
{
	(void)ctx;
	CHECK(hdl == tx_buf && len <= tx_cap);
	wire(tx_buf, len);
	free(tx_buf);
	tx_buf = NULL;
}

static const struct net_tx_ops f_tx = { f_alloc, f_send };

/* The peer context transmits nothing for TCP; an ARP or echo reply would
 * be a bug of the validation itself. */
static uint8_t *p_alloc(void *ctx, size_t len, void **hdl)
{
	(void)ctx;
	(void)len;
	(void)hdl;
	return NULL;
}

static void p_send(void *ctx, void *hdl, size_t len)
{
	(void)ctx;
	(void)hdl;
	(void)len;
	CHECK(0);
}

static const struct net_tx_ops p_tx = { p_alloc, p_send };

/* tcp_stack_ops.output: build the frame as tcp_out() in dpdk_transport.c does. */
static void st_output(void *ctx, const struct tcp_seg_out *s)
{
	const struct tcp_tuple *t = s->tuple;
	struct tcp_conn *c = conn_of_tuple(t);
	uint32_t src, dst, nh, thl = TCP_HDR_LEN + s->optlen, l4 = thl + s->len;
	size_t l2 = NET_ETH_HLEN, total = l2 + NET_IPV4_HLEN + l4, cap;
	struct txpkt *tp;
	struct net_mac mac, zero = { { 0 } };
	uint8_t *th;
	uint16_t cs;

	(void)ctx;
	H.outputs++;
	CHECK(t->family == SL_AF_INET);
	CHECK(s->optlen % 4 == 0 && s->optlen <= TCP_OPT_MAX);
	{
		uint32_t sum = 0;

		CHECK(s->npieces <= TCP_SEG_PIECES);
		for (unsigned k = 0; k < s->npieces; k++) {
			const struct rxbuf *ob = s->owner[k];

			CHECK(s->dlen[k] > 0 && s->data[k] != NULL);
			/* a piece by reference lies inside its owner, which the stack still holds */
			if (ob != NULL)
				CHECK(ob->refs > 0 && s->data[k] >= ob->data && s->data[k] + s->dlen[k] <= ob->data + ob->len);
			sum += s->dlen[k];
		}
		CHECK(s->len == sum);
	}
	CHECK(s->len == 0 || !(s->flags & (TCP_SYN | TCP_RST)));
	CHECK(NET_IPV4_HLEN + l4 <= MTU);
	if (s->len > 0) {
		/* payload only from a connection, and what the application queued */
		CHECK(c != NULL);
		CHECK(s->len <= c->mss);
		for (uint32_t k = 0, off = 0; k < s->npieces; off += s->dlen[k], k++)
			for (uint32_t i = 0; i < s->dlen[k]; i++)
				CHECK(s->data[k][i] == out_pat(s->seq + off + i - (c->iss + 1)));
	}
	memcpy(&src, t->laddr, 4);
	memcpy(&dst, t->raddr, 4);
	CHECK(memcmp(t->laddr, our_ip, 4) == 0);
	if (net_route4(&H.ifp, dst, &nh) != SL_OK)
		return;
	cap = total < NET_ETH_MIN_FRAME ? NET_ETH_MIN_FRAME : total;
	tp = malloc(sizeof(*tp) + cap);
	CHECK(tp != NULL);
	live_tx++;
	net_eth_build(tp->data, &zero, &our_mac, NET_ETHERTYPE_IPV4, 0);
	net_ipv4_build(tp->data + l2, src, dst, NET_IPPROTO_TCP, (uint16_t)l4, NET_IPV4_DEFAULT_TTL, true);
	th = tp->data + l2 + NET_IPV4_HLEN;
	CHECK(tcp_build_header(s, th) == thl);
	for (uint32_t k = 0, off = 0; k < s->npieces; off += s->dlen[k], k++)
		memcpy(th + thl + off, s->data[k], s->dlen[k]);
	cs = net_csum_finish(net_csum_add(net_csum_pseudo4(src, dst, NET_IPPROTO_TCP, (uint16_t)l4), th, l4));
	memcpy(th + 16, &cs, 2);
	tp->len = net_eth_pad(tp->data, total);
	tp->nh = nh;
	switch (net_arp_resolve(&H.arp, nh, tp, &mac, H.now)) {
	case NET_ARP_HIT:
		memcpy(tp->data, mac.b, 6);
		wire(tp->data, tp->len);
		free(tp);
		live_tx--;
		break;
	case NET_ARP_QUEUED:
		break;
	default:
		free(tp);
		live_tx--;
		break;
	}
}

static void st_hold(void *ctx, void *owner)
{
	struct rxbuf *b = owner;

	(void)ctx;
	CHECK(b->refs > 0);
	b->refs++;
}

static void st_release(void *ctx, void *owner)
{
	struct rxbuf *b = owner;

	(void)ctx;
	CHECK(b->refs > 0);
	if (--b->refs == 0) {
		free(b);
		live_rx--;
	}
}

static const struct tcp_stack_ops st_ops = { st_output, st_hold, st_release };

/* ------------------------------------------------------ application side */

/* Queue n bytes of the pattern: copied, or (byref) by reference to a
 * refcounted buffer the stack holds until they are acknowledged. */
static void app_send_as(struct app *a, uint32_t n, bool byref)
{
	struct rxbuf *b;

	if (n > 4096)
		n = 4096;
	b = malloc(sizeof(*b) + (n ? n : 1));
	CHECK(b != NULL);
	b->refs = 1;
	b->len = n;
	live_rx++;
	for (uint32_t i = 0; i < n; i++)
		b->data[i] = out_pat(a->tx + i);
	if ((byref ? tcp_send_ref(a->c, b->data, n, b) : tcp_send(a->c, b->data, n)) == SL_OK)
		a->tx += n;
	st_release(NULL, b);   /* ours; what the stack keeps it holds */
}

static void app_send(struct app *a, uint32_t n)
{
	app_send_as(a, n, a->byref);
}

static void cb_established(struct tcp_conn *c, void *user)
{
	struct app *a = user;

	CHECK(!a->closed && !a->established && a->c == c);
	a->established = true;
	a->irs = c->irs;
}

static uint32_t cb_data(struct tcp_conn *c, void *user, const uint8_t *p, uint32_t len, void *owner)
{
	struct app *a = user;
	const struct rxbuf *b = owner;
	uint32_t n = len;

	CHECK(!a->closed && a->c == c && a->established && len > 0);
	/* the view lies inside its owner */
	CHECK(p >= b->data && p + len <= b->data + b->len && b->refs > 0);
	switch (a->mode) {
	case 1: n = 0; break;
	case 2: n = (len + 1) / 2; break;
	case 3: n = len < 7 ? len : 7; break;
	default: break;
	}
	if (!a->tainted)
		for (uint32_t i = 0; i < n; i++)
			CHECK(p[i] == in_pat(a->irs + 1 + a->rx + i));
	a->rx += n;
	if (a->echo && (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT))
		app_send(a, a->echo);
	return n;
}

static void cb_eof(struct tcp_conn *c, void *user)
{
	struct app *a = user;

	CHECK(!a->closed && a->c == c && !a->eof);
	a->eof = true;
	if (a->close_on_eof)
		tcp_close(c);
}

static void cb_writable(struct tcp_conn *c, void *user)
{
	struct app *a = user;

	CHECK(!a->closed && a->c == c);
}

static void cb_closed(struct tcp_conn *c, void *user, enum tcp_close_reason why)
{
	struct app *a = user;

	CHECK(!a->closed && a->c == c);
	CHECK((unsigned)why <= TCP_CLOSE_ABORTED);
	a->closed = true;
}

static const struct tcp_conn_cbs app_cbs = { cb_established, cb_data, cb_eof, cb_writable, cb_closed };

static unsigned refuse_next;
static bool in_raw;

static int on_accept(void *lctx, struct tcp_conn *c)
{
	struct app *a;

	(void)lctx;
	CHECK(c->state == TCP_ESTABLISHED && app_of(c) == NULL);
	if (refuse_next) {
		refuse_next--;
		return SL_DECLINED;
	}
	a = app_new();
	a->c = c;
	a->tainted = in_raw;
	a->byref = c->tuple.rport % 2 == 0;   /* the first client sends by reference */
	a->mode = (uint8_t)(c->tuple.rport % 4 == 1 ? 2 : 0);
	a->close_on_eof = true;
	tcp_conn_set_cbs(c, &app_cbs, a);
	return SL_OK;
}

/* --------------------------------------------------------------- checks */

static void check_all(void)
{
	const struct tcp_stack *st = H.st;
	const struct tcp_counters *cnt = &st->cnt;
	uint64_t by_state[TCP_STATE_COUNT] = { 0 };
	uint32_t nfree = 0, syn = 0, accepted = 0, apps = 0;

	for (const struct tcp_conn *c = st->free_list; c != NULL; c = c->hnext) {
		CHECK(c->state == TCP_CLOSED && nfree < MAX_CONNS);
		nfree++;
	}
	CHECK(st->zombies == NULL && st->depth == 0);
	for (uint32_t i = 0; i < MAX_CONNS; i++) {
		const struct tcp_conn *c = &st->pool[i];
		uint32_t inq = 0;

		if (c->state == TCP_CLOSED)
			continue;
		CHECK(c->state > TCP_LISTEN && c->state < TCP_TIME_WAIT);
		by_state[c->state]++;
		if (c->listener != NULL)
			syn++;
		if (c->flags & TF_ACCEPTED) {
			struct app *a = app_of(c);
			CHECK(a != NULL);
			accepted++;
		}
		CHECK(SEQ_LEQ(c->snd_una, c->snd_nxt) && SEQ_LEQ(c->snd_nxt, c->snd_max));
		CHECK(c->sbuf_len <= st->cfg.snd_buf);
		CHECK(c->rq_n <= TCP_RQ_MAX && c->rq_ooo <= c->rq_n && c->rq_ooo <= TCP_OOO_MAX);
		for (unsigned k = 0; k < c->rq_n; k++) {
			const struct rxbuf *b = c->rq[k].owner;
			CHECK(b != NULL && b->refs > 0 && c->rq[k].len > 0);
			CHECK(c->rq[k].data >= b->data && c->rq[k].data + c->rq[k].len <= b->data + b->len);
			if (k < (unsigned)(c->rq_n - c->rq_ooo))
				inq += c->rq[k].len;
			else if (k > (unsigned)(c->rq_n - c->rq_ooo))
				CHECK(SEQ_LEQ(c->rq[k - 1].seq + c->rq[k - 1].len, c->rq[k].seq));
		}
		CHECK(inq == c->rcv_buffered);
	}
	CHECK(nfree + by_state[TCP_SYN_SENT] + by_state[TCP_SYN_RCVD] + by_state[TCP_ESTABLISHED] +
	      by_state[TCP_FIN_WAIT_1] + by_state[TCP_FIN_WAIT_2] + by_state[TCP_CLOSE_WAIT] +
	      by_state[TCP_CLOSING] + by_state[TCP_LAST_ACK] == MAX_CONNS);
	for (int s = TCP_SYN_SENT; s < TCP_TIME_WAIT; s++)
		CHECK(cnt->conns[s] == by_state[s]);
	CHECK(cnt->conns[TCP_LISTEN] == 1 && cnt->conns[TCP_CLOSED] == 0);
	CHECK(cnt->conns[TCP_TIME_WAIT] == st->tw.live && st->tw.live <= st->tw.count &&
	      st->tw.count <= st->tw.cap);
	for (int i = 0; i < TCP_LISTEN_MAX; i++)
		if (st->listeners[i].port == LPORT)
			CHECK(st->listeners[i].syn_count == syn);
	for (unsigned i = 0; i < 2 * MAX_CONNS; i++)
		if (H.apps[i].used && !H.apps[i].closed)
			apps++;
	CHECK(apps == accepted);
	CHECK(cnt->seg_in == H.tcp_inputs && cnt->seg_out == H.outputs);
	CHECK(H.ns.rx_pkts == H.frames && H.ns.tcp_in == H.tcp_frames);
	CHECK(tx_buf == NULL);
}

/* ------------------------------------------------------------- receiving */

/* One frame into the port, exactly sized; taint: raw bytes may hit a
 * connection with data of no known pattern. */
static void rx_frame(const uint8_t *frame, size_t len, unsigned rx_flags, bool raw)
{
	struct rxbuf *b = malloc(sizeof(*b) + (len ? len : 1));
	struct net_rx rx;
	enum net_verdict v;

	CHECK(b != NULL);
	b->refs = 1;
	b->len = len;
	memcpy(b->data, frame, len);
	live_rx++;
	H.nc.now_ms = H.now;
	v = net_input(&H.nc, b->data, len, rx_flags, &rx);
	H.frames++;
	if (v == NET_RX_TCP) {
		struct tcp_seg_in seg = {
			.family = rx.src.family, .saddr = rx.src.ip, .daddr = rx.dst.ip,
			.tcp = rx.l4, .len = rx.l4_len, .owner = b,
		};

		CHECK(rx.l4 == b->data + rx.l4_off && rx.l4_off + rx.l4_len <= len);
		H.tcp_frames++;
		if (raw) {
			/* a fuzzed frame for a tuple we check: its bytes have no pattern */
			for (uint32_t i = 0; i < MAX_CONNS; i++) {
				struct tcp_conn *c = &H.st->pool[i];
				struct app *a;

				if (c->state != TCP_CLOSED && memcmp(c->tuple.raddr, rx.src.ip, 4) == 0 &&
				    c->tuple.rport == (uint16_t)(rx.l4[0] << 8 | rx.l4[1]) &&
				    c->tuple.lport == (uint16_t)(rx.l4[2] << 8 | rx.l4[3]) &&
				    (a = app_of(c)) != NULL)
					a->tainted = true;
			}
		}
		H.tcp_inputs++;
		in_raw = raw;          /* a connection a fuzzed frame completes is tainted at accept */
		tcp_input(H.st, &seg);
		in_raw = false;
	} else {
		CHECK(v == NET_RX_DROP || v == NET_RX_DONE);
		if (v == NET_RX_DROP)
			CHECK(rx.reason > NET_DROP_NONE && rx.reason < NET_DROP_MAX);
	}
	st_release(NULL, b);   /* the caller's own reference, like rte_pktmbuf_free */
}

/* Raw frame: if the input asks, fix the IPv4 and TCP checksums so the
 * fuzzed headers get past net_input. */
static void rx_raw(struct in *in, unsigned ctl)
{
	size_t n = u16(in) % 1600, i;
	uint8_t *f = calloc(1, n ? n : 1);

	CHECK(f != NULL);
	for (i = 0; i < n && more(in); i++)
		f[i] = (uint8_t)u8(in);
	n = i;
	if ((ctl & 0x10) && n >= 34 && f[12] == 0x08 && f[13] == 0x00) {
		size_t ihl = (size_t)(f[14] & 15) * 4;
		uint16_t cs = 0;

		if (ihl >= 20 && 14 + ihl <= n) {
			memcpy(f + 24, &cs, 2);
			cs = net_csum(f + 14, ihl);
			memcpy(f + 24, &cs, 2);
			if (f[23] == NET_IPPROTO_ICMP && 14 + ihl + 8 <= n) {
				size_t tot = (size_t)f[16] << 8 | f[17];

				if (tot >= ihl + 8 && 14 + tot <= n) {
					memset(f + 14 + ihl + 2, 0, 2);
					cs = net_csum(f + 14 + ihl, tot - ihl);
					memcpy(f + 14 + ihl + 2, &cs, 2);
				}
			}
			if (f[23] == NET_IPPROTO_TCP && 14 + ihl + 20 <= n) {
				size_t tot = (size_t)f[16] << 8 | f[17];
				uint32_t src, dst;

				if (tot >= ihl + 20 && 14 + tot <= n) {
					uint8_t *t = f + 14 + ihl;
					uint16_t l4 = (uint16_t)(tot - ihl);

					memcpy(&src, f + 26, 4);
					memcpy(&dst, f + 30, 4);
					memset(t + 16, 0, 2);
					cs = net_csum_finish(net_csum_add(net_csum_pseudo4(src, dst, NET_IPPROTO_TCP, l4),
									  t, l4));
					memcpy(t + 16, &cs, 2);
				}
			}
		}
	}
	rx_frame(f, n, (ctl >> 5) & 3, true);
	free(f);
}

/* A segment from peer p, headers written by the harness. */
struct segspec {
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t wnd;
	const uint8_t *opts;
	uint32_t optlen;
	uint32_t len;         /* payload: in_pat by sequence number */
	bool bad_csum;
	uint8_t tos;
};

static void rx_seg(struct peer *p, const struct segspec *s)
{
	uint8_t f[NET_ETH_HLEN + MTU];
	uint32_t ol = s->optlen & ~3u, hl = 20 + ol, l4, len = s->len, dseq, src, dst;
	struct net_mac pm = peer_mac(p->ip);
	uint8_t *ip = f + NET_ETH_HLEN, *t = ip + 20;
	uint16_t cs;
	size_t total;

	if (ol > 40)
		ol = 40, hl = 60;
	if (20 + hl + len > MTU)
		len = MTU - 20 - hl;
	l4 = hl + len;
	net_eth_build(f, &our_mac, &pm, NET_ETHERTYPE_IPV4, 0);
	memcpy(&src, p->ip, 4);
	memcpy(&dst, our_ip, 4);
	net_ipv4_build(ip, src, dst, NET_IPPROTO_TCP, (uint16_t)l4, 64, true);
	if (s->tos) {
		ip[1] = s->tos;
		cs = 0;
		memcpy(ip + 10, &cs, 2);
		cs = net_csum(ip, 20);
		memcpy(ip + 10, &cs, 2);
	}
	memset(t, 0, 20);
	put16(t, p->port);
	put16(t + 2, p->lport);
	put32(t + 4, s->seq);
	put32(t + 8, s->ack);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = s->flags;
	put16(t + 14, s->wnd);
	memcpy(t + 20, s->opts, ol);
	dseq = s->seq + ((s->flags & TCP_SYN) ? 1 : 0);
	for (uint32_t i = 0; i < len; i++)
		t[hl + i] = in_pat(dseq + i);
	cs = net_csum_finish(net_csum_add(net_csum_pseudo4(src, dst, NET_IPPROTO_TCP, (uint16_t)l4), t, l4));
	if (s->bad_csum)
		cs ^= 0x0100;
	memcpy(t + 16, &cs, 2);
	total = NET_ETH_HLEN + 20 + l4;
	if (total < NET_ETH_MIN_FRAME) {
		memset(f + total, 0, NET_ETH_MIN_FRAME - total);
		total = NET_ETH_MIN_FRAME;
	}
	if (!s->bad_csum && !(s->flags & TCP_RST) && (s->flags & (TCP_SYN | TCP_ACK))) {
		uint32_t end = dseq + len + ((s->flags & TCP_FIN) ? 1 : 0);
		if (SEQ_GT(end, p->nxt))
			p->nxt = end;
	}
	rx_frame(f, total, 0, false);
}

static uint32_t std_opts(uint8_t *o, const struct peer *p, bool syn, unsigned sel)
{
	uint32_t n = 0;

	if (syn) {
		o[n++] = 2; o[n++] = 4; put16(o + n, (uint16_t)(sel & 8 ? 536 : 1460)); n += 2;
		if (sel & 1) { o[n++] = 1; o[n++] = 3; o[n++] = 3; o[n++] = (uint8_t)(sel & 4 ? 14 : 7); }
		if (sel & 2) { o[n++] = 1; o[n++] = 1; o[n++] = 4; o[n++] = 2; }
	}
	if (!(sel & 0x10)) {
		o[n++] = 1; o[n++] = 1; o[n++] = 8; o[n++] = 10;
		put32(o + n, p->tsval); n += 4;
		put32(o + n, p->st_tsval); n += 4;
	}
	return n;
}

/* ARP request from a peer for our address: we learn it and answer. */
static void rx_arp_from(const uint8_t *ip)
{
	uint8_t f[60] = { 0 };
	struct net_mac m = peer_mac(ip);

	memset(f, 0xff, 6);
	memcpy(f + 6, m.b, 6);
	f[12] = 0x08; f[13] = 0x06;
	f[14] = 0; f[15] = 1; f[16] = 8; f[17] = 0; f[18] = 6; f[19] = 4; f[20] = 0; f[21] = 1;
	memcpy(f + 22, m.b, 6);
	memcpy(f + 28, ip, 4);
	memcpy(f + 38, our_ip, 4);
	rx_frame(f, sizeof(f), 0, false);
}

/* ------------------------------------------------------------------ time */

static void advance(uint64_t ms)
{
	uint64_t end = H.now + ms;

	while (H.now < end) {
		uint64_t step = end - H.now < 50 ? end - H.now : 50;

		H.now += step;
		tcp_advance(H.st, H.now);
		net_arp_tick(&H.arp, H.now);
		for (int i = 0; i < NPEERS; i++)
			H.peers[i].tsval += (uint32_t)step;
		check_all();
	}
}

/* ----------------------------------------------------------------- setup */

static void setup(void)
{
	struct net_arp_cfg acfg;
	struct net_neigh_ops ops = { q_solicit, q_send, q_free, &H.nc };
	struct net_neigh_ops pops = { q_solicit, q_send, q_free, &H.pnc };
	struct tcp_config cfg;
	struct sl_addr a, gw;
	struct net_mac pmac = { { 0x02, 0, 0, 0, 0, 0x02 } };

	memset(&H, 0, sizeof(H));
	H.now = 1000000;
	net_if_init(&H.ifp, 0, &our_mac);
	sl_addr_parse("198.18.0.1", &a, false);
	sl_addr_parse("198.18.0.254", &gw, false);
	CHECK(net_if_set_ipv4(&H.ifp, &a, 24, &gw) == 0);
	net_arp_cfg_default(&acfg);
	CHECK(net_arp_cache_init(&H.arp, H.tab, 16, &acfg, &ops, &H.ns) == 0);
	H.nc = (struct net_ctx){ .ifp = &H.ifp, .arp = &H.arp, .stats = &H.ns, .tx = &f_tx, .now_ms = H.now };
	net_if_init(&H.pifp, 0, &pmac);
	sl_addr_parse("198.18.0.2", &a, false);
	CHECK(net_if_set_ipv4(&H.pifp, &a, 24, NULL) == 0);
	CHECK(net_arp_cache_init(&H.parp, H.ptab, 4, &acfg, &pops, &H.pns) == 0);
	H.pnc = (struct net_ctx){ .ifp = &H.pifp, .arp = &H.parp, .stats = &H.pns, .tx = &p_tx, .now_ms = H.now };

	tcp_config_defaults(&cfg);
	cfg.max_conns = MAX_CONNS;
	cfg.max_tw = 4;
	cfg.snd_buf = 16 * 1024;
	cfg.rcv_space = 8 * 1024;
	cfg.rcv_space_max = 64 * 1024;
	cfg.mss = 1460;
	cfg.wheel_slots = 256;
	cfg.syn_backlog = 3;            /* a few SYNs reach SYN cookies */
	cfg.challenge_acks_per_s = 5;
	cfg.rsts_per_s = 5;
	cfg.msl_ms = 2000;
	cfg.fin_wait2_ms = 5000;
	cfg.max_retries = 4;
	cfg.syn_retries = 3;
	cfg.rto_max_ms = 4000;
	cfg.persist_max_ms = 4000;
	cfg.key[0] = 0x0123456789abcdefULL;
	cfg.key[1] = 0xfedcba9876543210ULL;
	H.st = tcp_stack_new(&cfg, &st_ops, NULL, H.now);
	CHECK(H.st != NULL);
	CHECK(tcp_listen(H.st, LPORT, on_accept, NULL) == SL_OK);
	H.next_lport = 30000;

	for (int i = 0; i < NPEERS; i++) {
		struct peer *p = &H.peers[i];

		p->ip[0] = 198; p->ip[1] = 18; p->ip[2] = 0;
		if (i == 1) {            /* the backend of our active opens */
			p->ip[3] = 3;
			p->port = 2525;
			p->lport = 30000;
		} else if (i < 16) {     /* the client, many source ports */
			p->ip[3] = 2;
			p->port = (uint16_t)(40000 + i);
			p->lport = LPORT;
		} else {                 /* other hosts of the subnet, never ARPed: their replies queue */
			p->ip[3] = (uint8_t)(10 + (i - 16) % 8);
			p->port = (uint16_t)(1024 + i);
			p->lport = LPORT;
		}
		p->iss = 0x10000000u * (uint32_t)(i % 16) + 0x1234567u * (uint32_t)i + 1000;
		p->nxt = p->iss;
		p->tsval = 5000 + (uint32_t)i * 77;
	}
}

/* The scripted prefix: ARP from both peers, a passive and an active open. */
static void prefix(unsigned sel)
{
	uint8_t o[60];
	struct peer *p = &H.peers[0], *b = &H.peers[1];
	struct segspec s;
	struct app *a;
	struct tcp_conn *c;

	rx_arp_from(p->ip);
	rx_arp_from(b->ip);
	check_all();

	/* passive open: SYN, our SYN-ACK, ACK */
	memset(&s, 0, sizeof(s));
	s.flags = TCP_SYN;
	s.seq = p->iss;
	s.wnd = 65535;
	s.opts = o;
	s.optlen = std_opts(o, p, true, sel);
	rx_seg(p, &s);
	CHECK(p->heard && p->st_ack == p->iss + 1);
	s.flags = TCP_ACK;
	s.seq = p->iss + 1;
	s.ack = p->st_iss + 1;
	s.wnd = (sel & 1) ? 1024 : 65535;   /* 128 KB when scaled by 7 */
	s.optlen = std_opts(o, p, false, sel);
	rx_seg(p, &s);
	a = NULL;
	for (unsigned i = 0; i < 2 * MAX_CONNS; i++)
		if (H.apps[i].used && !H.apps[i].closed)
			a = &H.apps[i];
	CHECK(a != NULL && a->established);
	app_send(a, 60);                          /* the 220 greeting, in flight */

	/* active open to the backend, answered by a SYN-ACK */
	a = app_new();
	c = tcp_connect(H.st, SL_AF_INET, our_ip, H.next_lport++, b->ip, b->port, &app_cbs, a);
	CHECK(c != NULL);
	a->c = c;
	a->close_on_eof = true;
	CHECK(b->heard);
	memset(&s, 0, sizeof(s));
	s.flags = TCP_SYN | TCP_ACK;
	s.seq = b->iss;
	s.ack = b->st_iss + 1;
	s.wnd = 65535;
	s.opts = o;
	s.optlen = std_opts(o, b, true, sel ^ 3);
	rx_seg(b, &s);
	CHECK(a->established);
	app_send(a, 1400);                        /* EHLO and some DATA towards the backend */
	check_all();
}

/* ---------------------------------------------------------------- records */

static uint32_t pick_seq(struct in *in, const struct peer *p, unsigned sel)
{
	int32_t d = (int16_t)u16(in);

	switch (sel & 3) {
	case 0: return p->nxt + (uint32_t)(d % 4096);
	case 1: return p->st_ack + (uint32_t)d;
	case 2: return p->iss + (uint32_t)(d % 64);
	default: return u32(in);
	}
}

static uint32_t pick_ack(struct in *in, const struct peer *p, unsigned sel)
{
	int32_t d;

	switch (sel & 3) {
	case 0: return p->st_end;
	case 1: d = (int8_t)u8(in); return p->st_end + (uint32_t)d;
	case 2: d = (int16_t)u16(in); return p->st_seq + (uint32_t)d;
	default: return u32(in);
	}
}

static void rec_segment(struct in *in, unsigned op)
{
	struct peer *p = &H.peers[u8(in) % NPEERS];
	unsigned fl = u8(in), sel = u8(in), osel = u8(in);
	uint8_t o[60];
	struct segspec s;

	memset(&s, 0, sizeof(s));
	/* flags: the common shapes most of the time, any byte otherwise */
	switch (fl >> 5) {
	case 0: case 1: case 2: s.flags = TCP_ACK | (fl & (TCP_PSH | TCP_FIN)); break;
	case 3: s.flags = TCP_SYN; break;
	case 4: s.flags = TCP_RST | (fl & TCP_ACK); break;
	case 5: s.flags = TCP_SYN | TCP_ACK; break;
	default: s.flags = (uint8_t)(fl & 0x3f); break;
	}
	s.seq = (s.flags & TCP_SYN) && !(sel & 0x40) ? p->iss : pick_seq(in, p, sel);
	s.ack = (s.flags & TCP_ACK) ? pick_ack(in, p, sel >> 2) : (sel & 0x80 ? u32(in) : 0);
	switch ((sel >> 4) & 3) {
	case 0: s.wnd = (uint16_t)(p->st_wnd ? 8192 : 1024); break;
	case 1: s.wnd = 0; break;
	case 2: s.wnd = (uint16_t)u16(in); break;
	default: s.wnd = 65535; break;
	}
	s.opts = o;
	if ((osel & 0xc0) == 0xc0) {               /* raw options from the input */
		s.optlen = (osel & 0x0f) * 4;
		for (uint32_t i = 0; i < s.optlen; i++)
			o[i] = (uint8_t)u8(in);
	} else {
		if (osel & 0x20)
			p->tsval += (uint32_t)(int8_t)u8(in) * 1000u;   /* a jump: PAWS */
		s.optlen = std_opts(o, p, (s.flags & TCP_SYN) != 0, osel);
	}
	switch (op >> 3 & 7) {
	case 0: case 1: s.len = 0; break;
	case 2: s.len = 1 + u8(in) % 16; break;
	case 3: s.len = 536; break;
	case 4: s.len = 1400; break;
	default: s.len = u16(in) % 1500; break;
	}
	s.bad_csum = (op & 0x40) && (op & 0x80);
	s.tos = (uint8_t)((op & 0xc0) == 0x40 ? 0x10 : 0);
	rx_seg(p, &s);
}

/* A well-behaved segment from p: next data, acknowledging what the stack sent. */
static void seg_simple(struct peer *p, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd, uint32_t len)
{
	uint8_t o[60];
	struct segspec s = { .flags = flags, .seq = seq, .ack = ack, .wnd = wnd, .opts = o, .len = len };

	s.optlen = std_opts(o, p, false, 0);
	rx_seg(p, &s);
}

static struct app *app_of_peer(const struct peer *p)
{
	for (unsigned i = 0; i < 2 * MAX_CONNS; i++) {
		struct app *a = &H.apps[i];

		if (a->used && !a->closed && a->c->tuple.rport == p->port && a->c->tuple.lport == p->lport &&
		    memcmp(a->c->tuple.raddr, p->ip, 4) == 0)
			return a;
	}
	return NULL;
}

/* ARP reply from a host we asked for: its queued packets leave. */
static void rx_arp_reply(const uint8_t *ip)
{
	uint8_t f[60] = { 0 };
	struct net_mac m = peer_mac(ip);

	memcpy(f, our_mac.b, 6);
	memcpy(f + 6, m.b, 6);
	f[12] = 0x08; f[13] = 0x06;
	f[14] = 0; f[15] = 1; f[16] = 8; f[17] = 0; f[18] = 6; f[19] = 4; f[20] = 0; f[21] = 2;
	memcpy(f + 22, m.b, 6);
	memcpy(f + 28, ip, 4);
	memcpy(f + 32, our_mac.b, 6);
	memcpy(f + 38, our_ip, 4);
	rx_frame(f, sizeof(f), 0, false);
}

/*
 * Short scripts a blind fuzzer would take long to find, each still shaped
 * by the input: a flow that acknowledges everything, out-of-order pieces
 * and the hole filled, duplicate ACKs (fast retransmit), an orderly close
 * from either side with a retransmitted FIN in TIME-WAIT, a zero window
 * (persist) with the send buffer full, an ARP reply for queued packets.
 */
static void rec_script(struct in *in, unsigned op)
{
	struct peer *p = &H.peers[u8(in) % 2 ? 1 : 0];
	struct app *a = app_of_peer(p);
	unsigned n = 1 + u8(in) % 8;
	uint16_t wnd = 4096;

	switch ((op >> 3) & 7) {
	case 0: case 1:                                     /* a flow */
		for (unsigned i = 0; i < n; i++) {
			seg_simple(p, TCP_ACK | TCP_PSH, p->nxt, p->st_end, wnd, (op & 0x40) ? 1448 : 100);
			advance(1);
		}
		break;
	case 2: {                                            /* out of order, then the hole */
		uint32_t base = p->nxt;

		for (unsigned i = 0; i < n; i++) {
			uint32_t off = 100u * (u8(in) % 40), len = 1 + 100u * (u8(in) % 12);
			seg_simple(p, TCP_ACK, base + off, p->st_end, wnd, len);
		}
		seg_simple(p, TCP_ACK, base, p->st_end, wnd, 100u * (1 + u8(in) % 40));
		break;
	}
	case 3:                                              /* duplicate ACKs */
		if (a != NULL)
			app_send(a, 8000);
		for (unsigned i = 0; i < n + 2 && a != NULL && !a->closed; i++)
			seg_simple(p, TCP_ACK, p->nxt, a->c->snd_una + (op & 0x40 ? 1000 : 0), wnd, 0);
		break;
	case 4:                                              /* we close, the peer FINs, FIN again */
		if (a == NULL)
			break;
		tcp_close(a->c);
		advance(1);
		seg_simple(p, TCP_ACK, p->nxt, p->st_end, wnd, 0);
		seg_simple(p, TCP_ACK | TCP_FIN, p->nxt, p->st_end, wnd, (op & 0x40) ? 10 : 0);
		advance(n * 100);
		seg_simple(p, TCP_ACK | TCP_FIN, p->nxt - 1, p->st_end, wnd, 0);
		break;
	case 5:                                              /* the peer closes first */
		if (a == NULL)
			break;
		a->close_on_eof = (op & 0x40) != 0;
		seg_simple(p, TCP_ACK | TCP_FIN, p->nxt, p->st_end, wnd, 20);
		advance(n * 10);
		seg_simple(p, TCP_ACK, p->nxt, p->st_end, wnd, 0);
		break;
	case 6:                                              /* zero window, buffer full */
		seg_simple(p, TCP_ACK, p->nxt, p->st_end, 0, 0);
		if (a != NULL)
			for (unsigned i = 0; i < 6; i++)
				app_send(a, 4096);
		advance(n * 300);
		seg_simple(p, TCP_ACK, p->nxt, p->st_end, wnd, 0);
		break;
	default:                                             /* ARP reply from a host of the subnet */
		rx_arp_reply(H.peers[16 + n % 8].ip);
		break;
	}
}

static void rec_app(struct in *in)
{
	unsigned k = u8(in), what = u8(in);
	struct app *a = &H.apps[k % (2 * MAX_CONNS)];

	if (what % 12 == 10) {                     /* a new active open */
		struct peer *b = &H.peers[1];
		struct tcp_conn *c;

		a = NULL;
		for (unsigned i = 0; i < 2 * MAX_CONNS && a == NULL; i++)
			if (!H.apps[i].used || H.apps[i].closed)
				a = &H.apps[i];
		if (a == NULL)
			return;
		memset(a, 0, sizeof(*a));
		a->used = true;
		b->lport = H.next_lport++;
		b->iss += 100000;
		b->nxt = b->iss;
		b->heard = false;
		c = tcp_connect(H.st, SL_AF_INET, our_ip, b->lport, b->ip, b->port, &app_cbs, a);
		if (c == NULL) {
			a->used = false;
			return;
		}
		a->c = c;
		return;
	}
	if (what % 12 == 11) {
		refuse_next = 1;
		return;
	}
	if (!a->used || a->closed)
		return;
	switch (what % 12) {
	case 0: app_send(a, 1 + u16(in) % 4096); break;
	case 1: tcp_close(a->c); break;
	case 2: tcp_abort(a->c); break;
	case 3: a->mode = (uint8_t)(u8(in) % 4); tcp_recv_resume(a->c); break;
	case 4: tcp_set_rcv_space(a->c, (uint32_t)u16(in) << (u8(in) % 4)); break;
	case 5: tcp_set_keepalive(a->c, 1 + u16(in) % 3000, 1 + u8(in) * 10, (uint8_t)(u8(in) % 4)); break;
	case 6: a->echo = (uint8_t)u8(in); break;
	case 7: a->close_on_eof = !a->close_on_eof; break;
	case 8: tcp_recv_resume(a->c); break;
	default: a->byref = !a->byref; app_send(a, 1 + u16(in) % 4096); break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size, 0 };
	unsigned records = 0;

	live_rx = live_tx = 0;
	refuse_next = 0;
	setup();
	prefix(u8(&in));
	while (more(&in) && records++ < 400) {
		unsigned op = u8(&in);

		switch (op & 7) {
		case 0:
			rx_raw(&in, op);
			break;
		case 1: case 2: case 3:
			rec_segment(&in, op);
			break;
		case 4:
			advance((uint64_t)u8(&in) * ((op & 0x30) == 0x30 ? 1000 : (op & 0x20) ? 100 : (op & 0x10) ? 10 : 1));
			break;
		case 5:
			rec_app(&in);
			break;
		case 6:
			rec_script(&in, op);
			break;
		default:
			/* a burst of SYNs from other hosts: the backlog fills, cookies
			 * answer; then (as the input says) the ACKs that complete them */
			{
				unsigned n = 1 + (op >> 3) % 8, am = u8(&in);

				for (unsigned i = 0; i < n; i++) {
					struct peer *p = &H.peers[16 + (i + (op >> 6)) % 16];
					uint8_t o[60];
					struct segspec s = { .flags = TCP_SYN, .seq = p->iss, .wnd = 65535, .opts = o };

					s.optlen = std_opts(o, p, true, op >> 5);
					rx_seg(p, &s);
				}
				if (am & 1)
					rx_arp_reply(H.peers[16 + (am >> 4) % 8].ip);
				advance((am >> 1) & 7);
				for (unsigned i = 0; i < n && (am & 0x08); i++) {
					struct peer *p = &H.peers[16 + (i + (op >> 6)) % 16];

					if (p->heard)
						seg_simple(p, TCP_ACK | ((am & 0x80) ? TCP_PSH : 0), p->iss + 1, p->st_end,
							   1024, (am & 0x80) ? 50 : 0);
				}
			}
			break;
		}
		check_all();
		advance(1 + (op & 0x80 ? 20 : 0));
	}
	/* let the timers run out: retransmissions give up, TIME-WAIT ends */
	advance(30000);
	check_all();
	tcp_stack_free(H.st);
	CHECK(live_rx == 0);
	net_arp_flush(&H.arp);
	CHECK(H.arp.used == 0);
	CHECK(live_tx == 0);
	CHECK(tx_buf == NULL);
	return 0;
}
