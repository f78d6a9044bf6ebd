/* smtp_data_scan.c - streaming DATA scanner: end of DATA, bare CR/LF, NUL, long lines (pure code). */
#include "smtp_data_scan.h"

#include <string.h>

/*
 * The automaton sees three kinds of line break: CR LF (real), a CR not
 * followed by LF and an LF not preceded by CR (bare). Only a "." line
 * between two real breaks ends DATA, in both modes, so the consumed count
 * never depends on the mode or on how the input was split.
 *
 * Output is the input, cut into as few runs as possible: a run is
 * interrupted only where bytes are inserted (a held-back CR, sent with its
 * LF, a synthesized CR LF, an extra dot), at an error, and at the end of the buffer.
 */

enum scan_state {
	ST_BOL = 0,     /* after a real CR LF (or the start): "." may begin the end */
	ST_BOL_SYNTH,   /* after a bare CR or LF: a leading "." must be doubled */
	ST_TEXT,        /* inside a line */
	ST_DOT,         /* the line so far is "." after a real CR LF */
	ST_CR,          /* the previous byte was CR; its meaning depends on this one */
};

#define F_HELD_CR 0x01  /* that CR ended the previous buffer and is not emitted yet */
#define F_DOTLINE 0x02  /* in ST_CR: the CR came right after "." in ST_DOT */

static const uint8_t ins_crlf[] = "\r\n";
static const uint8_t ins_dot_crlf[] = ".\r\n";
static const uint8_t ins_dot[] = ".";

void smtp_data_scan_init(struct smtp_data_scanner *s, bool normalize, uint32_t line_limit)
{
	memset(s, 0, sizeof(*s));
	s->state = ST_BOL;
	s->normalize = normalize;
	s->line_limit = line_limit;
}

static inline void set_error(struct smtp_data_scanner *s, enum smtp_scan_error e)
{
	if (s->error == SMTP_SCAN_OK)
		s->error = (uint8_t)e;
}

/* Emit input bytes [from, to); silent once an error was seen. */
static inline void flush(struct smtp_data_scanner *s, const uint8_t *p, size_t from, size_t to,
			 smtp_scan_emit_fn emit, void *arg)
{
	if (to > from && s->error == SMTP_SCAN_OK) {
		emit(arg, p + from, to - from, true);
		s->emitted += to - from;
	}
}

static inline void insert(struct smtp_data_scanner *s, const uint8_t *b, size_t n,
			  smtp_scan_emit_fn emit, void *arg)
{
	if (s->error == SMTP_SCAN_OK) {
		emit(arg, b, n, false);
		s->emitted += n;
	}
}

static inline void line_add(struct smtp_data_scanner *s, size_t n)
{
	/* Saturating: a 10 GB line without CR LF must not wrap around. */
	if (n > UINT32_MAX - s->line_len)
		s->line_len = UINT32_MAX;
	else
		s->line_len += (uint32_t)n;
	if (s->line_limit != 0 && s->line_len > s->line_limit)
		set_error(s, SMTP_SCAN_LONG_LINE);
}

static inline bool is_special(uint8_t c)
{
	return c == '\r' || c == '\n' || c == '\0';
}

/*
 * find_special - index of the first CR, LF or NUL in p[i, n), or n.
 * Eight bytes at a time: a byte of w equals c exactly when the same byte
 * of w ^ (c * ones) is zero, and (x - ones) & ~x & highs is non-zero
 * exactly when x has a zero byte.
 */
static inline size_t find_special(const uint8_t *p, size_t i, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;

	while (n - i >= 8) {
		uint64_t w, a, b;

		memcpy(&w, p + i, 8);
		a = w ^ (ones * '\r');
		b = w ^ (ones * '\n');
		if ((((w - ones) & ~w) | ((a - ones) & ~a) | ((b - ones) & ~b)) & highs)
			break;
		i += 8;
	}
	while (i < n && !is_special(p[i]))
		i++;
	return i;
}

/*
 * A bare CR or LF, whose input byte is dropped (the CR at cr_pos, or the
 * LF at i) and replaced by CR LF. If the line so far is exactly "." it
 * becomes ".." first, or the backend would read an end of DATA here.
 */
static inline void bare_break(struct smtp_data_scanner *s, const uint8_t *p, size_t *run,
			      size_t drop, bool dotline, smtp_scan_emit_fn emit, void *arg)
{
	if (!s->normalize) {
		set_error(s, SMTP_SCAN_BARE);
	} else {
		flush(s, p, *run, drop, emit, arg);
		if (dotline)
			insert(s, ins_dot_crlf, 3, emit, arg);
		else
			insert(s, ins_crlf, 2, emit, arg);
	}
	*run = drop + 1;
	s->state = ST_BOL_SYNTH;
	s->flags = 0;
	s->line_len = 0;
}

size_t smtp_data_scan(struct smtp_data_scanner *s, const uint8_t *p, size_t n,
		      smtp_scan_emit_fn emit, void *arg)
{
	size_t i = 0, run = 0;

	if (s->done || n == 0)
		return 0;

	while (i < n) {
		uint8_t c = p[i];

		switch (s->state) {
		case ST_TEXT: {
			size_t j = find_special(p, i, n);

			line_add(s, j - i);
			i = j;
			if (i == n)
				break;
			c = p[i];
			if (c == '\r') {
				s->state = ST_CR;
				s->flags = 0;
			} else if (c == '\n') {
				bare_break(s, p, &run, i, false, emit, arg);
			} else {
				set_error(s, SMTP_SCAN_NUL);
				line_add(s, 1);
			}
			i++;
			break;
		}
		case ST_BOL:
		case ST_BOL_SYNTH:
			if (c == '.') {
				if (s->state == ST_BOL) {
					s->state = ST_DOT;
				} else {
					/* The backend removes one dot from a
					 * line starting with one; we saw this
					 * dot as content, so add one. */
					flush(s, p, run, i, emit, arg);
					insert(s, ins_dot, 1, emit, arg);
					run = i;
					s->state = ST_TEXT;
				}
				line_add(s, 1);
				i++;
			} else if (c == '\r') {
				s->state = ST_CR;
				s->flags = 0;
				i++;
			} else if (c == '\n') {
				bare_break(s, p, &run, i, false, emit, arg);
				i++;
			} else {
				s->state = ST_TEXT;
			}
			break;
		case ST_DOT:
			if (c == '\r') {
				s->state = ST_CR;
				s->flags = F_DOTLINE;
				i++;
			} else if (c == '\n') {
				bare_break(s, p, &run, i, true, emit, arg);
				i++;
			} else {
				s->state = ST_TEXT;   /* ".foo", "..": stuffed, passed as is */
			}
			break;
		case ST_CR:
			if (c == '\n') {
				bool dotline = s->flags & F_DOTLINE;

				i++;
				if (s->flags & F_HELD_CR) {
					/* CR and LF go out together: were the LF
					 * left in a run that an error then drops,
					 * a lone CR would have been emitted. */
					insert(s, ins_crlf, 2, emit, arg);
					run = i;
				}
				s->flags = 0;
				s->line_len = 0;
				if (dotline) {
					flush(s, p, run, i, emit, arg);
					s->done = true;
					s->bytes += i;
					return i;
				}
				s->state = ST_BOL;
			} else {
				/* A held CR was never emitted and run is 0: the
				 * drop position is then "before this buffer". */
				bool held = s->flags & F_HELD_CR;

				if (held) {
					s->flags &= (uint8_t)~F_HELD_CR;
					bare_break(s, p, &run, 0, s->flags & F_DOTLINE, emit, arg);
					run = 0;
				} else {
					bare_break(s, p, &run, i - 1, s->flags & F_DOTLINE, emit, arg);
				}
				/* c is looked at again, in ST_BOL_SYNTH */
			}
			break;
		}
	}

	if (s->state == ST_CR && !(s->flags & F_HELD_CR)) {
		/* The CR at p[n - 1] waits for the next byte. */
		flush(s, p, run, n - 1, emit, arg);
		s->flags |= F_HELD_CR;
	} else {
		flush(s, p, run, n, emit, arg);
	}
	s->bytes += n;
	return n;
}
