/* test_tcp_sndq.c - the send queue of extents: held buffers (tcp_send_ref) and copied chunks, ACKs, retransmits, release. */
#include <stdlib.h>
#include <string.h>

#include "tcp_harness.h"
#include "tcp/tcp_seq.h"
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

/* A stack whose send queue holds even small pieces, with one connection
 * open and the peer's window shut, so what we queue waits for open_window. */
static struct tcp_conn *setup(uint32_t *iss, uint32_t ref_max_conn, uint32_t ref_max)
{
	struct tcp_config cfg;
	struct tcp_conn *c;

	fill_pattern();
	th_config(&cfg);
	cfg.ref_min = 1;
	cfg.ref_max_conn = ref_max_conn;
	cfg.ref_max = ref_max;
	th_init(&H, &cfg);
	c = th_open_passive(&H, true, iss);
	th_seg(&H, TCP_ACK, 1001, *iss + 1, 0, NULL, 0, &TS);
	CU_ASSERT_EQUAL(c->snd_wnd, 0u);
	return c;
}

static void ack(uint32_t ackno, uint16_t wnd)
{
	th_seg(&H, TCP_ACK, 1001, ackno, wnd, NULL, 0, &TS);
}

/* The segment's payload equals pat[from..] and its pieces have these owners. */
static void check_seg(const struct th_out *o, uint32_t seq, uint32_t from, uint32_t len, unsigned npieces,
		      void *const *owners)
{
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(o->seq, seq);
	CU_ASSERT_EQUAL(o->len, len);
	CU_ASSERT(memcmp(o->data, pat + from, len) == 0);
	CU_ASSERT_EQUAL(o->npieces, npieces);
	for (unsigned k = 0; k < npieces && k < TCP_SEG_PIECES; k++)
		CU_ASSERT_PTR_EQUAL(o->owner[k], owners[k]);
}

static void test_partial_acks_across_extents(void)
{
	uint32_t iss;
	struct tcp_conn *c = setup(&iss, 0, 0);
	struct th_buf *a = th_buf_new(pat + 100, 600), *b = th_buf_new(pat + 800, 600);

	/* stream: copied [0,100) A [100,700) copied [700,800) B [800,1400) */
	CU_ASSERT_EQUAL(tcp_send(c, pat, 100), SL_OK);
	CU_ASSERT_EQUAL(tcp_send_ref(c, a->data, 600, a), SL_OK);
	CU_ASSERT_EQUAL(tcp_send(c, pat + 700, 100), SL_OK);
	CU_ASSERT_EQUAL(tcp_send_ref(c, b->data, 600, b), SL_OK);
	CU_ASSERT_EQUAL(a->refs, 2);
	CU_ASSERT_EQUAL(b->refs, 2);
	CU_ASSERT_EQUAL(c->sx_held, 2);
	CU_ASSERT_EQUAL(tcp_pending(c), 1400);
	CU_ASSERT(th_next(&H) == NULL);
	ack(iss + 1, 4096);
	{
		void *const o1[] = { NULL, a, NULL, b }, *const o2[] = { b };
		check_seg(th_next(&H), iss + 1, 0, 988, 4, o1);
		check_seg(th_next(&H), iss + 989, 988, 412, 1, o2);
	}
	CU_ASSERT(th_next(&H) == NULL);
	ack(iss + 1 + 50, 4096);            /* inside the first copied extent */
	CU_ASSERT_EQUAL(tcp_pending(c), 1350);
	CU_ASSERT_EQUAL(a->refs, 2);
	ack(iss + 1 + 400, 4096);           /* inside A: trimmed, still held */
	CU_ASSERT_EQUAL(a->refs, 2);
	ack(iss + 1 + 700, 4096);           /* exactly A's end: released */
	CU_ASSERT_EQUAL(a->refs, 1);
	CU_ASSERT_EQUAL(b->refs, 2);
	CU_ASSERT_EQUAL(c->sx_held, 1);
	ack(iss + 1 + 1000, 4096);          /* inside B */
	CU_ASSERT_EQUAL(b->refs, 2);
	ack(iss + 1 + 1400, 4096);
	CU_ASSERT_EQUAL(b->refs, 1);
	CU_ASSERT_EQUAL(tcp_pending(c), 0);
	CU_ASSERT_EQUAL(c->sx_held, 0);
	CU_ASSERT_EQUAL(H.st->sp.in_use, 0);   /* the idle connection keeps no chunk */
	CU_ASSERT_EQUAL(H.st->sp.held, 0);
	CU_ASSERT_EQUAL(H.st->cnt.snd_ref_bytes, 1200);
	CU_ASSERT_EQUAL(H.st->cnt.snd_copy_bytes, 200);
	th_buf_put(a);
	th_buf_put(b);
	th_fini(&H);
}

static void test_retransmit_spans_held_and_copied(void)
{
	uint32_t iss;
	struct tcp_conn *c = setup(&iss, 0, 0);
	struct th_buf *a = th_buf_new(pat, 500);
	void *const o1[] = { a, NULL }, *const o2[] = { NULL };
	struct th_out *o = NULL;

	CU_ASSERT_EQUAL(tcp_send_ref(c, a->data, 500, a), SL_OK);
	CU_ASSERT_EQUAL(tcp_send(c, pat + 500, 1000), SL_OK);
	ack(iss + 1, 4096);
	check_seg(th_next(&H), iss + 1, 0, 988, 2, o1);
	check_seg(th_next(&H), iss + 989, 988, 512, 1, o2);
	/* no ACK: the RTO sends the first segment again, the same two pieces */
	for (int i = 0; i < 3000 && (o = th_next(&H)) == NULL; i++)
		th_advance(&H, 1);
	check_seg(o, iss + 1, 0, 988, 2, o1);
	CU_ASSERT(H.st->cnt.retransmits >= 1);
	CU_ASSERT_EQUAL(a->refs, 2);
	/* a partial ACK inside A, then the retransmission starts mid-extent */
	ack(iss + 1 + 300, 4096);
	CU_ASSERT_EQUAL(a->refs, 2);
	while ((o = th_next(&H)) != NULL)
		CU_ASSERT(memcmp(o->data, pat + (o->seq - iss - 1), o->len) == 0);
	ack(iss + 1501, 4096);
	CU_ASSERT_EQUAL(a->refs, 1);
	CU_ASSERT_EQUAL(tcp_pending(c), 0);
	th_buf_put(a);
	th_fini(&H);
}

static void test_persist_probe_from_held(void)
{
	uint32_t iss;
	struct tcp_conn *c = setup(&iss, 0, 0);
	struct th_buf *a = th_buf_new(pat, 300);
	void *const o1[] = { a };
	struct th_out *o;

	CU_ASSERT_EQUAL(tcp_send_ref(c, a->data, 300, a), SL_OK);
	CU_ASSERT(th_next(&H) == NULL);
	CU_ASSERT_EQUAL(c->rtx_mode, TCP_RTX_PERSIST);
	th_advance(&H, 200);
	o = th_next(&H);
	check_seg(o, iss + 1, 0, 1, 1, o1);    /* the zero-window probe: one held byte */
	ack(iss + 1, 0);
	CU_ASSERT(th_next(&H) == NULL);
	CU_ASSERT_EQUAL(a->refs, 2);
	ack(iss + 1, 4096);                    /* open: everything goes */
	check_seg(th_next(&H), iss + 1, 0, 300, 1, o1);
	ack(iss + 301, 4096);
	CU_ASSERT_EQUAL(a->refs, 1);
	th_buf_put(a);
	th_fini(&H);
}

static void queue_mixed(struct tcp_conn *c, struct th_buf **a, struct th_buf **b)
{
	*a = th_buf_new(pat, 700);
	*b = th_buf_new(pat + 1700, 700);
	CU_ASSERT_EQUAL(tcp_send_ref(c, (*a)->data, 700, *a), SL_OK);
	CU_ASSERT_EQUAL(tcp_send(c, pat + 700, 1000), SL_OK);
	CU_ASSERT_EQUAL(tcp_send_ref(c, (*b)->data, 700, *b), SL_OK);
	CU_ASSERT_EQUAL((*a)->refs, 2);
	CU_ASSERT_EQUAL((*b)->refs, 2);
}

static void test_rst_releases_everything(void)
{
	uint32_t iss;
	struct tcp_conn *c = setup(&iss, 0, 0);
	struct th_buf *a, *b;

	queue_mixed(c, &a, &b);
	ack(iss + 1, 4096);                  /* some of it in flight */
	CU_ASSERT(th_pending(&H) > 0);
	th_seg(&H, TCP_RST, 1001, 0, 0, NULL, 0, NULL);
	CU_ASSERT_EQUAL(H.closed, 1);
	CU_ASSERT_EQUAL(H.why, TCP_CLOSE_RESET);
	CU_ASSERT_EQUAL(a->refs, 1);
	CU_ASSERT_EQUAL(b->refs, 1);
	CU_ASSERT_EQUAL(H.st->sp.in_use, 0);
	CU_ASSERT_EQUAL(H.st->sp.held, 0);
	th_buf_put(a);
	th_buf_put(b);
	th_fini(&H);
}

static void test_abort_and_stack_free_release(void)
{
	uint32_t iss;
	struct tcp_conn *c = setup(&iss, 0, 0);
	struct th_buf *a, *b;

	queue_mixed(c, &a, &b);
	tcp_abort(c);
	CU_ASSERT_EQUAL(H.why, TCP_CLOSE_ABORTED);
	CU_ASSERT_EQUAL(a->refs, 1);
	CU_ASSERT_EQUAL(b->refs, 1);
	th_buf_put(a);
	th_buf_put(b);
	th_fini(&H);
	/* a stack freed with queues still full releases them (th_fini checks 0 live) */
	c = setup(&iss, 0, 0);
	queue_mixed(c, &a, &b);
	th_buf_put(a);
	th_buf_put(b);
	CU_ASSERT_EQUAL(th_live_bufs, 2);
	th_fini(&H);
}

static void test_fin_after_held_data(void)
{
	uint32_t iss;
	struct tcp_conn *c = setup(&iss, 0, 0);
	struct th_buf *a = th_buf_new(pat, 500);
	void *const o1[] = { a };
	struct th_out *o;

	/* queued behind a shut window, then closed: the FIN rides on the data */
	CU_ASSERT_EQUAL(tcp_send_ref(c, a->data, 500, a), SL_OK);
	tcp_close(c);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_FIN_WAIT_1);
	CU_ASSERT_EQUAL(tcp_send_ref(c, a->data, 10, a), SL_ERROR);   /* nothing after the FIN */
	CU_ASSERT(th_next(&H) == NULL);
	ack(iss + 1, 4096);
	o = th_next(&H);
	check_seg(o, iss + 1, 0, 500, 1, o1);
	CU_ASSERT_EQUAL(o->flags, TCP_ACK | TCP_PSH | TCP_FIN);
	CU_ASSERT(th_next(&H) == NULL);
	CU_ASSERT_EQUAL(a->refs, 2);
	ack(iss + 501, 4096);
	CU_ASSERT_EQUAL(a->refs, 1);         /* the data is acknowledged, the FIN not yet */
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_FIN_WAIT_1);
	ack(iss + 502, 4096);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_FIN_WAIT_2);
	th_buf_put(a);
	th_fini(&H);
}

static void test_pieces_per_segment(void)
{
	uint32_t iss;
	struct tcp_conn *c = setup(&iss, 0, 0);
	struct th_buf *b[12];
	struct th_out *o;

	for (int i = 0; i < 12; i++) {
		b[i] = th_buf_new(pat + 80 * i, 80);
		CU_ASSERT_EQUAL(tcp_send_ref(c, b[i]->data, 80, b[i]), SL_OK);
	}
	ack(iss + 1, 4096);
	/* 960 bytes in 12 extents: a segment carries 8, then the other 4 */
	o = th_next(&H);
	check_seg(o, iss + 1, 0, 640, TCP_SEG_PIECES, (void *const *)b);
	CU_ASSERT(!(o->flags & TCP_PSH));
	o = th_next(&H);
	check_seg(o, iss + 641, 640, 320, 4, (void *const *)(b + 8));
	CU_ASSERT(o->flags & TCP_PSH);
	ack(iss + 961, 4096);
	for (int i = 0; i < 12; i++) {
		CU_ASSERT_EQUAL(b[i]->refs, 1);
		th_buf_put(b[i]);
	}
	th_fini(&H);
}

static void test_hold_bounds(void)
{
	uint32_t iss;
	struct tcp_conn *c = setup(&iss, 3, 0);
	struct th_buf *b = th_buf_new(pat, 1000);

	/* per connection: three held, the rest copied (the owner untouched) */
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(tcp_send_ref(c, b->data + 100 * i, 100, b), SL_OK);
	CU_ASSERT_EQUAL(b->refs, 4);
	CU_ASSERT_EQUAL(c->sx_held, 3);
	ack(iss + 1, 4096);
	CU_ASSERT(memcmp(th_next(&H)->data, pat, 500) == 0);
	ack(iss + 501, 4096);
	CU_ASSERT_EQUAL(b->refs, 1);
	th_live_bufs--;      /* b outlives the stack on purpose (th_fini counts) */
	th_fini(&H);
	th_live_bufs++;

	/* per stack: ref_max 2 */
	c = setup(&iss, 0, 2);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(tcp_send_ref(c, b->data + 100 * i, 100, b), SL_OK);
	CU_ASSERT_EQUAL(b->refs, 3);
	CU_ASSERT_EQUAL(H.st->sp.held, 2);
	/* too big for the send space: SL_AGAIN, nothing held */
	CU_ASSERT_EQUAL(tcp_send_ref(c, pat, 16 * 1024, b), SL_AGAIN);
	CU_ASSERT_EQUAL(b->refs, 3);
	th_live_bufs--;
	th_fini(&H);          /* frees the stack: its two references go */
	th_live_bufs++;
	CU_ASSERT_EQUAL(b->refs, 1);
	th_buf_put(b);
	CU_ASSERT_EQUAL(th_live_bufs, 0);
}

static void test_small_refs_copied_by_default(void)
{
	struct tcp_config cfg;
	struct tcp_conn *c;
	struct th_buf *b;
	uint32_t iss;

	fill_pattern();
	th_config(&cfg);
	th_init(&H, &cfg);
	c = th_open_passive(&H, true, &iss);
	b = th_buf_new(pat, 1000);
	CU_ASSERT_EQUAL(tcp_send_ref(c, b->data, 100, b), SL_OK);   /* below ref_min 256: copied */
	CU_ASSERT_EQUAL(b->refs, 1);
	CU_ASSERT_EQUAL(tcp_send_ref(c, b->data + 100, 900, b), SL_OK);
	CU_ASSERT_EQUAL(b->refs, 2);
	ack(iss + 1001, 4096);
	CU_ASSERT_EQUAL(b->refs, 1);
	th_buf_put(b);
	th_fini(&H);
}

/* Copied bytes live in chunks taken as needed and given back on the ACK:
 * the pool's use follows bytes in flight (across a wrap of snd_buf). */
static void test_chunk_pool_follows_flight(void)
{
	uint32_t iss, sent = 0, acked = 0;
	struct tcp_conn *c = setup(&iss, 0, 0);
	struct th_out *o;

	CU_ASSERT_EQUAL(H.st->sp.in_use, 0);
	ack(iss + 1, 4096);
	for (int round = 0; round < 5; round++) {   /* 60000 bytes of pat */
		CU_ASSERT_EQUAL(tcp_send(c, pat + sent, 12000), SL_OK);
		sent += 12000;
		CU_ASSERT(H.st->sp.in_use <= 12000 / H.st->sp.chunk + 2);
		while ((o = th_next(&H)) != NULL) {
			CU_ASSERT(o->npieces <= 2);
			CU_ASSERT(memcmp(o->data, pat + (o->seq - iss - 1), o->len) == 0);
		}
		while (acked < sent) {
			acked = SL_MIN(acked + 988, sent);
			ack(iss + 1 + acked, 4096);
			while ((o = th_next(&H)) != NULL)
				CU_ASSERT(memcmp(o->data, pat + (o->seq - iss - 1), o->len) == 0);
		}
		CU_ASSERT_EQUAL(tcp_pending(c), 0);
		CU_ASSERT_EQUAL(H.st->sp.in_use, 0);
	}
	CU_ASSERT(H.st->sp.peak <= 12000 / H.st->sp.chunk + 2);
	CU_ASSERT(H.st->sp.bump <= 12000 / H.st->sp.chunk + 2);   /* chunks recycled, none new */
	th_fini(&H);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "partial ACKs across held and copied extents", test_partial_acks_across_extents },
		{ "retransmit spanning a held and a copied extent", test_retransmit_spans_held_and_copied },
		{ "zero-window persist probe from a held extent", test_persist_probe_from_held },
		{ "RST releases every reference", test_rst_releases_everything },
		{ "abort and stack free release every reference", test_abort_and_stack_free_release },
		{ "FIN after held data", test_fin_after_held_data },
		{ "TCP_SEG_PIECES pieces per segment", test_pieces_per_segment },
		{ "hold bounds per connection and per stack", test_hold_bounds },
		{ "small pieces copied by default", test_small_refs_copied_by_default },
		{ "chunk pool follows bytes in flight", test_chunk_pool_follows_flight },
		{ NULL, NULL },
	};
	test_suite("tcp_sndq", cases);
}
