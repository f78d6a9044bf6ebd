/* test_tcp_sack.c - receive-side SACK (RFC 2018): negotiation, blocks for out-of-order data, option space. */
#include <string.h>

#include "tcp_harness.h"
#include "test.h"
#include "util/sl_addr.h"
#include "util/sl_status.h"

static struct th H;
static const struct th_opt TS = { .ts = true, .mss = -1, .ws = -1 };
static uint8_t pat[4096];

/* Out-of-order piece [1001 + off, 1001 + off + len); returns our ACK. */
static struct th_out *piece(uint32_t iss, uint32_t off, uint32_t len, const struct th_opt *o)
{
	struct th_out *a;

	th_drain(&H);
	th_seg(&H, TCP_ACK, 1001 + off, iss + 1, 4096, pat + off, len, o);
	a = th_next(&H);
	CU_ASSERT_FATAL(a != NULL);
	return a;
}

static void expect_blocks(const struct th_out *a, unsigned n, const uint32_t (*b)[2])
{
	CU_ASSERT_EQUAL(a->nsack, n);
	for (unsigned i = 0; i < n && i < a->nsack; i++) {
		CU_ASSERT_EQUAL(a->sack[i][0], 1001 + b[i][0]);
		CU_ASSERT_EQUAL(a->sack[i][1], 1001 + b[i][1]);
	}
}

static void test_sack_blocks_ts(void)
{
	struct tcp_conn *c;
	struct th_out *a;
	uint32_t iss;

	for (unsigned i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i * 13);
	th_init(&H, NULL);
	c = th_open_passive(&H, true, &iss);
	CU_ASSERT(H.out[0].sack_ok);                 /* the SYN-ACK answered SACK-permitted */
	CU_ASSERT(c->flags & TF_SACK_OK);
	/* in-order data: no SACK option */
	th_seg(&H, TCP_ACK, 1001, iss + 1, 4096, pat, 100, &TS);
	th_advance(&H, 40);
	a = th_next(&H);
	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT_EQUAL(a->nsack, 0);
	/* [200, 300) beyond a hole at 100: an immediate dupack with its block */
	a = piece(iss, 200, 100, &TS);
	CU_ASSERT_EQUAL(a->ack, 1101);
	expect_blocks(a, 1, (const uint32_t[][2]){ { 200, 300 } });
	CU_ASSERT_EQUAL(a->optlen, 12 + 12);
	/* [400, 500): the newest block first (RFC 2018 4) */
	a = piece(iss, 400, 100, &TS);
	expect_blocks(a, 2, (const uint32_t[][2]){ { 400, 500 }, { 200, 300 } });
	/* [300, 400) joins them: one block */
	a = piece(iss, 300, 100, &TS);
	expect_blocks(a, 1, (const uint32_t[][2]){ { 200, 500 } });
	/* three more islands: only three blocks fit beside the timestamps */
	piece(iss, 600, 100, &TS);
	piece(iss, 800, 100, &TS);
	a = piece(iss, 1000, 100, &TS);
	CU_ASSERT_EQUAL(a->optlen, 40);
	expect_blocks(a, 3, (const uint32_t[][2]){ { 1000, 1100 }, { 200, 500 }, { 600, 700 } });
	/* a duplicate of a queued piece is still the "most recent" */
	a = piece(iss, 800, 100, &TS);
	expect_blocks(a, 3, (const uint32_t[][2]){ { 800, 900 }, { 200, 500 }, { 600, 700 } });
	/* data we send meanwhile carries the blocks, and less payload */
	th_drain(&H);
	CU_ASSERT_EQUAL(tcp_send(c, pat, 2000), SL_OK);
	a = th_next(&H);
	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT_EQUAL(a->len, 988u - 28);          /* 3 blocks: 28 option bytes */
	CU_ASSERT_EQUAL(a->nsack, 3);
	CU_ASSERT(20 + a->optlen + a->len <= 20 + 12 + 988u);
	/* the hole at 100 filled: ACK 1501, blocks for what is still beyond,
	 * the latest out-of-order arrival first (this one moved the ACK) */
	a = piece(iss, 100, 100, &TS);
	CU_ASSERT_EQUAL(a->ack, 1501);
	expect_blocks(a, 3, (const uint32_t[][2]){ { 800, 900 }, { 600, 700 }, { 1000, 1100 } });
	piece(iss, 500, 100, &TS);
	piece(iss, 700, 100, &TS);
	a = piece(iss, 900, 100, &TS);
	CU_ASSERT_EQUAL(a->ack, 1001 + 1100);
	CU_ASSERT_EQUAL(a->nsack, 0);
	CU_ASSERT_EQUAL(H.rx_len, 1100);
	CU_ASSERT(memcmp(H.rx, pat, 1100) == 0);
	th_fini(&H);
}

/* Without timestamps four blocks fit. */
static void test_sack_blocks_no_ts(void)
{
	struct th_out *a = NULL;
	uint32_t iss;

	th_init(&H, NULL);
	th_open_passive(&H, false, &iss);
	for (uint32_t k = 0; k < 5; k++)
		a = piece(iss, 200 + 200 * k, 100, NULL);
	CU_ASSERT_EQUAL(a->optlen, 36);
	expect_blocks(a, 4, (const uint32_t[][2]){ { 1000, 1100 }, { 200, 300 }, { 400, 500 }, { 600, 700 } });
	th_fini(&H);
}

/* No SACK-permitted in the SYN: none in the SYN-ACK, no blocks; and with
 * cfg.sack off, none even if the peer offers it. The SYN of an active
 * open offers it. */
static void test_sack_negotiation(void)
{
	struct th_opt so = { .ts = true, .mss = 1460, .ws = 2, .sack_ok = false };
	struct th_opt ao = { .ts = true, .mss = -1, .ws = -1 };
	struct tcp_config cfg;
	struct th_out *o, *a;
	uint32_t iss;

	th_init(&H, NULL);
	th_seg(&H, TCP_SYN, 1000, 0, 65535, NULL, 0, &so);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT(!o->sack_ok);
	iss = o->seq;
	ao.tsecr = o->tsval;
	th_seg(&H, TCP_ACK, 1001, iss + 1, 4096, NULL, 0, &ao);
	CU_ASSERT_FATAL(H.conn != NULL);
	CU_ASSERT(!(H.conn->flags & TF_SACK_OK));
	a = piece(iss, 200, 100, &TS);
	CU_ASSERT_EQUAL(a->nsack, 0);
	CU_ASSERT_EQUAL(a->optlen, 12);
	th_fini(&H);

	th_config(&cfg);
	cfg.sack = false;
	th_init(&H, &cfg);
	th_open_passive(&H, true, &iss);             /* the SYN offers SACK */
	CU_ASSERT(!H.out[0].sack_ok);
	CU_ASSERT(!(H.conn->flags & TF_SACK_OK));
	th_fini(&H);

	th_init(&H, NULL);
	CU_ASSERT_FATAL(tcp_connect(H.st, SL_AF_INET, th_laddr, 30000, th_raddr, 25, &th_cbs, &H) != NULL);
	o = th_next(&H);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT(o->sack_ok);
	CU_ASSERT(o->optlen <= 20);                  /* MSS, WS, SACK-permitted + TS packed */
	th_fini(&H);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "SACK blocks with timestamps", test_sack_blocks_ts },
		{ "SACK blocks without timestamps", test_sack_blocks_no_ts },
		{ "SACK-permitted negotiation", test_sack_negotiation },
		{ NULL, NULL },
	};
	test_suite("tcp_sack", cases);
}
