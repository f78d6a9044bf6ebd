/* health_check.c - the SMTP side of a backend health check (PROXY preface, 220, QUIT), without I/O. */
#include "health_check.h"

#include <stdio.h>
#include <string.h>

#include "util/sl_status.h"

const char health_check_quit[] = "QUIT\r\n";

static void set_why(char *why, size_t whylen, const char *s)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", s);
}

void health_check_init(struct health_check *hc, const struct sl_addr *dst, enum cfg_proxy proxy)
{
	hc->state = HEALTH_CHECK_CONNECTING;
	hc->proxy = (uint8_t)proxy;
	hc->greeted = false;
	hc->code = 0;
	hc->dst = *dst;
	backend_reply_parser_init(&hc->parser);
}

int health_check_connected(struct health_check *hc, const struct sl_addr *src, uint8_t *buf, size_t len)
{
	size_t n = 0;

	hc->state = HEALTH_CHECK_GREETING;
	if (hc->proxy == CFG_PROXY_OFF)
		return 0;
	if (hc->proxy == CFG_PROXY_V2)
		n = proxy_v2_local(buf, len);
	else if (src != NULL && src->family == hc->dst.family)
		n = proxy_v1_build((char *)buf, len, src, &hc->dst);
	if (n == 0) {
		hc->state = HEALTH_CHECK_DONE;
		return -1;
	}
	return (int)n;
}

int health_check_input(struct health_check *hc, const uint8_t *p, size_t n, char *why, size_t whylen)
{
	size_t used = 0;
	int st;

	if (hc->state != HEALTH_CHECK_GREETING) {
		/* a server speaks only once connected; DONE is the driver's slip */
		set_why(why, whylen, hc->state == HEALTH_CHECK_DONE ? "input after the result" : "input before connect");
		hc->state = HEALTH_CHECK_DONE;
		return SL_DECLINED;
	}
	st = backend_reply_parse(&hc->parser, p, n, &used, &hc->reply);
	if (st == SL_AGAIN)
		return SL_AGAIN;
	hc->state = HEALTH_CHECK_DONE;
	if (st != SL_OK) {
		set_why(why, whylen, "malformed greeting");
		return SL_DECLINED;
	}
	/* RFC 5321 3.1: 220 is the greeting; 554 (or a 421) means "not now" */
	hc->greeted = true;
	hc->code = hc->reply.code;
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "greeting %u", hc->code);
	return hc->code / 100 == 2 ? SL_OK : SL_DECLINED;
}

void health_check_eof(struct health_check *hc, char *why, size_t whylen)
{
	set_why(why, whylen, hc->state == HEALTH_CHECK_CONNECTING ? "connect refused" : "closed before the greeting");
	hc->state = HEALTH_CHECK_DONE;
}

void health_check_timeout(struct health_check *hc, char *why, size_t whylen)
{
	set_why(why, whylen, hc->state == HEALTH_CHECK_CONNECTING ? "connect timeout" : "greeting timeout");
	hc->state = HEALTH_CHECK_DONE;
}
