/* test_smtp_session.c - the SMTP server engine driven directly through its
 * hooks: every command and reply, limits, timers, pipelining order, DATA. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_transport.h"
#include "smtp/smtp_session.h"
#include "test.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

#define BASE_CFG "hostname mx.test.example\nrelay_domains example.net\nbackend b1 198.18.1.10:25\n"

/* Which hooks answer later (smtp_session_complete) instead of at once. */
enum { A_CONNECT = 1, A_HELO = 2, A_MAIL = 4, A_RCPT = 8, A_DATA = 16, A_DOT = 32, A_RSET = 64 };

struct eng {
	struct smtp_session s;
	struct cfg *cfg;
	struct fake_buf out, data, in;
	bool closed;
	bool resume;
	uint32_t timer_ms;
	uint64_t timer_due;
	unsigned timer_sets;
	bool stressed;
	uint64_t now;
	unsigned async;          /* A_* */
	uint32_t pend[64];
	unsigned pend_verb[64];
	unsigned npend;
	int last_err;
	uint64_t last_size;
	unsigned dots;
	size_t room;
};

static struct eng E;

static void h_send(void *arg, const void *p, size_t n) { fake_buf_add(&((struct eng *)arg)->out, p, n); }
static void h_close(void *arg) { ((struct eng *)arg)->closed = true; }
static void h_timer(void *arg, uint32_t ms)
{
	struct eng *e = arg;
	e->timer_ms = ms;
	e->timer_due = ms ? e->now + ms : 0;
	e->timer_sets++;
}
static void h_resume(void *arg) { ((struct eng *)arg)->resume = true; }

static int later(struct eng *e, unsigned bit, uint32_t slot)
{
	if (!(e->async & bit))
		return SL_OK;
	e->pend[e->npend] = slot;
	e->pend_verb[e->npend] = bit;
	e->npend++;
	return SL_AGAIN;
}

static int h_connect(void *arg, uint32_t slot, struct smtp_answer *a) { (void)a; return later(arg, A_CONNECT, slot); }
static int h_helo(void *arg, uint32_t slot, const char *name, bool esmtp, struct smtp_answer *a)
{
	(void)esmtp;
	if (strcmp(name, "bad.helo") == 0) {
		static const char r[] = "554 5.7.1 <bad.helo>: Helo command rejected\r\n";
		a->ok = false;
		a->reply = r;
		a->len = sizeof(r) - 1;
		return SL_OK;
	}
	return later(arg, A_HELO, slot);
}
static int h_mail(void *arg, uint32_t slot, const struct smtp_cmd *c, struct smtp_answer *a)
{
	(void)c; (void)a;
	return later(arg, A_MAIL, slot);
}
static int h_rcpt(void *arg, uint32_t slot, const struct smtp_cmd *c, struct smtp_answer *a)
{
	if (strncmp(c->path.addr, "bad", 3) == 0) {
		static const char r[] = "550 5.1.1 <bad>: Recipient address rejected\r\n";
		a->ok = false;
		a->reply = r;
		a->len = sizeof(r) - 1;
		return SL_OK;
	}
	return later(arg, A_RCPT, slot);
}
static int h_data(void *arg, uint32_t slot, struct smtp_answer *a) { (void)a; return later(arg, A_DATA, slot); }
static void h_data_bytes(void *arg, const struct sl_rx *rx, const uint8_t *p, size_t n, bool from_input)
{
	struct eng *e = arg;
	if (from_input)
		CU_ASSERT(p >= rx->data && p + n <= rx->data + rx->len);
	fake_buf_add(&e->data, p, n);
}
static size_t h_data_room(void *arg) { return ((struct eng *)arg)->room; }
static int h_data_end(void *arg, uint32_t slot, int err, uint64_t size, struct smtp_answer *a)
{
	struct eng *e = arg;
	e->last_err = err;
	e->last_size = size;
	e->dots++;
	if (err >= 0) {
		smtp_answer_id(a, false, (enum smtp_reply_id)err);
		return SL_OK;
	}
	return later(e, A_DOT, slot);
}
static int h_rset(void *arg, uint32_t slot, struct smtp_answer *a) { (void)a; return later(arg, A_RSET, slot); }

static const struct smtp_session_hooks hooks = {
	.send = h_send, .close = h_close, .timer = h_timer, .connect = h_connect, .helo = h_helo,
	.mail = h_mail, .rcpt = h_rcpt, .data = h_data, .data_bytes = h_data_bytes,
	.data_room = h_data_room, .data_end = h_data_end, .rset = h_rset, .resume = h_resume,
};

/* offer what the client sent, as a transport does, until nothing moves */
static void offer(void)
{
	for (int i = 0; i < 1000; i++) {
		struct sl_rx rx = { E.in.p, (uint32_t)E.in.len, NULL };
		size_t n;
		E.resume = false;
		if (E.in.len == 0 || E.closed)
			break;
		n = smtp_session_input(&E.s, &rx);
		CU_ASSERT_FATAL(n <= E.in.len);
		memmove(E.in.p, E.in.p + n, E.in.len - n);
		E.in.len -= n;
		if (!E.resume && n == 0)
			break;
	}
	if (E.closed)
		fake_buf_clear(&E.in);
}

static void eng_start(const char *extra, unsigned async)
{
	char text[2048];

	if (E.cfg != NULL)
		cfg_unref(E.cfg);
	fake_buf_free(&E.out);
	fake_buf_free(&E.data);
	fake_buf_free(&E.in);
	memset(&E, 0, sizeof(E));
	snprintf(text, sizeof(text), "%s%s", BASE_CFG, extra ? extra : "");
	char err[256];
	E.cfg = cfg_parse_string("t.conf", text, strlen(text), err, sizeof(err));
	if (E.cfg == NULL)
		fprintf(stderr, "cfg: %s\n", err);
	CU_ASSERT_FATAL(E.cfg != NULL);
	E.async = async;
	E.room = SIZE_MAX;
	E.now = 5000;
	E.last_err = -2;
	smtp_session_init(&E.s, E.cfg, &hooks, &E, 1, "[198.18.0.7]:40000", &E.stressed, &E.now);
	smtp_session_start(&E.s);
}

static void feed_n(const void *p, size_t n)
{
	fake_buf_add(&E.in, p, n);
	offer();
}
static void feed(const char *s) { feed_n(s, strlen(s)); }

/* everything sent to the client since the last call */
static char *take(void)
{
	static char buf[1 << 16];
	size_t n = SL_MIN(E.out.len, sizeof(buf) - 1);
	memcpy(buf, E.out.p ? (char *)E.out.p : "", n);
	buf[n] = '\0';
	fake_buf_clear(&E.out);
	return buf;
}

#define EXPECT(want) do { const char *got_ = take(); CU_ASSERT_STRING_EQUAL(got_, want); \
	if (strcmp(got_, want) != 0) fprintf(stderr, "\n%s:%d: got [%s] want [%s]\n", __FILE__, __LINE__, got_, want); } while (0)

static void complete(unsigned i, bool ok, int reply_id)
{
	struct smtp_answer a = { .ok = ok, .reply_id = reply_id };
	smtp_session_complete(&E.s, E.pend[i], &a);
	offer();
}

static void advance(uint64_t ms)
{
	uint64_t end = E.now + ms;
	while (E.timer_due && E.timer_due <= end && !E.closed) {
		E.now = E.timer_due;
		E.timer_due = 0;
		smtp_session_timer(&E.s);
		offer();
	}
	E.now = end;
}

static const char greeting[] = "220 mx.test.example ESMTP\r\n";
static const char ehlo_reply[] = "250-mx.test.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	"250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n";

static void ready(const char *extra)
{
	eng_start(extra, 0);
	EXPECT(greeting);
	feed("EHLO client.example.org\r\n");
	if (extra == NULL) {
		EXPECT(ehlo_reply);
	} else {
		const char *got = take();
		CU_ASSERT_TRUE(strncmp(got, "250-mx.test.example\r\n250-PIPELINING\r\n", 37) == 0);
		CU_ASSERT_TRUE(strstr(got, "250 ENHANCEDSTATUSCODES\r\n") != NULL);
	}
}

/* ---- greeting, EHLO, HELO */

static void test_greeting_ehlo(void)
{
	eng_start(NULL, 0);
	EXPECT(greeting);
	CU_ASSERT_EQUAL(E.timer_ms, 300000);
	feed("EHLO client.example.org\r\n");
	EXPECT(ehlo_reply);
	feed("HELO client.example.org\r\n");
	EXPECT("250 mx.test.example\r\n");
	CU_ASSERT_FALSE(E.closed);
}

static void test_ehlo_variants(void)
{
	eng_start("smtputf8 off\nmessage_size_limit 0\n", 0);
	take();
	feed("EHLO c\r\n");
	EXPECT("250-mx.test.example\r\n250-PIPELINING\r\n250-SIZE\r\n250-8BITMIME\r\n250-DSN\r\n"
	       "250 ENHANCEDSTATUSCODES\r\n");
	feed("EHLO\r\n");
	EXPECT("501 5.5.4 Syntax: EHLO hostname\r\n");
	feed("HELO\r\n");
	EXPECT("501 5.5.4 Syntax: HELO hostname\r\n");
	feed("EHLO bad.helo\r\n");
	EXPECT("554 5.7.1 <bad.helo>: Helo command rejected\r\n");
	feed("MAIL FROM:<a@example.org>\r\n");
	EXPECT("503 5.5.1 Error: send HELO/EHLO first\r\n");
}

/* ---- one command after EHLO, its exact reply */

struct cmd_row {
	const char *setup;   /* sent (and its replies dropped) before cmd */
	const char *cmd;
	const char *want;
	bool closes;
};

static const struct cmd_row cmd_rows[] = {
	{ "", "NOOP\r\n", "250 2.0.0 Ok\r\n", false },
	{ "", "noop\r\n", "250 2.0.0 Ok\r\n", false },
	{ "", "RSET\r\n", "250 2.0.0 Ok\r\n", false },
	{ "", "VRFY postmaster\r\n", "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery\r\n", false },
	{ "", "HELP\r\n", "214 2.0.0 See https://www.rfc-editor.org/rfc/rfc5321\r\n", false },
	{ "", "QUIT\r\n", "221 2.0.0 Bye\r\n", true },
	{ "", "EXPN list\r\n", "502 5.5.1 Error: command not implemented\r\n", false },
	{ "", "ETRN example.net\r\n", "502 5.5.1 Error: command not implemented\r\n", false },
	{ "", "STARTTLS\r\n", "502 5.5.1 Error: command not implemented\r\n", false },
	{ "", "AUTH PLAIN AHVzZXIAcGFzcw==\r\n", "502 5.5.1 Error: command not implemented\r\n", false },
	{ "", "BDAT 10 LAST\r\n", "502 5.5.1 Error: command not implemented\r\n", false },
	{ "", "BDAT 99999999999 LAST\r\n", "502 5.5.1 Error: command not implemented\r\n", false },
	{ "", "XCLIENT ADDR=1.2.3.4\r\n", "550 5.7.0 Error: insufficient authorization\r\n", false },
	{ "", "FOO bar\r\n", "500 5.5.2 Error: command not recognized\r\n", false },
	{ "", "\r\n", "500 5.5.2 Error: command not recognized\r\n", false },
	{ "", "RCPT TO:<u@example.net>\r\n", "503 5.5.1 Error: need MAIL command\r\n", false },
	{ "", "DATA\r\n", "503 5.5.1 Error: need MAIL command\r\n", false },
	{ "MAIL FROM:<a@example.org>\r\n", "DATA\r\n", "503 5.5.1 Error: need RCPT command\r\n", false },
	{ "MAIL FROM:<a@example.org>\r\n", "MAIL FROM:<a@example.org>\r\n", "503 5.5.1 Error: nested MAIL command\r\n", false },
	{ "MAIL FROM:<a@example.org>\r\nRCPT TO:<bad@example.net>\r\n", "DATA\r\n", "554 5.5.1 Error: no valid recipients\r\n", false },
	{ "", "MAIL FROM:<a@example.org>\r\n", "250 2.1.0 Ok\r\n", false },
	{ "", "MAIL FROM:<>\r\n", "250 2.1.0 Ok\r\n", false },
	{ "", "MAIL FROM:a@example.org\r\n", "250 2.1.0 Ok\r\n", false },  /* lenient, like Postfix */
	{ "", "MAIL FROM:\r\n", "501 5.5.4 Syntax: MAIL FROM:<address>\r\n", false },
	{ "", "MAIL FROM <a@example.org>\r\n", "501 5.5.4 Syntax: MAIL FROM:<address>\r\n", false },
	{ "", "MAIL FROM:<a@example.org>junk\r\n", "501 5.1.7 Bad sender address syntax\r\n", false },
	{ "", "MAIL TO:<a@example.org>\r\n", "501 5.5.4 Syntax: MAIL FROM:<address>\r\n", false },
	{ "", "MAIL FROM:<a@@example.org>\r\n", "501 5.1.7 Bad sender address syntax\r\n", false },
	{ "", "MAIL FROM:<a@example.org> SIZE=10240001\r\n", "552 5.3.4 Message size exceeds fixed limit\r\n", false },
	{ "", "MAIL FROM:<a@example.org> SIZE=99999999999999999999\r\n", "552 5.3.4 Message size exceeds fixed limit\r\n", false },
	{ "", "MAIL FROM:<a@example.org> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=x+2By\r\n", "250 2.1.0 Ok\r\n", false },
	{ "", "MAIL FROM:<a@example.org> FOO=bar\r\n", "555 5.5.4 Error: unsupported parameter\r\n", false },
	{ "", "MAIL FROM:<a@example.org> SIZE=1 SIZE=2\r\n", "501 5.5.4 Error: duplicate parameter\r\n", false },
	{ "MAIL FROM:<a@example.org>\r\n", "RCPT TO:<u@example.net>\r\n", "250 2.1.5 Ok\r\n", false },
	{ "MAIL FROM:<a@example.org>\r\n", "RCPT TO:<u@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u@example.net\r\n", "250 2.1.5 Ok\r\n", false },
	{ "MAIL FROM:<a@example.org>\r\n", "RCPT TO:<>\r\n", "501 5.1.3 Error: null recipient not allowed\r\n", false },
	{ "MAIL FROM:<a@example.org>\r\n", "RCPT TO:<u@@example.net>\r\n", "501 5.1.3 Bad recipient address syntax\r\n", false },
	{ "MAIL FROM:<a@example.org>\r\n", "RCPT TO:\r\n", "501 5.5.4 Syntax: RCPT TO:<address>\r\n", false },
	{ "MAIL FROM:<a@example.org>\r\n", "RCPT FROM:<u@example.net>\r\n", "501 5.5.4 Syntax: RCPT TO:<address>\r\n", false },
	{ "MAIL FROM:<a@example.org>\r\n", "RCPT TO:<\xc3\xbc@example.net>\r\n", "553 5.6.7 Error: non-ASCII address requires SMTPUTF8\r\n", false },
	{ "MAIL FROM:<a@example.org> SMTPUTF8\r\n", "RCPT TO:<\xc3\xbc@example.net>\r\n", "250 2.1.5 Ok\r\n", false },
	{ "MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\n", "DATA\r\n", "354 End data with <CR><LF>.<CR><LF>\r\n", false },
	{ "MAIL FROM:<a@example.org>\r\n", "RSET\r\n", "250 2.0.0 Ok\r\n", false },
	{ "MAIL FROM:<a@example.org>\r\nRSET\r\n", "RCPT TO:<u@example.net>\r\n", "503 5.5.1 Error: need MAIL command\r\n", false },
	{ "MAIL FROM:<a@example.org>\r\nEHLO again\r\n", "RCPT TO:<u@example.net>\r\n", "503 5.5.1 Error: need MAIL command\r\n", false },
	{ NULL, NULL, NULL, false }
};

static void test_command_table(void)
{
	for (const struct cmd_row *r = cmd_rows; r->cmd != NULL; r++) {
		const char *got;
		ready(NULL);
		feed(r->setup);
		take();
		feed(r->cmd);
		got = take();
		CU_ASSERT_STRING_EQUAL(got, r->want);
		if (strcmp(got, r->want) != 0)
			fprintf(stderr, "\nrow [%s%s]: got [%s] want [%s]\n", r->setup, r->cmd, got, r->want);
		CU_ASSERT_EQUAL(E.closed, r->closes);
	}
}

static void test_nul_in_command(void)
{
	ready(NULL);
	feed_n("NOOP\0x\r\n", 8);
	EXPECT("500 5.5.2 Error: NUL character in command\r\n");
	feed("NOOP\r\n");
	EXPECT("250 2.0.0 Ok\r\n");
}

/* ---- recipients */

static void test_recipients(void)
{
	char line[64];

	ready(NULL);
	feed("MAIL FROM:<a@example.org>\r\n");
	take();
	for (int i = 0; i < 101; i++) {
		snprintf(line, sizeof(line), "RCPT TO:<u%d@example.net>\r\n", i);
		feed(line);
		EXPECT("250 2.1.5 Ok\r\n");
	}
	ready("recipient_limit 100\nhard_error_limit 100\n");
	feed("MAIL FROM:<a@example.org>\r\n");
	take();
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "RCPT TO:<u%d@example.net>\r\n", i);
		feed(line);
		EXPECT("250 2.1.5 Ok\r\n");
	}
	feed("RCPT TO:<u100@example.net>\r\n");
	EXPECT("452 4.5.3 Error: too many recipients\r\n");
	feed("RCPT TO:<u101@example.net>\r\n");
	EXPECT("452 4.5.3 Error: too many recipients\r\n");
	feed("DATA\r\n");
	EXPECT("354 End data with <CR><LF>.<CR><LF>\r\n");
}

/* ---- error limits */

static void test_hard_error_limit(void)
{
	ready("hard_error_limit 3\n");
	feed("FOO\r\n");
	feed("BAR\r\n");
	EXPECT("500 5.5.2 Error: command not recognized\r\n500 5.5.2 Error: command not recognized\r\n");
	CU_ASSERT_FALSE(E.closed);
	feed("BAZ\r\n");
	EXPECT("500 5.5.2 Error: command not recognized\r\n421 4.7.0 Error: too many errors\r\n");
	CU_ASSERT_TRUE(E.closed);
	feed("NOOP\r\n");
	EXPECT("");
}

static void test_junk_command_limit(void)
{
	ready("junk_command_limit 3\nhard_error_limit 2\n");
	for (int i = 0; i < 3; i++) {
		feed("NOOP\r\n");
		EXPECT("250 2.0.0 Ok\r\n");
	}
	/* past the junk limit every junk command counts as an error */
	feed("NOOP\r\n");
	EXPECT("250 2.0.0 Ok\r\n");
	CU_ASSERT_FALSE(E.closed);
	feed("VRFY x\r\n");
	CU_ASSERT_TRUE(strstr(take(), "421 4.7.0 ") != NULL);
	CU_ASSERT_TRUE(E.closed);
}

/* ---- line limits */

static void test_command_line_limit(void)
{
	char line[600];

	ready(NULL);
	/* 510 + CR LF = 512: within the limit, parsed (an unknown verb) */
	memset(line, 'X', 510);
	memcpy(line + 510, "\r\n", 3);
	feed(line);
	EXPECT("500 5.5.2 Error: command not recognized\r\n");
	memset(line, 'X', 511);
	memcpy(line + 511, "\r\n", 3);
	feed(line);
	EXPECT("500 5.5.2 Error: line too long\r\n");
	/* a long MAIL must not be executed even partially */
	memcpy(line, "MAIL FROM:<a@example.org> ", 26);
	memset(line + 26, 'Y', 560);
	memcpy(line + 586, "\r\n", 3);
	feed(line);
	EXPECT("500 5.5.2 Error: line too long\r\n");
	feed("RCPT TO:<u@example.net>\r\n");
	EXPECT("503 5.5.1 Error: need MAIL command\r\n");
}

static void test_ten_megabyte_line(void)
{
	static uint8_t chunk[65536];

	ready(NULL);
	memset(chunk, 'A', sizeof(chunk));
	for (int i = 0; i < 160; i++) {
		struct sl_rx rx = { chunk, sizeof(chunk), NULL };
		/* consumed whole every time: nothing accumulates */
		CU_ASSERT_EQUAL_FATAL(smtp_session_input(&E.s, &rx), sizeof(chunk));
		CU_ASSERT(E.s.line_len <= SMTP_LINE_MAX);
	}
	EXPECT("");
	feed("\r\n");
	EXPECT("500 5.5.2 Error: line too long\r\n");
	feed("NOOP\r\n");
	EXPECT("250 2.0.0 Ok\r\n");
	CU_ASSERT_FALSE(E.closed);
}

/* ---- DATA */

static void start_data(const char *extra)
{
	ready(extra);
	feed("MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\nDATA\r\n");
	EXPECT("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
	fake_buf_clear(&E.data);
}

static const char *data_str(void)
{
	return E.data.p ? (const char *)E.data.p : "";
}

static void test_data_basic(void)
{
	start_data(NULL);
	feed("Subject: t\r\n\r\n..dot\r\nbody\r\n.\r\n");
	EXPECT("250 2.0.0 Ok\r\n");
	CU_ASSERT_STRING_EQUAL(data_str(), "Subject: t\r\n\r\n..dot\r\nbody\r\n");
	CU_ASSERT_EQUAL(E.last_err, -1);
	CU_ASSERT_EQUAL(E.dots, 1);
	/* a second message in the same session */
	feed("MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\nDATA\r\n");
	EXPECT("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
	fake_buf_clear(&E.data);
	feed(".\r\n");
	EXPECT("250 2.0.0 Ok\r\n");
	CU_ASSERT_STRING_EQUAL(data_str(), "");
	feed("QUIT\r\n");
	EXPECT("221 2.0.0 Bye\r\n");
}

/* The same message cut every possible way gives the same bytes. */
static void test_data_splits(void)
{
	static const char msg[] = "From: a\r\n\r\n.leading dot\r\n..two\r\nx\r\n.\r\n";
	static const char want[] = "From: a\r\n\r\n.leading dot\r\n..two\r\nx\r\n";
	size_t n = sizeof(msg) - 1;

	/* byte by byte */
	start_data(NULL);
	for (size_t i = 0; i < n; i++)
		feed_n(msg + i, 1);
	EXPECT("250 2.0.0 Ok\r\n");
	CU_ASSERT_STRING_EQUAL(data_str(), want);
	/* every single cut */
	for (size_t cut = 1; cut < n; cut++) {
		start_data(NULL);
		feed_n(msg, cut);
		feed_n(msg + cut, n - cut);
		EXPECT("250 2.0.0 Ok\r\n");
		CU_ASSERT_STRING_EQUAL(data_str(), want);
	}
	/* random chunks, with the next command in the same segment */
	srand(7);
	for (int round = 0; round < 200; round++) {
		char all[256];
		size_t len, off = 0;
		snprintf(all, sizeof(all), "%sNOOP\r\n", msg);
		len = strlen(all);
		start_data(NULL);
		while (off < len) {
			size_t k = 1 + (size_t)rand() % 9;
			k = SL_MIN(k, len - off);
			feed_n(all + off, k);
			off += k;
		}
		EXPECT("250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n");
		CU_ASSERT_STRING_EQUAL(data_str(), want);
	}
}

struct data_row {
	const char *extra;
	const char *body;     /* after 354, up to and including the terminator */
	size_t      len;      /* 0: strlen */
	const char *reply;
	const char *data;     /* what data_bytes got; NULL: not checked */
};

static const struct data_row data_rows[] = {
	{ NULL, "a\nb\r\n.\r\n", 0, "550 5.5.2 Error: bare <CR> or <LF> received\r\n", "" },
	{ NULL, "a\rb\r\n.\r\n", 0, "550 5.5.2 Error: bare <CR> or <LF> received\r\n", "" },
	{ NULL, "ok\r\na\nb\r\n.\r\n", 0, "550 5.5.2 Error: bare <CR> or <LF> received\r\n", NULL },
	{ "bare_newline normalize\n", "a\nb\r\n.\r\n", 0, "250 2.0.0 Ok\r\n", "a\r\nb\r\n" },
	{ "bare_newline normalize\n", "a\rb\r\n.\r\n", 0, "250 2.0.0 Ok\r\n", "a\r\nb\r\n" },
	{ "bare_newline normalize\n", "a\n.\nb\r\n.\r\n", 0, "250 2.0.0 Ok\r\n", "a\r\n..\r\nb\r\n" },
	{ NULL, "a\0b\r\n.\r\n", 8, "550 5.6.0 Error: NUL character in message\r\n", "" },
	{ NULL, "\r\n\0.\r\n.\r\n", 9, "550 5.6.0 Error: NUL character in message\r\n", NULL },
	{ NULL, "\xc3\xa9t\xc3\xa9 8bit\r\n.\r\n", 0, "250 2.0.0 Ok\r\n", "\xc3\xa9t\xc3\xa9 8bit\r\n" },
	{ "message_size_limit 100\n", "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789\r\n.\r\n", 0, "552 5.3.4 Error: message file too big\r\n", NULL },
	{ "message_size_limit 100\n", "small\r\n.\r\n", 0, "250 2.0.0 Ok\r\n", "small\r\n" },
	{ NULL, NULL, 0, NULL, NULL }
};

static void test_data_table(void)
{
	for (const struct data_row *r = data_rows; r->body != NULL; r++) {
		const char *got;
		start_data(r->extra);
		feed_n(r->body, r->len ? r->len : strlen(r->body));
		got = take();
		CU_ASSERT_STRING_EQUAL(got, r->reply);
		if (strcmp(got, r->reply) != 0)
			fprintf(stderr, "\ndata row %d: got [%s] want [%s]\n", (int)(r - data_rows), got, r->reply);
		if (r->data != NULL)
			CU_ASSERT_STRING_EQUAL(data_str(), r->data);
		/* the session goes on */
		feed("NOOP\r\n");
		EXPECT("250 2.0.0 Ok\r\n");
	}
}

static void test_text_line_limit(void)
{
	static char body[2100];

	start_data(NULL);
	memset(body, 'x', 998);
	strcpy(body + 998, "\r\n.\r\n");
	feed(body);
	EXPECT("250 2.0.0 Ok\r\n");
	feed("MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\nDATA\r\n");
	take();
	memset(body, 'x', 1001);
	strcpy(body + 1001, "\r\n.\r\n");
	feed(body);
	EXPECT("550 5.6.0 Error: message line too long\r\n");
}

/* ---- greet pause */

static void test_greet_pause(void)
{
	eng_start("greet_pause 2s\n", 0);
	EXPECT("");
	CU_ASSERT_EQUAL(E.timer_ms, 2000);
	feed("EHLO early\r\n");
	EXPECT("554 5.5.1 Error: talking before the greeting\r\n");
	CU_ASSERT_TRUE(E.closed);

	eng_start("greet_pause 2s\n", 0);
	advance(1999);
	EXPECT("");
	advance(1);
	EXPECT(greeting);
	feed("EHLO ok\r\n");
	EXPECT(ehlo_reply);
}

static void test_async_connect(void)
{
	eng_start("greet_pause 1s\n", A_CONNECT);
	advance(1000);
	EXPECT("");
	complete(0, true, -1);
	EXPECT(greeting);
	eng_start(NULL, A_CONNECT);
	EXPECT("");
	/* a rejection is sent at once, even during a greet pause */
	struct smtp_answer a = { .ok = false, .close = true, .reply_id = SMTP_R_TOO_BUSY };
	smtp_session_complete(&E.s, E.pend[0], &a);
	EXPECT("421 4.3.2 Too many sessions, try again later\r\n");
	CU_ASSERT_TRUE(E.closed);
}

/* ---- pipelining */

static void test_pipelining_enforced(void)
{
	eng_start(NULL, 0);
	take();
	feed("HELO x\r\nMAIL FROM:<a@example.org>\r\n");
	EXPECT("554 5.5.1 Error: command pipelining without PIPELINING\r\n");
	CU_ASSERT_TRUE(E.closed);

	eng_start(NULL, 0);
	take();
	feed("HELO x\r\n");
	EXPECT("250 mx.test.example\r\n");
	feed("MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\n");
	EXPECT("554 5.5.1 Error: command pipelining without PIPELINING\r\n");
	CU_ASSERT_TRUE(E.closed);

	/* one command at a time after HELO is fine */
	eng_start(NULL, 0);
	take();
	feed("HELO x\r\n");
	feed("MAIL FROM:<a@example.org>\r\n");
	feed("RCPT TO:<u@example.net>\r\n");
	EXPECT("250 mx.test.example\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");

	eng_start("pipelining_enforce off\n", 0);
	take();
	feed("HELO x\r\nMAIL FROM:<a@example.org>\r\n");
	EXPECT("250 mx.test.example\r\n250 2.1.0 Ok\r\n");
}

static void test_pipelining_async_order(void)
{
	eng_start(NULL, A_MAIL | A_RCPT | A_DATA | A_DOT);
	take();
	feed("EHLO c\r\n");
	take();
	feed("MAIL FROM:<a@example.org>\r\nRCPT TO:<u1@example.net>\r\nRCPT TO:<bad@example.net>\r\n"
	     "RCPT TO:<u3@example.net>\r\nDATA\r\n");
	/* MAIL and the RCPTs are all asked at once; DATA waits */
	CU_ASSERT_EQUAL_FATAL(E.npend, 3);
	EXPECT("");
	complete(2, true, -1);   /* u3 first */
	EXPECT("");
	complete(1, true, -1);   /* u1 */
	EXPECT("");
	complete(0, true, -1);   /* MAIL: now everything up to u3 goes, in order */
	EXPECT("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <bad>: Recipient address rejected\r\n250 2.1.5 Ok\r\n");
	CU_ASSERT_EQUAL_FATAL(E.npend, 4); /* DATA */
	complete(3, true, -1);
	EXPECT("354 End data with <CR><LF>.<CR><LF>\r\n");
	feed("Subject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n");
	CU_ASSERT_STRING_EQUAL(data_str(), "Subject: x\r\n\r\nhi\r\n");
	CU_ASSERT_EQUAL_FATAL(E.npend, 5); /* end of DATA */
	EXPECT("");
	complete(4, true, -1);
	EXPECT("250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n");
	CU_ASSERT_TRUE(E.closed);
}

static void test_pipelining_mail_refused(void)
{
	eng_start(NULL, A_MAIL);
	take();
	feed("EHLO c\r\n");
	take();
	feed("MAIL FROM:<a@example.org>\r\nRCPT TO:<u1@example.net>\r\nDATA\r\n");
	CU_ASSERT_EQUAL_FATAL(E.npend, 1);
	{
		struct smtp_answer a = { .ok = false, .reply_id = SMTP_R_POLICY_TEMPFAIL };
		smtp_session_complete(&E.s, E.pend[0], &a);
		offer();
	}
	/* the RCPT was asked before the refusal; DATA sees no transaction */
	const char *got = take();
	CU_ASSERT_TRUE(strncmp(got, "451 4.7.0 Error: temporary policy failure", 41) == 0);
	CU_ASSERT_TRUE(strstr(got, "503 5.5.1 Error: need MAIL command\r\n") != NULL);
	CU_ASSERT_TRUE(strstr(got, "354") == NULL);
}

/* stale and duplicate answers are ignored */
static void test_stale_answers(void)
{
	eng_start(NULL, A_MAIL);
	take();
	feed("EHLO c\r\n");
	feed("MAIL FROM:<a@example.org>\r\n");
	take();
	complete(0, true, -1);
	EXPECT("250 2.1.0 Ok\r\n");
	complete(0, false, SMTP_R_LOCAL_ERROR);
	struct smtp_answer a = { .ok = true, .reply_id = -1 };
	smtp_session_complete(&E.s, 999, &a);
	EXPECT("");
	feed("NOOP\r\n");
	EXPECT("250 2.0.0 Ok\r\n");
}

/* ---- timers */

static void test_command_timeout(void)
{
	ready("command_timeout 10s\n");
	CU_ASSERT_EQUAL(E.timer_ms, 10000);
	advance(9999);
	EXPECT("");
	advance(1);
	EXPECT("421 4.4.2 Error: timeout exceeded\r\n");
	CU_ASSERT_TRUE(E.closed);

	/* a reply we owe is not the client's fault */
	eng_start("command_timeout 10s\n", A_MAIL);
	take();
	feed("EHLO c\r\n");
	feed("MAIL FROM:<a@example.org>\r\n");
	take();
	smtp_session_timer(&E.s);
	EXPECT("");
	CU_ASSERT_FALSE(E.closed);
}

static void test_stress_timeout(void)
{
	eng_start("command_timeout 60s\nstress_command_timeout 5s\n", 0);
	take();
	E.stressed = true;
	feed("EHLO c\r\n");
	take();
	CU_ASSERT_EQUAL(E.timer_ms, 5000);
	advance(5000);
	EXPECT("421 4.4.2 Error: timeout exceeded\r\n");
}

static void test_min_data_rate(void)
{
	uint64_t t0;
	int bytes = 0;

	start_data("data_timeout 60s\nmin_data_rate 100\n");
	t0 = E.now;
	/* one byte every 3 s: 0.33 byte/s against 100 */
	while (!E.closed && bytes < 1000) {
		advance(3000);
		if (E.closed)
			break;
		feed("x");
		bytes++;
	}
	CU_ASSERT_TRUE(E.closed);
	CU_ASSERT_STRING_EQUAL(take(), "421 4.4.2 Error: data rate too low\r\n");
	/* bounded: at most the DATA timeout (and a read) after DATA began */
	CU_ASSERT(E.now - t0 <= 63000);
}

static void test_data_rate_ok(void)
{
	start_data("command_timeout 60s\nmin_data_rate 100\n");
	/* 1000 bytes/s for 200 s: well over the minimum */
	for (int i = 0; i < 200 && !E.closed; i++) {
		char chunk[1001];
		memset(chunk, 'y', 998);
		memcpy(chunk + 998, "\r\n", 3);
		advance(1000);
		feed(chunk);
	}
	CU_ASSERT_FALSE(E.closed);
	feed(".\r\n");
	EXPECT("250 2.0.0 Ok\r\n");
}

/* ---- shutdown */

static void test_shutdown(void)
{
	ready(NULL);
	smtp_session_shutdown(&E.s);
	feed("NOOP\r\n");
	EXPECT("421 4.3.2 Service shutting down, closing transmission channel\r\n");
	CU_ASSERT_TRUE(E.closed);

	ready(NULL);
	feed("MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\n");
	take();
	smtp_session_shutdown(&E.s);
	feed("DATA\r\n");
	EXPECT("354 End data with <CR><LF>.<CR><LF>\r\n");
	feed("hi\r\n.\r\n");
	EXPECT("250 2.0.0 Ok\r\n");
	CU_ASSERT_FALSE(E.closed);
	feed("MAIL FROM:<a@example.org>\r\n");
	EXPECT("421 4.3.2 Service shutting down, closing transmission channel\r\n");
	CU_ASSERT_TRUE(E.closed);
}

/* ---- counts and logs */

static void test_counts(void)
{
	char buf[256];

	ready(NULL);
	feed("MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\nRCPT TO:<bad@example.net>\r\n"
	     "DATA\r\nhi\r\n.\r\nQUIT\r\n");
	CU_ASSERT_EQUAL(smtp_session_format_counts(&E.s, buf, sizeof(buf)), 49u);
	CU_ASSERT_STRING_EQUAL(buf, "ehlo=1 mail=1 rcpt=1/2 data=1 quit=1 commands=5/6");
	/* a short buffer: the start of the same line, terminated */
	for (size_t cap = 1; cap <= 50; cap++) {
		char small[64];

		memset(small, 'X', sizeof(small));
		CU_ASSERT_EQUAL(smtp_session_format_counts(&E.s, small, cap), cap - 1);
		CU_ASSERT_EQUAL(small[cap - 1], '\0');
		CU_ASSERT_EQUAL(strncmp(small, "ehlo=1 mail=1 rcpt=1/2 data=1 quit=1 commands=5/6", cap - 1), 0);
		CU_ASSERT_EQUAL(small[cap], 'X');
	}
	eng_start(NULL, 0);
	smtp_session_format_counts(&E.s, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "commands=0");
	feed("EHLO c\r\n");
	feed("FOO\r\n");
	feed("QUIT\r\n");
	smtp_session_format_counts(&E.s, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "ehlo=1 quit=1 unknown=0/1 commands=2/3");
}

static void test_reject_log(void)
{
	fake_log_start();
	ready(NULL);
	feed("MAIL FROM:<a@example.org>\r\nRCPT TO:<bad@example.net>\r\n");
	CU_ASSERT_TRUE(fake_log_has("NOQUEUE: reject: RCPT from [198.18.0.7]:40000: 550 5.1.1 <bad>: Recipient "
				    "address rejected; from=<a@example.org> to=<bad@example.net> proto=ESMTP "
				    "helo=<client.example.org>"));
	fake_log_stop();
}

void register_tests(void)
{
	static const struct test_case engine[] = {
		{ "greeting and EHLO", test_greeting_ehlo },
		{ "EHLO variants", test_ehlo_variants },
		{ "every command's reply", test_command_table },
		{ "NUL in a command", test_nul_in_command },
		{ "101 recipients, then the limit", test_recipients },
		{ "hard error limit", test_hard_error_limit },
		{ "junk command limit", test_junk_command_limit },
		{ "command line limit", test_command_line_limit },
		{ "10 MB line without LF", test_ten_megabyte_line },
		{ "greet pause", test_greet_pause },
		{ "async connect verdict", test_async_connect },
		{ "pipelining enforced", test_pipelining_enforced },
		{ "pipelined, answers out of order", test_pipelining_async_order },
		{ "pipelined MAIL refused", test_pipelining_mail_refused },
		{ "stale answers", test_stale_answers },
		{ "command timeout", test_command_timeout },
		{ "stress timeout", test_stress_timeout },
		{ "shutdown", test_shutdown },
		{ "counts line", test_counts },
		{ "reject log line", test_reject_log },
		{ NULL, NULL }
	};
	static const struct test_case data[] = {
		{ "message bytes", test_data_basic },
		{ "every split gives the same bytes", test_data_splits },
		{ "bare newline, NUL, size", test_data_table },
		{ "text line limit", test_text_line_limit },
		{ "min data rate: slow sender", test_min_data_rate },
		{ "min data rate: fast sender", test_data_rate_ok },
		{ NULL, NULL }
	};

	sl_log_set_level(SL_LOG_ERR);
	test_suite("smtp_session", engine);
	test_suite("smtp_session DATA", data);
}
