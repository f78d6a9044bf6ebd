/* sluicectl.c - the operator's command line: speaks the control socket's
 * line protocol (control/ctlsock/PROTOCOL.md), prints tables or raw JSON. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfg.h"

#define DEFAULT_CONFIG "/etc/sluice/sluice.conf"
#define REQ_MAX        4096        /* as the daemon's CTL_REQ_MAX */
#define REPLY_MAX      (64u << 20) /* a long list, but not without end */
#define TIMEOUT_MS     30000

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sluicectl [-c CONFIG] [-s SOCKET] [--json] COMMAND [ARGS...]\n"
		"commands:\n"
		"  status                          pid, uptime, workers, sessions, config\n"
		"  stats                           counters per worker and in total\n"
		"  version                         daemon and protocol versions\n"
		"  block add KIND VALUE [ttl SECONDS] [reason TEXT]\n"
		"  block del KIND VALUE | block list [KIND] | block test KIND VALUE\n"
		"  allow ...                       the same for the allowlist\n"
		"                                  KIND: ip (address or CIDR), helo, sender, domain, rcpt\n"
		"  limits list                     the rate limits in force (file and runtime)\n"
		"  limits set KIND KEY COUNT/PERIOD [burst N] [fail open|closed] [prefix4 N] [prefix6 N]\n"
		"                                  add or replace a rule now; kept across reloads\n"
		"  limits del KIND KEY [COUNT/PERIOD] drop a rule set at run time\n"
		"  backends list | backends drain NAME | backends enable NAME\n"
		"  sessions [list [max N]]         live sessions on every worker (1000 by default)\n"
		"  sessions kill ID                close one with 421 4.3.2 (ID as in the log's session=)\n"
		"  metrics                         the Prometheus text\n"
		"  reload                          re-read the configuration, sessions stay\n"
		"  shutdown                        graceful stop, as SIGTERM\n"
		"  check                           check the configuration file (like sluice -t)\n"
		"The socket is -s, or the config's control path (-c, default " DEFAULT_CONFIG
		"),\nor the built-in default. Exit status: 0 ok, 1 error reply or no daemon, 2 usage.\n");
}

/* ---- a small JSON reader, enough for the daemon's replies */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype  type;
	bool        b;
	char       *s;          /**< J_STR: the string; J_NUM: the number as written */
	unsigned    n;
	struct jv  *kids;       /**< J_ARR / J_OBJ */
	char      **keys;       /**< J_OBJ */
};

struct jparse {
	const char *p, *end;
	int depth;
};

static void jskip(struct jparse *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

static char *jstring(struct jparse *j)
{
	char *out, *o;

	if (j->p >= j->end || *j->p != '"')
		return NULL;
	j->p++;
	out = o = malloc((size_t)(j->end - j->p) + 1);
	if (out == NULL)
		return NULL;
	while (j->p < j->end && *j->p != '"') {
		char ch = *j->p++;
		if (ch == '\\' && j->p < j->end) {
			char e = *j->p++;
			switch (e) {
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'r': ch = '\r'; break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'u': {
				unsigned v = 0;
				if (j->end - j->p < 4 || sscanf(j->p, "%4x", &v) != 1) {
					free(out);
					return NULL;
				}
				j->p += 4;
				/* the daemon writes \u00XX for single bytes; others print as '?' */
				ch = v < 0x100 ? (char)v : '?';
				break;
			}
			default: ch = e; break;
			}
		}
		*o++ = ch;
	}
	if (j->p >= j->end) {
		free(out);
		return NULL;
	}
	j->p++;
	*o = '\0';
	return out;
}

static void jfree(struct jv *v)
{
	for (unsigned i = 0; i < v->n; i++) {
		jfree(&v->kids[i]);
		if (v->keys != NULL)
			free(v->keys[i]);
	}
	free(v->kids);
	free(v->keys);
	free(v->s);
	memset(v, 0, sizeof(*v));
}

static int jvalue(struct jparse *j, struct jv *v);

static int jadd(struct jv *v, char *key, struct jparse *j)
{
	struct jv *k = realloc(v->kids, (v->n + 1) * sizeof(*k));
	if (k == NULL)
		return -1;
	v->kids = k;
	memset(&k[v->n], 0, sizeof(*k));
	if (v->type == J_OBJ) {
		char **ks = realloc(v->keys, (v->n + 1) * sizeof(*ks));
		if (ks == NULL)
			return -1;
		v->keys = ks;
		ks[v->n] = key;
	}
	v->n++;
	return jvalue(j, &k[v->n - 1]);
}

static int jvalue(struct jparse *j, struct jv *v)
{
	memset(v, 0, sizeof(*v));
	jskip(j);
	if (j->p >= j->end || ++j->depth > 32)
		return -1;
	if (*j->p == '{' || *j->p == '[') {
		bool obj = *j->p == '{';
		char close = obj ? '}' : ']';
		v->type = obj ? J_OBJ : J_ARR;
		j->p++;
		jskip(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			j->depth--;
			return 0;
		}
		for (;;) {
			char *key = NULL;
			jskip(j);
			if (obj) {
				key = jstring(j);
				if (key == NULL)
					return -1;
				jskip(j);
				if (j->p >= j->end || *j->p != ':') {
					free(key);
					return -1;
				}
				j->p++;
			}
			if (jadd(v, key, j) < 0)
				return -1;
			jskip(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == close) {
				j->p++;
				break;
			}
			return -1;
		}
	} else if (*j->p == '"') {
		v->type = J_STR;
		if ((v->s = jstring(j)) == NULL)
			return -1;
	} else if (j->end - j->p >= 4 && strncmp(j->p, "true", 4) == 0) {
		v->type = J_BOOL, v->b = true, j->p += 4;
	} else if (j->end - j->p >= 5 && strncmp(j->p, "false", 5) == 0) {
		v->type = J_BOOL, j->p += 5;
	} else if (j->end - j->p >= 4 && strncmp(j->p, "null", 4) == 0) {
		v->type = J_NULL, j->p += 4;
	} else {
		const char *s = j->p;
		while (j->p < j->end && strchr("+-0123456789.eE", *j->p) != NULL)
			j->p++;
		if (j->p == s)
			return -1;
		v->type = J_NUM;
		v->s = strndup(s, (size_t)(j->p - s));
		if (v->s == NULL)
			return -1;
	}
	j->depth--;
	return 0;
}

static const struct jv *jget(const struct jv *o, const char *key)
{
	if (o == NULL || o->type != J_OBJ)
		return NULL;
	for (unsigned i = 0; i < o->n; i++)
		if (strcmp(o->keys[i], key) == 0)
			return &o->kids[i];
	return NULL;
}

/* A scalar as text: "-" for null or missing. */
static const char *jtext(const struct jv *v)
{
	if (v == NULL || v->type == J_NULL)
		return "-";
	if (v->type == J_BOOL)
		return v->b ? "yes" : "no";
	if (v->type == J_STR || v->type == J_NUM)
		return v->s;
	return "...";
}

static const char *jfield(const struct jv *o, const char *key) { return jtext(jget(o, key)); }

/* ---- talking to the daemon */

/* Append w to line, quoted when the daemon would split it or read it as a quote. */
static int add_word(char *line, size_t *len, const char *w)
{
	bool quote = *w == '\0' || strpbrk(w, " \t\"\\") != NULL;
	size_t n = *len;

	for (const char *p = w; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			fprintf(stderr, "sluicectl: control character in '%s'\n", w);
			return -1;
		}
	}
	if (n > 0)
		line[n++] = ' ';
	if (quote)
		line[n++] = '"';
	for (const char *p = w; *p != '\0'; p++) {
		if (n + 4 >= REQ_MAX) {
			fprintf(stderr, "sluicectl: request longer than %d bytes\n", REQ_MAX);
			return -1;
		}
		if (quote && (*p == '"' || *p == '\\'))
			line[n++] = '\\';
		line[n++] = *p;
	}
	if (quote)
		line[n++] = '"';
	line[n] = '\0';
	*len = n;
	return 0;
}

/* Send one request, return the reply line (malloc'ed, without '\n') or NULL. */
static char *request(const char *path, const char *line)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = 0, cap = 4096;
	char *buf;
	int fd, send_err = 0;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "sluicectl: socket path too long: %s\n", path);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "sluicectl: %s: %s (is sluice running?)\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	{
		size_t n = strlen(line), off = 0;
		char *msg = malloc(n + 2);
		if (msg == NULL) {
			close(fd);
			return NULL;
		}
		memcpy(msg, line, n);
		msg[n++] = '\n';
		while (off < n) {
			ssize_t w = send(fd, msg + off, n - off, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				/* a refused peer is told why before the close: read that */
				send_err = errno;
				break;
			}
			off += (size_t)w;
		}
		free(msg);
	}
	buf = malloc(cap);
	while (buf != NULL) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;
		char *nl;
		if (poll(&pfd, 1, TIMEOUT_MS) <= 0) {
			fprintf(stderr, "sluicectl: %s: no reply within %d s\n", path, TIMEOUT_MS / 1000);
			break;
		}
		if (len + 1 == cap) {
			char *p = cap >= REPLY_MAX ? NULL : realloc(buf, cap * 2);
			if (p == NULL) {
				fprintf(stderr, "sluicectl: reply too long\n");
				break;
			}
			buf = p;
			cap *= 2;
		}
		r = recv(fd, buf + len, cap - 1 - len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (send_err != 0)
				fprintf(stderr, "sluicectl: %s: send: %s\n", path, strerror(send_err));
			else
				fprintf(stderr, "sluicectl: %s: connection closed without a reply\n", path);
			break;
		}
		len += (size_t)r;
		buf[len] = '\0';
		if ((nl = memchr(buf, '\n', len)) != NULL) {
			*nl = '\0';
			close(fd);
			return buf;
		}
	}
	free(buf);
	close(fd);
	return NULL;
}

/* ---- human output */

static void print_status(const struct jv *r)
{
	printf("sluice is running, pid %s\n", jfield(r, "pid"));
	for (unsigned i = 0; i < r->n; i++) {
		if (strcmp(r->keys[i], "ok") == 0 || strcmp(r->keys[i], "pid") == 0)
			continue;
		printf("  %-22s %s\n", r->keys[i], jtext(&r->kids[i]));
	}
}

static void print_object_lines(const struct jv *o, const char *indent)
{
	for (unsigned i = 0; o != NULL && o->type == J_OBJ && i < o->n; i++) {
		if (strcmp(o->keys[i], "ok") == 0 || o->kids[i].type == J_ARR || o->kids[i].type == J_OBJ)
			continue;
		printf("%s%-22s %s\n", indent, o->keys[i], jtext(&o->kids[i]));
	}
}

/* A number of a "dataplane" object (nested: "tcp_connections", "established"); 0 when missing. */
static unsigned long long dp_num(const struct jv *dp, const char *key, const char *sub)
{
	const struct jv *v = jget(dp, key);

	if (sub != NULL)
		v = jget(v, sub);
	return v != NULL && v->type == J_NUM ? strtoull(v->s, NULL, 10) : 0;
}

/* One row of the dataplane table: the figures an operator looks at first. */
static void print_dp_row(const char *who, const struct jv *dp)
{
	unsigned long long busy = dp_num(dp, "busy_cycles", NULL), idle = dp_num(dp, "idle_cycles", NULL);
	char pct[16], cookies[48];

	/* from the cycles, not busy_percent: one decimal tells a light load from none */
	if (busy + idle > 0)
		snprintf(pct, sizeof(pct), "%.1f", 100.0 * (double)busy / (double)(busy + idle));
	else
		snprintf(pct, sizeof(pct), "-");
	snprintf(cookies, sizeof(cookies), "%llu/%llu", dp_num(dp, "tcp_syncookies_sent", NULL),
		 dp_num(dp, "tcp_syncookies_accepted", NULL));
	printf("%-7s %12llu %12llu %14llu %14llu %9llu %9llu %13s %6llu %6s\n", who,
	       dp_num(dp, "rx_packets", NULL), dp_num(dp, "tx_packets", NULL), dp_num(dp, "rx_bytes", NULL),
	       dp_num(dp, "tx_bytes", NULL), dp_num(dp, "tcp_retransmits", NULL),
	       dp_num(dp, "tcp_fast_retransmits", NULL), cookies,
	       dp_num(dp, "tcp_connections", "established"), pct);
}

/* The non-zero members of a labelled family (drops by reason), on one line. */
static void print_dp_family(const struct jv *dp, const char *key, const char *title)
{
	const struct jv *f = jget(dp, key);
	bool any = false;

	for (unsigned i = 0; f != NULL && f->type == J_OBJ && i < f->n; i++) {
		if (f->kids[i].type != J_NUM || strcmp(f->kids[i].s, "0") == 0)
			continue;
		printf("%s %s %s", any ? "," : title, f->keys[i], f->kids[i].s);
		any = true;
	}
	if (any)
		printf("\n");
}

static void print_dataplane(const struct jv *t, const struct jv *w)
{
	const struct jv *tdp = jget(t, "dataplane");
	bool any = tdp != NULL && tdp->type == J_OBJ;

	for (unsigned i = 0; w != NULL && w->type == J_ARR && i < w->n; i++)
		any = any || jget(&w->kids[i], "dataplane") != NULL;
	if (!any)
		return;
	printf("dataplane:\n");
	printf("%-7s %12s %12s %14s %14s %9s %9s %13s %6s %6s\n", "WORKER", "RX_PKTS", "TX_PKTS", "RX_BYTES",
	       "TX_BYTES", "RETRANS", "FAST_RTX", "COOKIES_S/A", "ESTAB", "BUSY%");
	for (unsigned i = 0; w != NULL && w->type == J_ARR && i < w->n; i++) {
		const struct jv *dp = jget(&w->kids[i], "dataplane");
		if (dp != NULL && dp->type == J_OBJ)
			print_dp_row(jfield(&w->kids[i], "worker"), dp);
	}
	if (tdp != NULL && tdp->type == J_OBJ) {
		print_dp_row("total", tdp);
		printf("  checksum errors %llu\n", dp_num(tdp, "checksum_errors", NULL));
		print_dp_family(tdp, "net_drops", "  net drops:");
		print_dp_family(tdp, "tcp_drops", "  tcp drops:");
		print_dp_family(tdp, "tcp_connections", "  tcp connections:");
	}
}

static void print_stats(const struct jv *r)
{
	const struct jv *t = jget(r, "totals"), *w = jget(r, "workers");

	if (t == NULL || t->type != J_OBJ)
		printf("totals: no transport counters registered\n");
	else {
		printf("totals:\n");
		print_object_lines(t, "  ");
	}
	if (w != NULL && w->type == J_ARR) {
		printf("%-7s %-16s %-16s %-10s %-10s\n", "WORKER", "QUERIES_WAITING", "VERDICTS_WAITING",
		       "SESSIONS", "ACCEPTED");
		for (unsigned i = 0; i < w->n; i++)
			printf("%-7s %-16s %-16s %-10s %-10s\n", jfield(&w->kids[i], "worker"),
			       jfield(&w->kids[i], "queries_waiting"), jfield(&w->kids[i], "verdicts_waiting"),
			       jfield(&w->kids[i], "sessions"), jfield(&w->kids[i], "accepted"));
	}
	print_dataplane(t, w);
	if (jget(r, "store") != NULL && jget(r, "store")->type == J_OBJ) {
		printf("store:\n");
		print_object_lines(jget(r, "store"), "  ");
	}
	if (jget(r, "control") != NULL) {
		printf("control socket:\n");
		print_object_lines(jget(r, "control"), "  ");
	}
}

static void print_entries(const struct jv *r)
{
	const struct jv *e = jget(r, "entries");

	printf("%-6s %-7s %-34s %-8s %-8s %-8s %s\n", "LIST", "KIND", "VALUE", "SOURCE", "TTL", "REDIS", "REASON");
	for (unsigned i = 0; e != NULL && e->type == J_ARR && i < e->n; i++) {
		const struct jv *x = &e->kids[i];
		printf("%-6s %-7s %-34s %-8s %-8s %-8s %s\n", jfield(x, "list"), jfield(x, "kind"), jfield(x, "value"),
		       jfield(x, "source"), jfield(x, "ttl"), jfield(x, "redis"), jfield(x, "reason"));
	}
	if (jget(r, "truncated") != NULL && jget(r, "truncated")->b)
		printf("(cut at the first 1000 of each source: %s runtime, %s config entries)\n",
		       jfield(r, "runtime_entries"), jfield(r, "config_entries"));
}

static void print_limits(const struct jv *r)
{
	const struct jv *l = jget(r, "limits");

	if (l == NULL) { /* set / del */
		const struct jv *x = jget(r, "limit");
		printf("%s limit %s %s %s/%ss burst %s fail %s\n", jfield(r, "result"), jfield(x, "kind"),
		       jfield(x, "key"), jfield(x, "count"), jfield(x, "period_s"), jfield(x, "burst"), jfield(x, "fail"));
		return;
	}
	printf("%-12s %-14s %-8s %-8s %-6s %-6s %-12s %-6s %s\n", "KIND", "KEY", "COUNT", "PERIOD_S", "BURST", "FAIL",
	       "SOURCE", "CODE", "TEXT");
	for (unsigned i = 0; l->type == J_ARR && i < l->n; i++) {
		const struct jv *x = &l->kids[i];
		char src[32];
		if (strcmp(jfield(x, "source"), "runtime") == 0)
			snprintf(src, sizeof(src), "runtime%s", jget(x, "replaces_line") ? "*" : "");
		else
			snprintf(src, sizeof(src), "line %s", jfield(x, "line"));
		printf("%-12s %-14s %-8s %-8s %-6s %-6s %-12s %-6s %s %s\n", jfield(x, "kind"), jfield(x, "key"),
		       jfield(x, "count"), jfield(x, "period_s"), jfield(x, "burst"), jfield(x, "fail"), src,
		       jfield(x, "code"), jfield(x, "status"), jfield(x, "text"));
	}
	printf("(%s set at run time%s)\n", jfield(r, "runtime"),
	       "; runtime* replaces a rule of the file; runtime rules survive reloads, not a restart");
}

static void print_backends(const struct jv *r)
{
	const struct jv *l = jget(r, "backends");

	if (l == NULL) { /* drain / enable */
		printf("backend %s: %s, %s active sessions\n", jfield(r, "backend"),
		       jget(r, "drained") && jget(r, "drained")->b ? "drained" : "enabled", jfield(r, "active"));
		return;
	}
	printf("%-16s %-24s %-6s %-8s %-7s %-7s %-8s\n", "NAME", "ADDRESS", "STATE", "DRAINED", "ACTIVE", "WEIGHT",
	       "PICKED");
	for (unsigned i = 0; l->type == J_ARR && i < l->n; i++) {
		const struct jv *x = &l->kids[i];
		const struct jv *up = jget(x, "up");
		printf("%-16s %-24s %-6s %-8s %-7s %-7s %-8s\n", jfield(x, "name"), jfield(x, "addr"),
		       up != NULL && up->b ? "up" : "down", jfield(x, "drained"), jfield(x, "active"),
		       jfield(x, "weight"), jfield(x, "picked"));
	}
}

/* "12s", "3m04s", "2h05m": an age at a glance. */
static const char *fmt_age(const char *ms_text, char *buf, size_t len)
{
	unsigned long long s = strtoull(ms_text, NULL, 10) / 1000;

	if (s < 60)
		snprintf(buf, len, "%llus", s);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", s / 60, s % 60);
	else
		snprintf(buf, len, "%lluh%02llum", s / 3600, s / 60 % 60);
	return buf;
}

static void print_session_row(const struct jv *x)
{
	char age[32];
	const char *sender = jfield(x, "sender"), *backend = jfield(x, "backend"), *helo = jfield(x, "helo");

	printf("%-16s %-3s %-24s %-8s %-7s %-9s %-5s %-10s %-24s %s\n", jfield(x, "id"), jfield(x, "worker"),
	       jfield(x, "client"), jfield(x, "stage"), fmt_age(jfield(x, "age_ms"), age, sizeof(age)),
	       jfield(x, "bytes"), jfield(x, "messages"), backend[0] ? backend : "-", helo[0] ? helo : "-",
	       sender[0] ? sender : "-");
}

static void print_sessions(const struct jv *r)
{
	const struct jv *l = jget(r, "sessions"), *miss = jget(r, "missing_workers");

	if (l == NULL) { /* kill */
		const struct jv *x = jget(r, "session");
		const char *res = jfield(r, "result");
		printf("session %s from %s: %s\n", jfield(x, "id"), jfield(x, "client"),
		       strcmp(res, "closed") == 0 ? "closed (421 4.3.2)" :
		       strcmp(res, "after_message") == 0 ? "closes once the backend answers its message" :
		       "was closing already");
		return;
	}
	printf("%-16s %-3s %-24s %-8s %-7s %-9s %-5s %-10s %-24s %s\n", "ID", "WRK", "CLIENT", "STAGE", "AGE",
	       "BYTES", "MSGS", "BACKEND", "HELO", "SENDER");
	for (unsigned i = 0; l->type == J_ARR && i < l->n; i++)
		print_session_row(&l->kids[i]);
	printf("(%s shown of %s live)\n", jfield(r, "count"), jfield(r, "total"));
	if (jget(r, "truncated") != NULL && jget(r, "truncated")->b)
		printf("(truncated: at most %s shown; sessions list max N for more)\n", jfield(r, "max"));
	if (miss != NULL && miss->type == J_ARR && miss->n > 0) {
		printf("(no answer from worker");
		for (unsigned i = 0; i < miss->n; i++)
			printf(" %s", jtext(&miss->kids[i]));
		printf(": its sessions are missing)\n");
	}
}

static void print_human(const char *cmd, const char *sub, const struct jv *r)
{
	if (strcmp(cmd, "status") == 0)
		print_status(r);
	else if (strcmp(cmd, "stats") == 0)
		print_stats(r);
	else if (strcmp(cmd, "version") == 0)
		printf("sluice %s (control protocol %s)\n", jfield(r, "version"), jfield(r, "protocol"));
	else if (strcmp(cmd, "metrics") == 0)
		fputs(jfield(r, "text"), stdout);
	else if ((strcmp(cmd, "block") == 0 || strcmp(cmd, "allow") == 0) && strcmp(sub, "list") == 0)
		print_entries(r);
	else if ((strcmp(cmd, "block") == 0 || strcmp(cmd, "allow") == 0) && strcmp(sub, "test") == 0) {
		const char *res = jfield(r, "result");
		if (strcmp(res, "blocked") == 0)
			printf("%s %s: blocked by %s: %s\n", jfield(r, "kind"), jfield(r, "value"), jfield(r, "rule"),
			       jfield(r, "reply"));
		else
			printf("%s %s: %s\n", jfield(r, "kind"), jfield(r, "value"),
			       strcmp(res, "allowed") == 0 ? "allowlisted" : "not listed");
	} else if (strcmp(cmd, "block") == 0 || strcmp(cmd, "allow") == 0) {
		printf("%s %s %s %s", jfield(r, "result"), jfield(r, "list"), jfield(r, "kind"), jfield(r, "value"));
		if (jget(r, "ttl") != NULL)
			printf(" (ttl %s s)", jfield(r, "ttl"));
		if (jget(r, "redis") != NULL)
			printf("; redis: %s", jfield(r, "redis"));
		if (jget(r, "note") != NULL)
			printf(" (%s)", jfield(r, "note"));
		printf("\n");
	} else if (strcmp(cmd, "limits") == 0)
		print_limits(r);
	else if (strcmp(cmd, "backends") == 0)
		print_backends(r);
	else if (strcmp(cmd, "sessions") == 0)
		print_sessions(r);
	else if (strcmp(cmd, "help") == 0) {
		const struct jv *c = jget(r, "commands");
		for (unsigned i = 0; c != NULL && c->type == J_ARR && i < c->n; i++)
			printf("  %s\n", jtext(&c->kids[i]));
	} else if (strcmp(cmd, "reload") == 0)
		printf("reload of %s requested\n", jfield(r, "config"));
	else if (strcmp(cmd, "shutdown") == 0)
		printf("shutdown requested\n");
	else
		print_object_lines(r, "");
}

/* -s, else the config's control path, else the built-in default. */
static int socket_path(const char *sock, const char *config, bool config_given, char *out, size_t len)
{
	char err[512];
	struct cfg *c;

	if (sock != NULL) {
		snprintf(out, len, "%s", sock);
		return 0;
	}
	if (config_given || access(config, R_OK) == 0) {
		c = cfg_load(config, err, sizeof(err));
		if (c == NULL) {
			fprintf(stderr, "sluicectl: %s\n", err);
			return -1;
		}
	} else {
		c = cfg_defaults();
		if (c == NULL)
			return -1;
	}
	snprintf(out, len, "%s", c->control_path);
	cfg_unref(c);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = DEFAULT_CONFIG, *sock = NULL, *cmd, *sub;
	bool json = false, config_given = false;
	char path[CFG_PATH_MAX], line[REQ_MAX], err[512];
	size_t len = 0;
	char *reply;
	struct jv r;
	struct jparse jp;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "+c:s:jh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			config_given = true;
			break;
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	sub = optind + 1 < argc ? argv[optind + 1] : "";
	if (strcmp(cmd, "check") == 0) {
		struct cfg *c = cfg_load(config, err, sizeof(err));
		if (c == NULL) {
			fprintf(stderr, "sluicectl: %s\n", err);
			return 1;
		}
		printf("%s: ok\n", config);
		cfg_unref(c);
		return 0;
	}
	for (int i = optind; i < argc; i++)
		if (add_word(line, &len, argv[i]) < 0)
			return 2;
	if (socket_path(sock, config, config_given, path, sizeof(path)) < 0)
		return 1;
	reply = request(path, line);
	if (reply == NULL)
		return 1;
	jp = (struct jparse){ reply, reply + strlen(reply), 0 };
	if (jvalue(&jp, &r) < 0 || r.type != J_OBJ || jget(&r, "ok") == NULL) {
		fprintf(stderr, "sluicectl: unreadable reply: %.200s\n", reply);
		jfree(&r);
		free(reply);
		return 1;
	}
	rc = jget(&r, "ok")->type == J_BOOL && jget(&r, "ok")->b ? 0 : 1;
	if (json)
		printf("%s\n", reply);
	else if (rc != 0)
		fprintf(stderr, "sluicectl: %s\n", jfield(&r, "error"));
	else
		print_human(cmd, sub, &r);
	jfree(&r);
	free(reply);
	return rc;
}
