/* fake_transport.h - an in-memory struct sl_transport_ops for relay_session
 * tests, fuzzing and benchmarks: recorded legs, a manual clock, timers fired
 * by the test, policy answered by a real embedded store, and a backend that
 * is either scripted by the test or a small automatic MTA. */
#ifndef FAKE_TRANSPORT_H
#define FAKE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/backend_pool.h"
#include "cfg.h"
#include "policy/pol.h"
#include "relay/relay_session.h"
#include "transport.h"

/* A growable byte buffer. */
struct fake_buf {
	uint8_t *p;
	size_t   len, cap;
};

void fake_buf_add(struct fake_buf *b, const void *p, size_t n);
void fake_buf_clear(struct fake_buf *b);
void fake_buf_free(struct fake_buf *b);

/* What one worker shares: config, pool, lists, store, the clock. */
struct fake_env {
	struct cfg          *cfg;
	struct backend_pool  pool;
	struct pol_snapshot *lists;
	struct pol_store    *store;
	struct relay_worker  w;
	uint64_t             next_id;
};

/* A config from text; NULL (and a message on stderr) if it does not parse. */
struct fake_env *fake_env_new(const char *cfg_text);
void fake_env_free(struct fake_env *e);

/* The automatic MTA on the backend leg (fake_conn.auto_mta). */
struct fake_mta {
	bool     pipelining;        /**< offer PIPELINING */
	bool     xclient;           /**< offer XCLIENT */
	bool     greet_421;         /**< greet with 421 */
	int      mail_code;         /**< reply to MAIL (default 250) */
	int      dot_code;          /**< reply to end of DATA (default 250) */
	int      rcpt_code;         /**< reply to RCPT (default 250) */
	bool     reset_in_data;     /**< reset the leg at the first DATA bytes */
	bool     silent_dot;        /**< never answer the end of DATA */
	bool     reset_pending;     /**< private: reset the leg at the next settle */
	/* state */
	struct fake_buf line;       /**< command line being read */
	bool     in_data;
	bool     proxy_v2_skip;     /**< a v2 header is being skipped */
	uint32_t skip;
	uint8_t  tail[5];           /**< last bytes of DATA, for the terminator */
	uint32_t tail_len;
	struct fake_buf msg;        /**< the current message */
	uint32_t messages;          /**< messages ended with CR LF . CR LF */
	uint32_t accepted;          /**< ... and answered 250 */
	uint32_t bare;              /**< bare CR or LF seen anywhere in DATA */
	uint32_t commands;
	struct fake_buf last_msg;   /**< the last complete message (without ".\r\n") */
	struct fake_buf replies;    /**< replies waiting to be delivered */
};

#define FAKE_MAX_QUERIES 64
#define FAKE_MAX_CONNECTS 16

struct fake_conn {
	struct fake_env      *env;
	struct relay_session *s;       /**< NULL once freed */
	void                 *mem;
	struct fake_buf out[2];        /**< bytes the session sent on each leg (client, backend) */
	size_t   out_seen[2];          /**< what the test already looked at */
	struct fake_buf in;            /**< client bytes not consumed yet */
	bool     client_open;
	bool     bk_open;              /**< connect() called, not closed */
	bool     bk_connecting;        /**< waiting for the test's connect result */
	bool     client_close_abort;
	unsigned client_closes, bk_closes, bk_aborts;
	unsigned nconnect;
	struct sl_addr connect_dst[FAKE_MAX_CONNECTS];
	int      connect_sync_rc;      /**< what connect() returns (SL_OK) */
	bool     auto_connect;         /**< connect succeeds at the next settle */
	int      auto_connect_fail;    /**< this many connects fail (refused) first */
	bool     resume;
	unsigned resumes;
	uint32_t timer_ms[SL_TIMER_COUNT];
	uint64_t timer_due[SL_TIMER_COUNT]; /**< 0 = not armed */
	unsigned timer_sets[SL_TIMER_COUNT];
	/* policy */
	bool     manual_policy;        /**< the test answers queries itself */
	struct { struct pol_query q; uint32_t seq; } q[FAKE_MAX_QUERIES];
	unsigned nq;
	unsigned policy_calls;
	int      policy_rc;            /**< what policy() returns (SL_OK) */
	size_t   bk_pending;           /**< what pending(BACKEND) answers */
	/* the backend */
	bool     auto_mta;
	struct fake_mta mta;
	unsigned bk_bytes_total;
	bool     in_settle;
	bool     freeing;              /**< relay_session_free() was called */
};

/* A session on e with the client at ip:port (e.g. "198.18.0.7", 40000).
 * auto_mta: the automatic MTA answers the backend leg and connects succeed. */
struct fake_conn *fake_conn_new(struct fake_env *e, const char *ip, uint16_t port, bool auto_mta);
/* Free the session (if still alive: a client reset first) and the fake. */
void fake_conn_free(struct fake_conn *c);

/* Client bytes, offered as the transport does (all buffered input), then settle. */
void fake_client_send(struct fake_conn *c, const void *p, size_t n);
void fake_client_str(struct fake_conn *c, const char *s);
/* The client closes (EOF) or resets its leg. */
void fake_client_close(struct fake_conn *c, bool reset);

/* Scripted backend: the connect result, a reply, a close/reset. */
void fake_backend_connected(struct fake_conn *c, bool ok);
void fake_backend_str(struct fake_conn *c, const char *s);
void fake_backend_closed(struct fake_conn *c, bool reset);

/* The clock: advance by ms, firing due timers in order. */
void fake_advance(struct fake_conn *c, uint64_t ms);
/* Fire a timer now, whatever its deadline. */
void fake_fire(struct fake_conn *c, enum sl_timer_id id);

/* Answer the oldest query (manual_policy) with v, or with the store if v is NULL. */
void fake_policy_answer(struct fake_conn *c, const struct pol_verdict *v);

/* Run what a transport loop would: resume, policy, auto MTA, free. */
void fake_settle(struct fake_conn *c);

/* New output on a leg since the last call, NUL-terminated (static buffer per leg). */
const char *fake_take(struct fake_conn *c, enum sl_leg leg);
/* Everything ever sent on a leg, NUL-terminated. */
const char *fake_all(struct fake_conn *c, enum sl_leg leg);

/* A log capture for sl_log_set_sink. */
void fake_log_start(void);
void fake_log_stop(void);
const char *fake_log(void);       /* every line so far, '\n' separated */
bool fake_log_has(const char *needle);
void fake_log_clear(void);

#endif
