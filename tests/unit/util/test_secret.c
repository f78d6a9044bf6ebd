/* test_secret.c - sl_secret_get: made once, kept across calls (restarts), shared by racing instances, refused when the file is not ours alone. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "util/sl_secret.h"

static char dir[64];
static char path[128];
static char note[256];

static void fresh_dir(void)
{
	strcpy(dir, "/tmp/sl-secret-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tcp.secret", dir);
}

static void remove_dir(void)
{
	unlink(path);
	rmdir(dir);
}

static unsigned file_mode(void)
{
	struct stat sb;

	CU_ASSERT_EQUAL_FATAL(stat(path, &sb), 0);
	return (unsigned)(sb.st_mode & 0777);
}

/* The first call makes and writes it (0600, nothing else left in the dir), the next ones read the same. */
static void test_made_then_kept(void)
{
	uint8_t a[SL_SECRET_LEN], b[SL_SECRET_LEN], zero[SL_SECRET_LEN] = { 0 };

	fresh_dir();
	CU_ASSERT_EQUAL(sl_secret_get(path, a, note, sizeof(note)), SL_SECRET_NEW);
	CU_ASSERT_EQUAL(file_mode(), 0600u);
	CU_ASSERT_NOT_EQUAL(memcmp(a, zero, sizeof(a)), 0);
	CU_ASSERT_EQUAL(sl_secret_get(path, b, note, sizeof(note)), SL_SECRET_KEPT);
	CU_ASSERT_EQUAL(memcmp(a, b, sizeof(a)), 0);
	CU_ASSERT_EQUAL(sl_secret_get(path, b, note, sizeof(note)), SL_SECRET_KEPT);
	CU_ASSERT_EQUAL(memcmp(a, b, sizeof(a)), 0);
	/* no temporary file left behind */
	unlink(path);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
}

/* No path: random each time, nothing written. */
static void test_no_path(void)
{
	uint8_t a[SL_SECRET_LEN], b[SL_SECRET_LEN];

	CU_ASSERT_EQUAL(sl_secret_get(NULL, a, note, sizeof(note)), SL_SECRET_RANDOM);
	CU_ASSERT_EQUAL(sl_secret_get("", b, note, sizeof(note)), SL_SECRET_RANDOM);
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof(a)), 0);
}

/* A file others can read, one of the wrong size, a directory: not used, not touched, and the note says why. */
static void test_refused_files(void)
{
	uint8_t a[SL_SECRET_LEN], b[SL_SECRET_LEN];
	static const uint8_t planted[SL_SECRET_LEN] = "0123456789abcdef";
	int fd;

	fresh_dir();
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, planted, sizeof(planted)), (ssize_t)sizeof(planted));
	close(fd);
	chmod(path, 0644);
	CU_ASSERT_EQUAL(sl_secret_get(path, a, note, sizeof(note)), SL_SECRET_RANDOM);
	CU_ASSERT_NOT_EQUAL(memcmp(a, planted, sizeof(a)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(note, "mode 644"));
	CU_ASSERT_EQUAL(file_mode(), 0644u);   /* left as it was */
	/* made private, it is used as it is */
	chmod(path, 0600);
	CU_ASSERT_EQUAL(sl_secret_get(path, b, note, sizeof(note)), SL_SECRET_KEPT);
	CU_ASSERT_EQUAL(memcmp(b, planted, sizeof(b)), 0);
	/* a byte short */
	CU_ASSERT_EQUAL(truncate(path, SL_SECRET_LEN - 1), 0);
	CU_ASSERT_EQUAL(sl_secret_get(path, a, note, sizeof(note)), SL_SECRET_RANDOM);
	CU_ASSERT_PTR_NOT_NULL(strstr(note, "15 bytes"));
	unlink(path);
	/* a directory in its place */
	CU_ASSERT_EQUAL(mkdir(path, 0700), 0);
	CU_ASSERT_EQUAL(sl_secret_get(path, a, note, sizeof(note)), SL_SECRET_RANDOM);
	CU_ASSERT_PTR_NOT_NULL(strstr(note, "not a regular file"));
	rmdir(path);
	/* a symlink is not followed */
	CU_ASSERT_EQUAL(symlink("/etc/hostname", path), 0);
	CU_ASSERT_EQUAL(sl_secret_get(path, a, note, sizeof(note)), SL_SECRET_RANDOM);
	unlink(path);
	/* two directories missing: only the last is made (as for the control socket), so random, and the note names the path */
	snprintf(path, sizeof(path), "%s/missing/deeper/tcp.secret", dir);
	CU_ASSERT_EQUAL(sl_secret_get(path, a, note, sizeof(note)), SL_SECRET_RANDOM);
	CU_ASSERT_PTR_NOT_NULL(strstr(note, "missing"));
	snprintf(path, sizeof(path), "%s/tcp.secret", dir);
	remove_dir();
}

/* /run/sluice after a boot: the last directory is made (mode 750), then the file in it. */
static void test_makes_last_directory(void)
{
	uint8_t a[SL_SECRET_LEN], b[SL_SECRET_LEN];
	char sub[96];
	struct stat sb;

	fresh_dir();
	snprintf(sub, sizeof(sub), "%s/sluice", dir);
	snprintf(path, sizeof(path), "%s/tcp.secret", sub);
	CU_ASSERT_EQUAL(sl_secret_get(path, a, note, sizeof(note)), SL_SECRET_NEW);
	CU_ASSERT_EQUAL(stat(sub, &sb), 0);
	CU_ASSERT(S_ISDIR(sb.st_mode));
	CU_ASSERT_EQUAL(sb.st_mode & 0027, 0u);   /* 750, or less with a strict umask */
	CU_ASSERT_EQUAL(sl_secret_get(path, b, note, sizeof(note)), SL_SECRET_KEPT);
	CU_ASSERT_EQUAL(memcmp(a, b, sizeof(a)), 0);
	unlink(path);
	CU_ASSERT_EQUAL(rmdir(sub), 0);
	snprintf(path, sizeof(path), "%s/tcp.secret", dir);
	remove_dir();
}

/* Eight processes start at once on a missing file: all end up with the same secret. */
static void test_racing_instances(void)
{
	enum { N = 8 };
	int fds[N][2];
	pid_t pids[N];
	uint8_t got[N][SL_SECRET_LEN];

	fresh_dir();
	for (int i = 0; i < N; i++) {
		CU_ASSERT_EQUAL_FATAL(pipe(fds[i]), 0);
		pids[i] = fork();
		CU_ASSERT_FATAL(pids[i] >= 0);
		if (pids[i] == 0) {
			uint8_t k[SL_SECRET_LEN];
			enum sl_secret_src s = sl_secret_get(path, k, note, sizeof(note));

			_exit(s == SL_SECRET_RANDOM || write(fds[i][1], k, sizeof(k)) != (ssize_t)sizeof(k));
		}
		close(fds[i][1]);
	}
	for (int i = 0; i < N; i++) {
		int st;

		CU_ASSERT_EQUAL(read(fds[i][0], got[i], SL_SECRET_LEN), SL_SECRET_LEN);
		close(fds[i][0]);
		CU_ASSERT_EQUAL(waitpid(pids[i], &st, 0), pids[i]);
		CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		CU_ASSERT_EQUAL(memcmp(got[i], got[0], SL_SECRET_LEN), 0);
	}
	remove_dir();
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "made once, then kept", test_made_then_kept },
		{ "no path: random, not kept", test_no_path },
		{ "files not ours alone are refused and left alone", test_refused_files },
		{ "the last directory is made", test_makes_last_directory },
		{ "instances starting together share one", test_racing_instances },
		{ NULL, NULL },
	};
	test_suite("secret", cases);
}
