/* smtp_session.c - the SMTP server engine: framing, dispatch, ordered
 * replies, limits and timeouts for one client, without any IO of its own. */
#include "smtp_session.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "util/sl_log.h"

#define VERB_CONNECT SMTP_VERB_CONNECT
#define VERB_DOT     SMTP_VERB_DOT

/* A slot's reply is one of: the command's default, a table reply, or bytes. */
#define SLOT_DEFAULT -2
#define SLOT_BYTES   -1

static const char *verb_log_name(unsigned verb)
{
	if (verb == VERB_DOT)
		return "END-OF-MESSAGE";
	if (verb == VERB_CONNECT)
		return "CONNECT";
	return smtp_verb_name((enum smtp_verb)verb);
}

void smtp_session_init(struct smtp_session *s, const struct cfg *c,
		       const struct smtp_session_hooks *hooks, void *arg,
		       uint64_t id, const char *peer, const bool *stressed, const uint64_t *now_ms)
{
	memset(s, 0, offsetof(struct smtp_session, slots));
	s->state = SMTP_S_CONNECT;
	s->cfg = c;
	s->hooks = hooks;
	s->arg = arg;
	s->id = id;
	s->stressed = stressed;
	s->now_ms = now_ms;
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	/* The limit counts the CR LF (RFC 5321 4.5.3.1.4); the buffer holds the text. */
	s->line_limit = SL_MIN(c->smtp.command_line_limit, SMTP_LINE_MAX) - 2;
	s->data_err = -1;
	s->closed_with = -1;
}

bool smtp_session_busy(const struct smtp_session *s)
{
	return s->head != s->tail || s->line_ready;
}

/* ---- timers */

static uint32_t command_timeout(const struct smtp_session *s)
{
	if (s->stressed != NULL && *s->stressed)
		return s->cfg->smtp.stress_command_timeout_ms;
	return s->cfg->smtp.command_timeout_ms;
}

/* The DATA deadline: data_timeout, or the stress timeout when that is shorter. */
static uint32_t data_timeout(const struct smtp_session *s)
{
	uint32_t t = s->cfg->smtp.data_timeout_ms ? s->cfg->smtp.data_timeout_ms : command_timeout(s);

	if (s->stressed != NULL && *s->stressed)
		t = SL_MIN(t, s->cfg->smtp.stress_command_timeout_ms);
	return t;
}

static void arm_timer(struct smtp_session *s)
{
	uint32_t ms = 0;

	switch (s->state) {
	case SMTP_S_CONNECT:
		if (s->greet_paused)
			return; /* the greet pause timer is running */
		break;
	case SMTP_S_CMD:
		if (!smtp_session_busy(s))
			ms = command_timeout(s);
		break;
	case SMTP_S_DATA:
		ms = (uint32_t)SL_MAX(s->data_budget_ms, 1);
		break;
	case SMTP_S_CLOSING:
		break;
	}
	s->hooks->timer(s->arg, ms);
}

/* ---- output */

static void send_id(struct smtp_session *s, enum smtp_reply_id id)
{
	char buf[256];
	size_t n = smtp_reply_format_id(buf, sizeof(buf), id);
	s->hooks->send(s->arg, buf, n);
}

/* Reply and close, dropping whatever replies were still owed. */
static void close_with(struct smtp_session *s, enum smtp_reply_id id)
{
	if (s->state == SMTP_S_CLOSING)
		return;
	send_id(s, id);
	s->closed_with = (int16_t)id;
	s->state = SMTP_S_CLOSING;
	s->hooks->timer(s->arg, 0);
	s->hooks->close(s->arg);
}

static size_t ehlo_reply(const struct smtp_session *s, char *buf, size_t len)
{
	const struct cfg *c = s->cfg;
	const char *caps[8];
	char size[40];
	unsigned n = 0;
	size_t off;

	caps[n++] = "PIPELINING";
	if (c->smtp.message_size_limit) {
		snprintf(size, sizeof(size), "SIZE %" PRIu64, c->smtp.message_size_limit);
		caps[n++] = size;
	} else {
		caps[n++] = "SIZE";
	}
	caps[n++] = "8BITMIME";
	caps[n++] = "DSN";
	if (c->smtp.smtputf8)
		caps[n++] = "SMTPUTF8";
	caps[n++] = "ENHANCEDSTATUSCODES";
	off = (size_t)snprintf(buf, len, "250-%s\r\n", c->hostname);
	for (unsigned i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "250%c%s\r\n", i + 1 == n ? ' ' : '-', caps[i]);
	return SL_MIN(off, len - 1);
}

/* The text a slot sends: its bytes, a table reply, or the verb's default. */
static size_t slot_text(const struct smtp_session *s, const struct smtp_slot *sl, int kind,
			char *buf, size_t len)
{
	if (kind == SLOT_BYTES) {
		memcpy(buf, sl->reply, sl->len);
		return sl->len;
	}
	if (kind >= 0)
		return smtp_reply_format_id(buf, len, (enum smtp_reply_id)kind);
	switch (sl->verb) {
	case VERB_CONNECT:
		return (size_t)snprintf(buf, len, "220 %s ESMTP\r\n", s->cfg->hostname);
	case SMTP_CMD_EHLO:
		return ehlo_reply(s, buf, len);
	case SMTP_CMD_HELO:
		return (size_t)snprintf(buf, len, "250 %s\r\n", s->cfg->hostname);
	case SMTP_CMD_MAIL:
		return smtp_reply_format_id(buf, len, SMTP_R_MAIL_OK);
	case SMTP_CMD_RCPT:
		return smtp_reply_format_id(buf, len, SMTP_R_RCPT_OK);
	case SMTP_CMD_DATA:
		return smtp_reply_format_id(buf, len, SMTP_R_DATA_GO);
	case SMTP_CMD_QUIT:
		return smtp_reply_format_id(buf, len, SMTP_R_BYE);
	default:
		return smtp_reply_format_id(buf, len, SMTP_R_OK);
	}
}

static void log_reject(const struct smtp_session *s, unsigned verb, const char *reply, size_t n)
{
	char line[300];
	size_t m = 0;
	const char *last = reply;

	/* the last line of a multi-line reply carries the code and the text */
	for (size_t i = 0; i + 1 < n; i++)
		if (reply[i] == '\n')
			last = reply + i + 1;
	while (last + m < reply + n && last[m] != '\r' && last[m] != '\n' && m < sizeof(line) - 1) {
		line[m] = last[m];
		m++;
	}
	line[m] = '\0';
	sl_info("session=%" PRIx64 " NOQUEUE: reject: %s from %s: %s; from=<%s> to=<%s> proto=%s helo=<%s>",
		s->id, verb_log_name(verb), s->peer, line, s->sender,
		verb == SMTP_CMD_RCPT ? s->rcpt_last : "", s->esmtp ? "ESMTP" : "SMTP", s->helo);
}

/* Send the replies at the head of the queue that are ready, in order. */
static void flush(struct smtp_session *s);

static void reply_sent(struct smtp_session *s, const struct smtp_slot *sl, const char *text, size_t n)
{
	unsigned verb = sl->verb;
	bool positive = n > 0 && (text[0] == '2' || text[0] == '3');

	if (verb == VERB_DOT) {
		/* a message counts once, under DATA: refused at its end, DATA failed */
		if (!positive && s->counts.ok[SMTP_CMD_DATA] > 0)
			s->counts.ok[SMTP_CMD_DATA]--;
	} else {
		s->counts.total[verb]++;
		if (positive)
			s->counts.ok[verb]++;
	}
	if (positive)
		return;
	if (verb == VERB_CONNECT || verb == SMTP_CMD_HELO || verb == SMTP_CMD_EHLO ||
	    verb == SMTP_CMD_MAIL || verb == SMTP_CMD_RCPT || verb == SMTP_CMD_DATA || verb == VERB_DOT)
		log_reject(s, verb, text, n);
	if (verb != VERB_CONNECT)
		s->errors++;
}

static void flush(struct smtp_session *s)
{
	char buf[1024];

	while (s->head != s->tail && s->state != SMTP_S_CLOSING) {
		struct smtp_slot *sl = &s->slots[s->head % SMTP_SLOTS];
		int kind;
		size_t n;

		if (!sl->done)
			break;
		/* The greeting waits out the greet pause (unless it is a rejection). */
		if (sl->verb == VERB_CONNECT && s->greet_paused && !sl->close)
			break;
		kind = sl->kind;
		n = slot_text(s, sl, kind, buf, sizeof(buf));
		s->head++;
		s->hooks->send(s->arg, buf, n);
		reply_sent(s, sl, buf, n);
		if (sl->close) {
			s->state = SMTP_S_CLOSING;
			s->hooks->timer(s->arg, 0);
			s->hooks->close(s->arg);
			return;
		}
		if (s->cfg->smtp.hard_error_limit && s->errors >= s->cfg->smtp.hard_error_limit) {
			close_with(s, SMTP_R_HARD_ERRORS);
			return;
		}
	}
}

/* ---- the reply queue */

static uint32_t slot_open(struct smtp_session *s, unsigned verb)
{
	uint32_t seq = s->tail++;
	struct smtp_slot *sl = &s->slots[seq % SMTP_SLOTS];

	sl->verb = (uint8_t)verb;
	sl->done = false;
	sl->ok = false;
	sl->close = false;
	sl->tx = s->tx;
	sl->len = 0;
	sl->kind = SLOT_DEFAULT;
	return seq;
}

/* Keep a caller's reply; one longer than a slot keeps only its last line,
 * which carries the code and is a complete reply by itself. */
static void slot_store(struct smtp_slot *sl, const struct smtp_answer *a)
{
	const char *r = a->reply;
	size_t n = a->len;

	if (r != NULL && n > 0) {
		if (n > SMTP_SLOT_REPLY) {
			const char *last = r;
			for (size_t i = 0; i + 1 < n; i++)
				if (r[i] == '\n')
					last = r + i + 1;
			n -= (size_t)(last - r);
			r = last;
			if (n > SMTP_SLOT_REPLY) {
				n = SMTP_SLOT_REPLY;
				memcpy(sl->reply, r, n - 2);
				sl->reply[n - 2] = '\r';
				sl->reply[n - 1] = '\n';
				sl->len = (uint16_t)n;
				sl->kind = SLOT_BYTES;
				return;
			}
		}
		memcpy(sl->reply, r, n);
		sl->len = (uint16_t)n;
		sl->kind = SLOT_BYTES;
	} else {
		sl->kind = a->reply_id >= 0 ? (int16_t)a->reply_id : SLOT_DEFAULT;
	}
}

static void enter_data(struct smtp_session *s)
{
	s->state = SMTP_S_DATA;
	smtp_data_scan_init(&s->scan, s->cfg->smtp.bare_newline == CFG_BARE_NORMALIZE,
			    s->cfg->smtp.text_line_limit ? s->cfg->smtp.text_line_limit - 2 : 0);
	s->data_err = -1;
	s->carry_len = 0;
	s->data_budget_ms = data_timeout(s);
	s->data_last_ms = s->now_ms ? *s->now_ms : 0;
}

static void end_tx(struct smtp_session *s)
{
	s->in_tx = false;
	s->tx++;
	s->rcpt_given = 0;
	s->rcpt_ok = 0;
	s->tx_smtputf8 = false;
	/* sender and rcpt_last stay: the reject log of this command still needs them */
}

/* What an answer does to the session, applied when it arrives. */
static void apply_answer(struct smtp_session *s, struct smtp_slot *sl, const struct smtp_answer *a)
{
	bool current = sl->tx == s->tx;

	switch (sl->verb) {
	case VERB_CONNECT:
		s->connect_ok = a->ok;
		break;
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
		s->helo_done = a->ok;
		s->esmtp = a->ok && sl->verb == SMTP_CMD_EHLO;
		break;
	case SMTP_CMD_MAIL:
		if (!a->ok && current)
			end_tx(s);
		break;
	case SMTP_CMD_RCPT:
		if (a->ok && current)
			s->rcpt_ok++;
		break;
	case SMTP_CMD_DATA:
		s->data_pending = false;
		if (a->ok && !a->close)
			enter_data(s);
		break;
	case VERB_DOT:
		if (a->ok)
			s->counts.messages++;
		break;
	default:
		break;
	}
}

static void process_input_line(struct smtp_session *s);

static void answer(struct smtp_session *s, uint32_t seq, const struct smtp_answer *a)
{
	struct smtp_slot *sl = &s->slots[seq % SMTP_SLOTS];

	if (seq - s->head >= s->tail - s->head || sl->done)
		return; /* not a pending slot: a stale or duplicate answer */
	sl->done = true;
	sl->ok = a->ok;
	sl->close = a->close;
	slot_store(sl, a);
	apply_answer(s, sl, a);
}

static void greet_if_ready(struct smtp_session *s)
{
	if (s->state == SMTP_S_CONNECT && s->connect_ok && !s->greet_paused && s->head == s->tail) {
		s->greeted = true;
		s->state = SMTP_S_CMD;
		arm_timer(s);
		s->hooks->resume(s->arg);
	}
}

void smtp_session_complete(struct smtp_session *s, uint32_t seq, const struct smtp_answer *a)
{
	if (s->state == SMTP_S_CLOSING)
		return;
	answer(s, seq, a);
	flush(s);
	if (s->state == SMTP_S_CLOSING)
		return;
	greet_if_ready(s);
	if (s->line_ready && s->head == s->tail)
		process_input_line(s);
	if (s->state == SMTP_S_CLOSING)
		return;
	arm_timer(s);
	s->hooks->resume(s->arg);
}

/* Run a decision hook and queue its answer. */
typedef int (*decide_fn)(struct smtp_session *s, uint32_t slot, const struct smtp_cmd *c,
			 struct smtp_answer *a);

static void decide(struct smtp_session *s, unsigned verb, const struct smtp_cmd *c, decide_fn fn)
{
	struct smtp_answer a = { .ok = true, .reply_id = -1 };
	uint32_t seq = slot_open(s, verb);

	if (fn(s, seq, c, &a) == SL_AGAIN)
		return;
	answer(s, seq, &a);
	flush(s);
}

/* Queue a local reply: a table id, in order behind what is pending. */
static void reply_local(struct smtp_session *s, unsigned verb, bool ok, enum smtp_reply_id id, bool close)
{
	struct smtp_answer a;
	uint32_t seq = slot_open(s, verb);

	smtp_answer_id(&a, ok, id);
	a.close = close;
	answer(s, seq, &a);
	flush(s);
}

static void reply_default(struct smtp_session *s, unsigned verb, bool close)
{
	struct smtp_answer a = { .ok = true, .close = close, .reply_id = -1 };
	uint32_t seq = slot_open(s, verb);

	answer(s, seq, &a);
	flush(s);
}

/* ---- decision adapters */

static int do_connect(struct smtp_session *s, uint32_t slot, const struct smtp_cmd *c, struct smtp_answer *a)
{
	(void)c;
	return s->hooks->connect(s->arg, slot, a);
}

static int do_helo(struct smtp_session *s, uint32_t slot, const struct smtp_cmd *c, struct smtp_answer *a)
{
	return s->hooks->helo(s->arg, slot, c->arg, c->verb == SMTP_CMD_EHLO, a);
}

static int do_mail(struct smtp_session *s, uint32_t slot, const struct smtp_cmd *c, struct smtp_answer *a)
{
	return s->hooks->mail(s->arg, slot, c, a);
}

static int do_rcpt(struct smtp_session *s, uint32_t slot, const struct smtp_cmd *c, struct smtp_answer *a)
{
	return s->hooks->rcpt(s->arg, slot, c, a);
}

static int do_data(struct smtp_session *s, uint32_t slot, const struct smtp_cmd *c, struct smtp_answer *a)
{
	(void)c;
	return s->hooks->data(s->arg, slot, a);
}

static int do_rset(struct smtp_session *s, uint32_t slot, const struct smtp_cmd *c, struct smtp_answer *a)
{
	(void)c;
	return s->hooks->rset(s->arg, slot, a);
}

/* ---- start, greet pause, timers */

void smtp_session_start(struct smtp_session *s)
{
	s->greet_paused = s->cfg->smtp.greet_pause_ms > 0;
	if (s->greet_paused)
		s->hooks->timer(s->arg, s->cfg->smtp.greet_pause_ms);
	decide(s, VERB_CONNECT, NULL, do_connect);
	if (s->state == SMTP_S_CLOSING)
		return;
	greet_if_ready(s);
}

void smtp_session_timer(struct smtp_session *s)
{
	switch (s->state) {
	case SMTP_S_CONNECT:
		if (s->greet_paused) {
			s->greet_paused = false;
			flush(s); /* the greeting, if the connect verdict is in */
			greet_if_ready(s);
		}
		return;
	case SMTP_S_CMD:
		if (smtp_session_busy(s))
			return; /* we owe the client a reply: not its fault */
		sl_info("session=%" PRIx64 " timeout after %s from %s", s->id,
			s->in_tx ? "MAIL" : (s->helo_done ? "HELO" : "CONNECT"), s->peer);
		close_with(s, SMTP_R_TIMEOUT);
		return;
	case SMTP_S_DATA:
		sl_info("session=%" PRIx64 " timeout after DATA (%" PRIu64 " bytes) from %s", s->id,
			s->scan.bytes, s->peer);
		close_with(s, s->cfg->smtp.min_data_rate ? SMTP_R_DATA_TOO_SLOW : SMTP_R_TIMEOUT);
		return;
	case SMTP_S_CLOSING:
		return;
	}
}

void smtp_session_shutdown(struct smtp_session *s)
{
	s->shutdown = true;
}

/* ---- commands */

static bool junk_command(struct smtp_session *s)
{
	/* Past the junk limit, NOOP/RSET/VRFY/HELP/ETRN/EXPN count as errors
	 * (Postfix's smtpd_junk_command_limit). */
	if (++s->junk > s->cfg->smtp.junk_command_limit) {
		s->errors++;
		return true;
	}
	return false;
}

static bool pipelinable(enum smtp_verb v)
{
	return v == SMTP_CMD_MAIL || v == SMTP_CMD_RCPT || v == SMTP_CMD_RSET;
}

static void pipelining_violation(struct smtp_session *s, const char *what)
{
	sl_info("session=%" PRIx64 " improper command pipelining after %s from %s", s->id, what, s->peer);
	close_with(s, SMTP_R_PIPELINING);
}

static void execute(struct smtp_session *s, struct smtp_cmd *c)
{
	const struct cfg *cf = s->cfg;

	switch (c->verb) {
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
		end_tx(s);
		snprintf(s->helo, sizeof(s->helo), "%s", c->arg);
		decide(s, c->verb, c, do_helo);
		return;
	case SMTP_CMD_MAIL:
		if (!s->helo_done) {
			reply_local(s, c->verb, false, SMTP_R_NEED_HELO, false);
			return;
		}
		if (s->in_tx) {
			reply_local(s, c->verb, false, SMTP_R_NESTED_MAIL, false);
			return;
		}
		end_tx(s);
		s->in_tx = true;
		s->tx_smtputf8 = c->mail.smtputf8;
		snprintf(s->sender, sizeof(s->sender), "%s", c->path.addr);
		decide(s, c->verb, c, do_mail);
		return;
	case SMTP_CMD_RCPT:
		if (!s->in_tx) {
			reply_local(s, c->verb, false, SMTP_R_NEED_MAIL, false);
			return;
		}
		snprintf(s->rcpt_last, sizeof(s->rcpt_last), "%s", c->path.addr);
		if (s->rcpt_given >= cf->smtp.recipient_limit) {
			reply_local(s, c->verb, false, SMTP_R_TOO_MANY_RCPTS, false);
			return;
		}
		s->rcpt_given++;
		decide(s, c->verb, c, do_rcpt);
		return;
	case SMTP_CMD_DATA:
		if (!s->in_tx)
			reply_local(s, c->verb, false, SMTP_R_NEED_MAIL, false);
		else if (s->rcpt_given == 0)
			reply_local(s, c->verb, false, SMTP_R_NEED_RCPT, false);
		else if (s->rcpt_ok == 0)
			reply_local(s, c->verb, false, SMTP_R_NO_VALID_RCPT, false);
		else {
			/* A barrier: bytes after DATA are message content if the answer
			 * is 354, commands otherwise; nothing is framed until we know. */
			s->data_pending = true;
			decide(s, c->verb, c, do_data);
		}
		return;
	case SMTP_CMD_RSET:
		junk_command(s);
		end_tx(s);
		decide(s, c->verb, c, do_rset);
		return;
	case SMTP_CMD_NOOP:
		junk_command(s);
		reply_local(s, c->verb, true, SMTP_R_OK, false);
		return;
	case SMTP_CMD_QUIT:
		reply_default(s, c->verb, true);
		return;
	case SMTP_CMD_VRFY:
		junk_command(s);
		reply_local(s, c->verb, true, SMTP_R_VRFY, false);
		return;
	case SMTP_CMD_HELP:
		junk_command(s);
		reply_local(s, c->verb, true, SMTP_R_HELP, false);
		return;
	case SMTP_CMD_EXPN:
	case SMTP_CMD_ETRN:
		junk_command(s);
		reply_local(s, c->verb, false, SMTP_R_NOT_IMPLEMENTED, false);
		return;
	case SMTP_CMD_XCLIENT:
		reply_local(s, c->verb, false, SMTP_R_XCLIENT_DENIED, false);
		return;
	case SMTP_CMD_STARTTLS:
	case SMTP_CMD_BDAT:
	case SMTP_CMD_AUTH:
	default:
		reply_local(s, c->verb, false, SMTP_R_NOT_IMPLEMENTED, false);
		return;
	}
}

/* Parse and run the complete line in s->line, or leave it waiting when an
 * earlier reply is still owed and the command may not be pipelined. */
static void process_input_line(struct smtp_session *s)
{
	struct smtp_parse_opts opts = {
		.smtputf8 = s->cfg->smtp.smtputf8,
		.dsn = true,
		.eightbitmime = true,
		.size_limit = s->cfg->smtp.message_size_limit,
		.utf8_allowed = s->tx_smtputf8,
	};
	char copy[SMTP_LINE_MAX];
	struct smtp_cmd cmd;
	enum smtp_reply_id err = SMTP_R_UNKNOWN_CMD;
	int rc;

	if (s->line_overflow) {
		s->line_ready = false;
		s->line_overflow = false;
		s->line_len = 0;
		reply_local(s, SMTP_CMD_UNKNOWN, false, SMTP_R_LINE_TOO_LONG, false);
		return;
	}
	/* Parse a copy: the line stays intact if it has to wait its turn. */
	memcpy(copy, s->line, s->line_len);
	copy[s->line_len] = '\0';
	rc = smtp_parse_command(copy, s->line_len, &opts, &cmd, &err);
	if ((rc == SL_OK && !pipelinable(cmd.verb)) || rc != SL_OK) {
		/* Everything but MAIL/RCPT/RSET waits for the replies owed before it,
		 * so that its reply comes out in order and sees the final state. */
		if (s->head != s->tail) {
			s->line_ready = true;
			return;
		}
	}
	s->line_ready = false;
	s->line_len = 0;
	if (s->shutdown && !s->in_tx) {
		close_with(s, SMTP_R_SHUTDOWN);
		return;
	}
	if (rc != SL_OK) {
		unsigned verb = cmd.verb < SMTP_CMD_COUNT ? cmd.verb : SMTP_CMD_UNKNOWN;
		if (verb == SMTP_CMD_UNKNOWN)
			junk_command(s);
		reply_local(s, verb, false, err, false);
		return;
	}
	execute(s, &cmd);
}

/* ---- DATA */

static void data_forward(struct smtp_session *s, const struct sl_rx *rx, const uint8_t *p, size_t n,
			 bool from_input)
{
	uint64_t limit = s->cfg->smtp.message_size_limit;

	if (n == 0 || s->data_err >= 0 || s->scan.error != SMTP_SCAN_OK)
		return;
	if (limit && s->data_size + n > limit) {
		s->data_err = SMTP_R_MESSAGE_TOO_BIG; /* stop forwarding, read to the end */
		return;
	}
	s->data_size += n;
	s->hooks->data_bytes(s->arg, rx, p, n, from_input);
}

struct data_emit_ctx {
	struct smtp_session *s;
	const struct sl_rx  *rx;
};

/*
 * The scanner emits the final ".\r\n" too, possibly across calls; the
 * caller must not get it (it sends the terminator itself once it commits
 * the message). So the last three bytes emitted are always held back in
 * carry[], and dropped when the scanner reports the end.
 */
static void data_emit(void *arg, const uint8_t *p, size_t n, bool from_input)
{
	struct data_emit_ctx *ctx = arg;
	struct smtp_session *s = ctx->s;

	if (n == 0)
		return;
	if (n >= 3) {
		data_forward(s, ctx->rx, s->carry, s->carry_len, false);
		data_forward(s, ctx->rx, p, n - 3, from_input);
		memcpy(s->carry, p + n - 3, 3);
		s->carry_len = 3;
		return;
	}
	uint8_t tmp[6];
	memcpy(tmp, s->carry, s->carry_len);
	memcpy(tmp + s->carry_len, p, n);
	size_t total = s->carry_len + n;
	if (total > 3) {
		data_forward(s, ctx->rx, tmp, total - 3, false);
		memcpy(s->carry, tmp + total - 3, 3);
		s->carry_len = 3;
	} else {
		memcpy(s->carry, tmp, total);
		s->carry_len = (uint8_t)total;
	}
}

static int scan_error_reply(const struct smtp_session *s)
{
	switch (s->scan.error) {
	case SMTP_SCAN_BARE:
		return SMTP_R_BARE_NEWLINE;
	case SMTP_SCAN_NUL:
		return SMTP_R_NUL_IN_DATA;
	case SMTP_SCAN_LONG_LINE:
		return SMTP_R_DATA_LINE_TOO_LONG;
	default:
		return s->data_err;
	}
}

static size_t data_input(struct smtp_session *s, const struct sl_rx *rx, size_t off)
{
	struct data_emit_ctx ctx = { s, rx };
	uint64_t now = s->now_ms ? *s->now_ms : 0;
	uint32_t rate = s->cfg->smtp.min_data_rate;
	size_t room, n, used;

	room = s->hooks->data_room(s->arg);
	if (s->data_err >= 0 || s->scan.error != SMTP_SCAN_OK)
		room = SIZE_MAX; /* discarding: nothing goes to the backend */
	n = SL_MIN(rx->len - off, room);
	if (n == 0)
		return 0;
	/* Postfix's smtpd_min_data_rate: the deadline shrinks with time and
	 * grows by n/rate per read, never beyond the DATA timeout. */
	if (now > s->data_last_ms)
		s->data_budget_ms = s->data_budget_ms > now - s->data_last_ms ?
				    s->data_budget_ms - (now - s->data_last_ms) : 1;
	s->data_last_ms = now;
	used = smtp_data_scan(&s->scan, rx->data + off, n, data_emit, &ctx);
	if (rate)
		s->data_budget_ms = SL_MIN(s->data_budget_ms + (uint64_t)used * 1000 / rate,
					   data_timeout(s));
	else
		s->data_budget_ms = data_timeout(s);
	if (s->scan.done) {
		struct smtp_answer a = { .ok = true, .reply_id = -1 };
		int err = scan_error_reply(s);
		uint64_t size = s->scan.bytes;
		uint32_t seq;
		int rc;

		s->carry_len = 0; /* the terminator: the caller sends its own */
		s->counts.bytes += size;
		s->state = SMTP_S_CMD;
		seq = slot_open(s, VERB_DOT);
		/* the hook still sees the transaction (its recipients); it ends here */
		rc = s->hooks->data_end(s->arg, seq, err, size, &a);
		end_tx(s);
		if (rc != SL_AGAIN) {
			answer(s, seq, &a);
			flush(s);
		}
	}
	arm_timer(s);
	return used;
}

/* ---- input */

size_t smtp_session_input(struct smtp_session *s, const struct sl_rx *rx)
{
	size_t off = 0;
	bool enforce = s->cfg->smtp.pipelining_enforce;

	if (s->state == SMTP_S_CLOSING)
		return rx->len; /* nothing more is read from a closing session */
	if (s->state == SMTP_S_CONNECT) {
		if (rx->len > 0 && s->greet_paused) {
			/* postscreen's pre-greet test: a real client waits for 220 */
			char what[40];
			size_t n = SL_MIN(rx->len, sizeof(what) - 1);
			for (size_t i = 0; i < n; i++)
				what[i] = (rx->data[i] >= 0x20 && rx->data[i] < 0x7f) ? (char)rx->data[i] : '.';
			what[n] = '\0';
			sl_info("session=%" PRIx64 " PREGREET %u after greeting pause from %s: %s",
				s->id, rx->len, s->peer, what);
			s->counts.total[VERB_CONNECT]++;
			close_with(s, SMTP_R_PREGREET);
			return rx->len;
		}
		return 0; /* the connect verdict is not in yet */
	}
	/* A client that was not told PIPELINING sends one command, then waits. */
	if (enforce && !s->esmtp && s->state == SMTP_S_CMD && smtp_session_busy(s) && rx->len > 0) {
		pipelining_violation(s, s->helo_done ? "HELO" : "CONNECT");
		return rx->len;
	}
	while (off < rx->len && s->state != SMTP_S_CLOSING) {
		if (s->state == SMTP_S_DATA) {
			size_t used = data_input(s, rx, off);
			if (used == 0)
				break;
			off += used;
			continue;
		}
		if (s->line_ready || s->data_pending || s->tail - s->head >= SMTP_SLOTS ||
		    s->state != SMTP_S_CMD)
			break;
		const uint8_t *p = rx->data + off;
		size_t avail = rx->len - off;
		const uint8_t *lf = memchr(p, '\n', avail);
		size_t take = lf ? (size_t)(lf - p) + 1 : avail;
		size_t text = lf ? take - 1 : take;

		if (!s->line_overflow) {
			if (s->line_len + text > s->line_limit + 1 /* a CR may end it */) {
				s->line_overflow = true;
			} else {
				memcpy(s->line + s->line_len, p, text);
				s->line_len += (uint32_t)text;
			}
		}
		off += take;
		if (lf == NULL)
			break; /* partial line: wait for the rest */
		if (s->line_len > 0 && s->line[s->line_len - 1] == '\r')
			s->line_len--;
		if (!s->line_overflow && s->line_len > s->line_limit)
			s->line_overflow = true;
		if (enforce && !s->esmtp && off < rx->len) {
			pipelining_violation(s, s->helo_done ? "HELO" : "CONNECT");
			return rx->len;
		}
		arm_timer(s);
		process_input_line(s);
	}
	if (s->state == SMTP_S_CMD)
		arm_timer(s);
	return s->state == SMTP_S_CLOSING ? rx->len : off;
}

/* ---- the session's last log line */

/* Appending to the counts line, never past len - 1, always terminated:
 * by hand rather than six snprintf calls, a line per session on the
 * workers. */
struct counts_buf {
	char  *p;
	size_t len, off;
};

static void counts_str(struct counts_buf *b, const char *str)
{
	while (*str != '\0' && b->off + 1 < b->len)
		b->p[b->off++] = *str++;
	b->p[b->off] = '\0';
}

static void counts_u32(struct counts_buf *b, uint32_t v)
{
	char digits[10];
	int n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0 && b->off + 1 < b->len)
		b->p[b->off++] = digits[--n];
	b->p[b->off] = '\0';
}

/* "NAME=T" when all t succeeded, else "NAME=O/T", after a space unless first. */
static void counts_item(struct counts_buf *b, const char *name, uint32_t o, uint32_t t)
{
	if (b->off > 0)
		counts_str(b, " ");
	counts_str(b, name);
	counts_str(b, "=");
	if (o != t) {
		counts_u32(b, o);
		counts_str(b, "/");
	}
	counts_u32(b, t);
}

size_t smtp_session_format_counts(const struct smtp_session *s, char *buf, size_t len)
{
	static const struct { unsigned verb; const char *name; } order[] = {
		{ SMTP_CMD_HELO, "helo" }, { SMTP_CMD_EHLO, "ehlo" }, { SMTP_CMD_STARTTLS, "starttls" },
		{ SMTP_CMD_AUTH, "auth" }, { SMTP_CMD_MAIL, "mail" }, { SMTP_CMD_RCPT, "rcpt" },
		{ SMTP_CMD_DATA, "data" }, { SMTP_CMD_BDAT, "bdat" }, { SMTP_CMD_RSET, "rset" },
		{ SMTP_CMD_NOOP, "noop" }, { SMTP_CMD_VRFY, "vrfy" }, { SMTP_CMD_EXPN, "expn" },
		{ SMTP_CMD_HELP, "help" }, { SMTP_CMD_ETRN, "etrn" }, { SMTP_CMD_XCLIENT, "xclient" },
		{ SMTP_CMD_QUIT, "quit" }, { SMTP_CMD_UNKNOWN, "unknown" },
	};
	struct counts_buf b = { .p = buf, .len = len, .off = 0 };
	uint32_t ok = 0, total = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < SL_ARRAY_SIZE(order); i++) {
		unsigned v = order[i].verb;
		uint32_t t = s->counts.total[v], o = s->counts.ok[v];

		if (t == 0)
			continue;
		ok += o;
		total += t;
		counts_item(&b, order[i].name, o, t);
	}
	counts_item(&b, "commands", ok, total);
	return b.off;
}
