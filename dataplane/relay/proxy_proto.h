/* proxy_proto.h - PROXY protocol v1 and v2 headers (HAProxy's proxy-protocol.txt). */
#ifndef PROXY_PROTO_H
#define PROXY_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "util/sl_addr.h"

#define PROXY_V1_MAX 108   /* the spec's worst case */
#define PROXY_V2_MAX 52    /* 16 header + 36 for TCP over IPv6 */

/* "PROXY TCP4 src dst sport dport\r\n"; returns the length, 0 if it does not fit
 * or the families differ (then "PROXY UNKNOWN\r\n" is written and its length returned). */
size_t proxy_v1_build(char *buf, size_t len, const struct sl_addr *src, const struct sl_addr *dst);
/* Binary v2 header, PROXY command, STREAM over INET/INET6. Returns the length or 0. */
size_t proxy_v2_build(uint8_t *buf, size_t len, const struct sl_addr *src, const struct sl_addr *dst);

/* The v2 header for a connection of our own (a health check): command
 * LOCAL, no addresses. Returns the length (16) or 0. */
size_t proxy_v2_local(uint8_t *buf, size_t len);

#endif
