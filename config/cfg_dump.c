/* cfg_dump.c - prints the effective configuration as directives that cfg_parse_string() reads back to the same struct. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cfg_internal.h"
#include "cfg_lex.h"
#include "util/sl_log.h"

struct dump {
	void (*out)(const char *s, size_t n, void *arg);
	void *arg;
	unsigned flags;   /**< CFG_DUMP_* */
};

static void put(struct dump *d, const char *s)
{
	d->out(s, strlen(s), d->arg);
}

static void putf(struct dump *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct dump *d, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		d->out(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1, d->arg);
}

/* A word as the lexer will read it back: bare when it can be, otherwise in
 * quotes with " and \ escaped. force: keywords listed as values. */
static void put_word(struct dump *d, const char *s, bool force)
{
	const char *q;

	if (!force && !cfg_lex_needs_quotes(s)) {
		put(d, s);
		return;
	}
	put(d, "\"");
	for (q = s; *q != '\0'; q++) {
		if (*q == '"' || *q == '\\') {
			if (q > s)
				d->out(s, (size_t)(q - s), d->arg);
			put(d, *q == '"' ? "\\\"" : "\\\\");
			s = q + 1;
		}
	}
	if (q > s)
		d->out(s, (size_t)(q - s), d->arg);
	put(d, "\"");
}

static void put_name(struct dump *d, const char *name)
{
	putf(d, "%-24s ", name);
}

/* The largest unit that divides exactly, so "5m" rather than "300000ms". */
static const char *fmt_duration(uint64_t ms, char *buf, size_t len)
{
	static const struct { uint64_t ms; const char *unit; } units[] = {
		{ 86400000, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" },
	};
	unsigned i;

	if (ms == 0) {
		snprintf(buf, len, "0");
		return buf;
	}
	for (i = 0; i < SL_ARRAY_SIZE(units); i++) {
		if (ms % units[i].ms == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", ms / units[i].ms, units[i].unit);
			return buf;
		}
	}
	snprintf(buf, len, "%" PRIu64 "ms", ms);
	return buf;
}

/* Whole mebibytes or gibibytes read better as 50m or 1g; anything else is
 * printed in bytes (10240000 is clearer than 10000k). */
static const char *fmt_size(uint64_t n, char *buf, size_t len)
{
	if (n != 0 && n % (1ull << 30) == 0)
		snprintf(buf, len, "%" PRIu64 "g", n >> 30);
	else if (n != 0 && n % (1ull << 20) == 0)
		snprintf(buf, len, "%" PRIu64 "m", n >> 20);
	else
		snprintf(buf, len, "%" PRIu64, n);
	return buf;
}

static void line_str(struct dump *d, const char *name, const char *v)
{
	put_name(d, name);
	put_word(d, v, false);
	put(d, "\n");
}

static void line_u64(struct dump *d, const char *name, uint64_t v)
{
	put_name(d, name);
	putf(d, "%" PRIu64 "\n", v);
}

static void line_dur(struct dump *d, const char *name, uint64_t ms)
{
	char buf[32];

	put_name(d, name);
	putf(d, "%s\n", fmt_duration(ms, buf, sizeof(buf)));
}

static void line_bool(struct dump *d, const char *name, bool v)
{
	put_name(d, name);
	put(d, v ? "on\n" : "off\n");
}

static void dump_dpdk(struct dump *d, const struct cfg_dpdk *k)
{
	char a[SL_ADDR_STRLEN], g[SL_ADDR_STRLEN], pfx[SL_ADDR_STRLEN + 8];
	unsigned i;

	put(d, "dpdk {\n");
	put(d, "\teal ");
	put_word(d, k->eal, false);
	put(d, "\n");
	for (i = 0; i < k->nports; i++) {
		const struct cfg_dpdk_port *pt = &k->ports[i];
		sl_addr_format(&pt->address.addr, a, sizeof(a), false);
		if (pt->name[0] != '\0')
			putf(d, "\tport %s address %s/%u", pt->name, a, pt->address.len);
		else
			putf(d, "\tport %u address %s/%u", pt->id, a, pt->address.len);
		if (pt->gateway.family != 0)
			putf(d, " gateway %s", sl_addr_format(&pt->gateway, g, sizeof(g), false));
		put(d, "\n");
	}
	for (i = 0; i < k->nroutes; i++) {
		const struct cfg_dpdk_route *r = &k->routes[i];
		putf(d, "\troute %s via %s\n", sl_prefix_format(&r->dst, pfx, sizeof(pfx)),
		     sl_addr_format(&r->via, g, sizeof(g), false));
	}
	putf(d, "\tmbufs %u\n", k->mbufs);
	put(d, "\ttcp_secret ");
	put_word(d, k->tcp_secret[0] != '\0' ? k->tcp_secret : "none", false);
	put(d, "\n");
	putf(d, "\tsource_ports %u-%u\n", k->source_port_lo, k->source_port_hi);
	putf(d, "\ttime_wait_max %u\n", k->time_wait_max);
	put(d, "}\n");
}

/* The policy redis options that differ from their defaults, then the newline. */
static void dump_redis_options(struct dump *d, const struct cfg *c)
{
	char t[32];

	if (c->redis_password_file[0] != '\0') {
		put(d, " password_file ");
		put_word(d, c->redis_password_file, false);
	} else if (c->redis_password[0] != '\0') {
		/* a dump goes into tickets and chat: the secret only when asked */
		put(d, " password ");
		put_word(d, d->flags & CFG_DUMP_SECRETS ? c->redis_password : CFG_SECRET_MASK, false);
	}
	if (c->redis_db != 0)
		putf(d, " db %u", c->redis_db);
	if (c->redis_timeout_ms != CFG_REDIS_TIMEOUT_MS)
		putf(d, " timeout %s", fmt_duration(c->redis_timeout_ms, t, sizeof(t)));
	if (c->redis_connect_timeout_ms != CFG_REDIS_CONNECT_TIMEOUT_MS)
		putf(d, " connect_timeout %s", fmt_duration(c->redis_connect_timeout_ms, t, sizeof(t)));
	if (c->redis_lease_ms != CFG_REDIS_LEASE_MS)
		putf(d, " lease %s", fmt_duration(c->redis_lease_ms, t, sizeof(t)));
	if (strcmp(c->redis_prefix, CFG_REDIS_PREFIX) != 0) {
		put(d, " prefix ");
		put_word(d, c->redis_prefix, false);
	}
	put(d, "\n");
}

static void dump_limit(struct dump *d, const struct cfg_limit *l)
{
	static const struct { uint64_t ms; const char *name; } units[] = {
		{ 1000, "second" }, { 60000, "minute" }, { 3600000, "hour" }, { 86400000, "day" },
	};
	char buf[32];
	unsigned i;

	put_name(d, "limit");
	putf(d, "%s %s ", cfg_limit_kind_name(l->kind), cfg_limit_key_name(l->key));
	if (l->kind == CFG_LIMIT_CONCURRENCY) {
		putf(d, "%" PRIu64, l->count);
	} else {
		const char *per = NULL;
		for (i = 0; i < SL_ARRAY_SIZE(units); i++)
			if (units[i].ms == l->period_ms)
				per = units[i].name;
		if (per == NULL)
			per = fmt_duration(l->period_ms, buf, sizeof(buf));
		if (l->kind == CFG_LIMIT_BYTE_RATE) {
			char s1[32], s2[32];
			putf(d, "%s/%s burst %s", fmt_size(l->count, s1, sizeof(s1)), per,
			     fmt_size(l->burst, s2, sizeof(s2)));
		} else {
			putf(d, "%" PRIu64 "/%s burst %" PRIu64, l->count, per, l->burst);
		}
	}
	putf(d, " fail %s", l->fail_closed ? "closed" : "open");
	if (l->key == CFG_KEY_NET)
		putf(d, " prefix4 %u prefix6 %u", l->net4_prefix, l->net6_prefix);
	putf(d, " reply %u %s ", l->code, l->status);
	put_word(d, l->text, true);
	put(d, "\n");
}

static void dump_list(struct dump *d, const struct cfg_list_entry *e)
{
	put_name(d, e->allow ? "allowlist" : "blocklist");
	putf(d, "%s ", cfg_list_kind_name(e->kind));
	/* a value spelled "reason" must not read back as the keyword */
	put_word(d, e->value, strcmp(e->value, "reason") == 0);
	if (e->reason[0] != '\0') {
		put(d, " reason ");
		put_word(d, e->reason, true);
	}
	put(d, "\n");
}

/* A user or group as the file named it, else its number. */
static void put_peer(struct dump *d, const struct cfg_peer_id *id)
{
	if (id->name[0] != '\0')
		put_word(d, id->name, strcmp(id->name, "uid") == 0 || strcmp(id->name, "gid") == 0);
	else
		putf(d, "%u", id->id);
}

static void dump_control(struct dump *d, const struct cfg *c)
{
	put_name(d, "control");
	put_word(d, c->control_path, false);
	putf(d, " mode %04o", c->control_mode);
	if (c->control_owner.id != CFG_ID_NONE) {
		put(d, " owner ");
		put_peer(d, &c->control_owner);
	}
	if (c->control_group.id != CFG_ID_NONE) {
		put(d, " group ");
		put_peer(d, &c->control_group);
	}
	put(d, "\n");
	if (c->nallow_uids + c->nallow_gids == 0) {
		put(d, "# control_allow          (none: uid 0 and the daemon's own uid only)\n");
		return;
	}
	put_name(d, "control_allow");
	for (unsigned i = 0; i < c->nallow_uids; i++) {
		put(d, i == 0 ? "uid " : " ");
		put_peer(d, &c->allow_uids[i]);
	}
	for (unsigned i = 0; i < c->nallow_gids; i++) {
		put(d, i == 0 ? (c->nallow_uids ? " gid " : "gid ") : " ");
		put_peer(d, &c->allow_gids[i]);
	}
	put(d, "\n");
}

void cfg_dump(const struct cfg *c, void (*out)(const char *s, size_t n, void *arg), void *arg)
{
	cfg_dump_flags(c, 0, out, arg);
}

void cfg_dump_flags(const struct cfg *c, unsigned flags, void (*out)(const char *s, size_t n, void *arg),
		    void *arg)
{
	static const char *const transports[] = { "kernel", "dpdk" };
	static const char *const bare[] = { "reject", "normalize" };
	static const char *const xclient[] = { "off", "on", "auto" };
	static const char *const proxy[] = { "off", "v1", "v2" };
	struct dump dd = { out, arg, flags }, *d = &dd;
	char a[SL_ADDR_STRLEN], t1[32], t2[32];
	unsigned i;

	put(d, "# sluice effective configuration: every directive, defaults included\n");
	line_str(d, "hostname", c->hostname);
	for (i = 0; i < c->nlisten; i++)
		line_str(d, "listen", sl_addr_format(&c->listen[i], a, sizeof(a), true));
	line_str(d, "transport", transports[c->transport == CFG_TRANSPORT_DPDK]);
	line_u64(d, "workers", c->workers);
	line_u64(d, "max_sessions", c->max_sessions);
	line_dur(d, "shutdown_grace", c->shutdown_grace_ms);
	put_name(d, "tcp_keepalive");
	if (c->keepalive_idle_ms == 0)
		put(d, "off\n");
	else
		putf(d, "idle %s interval %s probes %u\n", fmt_duration(c->keepalive_idle_ms, t1, sizeof(t1)),
		     fmt_duration(c->keepalive_intvl_ms, t2, sizeof(t2)), c->keepalive_probes);
	if (c->pid_file[0] != '\0')
		line_str(d, "pid_file", c->pid_file);
	else
		put(d, "# pid_file               (none)\n");
	line_str(d, "log_level", sl_log_level_name((enum sl_log_level)c->log_level));
	dump_dpdk(d, &c->dpdk);

	put(d, "\n# SMTP sessions\n");
	line_dur(d, "greet_pause", c->smtp.greet_pause_ms);
	line_u64(d, "command_line_limit", c->smtp.command_line_limit);
	line_u64(d, "text_line_limit", c->smtp.text_line_limit);
	line_str(d, "message_size_limit", fmt_size(c->smtp.message_size_limit, t1, sizeof(t1)));
	line_u64(d, "recipient_limit", c->smtp.recipient_limit);
	line_u64(d, "hard_error_limit", c->smtp.hard_error_limit);
	line_u64(d, "junk_command_limit", c->smtp.junk_command_limit);
	line_dur(d, "command_timeout", c->smtp.command_timeout_ms);
	line_dur(d, "stress_command_timeout", c->smtp.stress_command_timeout_ms);
	line_u64(d, "stress_sessions", c->smtp.stress_sessions);
	line_dur(d, "data_timeout", c->smtp.data_timeout_ms);
	line_u64(d, "min_data_rate", c->smtp.min_data_rate);
	line_str(d, "bare_newline", bare[c->smtp.bare_newline == CFG_BARE_NORMALIZE]);
	line_bool(d, "smtputf8", c->smtp.smtputf8);
	line_bool(d, "pipelining_enforce", c->smtp.pipelining_enforce);

	put(d, "\n# relay\n");
	/* a few domains a line: the lexer bounds the words of one line */
	for (i = 0; i < c->nrelay_domains; i++) {
		if (i % 8 == 0)
			put_name(d, "relay_domains");
		put_word(d, c->relay_domains[i], false);
		put(d, i % 8 == 7 || i + 1 == c->nrelay_domains ? "\n" : " ");
	}
	if (c->nrelay_domains == 0)
		put(d, "# relay_domains          (none)\n");
	for (i = 0; i < c->nbackends; i++) {
		const struct cfg_backend *b = &c->backends[i];
		put_name(d, "backend");
		putf(d, "%s %s weight %u max_conns %u xclient %s proxy_protocol %s\n", b->name,
		     sl_addr_format(&b->addr, a, sizeof(a), true), b->weight, b->max_conns,
		     xclient[(unsigned)b->xclient < 3 ? b->xclient : 2],
		     proxy[(unsigned)b->proxy < 3 ? b->proxy : 0]);
	}
	line_dur(d, "backend_connect_timeout", c->relay.connect_timeout_ms);
	line_dur(d, "backend_reply_timeout", c->relay.reply_timeout_ms);
	line_dur(d, "backend_data_timeout", c->relay.data_done_timeout_ms);
	line_u64(d, "backend_retries", c->relay.connect_retries);
	put_name(d, "health_check");
	putf(d, "interval %s timeout %s rise %u fall %u\n",
	     fmt_duration(c->relay.health_interval_ms, t1, sizeof(t1)),
	     fmt_duration(c->relay.health_timeout_ms, t2, sizeof(t2)),
	     c->relay.health_rise, c->relay.health_fall);

	put(d, "\n# policy\n");
	put_name(d, "policy");
	if (c->policy_store == CFG_POLICY_EMBEDDED) {
		put(d, "embedded\n");
	} else if (c->redis_path[0] != '\0') {
		put(d, "redis ");
		/* "unix:" and the path form one word: quote them together */
		{
			char w[CFG_PATH_MAX + 8];
			snprintf(w, sizeof(w), "unix:%s", c->redis_path);
			put_word(d, w, false);
		}
		dump_redis_options(d, c);
	} else {
		putf(d, "redis %s", sl_addr_format(&c->redis_addr, a, sizeof(a), true));
		dump_redis_options(d, c);
	}
	if (c->policy_store == CFG_POLICY_REDIS)
		line_dur(d, "lists_resync", c->lists_resync_ms);
	for (i = 0; i < c->nlimits; i++)
		dump_limit(d, &c->limits[i]);
	for (i = 0; i < c->nlists; i++)
		dump_list(d, &c->lists[i]);

	put(d, "\n# operation\n");
	if (c->tls_cert[0] != '\0') {
		put_name(d, "tls");
		put(d, "cert ");
		put_word(d, c->tls_cert, false);
		put(d, " key ");
		put_word(d, c->tls_key, false);
		put(d, "\n");
	} else {
		put(d, "# tls                    (none)\n");
	}
	dump_control(d, c);
	if (c->metrics_addr.family != 0)
		line_str(d, "metrics", sl_addr_format(&c->metrics_addr, a, sizeof(a), true));
	else
		put(d, "# metrics                (none)\n");
}
