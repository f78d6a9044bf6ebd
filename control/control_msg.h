/* control_msg.h - the typed messages on the rings between the workers and
 * the control thread. They carry ids and values, never pointers. */
#ifndef CONTROL_MSG_H
#define CONTROL_MSG_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "policy/pol.h"
#include "util/sl_ring.h"

enum ctl_msg_type {
	CTL_MSG_POLICY_QUERY = 1,   /* worker -> control: decide q (limits) */
	CTL_MSG_POLICY_VERDICT,     /* control -> worker: verdict for (session, seq) */
	CTL_MSG_RELOAD,             /* control -> worker: a new config generation is published */
	CTL_MSG_SNAPSHOT,           /* control -> worker: a new list snapshot is published */
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
