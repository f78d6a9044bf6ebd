/* bench_dpdk_capacity.c - issue 3's in-process capacity: sluice's `transport dpdk` on one lcore, an SMTP load generator and sink on our own TCP stack on another, two ring ethdevs. */
#include <getopt.h>
#include <malloc.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "cfg.h"
#include "control.h"
#include "dpdk/dpdk.h"
#include "dpdk/dpdk_stats.h"
#include "dpdk/dpdk_transport.h"
#include "dpdk_peer.h"
#include "../unit/dpdk/ring_pair.h"
#include "../unit/dpdk/ring_sluice.h"
#include "relay/backend_pool.h"
#include "tcp/tcp-t.h"
#include "util/sl_addr.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

/*
 * Port A is sluice: 198.18.0.1/24, `transport dpdk`, its one worker on
 * lcore 1. Port B is the peer (dpdk_peer.c) on the main lcore 0:
 * 198.18.0.2/24, SMTP clients to 198.18.0.1:25 and the backend sink on
 * 198.18.0.2:2525, one instance of our TCP stack. The two ports are joined
 * by two rte_rings (net_ring), so no kernel and no NIC is in the path.
 * The control thread of sluice is a plain thread on lcore 0's CPU too (it
 * sleeps: no policy, no health checks); the peer spins like an lcore (-y:
 * it yields when idle, for a control thread that has work).
 *
 * Each session: 220, EHLO, MAIL, RCPT, DATA, 1 KB, QUIT, one command per
 * reply (as smtp-source), relayed by sluice to the sink, which checks every
 * message byte for byte as it arrives. A run counts only if all its
 * sessions got every expected reply and the sink holds all its messages
 * intact: otherwise the program says FAIL and prints no figure for it.
 *
 * Figures per run, then the median and min..max over the runs of each
 * concurrency, after a discarded warm-up:
 *  - relayed sessions/s (wall clock of the run);
 *  - packets/s per lcore (rx + tx): sluice's from its lcore counters
 *    (dpdk_stats_read), the generator's from its own;
 *  - busy share and cycles per session of each lcore: the TSC cycles of
 *    loop iterations that moved a packet, over the sessions; TSC Hz over
 *    sluice's cycles per session is what one lcore would carry if it had
 *    no idle iteration at all (the generator being the limit otherwise);
 *  - the peer's retransmits and RTO expiries (0 on a clean run).
 *
 * Usage: bench_dpdk_capacity [-c CONC[,CONC...]] [-n SESSIONS] [-r RUNS]
 *        [-w WARMUP] [-b BUDGET_S] [-P] [-T] [-y] [-v]
 *   -c  concurrencies, sessions open at a time (default 8,64,256)
 *   -n  sessions per run (default 20000), -r runs (default 5)
 *   -w  warm-up sessions per concurrency, discarded (default n/10)
 *   -b  BUDGET_S seconds for the whole benchmark (default 50), shared
 *       out among the concurrencies: past its share a concurrency starts no
 *       more runs (one always runs); each run also stops (FAIL) after 60 s
 *   -P  the sink does not offer PIPELINING (sluice then sends MAIL, RCPT
 *       one at a time to it; by default it offers it, as smtp-sink does)
 *   -T  mallopt(M_TRIM_THRESHOLD, 1 GiB) first: glibc then never gives
 *       heap back with madvise(), which sluice's free() per session makes
 *       it do (a syscall and a TLB-shootdown IPI on the lcore): shows what
 *       that costs
 *   -y  the generator sched_yield()s on idle iterations
 *   -v  one line per run
 * Figures are the stack's only when each lcore thread had its CPU: the
 * table gives the share of the run each was on one (/proc schedstat), and
 * sessions per CPU-second of sluice's thread, which holds up when it was not.
 * Exit 0 when every run was clean, 1 on a failed run or set-up error.
 */

#define BODY_LEN     1024
#define MAX_CONC     1000
#define MAX_RUNS     50
#define RUN_WALL_S   60
#define SINK_PORT    2525
#define PEER_MBUFS   32767
#define OUR_MBUFS    32767
#define RING_SIZE    4096

static struct ring_pair rp;
static bool rp_open;
static struct rte_mempool *peer_pool;
static struct dpdk_peer *peer;
static struct ring_sluice sut;   /* sluice on port A: sut.dp its dataplane */
static char msg[BODY_LEN + 3];
static bool yield_idle;
static int tid_gen, tid_sl;   /* threads of lcore 0 (this one) and lcore 1, for /proc/.../schedstat */

/* Scheduler time of a thread: on a CPU, and runnable but waiting for one (ns). */
struct sched_ns {
	uint64_t run, wait;
};

/* What one run measured. */
struct run {
	double   secs;
	uint64_t n;
	struct sched_ns             gs0, gs1, ss0, ss1;   /* schedstat of the generator and sluice threads */
	struct dpdk_stats           sl0, sl1;   /* sluice's lcore before and after */
	struct dpdk_peer_stats      pe0, pe1;   /* the generator's */
	struct tcp_counters         tc0, tc1;   /* the generator's TCP stack */
	struct dpdk_tp_stats        tp0, tp1;   /* sluice's transport */
};

static void make_msg(void)
{
	/* 1024 bytes of 64-byte lines (no line starts with a dot: nothing to stuff), then ".\r\n" */
	for (int i = 0; i < BODY_LEN; i++)
		msg[i] = (i % 64 == 62) ? '\r' : (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
	memcpy(msg + BODY_LEN - 2, "\r\n.\r\n", 5);
}

static int setup(unsigned max_conc, bool pipelining)
{
	char eal[256], err[512], conf[1024];
	struct dpdk_peer_cfg pc;
	unsigned max_sessions = SL_MAX(100u, 2 * max_conc);
	int n;

	sl_log_set_level(SL_LOG_WARN);   /* one info line per session would be the benchmark */
	make_msg();
	snprintf(eal, sizeof(eal), "--no-huge -m 512 --no-pci --no-shconf -l 0-1 --file-prefix=sl_bcap_%d "
		 "--log-level=lib.eal:warning --no-telemetry", (int)getpid());
	if (dpdk_eal_init("bench_dpdk_capacity", eal, 0, NULL, err, sizeof(err)) != SL_OK) {
		fprintf(stderr, "EAL: %s\n", err);
		return -1;
	}
	peer_pool = rte_pktmbuf_pool_create("sl_bcap_peer", PEER_MBUFS, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					    SOCKET_ID_ANY);
	if (peer_pool == NULL) {
		fprintf(stderr, "peer mbuf pool: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	rp_open = true;   /* from here ring_pair_close undoes what was made */
	if (ring_pair_open(&rp, "sl_bcap", 1, RING_SIZE, peer_pool, 1024, 1024) != 0)
		return -1;

	memset(&pc, 0, sizeof(pc));
	pc.port_id = (uint16_t)rp.port_b;
	pc.pool = peer_pool;
	pc.mac = (struct net_mac){ { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x02 } };
	pc.addr = "198.18.0.2";
	pc.plen = 24;
	pc.server = "198.18.0.1:25";
	pc.sink_port = SINK_PORT;
	pc.sink_pipelining = pipelining;
	pc.max_sessions = 2 * max_conc + 64;   /* closing ones linger a little */
	pc.msg = msg;
	pc.msg_len = sizeof(msg);
	pc.verbose_fails = 5;
	peer = dpdk_peer_new(&pc, err, sizeof(err));
	if (peer == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}

	n = snprintf(conf, sizeof(conf),
		     "hostname mx.test.example\n"
		     "listen 198.18.0.1:25\n"
		     "transport kernel\n"          /* the dpdk block is built by hand below */
		     "relay_domains example.net\n"
		     "greet_pause 0s\n"
		     "health_check interval 0s\n"  /* health checks go over kernel sockets: none here */
		     "max_sessions %u\n"
		     "shutdown_grace 2s\n"
		     "backend sink 198.18.0.2:%u xclient off\n",
		     max_sessions, SINK_PORT);
	if (ring_sluice_start(&sut, &rp, "bench", conf, (size_t)n, "198.18.0.1", 24, OUR_MBUFS) != 0)
		return -1;
	if (dpdk_peer_resolve(peer, 2000) != SL_OK) {
		fprintf(stderr, "the peer could not resolve 198.18.0.1 (sluice's port) in 2 s\n");
		return -1;
	}
	return 0;
}

/* ring_sluice_stop's settle: the peer answers the closes */
static void peer_settle(void *arg)
{
	dpdk_peer_settle(arg, 10, true);
}

static void teardown(void)
{
	ring_sluice_stop(&sut, peer != NULL ? peer_settle : NULL, peer);
	dpdk_peer_free(peer);
	if (rp_open)
		ring_pair_close(&rp);
	rte_mempool_free(peer_pool);
	dpdk_eal_cleanup();
}

/* The lcore 1 thread: EAL names it rte-worker-1. */
static int find_worker_tid(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int tid = 0;

	while (d != NULL && (e = readdir(d)) != NULL && tid == 0) {
		char path[300], comm[64] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) != NULL && strncmp(comm, "rte-worker-1", 12) == 0)
			tid = atoi(e->d_name);
		fclose(f);
	}
	if (d != NULL)
		closedir(d);
	return tid;
}

static void sched_read(int tid, struct sched_ns *s)
{
	char path[64];
	unsigned long long run = 0, wait = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	f = tid > 0 ? fopen(path, "r") : NULL;
	if (f != NULL) {
		if (fscanf(f, "%llu %llu", &run, &wait) != 2)
			run = wait = 0;
		fclose(f);
	}
	s->run = run;
	s->wait = wait;
}

static void snap(struct dpdk_stats *sl, struct dpdk_peer_stats *pe, struct tcp_counters *tc, struct dpdk_tp_stats *tp)
{
	dpdk_stats_read(sut.dp, 0, sl);
	*pe = *dpdk_peer_stats(peer);
	*tc = *dpdk_peer_tcp(peer);
	dpdk_tp_get_stats(sut.dp, tp);
}

/*
 * n sessions at concurrency c, then the checks. The sluice lcore's
 * counters lag by at most a burst (dpdk_stats.h): read after the peer has
 * settled, so every packet of the run is in them. true: a clean run.
 */
static bool one_run(uint64_t n, unsigned c, struct run *r)
{
	uint64_t hz = rte_get_tsc_hz(), t0, t1;
	const struct dpdk_peer_stats *a, *b;
	bool clean = true;
	int rc;

	memset(r, 0, sizeof(*r));
	r->n = n;
	snap(&r->sl0, &r->pe0, &r->tc0, &r->tp0);
	sched_read(tid_gen, &r->gs0);
	sched_read(tid_sl, &r->ss0);
	t0 = rte_rdtsc();
	rc = dpdk_peer_run(peer, n, c, t0 + hz * RUN_WALL_S, yield_idle);
	t1 = rte_rdtsc();
	sched_read(tid_gen, &r->gs1);
	sched_read(tid_sl, &r->ss1);
	r->secs = (double)(t1 - t0) / (double)hz;
	if (!dpdk_peer_settle(peer, 2000, yield_idle))
		fprintf(stderr, "note: peer connections still open 2 s after the run\n");
	rte_delay_us_sleep(1000);   /* the lcore's last counter stores */
	snap(&r->sl1, &r->pe1, &r->tc1, &r->tp1);

	a = &r->pe0;
	b = &r->pe1;
#define D(f) (b->f - a->f)
	if (rc != SL_OK) {
		printf("FAIL: %lu of %lu sessions done after %d s\n", (unsigned long)D(done), (unsigned long)n, RUN_WALL_S);
		clean = false;
	}
	if (D(ok) != n || D(failed) != 0) {
		printf("FAIL: %lu sessions good, %lu failed (unexpected replies 1xx..5xx: %lu %lu %lu %lu %lu, "
		       "other %lu), of %lu\n", (unsigned long)D(ok), (unsigned long)D(failed),
		       (unsigned long)D(fail_class[1]), (unsigned long)D(fail_class[2]), (unsigned long)D(fail_class[3]),
		       (unsigned long)D(fail_class[4]), (unsigned long)D(fail_class[5]), (unsigned long)D(fail_class[0]),
		       (unsigned long)n);
		clean = false;
	}
	if (D(sink_msgs) != n || D(sink_good) != n || D(sink_bytes) != n * sizeof(msg)) {
		printf("FAIL: the sink has %lu messages, %lu intact (%lu bytes), want %lu of %zu bytes\n",
		       (unsigned long)D(sink_msgs), (unsigned long)D(sink_good), (unsigned long)D(sink_bytes),
		       (unsigned long)n, sizeof(msg));
		clean = false;
	}
	if (D(connect_fail) != 0 || r->tp1.rejected_busy != r->tp0.rejected_busy ||
	    r->tp1.connect_fail != r->tp0.connect_fail || r->tp1.forced_closes != r->tp0.forced_closes) {
		printf("FAIL: peer connect failures %lu; sluice: busy 421s %lu, backend connect failures %lu, "
		       "forced closes %lu\n", (unsigned long)D(connect_fail),
		       (unsigned long)(r->tp1.rejected_busy - r->tp0.rejected_busy),
		       (unsigned long)(r->tp1.connect_fail - r->tp0.connect_fail),
		       (unsigned long)(r->tp1.forced_closes - r->tp0.forced_closes));
		clean = false;
	}
#undef D
	return clean;
}

/* ---- figures */

enum fig {
	F_RATE, F_RATE_CPU, F_SL_PPS, F_SL_PPSESS, F_SL_BUSY, F_SL_CYC, F_SL_CEIL, F_SL_CPU,
	F_PE_PPS, F_PE_BUSY, F_PE_CYC, F_PE_CPU, F_RTX, F_RTO, F_COUNT
};

static const struct {
	const char *name;
	int         dec;   /**< decimals printed */
} figs[F_COUNT] = {
	[F_RATE]      = { "relayed sessions/s", 0 },
	[F_RATE_CPU]  = { "relayed sessions per sluice CPU-second", 0 },
	[F_SL_PPS]    = { "sluice lcore 1: packets/s (rx+tx)", 0 },
	[F_SL_PPSESS] = { "sluice lcore 1: packets/session", 1 },
	[F_SL_BUSY]   = { "sluice lcore 1: busy %", 1 },
	[F_SL_CYC]    = { "sluice lcore 1: busy cycles/session", 0 },
	[F_SL_CEIL]   = { "sluice lcore 1: TSC Hz / cycles/session", 0 },
	[F_SL_CPU]    = { "sluice lcore 1: on a CPU % of the run", 1 },
	[F_PE_PPS]    = { "generator lcore 0: packets/s (rx+tx)", 0 },
	[F_PE_BUSY]   = { "generator lcore 0: busy %", 1 },
	[F_PE_CYC]    = { "generator lcore 0: busy cycles/session", 0 },
	[F_PE_CPU]    = { "generator lcore 0: on a CPU % of the run", 1 },
	[F_RTX]       = { "peer retransmits", 0 },
	[F_RTO]       = { "peer RTO expiries", 0 },
};

static void figures(const struct run *r, double *f)
{
	double n = (double)r->n, s = r->secs > 0 ? r->secs : 1e-9;
	double sl_pk = (double)(r->sl1.rx_pkts - r->sl0.rx_pkts + r->sl1.tx_pkts - r->sl0.tx_pkts);
	double sl_busy = (double)(r->sl1.busy_cycles - r->sl0.busy_cycles);
	double sl_idle = (double)(r->sl1.idle_cycles - r->sl0.idle_cycles);
	double pe_pk = (double)(r->pe1.rx_pkts - r->pe0.rx_pkts + r->pe1.tx_pkts - r->pe0.tx_pkts);
	double pe_busy = (double)(r->pe1.busy_cycles - r->pe0.busy_cycles);
	double pe_idle = (double)(r->pe1.idle_cycles - r->pe0.idle_cycles);

	f[F_RATE] = n / s;
	f[F_SL_PPS] = sl_pk / s;
	f[F_SL_PPSESS] = sl_pk / n;
	f[F_SL_BUSY] = 100.0 * sl_busy / (sl_busy + sl_idle > 0 ? sl_busy + sl_idle : 1);
	f[F_SL_CYC] = sl_busy / n;
	f[F_SL_CEIL] = (double)rte_get_tsc_hz() / (f[F_SL_CYC] > 0 ? f[F_SL_CYC] : 1);
	f[F_PE_PPS] = pe_pk / s;
	f[F_PE_BUSY] = 100.0 * pe_busy / (pe_busy + pe_idle > 0 ? pe_busy + pe_idle : 1);
	f[F_PE_CYC] = pe_busy / n;
	f[F_SL_CPU] = (double)(r->ss1.run - r->ss0.run) / (s * 1e7);
	f[F_RATE_CPU] = r->ss1.run > r->ss0.run ? n * 1e9 / (double)(r->ss1.run - r->ss0.run) : 0;
	f[F_PE_CPU] = (double)(r->gs1.run - r->gs0.run) / (s * 1e7);
	f[F_RTX] = (double)(r->tc1.retransmits - r->tc0.retransmits);
	f[F_RTO] = (double)(r->tc1.rto_fired - r->tc0.rto_fired);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void print_table(unsigned c, unsigned runs, uint64_t n, double f[][F_COUNT])
{
	printf("\nconcurrency %u: %u runs of %lu sessions\n", c, runs, (unsigned long)n);
	printf("| %-40s | %12s | %12s | %12s |\n", "", "median", "min", "max");
	printf("|%.42s|%.14s|%.14s|%.14s|\n", "------------------------------------------",
	       "--------------", "--------------", "--------------");
	for (int k = 0; k < F_COUNT; k++) {
		double v[MAX_RUNS];
		char med[32], lo[32], hi[32];

		for (unsigned i = 0; i < runs; i++)
			v[i] = f[i][k];
		qsort(v, runs, sizeof(v[0]), cmp_double);
		snprintf(med, sizeof(med), "%.*f", figs[k].dec, runs % 2 ? v[runs / 2] : (v[runs / 2 - 1] + v[runs / 2]) / 2);
		snprintf(lo, sizeof(lo), "%.*f", figs[k].dec, v[0]);
		snprintf(hi, sizeof(hi), "%.*f", figs[k].dec, v[runs - 1]);
		printf("| %-40s | %12s | %12s | %12s |\n", figs[k].name, med, lo, hi);
	}
}

/* The figures are the stack's only if both lcore threads had their CPU: say so when they did not. */
static void shared_note(unsigned runs, double f[][F_COUNT])
{
	double sl = 100, pe = 100;

	for (unsigned i = 0; i < runs; i++) {
		sl = SL_MIN(sl, f[i][F_SL_CPU]);
		pe = SL_MIN(pe, f[i][F_PE_CPU]);
	}
	if (sl < 90 || pe < 90)
		printf("note: a lcore thread was on a CPU only %.0f%% (sluice) / %.0f%% (generator) of some run: "
		       "its core was shared with other work, so sessions/s and busy cycles (TSC, which runs on "
		       "while a thread waits) understate the stack; sessions per sluice CPU-second holds up better\n",
		       sl, pe);
}

static void machine(void)
{
	char line[256], model[128] = "?";
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (f != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			char *colon = strchr(line, ':');

			if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
				snprintf(model, sizeof(model), "%s", colon + 2);
				model[strcspn(model, "\n")] = '\0';
				break;
			}
		}
		fclose(f);
	}
	printf("machine: %ld online CPUs, %s; TSC %.3f GHz\n", sysconf(_SC_NPROCESSORS_ONLN), model,
	       (double)rte_get_tsc_hz() / 1e9);
}

static int parse_list(const char *s, unsigned *v, unsigned max)
{
	unsigned n = 0;
	char *end;

	while (*s != '\0' && n < max) {
		unsigned long x = strtoul(s, &end, 10);

		if (end == s || x == 0 || x > MAX_CONC)
			return -1;
		v[n++] = (unsigned)x;
		s = *end == ',' ? end + 1 : end;
		if (*end != ',' && *end != '\0')
			return -1;
	}
	return (int)n;
}

int main(int argc, char **argv)
{
	unsigned conc[16] = { 8, 64, 256 }, nconc = 3, runs = 5, max_conc = 0, verbose = 0;
	uint64_t n = 20000, warm = 0;
	double budget = 50;
	bool pipelining = true, warm_set = false, all_clean = true, trim_off = false;
	static double f[MAX_RUNS][F_COUNT];
	uint64_t hz, start;
	int o, rc = 0;

	while ((o = getopt(argc, argv, "c:n:r:w:b:PTyvh")) != -1) {
		switch (o) {
		case 'T':
			mallopt(M_TRIM_THRESHOLD, 1 << 30);
			trim_off = true;
			break;
		case 'y':
			yield_idle = true;
			break;
		case 'c':
			if ((o = parse_list(optarg, conc, 16)) <= 0) {
				fprintf(stderr, "-c: a list of 1..%d, comma-separated\n", MAX_CONC);
				return 2;
			}
			nconc = (unsigned)o;
			break;
		case 'n':
			n = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			runs = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'w':
			warm = strtoull(optarg, NULL, 10);
			warm_set = true;
			break;
		case 'b':
			budget = strtod(optarg, NULL);
			break;
		case 'P':
			pipelining = false;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-c CONC[,CONC...]] [-n SESSIONS] [-r RUNS] [-w WARMUP] [-b BUDGET_S] "
				"[-P] [-T] [-y] [-v]\n", argv[0]);
			return 2;
		}
	}
	if (n == 0 || n > 10000000 || runs == 0 || runs > MAX_RUNS) {
		fprintf(stderr, "-n 1..10000000, -r 1..%d\n", MAX_RUNS);
		return 2;
	}
	if (!warm_set)
		warm = n / 10;
	for (unsigned i = 0; i < nconc; i++)
		max_conc = SL_MAX(max_conc, conc[i]);
	if (setup(max_conc, pipelining) != 0) {
		fprintf(stderr, "bench_dpdk_capacity: set-up failed\n");
		teardown();
		return 1;
	}
	hz = rte_get_tsc_hz();
	tid_gen = (int)syscall(SYS_gettid);
	tid_sl = find_worker_tid();
	printf("bench_dpdk_capacity: sluice `transport dpdk` (1 worker, lcore 1) <- net_ring -> generator "
	       "(SMTP clients + sink on our TCP stack, lcore 0)\n");
	machine();
	printf("session: 220 EHLO MAIL RCPT DATA (%zu bytes) QUIT, one command per reply; the sink %s PIPELINING; "
	       "every message checked byte for byte\n", sizeof(msg), pipelining ? "offers" : "does not offer");
	printf("generator: %s when idle; malloc trimming %s\n", yield_idle ? "sched_yield()" : "spins",
	       trim_off ? "off (-T: M_TRIM_THRESHOLD 1 GiB)" : "as glibc's default");
	start = rte_rdtsc();
	for (unsigned ci = 0; ci < nconc && rc == 0; ci++) {
		unsigned c = conc[ci], done = 0;
		/* each concurrency gets its share of what is left of the budget */
		double left = budget - (double)(rte_rdtsc() - start) / (double)hz;
		uint64_t c_start = rte_rdtsc(), c_budget = (uint64_t)(SL_MAX(left, 0.0) / (nconc - ci) * (double)hz);
		struct run r;

		if (warm > 0 && !one_run(warm, c, &r)) {
			printf("FAIL: the warm-up at concurrency %u\n", c);
			rc = 1;
			break;
		}
		for (unsigned i = 0; i < runs; i++) {
			if (i > 0 && rte_rdtsc() - c_start > c_budget) {
				printf("note: the time budget (-b %.0f s, %.1f s for this concurrency) is spent: %u of %u "
				       "runs at concurrency %u\n", budget, (double)c_budget / (double)hz, done, runs, c);
				break;
			}
			if (!one_run(n, c, &r)) {
				printf("FAIL: run %u at concurrency %u: no figures\n", i + 1, c);
				rc = 1;
				break;
			}
			figures(&r, f[done]);
			if (verbose)
				printf("  c=%u run %u: %.3f s, %.0f sessions/s, sluice busy %.1f%% %.0f cycles/session "
				       "on a CPU %.0f%%, generator busy %.1f%% on a CPU %.0f%%, retransmits %.0f\n", c, i + 1,
				       r.secs, f[done][F_RATE], f[done][F_SL_BUSY], f[done][F_SL_CYC], f[done][F_SL_CPU],
				       f[done][F_PE_BUSY], f[done][F_PE_CPU], f[done][F_RTX]);
			done++;
		}
		if (rc == 0 && done > 0) {
			print_table(c, done, n, f);
			shared_note(done, f);
		}
		if (done < runs)
			all_clean = false;
		fflush(stdout);
	}
	if (rc == 0) {
		const struct tcp_counters *tc = dpdk_peer_tcp(peer);

		const struct dpdk_peer_stats *ps = dpdk_peer_stats(peer);

		printf("\npeer over all runs: %lu frames from sluice came chained (DATA by reference), %lu of them "
		       "dropped; TCP fast retransmits %lu, TIME-WAIT reused %lu, recycled %lu, drops (rcv queue full %lu, "
		       "not acceptable %lu); all %s\n", (unsigned long)ps->rx_chained, (unsigned long)ps->rx_drop,
		       (unsigned long)tc->fast_retransmits, (unsigned long)tc->tw_reused, (unsigned long)tc->tw_recycled,
		       (unsigned long)tc->drops[TCP_DROP_RCVQ_FULL], (unsigned long)tc->drops[TCP_DROP_NOT_ACCEPTABLE],
		       all_clean ? "runs clean" : "runs that ran were clean (budget cut some)");
	}
	teardown();
	return rc;
}
