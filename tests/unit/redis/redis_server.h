/* redis_server.h - a private redis-server (port, dir, unix socket of its own) for the unit tests of control/redis. */
#ifndef TEST_REDIS_SERVER_H
#define TEST_REDIS_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

struct server {
	pid_t pid;
	int   port;
	char  dir[64];
	char  sock[96];
	const char *password;
};

int pick_port(void);
/* A blocking client (AUTH done), or NULL. */
redisContext *server_client(const struct server *s);
/* Start (or restart on the same port and dir) and wait until it answers PING. */
bool server_start(struct server *s);
/* A signal; SIGKILL and SIGTERM also reap it. */
void server_kill(struct server *s, int sig);
/* Kill it and remove its dir. */
void server_cleanup(struct server *s);
/* Run one command, asserting a reply came. */
void server_cmd(const struct server *s, const char *cmd);
/* PTTL of key in ms, -2 if absent, -3 when Redis cannot be asked. */
long long server_pttl(const struct server *s, const char *key);

#endif
