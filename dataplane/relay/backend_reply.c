/* backend_reply.c - streaming SMTP reply parser for the backend leg, and EHLO capabilities. */
#include "backend_reply.h"

#include <string.h>
#include <strings.h>

#include "xclient.h"
#include "util/sl_status.h"

/* A line as it goes into raw[]: "CODE" sep text CR LF. */
#define RAW_LINE_MAX (BACKEND_REPLY_LINE_MAX + 2)

static void reply_reset(struct backend_reply *r)
{
	r->code = 0;
	r->status[0] = '\0';
	r->text[0] = '\0';
	r->nlines = 0;
	r->raw_len = 0;
}

void backend_reply_parser_init(struct backend_reply_parser *p)
{
	p->len = 0;
	p->truncating = false;
	p->raw_full = false;
	reply_reset(&p->cur);
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/*
 * status_len - length of an RFC 3463 enhanced status at the start of text
 * ("d.d{1,3}.d{1,3}" followed by a space or the end), 0 if there is none.
 * Its class must be the first digit of the reply code, and 2, 4 or 5.
 */
static size_t status_len(const char *t, size_t n, uint16_t code)
{
	size_t i = 0, k;
	char cls = (char)('0' + code / 100);

	if (n < 5 || t[0] != cls || (cls != '2' && cls != '4' && cls != '5') || t[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		for (k = 0; k < 3 && i < n && is_digit(t[i]); k++)
			i++;
		if (k == 0)
			return 0;
		if (part == 0) {
			if (i >= n || t[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && t[i] != ' ')
		return 0;
	return i;
}

/* Drop the last line stored in raw[] (a middle one), so the final line fits. */
static void raw_drop_last(struct backend_reply *r)
{
	size_t i = r->raw_len;

	if (i < 2)
		return;
	i -= 2; /* the CR LF ending the last stored line */
	while (i > 0 && r->raw[i - 1] != '\n')
		i--;
	r->raw_len = i;
}

static void raw_append(struct backend_reply *r, const char *line, size_t n)
{
	memcpy(r->raw + r->raw_len, line, n);
	r->raw_len += n;
	r->raw[r->raw_len++] = '\r';
	r->raw[r->raw_len++] = '\n';
}

/*
 * reply_line - one complete line (ending stripped) of the reply being built.
 * Returns SL_AGAIN for a continuation line, SL_OK for the last one, SL_ERROR.
 */
static int reply_line(struct backend_reply_parser *p, char *line, size_t n)
{
	struct backend_reply *r = &p->cur;
	uint16_t code;
	bool last;

	if (n < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) ||
	    line[0] < '2' || line[0] > '5')
		return SL_ERROR;
	if (n == 3)
		last = true;           /* a bare "250" ends the reply too */
	else if (line[3] == ' ')
		last = true;
	else if (line[3] == '-')
		last = false;
	else
		return SL_ERROR;
	code = (uint16_t)((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
	if (r->nlines > 0 && code != r->code)
		return SL_ERROR;
	if (r->nlines >= BACKEND_REPLY_LINES_MAX)
		return SL_ERROR;
	r->code = code;
	r->nlines++;

	/* Whatever the backend put in its text goes to our client: no bare CR, NUL or
	 * other control bytes may ride along (smuggling, log injection). */
	for (size_t i = 4; i < n; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			line[i] = ' ';
	}

	if (!last) {
		if (!p->raw_full && r->raw_len + n + 2 <= BACKEND_REPLY_RAW_MAX)
			raw_append(r, line, n);
		else
			p->raw_full = true;
		return SL_AGAIN;
	}

	while (r->raw_len + n + 2 > BACKEND_REPLY_RAW_MAX && r->raw_len > 0)
		raw_drop_last(r);
	raw_append(r, line, n);

	const char *t = n > 4 ? line + 4 : "";
	size_t tn = n > 4 ? n - 4 : 0;
	size_t sl = status_len(t, tn, code);
	if (sl > 0 && sl < sizeof(r->status)) {
		memcpy(r->status, t, sl);
		r->status[sl] = '\0';
		t += sl;
		tn -= sl;
		if (tn > 0) {  /* the space after the status */
			t++;
			tn--;
		}
	} else {
		r->status[0] = '\0';
	}
	if (tn > sizeof(r->text) - 1)
		tn = sizeof(r->text) - 1;
	memcpy(r->text, t, tn);
	r->text[tn] = '\0';
	return SL_OK;
}

int backend_reply_parse(struct backend_reply_parser *p, const uint8_t *buf, size_t n,
			size_t *consumed, struct backend_reply *out)
{
	size_t i = 0;

	while (i < n) {
		const uint8_t *lf = memchr(buf + i, '\n', n - i);
		size_t take = lf != NULL ? (size_t)(lf - (buf + i)) : n - i;

		/* Keep what fits of the line; the rest of an over-long line is dropped. */
		if (!p->truncating) {
			size_t room = BACKEND_REPLY_LINE_MAX - p->len;
			size_t k = take < room ? take : room;
			memcpy(p->line + p->len, buf + i, k);
			p->len += k;
			if (k < take)
				p->truncating = true;
		}
		i += take;
		if (lf == NULL)
			break;
		i++; /* the LF */

		size_t len = p->len;
		if (len > 0 && p->line[len - 1] == '\r')
			len--;
		p->line[len] = '\0';
		p->len = 0;
		p->truncating = false;

		int rc = reply_line(p, p->line, len);
		if (rc == SL_AGAIN)
			continue;
		*consumed = i;
		if (rc == SL_ERROR) {
			backend_reply_parser_init(p);
			return SL_ERROR;
		}
		memcpy(out, &p->cur, offsetof(struct backend_reply, raw));
		memcpy(out->raw, p->cur.raw, p->cur.raw_len);
		out->raw_len = p->cur.raw_len;
		reply_reset(&p->cur);
		p->raw_full = false;
		return SL_OK;
	}
	*consumed = n;
	return SL_AGAIN;
}

/* Case-insensitive match of an EHLO keyword (or XCLIENT attribute) of length n. */
static bool word_is(const char *w, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

static uint64_t parse_size(const char *s, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return 0;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return UINT64_MAX;   /* absurd but large: no practical limit */
		v = v * 10 + d;
	}
	return v;
}

static uint32_t xclient_attr_bit(const char *w, size_t n)
{
	static const struct { const char *name; uint32_t bit; } attrs[] = {
		{ "NAME", XCLIENT_ATTR_NAME }, { "ADDR", XCLIENT_ATTR_ADDR },
		{ "PORT", XCLIENT_ATTR_PORT }, { "PROTO", XCLIENT_ATTR_PROTO },
		{ "HELO", XCLIENT_ATTR_HELO }, { "LOGIN", XCLIENT_ATTR_LOGIN },
		{ "DESTADDR", XCLIENT_ATTR_DESTADDR }, { "DESTPORT", XCLIENT_ATTR_DESTPORT },
	};

	for (size_t i = 0; i < SL_ARRAY_SIZE(attrs); i++)
		if (word_is(w, n, attrs[i].name))
			return attrs[i].bit;
	return 0;
}

/* One EHLO line's text (after "250-"): a keyword and its parameters. */
static void caps_line(struct backend_caps *c, const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n && s[i] == ' ')
		i++;
	k = i;
	while (k < n && s[k] != ' ')
		k++;
	const char *kw = s + i;
	size_t kn = k - i;
	const char *args = s + k;
	size_t an = n - k;

	if (word_is(kw, kn, "PIPELINING")) {
		c->pipelining = true;
	} else if (word_is(kw, kn, "SIZE")) {
		c->size = true;
		while (an > 0 && *args == ' ') {
			args++;
			an--;
		}
		size_t dn = 0;
		while (dn < an && args[dn] != ' ')
			dn++;
		c->size_limit = parse_size(args, dn);
	} else if (word_is(kw, kn, "8BITMIME")) {
		c->eightbitmime = true;
	} else if (word_is(kw, kn, "SMTPUTF8")) {
		c->smtputf8 = true;
	} else if (word_is(kw, kn, "DSN")) {
		c->dsn = true;
	} else if (word_is(kw, kn, "ENHANCEDSTATUSCODES")) {
		c->enhancedstatuscodes = true;
	} else if (word_is(kw, kn, "STARTTLS")) {
		c->starttls = true;
	} else if (word_is(kw, kn, "CHUNKING")) {
		c->chunking = true;
	} else if (word_is(kw, kn, "XCLIENT")) {
		c->xclient = true;
		size_t j = 0;
		while (j < an) {
			while (j < an && args[j] == ' ')
				j++;
			size_t e = j;
			while (e < an && args[e] != ' ')
				e++;
			if (e > j)
				c->xclient_attrs |= xclient_attr_bit(args + j, e - j);
			j = e;
		}
	}
}

void backend_caps_parse(const struct backend_reply *ehlo, struct backend_caps *caps)
{
	size_t i = 0, nline = 0;

	memset(caps, 0, sizeof(*caps));
	if (ehlo->code != 250)
		return;
	caps->esmtp = true;
	/* raw[] holds well-formed "250-..." / "250 ..." lines with CR LF endings. */
	while (i < ehlo->raw_len) {
		const char *s = ehlo->raw + i;
		const char *e = memchr(s, '\n', ehlo->raw_len - i);
		size_t n = e != NULL ? (size_t)(e - s) : ehlo->raw_len - i;

		i += n + 1;
		if (n > 0 && s[n - 1] == '\r')
			n--;
		/* the first line is the server's name and greeting, not a keyword */
		if (nline++ == 0 || n <= 4)
			continue;
		caps_line(caps, s + 4, n - 4);
	}
}
