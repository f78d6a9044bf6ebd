/* sl_secret.c - a 16-byte secret kept in a file for the machine's uptime (see sl_secret.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/sl_secret.h"

static void random_bytes(uint8_t *out, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(out + got, n - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got < n) {
		/* no getrandom (a kernel before 3.17, a seccomp filter): the device */
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			ssize_t r = read(fd, out + got, n - got);

			if (r > 0)
				got += (size_t)r;
			close(fd);
		}
	}
	/* neither: still distinct per process and start, if guessable */
	for (struct timespec ts; got < n; got++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		out[got] = (uint8_t)(ts.tv_nsec ^ (long)getpid() ^ (long)got);
	}
}

/* Read the secret from an open file, checking what it is. 0, or -1 with note set. */
static int read_checked(int fd, const char *path, uint8_t *out, char *note, size_t notelen)
{
	struct stat sb;
	ssize_t r;

	if (fstat(fd, &sb) != 0) {
		snprintf(note, notelen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(note, notelen, "%s is not a regular file", path);
		return -1;
	}
	if (sb.st_uid != geteuid() || (sb.st_mode & 077) != 0) {
		snprintf(note, notelen, "%s is not ours alone (owner %u, mode %03o; want owner %u, mode 600)", path,
			 (unsigned)sb.st_uid, (unsigned)(sb.st_mode & 0777), (unsigned)geteuid());
		return -1;
	}
	if (sb.st_size != SL_SECRET_LEN) {
		snprintf(note, notelen, "%s holds %lld bytes, not %d", path, (long long)sb.st_size, SL_SECRET_LEN);
		return -1;
	}
	r = pread(fd, out, SL_SECRET_LEN, 0);
	if (r != SL_SECRET_LEN) {
		snprintf(note, notelen, "%s: %s", path, r < 0 ? strerror(errno) : "short read");
		return -1;
	}
	return 0;
}

static int read_existing(const char *path, uint8_t *out, char *note, size_t notelen)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int rc;

	if (fd < 0) {
		snprintf(note, notelen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = read_checked(fd, path, out, note, notelen);
	close(fd);
	return rc;
}

/* Write a new secret under a temporary name, then link it into place. 0 written, 1 lost the
 * race (another instance's file is at path now), -1 with note set. */
static int write_new(const char *path, const uint8_t *key, char *note, size_t notelen)
{
	char tmp[4200];
	int fd, rc = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= sizeof(tmp)) {
		snprintf(note, notelen, "%s: path too long", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT) {
		/* /run/sluice after a boot: make the last directory, owner and group only (as the control socket does) */
		char d[4200], *slash;

		snprintf(d, sizeof(d), "%s", path);
		slash = strrchr(d, '/');
		if (slash != NULL && slash != d) {
			*slash = '\0';
			if (mkdir(d, 0750) == 0 || errno == EEXIST)
				fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		}
	}
	if (fd < 0) {
		snprintf(note, notelen, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write(fd, key, SL_SECRET_LEN) != SL_SECRET_LEN) {
		snprintf(note, notelen, "cannot write %s: %s", tmp, strerror(errno));
		rc = -1;
	}
	if (close(fd) != 0 && rc == 0) {
		snprintf(note, notelen, "cannot write %s: %s", tmp, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && link(tmp, path) != 0) {
		if (errno == EEXIST) {
			rc = 1;
		} else {
			snprintf(note, notelen, "cannot create %s: %s", path, strerror(errno));
			rc = -1;
		}
	}
	unlink(tmp);
	return rc;
}

enum sl_secret_src sl_secret_get(const char *path, uint8_t out[SL_SECRET_LEN], char *note, size_t notelen)
{
	uint8_t fresh[SL_SECRET_LEN];
	int rc;

	if (notelen > 0)
		note[0] = '\0';
	random_bytes(fresh, sizeof(fresh));
	if (path == NULL || path[0] == '\0') {
		memcpy(out, fresh, SL_SECRET_LEN);
		snprintf(note, notelen, "no file asked for");
		return SL_SECRET_RANDOM;
	}
	if (access(path, F_OK) == 0 || errno != ENOENT) {
		if (read_existing(path, out, note, notelen) == 0)
			return SL_SECRET_KEPT;
		memcpy(out, fresh, SL_SECRET_LEN);
		return SL_SECRET_RANDOM;
	}
	rc = write_new(path, fresh, note, notelen);
	if (rc == 0) {
		memcpy(out, fresh, SL_SECRET_LEN);
		return SL_SECRET_NEW;
	}
	if (rc == 1 && read_existing(path, out, note, notelen) == 0)
		return SL_SECRET_KEPT;   /* another instance wrote it first: share its secret */
	memcpy(out, fresh, SL_SECRET_LEN);
	return SL_SECRET_RANDOM;
}
