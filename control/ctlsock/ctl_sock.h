/* ctl_sock.h - the operator's control socket on the control thread: a unix
 * socket speaking the line protocol of PROTOCOL.md, and the runtime lists. */
#ifndef CTL_SOCK_H
#define CTL_SOCK_H

#include <stdint.h>

#include "cfg.h"
#include "ctlsock/ctl_lists.h"

struct control;
struct ctl_sock;

struct ctl_sock_counters {
	uint64_t connections;   /**< accepted and allowed */
	uint64_t refused;       /**< refused: uid not allowed, too many clients */
	uint64_t requests;      /**< requests answered */
	uint64_t errors;        /**< error replies */
	uint64_t reloads;       /**< config reloads applied (SIGHUP or socket) */
	uint64_t publishes;     /**< list snapshots published for runtime changes */
	uint64_t expired;       /**< runtime entries dropped by their TTL */
};

/*
 * ctl_sock_new - listen on c->control_path (mode c->control_mode) on the
 * control loop. A socket that cannot be bound is logged and the gateway runs
 * without it (mail flow beats the operator's convenience); the runtime lists
 * exist either way. NULL only on no memory. Control thread (or before it runs).
 */
struct ctl_sock *ctl_sock_new(struct control *ctl, const struct cfg *c);
void ctl_sock_free(struct ctl_sock *s);

/* The reload hook: the snapshot for a new config, its entries plus the
 * runtime ones. s may be NULL (config entries only). */
struct pol_snapshot *ctl_sock_lists_build(struct ctl_sock *s, const struct cfg *c);

/* A worker's answer to a request of the control socket (sessions): the
 * control loop hands over what is not a policy query. s may be NULL. */
struct ctl_msg;
void ctl_sock_worker_msg(struct ctl_sock *s, unsigned worker, const struct ctl_msg *m);

/* The reload hook: the generation to run for the freshly read file, with
 * the runtime limits laid over its own. Consumes the caller's reference on
 * file, returns one on the result. s may be NULL. */
struct cfg *ctl_sock_reload_cfg(struct ctl_sock *s, struct cfg *file);

const struct ctl_sock_counters *ctl_sock_counters(const struct ctl_sock *s);
const struct ctl_lists *ctl_sock_lists(const struct ctl_sock *s);
uint64_t ctl_sock_start_ms(const struct ctl_sock *s);   /**< monotonic, at start */
unsigned ctl_sock_clients(const struct ctl_sock *s);

#endif
