/* sl_evloop.c - epoll with a per-fd handler table and a 1 ms timer wheel. */
#include "sl_evloop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "sl_clock.h"

struct ev_handler {
	sl_ev_fn fn;
	void    *arg;
	bool     used;
};

struct sl_evloop {
	int                epfd;
	struct ev_handler *handlers;   /**< indexed by fd */
	unsigned           nhandlers;
	struct tw_wheel    wheel;
};

struct sl_evloop *sl_evloop_new(void)
{
	struct sl_evloop *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0 || tw_init(&l->wheel, 4096, 1, sl_clock_ms()) < 0) {
		if (l->epfd >= 0)
			close(l->epfd);
		free(l);
		return NULL;
	}
	return l;
}

void sl_evloop_free(struct sl_evloop *l)
{
	if (l == NULL)
		return;
	close(l->epfd);
	tw_fini(&l->wheel);
	free(l->handlers);
	free(l);
}

static uint32_t to_epoll(unsigned events)
{
	return ((events & SL_EV_READ) ? EPOLLIN | EPOLLRDHUP : 0) |
	       ((events & SL_EV_WRITE) ? EPOLLOUT : 0);
}

int sl_evloop_add(struct sl_evloop *l, int fd, unsigned events, sl_ev_fn fn, void *arg)
{
	struct epoll_event ev = { .events = to_epoll(events), .data.fd = fd };

	if (fd < 0)
		return -1;
	if ((unsigned)fd >= l->nhandlers) {
		unsigned n = l->nhandlers ? l->nhandlers : 64;
		while (n <= (unsigned)fd)
			n *= 2;
		struct ev_handler *h = realloc(l->handlers, n * sizeof(*h));
		if (h == NULL)
			return -1;
		memset(h + l->nhandlers, 0, (n - l->nhandlers) * sizeof(*h));
		l->handlers = h;
		l->nhandlers = n;
	}
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	l->handlers[fd] = (struct ev_handler){ fn, arg, true };
	return 0;
}

int sl_evloop_mod(struct sl_evloop *l, int fd, unsigned events)
{
	struct epoll_event ev = { .events = to_epoll(events), .data.fd = fd };

	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
}

void sl_evloop_del(struct sl_evloop *l, int fd)
{
	if (fd < 0 || (unsigned)fd >= l->nhandlers || !l->handlers[fd].used)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->handlers[fd].used = false;
}

struct tw_wheel *sl_evloop_wheel(struct sl_evloop *l) { return &l->wheel; }
uint64_t sl_evloop_now(const struct sl_evloop *l) { return l->wheel.now; }

int sl_evloop_run_once(struct sl_evloop *l, int max_wait_ms)
{
	struct epoll_event evs[64];
	int64_t t = tw_next_timeout(&l->wheel, sl_clock_ms());
	int wait = max_wait_ms;
	int n, i;

	if (t >= 0 && (wait < 0 || t < wait))
		wait = (int)t;
	n = epoll_wait(l->epfd, evs, 64, wait);
	if (n < 0 && errno != EINTR)
		return -1;
	for (i = 0; i < n; i++) {
		int fd = evs[i].data.fd;
		unsigned e = 0;
		if (evs[i].events & (EPOLLIN | EPOLLRDHUP))
			e |= SL_EV_READ;
		if (evs[i].events & EPOLLOUT)
			e |= SL_EV_WRITE;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			e |= SL_EV_ERROR;
		/* a handler may have removed this fd while handling another */
		if ((unsigned)fd < l->nhandlers && l->handlers[fd].used)
			l->handlers[fd].fn(l, fd, e, l->handlers[fd].arg);
	}
	tw_advance(&l->wheel, sl_clock_ms());
	return n < 0 ? 0 : n;
}
