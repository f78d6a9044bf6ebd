/* cfg_parse.c - turns the directive lines of sluice.conf into a struct cfg (cfg_load, cfg_parse_string). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg_internal.h"
#include "cfg_lex.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

/* Durations live in uint32_t milliseconds: 49 days is the largest whole
 * number of days that fits, and nobody waits longer than that. */
#define CFG_DURATION_MAX_MS (49ull * 86400 * 1000)
/* Longest path a sockaddr_un can carry (sun_path is 108 bytes with its NUL). */
#define CFG_SUN_PATH_MAX 107
#define CFG_FILE_MAX (16u << 20)

struct parser {
	struct cfg *c;
	const char *name;
	char *err;
	size_t errlen;
	const struct cfg_line *l;      /**< line being handled */
	struct cfg_seen seen;
	bool listen_explicit;           /**< the defaults' listen was dropped */
	int listen_line[CFG_LISTEN_MAX];
	bool in_dpdk;
	int dpdk_line;
	unsigned cap_relay, cap_limits, cap_lists;
};

/* perr - report an error on the current line; always returns SL_ERROR so a
 * handler can "return perr(...)". */
static int perr(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(struct parser *p, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->name == NULL) /* words from the control socket: no file, no line */
		snprintf(p->err, p->errlen, "%s", msg);
	else
		cfg_error(p->err, p->errlen, p->name, p->l->line, "%s", msg);
	return SL_ERROR;
}

static int bad_value(struct parser *p, const char *what, const char *v, const char *expected)
{
	return perr(p, "bad value '%s' for '%s': expected %s", v, what, expected);
}

/* ---- value syntax ---------------------------------------------------- */

/* Decimal digits only: no sign, no spaces, no hex; overflow is an error. */
static int parse_u64(const char *s, const char **end, uint64_t *v)
{
	uint64_t n = 0;
	const char *q = s;

	if (*q < '0' || *q > '9')
		return -1;
	for (; *q >= '0' && *q <= '9'; q++) {
		unsigned d = (unsigned)(*q - '0');
		if (n > (UINT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*v = n;
	if (end != NULL)
		*end = q;
	else if (*q != '\0')
		return -1;
	return 0;
}

static int mul_check(uint64_t a, uint64_t b, uint64_t *r)
{
	if (b != 0 && a > UINT64_MAX / b)
		return -1;
	*r = a * b;
	return 0;
}

/* DURATION: integer + ms|s|m|h|d; a bare number means seconds. */
static int parse_duration(const char *s, uint64_t *ms)
{
	const char *u;
	uint64_t n, mult;

	if (parse_u64(s, &u, &n) < 0)
		return -1;
	if (*u == '\0' || strcmp(u, "s") == 0)
		mult = 1000;
	else if (strcmp(u, "ms") == 0)
		mult = 1;
	else if (strcmp(u, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(u, "h") == 0)
		mult = 3600 * 1000;
	else if (strcmp(u, "d") == 0)
		mult = 86400 * 1000;
	else
		return -1;
	return mul_check(n, mult, ms);
}

/* SIZE: integer with an optional k, m or g (powers of 1024). */
static int parse_size(const char *s, uint64_t *v)
{
	const char *u;
	uint64_t n, mult = 1;

	if (parse_u64(s, &u, &n) < 0)
		return -1;
	if (*u != '\0') {
		if (u[1] != '\0')
			return -1;
		switch (*u) {
		case 'k': case 'K': mult = 1ull << 10; break;
		case 'm': case 'M': mult = 1ull << 20; break;
		case 'g': case 'G': mult = 1ull << 30; break;
		default: return -1;
		}
	}
	return mul_check(n, mult, v);
}

static int get_number(struct parser *p, const char *what, const char *v,
		      uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;

	if (parse_u64(v, NULL, &n) < 0 || n < min || n > max) {
		char exp[96];
		snprintf(exp, sizeof(exp), "a number %" PRIu64 "..%" PRIu64, min, max);
		return bad_value(p, what, v, exp);
	}
	*out = n;
	return SL_OK;
}

static int get_u32(struct parser *p, const char *what, const char *v,
		   uint64_t min, uint64_t max, uint32_t *out)
{
	uint64_t n = 0;

	if (max > UINT32_MAX)
		max = UINT32_MAX;
	if (get_number(p, what, v, min, max, &n) != SL_OK)
		return SL_ERROR;
	*out = (uint32_t)n;
	return SL_OK;
}

static int get_duration(struct parser *p, const char *what, const char *v,
			uint64_t min_ms, uint64_t *out)
{
	uint64_t ms = 0;

	if (parse_duration(v, &ms) < 0 || ms < min_ms || ms > CFG_DURATION_MAX_MS)
		return bad_value(p, what, v, min_ms == 0 ?
				 "a duration 0..49d (e.g. 30s, 5m)" :
				 "a duration 1ms..49d (e.g. 30s, 5m)");
	*out = ms;
	return SL_OK;
}

static int get_duration32(struct parser *p, const char *what, const char *v,
			  uint64_t min_ms, uint32_t *out)
{
	uint64_t ms = 0;

	if (get_duration(p, what, v, min_ms, &ms) != SL_OK)
		return SL_ERROR;
	*out = (uint32_t)ms;
	return SL_OK;
}

/* A keepalive time: whole seconds, 1s..32767s (Linux's TCP_KEEPIDLE and TCP_KEEPINTVL take seconds). */
static int get_keepalive_time(struct parser *p, const char *what, const char *v, uint32_t *out)
{
	uint64_t ms = 0;

	if (parse_duration(v, &ms) < 0 || ms < 1000 || ms > 32767 * 1000ull || ms % 1000 != 0)
		return bad_value(p, what, v, "whole seconds 1s..32767s (e.g. 60s, 2m)");
	*out = (uint32_t)ms;
	return SL_OK;
}

static int get_size(struct parser *p, const char *what, const char *v,
		    uint64_t min, uint64_t *out)
{
	uint64_t n;

	if (parse_size(v, &n) < 0 || n < min)
		return bad_value(p, what, v, min == 0 ? "a size (e.g. 10240000, 10m)" :
				 "a size of at least 1 (e.g. 64k, 10m)");
	*out = n;
	return SL_OK;
}

static int get_bool(struct parser *p, const char *what, const char *v, bool *out)
{
	if (strcmp(v, "on") == 0 || strcmp(v, "yes") == 0)
		*out = true;
	else if (strcmp(v, "off") == 0 || strcmp(v, "no") == 0)
		*out = false;
	else
		return bad_value(p, what, v, "on or off");
	return SL_OK;
}

/* get_enum - v must be one of names[]; the message lists them all. */
static int get_enum(struct parser *p, const char *what, const char *v,
		    const char *const *names, unsigned n, int *out)
{
	char exp[256];
	size_t used = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = (int)i;
			return SL_OK;
		}
	}
	exp[0] = '\0';
	for (i = 0; i < n && used < sizeof(exp); i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
		int k = snprintf(exp + used, sizeof(exp) - used, "%s%s", sep, names[i]);
		if (k < 0)
			break;
		used += (size_t)k;
	}
	return bad_value(p, what, v, exp);
}

static int get_addr_port(struct parser *p, const char *what, const char *v, struct sl_addr *a)
{
	if (sl_addr_parse(v, a, true) < 0 || a->port == 0)
		return bad_value(p, what, v, "ADDR:PORT (e.g. 192.0.2.1:25, [2001:db8::1]:25)");
	return SL_OK;
}

static int get_path(struct parser *p, const char *what, const char *v, size_t max, char *out)
{
	size_t n = strlen(v);

	if (n == 0)
		return bad_value(p, what, v, "a path");
	if (n > max)
		return perr(p, "path for '%s' too long (max %zu bytes)", what, max);
	memcpy(out, v, n + 1);
	return SL_OK;
}

static void lowercase(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* A DNS name in the LDH form (plus '_', seen in the wild), optionally with a
 * leading dot meaning "every subdomain". */
static bool valid_domain(const char *s, bool leading_dot)
{
	size_t label = 0, total;

	if (leading_dot && *s == '.')
		s++;
	total = strlen(s);
	if (total == 0 || total > SL_DOMAIN_MAX)
		return false;
	for (; *s != '\0'; s++) {
		char ch = *s;
		if (ch == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

/* Words after the directive name. */
static unsigned nargs(const struct parser *p)
{
	return p->l->nwords - 1;
}

static const char *arg(const struct parser *p, unsigned i)
{
	return p->l->w[i + 1].s;
}

/*
 * get_prefix_parts - split "ADDR/LEN". With allow_host, host bits may be set
 * (an interface address with its netmask); without it they are an error
 * that names the prefix the operator probably meant.
 */
static int get_prefix(struct parser *p, const char *what, const char *v, bool need_len,
		      bool allow_host, struct sl_prefix *out)
{
	char host[64], buf[SL_ADDR_STRLEN + 8];
	const char *slash = strchr(v, '/');
	size_t n = slash ? (size_t)(slash - v) : strlen(v);
	struct sl_prefix bare;
	struct sl_addr masked;
	uint64_t len;
	unsigned bits;

	if (n == 0 || n >= sizeof(host) || (need_len && slash == NULL))
		goto bad;
	memcpy(host, v, n);
	host[n] = '\0';
	if (sl_prefix_parse(host, &bare) < 0)
		goto bad;
	bits = bare.addr.family == SL_AF_INET ? 32 : 128;
	len = bits;
	if (slash != NULL && (parse_u64(slash + 1, NULL, &len) < 0 || len > bits))
		goto bad;
	masked = sl_addr_mask(&bare.addr, (unsigned)len);
	if (!allow_host && memcmp(masked.ip, bare.addr.ip, sizeof(masked.ip)) != 0) {
		struct sl_prefix want = { .addr = masked, .len = (uint8_t)len };
		return perr(p, "bad value '%s' for '%s': host bits set (did you mean %s?)", v, what,
			    sl_prefix_format(&want, buf, sizeof(buf)));
	}
	out->addr = bare.addr;
	out->len = (uint8_t)len;
	return SL_OK;
bad:
	return bad_value(p, what, v, need_len ? "ADDR/LEN (e.g. 198.18.0.1/24)" :
			 "an address or CIDR (e.g. 203.0.113.0/24, 2001:db8::/32)");
}

/* ---- options: "name value" pairs after the positional words ---------- */

struct opt {
	const char *name;
	unsigned nvalues;       /**< words taken after the name */
	int seen;               /**< index of the first value, 0 if absent */
};

/*
 * get_opts - match words from first on against opts[]. A directive's
 * options may come in any order, each once. On success opts[i].seen is the
 * index (for arg()) of the option's first value, or 0.
 */
static int get_opts(struct parser *p, const char *what, unsigned first, struct opt *opts, unsigned nopts)
{
	unsigned i = first, k;

	for (k = 0; k < nopts; k++)
		opts[k].seen = 0;
	while (i < nargs(p)) {
		const char *w = arg(p, i);
		for (k = 0; k < nopts; k++)
			if (strcmp(w, opts[k].name) == 0)
				break;
		if (k == nopts)
			return perr(p, "unknown option '%s' for '%s'", w, what);
		if (opts[k].seen)
			return perr(p, "option '%s' given twice", w);
		if (i + opts[k].nvalues >= nargs(p))
			return perr(p, "option '%s' needs %s", w, opts[k].nvalues == 1 ? "a value" : "more values");
		opts[k].seen = (int)i + 1;
		i += 1 + opts[k].nvalues;
	}
	return SL_OK;
}

static const char *optv(const struct parser *p, const struct opt *o, unsigned j)
{
	return arg(p, (unsigned)o->seen + j);
}

/* ---- growable arrays ------------------------------------------------- */

static int grow(struct parser *p, void **arr, unsigned *cap, unsigned n, size_t elem,
		unsigned max, const char *what)
{
	void *na;
	unsigned ncap;

	if (n < *cap)
		return SL_OK;
	if (n >= max)
		return perr(p, "too many %s (max %u)", what, max);
	ncap = *cap ? *cap * 2 : 16;
	if (ncap > max)
		ncap = max;
	na = realloc(*arr, (size_t)ncap * elem);
	if (na == NULL)
		return perr(p, "out of memory");
	*arr = na;
	*cap = ncap;
	return SL_OK;
}

/* ---- directive handlers ---------------------------------------------- */

static int d_hostname(struct parser *p)
{
	const char *v = arg(p, 0);

	if (!valid_domain(v, false))
		return bad_value(p, "hostname", v, "a host name");
	snprintf(p->c->hostname, sizeof(p->c->hostname), "%s", v);
	return SL_OK;
}

static int d_listen(struct parser *p)
{
	struct cfg *c = p->c;
	struct sl_addr a;
	unsigned i;

	if (get_addr_port(p, "listen", arg(p, 0), &a) != SL_OK)
		return SL_ERROR;
	if (!p->listen_explicit) {
		c->nlisten = 0;
		p->listen_explicit = true;
	}
	for (i = 0; i < c->nlisten; i++) {
		if (sl_addr_equal(&c->listen[i], &a) && c->listen[i].port == a.port)
			return perr(p, "duplicate listen address '%s' (first on line %d)",
				    arg(p, 0), p->listen_line[i]);
	}
	if (c->nlisten >= CFG_LISTEN_MAX)
		return perr(p, "too many listen addresses (max %d)", CFG_LISTEN_MAX);
	p->listen_line[c->nlisten] = p->l->line;
	c->listen[c->nlisten++] = a;
	return SL_OK;
}

static const char *const transport_names[] = { "kernel", "dpdk" };

static int d_transport(struct parser *p)
{
	int v = 0;

	if (get_enum(p, "transport", arg(p, 0), transport_names, 2, &v) != SL_OK)
		return SL_ERROR;
	p->c->transport = (enum cfg_transport)v;
	return SL_OK;
}

static int d_pid_file(struct parser *p)
{
	return get_path(p, "pid_file", arg(p, 0), sizeof(p->c->pid_file) - 1, p->c->pid_file);
}

static int d_log_level(struct parser *p)
{
	enum sl_log_level lv;

	if (sl_log_level_parse(arg(p, 0), &lv) < 0)
		return bad_value(p, "log_level", arg(p, 0), "error, warning, info or debug");
	p->c->log_level = (int)lv;
	return SL_OK;
}

static int d_dpdk(struct parser *p)
{
	p->in_dpdk = true;
	p->dpdk_line = p->l->line;
	return SL_OK;
}

static int d_eal(struct parser *p)
{
	const char *v = arg(p, 0);

	if (strlen(v) >= sizeof(p->c->dpdk.eal))
		return perr(p, "'eal' too long (max %zu bytes)", sizeof(p->c->dpdk.eal) - 1);
	strcpy(p->c->dpdk.eal, v);
	return SL_OK;
}

static int d_tcp_secret(struct parser *p)
{
	const char *v = arg(p, 0);

	if (strcmp(v, "none") == 0) {
		p->c->dpdk.tcp_secret[0] = '\0';
		return SL_OK;
	}
	if (v[0] != '/')
		return bad_value(p, "tcp_secret", v, "an absolute path or none");
	return get_path(p, "tcp_secret", v, sizeof(p->c->dpdk.tcp_secret) - 1, p->c->dpdk.tcp_secret);
}

static int d_source_ports(struct parser *p)
{
	const char *v = arg(p, 0), *dash = strchr(v, '-');
	char lo_s[8];
	uint64_t lo = 0, hi = 0;

	if (dash == NULL || dash == v || (size_t)(dash - v) >= sizeof(lo_s))
		return bad_value(p, "source_ports", v, "LO-HI, ports 1024..65535");
	memcpy(lo_s, v, (size_t)(dash - v));
	lo_s[dash - v] = '\0';
	if (get_number(p, "source_ports", lo_s, 1024, 65535, &lo) != SL_OK ||
	    get_number(p, "source_ports", dash + 1, 1024, 65535, &hi) != SL_OK)
		return SL_ERROR;
	if (lo > hi)
		return bad_value(p, "source_ports", v, "LO-HI with LO <= HI");
	p->c->dpdk.source_port_lo = (uint16_t)lo;
	p->c->dpdk.source_port_hi = (uint16_t)hi;
	return SL_OK;
}

/*
 * port_ref - `port N` (EAL's number) or `port NAME`: a PCI address, written
 * DDDD:BB:DD.F or BB:DD.F and kept as DPDK names the device (domain in
 * full, lower-case hex), or a vdev's name as given to --vdev.
 */
static int port_ref(struct parser *p, const char *v, struct cfg_dpdk_port *port)
{
	unsigned dom = 0, bus = 0, dev = 0, fn = 0;
	char tail;
	size_t n = strlen(v);
	uint64_t id = 0;

	if (n > 0 && strspn(v, "0123456789") == n) {
		if (get_number(p, "port", v, 0, 255, &id) != SL_OK)
			return SL_ERROR;
		port->id = (unsigned)id;
		return SL_OK;
	}
	if (n == 0 || n >= sizeof(port->name) ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:.-") != n ||
	    !isalnum((unsigned char)v[0]))
		return bad_value(p, "port", v, "a number 0..255, a PCI address or a vdev name");
	/* hex digits, ':' and '.' only: sscanf's %x would take a sign or 0x */
	if (strspn(v, "0123456789abcdefABCDEF:.") == n &&
	    (strchr(v, ':') != strrchr(v, ':')
		     ? sscanf(v, "%4x:%2x:%2x.%1x%c", &dom, &bus, &dev, &fn, &tail) == 4
		     : sscanf(v, "%2x:%2x.%1x%c", &bus, &dev, &fn, &tail) == 3)) {
		if (dev > 0x1f || fn > 7)
			return bad_value(p, "port", v, "a PCI address DDDD:BB:DD.F (device 00..1f, function 0..7)");
		snprintf(port->name, sizeof(port->name), "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	} else {
		memcpy(port->name, v, n + 1);
	}
	return SL_OK;
}

/* The config's words for a port: its name, or its number. */
static const char *port_label(const struct cfg_dpdk_port *port, char *buf, size_t len)
{
	if (port->name[0] != '\0')
		return port->name;
	snprintf(buf, len, "%u", port->id);
	return buf;
}

static int d_port(struct parser *p)
{
	struct cfg_dpdk *d = &p->c->dpdk;
	struct cfg_dpdk_port port;
	struct opt opts[] = { { "address", 1, 0 }, { "gateway", 1, 0 } };
	char lbl[16];
	unsigned i;

	memset(&port, 0, sizeof(port));
	if (port_ref(p, arg(p, 0), &port) != SL_OK)
		return SL_ERROR;
	if (get_opts(p, "port", 1, opts, 2) != SL_OK)
		return SL_ERROR;
	if (!opts[0].seen)
		return perr(p, "'port' needs N|PCI|VDEV address ADDR/LEN [gateway ADDR]");
	if (get_prefix(p, "address", optv(p, &opts[0], 0), true, true, &port.address) != SL_OK)
		return SL_ERROR;
	if (opts[1].seen) {
		const char *g = optv(p, &opts[1], 0);
		struct sl_prefix gp;
		if (sl_prefix_parse(g, &gp) < 0 || strchr(g, '/') != NULL)
			return bad_value(p, "gateway", g, "an address");
		if (gp.addr.family != port.address.addr.family)
			return perr(p, "gateway '%s' is not of the family of address '%s'", g,
				    optv(p, &opts[0], 0));
		port.gateway = gp.addr;
	}
	for (i = 0; i < d->nports; i++)
		if (strcmp(d->ports[i].name, port.name) == 0 && (port.name[0] != '\0' || d->ports[i].id == port.id))
			return perr(p, "duplicate dpdk port %s", port_label(&port, lbl, sizeof(lbl)));
	if (d->nports >= CFG_DPDK_PORT_MAX)
		return perr(p, "too many dpdk ports (max %d)", CFG_DPDK_PORT_MAX);
	d->ports[d->nports++] = port;
	return SL_OK;
}

static int d_route(struct parser *p)
{
	struct cfg_dpdk *d = &p->c->dpdk;
	struct cfg_dpdk_route r;
	struct sl_prefix gp;
	const char *g;
	char a[SL_ADDR_STRLEN + 8];

	memset(&r, 0, sizeof(r));
	if (get_prefix(p, "route", arg(p, 0), true, false, &r.dst) != SL_OK)
		return SL_ERROR;
	if (strcmp(arg(p, 1), "via") != 0)
		return perr(p, "'route' needs PREFIX via ADDR");
	g = arg(p, 2);
	if (sl_prefix_parse(g, &gp) < 0 || strchr(g, '/') != NULL)
		return bad_value(p, "via", g, "an address");
	if (gp.addr.family != r.dst.addr.family)
		return perr(p, "via '%s' is not of the family of route '%s'", g, arg(p, 0));
	r.via = gp.addr;
	for (unsigned i = 0; i < d->nroutes; i++)
		if (d->routes[i].dst.len == r.dst.len && sl_addr_equal(&d->routes[i].dst.addr, &r.dst.addr))
			return perr(p, "duplicate route %s", sl_prefix_format(&r.dst, a, sizeof(a)));
	if (d->nroutes >= CFG_DPDK_ROUTE_MAX)
		return perr(p, "too many routes (max %d)", CFG_DPDK_ROUTE_MAX);
	d->routes[d->nroutes++] = r;
	return SL_OK;
}

static const char *const bare_newline_names[] = { "reject", "normalize" };

static int d_bare_newline(struct parser *p)
{
	int v = 0;

	if (get_enum(p, "bare_newline", arg(p, 0), bare_newline_names, 2, &v) != SL_OK)
		return SL_ERROR;
	p->c->smtp.bare_newline = (enum cfg_bare_newline)v;
	return SL_OK;
}

static int d_relay_domains(struct parser *p)
{
	struct cfg *c = p->c;
	unsigned i, j;

	for (i = 0; i < nargs(p); i++) {
		char d[SL_DOMAIN_MAX + 2];
		const char *v = arg(p, i);

		if (!valid_domain(v, true))
			return bad_value(p, "relay_domains", v, "a domain name (.example.net for subdomains)");
		memset(d, 0, sizeof(d)); /* whole entries compare equal with memcmp */
		snprintf(d, sizeof(d), "%s", v);
		lowercase(d);
		for (j = 0; j < c->nrelay_domains; j++)
			if (strcmp(c->relay_domains[j], d) == 0)
				break;
		if (j < c->nrelay_domains)
			continue; /* listed twice: harmless */
		if (grow(p, (void **)&c->relay_domains, &p->cap_relay, c->nrelay_domains,
			 sizeof(*c->relay_domains), CFG_RELAY_DOMAINS_MAX, "relay domains") != SL_OK)
			return SL_ERROR;
		memcpy(c->relay_domains[c->nrelay_domains++], d, sizeof(d));
	}
	return SL_OK;
}

static bool valid_name(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++) {
		char ch = *s;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
			return false;
	}
	return n > 0 && n < CFG_NAME_MAX;
}

static const char *const xclient_names[] = { "off", "on", "auto" };
static const char *const proxy_names[] = { "off", "v1", "v2" };

static int d_backend(struct parser *p)
{
	struct cfg *c = p->c;
	struct cfg_backend b;
	struct opt opts[] = { { "weight", 1, 0 }, { "max_conns", 1, 0 },
			      { "xclient", 1, 0 }, { "proxy_protocol", 1, 0 } };
	unsigned i;
	int v = 0;

	if (nargs(p) < 2)
		return perr(p, "'backend' needs NAME ADDR:PORT");
	memset(&b, 0, sizeof(b));
	if (!valid_name(arg(p, 0)))
		return bad_value(p, "backend", arg(p, 0), "a name of letters, digits, '-', '_', '.' (max 31)");
	strcpy(b.name, arg(p, 0));
	if (get_addr_port(p, "backend", arg(p, 1), &b.addr) != SL_OK)
		return SL_ERROR;
	b.weight = 1;
	b.xclient = CFG_XCLIENT_AUTO;
	b.proxy = CFG_PROXY_OFF;
	b.line = p->l->line;
	if (get_opts(p, "backend", 2, opts, SL_ARRAY_SIZE(opts)) != SL_OK)
		return SL_ERROR;
	if (opts[0].seen && get_u32(p, "weight", optv(p, &opts[0], 0), 1, 1000, &b.weight) != SL_OK)
		return SL_ERROR;
	if (opts[1].seen && get_u32(p, "max_conns", optv(p, &opts[1], 0), 0, 10000000, &b.max_conns) != SL_OK)
		return SL_ERROR;
	if (opts[2].seen) {
		if (get_enum(p, "xclient", optv(p, &opts[2], 0), xclient_names, 3, &v) != SL_OK)
			return SL_ERROR;
		b.xclient = (enum cfg_xclient)v;
	}
	if (opts[3].seen) {
		if (get_enum(p, "proxy_protocol", optv(p, &opts[3], 0), proxy_names, 3, &v) != SL_OK)
			return SL_ERROR;
		b.proxy = (enum cfg_proxy)v;
	}
	for (i = 0; i < c->nbackends; i++)
		if (strcmp(c->backends[i].name, b.name) == 0)
			return perr(p, "duplicate backend '%s' (first on line %d)", b.name, c->backends[i].line);
	if (c->nbackends >= CFG_BACKEND_MAX)
		return perr(p, "too many backends (max %d)", CFG_BACKEND_MAX);
	c->backends[c->nbackends++] = b;
	return SL_OK;
}

static int d_health_check(struct parser *p)
{
	struct cfg_relay *r = &p->c->relay;
	struct opt opts[] = { { "interval", 1, 0 }, { "timeout", 1, 0 },
			      { "rise", 1, 0 }, { "fall", 1, 0 } };

	if (get_opts(p, "health_check", 0, opts, SL_ARRAY_SIZE(opts)) != SL_OK)
		return SL_ERROR;
	if (opts[0].seen && get_duration32(p, "interval", optv(p, &opts[0], 0), 0, &r->health_interval_ms) != SL_OK)
		return SL_ERROR;
	if (opts[1].seen && get_duration32(p, "timeout", optv(p, &opts[1], 0), 1, &r->health_timeout_ms) != SL_OK)
		return SL_ERROR;
	if (opts[2].seen && get_u32(p, "rise", optv(p, &opts[2], 0), 1, 100, &r->health_rise) != SL_OK)
		return SL_ERROR;
	if (opts[3].seen && get_u32(p, "fall", optv(p, &opts[3], 0), 1, 100, &r->health_fall) != SL_OK)
		return SL_ERROR;
	return SL_OK;
}

/* tcp_keepalive off | [idle D] [interval D] [probes N]: what is not given keeps its default. */
static int d_tcp_keepalive(struct parser *p)
{
	struct cfg *c = p->c;
	struct opt opts[] = { { "idle", 1, 0 }, { "interval", 1, 0 }, { "probes", 1, 0 } };

	if (nargs(p) == 1 && strcmp(arg(p, 0), "off") == 0) {
		c->keepalive_idle_ms = 0;
		return SL_OK;
	}
	if (get_opts(p, "tcp_keepalive", 0, opts, SL_ARRAY_SIZE(opts)) != SL_OK)
		return SL_ERROR;
	c->keepalive_idle_ms = 60 * 1000;
	c->keepalive_intvl_ms = 10 * 1000;
	c->keepalive_probes = 5;
	/* whole seconds from 1 s to Linux's TCP_KEEPIDLE/INTVL bound, so both transports mean the same */
	if (opts[0].seen && get_keepalive_time(p, "idle", optv(p, &opts[0], 0), &c->keepalive_idle_ms) != SL_OK)
		return SL_ERROR;
	if (opts[1].seen && get_keepalive_time(p, "interval", optv(p, &opts[1], 0), &c->keepalive_intvl_ms) != SL_OK)
		return SL_ERROR;
	if (opts[2].seen && get_u32(p, "probes", optv(p, &opts[2], 0), 1, 127, &c->keepalive_probes) != SL_OK)
		return SL_ERROR;
	return SL_OK;
}

/*
 * password_file PATH: the Redis password is the file's first line (a final
 * newline is not part of it), read at every load, so the config file (and
 * sluice -t's output) never holds the secret. A file other users may read
 * is used, with a warning.
 */
static int read_password_file(struct parser *p, const char *path)
{
	struct cfg *c = p->c;
	char buf[CFG_TEXT_MAX + 2];
	struct stat st;
	ssize_t n;
	size_t len;
	int fd;

	if (get_path(p, "password_file", path, sizeof(c->redis_password_file) - 1, c->redis_password_file) != SL_OK)
		return SL_ERROR;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return perr(p, "password_file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return perr(p, "password_file %s: not a regular file", path);
	}
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return perr(p, "password_file %s: %s", path, strerror(errno));
	len = (size_t)n;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len == 0 || len >= sizeof(c->redis_password))
		return perr(p, "password_file %s: want one line of 1 to %zu bytes", path,
			    sizeof(c->redis_password) - 1);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			return perr(p, "password_file %s: control character in the password (one line only)", path);
	memcpy(c->redis_password, buf, len);
	c->redis_password[len] = '\0';
	if (st.st_mode & S_IROTH)
		sl_warn("%s:%d: password_file %s is readable by every user (chmod o-r)", p->name, p->l->line, path);
	return SL_OK;
}

/* policy redis ADDR [password X | password_file PATH] [db N] [timeout D]
 * [connect_timeout D] [lease D] [prefix P] */
static int redis_options(struct parser *p)
{
	struct cfg *c = p->c;
	struct opt opts[] = { { "password", 1, 0 }, { "db", 1, 0 }, { "timeout", 1, 0 },
			      { "connect_timeout", 1, 0 }, { "lease", 1, 0 }, { "prefix", 1, 0 },
			      { "password_file", 1, 0 } };
	const char *v;

	if (get_opts(p, "policy redis", 2, opts, SL_ARRAY_SIZE(opts)) != SL_OK)
		return SL_ERROR;
	if (opts[0].seen && opts[6].seen)
		return perr(p, "'password' and 'password_file' together: give one");
	if (opts[0].seen) {
		v = optv(p, &opts[0], 0);
		if (v[0] == '\0' || strlen(v) >= sizeof(c->redis_password))
			return bad_value(p, "password", v, "1 to 127 bytes");
		memcpy(c->redis_password, v, strlen(v) + 1);
		if (strcmp(v, CFG_SECRET_MASK) == 0)
			sl_warn("%s:%d: the Redis password is \"%s\", what sluice -t prints in its place: "
				"AUTH will fail; write the password, or use password_file PATH",
				p->name, p->l->line, CFG_SECRET_MASK);
	}
	if (opts[6].seen && read_password_file(p, optv(p, &opts[6], 0)) != SL_OK)
		return SL_ERROR;
	if (opts[1].seen && get_u32(p, "db", optv(p, &opts[1], 0), 0, 65535, &c->redis_db) != SL_OK)
		return SL_ERROR;
	/* a verdict must come well before the session's own 15 s verdict wait */
	if (opts[2].seen) {
		if (get_duration32(p, "timeout", optv(p, &opts[2], 0), 1, &c->redis_timeout_ms) != SL_OK)
			return SL_ERROR;
		if (c->redis_timeout_ms > 10000)
			return bad_value(p, "timeout", optv(p, &opts[2], 0), "a duration 1ms..10s");
	}
	if (opts[3].seen) {
		if (get_duration32(p, "connect_timeout", optv(p, &opts[3], 0), 1,
				   &c->redis_connect_timeout_ms) != SL_OK)
			return SL_ERROR;
		if (c->redis_connect_timeout_ms > 60000)
			return bad_value(p, "connect_timeout", optv(p, &opts[3], 0), "a duration 1ms..60s");
	}
	if (opts[4].seen) {
		if (get_duration32(p, "lease", optv(p, &opts[4], 0), 1, &c->redis_lease_ms) != SL_OK)
			return SL_ERROR;
		if (c->redis_lease_ms < 300 || c->redis_lease_ms > 3600000)
			return bad_value(p, "lease", optv(p, &opts[4], 0), "a duration 300ms..1h");
	}
	if (opts[5].seen) {
		/* a brace would become the hash tag of every key: one slot for all */
		v = optv(p, &opts[5], 0);
		if (strlen(v) >= sizeof(c->redis_prefix) || strpbrk(v, "{} \t") != NULL)
			return bad_value(p, "prefix", v, "up to 31 bytes without braces or blanks");
		memcpy(c->redis_prefix, v, strlen(v) + 1);
	}
	return SL_OK;
}

static int d_policy(struct parser *p)
{
	struct cfg *c = p->c;
	const char *v = arg(p, 0);
	bool has_port;

	if (strcmp(v, "embedded") == 0) {
		if (nargs(p) != 1)
			return perr(p, "'policy embedded' takes no more values");
		c->policy_store = CFG_POLICY_EMBEDDED;
		return SL_OK;
	}
	if (strcmp(v, "redis") != 0)
		return bad_value(p, "policy", v, "embedded or redis");
	if (nargs(p) < 2)
		return perr(p, "'policy redis' needs HOST:PORT or unix:/PATH");
	v = arg(p, 1);
	c->policy_store = CFG_POLICY_REDIS;
	if (strncmp(v, "unix:", 5) == 0) {
		if (v[5] != '/')
			return bad_value(p, "policy redis", v, "unix:/PATH with an absolute path");
		if (get_path(p, "policy redis", v + 5, CFG_SUN_PATH_MAX, c->redis_path) != SL_OK)
			return SL_ERROR;
		return redis_options(p);
	}
	if (v[0] == '[')
		has_port = strstr(v, "]:") != NULL;
	else
		has_port = strchr(v, ':') != NULL && strchr(v, ':') == strrchr(v, ':');
	if (sl_addr_parse(v, &c->redis_addr, false) < 0 || (has_port && c->redis_addr.port == 0))
		return bad_value(p, "policy redis", v, "IP:PORT (e.g. 127.0.0.1:6379) or unix:/PATH");
	if (c->redis_addr.port == 0)
		c->redis_addr.port = 6379; /* Redis' own default */
	return redis_options(p);
}

/* Which keys make sense for which kind: a connection has no sender yet, and
 * a byte count belongs to a message, not to one of its recipients. */
static bool limit_key_allowed(enum cfg_limit_kind k, enum cfg_limit_key key)
{
	switch (k) {
	case CFG_LIMIT_CONN_RATE:
	case CFG_LIMIT_CONCURRENCY:
		return key == CFG_KEY_IP || key == CFG_KEY_NET;
	case CFG_LIMIT_MSG_RATE:
	case CFG_LIMIT_BYTE_RATE:
		return key != CFG_KEY_RCPT;
	case CFG_LIMIT_RCPT_RATE:
		return true;
	default:
		return false;
	}
}

static int parse_rate(struct parser *p, struct cfg_limit *lim, const char *v)
{
	static const struct { const char *name; uint64_t ms; } units[] = {
		{ "second", 1000 }, { "s", 1000 }, { "minute", 60000 }, { "m", 60000 },
		{ "hour", 3600000 }, { "h", 3600000 }, { "day", 86400000 }, { "d", 86400000 },
	};
	const char *slash = strchr(v, '/');
	char count[64];
	size_t n;
	unsigned i;

	if (slash == NULL || (n = (size_t)(slash - v)) == 0 || n >= sizeof(count))
		goto bad;
	memcpy(count, v, n);
	count[n] = '\0';
	if (lim->kind == CFG_LIMIT_BYTE_RATE) {
		if (parse_size(count, &lim->count) < 0)
			goto bad;
	} else if (parse_u64(count, NULL, &lim->count) < 0) {
		goto bad;
	}
	if (lim->count == 0)
		goto bad;
	for (i = 0; i < SL_ARRAY_SIZE(units); i++) {
		if (strcmp(slash + 1, units[i].name) == 0) {
			lim->period_ms = units[i].ms;
			return SL_OK;
		}
	}
	if (parse_duration(slash + 1, &lim->period_ms) < 0 || lim->period_ms == 0 ||
	    lim->period_ms > CFG_DURATION_MAX_MS)
		goto bad;
	return SL_OK;
bad:
	return bad_value(p, cfg_limit_kind_name(lim->kind), v,
			 lim->kind == CFG_LIMIT_BYTE_RATE ? "SIZE/PERIOD like 50m/hour or 1g/1d" :
			 "COUNT/PERIOD like 100/hour or 100/10m (period up to 49d)");
}

/* An enhanced status code of the class of the reply code: 4.7.1 for 450. */
static bool valid_status(const char *s, unsigned code)
{
	unsigned part = 0, digits = 0;

	if (s[0] != (char)('0' + code / 100) || s[1] != '.')
		return false;
	for (s += 2; ; s++) {
		if (*s >= '0' && *s <= '9') {
			if (++digits > 3)
				return false;
		} else if (*s == '.' || *s == '\0') {
			if (digits == 0)
				return false;
			digits = 0;
			if (*s == '\0' || ++part > 1)
				break;
		} else {
			return false;
		}
	}
	return *s == '\0' && part == 1;
}

static int get_reply(struct parser *p, struct cfg_limit *lim, const struct opt *o)
{
	const char *code = optv(p, o, 0), *status = optv(p, o, 1), *text = optv(p, o, 2);
	uint64_t n;

	if (parse_u64(code, NULL, &n) < 0 || n < 400 || n > 499 || strlen(code) != 3)
		return bad_value(p, "reply", code, "a 4xx code (rate limits never give 5xx)");
	lim->code = (uint16_t)n;
	if (strlen(status) >= sizeof(lim->status) || !valid_status(status, lim->code))
		return bad_value(p, "reply", status, "an enhanced status like 4.7.1 of the class of the code");
	strcpy(lim->status, status);
	if (text[0] == '\0')
		return bad_value(p, "reply", text, "a text");
	if (strlen(text) >= sizeof(lim->text))
		return perr(p, "reply text too long (max %zu bytes)", sizeof(lim->text) - 1);
	strcpy(lim->text, text);
	return SL_OK;
}

/* The words of a `limit` line into *out (the array is the caller's). */
static int parse_limit(struct parser *p, struct cfg_limit *out)
{
	static const char *const kinds[] = { "conn_rate", "msg_rate", "rcpt_rate", "byte_rate", "concurrency" };
	static const char *const keys[] = { "ip", "net", "helo", "sender", "sender_domain", "rcpt" };
	struct cfg_limit lim;
	struct opt opts[] = { { "burst", 1, 0 }, { "fail", 1, 0 }, { "prefix4", 1, 0 },
			      { "prefix6", 1, 0 }, { "reply", 3, 0 } };
	static const char *const fail_names[] = { "open", "closed" };
	const char *kind_name;
	int v = 0;

	if (nargs(p) < 3)
		return perr(p, "'limit' needs KIND KEY RATE (or: limit concurrency KEY N)");
	memset(&lim, 0, sizeof(lim));
	lim.line = p->l->line;
	if (get_enum(p, "limit", arg(p, 0), kinds, CFG_LIMIT_KIND_COUNT, &v) != SL_OK)
		return SL_ERROR;
	lim.kind = (enum cfg_limit_kind)v;
	kind_name = kinds[v];
	if (get_enum(p, kind_name, arg(p, 1), keys, CFG_KEY_COUNT, &v) != SL_OK)
		return SL_ERROR;
	lim.key = (enum cfg_limit_key)v;
	if (!limit_key_allowed(lim.kind, lim.key))
		return perr(p, "key '%s' is not allowed for '%s'%s", keys[v], kind_name,
			    lim.kind == CFG_LIMIT_CONN_RATE || lim.kind == CFG_LIMIT_CONCURRENCY ?
			    " (only ip or net)" : " (any but rcpt)");
	if (lim.kind == CFG_LIMIT_CONCURRENCY) {
		if (get_number(p, kind_name, arg(p, 2), 1, 1000000, &lim.count) != SL_OK)
			return SL_ERROR;
		lim.period_ms = 0;
		lim.code = 421;
		strcpy(lim.status, "4.7.0");
		strcpy(lim.text, "Error: too many connections from your address, try again later");
		/* no burst for a count of sessions */
		if (get_opts(p, "limit concurrency", 3, opts + 1, SL_ARRAY_SIZE(opts) - 1) != SL_OK)
			return SL_ERROR;
		opts[0].seen = 0;
	} else {
		if (parse_rate(p, &lim, arg(p, 2)) != SL_OK)
			return SL_ERROR;
		if (lim.kind == CFG_LIMIT_CONN_RATE) {
			lim.code = 421;
			strcpy(lim.status, "4.7.0");
			strcpy(lim.text, "Error: too many connections from your address, try again later");
		} else {
			lim.code = 450;
			strcpy(lim.status, "4.7.1");
			strcpy(lim.text, "Error: rate limit exceeded, try again later");
		}
		if (get_opts(p, "limit", 3, opts, SL_ARRAY_SIZE(opts)) != SL_OK)
			return SL_ERROR;
	}
	lim.burst = lim.count;
	lim.net4_prefix = 24;
	lim.net6_prefix = 64;
	if (opts[0].seen) {
		const char *b = optv(p, &opts[0], 0);
		if (lim.kind == CFG_LIMIT_BYTE_RATE) {
			if (get_size(p, "burst", b, 1, &lim.burst) != SL_OK)
				return SL_ERROR;
		} else if (get_number(p, "burst", b, 1, UINT64_MAX, &lim.burst) != SL_OK) {
			return SL_ERROR;
		}
	}
	if (opts[1].seen) {
		if (get_enum(p, "fail", optv(p, &opts[1], 0), fail_names, 2, &v) != SL_OK)
			return SL_ERROR;
		lim.fail_closed = v == 1;
	}
	if ((opts[2].seen || opts[3].seen) && lim.key != CFG_KEY_NET)
		return perr(p, "'%s' only applies to key 'net'", opts[2].seen ? "prefix4" : "prefix6");
	if (opts[2].seen) {
		uint64_t n = 0;
		if (get_number(p, "prefix4", optv(p, &opts[2], 0), 1, 32, &n) != SL_OK)
			return SL_ERROR;
		lim.net4_prefix = (uint8_t)n;
	}
	if (opts[3].seen) {
		uint64_t n = 0;
		if (get_number(p, "prefix6", optv(p, &opts[3], 0), 1, 128, &n) != SL_OK)
			return SL_ERROR;
		lim.net6_prefix = (uint8_t)n;
	}
	if (opts[4].seen && get_reply(p, &lim, &opts[4]) != SL_OK)
		return SL_ERROR;
	*out = lim;
	return SL_OK;
}

static int d_limit(struct parser *p)
{
	struct cfg *c = p->c;
	struct cfg_limit lim;

	if (parse_limit(p, &lim) != SL_OK)
		return SL_ERROR;
	if (grow(p, (void **)&c->limits, &p->cap_limits, c->nlimits, sizeof(*c->limits),
		 CFG_LIMITS_MAX, "limits") != SL_OK)
		return SL_ERROR;
	c->limits[c->nlimits++] = lim;
	return SL_OK;
}

int cfg_limit_parse(const char *const *words, const bool *quoted, unsigned n, struct cfg_limit *out,
		    char *err, size_t errlen)
{
	struct cfg_line *l = malloc(sizeof(*l));
	struct parser p;
	size_t used = 0;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return SL_DECLINED;
	}
	if (n + 1 > CFG_LEX_WORDS_MAX) {
		free(l);
		snprintf(err, errlen, "too many words");
		return SL_DECLINED;
	}
	/* a line as the lexer would have made it: "limit" and the words */
	l->line = 0;
	l->open_block = l->close_block = false;
	l->nwords = n + 1;
	l->w[0] = (struct cfg_word){ "limit", false };
	for (unsigned i = 0; i < n; i++) {
		size_t len = strlen(words[i]);
		if (used + len + 1 > sizeof(l->buf)) {
			free(l);
			snprintf(err, errlen, "words too long");
			return SL_DECLINED;
		}
		memcpy(l->buf + used, words[i], len + 1);
		l->w[i + 1] = (struct cfg_word){ l->buf + used, quoted != NULL && quoted[i] };
		used += len + 1;
	}
	memset(&p, 0, sizeof(p));
	p.l = l;
	p.err = err;
	p.errlen = errlen;
	rc = parse_limit(&p, out);
	free(l);
	return rc == SL_OK ? SL_OK : SL_DECLINED;
}

static bool valid_address(const char *s)
{
	const char *at = strrchr(s, '@');

	return at != NULL && at != s && at[1] != '\0' && strchr(s, '<') == NULL &&
	       strchr(s, '>') == NULL;
}

/* One value of a blocklist or allowlist, checked for its kind. */
static int list_value(struct parser *p, const char *what, struct cfg_list_entry *e, const char *v)
{
	if (strlen(v) >= sizeof(e->value))
		return perr(p, "value for '%s' too long (max %zu bytes)", what, sizeof(e->value) - 1);
	strcpy(e->value, v);
	switch (e->kind) {
	case CFG_LIST_IP:
		/* kept as written: the prefix is what the policy code matches */
		return get_prefix(p, what, v, false, false, &e->prefix);
	case CFG_LIST_HELO:
		if (strlen(v) > SL_HELO_MAX)
			return bad_value(p, what, v, "a HELO name (max 255 bytes)");
		break;
	case CFG_LIST_SENDER:
		if (strcmp(v, "<>") != 0 && !valid_address(v))
			return bad_value(p, what, v, "an address local@domain, or <> for the null sender");
		break;
	case CFG_LIST_DOMAIN:
		if (!valid_domain(v, true))
			return bad_value(p, what, v, "a domain name (.example.net for subdomains)");
		break;
	case CFG_LIST_RCPT:
		if (!valid_address(v))
			return bad_value(p, what, v, "an address local@domain");
		break;
	default:
		break;
	}
	lowercase(e->value);
	return SL_OK;
}

static int d_list(struct parser *p, bool allow)
{
	static const char *const kinds[] = { "ip", "helo", "sender", "domain", "rcpt" };
	const char *dname = allow ? "allowlist" : "blocklist";
	struct cfg *c = p->c;
	struct cfg_list_entry e;
	char what[32];
	const char *reason = "";
	unsigned i, nvalues;
	int v = 0;

	if (nargs(p) < 2)
		return perr(p, "'%s' needs KIND VALUE... [reason \"TEXT\"]", dname);
	if (get_enum(p, dname, arg(p, 0), kinds, CFG_LIST_KIND_COUNT, &v) != SL_OK)
		return SL_ERROR;
	nvalues = nargs(p) - 1;
	/* "reason" is a keyword only where it can be one: before the last word,
	 * after at least one value, and not quoted (so "reason" can be listed) */
	if (nvalues >= 3 && !p->l->w[nargs(p) - 1].quoted && strcmp(arg(p, nargs(p) - 2), "reason") == 0) {
		reason = arg(p, nargs(p) - 1);
		nvalues -= 2;
		if (strlen(reason) >= sizeof(e.reason))
			return perr(p, "reason too long (max %zu bytes)", sizeof(e.reason) - 1);
	}
	snprintf(what, sizeof(what), "%s %s", dname, kinds[v]);
	for (i = 0; i < nvalues; i++) {
		memset(&e, 0, sizeof(e));
		e.kind = (enum cfg_list_kind)v;
		e.allow = allow;
		e.line = p->l->line;
		strcpy(e.reason, reason);
		if (list_value(p, what, &e, arg(p, 1 + i)) != SL_OK)
			return SL_ERROR;
		if (grow(p, (void **)&c->lists, &p->cap_lists, c->nlists, sizeof(*c->lists),
			 CFG_LISTS_MAX, "list entries") != SL_OK)
			return SL_ERROR;
		c->lists[c->nlists++] = e;
	}
	return SL_OK;
}

static int d_blocklist(struct parser *p) { return d_list(p, false); }
static int d_allowlist(struct parser *p) { return d_list(p, true); }

static int d_tls(struct parser *p)
{
	struct opt opts[] = { { "cert", 1, 0 }, { "key", 1, 0 } };

	if (get_opts(p, "tls", 0, opts, 2) != SL_OK)
		return SL_ERROR;
	if (!opts[0].seen || !opts[1].seen)
		return perr(p, "'tls' needs cert PATH key PATH");
	if (get_path(p, "cert", optv(p, &opts[0], 0), CFG_PATH_MAX - 1, p->c->tls_cert) != SL_OK ||
	    get_path(p, "key", optv(p, &opts[1], 0), CFG_PATH_MAX - 1, p->c->tls_key) != SL_OK)
		return SL_ERROR;
	return SL_OK;
}

/*
 * A user or group, by name or number. Names are looked up now (an unknown
 * one is an error naming the line, as nginx's `user`), and kept so that
 * sluice -t prints what the file said. Numbers need no entry in the
 * passwd or group file.
 */
static int get_peer_id(struct parser *p, const char *what, const char *v, bool group,
		       struct cfg_peer_id *out)
{
	char buf[16384];
	uint64_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (parse_u64(v, NULL, &n) == 0) {
		if (n >= CFG_ID_NONE)
			return bad_value(p, what, v, group ? "a group name or gid" : "a user name or uid");
		out->id = (uint32_t)n;
		return SL_OK;
	}
	if (!valid_name(v) || v[0] == '-')
		return bad_value(p, what, v, group ? "a group name or gid" : "a user name or uid");
	if (group) {
		struct group gr, *res = NULL;
		rc = getgrnam_r(v, &gr, buf, sizeof(buf), &res);
		if (res == NULL)
			return perr(p, "no group '%s' for '%s'%s%s", v, what, rc ? ": " : "", rc ? strerror(rc) : "");
		out->id = (uint32_t)gr.gr_gid;
	} else {
		struct passwd pw, *res = NULL;
		rc = getpwnam_r(v, &pw, buf, sizeof(buf), &res);
		if (res == NULL)
			return perr(p, "no user '%s' for '%s'%s%s", v, what, rc ? ": " : "", rc ? strerror(rc) : "");
		out->id = (uint32_t)pw.pw_uid;
	}
	snprintf(out->name, sizeof(out->name), "%s", v);
	return SL_OK;
}

/* control_allow [uid U...] [gid G...]: repeatable; the lists add up. */
static int d_control_allow(struct parser *p)
{
	struct cfg *c = p->c;
	int mode = -1;          /* 0 uid, 1 gid */
	unsigned values = 0;    /* since the last uid/gid word */

	for (unsigned i = 0; i < nargs(p); i++) {
		const char *w = arg(p, i);
		struct cfg_peer_id id, *list;
		unsigned *n;

		if (!p->l->w[i + 1].quoted && (strcmp(w, "uid") == 0 || strcmp(w, "gid") == 0)) {
			if (mode >= 0 && values == 0)
				return perr(p, "'%s' needs at least one value", mode ? "gid" : "uid");
			mode = w[0] == 'g';
			values = 0;
			continue;
		}
		if (mode < 0)
			return perr(p, "'control_allow' needs uid or gid before '%s' (control_allow uid 0 1000 gid adm)", w);
		if (get_peer_id(p, mode ? "gid" : "uid", w, mode == 1, &id) != SL_OK)
			return SL_ERROR;
		list = mode ? c->allow_gids : c->allow_uids;
		n = mode ? &c->nallow_gids : &c->nallow_uids;
		for (unsigned k = 0; k < *n; k++)
			if (list[k].id == id.id)
				return perr(p, "%s %s is already allowed", mode ? "gid" : "uid", w);
		if (*n >= CFG_PEERS_MAX)
			return perr(p, "too many %ss in control_allow (max %d)", mode ? "gid" : "uid", CFG_PEERS_MAX);
		list[(*n)++] = id;
		values++;
	}
	if (values == 0)
		return perr(p, "'%s' needs at least one value", mode ? "gid" : "uid");
	return SL_OK;
}

static int d_control(struct parser *p)
{
	struct opt opts[] = { { "mode", 1, 0 }, { "owner", 1, 0 }, { "group", 1, 0 } };

	if (get_path(p, "control", arg(p, 0), CFG_SUN_PATH_MAX, p->c->control_path) != SL_OK)
		return SL_ERROR;
	if (get_opts(p, "control", 1, opts, SL_ARRAY_SIZE(opts)) != SL_OK)
		return SL_ERROR;
	if (opts[1].seen && get_peer_id(p, "owner", optv(p, &opts[1], 0), false, &p->c->control_owner) != SL_OK)
		return SL_ERROR;
	if (opts[2].seen && get_peer_id(p, "group", optv(p, &opts[2], 0), true, &p->c->control_group) != SL_OK)
		return SL_ERROR;
	if (opts[0].seen) {
		const char *m = optv(p, &opts[0], 0);
		char *end;
		unsigned long mode;
		size_t len = strlen(m);
		if (len == 0 || len > 4 || strspn(m, "01234567") != len)
			return bad_value(p, "mode", m, "an octal mode like 0660");
		mode = strtoul(m, &end, 8);
		if (mode > 0777)
			return bad_value(p, "mode", m, "an octal mode like 0660");
		p->c->control_mode = (uint32_t)mode;
	}
	return SL_OK;
}

static int d_metrics(struct parser *p)
{
	return get_addr_port(p, "metrics", arg(p, 0), &p->c->metrics_addr);
}

/* ---- the directive table --------------------------------------------- */

enum val_type { V_FN = 0, V_U32, V_DURATION, V_SIZE, V_BOOL };

struct directive {
	const char   *name;
	int           id;          /**< enum cfg_dir, or -1 when repeatable */
	enum val_type type;
	size_t        off;         /**< V_U32..V_BOOL: field in struct cfg */
	uint64_t      min, max;
	unsigned      min_args;
	int           max_args;    /**< -1: no bound */
	const char   *usage;
	int         (*fn)(struct parser *p);
	bool          block;
};

#define OFF(f) offsetof(struct cfg, f)
#define NUM(n, i, f, lo, hi) { n, i, V_U32, OFF(f), lo, hi, 1, 1, "N", NULL, false }
#define DUR(n, i, f, lo)     { n, i, V_DURATION, OFF(f), lo, 0, 1, 1, "DURATION", NULL, false }
#define BOOL(n, i, f)        { n, i, V_BOOL, OFF(f), 0, 0, 1, 1, "on|off", NULL, false }
#define FN(n, i, lo, hi, u, fn) { n, i, V_FN, 0, 0, 0, lo, hi, u, fn, false }

static const struct directive top_directives[] = {
	FN("hostname", CFG_D_HOSTNAME, 1, 1, "NAME", d_hostname),
	FN("listen", -1, 1, 1, "ADDR:PORT", d_listen),
	FN("transport", CFG_D_TRANSPORT, 1, 1, "kernel|dpdk", d_transport),
	NUM("workers", CFG_D_WORKERS, workers, 0, 1024),
	NUM("max_sessions", CFG_D_MAX_SESSIONS, max_sessions, 1, 10000000),
	DUR("shutdown_grace", CFG_D_SHUTDOWN_GRACE, shutdown_grace_ms, 0),
	FN("tcp_keepalive", CFG_D_TCP_KEEPALIVE, 1, 6, "off | [idle D] [interval D] [probes N]", d_tcp_keepalive),
	FN("pid_file", CFG_D_PID_FILE, 1, 1, "PATH", d_pid_file),
	FN("log_level", CFG_D_LOG_LEVEL, 1, 1, "error|warning|info|debug", d_log_level),
	{ "dpdk", CFG_D_DPDK, V_FN, 0, 0, 0, 0, 0, "{ ... }", d_dpdk, true },
	DUR("greet_pause", CFG_D_GREET_PAUSE, smtp.greet_pause_ms, 0),
	NUM("command_line_limit", CFG_D_COMMAND_LINE_LIMIT, smtp.command_line_limit, 512, 65536),
	NUM("text_line_limit", CFG_D_TEXT_LINE_LIMIT, smtp.text_line_limit, 1000, 1048576),
	{ "message_size_limit", CFG_D_MESSAGE_SIZE_LIMIT, V_SIZE, OFF(smtp.message_size_limit), 0, 0,
	  1, 1, "SIZE", NULL, false },
	NUM("recipient_limit", CFG_D_RECIPIENT_LIMIT, smtp.recipient_limit, 100, 1000000),
	NUM("hard_error_limit", CFG_D_HARD_ERROR_LIMIT, smtp.hard_error_limit, 1, 1000000),
	NUM("junk_command_limit", CFG_D_JUNK_COMMAND_LIMIT, smtp.junk_command_limit, 1, 1000000),
	DUR("command_timeout", CFG_D_COMMAND_TIMEOUT, smtp.command_timeout_ms, 1),
	DUR("stress_command_timeout", CFG_D_STRESS_COMMAND_TIMEOUT, smtp.stress_command_timeout_ms, 1),
	NUM("stress_sessions", CFG_D_STRESS_SESSIONS, smtp.stress_sessions, 0, 10000000),
	DUR("data_timeout", CFG_D_DATA_TIMEOUT, smtp.data_timeout_ms, 1),
	NUM("min_data_rate", CFG_D_MIN_DATA_RATE, smtp.min_data_rate, 0, UINT32_MAX),
	FN("bare_newline", CFG_D_BARE_NEWLINE, 1, 1, "reject|normalize", d_bare_newline),
	BOOL("smtputf8", CFG_D_SMTPUTF8, smtp.smtputf8),
	BOOL("pipelining_enforce", CFG_D_PIPELINING_ENFORCE, smtp.pipelining_enforce),
	FN("relay_domains", -1, 1, -1, "DOMAIN...", d_relay_domains),
	FN("backend", -1, 2, -1, "NAME ADDR:PORT", d_backend),
	DUR("backend_connect_timeout", CFG_D_BACKEND_CONNECT_TIMEOUT, relay.connect_timeout_ms, 1),
	DUR("backend_reply_timeout", CFG_D_BACKEND_REPLY_TIMEOUT, relay.reply_timeout_ms, 1),
	DUR("backend_data_timeout", CFG_D_BACKEND_DATA_TIMEOUT, relay.data_done_timeout_ms, 1),
	NUM("backend_retries", CFG_D_BACKEND_RETRIES, relay.connect_retries, 0, CFG_BACKEND_MAX),
	FN("health_check", CFG_D_HEALTH_CHECK, 0, -1, "[interval D] [timeout D] [rise N] [fall N]", d_health_check),
	FN("policy", CFG_D_POLICY, 1, 16, "embedded | redis HOST:PORT|unix:/PATH [password X|password_file PATH] [db N] [timeout D] [connect_timeout D] [lease D] [prefix P]", d_policy),
	DUR("lists_resync", CFG_D_LISTS_RESYNC, lists_resync_ms, 1000),
	FN("limit", -1, 3, -1, "KIND KEY RATE [options]", d_limit),
	FN("blocklist", -1, 2, -1, "KIND VALUE... [reason \"TEXT\"]", d_blocklist),
	FN("allowlist", -1, 2, -1, "KIND VALUE... [reason \"TEXT\"]", d_allowlist),
	FN("tls", CFG_D_TLS, 4, 4, "cert PATH key PATH", d_tls),
	FN("control", CFG_D_CONTROL, 1, 7, "PATH [mode OCTAL] [owner USER] [group GROUP]", d_control),
	FN("control_allow", -1, 2, -1, "[uid USER...] [gid GROUP...]", d_control_allow),
	FN("metrics", CFG_D_METRICS, 1, 1, "ADDR:PORT", d_metrics),
	{ NULL, 0, V_FN, 0, 0, 0, 0, 0, NULL, NULL, false }
};

static const struct directive dpdk_directives[] = {
	FN("eal", CFG_D_EAL, 1, 1, "\"STRING\"", d_eal),
	FN("port", -1, 3, 5, "N|PCI|VDEV address ADDR/LEN [gateway ADDR]", d_port),
	FN("route", -1, 3, 3, "PREFIX via ADDR", d_route),
	NUM("mbufs", CFG_D_MBUFS, dpdk.mbufs, 1024, 16777215),
	FN("tcp_secret", CFG_D_TCP_SECRET, 1, 1, "PATH|none", d_tcp_secret),
	FN("source_ports", CFG_D_SOURCE_PORTS, 1, 1, "LO-HI", d_source_ports),
	NUM("time_wait_max", CFG_D_TIME_WAIT_MAX, dpdk.time_wait_max, 64, 16777216),
	{ NULL, 0, V_FN, 0, 0, 0, 0, 0, NULL, NULL, false }
};

static const struct directive *lookup(const struct directive *t, const char *name)
{
	for (; t->name != NULL; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

static int run_directive(struct parser *p, const struct directive *d)
{
	void *field = (char *)p->c + d->off;
	const char *v;
	uint64_t n = 0;

	if (nargs(p) < d->min_args)
		return perr(p, "'%s' needs %s", d->name, d->usage);
	if (d->max_args >= 0 && nargs(p) > (unsigned)d->max_args)
		return perr(p, "too many values for '%s' (usage: %s %s)", d->name, d->name, d->usage);
	if (d->id >= 0) {
		if (p->seen.line[d->id] != 0)
			return perr(p, "'%s' already set on line %d", d->name, p->seen.line[d->id]);
		p->seen.line[d->id] = p->l->line;
	}
	v = nargs(p) > 0 ? arg(p, 0) : NULL;
	switch (d->type) {
	case V_FN:
		return d->fn(p);
	case V_U32:
		return get_u32(p, d->name, v, d->min, d->max, field);
	case V_DURATION:
		return get_duration32(p, d->name, v, d->min, field);
	case V_SIZE:
		if (get_size(p, d->name, v, d->min, &n) != SL_OK)
			return SL_ERROR;
		*(uint64_t *)field = n;
		return SL_OK;
	case V_BOOL:
		return get_bool(p, d->name, v, field);
	}
	return SL_ERROR;
}

static int parse_line(struct parser *p)
{
	const struct cfg_line *l = p->l;
	const struct directive *d;
	const char *name = l->w[0].s;

	if (l->close_block) {
		if (!p->in_dpdk)
			return perr(p, "unbalanced braces: '}' without an open block");
		p->in_dpdk = false;
		return SL_OK;
	}
	d = lookup(p->in_dpdk ? dpdk_directives : top_directives, name);
	if (d == NULL) {
		if (p->in_dpdk)
			return perr(p, "unknown directive '%s' in the dpdk block", name);
		if (lookup(dpdk_directives, name) != NULL)
			return perr(p, "directive '%s' belongs in the dpdk block", name);
		return perr(p, "unknown directive '%s'", name);
	}
	if (l->open_block && !d->block)
		return perr(p, "'%s' does not take a block", name);
	if (!l->open_block && d->block)
		return perr(p, "'%s' needs a block: %s {", name, name);
	return run_directive(p, d);
}

struct cfg *cfg_parse_string(const char *name, const char *text, size_t len, char *err, size_t errlen)
{
	struct parser p;
	struct cfg_lex lx;
	struct cfg_line *l = NULL;
	struct cfg *c;
	int r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (name == NULL)
		name = "(string)";
	c = calloc(1, sizeof(*c));
	l = malloc(sizeof(*l));
	if (c == NULL || l == NULL) {
		cfg_error(err, errlen, name, 0, "out of memory");
		goto fail;
	}
	cfg_init_defaults(c);
	snprintf(c->file, sizeof(c->file), "%s", name);
	memset(&p, 0, sizeof(p));
	p.c = c;
	p.name = name;
	p.err = err;
	p.errlen = errlen;
	p.l = l;
	cfg_lex_init(&lx, name, text, len);
	for (;;) {
		r = cfg_lex_next(&lx, l, err, errlen);
		if (r == SL_DONE)
			break;
		if (r != SL_OK)
			goto fail;
		if (parse_line(&p) != SL_OK)
			goto fail;
	}
	if (p.in_dpdk) {
		cfg_error(err, errlen, name, p.dpdk_line, "unbalanced braces: block 'dpdk' is not closed");
		goto fail;
	}
	if (cfg_check(c, &p.seen, err, errlen) != SL_OK)
		goto fail;
	free(l);
	return c;
fail:
	free(l);
	cfg_free(c);
	return NULL;
}

struct cfg *cfg_load(const char *file, char *err, size_t errlen)
{
	struct cfg *c = NULL;
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cfg_error(err, errlen, file, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		cfg_error(err, errlen, file, 0, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_error(err, errlen, file, 0, "not a regular file");
		goto out;
	}
	if (st.st_size > CFG_FILE_MAX) {
		cfg_error(err, errlen, file, 0, "file too large (max %u bytes)", CFG_FILE_MAX);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		cfg_error(err, errlen, file, 0, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cfg_error(err, errlen, file, 0, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break; /* shrank under us: parse what is there */
		got += (size_t)n;
	}
	c = cfg_parse_string(file, buf, got, err, errlen);
out:
	free(buf);
	close(fd);
	return c;
}
