/* smtp_session.h - the sans-IO SMTP server engine of one client connection:
 * line framing, command dispatch, ordered (pipelined) replies, limits,
 * timeouts, DATA scanning. Decisions and the backend are the caller's. */
#ifndef SMTP_SESSION_H
#define SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "smtp_data_scan.h"
#include "smtp_parse.h"
#include "smtp_reply.h"
#include "transport.h"

/*
 * How the caller answers a command. `ok` says whether the command took
 * effect (MAIL opened a transaction, RCPT added a recipient, DATA may start,
 * the message was taken). With reply == NULL the engine sends its own reply:
 * reply_id when set, else the standard success reply of the command.
 */
struct smtp_answer {
	bool        ok;
	bool        close;      /**< close the session after this reply */
	int         reply_id;   /**< enum smtp_reply_id, or -1 */
	const char *reply;      /**< complete reply line(s), CR LF ended */
	size_t      len;
};

static inline void smtp_answer_id(struct smtp_answer *a, bool ok, enum smtp_reply_id id)
{
	a->ok = ok;
	a->close = false;
	a->reply_id = (int)id;
	a->reply = NULL;
	a->len = 0;
}

/*
 * The caller's side. Decision hooks return SL_OK with *a filled (answered
 * now) or SL_AGAIN (answered later with smtp_session_complete(slot)). The
 * engine processes the next pipelined MAIL/RCPT/RSET while earlier answers
 * are pending, and waits for all of them before any other command; replies
 * always leave in command order.
 */
struct smtp_session_hooks {
	void   (*send)(void *arg, const void *p, size_t n);    /* bytes to the client */
	void   (*close)(void *arg);                            /* after what was sent */
	void   (*timer)(void *arg, uint32_t ms);               /* client timer, 0 = cancel */
	int    (*connect)(void *arg, uint32_t slot, struct smtp_answer *a);
	int    (*helo)(void *arg, uint32_t slot, const char *name, bool esmtp, struct smtp_answer *a);
	int    (*mail)(void *arg, uint32_t slot, const struct smtp_cmd *c, struct smtp_answer *a);
	int    (*rcpt)(void *arg, uint32_t slot, const struct smtp_cmd *c, struct smtp_answer *a);
	int    (*data)(void *arg, uint32_t slot, struct smtp_answer *a);
	/* Message bytes for the backend, dot-stuffed, without the final ".\r\n"
	 * (the caller sends that itself when it commits the message). from_input:
	 * p lies inside rx->data and may be forwarded without copying. */
	void   (*data_bytes)(void *arg, const struct sl_rx *rx, const uint8_t *p, size_t n, bool from_input);
	/* How many more message bytes may be taken now (back-pressure). */
	size_t (*data_room)(void *arg);
	/* End of DATA. err is a reply id (bare newline, NUL, size, long line) or
	 * -1 when the message is clean. */
	int    (*data_end)(void *arg, uint32_t slot, int err, uint64_t size, struct smtp_answer *a);
	int    (*rset)(void *arg, uint32_t slot, struct smtp_answer *a);
	/* The engine can take input again (a held command ran, DATA began):
	 * the caller should offer the client bytes it still holds. */
	void   (*resume)(void *arg);
};

enum smtp_state {
	SMTP_S_CONNECT = 0,  /* before the greeting: connect verdict, greet pause */
	SMTP_S_CMD,          /* reading commands */
	SMTP_S_DATA,         /* reading message content */
	SMTP_S_CLOSING,      /* last reply queued, input discarded */
};

#define SMTP_SLOTS      16    /* replies owed to a pipelining client */
#define SMTP_SLOT_REPLY 320   /* a deferred reply longer than this keeps its last line */
#define SMTP_LINE_MAX   2048  /* the largest command_line_limit honoured */

struct smtp_slot {
	uint8_t  verb;        /**< enum smtp_verb, SMTP_VERB_DOT or SMTP_VERB_CONNECT */
	int16_t  kind;        /**< reply: -2 the verb's default, -1 reply[], else a reply id */
	bool     done;
	bool     ok;
	bool     close;
	uint32_t tx;          /**< transaction the command belongs to */
	uint16_t len;
	char     reply[SMTP_SLOT_REPLY];
};

/* Slot verbs beyond the commands: the end of DATA and the greeting. */
#define SMTP_VERB_DOT     SMTP_CMD_COUNT
#define SMTP_VERB_CONNECT (SMTP_CMD_COUNT + 1)

/* Per-verb counts for the session's last log line. */
struct smtp_counts {
	uint32_t ok[SMTP_CMD_COUNT + 2];
	uint32_t total[SMTP_CMD_COUNT + 2];
	uint32_t messages;
	uint64_t bytes;
};

struct smtp_session {
	enum smtp_state state;
	const struct cfg *cfg;
	const struct smtp_session_hooks *hooks;
	void    *arg;
	const bool *stressed;        /**< the worker's load flag (shorter timeouts) */
	const uint64_t *now_ms;      /**< the worker's clock */
	char     peer[SL_ADDR_STRLEN + 8];   /**< "[1.2.3.4]:25" for logs */
	uint64_t id;                 /**< session id for logs */

	/* protocol state */
	bool     greeted;            /**< greeting sent */
	bool     greet_paused;       /**< greet_pause still running */
	bool     connect_ok;         /**< connect verdict accepted */
	bool     helo_done;
	bool     esmtp;              /**< EHLO: client was told PIPELINING */
	bool     shutdown;           /**< 421 at the next command */
	bool     in_tx;              /**< MAIL given (accepted or pending) */
	bool     data_pending;       /**< DATA awaits its answer: what follows may be content */
	bool     tx_smtputf8;
	uint32_t tx;                 /**< transaction number, bumped at MAIL/RSET/EHLO/end */
	uint32_t rcpt_given;         /**< RCPTs in this transaction (for the limit) */
	uint32_t rcpt_ok;
	uint32_t errors;
	uint32_t junk;
	int16_t  closed_with;        /**< the reply id the engine closed with on its own
	                                  (timeout, pregreet, errors, shutdown...), -1 otherwise:
	                                  the caller's session outcome */
	char     helo[SL_HELO_MAX + 1];
	char     sender[SL_PATH_MAX + 1];
	char     rcpt_last[SL_PATH_MAX + 1];

	/* reply queue: slots [head, tail) in command order */
	uint32_t head, tail;

	/* the command line being read (or waiting for its turn) */
	uint32_t line_len;
	bool     line_ready;         /**< complete, waiting for the queue to drain */
	bool     line_overflow;      /**< longer than the limit: discarding to CR LF */
	uint32_t line_limit;

	/* DATA */
	struct smtp_data_scanner scan;
	int      data_err;           /**< first error reply id, or -1 */
	uint8_t  carry[3];           /**< last bytes emitted, held back: they may be the terminator */
	uint8_t  carry_len;
	uint64_t data_size;          /**< bytes passed to data_bytes */
	uint64_t data_budget_ms;     /**< min_data_rate deadline budget */
	uint64_t data_last_ms;

	struct smtp_counts counts;

	/* The big buffers last: smtp_session_init zeroes only what is above
	 * (a session starts often; these are written before they are read). */
	struct smtp_slot slots[SMTP_SLOTS];
	char     line[SMTP_LINE_MAX];    /**< command_line_limit is capped to fit */
};

/* Set up s; nothing is sent until smtp_session_start(). */
void smtp_session_init(struct smtp_session *s, const struct cfg *c,
		       const struct smtp_session_hooks *hooks, void *arg,
		       uint64_t id, const char *peer, const bool *stressed, const uint64_t *now_ms);
/* Run the connect decision and the greet pause; the greeting follows both. */
void smtp_session_start(struct smtp_session *s);
/* Client bytes; returns how many were consumed. */
size_t smtp_session_input(struct smtp_session *s, const struct sl_rx *rx);
/* Answer the pending command `slot`. */
void smtp_session_complete(struct smtp_session *s, uint32_t slot, const struct smtp_answer *a);
/* The client timer fired. */
void smtp_session_timer(struct smtp_session *s);
/* Graceful shutdown: 421 at the next command, after the transaction in flight. */
void smtp_session_shutdown(struct smtp_session *s);
/* True while replies are owed or a command waits. */
bool smtp_session_busy(const struct smtp_session *s);
/* "ehlo=1 mail=1 rcpt=1/2 data=1 quit=1 commands=5/6" */
size_t smtp_session_format_counts(const struct smtp_session *s, char *buf, size_t len);

#endif
