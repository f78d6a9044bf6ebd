/* test_tcp_cc.c - congestion control under virtual time: IW, slow start, avoidance, fast retransmit, NewReno, RTO. */
#include <stdlib.h>
#include <string.h>

#include "tcp_harness.h"
#include "tcp/tcp_seq.h"
#include "test.h"
#include "util/sl_status.h"

#define MSS 988u            /* cfg.mss 1000 less 12 bytes of timestamps */
#define WND 65535           /* << 2 = 256 KB: the peer's window never limits */

static struct th H;
static const struct th_opt TS = { .ts = true, .mss = -1, .ws = -1 };
static uint8_t pat[65536];
static uint32_t ISS;

/* Passive open, a 256 KB peer window, 256 KB queued: cwnd is the only limit. */
static struct tcp_conn *setup(void)
{
	struct tcp_config cfg;
	struct tcp_conn *c;

	for (unsigned i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i * 7 + (i >> 8));
	th_config(&cfg);
	cfg.snd_buf = 256 * 1024;
	th_init(&H, &cfg);
	c = th_open_passive(&H, true, &ISS);
	th_seg(&H, TCP_ACK, 1001, ISS + 1, WND, NULL, 0, &TS);   /* window update */
	CU_ASSERT_EQUAL(c->mss, MSS);
	CU_ASSERT_EQUAL(c->cwnd, 10 * MSS);    /* RFC 6928: min(10 MSS, max(2 MSS, 14600)) */
	CU_ASSERT_EQUAL(c->ssthresh, UINT32_MAX);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(tcp_send(c, pat, sizeof(pat)), SL_OK);
	return c;
}

/* The peer acknowledges everything up to segment n (exclusive). */
static void ack_seg(uint32_t n)
{
	th_seg(&H, TCP_ACK, 1001, ISS + 1 + n * MSS, WND, NULL, 0, &TS);
}

/* Expect exactly the data segments first..first+n-1 (as segment numbers), in order. */
static void expect_segs(uint32_t first, uint32_t n)
{
	struct th_out *o;

	for (uint32_t i = 0; i < n; i++) {
		o = th_next(&H);
		CU_ASSERT_FATAL(o != NULL);
		CU_ASSERT_EQUAL(o->seq, ISS + 1 + (first + i) * MSS);
		CU_ASSERT_EQUAL(o->len, MSS);
	}
	CU_ASSERT(th_next(&H) == NULL);
	th_drain(&H);
}

static void test_iw(void)
{
	static const struct { uint16_t cfg_mss, peer_mss; bool ts; uint32_t iw; } rows[] = {
		{ 1000, 1460, false, 10000 },      /* 10 MSS < 14600 */
		{ 1460, 1460, false, 14600 },      /* exactly 10 MSS = 14600 */
		{ 4000, 9000, false, 14600 },      /* max(2 MSS, 14600) < 10 MSS */
		{ 9000, 9000, false, 18000 },      /* 2 MSS > 14600 */
		{ 1000, 536, true, 5240 },         /* 536 - 12 bytes of timestamps */
	};

	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct tcp_config cfg;
		struct th_opt so = { .ts = rows[i].ts, .mss = rows[i].peer_mss, .ws = 2 };
		struct th_opt ao = { .ts = rows[i].ts, .mss = -1, .ws = -1 };
		struct th_out *o;

		th_config(&cfg);
		cfg.mss = rows[i].cfg_mss;
		th_init(&H, &cfg);
		th_seg(&H, TCP_SYN, 1000, 0, 65535, NULL, 0, &so);
		o = th_next(&H);
		CU_ASSERT_FATAL(o != NULL);
		ao.tsecr = o->tsval;
		th_seg(&H, TCP_ACK, 1001, o->seq + 1, 4096, NULL, 0, &ao);
		CU_ASSERT_FATAL(H.conn != NULL);
		CU_ASSERT_EQUAL(H.conn->cwnd, rows[i].iw);
		th_fini(&H);
	}
}

/* RFC 6928 2: a lost SYN-ACK leaves a one-segment initial window. */
static void test_iw_after_lost_synack(void)
{
	struct th_opt so = { .ts = true, .mss = 1460, .ws = 2 };
	struct th_opt ao = { .ts = true, .mss = -1, .ws = -1 };
	struct th_out *o;

	th_init(&H, NULL);
	th_seg(&H, TCP_SYN, 1000, 0, 65535, NULL, 0, &so);
	th_drain(&H);
	th_advance(&H, 1000);                  /* rto_init: the SYN-ACK again */
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL && o->flags == (TCP_SYN | TCP_ACK));
	ao.tsecr = o->tsval;
	th_seg(&H, TCP_ACK, 1001, o->seq + 1, 4096, NULL, 0, &ao);
	CU_ASSERT_FATAL(H.conn != NULL);
	CU_ASSERT_EQUAL(H.conn->cwnd, MSS);
	th_fini(&H);
}

/* RFC 5681 3.1 slow start with RFC 3465 byte counting, L = 2 SMSS. */
static void test_slow_start(void)
{
	struct tcp_conn *c = setup();

	expect_segs(0, 10);
	ack_seg(2);                            /* 2 SMSS acked: +2 SMSS */
	CU_ASSERT_EQUAL(c->cwnd, 12 * MSS);
	expect_segs(10, 4);                    /* 10 in flight again... plus 2 */
	ack_seg(3);                            /* 1 SMSS: +1 SMSS */
	CU_ASSERT_EQUAL(c->cwnd, 13 * MSS);
	expect_segs(14, 2);
	ack_seg(6);                            /* 3 SMSS at once: only +L = 2 SMSS */
	CU_ASSERT_EQUAL(c->cwnd, 15 * MSS);
	expect_segs(16, 5);
	/* slow start stops at ssthresh */
	c->ssthresh = 15 * MSS + 500;
	ack_seg(8);
	CU_ASSERT_EQUAL(c->cwnd, 15 * MSS + 500);
	expect_segs(21, 2);
	CU_ASSERT_EQUAL(H.st->cnt.retransmits, 0);
	th_fini(&H);
}

/* RFC 5681 3.1 congestion avoidance, RFC 3465 2.1: +1 SMSS per cwnd bytes acked. */
static void test_congestion_avoidance(void)
{
	struct tcp_conn *c = setup();
	uint32_t n = 0;

	expect_segs(0, 10);
	c->ssthresh = c->cwnd;                 /* cwnd >= ssthresh: avoidance */
	for (n = 1; n < 10; n++) {
		ack_seg(n);
		CU_ASSERT_EQUAL(c->cwnd, 10 * MSS);
		CU_ASSERT_EQUAL(c->bytes_acked, n * MSS);
		expect_segs(9 + n, 1);         /* one out per one acknowledged */
	}
	ack_seg(10);                           /* bytes_acked reaches cwnd: +1 SMSS */
	CU_ASSERT_EQUAL(c->cwnd, 11 * MSS);
	CU_ASSERT_EQUAL(c->bytes_acked, 0);
	expect_segs(19, 2);
	/* the next increase needs 11 SMSS of ACKs, delivered two at a time */
	for (n = 12; n <= 20; n += 2) {
		ack_seg(n);
		CU_ASSERT_EQUAL(c->cwnd, 11 * MSS);
		th_drain(&H);
	}
	ack_seg(22);                           /* 12 SMSS acked: one increase, 1 left over */
	CU_ASSERT_EQUAL(c->cwnd, 12 * MSS);
	CU_ASSERT_EQUAL(c->bytes_acked, 1 * MSS);
	th_fini(&H);
}

/* An application-limited flow does not grow its window (RFC 7661's concern). */
static void test_no_growth_when_not_cwnd_limited(void)
{
	struct tcp_conn *c;

	th_init(&H, NULL);
	c = th_open_passive(&H, true, &ISS);
	for (int i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(tcp_send(c, pat, 100), SL_OK);
		th_seg(&H, TCP_ACK, 1001, ISS + 1 + 100u * (uint32_t)(i + 1), 4096, NULL, 0, &TS);
	}
	CU_ASSERT_EQUAL(c->cwnd, 10 * MSS);
	th_fini(&H);
}

/*
 * RFC 5681 3.2 and RFC 6582: segments 0 and 3 of 10 are lost. The third
 * dupack retransmits segment 0 and only it; further dupacks inflate cwnd
 * until new data may go; the partial ACK for 0..2 retransmits 3 at once;
 * the full ACK deflates and leaves recovery.
 */
static void test_fast_retransmit_newreno(void)
{
	struct tcp_conn *c = setup();
	struct th_out *o;

	expect_segs(0, 10);
	ack_seg(0);                            /* dupack 1 (segment 1 arrived) */
	ack_seg(0);                            /* dupack 2 */
	CU_ASSERT(th_next(&H) == NULL);        /* no limited transmit */
	CU_ASSERT_EQUAL(c->dupacks, 2);
	CU_ASSERT_EQUAL(H.st->cnt.fast_retransmits, 0);
	ack_seg(0);                            /* dupack 3: fast retransmit */
	expect_segs(0, 1);
	CU_ASSERT_EQUAL(H.st->cnt.fast_retransmits, 1);
	CU_ASSERT_EQUAL(H.st->cnt.fast_recoveries, 1);
	CU_ASSERT_EQUAL(H.st->cnt.retransmits, 1);
	CU_ASSERT_EQUAL(c->ssthresh, 5 * MSS);             /* FlightSize / 2 */
	CU_ASSERT_EQUAL(c->cwnd, 5 * MSS + 3 * MSS);       /* + 3 SMSS */
	CU_ASSERT_EQUAL(c->recover, ISS + 1 + 10 * MSS);
	CU_ASSERT(c->cc_flags & TCC_RECOVERY);
	CU_ASSERT_EQUAL(c->rtx_mode, TCP_RTX_RTO);
	/* dupacks 4 and 5 inflate to 10 SMSS: still all in flight */
	ack_seg(0);
	ack_seg(0);
	CU_ASSERT_EQUAL(c->cwnd, 10 * MSS);
	CU_ASSERT(th_next(&H) == NULL);
	/* dupack 6: 11 SMSS, room for one new segment */
	ack_seg(0);
	CU_ASSERT_EQUAL(c->cwnd, 11 * MSS);
	expect_segs(10, 1);
	CU_ASSERT_EQUAL(H.st->cnt.retransmits, 1);
	/* the retransmitted 0 fills up to the hole at 3: a partial ACK */
	H.now += 5;
	tcp_advance(H.st, H.now);
	ack_seg(3);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->seq, ISS + 1 + 3 * MSS);        /* the next hole, at once */
	CU_ASSERT_EQUAL(o->len, MSS);
	CU_ASSERT_EQUAL(H.st->cnt.fast_retransmits, 2);
	CU_ASSERT_EQUAL(c->cwnd, 11 * MSS - 3 * MSS + MSS); /* deflated by 3, 1 added back */
	expect_segs(11, 1);                                /* 8 in flight, cwnd 9 */
	CU_ASSERT(c->cc_flags & TCC_RECOVERY);
	/* the first partial ACK restarted the RTO ... */
	CU_ASSERT_EQUAL(c->rtx_timer.expire, H.now + c->rto_cur);
	/* ... later ones do not (RFC 6582 3.2 step 5, "Impatient") */
	H.now += 5;
	tcp_advance(H.st, H.now);
	ack_seg(4);
	CU_ASSERT_EQUAL(c->rtx_timer.expire, H.now - 5 + c->rto_cur);
	CU_ASSERT_EQUAL(c->cwnd, 9 * MSS - MSS + MSS);
	th_drain(&H);
	/* full ACK: everything up to recover (segment 10) */
	ack_seg(10);
	CU_ASSERT(!(c->cc_flags & TCC_RECOVERY));
	/* min(ssthresh, max(FlightSize, SMSS) + SMSS): 10, 11 and 12 were out */
	CU_ASSERT_EQUAL(c->cwnd, 4 * MSS);
	expect_segs(13, 1);
	/* dupacks at recover itself do not start another recovery (RFC 6582 3.2 step 2) */
	ack_seg(10);
	ack_seg(10);
	ack_seg(10);
	CU_ASSERT(th_next(&H) == NULL);
	CU_ASSERT_EQUAL(H.st->cnt.fast_recoveries, 1);
	/* past recover, three dupacks do */
	ack_seg(11);
	th_drain(&H);
	ack_seg(11);
	ack_seg(11);
	ack_seg(11);
	CU_ASSERT_EQUAL(H.st->cnt.fast_recoveries, 2);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->seq, ISS + 1 + 11 * MSS);
	CU_ASSERT_EQUAL(H.st->cnt.rto_fired, 0);
	th_fini(&H);
}

/* What RFC 5681 section 2 does not call a duplicate ACK. */
static void test_not_dupacks(void)
{
	struct tcp_conn *c = setup();

	expect_segs(0, 10);
	/* window changes */
	th_seg(&H, TCP_ACK, 1001, ISS + 1, WND - 1, NULL, 0, &TS);
	th_seg(&H, TCP_ACK, 1001, ISS + 1, WND - 2, NULL, 0, &TS);
	th_seg(&H, TCP_ACK, 1001, ISS + 1, WND - 3, NULL, 0, &TS);
	/* data */
	th_seg(&H, TCP_ACK, 1001, ISS + 1, WND - 3, pat, 10, &TS);
	th_seg(&H, TCP_ACK, 1011, ISS + 1, WND - 3, pat, 10, &TS);
	th_seg(&H, TCP_ACK, 1021, ISS + 1, WND - 3, pat, 10, &TS);
	CU_ASSERT_EQUAL(H.st->cnt.fast_recoveries, 0);
	CU_ASSERT_EQUAL(c->dupacks, 0);
	th_fini(&H);
}

/* RFC 5681 3.1: an RTO leaves one segment, ssthresh = FlightSize / 2 the
 * first time and unchanged the second; slow start after it counts L = 1. */
static void test_rto_collapse(void)
{
	struct tcp_conn *c = setup();
	struct th_out *o;

	expect_segs(0, 10);
	ack_seg(2);                            /* cwnd 12, 12 in flight */
	expect_segs(10, 4);
	th_advance(&H, 200);
	CU_ASSERT_EQUAL(H.st->cnt.rto_fired, 1);
	expect_segs(2, 1);
	CU_ASSERT_EQUAL(c->cwnd, MSS);
	CU_ASSERT_EQUAL(c->ssthresh, 6 * MSS);
	CU_ASSERT_EQUAL(c->recover, ISS + 1 + 14 * MSS);
	c->ssthresh = 7 * MSS;                 /* a marker: the second RTO must keep it */
	th_advance(&H, 400);
	CU_ASSERT_EQUAL(H.st->cnt.rto_fired, 2);
	expect_segs(2, 1);
	CU_ASSERT_EQUAL(c->ssthresh, 7 * MSS);
	CU_ASSERT_EQUAL(c->cwnd, MSS);
	/* dupacks below recover: no fast retransmit */
	ack_seg(2);
	ack_seg(2);
	ack_seg(2);
	CU_ASSERT(th_next(&H) == NULL);
	CU_ASSERT_EQUAL(H.st->cnt.fast_recoveries, 0);
	/* 3 segments acknowledged after the RTO: +1 SMSS only (L = 1) */
	ack_seg(5);
	CU_ASSERT_EQUAL(c->cwnd, 2 * MSS);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->seq, ISS + 1 + 5 * MSS);        /* going back: 5 and 6 */
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->seq, ISS + 1 + 6 * MSS);
	CU_ASSERT(th_next(&H) == NULL);
	th_fini(&H);
}

/* After an RTO rewinds SND.NXT, a pure ACK still carries SND.MAX: the
 * peer may hold all of it, and would find a lower sequence unacceptable. */
static void test_pure_ack_after_rto(void)
{
	struct tcp_conn *c = setup();
	struct th_out *o;

	expect_segs(0, 10);
	th_advance(&H, 200);
	expect_segs(0, 1);
	CU_ASSERT_EQUAL(c->snd_nxt, ISS + 1 + MSS);
	th_seg(&H, TCP_ACK, 1001, ISS + 1, WND, pat, 10, &TS);   /* data: a delayed ACK */
	th_advance(&H, 40);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->len, 0);
	CU_ASSERT_EQUAL(o->ack, 1011);
	CU_ASSERT_EQUAL(o->seq, ISS + 1 + 10 * MSS);
	th_fini(&H);
}

/* RFC 5681 4.1: idle for more than an RTO, the window restarts at IW. */
static void test_restart_after_idle(void)
{
	struct tcp_conn *c;

	th_init(&H, NULL);
	c = th_open_passive(&H, true, &ISS);
	c->cwnd = 30 * MSS;
	CU_ASSERT_EQUAL(tcp_send(c, pat, 100), SL_OK);
	th_seg(&H, TCP_ACK, 1001, ISS + 101, 4096, NULL, 0, &TS);
	th_advance(&H, c->rto);                /* not more than an RTO: kept */
	CU_ASSERT_EQUAL(tcp_send(c, pat, 100), SL_OK);
	CU_ASSERT_EQUAL(c->cwnd, 30 * MSS);
	th_seg(&H, TCP_ACK, 1001, ISS + 201, 4096, NULL, 0, &TS);
	th_advance(&H, c->rto + 1);
	CU_ASSERT_EQUAL(tcp_send(c, pat, 100), SL_OK);
	CU_ASSERT_EQUAL(c->cwnd, 10 * MSS);
	CU_ASSERT_EQUAL(H.st->cnt.cwnd_idle_resets, 1);
	th_fini(&H);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "initial window (RFC 6928)", test_iw },
		{ "one-segment IW after a lost SYN-ACK", test_iw_after_lost_synack },
		{ "slow start with ABC L=2 (RFC 3465)", test_slow_start },
		{ "congestion avoidance, byte counting", test_congestion_avoidance },
		{ "no growth when not cwnd-limited", test_no_growth_when_not_cwnd_limited },
		{ "fast retransmit, NewReno partial and full ACK", test_fast_retransmit_newreno },
		{ "window updates and data are not dupacks", test_not_dupacks },
		{ "RTO collapse, ssthresh held, L=1 after RTO", test_rto_collapse },
		{ "pure ACK after an RTO carries SND.MAX", test_pure_ack_after_rto },
		{ "restart after idle (RFC 5681 4.1)", test_restart_after_idle },
		{ NULL, NULL },
	};
	test_suite("tcp_cc", cases);
}
