/* ctl_cmd.c - the control socket's commands: one table, one handler each,
 * every reply one JSON object on one line. */
#include "ctlsock/ctl_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "ctlsock/ctl_sessions.h"
#include "ctlsock/ctl_stats.h"
#include "metrics.h"
#include "redis/redis_lists.h"
#include "relay/backend_pool.h"
#include "util/sl_clock.h"
#include "util/sl_log.h"
#include "util/sl_ring.h"
#include "util/sl_status.h"

#ifndef SL_VERSION
#define SL_VERSION "0.1.0"
#endif

#define CTL_TTL_MAX       (10u * 365 * 86400)  /* ten years: beyond is a typo */
#define CTL_SHOW_MAX      1000                 /* entries of each source shown by "list" */

static const char *const kind_names[CFG_LIST_KIND_COUNT] = { "ip", "helo", "sender", "domain", "rcpt" };

typedef void (*ctl_cmd_fn)(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r);

struct ctl_cmd {
	const char *name;
	ctl_cmd_fn  fn;
	const char *usage;
};

static void ok_open(struct ctl_buf *b) { ctl_buf_puts(b, "{\"ok\":true"); }
static void ok_close(struct ctl_buf *b) { ctl_buf_puts(b, "}\n"); }

static void field_str(struct ctl_buf *b, const char *key, const char *val)
{
	ctl_buf_printf(b, ",\"%s\":", key);
	ctl_buf_json_str(b, val);
}

static void field_u64(struct ctl_buf *b, const char *key, uint64_t v)
{
	ctl_buf_printf(b, ",\"%s\":%" PRIu64, key, v);
}

static void field_bool(struct ctl_buf *b, const char *key, bool v)
{
	ctl_buf_printf(b, ",\"%s\":%s", key, v ? "true" : "false");
}

int ctl_cmd_publish(struct ctl_sock *s)
{
	/* at once, or shortly when big rebuilds come fast (control.c) */
	int rc = control_lists_changed(s->ctl);

	if (rc == SL_OK)
		s->n.publishes++;
	return rc;
}

/* ---- version, status, stats */

static void cmd_version(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r)
{
	(void)s;
	(void)r;
	ok_open(&c->out);
	field_u64(&c->out, "protocol", CTL_PROTO_VERSION);
	field_str(&c->out, "version", SL_VERSION);
	ok_close(&c->out);
}

static void cmd_status(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r)
{
	struct cfg *cf = control_cfg_ref(s->ctl);
	struct pol_store *st = control_store(s->ctl);
	struct ctl_wstats t;
	struct ctl_buf *b = &c->out;

	(void)r;
	ok_open(b);
	field_u64(b, "pid", (uint64_t)getpid());
	field_u64(b, "uptime_s", (sl_clock_ms() - s->start_ms) / 1000);
	field_u64(b, "started", (uint64_t)s->start_unix);
	field_u64(b, "workers", control_nworkers(s->ctl));
	if (ctl_stats_get(-1, &t))
		field_u64(b, "sessions", t.conns);
	else
		ctl_buf_puts(b, ",\"sessions\":null");
	field_str(b, "config", cf->file);
	field_str(b, "transport", cf->transport == CFG_TRANSPORT_DPDK ? "dpdk" : "kernel");
	field_str(b, "store", st != NULL ? st->ops->name : "none");
	/* the control's own generation counter has no accessor yet: these two
	 * together say how often the workers got new config and lists */
	field_u64(b, "reloads", s->n.reloads);
	field_u64(b, "list_publishes", s->n.publishes);
	field_u64(b, "backends", cf->nbackends);
	field_u64(b, "limits", cf->nlimits);
	field_u64(b, "config_list_entries", cf->nlists);
	field_u64(b, "runtime_list_entries", s->lists.n);
	field_u64(b, "runtime_limits", s->rlimits.n);
	field_u64(b, "control_clients", s->nconns);
	ok_close(b);
	cfg_unref(cf);
}

static void put_wstats(struct ctl_buf *b, const struct ctl_wstats *w)
{
	field_u64(b, "accepted", w->accepted);
	field_u64(b, "rejected_busy", w->rejected_busy);
	field_u64(b, "sessions", w->conns);
	field_u64(b, "policy_sent", w->policy_sent);
	field_u64(b, "policy_full", w->policy_full);
	field_u64(b, "verdicts", w->verdicts);
	field_u64(b, "verdicts_stale", w->verdicts_stale);
	field_u64(b, "forced_closes", w->forced_closes);
}

/* The transport's dataplane records of worker w (totals: -1), as "dataplane":{...}; nothing when it has none. */
static void put_dataplane(struct ctl_buf *b, int w)
{
	struct ctl_dp_rec rec[CTL_DP_REC_MAX];
	unsigned n = ctl_dp_get(w, rec, CTL_DP_REC_MAX);

	if (n == 0)
		return;
	ctl_buf_puts(b, ",\"dataplane\":");
	ctl_dp_json(b, rec, n);
}

static void cmd_stats(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r)
{
	struct ctl_buf *b = &c->out;
	struct pol_store *st = control_store(s->ctl);
	struct ctl_wstats t;
	unsigned n = control_nworkers(s->ctl);

	(void)r;
	ok_open(b);
	ctl_buf_puts(b, ",\"totals\":");
	if (ctl_stats_get(-1, &t)) {
		ctl_buf_puts(b, "{\"transport\":true");
		put_wstats(b, &t);
		put_dataplane(b, -1);
		ctl_buf_puts(b, "}");
	} else {
		ctl_buf_puts(b, "null"); /* no transport counters registered */
	}
	ctl_buf_puts(b, ",\"workers\":[");
	for (unsigned w = 0; w < n; w++) {
		struct control_port *p = control_port(s->ctl, w);
		struct ctl_wstats ws;
		ctl_buf_printf(b, "%s{\"worker\":%u", w ? "," : "", w);
		/* what the control thread sees of each worker: its ring depths */
		field_u64(b, "queries_waiting", sl_ring_count(p->to_control));
		field_u64(b, "verdicts_waiting", sl_ring_count(p->to_worker));
		if (ctl_stats_get((int)w, &ws))
			put_wstats(b, &ws);
		put_dataplane(b, (int)w);
		ctl_buf_puts(b, "}");
	}
	ctl_buf_puts(b, "]");
	if (st != NULL && strcmp(st->ops->name, "embedded") == 0) {
		struct pol_store_stats ps;
		pol_store_embedded_stats(st, &ps);
		ctl_buf_puts(b, ",\"store\":{\"name\":\"embedded\"");
		field_u64(b, "decisions", ps.decisions);
		field_u64(b, "over", ps.over);
		field_u64(b, "full", ps.full);
		field_u64(b, "reclaimed", ps.reclaimed);
		field_u64(b, "buckets", ps.buckets);
		field_u64(b, "capacity", ps.capacity);
		ctl_buf_puts(b, "}");
	} else {
		ctl_buf_puts(b, ",\"store\":");
		if (st != NULL) {
			ctl_buf_puts(b, "{\"name\":");
			ctl_buf_json_str(b, st->ops->name);
			ctl_buf_puts(b, "}");
		} else {
			ctl_buf_puts(b, "null");
		}
	}
	ctl_buf_puts(b, ",\"control\":{");
	ctl_buf_printf(b, "\"connections\":%" PRIu64, s->n.connections);
	field_u64(b, "refused", s->n.refused);
	field_u64(b, "requests", s->n.requests);
	field_u64(b, "errors", s->n.errors);
	field_u64(b, "expired", s->n.expired);
	ctl_buf_puts(b, "}");
	ok_close(b);
}

/* ---- block / allow */

static bool parse_ttl(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (*v < '0' || *v > '9')
		return false;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || n == 0 || n > CTL_TTL_MAX)
		return false;
	*out = n;
	return true;
}

/* sync: for a runtime entry under a Redis mirror, whether Redis has it
 * ("synced") or a write is still to go or on its way ("pending"); NULL
 * otherwise. */
static void put_entry(struct ctl_buf *b, const struct cfg_list_entry *e, bool runtime,
		      uint64_t expires_ms, uint64_t now, const char *sync, bool first)
{
	ctl_buf_printf(b, "%s{\"list\":\"%s\",\"kind\":\"%s\"", first ? "" : ",",
		       e->allow ? "allow" : "block", kind_names[e->kind]);
	field_str(b, "value", e->value);
	field_str(b, "source", runtime ? "runtime" : "config");
	if (!runtime)
		field_u64(b, "line", (uint64_t)e->line);
	if (expires_ms != 0)
		field_u64(b, "ttl", expires_ms > now ? (expires_ms - now + 999) / 1000 : 0);
	else
		ctl_buf_puts(b, ",\"ttl\":null");
	field_str(b, "reason", e->reason);
	if (sync != NULL)
		field_str(b, "redis", sync);
	ctl_buf_puts(b, "}");
}

static void list_list(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r, bool allow)
{
	struct ctl_buf *b = &c->out;
	struct cfg *cf;
	struct cfg_list_entry *tmp;
	bool mirrored = control_lists_mirror(s->ctl) != NULL;
	uint64_t now = sl_clock_ms();
	int kind = -1;
	unsigned shown = 0, total = 0, rt_shown = 0, rt_total = 0;
	bool first = true, truncated = false;

	if (r->argc > 3) {
		ctl_reply_error(b, "usage: %s list [KIND]", allow ? "allow" : "block");
		return;
	}
	if (r->argc == 3 && (kind = ctl_lists_kind(r->argv[2])) < 0) {
		ctl_reply_error(b, "unknown kind '%.32s': ip, helo, sender, domain or rcpt", r->argv[2]);
		return;
	}
	if ((tmp = malloc(sizeof(*tmp))) == NULL) {
		ctl_reply_error(b, "no memory");
		return;
	}
	cf = control_cfg_ref(s->ctl);
	ok_open(b);
	ctl_buf_puts(b, ",\"entries\":[");
	/* a mirrored feed of a million entries is normal too: the first
	 * CTL_SHOW_MAX of each source, and the totals */
	for (unsigned i = 0; i < s->lists.nent; i++) {
		const struct ctl_list_entry *x = &s->lists.ent[i];
		const char *sync = NULL;
		if (!ctl_lists_live(x) || (x->allow != 0) != allow ||
		    (kind >= 0 && x->kind != (unsigned)kind))
			continue;
		rt_total++;
		if (rt_shown == CTL_SHOW_MAX) {
			truncated = true;
			continue;
		}
		rt_shown++;
		if (mirrored)
			sync = (x->flags & CTL_E_DIRTY) || ctl_lists_inflight(x) > 0 ? "pending" : "synced";
		ctl_lists_entry(&s->lists, x, tmp);
		put_entry(b, tmp, true, x->expires_ms, now, sync, first);
		first = false;
	}
	for (unsigned i = 0; i < cf->nlists; i++) {
		const struct cfg_list_entry *e = &cf->lists[i];
		if (e->allow != allow || (kind >= 0 && e->kind != (enum cfg_list_kind)kind))
			continue;
		total++;
		if (shown == CTL_SHOW_MAX) {
			truncated = true; /* a million-entry file is normal: it is in the file anyway */
			continue;
		}
		shown++;
		put_entry(b, e, false, 0, now, NULL, first);
		first = false;
	}
	ctl_buf_puts(b, "]");
	field_u64(b, "config_entries", total);
	field_u64(b, "runtime_entries", rt_total);
	field_bool(b, "truncated", truncated);
	ok_close(b);
	cfg_unref(cf);
	free(tmp);
}

static void list_test(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r)
{
	struct ctl_buf *b = &c->out;
	struct pol_query *q;
	struct pol_verdict v;
	const char *val;
	int kind, rc;

	if (r->argc != 4) {
		ctl_reply_error(b, "usage: %s test KIND VALUE", r->argv[0]);
		return;
	}
	if ((kind = ctl_lists_kind(r->argv[2])) < 0) {
		ctl_reply_error(b, "unknown kind '%.32s': ip, helo, sender, domain or rcpt", r->argv[2]);
		return;
	}
	val = r->argv[3];
	q = calloc(1, sizeof(*q));
	if (q == NULL) {
		ctl_reply_error(b, "no memory");
		return;
	}
	switch (kind) {
	case CFG_LIST_IP:
		q->stage = POL_STAGE_CONNECT;
		if (sl_addr_parse(val, &q->client, false) != 0) {
			ctl_reply_error(b, "bad address '%.64s' to test", val);
			free(q);
			return;
		}
		break;
	case CFG_LIST_HELO:
		q->stage = POL_STAGE_HELO;
		snprintf(q->helo, sizeof(q->helo), "%s", val);
		break;
	case CFG_LIST_SENDER:
		q->stage = POL_STAGE_MAIL;
		snprintf(q->sender, sizeof(q->sender), "%s", strcmp(val, "<>") == 0 ? "" : val);
		break;
	case CFG_LIST_DOMAIN:
		/* a domain is checked through a sender of that domain */
		q->stage = POL_STAGE_MAIL;
		snprintf(q->sender, sizeof(q->sender), "postmaster@%s", val[0] == '.' ? val + 1 : val);
		break;
	default:
		q->stage = POL_STAGE_RCPT;
		snprintf(q->rcpt, sizeof(q->rcpt), "%s", val);
		break;
	}
	pol_verdict_accept(&v);
	control_lists_flush(s->ctl); /* what the workers see, a change just made included */
	rc = pol_lists_check(control_lists(s->ctl), q, &v);
	free(q);
	ok_open(b);
	field_str(b, "kind", kind_names[kind]);
	field_str(b, "value", val);
	field_str(b, "result", rc == SL_DECLINED ? "blocked" : rc == SL_DONE ? "allowed" : "none");
	if (rc == SL_DECLINED) {
		char reply[CFG_TEXT_MAX + 32];
		snprintf(reply, sizeof(reply), "%u %s %s", v.code, v.status, v.text);
		field_str(b, "rule", v.rule);
		field_str(b, "reply", reply);
	}
	ok_close(b);
}

static void list_add_del(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r, bool allow, bool add)
{
	struct ctl_buf *b = &c->out;
	struct cfg_list_entry e;
	uint64_t ttl = 0;
	const char *reason = "";
	struct redis_lists *mirror;
	char err[160];
	int kind, rc = SL_OK;

	if (r->argc < 4) {
		ctl_reply_error(b, "usage: %s %s KIND VALUE%s", r->argv[0], r->argv[1],
				add ? " [ttl SECONDS] [reason \"TEXT\"]" : "");
		return;
	}
	if ((kind = ctl_lists_kind(r->argv[2])) < 0) {
		ctl_reply_error(b, "unknown kind '%.32s': ip, helo, sender, domain or rcpt", r->argv[2]);
		return;
	}
	for (unsigned i = 4; i < r->argc; i += 2) {
		const char *k = r->argv[i];
		if (!add || r->quoted[i] || (strcmp(k, "ttl") != 0 && strcmp(k, "reason") != 0)) {
			ctl_reply_error(b, "unexpected '%.32s' (options: ttl SECONDS, reason \"TEXT\")", k);
			return;
		}
		if (i + 1 == r->argc) {
			ctl_reply_error(b, "'%s' needs a value", k);
			return;
		}
		if (k[0] == 't') {
			if (!parse_ttl(r->argv[i + 1], &ttl)) {
				ctl_reply_error(b, "bad ttl '%.32s': want seconds, 1 to %u", r->argv[i + 1], CTL_TTL_MAX);
				return;
			}
		} else {
			reason = r->argv[i + 1];
			if (strlen(reason) >= CFG_TEXT_MAX) {
				ctl_reply_error(b, "reason too long (max %d bytes)", CFG_TEXT_MAX - 1);
				return;
			}
		}
	}
	if (ctl_lists_parse_value((enum cfg_list_kind)kind, r->argv[3], &e, err, sizeof(err)) != SL_OK) {
		ctl_reply_error(b, "%s", err);
		return;
	}
	e.allow = allow;
	snprintf(e.reason, sizeof(e.reason), "%s", reason);
	if (add) {
		rc = ctl_lists_add(&s->lists, &e, ttl ? sl_clock_ms() + ttl * 1000 : 0);
		if (rc == SL_ERROR) {
			ctl_reply_error(b, "runtime lists full (%u entries) or no memory", CTL_LISTS_MAX);
			return;
		}
		sl_info("control: uid %u: %s add %s %s ttl %" PRIu64 "%s%s%s", (unsigned)c->uid,
			allow ? "allow" : "block", kind_names[kind], e.value, ttl, reason[0] ? " reason \"" : "",
			reason, reason[0] ? "\"" : "");
	} else {
		if (ctl_lists_del(&s->lists, &e) != SL_OK) {
			struct cfg *cf = control_cfg_ref(s->ctl);
			int line = 0;
			for (unsigned i = 0; i < cf->nlists && line == 0; i++)
				if (ctl_lists_same(&cf->lists[i], &e))
					line = cf->lists[i].line;
			if (line > 0)
				ctl_reply_error(b, "%s %s %s is in %s line %d: remove it there and reload",
						allow ? "allow" : "block", kind_names[kind], e.value, cf->file, line);
			else
				ctl_reply_error(b, "no runtime entry %s %s %s", allow ? "allow" : "block",
						kind_names[kind], e.value);
			cfg_unref(cf);
			return;
		}
		sl_info("control: uid %u: %s del %s %s", (unsigned)c->uid, allow ? "allow" : "block",
			kind_names[kind], e.value);
	}
	/* Applies on this node now. A snapshot that cannot be built (no
	 * memory) is retried; the change stays either way. */
	if (ctl_cmd_publish(s) != SL_OK) {
		ctl_reply_error(b, "no memory to rebuild the lists: the change is kept and published when memory allows");
		return;
	}
	ok_open(b);
	field_str(b, "result", !add ? "deleted" : rc == SL_DONE ? "updated" : "added");
	if ((mirror = control_lists_mirror(s->ctl)) != NULL) {
		/* Written through to Redis: the fleet has it within a second. While
		 * Redis is down it applies here and is written once Redis is back
		 * (before this node reads Redis again), so it is never lost. */
		int w = redis_lists_write(mirror, &e);
		field_str(b, "redis", w == SL_OK ? "sent" : w == SL_AGAIN ? "queued" : "down");
		if (w == SL_DECLINED)
			field_str(b, "note", "Redis is unreachable: applies on this node now, "
					     "written to Redis when it is back");
	}
	field_str(b, "list", allow ? "allow" : "block");
	field_str(b, "kind", kind_names[kind]);
	field_str(b, "value", e.value);
	if (ttl)
		field_u64(b, "ttl", ttl);
	ok_close(b);
}

static void cmd_list(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r)
{
	bool allow = strcmp(r->argv[0], "allow") == 0;
	const char *sub = r->argc > 1 ? r->argv[1] : "";
	struct sl_prefix pfx;

	/* "block add 203.0.113.0/24": an address or CIDR needs no kind word */
	if (r->argc >= 3 && r->argc < CTL_ARGS_MAX && ctl_lists_kind(r->argv[2]) < 0 &&
	    (strcmp(sub, "add") == 0 || strcmp(sub, "del") == 0 || strcmp(sub, "test") == 0) &&
	    sl_prefix_parse(r->argv[2], &pfx) == 0) {
		static char ip_word[] = "ip";
		memmove(&r->argv[3], &r->argv[2], (r->argc - 2) * sizeof(r->argv[0]));
		memmove(&r->quoted[3], &r->quoted[2], (r->argc - 2) * sizeof(r->quoted[0]));
		r->argv[2] = ip_word;
		r->quoted[2] = false;
		r->argc++;
	}
	if (strcmp(sub, "add") == 0)
		list_add_del(s, c, r, allow, true);
	else if (strcmp(sub, "del") == 0)
		list_add_del(s, c, r, allow, false);
	else if (strcmp(sub, "list") == 0)
		list_list(s, c, r, allow);
	else if (strcmp(sub, "test") == 0)
		list_test(s, c, r);
	else
		ctl_reply_error(&c->out, "usage: %s add|del|list|test KIND VALUE [ttl SECONDS] [reason \"TEXT\"]",
				r->argv[0]);
}

/* ---- limits, backends */

static void put_limit(struct ctl_buf *b, const struct cfg_limit *l, bool runtime, int replaces, bool first)
{
	ctl_buf_printf(b, "%s{\"kind\":\"%s\",\"key\":\"%s\"", first ? "" : ",", cfg_limit_kind_name(l->kind),
		       cfg_limit_key_name(l->key));
	field_u64(b, "count", l->count);
	field_u64(b, "period_s", l->period_ms / 1000);
	field_u64(b, "period_ms", l->period_ms);
	field_u64(b, "burst", l->burst);
	field_str(b, "fail", l->fail_closed ? "closed" : "open");
	if (l->key == CFG_KEY_NET) {
		field_u64(b, "prefix4", l->net4_prefix);
		field_u64(b, "prefix6", l->net6_prefix);
	}
	field_u64(b, "code", l->code);
	field_str(b, "status", l->status);
	field_str(b, "text", l->text);
	field_str(b, "source", runtime ? "runtime" : "config");
	if (runtime)
		ctl_buf_puts(b, ",\"line\":null");
	else
		field_u64(b, "line", (uint64_t)l->line);
	if (runtime && replaces > 0)
		field_u64(b, "replaces_line", (uint64_t)replaces);
	ctl_buf_puts(b, "}");
}

/* The config file's generation under the running one (limits set makes an
 * overlay of it). Returns a new reference. */
static struct cfg *file_cfg(struct ctl_sock *s)
{
	struct cfg *cur = control_cfg_ref(s->ctl);
	struct cfg *file = cfg_ref(cur->base != NULL ? cur->base : cur);

	cfg_unref(cur);
	return file;
}

/*
 * Lay the runtime limits over the file's again and make it the running
 * generation: the store takes the rules now (as on a reload, counters of
 * rules that stay are kept), new sessions see them in their config.
 */
static int limits_publish(struct ctl_sock *s, char *err, size_t errlen)
{
	struct cfg *file = file_cfg(s), *n = ctl_limits_overlay(&s->rlimits, file);
	struct pol_store *st = control_store(s->ctl);

	cfg_unref(file);
	if (n == NULL) {
		snprintf(err, errlen, "no memory for the new limits; nothing changed");
		return SL_ERROR;
	}
	if (st != NULL && st->ops->apply(st, n) != SL_OK) {
		snprintf(err, errlen, "the policy store refused the new limits (no memory?); nothing changed");
		cfg_unref(n);
		return SL_ERROR;
	}
	control_publish_cfg(s->ctl, n);
	return SL_OK;
}

static void limits_list(struct ctl_sock *s, struct ctl_conn *c)
{
	struct ctl_buf *b = &c->out;
	struct cfg *cf = control_cfg_ref(s->ctl), *file = file_cfg(s);
	unsigned max = file->nlimits + s->rlimits.n, n;
	struct cfg_limit *l = malloc((max ? max : 1) * sizeof(*l));
	bool *rt = malloc((max ? max : 1) * sizeof(*rt));
	int *rep = malloc((max ? max : 1) * sizeof(*rep));

	if (l == NULL || rt == NULL || rep == NULL) {
		ctl_reply_error(b, "no memory");
		goto out;
	}
	n = ctl_limits_effective(&s->rlimits, file, l, rt, rep, max);
	ok_open(b);
	ctl_buf_puts(b, ",\"limits\":[");
	for (unsigned i = 0; i < n; i++)
		put_limit(b, &l[i], rt[i], rep[i], i == 0);
	ctl_buf_puts(b, "]");
	field_u64(b, "runtime", s->rlimits.n);
	ok_close(b);
out:
	free(l);
	free(rt);
	free(rep);
	cfg_unref(file);
	cfg_unref(cf);
}

static const char *limit_words(const struct cfg_limit *l, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s %" PRIu64 "/%" PRIu64 "s", cfg_limit_kind_name(l->kind), cfg_limit_key_name(l->key),
		 l->count, l->period_ms / 1000);
	return buf;
}

static void limits_set(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r)
{
	struct ctl_buf *b = &c->out;
	struct ctl_limits saved;
	struct cfg_limit lim;
	char err[256], w[96];
	int rc;

	if (r->argc < 5) {
		ctl_reply_error(b, "usage: limits set KIND KEY COUNT/PERIOD [burst N] [fail open|closed] "
				"[prefix4 N] [prefix6 N] [reply CODE STATUS \"TEXT\"]");
		return;
	}
	if (cfg_limit_parse((const char *const *)&r->argv[2], &r->quoted[2], r->argc - 2, &lim, err,
			    sizeof(err)) != SL_OK) {
		ctl_reply_error(b, "%s", err);
		return;
	}
	saved = s->rlimits;
	rc = ctl_limits_set(&s->rlimits, &lim, (uint32_t)c->uid, (int64_t)time(NULL));
	if (rc == SL_ERROR) {
		ctl_reply_error(b, "too many runtime limits (max %d): limits del some, or put them in the file",
				CTL_LIMITS_MAX);
		return;
	}
	if (limits_publish(s, err, sizeof(err)) != SL_OK) {
		s->rlimits = saved;
		ctl_reply_error(b, "%s", err);
		return;
	}
	sl_info("control: uid %u: limits set %s count %" PRIu64 " burst %" PRIu64 " fail %s", (unsigned)c->uid,
		limit_words(&lim, w, sizeof(w)), lim.count, lim.burst, lim.fail_closed ? "closed" : "open");
	ok_open(b);
	field_str(b, "result", rc == SL_DONE ? "updated" : "added");
	ctl_buf_puts(b, ",\"limit\":");
	put_limit(b, &lim, true, 0, true);
	ok_close(b);
}

/* "limits del KIND KEY [COUNT/PERIOD | PERIOD] [prefix4 N] [prefix6 N]" */
static void limits_del(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r)
{
	struct ctl_buf *b = &c->out;
	struct ctl_limits saved;
	struct cfg_limit lim;
	char err[256], rate[64], w[96];
	const char *words[CTL_ARGS_MAX];
	int found = -1, line = 0;
	unsigned matches = 0;

	if (r->argc < 4) {
		ctl_reply_error(b, "usage: limits del KIND KEY [COUNT/PERIOD] (a runtime rule)");
		return;
	}
	if (r->argc == 4) {
		/* no period: the one runtime rule of that kind and key */
		for (unsigned i = 0; i < s->rlimits.n; i++) {
			const struct cfg_limit *x = &s->rlimits.ent[i].lim;
			if (strcmp(cfg_limit_kind_name(x->kind), r->argv[2]) == 0 &&
			    strcmp(cfg_limit_key_name(x->key), r->argv[3]) == 0) {
				found = (int)i;
				matches++;
			}
		}
		if (matches > 1) {
			ctl_reply_error(b, "%u runtime %s %s rules: name the one (limits del %s %s COUNT/PERIOD)",
					matches, r->argv[2], r->argv[3], r->argv[2], r->argv[3]);
			return;
		}
		memset(&lim, 0, sizeof(lim));
		if (found >= 0)
			lim = s->rlimits.ent[found].lim;
	} else {
		/* a bare period ("hour", "10m") stands for any count */
		for (unsigned i = 2; i < r->argc; i++)
			words[i - 2] = r->argv[i];
		if (strcmp(r->argv[2], "concurrency") != 0 && strchr(r->argv[4], '/') == NULL) {
			snprintf(rate, sizeof(rate), "1/%s", r->argv[4]);
			words[2] = rate;
		}
		if (cfg_limit_parse(words, &r->quoted[2], r->argc - 2, &lim, err, sizeof(err)) != SL_OK) {
			ctl_reply_error(b, "%s", err);
			return;
		}
		found = ctl_limits_find(&s->rlimits, &lim);
	}
	if (found < 0) {
		struct cfg *file = file_cfg(s);
		for (unsigned i = 0; i < file->nlimits && line == 0; i++) {
			const struct cfg_limit *x = &file->limits[i];
			if (r->argc == 4 ? strcmp(cfg_limit_kind_name(x->kind), r->argv[2]) == 0 &&
						   strcmp(cfg_limit_key_name(x->key), r->argv[3]) == 0
					 : cfg_limit_same_rule(x, &lim))
				line = x->line;
		}
		if (line > 0)
			ctl_reply_error(b, "no runtime rule %s %s; the one in force is in %s line %d: edit it there and "
					"reload, or override it with limits set", r->argv[2], r->argv[3], file->file, line);
		else
			ctl_reply_error(b, "no runtime rule %s %s%s%s", r->argv[2], r->argv[3], r->argc > 4 ? " " : "",
					r->argc > 4 ? r->argv[4] : "");
		cfg_unref(file);
		return;
	}
	saved = s->rlimits;
	lim = s->rlimits.ent[found].lim;
	ctl_limits_remove(&s->rlimits, (unsigned)found);
	if (limits_publish(s, err, sizeof(err)) != SL_OK) {
		s->rlimits = saved;
		ctl_reply_error(b, "%s", err);
		return;
	}
	sl_info("control: uid %u: limits del %s", (unsigned)c->uid, limit_words(&lim, w, sizeof(w)));
	ok_open(b);
	field_str(b, "result", "deleted");
	ctl_buf_puts(b, ",\"limit\":");
	put_limit(b, &lim, true, 0, true);
	ok_close(b);
}

static void cmd_limits(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r)
{
	const char *sub = r->argc > 1 ? r->argv[1] : "list";

	if (strcmp(sub, "list") == 0 && r->argc <= 2)
		limits_list(s, c);
	else if (strcmp(sub, "set") == 0)
		limits_set(s, c, r);
	else if (strcmp(sub, "del") == 0)
		limits_del(s, c, r);
	else
		ctl_reply_error(&c->out, "usage: limits list | limits set KIND KEY COUNT/PERIOD [burst N] "
				"[fail open|closed] [prefix4 N] [prefix6 N] [reply CODE STATUS \"TEXT\"] | "
				"limits del KIND KEY [COUNT/PERIOD]");
}

static void cmd_backends(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r)
{
	struct backend_pool *p = control_pool(s->ctl);
	struct ctl_buf *b = &c->out;
	const char *sub = r->argc > 1 ? r->argv[1] : "";
	bool first = true;

	if (p == NULL) {
		ctl_reply_error(b, "no backend pool");
		return;
	}
	if ((strcmp(sub, "drain") == 0 || strcmp(sub, "enable") == 0) && r->argc == 3) {
		bool drain = sub[0] == 'd';
		int idx = backend_pool_find(p, r->argv[2]);
		if (idx < 0) {
			ctl_reply_error(b, "no backend '%.64s'", r->argv[2]);
			return;
		}
		backend_pool_drain(p, idx, drain);
		sl_info("control: uid %u: backend %s %s", (unsigned)c->uid, p->slots[idx].cfg.name,
			drain ? "drained" : "enabled");
		ok_open(b);
		field_str(b, "backend", p->slots[idx].cfg.name);
		field_bool(b, "drained", drain);
		field_u64(b, "active", atomic_load(&p->slots[idx].active));
		ok_close(b);
		return;
	}
	if (strcmp(sub, "list") != 0 || r->argc != 2) {
		ctl_reply_error(b, "usage: backends list | backends drain NAME | backends enable NAME");
		return;
	}
	ok_open(b);
	ctl_buf_puts(b, ",\"backends\":[");
	for (unsigned i = 0; i < CFG_BACKEND_MAX; i++) {
		const struct backend_slot *x = &p->slots[i];
		char a[SL_ADDR_STRLEN];
		if (!atomic_load(&x->in_use))
			continue;
		ctl_buf_printf(b, "%s{\"name\":", first ? "" : ",");
		first = false;
		ctl_buf_json_str(b, x->cfg.name);
		field_str(b, "addr", sl_addr_format(&x->cfg.addr, a, sizeof(a), true));
		field_bool(b, "up", atomic_load(&x->up));
		field_bool(b, "drained", atomic_load(&x->drained));
		field_u64(b, "active", atomic_load(&x->active));
		field_u64(b, "weight", x->cfg.weight);
		field_u64(b, "max_conns", x->cfg.max_conns);
		field_u64(b, "picked", atomic_load(&x->picked));
		field_u64(b, "fails", atomic_load(&x->fails));
		ctl_buf_puts(b, "}");
	}
	ctl_buf_puts(b, "]");
	ok_close(b);
}

/* ---- reload, shutdown, metrics, help */

static void cmd_reload(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r)
{
	struct cfg *cf = control_cfg_ref(s->ctl);
	char err[512];
	struct cfg *n;

	(void)r;
	/* parse here first so the operator reads the error, not just the log;
	 * the reload itself runs on this thread right after this turn */
	n = cfg_load(cf->file, err, sizeof(err));
	if (n == NULL) {
		ctl_reply_error(&c->out, "reload refused, the running configuration stays: %s", err);
		cfg_unref(cf);
		return;
	}
	cfg_unref(n);
	sl_info("control: uid %u: reload of %s", (unsigned)c->uid, cf->file);
	control_request_reload(s->ctl);
	ok_open(&c->out);
	field_str(&c->out, "reload", "requested");
	field_str(&c->out, "config", cf->file);
	ok_close(&c->out);
	cfg_unref(cf);
}

static void cmd_shutdown(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r)
{
	(void)r;
	sl_info("control: uid %u: shutdown", (unsigned)c->uid);
	s->shutdown_asked = true; /* SIGTERM once this reply is out (ctl_sock.c) */
	ok_open(&c->out);
	field_str(&c->out, "shutdown", "requested");
	ok_close(&c->out);
}

static void cmd_metrics(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r)
{
	struct ctl_buf text = { 0 };

	(void)r;
	ctl_metrics_render(s->ctl, s, &text);
	if (text.oom) {
		ctl_buf_free(&text);
		ctl_reply_error(&c->out, "no memory");
		return;
	}
	ok_open(&c->out);
	field_str(&c->out, "text", text.p != NULL ? text.p : "");
	ok_close(&c->out);
	ctl_buf_free(&text);
}

static void cmd_help(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r);

static const struct ctl_cmd commands[] = {
	{ "version",  cmd_version,  "version" },
	{ "status",   cmd_status,   "status" },
	{ "stats",    cmd_stats,    "stats" },
	{ "block",    cmd_list,     "block add|del|list|test KIND VALUE [ttl SECONDS] [reason \"TEXT\"]" },
	{ "allow",    cmd_list,     "allow add|del|list|test KIND VALUE [ttl SECONDS] [reason \"TEXT\"]" },
	{ "limits",   cmd_limits,   "limits list | limits set KIND KEY COUNT/PERIOD [burst N] [fail open|closed] [prefix4 N] [prefix6 N] [reply CODE STATUS \"TEXT\"] | limits del KIND KEY [COUNT/PERIOD]" },
	{ "backends", cmd_backends, "backends list|drain NAME|enable NAME" },
	{ "sessions", ctl_sessions_cmd, "sessions [list [max N]] | sessions kill ID" },
	{ "reload",   cmd_reload,   "reload" },
	{ "shutdown", cmd_shutdown, "shutdown" },
	{ "metrics",  cmd_metrics,  "metrics" },
	{ "help",     cmd_help,     "help" },
};

static void cmd_help(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r)
{
	(void)s;
	(void)r;
	ok_open(&c->out);
	ctl_buf_puts(&c->out, ",\"commands\":[");
	for (size_t i = 0; i < SL_ARRAY_SIZE(commands); i++) {
		if (i)
			ctl_buf_puts(&c->out, ",");
		ctl_buf_json_str(&c->out, commands[i].usage);
	}
	ctl_buf_puts(&c->out, "]");
	ok_close(&c->out);
}

/* Commands that take no words after their name. */
static bool no_args(const char *name)
{
	return strcmp(name, "version") == 0 || strcmp(name, "status") == 0 || strcmp(name, "stats") == 0 ||
	       strcmp(name, "reload") == 0 || strcmp(name, "shutdown") == 0 ||
	       strcmp(name, "metrics") == 0 || strcmp(name, "help") == 0;
}

void ctl_cmd_dispatch(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r)
{
	for (size_t i = 0; i < SL_ARRAY_SIZE(commands); i++) {
		if (strcmp(r->argv[0], commands[i].name) != 0)
			continue;
		if (no_args(commands[i].name) && r->argc != 1) {
			ctl_reply_error(&c->out, "usage: %s", commands[i].usage);
			return;
		}
		commands[i].fn(s, c, r);
		return;
	}
	ctl_reply_error(&c->out, "unknown command '%.32s' (try help)", r->argv[0]);
}
