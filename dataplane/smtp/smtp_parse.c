/* smtp_parse.c - SMTP command line parser: verbs, paths and ESMTP parameters (pure code). */
#include "smtp_parse.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

/*
 * The parser works on (pointer, length) slices of the line and never relies
 * on a terminator, so a NUL or a missing one cannot make it read too far. The
 * only byte written outside [0, len) is line[len], documented in the header.
 */

static const struct {
	const char    *name;
	uint8_t        len;
	enum smtp_verb verb;
} verb_table[] = {
	{ "HELO", 4, SMTP_CMD_HELO },   { "EHLO", 4, SMTP_CMD_EHLO },
	{ "MAIL", 4, SMTP_CMD_MAIL },   { "RCPT", 4, SMTP_CMD_RCPT },
	{ "DATA", 4, SMTP_CMD_DATA },   { "RSET", 4, SMTP_CMD_RSET },
	{ "NOOP", 4, SMTP_CMD_NOOP },   { "QUIT", 4, SMTP_CMD_QUIT },
	{ "VRFY", 4, SMTP_CMD_VRFY },   { "EXPN", 4, SMTP_CMD_EXPN },
	{ "HELP", 4, SMTP_CMD_HELP },   { "STARTTLS", 8, SMTP_CMD_STARTTLS },
	{ "BDAT", 4, SMTP_CMD_BDAT },   { "AUTH", 4, SMTP_CMD_AUTH },
	{ "XCLIENT", 7, SMTP_CMD_XCLIENT }, { "ETRN", 4, SMTP_CMD_ETRN },
};

static const char *const verb_names[SMTP_CMD_COUNT] = {
	[SMTP_CMD_UNKNOWN] = "UNKNOWN",
	[SMTP_CMD_HELO] = "HELO", [SMTP_CMD_EHLO] = "EHLO", [SMTP_CMD_MAIL] = "MAIL",
	[SMTP_CMD_RCPT] = "RCPT", [SMTP_CMD_DATA] = "DATA", [SMTP_CMD_RSET] = "RSET",
	[SMTP_CMD_NOOP] = "NOOP", [SMTP_CMD_QUIT] = "QUIT", [SMTP_CMD_VRFY] = "VRFY",
	[SMTP_CMD_EXPN] = "EXPN", [SMTP_CMD_HELP] = "HELP",
	[SMTP_CMD_STARTTLS] = "STARTTLS", [SMTP_CMD_BDAT] = "BDAT",
	[SMTP_CMD_AUTH] = "AUTH", [SMTP_CMD_XCLIENT] = "XCLIENT", [SMTP_CMD_ETRN] = "ETRN",
};

const char *smtp_verb_name(enum smtp_verb v)
{
	if ((unsigned)v >= SMTP_CMD_COUNT)
		return "UNKNOWN";
	return verb_names[v];
}

/* Character classes. Locale-free on purpose: <ctype.h> would let the
 * locale decide what a letter is, and accept 8-bit bytes as letters. */

static inline bool is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline bool is_let_dig(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

static inline unsigned char to_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* RFC 5322 atext, the characters of a dot-string atom. */
static inline bool is_atext(unsigned char c)
{
	if (is_let_dig(c))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool eq_nocase(const char *a, size_t alen, const char *lit)
{
	size_t n = strlen(lit);

	if (alen != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (to_lower((unsigned char)a[i]) != to_lower((unsigned char)lit[i]))
			return false;
	return true;
}

static bool prefix_nocase(const char *a, size_t alen, const char *lit)
{
	size_t n = strlen(lit);

	return alen >= n && eq_nocase(a, n, lit);
}

/*
 * utf8_valid - well-formed UTF-8 (RFC 3629): no overlong forms, no
 * surrogates, nothing above U+10FFFF. A path that is not valid UTF-8 would
 * mean different things to different backends, so it is a syntax error.
 */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t need;
		unsigned char lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;      /* overlong */
			else if (c == 0xed)
				hi = 0x9f;      /* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;      /* overlong */
			else if (c == 0xf4)
				hi = 0x8f;      /* above U+10FFFF */
		} else {
			return false;
		}
		if (n - i - 1 < need)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= need; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += need + 1;
	}
	return true;
}

static bool has_8bit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

/* RFC 5321 Ldh-str, also required to start with a letter or digit. */
static bool ldh_str_valid(const char *s, size_t n)
{
	if (n == 0 || !is_let_dig((unsigned char)s[0]) || !is_let_dig((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!is_let_dig((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

/*
 * address_literal_valid - "[1.2.3.4]", "[IPv6:...]" or "[tag:text]".
 * inet_pton does the IP syntax; it needs a terminated copy.
 */
static bool address_literal_valid(const char *d, size_t len)
{
	const char *in = d + 1;
	size_t n;
	char buf[64];
	unsigned char bin[16];
	const char *colon;

	if (len < 3 || d[0] != '[' || d[len - 1] != ']')
		return false;
	n = len - 2;
	if (prefix_nocase(in, n, "IPv6:")) {
		if (n - 5 >= sizeof(buf))
			return false;
		memcpy(buf, in + 5, n - 5);
		buf[n - 5] = '\0';
		return inet_pton(AF_INET6, buf, bin) == 1;
	}
	colon = memchr(in, ':', n);
	if (colon == NULL) {
		if (n >= sizeof(buf))
			return false;
		memcpy(buf, in, n);
		buf[n] = '\0';
		return inet_pton(AF_INET, buf, bin) == 1;
	}
	/* General-address-literal. The tag must start with a letter, or a
	 * bare "[2001:db8::1]" would pass as tag "2001". dcontent would allow
	 * '<' and '>', but a backend that cuts the path at the first '>'
	 * would then read a different address than we did. */
	if (!ldh_str_valid(in, (size_t)(colon - in)) || !is_alpha((unsigned char)in[0]))
		return false;
	if (colon + 1 == in + n)
		return false;
	for (const char *q = colon + 1; q < in + n; q++) {
		unsigned char c = (unsigned char)*q;

		if (c < 33 || c > 126 || c == '[' || c == '\\' || c == ']' || c == '<' || c == '>')
			return false;
	}
	return true;
}

bool smtp_domain_valid(const char *d, size_t len, bool allow_utf8)
{
	size_t label = 0;
	bool utf8 = false;

	if (d == NULL || len == 0 || len > SL_DOMAIN_MAX)
		return false;
	if (d[0] == '[')
		return address_literal_valid(d, len);
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)d[i] : '.';

		if (c == '.') {
			/* Empty labels (leading, trailing, double dots) and
			 * hyphens at either end of a label are refused. */
			if (label == 0 || label > 63)
				return false;
			if (d[i - 1] == '-' || d[i - label] == '-')
				return false;
			label = 0;
			continue;
		}
		if (c >= 0x80) {
			if (!allow_utf8)
				return false;
			utf8 = true;
		} else if (!is_let_dig(c) && c != '-') {
			return false;
		}
		label++;
	}
	return !utf8 || utf8_valid((const unsigned char *)d, len);
}

bool smtp_helo_name_valid(const char *name, size_t len, bool strict)
{
	if (name == NULL || len == 0 || len > SL_HELO_MAX)
		return false;
	if (strict)
		return smtp_domain_valid(name, len, false);
	/* Postfix-like: anything printable without spaces; 8-bit is let
	 * through because SMTPUTF8 clients may send a U-label. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

bool smtp_xtext_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+') {
			/* hexchar: two upper-case hex digits (RFC 3461 4) */
			if (len - i < 3)
				return false;
			for (size_t k = 1; k <= 2; k++) {
				unsigned char h = (unsigned char)s[i + k];

				if (!is_digit(h) && !(h >= 'A' && h <= 'F'))
					return false;
			}
			i += 2;
			continue;
		}
		if (c < '!' || c > '~' || c == '=')
			return false;
	}
	return true;
}

/* ---- paths ---- */

enum path_result { PATH_OK, PATH_SYNTAX, PATH_TOO_LONG };

/* Where a domain (or an address literal) that starts at i ends. */
static size_t scan_domain(const char *s, size_t n, size_t i)
{
	if (i < n && s[i] == '[') {
		const char *close = memchr(s + i, ']', n - i);

		return close == NULL ? n : (size_t)(close - s) + 1;
	}
	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (!is_let_dig(c) && c != '-' && c != '.' && c < 0x80)
			break;
		i++;
	}
	return i;
}

/* Returns the index after the closing quote, or 0 when unterminated/bad. */
static size_t scan_quoted(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"')
			return i + 1;
		if (c == '\\') {
			/* quoted-pairSMTP: backslash then any printable ASCII */
			if (i + 1 >= n)
				return 0;
			c = (unsigned char)s[i + 1];
			if (c < 32 || c > 126)
				return 0;
			i++;
			continue;
		}
		if ((c < 32 || c > 126) && c < 0x80)
			return 0;
	}
	return 0;
}

/*
 * parse_path - a reverse- or forward-path at the start of s[0, n). Fills
 * path and *endp (index after the path). With brackets the path ends at
 * '>', without them at the first space. The source route is checked and
 * dropped. Checks syntax before lengths, so an over-long garbage path is
 * a syntax error and an over-long good one is too long.
 */
static enum path_result parse_path(const char *s, size_t n, bool allow_postmaster,
				   struct smtp_path *path, size_t *endp)
{
	bool bracket = n > 0 && s[0] == '<';
	size_t i = 0, lp_start, lp_end, dom_start, dom_end, path_len;
	bool quoted;

	if (bracket) {
		i = 1;
		if (i < n && s[i] == '>') {
			path->null = true;
			*endp = 2;
			return PATH_OK;
		}
		if (i < n && s[i] == '@') {
			for (;;) {
				size_t d0 = ++i;

				i = scan_domain(s, n, i);
				if (!smtp_domain_valid(s + d0, i - d0, true))
					return PATH_SYNTAX;
				if (i < n && s[i] == ',') {
					if (++i >= n || s[i] != '@')
						return PATH_SYNTAX;
					continue;
				}
				if (i < n && s[i] == ':') {
					i++;
					break;
				}
				return PATH_SYNTAX;
			}
		}
	} else {
		const char *sp = memchr(s, ' ', n);

		if (sp != NULL)
			n = (size_t)(sp - s);
	}

	lp_start = i;
	quoted = i < n && s[i] == '"';
	if (quoted) {
		i = scan_quoted(s, n, i);
		if (i == 0)
			return PATH_SYNTAX;
	} else {
		/* Dot-string, lenient about dot placement like Postfix:
		 * legacy mailboxes such as "foo..bar@" still exist. */
		while (i < n && (is_atext((unsigned char)s[i]) || s[i] == '.' ||
				 (unsigned char)s[i] >= 0x80))
			i++;
		if (i == lp_start)
			return PATH_SYNTAX;
	}
	lp_end = i;

	if (i < n && s[i] == '@') {
		dom_start = ++i;
		i = scan_domain(s, n, i);
		dom_end = i;
		if (!smtp_domain_valid(s + dom_start, dom_end - dom_start, true))
			return PATH_SYNTAX;
	} else {
		/* RFC 5321 4.1.1.3: "<Postmaster>" without a domain. The source
		 * route was only ever meant for routed mailboxes. */
		if (!allow_postmaster || quoted || lp_start != (size_t)bracket ||
		    !eq_nocase(s + lp_start, lp_end - lp_start, "postmaster"))
			return PATH_SYNTAX;
		dom_start = dom_end = i;
	}

	if (bracket) {
		if (i >= n || s[i] != '>')
			return PATH_SYNTAX;
		i++;
		path_len = i;
	} else {
		if (i != n)
			return PATH_SYNTAX;
		path_len = i + 2;   /* counted as if it had its brackets */
	}
	if (!utf8_valid((const unsigned char *)s, i))
		return PATH_SYNTAX;
	if (lp_end - lp_start > SL_LOCAL_PART_MAX || dom_end - dom_start > SL_DOMAIN_MAX ||
	    path_len > SL_PATH_MAX)
		return PATH_TOO_LONG;

	/* path_len <= SL_PATH_MAX bounds both copies. */
	memcpy(path->addr, s + lp_start, dom_end - lp_start);
	path->addr[dom_end - lp_start] = '\0';
	if (dom_end > dom_start && s[dom_start] == '[') {
		memcpy(path->domain, s + dom_start, dom_end - dom_start);
	} else {
		for (size_t k = dom_start; k < dom_end; k++)
			path->domain[k - dom_start] = (char)to_lower((unsigned char)s[k]);
	}
	path->domain[dom_end - dom_start] = '\0';
	path->non_ascii = has_8bit(s, i);
	*endp = i;
	return PATH_OK;
}

/* ---- ESMTP parameters ---- */

struct param {
	const char *key;
	size_t      key_len;
	const char *val;      /* NULL when there is no "=" */
	size_t      val_len;
};

/*
 * next_param - the next "KEY[=VALUE]" of [*q, e). Returns 1 with *p set, 0
 * at the end, -1 on bad syntax (RFC 5321 esmtp-keyword / esmtp-value).
 */
static int next_param(const char **q, const char *e, struct param *p)
{
	const char *c = *q;

	while (c < e && *c == ' ')
		c++;
	if (c == e) {
		*q = c;
		return 0;
	}
	p->key = c;
	while (c < e && *c != ' ' && *c != '=')
		c++;
	p->key_len = (size_t)(c - p->key);
	p->val = NULL;
	p->val_len = 0;
	if (c < e && *c == '=') {
		p->val = ++c;
		while (c < e && *c != ' ')
			c++;
		p->val_len = (size_t)(c - p->val);
	}
	*q = c;
	if (p->key_len == 0 || !is_let_dig((unsigned char)p->key[0]))
		return -1;
	for (size_t i = 1; i < p->key_len; i++)
		if (!is_let_dig((unsigned char)p->key[i]) && p->key[i] != '-')
			return -1;
	if (p->val != NULL) {
		if (p->val_len == 0)
			return -1;
		for (size_t i = 0; i < p->val_len; i++) {
			unsigned char v = (unsigned char)p->val[i];

			if (v < 33 || v > 126 || v == '=')
				return -1;
		}
	}
	return 1;
}

#define MP_SIZE     0x01
#define MP_BODY     0x02
#define MP_SMTPUTF8 0x04
#define MP_RET      0x08
#define MP_ENVID    0x10

static bool parse_size(const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;

	if (v == NULL || n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (!is_digit((unsigned char)v[i]))
			return false;
		d = (unsigned)(v[i] - '0');
		/* Saturate: a huge SIZE must still read as "too big". */
		if (x > (UINT64_MAX - d) / 10)
			x = UINT64_MAX;
		else
			x = x * 10 + d;
	}
	*out = x;
	return true;
}

static enum smtp_reply_id parse_mail_params(const char *q, const char *e,
					    const struct smtp_parse_opts *opts,
					    struct smtp_mail_params *mp)
{
	struct param p;
	unsigned seen = 0;
	int r;

	while ((r = next_param(&q, e, &p)) != 0) {
		unsigned bit;

		if (r < 0)
			return SMTP_R_PARAM_SYNTAX;
		if (eq_nocase(p.key, p.key_len, "SIZE"))
			bit = MP_SIZE;
		else if (eq_nocase(p.key, p.key_len, "BODY") && opts->eightbitmime)
			bit = MP_BODY;
		else if (eq_nocase(p.key, p.key_len, "SMTPUTF8") && opts->smtputf8)
			bit = MP_SMTPUTF8;
		else if (eq_nocase(p.key, p.key_len, "RET") && opts->dsn)
			bit = MP_RET;
		else if (eq_nocase(p.key, p.key_len, "ENVID") && opts->dsn)
			bit = MP_ENVID;
		else
			return SMTP_R_PARAM_UNKNOWN;
		if (seen & bit)
			return SMTP_R_PARAM_DUPLICATE;
		seen |= bit;

		switch (bit) {
		case MP_SIZE:
			if (!parse_size(p.val, p.val_len, &mp->size))
				return SMTP_R_PARAM_SYNTAX;
			mp->has_size = true;
			break;
		case MP_BODY:
			/* BINARYMIME needs CHUNKING, which we do not offer. */
			if (p.val != NULL && eq_nocase(p.val, p.val_len, "7BIT"))
				mp->body = SMTP_BODY_7BIT;
			else if (p.val != NULL && eq_nocase(p.val, p.val_len, "8BITMIME"))
				mp->body = SMTP_BODY_8BITMIME;
			else
				return SMTP_R_PARAM_SYNTAX;
			break;
		case MP_SMTPUTF8:
			if (p.val != NULL)
				return SMTP_R_PARAM_SYNTAX;
			mp->smtputf8 = true;
			break;
		case MP_RET:
			if (p.val != NULL && eq_nocase(p.val, p.val_len, "FULL"))
				mp->ret = SMTP_RET_FULL;
			else if (p.val != NULL && eq_nocase(p.val, p.val_len, "HDRS"))
				mp->ret = SMTP_RET_HDRS;
			else
				return SMTP_R_PARAM_SYNTAX;
			break;
		case MP_ENVID:
			if (p.val == NULL || p.val_len > SMTP_XTEXT_MAX ||
			    !smtp_xtext_valid(p.val, p.val_len))
				return SMTP_R_PARAM_SYNTAX;
			memcpy(mp->envid, p.val, p.val_len);
			mp->envid[p.val_len] = '\0';
			break;
		}
	}
	/* Syntax first, then the limit: a broken command says so. */
	if (mp->has_size && opts->size_limit != 0 && mp->size > opts->size_limit)
		return SMTP_R_SIZE_EXCEEDED;
	return SMTP_R_OK;
}

#define RP_NOTIFY 0x01
#define RP_ORCPT  0x02

static bool parse_notify(const char *v, size_t n, uint8_t *out)
{
	uint8_t bits = 0;
	size_t i = 0;

	if (v == NULL || n == 0)
		return false;
	while (i <= n) {
		const char *comma = memchr(v + i, ',', n - i);
		size_t end = comma != NULL ? (size_t)(comma - v) : n;
		const char *t = v + i;
		size_t tl = end - i;

		if (eq_nocase(t, tl, "NEVER"))
			bits |= SMTP_NOTIFY_NEVER;
		else if (eq_nocase(t, tl, "SUCCESS"))
			bits |= SMTP_NOTIFY_SUCCESS;
		else if (eq_nocase(t, tl, "FAILURE"))
			bits |= SMTP_NOTIFY_FAILURE;
		else if (eq_nocase(t, tl, "DELAY"))
			bits |= SMTP_NOTIFY_DELAY;
		else
			return false;   /* unknown word or empty element */
		i = end + 1;
	}
	/* RFC 3461 4.1: NEVER stands alone. */
	if ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER)
		return false;
	*out = bits;
	return true;
}

/* ORCPT=addr-type;xtext, addr-type an atom (RFC 3461 4.2). */
static bool orcpt_valid(const char *v, size_t n)
{
	const char *semi;

	if (v == NULL || n == 0 || n > SMTP_ORCPT_MAX)
		return false;
	semi = memchr(v, ';', n);
	if (semi == NULL || semi == v || semi == v + n - 1)
		return false;
	for (const char *c = v; c < semi; c++)
		if (!is_atext((unsigned char)*c))
			return false;
	return smtp_xtext_valid(semi + 1, (size_t)(v + n - semi - 1));
}

static enum smtp_reply_id parse_rcpt_params(const char *q, const char *e,
					    const struct smtp_parse_opts *opts,
					    struct smtp_rcpt_params *rp)
{
	struct param p;
	unsigned seen = 0;
	int r;

	while ((r = next_param(&q, e, &p)) != 0) {
		unsigned bit;

		if (r < 0)
			return SMTP_R_PARAM_SYNTAX;
		if (eq_nocase(p.key, p.key_len, "NOTIFY") && opts->dsn)
			bit = RP_NOTIFY;
		else if (eq_nocase(p.key, p.key_len, "ORCPT") && opts->dsn)
			bit = RP_ORCPT;
		else
			return SMTP_R_PARAM_UNKNOWN;
		if (seen & bit)
			return SMTP_R_PARAM_DUPLICATE;
		seen |= bit;
		if (bit == RP_NOTIFY) {
			if (!parse_notify(p.val, p.val_len, &rp->notify))
				return SMTP_R_PARAM_SYNTAX;
		} else {
			if (!orcpt_valid(p.val, p.val_len))
				return SMTP_R_PARAM_SYNTAX;
			memcpy(rp->orcpt, p.val, p.val_len);
			rp->orcpt[p.val_len] = '\0';
		}
	}
	return SMTP_R_OK;
}

/*
 * parse_mail_rcpt - "FROM:<path> params" or "TO:<path> params". Error
 * order: keyword, path syntax, null recipient, lengths, parameters, then
 * SMTPUTF8 (which for MAIL depends on the parameters).
 */
static enum smtp_reply_id parse_mail_rcpt(struct smtp_cmd *cmd, const struct smtp_parse_opts *opts)
{
	bool rcpt = cmd->verb == SMTP_CMD_RCPT;
	const char *kw = rcpt ? "TO:" : "FROM:";
	enum smtp_reply_id syntax = rcpt ? SMTP_R_RCPT_SYNTAX : SMTP_R_MAIL_SYNTAX;
	enum smtp_reply_id bad = rcpt ? SMTP_R_BAD_RCPT : SMTP_R_BAD_SENDER;
	const char *s = cmd->arg, *e = cmd->arg + cmd->arg_len;
	size_t end;
	enum path_result pr;
	enum smtp_reply_id r;

	if (!prefix_nocase(s, cmd->arg_len, kw))
		return syntax;
	s += strlen(kw);
	while (s < e && *s == ' ')
		s++;
	if (s == e)
		return syntax;

	pr = parse_path(s, (size_t)(e - s), rcpt, &cmd->path, &end);
	if (pr == PATH_SYNTAX)
		return bad;
	if (pr == PATH_TOO_LONG)
		return rcpt ? SMTP_R_ADDR_TOO_LONG : SMTP_R_BAD_SENDER;
	if (rcpt && cmd->path.null)
		return SMTP_R_NULL_RCPT;
	s += end;
	if (s < e && *s != ' ')
		return bad;         /* "<a@b>junk" */
	cmd->params = s;
	cmd->params_len = (size_t)(e - s);

	if (rcpt) {
		r = parse_rcpt_params(s, e, opts, &cmd->rcpt);
		if (r != SMTP_R_OK)
			return r;
		if (cmd->path.non_ascii && !opts->utf8_allowed)
			return SMTP_R_NEED_SMTPUTF8;
		return SMTP_R_RCPT_OK;
	}
	r = parse_mail_params(s, e, opts, &cmd->mail);
	if (r != SMTP_R_OK)
		return r;
	if (cmd->path.non_ascii && !(opts->smtputf8 && cmd->mail.smtputf8))
		return SMTP_R_NEED_SMTPUTF8;
	return SMTP_R_MAIL_OK;
}

static void cmd_reset(struct smtp_cmd *cmd)
{
	/* Field by field: a memset of the whole struct (over 1 KB) per line
	 * would be the most expensive part of parsing a short command. */
	cmd->verb = SMTP_CMD_UNKNOWN;
	cmd->arg = NULL;
	cmd->arg_len = 0;
	cmd->path.null = false;
	cmd->path.non_ascii = false;
	cmd->path.addr[0] = '\0';
	cmd->path.domain[0] = '\0';
	cmd->mail.has_size = false;
	cmd->mail.size = 0;
	cmd->mail.body = SMTP_BODY_NONE;
	cmd->mail.smtputf8 = false;
	cmd->mail.ret = SMTP_RET_NONE;
	cmd->mail.envid[0] = '\0';
	cmd->rcpt.notify = 0;
	cmd->rcpt.orcpt[0] = '\0';
	cmd->params = NULL;
	cmd->params_len = 0;
}

int smtp_parse_command(char *line, size_t len, const struct smtp_parse_opts *opts,
		       struct smtp_cmd *cmd, enum smtp_reply_id *reply)
{
	static const struct smtp_parse_opts no_opts;
	bool nul;
	size_t vlen, a;
	enum smtp_reply_id r = SMTP_R_OK;

	cmd_reset(cmd);
	if (opts == NULL)
		opts = &no_opts;
	nul = memchr(line, '\0', len) != NULL;
	/* Trailing blanks are dropped, as Postfix does: broken clients send them. */
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	line[len] = '\0';
	cmd->arg = line + len;
	cmd->params = line + len;

	/* The verb ends at a space, or at a NUL so that it is still known
	 * when the NUL is refused. */
	for (vlen = 0; vlen < len && line[vlen] != ' ' && line[vlen] != '\0'; vlen++)
		;
	for (size_t k = 0; k < SL_ARRAY_SIZE(verb_table); k++) {
		if (eq_nocase(line, vlen, verb_table[k].name)) {
			cmd->verb = verb_table[k].verb;
			break;
		}
	}
	if (nul) {
		*reply = SMTP_R_NUL_IN_CMD;
		return SL_DECLINED;
	}
	if (cmd->verb == SMTP_CMD_UNKNOWN) {
		*reply = SMTP_R_UNKNOWN_CMD;
		return SL_DECLINED;
	}
	for (a = vlen; a < len && line[a] == ' '; a++)
		;
	cmd->arg = line + a;
	cmd->arg_len = len - a;

	switch (cmd->verb) {
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
		if (cmd->arg_len == 0 || memchr(cmd->arg, ' ', cmd->arg_len) != NULL)
			r = cmd->verb == SMTP_CMD_HELO ? SMTP_R_HELO_SYNTAX : SMTP_R_EHLO_SYNTAX;
		else if (!smtp_helo_name_valid(cmd->arg, cmd->arg_len, false))
			r = SMTP_R_BAD_HELO;
		break;
	case SMTP_CMD_DATA:
	case SMTP_CMD_RSET:
	case SMTP_CMD_QUIT:
	case SMTP_CMD_STARTTLS:
		if (cmd->arg_len != 0)
			r = SMTP_R_NOARG_SYNTAX;
		break;
	case SMTP_CMD_VRFY:
		if (cmd->arg_len == 0)
			r = SMTP_R_VRFY_SYNTAX;
		break;
	case SMTP_CMD_MAIL:
	case SMTP_CMD_RCPT:
		r = parse_mail_rcpt(cmd, opts);
		break;
	default:
		/* NOOP, HELP, EXPN, BDAT, AUTH, XCLIENT, ETRN: the engine
		 * reads the argument itself. */
		break;
	}
	*reply = r;
	return r == SMTP_R_OK || r == SMTP_R_MAIL_OK || r == SMTP_R_RCPT_OK ? SL_OK : SL_DECLINED;
}
