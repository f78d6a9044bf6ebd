/* test_ctl_proto.c - request splitting and reply building of the control protocol, from tables. */
#include <stdlib.h>
#include <string.h>

#include "ctlsock/ctl_proto.h"
#include "test.h"
#include "util/sl_status.h"

struct split_case {
	const char *in;
	int         rc;
	const char *words;   /**< expected words joined by '|', or the error for SL_DECLINED */
};

static const struct split_case split_cases[] = {
	{ "status", SL_OK, "status" },
	{ "status\r", SL_OK, "status" },
	{ "  block   add\tip  1.2.3.4  ", SL_OK, "block|add|ip|1.2.3.4" },
	{ "block add ip 203.0.113.0/24 ttl 3600 reason \"spam run\"", SL_OK,
	  "block|add|ip|203.0.113.0/24|ttl|3600|reason|spam run" },
	{ "x \"a \\\"b\\\" \\\\c\"", SL_OK, "x|a \"b\" \\c" },
	{ "x \"\"", SL_OK, "x|" },
	{ "x \"caf\xc3\xa9\"", SL_OK, "x|caf\xc3\xa9" },
	{ "", SL_DONE, "" },
	{ "   \t ", SL_DONE, "" },
	{ "\r", SL_DONE, "" },
	{ "x \"open", SL_DECLINED, "unterminated quoted string" },
	{ "x \"bad\\n\"", SL_DECLINED, "bad escape in quoted string (only \\\" and \\\\)" },
	{ "x \"end\\", SL_DECLINED, "bad escape in quoted string (only \\\" and \\\\)" },
	{ "x \"a\"b", SL_DECLINED, "no space after a quoted string" },
	{ "x a\"b", SL_DECLINED, "quote in the middle of a word" },
	{ "x a\x01", SL_DECLINED, "control character 0x01 in request" },
	{ "x \"a\x7f\"", SL_DECLINED, "control character 0x7f in request" },
	{ "x \r y", SL_DECLINED, "control character 0x0d in request" },
	{ "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24", SL_OK,
	  "1|2|3|4|5|6|7|8|9|10|11|12|13|14|15|16|17|18|19|20|21|22|23|24" },
	{ "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25", SL_DECLINED, "too many words (max 24)" },
	{ NULL, 0, NULL },
};

static void test_split_table(void)
{
	struct ctl_req *r = malloc(sizeof(*r));
	char err[256], joined[CTL_REQ_MAX * 2];

	for (const struct split_case *t = split_cases; t->in != NULL; t++) {
		int rc;
		err[0] = '\0';
		rc = ctl_proto_split(t->in, strlen(t->in), r, err, sizeof(err));
		CU_ASSERT_EQUAL(rc, t->rc);
		if (rc != t->rc) {
			fprintf(stderr, "\ncase '%s': rc %d, want %d (%s)\n", t->in, rc, t->rc, err);
			continue;
		}
		if (rc == SL_DECLINED) {
			CU_ASSERT_STRING_EQUAL(err, t->words);
			continue;
		}
		joined[0] = '\0';
		for (unsigned i = 0; i < r->argc; i++) {
			if (i)
				strcat(joined, "|");
			strcat(joined, r->argv[i]);
		}
		CU_ASSERT_STRING_EQUAL(joined, t->words);
	}
	free(r);
}

static void test_split_quoted_flag(void)
{
	struct ctl_req *r = malloc(sizeof(*r));
	char err[64];
	const char *in = "block add ip 1.2.3.4 \"reason\" x";

	CU_ASSERT_EQUAL(ctl_proto_split(in, strlen(in), r, err, sizeof(err)), SL_OK);
	CU_ASSERT_EQUAL(r->argc, 6);
	CU_ASSERT_FALSE(r->quoted[3]);
	CU_ASSERT_TRUE(r->quoted[4]);
	free(r);
}

static void test_split_sizes(void)
{
	struct ctl_req *r = malloc(sizeof(*r));
	char *line = malloc(CTL_REQ_MAX + 1), err[64];

	/* the longest request fits (its newline is the last byte of the bound) */
	memset(line, 'a', CTL_REQ_MAX - 1);
	CU_ASSERT_EQUAL(ctl_proto_split(line, CTL_REQ_MAX - 1, r, err, sizeof(err)), SL_OK);
	CU_ASSERT_EQUAL(strlen(r->argv[0]), CTL_REQ_MAX - 1);
	memset(line, 'a', CTL_REQ_MAX);
	CU_ASSERT_EQUAL(ctl_proto_split(line, CTL_REQ_MAX, r, err, sizeof(err)), SL_DECLINED);
	CU_ASSERT_STRING_EQUAL(err, "request longer than 4096 bytes");
	/* a NUL byte is a control character, not the end of the line */
	memcpy(line, "ab\0cd", 5);
	CU_ASSERT_EQUAL(ctl_proto_split(line, 5, r, err, sizeof(err)), SL_DECLINED);
	free(line);
	free(r);
}

static void test_json_string(void)
{
	struct ctl_buf b = { 0 };

	ctl_buf_json_str(&b, "a\"b\\c\n\x01\xc3\xa9/");
	CU_ASSERT_STRING_EQUAL(b.p, "\"a\\\"b\\\\c\\u000a\\u0001\\u00c3\\u00a9/\"");
	ctl_buf_reset(&b);
	ctl_reply_error(&b, "unknown command '%s'", "x\"y");
	CU_ASSERT_STRING_EQUAL(b.p, "{\"ok\":false,\"error\":\"unknown command 'x\\\"y'\"}\n");
	ctl_buf_consume(&b, 6);
	CU_ASSERT_STRING_EQUAL(b.p, "false,\"error\":\"unknown command 'x\\\"y'\"}\n");
	ctl_buf_consume(&b, 1000);
	CU_ASSERT_EQUAL(b.len, 0);
	ctl_buf_free(&b);
}

static void test_buf_grows(void)
{
	struct ctl_buf b = { 0 };

	for (int i = 0; i < 10000; i++)
		ctl_buf_printf(&b, "%d,", i);
	CU_ASSERT_FALSE(b.oom);
	CU_ASSERT_EQUAL(strncmp(b.p, "0,1,2,", 6), 0);
	CU_ASSERT_EQUAL(strlen(b.p), b.len);
	ctl_buf_free(&b);
}

/* Counts and session ids as the sessions command reads them. */
static void test_parse_numbers(void)
{
	static const struct { const char *in; int rc; uint64_t v; } counts[] = {
		{ "1", SL_OK, 1 }, { "10000", SL_OK, 10000 }, { "0", SL_DECLINED, 0 },
		{ "10001", SL_DECLINED, 0 }, { "", SL_DECLINED, 0 }, { "-1", SL_DECLINED, 0 },
		{ "+5", SL_DECLINED, 0 }, { "5 ", SL_DECLINED, 0 }, { "0x10", SL_DECLINED, 0 },
		{ "99999999999999999999999", SL_DECLINED, 0 },
	};
	static const struct { const char *in; int rc; uint64_t v; } ids[] = {
		{ "1000010000000", SL_OK, 0x1000010000000ull }, { "0x2a", SL_OK, 0x2a },
		{ "ABCdef", SL_OK, 0xabcdef }, { "ffffffffffffffff", SL_OK, UINT64_MAX },
		{ "1ffffffffffffffff", SL_DECLINED, 0 }, { "0", SL_OK, 0 }, { "0x", SL_DECLINED, 0 },
		{ "", SL_DECLINED, 0 }, { "12g", SL_DECLINED, 0 }, { "-1", SL_DECLINED, 0 }, { " 1", SL_DECLINED, 0 },
	};
	uint64_t v;

	for (size_t i = 0; i < SL_ARRAY_SIZE(counts); i++) {
		v = 0;
		CU_ASSERT_EQUAL(ctl_parse_u64(counts[i].in, 1, 10000, &v), counts[i].rc);
		if (counts[i].rc == SL_OK)
			CU_ASSERT_EQUAL(v, counts[i].v);
	}
	for (size_t i = 0; i < SL_ARRAY_SIZE(ids); i++) {
		int rc = ctl_parse_session_id(ids[i].in, &v);
		if (rc != ids[i].rc)
			fprintf(stderr, "\nid '%s': rc %d\n", ids[i].in, rc);
		CU_ASSERT_EQUAL(rc, ids[i].rc);
		if (rc == SL_OK)
			CU_ASSERT_EQUAL(v, ids[i].v);
	}
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "split table", test_split_table },
		{ "quoted words are marked", test_split_quoted_flag },
		{ "size bound and NUL", test_split_sizes },
		{ "JSON strings and error replies", test_json_string },
		{ "buffer growth", test_buf_grows },
		{ "counts and session ids", test_parse_numbers },
		{ NULL, NULL },
	};
	test_suite("ctl_proto", cases);
}
