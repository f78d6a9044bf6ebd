/* ctl_proto.c - request line splitting and JSON reply building for the control socket. */
#include "ctlsock/ctl_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sl_status.h"

int ctl_proto_split(const char *line, size_t len, struct ctl_req *req, char *err, size_t errlen)
{
	size_t i = 0, o = 0;

	req->argc = 0;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len >= sizeof(req->buf)) {
		snprintf(err, errlen, "request longer than %d bytes", CTL_REQ_MAX);
		return SL_DECLINED;
	}
	for (;;) {
		bool quoted = false;

		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		if (req->argc == CTL_ARGS_MAX) {
			snprintf(err, errlen, "too many words (max %d)", CTL_ARGS_MAX);
			return SL_DECLINED;
		}
		req->argv[req->argc] = &req->buf[o];
		if (line[i] == '"') {
			quoted = true;
			i++;
			for (;;) {
				unsigned char ch;
				if (i == len) {
					snprintf(err, errlen, "unterminated quoted string");
					return SL_DECLINED;
				}
				ch = (unsigned char)line[i++];
				if (ch == '"')
					break;
				if (ch == '\\') {
					if (i == len || (line[i] != '"' && line[i] != '\\')) {
						snprintf(err, errlen, "bad escape in quoted string (only \\\" and \\\\)");
						return SL_DECLINED;
					}
					ch = (unsigned char)line[i++];
				} else if (ch < 0x20 || ch == 0x7f) {
					snprintf(err, errlen, "control character 0x%02x in request", ch);
					return SL_DECLINED;
				}
				req->buf[o++] = (char)ch;
			}
			/* "a"b is one mistake, not two words */
			if (i < len && line[i] != ' ' && line[i] != '\t') {
				snprintf(err, errlen, "no space after a quoted string");
				return SL_DECLINED;
			}
		} else {
			while (i < len && line[i] != ' ' && line[i] != '\t') {
				unsigned char ch = (unsigned char)line[i++];
				if (ch < 0x20 || ch == 0x7f) {
					snprintf(err, errlen, "control character 0x%02x in request", ch);
					return SL_DECLINED;
				}
				if (ch == '"') {
					snprintf(err, errlen, "quote in the middle of a word");
					return SL_DECLINED;
				}
				req->buf[o++] = (char)ch;
			}
		}
		req->buf[o++] = '\0';
		req->quoted[req->argc++] = quoted;
	}
	return req->argc == 0 ? SL_DONE : SL_OK;
}

/* ---- reply buffer */

static bool buf_reserve(struct ctl_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void ctl_buf_free(struct ctl_buf *b)
{
	free(b->p);
	*b = (struct ctl_buf){ 0 };
}

void ctl_buf_reset(struct ctl_buf *b)
{
	b->len = 0;
	b->oom = false;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void ctl_buf_add(struct ctl_buf *b, const char *s, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void ctl_buf_puts(struct ctl_buf *b, const char *s)
{
	ctl_buf_add(b, s, strlen(s));
}

static void buf_vprintf(struct ctl_buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0 || !buf_reserve(b, (size_t)n))
		return;
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void ctl_buf_printf(struct ctl_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void ctl_buf_json_str(struct ctl_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	ctl_buf_add(b, "\"", 1);
	for (; *p != '\0'; p++) {
		char esc[7];
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			ctl_buf_add(b, esc, 2);
		} else if (*p < 0x20 || *p >= 0x7f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			ctl_buf_add(b, esc, 6);
		} else {
			ctl_buf_add(b, (const char *)p, 1);
		}
	}
	ctl_buf_add(b, "\"", 1);
}

void ctl_buf_consume(struct ctl_buf *b, size_t n)
{
	if (n >= b->len) {
		ctl_buf_reset(b);
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	b->p[b->len] = '\0';
}

void ctl_reply_error(struct ctl_buf *b, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctl_buf_puts(b, "{\"ok\":false,\"error\":");
	ctl_buf_json_str(b, msg);
	ctl_buf_puts(b, "}\n");
}

int ctl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;

	if (*s == '\0')
		return SL_DECLINED;
	for (; *s != '\0'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (d > 9 || n > (UINT64_MAX - d) / 10)
			return SL_DECLINED;
		n = n * 10 + d;
	}
	if (n < min || n > max)
		return SL_DECLINED;
	*out = n;
	return SL_OK;
}

int ctl_parse_session_id(const char *s, uint64_t *out)
{
	uint64_t n = 0;
	size_t len;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	len = strlen(s);
	if (len == 0 || len > 16)
		return SL_DECLINED;
	for (; *s != '\0'; s++) {
		char ch = *s;
		unsigned d;
		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			d = (unsigned)(ch - 'A' + 10);
		else
			return SL_DECLINED;
		n = n << 4 | d;
	}
	*out = n;
	return SL_OK;
}
