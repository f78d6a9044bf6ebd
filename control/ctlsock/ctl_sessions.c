/* ctl_sessions.c - sessions list / kill over the control socket: one
 * request fans out to every worker's ring, the answers come back as
 * messages (records, an end, a kill result) and are gathered here. */
#include "ctlsock/ctl_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "ctlsock/ctl_sessions.h"
#include "util/sl_clock.h"
#include "util/sl_evloop.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

struct ctl_sess_req {
	struct ctl_sess_req *next;
	struct ctl_sock *s;
	struct ctl_conn *c;          /**< NULL once the client went away */
	uint32_t id;                 /**< carried in the messages' seq */
	bool     kill;
	uint64_t target;             /**< kill: the session id */
	uint32_t max;                /**< list: records shown at most */
	unsigned nworkers, pending;
	uint8_t *answered;           /**< per worker: its end (or kill result) came */
	struct ctl_buf recs;         /**< list: the records' JSON so far */
	uint32_t shown;
	uint64_t total;
	bool     truncated;
	bool     found;              /**< kill: a worker had it */
	uint8_t  result;             /**< enum ctl_kill_result */
	unsigned worker;
	struct relay_session_info rec;
	struct tw_timer timer;
};

static const char *const kill_results[] = { "not_found", "closed", "after_message", "closing" };

static void put_rec(struct ctl_buf *b, unsigned worker, const struct relay_session_info *r)
{
	char a[SL_ADDR_STRLEN];

	ctl_buf_printf(b, "{\"id\":\"%" PRIx64 "\",\"worker\":%u,\"client\":", r->id, worker);
	ctl_buf_json_str(b, sl_addr_format(&r->client, a, sizeof(a), true));
	ctl_buf_printf(b, ",\"stage\":\"%s\",\"helo\":", relay_stage_name((enum relay_stage)r->stage));
	ctl_buf_json_str(b, r->helo);
	ctl_buf_puts(b, ",\"sender\":");
	ctl_buf_json_str(b, r->sender);
	ctl_buf_printf(b, ",\"age_ms\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"messages\":%u,\"backend\":",
		       r->age_ms, r->bytes, r->messages);
	ctl_buf_json_str(b, r->backend);
	ctl_buf_puts(b, "}");
}

static void req_unlink_free(struct ctl_sess_req *q)
{
	struct ctl_sess_req **pp;

	for (pp = &q->s->sess_reqs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	}
	if (tw_armed(&q->timer))
		tw_cancel(sl_evloop_wheel(q->s->loop), &q->timer);
	ctl_buf_free(&q->recs);
	free(q->answered);
	free(q);
}

/* Workers that have not answered, as a JSON array. */
static void put_missing(struct ctl_buf *b, const struct ctl_sess_req *q)
{
	bool first = true;

	ctl_buf_puts(b, "[");
	for (unsigned w = 0; w < q->nworkers; w++) {
		if (q->answered[w])
			continue;
		ctl_buf_printf(b, "%s%u", first ? "" : ",", w);
		first = false;
	}
	ctl_buf_puts(b, "]");
}

/* Everything is in (or the time is up): reply, free, resume the client. */
static void finish(struct ctl_sess_req *q)
{
	struct ctl_conn *c = q->c;
	struct ctl_sock *s = q->s;
	struct ctl_buf *b;

	if (c == NULL) {
		req_unlink_free(q);
		return;
	}
	b = &c->out;
	if (q->kill) {
		char id[24];
		snprintf(id, sizeof(id), "%" PRIx64, q->target);
		if (!q->found) {
			s->n.errors++;
			if (q->pending > 0) {
				struct ctl_buf m = { 0 };
				put_missing(&m, q);
				ctl_reply_error(b, "no session %s on the workers that answered; worker(s) %s did not "
						"answer within %d ms", id, m.p != NULL ? m.p : "?", CTL_SESSIONS_WAIT_MS);
				ctl_buf_free(&m);
			} else {
				ctl_reply_error(b, "no session %s", id);
			}
		} else {
			ctl_buf_printf(b, "{\"ok\":true,\"result\":\"%s\",\"session\":", kill_results[q->result]);
			put_rec(b, q->worker, &q->rec);
			ctl_buf_puts(b, "}\n");
		}
	} else {
		ctl_buf_puts(b, "{\"ok\":true,\"sessions\":[");
		if (q->recs.p != NULL)
			ctl_buf_add(b, q->recs.p, q->recs.len);
		ctl_buf_printf(b, "],\"count\":%u,\"total\":%" PRIu64 ",\"max\":%u,\"truncated\":%s,\"complete\":%s",
			       q->shown, q->total, q->max, q->truncated ? "true" : "false",
			       q->pending == 0 ? "true" : "false");
		ctl_buf_puts(b, ",\"missing_workers\":");
		put_missing(b, q);
		ctl_buf_puts(b, "}\n");
		if (q->recs.oom)
			b->oom = true;
	}
	if (b->oom) {
		ctl_buf_reset(b);
		ctl_reply_error(b, "no memory for the reply");
		c->closing = true;
	}
	req_unlink_free(q);
	ctl_conn_resume(c); /* may free c */
}

static void on_timeout(struct tw_timer *t)
{
	struct ctl_sess_req *q = (struct ctl_sess_req *)((char *)t - offsetof(struct ctl_sess_req, timer));

	sl_warn("control: sessions %s: %u worker(s) did not answer within %d ms", q->kill ? "kill" : "list",
		q->pending, CTL_SESSIONS_WAIT_MS);
	finish(q);
}

static struct ctl_sess_req *find_req(struct ctl_sock *s, uint32_t id)
{
	for (struct ctl_sess_req *q = s->sess_reqs; q != NULL; q = q->next)
		if (q->id == id)
			return q;
	return NULL;
}

void ctl_sessions_worker_msg(struct ctl_sock *s, unsigned worker, const struct ctl_msg *m)
{
	struct ctl_sess_req *q;

	if (s == NULL || (q = find_req(s, m->seq)) == NULL || worker >= q->nworkers || q->answered[worker])
		return; /* late: its request was answered without this worker */
	switch (m->type) {
	case CTL_MSG_SESSION_REC:
		if (q->kill)
			return;
		if (q->shown >= q->max) {
			q->truncated = true;
			return;
		}
		if (q->shown > 0)
			ctl_buf_puts(&q->recs, ",");
		put_rec(&q->recs, worker, &m->u.rec);
		q->shown++;
		return;
	case CTL_MSG_SESSIONS_END:
		if (q->kill)
			return;
		q->total += m->u.end.total;
		if (m->u.end.sent < m->u.end.total)
			q->truncated = true;
		break;
	case CTL_MSG_SESSION_KILLED:
		if (!q->kill)
			return;
		if (m->u.kill.result != CTL_KILL_NOT_FOUND && m->u.kill.result < SL_ARRAY_SIZE(kill_results)) {
			q->found = true;
			q->result = m->u.kill.result;
			q->worker = worker;
			q->rec = m->u.kill.rec;
		}
		break;
	default:
		return;
	}
	q->answered[worker] = 1;
	q->pending--;
	/* a kill is done once its session is found: the others can only say no */
	if (q->pending == 0 || (q->kill && q->found))
		finish(q);
}

static void usage(struct ctl_buf *b)
{
	ctl_reply_error(b, "usage: sessions [list [max N]] | sessions kill ID");
}

void ctl_sessions_cmd(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r)
{
	const char *sub = r->argc > 1 ? r->argv[1] : "list";
	unsigned n = control_nworkers(s->ctl);
	struct ctl_sess_req *q;
	struct ctl_msg m;
	uint64_t v = CTL_SESSIONS_DEFAULT, id = 0;
	bool kill = false;

	if (strcmp(sub, "list") == 0 && !(r->argc > 1 && r->quoted[1])) {
		if (r->argc == 4 && strcmp(r->argv[2], "max") == 0 && !r->quoted[2]) {
			if (ctl_parse_u64(r->argv[3], 1, CTL_SESSIONS_MAX, &v) != SL_OK) {
				ctl_reply_error(&c->out, "bad max '%.32s': want 1 to %d", r->argv[3], CTL_SESSIONS_MAX);
				return;
			}
		} else if (r->argc > 2) {
			usage(&c->out);
			return;
		}
	} else if (strcmp(sub, "kill") == 0 && !r->quoted[1]) {
		if (r->argc != 3) {
			usage(&c->out);
			return;
		}
		if (ctl_parse_session_id(r->argv[2], &id) != SL_OK) {
			ctl_reply_error(&c->out, "bad session id '%.32s': hex, as in the log's session=...", r->argv[2]);
			return;
		}
		kill = true;
	} else {
		usage(&c->out);
		return;
	}
	if (n == 0) {
		if (kill)
			ctl_reply_error(&c->out, "no session %" PRIx64, id);
		else
			ctl_buf_printf(&c->out, "{\"ok\":true,\"sessions\":[],\"count\":0,\"total\":0,\"max\":%u,"
				       "\"truncated\":false,\"complete\":true,\"missing_workers\":[]}\n", (unsigned)v);
		return;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL || (q->answered = calloc(n, 1)) == NULL) {
		free(q);
		ctl_reply_error(&c->out, "no memory");
		return;
	}
	q->s = s;
	q->c = c;
	q->id = ++s->sess_next_id;
	q->kill = kill;
	q->target = id;
	q->max = (uint32_t)v;
	q->nworkers = q->pending = n;
	tw_timer_init(&q->timer, on_timeout);
	tw_arm(sl_evloop_wheel(s->loop), &q->timer, sl_evloop_now(s->loop) + CTL_SESSIONS_WAIT_MS);
	q->next = s->sess_reqs;
	s->sess_reqs = q;
	c->waiting = true;
	if (kill)
		sl_info("control: uid %u: sessions kill %" PRIx64, (unsigned)c->uid, id);
	memset(&m, 0, sizeof(m));
	m.type = kill ? CTL_MSG_SESSION_KILL : CTL_MSG_SESSIONS_LIST;
	m.seq = q->id;
	m.session = id;
	m.generation = q->max;   /* list: records per worker at most */
	for (unsigned w = 0; w < n; w++) {
		m.worker = (uint16_t)w;
		control_post(s->ctl, w, &m);
	}
}

void ctl_sessions_cancel(struct ctl_sock *s, struct ctl_conn *c)
{
	for (struct ctl_sess_req *q = s->sess_reqs; q != NULL; q = q->next)
		if (q->c == c)
			q->c = NULL; /* its answers still come: finish() frees it then */
}

void ctl_sessions_free_all(struct ctl_sock *s)
{
	while (s->sess_reqs != NULL)
		req_unlink_free(s->sess_reqs);
}
