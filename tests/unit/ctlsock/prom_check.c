/* prom_check.c - checks Prometheus text expositions line by line, as a scraper would read them, plus sluice's own rules. */
#include "prom_check.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PC_NAME_MAX 256
#define PC_LINE_MAX 4096

struct pc_family {
	char name[PC_NAME_MAX];
	bool help, type, counter, samples, closed;
	bool hist;   /* histogram or summary: samples are NAME_bucket, NAME_sum, NAME_count (and NAME{quantile}) */
};

struct pc {
	struct pc_family *fam;
	size_t            nfam, capfam;
	char            **seen;      /* "name{labels sorted}" of every sample */
	size_t            nseen, capseen;
	struct pc_family *cur;       /* the family whose group we are in */
	unsigned          line;
	char             *err;
	size_t            errlen;
};

static int fail(struct pc *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct pc *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->errlen, "line %u: ", p->line);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < p->errlen)
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static bool name_start(int c) { return isalpha(c) || c == '_' || c == ':'; }
static bool name_char(int c) { return isalnum(c) || c == '_' || c == ':'; }

/* A metric name at *s (label names: no colon); its length, 0 when none. */
static size_t scan_name(const char *s, bool colon)
{
	size_t n = 0;

	if (!name_start((unsigned char)s[0]) || (!colon && s[0] == ':'))
		return 0;
	while (name_char((unsigned char)s[n]) && (colon || s[n] != ':'))
		n++;
	return n;
}

static struct pc_family *family(struct pc *p, const char *name, size_t n)
{
	struct pc_family *f;

	for (size_t i = 0; i < p->nfam; i++)
		if (strlen(p->fam[i].name) == n && strncmp(p->fam[i].name, name, n) == 0)
			return &p->fam[i];
	if (n >= PC_NAME_MAX)
		return NULL;
	if (p->nfam == p->capfam) {
		size_t cap = p->capfam ? p->capfam * 2 : 64;
		f = realloc(p->fam, cap * sizeof(*f));
		if (f == NULL)
			return NULL;
		/* cur points into the array: move it with it */
		if (p->cur != NULL)
			p->cur = f + (p->cur - p->fam);
		p->fam = f;
		p->capfam = cap;
	}
	f = &p->fam[p->nfam++];
	memset(f, 0, sizeof(*f));
	memcpy(f->name, name, n);
	return f;
}

/* A histogram's or summary's family for a sample named NAME_bucket,
 * NAME_sum or NAME_count, or NULL. */
static struct pc_family *hist_family(struct pc *p, const char *name, size_t n)
{
	static const char *const sfx[] = { "_bucket", "_sum", "_count" };

	for (unsigned k = 0; k < sizeof(sfx) / sizeof(sfx[0]); k++) {
		size_t l = strlen(sfx[k]);

		if (n <= l || strncmp(name + n - l, sfx[k], l) != 0)
			continue;
		for (size_t i = 0; i < p->nfam; i++)
			if (p->fam[i].hist && strlen(p->fam[i].name) == n - l &&
			    strncmp(p->fam[i].name, name, n - l) == 0)
				return &p->fam[i];
	}
	return NULL;
}

/* Entering family f's group: a group left before cannot start again. */
static int enter(struct pc *p, struct pc_family *f)
{
	if (p->cur == f)
		return 0;
	if (f->closed)
		return fail(p, "family %s continues after another one: its lines must be one group", f->name);
	if (p->cur != NULL)
		p->cur->closed = true;
	p->cur = f;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A float as the format allows it: Go's ParseFloat plus +Inf, -Inf, NaN. */
static bool value_ok(const char *s, size_t n)
{
	char buf[64], *end;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (strcmp(buf, "+Inf") == 0 || strcmp(buf, "-Inf") == 0 || strcmp(buf, "NaN") == 0)
		return true;
	if (!isdigit((unsigned char)buf[0]) && buf[0] != '-' && buf[0] != '+' && buf[0] != '.')
		return false;   /* strtod would take "inf", "0x1p3"...: not in the format */
	if (strpbrk(buf, "xXnNiI") != NULL)
		return false;
	strtod(buf, &end);
	return *end == '\0';
}

#define PC_LABELS_MAX 64

/*
 * The {...} at *qp, up to its '}': each label as "name=value" (value as
 * written, escapes kept) into labels[*nlab...]. The caller frees them,
 * whatever this returns.
 */
static int parse_labels(struct pc *p, const char **qp, char **labels, size_t *nlab)
{
	const char *q = *qp + 1;

	while (*q != '}') {
		char lab[PC_LINE_MAX];
		size_t ln = scan_name(q, false), o;

		if (ln == 0)
			return fail(p, "bad label name");
		if (ln >= 2 && q[0] == '_' && q[1] == '_')
			return fail(p, "label names starting with __ are reserved");
		memcpy(lab, q, ln);
		o = ln;
		q += ln;
		if (q[0] != '=' || q[1] != '"')
			return fail(p, "label %.*s: want =\"", (int)ln, lab);
		lab[o++] = '=';
		q += 2;
		while (*q != '"') {   /* the line is shorter than lab: no bound to check */
			if (*q == '\0')
				return fail(p, "unterminated label value");
			if (*q == '\\') {
				if (q[1] != '\\' && q[1] != '"' && q[1] != 'n')
					return fail(p, "bad escape in a label value");
				lab[o++] = *q++;
			}
			lab[o++] = *q++;
		}
		q++;
		lab[o] = '\0';
		for (size_t i = 0; i < *nlab; i++)
			if (strncmp(labels[i], lab, ln + 1) == 0)
				return fail(p, "label %.*s twice", (int)ln, lab);
		if (*nlab == PC_LABELS_MAX || (labels[*nlab] = strdup(lab)) == NULL)
			return fail(p, "too many labels");
		(*nlab)++;
		if (*q == ',')
			q++;
		else if (*q != '}')
			return fail(p, "want , or } after a label");
	}
	*qp = q + 1;
	return 0;
}

/* Remember name{sorted labels}: a sample written twice is an error. */
static int remember(struct pc *p, const char *name, char **labels, size_t nlab)
{
	char key[PC_LINE_MAX];
	size_t klen;

	qsort(labels, nlab, sizeof(labels[0]), cmp_str);
	klen = (size_t)snprintf(key, sizeof(key), "%s{", name);
	for (size_t i = 0; i < nlab && klen < sizeof(key); i++)
		klen += (size_t)snprintf(key + klen, sizeof(key) - klen, "%s,", labels[i]);
	for (size_t i = 0; i < p->nseen; i++)
		if (strcmp(p->seen[i], key) == 0)
			return fail(p, "sample %s} twice", key);
	if (p->nseen == p->capseen) {
		size_t cap = p->capseen ? p->capseen * 2 : 256;
		char **ns = realloc(p->seen, cap * sizeof(*ns));
		if (ns == NULL)
			return fail(p, "no memory");
		p->seen = ns;
		p->capseen = cap;
	}
	if ((p->seen[p->nseen] = strdup(key)) == NULL)
		return fail(p, "no memory");
	p->nseen++;
	return 0;
}

/* After the labels: a space, the value, an optional timestamp. */
static int value_part(struct pc *p, const char *q)
{
	const char *v;

	if (*q != ' ' && *q != '\t')
		return fail(p, "want a space before the value");
	while (*q == ' ' || *q == '\t')
		q++;
	v = q;
	while (*q != '\0' && *q != ' ' && *q != '\t')
		q++;
	if (!value_ok(v, (size_t)(q - v)))
		return fail(p, "bad value '%.*s'", (int)(q - v), v);
	while (*q == ' ' || *q == '\t')
		q++;
	if (*q != '\0') {   /* a timestamp: an integer of milliseconds */
		const char *t = q + (*q == '-');
		if (!isdigit((unsigned char)*t) || t[strspn(t, "0123456789")] != '\0')
			return fail(p, "bad timestamp '%s'", q);
	}
	return 0;
}

static int sample(struct pc *p, const char *s)
{
	char *labels[PC_LABELS_MAX];
	size_t n = scan_name(s, true), nlab = 0;
	const char *q = s + n;
	struct pc_family *f;
	int rc = 0;

	if (n == 0)
		return fail(p, "bad metric name");
	f = hist_family(p, s, n);
	if (f == NULL)
		f = family(p, s, n);
	if (f == NULL)
		return fail(p, "no memory or name too long");
	if (!f->help || !f->type)
		return fail(p, "sample of %s before its HELP and TYPE", f->name);
	if (enter(p, f) < 0)
		return -1;
	f->samples = true;
	if (*q == '{')
		rc = parse_labels(p, &q, labels, &nlab);
	if (rc == 0)
		rc = value_part(p, q);
	if (rc == 0 && f->hist && n > strlen(f->name) && strncmp(s + strlen(f->name), "_bucket", 7) == 0) {
		bool le = false;
		for (size_t i = 0; i < nlab; i++)
			le = le || strncmp(labels[i], "le=", 3) == 0;
		if (!le)
			rc = fail(p, "bucket of %s without an le label", f->name);
	}
	if (rc == 0) {
		char own[PC_NAME_MAX];
		snprintf(own, sizeof(own), "%.*s", (int)n, s);   /* NAME_sum and NAME_count differ */
		rc = remember(p, own, labels, nlab);
	}
	for (size_t i = 0; i < nlab; i++)
		free(labels[i]);
	return rc;
}

static int comment(struct pc *p, const char *s)
{
	bool help = strncmp(s, "# HELP ", 7) == 0, type = strncmp(s, "# TYPE ", 7) == 0;
	const char *q = s + 7;
	struct pc_family *f;
	size_t n;

	if (!help && !type)
		return 0;   /* any other comment is ignored */
	n = scan_name(q, true);
	if (n == 0 || (q[n] != ' ' && q[n] != '\0'))
		return fail(p, "bad metric name after %.6s", s + 2);
	f = family(p, q, n);
	if (f == NULL)
		return fail(p, "no memory or name too long");
	if (enter(p, f) < 0)
		return -1;
	q += n;
	if (help) {
		if (f->help)
			return fail(p, "second HELP for %s", f->name);
		f->help = true;
		for (; *q != '\0'; q++)
			if (*q == '\\' && q[1] != '\\' && q[1] != 'n')
				return fail(p, "bad escape in HELP of %s", f->name);
			else if (*q == '\\')
				q++;
		return 0;
	}
	if (f->type)
		return fail(p, "second TYPE for %s", f->name);
	if (f->samples)
		return fail(p, "TYPE of %s after its samples", f->name);
	f->type = true;
	if (*q == ' ')
		q++;
	f->hist = strcmp(q, "histogram") == 0 || strcmp(q, "summary") == 0;
	if (strcmp(q, "counter") == 0)
		f->counter = true;
	else if (strcmp(q, "gauge") != 0 && strcmp(q, "untyped") != 0 && strcmp(q, "summary") != 0 &&
		 strcmp(q, "histogram") != 0)
		return fail(p, "unknown type '%s' for %s", q, f->name);
	n = strlen(f->name);
	if (f->counter && (n < 6 || strcmp(f->name + n - 6, "_total") != 0))
		return fail(p, "counter %s: its name should end in _total", f->name);
	return 0;
}

int prom_check(const char *text, char *err, size_t errlen)
{
	struct pc p = { .err = err, .errlen = errlen };
	const char *s = text;
	int rc = 0;

	if (errlen > 0)
		err[0] = '\0';
	while (*s != '\0' && rc == 0) {
		const char *nl = strchr(s, '\n');
		char line[PC_LINE_MAX];
		size_t n;

		p.line++;
		if (nl == NULL) {
			rc = fail(&p, "no newline at the end");
			break;
		}
		n = (size_t)(nl - s);
		if (n >= sizeof(line)) {
			rc = fail(&p, "line too long");
			break;
		}
		memcpy(line, s, n);
		line[n] = '\0';
		s = nl + 1;
		if (strchr(line, '\r') != NULL)
			rc = fail(&p, "carriage return");
		else if (n == 0)
			continue;
		else if (line[0] == '#')
			rc = comment(&p, line);
		else
			rc = sample(&p, line);
	}
	/* a family with HELP and TYPE and no sample (no backends now) is fine */
	for (size_t i = 0; i < p.nseen; i++)
		free(p.seen[i]);
	free(p.seen);
	free(p.fam);
	return rc;
}

int prom_value(const char *text, const char *name, const char *labels, double *out)
{
	char want[PC_LINE_MAX];
	size_t n;
	const char *s;

	n = (size_t)snprintf(want, sizeof(want), labels[0] ? "%s{%s} " : "%s%s ", name, labels);
	if (n >= sizeof(want))
		return -1;
	for (s = text; s != NULL && *s != '\0'; s = strchr(s, '\n'), s = s ? s + 1 : NULL) {
		if (strncmp(s, want, n) == 0) {
			*out = strtod(s + n, NULL);
			return 0;
		}
	}
	return -1;
}
