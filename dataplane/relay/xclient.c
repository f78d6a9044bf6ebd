/* xclient.c - xtext (RFC 3461) and the XCLIENT command lines (Postfix XCLIENT_README). */
#include "xclient.h"

#include <stdio.h>
#include <string.h>

#define XCLIENT_LINE_MAX 512
/* A value longer than this once encoded is sent as [UNAVAILABLE]: it keeps
 * every attribute set within two 512-byte commands, and a legitimate name or
 * HELO (at most 255 plain characters) always passes. */
#define XCLIENT_VALUE_MAX 255

static const char hexdigits[] = "0123456789ABCDEF";

size_t xtext_encode(char *out, size_t outlen, const char *in, size_t inlen)
{
	size_t o = 0;

	for (size_t i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];
		bool plain = c >= 33 && c <= 126 && c != '+' && c != '=';
		size_t need = plain ? 1 : 3;

		if (o + need + 1 > outlen)
			return (size_t)-1;
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '+';
			out[o++] = hexdigits[c >> 4];
			out[o++] = hexdigits[c & 0xf];
		}
	}
	if (o + 1 > outlen)
		return (size_t)-1;
	out[o] = '\0';
	return o;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')   /* RFC 3461 says upper case; be lenient reading */
		return c - 'a' + 10;
	return -1;
}

size_t xtext_decode(char *out, size_t outlen, const char *in, size_t inlen)
{
	size_t o = 0;

	for (size_t i = 0; i < inlen; i++) {
		char c = in[i];
		if (o + 2 > outlen)
			return (size_t)-1;
		if (c == '+') {
			if (i + 2 >= inlen)
				return (size_t)-1;
			int h = hexval(in[i + 1]), l = hexval(in[i + 2]);
			if (h < 0 || l < 0)
				return (size_t)-1;
			out[o++] = (char)(h << 4 | l);
			i += 2;
		} else {
			out[o++] = c;
		}
	}
	if (o + 1 > outlen)
		return (size_t)-1;
	out[o] = '\0';
	return o;
}

/* The lines being packed: attributes in order, a second command when the first is full. */
struct xc_pack {
	char   (*lines)[XCLIENT_LINE_MAX];
	size_t *lens;
	int     n;
};

static int pack_attr(struct xc_pack *pk, const char *name, const char *value)
{
	char enc[XCLIENT_VALUE_MAX * 3 + 1];
	size_t el = xtext_encode(enc, sizeof(enc), value, strlen(value));

	if (el == (size_t)-1 || el > XCLIENT_VALUE_MAX)
		el = (size_t)snprintf(enc, sizeof(enc), "[UNAVAILABLE]");
	size_t need = 1 + strlen(name) + 1 + el;   /* " NAME=value" */
	size_t cur = pk->lens[pk->n - 1];
	if (cur + need + 2 > XCLIENT_LINE_MAX) {
		if (pk->n == 2 || cur == strlen("XCLIENT"))
			return SL_ERROR;
		pk->n++;
		pk->lens[1] = (size_t)snprintf(pk->lines[1], XCLIENT_LINE_MAX, "XCLIENT");
		cur = pk->lens[1];
		if (cur + need + 2 > XCLIENT_LINE_MAX)
			return SL_ERROR;
	}
	char *l = pk->lines[pk->n - 1];
	pk->lens[pk->n - 1] += (size_t)snprintf(l + cur, XCLIENT_LINE_MAX - cur, " %s=%s", name, enc);
	return SL_OK;
}

int xclient_build(char lines[2][512], size_t lens[2], const struct relay_client_info *info,
		  uint32_t attrs)
{
	struct xc_pack pk = { lines, lens, 1 };
	char buf[SL_ADDR_STRLEN + 8];
	char host[SL_ADDR_STRLEN];
	int rc = SL_OK;

	lens[0] = (size_t)snprintf(lines[0], XCLIENT_LINE_MAX, "XCLIENT");
	lens[1] = 0;
	lines[1][0] = '\0';

	if (attrs & XCLIENT_ATTR_ADDR) {
		if (info->client.family == SL_AF_INET6)
			snprintf(buf, sizeof(buf), "IPV6:%s",
				 sl_addr_format(&info->client, host, sizeof(host), false));
		else if (info->client.family == SL_AF_INET)
			sl_addr_format(&info->client, buf, sizeof(buf), false);
		else
			snprintf(buf, sizeof(buf), "[UNAVAILABLE]");
		rc |= pack_attr(&pk, "ADDR", buf);
	}
	if (attrs & XCLIENT_ATTR_PORT) {
		if (info->client.family != 0 && info->client.port != 0)
			snprintf(buf, sizeof(buf), "%u", info->client.port);
		else
			snprintf(buf, sizeof(buf), "[UNAVAILABLE]");
		rc |= pack_attr(&pk, "PORT", buf);
	}
	if (attrs & XCLIENT_ATTR_NAME)
		rc |= pack_attr(&pk, "NAME", info->name[0] != '\0' ? info->name : "[UNAVAILABLE]");
	if ((attrs & XCLIENT_ATTR_HELO) && info->helo[0] != '\0')
		rc |= pack_attr(&pk, "HELO", info->helo);
	if (attrs & XCLIENT_ATTR_PROTO)
		rc |= pack_attr(&pk, "PROTO", info->esmtp ? "ESMTP" : "SMTP");
	/* The address the client reached, when we know it (Postfix 3.5 and later). */
	if ((attrs & XCLIENT_ATTR_DESTADDR) && info->local.family != 0) {
		if (info->local.family == SL_AF_INET6)
			snprintf(buf, sizeof(buf), "IPV6:%s",
				 sl_addr_format(&info->local, host, sizeof(host), false));
		else
			sl_addr_format(&info->local, buf, sizeof(buf), false);
		rc |= pack_attr(&pk, "DESTADDR", buf);
	}
	if ((attrs & XCLIENT_ATTR_DESTPORT) && info->local.family != 0 && info->local.port != 0) {
		snprintf(buf, sizeof(buf), "%u", info->local.port);
		rc |= pack_attr(&pk, "DESTPORT", buf);
	}
	if (rc != SL_OK)
		return SL_ERROR;
	for (int i = 0; i < pk.n; i++) {
		lines[i][lens[i]++] = '\r';
		lines[i][lens[i]++] = '\n';
	}
	return pk.n;
}
