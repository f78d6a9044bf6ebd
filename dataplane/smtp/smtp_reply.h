/* smtp_reply.h - every reply sluice itself sends, in one table. */
#ifndef SMTP_REPLY_H
#define SMTP_REPLY_H

#include <stddef.h>
#include <stdint.h>

/*
 * X(id, code, enhanced status, text). The enhanced status (RFC 3463) goes
 * on every reply except the greeting, EHLO/HELO and 354 (RFC 2034 section 3).
 * Replies decided by policy or relayed from a backend do not come from here.
 */
#define SMTP_REPLIES(X) \
	X(OK,                 250, "2.0.0", "Ok") \
	X(MAIL_OK,            250, "2.1.0", "Ok") \
	X(RCPT_OK,            250, "2.1.5", "Ok") \
	X(DATA_GO,            354, "",      "End data with <CR><LF>.<CR><LF>") \
	X(BYE,                221, "2.0.0", "Bye") \
	X(VRFY,               252, "2.0.0", "Cannot VRFY user, but will accept message and attempt delivery") \
	X(HELP,               214, "2.0.0", "See https://www.rfc-editor.org/rfc/rfc5321") \
	X(UNKNOWN_CMD,        500, "5.5.2", "Error: command not recognized") \
	X(LINE_TOO_LONG,      500, "5.5.2", "Error: line too long") \
	X(NUL_IN_CMD,         500, "5.5.2", "Error: NUL character in command") \
	X(NOT_IMPLEMENTED,    502, "5.5.1", "Error: command not implemented") \
	X(NEED_HELO,          503, "5.5.1", "Error: send HELO/EHLO first") \
	X(NESTED_MAIL,        503, "5.5.1", "Error: nested MAIL command") \
	X(NEED_MAIL,          503, "5.5.1", "Error: need MAIL command") \
	X(NEED_RCPT,          503, "5.5.1", "Error: need RCPT command") \
	X(NO_VALID_RCPT,      554, "5.5.1", "Error: no valid recipients") \
	X(HELO_SYNTAX,        501, "5.5.4", "Syntax: HELO hostname") \
	X(EHLO_SYNTAX,        501, "5.5.4", "Syntax: EHLO hostname") \
	X(BAD_HELO,           501, "5.5.2", "Error: invalid HELO name") \
	X(MAIL_SYNTAX,        501, "5.5.4", "Syntax: MAIL FROM:<address>") \
	X(RCPT_SYNTAX,        501, "5.5.4", "Syntax: RCPT TO:<address>") \
	X(NOARG_SYNTAX,       501, "5.5.4", "Syntax: command takes no argument") \
	X(VRFY_SYNTAX,        501, "5.5.4", "Syntax: VRFY address") \
	X(BAD_SENDER,         501, "5.1.7", "Bad sender address syntax") \
	X(BAD_RCPT,           501, "5.1.3", "Bad recipient address syntax") \
	X(NULL_RCPT,          501, "5.1.3", "Error: null recipient not allowed") \
	X(ADDR_TOO_LONG,      501, "5.1.3", "Error: address too long") \
	X(NEED_SMTPUTF8,      553, "5.6.7", "Error: non-ASCII address requires SMTPUTF8") \
	X(EIGHTBIT_CMD,       500, "5.5.2", "Error: 8-bit characters in command") \
	X(PARAM_UNKNOWN,      555, "5.5.4", "Error: unsupported parameter") \
	X(PARAM_SYNTAX,       501, "5.5.4", "Error: bad parameter syntax") \
	X(PARAM_DUPLICATE,    501, "5.5.4", "Error: duplicate parameter") \
	X(SIZE_EXCEEDED,      552, "5.3.4", "Message size exceeds fixed limit") \
	X(TOO_MANY_RCPTS,     452, "4.5.3", "Error: too many recipients") \
	X(RELAY_DENIED,       554, "5.7.1", "Relay access denied") \
	X(PREGREET,           554, "5.5.1", "Error: talking before the greeting") \
	X(PIPELINING,         554, "5.5.1", "Error: command pipelining without PIPELINING") \
	X(HARD_ERRORS,        421, "4.7.0", "Error: too many errors") \
	X(JUNK_COMMANDS,      421, "4.7.0", "Error: too many junk commands") \
	X(TIMEOUT,            421, "4.4.2", "Error: timeout exceeded") \
	X(DATA_TOO_SLOW,      421, "4.4.2", "Error: data rate too low") \
	X(SHUTDOWN,           421, "4.3.2", "Service shutting down, closing transmission channel") \
	X(TOO_BUSY,           421, "4.3.2", "Too many sessions, try again later") \
	X(BARE_NEWLINE,       550, "5.5.2", "Error: bare <CR> or <LF> received") \
	X(NUL_IN_DATA,        550, "5.6.0", "Error: NUL character in message") \
	X(MESSAGE_TOO_BIG,    552, "5.3.4", "Error: message file too big") \
	X(DATA_LINE_TOO_LONG, 550, "5.6.0", "Error: message line too long") \
	X(BACKEND_UNAVAIL,    451, "4.4.1", "Error: no backend available, try again later") \
	X(BACKEND_FAILED,     451, "4.4.1", "Error: backend failed, try again later") \
	X(BACKEND_LOST,       421, "4.4.2", "Error: lost connection to backend") \
	X(BACKEND_TIMEOUT,    451, "4.4.2", "Error: backend timeout, try again later") \
	X(POLICY_TEMPFAIL,    451, "4.7.0", "Error: temporary policy failure, try again later") \
	X(LOCAL_ERROR,        451, "4.3.0", "Error: local error, try again later") \
	X(XCLIENT_DENIED,     550, "5.7.0", "Error: insufficient authorization")

enum smtp_reply_id {
#define SMTP_REPLY_ENUM(id, code, st, text) SMTP_R_##id,
	SMTP_REPLIES(SMTP_REPLY_ENUM)
#undef SMTP_REPLY_ENUM
	SMTP_R_COUNT
};

struct smtp_reply {
	uint16_t    code;
	const char *status;  /**< "" when the reply carries none */
	const char *text;
};

extern const struct smtp_reply smtp_replies[SMTP_R_COUNT];

/*
 * smtp_reply_format - "CODE STATUS TEXT\r\n" (status omitted when empty) into
 * buf; returns the length, truncating the text so the line fits len.
 */
size_t smtp_reply_format(char *buf, size_t len, uint16_t code, const char *status, const char *text);
/* smtp_reply_format_id - a table reply, formatted once at start-up and
 * copied from there: replies are on every command's path. */
size_t smtp_reply_format_id(char *buf, size_t len, enum smtp_reply_id id);
/* The formatted table reply itself, NUL-terminated. */
const char *smtp_reply_line(enum smtp_reply_id id, size_t *len);

#endif
