/* test_data_barrier.c - regression tests: nothing a client sends after DATA
 * is taken as a command before DATA is answered (found by the session fuzzer:
 * pipelined lines after DATA reached the backend inside the message). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_transport.h"
#include "smtp/smtp_session.h"
#include "test.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

#define CFG_ONE "hostname gw.example.net\nrelay_domains example.net\nbackend mta1 198.18.1.10:25 xclient off\n"

/*
 * BUG 1: a command line that follows DATA in the same segment, read while
 * DATA's answer (the backend's 354) is pending, is executed as a command:
 * MAIL/RCPT/RSET are "pipelinable", so smtp_session_input() runs them at
 * once behind the pending DATA. RCPT is then sent to the backend right
 * after DATA (the backend offers PIPELINING), where it becomes the first
 * line of the message; the backend's replies are then matched to the wrong
 * commands. The client gets "250 ... queued" as the reply to its RCPT and a
 * 451 for the message, which the backend did queue: the client retries and
 * the message is delivered twice, with an injected line.
 * Fixed: nothing after DATA is parsed as a command before DATA is
 * answered (a client that sends content early has it taken as content, or
 * is rejected), and the backend never receives a command line inside DATA.
 */
static void test_rcpt_after_pending_data(void)
{
	struct fake_env *e = fake_env_new(CFG_ONE);
	struct fake_conn *c;
	const char *cl;

	CU_ASSERT_FATAL(e != NULL);
	c = fake_conn_new(e, "198.18.0.7", 40000, true);
	c->mta.pipelining = true;
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	fake_client_str(c, "RCPT TO:<u@example.net>\r\n");
	fake_take(c, SL_LEG_CLIENT);
	fake_take(c, SL_LEG_BACKEND);
	/* DATA and, before its 354, one more line in the same segment */
	fake_client_str(c, "DATA\r\nRCPT TO:<v@example.net>\r\n");
	fake_client_str(c, "Subject: hi\r\n\r\nbody\r\n.\r\n");
	fake_advance(c, 700 * 1000);
	cl = fake_all(c, SL_LEG_CLIENT);
	fprintf(stderr, "\n[bug 1] backend received:\n%s\n[bug 1] client received:\n%s\n",
		fake_all(c, SL_LEG_BACKEND), cl);
	/* The line after DATA waited for the 354 and became content: the backend
	 * got one RCPT command (before DATA) and a message starting with it. */
	{
		const char *all = fake_all(c, SL_LEG_BACKEND);
		const char *data = strstr(all, "DATA\r\n");
		unsigned n = 0;
		CU_ASSERT_PTR_NOT_NULL_FATAL(data);
		for (const char *p = all; (p = strstr(p, "RCPT TO:")) != NULL && p < data; p++)
			n++;
		CU_ASSERT_EQUAL(n, 1);
		CU_ASSERT_EQUAL(c->mta.accepted, 1);
		CU_ASSERT_TRUE(c->mta.last_msg.len > 0 &&
			       strncmp((const char *)c->mta.last_msg.p, "RCPT TO:<v@example.net>\r\nSubject: hi", 36) == 0);
	}
	/* a message the backend queued is never answered 4xx (the client would resend it) */
	if (c->mta.accepted > 0)
		CU_ASSERT_PTR_NULL(strstr(cl, "451 "));
	fake_conn_free(c);
	fake_env_free(e);
}

/*
 * BUG 1b (found by fuzz_smtp_session), same root cause: "DATA\r\n\n.\r\n" in
 * one segment. The "\n" line is read while DATA waits for the backend's 354,
 * held as a command, and run as one after 354 (500 5.5.2); the ".\r\n" that
 * follows is then taken as an empty message: the backend receives an end of
 * DATA the client never sent (no CR LF . CR LF; a bare LF in reject mode
 * must give 550 5.5.2) and the client gets 250 for it.
 */
static void test_bare_lf_dot_after_pending_data(void)
{
	struct fake_env *e = fake_env_new(CFG_ONE);
	struct fake_conn *c;

	CU_ASSERT_FATAL(e != NULL);
	c = fake_conn_new(e, "198.18.0.7", 40000, true);
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	fake_client_str(c, "RCPT TO:<u@example.net>\r\n");
	fake_take(c, SL_LEG_CLIENT);
	fake_client_str(c, "DATA\r\n\n.\r\nQUIT\r\n");
	fprintf(stderr, "\n[bug 1b] client received:\n%s\n", fake_take(c, SL_LEG_CLIENT));
	CU_ASSERT_EQUAL(c->mta.messages, 0);
	CU_ASSERT_EQUAL(c->mta.accepted, 0);
	fake_conn_free(c);
	fake_env_free(e);
}

/* The same in the engine alone: a RCPT read while DATA is pending reaches the rcpt hook. */
static int bug1_rcpt_calls;
static void n_send(void *a, const void *p, size_t n) { (void)a; (void)p; (void)n; }
static void n_close(void *a) { (void)a; }
static void n_timer(void *a, uint32_t ms) { (void)a; (void)ms; }
static void n_resume(void *a) { (void)a; }
static int n_connect(void *a, uint32_t s, struct smtp_answer *x) { (void)a; (void)s; (void)x; return SL_OK; }
static int n_helo(void *a, uint32_t s, const char *n, bool e, struct smtp_answer *x)
{ (void)a; (void)s; (void)n; (void)e; (void)x; return SL_OK; }
static int n_mail(void *a, uint32_t s, const struct smtp_cmd *c, struct smtp_answer *x)
{ (void)a; (void)s; (void)c; (void)x; return SL_OK; }
static int n_rcpt(void *a, uint32_t s, const struct smtp_cmd *c, struct smtp_answer *x)
{ (void)a; (void)s; (void)c; (void)x; bug1_rcpt_calls++; return SL_OK; }
static int n_data(void *a, uint32_t s, struct smtp_answer *x) { (void)a; (void)s; (void)x; return SL_AGAIN; }
static void n_bytes(void *a, const struct sl_rx *r, const uint8_t *p, size_t n, bool f)
{ (void)a; (void)r; (void)p; (void)n; (void)f; }
static size_t n_room(void *a) { (void)a; return SIZE_MAX; }
static int n_end(void *a, uint32_t s, int e, uint64_t z, struct smtp_answer *x)
{ (void)a; (void)s; (void)e; (void)z; (void)x; return SL_OK; }
static int n_rset(void *a, uint32_t s, struct smtp_answer *x) { (void)a; (void)s; (void)x; return SL_OK; }

static void test_engine_mail_after_pending_data(void)
{
	static const struct smtp_session_hooks h = {
		.send = n_send, .close = n_close, .timer = n_timer, .connect = n_connect, .helo = n_helo,
		.mail = n_mail, .rcpt = n_rcpt, .data = n_data, .data_bytes = n_bytes, .data_room = n_room,
		.data_end = n_end, .rset = n_rset, .resume = n_resume,
	};
	static struct smtp_session s;
	char err[200];
	struct cfg *cf = cfg_parse_string("t", CFG_ONE, strlen(CFG_ONE), err, sizeof(err));
	uint64_t now = 0;
	bool st = false;
	const char *in[] = { "EHLO c\r\n", "MAIL FROM:<a@example.org>\r\n", "RCPT TO:<u@example.net>\r\n",
			     "DATA\r\nRCPT TO:<v@example.net>\r\n" };

	CU_ASSERT_FATAL(cf != NULL);
	smtp_session_init(&s, cf, &h, NULL, 1, "[198.18.0.7]:1", &st, &now);
	smtp_session_start(&s);
	for (unsigned i = 0; i < 4; i++) {
		struct sl_rx rx = { (const uint8_t *)in[i], (uint32_t)strlen(in[i]), NULL };
		smtp_session_input(&s, &rx);
	}
	/* DATA is still unanswered: the second RCPT must not have reached the hook */
	CU_ASSERT_EQUAL(bug1_rcpt_calls, 1);
	cfg_unref(cf);
}

void register_tests(void)
{
	static const struct test_case bugs[] = {
		{ "bug 1: RCPT after a pending DATA reaches the backend inside DATA", test_rcpt_after_pending_data },
		{ "bug 1b: DATA then bare LF dot ends an empty message", test_bare_lf_dot_after_pending_data },
		{ "bug 1: engine runs RCPT read while DATA is pending", test_engine_mail_after_pending_data },
		{ NULL, NULL }
	};

	sl_log_set_level(SL_LOG_ERR);
	test_suite("session after pending DATA", bugs);
}
