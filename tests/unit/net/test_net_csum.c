/* test_net_csum.c - Internet checksum: RFC 1071 example, odd lengths, pieces, RFC 1624 updates, pseudo-header. */
#include <stdlib.h>
#include <string.h>

#include "net/net_csum.h"
#include "test.h"

/* The checksum as it would sit on the wire, high byte first. */
static unsigned wire16(uint16_t c)
{
	uint8_t b[2];

	memcpy(b, &c, 2);
	return (unsigned)b[0] << 8 | b[1];
}

/* A plain reference: big-endian 16-bit words, carries folded at the end. */
static unsigned ref_sum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i < n; i += 2)
		s += (uint32_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

static void test_rfc1071_example(void)
{
	/* RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d */
	static const uint8_t d[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	CU_ASSERT_EQUAL(wire16(net_csum_fold(net_csum_add(0, d, sizeof(d)))), 0xddf2);
	CU_ASSERT_EQUAL(wire16(net_csum(d, sizeof(d))), 0x220d);
}

static void test_odd_and_pieces(void)
{
	uint8_t buf[301];

	srand(7);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (size_t n = 0; n <= sizeof(buf); n++) {
		unsigned want = ref_sum(buf, n);

		CU_ASSERT_EQUAL(wire16(net_csum_fold(net_csum_add(0, buf, n))), want);
		/* split at every even offset */
		for (size_t k = 0; k <= n; k += 2) {
			uint32_t s = net_csum_add(net_csum_add(0, buf, k), buf + k, n - k);

			if (wire16(net_csum_fold(s)) != want) {
				CU_FAIL("split sum differs");
				return;
			}
		}
	}
	/* odd byte at the end: a0 counts as a000 */
	{
		static const uint8_t one[] = { 0xa0 };

		CU_ASSERT_EQUAL(wire16(net_csum(one, 1)), 0x5fff);
	}
	/* a buffer holding its own correct checksum sums to zero */
	{
		uint8_t h[10] = { 0x45, 0x00, 0x00, 0x1c, 0, 0, 0, 0, 0x12, 0x34 };
		uint16_t c = net_csum(h, sizeof(h));

		memcpy(h + 4, &c, 2);
		CU_ASSERT_EQUAL(net_csum(h, sizeof(h)), 0);
	}
}

/* Every start alignment, lengths across the 8- and 32-byte steps, running
 * sums given in, and all-ones data (every add carries). */
static void test_alignment_and_carries(void)
{
	static uint8_t buf[2100];
	static const uint32_t starts[] = { 0, 1, 0xffff, 0x1fffe, 0xfffffffeu };

	srand(11);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (int ones = 0; ones < 2; ones++) {
		if (ones)
			memset(buf, 0xff, sizeof(buf));
		for (size_t off = 0; off < 8; off++) {
			for (size_t n = 0; n + off <= sizeof(buf); n += n < 80 ? 1 : 37) {
				unsigned want = ref_sum(buf + off, n);

				for (size_t k = 0; k < sizeof(starts) / sizeof(starts[0]); k++) {
					/* a running sum s in is the same as s's folded 16 bits */
					uint32_t s0 = starts[k];
					unsigned w = want + (unsigned)wire16(net_csum_fold(s0));
					uint32_t got = net_csum_add(s0, buf + off, n);

					unsigned g = wire16(net_csum_fold(got));

					w = (w & 0xffff) + (w >> 16);
					/* one's complement has two zeros: 0x0000 and 0xffff */
					if ((g == 0xffff ? 0 : g) != (w == 0xffff ? 0 : w)) {
						CU_FAIL("net_csum_add differs from the byte-pair reference");
						return;
					}
				}
			}
		}
	}
}

static void test_incremental(void)
{
	uint8_t buf[64];

	srand(11);
	for (int round = 0; round < 2000; round++) {
		uint16_t c, old_w, new_w;
		uint32_t old_v, new_v;
		unsigned at = (unsigned)(rand() % 15) * 2 + 4;

		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)rand();
		if (round % 7 == 0)
			memset(buf, 0xff, sizeof(buf));   /* the -0 corner */
		buf[0] = buf[1] = 0;
		c = net_csum(buf, sizeof(buf));
		memcpy(buf, &c, 2);
		memcpy(&old_w, buf + at, 2);
		new_w = (uint16_t)rand();
		memcpy(buf + at, &new_w, 2);
		c = net_csum_update16(c, old_w, new_w);
		memcpy(buf, &c, 2);
		CU_ASSERT_EQUAL(net_csum(buf, sizeof(buf)), 0);
		memcpy(&old_v, buf + at + 4, 4);
		new_v = (uint32_t)rand() << 1 ^ (uint32_t)rand();
		memcpy(buf + at + 4, &new_v, 4);
		c = net_csum_update32(c, old_v, new_v);
		memcpy(buf, &c, 2);
		CU_ASSERT_EQUAL(net_csum(buf, sizeof(buf)), 0);
	}
}

static void test_pseudo4(void)
{
	/* 198.18.0.2 -> 198.18.0.1, TCP, 20 bytes: c612+0002+c612+0001+0006+0014 = 18c41 -> 8c42 */
	static const uint8_t src[4] = { 198, 18, 0, 2 }, dst[4] = { 198, 18, 0, 1 };
	uint32_t s, d;

	memcpy(&s, src, 4);
	memcpy(&d, dst, 4);
	CU_ASSERT_EQUAL(wire16(net_csum_fold(net_csum_pseudo4(s, d, 6, 20))), 0x8c42);
	/* the same as summing the 12 pseudo-header bytes */
	{
		uint8_t ph[12] = { 198, 18, 0, 2, 198, 18, 0, 1, 0, 6, 0x05, 0xdc };

		CU_ASSERT_EQUAL(net_csum_fold(net_csum_pseudo4(s, d, 6, 1500)),
				net_csum_fold(net_csum_add(0, ph, sizeof(ph))));
	}
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "rfc1071_example", test_rfc1071_example },
		{ "odd_and_pieces", test_odd_and_pieces },
		{ "alignment_lengths_running_sums_carries", test_alignment_and_carries },
		{ "incremental_rfc1624", test_incremental },
		{ "pseudo_header_ipv4", test_pseudo4 },
		{ NULL, NULL },
	};
	test_suite("net_csum", cases);
}
