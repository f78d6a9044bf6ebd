/* redis_server.c - a private redis-server for the unit tests of control/redis: started, killed and restarted by the test itself. */
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "redis_server.h"
#include "test.h"


int pick_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

redisContext *server_client(const struct server *s)
{
	struct timeval tv = { 1, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);

	if (c == NULL || c->err) {
		if (c != NULL)
			redisFree(c);
		return NULL;
	}
	if (s->password != NULL) {
		redisReply *r = redisCommand(c, "AUTH %s", s->password);
		if (r != NULL)
			freeReplyObject(r);
	}
	return c;
}

/* start (or restart on the same port) and wait until it answers PING */
bool server_start(struct server *s)
{
	char port[16];
	pid_t pid;

	if (s->port == 0)
		s->port = pick_port();
	if (s->dir[0] == '\0') {
		strcpy(s->dir, "/tmp/sluice-redis.XXXXXX");
		if (mkdtemp(s->dir) == NULL)
			return false;
		snprintf(s->sock, sizeof(s->sock), "%s/redis.sock", s->dir);
	}
	snprintf(port, sizeof(port), "%d", s->port);
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (s->password != NULL)
			execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
			       "--save", "", "--appendonly", "no", "--dir", s->dir, "--daemonize", "no",
			       "--unixsocket", s->sock, "--requirepass", s->password, (char *)NULL);
		else
			execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
			       "--save", "", "--appendonly", "no", "--dir", s->dir, "--daemonize", "no",
			       "--unixsocket", s->sock, (char *)NULL);
		_exit(127);
	}
	s->pid = pid;
	for (int i = 0; i < 100; i++) {
		redisContext *c = server_client(s);
		if (c != NULL) {
			redisReply *r = redisCommand(c, "PING");
			bool up = r != NULL && r->type != REDIS_REPLY_ERROR;
			if (r != NULL)
				freeReplyObject(r);
			redisFree(c);
			if (up)
				return true;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			s->pid = 0;
			return false;
		}
		usleep(50000);
	}
	return false;
}

void server_kill(struct server *s, int sig)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, sig);
	if (sig == SIGKILL || sig == SIGTERM) {
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

void server_cleanup(struct server *s)
{
	char cmd[160];

	if (s->pid > 0) {
		kill(s->pid, SIGCONT);
		server_kill(s, SIGKILL);
	}
	if (s->dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", s->dir);
	}
}

void server_cmd(const struct server *s, const char *cmd)
{
	redisContext *c = server_client(s);
	redisReply *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	r = redisCommand(c, cmd);
	CU_ASSERT_PTR_NOT_NULL(r);
	if (r != NULL)
		freeReplyObject(r);
	redisFree(c);
}

/* TTL in ms of key on s, -2 if absent */
long long server_pttl(const struct server *s, const char *key)
{
	redisContext *c = server_client(s);
	redisReply *r;
	long long v = -3;

	if (c == NULL)
		return -3;
	r = redisCommand(c, "PTTL %s", key);
	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	if (r != NULL)
		freeReplyObject(r);
	redisFree(c);
	return v;
}

