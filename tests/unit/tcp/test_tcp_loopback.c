/* test_tcp_loopback.c - two stacks back to back in memory: 1 MB each way under deterministic loss. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_harness.h"
#include "test.h"
#include "util/sl_addr.h"
#include "util/sl_status.h"

#define XFER (1024u * 1024u)

static struct th A, B;          /* A: the client (active open), B: the server */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static uint8_t byte_at(uint32_t i, uint8_t seed)
{
	return (uint8_t)((i * 131u + (i >> 9)) ^ seed);
}

/* Move what `from` sent to `to`, losing loss_pm per mille. */
static unsigned carry(struct th *from, struct th *to, const uint8_t *saddr, const uint8_t *daddr,
		      unsigned loss_pm)
{
	unsigned lost = 0;
	struct th_out *o;

	/* copy out first: feeding `to` may make it send into its own array only */
	while ((o = th_next(from)) != NULL) {
		if (xorshift() % 1000 < loss_pm) {
			lost++;
			continue;
		}
		th_feed(to, saddr, daddr, o->raw, o->rawlen);
	}
	th_drain(from);
	return lost;
}

static void pump_send(struct tcp_conn *c, uint32_t *sent, uint8_t seed)
{
	uint8_t chunk[4096];

	while (c != NULL && *sent < XFER && tcp_conn_state(c) >= TCP_ESTABLISHED) {
		uint32_t n = SL_MIN(SL_MIN(tcp_send_space(c), (uint32_t)sizeof(chunk)), XFER - *sent);
		if (n == 0)
			break;
		for (uint32_t i = 0; i < n; i++)
			chunk[i] = byte_at(*sent + i, seed);
		CU_ASSERT_EQUAL_FATAL(tcp_send(c, chunk, n), SL_OK);
		*sent += n;
	}
}

/*
 * rto_before: RTO expiries (both ends) of the same run with the fixed
 * 10-segment window and no fast retransmit, before RFC 5681 / RFC 6582
 * congestion control. The loss pattern is deterministic, so the run must
 * now need fewer of them: losses are repaired by fast retransmit instead.
 */
static void run(unsigned loss_pm, bool timestamps, uint64_t rto_before)
{
	struct tcp_config cfg;
	struct tcp_conn *ca;
	uint32_t sent_a = 0, sent_b = 0;
	bool closing = false;
	unsigned lost = 0;
	uint64_t t0;

	th_config(&cfg);
	cfg.max_tw = 16;
	cfg.timestamps = timestamps;
	cfg.rcv_space = cfg.rcv_space_max = 64 * 1024;
	cfg.snd_buf = 64 * 1024;
	th_init(&A, &cfg);
	cfg.key[0] ^= 1;             /* another secret: other ISNs */
	th_init(&B, &cfg);
	t0 = A.now;
	ca = tcp_connect(A.st, SL_AF_INET, th_laddr, 30000, th_raddr, TH_LPORT, &th_cbs, &A);
	CU_ASSERT_FATAL(ca != NULL);
	/* one virtual millisecond per round: each way has 1 ms of delay */
	for (uint64_t step = 0; step < 20u * 60 * 1000; step++) {
		lost += carry(&A, &B, th_laddr, th_raddr, loss_pm);
		lost += carry(&B, &A, th_raddr, th_laddr, loss_pm);
		pump_send(A.conn, &sent_a, 0x5a);
		pump_send(B.conn, &sent_b, 0xa5);
		if (!closing && A.rx_len == XFER && B.rx_len == XFER) {
			closing = true;
			/* the server closes first, as after 221, and keeps the TIME-WAIT */
			tcp_close(B.conn);
			tcp_close(A.conn);
		}
		if (closing && A.closed && B.closed && th_pending(&A) == 0 && th_pending(&B) == 0)
			break;
		A.now++;
		B.now++;
		tcp_advance(A.st, A.now);
		tcp_advance(B.st, B.now);
	}
	CU_ASSERT_EQUAL(B.rx_len, XFER);
	CU_ASSERT_EQUAL(A.rx_len, XFER);
	for (uint32_t i = 0; i < XFER && i < B.rx_len; i++)
		if (B.rx[i] != byte_at(i, 0x5a)) {
			CU_FAIL("A -> B bytes differ");
			break;
		}
	for (uint32_t i = 0; i < XFER && i < A.rx_len; i++)
		if (A.rx[i] != byte_at(i, 0xa5)) {
			CU_FAIL("B -> A bytes differ");
			break;
		}
	CU_ASSERT_EQUAL(A.closed, 1);
	CU_ASSERT_EQUAL(B.closed, 1);
	CU_ASSERT_EQUAL(A.why, TCP_CLOSE_NORMAL);
	CU_ASSERT_EQUAL(B.why, TCP_CLOSE_NORMAL);
	CU_ASSERT_EQUAL(A.eof, 1);
	CU_ASSERT_EQUAL(B.eof, 1);
	if (loss_pm > 0) {
		CU_ASSERT(lost > 0);
		CU_ASSERT(A.st->cnt.retransmits + B.st->cnt.retransmits > 0);
	} else {
		CU_ASSERT_EQUAL(A.st->cnt.retransmits + B.st->cnt.retransmits, 0);
	}
	/* at least one end in TIME-WAIT (both, if the FINs crossed) */
	CU_ASSERT(A.st->cnt.conns[TCP_TIME_WAIT] + B.st->cnt.conns[TCP_TIME_WAIT] >= 1);
	for (int s = TCP_SYN_SENT; s < TCP_TIME_WAIT; s++) {
		CU_ASSERT_EQUAL(A.st->cnt.conns[s], 0);
		CU_ASSERT_EQUAL(B.st->cnt.conns[s], 0);
	}
	if (loss_pm > 0)
		CU_ASSERT(A.st->cnt.rto_fired + B.st->cnt.rto_fired < rto_before);
	fprintf(stderr, "\nloss %u/1000: %u lost, %llu ms virtual, rtx %llu+%llu, fast rtx %llu+%llu, "
		"rto fired %llu+%llu (before congestion control: %llu)\n",
		loss_pm, lost, (unsigned long long)(A.now - t0),
		(unsigned long long)A.st->cnt.retransmits, (unsigned long long)B.st->cnt.retransmits,
		(unsigned long long)A.st->cnt.fast_retransmits, (unsigned long long)B.st->cnt.fast_retransmits,
		(unsigned long long)A.st->cnt.rto_fired, (unsigned long long)B.st->cnt.rto_fired,
		(unsigned long long)rto_before);
	th_fini(&A);
	th_fini(&B);
}

static void test_loopback_clean(void)
{
	run(0, true, 0);
}

static void test_loopback_loss_ts(void)
{
	run(30, true, 28 + 20);      /* 3 % of segments lost each way */
}

static void test_loopback_loss_no_ts(void)
{
	run(20, false, 15 + 26);     /* Karn's RTT path, no PAWS */
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "1 MB each way, no loss", test_loopback_clean },
		{ "1 MB each way, 3% loss, timestamps", test_loopback_loss_ts },
		{ "1 MB each way, 2% loss, no timestamps", test_loopback_loss_no_ts },
		{ NULL, NULL },
	};
	test_suite("tcp_loopback", cases);
}
