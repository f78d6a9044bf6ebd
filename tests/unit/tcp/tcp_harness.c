/* tcp_harness.c - the virtual-time harness behind the TCP unit tests. */
#include "tcp_harness.h"

#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "util/sl_addr.h"
#include "util/sl_status.h"

long th_live_bufs;
const uint8_t th_laddr[4] = { 198, 18, 0, 1 }, th_raddr[4] = { 198, 18, 0, 2 };

static void out_cb(void *ctx, const struct tcp_seg_out *s)
{
	struct th *h = ctx;
	struct th_out *o;
	const uint8_t *p;
	uint32_t i = 0;

	CU_ASSERT_FATAL(h->n_out < TH_MAX_OUT);
	o = &h->out[h->n_out++];
	memset(o, 0, offsetof(struct th_out, data));
	o->at = h->now;
	o->seq = s->seq;
	o->ack = s->ack;
	o->wnd = s->wnd;
	o->flags = s->flags;
	o->len = s->len;
	o->sport = s->tuple->lport;
	o->optlen = s->optlen;
	CU_ASSERT(s->optlen % 4 == 0 && s->optlen <= TCP_OPT_MAX);
	o->dport = s->tuple->rport;
	CU_ASSERT_FATAL(s->len <= sizeof(o->data));
	{
		uint32_t at = 0;

		CU_ASSERT(s->npieces <= TCP_SEG_PIECES);
		o->npieces = s->npieces;
		for (unsigned k = 0; k < s->npieces; k++) {
			CU_ASSERT(s->dlen[k] > 0);
			CU_ASSERT_FATAL(at + s->dlen[k] <= s->len);
			memcpy(o->data + at, s->data[k], s->dlen[k]);
			o->owner[k] = s->owner[k];
			at += s->dlen[k];
		}
		CU_ASSERT(at == s->len);
	}
	o->rawlen = tcp_build_header(s, o->raw);
	memcpy(o->raw + o->rawlen, o->data, s->len);
	o->rawlen += s->len;
	/* decode the options we care about */
	p = s->opts;
	while (i < s->optlen) {
		if (p[i] == 0)
			break;
		if (p[i] == 1) {
			i++;
			continue;
		}
		if (p[i] == 2) {
			o->has_mss = 1;
			o->mss = (uint16_t)(p[i + 2] << 8 | p[i + 3]);
		} else if (p[i] == 3) {
			o->has_ws = 1;
			o->ws = p[i + 2];
		} else if (p[i] == 4) {
			o->sack_ok = 1;
		} else if (p[i] == 5) {
			for (unsigned b = 0; b < (unsigned)(p[i + 1] - 2) / 8 && b < 4; b++) {
				const uint8_t *q = p + i + 2 + 8 * b;
				o->sack[b][0] = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
				o->sack[b][1] = (uint32_t)q[4] << 24 | (uint32_t)q[5] << 16 | (uint32_t)q[6] << 8 | q[7];
				o->nsack++;
			}
		} else if (p[i] == 8) {
			o->has_ts = 1;
			o->tsval = (uint32_t)p[i + 2] << 24 | (uint32_t)p[i + 3] << 16 | (uint32_t)p[i + 4] << 8 | p[i + 5];
			o->tsecr = (uint32_t)p[i + 6] << 24 | (uint32_t)p[i + 7] << 16 | (uint32_t)p[i + 8] << 8 | p[i + 9];
		}
		i += p[i + 1];
	}
}

static void hold_cb(void *ctx, void *owner)
{
	struct th_buf *b = owner;
	(void)ctx;
	b->refs++;
}

static void release_cb(void *ctx, void *owner)
{
	struct th_buf *b = owner;
	(void)ctx;
	CU_ASSERT_FATAL(b->refs > 0);
	if (--b->refs == 0) {
		free(b);
		th_live_bufs--;
	}
}

struct th_buf *th_buf_new(const void *data, uint32_t len)
{
	struct th_buf *b = malloc(sizeof(*b) + len);

	CU_ASSERT_FATAL(b != NULL);
	b->refs = 1;
	b->len = len;
	memcpy(b->data, data, len);
	th_live_bufs++;
	return b;
}

void th_buf_put(struct th_buf *b)
{
	release_cb(NULL, b);
}

static const struct tcp_stack_ops th_ops = { out_cb, hold_cb, release_cb };

static void cb_established(struct tcp_conn *c, void *user)
{
	struct th *h = user;
	h->conn = c;
	h->established++;
}

static uint32_t cb_data(struct tcp_conn *c, void *user, const uint8_t *p, uint32_t len, void *owner)
{
	struct th *h = user;
	uint32_t n = len;

	(void)c;
	CU_ASSERT(owner != NULL);
	if (h->consume == TH_CONSUME_NONE)
		n = 0;
	else if (h->consume == TH_CONSUME_LIMIT)
		n = len < h->consume_limit ? len : h->consume_limit;
	CU_ASSERT_FATAL(h->rx_len + n <= TH_RX_MAX);
	memcpy(h->rx + h->rx_len, p, n);
	h->rx_len += n;
	return n;
}

static void cb_eof(struct tcp_conn *c, void *user)
{
	struct th *h = user;
	(void)c;
	h->eof++;
}

static void cb_writable(struct tcp_conn *c, void *user)
{
	struct th *h = user;
	(void)c;
	h->writable++;
}

static void cb_closed(struct tcp_conn *c, void *user, enum tcp_close_reason why)
{
	struct th *h = user;
	h->closed++;
	h->why = why;
	if (h->conn == c)
		h->conn = NULL;
}

const struct tcp_conn_cbs th_cbs = { cb_established, cb_data, cb_eof, cb_writable, cb_closed };

static int th_accept(void *lctx, struct tcp_conn *c)
{
	struct th *h = lctx;

	h->accepts++;
	if (h->refuse)
		return SL_DECLINED;
	tcp_conn_set_cbs(c, &th_cbs, h);
	return SL_OK;
}

void th_config(struct tcp_config *cfg)
{
	tcp_config_defaults(cfg);
	cfg->max_conns = 8;
	cfg->max_tw = 4;
	cfg->snd_buf = 16 * 1024;
	cfg->rcv_space = 16 * 1024;
	cfg->rcv_space_max = 16 * 1024;
	cfg->mss = 1000;
	cfg->wheel_slots = 256;
	cfg->key[0] = 0x0123456789abcdefULL;
	cfg->key[1] = 0xfedcba9876543210ULL;
}

void th_init(struct th *h, const struct tcp_config *cfg)
{
	struct tcp_config def;

	memset(h, 0, sizeof(*h));
	if (cfg == NULL) {
		th_config(&def);
		cfg = &def;
	}
	h->now = 100000;
	h->remote_ts = 777;
	h->rx = malloc(TH_RX_MAX);
	CU_ASSERT_FATAL(h->rx != NULL);
	h->st = tcp_stack_new(cfg, &th_ops, h, h->now);
	CU_ASSERT_FATAL(h->st != NULL);
	CU_ASSERT_FATAL(tcp_listen(h->st, TH_LPORT, th_accept, h) == SL_OK);
}

void th_fini(struct th *h)
{
	tcp_stack_free(h->st);
	free(h->rx);
	CU_ASSERT_EQUAL(th_live_bufs, 0);
	th_live_bufs = 0;
}

void th_advance(struct th *h, uint64_t ms)
{
	for (uint64_t i = 0; i < ms; i++) {
		h->now++;
		tcp_advance(h->st, h->now);
	}
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void th_feed(struct th *h, const uint8_t *saddr, const uint8_t *daddr, const uint8_t *seg, uint32_t len)
{
	struct th_buf *b = malloc(sizeof(*b) + len);
	struct tcp_seg_in in;

	CU_ASSERT_FATAL(b != NULL);
	b->refs = 1;
	b->len = len;
	memcpy(b->data, seg, len);
	th_live_bufs++;
	in.family = SL_AF_INET;
	in.saddr = saddr;
	in.daddr = daddr;
	in.tcp = b->data;
	in.len = len;
	in.owner = b;
	tcp_input(h->st, &in);
	release_cb(NULL, b);   /* the caller's own reference, like rte_pktmbuf_free */
}

void th_seg_port(struct th *h, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
		 uint32_t ack, uint16_t wnd, const void *data, uint32_t len, const struct th_opt *opt)
{
	uint8_t buf[60 + 4096];
	uint32_t ol = 0, hl;
	uint8_t *o = buf + 20;

	memset(buf, 0, 60);
	if (opt != NULL && opt->raw != NULL) {
		memcpy(o, opt->raw, opt->rawlen);
		ol = opt->rawlen;
	} else if (opt != NULL) {
		if (opt->mss >= 0) {
			o[ol++] = 2; o[ol++] = 4;
			o[ol++] = (uint8_t)(opt->mss >> 8); o[ol++] = (uint8_t)opt->mss;
		}
		if (opt->ws >= 0) {
			o[ol++] = 1; o[ol++] = 3; o[ol++] = 3; o[ol++] = (uint8_t)opt->ws;
		}
		if (opt->sack_ok) {
			o[ol++] = 1; o[ol++] = 1; o[ol++] = 4; o[ol++] = 2;
		}
		if (opt->ts) {
			o[ol++] = 1; o[ol++] = 1; o[ol++] = 8; o[ol++] = 10;
			put32(o + ol, h->remote_ts); ol += 4;
			put32(o + ol, opt->tsecr); ol += 4;
		}
	}
	while (ol % 4)
		o[ol++] = 0;
	hl = 20 + ol;
	buf[0] = (uint8_t)(sport >> 8); buf[1] = (uint8_t)sport;
	buf[2] = (uint8_t)(dport >> 8); buf[3] = (uint8_t)dport;
	put32(buf + 4, seq);
	put32(buf + 8, ack);
	buf[12] = (uint8_t)((hl / 4) << 4);
	buf[13] = flags;
	buf[14] = (uint8_t)(wnd >> 8); buf[15] = (uint8_t)wnd;
	CU_ASSERT_FATAL(len <= 4096);
	if (len)
		memcpy(buf + hl, data, len);
	th_feed(h, th_raddr, th_laddr, buf, hl + len);
}

void th_seg(struct th *h, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd,
	    const void *data, uint32_t len, const struct th_opt *opt)
{
	th_seg_port(h, TH_RPORT, TH_LPORT, flags, seq, ack, wnd, data, len, opt);
}

struct th_out *th_next(struct th *h)
{
	return h->rd < h->n_out ? &h->out[h->rd++] : NULL;
}

unsigned th_pending(const struct th *h)
{
	return h->n_out - h->rd;
}

void th_drain(struct th *h)
{
	h->rd = h->n_out = 0;
}

struct tcp_conn *th_open_passive(struct th *h, bool ts, uint32_t *iss)
{
	struct th_opt so = { .ts = ts, .mss = 1460, .ws = 2, .sack_ok = true };
	struct th_opt ao = { .ts = ts, .mss = -1, .ws = -1 };
	struct th_out *o;

	th_seg(h, TCP_SYN, 1000, 0, 65535, NULL, 0, &so);
	o = th_next(h);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_SYN | TCP_ACK);
	CU_ASSERT_EQUAL(o->ack, 1001);
	*iss = o->seq;
	ao.tsecr = o->tsval;
	th_seg(h, TCP_ACK, 1001, o->seq + 1, 4096, NULL, 0, &ao);   /* 4096 << 2 = 16 KB window */
	CU_ASSERT_FATAL(h->conn != NULL);
	CU_ASSERT_EQUAL(tcp_conn_state(h->conn), TCP_ESTABLISHED);
	return h->conn;
}

struct tcp_conn *th_open_active(struct th *h, bool ts, uint32_t *iss)
{
	struct th_opt so = { .ts = ts, .mss = 1460, .ws = 2 };
	struct tcp_conn *c;
	struct th_out *o;

	c = tcp_connect(h->st, SL_AF_INET, th_laddr, 30000, th_raddr, 25, &th_cbs, h);
	CU_ASSERT_FATAL(c != NULL);
	o = th_next(h);
	CU_ASSERT_FATAL(o != NULL && o->flags == TCP_SYN);
	*iss = o->seq;
	so.tsecr = o->tsval;
	th_seg_port(h, 25, 30000, TCP_SYN | TCP_ACK, 5000, o->seq + 1, 65535, NULL, 0, &so);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_ESTABLISHED);
	o = th_next(h);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_ACK);
	CU_ASSERT_EQUAL(o->ack, 5001);
	return c;
}

