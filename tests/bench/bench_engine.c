/* bench_engine.c - the SMTP engine and relay session alone, no network: N
 * minimal sessions (EHLO, MAIL, RCPT, DATA of 1 KB, QUIT) through
 * relay_session, the in-memory transport and its instant MTA, on one core.
 * Prints commands/s and ns per session: median of 5 runs after a warm-up,
 * with the spread (min..max). Usage: bench_engine [sessions per run]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/session/fake_transport.c"
#include "util/sl_log.h"

#define RUNS 5
#define CMDS_PER_SESSION 5   /* EHLO MAIL RCPT DATA QUIT (end of DATA not counted) */

static char body[1100];

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One session; pipelined: the client sends its groups in one segment each. */
static void session(struct fake_env *e, bool pipelined)
{
	struct fake_conn *c = fake_conn_new(e, "198.18.0.7", 40000, true);

	c->mta.pipelining = pipelined;
	if (pipelined) {
		fake_client_str(c, "EHLO bench.example.org\r\n");
		fake_client_str(c, "MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\nDATA\r\n");
		fake_client_str(c, body);
		fake_client_str(c, "QUIT\r\n");
	} else {
		fake_client_str(c, "EHLO bench.example.org\r\n");
		fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
		fake_client_str(c, "RCPT TO:<u@example.net>\r\n");
		fake_client_str(c, "DATA\r\n");
		fake_client_str(c, body);
		fake_client_str(c, "QUIT\r\n");
	}
	if (c->mta.accepted != 1 || c->s != NULL) {
		fprintf(stderr, "bench: the session did not deliver its message:\n%s\n", fake_all(c, SL_LEG_CLIENT));
		exit(1);
	}
	fake_conn_free(c);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void bench(struct fake_env *e, const char *name, bool pipelined, unsigned n)
{
	uint64_t t[RUNS];

	for (unsigned i = 0; i < n / 5 + 1; i++) /* warm-up, discarded */
		session(e, pipelined);
	for (int r = 0; r < RUNS; r++) {
		uint64_t t0 = now_ns();
		for (unsigned i = 0; i < n; i++)
			session(e, pipelined);
		t[r] = now_ns() - t0;
	}
	qsort(t, RUNS, sizeof(t[0]), cmp_u64);
	double med = (double)t[RUNS / 2];
	printf("| %-22s | %9u | %12.0f | %10.0f | %8.0f .. %-8.0f | %9.0f |\n", name, n,
	       (double)n * CMDS_PER_SESSION * 1e9 / med, med / n, (double)t[0] / n, (double)t[RUNS - 1] / n,
	       (double)n * 1e9 / med);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 20000;
	struct fake_env *e;
	size_t off = 0;

	sl_log_set_level(SL_LOG_ERR);
	sl_log_set_sink(NULL, NULL);
	/* 1 KB of message: 15 lines of 66 bytes + the terminator */
	off += (size_t)snprintf(body, sizeof(body), "Subject: bench\r\n\r\n");
	while (off < 1000)
		off += (size_t)snprintf(body + off, sizeof(body) - off,
					"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqr\r\n");
	snprintf(body + off, sizeof(body) - off, ".\r\n");
	e = fake_env_new("hostname gw.example.net\nrelay_domains example.net\n"
			 "backend m1 198.18.1.10:25 xclient off\nmax_sessions 1000000\n");
	if (e == NULL)
		return 1;
	if (n == 0)
		n = 1;
	printf("relay_session + fake transport + instant MTA, one core, %u sessions per run,\n"
	       "median of %d runs after a warm-up (spread: min .. max ns/session)\n\n", n, RUNS);
	printf("| %-22s | %9s | %12s | %10s | %20s | %9s |\n", "variant", "sessions", "commands/s",
	       "ns/session", "spread ns/session", "sessions/s");
	printf("|------------------------|-----------|--------------|------------|----------------------|-----------|\n");
	bench(e, "one command a segment", false, n);
	bench(e, "pipelined", true, n);
	fake_env_free(e);
	return 0;
}
