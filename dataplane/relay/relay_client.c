/* relay_client.c - the backend leg's SMTP client state machine (sans-IO). */
#include "relay_client.h"

#include <stdio.h>
#include <string.h>

#include "proxy_proto.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

#define RC_SLOT(i) ((i) & (RELAY_CLIENT_QUEUE - 1))
_Static_assert((RELAY_CLIENT_QUEUE & (RELAY_CLIENT_QUEUE - 1)) == 0, "queue size must be a power of two");

/* The XCLIENT attributes we know how to fill in (LOGIN needs AUTH, which we do not relay). */
#define RC_XCLIENT_ATTRS (XCLIENT_ATTR_NAME | XCLIENT_ATTR_ADDR | XCLIENT_ATTR_PORT | \
			  XCLIENT_ATTR_PROTO | XCLIENT_ATTR_HELO | XCLIENT_ATTR_DESTADDR | \
			  XCLIENT_ATTR_DESTPORT)

/*
 * What one relay_client_input() call may be answering. A reply is only
 * taken as the answer to a command that was sent before the bytes carrying
 * it were handed to us: the server cannot answer what it has not seen, so
 * bytes after a greeting (or any reply) in the same read, answering what we
 * send only now, are a server pipelining violation, not replies.
 */
struct rc_input_ctx {
	uint32_t sent_before;   /**< rc->sent when the bytes arrived */
	bool     hs_fresh;      /**< the awaited handshake reply predates these bytes */
};

static const char *const rc_state_names[] = {
	[RC_IDLE] = "idle", [RC_GREETING] = "greeting", [RC_EHLO] = "ehlo",
	[RC_HELO] = "helo", [RC_XCLIENT] = "xclient", [RC_EHLO2] = "ehlo2",
	[RC_READY] = "ready", [RC_QUIT] = "quit", [RC_FAILED] = "failed",
};

/* Every state change goes through here, so a debug log shows the handshake. */
static void rc_enter_state(struct relay_client *rc, enum relay_client_state s)
{
	sl_debug("relay client %p: %s -> %s", (void *)rc, rc_state_names[rc->state], rc_state_names[s]);
	rc->state = s;
}

/* The last thing done on rc: the owner may free it inside ops->failed. */
static int rc_fail(struct relay_client *rc, enum relay_fail why, const struct backend_reply *r)
{
	rc_enter_state(rc, RC_FAILED);
	rc->head = rc->sent = rc->tail;
	rc->ops->failed(rc->arg, why, r);
	return SL_ERROR;
}

void relay_client_init(struct relay_client *rc, const struct relay_client_params *p,
		       const struct relay_client_ops *ops, void *arg)
{
	rc->state = RC_IDLE;
	rc->params = *p;
	rc->ops = ops;
	rc->arg = arg;
	backend_reply_parser_init(&rc->parser);
	memset(&rc->caps, 0, sizeof(rc->caps));
	rc->head = rc->sent = rc->tail = 0;
	rc->xclient_n = rc->xclient_i = 0;
	rc->xclient_lens[0] = rc->xclient_lens[1] = 0;
}

void relay_client_connected(struct relay_client *rc)
{
	if (rc->state != RC_IDLE)
		return;
	if (rc->params.proxy == CFG_PROXY_V1) {
		char h[PROXY_V1_MAX + 1];
		size_t n = proxy_v1_build(h, sizeof(h), &rc->params.info.client, &rc->params.info.local);
		if (n > 0)
			rc->ops->send(rc->arg, h, n);
	} else if (rc->params.proxy == CFG_PROXY_V2) {
		uint8_t h[PROXY_V2_MAX];
		size_t n = proxy_v2_build(h, sizeof(h), &rc->params.info.client, &rc->params.info.local);
		if (n > 0)
			rc->ops->send(rc->arg, h, n);
	}
	rc_enter_state(rc, RC_GREETING);
}

static void rc_send_helo(struct relay_client *rc, struct rc_input_ctx *ctx, bool ehlo)
{
	char line[SL_DOMAIN_MAX + 16];
	const char *name = rc->params.helo_name != NULL && rc->params.helo_name[0] != '\0' ?
			   rc->params.helo_name : "localhost";
	int n;

	/* After XCLIENT the backend takes the next HELO/EHLO as the client's own
	 * (Postfix XCLIENT_README): say what the client said, the way it said it. */
	if (rc->state == RC_EHLO2 && rc->params.info.helo[0] != '\0') {
		name = rc->params.info.helo;
		ehlo = rc->params.info.esmtp;
	}
	n = snprintf(line, sizeof(line), "%s %.*s\r\n", ehlo ? "EHLO" : "HELO", SL_DOMAIN_MAX, name);

	ctx->hs_fresh = false;
	rc->ops->send(rc->arg, line, (size_t)n);
}

/* Send what the queue may send now: everything with PIPELINING, else one at a time. */
static void rc_flush(struct relay_client *rc)
{
	while (rc->state == RC_READY && rc->sent != rc->tail) {
		struct relay_client_cmd *c = &rc->queue[RC_SLOT(rc->sent)];
		/* an expect() entry was already written by the caller */
		if (c->len > 0 && rc->sent != rc->head && !rc->caps.pipelining)
			break;
		rc->sent++;
		if (c->len > 0)
			rc->ops->send(rc->arg, c->line, c->len);
	}
}

static void rc_enter_ready(struct relay_client *rc)
{
	rc_enter_state(rc, RC_READY);
	rc->ops->ready(rc->arg);
	rc_flush(rc);
}

/* After EHLO (or HELO): XCLIENT if wanted and offered, else the handshake is over. */
static int rc_after_ehlo(struct relay_client *rc, struct rc_input_ctx *ctx, const struct backend_reply *r)
{
	bool xclient_done = rc->xclient_n > 0;
	uint32_t attrs = rc->caps.xclient ? rc->caps.xclient_attrs & RC_XCLIENT_ATTRS : 0;

	if (xclient_done || rc->params.xclient == CFG_XCLIENT_OFF) {
		rc_enter_ready(rc);
		return SL_OK;
	}
	if (attrs == 0) {
		if (rc->params.xclient == CFG_XCLIENT_ON)
			return rc_fail(rc, RELAY_FAIL_NO_XCLIENT, r);
		rc_enter_ready(rc);
		return SL_OK;
	}
	int n = xclient_build(rc->xclient_lines, rc->xclient_lens, &rc->params.info, attrs);
	if (n < 1)
		return rc_fail(rc, RELAY_FAIL_HANDSHAKE, NULL);
	rc->xclient_n = n;
	rc->xclient_i = 0;
	rc_enter_state(rc, RC_XCLIENT);
	ctx->hs_fresh = false;
	rc->ops->send(rc->arg, rc->xclient_lines[0], rc->xclient_lens[0]);
	return SL_OK;
}

/* A reply during the handshake: greeting, EHLO/HELO, XCLIENT. */
static int rc_handshake_reply(struct relay_client *rc, struct rc_input_ctx *ctx, const struct backend_reply *r)
{
	unsigned cls = r->code / 100;

	switch (rc->state) {
	case RC_GREETING:
		if (r->code != 220)
			return rc_fail(rc, RELAY_FAIL_GREETING, r);
		rc_enter_state(rc, RC_EHLO);
		rc_send_helo(rc, ctx, true);
		return SL_OK;
	case RC_EHLO:
	case RC_EHLO2:
		if (cls == 2 && r->code == 250) {
			backend_caps_parse(r, &rc->caps);
			return rc_after_ehlo(rc, ctx, r);
		}
		if (cls == 5) {
			/* an SMTP-only server: no extensions, hence no XCLIENT */
			rc_enter_state(rc, RC_HELO);
			rc_send_helo(rc, ctx, false);
			return SL_OK;
		}
		return rc_fail(rc, RELAY_FAIL_HANDSHAKE, r);
	case RC_HELO:
		if (r->code != 250)
			return rc_fail(rc, RELAY_FAIL_HANDSHAKE, r);
		memset(&rc->caps, 0, sizeof(rc->caps));
		return rc_after_ehlo(rc, ctx, r);
	case RC_XCLIENT:
		/* Postfix answers XCLIENT with a new 220 greeting; others (smtp-sink)
		 * with 250. Either way the session restarts: EHLO again. */
		if (r->code / 100 != 2)
			return rc_fail(rc, RELAY_FAIL_HANDSHAKE, r);
		/* XCLIENT restarts the session: each command is answered with a new greeting */
		if (++rc->xclient_i < rc->xclient_n) {
			ctx->hs_fresh = false;
			rc->ops->send(rc->arg, rc->xclient_lines[rc->xclient_i],
				      rc->xclient_lens[rc->xclient_i]);
			return SL_OK;
		}
		rc_enter_state(rc, RC_EHLO2);
		rc_send_helo(rc, ctx, true);
		return SL_OK;
	default:
		return rc_fail(rc, RELAY_FAIL_PROTOCOL, r);
	}
}

/* A reply in RC_READY: the answer to the oldest command sent. */
static int rc_command_reply(struct relay_client *rc, struct rc_input_ctx *ctx, const struct backend_reply *r)
{
	/* Pop before the callback: it may queue (and so send) more commands. */
	uint32_t tag = rc->queue[RC_SLOT(rc->head)].tag;
	rc->head++;
	rc->ops->reply(rc->arg, tag, r);
	rc_flush(rc);
	return SL_OK;
}

/* May bytes arriving now be (part of) a reply to something we sent? */
static bool rc_expecting(const struct relay_client *rc, const struct rc_input_ctx *ctx)
{
	switch (rc->state) {
	case RC_GREETING:
	case RC_EHLO:
	case RC_HELO:
	case RC_XCLIENT:
	case RC_EHLO2:
		return ctx->hs_fresh;
	case RC_READY:
		/* not if the handshake ended in this read, nor past what was sent before it */
		return ctx->hs_fresh && (int32_t)(ctx->sent_before - rc->head) > 0;
	default:
		return false;
	}
}

int relay_client_input(struct relay_client *rc, const uint8_t *p, size_t n)
{
	struct rc_input_ctx ctx = { .sent_before = rc->sent, .hs_fresh = true };
	size_t off = 0;

	if (rc->state == RC_QUIT)
		return SL_OK;   /* the 221 and anything else: the leg is closing */
	if (rc->state == RC_FAILED)
		return SL_ERROR;
	if (rc->state == RC_IDLE)
		return n > 0 ? rc_fail(rc, RELAY_FAIL_PROTOCOL, NULL) : SL_OK;

	while (off < n) {
		size_t used = 0;
		int st = backend_reply_parse(&rc->parser, p + off, n - off, &used, &rc->reply);

		off += used;
		if (st == SL_AGAIN) {
			/* even a partial line may not come early */
			if (used > 0 && !rc_expecting(rc, &ctx))
				return rc_fail(rc, RELAY_FAIL_PROTOCOL, NULL);
			break;
		}
		if (st != SL_OK)
			return rc_fail(rc, RELAY_FAIL_PROTOCOL, NULL);
		/* 421 means the server is going away, whatever we were waiting for */
		if (rc->reply.code == 421 && rc->state != RC_QUIT)
			return rc_fail(rc, RELAY_FAIL_421, &rc->reply);
		if (!rc_expecting(rc, &ctx))
			return rc_fail(rc, RELAY_FAIL_PROTOCOL, &rc->reply);
		switch (rc->state) {
		case RC_GREETING:
		case RC_EHLO:
		case RC_HELO:
		case RC_XCLIENT:
		case RC_EHLO2:
			st = rc_handshake_reply(rc, &ctx, &rc->reply);
			break;
		case RC_READY:
			st = rc_command_reply(rc, &ctx, &rc->reply);
			break;
		case RC_QUIT:
			return SL_OK;   /* quit() from a callback: ignore the rest */
		default:
			return SL_ERROR;
		}
		if (st != SL_OK)
			return SL_ERROR;   /* rc may be gone: failed() was called */
	}
	return SL_OK;
}

int relay_client_command(struct relay_client *rc, uint32_t tag, const char *line, size_t len)
{
	struct relay_client_cmd *c;

	if (rc->state == RC_FAILED || rc->state == RC_QUIT)
		return SL_ERROR;
	if (len == 0 || len > sizeof(c->line))
		return SL_ERROR;
	if (rc->tail - rc->head >= RELAY_CLIENT_QUEUE)
		return SL_AGAIN;
	c = &rc->queue[RC_SLOT(rc->tail)];
	c->tag = tag;
	c->len = (uint16_t)len;
	memcpy(c->line, line, len);
	rc->tail++;
	rc_flush(rc);
	return SL_OK;
}

int relay_client_expect(struct relay_client *rc, uint32_t tag)
{
	struct relay_client_cmd *c;

	if (rc->state != RC_READY)
		return SL_ERROR;
	if (rc->tail - rc->head >= RELAY_CLIENT_QUEUE)
		return SL_AGAIN;
	c = &rc->queue[RC_SLOT(rc->tail)];
	c->tag = tag;
	c->len = 0;
	rc->tail++;
	rc_flush(rc);
	return SL_OK;
}

void relay_client_quit(struct relay_client *rc)
{
	static const char quit[] = "QUIT\r\n";
	enum relay_client_state s = rc->state;

	if (s == RC_FAILED || s == RC_QUIT)
		return;
	rc_enter_state(rc, RC_QUIT);
	rc->head = rc->sent = rc->tail;   /* nothing waiting gets a reply any more */
	if (s != RC_IDLE)
		rc->ops->send(rc->arg, quit, sizeof(quit) - 1);
}
