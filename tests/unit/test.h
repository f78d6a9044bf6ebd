/* test.h - what every CUnit program of tests/unit shares. */
#ifndef SL_TEST_H
#define SL_TEST_H

#include <CUnit/CUnit.h>

/* Each test program defines this: add its suites with test_suite(). */
void register_tests(void);

struct test_case {
	const char *name;
	void (*fn)(void);
};

/* Add a suite of tests, ending with a {NULL, NULL} row. */
void test_suite(const char *name, const struct test_case *cases);

/* Directory of tests/data in the source tree (set by meson through SL_TEST_DATA). */
const char *test_data_dir(void);

#endif
