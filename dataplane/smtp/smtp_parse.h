/* smtp_parse.h - SMTP command line parser (RFC 5321, 1870, 6152, 6531, 3461). */
#ifndef SMTP_PARSE_H
#define SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp_reply.h"
#include "util/sl_status.h"

enum smtp_verb {
	SMTP_CMD_UNKNOWN = 0,
	SMTP_CMD_HELO, SMTP_CMD_EHLO, SMTP_CMD_MAIL, SMTP_CMD_RCPT, SMTP_CMD_DATA,
	SMTP_CMD_RSET, SMTP_CMD_NOOP, SMTP_CMD_QUIT, SMTP_CMD_VRFY, SMTP_CMD_EXPN,
	SMTP_CMD_HELP, SMTP_CMD_STARTTLS, SMTP_CMD_BDAT, SMTP_CMD_AUTH,
	SMTP_CMD_XCLIENT, SMTP_CMD_ETRN,
	SMTP_CMD_COUNT
};

enum smtp_body { SMTP_BODY_NONE = 0, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME, SMTP_BODY_BINARYMIME };
enum smtp_ret  { SMTP_RET_NONE = 0, SMTP_RET_FULL, SMTP_RET_HDRS };

#define SMTP_NOTIFY_NEVER   0x1
#define SMTP_NOTIFY_SUCCESS 0x2
#define SMTP_NOTIFY_FAILURE 0x4
#define SMTP_NOTIFY_DELAY   0x8

#define SMTP_XTEXT_MAX 100  /* ENVID (RFC 3461 4.4) */
#define SMTP_ORCPT_MAX 500  /* ORCPT addr-type ";" xtext */

/* A mailbox from a reverse-path or forward-path. */
struct smtp_path {
	bool  null;                       /**< "<>" */
	bool  non_ascii;                  /**< has UTF-8 (needs SMTPUTF8) */
	char  addr[SL_PATH_MAX + 1];      /**< local@domain as sent, source route
	                                       stripped, quoted local part kept */
	char  domain[SL_DOMAIN_MAX + 1];  /**< lowercased; "[1.2.3.4]" literal kept */
	/* for RCPT TO:<postmaster> (no domain) addr = "postmaster", domain = "" */
};

struct smtp_mail_params {
	bool          has_size;
	uint64_t      size;               /**< SIZE=, checked against the limit */
	enum smtp_body body;              /**< BODY= */
	bool          smtputf8;           /**< SMTPUTF8 */
	enum smtp_ret ret;                /**< RET= */
	char          envid[SMTP_XTEXT_MAX + 1]; /**< ENVID=, still xtext-encoded */
};

struct smtp_rcpt_params {
	uint8_t notify;                   /**< SMTP_NOTIFY_* bits, 0 = not given */
	char    orcpt[SMTP_ORCPT_MAX + 1];/**< ORCPT= as sent ("rfc822;x@y"), xtext */
};

struct smtp_cmd {
	enum smtp_verb verb;
	const char    *arg;       /**< points into the line: text after the verb
	                               and its space(s) (HELO name, VRFY arg...),
	                               trailing blanks removed, NUL-terminated;
	                               "" when there is none */
	size_t         arg_len;
	struct smtp_path path;    /**< MAIL/RCPT */
	struct smtp_mail_params mail;
	struct smtp_rcpt_params rcpt;
	/* The parameters exactly as received after the path (" SIZE=10 BODY=8BITMIME"),
	 * so the relay can pass them through; points into the line. The leading
	 * space is included; "" (params_len 0) when there are none. */
	const char    *params;
	size_t         params_len;
};

/* What the server offers; the parser refuses parameters it did not offer. */
struct smtp_parse_opts {
	bool     smtputf8;            /**< SMTPUTF8 advertised */
	bool     dsn;                 /**< DSN advertised */
	bool     eightbitmime;        /**< 8BITMIME advertised */
	uint64_t size_limit;          /**< 0 = none */
	bool     utf8_allowed;        /**< the transaction's MAIL carried SMTPUTF8:
	                                   RCPT paths may be non-ASCII */
};

/*
 * smtp_parse_command - parse one command line (without its CRLF). The line
 * is modified in place (NUL terminators), and cmd points into it: line[len]
 * must be writable (it is where the CR was), it receives a NUL.
 * Returns SL_OK (*reply = MAIL_OK, RCPT_OK or OK), or SL_DECLINED with
 * *reply set to the reply to send:
 * 500 5.5.2 unknown verb, 501 5.5.4 syntax, 501 5.1.7 / 5.1.3 bad path,
 * 555 5.5.4 unknown parameter, 552 5.3.4 SIZE over the limit, 553 5.6.7
 * non-ASCII without SMTPUTF8... The verb is set even when the arguments are bad.
 */
int smtp_parse_command(char *line, size_t len, const struct smtp_parse_opts *opts,
		       struct smtp_cmd *cmd, enum smtp_reply_id *reply);

/* smtp_parse_helo_name - a HELO/EHLO argument: a domain or an address literal.
 * Lenient like Postfix by default (any printable non-space); strict checks RFC 5321. */
bool smtp_helo_name_valid(const char *name, size_t len, bool strict);

/* smtp_domain_valid - RFC 5321 Domain or address-literal ("[1.2.3.4]", "[IPv6:...]"). */
bool smtp_domain_valid(const char *d, size_t len, bool allow_utf8);

/* smtp_xtext_valid - RFC 3461 xtext. */
bool smtp_xtext_valid(const char *s, size_t len);

const char *smtp_verb_name(enum smtp_verb v);

#endif
