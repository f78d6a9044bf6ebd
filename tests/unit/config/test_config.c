/* test_config.c - unit tests of config/: golden dumps, examples, error messages, defaults, refcount. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "test.h"
#include "util/sl_log.h"

#ifndef SL_CONFIG_EXAMPLES
#define SL_CONFIG_EXAMPLES "config/examples"
#endif

/* What every passing config of the error table ends with. */
#define OK_TAIL "relay_domains example.net\nbackend b 127.0.0.1:25\n"

/* ---- helpers ------------------------------------------------------------ */

struct sbuf {
	char  *s;
	size_t n, cap;
};

static void sbuf_out(const char *s, size_t n, void *arg)
{
	struct sbuf *b = arg;

	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (b->s == NULL)
			abort();
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static char *dump_flags(const struct cfg *c, unsigned flags)
{
	struct sbuf b = { NULL, 0, 0 };

	cfg_dump_flags(c, flags, sbuf_out, &b);
	if (b.s == NULL)
		abort(); /* a dump is never empty */
	return b.s;
}

/* What sluice -t prints: secrets masked. */
static char *dump_str(const struct cfg *c)
{
	return dump_flags(c, 0);
}

static struct cfg *parse(const char *text, char *err, size_t errlen)
{
	return cfg_parse_string("t.conf", text, strlen(text), err, errlen);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = malloc((size_t)n + 1);
	if (s == NULL || fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		fclose(f);
		return NULL;
	}
	s[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return s;
}

/* cfg_same - the effective configs are equal; line numbers and the file
 * name are where a directive was, not what it says, so they do not count. */
static int cfg_same(const struct cfg *a, const struct cfg *b)
{
	unsigned i;

#define SAME(f) do { if (memcmp(&a->f, &b->f, sizeof(a->f)) != 0) { \
		fprintf(stderr, "differs: %s\n", #f); return 0; } } while (0)
	SAME(hostname); SAME(nlisten); SAME(transport); SAME(workers); SAME(max_sessions);
	SAME(shutdown_grace_ms); SAME(pid_file); SAME(log_level);
	for (i = 0; i < a->nlisten; i++)
		SAME(listen[i]);
	SAME(dpdk.eal); SAME(dpdk.nports); SAME(dpdk.mbufs); SAME(dpdk.tcp_secret); SAME(dpdk.source_port_lo); SAME(dpdk.source_port_hi); SAME(dpdk.time_wait_max);
	for (i = 0; i < a->dpdk.nports; i++) {
		SAME(dpdk.ports[i].id); SAME(dpdk.ports[i].name); SAME(dpdk.ports[i].address.addr); SAME(dpdk.ports[i].address.len);
		SAME(dpdk.ports[i].gateway);
	}
	SAME(dpdk.nroutes);
	for (i = 0; i < a->dpdk.nroutes; i++) {
		SAME(dpdk.routes[i].dst.addr); SAME(dpdk.routes[i].dst.len); SAME(dpdk.routes[i].via);
	}
	SAME(smtp.greet_pause_ms); SAME(smtp.command_line_limit); SAME(smtp.text_line_limit);
	SAME(smtp.message_size_limit); SAME(smtp.recipient_limit); SAME(smtp.hard_error_limit);
	SAME(smtp.junk_command_limit); SAME(smtp.command_timeout_ms);
	SAME(smtp.stress_command_timeout_ms); SAME(smtp.stress_sessions); SAME(smtp.data_timeout_ms);
	SAME(smtp.min_data_rate); SAME(smtp.bare_newline); SAME(smtp.smtputf8);
	SAME(smtp.pipelining_enforce);
	SAME(relay.connect_timeout_ms); SAME(relay.reply_timeout_ms); SAME(relay.data_done_timeout_ms);
	SAME(relay.connect_retries); SAME(relay.health_interval_ms); SAME(relay.health_timeout_ms);
	SAME(relay.health_rise); SAME(relay.health_fall);
	SAME(nrelay_domains);
	for (i = 0; i < a->nrelay_domains; i++)
		SAME(relay_domains[i]);
	SAME(nbackends);
	for (i = 0; i < a->nbackends; i++) {
		SAME(backends[i].name); SAME(backends[i].addr); SAME(backends[i].weight);
		SAME(backends[i].max_conns); SAME(backends[i].xclient); SAME(backends[i].proxy);
	}
	SAME(policy_store); SAME(redis_addr); SAME(redis_path); SAME(redis_password);
	SAME(redis_db); SAME(redis_timeout_ms); SAME(redis_connect_timeout_ms); SAME(redis_lease_ms);
	SAME(redis_prefix);
	SAME(nlimits);
	for (i = 0; i < a->nlimits; i++) {
		SAME(limits[i].kind); SAME(limits[i].key); SAME(limits[i].count);
		SAME(limits[i].period_ms); SAME(limits[i].burst); SAME(limits[i].fail_closed);
		SAME(limits[i].net4_prefix); SAME(limits[i].net6_prefix); SAME(limits[i].code);
		SAME(limits[i].status); SAME(limits[i].text);
	}
	SAME(nlists);
	for (i = 0; i < a->nlists; i++) {
		SAME(lists[i].kind); SAME(lists[i].allow); SAME(lists[i].prefix.addr);
		SAME(lists[i].prefix.len); SAME(lists[i].value); SAME(lists[i].reason);
	}
	SAME(redis_password_file);
	SAME(tls_cert); SAME(tls_key); SAME(control_path); SAME(control_mode); SAME(metrics_addr);
	SAME(control_owner); SAME(control_group); SAME(nallow_uids); SAME(nallow_gids);
	for (i = 0; i < a->nallow_uids; i++)
		SAME(allow_uids[i]);
	for (i = 0; i < a->nallow_gids; i++)
		SAME(allow_gids[i]);
#undef SAME
	return 1;
}

/*
 * round_trip - the dump of c with its secrets parses back to the same config
 * and the same dump; the masked dump (sluice -t) parses too, to the same
 * config but for an inline password, and prints the same again.
 */
static void round_trip(const struct cfg *c, const char *what)
{
	char err[512];
	char *d1 = dump_flags(c, CFG_DUMP_SECRETS), *d2, *m1, *m2;
	struct cfg *c2 = cfg_parse_string("dump", d1, strlen(d1), err, sizeof(err)), *c3;

	if (c2 == NULL)
		fprintf(stderr, "\n%s: dump does not parse: %s\n%s", what, err, d1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c2);
	CU_ASSERT_TRUE(cfg_same(c, c2));
	d2 = dump_flags(c2, CFG_DUMP_SECRETS);
	CU_ASSERT_STRING_EQUAL(d1, d2);

	m1 = dump_str(c);
	c3 = cfg_parse_string("masked", m1, strlen(m1), err, sizeof(err));
	if (c3 == NULL)
		fprintf(stderr, "\n%s: masked dump does not parse: %s\n%s", what, err, m1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c3);
	if (c->redis_password[0] != '\0' && c->redis_password_file[0] == '\0') {
		CU_ASSERT_STRING_EQUAL(c3->redis_password, CFG_SECRET_MASK);
		CU_ASSERT_PTR_NULL(strstr(m1, c->redis_password));
		memcpy(c3->redis_password, c->redis_password, sizeof(c3->redis_password));
	}
	CU_ASSERT_TRUE(cfg_same(c, c3));
	m2 = dump_str(c3);
	CU_ASSERT_STRING_EQUAL(m1, m2);
	free(d1);
	free(d2);
	free(m1);
	free(m2);
	cfg_unref(c2);
	cfg_unref(c3);
}

/* ---- golden files: tests/data/config/NAME.in -> NAME.ref ----------------- */

static const char *const golden[] = {
	"minimal", "process", "dpdk", "smtp", "derived", "relay", "limits", "lists",
	"policy_unix", "policy_redis", "syntax", "many_domains", "control", NULL
};

static void test_golden(void)
{
	unsigned i;

	for (i = 0; golden[i] != NULL; i++) {
		char in[1024], ref[1024], name[64], err[512];
		char *text, *want, *got;
		size_t len;
		struct cfg *c;

		snprintf(in, sizeof(in), "%s/config/%s.in", test_data_dir(), golden[i]);
		snprintf(ref, sizeof(ref), "%s/config/%s.ref", test_data_dir(), golden[i]);
		snprintf(name, sizeof(name), "%s.in", golden[i]);
		text = read_file(in, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(text);
		c = cfg_parse_string(name, text, len, err, sizeof(err));
		if (c == NULL)
			fprintf(stderr, "\n%s: %s\n", in, err);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		got = dump_str(c);
		if (getenv("SL_UPDATE_GOLDEN") != NULL) {
			FILE *f = fopen(ref, "w");
			if (f != NULL) {
				fputs(got, f);
				fclose(f);
			}
		}
		want = read_file(ref, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(want);
		if (strcmp(want, got) != 0)
			fprintf(stderr, "\n%s: dump differs from %s:\n%s", in, ref, got);
		CU_ASSERT_STRING_EQUAL(got, want);
		round_trip(c, in);
		free(text);
		free(want);
		free(got);
		cfg_unref(c);
	}
}

/* Every file in config/examples must load, so the examples cannot rot. */
static void test_examples(void)
{
	DIR *d = opendir(SL_CONFIG_EXAMPLES);
	struct dirent *e;
	unsigned n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		char path[1024], err[512];
		struct cfg *c;

		if (len < 6 || strcmp(e->d_name + len - 5, ".conf") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", SL_CONFIG_EXAMPLES, e->d_name);
		c = cfg_load(path, err, sizeof(err));
		if (c == NULL)
			fprintf(stderr, "\n%s\n", err);
		CU_ASSERT_PTR_NOT_NULL(c);
		if (c != NULL) {
			round_trip(c, path);
			cfg_unref(c);
		}
		n++;
	}
	closedir(d);
	CU_ASSERT_TRUE(n >= 3);
}

static void test_example_contents(void)
{
	char err[512], path[1024];
	struct cfg *c;

	snprintf(path, sizeof(path), "%s/dpdk.conf", SL_CONFIG_EXAMPLES);
	c = cfg_load(path, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->transport, CFG_TRANSPORT_DPDK);
	CU_ASSERT_EQUAL(c->dpdk.nports, 1);
	CU_ASSERT_STRING_EQUAL(c->dpdk.ports[0].name, "net_af_packet0");
	CU_ASSERT_EQUAL(c->dpdk.ports[0].address.len, 24);
	CU_ASSERT_EQUAL(c->dpdk.ports[0].address.addr.ip[3], 1); /* our address, not the network */
	CU_ASSERT_EQUAL(c->dpdk.ports[0].gateway.ip[3], 254);
	cfg_unref(c);

	snprintf(path, sizeof(path), "%s/minimal.conf", SL_CONFIG_EXAMPLES);
	c = cfg_load(path, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->nlisten, 1);
	CU_ASSERT_EQUAL(c->listen[0].port, 2525);
	CU_ASSERT_EQUAL(c->nbackends, 1);
	CU_ASSERT_EQUAL(c->backends[0].addr.port, 2526);
	CU_ASSERT_STRING_EQUAL(c->relay_domains[0], "example.net");
	cfg_unref(c);
}

/* ---- errors: one exact "FILE:LINE: message" per bad config ---------------- */

struct err_case {
	const char *text;
	const char *want;
};

static const struct err_case err_cases[] = {
	{ "fooo bar\n" OK_TAIL, "t.conf:1: unknown directive 'fooo'" },
	{ "\n# c\nworkers x\n" OK_TAIL, "t.conf:3: bad value 'x' for 'workers': expected a number 0..1024" },
	{ "workers -1\n" OK_TAIL, "t.conf:1: bad value '-1' for 'workers': expected a number 0..1024" },
	{ "workers 99999999999999999999999\n" OK_TAIL,
	  "t.conf:1: bad value '99999999999999999999999' for 'workers': expected a number 0..1024" },
	{ "workers\n" OK_TAIL, "t.conf:1: 'workers' needs N" },
	{ "workers 1 2\n" OK_TAIL, "t.conf:1: too many values for 'workers' (usage: workers N)" },
	{ "command_timeout 5x\n" OK_TAIL,
	  "t.conf:1: bad value '5x' for 'command_timeout': expected a duration 1ms..49d (e.g. 30s, 5m)" },
	{ "command_timeout 0\n" OK_TAIL,
	  "t.conf:1: bad value '0' for 'command_timeout': expected a duration 1ms..49d (e.g. 30s, 5m)" },
	{ "greet_pause 50d\n" OK_TAIL,
	  "t.conf:1: bad value '50d' for 'greet_pause': expected a duration 0..49d (e.g. 30s, 5m)" },
	{ "message_size_limit 10t\n" OK_TAIL,
	  "t.conf:1: bad value '10t' for 'message_size_limit': expected a size (e.g. 10240000, 10m)" },
	{ "message_size_limit 99999999999g\n" OK_TAIL,
	  "t.conf:1: bad value '99999999999g' for 'message_size_limit': expected a size (e.g. 10240000, 10m)" },
	{ "smtputf8 maybe\n" OK_TAIL, "t.conf:1: bad value 'maybe' for 'smtputf8': expected on or off" },
	{ "transport netmap\n" OK_TAIL, "t.conf:1: bad value 'netmap' for 'transport': expected kernel or dpdk" },
	{ "log_level loud\n" OK_TAIL,
	  "t.conf:1: bad value 'loud' for 'log_level': expected error, warning, info or debug" },
	{ "recipient_limit 50\n" OK_TAIL,
	  "t.conf:1: bad value '50' for 'recipient_limit': expected a number 100..1000000" },
	{ "command_line_limit 511\n" OK_TAIL,
	  "t.conf:1: bad value '511' for 'command_line_limit': expected a number 512..65536" },
	{ "text_line_limit 999\n" OK_TAIL,
	  "t.conf:1: bad value '999' for 'text_line_limit': expected a number 1000..1048576" },
	{ "hostname a\nhostname b\n" OK_TAIL, "t.conf:2: 'hostname' already set on line 1" },
	{ "listen 1.2.3.4\n" OK_TAIL,
	  "t.conf:1: bad value '1.2.3.4' for 'listen': expected ADDR:PORT (e.g. 192.0.2.1:25, [2001:db8::1]:25)" },
	{ "listen 127.0.0.1:25\nlisten 127.0.0.1:25\n" OK_TAIL,
	  "t.conf:2: duplicate listen address '127.0.0.1:25' (first on line 1)" },
	{ "relay_domains example.net\n", "t.conf:0: no backend configured" },
	{ "backend b 127.0.0.1:25\n", "t.conf:0: relay_domains is empty" },
	{ "relay_domains exa$mple.net\n",
	  "t.conf:1: bad value 'exa$mple.net' for 'relay_domains': expected a domain name (.example.net for subdomains)" },
	{ OK_TAIL "backend b 127.0.0.2:25\n", "t.conf:3: duplicate backend 'b' (first on line 2)" },
	{ "backend b\n" OK_TAIL, "t.conf:1: 'backend' needs NAME ADDR:PORT" },
	{ "backend c 127.0.0.1:25 weight 0\n" OK_TAIL,
	  "t.conf:1: bad value '0' for 'weight': expected a number 1..1000" },
	{ "backend c 127.0.0.1:25 weight 1001\n" OK_TAIL,
	  "t.conf:1: bad value '1001' for 'weight': expected a number 1..1000" },
	{ "backend c 127.0.0.1:25 weight\n" OK_TAIL, "t.conf:1: option 'weight' needs a value" },
	{ "backend c 127.0.0.1:25 colour red\n" OK_TAIL, "t.conf:1: unknown option 'colour' for 'backend'" },
	{ "backend c 127.0.0.1:25 weight 1 weight 2\n" OK_TAIL, "t.conf:1: option 'weight' given twice" },
	{ "backend c 127.0.0.1:25 proxy_protocol v3\n" OK_TAIL,
	  "t.conf:1: bad value 'v3' for 'proxy_protocol': expected off, v1 or v2" },
	{ "blocklist ip 10.0.0.300/8\n" OK_TAIL,
	  "t.conf:1: bad value '10.0.0.300/8' for 'blocklist ip': expected an address or CIDR (e.g. 203.0.113.0/24, 2001:db8::/32)" },
	{ "blocklist ip 10.0.0.0/33\n" OK_TAIL,
	  "t.conf:1: bad value '10.0.0.0/33' for 'blocklist ip': expected an address or CIDR (e.g. 203.0.113.0/24, 2001:db8::/32)" },
	{ "blocklist ip 10.1.2.3/8\n" OK_TAIL,
	  "t.conf:1: bad value '10.1.2.3/8' for 'blocklist ip': host bits set (did you mean 10.0.0.0/8?)" },
	{ "allowlist ip 2001:db8::1/32\n" OK_TAIL,
	  "t.conf:1: bad value '2001:db8::1/32' for 'allowlist ip': host bits set (did you mean 2001:db8::/32?)" },
	{ "blocklist colour red\n" OK_TAIL,
	  "t.conf:1: bad value 'colour' for 'blocklist': expected ip, helo, sender, domain or rcpt" },
	{ "blocklist sender nobody\n" OK_TAIL,
	  "t.conf:1: bad value 'nobody' for 'blocklist sender': expected an address local@domain, or <> for the null sender" },
	{ "blocklist rcpt <>\n" OK_TAIL,
	  "t.conf:1: bad value '<>' for 'blocklist rcpt': expected an address local@domain" },
	{ "blocklist ip\n" OK_TAIL, "t.conf:1: 'blocklist' needs KIND VALUE... [reason \"TEXT\"]" },
	{ "hostname \"mx.example.net\n" OK_TAIL, "t.conf:1: unterminated quote" },
	{ "\n\ndpdk {\n  eal \"x\\q\"\n}\n" OK_TAIL,
	  "t.conf:4: bad escape '\\q' in quoted string: only \\\" and \\\\" },
	{ "dpdk {\n  mbufs 65535\n" OK_TAIL, "t.conf:3: unknown directive 'relay_domains' in the dpdk block" },
	{ OK_TAIL "dpdk {\n  mbufs 65535\n", "t.conf:3: unbalanced braces: block 'dpdk' is not closed" },
	{ OK_TAIL "}\n", "t.conf:3: unbalanced braces: '}' without an open block" },
	{ "dpdk {\n  eal \"x\" }\n}\n" OK_TAIL, "t.conf:2: '}' must be alone on its line" },
	{ "dpdk { mbufs 1024\n}\n" OK_TAIL, "t.conf:1: '{' must end the line" },
	{ "dpdk\n" OK_TAIL, "t.conf:1: 'dpdk' needs a block: dpdk {" },
	{ "hostname x {\n}\n" OK_TAIL, "t.conf:1: 'hostname' does not take a block" },
	{ "dpdk {\n  dpdk {\n  }\n}\n" OK_TAIL, "t.conf:2: unknown directive 'dpdk' in the dpdk block" },
	{ "mbufs 1024\n" OK_TAIL, "t.conf:1: directive 'mbufs' belongs in the dpdk block" },
	{ "transport dpdk\n" OK_TAIL, "t.conf:1: transport dpdk needs a 'port' in the dpdk block" },
	{ "dpdk {\n source_ports 40000\n}\n" OK_TAIL,
	  "t.conf:2: bad value '40000' for 'source_ports': expected LO-HI, ports 1024..65535" },
	{ "dpdk {\n source_ports 41000-40000\n}\n" OK_TAIL,
	  "t.conf:2: bad value '41000-40000' for 'source_ports': expected LO-HI with LO <= HI" },
	{ "dpdk {\n source_ports 80-40000\n}\n" OK_TAIL,
	  "t.conf:2: bad value '80' for 'source_ports': expected a number 1024..65535" },
	{ "dpdk {\n tcp_secret run/tcp.secret\n}\n" OK_TAIL,
	  "t.conf:2: bad value 'run/tcp.secret' for 'tcp_secret': expected an absolute path or none" },
	{ "dpdk {\n port 0 address 198.18.0.1\n}\n" OK_TAIL,
	  "t.conf:2: bad value '198.18.0.1' for 'address': expected ADDR/LEN (e.g. 198.18.0.1/24)" },
	{ "dpdk {\n port 0 address 198.18.0.1/24 gateway 2001:2::1\n}\n" OK_TAIL,
	  "t.conf:2: gateway '2001:2::1' is not of the family of address '198.18.0.1/24'" },
	{ "dpdk {\n port 0 address 198.18.0.1/24\n port 0 address 198.18.1.1/24\n}\n" OK_TAIL,
	  "t.conf:3: duplicate dpdk port 0" },
	{ "dpdk {\n port 0000:03:00.0 address 198.18.0.1/24\n port 03:00.0 address 198.18.1.1/24\n}\n" OK_TAIL,
	  "t.conf:3: duplicate dpdk port 0000:03:00.0" },
	{ "dpdk {\n port net_tap0 address 198.18.0.1/24\n port net_tap0 address 198.18.1.1/24\n}\n" OK_TAIL,
	  "t.conf:3: duplicate dpdk port net_tap0" },
	{ "tcp_keepalive idle 500ms\n" OK_TAIL,
	  "t.conf:1: bad value '500ms' for 'idle': expected whole seconds 1s..32767s (e.g. 60s, 2m)" },
	{ "tcp_keepalive interval 1500ms\n" OK_TAIL,
	  "t.conf:1: bad value '1500ms' for 'interval': expected whole seconds 1s..32767s (e.g. 60s, 2m)" },
	{ "tcp_keepalive idle 10h\n" OK_TAIL,
	  "t.conf:1: bad value '10h' for 'idle': expected whole seconds 1s..32767s (e.g. 60s, 2m)" },
	{ "tcp_keepalive probes 0\n" OK_TAIL, "t.conf:1: bad value '0' for 'probes': expected a number 1..127" },
	{ "tcp_keepalive on\n" OK_TAIL, "t.conf:1: unknown option 'on' for 'tcp_keepalive'" },
	{ "tcp_keepalive off idle 5s\n" OK_TAIL, "t.conf:1: unknown option 'off' for 'tcp_keepalive'" },
	{ "dpdk {\n route 198.19.5.0/24 198.18.0.254\n}\n" OK_TAIL, "t.conf:2: 'route' needs PREFIX via ADDR" },
	{ "dpdk {\n route 198.19.5.1/24 via 198.18.0.254\n}\n" OK_TAIL,
	  "t.conf:2: bad value '198.19.5.1/24' for 'route': host bits set (did you mean 198.19.5.0/24?)" },
	{ "dpdk {\n route 198.19.5.0 via 198.18.0.254\n}\n" OK_TAIL,
	  "t.conf:2: bad value '198.19.5.0' for 'route': expected ADDR/LEN (e.g. 198.18.0.1/24)" },
	{ "dpdk {\n route 198.19.5.0/24 via 198.18.0.254/32\n}\n" OK_TAIL,
	  "t.conf:2: bad value '198.18.0.254/32' for 'via': expected an address" },
	{ "dpdk {\n route 198.19.5.0/24 via 2001:2::1\n}\n" OK_TAIL,
	  "t.conf:2: via '2001:2::1' is not of the family of route '198.19.5.0/24'" },
	{ "dpdk {\n route 198.19.5.0/24 via 198.18.0.254\n route 198.19.5.0/24 via 198.18.0.253\n}\n" OK_TAIL,
	  "t.conf:3: duplicate route 198.19.5.0/24" },
	{ "route 198.19.5.0/24 via 198.18.0.254\n" OK_TAIL, "t.conf:1: directive 'route' belongs in the dpdk block" },
	{ "dpdk {\n port 256 address 198.18.0.1/24\n}\n" OK_TAIL,
	  "t.conf:2: bad value '256' for 'port': expected a number 0..255" },
	{ "dpdk {\n port net/tap0 address 198.18.0.1/24\n}\n" OK_TAIL,
	  "t.conf:2: bad value 'net/tap0' for 'port': expected a number 0..255, a PCI address or a vdev name" },
	{ "dpdk {\n port -1 address 198.18.0.1/24\n}\n" OK_TAIL,
	  "t.conf:2: bad value '-1' for 'port': expected a number 0..255, a PCI address or a vdev name" },
	{ "dpdk {\n port 0000:03:20.0 address 198.18.0.1/24\n}\n" OK_TAIL,
	  "t.conf:2: bad value '0000:03:20.0' for 'port': expected a PCI address DDDD:BB:DD.F (device 00..1f, function 0..7)" },
	{ "dpdk {\n port 03:00.8 address 198.18.0.1/24\n}\n" OK_TAIL,
	  "t.conf:2: bad value '03:00.8' for 'port': expected a PCI address DDDD:BB:DD.F (device 00..1f, function 0..7)" },
	{ "limit msg_rate rcpt 10/hour\n" OK_TAIL,
	  "t.conf:1: key 'rcpt' is not allowed for 'msg_rate' (any but rcpt)" },
	{ "limit conn_rate sender 10/hour\n" OK_TAIL,
	  "t.conf:1: key 'sender' is not allowed for 'conn_rate' (only ip or net)" },
	{ "limit concurrency helo 10\n" OK_TAIL,
	  "t.conf:1: key 'helo' is not allowed for 'concurrency' (only ip or net)" },
	{ "limit msg_rate ip 10/hour reply 550 5.7.1 \"go away\"\n" OK_TAIL,
	  "t.conf:1: bad value '550' for 'reply': expected a 4xx code (rate limits never give 5xx)" },
	{ "limit msg_rate ip 10/hour reply 450 5.7.1 \"go away\"\n" OK_TAIL,
	  "t.conf:1: bad value '5.7.1' for 'reply': expected an enhanced status like 4.7.1 of the class of the code" },
	{ "limit msg_rate ip 10/fortnight\n" OK_TAIL,
	  "t.conf:1: bad value '10/fortnight' for 'msg_rate': expected COUNT/PERIOD like 100/hour or 100/10m (period up to 49d)" },
	{ "limit msg_rate ip 0/hour\n" OK_TAIL,
	  "t.conf:1: bad value '0/hour' for 'msg_rate': expected COUNT/PERIOD like 100/hour or 100/10m (period up to 49d)" },
	{ "limit byte_rate ip 10x/hour\n" OK_TAIL,
	  "t.conf:1: bad value '10x/hour' for 'byte_rate': expected SIZE/PERIOD like 50m/hour or 1g/1d" },
	{ "limit msg_rate ip 10/hour prefix4 16\n" OK_TAIL, "t.conf:1: 'prefix4' only applies to key 'net'" },
	{ "limit conn_rate net 10/hour prefix6 129\n" OK_TAIL,
	  "t.conf:1: bad value '129' for 'prefix6': expected a number 1..128" },
	{ "limit concurrency ip 10 burst 5\n" OK_TAIL, "t.conf:1: unknown option 'burst' for 'limit concurrency'" },
	{ "limit msg_rate ip 10/hour fail maybe\n" OK_TAIL,
	  "t.conf:1: bad value 'maybe' for 'fail': expected open or closed" },
	{ "limit bogus_rate ip 10/hour\n" OK_TAIL,
	  "t.conf:1: bad value 'bogus_rate' for 'limit': expected conn_rate, msg_rate, rcpt_rate, byte_rate or concurrency" },
	{ "policy redis\n" OK_TAIL, "t.conf:1: 'policy redis' needs HOST:PORT or unix:/PATH" },
	{ "policy redis redis.example:6379\n" OK_TAIL,
	  "t.conf:1: bad value 'redis.example:6379' for 'policy redis': expected IP:PORT (e.g. 127.0.0.1:6379) or unix:/PATH" },
	{ "policy memcached\n" OK_TAIL, "t.conf:1: bad value 'memcached' for 'policy': expected embedded or redis" },
	{ "policy redis 127.0.0.1:6379 db 70000\n" OK_TAIL,
	  "t.conf:1: bad value '70000' for 'db': expected a number 0..65535" },
	{ "policy redis 127.0.0.1:6379 timeout 11s\n" OK_TAIL,
	  "t.conf:1: bad value '11s' for 'timeout': expected a duration 1ms..10s" },
	{ "policy redis 127.0.0.1:6379 timeout 0\n" OK_TAIL,
	  "t.conf:1: bad value '0' for 'timeout': expected a duration 1ms..49d (e.g. 30s, 5m)" },
	{ "policy redis 127.0.0.1:6379 lease 100ms\n" OK_TAIL,
	  "t.conf:1: bad value '100ms' for 'lease': expected a duration 300ms..1h" },
	{ "policy redis 127.0.0.1:6379 prefix \"{gw}:\"\n" OK_TAIL,
	  "t.conf:1: bad value '{gw}:' for 'prefix': expected up to 31 bytes without braces or blanks" },
	{ "policy redis 127.0.0.1:6379 password\n" OK_TAIL, "t.conf:1: option 'password' needs a value" },
	{ "policy redis 127.0.0.1:6379 db 1 db 2\n" OK_TAIL, "t.conf:1: option 'db' given twice" },
	{ "policy redis 127.0.0.1:6379 user bob\n" OK_TAIL, "t.conf:1: unknown option 'user' for 'policy redis'" },
	{ "policy redis unix:/run/r.sock ttl 5\n" OK_TAIL, "t.conf:1: unknown option 'ttl' for 'policy redis'" },
	{ "tls cert /a.pem cert /b.pem\n" OK_TAIL, "t.conf:1: option 'cert' given twice" },
	{ "tls cert /a.pem\n" OK_TAIL, "t.conf:1: 'tls' needs cert PATH key PATH" },
	{ "control /run/s.sock mode 0888\n" OK_TAIL, "t.conf:1: bad value '0888' for 'mode': expected an octal mode like 0660" },
	{ "control /run/s.sock owner no-such-user-h4\n" OK_TAIL,
	  "t.conf:1: no user 'no-such-user-h4' for 'owner'" },
	{ "control /run/s.sock group no-such-group-h4\n" OK_TAIL,
	  "t.conf:1: no group 'no-such-group-h4' for 'group'" },
	{ "control /run/s.sock owner 4294967295\n" OK_TAIL,
	  "t.conf:1: bad value '4294967295' for 'owner': expected a user name or uid" },
	{ "control /run/s.sock group a/b\n" OK_TAIL,
	  "t.conf:1: bad value 'a/b' for 'group': expected a group name or gid" },
	{ "control_allow 1000 2\n" OK_TAIL,
	  "t.conf:1: 'control_allow' needs uid or gid before '1000' (control_allow uid 0 1000 gid adm)" },
	{ "control_allow uid\n" OK_TAIL, "t.conf:1: 'control_allow' needs [uid USER...] [gid GROUP...]" },
	{ "control_allow uid gid 4\n" OK_TAIL, "t.conf:1: 'uid' needs at least one value" },
	{ "control_allow uid 5 gid\n" OK_TAIL, "t.conf:1: 'gid' needs at least one value" },
	{ "control_allow uid 5 root 5\n" OK_TAIL, "t.conf:1: uid 5 is already allowed" },
	{ "control_allow uid 0\ncontrol_allow uid root\n" OK_TAIL, "t.conf:2: uid root is already allowed" },
	{ "control_allow gid no-such-group-h4\n" OK_TAIL, "t.conf:1: no group 'no-such-group-h4' for 'gid'" },
	{ "control_allow uid -1\n" OK_TAIL, "t.conf:1: bad value '-1' for 'uid': expected a user name or uid" },
	{ "policy redis 127.0.0.1:6379 password x password_file /p\n" OK_TAIL,
	  "t.conf:1: 'password' and 'password_file' together: give one" },
	{ "policy redis 127.0.0.1:6379 password_file /nonexistent/redis.pass\n" OK_TAIL,
	  "t.conf:1: password_file /nonexistent/redis.pass: No such file or directory" },
	{ "policy redis 127.0.0.1:6379 password_file /\n" OK_TAIL,
	  "t.conf:1: password_file /: not a regular file" },
	{ "metrics 127.0.0.1:0\n" OK_TAIL,
	  "t.conf:1: bad value '127.0.0.1:0' for 'metrics': expected ADDR:PORT (e.g. 192.0.2.1:25, [2001:db8::1]:25)" },
	{ "max_sessions 100\nstress_sessions 200\n" OK_TAIL, "t.conf:2: stress_sessions 200 is above max_sessions 100" },
	{ "command_timeout 5s\nstress_command_timeout 10s\n" OK_TAIL,
	  "t.conf:2: stress_command_timeout is longer than command_timeout" },
	{ "hostname mx\x01.example.net\n" OK_TAIL, "t.conf:1: control character 0x01" },
	{ "hostname mx\"x\"\n" OK_TAIL, "t.conf:1: unexpected '\"' inside a word" },
	{ "hostname \"mx\"x\n" OK_TAIL, "t.conf:1: missing blank after quoted string" },
};

static void test_errors(void)
{
	unsigned i, n = 0;

	for (i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++, n++) {
		char err[512];
		const char *want;
		struct cfg *c;

		memset(err, 'Z', sizeof(err));
		c = parse(err_cases[i].text, err, sizeof(err));
		CU_ASSERT_PTR_NULL(c);
		if (c != NULL) {
			fprintf(stderr, "\ncase %u parsed but should not:\n%s", i, err_cases[i].text);
			cfg_unref(c);
			continue;
		}
		want = err_cases[i].want;
		if (strcmp(err, want) != 0) {
			fputs("\ncase: got  ", stderr);
			fputs(err, stderr);
			fputs("\n      want ", stderr);
			fputs(want, stderr);
			fputs("\n", stderr);
		}
		CU_ASSERT_STRING_EQUAL(err, want);
		CU_ASSERT_PTR_NULL(strchr(err, '\n'));
	}
	CU_ASSERT_TRUE(n >= 30);
}

/* Errors from a NUL in the text and from a short error buffer. */
static void test_errors_edges(void)
{
	static const char nul[] = "hostname a\0b\n" OK_TAIL;
	char err[512], small[8];
	struct cfg *c;

	c = cfg_parse_string("t.conf", nul, sizeof(nul) - 1, err, sizeof(err));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_STRING_EQUAL(err, "t.conf:1: control character 0x00");
	c = parse("fooo\n", small, sizeof(small));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_STRING_EQUAL(small, "t.conf:");
	c = parse("fooo\n", NULL, 0);
	CU_ASSERT_PTR_NULL(c);
	c = cfg_load("/nonexistent/sluice.conf", err, sizeof(err));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_STRING_EQUAL(err, "/nonexistent/sluice.conf:0: cannot open: No such file or directory");
}

/* The bounds of the repeatable directives and of one line. */
static void test_errors_bounds(void)
{
	char *text = malloc(1 << 20), err[512];
	size_t n = 0;
	unsigned i;
	struct cfg *c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	if (text == NULL)
		return;
	for (i = 0; i < CFG_LISTEN_MAX + 1; i++)
		n += (size_t)sprintf(text + n, "listen 127.0.0.1:%u\n", 1000 + i);
	strcpy(text + n, OK_TAIL);
	c = parse(text, err, sizeof(err));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_STRING_EQUAL(err, "t.conf:17: too many listen addresses (max 16)");

	n = 0;
	for (i = 0; i < CFG_BACKEND_MAX + 1; i++)
		n += (size_t)sprintf(text + n, "backend b%u 127.0.0.1:%u\n", i, 1000 + i);
	strcpy(text + n, "relay_domains example.net\n");
	c = parse(text, err, sizeof(err));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_STRING_EQUAL(err, "t.conf:65: too many backends (max 64)");

	n = (size_t)sprintf(text, "relay_domains");
	for (i = 0; i < 256; i++)
		n += (size_t)sprintf(text + n, " d%u.example", i);
	strcpy(text + n, "\nbackend b 127.0.0.1:25\n");
	c = parse(text, err, sizeof(err));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_STRING_EQUAL(err, "t.conf:1: too many words on one line (max 256)");

	n = (size_t)sprintf(text, "hostname ");
	memset(text + n, 'a', 20000);
	strcpy(text + n + 20000, "\n" OK_TAIL);
	c = parse(text, err, sizeof(err));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_STRING_EQUAL(err, "t.conf:1: line too long (max 16384 bytes)");

	/* 255 domains on one line are fine, and so is their dump */
	n = (size_t)sprintf(text, "relay_domains");
	for (i = 0; i < 255; i++)
		n += (size_t)sprintf(text + n, " d%u.example", i);
	strcpy(text + n, "\nbackend b 127.0.0.1:25\n");
	c = parse(text, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->nrelay_domains, 255);
	round_trip(c, "255 domains");
	cfg_unref(c);
	free(text);
}

/* ---- defaults ----------------------------------------------------------- */

static void check_defaults(const struct cfg *c)
{
	char host[SL_DOMAIN_MAX + 2] = "";
	char a[SL_ADDR_STRLEN];

	gethostname(host, sizeof(host) - 1);
	CU_ASSERT_STRING_EQUAL(c->hostname, host);
	CU_ASSERT_EQUAL(c->nlisten, 1);
	CU_ASSERT_STRING_EQUAL(sl_addr_format(&c->listen[0], a, sizeof(a), true), "0.0.0.0:25");
	CU_ASSERT_EQUAL(c->transport, CFG_TRANSPORT_KERNEL);
	CU_ASSERT_EQUAL(c->workers, 0);
	CU_ASSERT_EQUAL(c->max_sessions, 10000);
	CU_ASSERT_EQUAL(c->shutdown_grace_ms, 30000);
	CU_ASSERT_STRING_EQUAL(c->pid_file, "");
	CU_ASSERT_EQUAL(c->log_level, SL_LOG_INFO);
	CU_ASSERT_STRING_EQUAL(c->dpdk.eal, "");
	CU_ASSERT_EQUAL(c->dpdk.nports, 0);
	CU_ASSERT_EQUAL(c->dpdk.mbufs, 65535);
	CU_ASSERT_STRING_EQUAL(c->dpdk.tcp_secret, "/run/sluice/tcp.secret");
	CU_ASSERT_EQUAL(c->dpdk.source_port_lo, 32768);
	CU_ASSERT_EQUAL(c->dpdk.source_port_hi, 60999);
	CU_ASSERT_EQUAL(c->dpdk.time_wait_max, 262144);
	CU_ASSERT_EQUAL(c->smtp.greet_pause_ms, 0);
	CU_ASSERT_EQUAL(c->smtp.command_line_limit, 512);
	CU_ASSERT_EQUAL(c->smtp.text_line_limit, 1000);
	CU_ASSERT_EQUAL(c->smtp.message_size_limit, 10240000);
	CU_ASSERT_EQUAL(c->smtp.recipient_limit, 1000);
	CU_ASSERT_EQUAL(c->smtp.hard_error_limit, 20);
	CU_ASSERT_EQUAL(c->smtp.junk_command_limit, 100);
	CU_ASSERT_EQUAL(c->smtp.command_timeout_ms, 300000);
	CU_ASSERT_EQUAL(c->smtp.stress_command_timeout_ms, 10000);
	CU_ASSERT_EQUAL(c->smtp.stress_sessions, 8000);
	CU_ASSERT_EQUAL(c->smtp.data_timeout_ms, 300000);
	CU_ASSERT_EQUAL(c->smtp.min_data_rate, 500);
	CU_ASSERT_EQUAL(c->smtp.bare_newline, CFG_BARE_REJECT);
	CU_ASSERT_TRUE(c->smtp.smtputf8);
	CU_ASSERT_TRUE(c->smtp.pipelining_enforce);
	CU_ASSERT_EQUAL(c->relay.connect_timeout_ms, 10000);
	CU_ASSERT_EQUAL(c->relay.reply_timeout_ms, 300000);
	CU_ASSERT_EQUAL(c->relay.data_done_timeout_ms, 600000);
	CU_ASSERT_EQUAL(c->relay.connect_retries, 2);
	CU_ASSERT_EQUAL(c->relay.health_interval_ms, 10000);
	CU_ASSERT_EQUAL(c->relay.health_timeout_ms, 5000);
	CU_ASSERT_EQUAL(c->relay.health_rise, 2);
	CU_ASSERT_EQUAL(c->relay.health_fall, 2);
	CU_ASSERT_EQUAL(c->policy_store, CFG_POLICY_EMBEDDED);
	CU_ASSERT_EQUAL(c->nlimits, 0);
	CU_ASSERT_EQUAL(c->nlists, 0);
	CU_ASSERT_STRING_EQUAL(c->tls_cert, "");
	CU_ASSERT_STRING_EQUAL(c->tls_key, "");
	CU_ASSERT_STRING_EQUAL(c->control_path, "/run/sluice/control.sock");
	CU_ASSERT_EQUAL(c->control_mode, 0660);
	CU_ASSERT_EQUAL(c->metrics_addr.family, 0);
}

static void test_defaults(void)
{
	char err[512];
	struct cfg *c = cfg_defaults(), *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	check_defaults(c);
	CU_ASSERT_EQUAL(c->nrelay_domains, 0);
	CU_ASSERT_EQUAL(c->nbackends, 0);
	CU_ASSERT_EQUAL(atomic_load(&c->refs), 1);

	/* a file with only the required directives has the same defaults */
	p = parse(OK_TAIL, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	check_defaults(p);
	CU_ASSERT_STRING_EQUAL(p->file, "t.conf");
	CU_ASSERT_EQUAL(p->nbackends, 1);
	CU_ASSERT_EQUAL(p->backends[0].weight, 1);
	CU_ASSERT_EQUAL(p->backends[0].max_conns, 0);
	CU_ASSERT_EQUAL(p->backends[0].xclient, CFG_XCLIENT_AUTO);
	CU_ASSERT_EQUAL(p->backends[0].proxy, CFG_PROXY_OFF);
	CU_ASSERT_EQUAL(p->backends[0].line, 2);
	cfg_unref(p);
	cfg_unref(c);
}

/* ---- values --------------------------------------------------------------- */

struct dur_case {
	const char *v;
	uint32_t ms;
};

static void test_durations(void)
{
	static const struct dur_case cases[] = {
		{ "0", 0 }, { "7", 7000 }, { "250ms", 250 }, { "3s", 3000 }, { "2m", 120000 },
		{ "1h", 3600000 }, { "2d", 172800000 }, { "49d", 4233600000u }, { NULL, 0 }
	};
	unsigned i;

	for (i = 0; cases[i].v != NULL; i++) {
		char text[256], err[512];
		struct cfg *c;

		snprintf(text, sizeof(text), "greet_pause %s\n" OK_TAIL, cases[i].v);
		c = parse(text, err, sizeof(err));
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		CU_ASSERT_EQUAL(c->smtp.greet_pause_ms, cases[i].ms);
		cfg_unref(c);
	}
}

static void test_sizes(void)
{
	static const struct { const char *v; uint64_t n; } cases[] = {
		{ "0", 0 }, { "1000", 1000 }, { "64k", 65536 }, { "10m", 10485760 },
		{ "2g", 2147483648ull }, { "3K", 3072 }, { NULL, 0 }
	};
	unsigned i;

	for (i = 0; cases[i].v != NULL; i++) {
		char text[256], err[512];
		struct cfg *c;

		snprintf(text, sizeof(text), "message_size_limit %s\n" OK_TAIL, cases[i].v);
		c = parse(text, err, sizeof(err));
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		CU_ASSERT_EQUAL(c->smtp.message_size_limit, cases[i].n);
		cfg_unref(c);
	}
}

static void test_rates(void)
{
	static const struct { const char *v; uint64_t count, period_ms, burst; } cases[] = {
		{ "msg_rate ip 100/hour", 100, 3600000, 100 },
		{ "msg_rate ip 100/h burst 20", 100, 3600000, 20 },
		{ "msg_rate ip 5/second", 5, 1000, 5 },
		{ "msg_rate ip 5/s", 5, 1000, 5 },
		{ "msg_rate ip 60/minute", 60, 60000, 60 },
		{ "msg_rate ip 60/m", 60, 60000, 60 },
		{ "msg_rate ip 1000/day", 1000, 86400000, 1000 },
		{ "msg_rate ip 1000/d", 1000, 86400000, 1000 },
		{ "msg_rate ip 100/10m", 100, 600000, 100 },
		{ "msg_rate ip 3/500ms", 3, 500, 3 },
		{ "byte_rate ip 50m/hour", 52428800, 3600000, 52428800 },
		{ "byte_rate ip 1g/1d burst 100m", 1073741824, 86400000, 104857600 },
		{ "concurrency ip 10", 10, 0, 10 },
		{ NULL, 0, 0, 0 }
	};
	unsigned i;

	for (i = 0; cases[i].v != NULL; i++) {
		char text[256], err[512];
		struct cfg *c;

		snprintf(text, sizeof(text), "limit %s\n" OK_TAIL, cases[i].v);
		c = parse(text, err, sizeof(err));
		if (c == NULL)
			fprintf(stderr, "\n%s\n", err);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		CU_ASSERT_EQUAL(c->nlimits, 1);
		CU_ASSERT_EQUAL(c->limits[0].count, cases[i].count);
		CU_ASSERT_EQUAL(c->limits[0].period_ms, cases[i].period_ms);
		CU_ASSERT_EQUAL(c->limits[0].burst, cases[i].burst);
		CU_ASSERT_EQUAL(c->limits[0].line, 1);
		cfg_unref(c);
	}
}

static void test_limit_defaults(void)
{
	char err[512];
	struct cfg *c = parse("limit conn_rate net 10/minute\nlimit concurrency ip 3\n"
			      "limit rcpt_rate rcpt 50/hour fail closed\n" OK_TAIL, err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->nlimits, 3);
	CU_ASSERT_EQUAL(c->limits[0].kind, CFG_LIMIT_CONN_RATE);
	CU_ASSERT_EQUAL(c->limits[0].key, CFG_KEY_NET);
	CU_ASSERT_EQUAL(c->limits[0].net4_prefix, 24);
	CU_ASSERT_EQUAL(c->limits[0].net6_prefix, 64);
	CU_ASSERT_FALSE(c->limits[0].fail_closed);
	CU_ASSERT_EQUAL(c->limits[0].code, 421);
	CU_ASSERT_STRING_EQUAL(c->limits[0].status, "4.7.0");
	CU_ASSERT_STRING_EQUAL(c->limits[0].text, "Error: too many connections from your address, try again later");
	CU_ASSERT_EQUAL(c->limits[1].kind, CFG_LIMIT_CONCURRENCY);
	CU_ASSERT_EQUAL(c->limits[1].code, 421);
	CU_ASSERT_EQUAL(c->limits[1].period_ms, 0);
	CU_ASSERT_EQUAL(c->limits[2].code, 450);
	CU_ASSERT_STRING_EQUAL(c->limits[2].status, "4.7.1");
	CU_ASSERT_STRING_EQUAL(c->limits[2].text, "Error: rate limit exceeded, try again later");
	CU_ASSERT_TRUE(c->limits[2].fail_closed);
	CU_ASSERT_EQUAL(c->limits[2].line, 3);
	cfg_unref(c);
}

static void test_lists(void)
{
	char err[512];
	struct cfg *c = parse("blocklist ip 203.0.113.0/24 2001:DB8::/32 192.0.2.1 reason \"spam \\\"farm\\\"\"\n"
			      "allowlist sender <> Alice@Example.COM\n"
			      "blocklist helo \"reason\" reason x\n"
			      "blocklist domain .Spam.Example\n" OK_TAIL, err, sizeof(err));
	char buf[64];

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->nlists, 7);
	CU_ASSERT_EQUAL(c->lists[0].kind, CFG_LIST_IP);
	CU_ASSERT_FALSE(c->lists[0].allow);
	CU_ASSERT_STRING_EQUAL(sl_prefix_format(&c->lists[0].prefix, buf, sizeof(buf)), "203.0.113.0/24");
	CU_ASSERT_STRING_EQUAL(c->lists[0].reason, "spam \"farm\"");
	CU_ASSERT_STRING_EQUAL(sl_prefix_format(&c->lists[1].prefix, buf, sizeof(buf)), "2001:db8::/32");
	CU_ASSERT_STRING_EQUAL(sl_prefix_format(&c->lists[2].prefix, buf, sizeof(buf)), "192.0.2.1/32");
	CU_ASSERT_STRING_EQUAL(c->lists[2].reason, "spam \"farm\"");
	CU_ASSERT_TRUE(c->lists[3].allow);
	CU_ASSERT_EQUAL(c->lists[3].kind, CFG_LIST_SENDER);
	CU_ASSERT_STRING_EQUAL(c->lists[3].value, "<>");
	CU_ASSERT_STRING_EQUAL(c->lists[4].value, "alice@example.com");
	CU_ASSERT_STRING_EQUAL(c->lists[4].reason, "");
	CU_ASSERT_STRING_EQUAL(c->lists[5].value, "reason");
	CU_ASSERT_STRING_EQUAL(c->lists[5].reason, "x");
	CU_ASSERT_STRING_EQUAL(c->lists[6].value, ".spam.example");
	CU_ASSERT_EQUAL(c->lists[6].line, 4);
	round_trip(c, "lists");
	cfg_unref(c);
}

/* Peers of the control socket: names and numbers, kept as written. */
static void test_control_peers(void)
{
	char err[512];
	struct cfg *c = parse("control /run/x.sock mode 0600 owner root group 0\n"
			      "control_allow uid root 1999999\n"
			      "control_allow gid 4242 uid 77 gid root\n" OK_TAIL, err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->control_mode, 0600);
	CU_ASSERT_EQUAL(c->control_owner.id, 0);
	CU_ASSERT_STRING_EQUAL(c->control_owner.name, "root");
	CU_ASSERT_EQUAL(c->control_group.id, 0);
	CU_ASSERT_STRING_EQUAL(c->control_group.name, "");
	CU_ASSERT_EQUAL(c->nallow_uids, 3);
	CU_ASSERT_EQUAL(c->allow_uids[0].id, 0);
	CU_ASSERT_EQUAL(c->allow_uids[1].id, 1999999);
	CU_ASSERT_EQUAL(c->allow_uids[2].id, 77);
	CU_ASSERT_EQUAL(c->nallow_gids, 2);
	CU_ASSERT_EQUAL(c->allow_gids[0].id, 4242);
	CU_ASSERT_EQUAL(c->allow_gids[1].id, 0);
	CU_ASSERT_STRING_EQUAL(c->allow_gids[1].name, "root");
	round_trip(c, "control peers");
	cfg_unref(c);

	/* the defaults: no owner, no group, nobody listed */
	c = parse(OK_TAIL, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->control_owner.id, CFG_ID_NONE);
	CU_ASSERT_EQUAL(c->control_group.id, CFG_ID_NONE);
	CU_ASSERT_EQUAL(c->nallow_uids + c->nallow_gids, 0);
	cfg_unref(c);
}

/* The Redis password: masked in sluice -t, read from password_file. */
static void test_redis_password(void)
{
	char err[512], path[] = "/tmp/sluice-test-pass.XXXXXX", text[512];
	struct cfg *c;
	char *d;
	int fd;

	c = parse("policy redis 127.0.0.1:6379 password s3cr3t-h4\n" OK_TAIL, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	d = dump_str(c);
	CU_ASSERT_PTR_NULL(strstr(d, "s3cr3t-h4"));
	CU_ASSERT_PTR_NOT_NULL(strstr(d, "password " CFG_SECRET_MASK "\n"));
	free(d);
	d = dump_flags(c, CFG_DUMP_SECRETS);
	CU_ASSERT_PTR_NOT_NULL(strstr(d, "password s3cr3t-h4"));
	free(d);
	round_trip(c, "inline password");
	cfg_unref(c);

	/* from a file: first line, its newline dropped; the dump names the file */
	fd = mkstemp(path);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "pa ss#word\n", 11), 11);
	close(fd);
	snprintf(text, sizeof(text), "policy redis 127.0.0.1:6379 password_file %s db 3\n" OK_TAIL, path);
	c = parse(text, err, sizeof(err));
	if (c == NULL)
		fprintf(stderr, "\n%s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->redis_password, "pa ss#word");
	CU_ASSERT_STRING_EQUAL(c->redis_password_file, path);
	d = dump_str(c);
	CU_ASSERT_PTR_NULL(strstr(d, "pa ss"));
	CU_ASSERT_PTR_NOT_NULL(strstr(d, "password_file "));
	free(d);
	round_trip(c, "password_file");
	cfg_unref(c);

	/* empty, two lines, too long */
	static const char *const bad[] = { "", "\n", "a\nb\n",
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" };
	for (unsigned i = 0; i < SL_ARRAY_SIZE(bad); i++) {
		FILE *f = fopen(path, "w");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		fputs(bad[i], f);
		fclose(f);
		c = parse(text, err, sizeof(err));
		CU_ASSERT_PTR_NULL(c);
		cfg_unref(c);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "password_file"));
	}
	unlink(path);
}

static void test_names(void)
{
	CU_ASSERT_STRING_EQUAL(cfg_list_kind_name(CFG_LIST_IP), "ip");
	CU_ASSERT_STRING_EQUAL(cfg_list_kind_name(CFG_LIST_DOMAIN), "domain");
	CU_ASSERT_STRING_EQUAL(cfg_list_kind_name(CFG_LIST_RCPT), "rcpt");
	CU_ASSERT_STRING_EQUAL(cfg_list_kind_name(CFG_LIST_KIND_COUNT), "?");
	CU_ASSERT_STRING_EQUAL(cfg_limit_kind_name(CFG_LIMIT_CONN_RATE), "conn_rate");
	CU_ASSERT_STRING_EQUAL(cfg_limit_kind_name(CFG_LIMIT_CONCURRENCY), "concurrency");
	CU_ASSERT_STRING_EQUAL(cfg_limit_kind_name(CFG_LIMIT_KIND_COUNT), "?");
	CU_ASSERT_STRING_EQUAL(cfg_limit_key_name(CFG_KEY_SENDER_DOMAIN), "sender_domain");
	CU_ASSERT_STRING_EQUAL(cfg_limit_key_name(CFG_KEY_NET), "net");
	CU_ASSERT_STRING_EQUAL(cfg_limit_key_name(CFG_KEY_COUNT), "?");
}

/* ---- refcount ------------------------------------------------------------- */

static void test_refcount(void)
{
	char err[512];
	struct cfg *c = parse(OK_TAIL, err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(atomic_load(&c->refs), 1);
	CU_ASSERT_PTR_EQUAL(cfg_ref(c), c);
	CU_ASSERT_EQUAL(atomic_load(&c->refs), 2);
	cfg_unref(c);
	CU_ASSERT_EQUAL(atomic_load(&c->refs), 1);
	CU_ASSERT_PTR_NULL(cfg_ref(NULL));
	cfg_unref(NULL);
	cfg_unref(c); /* freed here: ASan reports a leak or a double free */
}

static void *ref_worker(void *arg)
{
	struct cfg *c = arg;

	for (int i = 0; i < 100000; i++) {
		cfg_ref(c);
		cfg_unref(c);
	}
	cfg_unref(c); /* the reference the main thread took for us */
	return NULL;
}

static void test_refcount_threads(void)
{
	char err[512];
	struct cfg *c = parse(OK_TAIL, err, sizeof(err));
	pthread_t t[4];
	unsigned i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (i = 0; i < 4; i++) {
		cfg_ref(c);
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, ref_worker, c), 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT_EQUAL(atomic_load(&c->refs), 1);
	cfg_unref(c);
}

/* restart_case - the names cfg_restart_only gives between START and NEXT (each OK_TAIL appended), "" for none. */
static void restart_case(const char *start, const char *next, const char *want)
{
	char err[512], a[1024], b[1024], got[256];
	struct cfg *c0, *c1;
	unsigned n;

	snprintf(a, sizeof(a), "%s" OK_TAIL, start);
	snprintf(b, sizeof(b), "%s" OK_TAIL, next);
	c0 = parse(a, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c0);
	c1 = parse(b, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c1);
	n = cfg_restart_only(c0, c1, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fprintf(stderr, "restart_only:\n%s---\n%s---\ngot '%s', want '%s'\n", a, b, got, want);
	CU_ASSERT_STRING_EQUAL(got, want);
	CU_ASSERT_EQUAL(n, want[0] == '\0' ? 0 : 1 + (unsigned)(strstr(want, ", ") != NULL));
	cfg_unref(c0);
	cfg_unref(c1);
}

/* A dpdk config with max_sessions MS and more lines IN the dpdk block. */
#define DPDK_CONF(ms, in) "transport dpdk\nmax_sessions " ms "\ndpdk {\n port 0 address 198.18.0.1/24\n" in "}\n"

/* A reload says which of its changes wait for a restart, and only those. */
static void test_restart_only(void)
{
	restart_case("", "", "");
	restart_case("", "greet_pause 1s\nmax_sessions 10\nlog_level debug\n", "");
	restart_case("listen 127.0.0.1:25\n", "listen 127.0.0.1:2525\n", "listen");
	restart_case("listen 127.0.0.1:25\n", "listen 127.0.0.1:25\nlisten [::1]:25\n", "listen");
	restart_case("workers 2\n", "workers 3\n", "workers");
	restart_case("", DPDK_CONF("1000", ""), "transport, the dpdk block");
	restart_case(DPDK_CONF("100", ""), DPDK_CONF("100", ""), "");
	restart_case(DPDK_CONF("100", ""), DPDK_CONF("50", ""), "");
	restart_case(DPDK_CONF("100", ""), DPDK_CONF("200", ""), "max_sessions (raised: transport dpdk sizes its tables at start)");
	restart_case(DPDK_CONF("100", ""), "transport dpdk\nmax_sessions 100\ndpdk {\n port net_af_packet0 address 198.18.0.1/24\n}\n",
		     "the dpdk block");
	restart_case(DPDK_CONF("100", ""), DPDK_CONF("100", " route 198.19.5.0/24 via 198.18.0.254\n"), "the dpdk block");
	restart_case(DPDK_CONF("100", ""), DPDK_CONF("100", " mbufs 4095\n") "metrics 127.0.0.1:9125\n",
		     "the dpdk block, metrics");
	restart_case("control /run/a.sock\n", "control /run/a.sock mode 0600\n", "control");
	restart_case("pid_file /run/a.pid\n", "pid_file /run/b.pid\n", "pid_file");
}

void register_tests(void)
{
	static const struct test_case files[] = {
		{ "golden .in -> .ref and round trip", test_golden },
		{ "every config/examples/*.conf loads", test_examples },
		{ "examples say what they mean", test_example_contents },
		{ NULL, NULL }
	};
	static const struct test_case errors[] = {
		{ "error table", test_errors },
		{ "NUL, short buffers, missing file", test_errors_edges },
		{ "bounds", test_errors_bounds },
		{ NULL, NULL }
	};
	static const struct test_case values[] = {
		{ "defaults", test_defaults },
		{ "durations", test_durations },
		{ "sizes", test_sizes },
		{ "rates", test_rates },
		{ "limit defaults", test_limit_defaults },
		{ "lists", test_lists },
		{ "names", test_names },
		{ "control socket peers", test_control_peers },
		{ "redis password: masked, from a file", test_redis_password },
		{ "what a reload cannot change", test_restart_only },
		{ NULL, NULL }
	};
	static const struct test_case life[] = {
		{ "refcount", test_refcount },
		{ "refcount across threads", test_refcount_threads },
		{ NULL, NULL }
	};

	test_suite("config files", files);
	test_suite("config errors", errors);
	test_suite("config values", values);
	test_suite("config lifetime", life);
}
