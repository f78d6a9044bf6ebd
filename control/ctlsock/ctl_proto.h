/* ctl_proto.h - the control socket's wire format: request lines split into
 * words, JSON replies built into a growable buffer (see PROTOCOL.md). */
#ifndef CTL_PROTO_H
#define CTL_PROTO_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_PROTO_VERSION 1
#define CTL_REQ_MAX       4096  /**< bytes of one request, newline included */
#define CTL_ARGS_MAX      24    /**< words in one request: a limits set with every option fits */

/* One request split into words; argv points into buf (NUL-terminated). */
struct ctl_req {
	unsigned argc;
	char    *argv[CTL_ARGS_MAX];
	bool     quoted[CTL_ARGS_MAX]; /**< the word was a "string": never a keyword */
	char     buf[CTL_REQ_MAX];
};

/*
 * ctl_proto_split - split one request line (without its '\n'; a trailing
 * '\r' is dropped) into words. Words are separated by spaces or tabs; a
 * word may be a double-quoted string with \" and \\ escapes. Control
 * characters and NUL are refused. Returns SL_OK, SL_DONE for a blank line
 * (no reply is due), or SL_DECLINED with a message in err.
 */
int ctl_proto_split(const char *line, size_t len, struct ctl_req *req, char *err, size_t errlen);

/*
 * ctl_parse_u64 - a decimal count min..max, digits only (no sign, no
 * blanks, no overflow). ctl_parse_session_id - a session id as the logs
 * print it (session=1000000002a): hex, "0x" allowed. Both return
 * SL_OK or SL_DECLINED.
 */
int ctl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int ctl_parse_session_id(const char *s, uint64_t *out);

/* A reply under construction. On allocation failure `oom` is set and later
 * appends do nothing, so callers check once at the end. */
struct ctl_buf {
	char  *p;
	size_t len, cap;
	bool   oom;
};

void ctl_buf_free(struct ctl_buf *b);
void ctl_buf_reset(struct ctl_buf *b);
void ctl_buf_add(struct ctl_buf *b, const char *s, size_t n);
void ctl_buf_puts(struct ctl_buf *b, const char *s);
void ctl_buf_printf(struct ctl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string, quotes included. Bytes >= 0x80 become \u00XX
 * so the reply is valid JSON whatever the client sent. */
void ctl_buf_json_str(struct ctl_buf *b, const char *s);
/* Drop the first n bytes (written to the peer). */
void ctl_buf_consume(struct ctl_buf *b, size_t n);

/* The error reply line {"ok":false,"error":"..."}\n, appended to b. */
void ctl_reply_error(struct ctl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
