/* test_ctl_peer.c - who the control socket lets in: uid 0, the daemon's own
 * uid, control_allow's uids and gids (primary or supplementary), from a table;
 * and the credentials of a real socketpair. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfg.h"
#include "ctlsock/ctl_peer.h"
#include "test.h"
#include "util/sl_status.h"

#define TAIL "relay_domains example.net\nbackend b 127.0.0.1:25\n"

static struct cfg *parse(const char *text)
{
	char err[512];
	struct cfg *c = cfg_parse_string("t.conf", text, strlen(text), err, sizeof(err));

	if (c == NULL)
		fprintf(stderr, "\n%s\n", err);
	return c;
}

struct peer_case {
	uid_t    uid;
	gid_t    gid;
	unsigned ngroups;
	gid_t    groups[3];
	bool     want;
};

static void run_table(const struct cfg *c, uid_t self, const struct peer_case *t, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		bool got = ctl_peer_allowed(c, self, t[i].uid, t[i].gid, t[i].groups, t[i].ngroups);
		if (got != t[i].want)
			fprintf(stderr, "\ncase %u: uid %u gid %u: got %d\n", i, (unsigned)t[i].uid,
				(unsigned)t[i].gid, got);
		CU_ASSERT_EQUAL(got, t[i].want);
	}
}

static void test_default(void)
{
	static const struct peer_case t[] = {
		{ 0, 0, 0, { 0 }, true },          /* root */
		{ 500, 500, 0, { 0 }, true },      /* the daemon's own uid */
		{ 65534, 65534, 0, { 0 }, false },
		{ 1000, 0, 1, { 4 }, false },      /* gid 0 is nothing special */
	};
	struct cfg *c = parse(TAIL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	run_table(c, 500, t, SL_ARRAY_SIZE(t));
	cfg_unref(c);
}

static void test_listed(void)
{
	static const struct peer_case t[] = {
		{ 0, 0, 0, { 0 }, true },
		{ 1000, 1000, 0, { 0 }, true },                /* listed uid */
		{ 1001, 4, 0, { 0 }, true },                   /* primary gid 4 */
		{ 1002, 1002, 3, { 20, 24, 4242 }, true },     /* supplementary 4242 */
		{ 1003, 1003, 3, { 20, 24, 25 }, false },
		{ 65534, 65534, 0, { 0 }, false },
		{ 500, 500, 0, { 0 }, true },                  /* self, still */
	};
	struct cfg *c = parse("control_allow uid 1000 gid 4\ncontrol_allow gid 4242\n" TAIL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	run_table(c, 500, t, SL_ARRAY_SIZE(t));
	cfg_unref(c);
}

/* A socketpair's peer is this very process: allowed as "self". */
static void test_socketpair(void)
{
	struct cfg *c = parse("control_allow gid 4242\n" TAIL);
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int sv[2];

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CU_ASSERT_EQUAL(ctl_peer_check(sv[0], c, geteuid(), &uid, &gid, &pid), SL_OK);
	CU_ASSERT_EQUAL(uid, geteuid());
	CU_ASSERT_EQUAL(gid, getegid());
	CU_ASSERT_EQUAL(pid, getpid());
	/* as if the daemon ran as another uid: only a gid can let us in, and
	 * ours is not listed (unless the machine is odd: then skip) */
	if (geteuid() != 0 && getegid() != 4242)
		CU_ASSERT_EQUAL(ctl_peer_check(sv[0], c, geteuid() + 1, &uid, &gid, &pid), SL_DECLINED);
	close(sv[0]);
	close(sv[1]);
	CU_ASSERT_EQUAL(ctl_peer_check(-1, c, 0, &uid, &gid, &pid), SL_ERROR);
	cfg_unref(c);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "default: uid 0 and self", test_default },
		{ "control_allow uids and gids", test_listed },
		{ "credentials of a socketpair", test_socketpair },
		{ NULL, NULL }
	};

	test_suite("control socket peers", cases);
}
