/* relay_client.h - the backend leg's SMTP client, sans-IO: greeting, EHLO,
 * XCLIENT or PROXY, then commands and their replies, pipelined when offered. */
#ifndef RELAY_CLIENT_H
#define RELAY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend_reply.h"
#include "cfg.h"
#include "xclient.h"

enum relay_client_state {
	RC_IDLE = 0,        /* not connected yet */
	RC_GREETING,        /* waiting for 220 */
	RC_EHLO,            /* EHLO sent */
	RC_HELO,            /* EHLO refused, HELO sent */
	RC_XCLIENT,         /* XCLIENT sent, waiting for its 220 */
	RC_EHLO2,           /* EHLO after XCLIENT */
	RC_READY,           /* transactions may run */
	RC_QUIT,            /* QUIT sent */
	RC_FAILED,          /* no more use: the caller closes the leg */
};

enum relay_fail {
	RELAY_FAIL_NONE = 0,
	RELAY_FAIL_GREETING,   /* no 220 (4xx/5xx greeting) */
	RELAY_FAIL_HANDSHAKE,  /* EHLO/HELO/XCLIENT refused */
	RELAY_FAIL_NO_XCLIENT, /* xclient on, backend does not offer it */
	RELAY_FAIL_PROTOCOL,   /* malformed or unsolicited reply */
	RELAY_FAIL_421,        /* backend said 421 at any point */
	RELAY_FAIL_OVERFLOW,   /* command queue full */
};

struct relay_client_ops {
	/* Bytes for the backend (commands, PROXY header). */
	void (*send)(void *arg, const void *p, size_t n);
	/* The handshake is over: commands may be sent. */
	void (*ready)(void *arg);
	/* The reply to a command queued with relay_client_command(tag) or
	 * announced with relay_client_expect(tag), in order. */
	void (*reply)(void *arg, uint32_t tag, const struct backend_reply *r);
	/* The leg is unusable; r is the backend's reply when there was one.
	 * Commands still waiting get no reply callback. */
	void (*failed)(void *arg, enum relay_fail why, const struct backend_reply *r);
};

struct relay_client_params {
	const char          *helo_name;   /**< our hostname for EHLO */
	enum cfg_xclient     xclient;
	enum cfg_proxy       proxy;
	struct relay_client_info info;
};

#define RELAY_CLIENT_QUEUE 32    /* commands in flight or waiting (>= SMTP_SLOTS + handshake) */

struct relay_client_cmd {
	uint32_t tag;
	uint16_t len;                /**< 0 for an expect() entry: nothing to send */
	char     line[SL_PATH_MAX * 2 + 64];
};

struct relay_client {
	enum relay_client_state state;
	struct relay_client_params params;
	const struct relay_client_ops *ops;
	void *arg;
	struct backend_reply_parser parser;
	struct backend_reply reply;      /**< scratch for the reply being delivered */
	struct backend_caps caps;
	/* FIFO of commands: [head, sent) sent and awaiting replies, [sent, tail) not sent yet */
	struct relay_client_cmd queue[RELAY_CLIENT_QUEUE];
	uint32_t head, sent, tail;
	char     xclient_lines[2][512];
	size_t   xclient_lens[2];
	int      xclient_n, xclient_i;
};

void relay_client_init(struct relay_client *rc, const struct relay_client_params *p,
		       const struct relay_client_ops *ops, void *arg);
/* The transport connected: send the PROXY header if configured, await 220. */
void relay_client_connected(struct relay_client *rc);
/* Backend bytes. Returns SL_OK, or SL_ERROR after calling ops->failed. */
int relay_client_input(struct relay_client *rc, const uint8_t *p, size_t n);
/*
 * relay_client_command - queue one command line (ending in CR LF). It is
 * sent at once when nothing is outstanding or the backend offers
 * PIPELINING, else when the replies before it are in. Returns SL_OK or
 * SL_AGAIN when the queue is full.
 */
int relay_client_command(struct relay_client *rc, uint32_t tag, const char *line, size_t len);
/* The caller sent bytes itself (a DATA body) that the backend will answer once. */
int relay_client_expect(struct relay_client *rc, uint32_t tag);
/* Replies still awaited. */
static inline uint32_t relay_client_outstanding(const struct relay_client *rc)
{
	return rc->tail - rc->head;
}
/* Send QUIT (no reply callback); state RC_QUIT. */
void relay_client_quit(struct relay_client *rc);

#endif
