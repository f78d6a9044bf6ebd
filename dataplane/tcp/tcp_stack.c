/* tcp_stack.c - stack lifetime, the TCB pool, and the application calls (connect, send, close...). */
#include <stdlib.h>
#include <string.h>

#include "tcp_priv.h"
#include "tcp_siphash.h"
#include "util/sl_addr.h"

static const char *const state_names[TCP_STATE_COUNT] = {
	"CLOSED", "LISTEN", "SYN-SENT", "SYN-RCVD", "ESTABLISHED", "FIN-WAIT-1",
	"FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT",
};

const char *tcp_state_name(enum tcp_state s)
{
	return (unsigned)s < TCP_STATE_COUNT ? state_names[s] : "?";
}

void tcp_config_defaults(struct tcp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_conns = 1024;
	cfg->max_tw = 4096;
	cfg->snd_buf = 64 * 1024;
	cfg->rcv_space = 64 * 1024;
	cfg->rcv_space_max = 256 * 1024;
	cfg->mss = 1460;
	cfg->init_cwnd_segs = 10;        /* RFC 6928 */
	cfg->rto_init_ms = 1000;         /* RFC 6298 2.1 */
	/* RFC 6298 2.4 asks for a 1 s floor; like Linux we use 200 ms: the
	 * backend leg runs over a LAN with sub-millisecond RTTs, where a 1 s
	 * floor would stall a relayed SMTP session for a second per loss. */
	cfg->rto_min_ms = 200;
	cfg->rto_max_ms = 60000;         /* RFC 6298 2.5 allows a 60 s ceiling */
	cfg->max_retries = 8;
	cfg->syn_retries = 5;
	cfg->delack_ms = 40;             /* RFC 1122 4.2.3.2 / RFC 9293 3.8.6.3: < 500 ms */
	cfg->msl_ms = 30000;             /* 2 MSL = 60 s, as Linux; RFC 9293 suggests 2 min */
	cfg->fin_wait2_ms = 60000;
	cfg->persist_min_ms = 200;
	cfg->persist_max_ms = 60000;
	cfg->syn_backlog = 256;
	cfg->challenge_acks_per_s = 1000;
	cfg->rsts_per_s = 1000;
	cfg->wheel_slots = 4096;
	cfg->timestamps = true;
	cfg->window_scale = true;
	cfg->syn_cookies = true;
	cfg->sack = true;
}

struct tcp_stack *tcp_stack_new(const struct tcp_config *cfg, const struct tcp_stack_ops *ops,
				void *ctx, uint64_t now_ms)
{
	struct tcp_stack *st;
	uint32_t nb = 1;

	if (cfg->max_conns == 0 || cfg->snd_buf == 0 || (cfg->snd_buf & (cfg->snd_buf - 1)) != 0 ||
	    ops == NULL || ops->output == NULL || cfg->mss < TCP_MIN_MSS)
		return NULL;
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NULL;
	st->cfg = *cfg;
	if (st->cfg.rcv_space_max < st->cfg.rcv_space)
		st->cfg.rcv_space_max = st->cfg.rcv_space;
	st->ops = ops;
	st->ctx = ctx;
	st->now = now_ms;
	st->hash_seed = tcp_siphash24(cfg->key, "sluice-tcp-hash", 15);
	tcp_cookie_init(st);
	while (nb < 2 * cfg->max_conns)   /* load factor <= 0.5: chains stay short */
		nb <<= 1;
	st->buckets = calloc(nb, sizeof(*st->buckets));
	st->bmask = nb - 1;
	st->pool = calloc(cfg->max_conns, sizeof(*st->pool));
	if (st->buckets == NULL || st->pool == NULL || tcp_sndq_init(st) != SL_OK ||
	    tcp_tw_init(&st->tw, cfg->max_tw) != 0 ||
	    tw_init(&st->wheel, cfg->wheel_slots ? cfg->wheel_slots : 4096, 1, now_ms) != 0)
		goto fail;
	/* Free list in pool order, so a quiet lcore keeps reusing the same few
	 * (cache-warm) TCBs. */
	for (uint32_t i = cfg->max_conns; i-- > 0;) {
		struct tcp_conn *c = &st->pool[i];
		c->sx_fill = TCP_CHUNK_NONE;
		c->stack = st;
		c->hnext = st->free_list;
		st->free_list = c;
	}
	st->chack_rl.limit = cfg->challenge_acks_per_s;
	st->rst_rl.limit = cfg->rsts_per_s;
	st->chack_rl.window_start = st->rst_rl.window_start = now_ms;
	return st;
fail:
	tcp_tw_fini(&st->tw);
	tcp_sndq_fini(st);
	free(st->buckets);
	free(st->pool);
	free(st);
	return NULL;
}

void tcp_stack_free(struct tcp_stack *st)
{
	if (st == NULL)
		return;
	for (uint32_t i = 0; i < st->cfg.max_conns; i++)
		if (st->pool[i].state != TCP_CLOSED) {
			tcp_rq_release_all(&st->pool[i]);
			tcp_sndq_release_all(&st->pool[i]);
		}
	tw_fini(&st->wheel);
	tcp_tw_fini(&st->tw);
	tcp_sndq_fini(st);
	free(st->buckets);
	free(st->pool);
	free(st);
}

/* Entries and exits of the stack nest (a callback may call tcp_send...).
 * TCBs released meanwhile wait on the zombie list until the outermost
 * exit, so no caller up the stack touches a recycled TCB. */
void tcp_enter(struct tcp_stack *st)
{
	st->depth++;
}

void tcp_leave(struct tcp_stack *st)
{
	if (st->depth > 1) {
		st->depth--;
		return;
	}
	/* output deferred by tcp_send/tcp_close inside callbacks: one segment
	 * then carries what a callback sent and its FIN (a 221 and the close),
	 * with the ACK of what it answered. Still inside (depth 1): output
	 * calls no application code, and zombies stay until after. */
	while (st->out_list != NULL) {
		struct tcp_conn *c = st->out_list;

		st->out_list = c->out_next;
		c->out_next = NULL;
		c->out_pending = 0;
		if (c->state != TCP_CLOSED)
			tcp_output(c);
	}
	st->depth = 0;
	while (st->zombies != NULL) {
		struct tcp_conn *c = st->zombies;
		st->zombies = c->hnext;
		c->hnext = st->free_list;
		st->free_list = c;
	}
}

/* The one place states change: keeps the per-state counters true (and is
 * where a transition trace would go). */
void tcp_set_state(struct tcp_conn *c, enum tcp_state s)
{
	struct tcp_counters *cnt = &c->stack->cnt;

	if (c->state != TCP_CLOSED)
		cnt->conns[c->state]--;
	c->state = (uint8_t)s;
	if (s != TCP_CLOSED)
		cnt->conns[s]++;
}

/*
 * RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secret),
 * M a 4 us clock. F is SipHash-2-4 keyed by the stack's secret; its high
 * half also gives the per-connection timestamp offset (RFC 7323 5.4), so
 * TSvals reveal neither uptime nor other connections.
 */
uint32_t tcp_isn(struct tcp_stack *st, const struct tcp_tuple *t, uint32_t *ts_offset)
{
	uint64_t h = tcp_siphash24(st->cfg.key, t, 37);

	if (ts_offset != NULL)
		*ts_offset = (uint32_t)(h >> 32);
	return (uint32_t)h + (uint32_t)(st->now * 250);
}

bool tcp_ratelimit_ok(struct tcp_stack *st, struct tcp_ratelimit *rl)
{
	if (st->now - rl->window_start >= 1000) {
		rl->window_start = st->now;
		rl->count = 0;
	}
	if (rl->count >= rl->limit)
		return false;
	rl->count++;
	return true;
}

/* Our window shift: the smallest that lets rcv_space_max be offered. */
uint8_t tcp_rcv_wscale(const struct tcp_config *cfg)
{
	uint8_t s = 0;

	while (s < TCP_MAX_WSCALE && (cfg->rcv_space_max >> s) > 65535)
		s++;
	return s;
}

struct tcp_conn *tcp_conn_alloc(struct tcp_stack *st, const struct tcp_tuple *t)
{
	struct tcp_conn *c = st->free_list;

	if (c == NULL) {
		st->cnt.drops[TCP_DROP_TABLE_FULL]++;
		return NULL;
	}
	st->free_list = c->hnext;
	/* the timers between the two are set by tcp_timers_init */
	memset(c, 0, offsetof(struct tcp_conn, rtx_timer));
	memset(&c->cbs, 0, sizeof(*c) - offsetof(struct tcp_conn, cbs));
	c->sx_fill = TCP_CHUNK_NONE;
	c->stack = st;
	c->tuple = *t;
	c->iss = tcp_isn(st, t, &c->ts_offset);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->sbuf_seq = c->iss + 1;
	c->rcv_space = st->cfg.rcv_space;
	c->rcv_wscale = st->cfg.window_scale ? tcp_rcv_wscale(&st->cfg) : 0;
	c->mss = TCP_DEFAULT_MSS;
	c->rcv_mss = TCP_DEFAULT_MSS;
	c->rto = c->rto_cur = st->cfg.rto_init_ms;
	c->ssthresh = UINT32_MAX;
	tcp_timers_init(c);
	tcp_conn_insert(st, c);
	return c;
}

void tcp_rq_release_all(struct tcp_conn *c)
{
	const struct tcp_stack_ops *ops = c->stack->ops;

	for (unsigned i = 0; i < c->rq_n; i++)
		if (ops->release != NULL)
			ops->release(c->stack->ctx, c->rq[i].owner);
	c->rq_n = 0;
	c->rq_ooo = 0;
	c->rcv_buffered = 0;
}

/*
 * End a TCB: timers off, held buffers released, out of the table, onto the
 * zombie list; then the application hears about it once. The TCB is
 * recycled at the outermost tcp_leave().
 */
void tcp_conn_release(struct tcp_conn *c, enum tcp_close_reason why)
{
	struct tcp_stack *st = c->stack;
	bool tell = (c->flags & TF_ACCEPTED) && c->cbs != NULL && c->cbs->closed != NULL;

	if (c->state == TCP_CLOSED)
		return;
	tcp_timers_stop(c);
	tcp_rq_release_all(c);
	tcp_sndq_release_all(c);
	if (c->listener != NULL) {
		c->listener->syn_count--;
		c->listener = NULL;
	}
	tcp_conn_remove(st, c);
	tcp_set_state(c, TCP_CLOSED);
	if (why == TCP_CLOSE_TIMEOUT)
		st->cnt.timeouts++;
	c->hnext = st->zombies;
	st->zombies = c;
	c->flags &= (uint16_t)~TF_ACCEPTED;
	if (tell)
		c->cbs->closed(c, c->user, why);
}

void tcp_enter_time_wait(struct tcp_conn *c)
{
	struct tcp_stack *st = c->stack;
	struct tcp_tw_entry *e;

	e = tcp_tw_add(st, &c->tuple);
	e->snd_nxt = c->snd_max;
	e->rcv_nxt = c->rcv_nxt;
	e->ts_recent = c->ts_recent;
	e->ts_offset = c->ts_offset;
	e->has_ts = (c->flags & TF_TS) != 0;
	e->wnd = tcp_rcv_wnd_field(c, false);
	tcp_conn_release(c, TCP_CLOSE_NORMAL);
}

/* --- application calls --- */

int tcp_listen(struct tcp_stack *st, uint16_t port, tcp_accept_fn accept, void *lctx)
{
	struct tcp_listener *free_slot = NULL;

	if (port == 0 || accept == NULL || tcp_listener_find(st, port) != NULL)
		return SL_ERROR;
	for (int i = 0; i < TCP_LISTEN_MAX && free_slot == NULL; i++)
		if (st->listeners[i].port == 0)
			free_slot = &st->listeners[i];
	if (free_slot == NULL)
		return SL_ERROR;
	free_slot->port = port;
	free_slot->accept = accept;
	free_slot->lctx = lctx;
	free_slot->syn_count = 0;
	st->cnt.conns[TCP_LISTEN]++;
	return SL_OK;
}

void tcp_unlisten(struct tcp_stack *st, uint16_t port)
{
	struct tcp_listener *l = tcp_listener_find(st, port);

	if (l == NULL)
		return;
	/* Half-open connections of this listener stay until they complete
	 * or time out; they no longer count against it. */
	for (uint32_t i = 0; i < st->cfg.max_conns; i++)
		if (st->pool[i].listener == l)
			st->pool[i].listener = NULL;
	memset(l, 0, sizeof(*l));
	st->cnt.conns[TCP_LISTEN]--;
}

static void fill_tuple(struct tcp_tuple *t, uint8_t family, const uint8_t *laddr, uint16_t lport,
		       const uint8_t *raddr, uint16_t rport)
{
	size_t alen = family == SL_AF_INET6 ? 16 : 4;

	memset(t, 0, sizeof(*t));
	memcpy(t->laddr, laddr, alen);
	memcpy(t->raddr, raddr, alen);
	t->lport = lport;
	t->rport = rport;
	t->family = family;
}

struct tcp_conn *tcp_connect(struct tcp_stack *st, uint8_t family,
			     const uint8_t *laddr, uint16_t lport,
			     const uint8_t *raddr, uint16_t rport,
			     const struct tcp_conn_cbs *cbs, void *user)
{
	struct tcp_tuple t;
	struct tcp_conn *c;
	struct tcp_tw_entry *e;
	uint32_t floor = 0;
	bool has_floor = false;

	if ((family != SL_AF_INET && family != SL_AF_INET6) || lport == 0 || rport == 0)
		return NULL;
	fill_tuple(&t, family, laddr, lport, raddr, rport);
	if (tcp_conn_lookup(st, &t) != NULL)
		return NULL;
	e = tcp_tw_lookup(st, &t);
	if (e != NULL) {
		/*
		 * Our own TIME-WAIT on this tuple (we closed the backend leg
		 * first, after QUIT). Reused, as Linux's tcp_tw_reuse does, only
		 * with timestamps: our TSvals of a tuple only grow (one offset
		 * per tuple, one clock), so the peer's PAWS tells the old
		 * incarnation's segments from the new one's (RFC 7323 5.8), and
		 * the ISS goes beyond anything the old one sent. Linux waits a
		 * second because its clock check counts seconds; ours needs the
		 * new TSval above the old, one tick. A FIN the peer sends again
		 * (our last ACK lost) then meets the new SYN: the peer answers
		 * with its ACK, we reset it and send the SYN again at once
		 * (syn_sent_input). Without this, a backend taking more
		 * sessions per 2 MSL than there are source ports would run out.
		 */
		uint64_t began = e->expire - 2ull * st->cfg.msl_ms;

		if (!e->has_ts || !st->cfg.timestamps || st->now <= began)
			return NULL;
		floor = e->snd_nxt + 65535u;
		has_floor = true;
	}
	tcp_enter(st);
	c = tcp_conn_alloc(st, &t);
	if (c != NULL) {
		if (has_floor) {
			/* only now that a TCB takes its place: without one, the entry stays */
			tcp_tw_remove(st, e);
			st->cnt.tw_reused++;
		}
		if (has_floor && SEQ_LEQ(c->iss, floor)) {
			c->iss = floor + 1;
			c->snd_una = c->snd_nxt = c->snd_max = c->iss;
			c->sbuf_seq = c->iss + 1;
		}
		c->cbs = cbs;
		c->user = user;
		c->flags |= TF_ACCEPTED;
		if (st->cfg.timestamps)
			c->flags |= TF_TS;      /* offered; cleared if the SYN-ACK lacks it */
		if (st->cfg.window_scale)
			c->flags |= TF_WS;
		tcp_set_state(c, TCP_SYN_SENT);
		tcp_send_syn(c);
		tcp_rto_arm(c);
	}
	tcp_leave(st);
	return c;
}

void tcp_conn_set_cbs(struct tcp_conn *c, const struct tcp_conn_cbs *cbs, void *user)
{
	c->cbs = cbs;
	c->user = user;
}

uint32_t tcp_send_space(const struct tcp_conn *c)
{
	return c->stack->cfg.snd_buf - c->sbuf_len;
}

uint32_t tcp_pending(const struct tcp_conn *c)
{
	return c->sbuf_len;
}

/* SL_OK: len may be queued now; else what tcp_send answers. */
static int send_check(struct tcp_conn *c, uint32_t len)
{
	uint32_t size = c->stack->cfg.snd_buf;

	if ((c->flags & TF_FIN_QUEUED) || len > size ||
	    (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT &&
	     c->state != TCP_SYN_SENT && c->state != TCP_SYN_RCVD))
		return SL_ERROR;
	if (len > size - c->sbuf_len) {
		c->flags |= TF_WANT_WRITE;
		c->want_space = len;
		return SL_AGAIN;
	}
	return SL_OK;
}

/*
 * Output for c now, or, inside a callback (the stack is in tcp_input,
 * tcp_advance or another API call), when that returns: what a callback
 * sends then leaves in one segment with its close and the ACK of the
 * segment it answered, instead of one segment each.
 */
static void output_soon(struct tcp_conn *c)
{
	struct tcp_stack *st = c->stack;

	if (st->depth > 0) {
		if (!c->out_pending) {
			c->out_pending = 1;
			c->out_next = st->out_list;
			st->out_list = c;
		}
		return;
	}
	tcp_enter(st);
	tcp_output(c);
	tcp_leave(st);
}

static void send_kick(struct tcp_conn *c)
{
	if (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT)
		output_soon(c);
}

int tcp_send(struct tcp_conn *c, const void *buf, uint32_t len)
{
	int rc = send_check(c, len);

	if (rc != SL_OK || len == 0)
		return rc;
	if (tcp_sndq_copy(c, buf, len) != SL_OK)
		return SL_ERROR;
	send_kick(c);
	return SL_OK;
}

int tcp_send_ref(struct tcp_conn *c, const void *p, uint32_t len, void *owner)
{
	int rc = send_check(c, len);

	if (rc != SL_OK || len == 0)
		return rc;
	if (tcp_sndq_ref(c, p, len, owner) != SL_OK)
		return SL_ERROR;
	send_kick(c);
	return SL_OK;
}

void tcp_close(struct tcp_conn *c)
{
	struct tcp_stack *st = c->stack;

	tcp_enter(st);
	switch (c->state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RCVD:
		/* Simplification of RFC 9293 3.10.4 (which would queue the FIN
		 * in SYN-RCVD): an SMTP leg closed before it opened is dropped. */
		tcp_abort(c);
		break;
	case TCP_ESTABLISHED:
		c->flags |= TF_FIN_QUEUED;
		tcp_set_state(c, TCP_FIN_WAIT_1);
		output_soon(c);
		break;
	case TCP_CLOSE_WAIT:
		c->flags |= TF_FIN_QUEUED;
		tcp_set_state(c, TCP_LAST_ACK);
		output_soon(c);
		break;
	default:
		break;  /* already closing */
	}
	tcp_leave(st);
}

void tcp_abort(struct tcp_conn *c)
{
	struct tcp_stack *st = c->stack;

	if (c->state == TCP_CLOSED)
		return;
	tcp_enter(st);
	/* RFC 9293 3.10.5: RST in synchronized states; none in SYN-SENT. */
	if (c->state != TCP_SYN_SENT)
		tcp_send_rst_conn(c);
	tcp_conn_release(c, TCP_CLOSE_ABORTED);
	tcp_leave(st);
}

void tcp_set_keepalive(struct tcp_conn *c, uint32_t idle_ms, uint32_t intvl_ms, uint8_t probes)
{
	struct tcp_stack *st = c->stack;

	if (idle_ms == 0 || probes == 0) {
		c->ka_max = 0;
		tw_cancel(&st->wheel, &c->ka_timer);
		return;
	}
	c->ka_idle_ms = idle_ms;
	c->ka_intvl_ms = intvl_ms ? intvl_ms : 1;
	c->ka_max = probes;
	c->ka_sent = 0;
	if (!tcp_state_synced(c->state))
		return;   /* an open in progress: armed when its handshake completes (tcp_input.c) */
	if (c->last_rcv == 0)
		c->last_rcv = st->now;
	tcp_ka_arm(c, c->last_rcv + idle_ms);
}

void tcp_set_rcv_space(struct tcp_conn *c, uint32_t bytes)
{
	uint32_t max = 65535u << ((c->flags & TF_WS) ? c->rcv_wscale : 0);

	c->rcv_space = SL_MIN(bytes, max);
	if (tcp_state_synced(c->state) && tcp_window_update_due(c)) {
		tcp_enter(c->stack);
		tcp_send_ack(c);
		tcp_leave(c->stack);
	}
}

/*
 * Offer the in-order queue to the application, oldest first, until it
 * leaves something or the queue is empty; then the peer's FIN as eof
 * once all data before it is consumed. Re-entry (a data callback calling
 * tcp_recv_resume) is ignored: the outer loop continues anyway.
 */
void tcp_deliver(struct tcp_conn *c)
{
	const struct tcp_conn_cbs *cbs = c->cbs;
	const struct tcp_stack_ops *ops = c->stack->ops;

	if ((c->flags & TF_IN_DELIVER) || !(c->flags & TF_ACCEPTED))
		return;
	c->flags |= TF_IN_DELIVER;
	while (c->rq_n > c->rq_ooo && c->state != TCP_CLOSED) {
		struct tcp_rq_ent *e = &c->rq[0];
		uint32_t n = e->len;

		if (cbs != NULL && cbs->data != NULL) {
			n = cbs->data(c, c->user, e->data, e->len, e->owner);
			if (c->state == TCP_CLOSED)
				break;        /* aborted from the callback: queue already released */
			if (n > e->len)
				n = e->len;
		}
		c->rcv_buffered -= n;
		if (n < e->len) {
			e->data += n;
			e->seq += n;
			e->len -= n;
			break;
		}
		if (ops->release != NULL)
			ops->release(c->stack->ctx, e->owner);
		c->rq_n--;
		memmove(&c->rq[0], &c->rq[1], c->rq_n * sizeof(c->rq[0]));
	}
	c->flags &= (uint16_t)~TF_IN_DELIVER;
	if (c->state != TCP_CLOSED && c->rq_n == c->rq_ooo && (c->flags & TF_FIN_RCVD) &&
	    !(c->flags & TF_EOF_DONE)) {
		c->flags |= TF_EOF_DONE;
		if (cbs != NULL && cbs->eof != NULL)
			cbs->eof(c, c->user);
	}
}

void tcp_recv_resume(struct tcp_conn *c)
{
	struct tcp_stack *st = c->stack;

	if (c->state == TCP_CLOSED)
		return;
	tcp_enter(st);
	tcp_deliver(c);
	if (c->state != TCP_CLOSED && tcp_window_update_due(c))
		tcp_send_ack(c);
	tcp_leave(st);
}

void tcp_advance(struct tcp_stack *st, uint64_t now_ms)
{
	if (now_ms < st->now)
		return;
	tcp_enter(st);
	st->now = now_ms;
	tw_advance(&st->wheel, now_ms);
	tcp_tw_expire(st);
	tcp_leave(st);
}

int64_t tcp_next_timeout(const struct tcp_stack *st)
{
	int64_t t = tw_next_timeout(&st->wheel, st->now);

	if (st->tw.count > 0) {
		const struct tcp_tw_entry *e = &st->tw.ents[st->tw.head];
		int64_t d = e->expire > st->now ? (int64_t)(e->expire - st->now) : 0;
		if (t < 0 || d < t)
			t = d;
	}
	return t;
}
