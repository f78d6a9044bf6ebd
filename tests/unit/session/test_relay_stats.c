/* test_relay_stats.c - the worker's outcome counters (relay_stats.h) as the
 * real relay_session counts them through the fake transport: each session,
 * transaction and refusal lands in exactly one place. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_transport.h"
#include "relay/relay_stats.h"
#include "test.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

#define CFG_ONE "hostname gw.example.net\nrelay_domains example.net\n" \
	"backend mta1 198.18.1.10:25 xclient off\n"
#define EHLO "EHLO client.example.org\r\n"
#define MESSAGE "MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\nDATA\r\n"
#define BODY "Subject: t\r\n\r\nhello\r\n.\r\n"   /* 24 bytes on the wire */

static struct fake_env *env;
static struct fake_conn *c;

static void done(void)
{
	if (c != NULL)
		fake_conn_free(c);
	c = NULL;
	fake_env_free(env);
	env = NULL;
}

/* A session from 198.18.0.7 with an instant backend (the automatic MTA). */
static void setup(const char *cfg)
{
	done();
	env = fake_env_new(cfg);
	CU_ASSERT_FATAL(env != NULL);
	c = fake_conn_new(env, "198.18.0.7", 40000, true);
	fake_take(c, SL_LEG_CLIENT);
}

static const struct relay_stats *st(void)
{
	return &env->w.stats;
}

/* The sum of a counter array: a session or a transaction counts once. */
static uint64_t sum(const uint64_t *v, unsigned n)
{
	uint64_t t = 0;

	for (unsigned i = 0; i < n; i++)
		t += v[i];
	return t;
}

static uint64_t rejections_total(void)
{
	return sum(&st()->rejections[0][0][0], RELAY_REJ_STAGE_COUNT * RELAY_RULE_COUNT * RELAY_REJ_CLASS_COUNT);
}

/* Exactly one session, ended this way. */
static void one_session(enum relay_session_outcome o)
{
	CU_ASSERT_PTR_NULL(c->s);   /* freed: counted */
	CU_ASSERT_EQUAL(st()->sessions[o], 1);
	CU_ASSERT_EQUAL(sum(st()->sessions, RELAY_SO_COUNT), 1);
	if (st()->sessions[o] != 1)
		for (unsigned i = 0; i < RELAY_SO_COUNT; i++)
			if (st()->sessions[i])
				fprintf(stderr, "\n  session outcome %u counted %lu, want %u\n", i,
					(unsigned long)st()->sessions[i], o);
}

static void one_tx(enum relay_tx_outcome o)
{
	CU_ASSERT_EQUAL(st()->tx[o], 1);
	CU_ASSERT_EQUAL(sum(st()->tx, RELAY_TX_COUNT), 1);
	if (st()->tx[o] != 1)
		for (unsigned i = 0; i < RELAY_TX_COUNT; i++)
			if (st()->tx[i])
				fprintf(stderr, "\n  tx outcome %u counted %lu, want %u\n", i,
					(unsigned long)st()->tx[i], o);
}

static unsigned limit_rule(enum cfg_limit_kind k, enum cfg_limit_key y)
{
	return RELAY_RULE_LIMIT + (unsigned)k * CFG_KEY_COUNT + (unsigned)y;
}

/* ---- sessions */

static void test_quit(void)
{
	setup(CFG_ONE);
	fake_client_str(c, EHLO);
	fake_client_str(c, "QUIT\r\n");
	one_session(RELAY_SO_QUIT);
	CU_ASSERT_EQUAL(sum(st()->tx, RELAY_TX_COUNT), 0);
	CU_ASSERT_EQUAL(rejections_total(), 0);
	done();
}

static void test_client_closed(void)
{
	setup(CFG_ONE);
	fake_client_str(c, EHLO);
	fake_client_close(c, false);
	one_session(RELAY_SO_CLIENT_CLOSED);
	done();
}

static void test_timeout(void)
{
	setup(CFG_ONE "command_timeout 60s\n");
	fake_client_str(c, EHLO);
	fake_advance(c, 60000);
	CU_ASSERT_TRUE(strncmp(fake_take(c, SL_LEG_CLIENT), "250-", 4) == 0);
	one_session(RELAY_SO_TIMEOUT);
	done();
}

static void test_pregreet(void)
{
	setup(CFG_ONE "greet_pause 2s\n");
	fake_client_str(c, EHLO);
	one_session(RELAY_SO_PREGREET);
	done();
}

static void test_too_many_errors(void)
{
	setup(CFG_ONE "hard_error_limit 3\n");
	fake_client_str(c, EHLO);
	fake_client_str(c, "XYZZY\r\nXYZZY\r\nXYZZY\r\n");
	one_session(RELAY_SO_TOO_MANY_ERRORS);
	done();
}

static void test_killed(void)
{
	setup(CFG_ONE);
	fake_client_str(c, EHLO);
	CU_ASSERT_EQUAL(relay_session_kill(c->s), SL_OK);
	fake_settle(c);
	one_session(RELAY_SO_KILLED);
	done();
}

static void test_shutdown(void)
{
	setup(CFG_ONE);
	fake_client_str(c, EHLO);
	relay_session_shutdown(c->s);
	fake_client_str(c, "NOOP\r\n");
	one_session(RELAY_SO_SHUTDOWN);
	done();
}

static void test_blocklisted_connect(void)
{
	setup(CFG_ONE "blocklist ip 198.18.0.0/24\n");
	CU_ASSERT_PTR_NULL(c->s);
	one_session(RELAY_SO_REJECTED_CONNECT);
	CU_ASSERT_EQUAL(st()->rejections[RELAY_REJ_CONNECT][RELAY_RULE_BLOCKLIST + CFG_LIST_IP][RELAY_REJ_5XX], 1);
	CU_ASSERT_EQUAL(rejections_total(), 1);
	CU_ASSERT_EQUAL(sum(st()->tx, RELAY_TX_COUNT), 0);
	done();
}

/* conn_rate: the verdict comes back from the store on the "ring" (settle). */
static void test_limit_at_connect(void)
{
	struct fake_conn *c2;

	setup(CFG_ONE "limit conn_rate ip 1/minute burst 1\n");
	c2 = fake_conn_new(env, "198.18.0.7", 40001, true);
	CU_ASSERT_TRUE(strncmp(fake_take(c2, SL_LEG_CLIENT), "421 ", 4) == 0);
	CU_ASSERT_PTR_NULL(c2->s);
	fake_conn_free(c2);
	CU_ASSERT_EQUAL(st()->sessions[RELAY_SO_REJECTED_CONNECT], 1);
	CU_ASSERT_EQUAL(st()->rejections[RELAY_REJ_CONNECT][limit_rule(CFG_LIMIT_CONN_RATE, CFG_KEY_IP)]
				       [RELAY_REJ_4XX], 1);
	CU_ASSERT_EQUAL(rejections_total(), 1);
	fake_client_str(c, "QUIT\r\n");
	CU_ASSERT_EQUAL(st()->sessions[RELAY_SO_QUIT], 1);
	done();
}

/* ---- transactions */

static void test_relayed(void)
{
	setup(CFG_ONE);
	fake_client_str(c, EHLO);
	fake_client_str(c, MESSAGE BODY);
	CU_ASSERT_EQUAL(c->mta.accepted, 1);
	fake_client_str(c, MESSAGE BODY "QUIT\r\n");
	CU_ASSERT_EQUAL(c->mta.accepted, 2);
	CU_ASSERT_EQUAL(st()->tx[RELAY_TX_RELAYED], 2);
	CU_ASSERT_EQUAL(sum(st()->tx, RELAY_TX_COUNT), 2);
	CU_ASSERT_EQUAL(st()->relayed_bytes, 2 * 24);   /* as sent, the final ".\r\n" too */
	one_session(RELAY_SO_QUIT);
	CU_ASSERT_EQUAL(rejections_total(), 0);
	done();
}

static void test_rcpt_relay_denied(void)
{
	setup(CFG_ONE);
	fake_client_str(c, EHLO);
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\n");
	CU_ASSERT_TRUE(strstr(fake_take(c, SL_LEG_CLIENT), "554 5.7.1 Relay access denied") != NULL);
	CU_ASSERT_EQUAL(sum(st()->tx, RELAY_TX_COUNT), 0);   /* still open */
	fake_client_str(c, "QUIT\r\n");
	one_tx(RELAY_TX_REJECTED);
	CU_ASSERT_EQUAL(st()->rejections[RELAY_REJ_RCPT][RELAY_RULE_RELAY_DOMAINS][RELAY_REJ_5XX], 1);
	CU_ASSERT_EQUAL(rejections_total(), 1);
	one_session(RELAY_SO_QUIT);
	done();
}

/* One refused recipient does not make a relayed message a rejected one. */
static void test_rcpt_denied_then_relayed(void)
{
	setup(CFG_ONE);
	fake_client_str(c, EHLO);
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\n"
			"RCPT TO:<u@example.net>\r\nDATA\r\n" BODY "QUIT\r\n");
	one_tx(RELAY_TX_RELAYED);
	CU_ASSERT_EQUAL(rejections_total(), 1);
	done();
}

static void test_sender_blocklisted(void)
{
	setup(CFG_ONE "blocklist domain spam.example\n");
	fake_client_str(c, EHLO);
	fake_client_str(c, "MAIL FROM:<x@spam.example>\r\nQUIT\r\n");
	one_tx(RELAY_TX_REJECTED);
	CU_ASSERT_EQUAL(st()->rejections[RELAY_REJ_MAIL][RELAY_RULE_BLOCKLIST + CFG_LIST_DOMAIN][RELAY_REJ_5XX], 1);
	CU_ASSERT_EQUAL(rejections_total(), 1);
	one_session(RELAY_SO_QUIT);
	done();
}

static void test_msg_rate_tempfail(void)
{
	setup(CFG_ONE "limit msg_rate ip 1/hour burst 1\n");
	fake_client_str(c, EHLO);
	fake_client_str(c, MESSAGE BODY);
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n");
	CU_ASSERT_TRUE(strstr(fake_take(c, SL_LEG_CLIENT), "450 4.7.1") != NULL);
	fake_client_str(c, "QUIT\r\n");
	CU_ASSERT_EQUAL(st()->tx[RELAY_TX_RELAYED], 1);
	CU_ASSERT_EQUAL(st()->tx[RELAY_TX_TEMPFAIL], 1);
	CU_ASSERT_EQUAL(sum(st()->tx, RELAY_TX_COUNT), 2);
	CU_ASSERT_EQUAL(st()->rejections[RELAY_REJ_MAIL][limit_rule(CFG_LIMIT_MSG_RATE, CFG_KEY_IP)][RELAY_REJ_4XX], 1);
	CU_ASSERT_EQUAL(rejections_total(), 1);
	done();
}

static void test_backend_4xx_and_5xx(void)
{
	setup(CFG_ONE);
	c->mta.dot_code = 451;
	fake_client_str(c, EHLO);
	fake_client_str(c, MESSAGE BODY);
	CU_ASSERT_TRUE(strstr(fake_take(c, SL_LEG_CLIENT), "\r\n451 ") != NULL);
	c->mta.dot_code = 554;
	fake_client_str(c, MESSAGE BODY "QUIT\r\n");
	CU_ASSERT_EQUAL(st()->tx[RELAY_TX_TEMPFAIL], 1);
	CU_ASSERT_EQUAL(st()->tx[RELAY_TX_REJECTED], 1);
	CU_ASSERT_EQUAL(sum(st()->tx, RELAY_TX_COUNT), 2);
	CU_ASSERT_EQUAL(st()->relayed_bytes, 0);
	CU_ASSERT_EQUAL(rejections_total(), 0);   /* the backend's, not a policy refusal */
	done();
}

static void test_aborted(void)
{
	setup(CFG_ONE);
	fake_client_str(c, EHLO);
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\n");
	CU_ASSERT_EQUAL(sum(st()->tx, RELAY_TX_COUNT), 0);
	fake_client_str(c, "RSET\r\n");
	one_tx(RELAY_TX_ABORTED);
	/* EHLO ends one, and so does the client going away */
	fake_client_str(c, "MAIL FROM:<a@example.org>\r\n" EHLO "MAIL FROM:<a@example.org>\r\n");
	CU_ASSERT_EQUAL(st()->tx[RELAY_TX_ABORTED], 2);
	fake_client_close(c, true);
	CU_ASSERT_EQUAL(st()->tx[RELAY_TX_ABORTED], 3);
	CU_ASSERT_EQUAL(sum(st()->tx, RELAY_TX_COUNT), 3);
	one_session(RELAY_SO_CLIENT_CLOSED);
	done();
}

/* Smuggling at the end of DATA: the engine's 550, a rejected transaction. */
static void test_bare_newline_rejected(void)
{
	setup(CFG_ONE);
	fake_client_str(c, EHLO);
	fake_client_str(c, MESSAGE "a\nb\r\n.\r\nQUIT\r\n");
	one_tx(RELAY_TX_REJECTED);
	CU_ASSERT_EQUAL(c->mta.accepted, 0);
	done();
}

void register_tests(void)
{
	static const struct test_case sessions[] = {
		{ "QUIT", test_quit },
		{ "client closed", test_client_closed },
		{ "timeout", test_timeout },
		{ "pregreet", test_pregreet },
		{ "too many errors", test_too_many_errors },
		{ "killed", test_killed },
		{ "shutdown", test_shutdown },
		{ "blocklisted at connect", test_blocklisted_connect },
		{ "conn_rate at connect", test_limit_at_connect },
		{ NULL, NULL }
	};
	static const struct test_case tx[] = {
		{ "relayed, with bytes", test_relayed },
		{ "RCPT relay denied (5xx)", test_rcpt_relay_denied },
		{ "one RCPT denied, message relayed", test_rcpt_denied_then_relayed },
		{ "sender blocklisted at MAIL", test_sender_blocklisted },
		{ "msg_rate 450 at MAIL", test_msg_rate_tempfail },
		{ "backend 451 and 554 at end of DATA", test_backend_4xx_and_5xx },
		{ "aborted by RSET, EHLO, reset", test_aborted },
		{ "bare newline: 550 at end of DATA", test_bare_newline_rejected },
		{ NULL, NULL }
	};

	sl_log_set_level(SL_LOG_ERR);
	test_suite("relay stats: sessions", sessions);
	test_suite("relay stats: transactions", tx);
}
