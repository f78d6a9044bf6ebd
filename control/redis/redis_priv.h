/* redis_priv.h - what the files of control/redis share: the connection and the scripts. */
#ifndef REDIS_PRIV_H
#define REDIS_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "util/timer_wheel.h"

struct sl_evloop;

enum redis_conn_state { REDIS_DOWN = 0, REDIS_CONNECTING, REDIS_UP };

/*
 * One hiredis async context at a time, attached to the control loop, and
 * everything about getting it back: connect timeout, AUTH, SELECT, the
 * owner's own setup (SCRIPT LOAD), reconnect with backoff and jitter.
 * Commands may be queued as soon as the state is not DOWN: hiredis keeps
 * them behind the setup commands, in order.
 */
struct redis_conn {
	struct sl_evloop  *loop;
	const char        *what;     /**< for the log: "redis" when NULL, "redis lists"... */
	redisAsyncContext *ac;       /**< NULL when DOWN */
	enum redis_conn_state state;
	char     *host, *path, *password;
	uint16_t  port;
	int       db;
	uint32_t  connect_timeout_ms;
	uint32_t  backoff_min_ms, backoff_max_ms, backoff_ms;
	uint64_t  rng;
	/* the owner queues its own setup commands (SCRIPT LOAD) and calls
	 * redis_conn_ready() when they succeeded */
	void    (*on_setup)(struct redis_conn *rc, void *arg);
	void     *arg;
	struct tw_timer retry_timer;   /**< next connect attempt */
	struct tw_timer connect_timer; /**< connect + setup must finish by then */
	/* fd interest as hiredis asked for it */
	int       fd;
	unsigned  events;
	bool      fd_added;
	bool      closing;             /**< redis_conn_fini: no reconnect */
	uint32_t  failures;            /**< connect attempts failed in a row (for the log) */
	uint64_t  writes;              /**< writable events handled: pipelining makes them few */
};

int  redis_conn_init(struct redis_conn *rc, struct sl_evloop *loop);
/*
 * Where and how rc connects, with the defaults for what is 0 or NULL:
 * 127.0.0.1:6379 unless path (a unix socket) is given, the connect
 * timeout and the reconnect backoff of redis_store.h. The strings are
 * copied. False when a copy could not be made (rc holds what was).
 */
bool redis_conn_target(struct redis_conn *rc, const char *host, uint16_t port, const char *path,
		       const char *password, int db, uint32_t connect_timeout_ms, uint32_t backoff_min_ms,
		       uint32_t backoff_max_ms);
/* Connect now (and again after every loss, until redis_conn_fini). */
void redis_conn_start(struct redis_conn *rc);
/* The owner's setup succeeded: the connection is usable, backoff resets. */
void redis_conn_ready(struct redis_conn *rc);
/* Give up on this connection (setup failed, Redis hung) and reconnect later.
 * Pending commands get their callbacks with a NULL reply, from inside. */
void redis_conn_drop(struct redis_conn *rc, const char *why);
void redis_conn_fini(struct redis_conn *rc);

/* ---- scripts */

/* The store's scripts first (it loads [0, REDIS_SCRIPT_STORE_COUNT)), then
 * the lists mirror's (redis_lists.c). */
enum redis_script_id {
	REDIS_SCRIPT_DECIDE = 0,
	REDIS_SCRIPT_REFRESH,
	REDIS_SCRIPT_REFUND,     /**< undo one slot's charge of a decision refused on another */
	REDIS_SCRIPT_STORE_COUNT,
	REDIS_SCRIPT_LISTS_SET = REDIS_SCRIPT_STORE_COUNT,
	REDIS_SCRIPT_LISTS_DEL,
	REDIS_SCRIPT_LISTS_BEGIN,
	REDIS_SCRIPT_COUNT
};

struct redis_script {
	const char *name;
	const char *body;
	char        sha[41];  /**< SHA1 of body in hex, what EVALSHA names */
};

/* Fill the SHA1s (once, at start). */
void redis_scripts_init(void);
const struct redis_script *redis_script(enum redis_script_id id);

#endif
