/* control_msg.h - the typed messages on the rings between the workers and
 * the control thread. They carry ids and values, never pointers. */
#ifndef CONTROL_MSG_H
#define CONTROL_MSG_H

#include <stdint.h>

#include "policy/pol.h"

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

#endif
