/* test_tcp_cookie.c - SYN cookies (RFC 4987): flood, round trip, options in the timestamp, forgeries, expiry. */
#include <string.h>

#include "tcp_harness.h"
#include "tcp/tcp_seq.h"
#include "test.h"
#include "util/sl_status.h"

static struct th H;

static void init(uint32_t backlog)
{
	struct tcp_config cfg;

	th_config(&cfg);
	cfg.syn_backlog = backlog;
	th_init(&H, &cfg);
}

/* A SYN from port sport; returns the (cookie) SYN-ACK. */
static struct th_out *syn(uint16_t sport, uint32_t isn, const struct th_opt *o)
{
	struct th_out *r;

	th_seg_port(&H, sport, TH_LPORT, TCP_SYN, isn, 0, 65535, NULL, 0, o);
	r = th_next(&H);
	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_EQUAL(r->flags, TCP_SYN | TCP_ACK);
	CU_ASSERT_EQUAL(r->ack, isn + 1);
	return r;
}

static void test_flood_then_valid_cookie(void)
{
	struct th_opt so = { .ts = true, .mss = 1460, .ws = 2, .sack_ok = true };
	struct th_opt ao = { .ts = true, .mss = -1, .ws = -1 };
	uint64_t seg_before;
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t cookie, tsval;

	init(2);
	/* the flood fills the backlog: two half-open connections */
	syn(TH_RPORT + 1, 7000, &so);
	syn(TH_RPORT + 2, 8000, &so);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_SYN_RCVD], 2);
	CU_ASSERT_EQUAL(H.st->cnt.syncookies_sent, 0);
	/* a real client now gets a cookie, and no TCB */
	o = syn(TH_RPORT, 1000, &so);
	cookie = o->seq;
	tsval = o->tsval;
	CU_ASSERT_EQUAL(H.st->cnt.syncookies_sent, 1);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_SYN_RCVD], 2);
	CU_ASSERT_EQUAL(H.st->cnt.drops[TCP_DROP_SYN_BACKLOG], 0);
	CU_ASSERT(o->has_mss && o->mss == 1000);
	CU_ASSERT(o->has_ws && o->ws == 0);        /* our shift: 16 KB needs none */
	CU_ASSERT(o->has_ts);
	CU_ASSERT(o->sack_ok);
	CU_ASSERT_EQUAL(o->tsecr, 777);
	CU_ASSERT_EQUAL(tsval & 31, 0x10 | 2);      /* SACK-permitted, peer shift 2 */
	/* its ACK, with the first data, creates the connection */
	ao.tsecr = tsval;
	H.remote_ts = 778;
	th_seg(&H, TCP_ACK | TCP_PSH, 1001, cookie + 1, 4096, "EHLO x\r\n", 8, &ao);
	CU_ASSERT_EQUAL(H.st->cnt.syncookies_accepted, 1);
	CU_ASSERT_EQUAL(H.st->cnt.syncookies_rejected, 0);
	CU_ASSERT_EQUAL(H.accepts, 1);
	CU_ASSERT_EQUAL(H.established, 1);
	c = H.conn;
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_ESTABLISHED);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_ESTABLISHED], 1);
	CU_ASSERT_EQUAL(c->iss, cookie);
	CU_ASSERT_EQUAL(c->mss, 1000 - 12);
	CU_ASSERT_EQUAL(c->flags & (TF_TS | TF_WS | TF_SACK_OK), TF_TS | TF_WS | TF_SACK_OK);
	CU_ASSERT_EQUAL(c->snd_wscale, 2);
	CU_ASSERT_EQUAL(c->snd_wnd, 4096u << 2);
	CU_ASSERT_EQUAL(c->ts_recent, 778);
	CU_ASSERT_EQUAL(H.rx_len, 8);
	CU_ASSERT(memcmp(H.rx, "EHLO x\r\n", 8) == 0);
	/* data flows both ways */
	seg_before = H.st->cnt.seg_out;
	th_drain(&H);
	CU_ASSERT_EQUAL(tcp_send(c, "250 ok\r\n", 8), SL_OK);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->seq, cookie + 1);
	CU_ASSERT_EQUAL(o->ack, 1009);
	CU_ASSERT_EQUAL(o->len, 8);
	CU_ASSERT(SEQ_GEQ(o->tsval, tsval));      /* the coded TSval was not ahead of the clock */
	CU_ASSERT_EQUAL(o->tsecr, 778);
	CU_ASSERT_EQUAL(H.st->cnt.seg_out, seg_before + 1);
	th_seg(&H, TCP_ACK, 1009, cookie + 9, 4096, "QUIT\r\n", 6, &ao);
	CU_ASSERT_EQUAL(tcp_pending(c), 0);
	CU_ASSERT_EQUAL(H.rx_len, 14);
	tcp_close(c);
	th_fini(&H);
}

/* Without timestamps nothing can carry WS or SACK: the SYN-ACK offers MSS
 * only, the connection runs unscaled. The MSS comes from the table. */
static void test_cookie_without_timestamps(void)
{
	struct th_opt so = { .ts = false, .mss = 1400, .ws = 7, .sack_ok = true };
	struct tcp_config cfg;
	struct tcp_conn *c;
	struct th_out *o;

	th_config(&cfg);
	cfg.syn_backlog = 0;                 /* every SYN gets a cookie */
	cfg.mss = 1460;
	cfg.rcv_space = cfg.rcv_space_max = 256 * 1024;
	th_init(&H, &cfg);
	o = syn(TH_RPORT, 1000, &so);
	CU_ASSERT(o->has_mss && o->mss == 1460);
	CU_ASSERT(!o->has_ws);
	CU_ASSERT(!o->has_ts);
	CU_ASSERT(!o->sack_ok);
	CU_ASSERT_EQUAL(o->wnd, 65535);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_SYN_RCVD], 0);
	th_seg(&H, TCP_ACK, 1001, o->seq + 1, 30000, NULL, 0, NULL);
	c = H.conn;
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(c->mss, 1380);           /* 1400 rounded down in the table */
	CU_ASSERT_EQUAL(c->flags & (TF_TS | TF_WS | TF_SACK_OK), 0);
	CU_ASSERT_EQUAL(c->snd_wnd, 30000);      /* unscaled */
	CU_ASSERT(c->rcv_space <= 65535);
	CU_ASSERT_EQUAL(c->cwnd, 10 * 1380);     /* RFC 6928 IW */
	th_fini(&H);
}

/* Forged ACKs: a wrong cookie, a cookie for another tuple, another ISN. */
static void test_forged_cookie_rejected(void)
{
	struct th_out *o;
	uint32_t cookie;

	init(0);
	/* no cookie sent yet: a stray ACK is not even checked, just reset */
	th_seg(&H, TCP_ACK, 1001, 12345, 4096, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.syncookies_rejected, 0);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_RST);
	o = syn(TH_RPORT, 1000, NULL);
	cookie = o->seq;
	/* one bit off */
	th_seg(&H, TCP_ACK, 1001, cookie + 2, 4096, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.syncookies_rejected, 1);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_RST);
	CU_ASSERT_EQUAL(o->seq, cookie + 2);
	/* the right cookie from another port */
	th_seg_port(&H, TH_RPORT + 1, TH_LPORT, TCP_ACK, 1001, cookie + 1, 4096, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.syncookies_rejected, 2);
	/* the right cookie with another initial sequence number */
	th_seg(&H, TCP_ACK, 2001, cookie + 1, 4096, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.syncookies_rejected, 3);
	/* the mss index is under the MAC too */
	th_seg(&H, TCP_ACK, 1001, cookie + 1 + (1u << 24), 4096, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.syncookies_rejected, 4);
	CU_ASSERT_EQUAL(H.st->cnt.syncookies_accepted, 0);
	CU_ASSERT_EQUAL(H.accepts, 0);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_ESTABLISHED], 0);
	/* and the genuine one still works */
	th_seg(&H, TCP_ACK, 1001, cookie + 1, 4096, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.syncookies_accepted, 1);
	CU_ASSERT(H.conn != NULL);
	th_fini(&H);
}

/* A cookie lives one to two ticks of 65.536 s: older, it is rejected. */
static void test_cookie_expiry(void)
{
	struct th_out *o;
	uint32_t c1, c2;

	init(0);
	H.now = (uint64_t)1000 << 16;        /* the start of a tick */
	tcp_advance(H.st, H.now);
	c1 = syn(TH_RPORT, 1000, NULL)->seq;
	c2 = syn(TH_RPORT + 1, 5000, NULL)->seq;
	/* 65.535 s later (still the next tick): accepted */
	H.now += 65535 + 65536;
	tcp_advance(H.st, H.now);
	th_seg(&H, TCP_ACK, 1001, c1 + 1, 4096, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.syncookies_accepted, 1);
	CU_ASSERT(H.conn != NULL);
	/* one more ms: two ticks old, rejected, though cookies are still in
	 * use (a fresh SYN keeps the listener checking) */
	H.now += 1;
	tcp_advance(H.st, H.now);
	o = syn(TH_RPORT + 2, 9000, NULL);
	(void)o;
	th_seg_port(&H, TH_RPORT + 1, TH_LPORT, TCP_ACK, 5001, c2 + 1, 4096, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.syncookies_rejected, 1);
	CU_ASSERT_EQUAL(H.st->cnt.syncookies_accepted, 1);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_RST);
	th_fini(&H);
}

/* A valid cookie with no free TCB: dropped without an RST (the client's
 * side is fine and its next segment tries again). */
static void test_cookie_table_full(void)
{
	struct tcp_config cfg;
	uint32_t c1, c2;

	th_config(&cfg);
	cfg.syn_backlog = 0;
	cfg.max_conns = 1;
	th_init(&H, &cfg);
	c1 = syn(TH_RPORT, 1000, NULL)->seq;
	c2 = syn(TH_RPORT + 1, 3000, NULL)->seq;
	th_seg(&H, TCP_ACK, 1001, c1 + 1, 4096, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.syncookies_accepted, 1);
	th_drain(&H);
	th_seg_port(&H, TH_RPORT + 1, TH_LPORT, TCP_ACK, 3001, c2 + 1, 4096, "x", 1, NULL);
	CU_ASSERT(th_next(&H) == NULL);
	CU_ASSERT_EQUAL(H.st->cnt.drops[TCP_DROP_TABLE_FULL], 1);
	CU_ASSERT_EQUAL(H.st->cnt.syncookies_rejected, 0);
	/* a TCB frees up: the same cookie is still good */
	tcp_abort(H.conn);
	th_drain(&H);
	th_seg_port(&H, TH_RPORT + 1, TH_LPORT, TCP_ACK, 3001, c2 + 1, 4096, "x", 1, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.syncookies_accepted, 2);
	CU_ASSERT_EQUAL(H.rx_len, 1);
	th_fini(&H);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "flood fills the backlog, a cookie ACK opens, data flows", test_flood_then_valid_cookie },
		{ "cookie without timestamps: MSS table, no WS/SACK", test_cookie_without_timestamps },
		{ "forged cookies rejected", test_forged_cookie_rejected },
		{ "cookie older than its window rejected", test_cookie_expiry },
		{ "valid cookie, no free TCB: no RST", test_cookie_table_full },
		{ NULL, NULL },
	};
	test_suite("tcp_cookie", cases);
}
