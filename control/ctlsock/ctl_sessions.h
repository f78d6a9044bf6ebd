/* ctl_sessions.h - the control socket's sessions command: asks every
 * worker on its ring, gathers the answers, replies when all are in or a
 * timeout passed (a stuck worker cannot hang the client). */
#ifndef CTL_SESSIONS_H
#define CTL_SESSIONS_H

#include <stdint.h>

#define CTL_SESSIONS_DEFAULT   1000    /**< records in a list reply without `max` */
#define CTL_SESSIONS_MAX       10000   /**< `max` at most */
#define CTL_SESSIONS_WAIT_MS   2000    /**< how long the workers have to answer */

struct ctl_sock;
struct ctl_conn;
struct ctl_req;
struct ctl_msg;

/* "sessions [list [max N]]" / "sessions kill ID": the reply is written
 * later (c->waiting), or at once for a usage error. */
void ctl_sessions_cmd(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r);
/* A worker's answer (CTL_MSG_SESSION_REC / _END / _KILLED). */
void ctl_sessions_worker_msg(struct ctl_sock *s, unsigned worker, const struct ctl_msg *m);
/* The client of c went away: its request is answered to nobody. */
void ctl_sessions_cancel(struct ctl_sock *s, struct ctl_conn *c);
void ctl_sessions_free_all(struct ctl_sock *s);

#endif
