/* smtp_data_scan.h - streaming DATA scanner: finds the end of DATA and keeps
 * bare CR/LF and NUL out of what is relayed (RFC 5321 4.1.1.4, SMTP smuggling). */
#ifndef SMTP_DATA_SCAN_H
#define SMTP_DATA_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Only CR LF "." CR LF ends DATA (the first CR LF may be the one that ended
 * the DATA command, so ".\r\n" at the very start ends an empty message).
 * The scanner passes the wire bytes on, dot-stuffing untouched, as a series
 * of emits: runs of the input (`from_input` true: ptr points into the buffer
 * given to smtp_data_scan, so a zero-copy transport can reference it) and
 * short inserted byte strings (false: a held-back CR, a synthesized CR LF, an
 * extra dot). The terminator ".\r\n" after the final CR LF is emitted too,
 * so the receiver gets a complete DATA stream.
 *
 * Bare CR, bare LF: with `normalize` each becomes CR LF and a line that would
 * then read as "." or start with a dot gets one more dot, so the backend
 * sees exactly the message boundaries the scanner saw; without it the
 * scanner stops emitting at the first one and reports SMTP_SCAN_BARE.
 * NUL: always stops emitting and reports SMTP_SCAN_NUL (some MTAs drop NULs,
 * which would turn "\r\n\0.\r\n" into an end of DATA).
 * A line longer than line_limit (excluding CR LF): SMTP_SCAN_LONG_LINE, stop
 * emitting. After an error the scanner keeps consuming, silently, up to
 * the real terminator, so the session can reply and carry on.
 */

enum smtp_scan_error {
	SMTP_SCAN_OK = 0,
	SMTP_SCAN_BARE,       /* bare CR or LF (reject mode) */
	SMTP_SCAN_NUL,
	SMTP_SCAN_LONG_LINE,
};

typedef void (*smtp_scan_emit_fn)(void *arg, const uint8_t *p, size_t n, bool from_input);

struct smtp_data_scanner {
	uint8_t  state;       /**< private: position in the CR LF . CR LF automaton */
	uint8_t  flags;       /**< private */
	bool     normalize;
	bool     done;        /**< terminator seen */
	uint8_t  error;       /**< enum smtp_scan_error, first one wins */
	uint32_t line_limit;  /**< 0 = no limit */
	uint32_t line_len;    /**< private */
	uint64_t bytes;       /**< message bytes seen (wire, before normalising) */
	uint64_t emitted;     /**< bytes emitted */
};

void smtp_data_scan_init(struct smtp_data_scanner *s, bool normalize, uint32_t line_limit);

/*
 * smtp_data_scan - scan up to n bytes; stops right after the terminator.
 * Returns the bytes consumed (n, or fewer when the terminator was found:
 * the rest belongs to the next command). Calls emit zero or more times.
 */
size_t smtp_data_scan(struct smtp_data_scanner *s, const uint8_t *p, size_t n,
		      smtp_scan_emit_fn emit, void *arg);

#endif
