/* control_sessions.c - the workers' side of the control socket's sessions
 * command: describe or kill live sessions, answering on the ring. Runs on
 * the worker (kernel thread or DPDK lcore): no lock, no allocation. */
#include "control.h"

#include <string.h>

#include "util/sl_ring.h"

/* Records leave room on the ring for the policy queries: at most half of
 * what is free when the request arrives. */
static uint32_t ring_room(const struct sl_ring *r)
{
	uint32_t used = sl_ring_count(r), size = r->mask + 1;

	return used < size ? size - used : 0;
}

static void list_sessions(struct control_port *p, const struct relay_worker *rw, const struct ctl_msg *req)
{
	struct ctl_msg m;
	struct relay_session *s;
	uint32_t room = ring_room(p->to_control), max = (uint32_t)req->generation, sent = 0, total = 0;

	/* one slot for the end, half of the rest for records */
	room = room > 1 ? (room - 1) / 2 : 0;
	if (max > room)
		max = room;
	memset(&m, 0, offsetof(struct ctl_msg, u));
	m.type = CTL_MSG_SESSION_REC;
	m.worker = rw->id;
	m.seq = req->seq;
	for (s = relay_session_first(rw); s != NULL; s = relay_session_next(s)) {
		total++;
		if (sent >= max)
			continue;   /* counted, not sent: the reply says truncated */
		relay_session_describe(s, &m.u.rec);
		m.session = m.u.rec.id;
		if (!sl_ring_push(p->to_control, &m, sizeof(m)))
			max = sent; /* full after all: stop sending */
		else
			sent++;
	}
	memset(&m, 0, offsetof(struct ctl_msg, u));
	m.type = CTL_MSG_SESSIONS_END;
	m.worker = rw->id;
	m.seq = req->seq;
	m.u.end.total = total;
	m.u.end.sent = sent;
	/* when even this does not fit, the control's timeout answers for us */
	sl_ring_push(p->to_control, &m, sizeof(m));
}

static void kill_session(struct control_port *p, struct relay_worker *rw, const struct ctl_msg *req)
{
	struct relay_session *s = relay_session_find(rw, req->session);
	struct ctl_msg m;

	memset(&m, 0, offsetof(struct ctl_msg, u));
	m.type = CTL_MSG_SESSION_KILLED;
	m.worker = rw->id;
	m.seq = req->seq;
	m.session = req->session;
	m.u.kill.result = CTL_KILL_NOT_FOUND;
	if (s != NULL) {
		int rc;

		relay_session_describe(s, &m.u.kill.rec);
		rc = relay_session_kill(s);
		m.u.kill.result = rc == SL_OK ? CTL_KILL_CLOSED : rc == SL_AGAIN ? CTL_KILL_AFTER_MESSAGE
								 : CTL_KILL_CLOSING;
	}
	sl_ring_push(p->to_control, &m, sizeof(m));
}

void control_worker_sessions(struct control *ctl, struct relay_worker *rw, const struct ctl_msg *m)
{
	struct control_port *p = control_port(ctl, rw->id);

	if (p == NULL)
		return;
	if (m->type == CTL_MSG_SESSIONS_LIST)
		list_sessions(p, rw, m);
	else if (m->type == CTL_MSG_SESSION_KILL)
		kill_session(p, rw, m);
	/* an operator's request: one wakeup for its answer is cheap */
	control_wake(ctl);
}
