/* xclient.h - XCLIENT command encoding (Postfix XCLIENT_README) and xtext (RFC 3461). */
#ifndef XCLIENT_H
#define XCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/sl_addr.h"
#include "util/sl_status.h"

#define XCLIENT_ATTR_NAME    0x01
#define XCLIENT_ATTR_ADDR    0x02
#define XCLIENT_ATTR_PORT    0x04
#define XCLIENT_ATTR_PROTO   0x08
#define XCLIENT_ATTR_HELO    0x10
#define XCLIENT_ATTR_LOGIN   0x20
#define XCLIENT_ATTR_DESTADDR 0x40
#define XCLIENT_ATTR_DESTPORT 0x80

/* The original client, as the backend should see it (XCLIENT or PROXY). */
struct relay_client_info {
	struct sl_addr client;            /**< address and port of the SMTP client */
	struct sl_addr local;             /**< address and port it connected to */
	char           name[SL_DOMAIN_MAX + 1]; /**< verified client name, "" if unknown */
	char           helo[SL_HELO_MAX + 1];   /**< its HELO/EHLO argument, "" if none yet */
	bool           esmtp;             /**< EHLO (true) or HELO */
};

/*
 * xtext_encode - RFC 3461 xtext: "+" "=" and bytes outside 33..126 become
 * "+XX". Returns the encoded length (excluding NUL) or (size_t)-1 when out
 * is too small.
 */
size_t xtext_encode(char *out, size_t outlen, const char *in, size_t inlen);
/* xtext_decode - the reverse; -1 on bad hex. */
size_t xtext_decode(char *out, size_t outlen, const char *in, size_t inlen);

/*
 * xclient_build - the XCLIENT command lines for info, only with attributes
 * the backend offered (attrs, XCLIENT_ATTR_*). ADDR is "IPV6:..." for IPv6;
 * NAME is "[UNAVAILABLE]" when unknown; PROTO is SMTP or ESMTP; HELO is
 * omitted when empty. Each line ends with CR LF and stays within 512 bytes:
 * when the attributes do not fit one line they are split over two commands
 * (the backend answers each with 220). Returns the number of lines (1 or 2)
 * written to lines[0..1], or SL_ERROR if they do not fit the buffers.
 */
int xclient_build(char lines[2][512], size_t lens[2], const struct relay_client_info *info,
		  uint32_t attrs);

#endif
