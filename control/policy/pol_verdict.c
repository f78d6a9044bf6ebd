/* pol_verdict.c - building verdicts: accept, reject texts, address forms. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy/pol_priv.h"

void pol_copy(char *dst, size_t len, const char *src)
{
	size_t n;

	if (len == 0)
		return;
	n = strnlen(src, len - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void pol_verdict_accept(struct pol_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->action = POL_ACCEPT;
	v->code = 250;
	pol_copy(v->status, sizeof(v->status), "2.0.0");
}

void pol_verdict_set(struct pol_verdict *v, enum pol_action action, uint16_t code,
		     const char *status, const char *rule)
{
	memset(v, 0, sizeof(*v));
	v->action = (uint8_t)action;
	v->code = code;
	pol_copy(v->status, sizeof(v->status), status);
	pol_copy(v->rule, sizeof(v->rule), rule);
}

void pol_verdict_text(struct pol_verdict *v, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	/* Truncation is fine: the reply stays one valid line. */
	if (vsnprintf(v->text, sizeof(v->text), fmt, ap) < 0)
		v->text[0] = '\0';
	va_end(ap);
	/* Entries and addresses come from outside: never let a CR/LF or other
	 * control byte split the SMTP reply line. */
	for (i = 0; v->text[i] != '\0'; i++)
		if ((unsigned char)v->text[i] < 0x20 || v->text[i] == 0x7f)
			v->text[i] = '?';
}

struct sl_addr pol_addr_canon(const struct sl_addr *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct sl_addr c = *a;

	if (a->family == SL_AF_INET6 && memcmp(a->ip, mapped, sizeof(mapped)) == 0) {
		c.family = SL_AF_INET;
		memmove(c.ip, a->ip + 12, 4);
		memset(c.ip + 4, 0, 12);
	}
	return c;
}
