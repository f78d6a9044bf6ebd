/* kt_conn.c - one connection of the kernel transport: the client and backend
 * sockets of a session, their buffers, and the sl_transport_ops it drives. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "control_msg.h"
#include "kt_conn.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

#define container_of(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))

static const struct sl_transport_ops kt_ops;

/* ---- output buffers */

static void buf_release(struct kt_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

/* Append n bytes, all or nothing; SL_ERROR past KT_OUT_MAX or on no memory. */
static int buf_append(struct kt_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return SL_OK;
	if (n > KT_OUT_MAX - b->len)
		return SL_ERROR;
	if (b->off + b->len + n > b->cap) {
		if (b->off > 0) {
			memmove(b->data, b->data + b->off, b->len);
			b->off = 0;
		}
		if (b->len + n > b->cap) {
			uint32_t cap = b->cap ? b->cap : KT_OUT_MIN_CAP;
			uint8_t *d;

			while (cap < b->len + n)
				cap *= 2;
			if (cap > KT_OUT_MAX)
				cap = KT_OUT_MAX;
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

static void buf_consume(struct kt_buf *b, size_t n)
{
	b->off += (uint32_t)n;
	b->len -= (uint32_t)n;
	if (b->len == 0) {
		b->off = 0;
		/* a burst left a big buffer behind: do not keep it for an idle session */
		if (b->cap > KT_OUT_KEEP)
			buf_release(b);
	}
}

/* ---- legs */

static bool leg_session_open(const struct kt_leg *l)
{
	return l->state == KT_LEG_OPEN || l->state == KT_LEG_CONNECTING;
}

/* Drop the fd; abort sends an RST (SO_LINGER 0) so the peer knows the bytes
 * it sent may not have been read. Queued output is dropped. */
static void leg_drop(struct kt_conn *c, struct kt_leg *l, bool abort)
{
	if (l->fd >= 0) {
		if (abort) {
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };
			setsockopt(l->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		/* close() also takes the fd out of the epoll set (never dup'ed) */
		close(l->fd);
	}
	l->fd = -1;
	l->events = 0;
	l->state = KT_LEG_NONE;
	l->above_mark = false;
	l->watched = false;
	l->peer_eof = false;
	buf_release(&l->out);
	tw_cancel(&c->w->wheel, &l->close_timer);
}

/* Start a graceful close: flush, FIN, linger; bounded by close_timer. */
static void leg_start_drain(struct kt_conn *c, struct kt_leg *l)
{
	l->state = KT_LEG_DRAINING;
	tw_arm(&c->w->wheel, &l->close_timer, c->w->rw.now_ms + KT_CLOSE_MS);
	if (l == &c->leg[SL_LEG_CLIENT])
		c->in_len = 0;   /* input after the end of the session is never read */
}

/* The epoll mask a leg should have now: reading pauses while the client's
 * input buffer is full or output piles up (the back-pressure), writing is
 * watched only while output is queued. */
static uint32_t leg_want(const struct kt_conn *c, enum sl_leg leg)
{
	const struct kt_leg *l = &c->leg[leg];
	bool out_high = c->leg[SL_LEG_CLIENT].out.len >= KT_OUT_MARK;
	uint32_t ev = 0;

	switch (l->state) {
	case KT_LEG_CONNECTING:
		return EPOLLOUT;
	case KT_LEG_OPEN:
		if (leg == SL_LEG_CLIENT) {
			out_high = out_high || c->leg[SL_LEG_BACKEND].out.len >= KT_OUT_MARK;
			if (c->in_len < KT_IN_SIZE && !out_high)
				ev |= EPOLLIN;
		} else if (!out_high) {
			ev |= EPOLLIN;
		}
		if (l->out.len > 0)
			ev |= EPOLLOUT;
		return ev;
	case KT_LEG_DRAINING:
		return l->out.len > 0 ? EPOLLOUT : 0;
	case KT_LEG_LINGER:
		return EPOLLIN;
	default:
		return 0;
	}
}

static void leg_update_events(struct kt_conn *c, enum sl_leg leg)
{
	struct kt_leg *l = &c->leg[leg];

	if (l->fd >= 0)
		kt_worker_epoll(c->w, l->fd, &l->h, &l->events, leg_want(c, leg));
}

/*
 * Write what is queued on a leg. When the peer reset it, an OPEN leg is
 * dropped and the session told: returns true then (the session ran).
 */
static bool leg_flush(struct kt_conn *c, enum sl_leg leg)
{
	struct kt_leg *l = &c->leg[leg];

	if (l->fd < 0 || (l->state != KT_LEG_OPEN && l->state != KT_LEG_DRAINING))
		return false;
	while (l->out.len > 0) {
		ssize_t n = send(l->fd, l->out.data + l->out.off, l->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			buf_consume(&l->out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		/* EPIPE, ECONNRESET, ETIMEDOUT...: the leg is gone */
		bool was_open = l->state == KT_LEG_OPEN;
		leg_drop(c, l, true);
		if (!was_open || c->session == NULL)
			return false;
		relay_session_leg_closed(c->session, leg, true);
		return true;
	}
	return false;
}

/* A DRAINING leg whose output is out: FIN, then linger for the peer's EOF
 * (or close at once if it already sent one). */
static void leg_finish_drain(struct kt_conn *c, struct kt_leg *l)
{
	if (l->state != KT_LEG_DRAINING || l->out.len > 0)
		return;
	if (l->peer_eof || shutdown(l->fd, SHUT_WR) != 0) {
		leg_drop(c, l, false);
		return;
	}
	l->state = KT_LEG_LINGER;
}

/* ---- the session's view */

/* Offer the buffered client input; keep what the session leaves. */
static void offer_input(struct kt_conn *c)
{
	struct sl_rx rx = { .data = c->in, .len = c->in_len, .owner = NULL };
	size_t n;

	if (c->session == NULL || c->in_len == 0 || c->leg[SL_LEG_CLIENT].state != KT_LEG_OPEN)
		return;
	n = relay_session_client_input(c->session, &rx);
	/* the session may have closed the leg meanwhile: input is then dropped */
	if (c->leg[SL_LEG_CLIENT].state != KT_LEG_OPEN) {
		c->in_len = 0;
		return;
	}
	if (n >= c->in_len) {
		c->in_len = 0;
	} else if (n > 0) {
		memmove(c->in, c->in + n, c->in_len - n);
		c->in_len -= (uint32_t)n;
	}
}

/* Both legs closed for the session: it ends; the fds may still be draining. */
static void maybe_free_session(struct kt_conn *c)
{
	struct relay_session *s = c->session;

	if (s == NULL || leg_session_open(&c->leg[SL_LEG_CLIENT]) ||
	    leg_session_open(&c->leg[SL_LEG_BACKEND]))
		return;
	for (int i = 0; i < SL_TIMER_COUNT; i++)
		tw_cancel(&c->w->wheel, &c->timer[i]);
	/* NULL first: what the session does while it frees must not reach it again */
	c->session = NULL;
	c->resume = false;
	relay_session_free(s);
}

static void maybe_bury(struct kt_conn *c)
{
	if (c->dead || c->session != NULL || c->leg[0].fd >= 0 || c->leg[1].fd >= 0)
		return;
	c->dead = true;
	kt_worker_slot_free(c->w, c);
	c->dead_next = c->w->dead;
	c->w->dead = c;
	c->w->nconns--;
	atomic_store_explicit(&c->w->stats.conns, c->w->nconns, memory_order_relaxed);
}

/*
 * kt_conn_settle - after anything called into the session: write what it
 * queued, tell it about drained output, re-offer input it asked for, finish
 * closes, and free the session once both legs are closed. Sessions never see
 * these calls re-entrantly: ops only set state, this runs from the loop.
 * A few passes at most, so a session that keeps asking cannot starve the
 * worker: the rest waits on the again list for the next iteration.
 */
void kt_conn_settle(struct kt_conn *c)
{
	bool again = false;

	if (c->dead)
		return;
	for (int pass = 0; pass < 4; pass++) {
		again = leg_flush(c, SL_LEG_CLIENT);
		again = leg_flush(c, SL_LEG_BACKEND) || again;
		for (int leg = 0; leg < 2; leg++) {
			struct kt_leg *l = &c->leg[leg];

			bool below = l->above_mark && l->out.len < KT_OUT_MARK;
			bool empty = l->watched && l->out.len == 0;

			if (!below && !empty)
				continue;
			l->above_mark = false;
			l->watched = false;
			if (c->session != NULL && leg_session_open(l)) {
				relay_session_writable(c->session, (enum sl_leg)leg);
				again = true;
			}
		}
		if (c->resume) {
			c->resume = false;
			if (c->session != NULL && c->in_len > 0 &&
			    c->leg[SL_LEG_CLIENT].state == KT_LEG_OPEN) {
				offer_input(c);
				again = true;
			}
		}
		if (!again)
			break;
	}
	if (again)
		kt_worker_again(c->w, c);
	leg_finish_drain(c, &c->leg[SL_LEG_CLIENT]);
	leg_finish_drain(c, &c->leg[SL_LEG_BACKEND]);
	leg_update_events(c, SL_LEG_CLIENT);
	leg_update_events(c, SL_LEG_BACKEND);
	maybe_free_session(c);
	maybe_bury(c);
}

/* ---- events */

static void connect_done(struct kt_conn *c, uint32_t events)
{
	struct kt_leg *l = &c->leg[SL_LEG_BACKEND];
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err == 0 && (events & (EPOLLERR | EPOLLHUP)))
		err = ECONNREFUSED;
	if (err != 0) {
		leg_drop(c, l, false);
		relay_session_backend_connected(c->session, false);
		return;
	}
	l->state = KT_LEG_OPEN;
	relay_session_backend_connected(c->session, true);
}

/* The peer ended a leg the session had open: EOF or reset. */
static void peer_closed(struct kt_conn *c, enum sl_leg leg, bool reset)
{
	struct kt_leg *l = &c->leg[leg];

	if (reset) {
		leg_drop(c, l, false);
	} else {
		/* what the session queued before it hears of the EOF still goes out */
		l->peer_eof = true;
		leg_start_drain(c, l);
	}
	relay_session_leg_closed(c->session, leg, reset);
}

static void read_client(struct kt_conn *c)
{
	struct kt_leg *l = &c->leg[SL_LEG_CLIENT];
	ssize_t n;

	if (c->in_len >= KT_IN_SIZE)
		return;   /* full: EPOLLIN goes off in settle */
	n = recv(l->fd, c->in + c->in_len, KT_IN_SIZE - c->in_len, 0);
	if (n > 0) {
		c->in_len += (uint32_t)n;
		offer_input(c);
	} else if (n == 0) {
		peer_closed(c, SL_LEG_CLIENT, false);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		peer_closed(c, SL_LEG_CLIENT, true);
	}
}

static void read_backend(struct kt_conn *c)
{
	struct kt_leg *l = &c->leg[SL_LEG_BACKEND];
	ssize_t n = recv(l->fd, c->w->rbuf, sizeof(c->w->rbuf), 0);

	if (n > 0) {
		struct sl_rx rx = { .data = c->w->rbuf, .len = (uint32_t)n, .owner = NULL };
		relay_session_backend_input(c->session, &rx);
	} else if (n == 0) {
		peer_closed(c, SL_LEG_BACKEND, false);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		peer_closed(c, SL_LEG_BACKEND, true);
	}
}

/* LINGER: discard until EOF; the close timer bounds a peer that never ends. */
static void read_linger(struct kt_conn *c, struct kt_leg *l)
{
	ssize_t n = recv(l->fd, c->w->rbuf, sizeof(c->w->rbuf), 0);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		leg_drop(c, l, false);
}

void kt_conn_event(struct kt_conn *c, enum sl_leg leg, uint32_t events)
{
	struct kt_leg *l = &c->leg[leg];

	/* stale: the conn ended, or its backend fd was replaced, in this batch */
	if (c->dead || l->fd < 0 || l->opened_iter == c->w->iter)
		return;
	switch (l->state) {
	case KT_LEG_CONNECTING:
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			connect_done(c, events);
		break;
	case KT_LEG_OPEN:
		/* EPOLLOUT needs nothing here: settle flushes */
		if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
			if (c->session == NULL)
				break;
			if (leg == SL_LEG_CLIENT)
				read_client(c);
			else
				read_backend(c);
		}
		break;
	case KT_LEG_DRAINING:
		if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLOUT))
			leg_drop(c, l, false);
		break;
	case KT_LEG_LINGER:
		read_linger(c, l);
		break;
	default:
		break;
	}
	kt_conn_settle(c);
}

/* ---- timers */

static void session_timer(struct kt_conn *c, enum sl_timer_id id)
{
	if (c->session == NULL)
		return;
	relay_session_timer(c->session, id);
	kt_conn_settle(c);
}

static void timer_client_fn(struct tw_timer *t)
{
	session_timer(container_of(t, struct kt_conn, timer[SL_TIMER_CLIENT]), SL_TIMER_CLIENT);
}

static void timer_backend_fn(struct tw_timer *t)
{
	session_timer(container_of(t, struct kt_conn, timer[SL_TIMER_BACKEND]), SL_TIMER_BACKEND);
}

static void timer_policy_fn(struct tw_timer *t)
{
	session_timer(container_of(t, struct kt_conn, timer[SL_TIMER_POLICY]), SL_TIMER_POLICY);
}

/* A graceful close took too long (peer not reading, or never sending EOF). */
static void close_timeout(struct kt_conn *c, enum sl_leg leg)
{
	struct kt_leg *l = &c->leg[leg];

	if (l->state == KT_LEG_DRAINING || l->state == KT_LEG_LINGER) {
		KT_STAT_INC(c->w, forced_closes);
		leg_drop(c, l, true);
	}
	kt_conn_settle(c);
}

static void close_client_fn(struct tw_timer *t)
{
	close_timeout(container_of(t, struct kt_conn, leg[SL_LEG_CLIENT].close_timer), SL_LEG_CLIENT);
}

static void close_backend_fn(struct tw_timer *t)
{
	close_timeout(container_of(t, struct kt_conn, leg[SL_LEG_BACKEND].close_timer), SL_LEG_BACKEND);
}

/* ---- accept, abort, destroy */

static void leg_init(struct kt_leg *l, enum sl_leg leg, tw_fn close_fn)
{
	memset(l, 0, sizeof(*l));
	l->h.kind = KT_H_LEG;
	l->h.leg = (uint8_t)leg;
	l->fd = -1;
	tw_timer_init(&l->close_timer, close_fn);
}

static size_t session_room(void)
{
	size_t a = alignof(max_align_t);
	return (relay_session_size() + a - 1) / a * a;
}

/* tcp_keepalive of the config: the kernel's probes on fd (failures leave it off: nothing to lose). */
static void set_keepalive(int fd, const struct cfg *cf)
{
	int on = 1, idle, intvl, cnt;

	if (cf->keepalive_idle_ms == 0)
		return;
	idle = (int)(cf->keepalive_idle_ms / 1000);
	intvl = (int)(cf->keepalive_intvl_ms / 1000);
	cnt = (int)cf->keepalive_probes;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

void kt_conn_accept(struct kt_worker *w, int fd, const struct sockaddr_storage *peer)
{
	struct relay_session_params p;
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	struct relay_session *s;
	struct kt_conn *c;
	int one = 1;

	memset(&p, 0, sizeof(p));
	sl_addr_from_sockaddr(&p.client, (const struct sockaddr *)peer);
	if (getsockname(fd, (struct sockaddr *)&local, &len) == 0)
		sl_addr_from_sockaddr(&p.local, (struct sockaddr *)&local);
	/* replies are small and already batched per event by the output buffer */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_keepalive(fd, w->rw.cfg);

	c = malloc(sizeof(*c) + session_room() + KT_IN_SIZE);
	if (c == NULL) {
		sl_warn("kernel worker %u: no memory for a connection", w->idx);
		close(fd);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->w = w;
	c->in = c->mem + session_room();
	leg_init(&c->leg[SL_LEG_CLIENT], SL_LEG_CLIENT, close_client_fn);
	leg_init(&c->leg[SL_LEG_BACKEND], SL_LEG_BACKEND, close_backend_fn);
	tw_timer_init(&c->timer[SL_TIMER_CLIENT], timer_client_fn);
	tw_timer_init(&c->timer[SL_TIMER_BACKEND], timer_backend_fn);
	tw_timer_init(&c->timer[SL_TIMER_POLICY], timer_policy_fn);
	if (kt_worker_slot_alloc(w, c) != 0) {
		close(fd);
		free(c);
		return;
	}
	c->leg[SL_LEG_CLIENT].fd = fd;
	c->leg[SL_LEG_CLIENT].state = KT_LEG_OPEN;
	w->nconns++;
	atomic_store_explicit(&w->stats.conns, w->nconns, memory_order_relaxed);
	KT_STAT_INC(w, accepted);
	w->rw.next_id++;

	p.id = c->id;
	/* ops called from inside start already need the session pointer */
	c->session = (struct relay_session *)(void *)c->mem;
	s = relay_session_start(c->mem, &w->rw, &p, &kt_ops, c);
	if (s == NULL) {
		/* not started: nothing to free on the session side */
		c->session = NULL;
		for (int i = 0; i < SL_TIMER_COUNT; i++)
			tw_cancel(&w->wheel, &c->timer[i]);
		leg_drop(c, &c->leg[SL_LEG_BACKEND], true);
		leg_drop(c, &c->leg[SL_LEG_CLIENT], true);
	} else {
		c->session = s;
	}
	kt_conn_settle(c);
}

/* Grace is over (or the worker is going away): reset both legs, end the session. */
void kt_conn_abort(struct kt_conn *c)
{
	if (c->dead)
		return;
	if (c->leg[0].fd >= 0 || c->leg[1].fd >= 0)
		KT_STAT_INC(c->w, forced_closes);
	leg_drop(c, &c->leg[SL_LEG_CLIENT], true);
	leg_drop(c, &c->leg[SL_LEG_BACKEND], true);
	kt_conn_settle(c);
}

/* Release the memory of a dead conn (end of the loop iteration). */
void kt_conn_destroy(struct kt_conn *c)
{
	buf_release(&c->leg[0].out);
	buf_release(&c->leg[1].out);
	free(c);
}

/* ---- sl_transport_ops */

static int op_send(void *conn, enum sl_leg leg, const void *buf, size_t len)
{
	struct kt_conn *c = conn;
	struct kt_leg *l;

	if ((unsigned)leg > SL_LEG_BACKEND)
		return SL_ERROR;
	l = &c->leg[leg];
	if (!leg_session_open(l) || buf_append(&l->out, buf, len) != SL_OK)
		return SL_ERROR;
	if (l->out.len >= KT_OUT_MARK)
		l->above_mark = true;
	return SL_OK;
}

static int op_forward(void *conn, enum sl_leg to, const struct sl_rx *rx, uint32_t off, uint32_t len)
{
	if (rx == NULL || off > rx->len || len > rx->len - off)
		return SL_ERROR;
	/* kernel sockets: the copy into the output buffer is the forward */
	return op_send(conn, to, rx->data + off, len);
}

static size_t op_pending(void *conn, enum sl_leg leg)
{
	struct kt_conn *c = conn;
	struct kt_leg *l;

	if ((unsigned)leg > SL_LEG_BACKEND)
		return 0;
	l = &c->leg[leg];
	/* the session is looking at back-pressure: tell it when this is written */
	if (l->out.len > 0)
		l->watched = true;
	return l->out.len;
}

static int op_connect(void *conn, const struct sl_addr *dst)
{
	struct kt_conn *c = conn;
	struct kt_leg *l = &c->leg[SL_LEG_BACKEND];
	struct sockaddr_storage ss;
	unsigned sslen;
	int fd, one = 1;

	if (leg_session_open(l) || sl_addr_to_sockaddr(dst, &ss, &sslen) != 0)
		return SL_ERROR;
	if (l->fd >= 0) {
		/* the previous backend is still closing: one last try, then let it go */
		leg_flush(c, SL_LEG_BACKEND);
		leg_drop(c, l, false);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return SL_ERROR;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_keepalive(fd, c->w->rw.cfg);
	if (connect(fd, (struct sockaddr *)&ss, sslen) != 0 && errno != EINPROGRESS) {
		close(fd);
		return SL_ERROR;
	}
	/* even a connect that finished at once is reported from the loop */
	l->fd = fd;
	l->state = KT_LEG_CONNECTING;
	l->events = 0;
	l->opened_iter = c->w->iter;
	l->peer_eof = false;
	kt_worker_epoll(c->w, fd, &l->h, &l->events, EPOLLOUT);
	return SL_OK;
}

static void op_close(void *conn, enum sl_leg leg, bool abort)
{
	struct kt_conn *c = conn;
	struct kt_leg *l;

	if ((unsigned)leg > SL_LEG_BACKEND)
		return;
	l = &c->leg[leg];
	switch (l->state) {
	case KT_LEG_CONNECTING:
		leg_drop(c, l, false);
		break;
	case KT_LEG_OPEN:
		if (abort)
			leg_drop(c, l, true);
		else
			leg_start_drain(c, l);
		break;
	case KT_LEG_DRAINING:
	case KT_LEG_LINGER:
		if (abort)
			leg_drop(c, l, true);
		break;
	default:
		break;
	}
	if (leg == SL_LEG_CLIENT)
		c->in_len = 0;
}

static void op_timer(void *conn, enum sl_timer_id id, uint32_t ms)
{
	struct kt_conn *c = conn;

	if ((unsigned)id >= SL_TIMER_COUNT)
		return;
	if (ms == 0 || c->session == NULL)
		tw_cancel(&c->w->wheel, &c->timer[id]);
	else
		tw_arm(&c->w->wheel, &c->timer[id], c->w->rw.now_ms + ms);
}

static void op_resume(void *conn)
{
	struct kt_conn *c = conn;

	c->resume = true;
}

static int op_policy(void *conn, const struct pol_query *q, uint32_t seq)
{
	struct kt_conn *c = conn;
	struct kt_worker *w = c->w;

	if (w->port == NULL || q == NULL)
		return SL_ERROR;
	if (!ctl_msg_push_query(w->port->to_control, (uint16_t)w->idx, c->id, seq, q)) {
		KT_STAT_INC(w, policy_full);
		return SL_ERROR;
	}
	KT_STAT_INC(w, policy_sent);
	w->wake_control = true;   /* one control_wake() per loop iteration */
	return SL_OK;
}

static const struct sl_transport_ops kt_ops = {
	.send = op_send,
	.forward = op_forward,
	.pending = op_pending,
	.connect = op_connect,
	.close = op_close,
	.timer = op_timer,
	.resume = op_resume,
	.policy = op_policy,
};
