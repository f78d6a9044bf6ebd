/* bench_lists.c - the lists at scale: time and memory to load 1M IPv4 and
 * 100k IPv6 entries (runtime store + snapshot build, and through Redis with
 * a private redis-server), lookups/s on a worker thread while the control
 * side publishes new snapshots, and DPDK's rte_lpm / rte_lpm6 on the same
 * data in the same run. Prints tables; medians of --runs runs (default 5).
 *
 *   bench_lists [--runs N] [--v4 N] [--v6 N] [--no-redis] [--no-dpdk]
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_malloc.h>

#include "ctlsock/ctl_lists.h"
#include "policy/pol_snapshot.h"
#include "redis/redis_lists.h"
#include "../unit/redis/redis_server.h"
#include "util/sl_clock.h"
#include "util/sl_evloop.h"
#include "util/sl_log.h"

static unsigned runs = 5, n4 = 1000000, n6 = 100000;

/* ---- figures */

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* "median (min..max)" of v[0..n) */
static const char *med(double *v, unsigned n, const char *fmt, char *buf, size_t len)
{
	char a[20], b[20], c[20];

	qsort(v, n, sizeof(*v), dcmp);
	snprintf(a, sizeof(a), fmt, v[n / 2]);
	snprintf(b, sizeof(b), fmt, v[0]);
	snprintf(c, sizeof(c), fmt, v[n - 1]);
	snprintf(buf, len, "%s (%s..%s)", a, b, c);
	return buf;
}

static double rss_mb(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return (double)rss * (double)sysconf(_SC_PAGESIZE) / 1e6;
}

static double heap_mb(void)
{
	struct mallinfo2 mi = mallinfo2();
	return (double)(mi.uordblks + mi.hblkhd) / 1e6;
}

static double ms_since(uint64_t t0)
{
	return (double)(sl_clock_ns() - t0) / 1e6;
}

/* ---- data: random /32s, /56s under 2001:db8::/32, a few reasons */

static uint32_t *addr4;
static uint8_t (*addr6)[16];
static const char *const reasons[4] = { "spamhaus drop", "local feed", "", "abuse report" };

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd64(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static void make_data(void)
{
	addr4 = malloc(n4 * sizeof(*addr4));
	addr6 = malloc(n6 * sizeof(*addr6));
	if (addr4 == NULL || addr6 == NULL)
		exit(1);
	for (unsigned i = 0; i < n4; i++)
		addr4[i] = (uint32_t)(rnd64() >> 32);
	for (unsigned i = 0; i < n6; i++) {
		uint64_t r = rnd64();
		memset(addr6[i], 0, 16);
		addr6[i][0] = 0x20, addr6[i][1] = 0x01, addr6[i][2] = 0x0d, addr6[i][3] = 0xb8;
		addr6[i][4] = (uint8_t)(r >> 56), addr6[i][5] = (uint8_t)(r >> 48), addr6[i][6] = (uint8_t)(r >> 40);
	}
}

static struct cfg_list_entry *ent4(struct cfg_list_entry *e, uint32_t a, unsigned len)
{
	memset(e, 0, sizeof(*e));
	e->kind = CFG_LIST_IP;
	e->prefix.addr.family = SL_AF_INET;
	e->prefix.addr.ip[0] = (uint8_t)(a >> 24);
	e->prefix.addr.ip[1] = (uint8_t)(a >> 16);
	e->prefix.addr.ip[2] = (uint8_t)(a >> 8);
	e->prefix.addr.ip[3] = (uint8_t)a;
	e->prefix.len = (uint8_t)len;
	return e;
}

static struct cfg_list_entry *ent6(struct cfg_list_entry *e, const uint8_t *ip, unsigned len)
{
	memset(e, 0, sizeof(*e));
	e->kind = CFG_LIST_IP;
	e->prefix.addr.family = SL_AF_INET6;
	memcpy(e->prefix.addr.ip, ip, 16);
	e->prefix.len = (uint8_t)len;
	return e;
}

/* Load every entry into l (through ctl_lists_add, as the socket and the
 * mirror do); sprinkle reasons. */
static void load_store(struct ctl_lists *l)
{
	struct cfg_list_entry e;

	for (unsigned i = 0; i < n4; i++) {
		ent4(&e, addr4[i], 32);
		snprintf(e.reason, sizeof(e.reason), "%s", reasons[i & 3]);
		ctl_lists_add(l, &e, 0);
	}
	for (unsigned i = 0; i < n6; i++) {
		ent6(&e, addr6[i], 56);
		snprintf(e.reason, sizeof(e.reason), "%s", reasons[i & 3]);
		ctl_lists_add(l, &e, 0);
	}
}

/* ---- 1. the runtime store and the snapshot */

static void bench_load(struct cfg *c)
{
	double t_store[32], t_build[32], m_store = 0, m_snap = 0, rss_store = 0, rss_snap = 0,
	       heap_store = 0, heap_snap = 0;
	char b1[64], b2[64];

	for (unsigned r = 0; r < runs; r++) {
		struct ctl_lists l = { 0 };
		struct pol_snapshot *s;
		double rss0 = rss_mb(), heap0 = heap_mb(), rss1, heap1;
		uint64_t t0 = sl_clock_ns();

		load_store(&l);
		t_store[r] = ms_since(t0);
		rss1 = rss_mb();
		heap1 = heap_mb();
		t0 = sl_clock_ns();
		s = ctl_lists_build(&l, c);
		t_build[r] = ms_since(t0);
		if (s == NULL || pol_snapshot_size(s, CFG_LIST_IP) != l.n) {
			printf("  snapshot build failed (%u entries)\n", pol_snapshot_size(s, CFG_LIST_IP));
			exit(1);
		}
		if (r == 0) {
			m_store = (double)ctl_lists_bytes(&l) / 1e6;
			m_snap = (double)pol_snapshot_bytes(s) / 1e6;
			rss_store = rss1 - rss0;
			rss_snap = rss_mb() - rss1;
			heap_store = heap1 - heap0;
			heap_snap = heap_mb() - heap1;
		}
		pol_snapshot_free(s);
		ctl_lists_free(&l);
		malloc_trim(0);
	}
	printf("\n1. %u IPv4 /32 + %u IPv6 /56, runtime store (ctl_lists_add) then snapshot build\n", n4, n6);
	printf("   %-34s %s\n", "store load, ms", med(t_store, runs, "%.0f", b1, sizeof(b1)));
	printf("   %-34s %s\n", "snapshot build, ms", med(t_build, runs, "%.0f", b2, sizeof(b2)));
	printf("   %-34s %.1f counted, %.1f heap, %.1f RSS\n", "store memory, MB", m_store, heap_store, rss_store);
	printf("   %-34s %.1f counted, %.1f heap, %.1f RSS\n", "snapshot memory, MB", m_snap, heap_snap, rss_snap);
	printf("   (a config entry is %zu bytes, a runtime entry %zu)\n", sizeof(struct cfg_list_entry),
	       sizeof(struct ctl_list_entry));
}

/* ---- 2. lookups on a worker thread while the control side publishes */

static _Atomic(struct pol_snapshot *) cur;
static _Atomic uint64_t generation, quiescent, lookups;
static _Atomic bool stop_worker;
static _Atomic uint64_t worst_batch_ns;
static int probe_mode; /* 0 random addresses (misses), 1 listed ones (hits) */

#define BATCH 1024

static void *worker(void *arg)
{
	struct pol_query q;
	struct pol_verdict v;
	uint64_t x = 12345, worst = 0, n = 0;

	(void)arg;
	memset(&q, 0, sizeof(q));
	q.stage = POL_STAGE_CONNECT;
	q.client.family = SL_AF_INET;
	while (!atomic_load_explicit(&stop_worker, memory_order_relaxed)) {
		/* as a worker loop turn: note the generation, use the snapshot,
		 * then say it is no longer held */
		uint64_t g = atomic_load_explicit(&generation, memory_order_acquire);
		const struct pol_snapshot *s = atomic_load_explicit(&cur, memory_order_acquire);
		uint64_t t0 = sl_clock_ns(), dt;
		for (unsigned k = 0; k < BATCH; k++) {
			uint32_t a;
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			a = probe_mode ? addr4[x % n4] : (uint32_t)x;
			q.client.ip[0] = (uint8_t)(a >> 24);
			q.client.ip[1] = (uint8_t)(a >> 16);
			q.client.ip[2] = (uint8_t)(a >> 8);
			q.client.ip[3] = (uint8_t)a;
			pol_lists_check(s, &q, &v);
		}
		dt = sl_clock_ns() - t0;
		if (dt > worst)
			worst = dt;
		n += BATCH;
		atomic_store_explicit(&lookups, n, memory_order_relaxed);
		atomic_store_explicit(&quiescent, g, memory_order_release);
	}
	atomic_store(&worst_batch_ns, worst);
	return NULL;
}

struct retired_snap {
	struct pol_snapshot *s;
	uint64_t g;
};

/* A snapshot retired at generation g is freed once the worker reported a
 * generation >= g (what control.c does with every worker). */
static unsigned reclaim(struct retired_snap *ret, unsigned nret)
{
	uint64_t q = atomic_load_explicit(&quiescent, memory_order_acquire);

	for (unsigned i = 0; i < nret;) {
		if (ret[i].g <= q) {
			pol_snapshot_free(ret[i].s);
			ret[i] = ret[--nret];
		} else {
			i++;
		}
	}
	return nret;
}

static void bench_publish(struct cfg *c)
{
	double base[32], during[32], pubs[32], worst_idle[32], worst_pub[32], builds[32];
	char b1[64], b2[64], b3[64], b4[64], b5[64], b6[64];

	for (probe_mode = 0; probe_mode < 2; probe_mode++) {
		for (unsigned r = 0; r < runs; r++) {
			struct ctl_lists l = { 0 };
			struct retired_snap ret[64];
			unsigned nret = 0, npub = 0;
			pthread_t th;
			uint64_t t0, n0, n1, extra = 0;
			double build_ms = 0;

			load_store(&l);
			atomic_store(&cur, ctl_lists_build(&l, c));
			atomic_store(&generation, 1);
			atomic_store(&stop_worker, false);
			atomic_store(&lookups, 0);
			pthread_create(&th, NULL, worker, NULL);
			usleep(200000); /* warm-up */
			/* idle: the worker alone */
			n0 = atomic_load(&lookups);
			t0 = sl_clock_ns();
			usleep(1000000);
			base[r] = (double)(atomic_load(&lookups) - n0) / ms_since(t0) * 1e3;
			/* publishing: 1000 new entries, rebuild, swap, free what the
			 * worker is past (the control thread's QSBR) */
			n0 = atomic_load(&lookups);
			t0 = sl_clock_ns();
			while (ms_since(t0) < 2000) {
				struct cfg_list_entry e;
				struct pol_snapshot *s, *old;
				uint64_t g, tb;
				for (unsigned k = 0; k < 1000; k++)
					ctl_lists_add(&l, ent4(&e, (uint32_t)(rnd64() >> 32), 32), 0);
				extra += 1000;
				tb = sl_clock_ns();
				s = ctl_lists_build(&l, c);
				build_ms += ms_since(tb);
				old = atomic_exchange(&cur, s);
				g = atomic_fetch_add(&generation, 1) + 1;
				ret[nret++] = (struct retired_snap){ old, g };
				npub++;
				nret = reclaim(ret, nret);
				while (nret >= 60) {
					usleep(100);
					nret = reclaim(ret, nret);
				}
			}
			n1 = atomic_load(&lookups);
			during[r] = (double)(n1 - n0) / ms_since(t0) * 1e3;
			pubs[r] = npub / 2.0;
			builds[r] = build_ms / npub;
			atomic_store(&stop_worker, true);
			pthread_join(th, NULL);
			worst_pub[r] = (double)atomic_load(&worst_batch_ns) / BATCH;
			worst_idle[r] = 0;
			for (unsigned i = 0; i < nret; i++)
				pol_snapshot_free(ret[i].s);
			pol_snapshot_free(atomic_load(&cur));
			ctl_lists_free(&l);
			malloc_trim(0);
			(void)extra;
		}
		printf("\n2. pol_lists_check on a worker thread, %s (1M IPv4 + 100k IPv6 listed)\n",
		       probe_mode ? "listed addresses (hits: 554 text formatted)" : "random addresses (misses)");
		printf("   %-34s %s\n", "lookups/s, worker alone", med(base, runs, "%.3g", b1, sizeof(b1)));
		printf("   %-34s %s\n", "lookups/s, while publishing", med(during, runs, "%.3g", b2, sizeof(b2)));
		printf("   %-34s %s\n", "publishes/s (1000 adds + rebuild)", med(pubs, runs, "%.1f", b3, sizeof(b3)));
		printf("   %-34s %s\n", "rebuild, ms each", med(builds, runs, "%.0f", b4, sizeof(b4)));
		printf("   %-34s %s\n", "worst batch, ns per lookup", med(worst_pub, runs, "%.0f", b5, sizeof(b5)));
		(void)worst_idle;
		(void)b6;
	}
}

/* ---- 3. the same data in rte_lpm / rte_lpm6 */

static bool eal_up;

static bool eal_init(void)
{
	char *argv[] = { "bench_lists", "-l", "0", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
			 "--no-telemetry", "--log-level", "lib.eal:error", NULL };

	if (rte_eal_init((int)SL_ARRAY_SIZE(argv) - 1, argv) < 0) {
		printf("\n3. rte_lpm: EAL did not start (%s): skipped\n", rte_strerror(rte_errno));
		return false;
	}
	return true;
}

static double heap_rte_mb(void)
{
	struct rte_malloc_socket_stats st;

	if (rte_malloc_get_socket_stats(0, &st) < 0)
		return 0;
	return (double)st.heap_allocsz_bytes / 1e6;
}

/* ns per lookup over probes, ours (raw prefix lookup) */
static double ours4(const struct pol_snapshot *s, const uint32_t *probe, unsigned np, unsigned *hits)
{
	struct sl_addr a = { .family = SL_AF_INET };
	uint64_t t0 = sl_clock_ns();
	unsigned h = 0, len;
	const char *reason;

	for (unsigned i = 0; i < np; i++) {
		a.ip[0] = (uint8_t)(probe[i] >> 24), a.ip[1] = (uint8_t)(probe[i] >> 16);
		a.ip[2] = (uint8_t)(probe[i] >> 8), a.ip[3] = (uint8_t)probe[i];
		h += pol_snapshot_lookup_ip(s, false, &a, &len, &reason);
	}
	*hits = h;
	return (double)(sl_clock_ns() - t0) / np;
}

static double lpm4(const struct rte_lpm *lpm, const uint32_t *probe, unsigned np, unsigned *hits)
{
	uint64_t t0 = sl_clock_ns();
	unsigned h = 0;
	uint32_t nh;

	for (unsigned i = 0; i < np; i++)
		h += rte_lpm_lookup(lpm, probe[i], &nh) == 0;
	*hits = h;
	return (double)(sl_clock_ns() - t0) / np;
}

/* rte_lpm_add checks each new rule against the rules of its depth one by
 * one (DPDK 22.11), so a million /32s take hours: it gets a time budget,
 * and both structures are compared on what it took. */
#define LPM_BUDGET_MS 20000.0

static void bench_lpm4(struct cfg *c, const char *what, const uint32_t *keys, unsigned n, uint32_t tbl8s)
{
	enum { NP = 1000000 };
	uint32_t *hitp = malloc(NP * sizeof(*hitp)), *missp = malloc(NP * sizeof(*missp));
	double o_hit[32], o_miss[32], l_hit[32], l_miss[32], o_build, l_build, t10k = 0, t100k = 0;
	double lpm_mem, our_mem, m0 = heap_rte_mb();
	struct rte_lpm_config cf = { .max_rules = n + 16, .number_tbl8s = tbl8s };
	struct rte_lpm *lpm = rte_lpm_create(what[0] == 'r' ? "bench_r" : "bench_c", 0, &cf);
	struct ctl_lists l = { 0 };
	struct cfg_list_entry e;
	struct pol_snapshot *s;
	unsigned added = 0, tried = 0, oh = 0, lh = 0, om = 0, lm = 0;
	uint64_t t0;
	char b[6][64];
	int rc = 0;

	if (lpm == NULL) {
		printf("\n3. rte_lpm_create(%u rules, %u tbl8s): %s\n", cf.max_rules, tbl8s, rte_strerror(rte_errno));
		goto out;
	}
	t0 = sl_clock_ns();
	for (tried = 0; tried < n && ms_since(t0) < LPM_BUDGET_MS; tried++) {
		rc = rte_lpm_add(lpm, keys[tried], 32, tried);
		if (rc < 0)
			break;
		added++;
		if (tried + 1 == 10000)
			t10k = ms_since(t0);
		if (tried + 1 == 100000)
			t100k = ms_since(t0);
	}
	l_build = ms_since(t0);
	lpm_mem = heap_rte_mb() - m0;
	for (unsigned i = 0; i < added; i++)
		ctl_lists_add(&l, ent4(&e, keys[i], 32), 0);
	t0 = sl_clock_ns();
	s = ctl_lists_build(&l, c);
	o_build = ms_since(t0);
	our_mem = (double)pol_snapshot_bytes(s) / 1e6;
	for (unsigned i = 0; i < NP; i++) {
		hitp[i] = keys[rnd64() % added];
		missp[i] = (uint32_t)(rnd64() >> 32);
	}
	for (unsigned r = 0; r < runs; r++) {
		o_hit[r] = ours4(s, hitp, NP, &oh);
		l_hit[r] = lpm4(lpm, hitp, NP, &lh);
		o_miss[r] = ours4(s, missp, NP, &om);
		l_miss[r] = lpm4(lpm, missp, NP, &lm);
	}
	printf("\n3. IPv4 /32s %s: ours (pol_snapshot_lookup_ip) vs rte_lpm (DIR-24-8, %u tbl8 groups)\n",
	       what, tbl8s);
	printf("   rte_lpm_add: 10k in %.0f ms, 100k in %.0f ms; stopped at %u of %u after %.0f ms (%s)\n",
	       t10k, t100k, added, n, l_build,
	       rc == -ENOSPC ? "out of tbl8 groups: one 1 KiB group per /24 holding a /32" :
	       added < n ? "time budget: each add scans the rules of its depth" : "all in");
	printf("   compared on those %u entries:\n", added);
	printf("   %-22s %-26s %-26s\n", "", "ours", "rte_lpm");
	printf("   %-22s %-26.0f %-26.0f\n", "build, ms", o_build, l_build);
	printf("   %-22s %-26.1f %-26.1f\n", "memory, MB", our_mem, lpm_mem);
	printf("   %-22s %-26s %-26s\n", "listed, ns/lookup", med(o_hit, runs, "%.1f", b[2], 64), med(l_hit, runs, "%.1f", b[3], 64));
	printf("   %-22s %-26s %-26s\n", "random, ns/lookup", med(o_miss, runs, "%.1f", b[4], 64), med(l_miss, runs, "%.1f", b[5], 64));
	printf("   hits: ours %u/%u listed, %u random; rte_lpm %u listed, %u random\n", oh, NP, om, lh, lm);
	(void)b;
	rte_lpm_free(lpm);
	pol_snapshot_free(s);
	ctl_lists_free(&l);
out:
	free(hitp);
	free(missp);
}

static void bench_lpm6(struct cfg *c)
{
	enum { NP = 1000000 };
	uint8_t (*hitp)[16] = malloc(NP * 16), (*missp)[16] = malloc(NP * 16);
	double o_hit[32], o_miss[32], l_hit[32], l_miss[32], o_build[32], l_build[32], lpm_mem = 0, our_mem = 0;
	unsigned added = 0, oh = 0, lh = 0;
	char b[6][64];

	for (unsigned i = 0; i < NP; i++) {
		uint64_t r = rnd64(), r2 = rnd64();
		memcpy(hitp[i], addr6[rnd64() % n6], 16);
		memcpy(hitp[i] + 8, &r, 8); /* any host in the /56 */
		memcpy(missp[i], hitp[i], 16);
		memcpy(missp[i] + 4, &r2, 4); /* another /56 under 2001:db8::/32, mostly */
	}
	for (unsigned r = 0; r < runs; r++) {
		struct ctl_lists l = { 0 };
		struct cfg_list_entry e;
		struct rte_lpm6_config cf = { .max_rules = n6 + 16, .number_tbl8s = 1u << 17 };
		struct rte_lpm6 *lpm;
		struct pol_snapshot *s;
		struct sl_addr a = { .family = SL_AF_INET6 };
		double m0 = heap_rte_mb();
		uint64_t t0;
		uint32_t nh;
		unsigned len, h;
		const char *reason;
		char name[32];

		for (unsigned i = 0; i < n6; i++)
			ctl_lists_add(&l, ent6(&e, addr6[i], 56), 0);
		t0 = sl_clock_ns();
		s = ctl_lists_build(&l, c);
		o_build[r] = ms_since(t0);
		snprintf(name, sizeof(name), "bench6_%u", r);
		lpm = rte_lpm6_create(name, 0, &cf);
		if (lpm == NULL) {
			printf("\n3. IPv6: rte_lpm6_create: %s\n", rte_strerror(rte_errno));
			pol_snapshot_free(s);
			ctl_lists_free(&l);
			goto out;
		}
		t0 = sl_clock_ns();
		added = 0;
		for (unsigned i = 0; i < n6; i++)
			added += rte_lpm6_add(lpm, addr6[i], 56, i) == 0;
		l_build[r] = ms_since(t0);
		lpm_mem = heap_rte_mb() - m0;
		our_mem = (double)pol_snapshot_bytes(s) / 1e6;
		for (int pass = 0; pass < 2; pass++) {
			uint8_t (*p)[16] = pass ? missp : hitp;
			t0 = sl_clock_ns();
			h = 0;
			for (unsigned i = 0; i < NP; i++) {
				memcpy(a.ip, p[i], 16);
				h += pol_snapshot_lookup_ip(s, false, &a, &len, &reason);
			}
			(pass ? o_miss : o_hit)[r] = (double)(sl_clock_ns() - t0) / NP;
			if (!pass)
				oh = h;
			t0 = sl_clock_ns();
			h = 0;
			for (unsigned i = 0; i < NP; i++)
				h += rte_lpm6_lookup(lpm, p[i], &nh) == 0;
			(pass ? l_miss : l_hit)[r] = (double)(sl_clock_ns() - t0) / NP;
			if (!pass)
				lh = h;
		}
		rte_lpm6_free(lpm);
		pol_snapshot_free(s);
		ctl_lists_free(&l);
	}
	printf("\n3. IPv6: %u /56s under 2001:db8::/32, ours vs rte_lpm6 (%u tbl8 groups)\n", n6, 1u << 17);
	if (added < n6)
		printf("   rte_lpm6 took %u of %u\n", added, n6);
	printf("   %-22s %-26s %-26s\n", "", "ours", "rte_lpm6");
	printf("   %-22s %-26s %-26s\n", "build, ms", med(o_build, runs, "%.0f", b[0], 64), med(l_build, runs, "%.0f", b[1], 64));
	printf("   %-22s %-26.1f %-26.1f\n", "memory, MB", our_mem, lpm_mem);
	printf("   %-22s %-26s %-26s\n", "listed, ns/lookup", med(o_hit, runs, "%.1f", b[2], 64), med(l_hit, runs, "%.1f", b[3], 64));
	printf("   %-22s %-26s %-26s\n", "random, ns/lookup", med(o_miss, runs, "%.1f", b[4], 64), med(l_miss, runs, "%.1f", b[5], 64));
	printf("   hits on listed: ours %u, rte_lpm6 %u of %u\n", oh, lh, NP);
out:
	free(hitp);
	free(missp);
}

/* ---- 4. through Redis: write-through, pub/sub, resync */

/* the private redis-server (tests/unit/redis/redis_server.c), stopped at exit and on a signal */
static struct server redis_srv;

static void redis_stop(void)
{
	server_cleanup(&redis_srv);
	memset(&redis_srv, 0, sizeof(redis_srv));
}

static void on_signal(int sig)
{
	redis_stop();
	signal(sig, SIG_DFL);
	raise(sig);
}

static bool redis_start(void)
{
	atexit(redis_stop);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	return server_start(&redis_srv);
}

static double redis_used_mb(void)
{
	redisContext *c = server_client(&redis_srv);
	redisReply *r;
	double mb = 0;

	if (c == NULL)
		return 0;
	r = redisCommand(c, "INFO memory");
	if (r != NULL && r->type == REDIS_REPLY_STRING) {
		const char *p = strstr(r->str, "used_memory:");
		if (p != NULL)
			mb = (double)strtoull(p + 12, NULL, 10) / 1e6;
	}
	if (r != NULL)
		freeReplyObject(r);
	redisFree(c);
	return mb;
}

static void redis_flush(void)
{
	redisContext *c = server_client(&redis_srv);

	if (c != NULL) {
		freeReplyObject(redisCommand(c, "FLUSHALL"));
		redisFree(c);
	}
}

static struct sl_evloop *loop;

static bool settled(struct redis_lists *rl)
{
	struct redis_lists_stats st;

	redis_lists_stats(rl, &st);
	return st.up && !st.resyncing && st.pending == 0 && st.inflight == 0 && st.resyncs > 0;
}

/* Run the loop until cond(arg) or timeout_ms; elapsed ms, or -1. */
static double run_until(bool (*cond)(void *), void *arg, double timeout_ms)
{
	uint64_t t0 = sl_clock_ns();

	while (!cond(arg)) {
		if (ms_since(t0) > timeout_ms)
			return -1;
		sl_evloop_run_once(loop, 1);
	}
	return ms_since(t0);
}

static bool c_settled(void *a) { return settled(a); }

struct has_n {
	struct ctl_lists *l;
	unsigned n;
	struct redis_lists *rl;
};
static bool c_has(void *a)
{
	struct has_n *h = a;
	return h->l->n >= h->n && (h->rl == NULL || settled(h->rl));
}

static struct redis_lists *node(struct ctl_lists *l)
{
	struct redis_lists_opts o = { .host = "127.0.0.1", .port = (uint16_t)redis_srv.port, .prefix = "bench:",
				      .resync_ms = 3600000 };
	return redis_lists_new_opts(loop, l, &o, NULL, NULL);
}

static void bench_redis(void)
{
	double t_write[32], t_resync[32], t_msgs[32], lat[200], redis_mb = 0;
	unsigned nlat = 0, msgs = 10000;
	char b1[64], b2[64], b3[64], b4[64];

	if (!redis_start()) {
		printf("\n4. Redis: redis-server did not start: skipped\n");
		return;
	}
	loop = sl_evloop_new();
	for (unsigned r = 0; r < runs; r++) {
		struct ctl_lists la = { 0 }, lb = { 0 }, lc = { 0 };
		struct redis_lists *a, *b, *cn;
		struct cfg_list_entry e;
		struct has_n h;
		double m0;
		uint64_t t0;

		redis_flush();
		m0 = redis_used_mb();
		a = node(&la);
		if (run_until(c_settled, a, 10000) < 0) {
			printf("\n4. Redis: the mirror did not connect: skipped\n");
			redis_lists_free(a);
			ctl_lists_free(&la);
			return;
		}
		/* write-through of the whole feed from one node (its window of
		 * writes in flight, as a bulk `block add` would) */
		t0 = sl_clock_ns();
		for (unsigned i = 0; i < n4; i++) {
			ent4(&e, addr4[i], 32);
			snprintf(e.reason, sizeof(e.reason), "%s", reasons[i & 3]);
			ctl_lists_add(&la, &e, 0);
			redis_lists_write(a, &e);
			if ((i & 4095) == 0)
				sl_evloop_run_once(loop, 0);
		}
		for (unsigned i = 0; i < n6; i++) {
			ent6(&e, addr6[i], 56);
			ctl_lists_add(&la, &e, 0);
			redis_lists_write(a, &e);
			if ((i & 4095) == 0)
				sl_evloop_run_once(loop, 0);
		}
		if (run_until(c_settled, a, 600000) < 0) {
			printf("   write-through did not finish\n");
			exit(1);
		}
		t_write[r] = ms_since(t0);
		if (r == 0)
			redis_mb = redis_used_mb() - m0;
		/* a second node starting: everything from Redis by HSCAN */
		t0 = sl_clock_ns();
		b = node(&lb);
		h = (struct has_n){ &lb, la.n, b };
		if (run_until(c_has, &h, 600000) < 0) {
			printf("   the second node's resync did not finish (%u entries)\n", lb.n);
			exit(1);
		}
		t_resync[r] = ms_since(t0);
		/* messages: 10k adds on A reach B by pub/sub (one thread runs both) */
		t0 = sl_clock_ns();
		for (unsigned i = 0; i < msgs; i++) {
			ctl_lists_add(&la, ent4(&e, 0xc6120000u + i, 32), 0);
			redis_lists_write(a, &e);
		}
		h = (struct has_n){ &lb, la.n, NULL };
		if (run_until(c_has, &h, 60000) < 0) {
			printf("   messages did not arrive (%u of %u)\n", lb.n - (la.n - msgs), msgs);
			exit(1);
		}
		t_msgs[r] = ms_since(t0);
		/* one change, A to B: latency */
		for (unsigned i = 0; i < 40 && nlat < SL_ARRAY_SIZE(lat); i++) {
			t0 = sl_clock_ns();
			ctl_lists_add(&la, ent4(&e, 0xc6130000u + r * 64 + i, 32), 0);
			redis_lists_write(a, &e);
			h = (struct has_n){ &lb, lb.n + 1, NULL };
			if (run_until(c_has, &h, 5000) >= 0)
				lat[nlat++] = ms_since(t0);
		}
		/* a third node: the same resync while A and B idle */
		if (r == 0) {
			cn = node(&lc);
			h = (struct has_n){ &lc, la.n, cn };
			run_until(c_has, &h, 600000);
			redis_lists_free(cn);
			ctl_lists_free(&lc);
		}
		redis_lists_free(b);
		redis_lists_free(a);
		ctl_lists_free(&lb);
		ctl_lists_free(&la);
		malloc_trim(0);
	}
	printf("\n4. through Redis (private redis-server on 127.0.0.1, one control-loop thread)\n");
	printf("   %-44s %s\n", "write-through of 1.1M entries, ms", med(t_write, runs, "%.0f", b1, sizeof(b1)));
	printf("   %-44s %s\n", "a new node's resync (connect + HSCAN), ms", med(t_resync, runs, "%.0f", b2, sizeof(b2)));
	printf("   %-44s %s\n", "10k changes A -> B by pub/sub, ms", med(t_msgs, runs, "%.0f", b3, sizeof(b3)));
	if (nlat > 0)
		printf("   %-44s %s (n=%u)\n", "one change A -> B, ms", med(lat, nlat, "%.2f", b4, sizeof(b4)), nlat);
	printf("   %-44s %.1f\n", "Redis used_memory for the lists, MB", redis_mb);
	sl_evloop_free(loop);
	redis_stop();
}

int main(int argc, char **argv)
{
	struct cfg *c;
	bool redis = true, dpdk = true;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--v4") == 0 && i + 1 < argc)
			n4 = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--v6") == 0 && i + 1 < argc)
			n6 = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--no-redis") == 0)
			redis = false;
		else if (strcmp(argv[i], "--no-dpdk") == 0)
			dpdk = false;
		else {
			fprintf(stderr, "usage: %s [--runs N] [--v4 N] [--v6 N] [--no-redis] [--no-dpdk]\n", argv[0]);
			return 2;
		}
	}
	if (runs < 1 || runs > 32 || n4 < 1000 || n6 < 1000) {
		fprintf(stderr, "runs 1..32, --v4/--v6 at least 1000\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sl_log_set_level(SL_LOG_WARN);
	c = cfg_defaults();
	make_data();
	printf("bench_lists: %u runs each, median (min..max); %ld cores\n", runs, sysconf(_SC_NPROCESSORS_ONLN));
	bench_load(c);
	bench_publish(c);
	if (dpdk && (eal_up = eal_init())) {
		uint32_t *clustered = malloc(n4 * sizeof(*clustered));
		/* feeds cluster: the same count of /32s from 16384 random /24s */
		for (unsigned i = 0; i < n4; i++)
			clustered[i] = (addr4[i % 16384] & 0xffffff00u) | (uint32_t)(rnd64() >> 56);
		bench_lpm4(c, "random over the address space", addr4, n4, 1u << 16);
		bench_lpm4(c, "clustered in 16384 /24s", clustered, n4, 1u << 15);
		bench_lpm6(c);
		free(clustered);
	}
	if (redis)
		bench_redis();
	cfg_unref(c);
	if (eal_up)
		rte_eal_cleanup();
	return 0;
}
