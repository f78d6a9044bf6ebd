/* test_tcp_data.c - data transfer with exact seq/ack, RTO and backoff, RTT, reassembly, windows. */
#include <stdlib.h>
#include <string.h>

#include "tcp_harness.h"
#include "tcp/tcp_seq.h"
#include "util/sl_addr.h"
#include "test.h"
#include "util/sl_status.h"

static struct th H;
static const struct th_opt TS = { .ts = true, .mss = -1, .ws = -1 };
static uint8_t pat[65536];

static void fill_pattern(void)
{
	for (unsigned i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i * 7 + (i >> 8));
}

static void test_data_both_ways(void)
{
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss;
	uint64_t t0;

	fill_pattern();
	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	/* 100 bytes in: delivered at once, ACKed by the delayed-ACK timer at 40 ms */
	t0 = H.now;
	th_seg(&H, TCP_ACK | TCP_PSH, 1001, iss + 1, 4096, pat, 100, &TS);
	CU_ASSERT_EQUAL(H.rx_len, 100);
	CU_ASSERT(memcmp(H.rx, pat, 100) == 0);
	CU_ASSERT(th_next(&H) == NULL);
	th_advance(&H, 39);
	CU_ASSERT(th_next(&H) == NULL);
	th_advance(&H, 1);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->at - t0, 40);
	CU_ASSERT_EQUAL(o->flags, TCP_ACK);
	CU_ASSERT_EQUAL(o->seq, iss + 1);
	CU_ASSERT_EQUAL(o->ack, 1101);
	CU_ASSERT_EQUAL(o->wnd, 16384 - 100);   /* the edge moves only by min(space/2, MSS): SWS */
	CU_ASSERT_EQUAL(H.st->cnt.delayed_acks, 1);
	/* two full-sized segments: ACKed on the second, no timer */
	th_seg(&H, TCP_ACK, 1101, iss + 1, 4096, pat + 100, 988, &TS);
	CU_ASSERT(th_next(&H) == NULL);
	th_seg(&H, TCP_ACK, 1101 + 988, iss + 1, 4096, pat + 1088, 988, &TS);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->ack, 1101 + 2 * 988);
	CU_ASSERT_EQUAL(H.rx_len, 2076);
	CU_ASSERT(memcmp(H.rx, pat, 2076) == 0);
	/* 3000 bytes out: three full segments and the rest with PSH */
	CU_ASSERT_EQUAL(tcp_send(c, pat, 3000), SL_OK);
	CU_ASSERT_EQUAL(tcp_pending(c), 3000);
	for (int i = 0; i < 4; i++) {
		o = th_next(&H);
		CU_ASSERT_FATAL(o != NULL);
		CU_ASSERT_EQUAL(o->seq, iss + 1 + 988u * i);
		CU_ASSERT_EQUAL(o->ack, 1101 + 2 * 988);
		CU_ASSERT_EQUAL(o->len, i < 3 ? 988u : 36u);
		CU_ASSERT_EQUAL(o->flags, i < 3 ? TCP_ACK : (TCP_ACK | TCP_PSH));
		CU_ASSERT(memcmp(o->data, pat + 988 * i, o->len) == 0);
	}
	CU_ASSERT(th_next(&H) == NULL);
	th_seg(&H, TCP_ACK, 1101 + 2 * 988, iss + 1 + 1976, 4096, NULL, 0, &TS);
	CU_ASSERT_EQUAL(tcp_pending(c), 1024);
	th_seg(&H, TCP_ACK, 1101 + 2 * 988, iss + 3001, 4096, NULL, 0, &TS);
	CU_ASSERT_EQUAL(tcp_pending(c), 0);
	CU_ASSERT_EQUAL(c->rtx_mode, TCP_RTX_NONE);
	CU_ASSERT(th_next(&H) == NULL);      /* pure ACKs are not ACKed */
	th_advance(&H, 1000);
	CU_ASSERT(th_next(&H) == NULL);      /* and nothing is retransmitted */
	th_fini(&H);
}

static void test_send_ring_wraps(void)
{
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss, sent = 0, acked = 0;
	uint8_t got[40000];
	uint32_t got_len = 0;

	fill_pattern();
	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	CU_ASSERT_EQUAL(tcp_send(c, pat, 16384), SL_OK);
	sent = 16384;
	CU_ASSERT_EQUAL(tcp_send(c, pat, 1), SL_AGAIN);
	CU_ASSERT_EQUAL(tcp_send(c, pat, 20000), SL_ERROR);
	CU_ASSERT_EQUAL(tcp_send_space(c), 0);
	while (got_len < 40000) {
		while ((o = th_next(&H)) != NULL) {
			if (o->len == 0)
				continue;
			CU_ASSERT_EQUAL_FATAL(o->seq, iss + 1 + got_len);
			memcpy(got + got_len, o->data, o->len);
			got_len += o->len;
		}
		acked = got_len;
		th_seg(&H, TCP_ACK, 1001, iss + 1 + acked, 4096, NULL, 0, &TS);
		if (sent < 40000) {
			uint32_t n = SL_MIN(tcp_send_space(c), 40000 - sent);
			CU_ASSERT_EQUAL(tcp_send(c, pat + sent, n), SL_OK);
			sent += n;
		}
	}
	CU_ASSERT(H.writable >= 1);
	CU_ASSERT(memcmp(got, pat, 40000) == 0);
	th_fini(&H);
}

static void test_retransmit_backoff(void)
{
	const uint32_t at[8] = { 200, 600, 1400, 3000, 6200, 12600, 25400, 51000 };
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss;
	uint64_t t0;

	fill_pattern();
	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	CU_ASSERT_EQUAL(c->rto, 200u);          /* a 0 ms handshake sample: the 200 ms floor */
	t0 = H.now;
	tcp_send(c, pat, 500);
	th_drain(&H);
	for (int i = 0; i < 8; i++) {
		th_advance(&H, at[i] - (H.now - t0));
		o = th_next(&H);
		CU_ASSERT_FATAL(o != NULL);
		CU_ASSERT_EQUAL(o->at - t0, at[i]);
		CU_ASSERT_EQUAL(o->seq, iss + 1);
		CU_ASSERT_EQUAL(o->len, 500);
		CU_ASSERT(th_next(&H) == NULL);
		th_advance(&H, 1);
		CU_ASSERT(th_next(&H) == NULL);
	}
	CU_ASSERT_EQUAL(H.st->cnt.retransmits, 8);
	/* the ninth expiry, 51.2 s later, gives up: RST, closed(TIMEOUT) */
	th_advance(&H, 51000 + 51200 - (H.now - t0) - 1);
	CU_ASSERT_EQUAL(H.closed, 0);
	th_advance(&H, 1);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT(o->flags & TCP_RST);
	CU_ASSERT_EQUAL(H.closed, 1);
	CU_ASSERT_EQUAL(H.why, TCP_CLOSE_TIMEOUT);
	th_fini(&H);
}

static void test_retransmit_go_back(void)
{
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss;
	uint64_t t0;

	fill_pattern();
	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	t0 = H.now;
	tcp_send(c, pat, 3 * 988);
	th_drain(&H);
	/* the first segment is lost, the others arrive: the peer ACKs iss+1 */
	th_advance(&H, 200);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->seq, iss + 1);      /* only the oldest (loss window) */
	CU_ASSERT(th_next(&H) == NULL);
	/* its ACK covers everything; the backoff ends */
	H.remote_ts = 800;
	th_seg(&H, TCP_ACK, 1001, iss + 1 + 3 * 988, 4096, NULL, 0, &(struct th_opt){ .ts = true, .tsecr = o->tsval, .mss = -1, .ws = -1 });
	CU_ASSERT_EQUAL(tcp_pending(c), 0);
	CU_ASSERT_EQUAL(c->rto_cur, c->rto);
	CU_ASSERT_EQUAL(c->retries, 0);
	CU_ASSERT(th_next(&H) == NULL);        /* nothing left to send again */
	(void)t0;
	th_fini(&H);
}

static void test_rtt_estimation(void)
{
	struct th_opt so = { .ts = true, .mss = 1460, .ws = 2 };
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss;

	fill_pattern();
	th_init(&H, NULL);
	th_seg(&H, TCP_SYN, 1000, 0, 65535, NULL, 0, &so);
	o = th_next(&H);
	iss = o->seq;
	th_advance(&H, 100);
	th_seg(&H, TCP_ACK, 1001, iss + 1, 4096, NULL, 0, &(struct th_opt){ .ts = true, .tsecr = o->tsval, .mss = -1, .ws = -1 });
	c = H.conn;
	CU_ASSERT_FATAL(c != NULL);
	/* first sample R = 100: SRTT 100, RTTVAR 50, RTO = 100 + 4 * 50 */
	CU_ASSERT_EQUAL(c->srtt8, 800u);
	CU_ASSERT_EQUAL(c->rttvar4, 200u);
	CU_ASSERT_EQUAL(c->rto, 300u);
	/* second, R = 100: RTTVAR 3/4 * 50 -> RTO = 100 + 150 */
	tcp_send(c, pat, 10);
	o = th_next(&H);
	th_advance(&H, 100);
	th_seg(&H, TCP_ACK, 1001, iss + 11, 4096, NULL, 0, &(struct th_opt){ .ts = true, .tsecr = o->tsval, .mss = -1, .ws = -1 });
	CU_ASSERT_EQUAL(c->srtt8, 800u);
	CU_ASSERT_EQUAL(c->rttvar4, 150u);
	CU_ASSERT_EQUAL(c->rto, 250u);
	/* third, R = 300: delta 200 -> SRTT 125, RTTVAR*4 = 150 + 200 - 37 = 313 */
	tcp_send(c, pat, 10);
	o = th_next(&H);
	th_advance(&H, 300);
	th_seg(&H, TCP_ACK, 1001, iss + 21, 4096, NULL, 0, &(struct th_opt){ .ts = true, .tsecr = o->tsval, .mss = -1, .ws = -1 });
	CU_ASSERT_EQUAL(c->srtt8, 1000u);
	CU_ASSERT_EQUAL(c->rttvar4, 313u);
	CU_ASSERT_EQUAL(c->rto, 125u + 313u);
	/* the timer uses it: a retransmission exactly 438 ms after sending */
	uint64_t t0 = H.now;
	tcp_send(c, pat, 10);
	th_drain(&H);
	th_advance(&H, 438);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->at - t0, 438);
	th_fini(&H);
}

static void test_rtt_karn(void)
{
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss;
	uint64_t samples;

	fill_pattern();
	th_init(&H, NULL);
	c = th_open_passive(&H, false, &iss);
	CU_ASSERT(!(c->flags & TF_TS));
	tcp_send(c, pat, 10);
	th_advance(&H, 50);
	th_seg(&H, TCP_ACK, 1001, iss + 11, 4096, NULL, 0, NULL);
	CU_ASSERT_EQUAL(c->srtt8, 50u * 8);
	samples = H.st->cnt.rtt_samples;
	/* a retransmitted segment gives no sample (Karn) */
	tcp_send(c, pat, 10);
	th_drain(&H);
	th_advance(&H, 200);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->seq, iss + 11);
	th_advance(&H, 30);
	th_seg(&H, TCP_ACK, 1001, iss + 21, 4096, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.rtt_samples, samples);
	CU_ASSERT_EQUAL(c->srtt8, 50u * 8);
	/* the next new segment is timed again */
	tcp_send(c, pat, 10);
	th_advance(&H, 70);
	th_seg(&H, TCP_ACK, 1001, iss + 31, 4096, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.st->cnt.rtt_samples, samples + 1);
	CU_ASSERT_EQUAL(c->srtt8, 400u + 20u);   /* 7/8 * 50 + 1/8 * 70, times 8 */
	th_fini(&H);
}

/* Four 100-byte pieces in every order; the bytes come out whole and in order. */
static void test_reassembly_orders(void)
{
	int perm[4] = { 0, 1, 2, 3 };
	int count = 0;

	fill_pattern();
	/* Heap's algorithm, iterative */
	int cidx[4] = { 0 };
	int i = 0;
	for (;;) {
		struct tcp_conn *c;
		uint32_t iss;

		th_init(&H, NULL);
		c = th_open_passive(&H, true, &iss);
		for (int k = 0; k < 4; k++) {
			uint32_t before = c->rcv_nxt;
			th_seg(&H, TCP_ACK, 1001 + 100u * perm[k], iss + 1, 4096, pat + 100 * perm[k], 100, &TS);
			if (c->rcv_nxt == before || c->rq_ooo > 0) {
				/* out of order or a hole left: an immediate ACK of RCV.NXT */
				struct th_out *o = th_next(&H);
				CU_ASSERT_FATAL(o != NULL);
				CU_ASSERT_EQUAL(o->ack, c->rcv_nxt);
			}
			th_drain(&H);
		}
		CU_ASSERT_EQUAL(H.rx_len, 400);
		CU_ASSERT(memcmp(H.rx, pat, 400) == 0);
		CU_ASSERT_EQUAL(c->rcv_nxt, 1401u);
		CU_ASSERT_EQUAL(c->rq_n, 0);
		th_fini(&H);
		count++;
		/* next permutation */
		while (i < 4 && cidx[i] >= i) {
			cidx[i] = 0;
			i++;
		}
		if (i >= 4)
			break;
		int j = (i % 2) ? cidx[i] : 0, t = perm[j];
		perm[j] = perm[i];
		perm[i] = t;
		cidx[i]++;
		i = 1;
	}
	CU_ASSERT_EQUAL(count, 24);
}

static void test_reassembly_overlaps_and_bound(void)
{
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss;

	fill_pattern();
	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	/* [1101,1201) then [1151,1351) overlapping it, then [1121,1141) inside,
	 * then [1101,1401) covering all, then the head [1001,1101) */
	th_seg(&H, TCP_ACK, 1101, iss + 1, 4096, pat + 100, 100, &TS);
	th_seg(&H, TCP_ACK, 1151, iss + 1, 4096, pat + 150, 200, &TS);
	th_seg(&H, TCP_ACK, 1121, iss + 1, 4096, pat + 120, 20, &TS);
	CU_ASSERT_EQUAL(c->rq_ooo, 2);
	th_seg(&H, TCP_ACK, 1101, iss + 1, 4096, pat + 100, 300, &TS);
	CU_ASSERT_EQUAL(c->rq_ooo, 3);                   /* [1101,1201) [1201,1351) [1351,1401) */
	CU_ASSERT_EQUAL(H.rx_len, 0);
	th_drain(&H);
	th_seg(&H, TCP_ACK, 1001, iss + 1, 4096, pat, 150, &TS);  /* overlaps the first */
	CU_ASSERT_EQUAL(H.rx_len, 400);
	CU_ASSERT(memcmp(H.rx, pat, 400) == 0);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->ack, 1401);                   /* hole filled: ACK at once */
	/* an old duplicate partly below RCV.NXT: only the new tail is taken */
	th_seg(&H, TCP_ACK, 1351, iss + 1, 4096, pat + 350, 100, &TS);
	CU_ASSERT_EQUAL(H.rx_len, 450);
	CU_ASSERT(memcmp(H.rx, pat, 450) == 0);
	/* bound: 9 separate pieces beyond a hole, 8 kept */
	for (int k = 0; k < 9; k++)
		th_seg(&H, TCP_ACK, 1451 + 100 + 200u * k, iss + 1, 4096, pat, 10, &TS);
	CU_ASSERT_EQUAL(c->rq_ooo, TCP_OOO_MAX);
	CU_ASSERT_EQUAL(H.st->cnt.drops[TCP_DROP_OOO_FULL], 1);
	th_fini(&H);
}

static void test_ooo_fin(void)
{
	struct tcp_conn *c;
	uint32_t iss;

	fill_pattern();
	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	th_seg(&H, TCP_ACK | TCP_FIN, 1101, iss + 1, 4096, pat + 100, 100, &TS);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_ESTABLISHED);
	CU_ASSERT_EQUAL(H.eof, 0);
	th_drain(&H);
	th_seg(&H, TCP_ACK, 1001, iss + 1, 4096, pat, 100, &TS);
	CU_ASSERT_EQUAL(H.rx_len, 200);
	CU_ASSERT_EQUAL(H.eof, 1);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_CLOSE_WAIT);
	CU_ASSERT_EQUAL(th_next(&H)->ack, 1202);
	th_fini(&H);
}

static void test_zero_window_persist(void)
{
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss;
	uint64_t t0;

	fill_pattern();
	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	th_seg(&H, TCP_ACK, 1001, iss + 1, 0, NULL, 0, &TS);      /* the peer's window closes */
	CU_ASSERT_EQUAL(c->snd_wnd, 0u);
	t0 = H.now;
	CU_ASSERT_EQUAL(tcp_send(c, pat, 100), SL_OK);
	CU_ASSERT(th_next(&H) == NULL);
	CU_ASSERT_EQUAL(c->rtx_mode, TCP_RTX_PERSIST);
	/* one-byte probes at +200, +600, +1400: the persist timer backs off */
	const uint32_t at[3] = { 200, 600, 1400 };
	for (int i = 0; i < 3; i++) {
		th_advance(&H, at[i] - (H.now - t0));
		o = th_next(&H);
		CU_ASSERT_FATAL(o != NULL);
		CU_ASSERT_EQUAL(o->at - t0, at[i]);
		CU_ASSERT_EQUAL(o->seq, iss + 1);
		CU_ASSERT_EQUAL(o->len, 1);
		CU_ASSERT_EQUAL(o->data[0], pat[0]);
		th_seg(&H, TCP_ACK, 1001, iss + 1, 0, NULL, 0, &TS);  /* still closed */
		CU_ASSERT(th_next(&H) == NULL);
	}
	CU_ASSERT_EQUAL(H.st->cnt.persist_probes, 3);
	CU_ASSERT_EQUAL(H.closed, 0);                 /* probes never give up */
	/* the window opens: the data goes */
	th_seg(&H, TCP_ACK, 1001, iss + 1, 4096, NULL, 0, &TS);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->seq, iss + 1);
	CU_ASSERT_EQUAL(o->len, 100);
	CU_ASSERT_EQUAL(c->rtx_mode, TCP_RTX_RTO);
	th_fini(&H);
}

static void test_receive_backpressure(void)
{
	struct tcp_config cfg;
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss, seq = 1001, left = 8192;

	fill_pattern();
	th_config(&cfg);
	cfg.rcv_space = cfg.rcv_space_max = 8192;
	th_init(&H, &cfg);
	c = th_open_passive(&H, true, &iss);
	H.consume = TH_CONSUME_NONE;
	while (left > 0) {
		uint32_t n = SL_MIN(988u, left);
		th_seg(&H, TCP_ACK, seq, iss + 1, 4096, pat + (seq - 1001), n, &TS);
		seq += n;
		left -= n;
		tcp_send(c, "", 0);
	}
	/* everything held, nothing consumed: the window is gone, exactly */
	CU_ASSERT_EQUAL(H.rx_len, 0);
	CU_ASSERT_EQUAL(c->rcv_buffered, 8192u);
	CU_ASSERT(th_live_bufs == 9);
	th_advance(&H, 40);
	o = NULL;
	for (struct th_out *x; (x = th_next(&H)) != NULL;)
		o = x;
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->ack, 1001 + 8192);
	CU_ASSERT_EQUAL(o->wnd, 0);
	/* a zero-window probe is answered, not taken */
	th_seg(&H, TCP_ACK, seq, iss + 1, 4096, pat, 1, &TS);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->ack, seq);
	CU_ASSERT_EQUAL(o->wnd, 0);
	CU_ASSERT_EQUAL(c->rcv_nxt, seq);
	/* the application takes 500 bytes: too little to reopen (SWS) */
	H.consume = TH_CONSUME_LIMIT;
	H.consume_limit = 500;
	tcp_recv_resume(c);
	CU_ASSERT_EQUAL(H.rx_len, 500);
	CU_ASSERT_EQUAL(th_pending(&H), 0);
	/* then everything: a window update at once */
	H.consume = TH_CONSUME_ALL;
	tcp_recv_resume(c);
	CU_ASSERT_EQUAL(H.rx_len, 8192);
	CU_ASSERT(memcmp(H.rx, pat, 8192) == 0);
	CU_ASSERT_EQUAL(th_live_bufs, 0);
	o = NULL;
	for (struct th_out *x; (x = th_next(&H)) != NULL;)
		o = x;
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->wnd, 8192);
	/* and data flows again */
	th_seg(&H, TCP_ACK, seq, iss + 1, 4096, pat, 500, &TS);
	CU_ASSERT_EQUAL(H.rx_len, 8692);
	/* the application shrinks its space: the edge offered is kept */
	tcp_set_rcv_space(c, 1000);
	th_seg(&H, TCP_ACK, seq + 500, iss + 1, 4096, pat, 988, &TS);
	CU_ASSERT_EQUAL(H.rx_len, 8692 + 988);
	th_fini(&H);
}

/* Keepalive: probes after idle, an answer restarts the idle time, silence
 * closes with TIMEOUT; never while data is in flight. */
static void test_keepalive(void)
{
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss;
	uint64_t t0;

	fill_pattern();
	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	t0 = H.now;
	tcp_set_keepalive(c, 10000, 1000, 3);
	th_advance(&H, 9999);
	CU_ASSERT(th_next(&H) == NULL);
	th_advance(&H, 1);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->at - t0, 10000);
	CU_ASSERT_EQUAL(o->flags, TCP_ACK);
	CU_ASSERT_EQUAL(o->seq, iss);             /* SND.NXT - 1 */
	CU_ASSERT_EQUAL(o->ack, 1001);
	CU_ASSERT_EQUAL(o->len, 0);
	CU_ASSERT_EQUAL(H.st->cnt.keepalive_probes, 1);
	/* the peer answers: quiet again for a full idle time */
	th_advance(&H, 5);
	th_seg(&H, TCP_ACK, 1001, iss + 1, 4096, NULL, 0, &TS);
	t0 = H.now;
	th_advance(&H, 9999);
	CU_ASSERT(th_next(&H) == NULL);
	th_advance(&H, 1);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->at - t0, 10000);
	/* data in flight: the RTO watches the peer, no probe */
	CU_ASSERT_EQUAL(tcp_send(c, pat, 100), SL_OK);
	th_drain(&H);
	th_advance(&H, 1000);
	while ((o = th_next(&H)) != NULL)
		CU_ASSERT(o->len > 0);            /* retransmissions only */
	th_seg(&H, TCP_ACK, 1001, iss + 101, 4096, NULL, 0, &TS);
	t0 = H.now;
	/* silence: probes at idle, +1 s, +2 s, then the connection goes */
	th_advance(&H, 10000 + 2000);
	CU_ASSERT_EQUAL(th_pending(&H), 3);
	CU_ASSERT_EQUAL(H.closed, 0);
	th_drain(&H);
	th_advance(&H, 1000);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT(o->flags & TCP_RST);
	CU_ASSERT_EQUAL(H.closed, 1);
	CU_ASSERT_EQUAL(H.why, TCP_CLOSE_TIMEOUT);
	CU_ASSERT_EQUAL(H.st->cnt.keepalive_probes, 5);
	th_fini(&H);
}

/* An interval as long as the idle time, answers in the same millisecond
 * as the probe (Linux on a veth): every answer ends the round, so a peer
 * that answers is never reset, however many rounds go by. */
static void test_keepalive_prompt_answers(void)
{
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss;

	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	tcp_set_keepalive(c, 1000, 1000, 2);
	for (int round = 0; round < 6; round++) {
		th_advance(&H, 1000);
		o = th_next(&H);
		CU_ASSERT_FATAL(o != NULL);
		CU_ASSERT_EQUAL(o->flags, TCP_ACK);
		CU_ASSERT_EQUAL(o->len, 0);
		th_seg(&H, TCP_ACK, 1001, iss + 1, 4096, NULL, 0, &TS);   /* at once */
		CU_ASSERT_EQUAL(H.closed, 0);
	}
	CU_ASSERT_EQUAL(H.st->cnt.keepalive_probes, 6);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_ESTABLISHED);
	/* then silence: the second unanswered probe's interval ends it */
	th_advance(&H, 3000);
	CU_ASSERT_EQUAL(H.closed, 1);
	CU_ASSERT_EQUAL(H.why, TCP_CLOSE_TIMEOUT);
	th_fini(&H);
}

/* Set on an active open before its SYN-ACK (as a backend leg does): the
 * timer that comes due during the handshake waits, and probes start after
 * it. It once returned there and never came back. */
static void test_keepalive_active_open(void)
{
	struct th_opt so = { .ts = true, .mss = 1460, .ws = 2 };
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss;

	th_init(&H, NULL);
	c = tcp_connect(H.st, SL_AF_INET, th_laddr, 30000, th_raddr, 25, &th_cbs, &H);
	CU_ASSERT_FATAL(c != NULL);
	tcp_set_keepalive(c, 1000, 1000, 2);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL && o->flags == TCP_SYN);
	iss = o->seq;
	so.tsecr = o->tsval;
	th_advance(&H, 1500);                     /* the keepalive came due in SYN-SENT */
	th_drain(&H);                             /* the SYN's retransmission */
	CU_ASSERT_EQUAL(H.st->cnt.keepalive_probes, 0);
	th_seg_port(&H, 25, 30000, TCP_SYN | TCP_ACK, 5000, iss + 1, 65535, NULL, 0, &so);
	CU_ASSERT_EQUAL_FATAL(tcp_conn_state(c), TCP_ESTABLISHED);
	th_drain(&H);
	th_advance(&H, 999);
	CU_ASSERT_PTR_NULL(th_next(&H));
	th_advance(&H, 1);                         /* a full idle time after the SYN-ACK */
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags, TCP_ACK);
	CU_ASSERT_EQUAL(o->seq, iss);              /* SND.NXT - 1 */
	CU_ASSERT_EQUAL(o->len, 0);
	CU_ASSERT_EQUAL(H.st->cnt.keepalive_probes, 1);
	/* no answer: a second probe, then the reset */
	th_advance(&H, 2000);
	CU_ASSERT_EQUAL(H.st->cnt.keepalive_probes, 2);
	CU_ASSERT_EQUAL(H.closed, 1);
	CU_ASSERT_EQUAL(H.why, TCP_CLOSE_TIMEOUT);
	th_fini(&H);
}

/* Off by default, and tcp_set_keepalive(.., 0) turns it off again. */
static void test_keepalive_off(void)
{
	struct tcp_conn *c;
	uint32_t iss;

	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	th_advance(&H, 20000);
	CU_ASSERT(th_next(&H) == NULL);
	tcp_set_keepalive(c, 1000, 1000, 1);
	tcp_set_keepalive(c, 0, 0, 0);
	th_advance(&H, 20000);
	CU_ASSERT(th_next(&H) == NULL);
	CU_ASSERT_EQUAL(H.st->cnt.keepalive_probes, 0);
	th_fini(&H);
}

/* An application that answers QUIT with 221 and closes, inside its data callback, as the SMTP engine does. */
static uint32_t quit_data(struct tcp_conn *c, void *user, const uint8_t *p, uint32_t len, void *owner)
{
	static const char bye[] = "221 Bye\r\n";

	th_cbs.data(c, user, p, len, owner);
	if (len >= 4 && memcmp(p, "QUIT", 4) == 0) {
		CU_ASSERT_EQUAL(tcp_send(c, bye, sizeof(bye) - 1), SL_OK);
		tcp_close(c);
	}
	return len;
}

/* A reply and the close made inside a callback leave as one segment with
 * the ACK of what they answer (data + FIN, not data then FIN); outside a
 * callback each call still sends at once. */
static void test_reply_and_close_in_one_segment(void)
{
	struct tcp_conn_cbs cbs = th_cbs;
	struct tcp_conn *c;
	struct th_out *o;
	uint32_t iss;

	cbs.data = quit_data;
	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	tcp_conn_set_cbs(c, &cbs, &H);
	th_seg(&H, TCP_ACK | TCP_PSH, 1001, iss + 1, 4096, "QUIT\r\n", 6, &TS);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags & (TCP_FIN | TCP_ACK), TCP_FIN | TCP_ACK);
	CU_ASSERT_EQUAL(o->seq, iss + 1);
	CU_ASSERT_EQUAL(o->ack, 1007u);
	CU_ASSERT_EQUAL(o->len, 9u);
	CU_ASSERT(memcmp(o->data, "221 Bye\r\n", 9) == 0);
	CU_ASSERT_PTR_NULL(th_next(&H));
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_FIN_WAIT_1);
	th_fini(&H);

	/* from outside any callback: the data at once, then the FIN */
	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	CU_ASSERT_EQUAL(tcp_send(c, "221 Bye\r\n", 9), SL_OK);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->len, 9u);
	CU_ASSERT_EQUAL(o->flags & TCP_FIN, 0);
	tcp_close(c);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->flags & TCP_FIN, TCP_FIN);
	CU_ASSERT_EQUAL(o->len, 0u);
	th_fini(&H);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "data both ways, exact seq/ack, delayed ACK", test_data_both_ways },
		{ "reply and close in a callback: one segment", test_reply_and_close_in_one_segment },
		{ "send ring wraps, SL_AGAIN, writable", test_send_ring_wraps },
		{ "RTO backoff timing and abort", test_retransmit_backoff },
		{ "RTO retransmits the oldest only", test_retransmit_go_back },
		{ "RTT estimation (RFC 6298) from timestamps", test_rtt_estimation },
		{ "RTT by Karn's algorithm", test_rtt_karn },
		{ "reassembly in all 24 orders", test_reassembly_orders },
		{ "reassembly overlaps and bound", test_reassembly_overlaps_and_bound },
		{ "FIN beyond a hole", test_ooo_fin },
		{ "zero window and persist probes", test_zero_window_persist },
		{ "receive back-pressure", test_receive_backpressure },
		{ "keepalive probes, answer, timeout", test_keepalive },
		{ "keepalive off", test_keepalive_off },
		{ "keepalive set in SYN-SENT", test_keepalive_active_open },
		{ "keepalive answered at once, interval = idle", test_keepalive_prompt_answers },
		{ NULL, NULL },
	};
	test_suite("tcp_data", cases);
}
