/* health_sock.c - backend health checks over kernel sockets on the control thread's event loop. */
#include "health_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/sl_status.h"

enum sock_state { SOCK_IDLE = 0, SOCK_CONNECTING, SOCK_GREETING };

struct sock_probe {
	struct health_sock *hs;
	uint16_t            idx;
	uint32_t            id;
	enum sock_state     state;
	int                 fd;
	struct health_check hc;
};

struct health_sock {
	struct sl_evloop      *loop;
	struct health_checker *h;
	struct sock_probe      probes[CFG_BACKEND_MAX];
};

static void probe_close(struct sock_probe *pr)
{
	if (pr->fd >= 0) {
		sl_evloop_del(pr->hs->loop, pr->fd);
		close(pr->fd);
		pr->fd = -1;
	}
	pr->state = SOCK_IDLE;
}

/* Close first: the result may start nothing here, but the slot is free again. */
static void probe_done(struct sock_probe *pr, enum health_result r, const char *why)
{
	probe_close(pr);
	health_checker_result(pr->hs->h, pr->idx, pr->id, r, why);
}

static void probe_read(struct sock_probe *pr)
{
	uint8_t buf[2048];
	char why[HEALTH_WHY_MAX];

	for (;;) {
		ssize_t n = recv(pr->fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			snprintf(why, sizeof(why), "read: %s", strerror(errno));
			probe_done(pr, HEALTH_FAIL, why);
			return;
		}
		if (n == 0) {
			health_check_eof(&pr->hc, why, sizeof(why));
			probe_done(pr, HEALTH_FAIL, why);
			return;
		}
		int st = health_check_input(&pr->hc, buf, (size_t)n, why, sizeof(why));
		if (st == SL_AGAIN)
			continue;
		if (health_check_wants_quit(&pr->hc)) {
			/* say goodbye politely; a full socket buffer here is not worth waiting for */
			ssize_t w = send(pr->fd, health_check_quit, HEALTH_CHECK_QUIT_LEN, MSG_NOSIGNAL | MSG_DONTWAIT);
			(void)w;
		}
		probe_done(pr, st == SL_OK ? HEALTH_PASS : HEALTH_FAIL, why);
		return;
	}
}

static void probe_event(struct sl_evloop *l, int fd, unsigned events, void *arg)
{
	struct sock_probe *pr = arg;
	char why[HEALTH_WHY_MAX];

	if (pr->state == SOCK_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err == 0 && (events & SL_EV_ERROR))
			err = ECONNRESET;
		if (err != 0) {
			snprintf(why, sizeof(why), "connect: %s", strerror(err));
			probe_done(pr, HEALTH_FAIL, why);
			return;
		}
		if (!(events & (SL_EV_WRITE | SL_EV_READ)))
			return;
		pr->state = SOCK_GREETING;

		struct sockaddr_storage me;
		socklen_t ml = sizeof(me);
		struct sl_addr src;
		uint8_t hdr[HEALTH_PREFACE_MAX];
		bool have_src = getsockname(fd, (struct sockaddr *)&me, &ml) == 0 &&
				sl_addr_from_sockaddr(&src, (struct sockaddr *)&me) == 0;
		int n = health_check_connected(&pr->hc, have_src ? &src : NULL, hdr, sizeof(hdr));
		if (n < 0 || (n > 0 && send(fd, hdr, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)) {
			probe_done(pr, HEALTH_FAIL, "PROXY header");
			return;
		}
		if (sl_evloop_mod(l, fd, SL_EV_READ) < 0) {
			probe_done(pr, HEALTH_FAIL, "event loop");
			return;
		}
		if (!(events & SL_EV_READ))
			return;
	}
	if (pr->state == SOCK_GREETING)
		probe_read(pr);
}

static int sock_start(void *runner, const struct health_probe_req *r, char *why, size_t whylen)
{
	struct health_sock *hs = runner;
	struct sock_probe *pr = &hs->probes[r->idx];
	struct sockaddr_storage ss;
	unsigned sslen = 0;

	probe_close(pr);
	pr->id = r->id;
	health_check_init(&pr->hc, &r->addr, (enum cfg_proxy)r->proxy);
	if (sl_addr_to_sockaddr(&r->addr, &ss, &sslen) < 0) {
		snprintf(why, whylen, "bad address");
		return SL_ERROR;
	}
	pr->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (pr->fd < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return SL_ERROR;
	}
	pr->state = SOCK_CONNECTING;
	if (connect(pr->fd, (struct sockaddr *)&ss, sslen) < 0 && errno != EINPROGRESS) {
		snprintf(why, whylen, "connect: %s", strerror(errno));
		close(pr->fd);
		pr->fd = -1;
		pr->state = SOCK_IDLE;
		return SL_ERROR;
	}
	/* connected at once or not, the write event says when to look at SO_ERROR */
	if (sl_evloop_add(hs->loop, pr->fd, SL_EV_WRITE, probe_event, pr) < 0) {
		close(pr->fd);
		pr->fd = -1;
		pr->state = SOCK_IDLE;
		snprintf(why, whylen, "event loop");
		return SL_ERROR;
	}
	return SL_OK;
}

static void sock_stop(void *runner, uint16_t idx, char *why, size_t whylen)
{
	struct health_sock *hs = runner;
	struct sock_probe *pr = &hs->probes[idx];

	if (why != NULL && pr->state != SOCK_IDLE)
		health_check_timeout(&pr->hc, why, whylen);
	probe_close(pr);
}

static void sock_free(void *runner)
{
	struct health_sock *hs = runner;

	for (int i = 0; i < CFG_BACKEND_MAX; i++)
		probe_close(&hs->probes[i]);
	free(hs);
}

const struct health_runner_ops health_sock_ops = {
	.slack_ms = 0,
	.start = sock_start,
	.stop = sock_stop,
	.free = sock_free,
};

void *health_sock_new(struct sl_evloop *l, struct health_checker *h)
{
	struct health_sock *hs = calloc(1, sizeof(*hs));

	if (hs == NULL)
		return NULL;
	hs->loop = l;
	hs->h = h;
	for (int i = 0; i < CFG_BACKEND_MAX; i++) {
		hs->probes[i].hs = hs;
		hs->probes[i].idx = (uint16_t)i;
		hs->probes[i].fd = -1;
	}
	return hs;
}
