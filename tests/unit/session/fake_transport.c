/* fake_transport.c - the in-memory transport of fake_transport.h. Like the
 * kernel transport (kt_conn.c), ops only record; what they ask for (resume,
 * connect results, verdicts, backend replies) happens in fake_settle(). */
#include "fake_transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "util/sl_log.h"
#include "util/sl_status.h"

/* ---- buffers */

void fake_buf_add(struct fake_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (b->p == NULL)
			abort();
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void fake_buf_clear(struct fake_buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void fake_buf_free(struct fake_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void buf_drop_front(struct fake_buf *b, size_t n)
{
	if (n >= b->len) {
		fake_buf_clear(b);
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	b->p[b->len] = '\0';
}

/* ---- environment */

struct fake_env *fake_env_new(const char *cfg_text)
{
	char err[256];
	struct fake_env *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->cfg = cfg_parse_string("test.conf", cfg_text, strlen(cfg_text), err, sizeof(err));
	if (e->cfg == NULL) {
		fprintf(stderr, "fake_env_new: %s\n", err);
		free(e);
		return NULL;
	}
	backend_pool_init(&e->pool);
	if (backend_pool_apply(&e->pool, e->cfg) != SL_OK) {
		fprintf(stderr, "fake_env_new: backend_pool_apply failed\n");
		cfg_unref(e->cfg);
		free(e);
		return NULL;
	}
	e->lists = pol_snapshot_build(e->cfg->lists, e->cfg->nlists);
	e->store = pol_store_embedded_new_cap(e->cfg, 4096);
	e->w.id = 0;
	e->w.cfg = e->cfg;
	e->w.lists = e->lists;
	e->w.pool = &e->pool;
	e->w.now_ms = 1000000;
	return e;
}

void fake_env_free(struct fake_env *e)
{
	if (e == NULL)
		return;
	if (e->store != NULL)
		e->store->ops->destroy(e->store);
	pol_snapshot_free(e->lists);
	relay_worker_fini(&e->w);
	cfg_unref(e->cfg);
	free(e);
}

/* ---- the automatic MTA */

static void mta_reset_leg(struct fake_mta *m)
{
	fake_buf_clear(&m->line);
	fake_buf_clear(&m->replies);
	m->in_data = false;
	m->tail_len = 0;
}

static void mta_reply(struct fake_mta *m, const char *s)
{
	fake_buf_add(&m->replies, s, strlen(s));
}

static void mta_command(struct fake_conn *c, struct fake_mta *m, const char *l, size_t n)
{
	char buf[256];

	m->commands++;
	if (n >= 4 && strncasecmp(l, "EHLO", 4) == 0) {
		mta_reply(m, "250-fake.backend\r\n");
		if (m->pipelining)
			mta_reply(m, "250-PIPELINING\r\n");
		if (m->xclient)
			mta_reply(m, "250-XCLIENT NAME ADDR PORT PROTO HELO\r\n");
		mta_reply(m, "250 8BITMIME\r\n");
	} else if (n >= 4 && strncasecmp(l, "HELO", 4) == 0) {
		mta_reply(m, "250 fake.backend\r\n");
	} else if (n >= 7 && strncasecmp(l, "XCLIENT", 7) == 0) {
		mta_reply(m, "220 fake.backend ESMTP\r\n");
	} else if (n >= 5 && strncasecmp(l, "PROXY", 5) == 0) {
		/* v1 header: no reply */
	} else if (n >= 4 && strncasecmp(l, "MAIL", 4) == 0) {
		int code = m->mail_code ? m->mail_code : 250;
		snprintf(buf, sizeof(buf), code == 250 ? "250 2.1.0 Ok\r\n" : "%d %d.0.0 mail refused\r\n", code,
			 code / 100);
		mta_reply(m, buf);
	} else if (n >= 4 && strncasecmp(l, "RCPT", 4) == 0) {
		int code = m->rcpt_code ? m->rcpt_code : 250;
		snprintf(buf, sizeof(buf), code == 250 ? "250 2.1.5 Ok\r\n" : "%d %d.1.1 rcpt refused\r\n", code,
			 code / 100);
		mta_reply(m, buf);
	} else if (n >= 4 && strncasecmp(l, "DATA", 4) == 0) {
		mta_reply(m, "354 End data with <CR><LF>.<CR><LF>\r\n");
		m->in_data = true;
		fake_buf_clear(&m->msg);
		/* the CR LF of the DATA line may start the terminator */
		memcpy(m->tail, "\r\n", 2);
		m->tail_len = 2;
	} else if (n >= 4 && strncasecmp(l, "RSET", 4) == 0) {
		mta_reply(m, "250 2.0.0 Ok\r\n");
	} else if (n >= 4 && strncasecmp(l, "QUIT", 4) == 0) {
		mta_reply(m, "221 2.0.0 Bye\r\n");
	} else if (n >= 4 && strncasecmp(l, "NOOP", 4) == 0) {
		mta_reply(m, "250 2.0.0 Ok\r\n");
	} else {
		mta_reply(m, "500 5.5.2 unknown\r\n");
	}
	(void)c;
}

static void mta_data_byte(struct fake_mta *m, uint8_t b, bool *reset)
{
	char buf[128];

	if (m->reset_in_data) {
		*reset = true;
		return;
	}
	fake_buf_add(&m->msg, &b, 1);
	/* bare CR: a CR not followed by LF; bare LF: an LF not after CR */
	if (m->tail_len > 0 && m->tail[m->tail_len - 1] == '\r' && b != '\n')
		m->bare++;
	if (b == '\n' && (m->tail_len == 0 || m->tail[m->tail_len - 1] != '\r'))
		m->bare++;
	if (m->tail_len == 5)
		memmove(m->tail, m->tail + 1, --m->tail_len);
	m->tail[m->tail_len++] = b;
	if (m->tail_len == 5 && memcmp(m->tail, "\r\n.\r\n", 5) == 0) {
		m->in_data = false;
		m->messages++;
		fake_buf_clear(&m->last_msg);
		fake_buf_add(&m->last_msg, m->msg.p, m->msg.len - 3);
		if (m->silent_dot)
			return;
		if (m->dot_code == 0 || m->dot_code == 250) {
			m->accepted++;
			snprintf(buf, sizeof(buf), "250 2.0.0 Ok: queued as FAKE%u\r\n", m->messages);
		} else {
			snprintf(buf, sizeof(buf), "%d %d.0.0 message refused\r\n", m->dot_code, m->dot_code / 100);
		}
		mta_reply(m, buf);
	}
}

static const uint8_t proxy_v2_sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

/* Bytes the session sent on the backend leg, as the MTA reads them. */
static void mta_input(struct fake_conn *c, const uint8_t *p, size_t n)
{
	struct fake_mta *m = &c->mta;
	bool reset = false;

	if (m->reset_pending)
		return; /* the leg is being reset: nothing more is read */
	for (size_t i = 0; i < n && !reset; i++) {
		if (m->in_data) {
			mta_data_byte(m, p[i], &reset);
			continue;
		}
		fake_buf_add(&m->line, &p[i], 1);
		/* a PROXY v2 header at the start of the leg: binary, skip it */
		if (m->commands == 0 && m->line.len <= 16 &&
		    memcmp(m->line.p, proxy_v2_sig, SL_MIN(m->line.len, 12)) == 0) {
			if (m->line.len == 16)
				m->skip = 16u + ((uint32_t)m->line.p[14] << 8 | m->line.p[15]);
			continue;
		}
		if (m->skip > 0) {
			if (m->line.len >= m->skip) {
				m->skip = 0;
				m->commands++;
				fake_buf_clear(&m->line);
			}
			continue;
		}
		if (p[i] == '\n') {
			size_t l = m->line.len - 1;
			if (l > 0 && m->line.p[l - 1] == '\r')
				l--;
			mta_command(c, m, (const char *)m->line.p, l);
			fake_buf_clear(&m->line);
		}
	}
	if (reset) {
		m->reset_in_data = false;
		m->reset_pending = true; /* settle resets the leg */
	}
}

/* ---- ops */

static void leg_output(struct fake_conn *c, enum sl_leg leg, const uint8_t *p, size_t n)
{
	fake_buf_add(&c->out[leg], p, n);
	if (leg == SL_LEG_BACKEND) {
		c->bk_bytes_total += (unsigned)n;
		if (c->auto_mta)
			mta_input(c, p, n);
	}
}

static int op_send(void *conn, enum sl_leg leg, const void *buf, size_t len)
{
	struct fake_conn *c = conn;

	if (leg == SL_LEG_BACKEND && (!c->bk_open || c->bk_connecting))
		return SL_ERROR;
	if (leg == SL_LEG_CLIENT && !c->client_open)
		return SL_ERROR;
	leg_output(c, leg, buf, len);
	return SL_OK;
}

static int op_forward(void *conn, enum sl_leg to, const struct sl_rx *rx, uint32_t off, uint32_t len)
{
	struct fake_conn *c = conn;

	if (off > rx->len || len > rx->len - off)
		abort(); /* a broken view: the session's bug */
	return op_send(c, to, rx->data + off, len);
}

static size_t op_pending(void *conn, enum sl_leg leg)
{
	struct fake_conn *c = conn;

	return leg == SL_LEG_BACKEND ? c->bk_pending : 0;
}

static int op_connect(void *conn, const struct sl_addr *dst)
{
	struct fake_conn *c = conn;

	if (c->nconnect < FAKE_MAX_CONNECTS)
		c->connect_dst[c->nconnect] = *dst;
	c->nconnect++;
	if (c->connect_sync_rc != SL_OK)
		return c->connect_sync_rc;
	if (c->bk_open)
		abort(); /* a second leg while one is open */
	c->bk_open = true;
	c->bk_connecting = true;
	if (c->auto_mta)
		mta_reset_leg(&c->mta);
	return SL_OK;
}

static void op_close(void *conn, enum sl_leg leg, bool abort_)
{
	struct fake_conn *c = conn;

	if (leg == SL_LEG_CLIENT) {
		c->client_open = false;
		c->client_closes++;
		c->client_close_abort = abort_;
		return;
	}
	if (!c->bk_open)
		return;
	c->bk_open = false;
	c->bk_connecting = false;
	c->bk_closes++;
	if (abort_)
		c->bk_aborts++;
	if (c->auto_mta)
		mta_reset_leg(&c->mta);
}

static void op_timer(void *conn, enum sl_timer_id id, uint32_t ms)
{
	struct fake_conn *c = conn;

	c->timer_sets[id]++;
	c->timer_ms[id] = ms;
	c->timer_due[id] = ms ? c->env->w.now_ms + ms : 0;
}

static void op_resume(void *conn)
{
	struct fake_conn *c = conn;

	c->resume = true;
	c->resumes++;
}

static void store_done(void *arg, uint64_t token, const struct pol_verdict *v)
{
	(void)token;
	*(struct pol_verdict *)arg = *v;
}

static int op_policy(void *conn, const struct pol_query *q, uint32_t seq)
{
	struct fake_conn *c = conn;

	c->policy_calls++;
	if (c->policy_rc != SL_OK)
		return c->policy_rc;
	if (c->freeing || q->stage == POL_STAGE_END) {
		/* the session is ending: the store releases what it holds, no verdict */
		struct pol_verdict v;
		pol_store_decide(c->env->store, q, c->env->w.now_ms, seq, store_done, &v);
		return SL_OK;
	}
	if (c->nq >= FAKE_MAX_QUERIES)
		return SL_ERROR;
	c->q[c->nq].q = *q;
	c->q[c->nq].seq = seq;
	c->nq++;
	return SL_OK;
}

static const struct sl_transport_ops fake_ops = {
	.send = op_send,
	.forward = op_forward,
	.pending = op_pending,
	.connect = op_connect,
	.close = op_close,
	.timer = op_timer,
	.resume = op_resume,
	.policy = op_policy,
};

/* ---- the loop */

static void offer_input(struct fake_conn *c)
{
	struct sl_rx rx;
	size_t n;

	if (c->s == NULL || !c->client_open || c->in.len == 0)
		return;
	rx.data = c->in.p;
	rx.len = (uint32_t)c->in.len;
	rx.owner = NULL;
	n = relay_session_client_input(c->s, &rx);
	if (!c->client_open)
		fake_buf_clear(&c->in);
	else
		buf_drop_front(&c->in, n);
}

static void maybe_free(struct fake_conn *c)
{
	struct relay_session *s = c->s;

	if (s == NULL || c->client_open || c->bk_open)
		return;
	c->s = NULL;
	c->freeing = true;
	relay_session_free(s);
}

void fake_policy_answer(struct fake_conn *c, const struct pol_verdict *v)
{
	struct pol_verdict sv;
	struct pol_query q;
	uint32_t seq;

	if (c->nq == 0)
		return;
	q = c->q[0].q;
	seq = c->q[0].seq;
	memmove(&c->q[0], &c->q[1], (c->nq - 1) * sizeof(c->q[0]));
	c->nq--;
	if (v == NULL) {
		pol_store_decide(c->env->store, &q, c->env->w.now_ms, seq, store_done, &sv);
		v = &sv;
	}
	if (c->s != NULL)
		relay_session_verdict(c->s, seq, v);
}

void fake_settle(struct fake_conn *c)
{
	if (c->in_settle)
		return;
	c->in_settle = true;
	for (int pass = 0; pass < 10000 && c->s != NULL; pass++) {
		bool progress = false;

		if (c->auto_mta && c->bk_open && c->mta.reset_pending) {
			c->mta.reset_pending = false;
			c->bk_open = false;
			c->bk_connecting = false;
			mta_reset_leg(&c->mta);
			relay_session_leg_closed(c->s, SL_LEG_BACKEND, true);
			progress = true;
		} else if (c->auto_mta && c->bk_connecting) {
			bool ok = true;
			if (c->auto_connect_fail > 0) {
				c->auto_connect_fail--;
				ok = false;
				c->bk_open = false;
			}
			c->bk_connecting = false;
			relay_session_backend_connected(c->s, ok);
			if (ok && c->bk_open)
				mta_reply(&c->mta, c->mta.greet_421 ? "421 4.3.2 fake backend busy\r\n"
								    : "220 fake.backend ESMTP\r\n");
			progress = true;
		} else if (c->auto_mta && c->bk_open && c->mta.replies.len > 0) {
			struct fake_buf r = c->mta.replies;
			struct sl_rx rx;
			memset(&c->mta.replies, 0, sizeof(c->mta.replies));
			rx.data = r.p;
			rx.len = (uint32_t)r.len;
			rx.owner = NULL;
			relay_session_backend_input(c->s, &rx);
			fake_buf_free(&r);
			progress = true;
		}
		if (c->s != NULL && !c->manual_policy && c->nq > 0) {
			fake_policy_answer(c, NULL);
			progress = true;
		}
		if (c->s != NULL && c->resume) {
			c->resume = false;
			if (c->in.len > 0 && c->client_open) {
				offer_input(c);
				progress = true;
			}
		}
		if (!progress)
			break;
	}
	c->in_settle = false;
	maybe_free(c);
}

/* ---- connections */

struct fake_conn *fake_conn_new(struct fake_env *e, const char *ip, uint16_t port, bool auto_mta)
{
	struct fake_conn *c = calloc(1, sizeof(*c));
	struct relay_session_params p;

	if (c == NULL)
		abort();
	c->env = e;
	c->auto_mta = auto_mta;
	c->client_open = true;
	c->connect_sync_rc = SL_OK;
	c->policy_rc = SL_OK;
	c->mem = malloc(relay_session_size());
	if (c->mem == NULL)
		abort();
	memset(&p, 0, sizeof(p));
	p.id = ++e->next_id;
	if (sl_addr_parse(ip, &p.client, false) != SL_OK)
		abort();
	p.client.port = port;
	if (sl_addr_parse(p.client.family == AF_INET6 ? "2001:2::1" : "198.18.0.1", &p.local, false) != SL_OK)
		abort();
	p.local.port = 25;
	c->s = relay_session_start(c->mem, &e->w, &p, &fake_ops, c);
	fake_settle(c);
	return c;
}

void fake_conn_free(struct fake_conn *c)
{
	if (c->s != NULL) {
		relay_session_leg_closed(c->s, SL_LEG_CLIENT, true);
		c->client_open = false;
		c->bk_open = false;
		fake_settle(c);
		maybe_free(c);
	}
	for (int i = 0; i < 2; i++)
		fake_buf_free(&c->out[i]);
	fake_buf_free(&c->in);
	fake_buf_free(&c->mta.line);
	fake_buf_free(&c->mta.msg);
	fake_buf_free(&c->mta.last_msg);
	fake_buf_free(&c->mta.replies);
	free(c->mem);
	free(c);
}

void fake_client_send(struct fake_conn *c, const void *p, size_t n)
{
	if (c->s == NULL || !c->client_open)
		return;
	fake_buf_add(&c->in, p, n);
	offer_input(c);
	fake_settle(c);
}

void fake_client_str(struct fake_conn *c, const char *s)
{
	fake_client_send(c, s, strlen(s));
}

void fake_client_close(struct fake_conn *c, bool reset)
{
	if (c->s == NULL || !c->client_open)
		return;
	relay_session_leg_closed(c->s, SL_LEG_CLIENT, reset);
	c->client_open = false;
	fake_settle(c);
}

void fake_backend_connected(struct fake_conn *c, bool ok)
{
	if (c->s == NULL || !c->bk_connecting)
		return;
	c->bk_connecting = false;
	if (!ok)
		c->bk_open = false;
	relay_session_backend_connected(c->s, ok);
	fake_settle(c);
}

void fake_backend_str(struct fake_conn *c, const char *s)
{
	struct sl_rx rx = { .data = (const uint8_t *)s, .len = (uint32_t)strlen(s), .owner = NULL };

	if (c->s == NULL || !c->bk_open || c->bk_connecting)
		return;
	relay_session_backend_input(c->s, &rx);
	fake_settle(c);
}

void fake_backend_closed(struct fake_conn *c, bool reset)
{
	if (c->s == NULL || !c->bk_open)
		return;
	c->bk_open = false;
	c->bk_connecting = false;
	relay_session_leg_closed(c->s, SL_LEG_BACKEND, reset);
	fake_settle(c);
}

void fake_fire(struct fake_conn *c, enum sl_timer_id id)
{
	if (c->s == NULL)
		return;
	c->timer_due[id] = 0;
	relay_session_timer(c->s, id);
	fake_settle(c);
}

void fake_advance(struct fake_conn *c, uint64_t ms)
{
	uint64_t end = c->env->w.now_ms + ms;

	for (;;) {
		int id = -1;
		for (int i = 0; i < SL_TIMER_COUNT; i++)
			if (c->timer_due[i] && c->timer_due[i] <= end &&
			    (id < 0 || c->timer_due[i] < c->timer_due[id]))
				id = i;
		if (id < 0 || c->s == NULL)
			break;
		if (c->timer_due[id] > c->env->w.now_ms)
			c->env->w.now_ms = c->timer_due[id];
		fake_fire(c, (enum sl_timer_id)id);
	}
	c->env->w.now_ms = end;
}

/* ---- looking at output */

static const char *take_into(struct fake_buf *dst, const struct fake_buf *src, size_t from)
{
	fake_buf_clear(dst);
	fake_buf_add(dst, src->p ? src->p + from : (const uint8_t *)"", src->len - from);
	return (const char *)dst->p;
}

const char *fake_take(struct fake_conn *c, enum sl_leg leg)
{
	static struct fake_buf tb[2];
	size_t from = c->out_seen[leg];

	c->out_seen[leg] = c->out[leg].len;
	return take_into(&tb[leg], &c->out[leg], from);
}

const char *fake_all(struct fake_conn *c, enum sl_leg leg)
{
	static struct fake_buf ab[2];

	return take_into(&ab[leg], &c->out[leg], 0);
}

/* ---- log capture */

static struct fake_buf log_buf;
static enum sl_log_level log_saved_level;

static void log_sink(enum sl_log_level level, const char *line, void *arg)
{
	(void)level;
	(void)arg;
	fake_buf_add(&log_buf, line, strlen(line));
	fake_buf_add(&log_buf, "\n", 1);
}

void fake_log_start(void)
{
	fake_buf_clear(&log_buf);
	log_saved_level = sl_log_get_level();
	sl_log_set_level(SL_LOG_INFO);
	sl_log_set_sink(log_sink, NULL);
}

void fake_log_stop(void)
{
	sl_log_set_sink(NULL, NULL);
	sl_log_set_level(log_saved_level);
}

const char *fake_log(void)
{
	return log_buf.p ? (const char *)log_buf.p : "";
}

bool fake_log_has(const char *needle)
{
	return strstr(fake_log(), needle) != NULL;
}

void fake_log_clear(void)
{
	fake_buf_clear(&log_buf);
}
