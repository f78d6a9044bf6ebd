/* pol_limit.c - limit rules shared by the embedded and Redis stores. */
#include <stdio.h>
#include <string.h>

#include "policy/pol_limit.h"
#include "policy/pol_priv.h"

/* Our own names: the config's name tables are another module's. */
static const char *const kind_names[CFG_LIMIT_KIND_COUNT] = {
	"conn_rate", "msg_rate", "rcpt_rate", "byte_rate", "concurrency",
};
static const char *const key_names[CFG_KEY_COUNT] = {
	"ip", "net", "helo", "sender", "sender_domain", "rcpt",
};
static const uint8_t kind_stage[CFG_LIMIT_KIND_COUNT] = {
	POL_STAGE_CONNECT, POL_STAGE_MAIL, POL_STAGE_RCPT, POL_STAGE_DATA, POL_STAGE_CONNECT,
};
static const char *const default_text[CFG_LIMIT_KIND_COUNT] = {
	"Too many connections, try again later",
	"Too many messages, try again later",
	"Too many recipients, try again later",
	"Too much mail, try again later",
	"Too many concurrent sessions, try again later",
};

void pol_limit_compile(struct pol_limit *r, const struct cfg_limit *c)
{
	bool conn;

	memset(r, 0, sizeof(*r));
	r->cfg = *c;
	if ((unsigned)c->kind >= CFG_LIMIT_KIND_COUNT || (unsigned)c->key >= CFG_KEY_COUNT)
		return; /* inactive: the config checker rejects these */
	conn = c->kind == CFG_LIMIT_CONN_RATE || c->kind == CFG_LIMIT_CONCURRENCY;
	r->stage = kind_stage[c->kind];
	/* 0 = not set (a hand-built cfg): a /0 "net" would make one global key */
	r->net4 = c->net4_prefix ? SL_MIN(c->net4_prefix, 32) : 24;
	r->net6 = c->net6_prefix ? SL_MIN(c->net6_prefix, 128) : 64;
	if (r->cfg.code == 0)
		r->cfg.code = conn ? 421 : 450;
	if (r->cfg.status[0] == '\0')
		pol_copy(r->cfg.status, sizeof(r->cfg.status),
			 c->kind == CFG_LIMIT_CONCURRENCY ? "4.7.0" : "4.7.1");
	if (r->cfg.text[0] == '\0')
		pol_copy(r->cfg.text, sizeof(r->cfg.text), default_text[c->kind]);
	snprintf(r->name, sizeof(r->name), "limit %s %s", kind_names[c->kind], key_names[c->key]);
	if (c->kind == CFG_LIMIT_CONCURRENCY)
		r->active = c->count > 0;
	else
		r->active = pol_gcra_init(&r->gcra, c->count, c->period_ms, c->burst) == 0;
}

bool pol_limit_same_counter(const struct pol_limit *a, const struct pol_limit *b)
{
	return a->cfg.kind == b->cfg.kind && a->cfg.key == b->cfg.key &&
	       a->cfg.count == b->cfg.count && a->cfg.period_ms == b->cfg.period_ms &&
	       (a->cfg.burst ? a->cfg.burst : a->cfg.count) ==
		       (b->cfg.burst ? b->cfg.burst : b->cfg.count) &&
	       (a->cfg.key != CFG_KEY_NET || (a->net4 == b->net4 && a->net6 == b->net6));
}

static int copy_lower(char *buf, size_t len, const char *s, size_t n)
{
	size_t i;

	if (n >= len)
		n = len - 1;
	for (i = 0; i < n; i++)
		buf[i] = pol_lower(s[i]);
	buf[n] = '\0';
	return (int)n;
}

int pol_limit_key(const struct pol_limit *r, const struct pol_query *q, char *buf, size_t len)
{
	struct sl_addr a;
	size_t n;
	const char *at;

	if (!r->active || q->stage != r->stage)
		return -1;
	switch (r->cfg.key) {
	case CFG_KEY_IP:
	case CFG_KEY_NET:
		a = pol_addr_canon(&q->client);
		if (a.family != SL_AF_INET && a.family != SL_AF_INET6)
			return -1;
		a.port = 0;
		if (r->cfg.key == CFG_KEY_NET) {
			unsigned l = a.family == SL_AF_INET ? r->net4 : r->net6;
			char host[SL_ADDR_STRLEN];
			a = sl_addr_mask(&a, l);
			sl_addr_format(&a, host, sizeof(host), false);
			return snprintf(buf, len, "%s/%u", host, l) < (int)len ? (int)strlen(buf) : -1;
		}
		sl_addr_format(&a, buf, len, false);
		return (int)strlen(buf);
	case CFG_KEY_HELO:
		/* HELO is not a limit stage; the value is there from MAIL on */
		if (q->stage < POL_STAGE_MAIL || q->stage > POL_STAGE_DATA)
			return -1;
		return copy_lower(buf, len, q->helo, strnlen(q->helo, SL_HELO_MAX));
	case CFG_KEY_SENDER:
	case CFG_KEY_SENDER_DOMAIN:
		if (q->stage < POL_STAGE_MAIL || q->stage > POL_STAGE_DATA)
			return -1;
		n = strnlen(q->sender, SL_PATH_MAX);
		if (r->cfg.key == CFG_KEY_SENDER)
			return copy_lower(buf, len, q->sender, n); /* "" = null sender, a key too */
		at = memrchr(q->sender, '@', n);
		if (at == NULL || at + 1 == q->sender + n)
			return -1; /* the null sender has no domain */
		return copy_lower(buf, len, at + 1, n - (size_t)(at + 1 - q->sender));
	case CFG_KEY_RCPT:
		/* one recipient per query: only RCPT knows which */
		if (q->stage != POL_STAGE_RCPT)
			return -1;
		return copy_lower(buf, len, q->rcpt, strnlen(q->rcpt, SL_PATH_MAX));
	default:
		return -1;
	}
}

uint64_t pol_limit_cost(const struct pol_limit *r, const struct pol_query *q)
{
	return r->cfg.kind == CFG_LIMIT_BYTE_RATE ? q->size : 1;
}

void pol_limit_over(const struct pol_limit *r, struct pol_verdict *v)
{
	enum pol_action act = POL_TEMPFAIL;

	if (r->cfg.code == 421)
		act = POL_DISCONNECT;
	else if (r->cfg.code >= 500)
		act = POL_REJECT; /* an operator who wrote 5xx asked for it */
	pol_verdict_set(v, act, r->cfg.code, r->cfg.status, r->name);
	pol_verdict_text(v, "%s", r->cfg.text);
}

void pol_limit_unreachable(const struct pol_limit *r, struct pol_verdict *v)
{
	if (!r->cfg.fail_closed) {
		pol_verdict_accept(v);
		return;
	}
	pol_verdict_set(v, r->stage == POL_STAGE_CONNECT ? POL_DISCONNECT : POL_TEMPFAIL,
			r->stage == POL_STAGE_CONNECT ? 421 : 451, "4.7.0", r->name);
	pol_verdict_text(v, "Policy service unavailable, try again later");
}
