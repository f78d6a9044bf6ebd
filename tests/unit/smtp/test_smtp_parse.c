/* test_smtp_parse.c - SMTP command parser: tables of command lines and their replies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "smtp/smtp_parse.h"

/* Option sets of the tables. */
#define O_U 0x01   /* SMTPUTF8 offered */
#define O_D 0x02   /* DSN offered */
#define O_8 0x04   /* 8BITMIME offered */
#define O_R 0x08   /* the transaction's MAIL had SMTPUTF8 */
#define O_L 0x10   /* size_limit 1000 */
#define O_ALL (O_U | O_D | O_8)

static struct smtp_parse_opts make_opts(unsigned o)
{
	struct smtp_parse_opts opts = {
		.smtputf8 = o & O_U, .dsn = o & O_D, .eightbitmime = o & O_8,
		.utf8_allowed = o & O_R, .size_limit = (o & O_L) ? 1000 : 0,
	};

	return opts;
}

/*
 * Parse a copy of line in a heap buffer of exactly len + 1 bytes (the +1
 * is where the CR was), so ASan sees any access beyond it, and check the
 * pointers of cmd stay inside that buffer.
 */
struct parsed {
	int                rc;
	enum smtp_reply_id reply;
	struct smtp_cmd    cmd;
	char               arg[1024];
	char               params[1024];
	bool               ptrs_ok;
};

static void parse(const char *line, size_t len, unsigned o, struct parsed *out)
{
	struct smtp_parse_opts opts = make_opts(o);
	char *buf = malloc(len + 1);

	memcpy(buf, line, len);
	buf[len] = '\r';
	out->reply = SMTP_R_COUNT;
	out->rc = smtp_parse_command(buf, len, &opts, &out->cmd, &out->reply);
	out->ptrs_ok = true;
	if (out->cmd.arg != NULL) {
		out->ptrs_ok &= out->cmd.arg >= buf && out->cmd.arg + out->cmd.arg_len <= buf + len;
		out->ptrs_ok &= out->cmd.arg[out->cmd.arg_len] == '\0';
		snprintf(out->arg, sizeof(out->arg), "%.*s", (int)out->cmd.arg_len, out->cmd.arg);
	} else {
		out->arg[0] = '\0';
		out->ptrs_ok = out->rc != SL_OK;
	}
	if (out->cmd.params != NULL) {
		out->ptrs_ok &= out->cmd.params >= buf &&
				out->cmd.params + out->cmd.params_len <= buf + len;
		snprintf(out->params, sizeof(out->params), "%.*s", (int)out->cmd.params_len,
			 out->cmd.params);
	} else {
		out->params[0] = '\0';
	}
	out->ptrs_ok &= strlen(out->cmd.path.addr) <= SL_PATH_MAX;
	out->ptrs_ok &= strlen(out->cmd.path.domain) <= SL_DOMAIN_MAX;
	free(buf);
}

static void parse_s(const char *line, unsigned o, struct parsed *out)
{
	parse(line, strlen(line), o, out);
}

struct parse_case {
	const char        *line;
	size_t             len;     /* 0: strlen(line) */
	unsigned           opts;
	enum smtp_reply_id reply;   /* OK, MAIL_OK, RCPT_OK mean SL_OK */
	enum smtp_verb     verb;
	const char        *addr;    /* NULL: not checked */
	const char        *domain;  /* NULL: not checked */
};

#define R(x) SMTP_R_##x
#define C(x) SMTP_CMD_##x

static const struct parse_case cases[] = {
	/* verbs */
	{ "HELO mx.example.com", 0, 0, R(OK), C(HELO), NULL, NULL },
	{ "helo mx", 0, 0, R(OK), C(HELO), NULL, NULL },
	{ "EHLO [198.18.0.1]", 0, 0, R(OK), C(EHLO), NULL, NULL },
	{ "eHlO   spaced.example   ", 0, 0, R(OK), C(EHLO), NULL, NULL },
	{ "HELO", 0, 0, R(HELO_SYNTAX), C(HELO), NULL, NULL },
	{ "HELO   ", 0, 0, R(HELO_SYNTAX), C(HELO), NULL, NULL },
	{ "EHLO", 0, 0, R(EHLO_SYNTAX), C(EHLO), NULL, NULL },
	{ "EHLO a b", 0, 0, R(EHLO_SYNTAX), C(EHLO), NULL, NULL },
	{ "HELO a b", 0, 0, R(HELO_SYNTAX), C(HELO), NULL, NULL },
	{ "EHLO a\x01" "b", 0, 0, R(BAD_HELO), C(EHLO), NULL, NULL },
	{ "HELO a\x7f", 0, 0, R(BAD_HELO), C(HELO), NULL, NULL },
	{ "EHLO a\tb", 0, 0, R(BAD_HELO), C(EHLO), NULL, NULL },
	{ "EHLO under_score!", 0, 0, R(OK), C(EHLO), NULL, NULL },  /* lenient */
	{ "MAIL FROM:<a@b.c>", 0, 0, R(MAIL_OK), C(MAIL), "a@b.c", "b.c" },
	{ "RCPT TO:<a@b.c>", 0, 0, R(RCPT_OK), C(RCPT), "a@b.c", "b.c" },
	{ "DATA", 0, 0, R(OK), C(DATA), NULL, NULL },
	{ "data  ", 0, 0, R(OK), C(DATA), NULL, NULL },
	{ "DATA x", 0, 0, R(NOARG_SYNTAX), C(DATA), NULL, NULL },
	{ "RSET", 0, 0, R(OK), C(RSET), NULL, NULL },
	{ "RSET now", 0, 0, R(NOARG_SYNTAX), C(RSET), NULL, NULL },
	{ "NOOP", 0, 0, R(OK), C(NOOP), NULL, NULL },
	{ "noop anything at all", 0, 0, R(OK), C(NOOP), NULL, NULL },
	{ "QUIT", 0, 0, R(OK), C(QUIT), NULL, NULL },
	{ "QUIT please", 0, 0, R(NOARG_SYNTAX), C(QUIT), NULL, NULL },
	{ "VRFY user", 0, 0, R(OK), C(VRFY), NULL, NULL },
	{ "VRFY", 0, 0, R(VRFY_SYNTAX), C(VRFY), NULL, NULL },
	{ "VRFY ", 0, 0, R(VRFY_SYNTAX), C(VRFY), NULL, NULL },
	{ "EXPN staff", 0, 0, R(OK), C(EXPN), NULL, NULL },
	{ "EXPN", 0, 0, R(OK), C(EXPN), NULL, NULL },
	{ "HELP", 0, 0, R(OK), C(HELP), NULL, NULL },
	{ "HELP MAIL", 0, 0, R(OK), C(HELP), NULL, NULL },
	{ "STARTTLS", 0, 0, R(OK), C(STARTTLS), NULL, NULL },
	{ "starttls", 0, 0, R(OK), C(STARTTLS), NULL, NULL },
	{ "STARTTLS x", 0, 0, R(NOARG_SYNTAX), C(STARTTLS), NULL, NULL },
	{ "BDAT 99999999999 LAST", 0, 0, R(OK), C(BDAT), NULL, NULL },
	{ "AUTH PLAIN AGFiYwBk", 0, 0, R(OK), C(AUTH), NULL, NULL },
	{ "XCLIENT ADDR=198.18.0.1", 0, 0, R(OK), C(XCLIENT), NULL, NULL },
	{ "ETRN example.com", 0, 0, R(OK), C(ETRN), NULL, NULL },
	{ "FOO", 0, 0, R(UNKNOWN_CMD), C(UNKNOWN), NULL, NULL },
	{ "", 0, 0, R(UNKNOWN_CMD), C(UNKNOWN), NULL, NULL },
	{ "   ", 0, 0, R(UNKNOWN_CMD), C(UNKNOWN), NULL, NULL },
	{ "MAILFROM:<a@b.c>", 0, 0, R(UNKNOWN_CMD), C(UNKNOWN), NULL, NULL },
	{ "HELOX a", 0, 0, R(UNKNOWN_CMD), C(UNKNOWN), NULL, NULL },
	{ "HEL", 0, 0, R(UNKNOWN_CMD), C(UNKNOWN), NULL, NULL },
	{ " HELO a", 0, 0, R(UNKNOWN_CMD), C(UNKNOWN), NULL, NULL },
	{ "HELO\ta", 0, 0, R(UNKNOWN_CMD), C(UNKNOWN), NULL, NULL },
	{ "H\xc3\x89LO a", 0, 0, R(UNKNOWN_CMD), C(UNKNOWN), NULL, NULL },
	/* NUL anywhere; the verb is still known */
	{ "HELO a\0b", 8, 0, R(NUL_IN_CMD), C(HELO), NULL, NULL },
	{ "\0", 1, 0, R(NUL_IN_CMD), C(UNKNOWN), NULL, NULL },
	{ "MAIL FROM:<a@b.c>\0", 18, O_ALL, R(NUL_IN_CMD), C(MAIL), NULL, NULL },
	{ "QUIT\0", 5, 0, R(NUL_IN_CMD), C(QUIT), NULL, NULL },
	{ "DATA\0 ", 6, 0, R(NUL_IN_CMD), C(DATA), NULL, NULL },

	/* MAIL: keyword and forms */
	{ "MAIL FROM:<>", 0, 0, R(MAIL_OK), C(MAIL), "", "" },
	{ "MAIL FROM: <a@b.c>", 0, 0, R(MAIL_OK), C(MAIL), "a@b.c", "b.c" },
	{ "MAIL FROM:   <a@b.c>", 0, 0, R(MAIL_OK), C(MAIL), "a@b.c", "b.c" },
	{ "mail from:<A.B@Example.COM>", 0, 0, R(MAIL_OK), C(MAIL), "A.B@Example.COM", "example.com" },
	{ "MAIL FROM:a@b.c", 0, 0, R(MAIL_OK), C(MAIL), "a@b.c", "b.c" },
	{ "MAIL FROM:a@b.c SIZE=10", 0, 0, R(MAIL_OK), C(MAIL), "a@b.c", "b.c" },
	{ "MAIL FROM:<foo..bar@docomo.ne.jp>", 0, 0, R(MAIL_OK), C(MAIL), "foo..bar@docomo.ne.jp", NULL },
	{ "MAIL FROM:<a+tag=x/y{z}~!#$%&'*^_`|?-@b.c>", 0, 0, R(MAIL_OK), C(MAIL), NULL, "b.c" },
	{ "MAIL FROM:<a@sub-domain.example-1.com>", 0, 0, R(MAIL_OK), C(MAIL), NULL, "sub-domain.example-1.com" },
	{ "MAIL FROM:<a@localhost>", 0, 0, R(MAIL_OK), C(MAIL), NULL, "localhost" },
	{ "MAIL <a@b.c>", 0, 0, R(MAIL_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL", 0, 0, R(MAIL_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:", 0, 0, R(MAIL_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:   ", 0, 0, R(MAIL_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL TO:<a@b.c>", 0, 0, R(MAIL_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM <a@b.c>", 0, 0, R(MAIL_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FRO:<a@b.c>", 0, 0, R(MAIL_SYNTAX), C(MAIL), NULL, NULL },
	/* MAIL: bad paths */
	{ "MAIL FROM:<a@b.c", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<@b.c>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<postmaster>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@@b.c>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@-b.com>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b-.com>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b..com>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@.b.com>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.com.>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b_c.com>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a b@c.d>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a(b)@c.d>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a,b@c.d>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c>junk", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c>>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<<a@b.c>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c >", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:a@b.c>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b\tc>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a\x01@b.c>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<>junk", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	/* quoted local parts: the quotes are kept */
	{ "MAIL FROM:<\"john doe\"@example.com>", 0, 0, R(MAIL_OK), C(MAIL), "\"john doe\"@example.com", "example.com" },
	{ "MAIL FROM:<\"a\\\"b\"@c.d>", 0, 0, R(MAIL_OK), C(MAIL), "\"a\\\"b\"@c.d", "c.d" },
	{ "MAIL FROM:<\"a\\\\\"@c.d>", 0, 0, R(MAIL_OK), C(MAIL), "\"a\\\\\"@c.d", NULL },
	{ "MAIL FROM:<\"a>b@c\"@c.d>", 0, 0, R(MAIL_OK), C(MAIL), "\"a>b@c\"@c.d", NULL },
	{ "MAIL FROM:<\"\"@c.d>", 0, 0, R(MAIL_OK), C(MAIL), "\"\"@c.d", NULL },
	{ "MAIL FROM:<\"abc@c.d>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<\"a\x01\"@c.d>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<\"a\\\x01\"@c.d>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<\"a\"b@c.d>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<\"a\\", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:\"a b\"@c.d", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	/* source routes: checked, then dropped */
	{ "MAIL FROM:<@a.com,@b.com:user@c.com>", 0, 0, R(MAIL_OK), C(MAIL), "user@c.com", "c.com" },
	{ "RCPT TO:<@a.com:user@c.com>", 0, 0, R(RCPT_OK), C(RCPT), "user@c.com", "c.com" },
	{ "RCPT TO:<@[1.2.3.4]:user@c.com>", 0, 0, R(RCPT_OK), C(RCPT), "user@c.com", NULL },
	{ "MAIL FROM:<@a.com,b.com:u@c.com>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<@a.com>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<@a.com:>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<@-a.com:u@c.com>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<@a.com,:u@c.com>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<@:u@c.com>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "RCPT TO:<@a.com;u@c.com>", 0, 0, R(BAD_RCPT), C(RCPT), NULL, NULL },
	/* address literals */
	{ "MAIL FROM:<u@[198.18.0.1]>", 0, 0, R(MAIL_OK), C(MAIL), "u@[198.18.0.1]", "[198.18.0.1]" },
	{ "MAIL FROM:<u@[IPv6:2001:2::1]>", 0, 0, R(MAIL_OK), C(MAIL), NULL, "[IPv6:2001:2::1]" },
	{ "MAIL FROM:<u@[ipv6:::1]>", 0, 0, R(MAIL_OK), C(MAIL), NULL, "[ipv6:::1]" },
	{ "MAIL FROM:<u@[IPv6:::ffff:198.18.0.1]>", 0, 0, R(MAIL_OK), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<u@[x-tag:some.text]>", 0, 0, R(MAIL_OK), C(MAIL), NULL, "[x-tag:some.text]" },
	{ "MAIL FROM:<u@[198.18.0.256]>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<u@[198.18.0]>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<u@[IPv6:2001:2::g]>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<u@[IPv6:198.18.0.1]>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<u@[2001:2::1]>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<u@[1tag:x]>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<u@[-tag:x]>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<u@[tag:]>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<u@[tag:a>b]>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<u@[tag:a\\b]>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<u@[198.18.0.1>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<u@[]>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<u@[198.18.0.1]x>", 0, 0, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "RCPT TO:<u@[1.2.3.4.5]>", 0, 0, R(BAD_RCPT), C(RCPT), NULL, NULL },

	/* RCPT */
	{ "RCPT TO:<>", 0, 0, R(NULL_RCPT), C(RCPT), NULL, NULL },
	{ "RCPT TO:<postmaster>", 0, 0, R(RCPT_OK), C(RCPT), "postmaster", "" },
	{ "rcpt to:<PostMaster>", 0, 0, R(RCPT_OK), C(RCPT), "PostMaster", "" },
	{ "RCPT TO:postmaster", 0, 0, R(RCPT_OK), C(RCPT), "postmaster", "" },
	{ "RCPT TO:<Postmaster@Example.NET>", 0, 0, R(RCPT_OK), C(RCPT), "Postmaster@Example.NET", "example.net" },
	{ "RCPT TO:<\"postmaster\">", 0, 0, R(BAD_RCPT), C(RCPT), NULL, NULL },
	{ "RCPT TO:<@a.com:postmaster>", 0, 0, R(BAD_RCPT), C(RCPT), NULL, NULL },
	{ "RCPT TO:<postmistress>", 0, 0, R(BAD_RCPT), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c", 0, 0, R(BAD_RCPT), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b..c>", 0, 0, R(BAD_RCPT), C(RCPT), NULL, NULL },
	{ "RCPT TO: <a@b.c>", 0, 0, R(RCPT_OK), C(RCPT), "a@b.c", NULL },
	{ "RCPT TO:a@b.c", 0, 0, R(RCPT_OK), C(RCPT), "a@b.c", NULL },
	{ "RCPT <a@b.c>", 0, 0, R(RCPT_SYNTAX), C(RCPT), NULL, NULL },
	{ "RCPT", 0, 0, R(RCPT_SYNTAX), C(RCPT), NULL, NULL },
	{ "RCPT TO:", 0, 0, R(RCPT_SYNTAX), C(RCPT), NULL, NULL },
	{ "RCPT FROM:<a@b.c>", 0, 0, R(RCPT_SYNTAX), C(RCPT), NULL, NULL },
	{ "RCPT TO :<a@b.c>", 0, 0, R(RCPT_SYNTAX), C(RCPT), NULL, NULL },

	/* 8-bit: SMTPUTF8 needed (offered, and on this MAIL) */
	{ "MAIL FROM:<j\xc3\xb6rg@example.com>", 0, 0, R(NEED_SMTPUTF8), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<j\xc3\xb6rg@example.com>", 0, O_ALL, R(NEED_SMTPUTF8), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<j\xc3\xb6rg@example.com> SMTPUTF8", 0, O_ALL, R(MAIL_OK), C(MAIL), "j\xc3\xb6rg@example.com", "example.com" },
	{ "MAIL FROM:<j\xc3\xb6rg@example.com> SMTPUTF8", 0, O_D | O_8, R(PARAM_UNKNOWN), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@B\xc3\x9c" "CHER.DE> SMTPUTF8", 0, O_ALL, R(MAIL_OK), C(MAIL), NULL, "b\xc3\x9c" "cher.de" },
	{ "MAIL FROM:<\"\xe2\x82\xac uro\"@x.de> SMTPUTF8", 0, O_ALL, R(MAIL_OK), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<j\xff@example.com> SMTPUTF8", 0, O_ALL, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<j\xc0\xaf@example.com> SMTPUTF8", 0, O_ALL, R(BAD_SENDER), C(MAIL), NULL, NULL },     /* overlong */
	{ "MAIL FROM:<j\xe0\x80\xaf@example.com> SMTPUTF8", 0, O_ALL, R(BAD_SENDER), C(MAIL), NULL, NULL }, /* overlong */
	{ "MAIL FROM:<j\xf0\x80\x80\xaf@example.com> SMTPUTF8", 0, O_ALL, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<j\xf0\x9f\x98\x80@example.com> SMTPUTF8", 0, O_ALL, R(MAIL_OK), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<j\xed\xa0\x80@example.com> SMTPUTF8", 0, O_ALL, R(BAD_SENDER), C(MAIL), NULL, NULL }, /* surrogate */
	{ "MAIL FROM:<j\xf4\x90\x80\x80@example.com> SMTPUTF8", 0, O_ALL, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<j\xc3@example.com> SMTPUTF8", 0, O_ALL, R(BAD_SENDER), C(MAIL), NULL, NULL },       /* truncated */
	{ "MAIL FROM:<j\x80@example.com> SMTPUTF8", 0, O_ALL, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<u@[\xc3\xb6:x]> SMTPUTF8", 0, O_ALL, R(BAD_SENDER), C(MAIL), NULL, NULL },
	{ "RCPT TO:<j\xc3\xb6rg@example.com>", 0, O_ALL, R(NEED_SMTPUTF8), C(RCPT), NULL, NULL },
	{ "RCPT TO:<j\xc3\xb6rg@example.com>", 0, O_ALL | O_R, R(RCPT_OK), C(RCPT), "j\xc3\xb6rg@example.com", NULL },
	{ "RCPT TO:<a@\xc3\xa9t\xc3\xa9.fr>", 0, O_ALL | O_R, R(RCPT_OK), C(RCPT), NULL, "\xc3\xa9t\xc3\xa9.fr" },
	{ "RCPT TO:<a@\xc3\xa9t\xc3\xa9.fr>", 0, 0, R(NEED_SMTPUTF8), C(RCPT), NULL, NULL },
	{ "RCPT TO:<j\xfe@example.com>", 0, O_ALL | O_R, R(BAD_RCPT), C(RCPT), NULL, NULL },

	/* MAIL parameters */
	{ "MAIL FROM:<a@b.c> SIZE=100", 0, O_ALL, R(MAIL_OK), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> size=100", 0, O_ALL, R(MAIL_OK), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> SIZE=1000", 0, O_ALL | O_L, R(MAIL_OK), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> SIZE=1001", 0, O_ALL | O_L, R(SIZE_EXCEEDED), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> SIZE=99999999999999999999", 0, O_ALL | O_L, R(SIZE_EXCEEDED), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> SIZE=99999999999999999999", 0, O_ALL, R(MAIL_OK), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> SIZE=", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> SIZE", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> SIZE=12a", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> SIZE=-1", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> SIZE=1=2", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> SIZE=1 SIZE=2", 0, O_ALL, R(PARAM_DUPLICATE), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> SIZE=1 size=1", 0, O_ALL, R(PARAM_DUPLICATE), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> SIZE=1001 SIZE=x", 0, O_ALL | O_L, R(PARAM_DUPLICATE), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> BODY=7BIT", 0, O_ALL, R(MAIL_OK), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> BODY=8BITMIME", 0, O_ALL, R(MAIL_OK), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> body=8bitmime", 0, O_ALL, R(MAIL_OK), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> BODY=BINARYMIME", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> BODY=9BIT", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> BODY", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> BODY=8BITMIME", 0, O_U | O_D, R(PARAM_UNKNOWN), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> BODY=7BIT BODY=8BITMIME", 0, O_ALL, R(PARAM_DUPLICATE), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> SMTPUTF8", 0, O_ALL, R(MAIL_OK), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> SMTPUTF8=yes", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> SMTPUTF8", 0, O_D | O_8, R(PARAM_UNKNOWN), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> SMTPUTF8 smtputf8", 0, O_ALL, R(PARAM_DUPLICATE), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> RET=FULL", 0, O_ALL, R(MAIL_OK), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> RET=hdrs", 0, O_ALL, R(MAIL_OK), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> RET=ALL", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> RET", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> RET=FULL", 0, O_U | O_8, R(PARAM_UNKNOWN), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> RET=FULL RET=HDRS", 0, O_ALL, R(PARAM_DUPLICATE), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> ENVID=QQ314159+2B", 0, O_ALL, R(MAIL_OK), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> ENVID=a+2b", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> ENVID=a+2", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> ENVID=a+", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> ENVID=", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> ENVID=x", 0, O_U | O_8, R(PARAM_UNKNOWN), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> ENVID=x ENVID=y", 0, O_ALL, R(PARAM_DUPLICATE), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> FOO=bar", 0, O_ALL, R(PARAM_UNKNOWN), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> AUTH=<>", 0, O_ALL, R(PARAM_UNKNOWN), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> NOTIFY=NEVER", 0, O_ALL, R(PARAM_UNKNOWN), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> =x", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> -X=1", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> SIZE=1\tBODY=7BIT", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> ENVID=\xc3\xa9", 0, O_ALL, R(PARAM_SYNTAX), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c>  SIZE=1   BODY=7BIT  ", 0, O_ALL, R(MAIL_OK), C(MAIL), NULL, NULL },
	{ "MAIL FROM:<a@b.c> SIZE=1 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=x", 0, O_ALL, R(MAIL_OK), C(MAIL), NULL, NULL },

	/* RCPT parameters */
	{ "RCPT TO:<a@b.c> NOTIFY=NEVER", 0, O_ALL, R(RCPT_OK), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> NOTIFY=SUCCESS,FAILURE,DELAY", 0, O_ALL, R(RCPT_OK), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> notify=delay", 0, O_ALL, R(RCPT_OK), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> NOTIFY=NEVER,SUCCESS", 0, O_ALL, R(PARAM_SYNTAX), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> NOTIFY=SUCCESS,NEVER", 0, O_ALL, R(PARAM_SYNTAX), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> NOTIFY=SUCCESS,", 0, O_ALL, R(PARAM_SYNTAX), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> NOTIFY=,SUCCESS", 0, O_ALL, R(PARAM_SYNTAX), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> NOTIFY=", 0, O_ALL, R(PARAM_SYNTAX), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> NOTIFY", 0, O_ALL, R(PARAM_SYNTAX), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> NOTIFY=BOGUS", 0, O_ALL, R(PARAM_SYNTAX), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> NOTIFY=NEVER", 0, O_U | O_8, R(PARAM_UNKNOWN), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> NOTIFY=NEVER NOTIFY=DELAY", 0, O_ALL, R(PARAM_DUPLICATE), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> ORCPT=rfc822;a@b.c", 0, O_ALL, R(RCPT_OK), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> ORCPT=rfc822;a+2Bb@b.c", 0, O_ALL, R(RCPT_OK), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> ORCPT=rfc822", 0, O_ALL, R(PARAM_SYNTAX), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> ORCPT=;a@b.c", 0, O_ALL, R(PARAM_SYNTAX), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> ORCPT=rfc822;", 0, O_ALL, R(PARAM_SYNTAX), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> ORCPT=rfc822;a+ZZ", 0, O_ALL, R(PARAM_SYNTAX), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> ORCPT=rf(c;a", 0, O_ALL, R(PARAM_SYNTAX), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> ORCPT=rfc822;a@b.c", 0, O_U | O_8, R(PARAM_UNKNOWN), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> ORCPT=rfc822;a ORCPT=rfc822;b", 0, O_ALL, R(PARAM_DUPLICATE), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> SIZE=1", 0, O_ALL, R(PARAM_UNKNOWN), C(RCPT), NULL, NULL },
	{ "RCPT TO:<a@b.c> NOTIFY=FAILURE ORCPT=rfc822;a@b.c", 0, O_ALL, R(RCPT_OK), C(RCPT), NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

static void test_table(void)
{
	for (const struct parse_case *t = cases; t->line != NULL; t++) {
		size_t len = t->len ? t->len : strlen(t->line);
		bool want_ok = t->reply == R(OK) || t->reply == R(MAIL_OK) || t->reply == R(RCPT_OK);
		struct parsed p;
		bool ok;

		parse(t->line, len, t->opts, &p);
		ok = p.rc == (want_ok ? SL_OK : SL_DECLINED) && p.reply == t->reply &&
		     p.cmd.verb == t->verb && p.ptrs_ok;
		if (want_ok && t->addr != NULL)
			ok &= strcmp(p.cmd.path.addr, t->addr) == 0;
		if (want_ok && t->domain != NULL)
			ok &= strcmp(p.cmd.path.domain, t->domain) == 0;
		if (!ok)
			fprintf(stderr, "\n  line \"%.*s\" opts %#x: rc %d reply %d (want %d) verb %d "
				"addr \"%s\" domain \"%s\" ptrs %d", (int)len, t->line, t->opts,
				p.rc, p.reply, t->reply, p.cmd.verb, p.cmd.path.addr,
				p.cmd.path.domain, p.ptrs_ok);
		CU_ASSERT_TRUE(ok);
	}
}

/* Every reply the parser can give appears in the table at least once
 * (ADDR_TOO_LONG needs long lines: test_limits has it). */
static void test_table_covers_replies(void)
{
	static const enum smtp_reply_id need[] = {
		R(OK), R(MAIL_OK), R(RCPT_OK), R(UNKNOWN_CMD), R(NUL_IN_CMD), R(HELO_SYNTAX),
		R(EHLO_SYNTAX), R(BAD_HELO), R(MAIL_SYNTAX), R(RCPT_SYNTAX), R(NOARG_SYNTAX),
		R(VRFY_SYNTAX), R(BAD_SENDER), R(BAD_RCPT), R(NULL_RCPT),
		R(NEED_SMTPUTF8), R(PARAM_UNKNOWN), R(PARAM_SYNTAX), R(PARAM_DUPLICATE),
		R(SIZE_EXCEEDED),
	};

	for (size_t k = 0; k < SL_ARRAY_SIZE(need); k++) {
		bool found = false;

		for (const struct parse_case *t = cases; t->line != NULL && !found; t++)
			found = t->reply == need[k];
		if (!found)
			fprintf(stderr, "\n  reply %d not in the table", need[k]);
		CU_ASSERT_TRUE(found);
	}
	/* and every verb */
	for (int v = SMTP_CMD_HELO; v < SMTP_CMD_COUNT; v++) {
		bool found = false;

		for (const struct parse_case *t = cases; t->line != NULL && !found; t++)
			found = (int)t->verb == v && t->reply != R(NUL_IN_CMD);
		CU_ASSERT_TRUE(found);
	}
}

/* ---- what the command carries ---- */

static void test_fields(void)
{
	struct parsed p;

	parse_s("EHLO   mx.example.com  ", 0, &p);
	CU_ASSERT_EQUAL(p.rc, SL_OK);
	CU_ASSERT_STRING_EQUAL(p.arg, "mx.example.com");
	CU_ASSERT_TRUE(p.ptrs_ok);

	parse_s("QUIT", 0, &p);
	CU_ASSERT_EQUAL(p.cmd.arg_len, 0);
	CU_ASSERT_STRING_EQUAL(p.arg, "");
	CU_ASSERT_TRUE(p.ptrs_ok);

	parse_s("BDAT 100 LAST", 0, &p);
	CU_ASSERT_STRING_EQUAL(p.arg, "100 LAST");

	parse_s("MAIL FROM:<a@b.c> SIZE=100 BODY=8BITMIME", O_ALL, &p);
	CU_ASSERT_EQUAL(p.rc, SL_OK);
	CU_ASSERT_STRING_EQUAL(p.params, " SIZE=100 BODY=8BITMIME");
	CU_ASSERT_TRUE(p.cmd.mail.has_size);
	CU_ASSERT_EQUAL(p.cmd.mail.size, 100);
	CU_ASSERT_EQUAL(p.cmd.mail.body, SMTP_BODY_8BITMIME);
	CU_ASSERT_FALSE(p.cmd.mail.smtputf8);
	CU_ASSERT_TRUE(p.ptrs_ok);

	parse_s("MAIL FROM:<a@b.c>", O_ALL, &p);
	CU_ASSERT_EQUAL(p.cmd.params_len, 0);
	CU_ASSERT_STRING_EQUAL(p.params, "");
	CU_ASSERT_FALSE(p.cmd.mail.has_size);
	CU_ASSERT_EQUAL(p.cmd.mail.body, SMTP_BODY_NONE);
	CU_ASSERT_FALSE(p.cmd.path.null);
	CU_ASSERT_TRUE(p.ptrs_ok);

	parse_s("MAIL FROM:<> SIZE=99999999999999999999", O_ALL, &p);
	CU_ASSERT_EQUAL(p.rc, SL_OK);
	CU_ASSERT_TRUE(p.cmd.path.null);
	CU_ASSERT_STRING_EQUAL(p.cmd.path.addr, "");
	CU_ASSERT_EQUAL(p.cmd.mail.size, UINT64_MAX);   /* saturated */

	parse_s("MAIL FROM:<a@b.c> SIZE=18446744073709551615", O_ALL, &p);
	CU_ASSERT_EQUAL(p.cmd.mail.size, UINT64_MAX);
	parse_s("MAIL FROM:<a@b.c> SIZE=18446744073709551614", O_ALL, &p);
	CU_ASSERT_EQUAL(p.cmd.mail.size, UINT64_MAX - 1);

	parse_s("MAIL FROM:<a@b.c> BODY=7BIT SMTPUTF8 RET=HDRS ENVID=QQ+2B1", O_ALL, &p);
	CU_ASSERT_EQUAL(p.rc, SL_OK);
	CU_ASSERT_EQUAL(p.cmd.mail.body, SMTP_BODY_7BIT);
	CU_ASSERT_TRUE(p.cmd.mail.smtputf8);
	CU_ASSERT_EQUAL(p.cmd.mail.ret, SMTP_RET_HDRS);
	CU_ASSERT_STRING_EQUAL(p.cmd.mail.envid, "QQ+2B1");
	CU_ASSERT_FALSE(p.cmd.path.non_ascii);

	parse_s("MAIL FROM:<j\xc3\xb6@x.de> SMTPUTF8", O_ALL, &p);
	CU_ASSERT_EQUAL(p.rc, SL_OK);
	CU_ASSERT_TRUE(p.cmd.path.non_ascii);
	CU_ASSERT_STRING_EQUAL(p.params, " SMTPUTF8");

	parse_s("MAIL FROM:a@b.c SIZE=1", O_ALL, &p);
	CU_ASSERT_STRING_EQUAL(p.params, " SIZE=1");
	CU_ASSERT_TRUE(p.ptrs_ok);

	parse_s("RCPT TO:<a@b.c> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+2Bb@b.c", O_ALL, &p);
	CU_ASSERT_EQUAL(p.rc, SL_OK);
	CU_ASSERT_EQUAL(p.cmd.rcpt.notify, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY);
	CU_ASSERT_STRING_EQUAL(p.cmd.rcpt.orcpt, "rfc822;a+2Bb@b.c");
	CU_ASSERT_STRING_EQUAL(p.params, " NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+2Bb@b.c");

	parse_s("RCPT TO:<a@b.c> NOTIFY=never", O_ALL, &p);
	CU_ASSERT_EQUAL(p.cmd.rcpt.notify, SMTP_NOTIFY_NEVER);

	/* a command does not inherit anything from the previous one */
	parse_s("RCPT TO:<a@b.c>", O_ALL, &p);
	CU_ASSERT_EQUAL(p.cmd.rcpt.notify, 0);
	CU_ASSERT_STRING_EQUAL(p.cmd.rcpt.orcpt, "");
}

/* The same cmd reused: stale fields from an earlier command are cleared. */
static void test_reuse(void)
{
	struct smtp_parse_opts opts = make_opts(O_ALL);
	struct smtp_cmd cmd;
	enum smtp_reply_id r;
	char l1[] = "MAIL FROM:<a@b.c> SIZE=5 ENVID=x\r";
	char l2[] = "NOOP\r";

	CU_ASSERT_EQUAL(smtp_parse_command(l1, sizeof(l1) - 2, &opts, &cmd, &r), SL_OK);
	CU_ASSERT_EQUAL(smtp_parse_command(l2, sizeof(l2) - 2, &opts, &cmd, &r), SL_OK);
	CU_ASSERT_EQUAL(cmd.verb, SMTP_CMD_NOOP);
	CU_ASSERT_FALSE(cmd.mail.has_size);
	CU_ASSERT_STRING_EQUAL(cmd.mail.envid, "");
	CU_ASSERT_STRING_EQUAL(cmd.path.addr, "");
	CU_ASSERT_EQUAL(r, SMTP_R_OK);
}

/* ---- RFC 5321 4.5.3.1 limits, at the limit and one over ---- */

static void make_str(char *out, char ch, size_t n)
{
	memset(out, ch, n);
	out[n] = '\0';
}

/* A domain of exactly n bytes: 63-byte labels and a shorter last one. */
static void make_domain(char *out, size_t n)
{
	size_t o = 0;

	while (n - o > 64) {
		memset(out + o, 'd', 63);
		out[o + 63] = '.';
		o += 64;
	}
	memset(out + o, 'e', n - o);
	out[n] = '\0';
}

static void try_path(const char *verb, const char *local, const char *domain, unsigned o,
		     enum smtp_reply_id want)
{
	char line[1200];
	struct parsed p;
	int n = snprintf(line, sizeof(line), "%s<%s@%s>", verb, local, domain);

	parse(line, (size_t)n, o, &p);
	if (p.reply != want)
		fprintf(stderr, "\n  %d-byte line: reply %d want %d", n, p.reply, want);
	CU_ASSERT_EQUAL(p.reply, want);
	CU_ASSERT_TRUE(p.ptrs_ok);
	if (p.rc == SL_OK) {
		CU_ASSERT_EQUAL(strlen(p.cmd.path.addr), strlen(local) + 1 + strlen(domain));
		CU_ASSERT_STRING_EQUAL(p.cmd.path.domain, domain);
	}
}

static void test_limits(void)
{
	char local[80], domain[300];

	/* local part 64 / 65 */
	make_str(local, 'l', 64);
	try_path("MAIL FROM:", local, "b.c", 0, R(MAIL_OK));
	try_path("RCPT TO:", local, "b.c", 0, R(RCPT_OK));
	make_str(local, 'l', 65);
	try_path("MAIL FROM:", local, "b.c", 0, R(BAD_SENDER));
	try_path("RCPT TO:", local, "b.c", 0, R(ADDR_TOO_LONG));
	/* quoted local part: the quotes count */
	make_str(local, 'q', 64);
	local[0] = local[63] = '"';
	try_path("RCPT TO:", local, "b.c", 0, R(RCPT_OK));
	make_str(local, 'q', 65);
	local[0] = local[64] = '"';
	try_path("RCPT TO:", local, "b.c", 0, R(ADDR_TOO_LONG));

	/* whole path 256 / 257: "<" + 1 + "@" + domain + ">" */
	make_domain(domain, 256 - 4);
	try_path("MAIL FROM:", "a", domain, 0, R(MAIL_OK));
	try_path("RCPT TO:", "a", domain, 0, R(RCPT_OK));
	make_domain(domain, 257 - 4);
	try_path("MAIL FROM:", "a", domain, 0, R(BAD_SENDER));
	try_path("RCPT TO:", "a", domain, 0, R(ADDR_TOO_LONG));
	make_str(local, 'l', 64);
	make_domain(domain, 256 - 67);
	try_path("RCPT TO:", local, domain, 0, R(RCPT_OK));
	make_domain(domain, 257 - 67);
	try_path("RCPT TO:", local, domain, 0, R(ADDR_TOO_LONG));

	/* a source route counts in the path, and is dropped from addr */
	{
		char line[600], lp[80];
		struct parsed p;
		int n;

		make_str(lp, 'l', 64);
		make_domain(domain, 256 - 2 - 64 - 1 - 1 - 4);   /* "<@r.c:" + lp@dom + ">" */
		n = snprintf(line, sizeof(line), "RCPT TO:<@r.c:%s@%s>", lp, domain);
		CU_ASSERT_EQUAL(n - 8, 256);
		parse(line, (size_t)n, 0, &p);
		CU_ASSERT_EQUAL(p.reply, R(RCPT_OK));
		n = snprintf(line, sizeof(line), "RCPT TO:<@rr.c:%s@%s>", lp, domain);
		parse(line, (size_t)n, 0, &p);
		CU_ASSERT_EQUAL(p.reply, R(ADDR_TOO_LONG));
	}

	/* unbracketed paths are measured as if they had their brackets */
	{
		char line[600];
		struct parsed p;
		int n;

		make_domain(domain, 256 - 4);
		n = snprintf(line, sizeof(line), "RCPT TO:a@%s", domain);
		parse(line, (size_t)n, 0, &p);
		CU_ASSERT_EQUAL(p.reply, R(RCPT_OK));
		make_domain(domain, 257 - 4);
		n = snprintf(line, sizeof(line), "RCPT TO:a@%s", domain);
		parse(line, (size_t)n, 0, &p);
		CU_ASSERT_EQUAL(p.reply, R(ADDR_TOO_LONG));
	}

	/* a 10 KB path is refused, not copied */
	{
		char *line = malloc(10050);
		struct parsed p;
		int n = snprintf(line, 10050, "MAIL FROM:<");

		memset(line + n, 'a', 10000);
		n += 10000;
		n += snprintf(line + n, 10050 - (size_t)n, "@b.c>");
		parse(line, (size_t)n, 0, &p);
		CU_ASSERT_EQUAL(p.reply, R(BAD_SENDER));
		free(line);
	}

	/* ENVID 100 / 101 */
	{
		char line[200], v[120];
		struct parsed p;
		int n;

		make_str(v, 'e', 100);
		n = snprintf(line, sizeof(line), "MAIL FROM:<a@b.c> ENVID=%s", v);
		parse(line, (size_t)n, O_ALL, &p);
		CU_ASSERT_EQUAL(p.reply, R(MAIL_OK));
		CU_ASSERT_EQUAL(strlen(p.cmd.mail.envid), 100);
		make_str(v, 'e', 101);
		n = snprintf(line, sizeof(line), "MAIL FROM:<a@b.c> ENVID=%s", v);
		parse(line, (size_t)n, O_ALL, &p);
		CU_ASSERT_EQUAL(p.reply, R(PARAM_SYNTAX));
	}

	/* ORCPT 500 / 501 */
	{
		char line[700], v[520];
		struct parsed p;
		int n;

		make_str(v, 'o', 500);
		memcpy(v, "rfc822;", 7);
		n = snprintf(line, sizeof(line), "RCPT TO:<a@b.c> ORCPT=%s", v);
		parse(line, (size_t)n, O_ALL, &p);
		CU_ASSERT_EQUAL(p.reply, R(RCPT_OK));
		CU_ASSERT_EQUAL(strlen(p.cmd.rcpt.orcpt), 500);
		make_str(v, 'o', 501);
		memcpy(v, "rfc822;", 7);
		n = snprintf(line, sizeof(line), "RCPT TO:<a@b.c> ORCPT=%s", v);
		parse(line, (size_t)n, O_ALL, &p);
		CU_ASSERT_EQUAL(p.reply, R(PARAM_SYNTAX));
	}
}

/* ---- the helpers ---- */

static void test_domain_valid(void)
{
	char d[300];

	make_domain(d, 255);
	CU_ASSERT_TRUE(smtp_domain_valid(d, 255, false));
	make_domain(d, 256);
	CU_ASSERT_FALSE(smtp_domain_valid(d, 256, false));
	make_str(d, 'x', 63);
	CU_ASSERT_TRUE(smtp_domain_valid(d, 63, false));
	make_str(d, 'x', 64);
	CU_ASSERT_FALSE(smtp_domain_valid(d, 64, false));

	CU_ASSERT_TRUE(smtp_domain_valid("a", 1, false));
	CU_ASSERT_TRUE(smtp_domain_valid("a-b.c-d", 7, false));
	CU_ASSERT_TRUE(smtp_domain_valid("1.2.3.4", 7, false));
	CU_ASSERT_FALSE(smtp_domain_valid("", 0, false));
	CU_ASSERT_FALSE(smtp_domain_valid(".", 1, false));
	CU_ASSERT_FALSE(smtp_domain_valid("a.", 2, false));
	CU_ASSERT_FALSE(smtp_domain_valid("-a", 2, false));
	CU_ASSERT_FALSE(smtp_domain_valid("a-", 2, false));
	CU_ASSERT_FALSE(smtp_domain_valid("a..b", 4, false));
	CU_ASSERT_FALSE(smtp_domain_valid("a b", 3, false));
	CU_ASSERT_FALSE(smtp_domain_valid("a\0b", 3, false));
	CU_ASSERT_TRUE(smtp_domain_valid("\xc3\xa9t\xc3\xa9.fr", 8, true));
	CU_ASSERT_FALSE(smtp_domain_valid("\xc3\xa9t\xc3\xa9.fr", 8, false));
	CU_ASSERT_FALSE(smtp_domain_valid("\xc3.fr", 4, true));
	CU_ASSERT_TRUE(smtp_domain_valid("[1.2.3.4]", 9, false));
	CU_ASSERT_TRUE(smtp_domain_valid("[IPv6:::1]", 10, false));
	CU_ASSERT_TRUE(smtp_domain_valid("[tag:x]", 7, false));
	CU_ASSERT_FALSE(smtp_domain_valid("[1.2.3.4", 8, false));
	CU_ASSERT_FALSE(smtp_domain_valid("[IPv6:1::2::3]", 14, false));
	CU_ASSERT_FALSE(smtp_domain_valid("[IPv6:", 6, false));
	CU_ASSERT_FALSE(smtp_domain_valid("[", 1, false));
	CU_ASSERT_FALSE(smtp_domain_valid("[]", 2, false));
	/* the length check does not read the string */
	CU_ASSERT_TRUE(smtp_domain_valid("a.bXXX", 3, false));
}

static void test_helo_name(void)
{
	char d[300];

	CU_ASSERT_TRUE(smtp_helo_name_valid("mx.example.com", 14, false));
	CU_ASSERT_TRUE(smtp_helo_name_valid("mx.example.com", 14, true));
	CU_ASSERT_TRUE(smtp_helo_name_valid("[198.18.0.1]", 12, true));
	CU_ASSERT_TRUE(smtp_helo_name_valid("[IPv6:2001:2::1]", 16, true));
	CU_ASSERT_TRUE(smtp_helo_name_valid("my_pc!", 6, false));
	CU_ASSERT_FALSE(smtp_helo_name_valid("my_pc!", 6, true));
	CU_ASSERT_FALSE(smtp_helo_name_valid("a..b", 4, true));
	CU_ASSERT_TRUE(smtp_helo_name_valid("a..b", 4, false));
	CU_ASSERT_FALSE(smtp_helo_name_valid("", 0, false));
	CU_ASSERT_FALSE(smtp_helo_name_valid("a b", 3, false));
	CU_ASSERT_FALSE(smtp_helo_name_valid("a\tb", 3, false));
	CU_ASSERT_FALSE(smtp_helo_name_valid("a\rb", 3, false));
	CU_ASSERT_FALSE(smtp_helo_name_valid("a\0b", 3, false));
	CU_ASSERT_FALSE(smtp_helo_name_valid("a\x7f", 2, false));
	make_str(d, 'h', 255);
	CU_ASSERT_TRUE(smtp_helo_name_valid(d, 255, false));
	make_str(d, 'h', 256);
	CU_ASSERT_FALSE(smtp_helo_name_valid(d, 256, false));
}

static void test_xtext(void)
{
	CU_ASSERT_TRUE(smtp_xtext_valid("", 0));
	CU_ASSERT_TRUE(smtp_xtext_valid("abc", 3));
	CU_ASSERT_TRUE(smtp_xtext_valid("a+2B+3D", 7));
	CU_ASSERT_TRUE(smtp_xtext_valid("!~;@", 4));
	CU_ASSERT_FALSE(smtp_xtext_valid("a+2b", 4));
	CU_ASSERT_FALSE(smtp_xtext_valid("a+2", 3));
	CU_ASSERT_FALSE(smtp_xtext_valid("+", 1));
	CU_ASSERT_FALSE(smtp_xtext_valid("a=b", 3));
	CU_ASSERT_FALSE(smtp_xtext_valid("a b", 3));
	CU_ASSERT_FALSE(smtp_xtext_valid("\xc3\xa9", 2));
	CU_ASSERT_FALSE(smtp_xtext_valid("a\0", 2));
	/* the length is respected */
	CU_ASSERT_TRUE(smtp_xtext_valid("ab+", 2));
}

static void test_verb_names(void)
{
	CU_ASSERT_STRING_EQUAL(smtp_verb_name(SMTP_CMD_MAIL), "MAIL");
	CU_ASSERT_STRING_EQUAL(smtp_verb_name(SMTP_CMD_STARTTLS), "STARTTLS");
	CU_ASSERT_STRING_EQUAL(smtp_verb_name(SMTP_CMD_ETRN), "ETRN");
	CU_ASSERT_STRING_EQUAL(smtp_verb_name(SMTP_CMD_UNKNOWN), "UNKNOWN");
	CU_ASSERT_STRING_EQUAL(smtp_verb_name((enum smtp_verb)999), "UNKNOWN");
	/* every name parses back to its verb */
	for (int v = SMTP_CMD_HELO; v < SMTP_CMD_COUNT; v++) {
		struct smtp_cmd cmd;
		enum smtp_reply_id r;
		char line[32];
		int n = snprintf(line, sizeof(line), "%s", smtp_verb_name((enum smtp_verb)v));

		smtp_parse_command(line, (size_t)n, NULL, &cmd, &r);
		CU_ASSERT_EQUAL(cmd.verb, v);
	}
}

void register_tests(void)
{
	static const struct test_case tests[] = {
		{ "command table", test_table },
		{ "table covers every reply and verb", test_table_covers_replies },
		{ "fields", test_fields },
		{ "cmd reuse", test_reuse },
		{ "RFC 5321 limits", test_limits },
		{ "smtp_domain_valid", test_domain_valid },
		{ "smtp_helo_name_valid", test_helo_name },
		{ "smtp_xtext_valid", test_xtext },
		{ "verb names", test_verb_names },
		{ NULL, NULL },
	};

	test_suite("smtp_parse", tests);
}
