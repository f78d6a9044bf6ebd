/* test_relay_session.c - relay_session through the fake transport: when the
 * backend leg opens, the exact bytes it carries, failures, lists, limits,
 * shutdown and log lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_transport.h"
#include "test.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

#define CFG_HEAD "hostname gw.example.net\nrelay_domains example.net .sub.example.org\n"
#define CFG_TWO CFG_HEAD "backend mta1 198.18.1.10:25 xclient off\nbackend mta2 198.18.1.11:25 xclient off\n"
#define CFG_ONE CFG_HEAD "backend mta1 198.18.1.10:25 xclient off\n"

#define GREETING "220 gw.example.net ESMTP\r\n"
#define EHLO_OK "250-gw.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250-DSN\r\n" \
	"250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n"
#define BK_EHLO_PIPE "250-mta.example.net\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
#define BK_EHLO_PLAIN "250-mta.example.net\r\n250 8BITMIME\r\n"

static struct fake_env *env;
static struct fake_conn *c;

#define CHECK_LEG(leg, want) do { const char *got_ = fake_take(c, leg); CU_ASSERT_STRING_EQUAL(got_, want); \
	if (strcmp(got_, want) != 0) fprintf(stderr, "\n%s:%d: %s got [%s] want [%s]\n", __FILE__, __LINE__, \
		leg == SL_LEG_CLIENT ? "client" : "backend", got_, want); } while (0)
#define CLIENT(want) CHECK_LEG(SL_LEG_CLIENT, want)
#define BACKEND(want) CHECK_LEG(SL_LEG_BACKEND, want)

static void done(void)
{
	if (c != NULL)
		fake_conn_free(c);
	c = NULL;
	fake_env_free(env);
	env = NULL;
}

static void setup(const char *cfg)
{
	done();
	env = fake_env_new(cfg);
	CU_ASSERT_FATAL(env != NULL);
	c = fake_conn_new(env, "198.18.0.7", 40000, false);
}

/* Greeting and EHLO, then MAIL: the leg opens and completes its handshake. */
static void to_mail(const char *cfg, const char *bk_ehlo)
{
	setup(cfg);
	CLIENT(GREETING);
	fake_client_str(c, "EHLO client.example.org\r\n");
	CLIENT(EHLO_OK);
	CU_ASSERT_EQUAL(c->nconnect, 0);
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	CU_ASSERT_EQUAL_FATAL(c->nconnect, 1);
	CLIENT("");
	fake_backend_connected(c, true);
	BACKEND("");
	fake_backend_str(c, "220 mta.example.net ESMTP\r\n");
	BACKEND("EHLO gw.example.net\r\n");
	fake_backend_str(c, bk_ehlo);
	BACKEND("MAIL FROM:<a@example.org>\r\n");
	CLIENT("");
	fake_backend_str(c, "250 2.1.0 Ok\r\n");
	CLIENT("250 2.1.0 Ok\r\n");
}

/* to_mail, one RCPT, DATA: 354 from the backend. */
static void to_data(const char *cfg)
{
	to_mail(cfg, BK_EHLO_PIPE);
	fake_client_str(c, "RCPT TO:<u@example.net>\r\n");
	BACKEND("RCPT TO:<u@example.net>\r\n");
	fake_backend_str(c, "250 2.1.5 Ok\r\n");
	CLIENT("250 2.1.5 Ok\r\n");
	fake_client_str(c, "DATA\r\n");
	BACKEND("DATA\r\n");
	CLIENT("");
	fake_backend_str(c, "354 go ahead\r\n");
	CLIENT("354 End data with <CR><LF>.<CR><LF>\r\n");
}

/* ---- the backend leg */

static void test_no_mail_no_leg(void)
{
	fake_log_start();
	setup(CFG_TWO);
	CLIENT(GREETING);
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_client_str(c, "NOOP\r\n");
	fake_client_str(c, "RSET\r\n");
	fake_client_str(c, "VRFY x\r\n");
	fake_client_str(c, "QUIT\r\n");
	CLIENT(EHLO_OK "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n"
	       "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery\r\n221 2.0.0 Bye\r\n");
	CU_ASSERT_EQUAL(c->nconnect, 0);
	CU_ASSERT_EQUAL(c->client_closes, 1);
	CU_ASSERT_PTR_NULL(c->s); /* both legs closed: freed */
	CU_ASSERT_TRUE(fake_log_has("disconnect from [198.18.0.7]:40000 ehlo=1 rset=1 noop=1 vrfy=1 quit=1 commands=5"));
	fake_log_stop();
	done();
}

static void test_leg_opens_at_mail(void)
{
	to_mail(CFG_ONE, BK_EHLO_PIPE);
	CU_ASSERT_EQUAL(c->connect_dst[0].port, 25);
	char a[64];
	sl_addr_format(&c->connect_dst[0], a, sizeof(a), false);
	CU_ASSERT_STRING_EQUAL(a, "198.18.1.10");
	fake_client_str(c, "RCPT TO:<u@example.net>\r\n");
	BACKEND("RCPT TO:<u@example.net>\r\n");
	fake_backend_str(c, "250 2.1.5 Ok\r\n");
	CLIENT("250 2.1.5 Ok\r\n");
	fake_client_str(c, "QUIT\r\n");
	CLIENT("221 2.0.0 Bye\r\n");
	BACKEND("QUIT\r\n");
	CU_ASSERT_EQUAL(c->bk_aborts, 0);
	CU_ASSERT_PTR_NULL(c->s);
	done();
}

static void test_mail_refused_by_list_no_leg(void)
{
	setup(CFG_ONE "blocklist sender bad@example.org\n");
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_take(c, SL_LEG_CLIENT);
	fake_client_str(c, "MAIL FROM:<bad@example.org>\r\n");
	CLIENT("554 5.7.1 <bad@example.org>: Sender address rejected: blocked using blocklist\r\n");
	CU_ASSERT_EQUAL(c->nconnect, 0);
	done();
}

static void test_xclient_handshake(void)
{
	setup(CFG_HEAD "backend mta1 198.18.1.10:25 xclient on\n");
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	fake_backend_connected(c, true);
	fake_backend_str(c, "220 mta ESMTP\r\n");
	BACKEND("EHLO gw.example.net\r\n");
	fake_backend_str(c, "250-mta\r\n250-PIPELINING\r\n250 XCLIENT NAME ADDR PORT PROTO HELO\r\n");
	BACKEND("XCLIENT ADDR=198.18.0.7 PORT=40000 NAME=[UNAVAILABLE] HELO=client.example.org PROTO=ESMTP\r\n");
	fake_backend_str(c, "220 mta ESMTP\r\n");
	/* after XCLIENT the backend hears the client's own HELO name */
	BACKEND("EHLO client.example.org\r\n");
	fake_backend_str(c, "250-mta\r\n250 PIPELINING\r\n");
	BACKEND("MAIL FROM:<a@example.org>\r\n");
	done();
}

static void test_proxy_v1(void)
{
	setup(CFG_HEAD "backend mta1 198.18.1.10:25 xclient off proxy_protocol v1\n");
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	fake_backend_connected(c, true);
	BACKEND("PROXY TCP4 198.18.0.7 198.18.0.1 40000 25\r\n");
	fake_backend_str(c, "220 mta ESMTP\r\n");
	BACKEND("EHLO gw.example.net\r\n");
	done();
}

static void test_proxy_v2(void)
{
	static const uint8_t want[] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, /* signature */
		0x21, 0x11, 0x00, 0x0c,                   /* v2 PROXY, TCP over IPv4, 12 bytes */
		198, 18, 0, 7, 198, 18, 0, 1,            /* src, dst */
		0x9c, 0x40, 0x00, 0x19,                   /* 40000, 25 */
	};

	setup(CFG_HEAD "backend mta1 198.18.1.10:25 xclient off proxy_protocol v2\n");
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	fake_backend_connected(c, true);
	CU_ASSERT_EQUAL_FATAL(c->out[SL_LEG_BACKEND].len, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(c->out[SL_LEG_BACKEND].p, want, sizeof(want)), 0);
	fake_take(c, SL_LEG_BACKEND);
	fake_backend_str(c, "220 mta ESMTP\r\n");
	BACKEND("EHLO gw.example.net\r\n");
	done();
}

static void test_parameters_passed(void)
{
	setup(CFG_ONE);
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_client_str(c, "MAIL FROM:<a@example.org>  SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159\r\n");
	fake_backend_connected(c, true);
	fake_backend_str(c, "220 mta ESMTP\r\n");
	fake_take(c, SL_LEG_BACKEND);
	fake_backend_str(c, BK_EHLO_PIPE);
	BACKEND("MAIL FROM:<a@example.org> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159\r\n");
	fake_backend_str(c, "250 2.1.0 Ok\r\n");
	fake_client_str(c, "RCPT TO:<u@example.net> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;u+2Bx@example.net\r\n");
	BACKEND("RCPT TO:<u@example.net> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;u+2Bx@example.net\r\n");
	done();
}

static void test_pipelined_to_backend(void)
{
	to_mail(CFG_ONE, BK_EHLO_PIPE);
	fake_client_str(c, "RCPT TO:<u1@example.net>\r\nRCPT TO:<u2@example.net>\r\nRCPT TO:<u3@example.net>\r\nDATA\r\n");
	/* all RCPTs leave before the first reply; DATA waits for their replies */
	BACKEND("RCPT TO:<u1@example.net>\r\nRCPT TO:<u2@example.net>\r\nRCPT TO:<u3@example.net>\r\n");
	fake_backend_str(c, "250 2.1.5 Ok\r\n550 5.1.1 <u2@example.net>: Recipient address rejected: User unknown\r\n"
			 "250 2.1.5 Ok\r\n");
	CLIENT("250 2.1.5 Ok\r\n550 5.1.1 <u2@example.net>: Recipient address rejected: User unknown\r\n"
	       "250 2.1.5 Ok\r\n");
	BACKEND("DATA\r\n");
	fake_backend_str(c, "354 go\r\n");
	CLIENT("354 End data with <CR><LF>.<CR><LF>\r\n");
	done();
}

static void test_one_at_a_time(void)
{
	to_mail(CFG_ONE, BK_EHLO_PLAIN);
	fake_client_str(c, "RCPT TO:<u1@example.net>\r\nRCPT TO:<u2@example.net>\r\nDATA\r\n");
	BACKEND("RCPT TO:<u1@example.net>\r\n");
	fake_backend_str(c, "250 2.1.5 Ok\r\n");
	BACKEND("RCPT TO:<u2@example.net>\r\n");
	fake_backend_str(c, "250 2.1.5 Ok\r\n");
	BACKEND("DATA\r\n");
	CLIENT("250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n");
	fake_backend_str(c, "354 go\r\n");
	CLIENT("354 End data with <CR><LF>.<CR><LF>\r\n");
	done();
}

static void test_250_only_after_backend(void)
{
	to_data(CFG_ONE);
	fake_client_str(c, "Subject: t\r\n\r\n..dot\r\n");
	fake_client_str(c, "body\r\n.\r\n");
	BACKEND("Subject: t\r\n\r\n..dot\r\nbody\r\n.\r\n");
	CLIENT(""); /* nothing for the message yet */
	fake_backend_str(c, "250 2.0.0 Ok: queued as 4XyZ\r\n");
	CLIENT("250 2.0.0 Ok: queued as 4XyZ\r\n");
	/* the next transaction on the same leg */
	fake_client_str(c, "MAIL FROM:<b@example.org>\r\n");
	BACKEND("MAIL FROM:<b@example.org>\r\n");
	CU_ASSERT_EQUAL(c->nconnect, 1);
	done();
}

static void test_rset_relayed(void)
{
	to_mail(CFG_ONE, BK_EHLO_PIPE);
	fake_client_str(c, "RSET\r\n");
	BACKEND("RSET\r\n");
	CLIENT("");
	fake_backend_str(c, "250 2.0.0 Ok\r\n");
	CLIENT("250 2.0.0 Ok\r\n");
	/* without a transaction at the backend, RSET is ours */
	fake_client_str(c, "RSET\r\n");
	BACKEND("");
	CLIENT("250 2.0.0 Ok\r\n");
	done();
}

/* MAIL, RCPT, RSET pipelined while the leg still opens: the RSET ends the
 * transaction in the engine before the RCPT's turn comes, but the RCPT was
 * valid when sent: it goes to the backend and gets the backend's answer, not
 * 503 (that is only for a RCPT whose own MAIL was refused). */
static void test_rcpt_before_pipelined_rset(void)
{
	setup(CFG_ONE);
	CLIENT(GREETING);
	fake_client_str(c, "EHLO client.example.org\r\n");
	CLIENT(EHLO_OK);
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\nRSET\r\n");
	CU_ASSERT_EQUAL_FATAL(c->nconnect, 1);
	CLIENT("");
	fake_backend_connected(c, true);
	fake_backend_str(c, "220 mta.example.net ESMTP\r\n");
	BACKEND("EHLO gw.example.net\r\n");
	fake_backend_str(c, BK_EHLO_PIPE);
	BACKEND("MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\nRSET\r\n");
	fake_backend_str(c, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n");
	CLIENT("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n");
	done();
}

/* The same with the MAIL refused: its RCPT gets 503 (the backend's, as it
 * was queued behind the MAIL), and the RSET goes after it. */
static void test_rcpt_after_refused_mail(void)
{
	setup(CFG_ONE);
	CLIENT(GREETING);
	fake_client_str(c, "EHLO client.example.org\r\n");
	CLIENT(EHLO_OK);
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\nRSET\r\n");
	fake_backend_connected(c, true);
	fake_backend_str(c, "220 mta.example.net ESMTP\r\n");
	BACKEND("EHLO gw.example.net\r\n");
	fake_backend_str(c, BK_EHLO_PLAIN);
	BACKEND("MAIL FROM:<a@example.org>\r\n");
	fake_backend_str(c, "550 5.7.1 sender refused\r\n");
	BACKEND("RCPT TO:<u@example.net>\r\n");
	fake_backend_str(c, "503 5.5.1 Error: need MAIL command\r\n");
	BACKEND("RSET\r\n");   /* it was queued behind the RCPT */
	fake_backend_str(c, "250 2.0.0 Ok\r\n");
	CLIENT("550 5.7.1 sender refused\r\n503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n");
	done();
}

/* A MAIL refused by our own policy: the RCPT pipelined behind it is ours to
 * answer (503), it never reaches the backend. */
static void test_rcpt_after_mail_refused_by_policy(void)
{
	setup(CFG_ONE "blocklist sender a@example.org\n");
	CLIENT(GREETING);
	fake_client_str(c, "EHLO client.example.org\r\n");
	CLIENT(EHLO_OK);
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\nRSET\r\n");
	CU_ASSERT_EQUAL(c->nconnect, 0);
	{
		const char *got = fake_take(c, SL_LEG_CLIENT);
		bool ok = strncmp(got, "554 ", 4) == 0 && strstr(got, "\r\n503 ") != NULL &&
			  strstr(got, "\r\n250 2.0.0 Ok\r\n") != NULL;
		CU_ASSERT(ok);
		if (!ok)
			fprintf(stderr, "\n%s:%d: client got [%s]\n", __FILE__, __LINE__, got);
	}
	done();
}

/* ---- backend failures: never a 2xx for the message */

static void test_connect_refused(void)
{
	setup(CFG_TWO);
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_take(c, SL_LEG_CLIENT);
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\n");
	CU_ASSERT_EQUAL_FATAL(c->nconnect, 1);
	fake_backend_connected(c, false);
	CU_ASSERT_EQUAL_FATAL(c->nconnect, 2); /* the other backend */
	CU_ASSERT_FALSE(sl_addr_equal(&c->connect_dst[0], &c->connect_dst[1]));
	fake_backend_connected(c, false);
	CU_ASSERT_EQUAL(c->nconnect, 2); /* bounded: both tried */
	CLIENT("451 4.4.1 Error: no backend available, try again later\r\n"
	       "451 4.4.1 Error: no backend available, try again later\r\n");
	/* a new transaction tries again */
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	CU_ASSERT_EQUAL(c->nconnect, 3);
	done();
}

static void test_connect_fails_at_once(void)
{
	setup(CFG_TWO);
	c->connect_sync_rc = SL_ERROR;
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_take(c, SL_LEG_CLIENT);
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	CU_ASSERT_EQUAL(c->nconnect, 2);
	CLIENT("451 4.4.1 Error: no backend available, try again later\r\n");
	done();
}

static void test_greeting_421(void)
{
	setup(CFG_TWO);
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_take(c, SL_LEG_CLIENT);
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	fake_backend_connected(c, true);
	fake_backend_str(c, "421 4.3.2 busy\r\n");
	CU_ASSERT_EQUAL_FATAL(c->nconnect, 2);
	CU_ASSERT_EQUAL(c->bk_closes, 1);
	fake_take(c, SL_LEG_BACKEND);
	fake_backend_connected(c, true);
	fake_backend_str(c, "220 mta2 ESMTP\r\n");
	fake_backend_str(c, BK_EHLO_PIPE);
	BACKEND("EHLO gw.example.net\r\nMAIL FROM:<a@example.org>\r\n");
	fake_backend_str(c, "250 2.1.0 Ok\r\n");
	CLIENT("250 2.1.0 Ok\r\n");
	done();
}

static void test_reset_in_data(void)
{
	to_data(CFG_ONE);
	fake_client_str(c, "Subject: t\r\n\r\npart one\r\n");
	fake_backend_closed(c, true);
	fake_client_str(c, "part two\r\n.\r\n");
	CLIENT("451 4.4.1 Error: backend failed, try again later\r\n");
	CU_ASSERT_TRUE(strstr(fake_all(c, SL_LEG_BACKEND), "part two") == NULL);
	/* the next transaction takes a fresh leg */
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	CU_ASSERT_EQUAL(c->nconnect, 2);
	fake_backend_connected(c, true);
	fake_take(c, SL_LEG_BACKEND);
	fake_backend_str(c, "220 mta ESMTP\r\n");
	fake_backend_str(c, BK_EHLO_PIPE);
	BACKEND("EHLO gw.example.net\r\nMAIL FROM:<a@example.org>\r\n");
	done();
}

static void test_reset_after_dot(void)
{
	to_data(CFG_ONE);
	fake_client_str(c, "hi\r\n.\r\n");
	BACKEND("hi\r\n.\r\n");
	fake_backend_closed(c, true);
	CLIENT("451 4.4.1 Error: backend failed, try again later\r\n");
	done();
}

static void test_reply_timeout(void)
{
	setup(CFG_ONE "backend_reply_timeout 30s\n");
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_take(c, SL_LEG_CLIENT);
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	fake_backend_connected(c, true);
	fake_backend_str(c, "220 mta ESMTP\r\n");
	fake_backend_str(c, BK_EHLO_PIPE);
	CU_ASSERT_EQUAL(c->timer_ms[SL_TIMER_BACKEND], 30000);
	fake_advance(c, 29999);
	CLIENT("");
	fake_advance(c, 1);
	CLIENT("451 4.4.2 Error: backend timeout, try again later\r\n");
	CU_ASSERT_FALSE(c->bk_open);
	CU_ASSERT_TRUE(c->client_open);
	done();
}

static void test_dot_timeout(void)
{
	to_data(CFG_ONE "backend_data_timeout 60s\n");
	fake_client_str(c, "hi\r\n.\r\n");
	CU_ASSERT_EQUAL(c->timer_ms[SL_TIMER_BACKEND], 60000);
	fake_advance(c, 60000);
	CLIENT("451 4.4.2 Error: backend timeout, try again later\r\n");
	/* a late 250 from the dead leg changes nothing */
	fake_backend_str(c, "250 2.0.0 Ok: queued\r\n");
	CLIENT("");
	done();
}

static void test_connect_timeout(void)
{
	setup(CFG_ONE "backend_connect_timeout 5s\nbackend_retries 0\n");
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_take(c, SL_LEG_CLIENT);
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	fake_advance(c, 5000);
	const char *got = fake_take(c, SL_LEG_CLIENT);
	CU_ASSERT_TRUE(got[0] == '4');
	CU_ASSERT_TRUE(strncmp(got, "451 4.4.", 8) == 0);
	done();
}

static void test_mail_5xx_relayed(void)
{
	setup(CFG_ONE);
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_take(c, SL_LEG_CLIENT);
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\nDATA\r\n");
	fake_backend_connected(c, true);
	fake_backend_str(c, "220 mta ESMTP\r\n");
	fake_backend_str(c, BK_EHLO_PIPE);
	/* the RCPT is pipelined behind MAIL; DATA waits */
	BACKEND("EHLO gw.example.net\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\n");
	fake_backend_str(c, "550 5.7.1 <a@example.org>: Sender address rejected: Access denied\r\n");
	CLIENT("550 5.7.1 <a@example.org>: Sender address rejected: Access denied\r\n");
	fake_backend_str(c, "503 5.5.1 Error: need MAIL command\r\n");
	CLIENT("503 5.5.1 Error: need MAIL command\r\n503 5.5.1 Error: need MAIL command\r\n");
	BACKEND(""); /* DATA never went out */
	done();
}

static void test_dot_5xx_and_4xx_relayed(void)
{
	to_data(CFG_ONE);
	fake_client_str(c, "hi\r\n.\r\n");
	fake_backend_str(c, "554 5.7.1 Message rejected: spam\r\n");
	CLIENT("554 5.7.1 Message rejected: spam\r\n");
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\nDATA\r\n");
	fake_backend_str(c, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
	fake_backend_str(c, "354 go\r\n");
	CLIENT("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
	fake_client_str(c, "hi\r\n.\r\n");
	fake_backend_str(c, "452 4.3.1 Insufficient system storage\r\n");
	CLIENT("452 4.3.1 Insufficient system storage\r\n");
	done();
}

/* ---- relay domains and lists */

static void test_relay_domains(void)
{
	static const struct { const char *rcpt; bool ok; } rows[] = {
		{ "u@example.net", true }, { "u@EXAMPLE.NET", true }, { "u@a.sub.example.org", true },
		{ "u@x.y.sub.example.org", true }, { "u@sub.example.org", false }, { "u@example.org", false },
		{ "u@other.com", false }, { "u@example.net.evil.com", false }, { "u@xexample.net", false },
		{ "u@evilsub.example.org", false },
	};
	fake_log_start();
	to_mail(CFG_ONE, BK_EHLO_PIPE);
	for (unsigned i = 0; i < SL_ARRAY_SIZE(rows); i++) {
		char line[128];
		snprintf(line, sizeof(line), "RCPT TO:<%s>\r\n", rows[i].rcpt);
		fake_client_str(c, line);
		if (rows[i].ok) {
			BACKEND(line);
			fake_backend_str(c, "250 2.1.5 Ok\r\n");
			CLIENT("250 2.1.5 Ok\r\n");
		} else {
			BACKEND("");
			CLIENT("554 5.7.1 Relay access denied\r\n");
		}
	}
	CU_ASSERT_TRUE(fake_log_has("NOQUEUE: reject: RCPT from [198.18.0.7]:40000: 554 5.7.1 Relay access denied; "
				    "from=<a@example.org> to=<u@other.com> proto=ESMTP helo=<client.example.org>"));
	fake_log_stop();
	done();
}

static void test_blocklist_ip(void)
{
	fake_log_start();
	setup(CFG_ONE "blocklist ip 198.18.0.0/24\n");
	CLIENT("554 5.7.1 Service unavailable; client [198.18.0.7] blocked using blocklist 198.18.0.0/24\r\n");
	CU_ASSERT_FALSE(c->client_open);
	CU_ASSERT_PTR_NULL(c->s);
	CU_ASSERT_TRUE(fake_log_has("NOQUEUE: reject: CONNECT from [198.18.0.7]:40000: 554 5.7.1 Service unavailable"));
	fake_log_stop();
	done();
}

static void test_blocklists(void)
{
	setup(CFG_ONE "blocklist helo bad.helo\nblocklist sender s@bad.org\nblocklist domain .spam.org\n"
	      "blocklist rcpt nobody@example.net\n");
	fake_client_str(c, "EHLO bad.helo\r\n");
	CLIENT(GREETING "554 5.7.1 <bad.helo>: Helo command rejected: blocked using blocklist\r\n");
	fake_client_str(c, "EHLO good.helo\r\n");
	CLIENT(EHLO_OK);
	fake_client_str(c, "MAIL FROM:<s@bad.org>\r\n");
	CLIENT("554 5.7.1 <s@bad.org>: Sender address rejected: blocked using blocklist\r\n");
	fake_client_str(c, "MAIL FROM:<x@a.spam.org>\r\n");
	CLIENT("554 5.7.1 <x@a.spam.org>: Sender address rejected: domain .spam.org blocked using blocklist\r\n");
	CU_ASSERT_EQUAL(c->nconnect, 0);
	fake_client_str(c, "MAIL FROM:<ok@example.org>\r\n");
	fake_backend_connected(c, true);
	fake_backend_str(c, "220 mta\r\n");
	fake_backend_str(c, BK_EHLO_PIPE);
	fake_backend_str(c, "250 2.1.0 Ok\r\n");
	fake_take(c, SL_LEG_BACKEND);
	CLIENT("250 2.1.0 Ok\r\n");
	fake_client_str(c, "RCPT TO:<NoBody@example.net>\r\n");
	CLIENT("554 5.7.1 <NoBody@example.net>: Recipient address rejected: blocked using blocklist\r\n");
	BACKEND("");
	done();
}

static void test_allowlist_beats_blocklist(void)
{
	setup(CFG_ONE "blocklist ip 198.18.0.0/16\nallowlist ip 198.18.0.7\n"
	      "limit msg_rate ip 1/hour burst 1\n");
	CLIENT(GREETING);
	c->auto_mta = true; /* from here an instant backend */
	fake_client_str(c, "EHLO client.example.org\r\n");
	for (int i = 0; i < 5; i++) {
		fake_client_str(c, "MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\nDATA\r\n");
		fake_client_str(c, "hi\r\n.\r\n");
	}
	CU_ASSERT_EQUAL(c->mta.accepted, 5);
	CU_ASSERT_EQUAL(c->policy_calls, 0); /* limits skipped: the store is never asked */
	done();
	/* a neighbour is blocked */
	env = fake_env_new(CFG_ONE "blocklist ip 198.18.0.0/16\nallowlist ip 198.18.0.7\n");
	c = fake_conn_new(env, "198.18.0.8", 40001, true);
	CU_ASSERT_TRUE(strncmp(fake_take(c, SL_LEG_CLIENT), "554 5.7.1 ", 10) == 0);
	done();
}

static void test_sender_allowlist_skips_limits(void)
{
	setup(CFG_ONE "allowlist sender vip@example.org\nlimit msg_rate ip 1/hour burst 1\n");
	c->auto_mta = true;
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_take(c, SL_LEG_CLIENT);
	for (int i = 0; i < 4; i++) {
		fake_client_str(c, "MAIL FROM:<vip@example.org>\r\n");
		CLIENT("250 2.1.0 Ok\r\n");
		fake_client_str(c, "RSET\r\n");
		fake_take(c, SL_LEG_CLIENT);
	}
	done();
}

/* ---- limits through the real embedded store */

static void test_msg_rate(void)
{
	int ok = 0;

	setup(CFG_ONE "limit msg_rate ip 3/hour burst 3\n");
	c->auto_mta = true;
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_take(c, SL_LEG_CLIENT);
	for (int i = 0; i < 10; i++) {
		const char *got;
		fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
		got = fake_take(c, SL_LEG_CLIENT);
		if (strcmp(got, "250 2.1.0 Ok\r\n") == 0) {
			CU_ASSERT_EQUAL(ok, i); /* all accepted come first */
			ok++;
			fake_client_str(c, "RCPT TO:<u@example.net>\r\nDATA\r\n");
			fake_client_str(c, "hi\r\n.\r\n");
			CU_ASSERT_TRUE(strstr(fake_take(c, SL_LEG_CLIENT), "250 2.0.0 Ok: queued as") != NULL);
		} else {
			CU_ASSERT_STRING_EQUAL(got, "450 4.7.1 Error: rate limit exceeded, try again later\r\n");
		}
	}
	CU_ASSERT_EQUAL(ok, 3); /* burst 3 at once, then 450 */
	CU_ASSERT_EQUAL(c->mta.accepted, (unsigned)ok);
	/* 20 minutes later (the clock only: no timer fires) one more conforms */
	env->w.now_ms += 20 * 60 * 1000;
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	CLIENT("250 2.1.0 Ok\r\n");
	done();
}

static void test_concurrency(void)
{
	struct fake_conn *c2, *c3, *c4;

	setup(CFG_ONE "limit concurrency ip 2\n");
	CLIENT(GREETING);
	c2 = fake_conn_new(env, "198.18.0.7", 40001, true);
	CU_ASSERT_STRING_EQUAL(fake_take(c2, SL_LEG_CLIENT), GREETING);
	c3 = fake_conn_new(env, "198.18.0.7", 40002, true);
	CU_ASSERT_STRING_EQUAL(fake_take(c3, SL_LEG_CLIENT),
			       "421 4.7.0 Error: too many connections from your address, try again later\r\n");
	CU_ASSERT_PTR_NULL(c3->s);
	/* another address is not affected */
	c4 = fake_conn_new(env, "198.18.0.9", 40003, true);
	CU_ASSERT_STRING_EQUAL(fake_take(c4, SL_LEG_CLIENT), GREETING);
	/* the end of a session releases its slot */
	fake_client_str(c2, "QUIT\r\n");
	CU_ASSERT_PTR_NULL(c2->s);
	fake_conn_free(c3);
	c3 = fake_conn_new(env, "198.18.0.7", 40004, true);
	CU_ASSERT_STRING_EQUAL(fake_take(c3, SL_LEG_CLIENT), GREETING);
	fake_conn_free(c2);
	fake_conn_free(c3);
	fake_conn_free(c4);
	done();
}

static void test_conn_rate(void)
{
	int ok = 0;

	setup(CFG_ONE "limit conn_rate ip 3/minute burst 3\n");
	fake_conn_free(c);
	c = NULL;
	for (int i = 0; i < 8; i++) {
		struct fake_conn *x = fake_conn_new(env, "198.18.0.7", (uint16_t)(41000 + i), true);
		const char *got = fake_take(x, SL_LEG_CLIENT);
		if (strcmp(got, GREETING) == 0)
			ok++;
		else
			CU_ASSERT_STRING_EQUAL(got, "421 4.7.0 Error: too many connections from your address, try again later\r\n");
		fake_conn_free(x);
	}
	/* burst 3 at once: the setup session took one */
	CU_ASSERT_EQUAL(ok, 2);
	done();
}

static void test_policy_ring_full(void)
{
	setup(CFG_ONE "limit msg_rate ip 100/hour\n");
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_take(c, SL_LEG_CLIENT);
	c->policy_rc = SL_ERROR;
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	CLIENT("451 4.3.0 Error: server busy, try again later\r\n");
	CU_ASSERT_EQUAL(c->nconnect, 0);
	done();
}

/* ---- shutdown */

static void test_shutdown_idle(void)
{
	setup(CFG_ONE);
	c->auto_mta = true;
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_take(c, SL_LEG_CLIENT);
	relay_session_shutdown(c->s);
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	CLIENT("421 4.3.2 Service shutting down, closing transmission channel\r\n");
	CU_ASSERT_EQUAL(c->nconnect, 0);
	CU_ASSERT_PTR_NULL(c->s);
	done();
}

static void test_shutdown_in_transaction(void)
{
	setup(CFG_ONE);
	c->auto_mta = true;
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\n");
	fake_take(c, SL_LEG_CLIENT);
	relay_session_shutdown(c->s);
	fake_client_str(c, "DATA\r\n");
	CLIENT("354 End data with <CR><LF>.<CR><LF>\r\n");
	fake_client_str(c, "hi\r\n.\r\n");
	CLIENT("250 2.0.0 Ok: queued as FAKE1\r\n");
	CU_ASSERT_EQUAL(c->mta.accepted, 1);
	fake_client_str(c, "NOOP\r\n");
	CLIENT("421 4.3.2 Service shutting down, closing transmission channel\r\n");
	CU_ASSERT_PTR_NULL(c->s);
	done();
}

/* ---- the client goes away */

static void test_client_reset_in_data(void)
{
	to_data(CFG_ONE);
	fake_client_str(c, "partial\r\n");
	fake_client_close(c, true);
	CU_ASSERT_EQUAL(c->bk_aborts, 1); /* the partial message must not be completed */
	CU_ASSERT_TRUE(strstr(fake_all(c, SL_LEG_BACKEND), "\r\n.\r\n") == NULL);
	CU_ASSERT_PTR_NULL(c->s);
	done();
}

static void test_smuggling_not_forwarded(void)
{
	setup(CFG_ONE);
	c->auto_mta = true;
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\nDATA\r\n");
	fake_take(c, SL_LEG_CLIENT);
	fake_client_str(c, "Subject: a\r\n\r\nhi\n.\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<v@example.net>\r\n"
			"DATA\r\nsmuggled\r\n.\r\n");
	CLIENT("550 5.5.2 Error: bare <CR> or <LF> received\r\n");
	CU_ASSERT_EQUAL(c->mta.messages, 0);
	CU_ASSERT_EQUAL(c->mta.bare, 0);
	CU_ASSERT_TRUE(strstr(fake_all(c, SL_LEG_BACKEND), "evil") == NULL);
	done();
}

/* data_timeout bounds a client silent inside DATA (ignored before d73ce14). */
static void test_data_timeout(void)
{
	setup(CFG_ONE "command_timeout 300s\ndata_timeout 10s\nmin_data_rate 0\n");
	c->auto_mta = true;
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	fake_client_str(c, "RCPT TO:<u@example.net>\r\n");
	fake_client_str(c, "DATA\r\n");
	fake_take(c, SL_LEG_CLIENT);
	CU_ASSERT_EQUAL(c->timer_ms[SL_TIMER_CLIENT], 10000);
	fake_advance(c, 9999);
	CLIENT("");
	fake_advance(c, 1);
	CLIENT("421 4.4.2 Error: timeout exceeded\r\n");
	CU_ASSERT_EQUAL(c->mta.messages, 0);
	done();
}

/* A verdict that never comes: 451 4.7.0 after the wait, and the late one is ignored. */
static void test_policy_verdict_lost(void)
{
	setup(CFG_ONE "limit msg_rate ip 3/hour burst 3\n");
	c->auto_mta = true;
	fake_client_str(c, "EHLO client.example.org\r\n");
	fake_take(c, SL_LEG_CLIENT);
	c->manual_policy = true;
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	CU_ASSERT_EQUAL(c->nq, 1);
	CU_ASSERT_STRING_EQUAL(fake_take(c, SL_LEG_CLIENT), "");
	fake_advance(c, 14999);
	CU_ASSERT_STRING_EQUAL(fake_take(c, SL_LEG_CLIENT), "");
	fake_advance(c, 1);
	CU_ASSERT_STRING_EQUAL(fake_take(c, SL_LEG_CLIENT),
			       "451 4.7.0 Error: temporary policy failure, try again later\r\n");
	CU_ASSERT_EQUAL(c->nconnect, 0); /* no backend leg for a MAIL that failed */
	fake_policy_answer(c, NULL);     /* the late verdict changes nothing */
	CU_ASSERT_STRING_EQUAL(fake_take(c, SL_LEG_CLIENT), "");
	c->manual_policy = false;
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	CU_ASSERT_STRING_EQUAL(fake_take(c, SL_LEG_CLIENT), "250 2.1.0 Ok\r\n");
	done();
}

void register_tests(void)
{
	static const struct test_case leg[] = {
		{ "no MAIL, no backend leg", test_no_mail_no_leg },
		{ "the leg opens at MAIL", test_leg_opens_at_mail },
		{ "MAIL refused by a list: no leg", test_mail_refused_by_list_no_leg },
		{ "XCLIENT handshake", test_xclient_handshake },
		{ "PROXY v1", test_proxy_v1 },
		{ "PROXY v2", test_proxy_v2 },
		{ "parameters passed through", test_parameters_passed },
		{ "pipelined to a PIPELINING backend", test_pipelined_to_backend },
		{ "one at a time otherwise", test_one_at_a_time },
		{ "250 for the message only after the backend's", test_250_only_after_backend },
		{ "RSET relayed", test_rset_relayed },
		{ "RCPT pipelined before RSET while the leg opens: relayed", test_rcpt_before_pipelined_rset },
		{ "RCPT after its MAIL was refused by the backend: the backend's 503", test_rcpt_after_refused_mail },
		{ "RCPT after its MAIL was refused by policy: our 503", test_rcpt_after_mail_refused_by_policy },
		{ NULL, NULL }
	};
	static const struct test_case fail[] = {
		{ "connect refused: other backend, then 451", test_connect_refused },
		{ "connect fails at once", test_connect_fails_at_once },
		{ "421 at greeting", test_greeting_421 },
		{ "reset in the middle of DATA", test_reset_in_data },
		{ "reset after end of DATA", test_reset_after_dot },
		{ "reply timeout", test_reply_timeout },
		{ "end of DATA timeout", test_dot_timeout },
		{ "connect timeout", test_connect_timeout },
		{ "5xx to MAIL relayed", test_mail_5xx_relayed },
		{ "5xx and 4xx at end of DATA relayed", test_dot_5xx_and_4xx_relayed },
		{ "client reset in DATA", test_client_reset_in_data },
		{ "smuggling rejected, nothing forwarded", test_smuggling_not_forwarded },
		{ NULL, NULL }
	};
	static const struct test_case policy[] = {
		{ "relay domains", test_relay_domains },
		{ "blocklist ip at connect", test_blocklist_ip },
		{ "blocklist helo, sender, domain, rcpt", test_blocklists },
		{ "allowlist beats blocklist, skips limits", test_allowlist_beats_blocklist },
		{ "sender allowlist skips limits", test_sender_allowlist_skips_limits },
		{ "msg_rate", test_msg_rate },
		{ "concurrency", test_concurrency },
		{ "conn_rate", test_conn_rate },
		{ "policy ring full", test_policy_ring_full },
		{ "policy verdict lost", test_policy_verdict_lost },
		{ "shutdown when idle", test_shutdown_idle },
		{ "shutdown in a transaction", test_shutdown_in_transaction },
		{ "data_timeout in DATA", test_data_timeout },
		{ NULL, NULL }
	};

	sl_log_set_level(SL_LOG_ERR);
	test_suite("relay backend leg", leg);
	test_suite("relay failures", fail);
	test_suite("relay policy", policy);
}
