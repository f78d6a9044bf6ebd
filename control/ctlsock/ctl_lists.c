/* ctl_lists.c - runtime block/allow entries: validation, TTL expiry, and the
 * merged snapshot (config + runtime) rebuilt on every change. */
#include "ctlsock/ctl_lists.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sl_status.h"

static const char *const kind_names[CFG_LIST_KIND_COUNT] = { "ip", "helo", "sender", "domain", "rcpt" };

int ctl_lists_kind(const char *word)
{
	for (int k = 0; k < CFG_LIST_KIND_COUNT; k++)
		if (strcmp(word, kind_names[k]) == 0)
			return k;
	return -1;
}

static bool valid_address(const char *s)
{
	const char *at = strrchr(s, '@');

	return at != NULL && at != s && at[1] != '\0' && strchr(s, '<') == NULL &&
	       strchr(s, '>') == NULL;
}

/* Letters, digits, '-' and dots between labels; a leading dot means subdomains too. */
static bool valid_domain(const char *s)
{
	size_t label = 0, n = strlen(s);

	if (*s == '.')
		s++, n--;
	if (n == 0 || n > SL_DOMAIN_MAX)
		return false;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)*s) || *s == '-' || *s == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

int ctl_lists_parse_value(enum cfg_list_kind kind, const char *value, struct cfg_list_entry *e,
			  char *err, size_t errlen)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	if (strlen(value) >= sizeof(e->value)) {
		snprintf(err, errlen, "value too long (max %zu bytes)", sizeof(e->value) - 1);
		return SL_DECLINED;
	}
	switch (kind) {
	case CFG_LIST_IP:
		if (sl_prefix_parse(value, &e->prefix) != 0) {
			snprintf(err, errlen, "bad ip value '%.64s': want an address or a CIDR like 203.0.113.0/24 "
				 "(host bits zero)", value);
			return SL_DECLINED;
		}
		/* canonical text, so "2001:db8::0/32" and "2001:db8::/32" are one entry */
		sl_prefix_format(&e->prefix, e->value, sizeof(e->value));
		return SL_OK;
	case CFG_LIST_HELO:
		if (value[0] == '\0' || strlen(value) > SL_HELO_MAX) {
			snprintf(err, errlen, "bad helo value: want a name of 1 to %d bytes", SL_HELO_MAX);
			return SL_DECLINED;
		}
		break;
	case CFG_LIST_SENDER:
		if (strcmp(value, "<>") != 0 && !valid_address(value)) {
			snprintf(err, errlen, "bad sender value '%.64s': want local@domain, or <> for the null sender", value);
			return SL_DECLINED;
		}
		break;
	case CFG_LIST_DOMAIN:
		if (!valid_domain(value)) {
			snprintf(err, errlen, "bad domain value '%.64s': want a domain (.example.net for subdomains)", value);
			return SL_DECLINED;
		}
		break;
	case CFG_LIST_RCPT:
		if (!valid_address(value)) {
			snprintf(err, errlen, "bad rcpt value '%.64s': want local@domain", value);
			return SL_DECLINED;
		}
		break;
	default:
		snprintf(err, errlen, "bad kind");
		return SL_DECLINED;
	}
	for (size_t i = 0; value[i] != '\0'; i++)
		e->value[i] = (char)tolower((unsigned char)value[i]);
	return SL_OK;
}

bool ctl_lists_same(const struct cfg_list_entry *a, const struct cfg_list_entry *b)
{
	if (a->kind != b->kind || a->allow != b->allow)
		return false;
	if (a->kind == CFG_LIST_IP)
		return a->prefix.len == b->prefix.len && sl_addr_equal(&a->prefix.addr, &b->prefix.addr);
	return strcmp(a->value, b->value) == 0;
}

int ctl_lists_add(struct ctl_lists *l, const struct cfg_list_entry *e, uint64_t expires_ms)
{
	for (unsigned i = 0; i < l->n; i++) {
		if (ctl_lists_same(&l->ent[i].e, e)) {
			l->ent[i].e = *e;
			l->ent[i].expires_ms = expires_ms;
			return SL_DONE;
		}
	}
	if (l->n == CTL_LISTS_MAX)
		return SL_ERROR;
	if (l->n == l->cap) {
		unsigned cap = l->cap ? l->cap * 2 : 64;
		struct ctl_list_entry *p = realloc(l->ent, (size_t)cap * sizeof(*p));
		if (p == NULL)
			return SL_ERROR;
		l->ent = p;
		l->cap = cap;
	}
	l->ent[l->n].e = *e;
	l->ent[l->n].expires_ms = expires_ms;
	l->n++;
	return SL_OK;
}

int ctl_lists_del(struct ctl_lists *l, const struct cfg_list_entry *e)
{
	for (unsigned i = 0; i < l->n; i++) {
		if (ctl_lists_same(&l->ent[i].e, e)) {
			memmove(&l->ent[i], &l->ent[i + 1], (l->n - i - 1) * sizeof(*l->ent));
			l->n--;
			return SL_OK;
		}
	}
	return SL_DECLINED;
}

unsigned ctl_lists_expire(struct ctl_lists *l, uint64_t now_ms)
{
	unsigned i, j, gone = 0;

	for (i = j = 0; i < l->n; i++) {
		if (l->ent[i].expires_ms != 0 && l->ent[i].expires_ms <= now_ms) {
			gone++;
			continue;
		}
		if (i != j)
			l->ent[j] = l->ent[i];
		j++;
	}
	l->n = j;
	return gone;
}

unsigned ctl_lists_count(const struct ctl_lists *l, enum cfg_list_kind kind, bool allow)
{
	unsigned n = 0;

	for (unsigned i = 0; i < l->n; i++)
		n += l->ent[i].e.kind == kind && l->ent[i].e.allow == allow;
	return n;
}

struct pol_snapshot *ctl_lists_build(const struct ctl_lists *l, const struct cfg *c)
{
	struct cfg_list_entry *all;
	struct pol_snapshot *s;
	size_t n = c->nlists + (size_t)l->n;

	if (l->n == 0)
		return pol_snapshot_build(c->lists, c->nlists);
	/* pol_snapshot_build wants one array: a copy per change is fine at
	 * operator rates; incremental updates come with the Redis mirror */
	all = malloc(n * sizeof(*all));
	if (all == NULL)
		return NULL;
	if (c->nlists > 0)
		memcpy(all, c->lists, c->nlists * sizeof(*all));
	for (unsigned i = 0; i < l->n; i++)
		all[c->nlists + i] = l->ent[i].e;
	s = pol_snapshot_build(all, (unsigned)n);
	free(all);
	return s;
}

void ctl_lists_free(struct ctl_lists *l)
{
	free(l->ent);
	*l = (struct ctl_lists){ 0 };
}
