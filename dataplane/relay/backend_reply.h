/* backend_reply.h - streaming parser of SMTP replies from a backend, and the
 * EHLO capabilities they advertise. */
#ifndef BACKEND_REPLY_H
#define BACKEND_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BACKEND_REPLY_LINE_MAX 1000   /* longer lines are truncated, not fatal */
#define BACKEND_REPLY_RAW_MAX  4096   /* a reply kept for relaying; more lines are dropped */
#define BACKEND_REPLY_LINES_MAX 64    /* more lines than this: protocol error */

struct backend_reply {
	uint16_t code;            /**< 3 digits, the same on every line */
	char     status[12];      /**< enhanced status of the last line if present ("2.1.5"), else "" */
	char     text[512];       /**< text of the last line, without code and status */
	uint32_t nlines;
	/* The whole reply as lines "CODE-text\r\n"..."CODE text\r\n", each with a
	 * CR LF ending whatever the backend used, for relaying to the client. */
	char     raw[BACKEND_REPLY_RAW_MAX];
	size_t   raw_len;
};

struct backend_reply_parser {
	char     line[BACKEND_REPLY_LINE_MAX + 1];
	size_t   len;
	bool     truncating;      /**< inside an over-long line */
	bool     raw_full;        /**< raw[] dropped a middle line: keep only the last from now on */
	struct backend_reply cur; /**< reply being assembled */
};

void backend_reply_parser_init(struct backend_reply_parser *p);

/*
 * backend_reply_parse - feed bytes; stops after each complete reply.
 * Returns SL_OK with *out filled and *consumed set (call again with the rest),
 * SL_AGAIN when all n bytes were consumed without finishing a reply, or
 * SL_ERROR on a malformed reply (no 3-digit code, codes differing between
 * lines, too many lines).
 */
int backend_reply_parse(struct backend_reply_parser *p, const uint8_t *buf, size_t n,
			size_t *consumed, struct backend_reply *out);

/* What an EHLO reply advertises (keywords case-insensitive, RFC 5321 4.1.1.1). */
struct backend_caps {
	bool     esmtp;           /**< EHLO was answered with 250 */
	bool     pipelining;
	bool     size;
	uint64_t size_limit;      /**< SIZE n, 0 if none given */
	bool     eightbitmime;
	bool     smtputf8;
	bool     dsn;
	bool     enhancedstatuscodes;
	bool     starttls;
	bool     chunking;
	bool     xclient;
	/* XCLIENT attribute names offered: bits of XCLIENT_ATTR_* (xclient.h) */
	uint32_t xclient_attrs;
};

void backend_caps_parse(const struct backend_reply *ehlo, struct backend_caps *caps);

#endif
