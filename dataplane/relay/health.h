/* health.h - periodic SMTP health checks of the backends: the schedule and
 * the results on the control thread, the checks by kernel sockets on its
 * event loop or posted to a dataplane worker (transport dpdk). */
#ifndef HEALTH_H
#define HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "backend_pool.h"
#include "cfg.h"
#include "health_check.h"
#include "util/sl_addr.h"
#include "util/sl_evloop.h"

struct health_checker;

/* How a check ended. SKIP: it could not be tried (no resources on the
 * checking side), which says nothing about the backend and is not counted. */
enum health_result { HEALTH_FAIL = 0, HEALTH_PASS, HEALTH_SKIP };

/* One check handed to whoever runs it: ids and values, never pointers. */
struct health_probe_req {
	uint32_t       id;          /**< this check; its result names it (older ones are stale) */
	uint16_t       idx;         /**< backend slot */
	uint8_t        proxy;       /**< enum cfg_proxy of the backend */
	uint32_t       timeout_ms;  /**< the runner ends the check with a failure after this */
	struct sl_addr addr;        /**< the backend's address and port */
};

/* Start checking every in-use backend of pool each health_interval_ms, with
 * kernel sockets on l. */
struct health_checker *health_checker_new(struct sl_evloop *l, struct backend_pool *pool,
					  const struct cfg *c);

/*
 * health_checker_new_posted - the same schedule, but each check is handed
 * to post (transport dpdk: a message to a worker, which runs it on its own
 * TCP stack). post returns false when it could not hand it over (the round
 * is skipped for that backend). The runner answers with
 * health_checker_result(); one that never answers is failed
 * HEALTH_POSTED_SLACK_MS after the check's own timeout.
 */
typedef bool (*health_post_fn)(void *arg, const struct health_probe_req *r);
#define HEALTH_POSTED_SLACK_MS 1000
struct health_checker *health_checker_new_posted(struct sl_evloop *l, struct backend_pool *pool,
						 const struct cfg *c, health_post_fn post, void *arg);
/* The result of check `id` of slot idx (why: "greeting 554", for the log).
 * A result for a check no longer awaited (timed out, backend reconfigured,
 * a newer check) is dropped. Control thread only. */
void health_checker_result(struct health_checker *h, uint16_t idx, uint32_t id, enum health_result r,
			   const char *why);

/* New intervals and timeouts after a reload. */
void health_checker_apply(struct health_checker *h, const struct cfg *c);
void health_checker_free(struct health_checker *h);

#endif
