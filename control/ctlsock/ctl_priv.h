/* ctl_priv.h - what the control socket's transport (ctl_sock.c) and its
 * commands (ctl_cmd.c) share. */
#ifndef CTL_PRIV_H
#define CTL_PRIV_H

#include <stdbool.h>
#include <sys/types.h>

#include "ctlsock/ctl_limits.h"
#include "ctlsock/ctl_proto.h"
#include "ctlsock/ctl_sock.h"
#include "util/timer_wheel.h"

#define CTL_CLIENTS_MAX  64          /**< clients at once; more are refused */
#define CTL_IDLE_MS      120000      /**< a silent client is closed after this */
#define CTL_DRAIN_MS     2000        /**< how long a closing client may keep sending */
#define CTL_DRAIN_MAX    (1u << 20)  /**< and how much */
#define CTL_OUT_HIGH     (1u << 20)  /**< stop reading requests above this much unsent output */

struct ctl_conn {
	struct ctl_conn  *next, **pprev;
	struct ctl_sock  *s;
	int               fd;
	uid_t             uid;
	pid_t             pid;
	char              in[CTL_REQ_MAX];
	size_t            inlen;
	struct ctl_buf    out;
	bool              closing;      /**< flush out, then close */
	bool              peer_eof;
	bool              draining;     /**< reply sent and half-closed: discarding input */
	bool              waiting;      /**< an answer from the workers is due: later requests wait */
	size_t            drained;
	uint64_t          drain_until;
	uint64_t          last_ms;
};

struct ctl_sock {
	struct control   *ctl;
	struct sl_evloop *loop;
	int               fd;
	bool              bound;        /**< we created path: unlink it at the end */
	char              path[CFG_PATH_MAX];
	uid_t             self_uid;
	struct ctl_conn  *conns;
	unsigned          nconns;
	struct ctl_lists  lists;
	struct ctl_limits rlimits;      /**< limits set at run time (limits set) */
	struct tw_timer   tick;
	uint64_t          start_ms;
	int64_t           start_unix;
	struct ctl_sess_req *sess_reqs; /**< sessions requests waiting for the workers */
	uint32_t          sess_next_id;
	bool              shutdown_asked;
	bool              shutdown_sent;
	struct ctl_sock_counters n;
};

/* Answer one request (argv split) into c->out; may set c->closing. */
void ctl_cmd_dispatch(struct ctl_sock *s, struct ctl_conn *c, struct ctl_req *r);
/* Publish the snapshot for the current config + runtime lists. SL_OK or SL_ERROR (no memory). */
int ctl_cmd_publish(struct ctl_sock *s);
/* The late reply of a waiting client is in c->out: send it and go on with
 * the requests behind it. May free c. Not from inside ctl_cmd_dispatch. */
void ctl_conn_resume(struct ctl_conn *c);

#endif
