/* test_tcp_header.c - tcp_build_header's bytes and tcp_header_sum, the header's checksum sum computed from the segment instead of the bytes. */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/tcp.h"
#include "test.h"

/* The reference: RFC 1071 over the bytes, words big-endian, folded. */
static uint16_t ref_sum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* tcp_header_sum, folded, in the same big-endian value as ref_sum. */
static uint16_t hdr_sum(const struct tcp_seg_out *s)
{
	uint32_t v = tcp_header_sum(s);

	while (v >> 16)
		v = (v & 0xffff) + (v >> 16);
	return be16toh((uint16_t)v);
}

static void random_seg(struct tcp_seg_out *s, struct tcp_tuple *t, uint8_t *opts, unsigned optlen)
{
	memset(s, 0, sizeof(*s));
	memset(t, 0, sizeof(*t));
	t->lport = (uint16_t)rand();
	t->rport = (uint16_t)rand();
	s->tuple = t;
	s->seq = (uint32_t)rand() << 16 ^ (uint32_t)rand();
	s->ack = (uint32_t)rand() << 16 ^ (uint32_t)rand();
	s->wnd = (uint16_t)rand();
	s->flags = (uint8_t)rand();
	for (unsigned i = 0; i < optlen; i++)
		opts[i] = (uint8_t)rand();
	s->optlen = (uint8_t)optlen;
	s->opts = opts;
}

/* Every option length, random fields: the sum equals the sum of the bytes written. */
static void test_sum_matches_bytes(void)
{
	srand(12345);
	for (unsigned n = 0; n < 20000; n++) {
		struct tcp_seg_out s;
		struct tcp_tuple t;
		uint8_t opts[TCP_OPT_MAX], h[TCP_HDR_LEN + TCP_OPT_MAX];
		unsigned optlen = (n % (TCP_OPT_MAX / 4 + 1)) * 4;
		uint32_t hl;

		random_seg(&s, &t, opts, optlen);
		hl = tcp_build_header(&s, h);
		CU_ASSERT_EQUAL_FATAL(hl, TCP_HDR_LEN + optlen);
		CU_ASSERT_EQUAL_FATAL(hdr_sum(&s), ref_sum(h, hl));
	}
}

/* Each field moves the sum (a sum that ignored one would pass the test above only by chance). */
static void test_sum_sees_every_field(void)
{
	struct tcp_seg_out s;
	struct tcp_tuple t;
	uint8_t opts[8];
	uint16_t base;

	random_seg(&s, &t, opts, 8);
	s.seq = 0x01020304;
	s.ack = 0x05060708;
	s.wnd = 0x1234;
	s.flags = 0x12;
	t.lport = 25;
	t.rport = 40000;
	base = hdr_sum(&s);
	s.seq += 1;
	CU_ASSERT_NOT_EQUAL(hdr_sum(&s), base);
	s.seq -= 1;
	s.ack += 0x10000;
	CU_ASSERT_NOT_EQUAL(hdr_sum(&s), base);
	s.ack -= 0x10000;
	s.wnd ^= 0x100;
	CU_ASSERT_NOT_EQUAL(hdr_sum(&s), base);
	s.wnd ^= 0x100;
	s.flags ^= 0x01;
	CU_ASSERT_NOT_EQUAL(hdr_sum(&s), base);
	s.flags ^= 0x01;
	t.rport ^= 0x8000;
	CU_ASSERT_NOT_EQUAL(hdr_sum(&s), base);
	t.rport ^= 0x8000;
	opts[7] ^= 0x40;
	CU_ASSERT_NOT_EQUAL(hdr_sum(&s), base);
	opts[7] ^= 0x40;
	s.optlen = 4;   /* the data offset is in the header too */
	CU_ASSERT_NOT_EQUAL(hdr_sum(&s), base);
	s.optlen = 8;
	CU_ASSERT_EQUAL(hdr_sum(&s), base);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "sum of tcp_header_sum = sum of tcp_build_header's bytes", test_sum_matches_bytes },
		{ "every field counts in the sum", test_sum_sees_every_field },
		{ NULL, NULL },
	};
	test_suite("tcp_header", cases);
}
