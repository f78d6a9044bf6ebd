/* health_priv.h - between the health check schedule (health.c) and what runs the checks (health_sock.c). */
#ifndef HEALTH_PRIV_H
#define HEALTH_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "health.h"

/*
 * A runner of checks. The schedule owns the timeout of each check: it
 * waits the check's timeout_ms plus slack_ms (a runner with a clock of its
 * own answers first), then stops it and counts a failure.
 */
struct health_runner_ops {
	uint32_t slack_ms;
	/* Begin r. Its result comes later through health_checker_result(), never
	 * from inside start. SL_OK; SL_ERROR: failed at once (why set);
	 * SL_DECLINED: not tried (not counted). */
	int  (*start)(void *runner, const struct health_probe_req *r, char *why, size_t whylen);
	/* Stop slot idx's check in flight, silently. why (may be NULL): what
	 * the check was waiting for, as the reason of a timeout. */
	void (*stop)(void *runner, uint16_t idx, char *why, size_t whylen);
	void (*free)(void *runner);
};

/* The kernel-socket runner on l; results go to h. */
void *health_sock_new(struct sl_evloop *l, struct health_checker *h);
extern const struct health_runner_ops health_sock_ops;

#endif
