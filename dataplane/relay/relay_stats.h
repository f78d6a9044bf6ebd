/* relay_stats.h - a worker's counters of session, transaction and rejection
 * outcomes, the same for every transport: the worker writes them with plain
 * increments, the control thread reads them a word at a time (relaxed). */
#ifndef RELAY_STATS_H
#define RELAY_STATS_H

#include <stdint.h>

#include "cfg.h"

/* How a session ended. Each session counts once, in relay_session_free. */
enum relay_session_outcome {
	RELAY_SO_QUIT = 0,          /* the client said QUIT */
	RELAY_SO_CLIENT_CLOSED,     /* the client closed or reset without QUIT */
	RELAY_SO_TIMEOUT,           /* command or DATA timeout, data rate too low */
	RELAY_SO_REJECTED_CONNECT,  /* a list or limit refused it at connect */
	RELAY_SO_REJECTED,          /* a verdict closed it later (421 of a limit, store failing closed) */
	RELAY_SO_PREGREET,          /* talked before the greeting */
	RELAY_SO_PROTOCOL,          /* pipelined without PIPELINING */
	RELAY_SO_TOO_MANY_ERRORS,   /* hard_error_limit */
	RELAY_SO_KILLED,            /* the operator's sessions kill */
	RELAY_SO_SHUTDOWN,          /* 421 at shutdown, or aborted at its deadline */
	RELAY_SO_OTHER,             /* the transport dropped it (a leg it could not keep) */
	RELAY_SO_COUNT
};

/* How a transaction (from MAIL to its end) ended; each counts once. */
enum relay_tx_outcome {
	RELAY_TX_RELAYED = 0,       /* the backend said 2xx at the end of DATA, relayed */
	RELAY_TX_REJECTED,          /* ended by a 5xx (ours or the backend's) */
	RELAY_TX_TEMPFAIL,          /* ended by a 4xx (ours or the backend's) */
	RELAY_TX_ABORTED,           /* RSET, HELO, QUIT or a close with nothing refused */
	RELAY_TX_COUNT
};

/* Where a policy refusal happened. */
enum relay_rej_stage {
	RELAY_REJ_CONNECT = 0,
	RELAY_REJ_HELO,
	RELAY_REJ_MAIL,
	RELAY_REJ_RCPT,
	RELAY_REJ_DATA,             /* the end of DATA */
	RELAY_REJ_STAGE_COUNT
};

/*
 * What refused: a blocklist by kind (in enum cfg_list_kind's order), the
 * relay_domains check, the worker's own 4xx when the control thread cannot
 * be asked or does not answer, or a limit by kind and key. A bounded set:
 * never an address or a name. RELAY_RULE_LIMIT + kind * CFG_KEY_COUNT + key.
 */
enum relay_rule {
	RELAY_RULE_BLOCKLIST = 0,                            /* + enum cfg_list_kind */
	RELAY_RULE_RELAY_DOMAINS = CFG_LIST_KIND_COUNT,
	RELAY_RULE_OVERLOAD,        /* the ring to the control thread was full */
	RELAY_RULE_POLICY_TIMEOUT,  /* no verdict in time */
	RELAY_RULE_OTHER,           /* a verdict whose rule we do not know */
	RELAY_RULE_LIMIT,                                    /* + kind * CFG_KEY_COUNT + key */
	RELAY_RULE_COUNT = RELAY_RULE_LIMIT + CFG_LIMIT_KIND_COUNT * CFG_KEY_COUNT
};

/* The reply's class: a temporary (4xx) or a permanent (5xx) refusal. */
enum relay_rej_class { RELAY_REJ_4XX = 0, RELAY_REJ_5XX, RELAY_REJ_CLASS_COUNT };

/*
 * Only uint64_t words, so a reader can copy it word by word with relaxed
 * loads and never see a torn value (control_worker_stats_read).
 */
struct relay_stats {
	uint64_t sessions[RELAY_SO_COUNT];
	uint64_t tx[RELAY_TX_COUNT];
	uint64_t relayed_bytes;     /**< DATA bytes of relayed transactions as sent (what byte_rate counts) */
	uint64_t rejections[RELAY_REJ_STAGE_COUNT][RELAY_RULE_COUNT][RELAY_REJ_CLASS_COUNT];
};

#endif
