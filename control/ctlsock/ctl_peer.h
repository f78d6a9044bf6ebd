/* ctl_peer.h - who may talk to the control socket: uid 0, the daemon's own
 * uid, and the config's control_allow uids and gids. */
#ifndef CTL_PEER_H
#define CTL_PEER_H

#include <stdbool.h>
#include <sys/types.h>

#include "cfg.h"

/*
 * ctl_peer_allowed - may a peer with these credentials (SO_PEERCRED's uid
 * and gid, SO_PEERGROUPS' supplementary groups) connect? uid 0 and self
 * always may: both can read the daemon's memory anyway. A gid of
 * control_allow matches the primary group or any supplementary one.
 */
bool ctl_peer_allowed(const struct cfg *c, uid_t self, uid_t uid, gid_t gid, const gid_t *groups,
		      unsigned ngroups);

/*
 * ctl_peer_check - the same for the peer on connected socket fd: reads its
 * credentials, and its groups only when a gid could decide. Fills *uid,
 * *gid, *pid for the log. Returns SL_OK (allowed), SL_DECLINED (not
 * allowed) or SL_ERROR (credentials unreadable; errno set).
 */
int ctl_peer_check(int fd, const struct cfg *c, uid_t self, uid_t *uid, gid_t *gid, pid_t *pid);

#endif
