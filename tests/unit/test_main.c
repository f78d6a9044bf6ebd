/* test_main.c - the CUnit runner every unit test program links with. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>

#include "test.h"

void test_suite(const char *name, const struct test_case *cases)
{
	CU_pSuite s = CU_add_suite(name, NULL, NULL);

	if (s == NULL) {
		fprintf(stderr, "CU_add_suite: %s\n", CU_get_error_msg());
		exit(2);
	}
	for (; cases->name != NULL; cases++) {
		if (CU_add_test(s, cases->name, cases->fn) == NULL) {
			fprintf(stderr, "CU_add_test: %s\n", CU_get_error_msg());
			exit(2);
		}
	}
}

const char *test_data_dir(void)
{
	const char *d = getenv("SL_TEST_DATA");
#ifdef SL_TEST_DATA
	if (d == NULL)
		d = SL_TEST_DATA;
#endif
	return d != NULL ? d : "tests/data";
}

int main(void)
{
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	register_tests();
	CU_basic_set_mode(CU_BRM_NORMAL);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
