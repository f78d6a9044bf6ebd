/* test_dpdk_steer.c - flow steering arithmetic: Toeplitz against the RSS spec's vectors, RETA, source-port choice (no EAL). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dpdk/dpdk_steer.h"
#include "test.h"
#include "util/sl_status.h"

/* The key of Microsoft's "Verifying the RSS Hash Calculation", which NIC datasheets repeat. */
static const uint8_t ms_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* The spec's IPv4 table: destination, source, hash over addresses, hash with TCP ports. */
static const struct {
	const char *dst;
	uint16_t    dport;
	const char *src;
	uint16_t    sport;
	uint32_t    h_ip, h_tcp;
} ms_v4[] = {
	{ "161.142.100.80", 1766,  "66.9.149.187",   2794,  0x323e8fc2, 0x51ccc178 },
	{ "65.69.140.83",   4739,  "199.92.111.2",   14230, 0xd718262a, 0xc626b0ea },
	{ "12.22.207.184",  38024, "24.19.198.95",   12898, 0xd2d0a5de, 0x5c2b394a },
	{ "209.142.163.6",  2217,  "38.27.205.30",   48228, 0x82989176, 0xafc7327f },
	{ "202.188.127.2",  1303,  "153.39.163.191", 44251, 0x5d1809c5, 0x10e828a2 },
};

static uint32_t ip(const char *s)
{
	struct in_addr a;

	CU_ASSERT_FATAL(inet_pton(AF_INET, s, &a) == 1);
	return a.s_addr;
}

static void symmetric_key(uint8_t *key, size_t len)
{
	for (size_t i = 0; i < len; i++)
		key[i] = (i & 1) ? 0x5a : 0x6d;
}

/* The reply's hash the slow way (the bit loop over wire bytes), independent of dpdk_steer's tables. */
static uint32_t ref_hash(const uint8_t *key, const struct dpdk_steer_tuple *t)
{
	uint8_t in[12];

	memcpy(in, &t->src, 4);
	memcpy(in + 4, &t->dst, 4);
	in[8] = (uint8_t)(t->sport >> 8);
	in[9] = (uint8_t)t->sport;
	in[10] = (uint8_t)(t->dport >> 8);
	in[11] = (uint8_t)t->dport;
	return dpdk_steer_toeplitz(key, 40, in, sizeof(in));
}

/* A small deterministic generator, so a failure replays. */
static uint32_t rnd(uint64_t *st)
{
	*st = *st * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*st >> 32);
}

static void spec_vectors(void)
{
	struct dpdk_steer s;

	CU_ASSERT_EQUAL_FATAL(dpdk_steer_init(&s, ms_key, sizeof(ms_key), 4, 0), SL_OK);
	for (size_t i = 0; i < sizeof(ms_v4) / sizeof(ms_v4[0]); i++) {
		struct dpdk_steer_tuple t = {
			.src = ip(ms_v4[i].src), .dst = ip(ms_v4[i].dst),
			.sport = ms_v4[i].sport, .dport = ms_v4[i].dport,
		};
		uint8_t in[8];

		memcpy(in, &t.src, 4);
		memcpy(in + 4, &t.dst, 4);
		CU_ASSERT_EQUAL(dpdk_steer_toeplitz(ms_key, sizeof(ms_key), in, 8), ms_v4[i].h_ip);
		CU_ASSERT_EQUAL(dpdk_steer_hash4(&s, &t), ms_v4[i].h_tcp);
		CU_ASSERT_EQUAL(ref_hash(ms_key, &t), ms_v4[i].h_tcp);
		if (dpdk_steer_hash4(&s, &t) != ms_v4[i].h_tcp)
			fprintf(stderr, "row %zu: 0x%08x, want 0x%08x\n", i, dpdk_steer_hash4(&s, &t),
				ms_v4[i].h_tcp);
	}
}

/* The 6d5a key repeats every 16 bits, and both swaps move fields by multiples of 16 bits. */
static void symmetric(void)
{
	uint8_t key[40];
	struct dpdk_steer s;
	uint64_t st = 1;

	symmetric_key(key, sizeof(key));
	CU_ASSERT_EQUAL_FATAL(dpdk_steer_init(&s, key, sizeof(key), 8, 0), SL_OK);
	for (int i = 0; i < 10000; i++) {
		struct dpdk_steer_tuple a = {
			.src = rnd(&st), .dst = rnd(&st),
			.sport = (uint16_t)rnd(&st), .dport = (uint16_t)rnd(&st),
		};
		struct dpdk_steer_tuple b = { .src = a.dst, .dst = a.src, .sport = a.dport, .dport = a.sport };

		CU_ASSERT_EQUAL(dpdk_steer_hash4(&s, &a), dpdk_steer_hash4(&s, &b));
		CU_ASSERT_EQUAL(dpdk_steer_owner(&s, &a), dpdk_steer_owner(&s, &b));
		CU_ASSERT(dpdk_steer_owner(&s, &a) < 8);
	}
}

/* The per-byte tables and the bit loop agree on any tuple. */
static void tables_match(void)
{
	struct dpdk_steer s;
	uint64_t st = 11;

	CU_ASSERT_EQUAL_FATAL(dpdk_steer_init(&s, ms_key, sizeof(ms_key), 4, 0), SL_OK);
	for (int i = 0; i < 10000; i++) {
		struct dpdk_steer_tuple t = {
			.src = rnd(&st), .dst = rnd(&st),
			.sport = (uint16_t)rnd(&st), .dport = (uint16_t)rnd(&st),
		};

		CU_ASSERT_EQUAL(dpdk_steer_hash4(&s, &t), ref_hash(ms_key, &t));
	}
}

static void reta_default(void)
{
	struct dpdk_steer s;

	CU_ASSERT_EQUAL_FATAL(dpdk_steer_init(&s, ms_key, sizeof(ms_key), 3, 0), SL_OK);
	CU_ASSERT_EQUAL(s.reta_size, 128);
	for (unsigned i = 0; i < s.reta_size; i++)
		CU_ASSERT_EQUAL(s.reta[i], i % 3);
	/* 0x51ccc178 % 128 = 0x78 = 120 -> queue 0 */
	CU_ASSERT_EQUAL(dpdk_steer_queue(&s, 0x51ccc178), 120 % 3);
	CU_ASSERT_EQUAL(dpdk_steer_init(&s, ms_key, sizeof(ms_key), 0, 0), SL_ERROR);
	CU_ASSERT_EQUAL(dpdk_steer_init(&s, ms_key, sizeof(ms_key), 2, DPDK_STEER_RETA_MAX + 1), SL_ERROR);
	CU_ASSERT_EQUAL(dpdk_steer_init(&s, ms_key, DPDK_STEER_KEY_MAX + 1, 2, 0), SL_ERROR);
}

/* A table read from the device replaces the default: owners and picks follow it; bad ones are refused. */
static void reta_device(void)
{
	struct dpdk_steer s;
	uint16_t reta[DPDK_STEER_RETA_MAX];
	uint8_t sym[40];
	uint64_t st = 5;

	symmetric_key(sym, sizeof(sym));
	CU_ASSERT_EQUAL_FATAL(dpdk_steer_init(&s, sym, sizeof(sym), 2, 2048), SL_OK);
	CU_ASSERT_EQUAL(s.reta_size, 2048);
	/* a device that put the first half on queue 1, the second on 0 */
	for (unsigned i = 0; i < 64; i++)
		reta[i] = i < 32 ? 1 : 0;
	CU_ASSERT_EQUAL_FATAL(dpdk_steer_set_reta(&s, reta, 64), SL_OK);
	CU_ASSERT_EQUAL(s.reta_size, 64);
	for (int i = 0; i < 1000; i++) {
		struct dpdk_steer_tuple t = { .src = rnd(&st), .dst = rnd(&st),
					      .sport = (uint16_t)rnd(&st), .dport = 25 };
		uint32_t h = dpdk_steer_hash4(&s, &t);
		uint16_t p = 40000;

		CU_ASSERT_EQUAL(dpdk_steer_owner(&s, &t), (h % 64) < 32 ? 1u : 0u);
		CU_ASSERT_EQUAL_FATAL(dpdk_steer_pick_port(&s, t.dst, t.src, 25, (uint16_t)(i & 1), &p, 32768,
							   60999), SL_OK);
		{
			struct dpdk_steer_tuple reply = { .src = t.src, .dst = t.dst, .sport = 25, .dport = p };
			struct dpdk_steer_tuple out = { .src = t.dst, .dst = t.src, .sport = p, .dport = 25 };

			CU_ASSERT_EQUAL(dpdk_steer_owner(&s, &reply), (unsigned)(i & 1));
			CU_ASSERT_EQUAL(dpdk_steer_owner(&s, &out), (unsigned)(i & 1));
		}
	}
	reta[3] = 2;   /* no such queue */
	CU_ASSERT_EQUAL(dpdk_steer_set_reta(&s, reta, 64), SL_ERROR);
	CU_ASSERT_EQUAL(s.reta[3], 1);
	CU_ASSERT_EQUAL(dpdk_steer_set_reta(&s, reta, 0), SL_ERROR);
	CU_ASSERT_EQUAL(dpdk_steer_set_reta(&s, reta, DPDK_STEER_RETA_MAX + 1), SL_ERROR);
}

/* Every queue, many backends, both keys: the reply of the chosen port hashes (full Toeplitz) home. */
static void pick_lands(void)
{
	static const uint16_t nqs[] = { 1, 2, 3, 4, 8, 16 };
	uint8_t sym[40];
	const uint8_t *keys[2] = { ms_key, sym };
	uint64_t st = 7;

	symmetric_key(sym, sizeof(sym));
	for (int k = 0; k < 2; k++) {
		for (size_t q = 0; q < sizeof(nqs) / sizeof(nqs[0]); q++) {
			struct dpdk_steer s;

			CU_ASSERT_EQUAL_FATAL(dpdk_steer_init(&s, keys[k], 40, nqs[q], q & 1 ? 512 : 128), SL_OK);
			for (int b = 0; b < 200; b++) {
				uint32_t us = rnd(&st), be = rnd(&st);
				uint16_t bport = b & 1 ? 25 : (uint16_t)rnd(&st);
				uint16_t port = (uint16_t)(32768 + rnd(&st) % 28232);

				for (uint16_t w = 0; w < nqs[q]; w++) {
					uint16_t prev = port;
					struct dpdk_steer_tuple reply;

					CU_ASSERT_EQUAL_FATAL(dpdk_steer_pick_port(&s, us, be, bport, w, &port,
										   32768, 60999), SL_OK);
					CU_ASSERT(port >= 32768 && port <= 60999);
					CU_ASSERT(port != prev);
					reply = (struct dpdk_steer_tuple){ .src = be, .dst = us, .sport = bport,
									   .dport = port };
					CU_ASSERT_EQUAL(dpdk_steer_queue(&s, ref_hash(keys[k], &reply)), w);
					CU_ASSERT_EQUAL(dpdk_steer_owner(&s, &reply), w);
				}
			}
		}
	}
}

static uint16_t reply_queue(const struct dpdk_steer *s, uint32_t us, uint32_t be, uint16_t bport, uint16_t p)
{
	struct dpdk_steer_tuple r = { .src = be, .dst = us, .sport = bport, .dport = p };

	return dpdk_steer_queue(s, ref_hash(s->key, &r));
}

/* A one-port range that lands elsewhere, a bad queue, a bad range: SL_ERROR, *port_io untouched. */
static void exhaustion(void)
{
	struct dpdk_steer s;
	uint32_t us = ip("10.0.0.1"), be = ip("10.0.0.2");
	uint16_t port = 40000, q;

	CU_ASSERT_EQUAL_FATAL(dpdk_steer_init(&s, ms_key, sizeof(ms_key), 4, 0), SL_OK);
	q = reply_queue(&s, us, be, 25, 40000);
	CU_ASSERT_EQUAL(dpdk_steer_pick_port(&s, us, be, 25, (uint16_t)((q + 1) % 4), &port, 40000, 40000),
			SL_ERROR);
	CU_ASSERT_EQUAL(port, 40000);
	/* the same single port does serve its own queue, again and again */
	CU_ASSERT_EQUAL(dpdk_steer_pick_port(&s, us, be, 25, q, &port, 40000, 40000), SL_OK);
	CU_ASSERT_EQUAL(port, 40000);
	CU_ASSERT_EQUAL(dpdk_steer_pick_port(&s, us, be, 25, 4, &port, 32768, 60999), SL_ERROR);
	CU_ASSERT_EQUAL(dpdk_steer_pick_port(&s, us, be, 25, 0, &port, 50000, 40000), SL_ERROR);
	CU_ASSERT_EQUAL(port, 40000);
	/* a 3-port range with 16 queues: some queue has no port there */
	CU_ASSERT_EQUAL_FATAL(dpdk_steer_init(&s, ms_key, sizeof(ms_key), 16, 0), SL_OK);
	for (uint16_t w = 0; w < 16; w++) {
		int have = 0;

		for (uint16_t p = 40000; p <= 40002; p++)
			have |= reply_queue(&s, us, be, 25, p) == w;
		port = 40001;
		CU_ASSERT_EQUAL(dpdk_steer_pick_port(&s, us, be, 25, w, &port, 40000, 40002),
				have ? SL_OK : SL_ERROR);
	}
}

/* Repeated picks walk the range in order, wrap from hi to lo, and come back to where they began. */
static void wraparound(void)
{
	struct dpdk_steer s;
	uint32_t us = ip("192.0.2.1"), be = ip("198.51.100.7");
	const uint16_t lo = 65500, hi = 65535;   /* the top of the port space: no uint16_t overflow */
	uint16_t want[64], nwant = 0, port = hi;

	CU_ASSERT_EQUAL_FATAL(dpdk_steer_init(&s, ms_key, sizeof(ms_key), 2, 0), SL_OK);
	for (uint32_t p = lo; p <= hi; p++)
		if (reply_queue(&s, us, be, 2525, (uint16_t)p) == 1)
			want[nwant++] = (uint16_t)p;
	CU_ASSERT_FATAL(nwant >= 2);
	/* starting at hi, the first is the lowest matching port */
	for (unsigned round = 0; round < 2; round++)
		for (unsigned i = 0; i < nwant; i++) {
			CU_ASSERT_EQUAL_FATAL(dpdk_steer_pick_port(&s, us, be, 2525, 1, &port, lo, hi), SL_OK);
			CU_ASSERT_EQUAL(port, want[i]);
		}
	/* a start outside the range begins at lo */
	port = 1000;
	CU_ASSERT_EQUAL(dpdk_steer_pick_port(&s, us, be, 2525, 1, &port, lo, hi), SL_OK);
	CU_ASSERT_EQUAL(port, want[0]);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Not a pass/fail bound (shared CI machines): the figure for the commit message and the docs. */
static void cost(void)
{
	static const uint16_t nqs[] = { 2, 8, 16 };
	struct dpdk_steer s;
	uint64_t st = 3;
	volatile uint32_t sink = 0;
	uint8_t in[12] = { 0 };
	const int n = 200000;
	double t0;

	t0 = now_ns();
	for (int i = 0; i < n; i++) {
		in[11] = (uint8_t)i;
		sink ^= dpdk_steer_toeplitz(ms_key, sizeof(ms_key), in, sizeof(in));
	}
	printf("\n    toeplitz bit loop, 12 bytes: %.1f ns\n", (now_ns() - t0) / n);
	CU_ASSERT_EQUAL_FATAL(dpdk_steer_init(&s, ms_key, sizeof(ms_key), 4, 0), SL_OK);
	t0 = now_ns();
	for (int i = 0; i < n; i++) {
		struct dpdk_steer_tuple t = { .src = (uint32_t)i, .dst = 1, .sport = 25, .dport = (uint16_t)i };

		sink ^= dpdk_steer_hash4(&s, &t);
	}
	printf("    hash4 (tables): %.1f ns\n", (now_ns() - t0) / n);
	for (size_t q = 0; q < sizeof(nqs) / sizeof(nqs[0]); q++) {
		uint16_t port = 32768;

		CU_ASSERT_EQUAL_FATAL(dpdk_steer_init(&s, ms_key, sizeof(ms_key), nqs[q], 128), SL_OK);
		t0 = now_ns();
		for (int i = 0; i < n; i++) {
			uint32_t be = rnd(&st);

			CU_ASSERT_EQUAL_FATAL(dpdk_steer_pick_port(&s, 0x0100000a, be, 25,
								   (uint16_t)(i % nqs[q]), &port, 32768, 60999), SL_OK);
		}
		printf("    pick_port, %2u queues: %.1f ns/pick\n", nqs[q], (now_ns() - t0) / n);
	}
	(void)sink;
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "toeplitz: RSS spec IPv4 vectors", spec_vectors },
		{ "toeplitz: symmetric key, both directions", symmetric },
		{ "toeplitz: byte tables match the bit loop", tables_match },
		{ "reta: default round robin", reta_default },
		{ "reta: the device's table", reta_device },
		{ "pick_port: reply lands on every queue", pick_lands },
		{ "pick_port: exhaustion", exhaustion },
		{ "pick_port: wraparound", wraparound },
		{ "pick_port: cost", cost },
		{ NULL, NULL },
	};

	test_suite("dpdk_steer", cases);
}
