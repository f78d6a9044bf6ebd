/* test_relay_client.c - the backend-leg client against a scripted fake backend, byte for byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "relay/relay_client.h"
#include "util/sl_status.h"

/* What the client did: bytes it sent, callbacks it made. */
struct fake {
	char     out[16384];
	size_t   out_len;
	int      ready;
	int      nreplies;
	uint32_t tags[64];
	uint16_t codes[64];
	int      failed;
	enum relay_fail why;
	uint16_t fail_code;      /**< 0 when failed() had no reply */
	struct relay_client *rc;
	/* scripted reactions, to exercise re-entrancy */
	const char *cmd_on_ready;
	const char *cmd_on_reply[8];
};

static void f_send(void *arg, const void *p, size_t n)
{
	struct fake *f = arg;

	CU_ASSERT_FATAL(f->out_len + n <= sizeof(f->out));
	memcpy(f->out + f->out_len, p, n);
	f->out_len += n;
}

static void f_ready(void *arg)
{
	struct fake *f = arg;

	f->ready++;
	if (f->cmd_on_ready != NULL)
		CU_ASSERT_EQUAL(relay_client_command(f->rc, 100, f->cmd_on_ready, strlen(f->cmd_on_ready)), SL_OK);
}

static void f_reply(void *arg, uint32_t tag, const struct backend_reply *r)
{
	struct fake *f = arg;

	CU_ASSERT_FATAL(f->nreplies < 64);
	f->tags[f->nreplies] = tag;
	f->codes[f->nreplies] = r->code;
	f->nreplies++;
	if (tag < 8 && f->cmd_on_reply[tag] != NULL)
		CU_ASSERT_EQUAL(relay_client_command(f->rc, tag + 1, f->cmd_on_reply[tag],
						     strlen(f->cmd_on_reply[tag])), SL_OK);
}

static void f_failed(void *arg, enum relay_fail why, const struct backend_reply *r)
{
	struct fake *f = arg;

	f->failed++;
	f->why = why;
	f->fail_code = r != NULL ? r->code : 0;
}

static const struct relay_client_ops fake_ops = { f_send, f_ready, f_reply, f_failed };

static struct relay_client *rc;
static struct fake fk;

static void setup(enum cfg_xclient xc, enum cfg_proxy px)
{
	struct relay_client_params p;

	memset(&p, 0, sizeof(p));
	p.helo_name = "gw.example.net";
	p.xclient = xc;
	p.proxy = px;
	CU_ASSERT_FATAL(sl_addr_parse("198.18.0.7:40000", &p.info.client, true) == 0);
	CU_ASSERT_FATAL(sl_addr_parse("198.18.0.1:25", &p.info.local, true) == 0);
	strcpy(p.info.name, "client.example.org");
	strcpy(p.info.helo, "helo.example.org");
	p.info.esmtp = true;
	if (rc == NULL)
		rc = malloc(sizeof(*rc));
	memset(&fk, 0, sizeof(fk));
	fk.rc = rc;
	relay_client_init(rc, &p, &fake_ops, &fk);
}

static int feed(const char *s)
{
	return relay_client_input(rc, (const uint8_t *)s, strlen(s));
}

/* The client sent exactly `want` since the last check. */
static void sent_is(const char *want, size_t len, int line)
{
	bool ok = fk.out_len == len && memcmp(fk.out, want, len) == 0;

	if (!ok)
		fprintf(stderr, "\nline %d: sent %zu bytes [%.*s], wanted [%.*s]\n", line, fk.out_len,
			(int)fk.out_len, fk.out, (int)len, want);
	CU_ASSERT(ok);
	fk.out_len = 0;
}
#define SENT(s) sent_is((s), strlen(s), __LINE__)
#define NOTHING_SENT() sent_is("", 0, __LINE__)

static const char ehlo_plain[] = "250-mx.example.net\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n";
static const char ehlo_pipe[] = "250-mx.example.net\r\n250-PIPELINING\r\n250 8BITMIME\r\n";
static const char ehlo_xclient[] =
	"250-mx.example.net\r\n250-PIPELINING\r\n250-XCLIENT NAME ADDR PORT PROTO HELO\r\n250 8BITMIME\r\n";
static const char xclient_line[] =
	"XCLIENT ADDR=198.18.0.7 PORT=40000 NAME=client.example.org HELO=helo.example.org PROTO=ESMTP\r\n";

static void handshake(const char *ehlo)
{
	relay_client_connected(rc);
	NOTHING_SENT();
	CU_ASSERT_EQUAL(feed("220 mx.example.net ESMTP\r\n"), SL_OK);
	SENT("EHLO gw.example.net\r\n");
	CU_ASSERT_EQUAL(feed(ehlo), SL_OK);
	NOTHING_SENT();
	CU_ASSERT_EQUAL(fk.ready, 1);
	CU_ASSERT_EQUAL(rc->state, RC_READY);
}

static void test_plain_ehlo(void)
{
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	handshake(ehlo_plain);
	CU_ASSERT(rc->caps.esmtp);
	CU_ASSERT(rc->caps.size);
	CU_ASSERT(!rc->caps.pipelining);
	CU_ASSERT_EQUAL(relay_client_command(rc, 1, "MAIL FROM:<a@example.org>\r\n", 27), SL_OK);
	SENT("MAIL FROM:<a@example.org>\r\n");
	CU_ASSERT_EQUAL(feed("250 2.1.0 Ok\r\n"), SL_OK);
	CU_ASSERT_EQUAL(fk.nreplies, 1);
	CU_ASSERT_EQUAL(fk.tags[0], 1);
	CU_ASSERT_EQUAL(fk.codes[0], 250);
	CU_ASSERT_EQUAL(relay_client_outstanding(rc), 0);
	CU_ASSERT_EQUAL(fk.failed, 0);
}

static void test_ehlo_refused_helo(void)
{
	setup(CFG_XCLIENT_AUTO, CFG_PROXY_OFF);
	relay_client_connected(rc);
	feed("220 old.example.net SMTP\r\n");
	SENT("EHLO gw.example.net\r\n");
	feed("502 5.5.2 Error: command not recognized\r\n");
	SENT("HELO gw.example.net\r\n");
	CU_ASSERT_EQUAL(fk.ready, 0);
	feed("250 old.example.net\r\n");
	NOTHING_SENT();
	CU_ASSERT_EQUAL(fk.ready, 1);
	CU_ASSERT(!rc->caps.esmtp);
	CU_ASSERT_EQUAL(fk.failed, 0);

	/* HELO refused too: the handshake failed */
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	relay_client_connected(rc);
	feed("220 x\r\n");
	feed("500 no\r\n");
	SENT("EHLO gw.example.net\r\nHELO gw.example.net\r\n");
	CU_ASSERT_EQUAL(feed("501 no either\r\n"), SL_ERROR);
	CU_ASSERT_EQUAL(fk.failed, 1);
	CU_ASSERT_EQUAL(fk.why, RELAY_FAIL_HANDSHAKE);
	CU_ASSERT_EQUAL(fk.fail_code, 501);

	/* a 4xx to EHLO is not a reason to try HELO */
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	relay_client_connected(rc);
	feed("220 x\r\n");
	CU_ASSERT_EQUAL(feed("451 busy\r\n"), SL_ERROR);
	SENT("EHLO gw.example.net\r\n");
	CU_ASSERT_EQUAL(fk.why, RELAY_FAIL_HANDSHAKE);
}

static void test_bad_greeting(void)
{
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	relay_client_connected(rc);
	CU_ASSERT_EQUAL(feed("554 5.3.2 go away\r\n"), SL_ERROR);
	NOTHING_SENT();
	CU_ASSERT_EQUAL(fk.failed, 1);
	CU_ASSERT_EQUAL(fk.why, RELAY_FAIL_GREETING);
	CU_ASSERT_EQUAL(fk.fail_code, 554);

	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	relay_client_connected(rc);
	CU_ASSERT_EQUAL(feed("421 4.3.2 shutting down\r\n"), SL_ERROR);
	CU_ASSERT_EQUAL(fk.why, RELAY_FAIL_421);
	CU_ASSERT_EQUAL(fk.fail_code, 421);

	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	relay_client_connected(rc);
	CU_ASSERT_EQUAL(feed("HTTP/1.0 400 Bad\r\n"), SL_ERROR);
	CU_ASSERT_EQUAL(fk.why, RELAY_FAIL_PROTOCOL);
	CU_ASSERT_EQUAL(fk.fail_code, 0);
	NOTHING_SENT();
}

static void test_xclient_on(void)
{
	setup(CFG_XCLIENT_ON, CFG_PROXY_OFF);
	relay_client_connected(rc);
	feed("220 mx.example.net ESMTP\r\n");
	SENT("EHLO gw.example.net\r\n");
	feed(ehlo_xclient);
	SENT(xclient_line);
	CU_ASSERT_EQUAL(rc->state, RC_XCLIENT);
	CU_ASSERT_EQUAL(fk.ready, 0);
	feed("220 mx.example.net ESMTP\r\n");
	/* after XCLIENT the EHLO speaks for the client: its own HELO name */
	SENT("EHLO helo.example.org\r\n");
	CU_ASSERT_EQUAL(rc->state, RC_EHLO2);
	feed(ehlo_xclient);
	NOTHING_SENT();
	CU_ASSERT_EQUAL(fk.ready, 1);
	CU_ASSERT_EQUAL(fk.failed, 0);
	CU_ASSERT(rc->caps.pipelining);
}

static void test_xclient_auto(void)
{
	/* offered: used */
	setup(CFG_XCLIENT_AUTO, CFG_PROXY_OFF);
	relay_client_connected(rc);
	feed("220 mx\r\n");
	feed(ehlo_xclient);
	SENT("EHLO gw.example.net\r\n" "XCLIENT ADDR=198.18.0.7 PORT=40000 NAME=client.example.org "
	     "HELO=helo.example.org PROTO=ESMTP\r\n");
	feed("220 mx\r\n");
	feed(ehlo_xclient);
	SENT("EHLO helo.example.org\r\n");
	CU_ASSERT_EQUAL(fk.ready, 1);

	/* not offered: straight to ready */
	setup(CFG_XCLIENT_AUTO, CFG_PROXY_OFF);
	handshake(ehlo_pipe);
	CU_ASSERT_EQUAL(fk.failed, 0);

	/* offered but off: not used */
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	handshake(ehlo_xclient);
	CU_ASSERT_EQUAL(fk.failed, 0);

	/* only some attributes offered: only those sent */
	setup(CFG_XCLIENT_AUTO, CFG_PROXY_OFF);
	relay_client_connected(rc);
	feed("220 mx\r\n");
	fk.out_len = 0;
	feed("250-mx\r\n250 XCLIENT ADDR NAME\r\n");
	SENT("XCLIENT ADDR=198.18.0.7 NAME=client.example.org\r\n");
}

static void test_xclient_not_offered(void)
{
	setup(CFG_XCLIENT_ON, CFG_PROXY_OFF);
	relay_client_connected(rc);
	feed("220 mx\r\n");
	SENT("EHLO gw.example.net\r\n");
	CU_ASSERT_EQUAL(feed(ehlo_pipe), SL_ERROR);
	NOTHING_SENT();
	CU_ASSERT_EQUAL(fk.ready, 0);
	CU_ASSERT_EQUAL(fk.failed, 1);
	CU_ASSERT_EQUAL(fk.why, RELAY_FAIL_NO_XCLIENT);

	/* a HELO-only server cannot offer it either */
	setup(CFG_XCLIENT_ON, CFG_PROXY_OFF);
	relay_client_connected(rc);
	feed("220 mx\r\n");
	feed("502 no\r\n");
	CU_ASSERT_EQUAL(feed("250 mx\r\n"), SL_ERROR);
	CU_ASSERT_EQUAL(fk.why, RELAY_FAIL_NO_XCLIENT);
}

static void test_xclient_refused(void)
{
	setup(CFG_XCLIENT_ON, CFG_PROXY_OFF);
	relay_client_connected(rc);
	feed("220 mx\r\n");
	feed(ehlo_xclient);
	fk.out_len = 0;
	CU_ASSERT_EQUAL(feed("550 5.7.0 Error: insufficient authorization\r\n"), SL_ERROR);
	NOTHING_SENT();
	CU_ASSERT_EQUAL(fk.why, RELAY_FAIL_HANDSHAKE);
	CU_ASSERT_EQUAL(fk.fail_code, 550);
	CU_ASSERT_EQUAL(fk.ready, 0);
}

static void test_xclient_two_commands(void)
{
	struct relay_client_params p;
	char want[600];

	memset(&p, 0, sizeof(p));
	p.helo_name = "gw.example.net";
	p.xclient = CFG_XCLIENT_ON;
	CU_ASSERT_FATAL(sl_addr_parse("198.18.0.7:40000", &p.info.client, true) == 0);
	memset(p.info.name, 'n', 255);
	memset(p.info.helo, 'h', 255);
	p.info.esmtp = true;
	memset(&fk, 0, sizeof(fk));
	fk.rc = rc;
	relay_client_init(rc, &p, &fake_ops, &fk);

	relay_client_connected(rc);
	feed("220 mx\r\n");
	fk.out_len = 0;
	feed(ehlo_xclient);
	snprintf(want, sizeof(want), "XCLIENT ADDR=198.18.0.7 PORT=40000 NAME=%s\r\n", p.info.name);
	SENT(want);
	feed("220 mx\r\n");
	snprintf(want, sizeof(want), "XCLIENT HELO=%s PROTO=ESMTP\r\n", p.info.helo);
	SENT(want);
	feed("220 mx\r\n");
	snprintf(want, sizeof(want), "EHLO %s\r\n", p.info.helo);
	SENT(want);
	feed(ehlo_xclient);
	CU_ASSERT_EQUAL(fk.ready, 1);
	CU_ASSERT_EQUAL(fk.failed, 0);
}

static void test_proxy_first(void)
{
	setup(CFG_XCLIENT_OFF, CFG_PROXY_V1);
	relay_client_connected(rc);
	SENT("PROXY TCP4 198.18.0.7 198.18.0.1 40000 25\r\n");
	feed("220 mx\r\n");
	SENT("EHLO gw.example.net\r\n");

	static const uint8_t v2[28] = {
		0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
		0x21, 0x11, 0x00, 0x0C, 198, 18, 0, 7, 198, 18, 0, 1, 0x9C, 0x40, 0x00, 0x19,
	};
	setup(CFG_XCLIENT_OFF, CFG_PROXY_V2);
	relay_client_connected(rc);
	sent_is((const char *)v2, sizeof(v2), __LINE__);
	feed("220 mx\r\n");
	SENT("EHLO gw.example.net\r\n");
}

static const char mail[] = "MAIL FROM:<a@example.org>\r\n";
static const char rcpt1[] = "RCPT TO:<b@example.net>\r\n";
static const char rcpt2[] = "RCPT TO:<c@example.net>\r\n";

static void test_pipelined(void)
{
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	handshake(ehlo_pipe);
	relay_client_command(rc, 1, mail, strlen(mail));
	relay_client_command(rc, 2, rcpt1, strlen(rcpt1));
	relay_client_command(rc, 3, rcpt2, strlen(rcpt2));
	/* all three out before any reply */
	SENT("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\n");
	CU_ASSERT_EQUAL(relay_client_outstanding(rc), 3);
	CU_ASSERT_EQUAL(feed("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 unknown\r\n"), SL_OK);
	CU_ASSERT_EQUAL_FATAL(fk.nreplies, 3);
	CU_ASSERT_EQUAL(fk.tags[0], 1);
	CU_ASSERT_EQUAL(fk.tags[1], 2);
	CU_ASSERT_EQUAL(fk.tags[2], 3);
	CU_ASSERT_EQUAL(fk.codes[2], 550);
	CU_ASSERT_EQUAL(relay_client_outstanding(rc), 0);
}

static void test_not_pipelined(void)
{
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	handshake(ehlo_plain);
	relay_client_command(rc, 1, mail, strlen(mail));
	relay_client_command(rc, 2, rcpt1, strlen(rcpt1));
	relay_client_command(rc, 3, rcpt2, strlen(rcpt2));
	/* one at a time: the second waits for the first reply */
	SENT(mail);
	CU_ASSERT_EQUAL(relay_client_outstanding(rc), 3);
	feed("250 2.1.0 Ok\r\n");
	SENT(rcpt1);
	CU_ASSERT_EQUAL(fk.nreplies, 1);
	feed("250 2.1.5 Ok\r\n");
	SENT(rcpt2);
	feed("250 2.1.5 Ok\r\n");
	NOTHING_SENT();
	CU_ASSERT_EQUAL(fk.nreplies, 3);
	CU_ASSERT_EQUAL(fk.tags[2], 3);
	CU_ASSERT_EQUAL(fk.failed, 0);
}

/* Without PIPELINING a second reply in the same read answers nothing we had sent. */
static void test_early_reply(void)
{
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	handshake(ehlo_plain);
	relay_client_command(rc, 1, mail, strlen(mail));
	relay_client_command(rc, 2, rcpt1, strlen(rcpt1));
	SENT(mail);
	CU_ASSERT_EQUAL(feed("250 Ok\r\n250 Ok\r\n"), SL_ERROR);
	CU_ASSERT_EQUAL(fk.nreplies, 1);
	CU_ASSERT_EQUAL(fk.failed, 1);
	CU_ASSERT_EQUAL(fk.why, RELAY_FAIL_PROTOCOL);
}

static void test_421_mid_session(void)
{
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	handshake(ehlo_pipe);
	relay_client_command(rc, 1, mail, strlen(mail));
	relay_client_command(rc, 2, rcpt1, strlen(rcpt1));
	fk.out_len = 0;
	CU_ASSERT_EQUAL(feed("250 Ok\r\n421 4.4.2 timeout\r\n"), SL_ERROR);
	CU_ASSERT_EQUAL(fk.nreplies, 1);
	CU_ASSERT_EQUAL(fk.failed, 1);
	CU_ASSERT_EQUAL(fk.why, RELAY_FAIL_421);
	CU_ASSERT_EQUAL(fk.fail_code, 421);
	CU_ASSERT_EQUAL(rc->state, RC_FAILED);
	/* dead from now on */
	CU_ASSERT_EQUAL(feed("250 Ok\r\n"), SL_ERROR);
	CU_ASSERT_EQUAL(relay_client_command(rc, 3, mail, strlen(mail)), SL_ERROR);
	CU_ASSERT_EQUAL(fk.failed, 1);
	CU_ASSERT_EQUAL(fk.nreplies, 1);
	NOTHING_SENT();

	/* 421 with nothing outstanding is still a 421 */
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	handshake(ehlo_pipe);
	CU_ASSERT_EQUAL(feed("421 bye\r\n"), SL_ERROR);
	CU_ASSERT_EQUAL(fk.why, RELAY_FAIL_421);
}

static void test_unsolicited(void)
{
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	handshake(ehlo_pipe);
	CU_ASSERT_EQUAL(feed("250 surprise\r\n"), SL_ERROR);
	CU_ASSERT_EQUAL(fk.failed, 1);
	CU_ASSERT_EQUAL(fk.why, RELAY_FAIL_PROTOCOL);
	CU_ASSERT_EQUAL(fk.fail_code, 250);
	CU_ASSERT_EQUAL(fk.nreplies, 0);

	/* garbage from the backend */
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	handshake(ehlo_pipe);
	relay_client_command(rc, 1, mail, strlen(mail));
	CU_ASSERT_EQUAL(feed("250-a\r\n251 b\r\n"), SL_ERROR);
	CU_ASSERT_EQUAL(fk.why, RELAY_FAIL_PROTOCOL);
	CU_ASSERT_EQUAL(fk.nreplies, 0);
}

/* Bytes after the 220 in the same read were written before our EHLO: never its reply. */
static void test_pregreet_pipelining(void)
{
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	relay_client_connected(rc);
	CU_ASSERT_EQUAL(feed("220 mx\r\n250-mx\r\n250 PIPELINING\r\n"), SL_ERROR);
	CU_ASSERT_EQUAL(fk.ready, 0);
	CU_ASSERT_EQUAL(fk.failed, 1);
	CU_ASSERT_EQUAL(fk.why, RELAY_FAIL_PROTOCOL);

	/* the same when the greeting came in two reads and the extra bytes with the second */
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	relay_client_connected(rc);
	CU_ASSERT_EQUAL(feed("220 m"), SL_OK);
	CU_ASSERT_EQUAL(feed("x\r\n250 fake\r\n"), SL_ERROR);
	CU_ASSERT_EQUAL(fk.ready, 0);
	CU_ASSERT_EQUAL(fk.why, RELAY_FAIL_PROTOCOL);

	/* and after XCLIENT's 220 */
	setup(CFG_XCLIENT_ON, CFG_PROXY_OFF);
	relay_client_connected(rc);
	feed("220 mx\r\n");
	feed(ehlo_xclient);
	CU_ASSERT_EQUAL(feed("220 mx\r\n250 mx\r\n"), SL_ERROR);
	CU_ASSERT_EQUAL(fk.ready, 0);
	CU_ASSERT_EQUAL(fk.why, RELAY_FAIL_PROTOCOL);

	/* a partial line after the greeting is just as early */
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	relay_client_connected(rc);
	CU_ASSERT_EQUAL(feed("220 mx\r\n25"), SL_ERROR);
	CU_ASSERT_EQUAL(fk.why, RELAY_FAIL_PROTOCOL);
	CU_ASSERT_EQUAL(fk.ready, 0);
	SENT("EHLO gw.example.net\r\n");
}

/* The server's replies cut at every byte: the same transcript every time. */
static void split_run(size_t cut, bool pipelining)
{
	static const char *const replies[] = {
		"220-mx.example.net ESMTP\r\n220 second line\r\n",
		NULL,  /* EHLO reply, set below */
		"250 2.1.0 Ok\r\n",
		"250 2.1.5 Ok\r\n",
		"354 End data with <CR><LF>.<CR><LF>\r\n",
		"250 2.0.0 Ok: queued as ABC\r\n",
	};
	const char *ehlo = pipelining ? ehlo_pipe : ehlo_plain;

	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	relay_client_connected(rc);
	for (size_t i = 0; i < SL_ARRAY_SIZE(replies); i++) {
		const char *r = replies[i] != NULL ? replies[i] : ehlo;
		size_t len = strlen(r), c = cut < len ? cut : len;

		if (i == 2) {
			relay_client_command(rc, 1, mail, strlen(mail));
			relay_client_command(rc, 2, rcpt1, strlen(rcpt1));
			relay_client_command(rc, 3, "DATA\r\n", 6);
		}
		if (i == 5) {
			/* the caller wrote the body itself */
			CU_ASSERT_EQUAL(relay_client_expect(rc, 4), SL_OK);
		}
		CU_ASSERT_EQUAL(relay_client_input(rc, (const uint8_t *)r, c), SL_OK);
		CU_ASSERT_EQUAL(relay_client_input(rc, (const uint8_t *)r + c, len - c), SL_OK);
	}
	CU_ASSERT_EQUAL(fk.failed, 0);
	CU_ASSERT_EQUAL(fk.ready, 1);
	CU_ASSERT_EQUAL_FATAL(fk.nreplies, 4);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(fk.tags[i], (uint32_t)i + 1);
	CU_ASSERT_EQUAL(fk.codes[2], 354);
	CU_ASSERT_EQUAL(fk.codes[3], 250);
	SENT("EHLO gw.example.net\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
}

static void test_split_every_byte(void)
{
	for (size_t cut = 0; cut < 60; cut++) {
		split_run(cut, false);
		split_run(cut, true);
	}
	/* and one byte per read */
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	relay_client_connected(rc);
	const char *g = "220 mx\r\n";
	for (size_t i = 0; g[i] != '\0'; i++)
		CU_ASSERT_EQUAL(relay_client_input(rc, (const uint8_t *)g + i, 1), SL_OK);
	for (size_t i = 0; ehlo_xclient[i] != '\0'; i++)
		CU_ASSERT_EQUAL(relay_client_input(rc, (const uint8_t *)ehlo_xclient + i, 1), SL_OK);
	CU_ASSERT_EQUAL(fk.ready, 1);
	CU_ASSERT(rc->caps.pipelining && rc->caps.xclient);
}

/* Callbacks that queue commands: ready() and reply() re-entering command(). */
static void test_reentrant(void)
{
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	fk.cmd_on_ready = mail;
	fk.cmd_on_reply[1] = rcpt1;      /* reply to tag 1 queues tag 2 */
	fk.cmd_on_reply[2] = rcpt2;      /* reply to tag 2 queues tag 3 */
	relay_client_connected(rc);
	/* a command queued before the handshake ends waits for it, then goes first */
	CU_ASSERT_EQUAL(relay_client_command(rc, 1, "RSET\r\n", 6), SL_OK);
	NOTHING_SENT();
	feed("220 mx\r\n");
	SENT("EHLO gw.example.net\r\n");
	feed(ehlo_plain);
	SENT("RSET\r\n");
	feed("250 Ok\r\n");
	/* reply to RSET (tag 1) queued RCPT tag 2, after the MAIL (tag 100) from ready() */
	SENT(mail);
	feed("250 Ok\r\n");
	SENT(rcpt1);
	feed("250 Ok\r\n");
	SENT(rcpt2);
	feed("250 Ok\r\n");
	NOTHING_SENT();
	CU_ASSERT_EQUAL_FATAL(fk.nreplies, 4);
	CU_ASSERT_EQUAL(fk.tags[0], 1);
	CU_ASSERT_EQUAL(fk.tags[1], 100);
	CU_ASSERT_EQUAL(fk.tags[2], 2);
	CU_ASSERT_EQUAL(fk.tags[3], 3);
	CU_ASSERT_EQUAL(fk.failed, 0);

	/* pipelined: replies in one read, each callback queueing the next */
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	fk.cmd_on_reply[1] = rcpt1;
	handshake(ehlo_pipe);
	relay_client_command(rc, 1, mail, strlen(mail));
	SENT(mail);
	CU_ASSERT_EQUAL(feed("250 Ok\r\n"), SL_OK);
	SENT(rcpt1);
	CU_ASSERT_EQUAL(relay_client_outstanding(rc), 1);
}

static void test_expect_quit_full(void)
{
	setup(CFG_XCLIENT_OFF, CFG_PROXY_OFF);
	/* expect() before ready is a caller bug */
	CU_ASSERT_EQUAL(relay_client_expect(rc, 9), SL_ERROR);
	handshake(ehlo_plain);
	relay_client_command(rc, 1, "DATA\r\n", 6);
	SENT("DATA\r\n");
	feed("354 go\r\n");
	CU_ASSERT_EQUAL(relay_client_expect(rc, 2), SL_OK);
	NOTHING_SENT();
	feed("250 queued\r\n");
	CU_ASSERT_EQUAL(fk.nreplies, 2);
	CU_ASSERT_EQUAL(fk.tags[1], 2);

	/* the queue is bounded */
	int rcq = SL_OK, n = 0;
	while ((rcq = relay_client_command(rc, 10, "NOOP\r\n", 6)) == SL_OK)
		n++;
	CU_ASSERT_EQUAL(rcq, SL_AGAIN);
	CU_ASSERT_EQUAL(n, RELAY_CLIENT_QUEUE);
	CU_ASSERT_EQUAL(relay_client_expect(rc, 11), SL_AGAIN);
	fk.out_len = 0;

	/* QUIT: sent at once, nothing more is delivered */
	relay_client_quit(rc);
	SENT("QUIT\r\n");
	CU_ASSERT_EQUAL(rc->state, RC_QUIT);
	CU_ASSERT_EQUAL(feed("250 Ok\r\n221 Bye\r\n"), SL_OK);
	CU_ASSERT_EQUAL(fk.nreplies, 2);
	CU_ASSERT_EQUAL(fk.failed, 0);
	relay_client_quit(rc);
	NOTHING_SENT();
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "plain EHLO", test_plain_ehlo },
		{ "EHLO refused, HELO", test_ehlo_refused_helo },
		{ "bad greeting", test_bad_greeting },
		{ "XCLIENT on", test_xclient_on },
		{ "XCLIENT auto and off", test_xclient_auto },
		{ "XCLIENT on, not offered", test_xclient_not_offered },
		{ "XCLIENT refused", test_xclient_refused },
		{ "XCLIENT in two commands", test_xclient_two_commands },
		{ "PROXY header first", test_proxy_first },
		{ "pipelined", test_pipelined },
		{ "not pipelined", test_not_pipelined },
		{ "early reply without pipelining", test_early_reply },
		{ "421 mid-session", test_421_mid_session },
		{ "unsolicited reply", test_unsolicited },
		{ "server pipelines after greeting", test_pregreet_pipelining },
		{ "replies split at every byte", test_split_every_byte },
		{ "re-entrant callbacks", test_reentrant },
		{ "expect, queue bound, quit", test_expect_quit_full },
		{ NULL, NULL },
	};
	test_suite("relay_client", cases);
}
