/* health_check.h - one SMTP health check of a backend as a protocol without I/O:
 * what to send once connected, what the received bytes say, when to say QUIT. */
#ifndef HEALTH_CHECK_H
#define HEALTH_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend_reply.h"
#include "cfg.h"
#include "proxy_proto.h"
#include "util/sl_addr.h"

#define HEALTH_WHY_MAX    64                 /* a result's reason, "greeting 554" */
#define HEALTH_PREFACE_MAX PROXY_V1_MAX      /* the longest PROXY header a check sends */

enum health_check_state {
	HEALTH_CHECK_CONNECTING = 0,  /* no connection yet */
	HEALTH_CHECK_GREETING,        /* connected, waiting for the 220 */
	HEALTH_CHECK_DONE,            /* passed or failed: nothing more to feed */
};

/*
 * A driver (kernel sockets on the control thread, or a DPDK worker's TCP
 * stack) owns the connection and the clock; this owns the SMTP. The
 * sequence: init, connect, connected() -> send the preface it wrote (may
 * be empty), input() with every received chunk until it is not SL_AGAIN,
 * then send health_check_quit if health_check_wants_quit(), and close.
 * eof() and timeout() end a check the peer or the clock gave up on.
 */
struct health_check {
	uint8_t        state;      /**< enum health_check_state */
	uint8_t        proxy;      /**< enum cfg_proxy: the backend wants a PROXY header first */
	bool           greeted;    /**< a whole greeting was parsed (then say QUIT) */
	uint16_t       code;       /**< the greeting's code, 0 before */
	struct sl_addr dst;        /**< the backend checked */
	struct backend_reply_parser parser;
	struct backend_reply reply;
};

extern const char health_check_quit[];       /* "QUIT\r\n" */
#define HEALTH_CHECK_QUIT_LEN 6

void health_check_init(struct health_check *hc, const struct sl_addr *dst, enum cfg_proxy proxy);

/*
 * health_check_connected - the connection is up, from src (our end, for a
 * v1 header). Writes what to send first into buf (len >= HEALTH_PREFACE_MAX):
 * nothing, or a PROXY header. A backend behind the PROXY protocol greets
 * only after it. v2 sends LOCAL, as HAProxy's own checks do; v1 has only
 * UNKNOWN for that, which Postfix 3.7 refuses, so v1 names this very
 * connection: src to the backend. Returns the length, or -1 when no header
 * could be built (the check has then failed: health_check_why).
 */
int health_check_connected(struct health_check *hc, const struct sl_addr *src, uint8_t *buf, size_t len);

/*
 * health_check_input - n received bytes. SL_AGAIN: the greeting is not
 * complete yet. SL_OK: a 2xx greeting, the backend is healthy. SL_DECLINED:
 * the check failed (a 4xx/5xx greeting, garbage, data before connected);
 * why holds the reason for the log. Bytes after the greeting are ignored.
 */
int health_check_input(struct health_check *hc, const uint8_t *p, size_t n, char *why, size_t whylen);

/* The peer closed (or reset) before the greeting: the reason, into why. */
void health_check_eof(struct health_check *hc, char *why, size_t whylen);
/* The driver's clock ran out: "connect timeout" or "greeting timeout". */
void health_check_timeout(struct health_check *hc, char *why, size_t whylen);

/* Whether to send health_check_quit before closing: the backend greeted. */
static inline bool health_check_wants_quit(const struct health_check *hc) { return hc->greeted; }

#endif
