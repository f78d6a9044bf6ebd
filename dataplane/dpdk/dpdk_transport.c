/* dpdk_transport.c - `transport dpdk`: relay sessions driven over the per-lcore TCP stack, as kt_conn.c does over sockets. */
#include <inttypes.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_random.h>

#include "control.h"
#include "control_msg.h"
#include "dpdk/dpdk_eal.h"
#include "dpdk/dpdk-t.h"
#include "dpdk/dpdk_health.h"
#include "dpdk/dpdk_lcore.h"
#include "dpdk/dpdk_steer.h"
#include "dpdk/dpdk_transport.h"
#include "dpdk/dpdk_tx.h"
#include "net/net_ipv4.h"
#include "relay/relay_session.h"
#include "tcp/tcp.h"
#include "tcp/tcp_siphash.h"
#include "transport.h"
#include "util/sl_log.h"
#include "util/sl_secret.h"
#include "util/sl_slots.h"
#include "util/sl_status.h"
#include "util/timer_wheel.h"

#ifndef container_of
#define container_of(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))
#endif

/*
 * A leg's local queue holds what did not fit the TCP send buffer. The
 * session stops queueing once pending() reaches SL_TX_HIGH_WATER, but it
 * checks before each piece, so one piece (a received segment, a burst of
 * replies) may cross the mark: the bound leaves that much room above it.
 */
#define DPDK_OUT_MAX      (SL_TX_HIGH_WATER + 64u * 1024)
#define DPDK_OUT_MIN_CAP  4096u
#define DPDK_OUT_KEEP     (64u * 1024)   /**< an empty queue larger than this is released */
#define DPDK_TX_CHUNK     (16u * 1024)   /**< what we ask tcp_send for when its buffer is full */
#define DPDK_CLOSE_MS     5000u          /**< bound on a graceful close (flush, FIN, peer's FIN) */
#define DPDK_WHEEL_SLOTS  8192u
#define DPDK_RING_BURST   1024           /**< control messages taken per iteration */
#define DPDK_TCP_CONNS_MIN 256u          /**< TCBs per lcore at least (tcb_count) */
#define DPDK_CONNECT_TRIES 64

static const char busy_reply[] = "421 4.3.2 Too many sessions, try again later\r\n";

enum dpdk_leg_state {
	DPDK_LEG_NONE = 0,    /* no TCB */
	DPDK_LEG_CONNECTING,  /* backend SYN sent */
	DPDK_LEG_OPEN,
	DPDK_LEG_DRAINING,    /* the session closed it: local queue still going into TCP, then FIN */
	DPDK_LEG_CLOSING,     /* tcp_close() done: waiting for the TCB's closed callback */
};

struct dpdk_buf {
	uint8_t *data;
	uint32_t off, len, cap;
};

struct dpdk_conn;

struct dpdk_leg {
	struct dpdk_conn *c;
	struct tcp_conn  *tc;          /**< NULL once the TCB told us it closed */
	uint8_t           idx;         /**< enum sl_leg */
	uint8_t           state;       /**< enum dpdk_leg_state */
	bool              above;       /**< pending() answered >= SL_TX_HIGH_WATER: writable() due below it */
	struct dpdk_buf   out;
	struct tw_timer   close_timer; /**< bounds DRAINING + CLOSING */
};

struct dpdk_conn {
	struct dpdk_tp       *tp;
	struct relay_session *session;   /**< NULL once relay_session_free() ran */
	uint64_t              id;        /**< worker | slot | generation, for verdicts */
	uint32_t              slot;
	bool                  resume;    /**< the session asked for its input again */
	bool                  on_again;
	bool                  dead;
	struct dpdk_conn     *again_next;
	struct dpdk_conn     *dead_next;
	struct dpdk_leg       leg[2];
	struct tw_timer       timer[SL_TIMER_COUNT];
	alignas(max_align_t) unsigned char mem[];   /**< relay_session_size() bytes */
};

/* Single-writer counters (the lcore stores, anyone loads). */
struct dpdk_tp_wstats {
	uint64_t accepted, rejected_busy, conns, policy_sent, policy_full;
	uint64_t verdicts, verdicts_stale, forced_closes, connect_fail;
};

struct dpdk_tp {
	struct dpdk_lcore   *lc;
	struct dpdk_dp      *dp;
	unsigned             idx;
	struct tcp_stack    *st;
	struct tw_wheel      wheel;
	struct relay_worker  rw;
	struct control      *ctl;
	struct control_port *port;
	uint64_t             generation;
	bool                 wake_control;
	bool                 log_ring_set;  /**< this lcore's records go to its control port */
	bool                 draining;
	int                  idle;          /**< drained: no connection left (read by main) */
	uint64_t             deadline;
	unsigned             nlisten;
	uint16_t             lport[CFG_LISTEN_MAX];
	struct sl_slots      slots;         /**< a slot's mem: its dpdk_conn, made at first use and kept */
	uint32_t             nconns;
	struct dpdk_conn    *again;
	struct dpdk_conn    *dead;
	uint32_t             next_port;     /**< the last source port handed out */
	uint16_t             sport_lo, sport_hi; /**< their range (dpdk { source_ports }) */
	struct dpdk_tx       tx;            /**< the stack's output (dpdk_tx.c); tx.zero_copy: op_forward by reference */
	struct dpdk_health  *health;        /**< backend checks asked for by the control (dpdk_health.c) */
	struct dpdk_tp_wstats stats;
};

#define TP_INC(tp, f) __atomic_store_n(&(tp)->stats.f, (tp)->stats.f + 1, __ATOMIC_RELAXED)

static const struct sl_transport_ops dpdk_ops;
static const struct tcp_conn_cbs leg_cbs;
static void settle(struct dpdk_conn *c);

/* ---- local output queues */

static void buf_release(struct dpdk_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* Grows on demand so an idle session holds no output memory (as kt_buf). */
static int buf_append(struct dpdk_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return SL_OK;
	if (b->off + b->len + n > b->cap) {
		if (b->off > 0) {
			memmove(b->data, b->data + b->off, b->len);
			b->off = 0;
		}
		if (b->len + n > b->cap) {
			uint32_t cap = b->cap ? b->cap : DPDK_OUT_MIN_CAP;
			uint8_t *d;

			while (cap < b->len + n)
				cap *= 2;
			d = realloc(b->data, cap);
			if (d == NULL)
				return SL_ERROR;
			b->data = d;
			b->cap = cap;
		}
	}
	memcpy(b->data + b->off + b->len, p, n);
	b->len += (uint32_t)n;
	return SL_OK;
}

static void buf_consume(struct dpdk_buf *b, uint32_t n)
{
	b->off += n;
	b->len -= n;
	if (b->len == 0) {
		b->off = 0;
		if (b->cap > DPDK_OUT_KEEP)
			buf_release(b);
	}
}

/* ---- connection bookkeeping */

/* Settle c from the loop, after the current event: TCP callbacks and ops
 * never settle in place, so no session call and no tcp_recv_resume runs
 * inside the stack's own delivery loop. */
static void kick(struct dpdk_conn *c)
{
	struct dpdk_tp *tp = c->tp;

	if (c->on_again || c->dead)
		return;
	c->on_again = true;
	c->again_next = tp->again;
	tp->again = c;
}

static bool leg_session_open(const struct dpdk_leg *l)
{
	return l->state == DPDK_LEG_OPEN || l->state == DPDK_LEG_CONNECTING;
}

static uint32_t leg_pending(const struct dpdk_leg *l)
{
	return (l->tc != NULL ? tcp_pending(l->tc) : 0) + l->out.len;
}

/* Drop a leg now: RST (what is queued is lost). The TCB's closed callback
 * runs inside tcp_abort and finds state NONE: it says nothing to the session. */
static void leg_abort(struct dpdk_leg *l)
{
	struct tcp_conn *tc = l->tc;

	l->state = DPDK_LEG_NONE;
	l->above = false;
	buf_release(&l->out);
	tw_cancel(&l->c->tp->wheel, &l->close_timer);
	l->tc = NULL;
	if (tc != NULL)
		tcp_abort(tc);
}

/* Move the local queue into the TCP send buffer, as far as it has room.
 * When it has none, one tcp_send that answers SL_AGAIN registers for the
 * writable callback. Returns false when TCP refused the leg (closing). */
static bool leg_flush(struct dpdk_leg *l)
{
	while (l->tc != NULL && l->out.len > 0) {
		uint32_t space = tcp_send_space(l->tc);
		uint32_t n = SL_MIN(l->out.len, space);
		int rc;

		if (n == 0)
			n = SL_MIN(l->out.len, DPDK_TX_CHUNK);
		rc = tcp_send(l->tc, l->out.data + l->out.off, n);
		if (rc == SL_AGAIN)
			return true;
		if (rc != SL_OK)
			return false;
		buf_consume(&l->out, n);
	}
	return true;
}

static void maybe_free_session(struct dpdk_conn *c)
{
	struct relay_session *s = c->session;

	if (s == NULL || leg_session_open(&c->leg[SL_LEG_CLIENT]) ||
	    leg_session_open(&c->leg[SL_LEG_BACKEND]))
		return;
	for (int i = 0; i < SL_TIMER_COUNT; i++)
		tw_cancel(&c->tp->wheel, &c->timer[i]);
	c->session = NULL;   /* first: what the session does while it frees must not reach it */
	c->resume = false;
	relay_session_free(s);
}

static void maybe_bury(struct dpdk_conn *c)
{
	struct dpdk_tp *tp = c->tp;

	/* not while it waits on the again list: its slot (and object) could be
	 * reused before that list is walked, and the list would lose its tail */
	if (c->dead || c->on_again || c->session != NULL || c->leg[0].state != DPDK_LEG_NONE ||
	    c->leg[1].state != DPDK_LEG_NONE || c->leg[0].tc != NULL || c->leg[1].tc != NULL)
		return;
	c->dead = true;
	c->dead_next = tp->dead;
	tp->dead = c;
	tp->nconns--;
	__atomic_store_n(&tp->stats.conns, tp->nconns, __ATOMIC_RELAXED);
}

/*
 * settle - after anything reached the session: push what it queued into
 * TCP, tell it about drained output, re-offer held input it asked for,
 * finish closes, free the session once both legs are closed. A few passes
 * at most: the rest waits for the next iteration (kt_conn_settle's rule).
 */
static void settle(struct dpdk_conn *c)
{
	bool again = false;

	if (c->dead)
		return;
	for (int pass = 0; pass < 4; pass++) {
		again = false;
		for (int i = 0; i < 2; i++) {
			struct dpdk_leg *l = &c->leg[i];

			if ((l->state == DPDK_LEG_OPEN || l->state == DPDK_LEG_DRAINING) && !leg_flush(l)) {
				bool was_open = l->state == DPDK_LEG_OPEN;

				leg_abort(l);
				if (was_open && c->session != NULL) {
					relay_session_leg_closed(c->session, (enum sl_leg)i, true);
					again = true;
				}
			}
			if (l->above && leg_pending(l) < SL_TX_HIGH_WATER) {
				l->above = false;
				if (c->session != NULL && leg_session_open(l)) {
					relay_session_writable(c->session, (enum sl_leg)i);
					again = true;
				}
			}
		}
		if (c->resume) {
			struct dpdk_leg *l = &c->leg[SL_LEG_CLIENT];

			c->resume = false;
			/* also after a close: held input is then taken and discarded, so
			 * the peer's FIN behind it is seen and the close can complete */
			if (l->tc != NULL) {
				tcp_recv_resume(l->tc);
				again = true;
			}
		}
		if (!again)
			break;
	}
	if (again)
		kick(c);
	for (int i = 0; i < 2; i++) {
		struct dpdk_leg *l = &c->leg[i];

		if (l->state == DPDK_LEG_DRAINING && l->out.len == 0) {
			struct tcp_conn *tc = l->tc;

			l->state = DPDK_LEG_CLOSING;
			if (tc == NULL) {
				l->state = DPDK_LEG_NONE;
				tw_cancel(&c->tp->wheel, &l->close_timer);
			} else {
				tcp_close(tc);
			}   /* before ESTABLISHED this aborts: closed runs now */
		}
	}
	maybe_free_session(c);
	maybe_bury(c);
}

/* ---- TCP callbacks (run inside tcp_input / tcp_advance / our tcp_* calls) */

static uint32_t cb_data(struct tcp_conn *tc, void *user, const uint8_t *p, uint32_t len, void *owner)
{
	struct dpdk_leg *l = user;
	struct dpdk_conn *c = l->c;
	struct sl_rx rx = { .data = p, .len = len, .owner = owner };
	size_t n;

	(void)tc;
	if (c->session == NULL || l->state != DPDK_LEG_OPEN)
		return len;   /* after the session closed the leg: read and dropped */
	kick(c);
	if (l->idx == SL_LEG_BACKEND) {
		relay_session_backend_input(c->session, &rx);
		return len;
	}
	n = relay_session_client_input(c->session, &rx);
	/* what the session left stays held in TCP (its window shrinks): offered
	 * again after ops->resume, or with the next segment */
	if (l->state != DPDK_LEG_OPEN || n >= len)
		return len;
	return (uint32_t)n;
}

static void cb_established(struct tcp_conn *tc, void *user)
{
	struct dpdk_leg *l = user;
	struct dpdk_conn *c = l->c;

	(void)tc;
	if (l->state != DPDK_LEG_CONNECTING)
		return;
	l->state = DPDK_LEG_OPEN;
	kick(c);
	if (c->session != NULL)
		relay_session_backend_connected(c->session, true);
}

static void cb_eof(struct tcp_conn *tc, void *user)
{
	struct dpdk_leg *l = user;
	struct dpdk_conn *c = l->c;

	(void)tc;
	kick(c);
	if (l->state != DPDK_LEG_OPEN)
		return;
	/* what the session queued before it hears of the EOF still goes out */
	l->state = DPDK_LEG_DRAINING;
	tw_arm(&c->tp->wheel, &l->close_timer, c->tp->rw.now_ms + DPDK_CLOSE_MS);
	if (c->session != NULL)
		relay_session_leg_closed(c->session, (enum sl_leg)l->idx, false);
}

static void cb_writable(struct tcp_conn *tc, void *user)
{
	struct dpdk_leg *l = user;

	(void)tc;
	kick(l->c);   /* settle flushes the local queue and sends writable() */
}

static void cb_closed(struct tcp_conn *tc, void *user, enum tcp_close_reason why)
{
	struct dpdk_leg *l = user;
	struct dpdk_conn *c = l->c;
	uint8_t was = l->state;

	(void)tc;
	l->tc = NULL;
	l->state = DPDK_LEG_NONE;
	l->above = false;
	buf_release(&l->out);
	tw_cancel(&c->tp->wheel, &l->close_timer);
	kick(c);
	if (c->session == NULL)
		return;
	if (was == DPDK_LEG_CONNECTING) {
		TP_INC(c->tp, connect_fail);
		relay_session_backend_connected(c->session, false);
	} else if (was == DPDK_LEG_OPEN) {
		relay_session_leg_closed(c->session, (enum sl_leg)l->idx, why != TCP_CLOSE_NORMAL);
	}
}

static const struct tcp_conn_cbs leg_cbs = {
	.established = cb_established,
	.data = cb_data,
	.eof = cb_eof,
	.writable = cb_writable,
	.closed = cb_closed,
};

/* Past max_sessions: the 421 goes into the fresh send buffer (it is empty,
 * so it fits), then FIN; input is discarded. */
static uint32_t busy_data(struct tcp_conn *tc, void *user, const uint8_t *p, uint32_t len, void *owner)
{
	(void)tc, (void)user, (void)p, (void)owner;
	return len;
}

static const struct tcp_conn_cbs busy_cbs = { .data = busy_data };

/* ---- timers */

static void session_timer(struct dpdk_conn *c, enum sl_timer_id id)
{
	if (c->session == NULL)
		return;
	relay_session_timer(c->session, id);
	kick(c);
}

static void timer_client_fn(struct tw_timer *t)
{
	session_timer(container_of(t, struct dpdk_conn, timer[SL_TIMER_CLIENT]), SL_TIMER_CLIENT);
}

static void timer_backend_fn(struct tw_timer *t)
{
	session_timer(container_of(t, struct dpdk_conn, timer[SL_TIMER_BACKEND]), SL_TIMER_BACKEND);
}

static void timer_policy_fn(struct tw_timer *t)
{
	session_timer(container_of(t, struct dpdk_conn, timer[SL_TIMER_POLICY]), SL_TIMER_POLICY);
}

/* A graceful close took too long (peer not reading, or never sending FIN). */
static void close_timeout(struct dpdk_leg *l)
{
	if (l->state == DPDK_LEG_DRAINING || l->state == DPDK_LEG_CLOSING) {
		TP_INC(l->c->tp, forced_closes);
		leg_abort(l);
	}
	kick(l->c);
}

static void close_leg_fn(struct tw_timer *t)
{
	close_timeout(container_of(t, struct dpdk_leg, close_timer));
}

/* ---- session slots (sl_slots.c: a freed slot rests, oldest reused first) */

static size_t session_room(void)
{
	size_t a = alignof(max_align_t);
	return (relay_session_size() + a - 1) / a * a;
}

static struct dpdk_conn *slot_alloc(struct dpdk_tp *tp)
{
	struct sl_slot *s;
	struct dpdk_conn *c;
	uint64_t id;
	uint32_t i = sl_slots_take(&tp->slots, NULL, &id);

	if (i == SL_SLOT_NONE)
		return NULL;
	s = &tp->slots.s[i];
	if (s->mem == NULL) {
		/* made once per slot, at its first use, then kept: the table's
		 * memory grows only up to max_sessions, and never on the steady path */
		s->mem = malloc(sizeof(*c) + session_room());
		if (s->mem == NULL) {
			sl_slots_put(&tp->slots, i);
			return NULL;
		}
	}
	c = s->mem;
	memset(c, 0, sizeof(*c));
	c->tp = tp;
	c->slot = i;
	c->id = id;
	s->conn = c;
	for (int k = 0; k < 2; k++) {
		c->leg[k].c = c;
		c->leg[k].idx = (uint8_t)k;
		tw_timer_init(&c->leg[k].close_timer, close_leg_fn);
	}
	tw_timer_init(&c->timer[SL_TIMER_CLIENT], timer_client_fn);
	tw_timer_init(&c->timer[SL_TIMER_BACKEND], timer_backend_fn);
	tw_timer_init(&c->timer[SL_TIMER_POLICY], timer_policy_fn);
	return c;
}

static struct dpdk_conn *lookup(struct dpdk_tp *tp, uint64_t id)
{
	struct dpdk_conn *c = sl_slots_find(&tp->slots, id);

	return c != NULL && c->session != NULL && !c->dead ? c : NULL;
}

static void bury_dead(struct dpdk_tp *tp)
{
	while (tp->dead != NULL) {
		struct dpdk_conn *c = tp->dead;

		tp->dead = c->dead_next;
		buf_release(&c->leg[0].out);
		buf_release(&c->leg[1].out);
		sl_slots_put(&tp->slots, c->slot);
	}
}

/* ---- accept */

static void addr_of(struct sl_addr *a, const uint8_t *ip, uint16_t port)
{
	uint32_t v;

	memcpy(&v, ip, 4);
	net_addr4(a, v);
	a->port = port;
}

/* tcp_keepalive of the worker's config, on a leg's TCB (the stack's probes, RFC 1122 4.2.3.6). */
static void set_keepalive(const struct dpdk_tp *tp, struct tcp_conn *tc)
{
	const struct cfg *cf = tp->rw.cfg;

	if (cf->keepalive_idle_ms != 0)
		tcp_set_keepalive(tc, cf->keepalive_idle_ms, cf->keepalive_intvl_ms, (uint8_t)cf->keepalive_probes);
}

static int on_accept(void *lctx, struct tcp_conn *tc)
{
	struct dpdk_tp *tp = lctx;
	const struct tcp_tuple *t = tcp_conn_tuple(tc);
	struct relay_session_params p;
	struct relay_session *s;
	struct dpdk_conn *c = NULL;

	if (tp->draining)
		return SL_ERROR;   /* reset: no new session once a shutdown is asked */
	if (tp->rw.sessions < tp->rw.cfg->max_sessions)
		c = slot_alloc(tp);
	if (c == NULL) {
		TP_INC(tp, rejected_busy);
		tcp_conn_set_cbs(tc, &busy_cbs, tp);
		tcp_send(tc, busy_reply, sizeof(busy_reply) - 1);
		tcp_close(tc);
		return SL_OK;
	}
	c->leg[SL_LEG_CLIENT].tc = tc;
	c->leg[SL_LEG_CLIENT].state = DPDK_LEG_OPEN;
	tcp_conn_set_cbs(tc, &leg_cbs, &c->leg[SL_LEG_CLIENT]);
	tp->nconns++;
	__atomic_store_n(&tp->stats.conns, tp->nconns, __ATOMIC_RELAXED);
	TP_INC(tp, accepted);
	tp->rw.next_id++;

	memset(&p, 0, sizeof(p));
	p.id = c->id;
	addr_of(&p.client, t->raddr, t->rport);
	addr_of(&p.local, t->laddr, t->lport);
	/* ops called from inside start already need the session pointer */
	c->session = (struct relay_session *)(void *)c->mem;
	s = relay_session_start(c->mem, &tp->rw, &p, &dpdk_ops, c);
	c->session = s;
	if (s == NULL) {
		/* not started: refuse the TCB (the stack resets it, no callbacks) */
		for (int i = 0; i < SL_TIMER_COUNT; i++)
			tw_cancel(&tp->wheel, &c->timer[i]);
		c->leg[SL_LEG_CLIENT].tc = NULL;
		c->leg[SL_LEG_CLIENT].state = DPDK_LEG_NONE;
		leg_abort(&c->leg[SL_LEG_BACKEND]);
		kick(c);
		return SL_ERROR;
	}
	set_keepalive(tp, tc);
	kick(c);
	return SL_OK;
}

/* ---- sl_transport_ops */

static int op_send(void *conn, enum sl_leg leg, const void *buf, size_t len)
{
	struct dpdk_conn *c = conn;
	struct dpdk_leg *l;
	const uint8_t *p = buf;

	if ((unsigned)leg > SL_LEG_BACKEND)
		return SL_ERROR;
	l = &c->leg[leg];
	if (!leg_session_open(l) || len > DPDK_OUT_MAX - SL_MIN(leg_pending(l), DPDK_OUT_MAX))
		return SL_ERROR;
	/* straight into the TCP send buffer when nothing waits before it */
	if (l->out.len == 0 && l->state == DPDK_LEG_OPEN && l->tc != NULL) {
		uint32_t n = SL_MIN((uint32_t)len, tcp_send_space(l->tc));

		if (n > 0) {
			if (tcp_send(l->tc, p, n) != SL_OK)
				return SL_ERROR;
			p += n;
			len -= n;
		}
	}
	if (len > 0) {
		if (buf_append(&l->out, p, len) != SL_OK)
			return SL_ERROR;
		kick(c);   /* settle registers for TCP's writable callback */
	}
	return SL_OK;
}

/*
 * DATA relayed where no byte changes: the slice goes into the leg's TCP
 * send queue by reference to the rx mbuf that holds it (tcp_send_ref; the
 * TX path chains an indirect mbuf to it), when nothing waits in the local
 * queue before it. What does not fit the send space, or everything when
 * zero copy is off, is copied as op_send does.
 */
static int op_forward(void *conn, enum sl_leg to, const struct sl_rx *rx, uint32_t off, uint32_t len)
{
	struct dpdk_conn *c = conn;
	struct dpdk_leg *l;

	if (rx == NULL || off > rx->len || len > rx->len - off || (unsigned)to > SL_LEG_BACKEND)
		return SL_ERROR;
	l = &c->leg[to];
	if (c->tp->tx.zero_copy && rx->owner != NULL && l->out.len == 0 && l->state == DPDK_LEG_OPEN &&
	    l->tc != NULL) {
		uint32_t n = SL_MIN(len, tcp_send_space(l->tc));

		if (n > 0) {
			if (tcp_send_ref(l->tc, rx->data + off, n, rx->owner) != SL_OK)
				return SL_ERROR;
			off += n;
			len -= n;
		}
	}
	if (len == 0)
		return SL_OK;
	return op_send(conn, to, rx->data + off, len);
}

static size_t op_pending(void *conn, enum sl_leg leg)
{
	struct dpdk_conn *c = conn;
	struct dpdk_leg *l;
	uint32_t n;

	if ((unsigned)leg > SL_LEG_BACKEND)
		return 0;
	l = &c->leg[leg];
	n = leg_pending(l);
	if (n >= SL_TX_HIGH_WATER)
		l->above = true;   /* transport.h: writable() once it drops below */
	return n;
}

/* The port whose route to dst is the longest (the first of equals), as Linux picks among devices. */
static struct dpdk_lcore_port *port_for_dst(struct dpdk_tp *tp, uint32_t dst)
{
	struct dpdk_lcore_port *best = NULL;
	int best_len = -1;

	for (unsigned i = 0; i < tp->lc->nports; i++) {
		const struct net_if *ifp = &tp->lc->ports[i].port->ifp;
		int len = ifp->ip4 != 0 ? net_route4_len(ifp, dst) : -1;

		if (len > best_len) {
			best_len = len;
			best = &tp->lc->ports[i];
		}
	}
	return best;
}

/*
 * A source port for an active open from src to dst:dport on lp: one whose
 * reply the port's steering (the NIC's RSS, or the software owner that the
 * hand-over ring delivers to: one function, lp->port->steer) gives to this
 * lcore, so both legs of the session stay here. With one worker every port
 * does. If no port of the range does, any port: the connection is then
 * lost to the other lcore, and the backend leg fails (a 4xx, never a loss).
 */
static uint16_t next_source_port(struct dpdk_tp *tp, const struct dpdk_lcore_port *lp, uint32_t src,
				 uint32_t dst, uint16_t dport)
{
	uint16_t p = (uint16_t)tp->next_port;

	if (dpdk_steer_pick_port(&lp->port->steer, src, dst, dport, (uint16_t)tp->idx, &p, tp->sport_lo,
				 tp->sport_hi) != SL_OK)
		p = p >= tp->sport_hi || p < tp->sport_lo ? tp->sport_lo : (uint16_t)(p + 1);
	tp->next_port = p;
	return p;
}

static int op_connect(void *conn, const struct sl_addr *dst)
{
	struct dpdk_conn *c = conn;
	struct dpdk_leg *l = &c->leg[SL_LEG_BACKEND];
	struct tcp_conn *tc;
	bool no_route;

	if (leg_session_open(l) || dst == NULL || dst->family != SL_AF_INET || dst->port == 0)
		return SL_ERROR;
	if (l->state != DPDK_LEG_NONE || l->tc != NULL)
		leg_abort(l);   /* the previous backend is still closing: let it go */
	/* CONNECTING first: tcp_connect sends the SYN but calls nothing back now */
	l->state = DPDK_LEG_CONNECTING;
	tc = dpdk_tp_open(c->tp, dst, &leg_cbs, l, &no_route);
	if (tc == NULL) {
		l->state = DPDK_LEG_NONE;
		return SL_ERROR;   /* no route, or no TCB or tuple free */
	}
	set_keepalive(c->tp, tc);
	l->tc = tc;
	return SL_OK;
}

/* dpdk_health.h: a backend leg's connection, or a health check's, steered back to this lcore. */
struct tcp_conn *dpdk_tp_open(struct dpdk_tp *tp, const struct sl_addr *dst, const struct tcp_conn_cbs *cbs,
			      void *user, bool *no_route)
{
	struct dpdk_lcore_port *lp;
	struct tcp_conn *tc = NULL;
	uint32_t d, src;

	*no_route = false;
	if (dst->family != SL_AF_INET)
		return NULL;
	memcpy(&d, dst->ip, 4);
	lp = port_for_dst(tp, d);
	if (lp == NULL) {
		*no_route = true;
		return NULL;
	}
	src = lp->port->ifp.ip4;
	for (int i = 0; i < DPDK_CONNECT_TRIES && tc == NULL; i++)
		tc = tcp_connect(tp->st, SL_AF_INET, (const uint8_t *)&src,
				 next_source_port(tp, lp, src, d, dst->port), dst->ip, dst->port, cbs, user);
	return tc;
}

static void op_close(void *conn, enum sl_leg leg, bool abort)
{
	struct dpdk_conn *c = conn;
	struct dpdk_leg *l;

	if ((unsigned)leg > SL_LEG_BACKEND)
		return;
	l = &c->leg[leg];
	switch (l->state) {
	case DPDK_LEG_CONNECTING:
		leg_abort(l);
		break;
	case DPDK_LEG_OPEN:
		if (abort) {
			leg_abort(l);
		} else {
			l->state = DPDK_LEG_DRAINING;
			tw_arm(&c->tp->wheel, &l->close_timer, c->tp->rw.now_ms + DPDK_CLOSE_MS);
		}
		break;
	case DPDK_LEG_DRAINING:
	case DPDK_LEG_CLOSING:
		if (abort)
			leg_abort(l);
		break;
	default:
		break;
	}
	if (leg == SL_LEG_CLIENT)
		c->resume = true;   /* held input is taken and dropped (see settle) */
	kick(c);
}

static void op_timer(void *conn, enum sl_timer_id id, uint32_t ms)
{
	struct dpdk_conn *c = conn;

	if ((unsigned)id >= SL_TIMER_COUNT)
		return;
	if (ms == 0 || c->session == NULL)
		tw_cancel(&c->tp->wheel, &c->timer[id]);
	else
		tw_arm(&c->tp->wheel, &c->timer[id], c->tp->rw.now_ms + ms);
}

static void op_resume(void *conn)
{
	struct dpdk_conn *c = conn;

	c->resume = true;
	kick(c);
}

static int op_policy(void *conn, const struct pol_query *q, uint32_t seq)
{
	struct dpdk_conn *c = conn;
	struct dpdk_tp *tp = c->tp;

	if (tp->port == NULL || q == NULL)
		return SL_ERROR;
	if (!ctl_msg_push_query(tp->port->to_control, (uint16_t)tp->idx, c->id, seq, q)) {
		TP_INC(tp, policy_full);
		return SL_ERROR;
	}
	TP_INC(tp, policy_sent);
	tp->wake_control = true;   /* one control_wake() per loop iteration */
	return SL_OK;
}

static const struct sl_transport_ops dpdk_ops = {
	.send = op_send,
	.forward = op_forward,
	.pending = op_pending,
	.connect = op_connect,
	.close = op_close,
	.timer = op_timer,
	.resume = op_resume,
	.policy = op_policy,
};

/* ---- the lcore hooks */

static void hook_tcp_rx(struct dpdk_lcore *lc, struct dpdk_lcore_port *lp, struct rte_mbuf *m,
			const struct net_rx *rx)
{
	struct dpdk_tp *tp = lc->tp;
	struct tcp_seg_in seg = {
		.family = rx->src.family,
		.saddr = rx->src.ip,
		.daddr = rx->dst.ip,
		.tcp = rx->l4,
		.len = rx->l4_len,
		.owner = m,
	};

	(void)lp;   /* one stack per lcore: it outputs by the tuple's local address (tcp_out) */
	tcp_input(tp->st, &seg);
	/* our own reference: what the stack keeps it holds with tcp_hold */
	rte_pktmbuf_free(m);
}

static void handle_msg(struct dpdk_tp *tp, const struct ctl_msg *m)
{
	struct dpdk_conn *c;

	switch (m->type) {
	case CTL_MSG_POLICY_VERDICT:
		c = lookup(tp, m->session);
		if (c == NULL) {
			TP_INC(tp, verdicts_stale);
			return;
		}
		TP_INC(tp, verdicts);
		relay_session_verdict(c->session, m->seq, &m->u.verdict);
		kick(c);
		break;
	case CTL_MSG_HEALTH_PROBE:
		dpdk_health_probe(tp->health, m);
		break;
	default:
		if (control_worker_msg(tp->ctl, &tp->rw, m, &tp->generation))
			break;
		sl_warn("dpdk worker %u: unknown control message %u", tp->idx, m->type);
		break;
	}
}

static bool drain_ring(struct dpdk_tp *tp)
{
	struct ctl_msg m;
	bool any = false;

	if (tp->port == NULL)
		return false;
	for (int i = 0; i < DPDK_RING_BURST; i++) {
		if (!sl_ring_pop(tp->port->to_worker, &m))
			break;
		handle_msg(tp, &m);
		any = true;
	}
	return any;
}

static void abort_all(struct dpdk_tp *tp)
{
	for (uint32_t i = 0; i < tp->slots.n; i++) {
		struct dpdk_conn *c = tp->slots.s[i].conn;

		if (c == NULL || c->dead)
			continue;
		if (c->leg[0].tc != NULL || c->leg[1].tc != NULL)
			TP_INC(tp, forced_closes);
		leg_abort(&c->leg[SL_LEG_CLIENT]);
		leg_abort(&c->leg[SL_LEG_BACKEND]);
		settle(c);
	}
}

static void begin_drain(struct dpdk_tp *tp)
{
	tp->draining = true;
	tp->rw.shutting_down = true;
	tp->deadline = tp->rw.now_ms + tp->rw.cfg->shutdown_grace_ms;
	for (unsigned i = 0; i < tp->nlisten; i++)
		tcp_unlisten(tp->st, tp->lport[i]);
	for (uint32_t i = 0; i < tp->slots.n; i++) {
		struct dpdk_conn *c = tp->slots.s[i].conn;

		if (c == NULL || c->dead || c->session == NULL)
			continue;
		relay_session_shutdown(c->session);
		kick(c);
	}
}

static bool hook_poll(struct dpdk_lcore *lc, uint64_t now_ms)
{
	struct dpdk_tp *tp = lc->tp;
	struct dpdk_conn *again;
	bool work = false;

	/* No write(2) from the lcore (invariant 3): log records go to the
	 * control port's ring, written by the control thread. Set here, on the
	 * lcore's own thread, the first time it runs. */
	if (!tp->log_ring_set && tp->port != NULL && tp->port->log != NULL) {
		sl_log_set_thread_ring(tp->port->log);
		tp->log_ring_set = true;
	}
	tp->rw.now_ms = now_ms;
	tcp_advance(tp->st, now_ms);
	if (tw_advance(&tp->wheel, now_ms) > 0)
		work = true;
	if (drain_ring(tp))
		work = true;
	/* settle what asked to go on; what asks again waits one iteration */
	again = tp->again;
	tp->again = NULL;
	while (again != NULL) {
		struct dpdk_conn *c = again;

		again = c->again_next;
		c->on_again = false;
		settle(c);
		work = true;
	}
	if (!tp->draining && __atomic_load_n(&tp->dp->tp_stop, __ATOMIC_ACQUIRE))
		begin_drain(tp);
	if (tp->draining && now_ms >= tp->deadline)
		abort_all(tp);
	bury_dead(tp);
	if (tp->draining && tp->nconns == 0 && !tp->idle)
		__atomic_store_n(&tp->idle, 1, __ATOMIC_RELEASE);
	if (tp->wake_control) {
		tp->wake_control = false;
		control_wake(tp->ctl);
	}
	if (tp->ctl != NULL)
		control_worker_quiescent(tp->ctl, tp->idx, tp->generation);
	return work;
}

static const struct dpdk_hooks tp_hooks = {
	.tcp_rx = hook_tcp_rx,
	.poll = hook_poll,
};

/* ---- start, shutdown, free */

static void tp_free(struct dpdk_tp *tp)
{
	if (tp == NULL)
		return;
	if (tp->st != NULL) {
		dpdk_health_free(tp->health);
		abort_all(tp);
		/* whatever the sessions still asked for: their legs are gone */
		while (tp->again != NULL) {
			struct dpdk_conn *c = tp->again;

			tp->again = c->again_next;
			c->on_again = false;
			settle(c);
		}
		bury_dead(tp);
		tcp_stack_free(tp->st);
	}
	for (uint32_t i = 0; i < tp->slots.n; i++)
		free(tp->slots.s[i].mem);
	sl_slots_fini(&tp->slots);
	tw_fini(&tp->wheel);
	control_worker_stats_set(tp->ctl, tp->idx, NULL);   /* no scrape reads them past here */
	relay_worker_fini(&tp->rw);
	cfg_unref(tp->rw.cfg);
	free(tp);
}

/*
 * TCBs per worker for nslots session slots: max_sessions is a per-worker
 * bound (cfg.h; every lcore accepts up to it, as each kernel worker does),
 * and a session holds two TCBs, its client and its backend leg. The slots
 * already count the connections still closing after their session ended;
 * the 64 are for 421 refusals in flight past max_sessions, and
 * DPDK_HEALTH_TCBS for the backend health checks. The floor keeps
 * a small config from starving those. Each TCB has its send buffer
 * (tcp_config.snd_buf) as its bound: the stack reserves address space for
 * all of them at start, and only bytes in flight are ever resident.
 */
static uint32_t tcb_count(uint64_t nslots)
{
	uint64_t n = 2 * nslots + 64 + DPDK_HEALTH_TCBS;

	return (uint32_t)(n < DPDK_TCP_CONNS_MIN ? DPDK_TCP_CONNS_MIN : n);
}

static struct dpdk_tp *tp_new(struct dpdk_dp *dp, struct dpdk_lcore *lc, struct cfg *c, struct control *ctl,
			      struct backend_pool *pool, const uint64_t secret[2], char *err, size_t errlen)
{
	struct dpdk_tp *tp = calloc(1, sizeof(*tp));
	struct tcp_config tcfg;
	uint64_t now = rte_rdtsc() / lc->tsc_per_ms;
	uint64_t n;

	if (tp == NULL) {
		dpdk_set_err(err, errlen, "dpdk worker %u: no memory", lc->idx);
		return NULL;
	}
	tp->lc = lc;
	tp->dp = dp;
	tp->idx = lc->idx;
	tp->ctl = ctl;
	tp->rw.id = (uint16_t)lc->idx;
	tp->rw.cfg = cfg_ref(c);
	tp->rw.pool = pool;
	tp->rw.now_ms = now;
	tp->sport_lo = c->dpdk.source_port_lo;
	tp->sport_hi = c->dpdk.source_port_hi;
	tp->next_port = tp->sport_lo + (uint32_t)(rte_rand() % ((uint32_t)tp->sport_hi - tp->sport_lo + 1));
	if (tw_init(&tp->wheel, DPDK_WHEEL_SLOTS, 1, now) != 0) {
		dpdk_set_err(err, errlen, "dpdk worker %u: no memory for the timer wheel", lc->idx);
		goto fail;
	}
	/* slots: the sessions, plus room for connections still closing after theirs ended */
	n = (uint64_t)c->max_sessions + c->max_sessions / 4 + 16;
	if (n > (1u << SL_SLOT_BITS))
		n = 1u << SL_SLOT_BITS;
	if (sl_slots_init(&tp->slots, (uint16_t)lc->idx, (uint32_t)n, (uint32_t)n) != 0) {
		dpdk_set_err(err, errlen, "dpdk worker %u: no memory for %u session slots", lc->idx, (uint32_t)n);
		goto fail;
	}

	tcp_config_defaults(&tcfg);
	tcfg.max_conns = tcb_count(n);
	tcfg.max_tw = c->dpdk.time_wait_max;
	tcfg.mss = (uint16_t)(lc->nports > 0 ? lc->ports[0].port->ifp.mtu - 40 : 1460);
	/* each worker's own key, from the secret that outlives restarts (dpdk_tp_start) */
	{
		const uint64_t tag[2][2] = { { lc->idx, 0x736c2d6b6579302eull }, { lc->idx, 0x736c2d6b6579312eull } };

		tcfg.key[0] = tcp_siphash24(secret, tag[0], sizeof(tag[0]));
		tcfg.key[1] = tcp_siphash24(secret, tag[1], sizeof(tag[1]));
	}
	/* held rx mbufs (relayed DATA by reference) take at most a quarter of
	 * the pool, so RX always finds mbufs; past that the stack copies */
	tcfg.ref_max = tp->lc->pool != NULL ? tp->lc->pool->size / 4 : 0;
	dpdk_tx_setup(&tp->tx, lc, &tp->rw.now_ms);
	tp->st = tcp_stack_new(&tcfg, &dpdk_tx_tcp_ops, &tp->tx, now);
	if (tp->st == NULL) {
		dpdk_set_err(err, errlen, "dpdk worker %u: a TCP stack of %u connections (max_sessions %u: two per "
			"session and slack) with %u KiB of send buffer each, %.0f MiB: no memory; lower "
			"max_sessions", lc->idx, tcfg.max_conns, c->max_sessions, tcfg.snd_buf / 1024,
			(double)tcfg.max_conns * tcfg.snd_buf / (1024.0 * 1024.0));
		goto fail;
	}
	if (lc->idx == 0)
		sl_info("dpdk: per worker %u session slots, %u TCBs (%u KiB send bound each; the send pool "
			"reserves %.0f MiB of address space, resident only for bytes in flight), %u TIME-WAITs "
			"(%.0f MiB at most)", tp->slots.n, tcfg.max_conns, tcfg.snd_buf / 1024,
			(double)tcfg.max_conns * tcfg.snd_buf / (1024.0 * 1024.0), tcfg.max_tw,
			(double)tcfg.max_tw * (sizeof(struct tcp_tw_entry) + sizeof(uint32_t)) / (1024.0 * 1024.0));
	if (ctl != NULL) {
		tp->port = control_port(ctl, lc->idx);
		if (tp->port == NULL) {
			dpdk_set_err(err, errlen, "dpdk worker %u: the control has no port for it", lc->idx);
			goto fail;
		}
		if (tp->port->to_worker->slot_size > sizeof(struct ctl_msg) ||
		    tp->port->to_control->slot_size < sizeof(struct ctl_msg)) {
			dpdk_set_err(err, errlen, "dpdk worker %u: control ring slots of %u/%u bytes, messages of %zu",
				lc->idx, tp->port->to_worker->slot_size, tp->port->to_control->slot_size,
				sizeof(struct ctl_msg));
			goto fail;
		}
		tp->rw.lists = control_lists(ctl);
		tp->health = dpdk_health_new(&(struct dpdk_health_env){
			.tp = tp, .wheel = &tp->wheel, .now_ms = &tp->rw.now_ms,
			.to_control = tp->port->to_control, .wake_control = &tp->wake_control,
			.worker = (uint16_t)tp->idx });
		if (tp->health == NULL) {
			dpdk_set_err(err, errlen, "dpdk worker %u: no memory for health checks", lc->idx);
			goto fail;
		}
	}
	for (unsigned i = 0; i < c->nlisten; i++) {
		uint16_t port = c->listen[i].port;
		bool seen = false;

		for (unsigned k = 0; k < tp->nlisten; k++)
			seen = seen || tp->lport[k] == port;
		if (seen)
			continue;   /* one stack listens on a port for all our addresses */
		if (port == 0 || tcp_listen(tp->st, port, on_accept, tp) != SL_OK) {
			dpdk_set_err(err, errlen, "dpdk worker %u: listen on port %u: %s", lc->idx, port,
				port == 0 ? "transport dpdk needs a fixed port" : "listener table full");
			goto fail;
		}
		tp->lport[tp->nlisten++] = port;
	}
	control_worker_stats_set(ctl, lc->idx, &tp->rw.stats);
	return tp;
fail:
	tp_free(tp);
	return NULL;
}

int dpdk_tp_start(struct dpdk_dp *dp, struct cfg *c, struct control *ctl, struct backend_pool *pool,
		  char *err, size_t errlen)
{
	struct dpdk_tp *tps[DPDK_WORKER_MAX] = { 0 };
	uint64_t secret[2];
	char note[512];

	if (dp == NULL || dp->launched || c->nlisten == 0) {
		dpdk_set_err(err, errlen, "dpdk transport: %s", c->nlisten == 0 ? "no listen address" :
			"the dataplane is missing or already running");
		return SL_ERROR;
	}
	/*
	 * The TCP secret, kept until reboot: ISNs and timestamps then go on
	 * growing across a restart, and backends still holding our old tuples
	 * in TIME-WAIT accept our new SYNs at once (sl_secret.h).
	 */
	{
		uint8_t raw[SL_SECRET_LEN];

		switch (sl_secret_get(c->dpdk.tcp_secret, raw, note, sizeof(note))) {
		case SL_SECRET_KEPT:
			sl_info("dpdk: TCP secret from %s (kept until reboot)", c->dpdk.tcp_secret);
			break;
		case SL_SECRET_NEW:
			sl_info("dpdk: TCP secret made and kept in %s", c->dpdk.tcp_secret);
			break;
		default:
			if (c->dpdk.tcp_secret[0] != '\0')
				sl_warn("dpdk: TCP secret not kept (%s): a new one each start, so backends still "
					"holding this host's connections in TIME-WAIT may delay new ones after a "
					"restart", note);
			break;
		}
		memcpy(secret, raw, sizeof(secret));
	}
	/*
	 * Several workers: both legs of a session reach the lcore that owns it.
	 * A client flow's owner is its port's steering of the 4-tuple (the NIC
	 * puts it there with RSS; otherwise the lcore that received it hands it
	 * over, dpdk_lcore.c); a backend leg gets a source port whose reply the
	 * same steering gives to the opening lcore (next_source_port).
	 */
	for (unsigned w = 0; w < dp->nworkers; w++) {
		tps[w] = tp_new(dp, dp->lcores[w], c, ctl, pool, secret, err, errlen);
		if (tps[w] == NULL) {
			for (unsigned k = 0; k < w; k++)
				tp_free(tps[k]);
			return SL_ERROR;
		}
	}
	__atomic_store_n(&dp->tp_stop, 0, __ATOMIC_RELAXED);
	for (unsigned w = 0; w < dp->nworkers; w++) {
		dp->lcores[w]->tp = tps[w];
		dp->lcores[w]->hooks = &tp_hooks;
	}
	return SL_OK;
}

void dpdk_tp_shutdown(struct dpdk_dp *dp)
{
	if (dp != NULL)
		__atomic_store_n(&dp->tp_stop, 1, __ATOMIC_RELEASE);
}

bool dpdk_tp_idle(const struct dpdk_dp *dp)
{
	for (unsigned w = 0; dp != NULL && w < dp->nworkers; w++) {
		const struct dpdk_tp *tp = dp->lcores[w]->tp;

		if (tp != NULL && !__atomic_load_n(&tp->idle, __ATOMIC_ACQUIRE))
			return false;
	}
	return true;
}

void dpdk_tp_free(struct dpdk_dp *dp)
{
	if (dp == NULL || dp->launched)
		return;   /* never under a running worker */
	for (unsigned w = 0; w < dp->nworkers; w++) {
		struct dpdk_lcore *lc = dp->lcores[w];

		if (lc->tp == NULL)
			continue;
		tp_free(lc->tp);
		lc->tp = NULL;
		lc->hooks = NULL;
	}
}

void dpdk_tp_get_stats(const struct dpdk_dp *dp, struct dpdk_tp_stats *out)
{
	struct dpdk_stats ds;

	memset(out, 0, sizeof(*out));
	if (dp != NULL) {
		dpdk_stats_total(dp, &ds);
		out->handed_over = ds.ho_out;
		out->handover_drops = ds.ho_drop;
	}
	for (unsigned w = 0; dp != NULL && w < dp->nworkers; w++) {
		const struct dpdk_tp *tp = dp->lcores[w]->tp;

		if (tp == NULL)
			continue;
#define TP_SUM(f) out->f += __atomic_load_n(&tp->stats.f, __ATOMIC_RELAXED)
		TP_SUM(accepted);
		TP_SUM(rejected_busy);
		TP_SUM(conns);
		TP_SUM(policy_sent);
		TP_SUM(policy_full);
		TP_SUM(verdicts);
		TP_SUM(verdicts_stale);
		TP_SUM(forced_closes);
		TP_SUM(connect_fail);
#undef TP_SUM
	}
}

int dpdk_tp_worker_stats(const struct dpdk_dp *dp, unsigned w, struct dpdk_tp_stats *out,
			 const struct tcp_counters **tcp)
{
	const struct dpdk_tp *tp;
	struct dpdk_stats ds;

	memset(out, 0, sizeof(*out));
	*tcp = NULL;
	if (dp == NULL || w >= dp->nworkers || (tp = dp->lcores[w]->tp) == NULL ||
	    dpdk_stats_read(dp, w, &ds) != SL_OK)
		return SL_DECLINED;
	out->handed_over = ds.ho_out;
	out->handover_drops = ds.ho_drop;
#define TP_ONE(f) out->f = __atomic_load_n(&tp->stats.f, __ATOMIC_RELAXED)
	TP_ONE(accepted);
	TP_ONE(rejected_busy);
	TP_ONE(conns);
	TP_ONE(policy_sent);
	TP_ONE(policy_full);
	TP_ONE(verdicts);
	TP_ONE(verdicts_stale);
	TP_ONE(forced_closes);
	TP_ONE(connect_fail);
#undef TP_ONE
	*tcp = &tp->st->cnt;
	return SL_OK;
}
