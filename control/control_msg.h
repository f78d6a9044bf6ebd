/* control_msg.h - the typed messages on the rings between the workers and
 * the control thread. They carry ids and values, never pointers. */
#ifndef CONTROL_MSG_H
#define CONTROL_MSG_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "policy/pol.h"
#include "relay/health_check.h"
#include "relay/relay_session.h"
#include "util/sl_ring.h"

enum ctl_msg_type {
	CTL_MSG_POLICY_QUERY = 1,   /* worker -> control: decide q (limits) */
	CTL_MSG_POLICY_VERDICT,     /* control -> worker: verdict for (session, seq) */
	CTL_MSG_RELOAD,             /* control -> worker: a new config generation is published */
	CTL_MSG_SNAPSHOT,           /* control -> worker: a new list snapshot is published */
	/* the control socket's sessions command; seq is the request's id */
	CTL_MSG_SESSIONS_LIST,      /* control -> worker: describe up to `generation` live sessions */
	CTL_MSG_SESSION_REC,        /* worker -> control: one of them (u.rec) */
	CTL_MSG_SESSIONS_END,       /* worker -> control: that was all (u.end) */
	CTL_MSG_SESSION_KILL,       /* control -> worker: close `session` with a 421 */
	CTL_MSG_SESSION_KILLED,     /* worker -> control: what became of it (u.kill) */
	/* health checks under transport dpdk; seq is the check's id */
	CTL_MSG_HEALTH_PROBE,       /* control -> worker: check a backend on your stack (u.probe) */
	CTL_MSG_HEALTH_RESULT,      /* worker -> control: how that check ended (u.result) */
};

/* The end of a worker's answer to CTL_MSG_SESSIONS_LIST. */
struct ctl_sessions_end {
	uint32_t total;                /**< live sessions on the worker */
	uint32_t sent;                 /**< records sent before this */
};

enum ctl_kill_result {
	CTL_KILL_NOT_FOUND = 0,        /* not on this worker */
	CTL_KILL_CLOSED,               /* 421 sent, closing */
	CTL_KILL_AFTER_MESSAGE,        /* its message is at the backend: closed once answered */
	CTL_KILL_CLOSING,              /* was closing already */
};

struct ctl_session_kill {
	uint8_t                    result; /**< enum ctl_kill_result */
	struct relay_session_info  rec;    /**< the session before the kill (found only) */
};

/* A health check for a worker to run: the backend by slot and address. */
struct ctl_health_probe {
	uint16_t       idx;            /**< backend slot */
	uint8_t        proxy;          /**< enum cfg_proxy: PROXY header first */
	uint32_t       timeout_ms;
	struct sl_addr addr;
};

struct ctl_health_result {
	uint16_t idx;
	uint8_t  result;               /**< enum health_result */
	char     why[HEALTH_WHY_MAX];  /**< "greeting 554", for the log */
};

struct ctl_msg {
	uint16_t type;              /**< enum ctl_msg_type */
	uint16_t worker;
	uint32_t seq;               /**< the session's query number */
	uint64_t session;           /**< session id: the worker's slot and generation */
	uint64_t generation;        /**< CTL_MSG_RELOAD / SNAPSHOT */
	union {
		struct pol_query   query;
		struct pol_verdict verdict;
		struct relay_session_info rec;
		struct ctl_sessions_end end;
		struct ctl_session_kill kill;
		struct ctl_health_probe probe;
		struct ctl_health_result result;
	} u;
};

/*
 * ctl_msg_push_query - a worker's policy query for session/seq onto its
 * ring to the control thread. False when the ring is full. Every transport
 * sends queries this way, so the message is built in one place.
 */
static inline bool ctl_msg_push_query(struct sl_ring *to_control, uint16_t worker, uint64_t session,
				      uint32_t seq, const struct pol_query *q)
{
	struct ctl_msg m;

	memset(&m, 0, offsetof(struct ctl_msg, u));
	m.type = CTL_MSG_POLICY_QUERY;
	m.worker = worker;
	m.seq = seq;
	m.session = session;
	m.u.query = *q;
	m.u.query.worker = worker;
	return sl_ring_push(to_control, &m, sizeof(m));
}

#endif
