/* relay_session.c - one proxied session: the SMTP engine's decisions (lists,
 * limits, relay domains), the backend leg, and the rule that the client gets
 * 250 for a message only after the backend said 250 for it. */
#include "relay_session.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend_pool.h"
#include "relay_client.h"
#include "smtp/smtp_session.h"
#include "util/sl_log.h"

/* Last resort when a verdict never comes back (the store itself answers
 * within its own timeout, failing open or closed per rule). */
#define POLICY_WAIT_MS 15000

/* Forwarded DATA queued toward the backend before we stop reading the client. */
#define BACKEND_HIGH_WATER SL_TX_HIGH_WATER
#define RELAY_JOBS  SMTP_SLOTS
#define TAG_SILENT  0xffffffffu     /* a backend RSET whose reply nobody waits for */

enum job_step {
	JOB_START = 0,    /* local checks and lists */
	JOB_POLICY,       /* waiting for the store's verdict */
	JOB_BACKEND,      /* policy passed: needs the backend leg ready */
};

/* A command of the client that needs our decision and usually the backend,
 * kept in order: its cmd struct points into the engine's scratch line, so
 * what the backend needs is copied here. */
struct relay_job {
	uint8_t  verb;          /**< SMTP_CMD_MAIL / RCPT / RSET / DATA, or SMTP_VERB_DOT */
	uint8_t  step;          /**< enum job_step */
	uint32_t slot;          /**< the engine's reply slot */
	uint16_t addr_off, addr_len;   /**< the path inside line[] */
	uint16_t line_len;
	uint64_t size;          /**< end of DATA: message bytes */
	char     line[SL_PATH_MAX + 300];
};

/* A command sent to the backend, waiting for its reply (same order). */
struct relay_inflight {
	uint8_t  verb;
	uint32_t slot;
};

enum backend_state { BK_NONE = 0, BK_CONNECTING, BK_HANDSHAKE, BK_READY };

struct relay_session {
	struct smtp_session smtp;     /**< initialised by smtp_session_init */
	/* everything from here on is zeroed at start */
	const struct sl_transport_ops *ops;
	/* The backend leg's protocol state is large (its command queue): it is
	 * allocated at the first backend connect, so sessions that never reach
	 * MAIL (most of a flood) do not pay for it, and kept until the session
	 * ends, so no callback of it can run on freed memory. */
	struct relay_client *rc;
	void    *conn;
	struct relay_worker *w;
	struct cfg *cfg;
	uint64_t id;
	struct sl_addr client, local;
	char     peer[SL_ADDR_STRLEN + 8];

	/* policy */
	bool     skip_limits;        /**< the client is allowlisted */
	bool     tx_skip_limits;     /**< the sender is allowlisted */
	bool     store_connected;    /**< the store counted this session at CONNECT */
	uint32_t pol_seq;

	/* jobs in command order: [jhead, jtail) */
	uint32_t jhead, jtail;
	uint32_t ihead, itail;
	struct relay_inflight inflight[RELAY_CLIENT_QUEUE];

	/* the hook being answered synchronously, if any */
	bool     in_hook;
	uint32_t hook_slot;
	bool     hook_done;
	struct smtp_answer hook_answer;

	/* backend leg */
	enum backend_state bk;
	int      backend;            /**< pool slot, -1 = none */
	uint64_t tried;              /**< slots tried for the current attempt */
	unsigned attempts;
	bool     bk_tx;              /**< a MAIL is open at the backend */
	bool     tx_lost;            /**< the backend died inside the client's transaction */
	uint32_t mail_refused_tx;    /**< 1 + the transaction whose MAIL was refused; 0 none */
	bool     data_mode;          /**< message content is flowing to the backend */
	bool     data_failed;        /**< ... and the backend leg broke meanwhile */
	bool     closing;
	bool     kill_pending;       /**< killed while a message end was at the backend */
	uint32_t msg_nrcpt;          /**< recipients of the message at the backend */
	char     backend_name[CFG_NAME_MAX];

	/* the worker's registry of live sessions */
	struct relay_session *live_next, **live_pprev;
	uint64_t start_ms;

	/* outcomes for the worker's counters (relay_stats.h) */
	uint8_t  outcome;            /**< enum relay_session_outcome + 1 once known, 0 before */
	bool     tx_open;            /**< a MAIL was accepted: its transaction counts at its end */
	uint8_t  tx_refused;         /**< reply class (4, 5) of the last refused RCPT/DATA, 0 none */
	uint32_t tx_no;              /**< the engine's number of the open transaction */
	uint32_t tx_refused_no;      /**< ... and of the one tx_refused belongs to */
	uint64_t msg_size;           /**< the message at the backend: counted once relayed */

	/* Not zeroed at start: written before they are read. */
	struct relay_job jobs[RELAY_JOBS];
	char     hook_reply[512];
};

size_t relay_session_size(void)
{
	return sizeof(struct relay_session);
}

uint64_t relay_session_id(const struct relay_session *s)
{
	return s->id;
}

/* ---- outcome counters (relay_stats.h): plain increments, the worker's own */

/* The first reason known is the one the session ends with. */
static void set_outcome(struct relay_session *s, enum relay_session_outcome o)
{
	if (s->outcome == 0)
		s->outcome = (uint8_t)(o + 1);
}

/* The session's outcome when nothing set one on the way: what the engine
 * closed with, else QUIT, else the transport ended it. */
static enum relay_session_outcome final_outcome(const struct relay_session *s)
{
	if (s->outcome != 0)
		return (enum relay_session_outcome)(s->outcome - 1);
	switch (s->smtp.closed_with) {
	case SMTP_R_TIMEOUT:
	case SMTP_R_DATA_TOO_SLOW:
		return RELAY_SO_TIMEOUT;
	case SMTP_R_PREGREET:
		return RELAY_SO_PREGREET;
	case SMTP_R_PIPELINING:
		return RELAY_SO_PROTOCOL;
	case SMTP_R_HARD_ERRORS:
	case SMTP_R_JUNK_COMMANDS:
		return RELAY_SO_TOO_MANY_ERRORS;
	case SMTP_R_SHUTDOWN:
		return RELAY_SO_SHUTDOWN;
	default:
		break;
	}
	if (s->smtp.counts.total[SMTP_CMD_QUIT] > 0)
		return RELAY_SO_QUIT;
	/* aborted at the shutdown deadline, without a word to the client */
	return s->w->shutting_down ? RELAY_SO_SHUTDOWN : RELAY_SO_OTHER;
}

/*
 * The rule of a verdict as a bounded index. The stores name it in words
 * ("blocklist ip", "limit msg_rate ip": pol_snapshot.c, pol_limit.c); this
 * runs for refusals only, so a few string compares are cheap enough.
 */
static enum relay_rule rule_index(const char *rule)
{
	if (strncmp(rule, "blocklist ", 10) == 0) {
		for (unsigned k = 0; k < CFG_LIST_KIND_COUNT; k++)
			if (strcmp(rule + 10, cfg_list_kind_name((enum cfg_list_kind)k)) == 0)
				return (enum relay_rule)(RELAY_RULE_BLOCKLIST + k);
		return RELAY_RULE_OTHER;
	}
	if (strncmp(rule, "limit ", 6) == 0) {
		const char *kind = rule + 6, *sp = strchr(kind, ' ');

		for (unsigned k = 0; sp != NULL && k < CFG_LIMIT_KIND_COUNT; k++) {
			const char *kn = cfg_limit_kind_name((enum cfg_limit_kind)k);

			if (strlen(kn) != (size_t)(sp - kind) || memcmp(kind, kn, (size_t)(sp - kind)) != 0)
				continue;
			for (unsigned y = 0; y < CFG_KEY_COUNT; y++)
				if (strcmp(sp + 1, cfg_limit_key_name((enum cfg_limit_key)y)) == 0)
					return (enum relay_rule)(RELAY_RULE_LIMIT + k * CFG_KEY_COUNT + y);
		}
		return RELAY_RULE_OTHER;
	}
	if (strcmp(rule, "overload") == 0)
		return RELAY_RULE_OVERLOAD;
	if (strcmp(rule, "policy timeout") == 0)
		return RELAY_RULE_POLICY_TIMEOUT;
	return RELAY_RULE_OTHER;
}

static void count_rejection(struct relay_session *s, enum pol_stage st, enum relay_rule rule, unsigned code)
{
	if ((unsigned)st >= RELAY_REJ_STAGE_COUNT || (unsigned)rule >= RELAY_RULE_COUNT)
		return;
	s->w->stats.rejections[st][rule][code >= 500 ? RELAY_REJ_5XX : RELAY_REJ_4XX]++;
}

/* A policy verdict refused a command at stage st (or the session, at connect). */
static void count_verdict(struct relay_session *s, enum pol_stage st, const struct pol_verdict *v)
{
	count_rejection(s, st, rule_index(v->rule), v->code);
	if (v->action == POL_DISCONNECT)
		set_outcome(s, st == POL_STAGE_CONNECT ? RELAY_SO_REJECTED_CONNECT : RELAY_SO_REJECTED);
}

/* The transaction ends: refused by a reply of class cls (4 or 5), or, with
 * cls 0, otherwise (RSET, HELO, QUIT, close): as its last refusal says. */
static void tx_end(struct relay_session *s, unsigned cls)
{
	if (cls == 0) {
		if (!s->tx_open)
			return;
		cls = s->tx_refused_no == s->tx_no ? s->tx_refused : 0;
	}
	s->tx_open = false;
	s->w->stats.tx[cls == 5 ? RELAY_TX_REJECTED : cls == 4 ? RELAY_TX_TEMPFAIL : RELAY_TX_ABORTED]++;
}

/* Reply class (2..5) of an answer as finish() gets it. */
static unsigned answer_class(bool ok, const char *reply, size_t len, int reply_id)
{
	if (reply != NULL && len > 0 && reply[0] >= '2' && reply[0] <= '5')
		return (unsigned)(reply[0] - '0');
	if (reply_id >= 0 && reply_id < SMTP_R_COUNT)
		return smtp_replies[reply_id].code / 100u;
	return ok ? 2 : 4;
}

/*
 * Every answer of a MAIL, RCPT, DATA, end of DATA or RSET the relay gives
 * passes here: the transaction's course. The engine's slot still holds the
 * command's verb and transaction number (it is reused once the reply has
 * left). Answers may come out of command order (a RCPT refused on the spot
 * while its MAIL waits for the backend): the number says whose they are.
 */
static void tx_note(struct relay_session *s, uint32_t slot, unsigned cls)
{
	const struct smtp_slot *sl = &s->smtp.slots[slot % SMTP_SLOTS];

	switch (sl->verb) {
	case SMTP_CMD_MAIL:
		if (cls == 2) {
			s->tx_open = true;
			s->tx_no = sl->tx;
		} else {
			tx_end(s, cls);   /* refused at MAIL: a transaction that never opened */
		}
		return;
	case SMTP_CMD_RCPT:
	case SMTP_CMD_DATA:
		if (cls >= 4) {
			s->tx_refused = (uint8_t)cls;
			s->tx_refused_no = sl->tx;
		}
		return;
	case SMTP_VERB_DOT:
		if (cls != 2) {
			tx_end(s, cls);
			return;
		}
		s->tx_open = false;   /* a refused recipient of it does not matter now */
		s->w->stats.tx[RELAY_TX_RELAYED]++;
		s->w->stats.relayed_bytes += s->msg_size;
		return;
	case SMTP_CMD_RSET:
		tx_end(s, 0);
		return;
	default:
		return;
	}
}

/* ---- answering the engine */

/*
 * Answer slot: synchronously when the engine is inside the hook for that
 * very slot (it must not be re-entered), through smtp_session_complete
 * otherwise.
 */
static void finish(struct relay_session *s, uint32_t slot, bool ok, const char *reply, size_t len,
		   int reply_id, bool close)
{
	struct smtp_answer a = { .ok = ok, .close = close, .reply_id = reply_id, .reply = reply, .len = len };

	/* A refused MAIL: the RCPTs pipelined behind it get 503 (job_local_checks).
	 * The engine's slot names the command and its transaction. */
	if (!ok && s->smtp.slots[slot % SMTP_SLOTS].verb == SMTP_CMD_MAIL)
		s->mail_refused_tx = s->smtp.slots[slot % SMTP_SLOTS].tx + 1;
	tx_note(s, slot, answer_class(ok, reply, len, reply_id));
	if (s->in_hook && slot == s->hook_slot) {
		if (reply != NULL && len > 0) {
			len = SL_MIN(len, sizeof(s->hook_reply));
			memcpy(s->hook_reply, reply, len);
			a.reply = s->hook_reply;
			a.len = len;
		}
		s->hook_answer = a;
		s->hook_done = true;
		return;
	}
	smtp_session_complete(&s->smtp, slot, &a);
}

static void finish_id(struct relay_session *s, uint32_t slot, bool ok, enum smtp_reply_id id)
{
	finish(s, slot, ok, NULL, 0, (int)id, false);
}

static void finish_verdict(struct relay_session *s, uint32_t slot, const struct pol_verdict *v)
{
	char buf[256];
	size_t n = smtp_reply_format(buf, sizeof(buf), v->code, v->status, v->text);

	finish(s, slot, false, buf, n, -1, v->action == POL_DISCONNECT);
}

/* ---- policy */

static enum pol_stage job_stage(unsigned verb)
{
	switch (verb) {
	case SMTP_CMD_MAIL:
		return POL_STAGE_MAIL;
	case SMTP_CMD_RCPT:
		return POL_STAGE_RCPT;
	case SMTP_VERB_DOT:
		return POL_STAGE_DATA;
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
		return POL_STAGE_HELO;
	default:
		return POL_STAGE_COUNT;
	}
}

/* Does any limit rule of the config apply at this stage? */
static bool stage_has_limits(const struct cfg *c, enum pol_stage st)
{
	for (unsigned i = 0; i < c->nlimits; i++) {
		enum cfg_limit_kind k = c->limits[i].kind;
		if ((st == POL_STAGE_CONNECT && (k == CFG_LIMIT_CONN_RATE || k == CFG_LIMIT_CONCURRENCY)) ||
		    (st == POL_STAGE_MAIL && k == CFG_LIMIT_MSG_RATE) ||
		    (st == POL_STAGE_RCPT && k == CFG_LIMIT_RCPT_RATE) ||
		    (st == POL_STAGE_DATA && k == CFG_LIMIT_BYTE_RATE))
			return true;
	}
	return false;
}

/* Bounded string copy without printf's cost: these run on every command. */
static size_t copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}

static void build_query(const struct relay_session *s, enum pol_stage st, const char *rcpt,
			size_t rcpt_len, uint64_t size, struct pol_query *q)
{
	memset(q, 0, offsetof(struct pol_query, helo));
	q->stage = (uint8_t)st;
	q->skip_limits = s->skip_limits || (st >= POL_STAGE_MAIL && st <= POL_STAGE_DATA && s->tx_skip_limits);
	q->worker = s->w->id;
	q->client = s->client;
	q->size = size;
	q->nrcpt = s->smtp.rcpt_ok;
	copy_str(q->helo, sizeof(q->helo), s->smtp.helo);
	copy_str(q->sender, sizeof(q->sender), s->smtp.sender);
	rcpt_len = SL_MIN(rcpt_len, sizeof(q->rcpt) - 1);
	if (rcpt != NULL)
		memcpy(q->rcpt, rcpt, rcpt_len);
	q->rcpt[rcpt_len] = '\0';
}

/*
 * The lists, then the limits. Returns SL_OK (go on), SL_DECLINED (*v says
 * why) or SL_AGAIN (a query is on its way to the control thread).
 */
static int policy_check(struct relay_session *s, const struct pol_query *q, struct pol_verdict *v)
{
	int rc = SL_OK;

	pol_verdict_accept(v);
	if (s->w->lists != NULL)
		rc = pol_lists_check(s->w->lists, q, v);
	if (rc == SL_DECLINED)
		return SL_DECLINED;
	if (rc == SL_DONE) {
		if (q->stage == POL_STAGE_CONNECT)
			s->skip_limits = true;
		else if (q->stage == POL_STAGE_MAIL)
			s->tx_skip_limits = true;
		return SL_OK;
	}
	if (q->skip_limits || !stage_has_limits(s->cfg, (enum pol_stage)q->stage))
		return SL_OK;
	if (s->ops->policy(s->conn, q, ++s->pol_seq) != SL_OK) {
		/* The ring to the control thread is full: overload, never a 5xx. */
		v->action = q->stage == POL_STAGE_CONNECT ? POL_DISCONNECT : POL_TEMPFAIL;
		v->code = q->stage == POL_STAGE_CONNECT ? 421 : 451;
		snprintf(v->status, sizeof(v->status), "4.3.0");
		snprintf(v->text, sizeof(v->text), "Error: server busy, try again later");
		snprintf(v->rule, sizeof(v->rule), "overload");
		return SL_DECLINED;
	}
	s->ops->timer(s->conn, SL_TIMER_POLICY, POLICY_WAIT_MS);
	return SL_AGAIN;
}

/* ---- backend leg */

/* Failed connects count toward marking a backend down only when health
 * checks run: they are what brings a backend back up. */
static uint32_t passive_fall(const struct cfg *c)
{
	return cfg_health_checks_run(c) ? c->relay.health_fall : 0;
}

static void run_jobs(struct relay_session *s);
static void backend_failed(struct relay_session *s, enum smtp_reply_id why, bool retry);
static void kill_if_pending(struct relay_session *s);

static void rc_send(void *arg, const void *p, size_t n)
{
	struct relay_session *s = arg;

	if (s->ops->send(s->conn, SL_LEG_BACKEND, p, n) != SL_OK)
		backend_failed(s, SMTP_R_BACKEND_FAILED, false);
}

static void arm_backend_timer(struct relay_session *s)
{
	uint32_t ms = 0;

	if (s->bk == BK_CONNECTING)
		ms = s->cfg->relay.connect_timeout_ms;
	else if (s->bk == BK_HANDSHAKE)
		ms = s->cfg->relay.reply_timeout_ms;
	else if (s->bk == BK_READY && s->ihead != s->itail) {
		const struct relay_inflight *last = &s->inflight[(s->itail - 1) % RELAY_CLIENT_QUEUE];
		ms = last->verb == SMTP_VERB_DOT ? s->cfg->relay.data_done_timeout_ms
						 : s->cfg->relay.reply_timeout_ms;
	}
	s->ops->timer(s->conn, SL_TIMER_BACKEND, ms);
}

static void rc_ready(void *arg)
{
	struct relay_session *s = arg;

	s->bk = BK_READY;
	s->attempts = 0;
	s->tried = 0;
	backend_pool_connect_result(s->w->pool, s->backend, true, passive_fall(s->cfg));
	arm_backend_timer(s);
	run_jobs(s);
}

static void rc_reply(void *arg, uint32_t tag, const struct backend_reply *r)
{
	struct relay_session *s = arg;
	struct relay_inflight in;
	bool ok;

	if (s->ihead == s->itail)
		return;
	in = s->inflight[s->ihead++ % RELAY_CLIENT_QUEUE];
	arm_backend_timer(s);
	if (in.slot != tag)
		sl_warn("session=%" PRIx64 " backend reply order: tag %u, expected %u", s->id, tag, in.slot);
	switch (in.verb) {
	case SMTP_CMD_MAIL:
		ok = r->code / 100 == 2;
		s->bk_tx = ok;
		break;
	case SMTP_CMD_DATA:
		ok = r->code == 354;
		if (ok) {
			s->data_mode = true;
			s->data_failed = false;
			finish(s, in.slot, true, NULL, 0, -1, false); /* our own 354 */
			return;
		}
		break;
	case SMTP_VERB_DOT:
		ok = r->code / 100 == 2;
		s->bk_tx = false;
		if (ok)
			sl_info("session=%" PRIx64 " relayed from=<%s> nrcpt=%u backend=%s reply=%.*s",
				s->id, s->smtp.sender, s->msg_nrcpt, s->backend_name,
				(int)strcspn(r->raw, "\r\n"), r->raw);
		break;
	case SMTP_CMD_RSET:
		ok = r->code / 100 == 2;
		s->bk_tx = false;
		break;
	default:
		ok = r->code / 100 == 2;
		break;
	}
	if (in.slot == TAG_SILENT)
		return;
	/* A 5xx of the backend is its decision; relay it. Ours are 4xx only. */
	finish(s, in.slot, ok, r->raw, r->raw_len, -1, false);
	if (in.verb == SMTP_VERB_DOT)
		kill_if_pending(s);
}

static void rc_failed(void *arg, enum relay_fail why, const struct backend_reply *r)
{
	struct relay_session *s = arg;

	sl_info("session=%" PRIx64 " backend %s failed (%d)%s%.*s", s->id, s->backend_name, (int)why,
		r ? ": " : "", r ? (int)strcspn(r->raw, "\r\n") : 0, r ? r->raw : "");
	/* A refusal before READY may be that backend's alone: try another. */
	backend_failed(s, SMTP_R_BACKEND_FAILED, s->bk != BK_READY);
}

static const struct relay_client_ops rc_ops = {
	.send = rc_send,
	.ready = rc_ready,
	.reply = rc_reply,
	.failed = rc_failed,
};

static bool job_needs_backend(const struct relay_job *j)
{
	return j->verb == SMTP_CMD_MAIL || j->verb == SMTP_CMD_RCPT || j->verb == SMTP_CMD_DATA ||
	       j->verb == SMTP_VERB_DOT || j->verb == SMTP_CMD_RSET;
}

/* Release the backend leg: close it (abort drops a partial message). */
static void backend_drop(struct relay_session *s, bool abort)
{
	if (s->bk != BK_NONE)
		s->ops->close(s->conn, SL_LEG_BACKEND, abort);
	if (s->backend >= 0)
		backend_pool_release(s->w->pool, s->backend);
	s->backend = -1;
	s->bk = BK_NONE;
	s->bk_tx = false;
	s->ops->timer(s->conn, SL_TIMER_BACKEND, 0);
}

static void backend_open(struct relay_session *s)
{
	const struct cfg *c = s->cfg;

	while (s->attempts <= c->relay.connect_retries) {
		int idx = backend_pool_pick(s->w->pool, s->tried);
		if (idx < 0)
			break;
		s->attempts++;
		s->tried |= 1ull << idx;
		s->backend = idx;
		snprintf(s->backend_name, sizeof(s->backend_name), "%s", s->w->pool->slots[idx].cfg.name);
		if (s->ops->connect(s->conn, &s->w->pool->slots[idx].cfg.addr) == SL_OK) {
			s->bk = BK_CONNECTING;
			arm_backend_timer(s);
			return;
		}
		backend_pool_connect_result(s->w->pool, idx, false, passive_fall(c));
		backend_pool_release(s->w->pool, idx);
		s->backend = -1;
	}
	/* Nothing to connect to: every job that needs a backend gets 451. */
	s->attempts = 0;
	s->tried = 0;
	sl_warn("session=%" PRIx64 " no backend available for %s", s->id, s->peer);
	while (s->jhead != s->jtail && job_needs_backend(&s->jobs[s->jhead % RELAY_JOBS])) {
		struct relay_job *j = &s->jobs[s->jhead++ % RELAY_JOBS];
		finish_id(s, j->slot, false, SMTP_R_BACKEND_UNAVAIL);
	}
}

/*
 * The backend leg broke (or timed out, or said 421). Every command waiting
 * for its reply gets a 4xx; a transaction in progress is lost, so the
 * client must start over (and may land on another backend). Before READY,
 * with retry, another backend is tried for the jobs still waiting.
 */
static void backend_failed(struct relay_session *s, enum smtp_reply_id why, bool retry)
{
	bool had_tx = s->bk_tx || s->data_mode || s->ihead != s->itail;
	int idx = s->backend;

	if (s->bk == BK_NONE)
		return;
	if (s->bk != BK_READY && idx >= 0)
		backend_pool_connect_result(s->w->pool, idx, false, passive_fall(s->cfg));
	backend_drop(s, true);
	if (s->data_mode)
		s->data_failed = true;
	if (had_tx && s->smtp.in_tx)
		s->tx_lost = true;
	while (s->ihead != s->itail) {
		struct relay_inflight in = s->inflight[s->ihead++ % RELAY_CLIENT_QUEUE];
		if (in.slot != TAG_SILENT)
			finish_id(s, in.slot, false, why);
	}
	kill_if_pending(s);   /* the end of a message it held was answered (4xx) */
	if (s->closing)
		return;
	if (!retry) {
		s->attempts = 0;
		s->tried = 0;
	}
	run_jobs(s);
}

/* Queue a command to the backend and remember whose reply it is. */
static void backend_command(struct relay_session *s, unsigned verb, uint32_t slot, const char *line, size_t len)
{
	if (s->itail - s->ihead >= RELAY_CLIENT_QUEUE ||
	    relay_client_command(s->rc, slot, line, len) != SL_OK) {
		finish_id(s, slot, false, SMTP_R_LOCAL_ERROR);
		return;
	}
	s->inflight[s->itail++ % RELAY_CLIENT_QUEUE] = (struct relay_inflight){ (uint8_t)verb, slot };
	arm_backend_timer(s);
}

/* ---- jobs */

static bool relay_domain_ok(const struct cfg *c, const char *domain)
{
	size_t dl = strlen(domain);

	if (dl == 0)
		return true; /* RCPT TO:<postmaster> */
	for (unsigned i = 0; i < c->nrelay_domains; i++) {
		const char *r = c->relay_domains[i];
		size_t rl = strlen(r);
		if (r[0] == '.') {
			/* ".example.net": any subdomain, not the name itself */
			if (dl > rl && strcasecmp(domain + dl - rl, r) == 0)
				return true;
		} else if (dl == rl && strcasecmp(domain, r) == 0) {
			return true;
		}
	}
	return false;
}

/* The local checks of a job before its policy: relay access, lost transactions. */
/*
 * A RCPT whose own MAIL was refused (by policy, before the RCPT's turn came)
 * after the RCPT was pipelined: 503 here. Not a RCPT whose transaction a
 * later pipelined RSET ended: it was valid when sent and still goes to the
 * backend. (A RCPT already queued to the backend behind a MAIL the backend
 * then refuses gets the backend's own 503.)
 */
static bool rcpt_mail_refused(const struct relay_session *s, const struct relay_job *j)
{
	return j->verb == SMTP_CMD_RCPT && s->smtp.slots[j->slot % SMTP_SLOTS].tx + 1 == s->mail_refused_tx;
}

static bool job_local_checks(struct relay_session *s, struct relay_job *j)
{
	if (j->verb == SMTP_CMD_RCPT) {
		char domain[SL_DOMAIN_MAX + 1];
		const char *addr = j->line + j->addr_off;
		const char *at = memrchr(addr, '@', j->addr_len);
		size_t dl = at ? (size_t)(addr + j->addr_len - at - 1) : 0;
		dl = SL_MIN(dl, sizeof(domain) - 1);
		memcpy(domain, at ? at + 1 : "", dl);
		domain[dl] = '\0';
		if (!relay_domain_ok(s->cfg, domain)) {
			count_rejection(s, POL_STAGE_RCPT, RELAY_RULE_RELAY_DOMAINS,
					smtp_replies[SMTP_R_RELAY_DENIED].code);
			finish_id(s, j->slot, false, SMTP_R_RELAY_DENIED);
			return false;
		}
	}
	if ((j->verb == SMTP_CMD_RCPT || j->verb == SMTP_CMD_DATA) && s->tx_lost) {
		finish_id(s, j->slot, false, SMTP_R_BACKEND_FAILED);
		return false;
	}
	if (rcpt_mail_refused(s, j)) {
		finish_id(s, j->slot, false, SMTP_R_NEED_MAIL);
		return false;
	}
	if (j->verb == SMTP_VERB_DOT && s->data_failed) {
		s->data_mode = false;
		s->data_failed = false;
		finish_id(s, j->slot, false, SMTP_R_BACKEND_FAILED);
		return false;
	}
	return true;
}

/* Send the job's command now that the leg is ready. */
static void job_send(struct relay_session *s, struct relay_job *j)
{
	switch (j->verb) {
	case SMTP_CMD_RSET:
		if (!s->bk_tx && s->ihead == s->itail) {
			finish_id(s, j->slot, true, SMTP_R_OK);
			return;
		}
		backend_command(s, j->verb, j->slot, "RSET\r\n", 6);
		return;
	case SMTP_VERB_DOT:
		s->data_mode = false;
		if (s->ops->send(s->conn, SL_LEG_BACKEND, ".\r\n", 3) != SL_OK ||
		    relay_client_expect(s->rc, j->slot) != SL_OK) {
			finish_id(s, j->slot, false, SMTP_R_BACKEND_FAILED);
			backend_drop(s, true);
			return;
		}
		s->inflight[s->itail++ % RELAY_CLIENT_QUEUE] = (struct relay_inflight){ SMTP_VERB_DOT, j->slot };
		arm_backend_timer(s);
		return;
	default:
		backend_command(s, j->verb, j->slot, j->line, j->line_len);
		return;
	}
}

static void run_jobs(struct relay_session *s)
{
	while (s->jhead != s->jtail && !s->closing) {
		struct relay_job *j = &s->jobs[s->jhead % RELAY_JOBS];

		if (j->step == JOB_START) {
			struct pol_query q;
			struct pol_verdict v;
			enum pol_stage st = job_stage(j->verb);
			int rc = SL_OK;

			if (!job_local_checks(s, j)) {
				s->jhead++;
				continue;
			}
			if (st != POL_STAGE_COUNT) {
				build_query(s, st, j->verb == SMTP_CMD_RCPT ? j->line + j->addr_off : NULL,
					    j->addr_len, j->size, &q);
				rc = policy_check(s, &q, &v);
			}
			if (rc == SL_DECLINED) {
				count_verdict(s, st, &v);
				s->jhead++;
				if (j->verb == SMTP_VERB_DOT)
					backend_drop(s, true); /* the partial message must not be delivered */
				finish_verdict(s, j->slot, &v);
				continue;
			}
			j->step = rc == SL_AGAIN ? JOB_POLICY : JOB_BACKEND;
		}
		if (j->step == JOB_POLICY)
			return; /* relay_session_verdict() moves it on */
		/* JOB_BACKEND */
		if (j->verb == SMTP_CMD_RSET && s->bk != BK_READY) {
			s->jhead++;
			finish_id(s, j->slot, true, SMTP_R_OK);
			continue;
		}
		if (s->bk == BK_NONE) {
			if (j->verb != SMTP_CMD_MAIL) {
				/* only MAIL opens a leg; the others belong to a lost one */
				s->jhead++;
				finish_id(s, j->slot, false, SMTP_R_BACKEND_FAILED);
				continue;
			}
			backend_open(s);
			if (s->bk == BK_NONE)
				continue; /* backend_open answered the waiting jobs */
		}
		if (s->bk != BK_READY)
			return; /* rc_ready() runs us again */
		s->jhead++;
		job_send(s, j);
	}
}

static uint32_t push_job(struct relay_session *s, unsigned verb, uint32_t slot)
{
	struct relay_job *j = &s->jobs[s->jtail % RELAY_JOBS];

	memset(j, 0, offsetof(struct relay_job, line));
	j->verb = (uint8_t)verb;
	j->slot = slot;
	j->step = JOB_START;
	s->jtail++;
	return s->jtail - 1;
}

/* Run the jobs with the engine inside the hook for `slot`: an answer for
 * that slot comes back synchronously. */
static int run_in_hook(struct relay_session *s, uint32_t slot, struct smtp_answer *a)
{
	/* hooks nest when an answer lets the engine run a held command */
	bool was_in = s->in_hook, was_done = s->hook_done;
	uint32_t was_slot = s->hook_slot;
	struct smtp_answer was_answer = s->hook_answer;
	int rc = SL_AGAIN;

	s->in_hook = true;
	s->hook_slot = slot;
	s->hook_done = false;
	run_jobs(s);
	if (s->hook_done) {
		*a = s->hook_answer;
		rc = SL_OK;
	}
	s->in_hook = was_in;
	s->hook_slot = was_slot;
	s->hook_done = was_done;
	s->hook_answer = was_answer;
	return rc;
}

/* ---- engine hooks */

static void h_send(void *arg, const void *p, size_t n)
{
	struct relay_session *s = arg;

	s->ops->send(s->conn, SL_LEG_CLIENT, p, n);
}

static void h_close(void *arg)
{
	struct relay_session *s = arg;

	if (s->closing)
		return;
	s->closing = true;
	if (s->bk == BK_READY && !s->data_mode && s->ihead == s->itail) {
		relay_client_quit(s->rc);
		backend_drop(s, false);
	} else {
		backend_drop(s, true);
	}
	s->ops->timer(s->conn, SL_TIMER_CLIENT, 0);
	s->ops->close(s->conn, SL_LEG_CLIENT, false);
}

static void h_timer(void *arg, uint32_t ms)
{
	struct relay_session *s = arg;

	s->ops->timer(s->conn, SL_TIMER_CLIENT, ms);
}

static void h_resume(void *arg)
{
	struct relay_session *s = arg;

	s->ops->resume(s->conn);
}

static int h_connect(void *arg, uint32_t slot, struct smtp_answer *a)
{
	struct relay_session *s = arg;
	struct pol_query q;
	struct pol_verdict v;
	int rc;

	build_query(s, POL_STAGE_CONNECT, NULL, 0, 0, &q);
	rc = policy_check(s, &q, &v);
	if (rc == SL_AGAIN) {
		s->hook_slot = slot; /* the verdict answers this slot */
		return SL_AGAIN;
	}
	if (rc == SL_DECLINED) {
		size_t n = smtp_reply_format(s->hook_reply, sizeof(s->hook_reply), v.code, v.status, v.text);
		count_verdict(s, POL_STAGE_CONNECT, &v);
		set_outcome(s, RELAY_SO_REJECTED_CONNECT);   /* closed whatever the action says */
		*a = (struct smtp_answer){ .ok = false, .close = true, .reply_id = -1,
					   .reply = s->hook_reply, .len = n };
		return SL_OK;
	}
	return SL_OK; /* a->ok is preset: the greeting */
}

static int h_helo(void *arg, uint32_t slot, const char *name, bool esmtp, struct smtp_answer *a)
{
	struct relay_session *s = arg;
	struct pol_query q;
	struct pol_verdict v;

	(void)slot;
	(void)esmtp;
	/* EHLO/HELO resets the transaction, at the backend too */
	tx_end(s, 0);
	s->tx_lost = false;
	s->tx_skip_limits = false;
	if (s->bk == BK_READY && s->bk_tx) {
		relay_client_command(s->rc, TAG_SILENT, "RSET\r\n", 6);
		s->inflight[s->itail++ % RELAY_CLIENT_QUEUE] = (struct relay_inflight){ SMTP_CMD_RSET, TAG_SILENT };
		s->bk_tx = false;
	}
	build_query(s, POL_STAGE_HELO, NULL, 0, 0, &q);
	snprintf(q.helo, sizeof(q.helo), "%s", name);
	if (policy_check(s, &q, &v) == SL_DECLINED) {
		size_t n = smtp_reply_format(s->hook_reply, sizeof(s->hook_reply), v.code, v.status, v.text);
		count_verdict(s, POL_STAGE_HELO, &v);
		*a = (struct smtp_answer){ .ok = false, .close = v.action == POL_DISCONNECT, .reply_id = -1,
					   .reply = s->hook_reply, .len = n };
	}
	return SL_OK;
}

/* Copy "VERB:<addr> params\r\n" into the job; the parameters pass through
 * as the client sent them, after exactly one space. False when it does not
 * fit (a command_line_limit raised far above 512): never drop parameters. */
static bool job_line(struct relay_job *j, const char *verb, const struct smtp_cmd *c)
{
	size_t cap = sizeof(j->line) - 3, n, vl = strlen(verb), al, plen = c->params_len;
	const char *p = c->params;

	memcpy(j->line, verb, vl);
	memcpy(j->line + vl, ":<", 2);
	n = vl + 2;
	j->addr_off = (uint16_t)n;
	al = strnlen(c->path.addr, sizeof(c->path.addr));
	memcpy(j->line + n, c->path.addr, al);
	j->addr_len = (uint16_t)al;
	n += al;
	j->line[n++] = '>';
	while (plen > 0 && *p == ' ') {
		p++;
		plen--;
	}
	if (plen > 0) {
		if (n + 1 + plen > cap)
			return false;
		j->line[n++] = ' ';
		memcpy(j->line + n, p, plen);
		n += plen;
	}
	j->line[n++] = '\r';
	j->line[n++] = '\n';
	j->line[n] = '\0';
	j->line_len = (uint16_t)n;
	return true;
}

static int h_mail(void *arg, uint32_t slot, const struct smtp_cmd *c, struct smtp_answer *a)
{
	struct relay_session *s = arg;
	struct relay_job *j;

	s->tx_lost = false;
	s->tx_skip_limits = false;
	j = &s->jobs[push_job(s, SMTP_CMD_MAIL, slot) % RELAY_JOBS];
	if (!job_line(j, "MAIL FROM", c)) {
		s->jtail--;
		smtp_answer_id(a, false, SMTP_R_LINE_TOO_LONG);
		return SL_OK;
	}
	return run_in_hook(s, slot, a);
}

static int h_rcpt(void *arg, uint32_t slot, const struct smtp_cmd *c, struct smtp_answer *a)
{
	struct relay_session *s = arg;
	struct relay_job *j = &s->jobs[push_job(s, SMTP_CMD_RCPT, slot) % RELAY_JOBS];

	if (!job_line(j, "RCPT TO", c)) {
		s->jtail--;
		smtp_answer_id(a, false, SMTP_R_LINE_TOO_LONG);
		return SL_OK;
	}
	return run_in_hook(s, slot, a);
}

static int h_data(void *arg, uint32_t slot, struct smtp_answer *a)
{
	struct relay_session *s = arg;
	struct relay_job *j = &s->jobs[push_job(s, SMTP_CMD_DATA, slot) % RELAY_JOBS];

	memcpy(j->line, "DATA\r\n", 6);
	j->line_len = 6;
	return run_in_hook(s, slot, a);
}

static int h_rset(void *arg, uint32_t slot, struct smtp_answer *a)
{
	struct relay_session *s = arg;

	s->tx_lost = false;
	s->tx_skip_limits = false;
	push_job(s, SMTP_CMD_RSET, slot);
	return run_in_hook(s, slot, a);
}

static void h_data_bytes(void *arg, const struct sl_rx *rx, const uint8_t *p, size_t n, bool from_input)
{
	struct relay_session *s = arg;
	int rc;

	if (!s->data_mode || s->data_failed || s->bk != BK_READY)
		return;
	if (from_input)
		rc = s->ops->forward(s->conn, SL_LEG_BACKEND, rx, (uint32_t)(p - rx->data), (uint32_t)n);
	else
		rc = s->ops->send(s->conn, SL_LEG_BACKEND, p, n);
	if (rc != SL_OK)
		backend_failed(s, SMTP_R_BACKEND_FAILED, false);
}

static size_t h_data_room(void *arg)
{
	struct relay_session *s = arg;
	size_t pending;

	if (!s->data_mode || s->data_failed || s->bk != BK_READY)
		return SIZE_MAX; /* nothing is forwarded: read on, discard */
	pending = s->ops->pending(s->conn, SL_LEG_BACKEND);
	return pending >= BACKEND_HIGH_WATER ? 0 : BACKEND_HIGH_WATER - pending;
}

static int h_data_end(void *arg, uint32_t slot, int err, uint64_t size, struct smtp_answer *a)
{
	struct relay_session *s = arg;
	struct relay_job *j;

	if (err >= 0) {
		/* Bare newline, NUL, size: the backend has part of a message it must
		 * never deliver. Dropping the leg (no terminator sent) discards it. */
		s->data_mode = false;
		backend_drop(s, true);
		s->tx_lost = false;
		tx_end(s, smtp_replies[err].code / 100u);
		smtp_answer_id(a, false, (enum smtp_reply_id)err);
		return SL_OK;
	}
	s->msg_nrcpt = s->smtp.rcpt_ok;
	s->msg_size = size;
	j = &s->jobs[push_job(s, SMTP_VERB_DOT, slot) % RELAY_JOBS];
	j->size = size;
	return run_in_hook(s, slot, a);
}

static const struct smtp_session_hooks engine_hooks = {
	.send = h_send,
	.close = h_close,
	.timer = h_timer,
	.connect = h_connect,
	.helo = h_helo,
	.mail = h_mail,
	.rcpt = h_rcpt,
	.data = h_data,
	.data_bytes = h_data_bytes,
	.data_room = h_data_room,
	.data_end = h_data_end,
	.rset = h_rset,
	.resume = h_resume,
};

/* ---- transport entry points */

struct relay_session *relay_session_start(void *mem, struct relay_worker *w,
					  const struct relay_session_params *p,
					  const struct sl_transport_ops *ops, void *conn)
{
	struct relay_session *s = mem;
	char addr[SL_ADDR_STRLEN];

	/* The job and reply tables are large; only their indexes need zeroing. */
	memset((char *)s + offsetof(struct relay_session, ops), 0,
	       offsetof(struct relay_session, jobs) - offsetof(struct relay_session, ops));
	s->ops = ops;
	s->conn = conn;
	s->w = w;
	s->cfg = cfg_ref(w->cfg);
	s->id = p->id;
	s->client = p->client;
	s->local = p->local;
	s->backend = -1;
	s->hook_slot = UINT32_MAX;
	sl_addr_format(&p->client, addr, sizeof(addr), false);
	snprintf(s->peer, sizeof(s->peer), "[%s]:%u", addr, p->client.port);
	s->start_ms = w->now_ms;
	s->live_next = w->live;
	if (w->live != NULL)
		w->live->live_pprev = &s->live_next;
	s->live_pprev = &w->live;
	w->live = s;
	w->sessions++;
	w->stressed = s->cfg->smtp.stress_sessions && w->sessions >= s->cfg->smtp.stress_sessions;
	smtp_session_init(&s->smtp, s->cfg, &engine_hooks, s, s->id, s->peer,
			  &w->stressed, &w->now_ms);
	sl_debug("session=%" PRIx64 " connect from %s", s->id, s->peer);
	smtp_session_start(&s->smtp);
	return s;
}

size_t relay_session_client_input(struct relay_session *s, const struct sl_rx *rx)
{
	if (s->closing)
		return rx->len;
	return smtp_session_input(&s->smtp, rx);
}

void relay_session_backend_input(struct relay_session *s, const struct sl_rx *rx)
{
	if (s->bk == BK_HANDSHAKE || s->bk == BK_READY)
		relay_client_input(s->rc, rx->data, rx->len);
}

/* A backend leg's block from the worker's cache, else the heap (relay_session.h). */
static struct relay_client *rc_take(struct relay_worker *w)
{
	void *b = w->rc_cache;

	if (b == NULL)
		return malloc(sizeof(struct relay_client));
	memcpy(&w->rc_cache, b, sizeof(void *));
	w->rc_cached--;
	return b;
}

static void rc_give(struct relay_worker *w, struct relay_client *rc)
{
	if (rc == NULL)
		return;
	if (w->rc_cached >= RELAY_RC_CACHE_MAX) {
		free(rc);
		return;
	}
	memcpy(rc, &w->rc_cache, sizeof(void *));
	w->rc_cache = rc;
	w->rc_cached++;
}

void relay_worker_fini(struct relay_worker *w)
{
	while (w->rc_cache != NULL) {
		void *b = w->rc_cache;

		memcpy(&w->rc_cache, b, sizeof(void *));
		free(b);
	}
	w->rc_cached = 0;
}

void relay_session_backend_connected(struct relay_session *s, bool ok)
{
	struct relay_client_params p;

	if (s->bk != BK_CONNECTING)
		return;
	if (!ok) {
		sl_info("session=%" PRIx64 " connect to backend %s failed", s->id, s->backend_name);
		backend_failed(s, SMTP_R_BACKEND_UNAVAIL, true);
		return;
	}
	if (s->rc == NULL && (s->rc = rc_take(s->w)) == NULL) {
		sl_err("session=%" PRIx64 " no memory for the backend leg", s->id);
		backend_failed(s, SMTP_R_LOCAL_ERROR, false);
		return;
	}
	memset(&p, 0, sizeof(p));
	p.helo_name = s->cfg->hostname;
	p.xclient = s->w->pool->slots[s->backend].cfg.xclient;
	p.proxy = s->w->pool->slots[s->backend].cfg.proxy;
	p.info.client = s->client;
	p.info.local = s->local;
	snprintf(p.info.helo, sizeof(p.info.helo), "%s", s->smtp.helo);
	p.info.esmtp = s->smtp.esmtp;
	relay_client_init(s->rc, &p, &rc_ops, s);
	s->bk = BK_HANDSHAKE;
	arm_backend_timer(s);
	relay_client_connected(s->rc);
}

void relay_session_leg_closed(struct relay_session *s, enum sl_leg leg, bool reset)
{
	if (leg == SL_LEG_BACKEND) {
		if (s->bk == BK_NONE)
			return;
		if (s->bk == BK_READY && !s->bk_tx && !s->data_mode && s->ihead == s->itail) {
			/* an idle leg the backend closed (its own timeout): not an error */
			backend_drop(s, false);
			return;
		}
		sl_info("session=%" PRIx64 " backend %s %s", s->id, s->backend_name,
			reset ? "reset the connection" : "closed the connection");
		backend_failed(s, SMTP_R_BACKEND_FAILED, s->bk != BK_READY);
		return;
	}
	/* The client went away: a half-sent message must not be completed. */
	if (!s->closing) {
		sl_debug("session=%" PRIx64 " lost connection from %s", s->id, s->peer);
		set_outcome(s, RELAY_SO_CLIENT_CLOSED);
		s->closing = true;
		if (s->bk == BK_READY && !s->data_mode && s->ihead == s->itail) {
			relay_client_quit(s->rc);
			backend_drop(s, false);
		} else {
			backend_drop(s, true);
		}
		s->smtp.state = SMTP_S_CLOSING;
		s->ops->timer(s->conn, SL_TIMER_CLIENT, 0);
		s->ops->close(s->conn, SL_LEG_CLIENT, reset);
	}
}

void relay_session_writable(struct relay_session *s, enum sl_leg leg)
{
	if (leg == SL_LEG_BACKEND && s->data_mode)
		s->ops->resume(s->conn);
}

/* The verdict is overdue: answer as a store failure would, with a 4xx. */
static void policy_overdue(struct relay_session *s)
{
	struct pol_verdict v;

	sl_warn("session=%" PRIx64 " no policy verdict after %u ms", s->id, POLICY_WAIT_MS);
	memset(&v, 0, sizeof(v));
	v.action = s->smtp.state == SMTP_S_CONNECT ? POL_DISCONNECT : POL_TEMPFAIL;
	v.code = s->smtp.state == SMTP_S_CONNECT ? 421 : 451;
	snprintf(v.status, sizeof(v.status), "4.7.0");
	snprintf(v.text, sizeof(v.text), "%s", smtp_replies[SMTP_R_POLICY_TEMPFAIL].text);
	snprintf(v.rule, sizeof(v.rule), "policy timeout");
	relay_session_verdict(s, s->pol_seq, &v);
}

void relay_session_timer(struct relay_session *s, enum sl_timer_id id)
{
	if (id == SL_TIMER_CLIENT) {
		smtp_session_timer(&s->smtp);
		return;
	}
	if (id == SL_TIMER_POLICY) {
		policy_overdue(s);
		return;
	}
	if (s->bk == BK_NONE)
		return;
	if (s->bk == BK_READY && s->ihead == s->itail)
		return;
	sl_info("session=%" PRIx64 " backend %s timeout (%s)", s->id, s->backend_name,
		s->bk == BK_CONNECTING ? "connect" : s->bk == BK_HANDSHAKE ? "greeting" : "reply");
	backend_failed(s, SMTP_R_BACKEND_TIMEOUT, s->bk != BK_READY);
}

void relay_session_verdict(struct relay_session *s, uint32_t seq, const struct pol_verdict *v)
{
	if (seq != s->pol_seq || s->closing)
		return; /* an answer to a query we no longer wait for */
	s->ops->timer(s->conn, SL_TIMER_POLICY, 0);
	if (s->smtp.state == SMTP_S_CONNECT && s->jhead == s->jtail) {
		/* the connect verdict */
		if (v->action == POL_ACCEPT) {
			s->store_connected = true;
			if (v->allowlisted)
				s->skip_limits = true;
			finish(s, s->hook_slot, true, NULL, 0, -1, false);
		} else {
			count_verdict(s, POL_STAGE_CONNECT, v);
			set_outcome(s, RELAY_SO_REJECTED_CONNECT);
			finish_verdict(s, s->hook_slot, v);
		}
		return;
	}
	if (s->jhead == s->jtail)
		return;
	struct relay_job *j = &s->jobs[s->jhead % RELAY_JOBS];
	if (j->step != JOB_POLICY)
		return;
	if (v->action != POL_ACCEPT) {
		count_verdict(s, job_stage(j->verb), v);
		s->jhead++;
		if (j->verb == SMTP_VERB_DOT)
			backend_drop(s, true);
		finish_verdict(s, j->slot, v);
	} else {
		j->step = JOB_BACKEND;
	}
	run_jobs(s);
}

void relay_session_shutdown(struct relay_session *s)
{
	smtp_session_shutdown(&s->smtp);
}

void relay_session_free(struct relay_session *s)
{
	char counts[256];

	smtp_session_format_counts(&s->smtp, counts, sizeof(counts));
	sl_info("session=%" PRIx64 " disconnect from %s %s", s->id, s->peer, counts);
	tx_end(s, 0);
	s->w->stats.sessions[final_outcome(s)]++;
	if (s->store_connected && !s->skip_limits) {
		struct pol_query q;
		build_query(s, POL_STAGE_END, NULL, 0, 0, &q);
		s->ops->policy(s->conn, &q, ++s->pol_seq);
	}
	if (s->backend >= 0)
		backend_pool_release(s->w->pool, s->backend);
	s->backend = -1;
	rc_give(s->w, s->rc);
	s->rc = NULL;
	if (s->live_pprev != NULL) {
		*s->live_pprev = s->live_next;
		if (s->live_next != NULL)
			s->live_next->live_pprev = s->live_pprev;
		s->live_pprev = NULL;
	}
	if (s->w->sessions > 0)
		s->w->sessions--;
	s->w->stressed = s->cfg->smtp.stress_sessions && s->w->sessions >= s->cfg->smtp.stress_sessions;
	cfg_unref(s->cfg);
	s->cfg = NULL;
}

/* ---- the registry and the operator's view (control socket) */

struct relay_session *relay_session_first(const struct relay_worker *w)
{
	return w->live;
}

struct relay_session *relay_session_next(const struct relay_session *s)
{
	return s->live_next;
}

struct relay_session *relay_session_find(const struct relay_worker *w, uint64_t id)
{
	struct relay_session *s;

	for (s = w->live; s != NULL; s = s->live_next)
		if (s->id == id)
			return s;
	return NULL;
}

const char *relay_stage_name(enum relay_stage st)
{
	static const char *const names[RELAY_STAGE_COUNT] = {
		"connect", "greeted", "helo", "mail", "rcpt", "data", "closing",
	};

	return (unsigned)st < RELAY_STAGE_COUNT ? names[st] : "?";
}

static enum relay_stage stage_of(const struct relay_session *s)
{
	const struct smtp_session *e = &s->smtp;

	if (s->closing || s->kill_pending || e->state == SMTP_S_CLOSING)
		return RELAY_STAGE_CLOSING;
	if (e->state == SMTP_S_CONNECT)
		return RELAY_STAGE_CONNECT;
	if (e->state == SMTP_S_DATA)
		return RELAY_STAGE_DATA;
	if (!e->helo_done)
		return RELAY_STAGE_GREETED;
	if (!e->in_tx)
		return RELAY_STAGE_HELO;
	return e->rcpt_ok == 0 ? RELAY_STAGE_MAIL : RELAY_STAGE_RCPT;
}

void relay_session_describe(const struct relay_session *s, struct relay_session_info *out)
{
	const struct smtp_session *e = &s->smtp;

	memset(out, 0, offsetof(struct relay_session_info, helo));
	out->id = s->id;
	out->client = s->client;
	out->age_ms = s->w->now_ms > s->start_ms ? s->w->now_ms - s->start_ms : 0;
	out->bytes = e->counts.bytes + (e->state == SMTP_S_DATA ? e->data_size : 0);
	out->messages = e->counts.messages;
	out->stage = (uint8_t)stage_of(s);
	copy_str(out->helo, sizeof(out->helo), e->helo);
	copy_str(out->sender, sizeof(out->sender), e->in_tx ? e->sender : "");
	copy_str(out->backend, sizeof(out->backend), s->backend >= 0 ? s->backend_name : "");
}

/* Is the end of a message at the backend, waiting for its reply? */
static bool dot_at_backend(const struct relay_session *s)
{
	for (uint32_t i = s->ihead; i != s->itail; i++)
		if (s->inflight[i % RELAY_CLIENT_QUEUE].verb == SMTP_VERB_DOT)
			return true;
	return false;
}

static void kill_now(struct relay_session *s)
{
	size_t n;
	const char *line = smtp_reply_line(SMTP_R_SHUTDOWN, &n);

	s->kill_pending = false;
	set_outcome(s, RELAY_SO_KILLED);
	sl_info("session=%" PRIx64 " closed by the operator: %s", s->id, s->peer);
	/* past whatever replies are owed: the client must not wait for them */
	s->ops->send(s->conn, SL_LEG_CLIENT, line, n);
	s->smtp.state = SMTP_S_CLOSING;
	h_close(s);
}

static void kill_if_pending(struct relay_session *s)
{
	if (s->kill_pending && !s->closing && !dot_at_backend(s))
		kill_now(s);
}

int relay_session_kill(struct relay_session *s)
{
	if (s->closing || s->smtp.state == SMTP_S_CLOSING)
		return SL_DONE;
	if (dot_at_backend(s)) {
		s->kill_pending = true;
		sl_info("session=%" PRIx64 " to be closed by the operator once the backend answers its message",
			s->id);
		return SL_AGAIN;
	}
	kill_now(s);
	return SL_OK;
}
