/* cfg_lex.h - splits sluice.conf text into directive lines of words. */
#ifndef CFG_LEX_H
#define CFG_LEX_H

#include <stdbool.h>
#include <stddef.h>

/* Bounds on one directive line: generous for an operator, fixed so that a
 * hostile or corrupt file cannot make the lexer grow without limit. */
#define CFG_LEX_WORDS_MAX 256
#define CFG_LEX_LINE_MAX  16384

struct cfg_word {
	const char *s;      /**< NUL-terminated, points into cfg_line.buf */
	bool quoted;        /**< written "like this": never a keyword or a brace */
};

struct cfg_line {
	int      line;          /**< line number of the directive, from 1 */
	unsigned nwords;        /**< words, the trailing '{' not counted */
	bool     open_block;    /**< the line ended with '{' */
	bool     close_block;   /**< the line is a lone '}' (nwords is 0) */
	struct cfg_word w[CFG_LEX_WORDS_MAX];
	char     buf[CFG_LEX_LINE_MAX];
};

struct cfg_lex {
	const char *name;       /**< file name for messages */
	const char *p;
	const char *end;
	int         line;       /**< current line, from 1 */
};

void cfg_lex_init(struct cfg_lex *lx, const char *name, const char *text, size_t len);

/*
 * cfg_lex_next - the next non-empty directive line. Returns SL_OK with *out
 * filled, SL_DONE at end of input, or SL_ERROR with "FILE:LINE: message" in
 * err. Comments and blank lines are skipped.
 */
int cfg_lex_next(struct cfg_lex *lx, struct cfg_line *out, char *err, size_t errlen);

/* cfg_lex_needs_quotes - whether a word must be quoted to read back as itself. */
bool cfg_lex_needs_quotes(const char *s);

#endif
