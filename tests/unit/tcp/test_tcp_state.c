/* test_tcp_state.c - RFC 9293 state machine, RFC 5961, PAWS, options, TIME-WAIT, closed ports, ISNs. */
#include <stdlib.h>
#include <string.h>

#include "tcp_harness.h"
#include "tcp/tcp_seq.h"
#include "tcp/tcp_siphash.h"
#include "test.h"
#include "util/sl_addr.h"
#include "util/sl_status.h"

static struct th H;
static const struct th_opt TS = { .ts = true, .mss = -1, .ws = -1 };

static void test_seq_arith(void)
{
	CU_ASSERT(SEQ_LT(0xfffffff0u, 0x10u));
	CU_ASSERT(SEQ_GT(0x10u, 0xfffffff0u));
	CU_ASSERT(SEQ_LEQ(5u, 5u));
	CU_ASSERT(SEQ_GEQ(0u, 0xffffffffu));
	CU_ASSERT(!SEQ_LT(0x80000001u, 1u) || SEQ_DIFF(0x80000001u, 1u) < 0);
	CU_ASSERT(tcp_seq_in(2u, 0xfffffffeu, 10u));
	CU_ASSERT(!tcp_seq_in(10u, 0xfffffffeu, 10u));
	CU_ASSERT_EQUAL(SEQ_MAX(0xfffffff0u, 3u), 3u);
}

static void test_siphash_vectors(void)
{
	/* Reference vectors of the SipHash paper: key 00..0f, message 00..(n-1). */
	uint64_t key[2];
	uint8_t k[16], m[15];

	for (int i = 0; i < 16; i++)
		k[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		m[i] = (uint8_t)i;
	memcpy(&key[0], k, 8);   /* little-endian host (x86, arm64) */
	memcpy(&key[1], k + 8, 8);
	CU_ASSERT_EQUAL(tcp_siphash24(key, m, 0), 0x726fdb47dd0e0e31ULL);
	CU_ASSERT_EQUAL(tcp_siphash24(key, m, 15), 0xa129ca6149be45e5ULL);
	CU_ASSERT_EQUAL(tcp_siphash24(key, m, 8), 0x93f5f5799a932462ULL);
}

static void test_passive_open(void)
{
	struct th_opt so = { .ts = true, .mss = 1460, .ws = 2, .sack_ok = true };
	struct th_opt ao = { .ts = true, .mss = -1, .ws = -1 };
	struct th_out *o;
	struct tcp_conn *c;
	uint32_t iss;

	th_init(&H, NULL);
	th_seg(&H, TCP_SYN, 1000, 0, 65535, NULL, 0, &so);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_SYN_RCVD], 1);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_SYN | TCP_ACK);
	CU_ASSERT_EQUAL(o->ack, 1001);
	CU_ASSERT(o->has_mss && o->mss == 1000);
	CU_ASSERT(o->has_ws && o->ws == 0);       /* 16 KB fits 16 bits */
	CU_ASSERT(o->has_ts && o->tsecr == 777);
	CU_ASSERT_EQUAL(o->wnd, 16384);
	CU_ASSERT_EQUAL(H.accepts, 0);
	iss = o->seq;
	ao.tsecr = o->tsval;
	th_seg(&H, TCP_ACK, 1001, iss + 1, 4096, NULL, 0, &ao);
	CU_ASSERT_EQUAL(H.accepts, 1);
	CU_ASSERT_EQUAL(H.established, 1);
	c = H.conn;
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_ESTABLISHED);
	CU_ASSERT_EQUAL(c->snd_wnd, 16384u);       /* 4096 << 2 */
	CU_ASSERT_EQUAL(c->mss, 1000 - 12);        /* timestamps take 12 bytes */
	CU_ASSERT(c->flags & TF_SACK_OK);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_ESTABLISHED], 1);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_SYN_RCVD], 0);
	CU_ASSERT_EQUAL(th_pending(&H), 0);
	th_fini(&H);
}

static void test_syn_ack_lost(void)
{
	struct th_opt so = { .ts = false, .mss = 1460, .ws = -1 };
	struct th_out *o;

	th_init(&H, NULL);
	th_seg(&H, TCP_SYN, 1000, 0, 65535, NULL, 0, &so);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT(!o->has_ts && !o->has_ws);       /* only what the peer offered */
	/* the peer's SYN again: SYN-ACK again, same ISS */
	th_seg(&H, TCP_SYN, 1000, 0, 65535, NULL, 0, &so);
	CU_ASSERT_EQUAL(th_next(&H)->seq, o->seq);
	/* no ACK at all: SYN-ACK retransmitted at 1, 2, 4, 8, 16 s, then dropped */
	uint64_t t0 = H.now, expect = 0;
	for (uint32_t i = 0, d = 1000; i < 5; i++, d *= 2) {
		expect += d;
		th_advance(&H, d);
		o = th_next(&H);
		CU_ASSERT_FATAL(o != NULL);
		CU_ASSERT_EQUAL(o->flags, TCP_SYN | TCP_ACK);
		CU_ASSERT_EQUAL(o->at - t0, expect);
	}
	th_advance(&H, 32000);
	o = th_next(&H);
	CU_ASSERT(o != NULL && (o->flags & TCP_RST));
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_SYN_RCVD], 0);
	CU_ASSERT_EQUAL(H.st->listeners[0].syn_count, 0u);
	CU_ASSERT_EQUAL(H.closed, 0);               /* never accepted: nobody to tell */
	th_fini(&H);
}

static void test_active_open(void)
{
	struct tcp_conn *c;
	uint32_t iss;

	th_init(&H, NULL);
	c = tcp_connect(H.st, SL_AF_INET, th_laddr, 30000, th_raddr, 25, &th_cbs, &H);
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_SYN_SENT);
	/* the same tuple twice is refused */
	CU_ASSERT(tcp_connect(H.st, SL_AF_INET, th_laddr, 30000, th_raddr, 25, &th_cbs, &H) == NULL);
	struct th_out *o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_SYN);
	CU_ASSERT(o->has_mss && o->has_ws && o->has_ts);
	CU_ASSERT_EQUAL(o->sport, 30000);
	CU_ASSERT_EQUAL(o->dport, 25);
	iss = o->seq;
	/* an ACK not for our SYN (an old incarnation's, from a peer in
	 * TIME-WAIT): RST <SEQ=SEG.ACK>, then the same SYN again at once */
	th_seg_port(&H, 25, 30000, TCP_ACK, 5000, iss + 100, 1000, NULL, 0, NULL);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_RST);
	CU_ASSERT_EQUAL(o->seq, iss + 100);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_SYN);
	CU_ASSERT_EQUAL(o->seq, iss);
	CU_ASSERT_EQUAL(H.st->cnt.retransmits, 1u);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_SYN_SENT);
	/* the same answer again: RST only, the SYN waits for its timer */
	th_seg_port(&H, 25, 30000, TCP_ACK, 5000, iss + 100, 1000, NULL, 0, NULL);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_RST);
	CU_ASSERT_PTR_NULL(th_next(&H));
	CU_ASSERT_EQUAL(H.st->cnt.retransmits, 1u);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_SYN_SENT);
	/* an RST without ACK is not acceptable in SYN-SENT */
	th_seg_port(&H, 25, 30000, TCP_RST, 5000, 0, 0, NULL, 0, NULL);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_SYN_SENT);
	tcp_abort(c);
	CU_ASSERT_EQUAL(H.why, TCP_CLOSE_ABORTED);
	th_drain(&H);
	H.closed = 0;

	c = th_open_active(&H, true, &iss);
	CU_ASSERT_EQUAL(H.established, 1);
	CU_ASSERT_EQUAL(c->snd_una, iss + 1);
	CU_ASSERT_EQUAL(c->rcv_nxt, 5001u);
	CU_ASSERT(c->flags & TF_TS);
	CU_ASSERT_EQUAL(H.st->cnt.connected, 1);
	th_fini(&H);
}

static void test_active_refused_and_timeout(void)
{
	struct tcp_conn *c;
	struct th_out *o;
	uint64_t t0;

	th_init(&H, NULL);
	c = tcp_connect(H.st, SL_AF_INET, th_laddr, 30001, th_raddr, 25, &th_cbs, &H);
	o = th_next(&H);
	th_seg_port(&H, 25, 30001, TCP_RST | TCP_ACK, 0, o->seq + 1, 0, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.closed, 1);
	CU_ASSERT_EQUAL(H.why, TCP_CLOSE_REFUSED);

	/* no answer: SYN at +1, +3, +7, +15, +31 s, closed at +63 s */
	t0 = H.now;
	c = tcp_connect(H.st, SL_AF_INET, th_laddr, 30002, th_raddr, 25, &th_cbs, &H);
	CU_ASSERT_FATAL(c != NULL);
	th_drain(&H);
	const uint64_t at[5] = { 1000, 3000, 7000, 15000, 31000 };
	th_advance(&H, 63000);
	for (int i = 0; i < 5; i++) {
		o = th_next(&H);
		CU_ASSERT_FATAL(o != NULL);
		CU_ASSERT_EQUAL(o->flags, TCP_SYN);
		CU_ASSERT_EQUAL(o->at - t0, at[i]);
	}
	CU_ASSERT(th_next(&H) == NULL);             /* no RST from SYN-SENT */
	CU_ASSERT_EQUAL(H.closed, 2);
	CU_ASSERT_EQUAL(H.why, TCP_CLOSE_TIMEOUT);
	CU_ASSERT_EQUAL(H.st->cnt.timeouts, 1);
	th_fini(&H);
}

static void test_simultaneous_open(void)
{
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss;

	th_init(&H, NULL);
	c = tcp_connect(H.st, SL_AF_INET, th_laddr, 30000, th_raddr, 25, &th_cbs, &H);
	o = th_next(&H);
	iss = o->seq;
	/* the peer's own SYN crosses ours */
	th_seg_port(&H, 25, 30000, TCP_SYN, 7000, 0, 65535, NULL, 0, &(struct th_opt){ .mss = 1460, .ws = -1 });
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_SYN_RCVD);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_SYN | TCP_ACK);
	CU_ASSERT_EQUAL(o->seq, iss);
	CU_ASSERT_EQUAL(o->ack, 7001);
	/* then its SYN-ACK for our SYN */
	th_seg_port(&H, 25, 30000, TCP_SYN | TCP_ACK, 7000, iss + 1, 65535, NULL, 0, &(struct th_opt){ .mss = 1460, .ws = -1 });
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_ESTABLISHED);
	CU_ASSERT_EQUAL(H.established, 1);
	CU_ASSERT_EQUAL(c->rcv_nxt, 7001u);
	th_fini(&H);
}

static void test_active_close(void)
{
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss;

	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	tcp_close(c);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_FIN_WAIT_1);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_FIN | TCP_ACK);
	CU_ASSERT_EQUAL(o->seq, iss + 1);
	CU_ASSERT_EQUAL(o->ack, 1001);
	th_seg(&H, TCP_ACK, 1001, iss + 2, 4096, NULL, 0, &TS);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_FIN_WAIT_2);
	/* half close: data still comes in FIN-WAIT-2 */
	th_seg(&H, TCP_ACK | TCP_PSH, 1001, iss + 2, 4096, "QUIT\r\n", 6, &TS);
	CU_ASSERT_EQUAL(H.rx_len, 6);
	th_seg(&H, TCP_FIN | TCP_ACK, 1007, iss + 2, 4096, NULL, 0, &TS);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_ACK);
	CU_ASSERT_EQUAL(o->ack, 1008);
	CU_ASSERT_EQUAL(H.eof, 1);
	CU_ASSERT_EQUAL(H.closed, 1);
	CU_ASSERT_EQUAL(H.why, TCP_CLOSE_NORMAL);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 1);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_ESTABLISHED] + H.st->cnt.conns[TCP_FIN_WAIT_2], 0);
	/* 2 MSL later the TIME-WAIT entry is gone */
	th_advance(&H, 2 * H.st->cfg.msl_ms - 1);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 1);
	th_advance(&H, 1);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 0);
	th_fini(&H);
}

static void test_fin_wait_1_fin_ack_together(void)
{
	struct tcp_conn *c;
	uint32_t iss;

	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	tcp_close(c);
	th_drain(&H);
	th_seg(&H, TCP_FIN | TCP_ACK, 1001, iss + 2, 4096, NULL, 0, &TS);
	CU_ASSERT_EQUAL(H.closed, 1);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 1);
	CU_ASSERT_EQUAL(th_next(&H)->ack, 1002);
	th_fini(&H);
}

static void test_passive_close(void)
{
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss;

	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	th_seg(&H, TCP_FIN | TCP_ACK, 1001, iss + 1, 4096, NULL, 0, &TS);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_CLOSE_WAIT);
	CU_ASSERT_EQUAL(H.eof, 1);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->ack, 1002);              /* a FIN is acked at once */
	CU_ASSERT_EQUAL(tcp_send(c, "221 bye\r\n", 9), SL_OK);
	o = th_next(&H);
	CU_ASSERT_EQUAL(o->len, 9);
	tcp_close(c);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_LAST_ACK);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_FIN | TCP_ACK);
	CU_ASSERT_EQUAL(o->seq, iss + 10);
	CU_ASSERT_EQUAL(tcp_send(c, "x", 1), SL_ERROR);
	th_seg(&H, TCP_ACK, 1002, iss + 11, 4096, NULL, 0, &TS);
	CU_ASSERT_EQUAL(H.closed, 1);
	CU_ASSERT_EQUAL(H.why, TCP_CLOSE_NORMAL);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 0);   /* the passive closer keeps none */
	th_fini(&H);
}

static void test_simultaneous_close(void)
{
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss;

	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	tcp_close(c);
	th_drain(&H);
	/* the peer's FIN crosses ours: it has not seen our FIN */
	th_seg(&H, TCP_FIN | TCP_ACK, 1001, iss + 1, 4096, NULL, 0, &TS);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_CLOSING);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->ack, 1002);
	th_seg(&H, TCP_ACK, 1002, iss + 2, 4096, NULL, 0, &TS);
	CU_ASSERT_EQUAL(H.closed, 1);
	CU_ASSERT_EQUAL(H.why, TCP_CLOSE_NORMAL);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 1);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_CLOSING], 0);
	th_fini(&H);
}

/* Bring a passive connection to state s; returns rcv_nxt. */
static uint32_t to_state(struct tcp_conn *c, enum tcp_state s, uint32_t iss)
{
	switch (s) {
	case TCP_ESTABLISHED:
		return 1001;
	case TCP_CLOSE_WAIT:
		th_seg(&H, TCP_FIN | TCP_ACK, 1001, iss + 1, 4096, NULL, 0, &TS);
		return 1002;
	case TCP_LAST_ACK:
		th_seg(&H, TCP_FIN | TCP_ACK, 1001, iss + 1, 4096, NULL, 0, &TS);
		tcp_close(c);
		return 1002;
	case TCP_FIN_WAIT_1:
		tcp_close(c);
		return 1001;
	case TCP_FIN_WAIT_2:
		tcp_close(c);
		th_seg(&H, TCP_ACK, 1001, iss + 2, 4096, NULL, 0, &TS);
		return 1001;
	case TCP_CLOSING:
		tcp_close(c);
		th_seg(&H, TCP_FIN | TCP_ACK, 1001, iss + 1, 4096, NULL, 0, &TS);
		return 1002;
	default:
		CU_FAIL("state");
		return 0;
	}
}

static void test_rst_each_state(void)
{
	const enum tcp_state states[] = { TCP_ESTABLISHED, TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_FIN_WAIT_1,
					  TCP_FIN_WAIT_2, TCP_CLOSING };

	for (unsigned i = 0; i < SL_ARRAY_SIZE(states); i++) {
		struct tcp_conn *c;
		uint32_t iss, rn;

		th_init(&H, NULL);
		c = th_open_passive(&H, true, &iss);
		rn = to_state(c, states[i], iss);
		CU_ASSERT_EQUAL(tcp_conn_state(c), states[i]);
		th_drain(&H);
		/* in the window but not exact: challenge ACK, connection lives */
		th_seg(&H, TCP_RST, rn + 1, 0, 0, NULL, 0, NULL);
		CU_ASSERT_EQUAL(tcp_conn_state(c), states[i]);
		CU_ASSERT_EQUAL(H.st->cnt.challenge_acks, 1);
		CU_ASSERT_EQUAL(th_next(&H)->ack, rn);
		/* exactly RCV.NXT: reset */
		th_seg(&H, TCP_RST, rn, 0, 0, NULL, 0, NULL);
		CU_ASSERT_EQUAL(H.closed, 1);
		CU_ASSERT_EQUAL(H.why, TCP_CLOSE_RESET);
		CU_ASSERT(th_next(&H) == NULL);         /* never answer an RST */
		for (int s = 0; s < TCP_STATE_COUNT; s++)
			if (s != TCP_LISTEN)
				CU_ASSERT_EQUAL(H.st->cnt.conns[s], 0);
		th_fini(&H);
	}
}

static void test_rst_syn_rcvd_and_time_wait(void)
{
	struct th_opt so = { .ts = false, .mss = 1460, .ws = -1 };
	struct tcp_conn *c;
	uint32_t iss;

	th_init(&H, NULL);
	th_seg(&H, TCP_SYN, 1000, 0, 65535, NULL, 0, &so);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_SYN_RCVD], 1);
	th_seg(&H, TCP_RST, 1001, 0, 0, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_SYN_RCVD], 0);   /* back to LISTEN only */
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_LISTEN], 1);
	CU_ASSERT_EQUAL(H.closed, 0);
	th_drain(&H);

	c = th_open_passive(&H, true, &iss);
	to_state(c, TCP_FIN_WAIT_2, iss);
	th_seg(&H, TCP_FIN | TCP_ACK, 1001, iss + 2, 4096, NULL, 0, &TS);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 1);
	/* RFC 1337: an RST does not end TIME-WAIT */
	th_seg(&H, TCP_RST, 1002, 0, 0, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 1);
	th_fini(&H);
}

static void test_rfc5961(void)
{
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss;

	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	/* out-of-window RST: silently dropped */
	th_seg(&H, TCP_RST, 1001 + 100000, 0, 0, NULL, 0, NULL);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_ESTABLISHED);
	CU_ASSERT(th_next(&H) == NULL);
	/* SYN in ESTABLISHED, in window or not: challenge ACK */
	th_seg(&H, TCP_SYN, 1001, 0, 65535, NULL, 0, &(struct th_opt){ .mss = 1460, .ws = -1 });
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_ACK);
	CU_ASSERT_EQUAL(o->seq, iss + 1);
	CU_ASSERT_EQUAL(o->ack, 1001);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_ESTABLISHED);
	CU_ASSERT_EQUAL(H.st->cnt.drops[TCP_DROP_SYN_SYNCED], 1);
	/* ACK of something never sent: challenge ACK, data not taken */
	th_seg(&H, TCP_ACK, 1001, iss + 50, 4096, "abc", 3, &TS);
	CU_ASSERT_EQUAL(H.rx_len, 0);
	CU_ASSERT_EQUAL(H.st->cnt.drops[TCP_DROP_BAD_ACK], 1);
	CU_ASSERT(th_next(&H) != NULL);
	/* an old ACK, below SND.UNA - MAX.SND.WND: dropped with a challenge ACK */
	th_seg(&H, TCP_ACK, 1001, iss + 1 - 65535 - 1, 4096, "abc", 3, &TS); /* MAX.SND.WND: the SYN's 65535 */
	CU_ASSERT_EQUAL(H.rx_len, 0);
	CU_ASSERT_EQUAL(H.st->cnt.drops[TCP_DROP_BAD_ACK], 2);
	CU_ASSERT(th_next(&H) != NULL);
	/* an older but tolerable ACK (within MAX.SND.WND): the data is taken */
	th_seg(&H, TCP_ACK, 1001, iss + 1 - 100, 4096, "abc", 3, &TS);
	CU_ASSERT_EQUAL(H.rx_len, 3);
	CU_ASSERT_EQUAL(H.st->cnt.challenge_acks, 3);
	th_fini(&H);
}

static void test_challenge_ack_limit(void)
{
	struct tcp_config cfg;
	uint32_t iss;

	th_config(&cfg);
	cfg.challenge_acks_per_s = 2;
	th_init(&H, &cfg);
	th_open_passive(&H, true, &iss);
	for (int i = 0; i < 5; i++)
		th_seg(&H, TCP_RST, 1005, 0, 0, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.challenge_acks, 2);
	CU_ASSERT_EQUAL(H.st->cnt.challenge_acks_limited, 3);
	CU_ASSERT_EQUAL(th_pending(&H), 2);
	th_advance(&H, 1000);
	th_seg(&H, TCP_RST, 1005, 0, 0, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.challenge_acks, 3);
	CU_ASSERT(H.conn != NULL);
	th_fini(&H);
}

static void test_paws(void)
{
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss;

	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	H.remote_ts = 900;
	th_seg(&H, TCP_ACK, 1001, iss + 1, 4096, "new", 3, &TS);
	CU_ASSERT_EQUAL(H.rx_len, 3);
	CU_ASSERT_EQUAL(c->ts_recent, 900u);
	th_drain(&H);
	/* an old duplicate: TSval 800 < TS.Recent 900 -> dropped, ACKed */
	H.remote_ts = 800;
	th_seg(&H, TCP_ACK, 1004, iss + 1, 4096, "old", 3, &TS);
	CU_ASSERT_EQUAL(H.rx_len, 3);
	CU_ASSERT_EQUAL(H.st->cnt.drops[TCP_DROP_PAWS], 1);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->ack, 1004);
	CU_ASSERT_EQUAL(o->tsecr, 900u);
	/* wraparound: 900 + 2^31 - 1 is newer */
	H.remote_ts = 900u + 0x7fffffffu;
	th_seg(&H, TCP_ACK, 1004, iss + 1, 4096, "yes", 3, &TS);
	CU_ASSERT_EQUAL(H.rx_len, 6);
	th_fini(&H);
}

static void test_malformed_options(void)
{
	static const uint8_t len0[] = { 2, 0, 0, 0 };
	static const uint8_t len1[] = { 1, 1, 8, 1 };
	static const uint8_t overrun[] = { 2, 4, 5, 180, 8, 10, 0, 0 };
	static const uint8_t nolen[] = { 1, 1, 1, 3 };
	static const uint8_t badmss[] = { 2, 3, 5, 0 };       /* wrong length: ignored */
	static const uint8_t unknown[] = { 30, 4, 1, 2, 0, 0, 0, 0 };
	const struct { const uint8_t *o; uint32_t n; } bad[] = {
		{ len0, 4 }, { len1, 4 }, { overrun, 8 }, { nolen, 4 },
	};
	struct th_opt o = { 0 };
	struct th_out *out;

	th_init(&H, NULL);
	for (unsigned i = 0; i < SL_ARRAY_SIZE(bad); i++) {
		o.raw = bad[i].o;
		o.rawlen = bad[i].n;
		th_seg(&H, TCP_SYN, 1000, 0, 65535, NULL, 0, &o);
		CU_ASSERT_EQUAL(H.st->cnt.drops[TCP_DROP_BAD_OPT], i + 1);
		CU_ASSERT(th_next(&H) == NULL);
	}
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_SYN_RCVD], 0);
	o.raw = badmss;
	o.rawlen = 4;
	th_seg(&H, TCP_SYN, 1000, 0, 65535, NULL, 0, &o);
	out = th_next(&H);
	CU_ASSERT_FATAL(out != NULL);
	th_seg(&H, TCP_ACK, 1001, out->seq + 1, 65535, NULL, 0, NULL);
	CU_ASSERT_FATAL(H.conn != NULL);
	CU_ASSERT_EQUAL(H.conn->mss, 536);           /* RFC 9293 default */
	tcp_abort(H.conn);
	o.raw = unknown;
	o.rawlen = 8;
	th_seg_port(&H, TH_RPORT + 1, TH_LPORT, TCP_SYN, 1000, 0, 65535, NULL, 0, &o);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_SYN_RCVD], 1);
	/* headers: short, data offset below 5 or past the segment */
	uint8_t hdr[20] = { 0 };
	th_feed(&H, th_raddr, th_laddr, hdr, 19);
	hdr[12] = 4 << 4;
	hdr[13] = TCP_SYN;
	th_feed(&H, th_raddr, th_laddr, hdr, 20);
	hdr[12] = 6 << 4;
	th_feed(&H, th_raddr, th_laddr, hdr, 20);
	CU_ASSERT_EQUAL(H.st->cnt.drops[TCP_DROP_SHORT], 3);
	/* flags: SYN+RST, SYN+FIN, none */
	th_seg(&H, TCP_SYN | TCP_RST, 1, 0, 0, NULL, 0, NULL);
	th_seg(&H, TCP_SYN | TCP_FIN, 1, 0, 0, NULL, 0, NULL);
	th_seg(&H, 0, 1, 0, 0, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.drops[TCP_DROP_BAD_FLAGS], 3);
	th_fini(&H);
}

static void test_closed_port(void)
{
	struct tcp_config cfg;
	struct th_out *o;

	th_config(&cfg);
	cfg.rsts_per_s = 3;
	th_init(&H, &cfg);
	th_seg_port(&H, TH_RPORT, 26, TCP_SYN, 1000, 0, 65535, "ab", 2, NULL);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_RST | TCP_ACK);
	CU_ASSERT_EQUAL(o->seq, 0);
	CU_ASSERT_EQUAL(o->ack, 1003);               /* SEG.SEQ + data + SYN */
	th_seg_port(&H, TH_RPORT, 26, TCP_ACK, 1000, 4242, 65535, NULL, 0, NULL);
	o = th_next(&H);
	CU_ASSERT_EQUAL(o->flags, TCP_RST);
	CU_ASSERT_EQUAL(o->seq, 4242);
	th_seg_port(&H, TH_RPORT, 26, TCP_RST, 1000, 0, 0, NULL, 0, NULL);
	CU_ASSERT(th_next(&H) == NULL);
	for (int i = 0; i < 3; i++)
		th_seg_port(&H, TH_RPORT, 26, TCP_ACK, 1000, 1, 65535, NULL, 0, NULL);
	CU_ASSERT_EQUAL(th_pending(&H), 1);
	CU_ASSERT_EQUAL(H.st->cnt.rst_limited, 2);
	CU_ASSERT_EQUAL(H.st->cnt.drops[TCP_DROP_NO_CONN], 6);
	/* a listener answers a bare ACK with an RST too */
	th_seg(&H, TCP_ACK, 1000, 77, 65535, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.drops[TCP_DROP_LISTEN], 1);
	th_fini(&H);
}

static void test_listener_bounds(void)
{
	struct tcp_config cfg;

	th_config(&cfg);
	cfg.syn_backlog = 2;
	cfg.syn_cookies = false;        /* test_tcp_cookie.c has the other case */
	th_init(&H, &cfg);
	for (uint16_t p = 0; p < 3; p++)
		th_seg_port(&H, (uint16_t)(TH_RPORT + p), TH_LPORT, TCP_SYN, 1000, 0, 65535, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_SYN_RCVD], 2);
	CU_ASSERT_EQUAL(H.st->cnt.drops[TCP_DROP_SYN_BACKLOG], 1);
	/* the pool bound: 8 TCBs */
	cfg.syn_backlog = 100;
	th_fini(&H);
	th_init(&H, &cfg);
	for (uint16_t p = 0; p < 10; p++)
		th_seg_port(&H, (uint16_t)(TH_RPORT + p), TH_LPORT, TCP_SYN, 1000, 0, 65535, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_SYN_RCVD], 8);
	CU_ASSERT_EQUAL(H.st->cnt.drops[TCP_DROP_TABLE_FULL], 2);
	CU_ASSERT_EQUAL(tcp_listen(H.st, TH_LPORT, NULL, NULL), SL_ERROR);
	th_fini(&H);
}

static void test_accept_refused(void)
{
	struct th_out *o;

	th_init(&H, NULL);
	H.refuse = 1;
	th_seg(&H, TCP_SYN, 1000, 0, 65535, NULL, 0, NULL);
	o = th_next(&H);
	th_seg(&H, TCP_ACK, 1001, o->seq + 1, 65535, NULL, 0, NULL);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT(o->flags & TCP_RST);
	CU_ASSERT_EQUAL(H.closed, 0);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_ESTABLISHED], 0);
	th_fini(&H);
}

static void test_time_wait(void)
{
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss, old_iss;

	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	to_state(c, TCP_FIN_WAIT_2, iss);
	th_seg(&H, TCP_FIN | TCP_ACK, 1001, iss + 2, 4096, NULL, 0, &TS);
	th_drain(&H);
	/* the FIN again (our ACK was lost): ACK again, with timestamps */
	th_advance(&H, 10000);
	th_seg(&H, TCP_FIN | TCP_ACK, 1001, iss + 2, 4096, NULL, 0, &TS);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_ACK);
	CU_ASSERT_EQUAL(o->seq, iss + 2);
	CU_ASSERT_EQUAL(o->ack, 1002);
	CU_ASSERT(o->has_ts && o->tsecr == 777);
	/* the restart: it now lasts 2 MSL from the retransmitted FIN */
	th_advance(&H, 2 * H.st->cfg.msl_ms - 1);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 1);
	/* a SYN with an old timestamp does not reopen it: challenge ACK */
	H.remote_ts = 700;
	th_seg(&H, TCP_SYN, 5000, 0, 65535, NULL, 0, &(struct th_opt){ .ts = true, .mss = 1460, .ws = -1 });
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_ACK);
	CU_ASSERT_EQUAL(H.st->cnt.tw_reused, 0);
	/* a newer timestamp does; the new ISS is beyond the old sequence space */
	old_iss = iss;
	H.remote_ts = 5000;
	th_seg(&H, TCP_SYN, 500, 0, 65535, NULL, 0, &(struct th_opt){ .ts = true, .mss = 1460, .ws = -1 });
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_SYN | TCP_ACK);
	CU_ASSERT_EQUAL(o->ack, 501);
	CU_ASSERT(SEQ_GT(o->seq, old_iss + 2));
	CU_ASSERT_EQUAL(H.st->cnt.tw_reused, 1);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 0);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_SYN_RCVD], 1);
	th_fini(&H);
}

static void test_time_wait_seq_reuse_and_bound(void)
{
	struct th_out *o;
	uint32_t iss;

	th_init(&H, NULL);     /* max_tw = 4 */
	for (uint16_t i = 0; i < 5; i++) {
		struct th_opt so = { .mss = 1460, .ws = -1 };
		th_drain(&H);
		th_seg_port(&H, (uint16_t)(TH_RPORT + i), TH_LPORT, TCP_SYN, 1000, 0, 65535, NULL, 0, &so);
		o = th_next(&H);
		iss = o->seq;
		th_seg_port(&H, (uint16_t)(TH_RPORT + i), TH_LPORT, TCP_ACK, 1001, iss + 1, 65535, NULL, 0, NULL);
		tcp_close(H.conn);
		th_seg_port(&H, (uint16_t)(TH_RPORT + i), TH_LPORT, TCP_FIN | TCP_ACK, 1001, iss + 2, 65535, NULL, 0, NULL);
	}
	CU_ASSERT_EQUAL(H.closed, 5);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 4);
	CU_ASSERT_EQUAL(H.st->cnt.tw_recycled, 1);
	th_drain(&H);
	/* without timestamps: a SYN above RCV.NXT reopens, one below does not */
	th_seg_port(&H, TH_RPORT + 4, TH_LPORT, TCP_SYN, 900, 0, 65535, NULL, 0, NULL);
	CU_ASSERT_EQUAL(th_next(&H)->flags, TCP_ACK);
	th_seg_port(&H, TH_RPORT + 4, TH_LPORT, TCP_SYN, 90000, 0, 65535, NULL, 0, NULL);
	CU_ASSERT_EQUAL(th_next(&H)->flags, TCP_SYN | TCP_ACK);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 3);
	/* the one evicted first (port 40000) is plain closed now: the listener
	 * takes its SYN whatever the sequence */
	th_seg_port(&H, TH_RPORT, TH_LPORT, TCP_SYN, 1, 0, 65535, NULL, 0, NULL);
	CU_ASSERT_EQUAL(th_next(&H)->flags, TCP_SYN | TCP_ACK);
	th_fini(&H);
}

/* A client reusing its port with an ISN below the old connection's and no
 * timestamps: its SYN gets our ACK, its RST to that ACK (exactly at
 * RCV.NXT) ends the TIME-WAIT, and its next SYN opens. An RST that answers
 * no such ACK, or misses RCV.NXT, still changes nothing (RFC 1337). */
static void test_time_wait_reset_after_refused_syn(void)
{
	struct th_opt so = { .mss = 1460, .ws = -1 };
	struct th_out *o;
	uint32_t iss, ack;

	th_init(&H, NULL);
	th_seg(&H, TCP_SYN, 1000, 0, 65535, NULL, 0, &so);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	iss = o->seq;
	th_seg(&H, TCP_ACK, 1001, iss + 1, 65535, NULL, 0, NULL);
	tcp_close(H.conn);
	th_seg(&H, TCP_FIN | TCP_ACK, 1001, iss + 2, 65535, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 1);
	th_drain(&H);
	/* an exact RST with no refused SYN before it: RFC 1337, ignored */
	th_seg(&H, TCP_RST, 1002, 0, 0, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 1);
	/* the client comes back with a lower ISN: our ACK, not a SYN-ACK */
	th_seg(&H, TCP_SYN, 500, 0, 65535, NULL, 0, &so);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_ACK);
	ack = o->ack;
	CU_ASSERT_EQUAL(ack, 1002u);
	/* its RST off RCV.NXT: ignored */
	th_seg(&H, TCP_RST, ack + 1, 0, 0, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 1);
	/* its RST at SEG.ACK of our ACK: the TIME-WAIT ends */
	th_seg(&H, TCP_RST, ack, 0, 0, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 0);
	CU_ASSERT_EQUAL(H.st->cnt.tw_reset, 1);
	/* and its SYN, sent again, opens */
	th_seg(&H, TCP_SYN, 500, 0, 65535, NULL, 0, &so);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_SYN | TCP_ACK);
	CU_ASSERT_EQUAL(o->ack, 501u);
	th_fini(&H);
}

/* Active open, we close first (QUIT, then FIN), TIME-WAIT; the peer's FIN
 * then ends it. *tsval: the TSval of our FIN. */
static void active_to_time_wait(bool ts, uint32_t *iss, uint32_t *tsval)
{
	const struct th_opt *o_ts = ts ? &TS : NULL;
	struct tcp_conn *c = th_open_active(&H, ts, iss);
	struct th_out *o;

	tcp_close(c);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_FIN | TCP_ACK);
	*tsval = o->tsval;
	th_seg_port(&H, 25, 30000, TCP_ACK, 5001, *iss + 2, 4096, NULL, 0, o_ts);
	th_seg_port(&H, 25, 30000, TCP_FIN | TCP_ACK, 5001, *iss + 2, 4096, NULL, 0, o_ts);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 1);
	th_drain(&H);
}

/* Our own TIME-WAIT on a tuple we connect from again (a backend leg's source
 * port): reused with timestamps once a tick old (the new TSval above the
 * old), the ISS beyond the old connection's; never without timestamps. */
static void test_time_wait_reused_by_connect(void)
{
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss, tsval_old;

	th_init(&H, NULL);
	active_to_time_wait(true, &iss, &tsval_old);
	CU_ASSERT_PTR_NULL(tcp_connect(H.st, SL_AF_INET, th_laddr, 30000, th_raddr, 25, &th_cbs, &H));
	th_advance(&H, 1);
	/* no TCB free: refused, and the TIME-WAIT is kept */
	{
		struct tcp_conn *fill[8];
		unsigned n = 0;

		while (n < 8 && (fill[n] = tcp_connect(H.st, SL_AF_INET, th_laddr, (uint16_t)(30001 + n), th_raddr, 25,
						      &th_cbs, &H)) != NULL)
			n++;
		CU_ASSERT_PTR_NULL(tcp_connect(H.st, SL_AF_INET, th_laddr, 30000, th_raddr, 25, &th_cbs, &H));
		CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 1);
		CU_ASSERT_EQUAL(H.st->cnt.tw_reused, 0);
		while (n > 0)
			tcp_abort(fill[--n]);
		th_drain(&H);
	}
	c = tcp_connect(H.st, SL_AF_INET, th_laddr, 30000, th_raddr, 25, &th_cbs, &H);
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(H.st->cnt.tw_reused, 1);
	CU_ASSERT_EQUAL(H.st->cnt.conns[TCP_TIME_WAIT], 0);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_SYN);
	CU_ASSERT(o->has_ts);
	CU_ASSERT(SEQ_GT(o->tsval, tsval_old));
	CU_ASSERT(SEQ_GT(o->seq, iss + 2 + 65535));
	tcp_abort(c);
	th_fini(&H);

	th_init(&H, NULL);
	active_to_time_wait(false, &iss, &tsval_old);
	th_advance(&H, 2000);
	CU_ASSERT_PTR_NULL(tcp_connect(H.st, SL_AF_INET, th_laddr, 30000, th_raddr, 25, &th_cbs, &H));
	CU_ASSERT_EQUAL(H.st->cnt.tw_reused, 0);
	th_advance(&H, 2 * H.st->cfg.msl_ms);   /* gone: a plain connect */
	CU_ASSERT_PTR_NOT_NULL(tcp_connect(H.st, SL_AF_INET, th_laddr, 30000, th_raddr, 25, &th_cbs, &H));
	th_fini(&H);
}

static void test_isn(void)
{
	struct tcp_conn *a, *b;
	uint32_t ia, ib;

	th_init(&H, NULL);
	a = tcp_connect(H.st, SL_AF_INET, th_laddr, 30000, th_raddr, 25, &th_cbs, &H);
	b = tcp_connect(H.st, SL_AF_INET, th_laddr, 30001, th_raddr, 25, &th_cbs, &H);
	ia = a->iss;
	ib = b->iss;
	CU_ASSERT_NOT_EQUAL(ia, ib);
	CU_ASSERT_NOT_EQUAL(a->ts_offset, b->ts_offset);
	tcp_abort(a);
	th_advance(&H, 4);
	a = tcp_connect(H.st, SL_AF_INET, th_laddr, 30000, th_raddr, 25, &th_cbs, &H);
	CU_ASSERT_EQUAL(a->iss, ia + 4 * 250);      /* the 4 us clock of RFC 6528 */
	th_fini(&H);
}

static void test_ipv6_tuple(void)
{
	uint8_t l6[16] = { 0x20, 0x01, 0, 2 }, r6[16] = { 0x20, 0x01, 0, 2, [15] = 2 };
	struct tcp_conn *c;

	l6[15] = 1;
	th_init(&H, NULL);
	c = tcp_connect(H.st, SL_AF_INET6, l6, 30000, r6, 25, &th_cbs, &H);
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(c->tuple.family, SL_AF_INET6);
	CU_ASSERT(memcmp(c->tuple.raddr, r6, 16) == 0);
	/* an IPv4 segment with the same ports is another tuple */
	th_seg_port(&H, 25, 30000, TCP_SYN | TCP_ACK, 1, c->iss + 1, 100, NULL, 0, NULL);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_SYN_SENT);
	th_fini(&H);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "sequence arithmetic wraps", test_seq_arith },
		{ "siphash-2-4 reference vectors", test_siphash_vectors },
		{ "passive open", test_passive_open },
		{ "passive open: SYN-ACK lost, retries", test_syn_ack_lost },
		{ "active open", test_active_open },
		{ "active open refused / timed out", test_active_refused_and_timeout },
		{ "simultaneous open", test_simultaneous_open },
		{ "active close to TIME-WAIT", test_active_close },
		{ "FIN-WAIT-1 + FIN,ACK -> TIME-WAIT", test_fin_wait_1_fin_ack_together },
		{ "passive close", test_passive_close },
		{ "simultaneous close", test_simultaneous_close },
		{ "RST in each synchronized state", test_rst_each_state },
		{ "RST in SYN-RCVD and TIME-WAIT", test_rst_syn_rcvd_and_time_wait },
		{ "RFC 5961 RST/SYN/ACK checks", test_rfc5961 },
		{ "challenge ACK rate limit", test_challenge_ack_limit },
		{ "PAWS", test_paws },
		{ "malformed headers and options", test_malformed_options },
		{ "closed port RSTs, rate-limited", test_closed_port },
		{ "SYN backlog and pool bounds", test_listener_bounds },
		{ "accept refused -> RST", test_accept_refused },
		{ "TIME-WAIT: FIN again, reuse by timestamp", test_time_wait },
		{ "TIME-WAIT: reuse by sequence, bounded table", test_time_wait_seq_reuse_and_bound },
		{ "TIME-WAIT: our own, reused by connect", test_time_wait_reused_by_connect },
		{ "TIME-WAIT: ended by the RST to our ACK of a refused SYN", test_time_wait_reset_after_refused_syn },
		{ "ISN per RFC 6528", test_isn },
		{ "IPv6 tuples", test_ipv6_tuple },
		{ NULL, NULL },
	};
	test_suite("tcp_state", cases);
}
