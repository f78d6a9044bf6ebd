/* test_backend_pool.c - weighted least connections, caps, drain, health hysteresis, reloads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "relay/backend_pool.h"
#include "util/sl_log.h"

static struct backend_pool pool;
static struct cfg *conf;

static char logbuf[4096];
static void log_sink(enum sl_log_level level, const char *line, void *arg)
{
	size_t n = strlen(logbuf);
	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", line);
}

static void cfg_reset(void)
{
	if (conf == NULL)
		conf = malloc(sizeof(*conf));
	memset(conf, 0, sizeof(*conf));
}

static int add_backend(const char *name, const char *addr, uint32_t weight, uint32_t max_conns)
{
	struct cfg_backend *b = &conf->backends[conf->nbackends];

	snprintf(b->name, sizeof(b->name), "%s", name);
	CU_ASSERT_FATAL(sl_addr_parse(addr, &b->addr, true) == 0);
	b->weight = weight;
	b->max_conns = max_conns;
	return (int)conf->nbackends++;
}

static void two_backends(uint32_t w1, uint32_t w2)
{
	cfg_reset();
	add_backend("mta1", "198.18.1.10:25", w1, 0);
	add_backend("mta2", "198.18.1.11:25", w2, 0);
	backend_pool_init(&pool);
	CU_ASSERT_FATAL(backend_pool_apply(&pool, conf) == SL_OK);
}

/* Rounds of many sessions opened, then all closed: the 2:1 weights give a 2:1 split. */
static void test_weights(void)
{
	int held[30];
	unsigned count[2] = { 0, 0 };

	two_backends(2, 1);
	int a = backend_pool_find(&pool, "mta1"), b = backend_pool_find(&pool, "mta2");
	CU_ASSERT_FATAL(a >= 0 && b >= 0 && a != b);
	for (int round = 0; round < 100; round++) {
		for (int i = 0; i < 30; i++) {
			held[i] = backend_pool_pick(&pool, 0);
			CU_ASSERT_FATAL(held[i] == a || held[i] == b);
			count[held[i] == a ? 0 : 1]++;
		}
		/* while all are held the load follows the weights */
		CU_ASSERT_EQUAL(atomic_load(&pool.slots[a].active), 20);
		CU_ASSERT_EQUAL(atomic_load(&pool.slots[b].active), 10);
		for (int i = 0; i < 30; i++)
			backend_pool_release(&pool, held[i]);
	}
	CU_ASSERT_EQUAL(count[0], 2000);
	CU_ASSERT_EQUAL(count[1], 1000);
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[a].picked), 2000);
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[a].active), 0);
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[b].active), 0);
}

static void test_least_connections(void)
{
	two_backends(1, 1);
	/* equal weights, idle: ties take turns */
	int x = backend_pool_pick(&pool, 0), y = backend_pool_pick(&pool, 0);
	CU_ASSERT(x != y);
	backend_pool_release(&pool, x);
	backend_pool_release(&pool, y);
	int s1 = backend_pool_pick(&pool, 0);
	backend_pool_release(&pool, s1);
	int s2 = backend_pool_pick(&pool, 0);
	backend_pool_release(&pool, s2);
	CU_ASSERT(s1 != s2);

	/* one busy backend: the other takes the new sessions until they even out */
	int a = backend_pool_find(&pool, "mta1"), b = backend_pool_find(&pool, "mta2");
	atomic_store(&pool.slots[a].active, 5);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(backend_pool_pick(&pool, 0), b);
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[b].active), 5);
	/* a release makes that one the least loaded */
	backend_pool_release(&pool, a);
	CU_ASSERT_EQUAL(backend_pool_pick(&pool, 0), a);
	/* release never goes below zero */
	atomic_store(&pool.slots[a].active, 0);
	backend_pool_release(&pool, a);
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[a].active), 0);
}

static void test_caps(void)
{
	cfg_reset();
	int a = add_backend("mta1", "198.18.1.10:25", 10, 2);
	int b = add_backend("mta2", "198.18.1.11:25", 1, 1);
	backend_pool_init(&pool);
	CU_ASSERT_FATAL(backend_pool_apply(&pool, conf) == SL_OK);
	a = backend_pool_find(&pool, "mta1");
	b = backend_pool_find(&pool, "mta2");
	CU_ASSERT_EQUAL(backend_pool_pick(&pool, 0), a);
	CU_ASSERT_EQUAL(backend_pool_pick(&pool, 0), a);
	/* mta1 is at its cap despite its weight */
	CU_ASSERT_EQUAL(backend_pool_pick(&pool, 0), b);
	CU_ASSERT_EQUAL(backend_pool_pick(&pool, 0), -1);
	backend_pool_release(&pool, b);
	CU_ASSERT_EQUAL(backend_pool_pick(&pool, 0), b);
}

static void test_drain_down_exclude(void)
{
	two_backends(1, 1);
	int a = backend_pool_find(&pool, "mta1"), b = backend_pool_find(&pool, "mta2");

	backend_pool_drain(&pool, a, true);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(backend_pool_pick(&pool, 0), b);
	backend_pool_drain(&pool, a, false);
	CU_ASSERT_EQUAL(backend_pool_pick(&pool, 0), a);   /* now the least loaded */

	/* a backend already tried is skipped; all tried: none */
	two_backends(1, 1);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(backend_pool_pick(&pool, (uint64_t)1 << a), b);
	CU_ASSERT_EQUAL(backend_pool_pick(&pool, ((uint64_t)1 << a) | ((uint64_t)1 << b)), -1);

	/* down by passive health: `fall` failed connects in a row */
	two_backends(1, 1);
	logbuf[0] = '\0';
	sl_log_set_sink(log_sink, NULL);
	backend_pool_connect_result(&pool, a, false, 3);
	backend_pool_connect_result(&pool, a, false, 3);
	backend_pool_connect_result(&pool, a, true, 3);    /* a success resets the count */
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[a].fails), 0);
	backend_pool_connect_result(&pool, a, false, 3);
	backend_pool_connect_result(&pool, a, false, 3);
	CU_ASSERT(atomic_load(&pool.slots[a].up));
	backend_pool_connect_result(&pool, a, false, 3);
	CU_ASSERT(!atomic_load(&pool.slots[a].up));
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "backend mta1 198.18.1.10:25 is down: 3 connect failures in a row"));
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(backend_pool_pick(&pool, 0), b);
	/* fall 0: passive health never marks down */
	backend_pool_connect_result(&pool, b, false, 0);
	backend_pool_connect_result(&pool, b, false, 0);
	CU_ASSERT(atomic_load(&pool.slots[b].up));
	sl_log_set_sink(NULL, NULL);
}

static void test_health_hysteresis(void)
{
	two_backends(1, 1);
	int a = backend_pool_find(&pool, "mta1");

	logbuf[0] = '\0';
	sl_log_set_sink(log_sink, NULL);
	/* fall 2: one failure is not enough, a pass in between resets */
	backend_pool_health_result(&pool, a, false, 2, 2);
	backend_pool_health_result(&pool, a, true, 2, 2);
	backend_pool_health_result(&pool, a, false, 2, 2);
	CU_ASSERT(atomic_load(&pool.slots[a].up));
	CU_ASSERT_EQUAL(logbuf[0], '\0');
	backend_pool_health_result_why(&pool, a, false, 2, 2, "greeting 554");
	CU_ASSERT(!atomic_load(&pool.slots[a].up));
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "backend mta1 198.18.1.10:25 is down: 2 health checks failed (last: greeting 554)"));
	/* rise 2 */
	backend_pool_health_result(&pool, a, true, 2, 2);
	CU_ASSERT(!atomic_load(&pool.slots[a].up));
	backend_pool_health_result(&pool, a, false, 2, 2);
	backend_pool_health_result(&pool, a, true, 2, 2);
	CU_ASSERT(!atomic_load(&pool.slots[a].up));
	logbuf[0] = '\0';
	backend_pool_health_result(&pool, a, true, 2, 2);
	CU_ASSERT(atomic_load(&pool.slots[a].up));
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "backend mta1 198.18.1.10:25 is up: 2 health checks passed"));
	/* staying up logs nothing more */
	logbuf[0] = '\0';
	backend_pool_health_result(&pool, a, true, 2, 2);
	CU_ASSERT_EQUAL(logbuf[0], '\0');
	sl_log_set_sink(NULL, NULL);
}

static void test_apply_keeps_slots(void)
{
	two_backends(1, 1);
	int a = backend_pool_find(&pool, "mta1"), b = backend_pool_find(&pool, "mta2");
	int h1 = backend_pool_pick(&pool, (uint64_t)1 << b);
	CU_ASSERT_EQUAL(h1, a);
	backend_pool_drain(&pool, b, true);
	atomic_store(&pool.slots[b].up, false);

	/* reload: mta2 gets a new weight, mta1 goes, mta3 arrives */
	cfg_reset();
	add_backend("mta3", "198.18.1.12:25", 1, 0);
	add_backend("mta2", "198.18.1.11:2525", 5, 0);
	CU_ASSERT_FATAL(backend_pool_apply(&pool, conf) == SL_OK);
	CU_ASSERT_EQUAL(backend_pool_find(&pool, "mta2"), b);
	CU_ASSERT_EQUAL(pool.slots[b].cfg.weight, 5);
	CU_ASSERT_EQUAL(pool.slots[b].cfg.addr.port, 2525);
	CU_ASSERT(atomic_load(&pool.slots[b].drained));     /* operator state survives */
	CU_ASSERT(!atomic_load(&pool.slots[b].up));
	CU_ASSERT_EQUAL(backend_pool_find(&pool, "mta1"), -1);
	CU_ASSERT(!atomic_load(&pool.slots[a].in_use));
	int c = backend_pool_find(&pool, "mta3");
	CU_ASSERT(c >= 0 && c != a && c != b);   /* mta1's slot is still held by a session */
	CU_ASSERT_EQUAL(backend_pool_pick(&pool, 0), c);
	/* the session on the removed backend releases its own slot */
	backend_pool_release(&pool, h1);
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[a].active), 0);
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[c].active), 1);

	/* mta1 comes back: same slot, counters kept */
	uint64_t picked = atomic_load(&pool.slots[a].picked);
	add_backend("mta1", "198.18.1.10:25", 1, 0);
	CU_ASSERT_FATAL(backend_pool_apply(&pool, conf) == SL_OK);
	CU_ASSERT_EQUAL(backend_pool_find(&pool, "mta1"), a);
	CU_ASSERT_EQUAL(atomic_load(&pool.slots[a].picked), picked);
	CU_ASSERT(picked > 0);

	/* the same name twice cannot be placed, and changes nothing */
	cfg_reset();
	add_backend("mta1", "198.18.1.10:25", 1, 0);
	add_backend("mta1", "198.18.1.11:25", 1, 0);
	CU_ASSERT_EQUAL(backend_pool_apply(&pool, conf), SL_ERROR);
	CU_ASSERT_EQUAL(backend_pool_find(&pool, "mta3"), c);

	/* a full table of new names still finds room once old slots are idle */
	cfg_reset();
	for (int i = 0; i < CFG_BACKEND_MAX; i++) {
		char name[16];
		snprintf(name, sizeof(name), "n%d", i);
		add_backend(name, "198.18.2.1:25", 1, 0);
	}
	CU_ASSERT_EQUAL(backend_pool_apply(&pool, conf), SL_ERROR);  /* mta3 still holds a session */
	backend_pool_release(&pool, c);
	CU_ASSERT_EQUAL(backend_pool_apply(&pool, conf), SL_OK);
	CU_ASSERT_EQUAL(backend_pool_find(&pool, "mta3"), -1);
	CU_ASSERT(backend_pool_find(&pool, "n63") >= 0);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "weights 2:1", test_weights },
		{ "least connections", test_least_connections },
		{ "max_conns caps", test_caps },
		{ "drain, down, exclude", test_drain_down_exclude },
		{ "health hysteresis", test_health_hysteresis },
		{ "apply keeps slots", test_apply_keeps_slots },
		{ NULL, NULL },
	};
	test_suite("backend_pool", cases);
}
