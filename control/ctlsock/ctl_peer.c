/* ctl_peer.c - the control socket's peer check: SO_PEERCRED for the uid and
 * the primary gid, SO_PEERGROUPS for the supplementary groups. */
#include "ctlsock/ctl_peer.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "util/sl_status.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59   /* Linux 4.13; older headers lack the name */
#endif

#define GROUPS_ON_STACK 256
#define GROUPS_MAX      65536   /* NGROUPS_MAX */

static bool gid_listed(const struct cfg *c, gid_t g)
{
	for (unsigned i = 0; i < c->nallow_gids; i++)
		if (c->allow_gids[i].id == (uint32_t)g)
			return true;
	return false;
}

bool ctl_peer_allowed(const struct cfg *c, uid_t self, uid_t uid, gid_t gid, const gid_t *groups,
		      unsigned ngroups)
{
	if (uid == 0 || uid == self)
		return true;
	for (unsigned i = 0; i < c->nallow_uids; i++)
		if (c->allow_uids[i].id == (uint32_t)uid)
			return true;
	if (gid_listed(c, gid))
		return true;
	for (unsigned i = 0; i < ngroups; i++)
		if (gid_listed(c, groups[i]))
			return true;
	return false;
}

int ctl_peer_check(int fd, const struct cfg *c, uid_t self, uid_t *uid, gid_t *gid, pid_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t small[GROUPS_ON_STACK], *groups = small;
	unsigned n = 0;
	bool ok;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return SL_ERROR;
	*uid = cred.uid;
	*gid = cred.gid;
	*pid = cred.pid;
	if (ctl_peer_allowed(c, self, cred.uid, cred.gid, NULL, 0))
		return SL_OK;
	if (c->nallow_gids == 0)
		return SL_DECLINED;
	/* the groups a user was added to (usermod -aG adm) are supplementary */
	len = sizeof(small);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, small, &len) < 0) {
		if (errno != ERANGE || len == 0 || len > GROUPS_MAX * sizeof(gid_t))
			return SL_DECLINED;   /* no groups to read: the uid and primary gid decided */
		groups = malloc(len);
		if (groups == NULL)
			return SL_ERROR;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
			free(groups);
			return SL_DECLINED;
		}
	}
	n = (unsigned)(len / sizeof(gid_t));
	ok = ctl_peer_allowed(c, self, cred.uid, cred.gid, groups, n);
	if (groups != small)
		free(groups);
	return ok ? SL_OK : SL_DECLINED;
}
