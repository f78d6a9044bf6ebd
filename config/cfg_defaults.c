/* cfg_defaults.c - default values, names of the enums, and the lifetime (refcount) of a struct cfg. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_internal.h"
#include "util/sl_log.h"

static const char *const list_kind_names[CFG_LIST_KIND_COUNT] = {
	[CFG_LIST_IP] = "ip",
	[CFG_LIST_HELO] = "helo",
	[CFG_LIST_SENDER] = "sender",
	[CFG_LIST_DOMAIN] = "domain",
	[CFG_LIST_RCPT] = "rcpt",
};

static const char *const limit_kind_names[CFG_LIMIT_KIND_COUNT] = {
	[CFG_LIMIT_CONN_RATE] = "conn_rate",
	[CFG_LIMIT_MSG_RATE] = "msg_rate",
	[CFG_LIMIT_RCPT_RATE] = "rcpt_rate",
	[CFG_LIMIT_BYTE_RATE] = "byte_rate",
	[CFG_LIMIT_CONCURRENCY] = "concurrency",
};

static const char *const limit_key_names[CFG_KEY_COUNT] = {
	[CFG_KEY_IP] = "ip",
	[CFG_KEY_NET] = "net",
	[CFG_KEY_HELO] = "helo",
	[CFG_KEY_SENDER] = "sender",
	[CFG_KEY_SENDER_DOMAIN] = "sender_domain",
	[CFG_KEY_RCPT] = "rcpt",
};

const char *cfg_list_kind_name(enum cfg_list_kind k)
{
	return (unsigned)k < CFG_LIST_KIND_COUNT ? list_kind_names[k] : "?";
}

const char *cfg_limit_kind_name(enum cfg_limit_kind k)
{
	return (unsigned)k < CFG_LIMIT_KIND_COUNT ? limit_kind_names[k] : "?";
}

const char *cfg_limit_key_name(enum cfg_limit_key k)
{
	return (unsigned)k < CFG_KEY_COUNT ? limit_key_names[k] : "?";
}

/* The name sluice greets with when the file gives none. gethostname() can
 * return anything the administrator typed; keep only what reads back as a
 * hostname directive, so a dump of the defaults still parses. */
static void default_hostname(char *buf, size_t len)
{
	char h[SL_DOMAIN_MAX + 2];
	size_t i;

	memset(h, 0, sizeof(h));
	if (gethostname(h, sizeof(h) - 1) != 0 || h[0] == '\0')
		goto fallback;
	for (i = 0; h[i] != '\0'; i++) {
		char ch = h[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_'))
			goto fallback;
	}
	if (i >= len)
		goto fallback;
	memcpy(buf, h, i + 1);
	return;
fallback:
	strncpy(buf, "localhost", len - 1);
	buf[len - 1] = '\0';
}

void cfg_init_defaults(struct cfg *c)
{
	atomic_init(&c->refs, 1);
	default_hostname(c->hostname, sizeof(c->hostname));
	/* the parser drops this one when the file has its own listen lines */
	c->nlisten = 1;
	sl_addr_parse("0.0.0.0:25", &c->listen[0], true);
	c->transport = CFG_TRANSPORT_KERNEL;
	c->workers = 0;
	c->max_sessions = 10000;
	c->shutdown_grace_ms = 30 * 1000;
	c->log_level = SL_LOG_INFO;

	c->dpdk.mbufs = 65535;
	strcpy(c->dpdk.tcp_secret, "/run/sluice/tcp.secret");
	c->dpdk.source_port_lo = 32768;
	c->dpdk.source_port_hi = 60999;
	c->dpdk.time_wait_max = 262144;

	c->smtp.greet_pause_ms = 0;
	c->smtp.command_line_limit = 512;
	c->smtp.text_line_limit = 1000;
	c->smtp.message_size_limit = 10240000;
	c->smtp.recipient_limit = 1000;
	c->smtp.hard_error_limit = 20;
	c->smtp.junk_command_limit = 100;
	c->smtp.command_timeout_ms = 300 * 1000;
	c->smtp.stress_command_timeout_ms = 10 * 1000;
	c->smtp.stress_sessions = 0;
	c->smtp.data_timeout_ms = 300 * 1000;
	c->smtp.min_data_rate = 500;
	c->smtp.bare_newline = CFG_BARE_REJECT;
	c->smtp.smtputf8 = true;
	c->smtp.pipelining_enforce = true;

	c->relay.connect_timeout_ms = 10 * 1000;
	c->relay.reply_timeout_ms = 300 * 1000;
	c->relay.data_done_timeout_ms = 600 * 1000;
	c->relay.connect_retries = 2;
	c->relay.health_interval_ms = 10 * 1000;
	c->relay.health_timeout_ms = 5 * 1000;
	c->relay.health_rise = 2;
	c->relay.health_fall = 2;

	c->policy_store = CFG_POLICY_EMBEDDED;
	c->redis_timeout_ms = CFG_REDIS_TIMEOUT_MS;
	c->redis_connect_timeout_ms = CFG_REDIS_CONNECT_TIMEOUT_MS;
	c->redis_lease_ms = CFG_REDIS_LEASE_MS;
	memcpy(c->redis_prefix, CFG_REDIS_PREFIX, sizeof(CFG_REDIS_PREFIX));
	c->lists_resync_ms = CFG_LISTS_RESYNC_MS;

	strcpy(c->control_path, "/run/sluice/control.sock");
	c->control_mode = 0660;
	c->control_owner.id = CFG_ID_NONE;
	c->control_group.id = CFG_ID_NONE;
}

void cfg_resolve(struct cfg *c)
{
	if (c->smtp.stress_sessions == 0) {
		/* 80%: room to notice stress before the hard 421 at max_sessions */
		uint64_t s = (uint64_t)c->max_sessions * 4 / 5;
		c->smtp.stress_sessions = s > 0 ? (uint32_t)s : 1;
	}
}

struct cfg *cfg_defaults(void)
{
	struct cfg *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	cfg_init_defaults(c);
	cfg_resolve(c);
	return c;
}

void cfg_free(struct cfg *c)
{
	if (c == NULL)
		return;
	if (c->base != NULL) {
		cfg_unref(c->base);   /* its arrays are the base's */
	} else {
		free(c->relay_domains);
		free(c->lists);
	}
	free(c->limits);
	free(c);
}

struct cfg *cfg_with_limits(struct cfg *c, const struct cfg_limit *l, unsigned n)
{
	struct cfg *d = malloc(sizeof(*d));

	if (d == NULL)
		return NULL;
	memcpy(d, c, sizeof(*d));
	atomic_init(&d->refs, 1);
	d->limits = NULL;
	if (n > 0 && (d->limits = malloc((size_t)n * sizeof(*l))) == NULL) {
		free(d);
		return NULL;
	}
	if (n > 0)
		memcpy(d->limits, l, (size_t)n * sizeof(*l));
	d->nlimits = n;
	d->base = cfg_ref(c->base != NULL ? c->base : c);
	return d;
}

bool cfg_limit_same_rule(const struct cfg_limit *a, const struct cfg_limit *b)
{
	return a->kind == b->kind && a->key == b->key && a->period_ms == b->period_ms &&
	       (a->key != CFG_KEY_NET || (a->net4_prefix == b->net4_prefix && a->net6_prefix == b->net6_prefix));
}

struct cfg *cfg_ref(struct cfg *c)
{
	if (c != NULL)
		atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

void cfg_unref(struct cfg *c)
{
	if (c == NULL)
		return;
	/* acq_rel: the thread that frees must see every write made by the
	 * threads that dropped their references before it */
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
		cfg_free(c);
}
