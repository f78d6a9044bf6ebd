/* fake_session.c - a line-based stand-in for relay_session and control, so the
 * kernel transport is tested over real sockets without the SMTP engine. */
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "fake.h"
#include "kernel/kt_conn.h"
#include "relay/relay_session.h"
#include "util/sl_clock.h"
#include "util/sl_status.h"

#define FAKE_HIGH_WATER (200u * 1024)

struct fake_counters fake;

void fake_reset(void)
{
	memset(&fake, 0, sizeof(fake));
}

struct relay_session {
	struct relay_worker           *w;
	const struct sl_transport_ops *ops;
	void                          *conn;
	struct cfg                    *cfg;
	pthread_t                      thread;
	uint64_t                       id;
	struct sl_addr                 client;
	uint32_t                       seq;
	bool                           waiting;     /* for a verdict */
	bool                           blocked;     /* for the backend to drain */
	bool                           backend_up;
	bool                           client_open;
	bool                           busy;
};

static void check_thread(struct relay_session *s)
{
	if (!pthread_equal(s->thread, pthread_self()))
		atomic_fetch_add(&fake.wrong_worker, 1);
}

static void say(struct relay_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct relay_session *s, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	if (!s->client_open)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	memcpy(line + n, "\r\n", 2);
	s->ops->send(s->conn, SL_LEG_CLIENT, line, (size_t)n + 2);
}

static void end_session(struct relay_session *s, bool abort)
{
	if (s->backend_up || abort)
		s->ops->close(s->conn, SL_LEG_BACKEND, abort);
	s->backend_up = false;
	s->ops->close(s->conn, SL_LEG_CLIENT, abort);
	s->client_open = false;
}

size_t relay_session_size(void)
{
	return sizeof(struct relay_session);
}

struct relay_session *relay_session_start(void *mem, struct relay_worker *w,
					  const struct relay_session_params *p,
					  const struct sl_transport_ops *ops, void *conn)
{
	struct relay_session *s = mem;

	memset(s, 0, sizeof(*s));
	s->w = w;
	s->ops = ops;
	s->conn = conn;
	s->cfg = cfg_ref(w->cfg);
	s->thread = pthread_self();
	s->id = p->id;
	s->client = p->client;
	s->client_open = true;
	w->sessions++;
	atomic_fetch_add(&fake.starts, 1);
	say(s, "220 fake");
	return s;
}

uint64_t relay_session_id(const struct relay_session *s)
{
	return s->id;
}

/* One command line (without its newline). Returns false to stop consuming
 * input after it (the session waits for something). */
static bool command(struct relay_session *s, const char *line)
{
	if (strcmp(line, "PING") == 0) {
		say(s, "250 pong");
	} else if (strncmp(line, "BACKEND ", 8) == 0) {
		struct sl_addr a;
		if (sl_addr_parse(line + 8, &a, true) != 0 || s->ops->connect(s->conn, &a) != SL_OK)
			say(s, "451 connect failed");
	} else if (strcmp(line, "CLOSEBE") == 0) {
		s->ops->close(s->conn, SL_LEG_BACKEND, false);
		s->backend_up = false;
		say(s, "250 backend closed");
	} else if (strcmp(line, "POLICY") == 0) {
		struct pol_query q;
		memset(&q, 0, sizeof(q));
		q.stage = POL_STAGE_CONNECT;
		q.client = s->client;
		if (s->ops->policy(s->conn, &q, ++s->seq) != SL_OK) {
			say(s, "451 policy ring full");
			return true;
		}
		s->waiting = true;
		return false;
	} else if (strncmp(line, "TIMER ", 6) == 0 && (line[6] == 'c' || line[6] == 'b')) {
		s->ops->timer(s->conn, line[6] == 'c' ? SL_TIMER_CLIENT : SL_TIMER_BACKEND,
			      (uint32_t)strtoul(line + 8, NULL, 10));
		say(s, "250 armed");
	} else if (strcmp(line, "BUSY") == 0) {
		s->busy = true;
		say(s, "250 busy");
	} else if (strcmp(line, "QUIT") == 0) {
		say(s, "221 bye");
		end_session(s, false);
		return false;
	} else if (strcmp(line, "ABORT") == 0) {
		end_session(s, true);
		return false;
	} else {
		say(s, "500 what");
	}
	return true;
}

size_t relay_session_client_input(struct relay_session *s, const struct sl_rx *rx)
{
	size_t done = 0;

	check_thread(s);
	while (done < rx->len && s->client_open && !s->waiting && !s->blocked) {
		const uint8_t *nl = memchr(rx->data + done, '\n', rx->len - done);
		size_t len;

		if (nl == NULL)
			break;
		len = (size_t)(nl - (rx->data + done)) + 1;
		/* data lines go to the backend unchanged; commands are upper case */
		if (s->backend_up && !(rx->data[done] >= 'A' && rx->data[done] <= 'Z')) {
			/* a threshold of its own, below the transport's mark (as the relay has) */
			if (s->ops->pending(s->conn, SL_LEG_BACKEND) >= FAKE_HIGH_WATER) {
				s->blocked = true;
				atomic_fetch_add(&fake.blocks, 1);
				break;
			}
			if (s->ops->forward(s->conn, SL_LEG_BACKEND, rx, (uint32_t)done, (uint32_t)len) != SL_OK)
				atomic_fetch_add(&fake.forward_errors, 1);
			size_t p = s->ops->pending(s->conn, SL_LEG_BACKEND);
			size_t m = atomic_load(&fake.max_pending);
			while (p > m && !atomic_compare_exchange_weak(&fake.max_pending, &m, p))
				;
			done += len;
			continue;
		}
		char line[512];
		size_t n = len > sizeof(line) ? sizeof(line) - 1 : len;
		memcpy(line, rx->data + done, n);
		line[n] = '\0';
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		done += len;
		if (!command(s, line))
			break;
	}
	return done;
}

void relay_session_backend_input(struct relay_session *s, const struct sl_rx *rx)
{
	check_thread(s);
	if (!s->client_open)
		return;
	if (s->ops->forward(s->conn, SL_LEG_CLIENT, rx, 0, rx->len) != SL_OK)
		atomic_fetch_add(&fake.forward_errors, 1);
	size_t p = s->ops->pending(s->conn, SL_LEG_CLIENT);
	size_t m = atomic_load(&fake.max_pending_client);
	while (p > m && !atomic_compare_exchange_weak(&fake.max_pending_client, &m, p))
		;
}

void relay_session_backend_connected(struct relay_session *s, bool ok)
{
	check_thread(s);
	s->backend_up = ok;
	say(s, ok ? "250 backend up" : "451 backend down");
}

void relay_session_leg_closed(struct relay_session *s, enum sl_leg leg, bool reset)
{
	check_thread(s);
	if (leg == SL_LEG_CLIENT) {
		atomic_fetch_add(reset ? &fake.client_reset : &fake.client_eof, 1);
		s->client_open = false;
		if (s->backend_up)
			s->ops->close(s->conn, SL_LEG_BACKEND, true);
		s->backend_up = false;
	} else {
		atomic_fetch_add(reset ? &fake.backend_reset : &fake.backend_eof, 1);
		s->backend_up = false;
		say(s, "421 backend lost %d", reset);
	}
}

void relay_session_writable(struct relay_session *s, enum sl_leg leg)
{
	check_thread(s);
	if (leg == SL_LEG_BACKEND && s->blocked) {
		s->blocked = false;
		s->ops->resume(s->conn);
	}
}

void relay_session_timer(struct relay_session *s, enum sl_timer_id id)
{
	check_thread(s);
	say(s, "250 timer %c", id == SL_TIMER_CLIENT ? 'c' : 'b');
}

void relay_session_verdict(struct relay_session *s, uint32_t seq, const struct pol_verdict *v)
{
	check_thread(s);
	say(s, "250 verdict %u %u %u", seq, v->action, v->code);
	s->waiting = false;
	s->ops->resume(s->conn);
}

void relay_session_shutdown(struct relay_session *s)
{
	check_thread(s);
	atomic_fetch_add(&fake.shutdowns, 1);
	if (s->busy)
		return;
	say(s, "421 4.3.2 shutting down");
	end_session(s, false);
}

void relay_session_free(struct relay_session *s)
{
	check_thread(s);
	s->w->sessions--;
	cfg_unref(s->cfg);
	atomic_fetch_add(&fake.frees, 1);
}

/* ---- the fake control */

struct control {
	unsigned             n;
	struct control_port *ports;
	int                  efd;
	pthread_mutex_t      lock;      /* only guards cfg: the test thread and the workers */
	struct cfg          *cfg;
	_Atomic unsigned     wakes;
	_Atomic uint64_t    *quiescent;
};

struct control *fake_control_new(struct cfg *c, unsigned nworkers, uint32_t ring_size)
{
	struct control *ctl = calloc(1, sizeof(*ctl));

	ctl->n = nworkers;
	ctl->ports = calloc(nworkers, sizeof(*ctl->ports));
	ctl->quiescent = calloc(nworkers, sizeof(*ctl->quiescent));
	ctl->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ctl->cfg = cfg_ref(c);
	pthread_mutex_init(&ctl->lock, NULL);
	for (unsigned i = 0; i < nworkers; i++) {
		ctl->ports[i].to_control = sl_ring_create(ring_size, sizeof(struct ctl_msg));
		ctl->ports[i].to_worker = sl_ring_create(ring_size, sizeof(struct ctl_msg));
		ctl->ports[i].worker_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	}
	return ctl;
}

void fake_control_free(struct control *ctl)
{
	for (unsigned i = 0; i < ctl->n; i++) {
		sl_ring_free(ctl->ports[i].to_control);
		sl_ring_free(ctl->ports[i].to_worker);
		close(ctl->ports[i].worker_efd);
	}
	close(ctl->efd);
	cfg_unref(ctl->cfg);
	pthread_mutex_destroy(&ctl->lock);
	free(ctl->ports);
	free((void *)ctl->quiescent);
	free(ctl);
}

struct control_port *control_port(struct control *ctl, unsigned worker)
{
	return worker < ctl->n ? &ctl->ports[worker] : NULL;
}

void control_wake(struct control *ctl)
{
	uint64_t one = 1;

	atomic_fetch_add(&ctl->wakes, 1);
	if (write(ctl->efd, &one, sizeof(one)) < 0)
		return;
}

struct cfg *control_cfg_ref(struct control *ctl)
{
	struct cfg *c;

	pthread_mutex_lock(&ctl->lock);
	c = cfg_ref(ctl->cfg);
	pthread_mutex_unlock(&ctl->lock);
	return c;
}

const struct pol_snapshot *control_lists(struct control *ctl)
{
	return NULL;
}

void control_worker_quiescent(struct control *ctl, unsigned worker, uint64_t g)
{
	if (worker < ctl->n)
		atomic_store(&ctl->quiescent[worker], g);
}

/* The fake sessions keep no backend-leg cache. */
void relay_worker_fini(struct relay_worker *w)
{
	(void)w;
}

/* The outcome counters' registry is tested with the real control (tests/unit/session). */
void control_worker_stats_set(struct control *ctl, unsigned worker, const struct relay_stats *st)
{
	(void)ctl;
	(void)worker;
	(void)st;
}

/* The sessions command is tested with the real control and session. */
void control_worker_sessions(struct control *ctl, struct relay_worker *rw, const struct ctl_msg *m)
{
}

void fake_control_set_cfg(struct control *ctl, struct cfg *c)
{
	struct cfg *old;

	pthread_mutex_lock(&ctl->lock);
	old = ctl->cfg;
	ctl->cfg = cfg_ref(c);
	pthread_mutex_unlock(&ctl->lock);
	cfg_unref(old);
}

uint64_t fake_control_quiescent(struct control *ctl, unsigned w)
{
	return atomic_load(&ctl->quiescent[w]);
}

unsigned fake_control_wakes(struct control *ctl)
{
	return atomic_load(&ctl->wakes);
}

bool fake_control_pop(struct control *ctl, unsigned w, struct ctl_msg *m, int ms)
{
	uint64_t end = sl_clock_ms() + (uint64_t)ms;

	for (;;) {
		if (sl_ring_pop(ctl->ports[w].to_control, m))
			return true;
		if (sl_clock_ms() >= end)
			return false;
		struct pollfd p = { .fd = ctl->efd, .events = POLLIN };
		if (poll(&p, 1, 5) > 0) {
			uint64_t v;
			if (read(ctl->efd, &v, sizeof(v)) < 0)
				continue;
		}
	}
}

bool fake_control_pop_any(struct control *ctl, struct ctl_msg *m, int ms)
{
	uint64_t end = sl_clock_ms() + (uint64_t)ms;

	for (;;) {
		for (unsigned i = 0; i < ctl->n; i++)
			if (sl_ring_pop(ctl->ports[i].to_control, m))
				return true;
		if (sl_clock_ms() >= end)
			return false;
		struct pollfd p = { .fd = ctl->efd, .events = POLLIN };
		if (poll(&p, 1, 5) > 0) {
			uint64_t v;
			if (read(ctl->efd, &v, sizeof(v)) < 0)
				continue;
		}
	}
}

void fake_control_push(struct control *ctl, unsigned w, const struct ctl_msg *m)
{
	uint64_t one = 1;

	while (!sl_ring_push(ctl->ports[w].to_worker, m, sizeof(*m)))
		usleep(1000);
	if (write(ctl->ports[w].worker_efd, &one, sizeof(one)) < 0)
		return;
}
