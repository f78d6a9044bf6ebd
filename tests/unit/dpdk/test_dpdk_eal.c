/* test_dpdk_eal.c - EAL argv from the config string and command-line overrides (no EAL started). */
#include <string.h>

#include "dpdk/dpdk_eal.h"
#include "test.h"
#include "util/sl_status.h"

/* Check that a.argv[1..] is exactly the words of want (NULL-terminated). */
static void expect_words(const struct dpdk_eal_argv *a, const char *const *want)
{
	int n = 0;

	while (want[n] != NULL)
		n++;
	CU_ASSERT_EQUAL(a->argc, n + 1);
	CU_ASSERT_STRING_EQUAL(a->argv[0], "sluice");
	for (int i = 0; i < n && i + 1 < a->argc; i++) {
		CU_ASSERT_STRING_EQUAL(a->argv[i + 1], want[i]);
	}
	CU_ASSERT_PTR_NULL(a->argv[a->argc]);
}

static void split_quotes(void)
{
	struct dpdk_eal_argv a;
	char err[256];
	const char *const want[] = {
		"-l", "0-2", "--vdev=net_af_packet0,iface=veth gw", "it's", "a\"b", "x y", "", NULL,
	};

	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL(dpdk_eal_split("sluice  -l\t0-2 --vdev='net_af_packet0,iface=veth gw' "
				       "it\\'s \"a\\\"b\" x\\ y ''", &a, err, sizeof(err)), SL_OK);
	CU_ASSERT_EQUAL(a.argc, 8);
	for (int i = 0; want[i] != NULL && i + 1 < a.argc; i++)
		CU_ASSERT_STRING_EQUAL(a.argv[i + 1], want[i]);
}

static void split_errors(void)
{
	struct dpdk_eal_argv a;
	char err[256] = "";
	char many[400];

	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL(dpdk_eal_split("-l '0-1", &a, err, sizeof(err)), SL_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unterminated"));
	memset(&a, 0, sizeof(a));
	many[0] = '\0';
	for (int i = 0; i < 70; i++)
		strcat(many, "-v ");
	CU_ASSERT_EQUAL(dpdk_eal_split(many, &a, err, sizeof(err)), SL_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "too many"));
}

static void build_plain(void)
{
	struct dpdk_eal_argv a;
	char err[256];
	const char *const want[] = { "-l", "0-1", "--no-huge", "-m", "256", "--vdev=net_ring0", NULL };

	CU_ASSERT_EQUAL(dpdk_eal_build("sluice", "-l 0-1 --no-huge -m 256 --vdev=net_ring0", 0, NULL, &a,
				       err, sizeof(err)), SL_OK);
	expect_words(&a, want);
}

/* EAL refuses -l twice and -l with -c: an override replaces the whole group, value included. */
static void build_override_replaces(void)
{
	struct dpdk_eal_argv a;
	char err[256];
	char *ovr[] = { "--lcores=0,1", "--socket-mem", "512", "--vdev=net_ring1" };
	const char *const want[] = {
		"--no-huge", "--vdev", "net_ring0", "--lcores=0,1", "--socket-mem", "512", "--vdev=net_ring1",
		NULL,
	};

	CU_ASSERT_EQUAL(dpdk_eal_build("sluice", "-l0-3 --no-huge -m 256 -c 0xf --vdev net_ring0", 4, ovr,
				       &a, err, sizeof(err)), SL_OK);
	expect_words(&a, want);
}

static void build_override_same_key(void)
{
	struct dpdk_eal_argv a;
	char err[256];
	char *ovr[] = { "--file-prefix=b", "-n", "2" };
	const char *const want[] = { "--no-pci", "--file-prefix=b", "-n", "2", NULL };

	CU_ASSERT_EQUAL(dpdk_eal_build("sluice", "--file-prefix a -n 4 --no-pci", 3, ovr, &a, err,
				       sizeof(err)), SL_OK);
	expect_words(&a, want);
}

static void build_errors(void)
{
	struct dpdk_eal_argv a;
	char err[256] = "";
	char *bad[] = { "stray" };

	CU_ASSERT_EQUAL(dpdk_eal_build("sluice", "-l 0-1 stray", 0, NULL, &a, err, sizeof(err)), SL_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'stray' is not an EAL option"));
	CU_ASSERT_EQUAL(dpdk_eal_build("sluice", "-l", 0, NULL, &a, err, sizeof(err)), SL_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "needs a value"));
	CU_ASSERT_EQUAL(dpdk_eal_build("sluice", "", 1, bad, &a, err, sizeof(err)), SL_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "EAL override"));
	CU_ASSERT_EQUAL(dpdk_eal_build("sluice", "'", 0, NULL, &a, err, sizeof(err)), SL_ERROR);
}

static void build_empty(void)
{
	struct dpdk_eal_argv a;
	char err[256];
	const char *const none[] = { NULL };

	CU_ASSERT_EQUAL(dpdk_eal_build(NULL, NULL, 0, NULL, &a, err, sizeof(err)), SL_OK);
	expect_words(&a, none);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "split_quotes", split_quotes },
		{ "split_errors", split_errors },
		{ "build_plain", build_plain },
		{ "build_override_replaces", build_override_replaces },
		{ "build_override_same_key", build_override_same_key },
		{ "build_errors", build_errors },
		{ "build_empty", build_empty },
		{ NULL, NULL },
	};

	test_suite("dpdk_eal", cases);
}
