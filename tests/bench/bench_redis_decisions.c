/* bench_redis_decisions.c - policy decisions/s through the control thread's
 * Redis store (redis_store.h on an sl_evloop, as control.c drives it), pipelined
 * versus one round trip each, with the Redis round-trip time of the same run.
 *
 *   bench_redis_decisions [-r RUNS] [-n DECISIONS] [-1 DECISIONS] [-w WINDOW] [-k KEYS]
 *
 * It starts a private redis-server (a free port on 127.0.0.1, a temporary
 * directory, no persistence) and stops it at the end, even on SIGINT. Each run:
 *   ping       PING round trips on a plain blocking hiredis connection: the RTT floor;
 *   single     a decision, then wait for its verdict before the next (one round trip each);
 *   pipelined  up to WINDOW decisions outstanding, new ones submitted every loop turn as
 *              verdicts come back: the store batches a turn's decisions in one write.
 * The rule is msg_rate ip with a count no run reaches, so every decision runs
 * the GCRA script and is accepted; KEYS client addresses take turns.
 * Medians over the runs, with min..max: this machine is shared and noisy. */
#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/pol.h"
#include "redis/redis_store.h"
#include "../unit/redis/redis_server.h"
#include "util/sl_clock.h"
#include "util/sl_evloop.h"

#define RUNS_MAX 32

/* the private redis-server (tests/unit/redis/redis_server.c), stopped at exit */
static struct server redis;

static void server_stop(void)
{
	server_cleanup(&redis);
}

static void on_signal(int sig)
{
	if (redis.pid > 0)
		kill(redis.pid, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- decisions */

struct bench {
	struct sl_evloop *loop;
	struct pol_store *st;
	struct pol_query *q;          /**< KEYS prepared queries */
	unsigned nkeys;
	uint64_t answered, accepted;
};

static void on_done(void *arg, uint64_t token, const struct pol_verdict *v)
{
	struct bench *b = arg;

	(void)token;
	b->answered++;
	b->accepted += v->action == POL_ACCEPT;
}

static bool run_until(struct bench *b, uint64_t want, uint64_t ms)
{
	uint64_t end = sl_clock_ms() + ms;

	while (b->answered < want && sl_clock_ms() < end)
		sl_evloop_run_once(b->loop, 5);
	return b->answered >= want;
}

/* One at a time: decisions/s and the median wait of one, in us. */
static double run_single(struct bench *b, unsigned n, double *median_us)
{
	uint64_t *lat = malloc(n * sizeof(*lat)), t0 = sl_clock_ns(), start = b->answered;
	double s;

	for (unsigned i = 0; i < n; i++) {
		uint64_t t = sl_clock_ns();
		pol_store_decide(b->st, &b->q[i % b->nkeys], sl_clock_ms(), i, on_done, b);
		if (!run_until(b, start + i + 1, 5000)) {
			fprintf(stderr, "no verdict within 5 s\n");
			exit(1);
		}
		if (lat != NULL)
			lat[i] = sl_clock_ns() - t;
	}
	s = (double)(sl_clock_ns() - t0) / 1e9;
	*median_us = 0;
	if (lat != NULL) {
		for (unsigned i = 1; i < n; i++) /* insertion sort: n is small */
			for (unsigned j = i; j > 0 && lat[j - 1] > lat[j]; j--) {
				uint64_t x = lat[j];
				lat[j] = lat[j - 1];
				lat[j - 1] = x;
			}
		*median_us = (double)lat[n / 2] / 1000.0;
		free(lat);
	}
	return n / s;
}

/* Up to window outstanding, topped up every loop turn. */
static double run_pipelined(struct bench *b, unsigned n, unsigned window)
{
	uint64_t t0 = sl_clock_ns(), start = b->answered, end = sl_clock_ms() + 60000;
	unsigned sent = 0;

	while (b->answered - start < n) {
		while (sent < n && sent - (b->answered - start) < window) {
			pol_store_decide(b->st, &b->q[sent % b->nkeys], sl_clock_ms(), sent, on_done, b);
			sent++;
		}
		sl_evloop_run_once(b->loop, 5);
		if (sl_clock_ms() > end) {
			fprintf(stderr, "pipelined run did not finish in 60 s\n");
			exit(1);
		}
	}
	return n / ((double)(sl_clock_ns() - t0) / 1e9);
}

/* PING round trips on a blocking connection: the median, in us. */
static double run_ping(unsigned n)
{
	redisContext *c = server_client(&redis);
	uint64_t *lat = malloc(n * sizeof(*lat));
	double med;

	if (c == NULL || lat == NULL) {
		fprintf(stderr, "PING: cannot connect\n");
		exit(1);
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t t = sl_clock_ns();
		redisReply *r = redisCommand(c, "PING");
		lat[i] = sl_clock_ns() - t;
		if (r == NULL) {
			fprintf(stderr, "PING failed\n");
			exit(1);
		}
		freeReplyObject(r);
	}
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && lat[j - 1] > lat[j]; j--) {
			uint64_t x = lat[j];
			lat[j] = lat[j - 1];
			lat[j - 1] = x;
		}
	med = (double)lat[n / 2] / 1000.0;
	free(lat);
	redisFree(c);
	return med;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void summary(const char *what, const char *unit, double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	printf("%-34s %12.1f %-6s (min %.1f, max %.1f, %u runs)\n", what, v[n / 2], unit, v[0], v[n - 1], n);
}

int main(int argc, char **argv)
{
	unsigned runs = 5, npipe = 50000, nsingle = 3000, window = 2000, nkeys = 256;
	double ping[RUNS_MAX], single[RUNS_MAX], single_us[RUNS_MAX], pipe[RUNS_MAX], ratio[RUNS_MAX];
	struct cfg_limit lim;
	struct cfg cfg;
	struct redis_store_opts o;
	struct redis_store_stats st0, st1;
	struct bench b;
	int opt;

	while ((opt = getopt(argc, argv, "r:n:1:w:k:h")) != -1) {
		switch (opt) {
		case 'r': runs = (unsigned)atoi(optarg); break;
		case 'n': npipe = (unsigned)atoi(optarg); break;
		case '1': nsingle = (unsigned)atoi(optarg); break;
		case 'w': window = (unsigned)atoi(optarg); break;
		case 'k': nkeys = (unsigned)atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-r RUNS] [-n PIPELINED] [-1 SINGLE] [-w WINDOW] [-k KEYS]\n", argv[0]);
			return 2;
		}
	}
	if (runs == 0 || runs > RUNS_MAX || npipe == 0 || nsingle == 0 || window == 0 || nkeys == 0 ||
	    nkeys > 65536) {
		fprintf(stderr, "runs 1..%d, counts and keys > 0, keys <= 65536\n", RUNS_MAX);
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	atexit(server_stop);
	if (!server_start(&redis)) {
		fprintf(stderr, "cannot start redis-server (is it installed?)\n");
		return 1;
	}

	memset(&lim, 0, sizeof(lim));
	lim.kind = CFG_LIMIT_MSG_RATE;
	lim.key = CFG_KEY_IP;
	lim.count = lim.burst = 1000000000; /* never reached: every decision is an accepted charge */
	lim.period_ms = 60000;
	memset(&cfg, 0, sizeof(cfg));
	cfg.limits = &lim;
	cfg.nlimits = 1;
	memset(&o, 0, sizeof(o));
	o.host = "127.0.0.1";
	o.port = (uint16_t)redis.port;
	o.timeout_ms = 10000;   /* about speed, not fail modes: nothing may time out */
	o.connect_timeout_ms = 1000;

	memset(&b, 0, sizeof(b));
	b.loop = sl_evloop_new();
	b.nkeys = nkeys;
	b.q = calloc(nkeys, sizeof(*b.q));
	if (b.loop == NULL || b.q == NULL)
		return 1;
	for (unsigned i = 0; i < nkeys; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "198.18.%u.%u", i / 256, i % 256);
		b.q[i].stage = POL_STAGE_MAIL;
		sl_addr_parse(ip, &b.q[i].client, false);
		strcpy(b.q[i].helo, "client.example");
		strcpy(b.q[i].sender, "s@example.com");
	}
	b.st = redis_store_new_opts(&cfg, b.loop, &o);
	if (b.st == NULL)
		return 1;
	for (uint64_t end = sl_clock_ms() + 3000; sl_clock_ms() < end;) {
		redis_store_stats(b.st, &st0);
		if (st0.up)
			break;
		sl_evloop_run_once(b.loop, 5);
	}
	if (!st0.up) {
		fprintf(stderr, "the store did not connect\n");
		return 1;
	}
	/* warm-up, discarded: scripts loaded, keys created, caches warm */
	run_pipelined(&b, 5000, window);
	run_single(&b, 200, &single_us[0]);

	printf("redis-server 127.0.0.1:%d, rule msg_rate ip (%u keys), %u runs: %u pipelined (window %u), "
	       "%u one at a time\n", redis.port, nkeys, runs, npipe, window, nsingle);
	printf("%-4s %10s %14s %12s %14s %8s %12s\n", "run", "ping_us", "single_dec/s", "single_us",
	       "pipelined/s", "ratio", "dec/write");
	redis_store_stats(b.st, &st0);
	b.accepted = 0;
	for (unsigned r = 0; r < runs; r++) {
		struct redis_store_stats a, z;

		ping[r] = run_ping(2000);
		single[r] = run_single(&b, nsingle, &single_us[r]);
		redis_store_stats(b.st, &a);
		pipe[r] = run_pipelined(&b, npipe, window);
		redis_store_stats(b.st, &z);
		ratio[r] = pipe[r] / single[r];
		printf("%-4u %10.1f %14.0f %12.1f %14.0f %8.1f %12.1f\n", r + 1, ping[r], single[r], single_us[r],
		       pipe[r], ratio[r], z.writes > a.writes ? (double)(z.round_trips - a.round_trips) / (double)(z.writes - a.writes) : 0.0);
	}
	redis_store_stats(b.st, &st1);
	printf("\n");
	summary("Redis round trip (PING)", "us", ping, runs);
	summary("one round trip each: decisions/s", "/s", single, runs);
	summary("one round trip each: wait", "us", single_us, runs);
	summary("pipelined: decisions/s", "/s", pipe, runs);
	summary("pipelined / one each", "x", ratio, runs);
	printf("all runs: %" PRIu64 " decisions, %" PRIu64 " accepted, %" PRIu64 " failed (fail mode), %" PRIu64
	       " timeouts, %" PRIu64 " socket writes, %" PRIu64 " loop turns that sent\n",
	       st1.decisions - st0.decisions, b.accepted, st1.failed - st0.failed, st1.timeouts - st0.timeouts,
	       st1.writes - st0.writes, st1.batches - st0.batches);
	b.st->ops->destroy(b.st);
	sl_evloop_free(b.loop);
	free(b.q);
	if (st1.failed != st0.failed) {
		fprintf(stderr, "some decisions took the fail mode: the figures are not decisions\n");
		return 1;
	}
	return 0;
}
