/* test_smtp_reply.c - the reply table: every reply well formed, the
 * pre-formatted copies equal to formatting on the spot, truncation safe. */
#include <stdio.h>
#include <string.h>

#include "smtp/smtp_reply.h"
#include "test.h"

static void test_every_reply(void)
{
	for (unsigned i = 0; i < SMTP_R_COUNT; i++) {
		char slow[512], fast[512], want[16];
		size_t ns = smtp_reply_format(slow, sizeof(slow), smtp_replies[i].code,
					      smtp_replies[i].status, smtp_replies[i].text);
		size_t nf = smtp_reply_format_id(fast, sizeof(fast), (enum smtp_reply_id)i);
		size_t nl;
		const char *line = smtp_reply_line((enum smtp_reply_id)i, &nl);

		CU_ASSERT_EQUAL(ns, nf);
		CU_ASSERT_EQUAL(nl, ns);
		CU_ASSERT_STRING_EQUAL(slow, fast);
		CU_ASSERT_STRING_EQUAL(line, slow);
		/* "CODE " and, where there is one, an enhanced status of the same class */
		snprintf(want, sizeof(want), "%03u ", smtp_replies[i].code);
		CU_ASSERT_EQUAL(strncmp(fast, want, 4), 0);
		if (smtp_replies[i].status[0] != '\0')
			CU_ASSERT_EQUAL(smtp_replies[i].status[0], want[0]);
		CU_ASSERT_TRUE(nf >= 2 && fast[nf - 2] == '\r' && fast[nf - 1] == '\n');
		CU_ASSERT_PTR_NULL(memchr(fast, '\n', nf - 1)); /* one line */
	}
}

static void test_truncation(void)
{
	char small[24];
	size_t n = smtp_reply_format_id(small, sizeof(small), SMTP_R_RELAY_DENIED);

	CU_ASSERT_TRUE(n < sizeof(small));
	CU_ASSERT_EQUAL(small[n - 2], '\r');
	CU_ASSERT_EQUAL(small[n - 1], '\n');
	CU_ASSERT_EQUAL(strncmp(small, "554 5.7.1 Relay", 15), 0);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "every reply", test_every_reply },
		{ "truncation", test_truncation },
		{ NULL, NULL },
	};
	test_suite("smtp_reply", cases);
}
