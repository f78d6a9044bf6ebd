/* kt_listen.c - SO_REUSEPORT listening sockets, one per worker and address, and accept. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kt_conn.h"
#include "util/sl_log.h"

static const char busy_reply[] = "421 4.3.2 Too many sessions, try again later\r\n";

/*
 * kt_listen_open - a non-blocking listening socket for a, on `port` (which
 * overrides a->port, so the workers after the first can join the ephemeral
 * port the first one got). Returns the fd, or -1 with err naming the address.
 */
int kt_listen_open(const struct sl_addr *a, uint16_t port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct sl_addr bind_addr = *a;
	char name[SL_ADDR_STRLEN];
	const char *what;
	unsigned sslen;
	int fd, one = 1;

	bind_addr.port = port;
	sl_addr_format(a, name, sizeof(name), true);
	if (sl_addr_to_sockaddr(&bind_addr, &ss, &sslen) != 0) {
		snprintf(err, errlen, "listen %s: not an IPv4 or IPv6 address", name);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		what = "socket";
		goto fail;
	}
	what = "setsockopt";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		goto fail;
	/* A v6 wildcard must not take the v4 port too: "listen 0.0.0.0:25" and
	 * "listen [::]:25" side by side is how both families are asked for. */
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
		goto fail;
	what = "bind";
	if (bind(fd, (struct sockaddr *)&ss, sslen) != 0)
		goto fail;
	what = "listen";
	if (listen(fd, SOMAXCONN) != 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "listen %s: %s: %s", name, what, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

uint16_t kt_listen_bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct sl_addr a;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    sl_addr_from_sockaddr(&a, (struct sockaddr *)&ss) != 0)
		return 0;
	return a.port;
}

/* Out of fds: a level-triggered listener would wake us again at once, so
 * take the listeners out of the poll set for a moment instead of spinning. */
void kt_listen_pause(struct kt_worker *w, bool pause)
{
	w->accept_paused = pause;
	for (unsigned i = 0; i < w->nlisten; i++) {
		struct epoll_event ev = { .events = pause ? 0 : EPOLLIN, .data.ptr = &w->lh[i] };
		if (w->lfd[i] >= 0)
			epoll_ctl(w->epfd, EPOLL_CTL_MOD, w->lfd[i], &ev);
	}
	if (pause)
		tw_arm(&w->wheel, &w->accept_timer, w->rw.now_ms + KT_ACCEPT_PAUSE_MS);
}

/* Past max_sessions: a clear 421 on a fresh socket (its send buffer is
 * empty, so the write cannot block or be partial), then close. */
static void reject_busy(struct kt_worker *w, int fd)
{
	ssize_t n;

	KT_STAT_INC(w, rejected_busy);
	n = send(fd, busy_reply, sizeof(busy_reply) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)n;
	close(fd);
}

void kt_listen_accept(struct kt_worker *w, unsigned i)
{
	for (int burst = 0; burst < KT_ACCEPT_BURST && w->lfd[i] >= 0; burst++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(w->lfd[i], (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;   /* the peer gave up before we took it */
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				sl_warn("kernel worker %u: accept: %s, pausing %u ms", w->idx,
					strerror(errno), KT_ACCEPT_PAUSE_MS);
				kt_listen_pause(w, true);
				return;
			}
			sl_warn("kernel worker %u: accept: %s", w->idx, strerror(errno));
			return;
		}
		if (w->rw.sessions >= w->rw.cfg->max_sessions || w->nconns >= (1u << SL_SLOT_BITS) - 1) {
			reject_busy(w, fd);
			continue;
		}
		kt_conn_accept(w, fd, &ss);
	}
}
