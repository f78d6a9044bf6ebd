/* ctl_sock.c - the control socket's listener and clients: SO_PEERCRED
 * checks, line framing with a size bound, non-blocking replies. */
#include "ctlsock/ctl_priv.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "ctlsock/ctl_peer.h"
#include "ctlsock/ctl_sessions.h"
#include "util/sl_clock.h"
#include "util/sl_evloop.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

#define CTL_TICK_MS 1000

static void conn_free(struct ctl_conn *c)
{
	struct ctl_sock *s = c->s;

	if (c->waiting)
		ctl_sessions_cancel(s, c);
	sl_evloop_del(s->loop, c->fd);
	close(c->fd);
	*c->pprev = c->next;
	if (c->next != NULL)
		c->next->pprev = c->pprev;
	s->nconns--;
	ctl_buf_free(&c->out);
	free(c);
}

/* Write what we can; SL_OK when all is out, SL_AGAIN, or SL_ERROR (peer gone). */
static int conn_flush(struct ctl_conn *c)
{
	while (c->out.len > 0) {
		ssize_t n = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? SL_AGAIN : SL_ERROR;
		}
		ctl_buf_consume(&c->out, (size_t)n);
	}
	return SL_OK;
}

static void handle_line(struct ctl_conn *c, const char *line, size_t len)
{
	struct ctl_sock *s = c->s;
	struct ctl_req *r = malloc(sizeof(*r));  /* 4 KiB: not on the stack of the loop */
	char err[256];
	int rc;

	if (r == NULL) {
		ctl_reply_error(&c->out, "no memory");
		c->closing = true;
		return;
	}
	rc = ctl_proto_split(line, len, r, err, sizeof(err));
	if (rc == SL_DONE) {
		free(r); /* blank line: nothing asked, nothing answered */
		return;
	}
	s->n.requests++;
	if (rc != SL_OK) {
		s->n.errors++;
		ctl_reply_error(&c->out, "%s", err);
	} else {
		size_t before = c->out.len;
		ctl_cmd_dispatch(s, c, r);
		if (c->out.len > before && strncmp(c->out.p + before, "{\"ok\":false", 11) == 0)
			s->n.errors++;
	}
	if (c->out.oom) {
		ctl_buf_reset(&c->out);
		ctl_reply_error(&c->out, "no memory for the reply");
		c->closing = true;
	}
	free(r);
}

/* Answer every complete line in c->in, while the output is not too far behind. */
static void process_input(struct ctl_conn *c)
{
	size_t start = 0;

	while (!c->closing && !c->waiting && c->out.len < CTL_OUT_HIGH) {
		char *nl = memchr(c->in + start, '\n', c->inlen - start);
		if (nl == NULL)
			break;
		handle_line(c, c->in + start, (size_t)(nl - (c->in + start)));
		start = (size_t)(nl - c->in) + 1;
	}
	if (start > 0) {
		memmove(c->in, c->in + start, c->inlen - start);
		c->inlen -= start;
	}
	if (c->closing || c->waiting)
		return;
	if (c->inlen == sizeof(c->in) && memchr(c->in, '\n', c->inlen) == NULL) {
		c->s->n.requests++;
		c->s->n.errors++;
		ctl_reply_error(&c->out, "request longer than %d bytes", CTL_REQ_MAX);
		c->closing = true;
		return;
	}
	/* a last request without its newline before the peer shut down: answer it */
	if (c->peer_eof && c->out.len < CTL_OUT_HIGH && c->inlen > 0 && memchr(c->in, '\n', c->inlen) == NULL) {
		handle_line(c, c->in, c->inlen);
		c->inlen = 0;
	}
}

/* Flush, answer what input is waiting, and watch for what comes next. May free c. */
static void conn_update(struct ctl_conn *c)
{
	unsigned ev = 0;

	for (;;) {
		int rc = conn_flush(c);
		if (rc == SL_ERROR) {
			conn_free(c);
			return;
		}
		if (rc == SL_AGAIN)
			break;
		if (c->closing) {
			/* closing with unread input would reset the connection and the
			 * peer could lose our error reply: half-close, discard, then close */
			if (c->peer_eof || c->draining) {
				if (c->peer_eof) {
					conn_free(c);
					return;
				}
				break;
			}
			shutdown(c->fd, SHUT_WR);
			c->draining = true;
			c->drain_until = sl_clock_ms() + CTL_DRAIN_MS;
			break;
		}
		if (c->waiting)
			break;   /* the workers' answer first; even after the peer's EOF */
		/* input held back by the output bound, or a last line before EOF */
		if (c->inlen > 0 && (c->peer_eof || memchr(c->in, '\n', c->inlen) != NULL)) {
			process_input(c);
			continue;
		}
		if (c->peer_eof) {
			conn_free(c);
			return;
		}
		break;
	}
	if ((!c->closing && !c->peer_eof && !c->waiting && c->out.len < CTL_OUT_HIGH) || c->draining)
		ev |= SL_EV_READ;
	if (c->out.len > 0)
		ev |= SL_EV_WRITE;
	sl_evloop_mod(c->s->loop, c->fd, ev);
}

void ctl_conn_resume(struct ctl_conn *c)
{
	c->waiting = false;
	c->last_ms = sl_clock_ms();
	process_input(c);
	conn_update(c); /* may free c */
}

static void on_conn(struct sl_evloop *l, int fd, unsigned events, void *arg)
{
	struct ctl_conn *c = arg;
	struct ctl_sock *s = c->s;

	(void)l;
	(void)fd;
	c->last_ms = sl_clock_ms();
	if (c->draining) {
		char junk[4096];
		ssize_t n;
		while ((n = recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT)) > 0)
			c->drained += (size_t)n;
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || c->drained > CTL_DRAIN_MAX)
			conn_free(c);
		return;
	}
	if ((events & (SL_EV_READ | SL_EV_ERROR)) && !c->closing && !c->peer_eof) {
		while (c->inlen < sizeof(c->in)) {
			ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, MSG_DONTWAIT);
			if (n > 0) {
				c->inlen += (size_t)n;
				continue;
			}
			if (n == 0) {
				c->peer_eof = true;
				break;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				conn_free(c);
				return;
			}
			break;
		}
		process_input(c);
	}
	conn_update(c); /* may free c */
	if (s->shutdown_asked && !s->shutdown_sent) {
		/* after the reply went out: main takes SIGTERM with sigwait and
		 * stops the gateway gracefully, as on a signal from outside */
		s->shutdown_sent = true;
		kill(getpid(), SIGTERM);
	}
}

static void refuse(int fd, const char *msg)
{
	struct ctl_buf b = { 0 };

	ctl_reply_error(&b, "%s", msg);
	if (b.p != NULL) {
		char junk[4096];
		ssize_t n = send(fd, b.p, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		/* best effort: the peer learns why, or just sees the close. What it
		 * already sent is read away, or the close would reset the socket
		 * and the peer could lose the reply before reading it. */
		shutdown(fd, SHUT_WR);
		for (int i = 0; i < 4 && (n = recv(fd, junk, sizeof(junk), MSG_DONTWAIT)) > 0; i++)
			;
	}
	ctl_buf_free(&b);
	close(fd);
}

static void on_accept(struct sl_evloop *l, int lfd, unsigned events, void *arg)
{
	struct ctl_sock *s = arg;

	(void)events;
	for (unsigned budget = 64; budget > 0; budget--) {
		struct ctl_conn *c;
		struct cfg *cf;
		char msg[128];
		uid_t uid = 0;
		gid_t gid = 0;
		pid_t pid = 0;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), rc;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				sl_warn("control socket: accept: %s", strerror(errno));
			return;
		}
		/* the file mode is the first gate, this is the one that cannot be
		 * chmod'ed away; control_allow is read from the running config,
		 * so a reload changes who may connect next */
		cf = control_cfg_ref(s->ctl);
		rc = ctl_peer_check(fd, cf, s->self_uid, &uid, &gid, &pid);
		cfg_unref(cf);
		if (rc == SL_ERROR) {
			s->n.refused++;
			refuse(fd, "cannot read peer credentials");
			continue;
		}
		if (rc != SL_OK) {
			s->n.refused++;
			sl_warn("control socket: refused pid %ld uid %u gid %u: not allowed (control_allow)",
				(long)pid, (unsigned)uid, (unsigned)gid);
			snprintf(msg, sizeof(msg), "uid %u is not allowed on this socket", (unsigned)uid);
			refuse(fd, msg);
			continue;
		}
		if (s->nconns >= CTL_CLIENTS_MAX) {
			s->n.refused++;
			refuse(fd, "too many control clients at once");
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL || sl_evloop_add(l, fd, SL_EV_READ, on_conn, c) < 0) {
			free(c);
			refuse(fd, "no memory");
			continue;
		}
		c->s = s;
		c->fd = fd;
		c->uid = uid;
		c->pid = pid;
		c->last_ms = sl_clock_ms();
		c->next = s->conns;
		if (s->conns != NULL)
			s->conns->pprev = &c->next;
		c->pprev = &s->conns;
		s->conns = c;
		s->nconns++;
		s->n.connections++;
	}
}

static void on_tick(struct tw_timer *t)
{
	struct ctl_sock *s = (struct ctl_sock *)((char *)t - offsetof(struct ctl_sock, tick));
	uint64_t now = sl_clock_ms();
	unsigned gone = ctl_lists_expire(&s->lists, now);
	struct ctl_conn *c, *next;

	if (gone > 0) {
		s->n.expired += gone;
		sl_info("control: %u runtime list entr%s expired", gone, gone == 1 ? "y" : "ies");
		if (ctl_cmd_publish(s) != SL_OK)
			sl_err("control: no memory to publish the lists after expiry");
	}
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		if (now - c->last_ms > CTL_IDLE_MS || (c->draining && now > c->drain_until))
			conn_free(c);
	}
	tw_arm(sl_evloop_wheel(s->loop), &s->tick, sl_evloop_now(s->loop) + CTL_TICK_MS);
}

/* Refuse to steal a live socket; clear a stale one left by a crash. */
static int clear_path(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? SL_OK : SL_ERROR;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return SL_ERROR;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return SL_ERROR;
	memcpy(sun.sun_path, path, strlen(path));
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0) {
		errno = EADDRINUSE;
		return SL_ERROR;
	}
	return unlink(path) == 0 || errno == ENOENT ? SL_OK : SL_ERROR;
}

static int sock_listen(struct ctl_sock *s, const struct cfg *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = strlen(c->control_path);

	if (len == 0)
		return SL_DECLINED;
	if (len >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return SL_ERROR;
	}
	memcpy(sun.sun_path, c->control_path, len);
	snprintf(s->path, sizeof(s->path), "%s", c->control_path);
	if (clear_path(s->path) != SL_OK)
		return SL_ERROR;
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return SL_ERROR;
	if (bind(s->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		char dir[CFG_PATH_MAX], *slash;
		if (errno != ENOENT)
			return SL_ERROR;
		/* /run/sluice after a boot: make the last directory, owner only */
		snprintf(dir, sizeof(dir), "%s", s->path);
		slash = strrchr(dir, '/');
		if (slash == NULL || slash == dir)
			return SL_ERROR;
		*slash = '\0';
		if (mkdir(dir, 0750) < 0 || bind(s->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			return SL_ERROR;
	}
	s->bound = true;
	if (chmod(s->path, c->control_mode) < 0)
		return SL_ERROR;
	if ((c->control_owner.id != CFG_ID_NONE || c->control_group.id != CFG_ID_NONE) &&
	    chown(s->path, (uid_t)c->control_owner.id, (gid_t)c->control_group.id) < 0)
		/* the socket stays ours alone: less reachable than asked, never more */
		sl_warn("control socket %s: chown to %d:%d: %s", s->path,
			c->control_owner.id == CFG_ID_NONE ? -1 : (int)c->control_owner.id,
			c->control_group.id == CFG_ID_NONE ? -1 : (int)c->control_group.id, strerror(errno));
	if (listen(s->fd, 64) < 0)
		return SL_ERROR;
	if (sl_evloop_add(s->loop, s->fd, SL_EV_READ, on_accept, s) < 0)
		return SL_ERROR;
	return SL_OK;
}

struct ctl_sock *ctl_sock_new(struct control *ctl, const struct cfg *c)
{
	struct ctl_sock *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL)
		return NULL;
	s->ctl = ctl;
	s->loop = control_loop(ctl);
	s->fd = -1;
	s->self_uid = geteuid();
	s->start_ms = sl_clock_ms();
	s->start_unix = (int64_t)time(NULL);
	rc = sock_listen(s, c);
	if (rc == SL_ERROR) {
		sl_err("control socket %s: %s; running without it", c->control_path, strerror(errno));
		if (s->fd >= 0)
			close(s->fd);
		if (s->bound)
			unlink(s->path);
		s->fd = -1;
		s->bound = false;
	} else if (rc == SL_OK) {
		sl_info("control socket on %s mode %04o", s->path, c->control_mode);
	}
	tw_timer_init(&s->tick, on_tick);
	tw_arm(sl_evloop_wheel(s->loop), &s->tick, sl_evloop_now(s->loop) + CTL_TICK_MS);
	return s;
}

void ctl_sock_free(struct ctl_sock *s)
{
	if (s == NULL)
		return;
	while (s->conns != NULL)
		conn_free(s->conns);
	ctl_sessions_free_all(s);
	if (tw_armed(&s->tick))
		tw_cancel(sl_evloop_wheel(s->loop), &s->tick);
	if (s->fd >= 0) {
		sl_evloop_del(s->loop, s->fd);
		close(s->fd);
	}
	if (s->bound)
		unlink(s->path);
	ctl_lists_free(&s->lists);
	free(s);
}

struct pol_snapshot *ctl_sock_lists_build(struct ctl_sock *s, const struct cfg *c)
{
	if (s == NULL)
		return pol_snapshot_build(c->lists, c->nlists);
	s->n.reloads++;
	return ctl_lists_build(&s->lists, c);
}

struct cfg *ctl_sock_reload_cfg(struct ctl_sock *s, struct cfg *file)
{
	struct cfg *c;

	if (s == NULL || s->rlimits.n == 0)
		return file;
	c = ctl_limits_overlay(&s->rlimits, file);
	if (c == NULL) {
		sl_err("reload: no memory for the runtime limits: the file's apply alone");
		return file;
	}
	sl_info("reload: %u runtime limit%s laid over the file's", s->rlimits.n, s->rlimits.n == 1 ? "" : "s");
	cfg_unref(file);
	return c;
}

void ctl_sock_worker_msg(struct ctl_sock *s, unsigned worker, const struct ctl_msg *m)
{
	ctl_sessions_worker_msg(s, worker, m);
}

const struct ctl_sock_counters *ctl_sock_counters(const struct ctl_sock *s) { return &s->n; }
const struct ctl_lists *ctl_sock_lists(const struct ctl_sock *s) { return &s->lists; }
uint64_t ctl_sock_start_ms(const struct ctl_sock *s) { return s->start_ms; }
unsigned ctl_sock_clients(const struct ctl_sock *s) { return s->nconns; }
