/* cfg_lex.c - the lexer of sluice.conf: lines of blank-separated words, quotes, comments, braces. */
#include "cfg_lex.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cfg_internal.h"
#include "util/sl_status.h"

void cfg_error(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || errlen == 0)
		return;
	n = snprintf(err, errlen, "%s:%d: ", file, line);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

void cfg_lex_init(struct cfg_lex *lx, const char *name, const char *text, size_t len)
{
	lx->name = name;
	lx->p = text;
	lx->end = text + len;
	lx->line = 1;
}

static bool is_blank(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Control bytes have no business in a config file and would make a message
 * or a dumped value print as something else than it is. */
static bool is_control(unsigned char ch)
{
	return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

/* Ends an unquoted word. */
static bool is_delim(int ch)
{
	return is_blank(ch) || ch == '\n' || ch == '#' || ch == '"' || ch == '{' || ch == '}';
}

/* Marker words for braces: distinct pointers, so a quoted "{" never matches. */
static const char brace_open[] = "{";
static const char brace_close[] = "}";

struct lex_out {
	struct cfg_line *l;
	size_t used;
};

static int out_word_begin(struct cfg_lex *lx, struct lex_out *o, bool quoted,
			  char *err, size_t errlen)
{
	if (o->l->nwords >= CFG_LEX_WORDS_MAX) {
		cfg_error(err, errlen, lx->name, lx->line, "too many words on one line (max %d)",
			  CFG_LEX_WORDS_MAX);
		return SL_ERROR;
	}
	o->l->w[o->l->nwords].s = o->l->buf + o->used;
	o->l->w[o->l->nwords].quoted = quoted;
	o->l->nwords++;
	return SL_OK;
}

static int out_char(struct cfg_lex *lx, struct lex_out *o, char ch, char *err, size_t errlen)
{
	/* keep one byte for the NUL that ends the word */
	if (o->used + 1 >= sizeof(o->l->buf)) {
		cfg_error(err, errlen, lx->name, lx->line, "line too long (max %d bytes)",
			  CFG_LEX_LINE_MAX);
		return SL_ERROR;
	}
	o->l->buf[o->used++] = ch;
	return SL_OK;
}

static int lex_quoted(struct cfg_lex *lx, struct lex_out *o, char *err, size_t errlen)
{
	int start = lx->line;

	lx->p++; /* opening quote */
	if (out_word_begin(lx, o, true, err, errlen) != SL_OK)
		return SL_ERROR;
	for (;;) {
		unsigned char ch;

		if (lx->p >= lx->end || *lx->p == '\n') {
			cfg_error(err, errlen, lx->name, start, "unterminated quote");
			return SL_ERROR;
		}
		ch = (unsigned char)*lx->p;
		if (ch == '"') {
			lx->p++;
			break;
		}
		if (ch == '\\') {
			char next = lx->p + 1 < lx->end ? lx->p[1] : '\0';
			if (next != '"' && next != '\\') {
				if (next == '\n' || lx->p + 1 >= lx->end) {
					cfg_error(err, errlen, lx->name, start, "unterminated quote");
				} else if (is_control((unsigned char)next)) {
					cfg_error(err, errlen, lx->name, lx->line,
						  "bad escape in quoted string: only \\\" and \\\\");
				} else {
					cfg_error(err, errlen, lx->name, lx->line,
						  "bad escape '\\%c' in quoted string: only \\\" and \\\\", next);
				}
				return SL_ERROR;
			}
			ch = (unsigned char)next;
			lx->p += 2;
		} else if (is_control(ch)) {
			cfg_error(err, errlen, lx->name, lx->line, "control character 0x%02x in quoted string", ch);
			return SL_ERROR;
		} else {
			lx->p++;
		}
		if (out_char(lx, o, (char)ch, err, errlen) != SL_OK)
			return SL_ERROR;
	}
	if (lx->p < lx->end && !is_delim(*lx->p)) {
		cfg_error(err, errlen, lx->name, lx->line, "missing blank after quoted string");
		return SL_ERROR;
	}
	return out_char(lx, o, '\0', err, errlen);
}

static int lex_bare(struct cfg_lex *lx, struct lex_out *o, char *err, size_t errlen)
{
	if (out_word_begin(lx, o, false, err, errlen) != SL_OK)
		return SL_ERROR;
	while (lx->p < lx->end && !is_delim(*lx->p)) {
		unsigned char ch = (unsigned char)*lx->p;
		if (is_control(ch)) {
			cfg_error(err, errlen, lx->name, lx->line, "control character 0x%02x", ch);
			return SL_ERROR;
		}
		if (out_char(lx, o, (char)ch, err, errlen) != SL_OK)
			return SL_ERROR;
		lx->p++;
	}
	if (lx->p < lx->end && *lx->p == '"') {
		cfg_error(err, errlen, lx->name, lx->line, "unexpected '\"' inside a word");
		return SL_ERROR;
	}
	return out_char(lx, o, '\0', err, errlen);
}

/* A line holds its braces only at the edges: "name ... {" or a lone "}". */
static int check_braces(struct cfg_lex *lx, struct cfg_line *l, char *err, size_t errlen)
{
	unsigned i;

	for (i = 0; i < l->nwords; i++) {
		if (l->w[i].s == brace_close) {
			if (l->nwords != 1) {
				cfg_error(err, errlen, lx->name, l->line, "'}' must be alone on its line");
				return SL_ERROR;
			}
			l->nwords = 0;
			l->close_block = true;
			return SL_OK;
		}
		if (l->w[i].s == brace_open) {
			if (i == 0) {
				cfg_error(err, errlen, lx->name, l->line, "'{' without a block name");
				return SL_ERROR;
			}
			if (i != l->nwords - 1) {
				cfg_error(err, errlen, lx->name, l->line, "'{' must end the line");
				return SL_ERROR;
			}
			l->nwords--;
			l->open_block = true;
		}
	}
	return SL_OK;
}

int cfg_lex_next(struct cfg_lex *lx, struct cfg_line *out, char *err, size_t errlen)
{
	struct lex_out o = { .l = out, .used = 0 };

	out->nwords = 0;
	out->open_block = false;
	out->close_block = false;
	out->line = lx->line;
	while (lx->p < lx->end) {
		char ch = *lx->p;

		if (ch == '\n') {
			lx->p++;
			if (out->nwords > 0) {
				lx->line++;
				return check_braces(lx, out, err, errlen);
			}
			lx->line++;
			out->line = lx->line;
			continue;
		}
		if (is_blank(ch)) {
			lx->p++;
			continue;
		}
		if (ch == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
			continue;
		}
		if (ch == '{' || ch == '}') {
			if (out->nwords >= CFG_LEX_WORDS_MAX) {
				cfg_error(err, errlen, lx->name, lx->line, "too many words on one line (max %d)",
					  CFG_LEX_WORDS_MAX);
				return SL_ERROR;
			}
			out->w[out->nwords].s = ch == '{' ? brace_open : brace_close;
			out->w[out->nwords].quoted = false;
			out->nwords++;
			lx->p++;
			continue;
		}
		if (ch == '"') {
			if (lex_quoted(lx, &o, err, errlen) != SL_OK)
				return SL_ERROR;
			continue;
		}
		if (lex_bare(lx, &o, err, errlen) != SL_OK)
			return SL_ERROR;
	}
	if (out->nwords > 0)
		return check_braces(lx, out, err, errlen);
	return SL_DONE;
}

bool cfg_lex_needs_quotes(const char *s)
{
	if (*s == '\0')
		return true;
	for (; *s != '\0'; s++) {
		if (is_delim(*s) || *s == '\\' || is_control((unsigned char)*s))
			return true;
	}
	return false;
}
