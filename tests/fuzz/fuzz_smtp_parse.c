/* fuzz_smtp_parse.c - libFuzzer harness for the SMTP command parser: first byte = options, rest = line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static int parse_copy(const char *line, size_t len, const struct smtp_parse_opts *opts,
		      struct smtp_cmd *cmd, enum smtp_reply_id *reply, char **bufp)
{
	/* Exactly len + 1 bytes: the parser may write line[len], nothing more. */
	char *buf = malloc(len + 1);
	int rc;

	memcpy(buf, line, len);
	buf[len] = '\r';
	rc = smtp_parse_command(buf, len, opts, cmd, reply);
	*bufp = buf;
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_parse_opts opts;
	struct smtp_cmd cmd;
	enum smtp_reply_id reply = SMTP_R_COUNT;
	char *buf;
	size_t len;
	int rc;

	if (size < 1)
		return 0;
	opts.smtputf8 = data[0] & 0x01;
	opts.dsn = data[0] & 0x02;
	opts.eightbitmime = data[0] & 0x04;
	opts.utf8_allowed = data[0] & 0x08;
	opts.size_limit = (data[0] & 0x10) ? 1000 : (data[0] & 0x20) ? UINT64_MAX - 1 : 0;
	len = size - 1;

	rc = parse_copy((const char *)data + 1, len, &opts, &cmd, &reply, &buf);
	CHECK(rc == SL_OK || rc == SL_DECLINED);
	CHECK((unsigned)reply < SMTP_R_COUNT);
	CHECK((unsigned)cmd.verb < SMTP_CMD_COUNT);
	CHECK(strlen(cmd.path.addr) <= SL_PATH_MAX);
	CHECK(strlen(cmd.path.domain) <= SL_DOMAIN_MAX);
	CHECK(strlen(cmd.mail.envid) <= SMTP_XTEXT_MAX);
	CHECK(strlen(cmd.rcpt.orcpt) <= SMTP_ORCPT_MAX);
	if (rc == SL_OK) {
		CHECK(reply == SMTP_R_OK || reply == SMTP_R_MAIL_OK || reply == SMTP_R_RCPT_OK);
		CHECK(cmd.verb != SMTP_CMD_UNKNOWN);
		CHECK(cmd.arg != NULL && cmd.arg >= buf && cmd.arg + cmd.arg_len <= buf + len);
		CHECK(cmd.arg[cmd.arg_len] == '\0');
		CHECK(cmd.params != NULL && cmd.params >= buf &&
		      cmd.params + cmd.params_len <= buf + len);
	} else {
		CHECK(reply != SMTP_R_OK && reply != SMTP_R_MAIL_OK && reply != SMTP_R_RCPT_OK);
	}

	/* An accepted MAIL/RCPT keeps what was promised about its path... */
	if (rc == SL_OK && (cmd.verb == SMTP_CMD_MAIL || cmd.verb == SMTP_CMD_RCPT)) {
		bool rcpt = cmd.verb == SMTP_CMD_RCPT;
		size_t dl = strlen(cmd.path.domain);
		char line2[SL_PATH_MAX + 64];
		struct smtp_cmd cmd2;
		enum smtp_reply_id reply2;
		char *buf2;
		int n;

		CHECK(!rcpt || !cmd.path.null);
		if (cmd.path.non_ascii)
			CHECK(rcpt ? opts.utf8_allowed : (opts.smtputf8 && cmd.mail.smtputf8));
		if (!cmd.path.null && dl != 0)
			CHECK(smtp_domain_valid(cmd.path.domain, dl, true));
		if (opts.size_limit != 0 && cmd.mail.has_size)
			CHECK(cmd.mail.size <= opts.size_limit);
		if (cmd.rcpt.notify & SMTP_NOTIFY_NEVER)
			CHECK(cmd.rcpt.notify == SMTP_NOTIFY_NEVER);

		/* ...and the address we extracted, sent back in brackets,
		 * parses to the same address: what the backend gets from us
		 * means what we checked. */
		n = snprintf(line2, sizeof(line2), "%s<%s>%s", rcpt ? "RCPT TO:" : "MAIL FROM:",
			     cmd.path.addr, (cmd.mail.smtputf8 ? " SMTPUTF8" : ""));
		CHECK(n > 0 && (size_t)n < sizeof(line2));
		rc = parse_copy(line2, (size_t)n, &opts, &cmd2, &reply2, &buf2);
		CHECK(rc == SL_OK);
		CHECK(strcmp(cmd2.path.addr, cmd.path.addr) == 0);
		CHECK(strcmp(cmd2.path.domain, cmd.path.domain) == 0);
		CHECK(cmd2.path.null == cmd.path.null);
		free(buf2);
	}
	if (rc == SL_OK && (cmd.verb == SMTP_CMD_HELO || cmd.verb == SMTP_CMD_EHLO))
		CHECK(smtp_helo_name_valid(cmd.arg, cmd.arg_len, false));
	free(buf);

	/* The helpers on the raw bytes, with exact lengths (ASan checks reads). */
	{
		char *raw = malloc(len ? len : 1);

		memcpy(raw, data + 1, len);
		(void)smtp_domain_valid(raw, len, data[0] & 0x40);
		(void)smtp_helo_name_valid(raw, len, data[0] & 0x80);
		(void)smtp_xtext_valid(raw, len);
		free(raw);
	}
	return 0;
}
