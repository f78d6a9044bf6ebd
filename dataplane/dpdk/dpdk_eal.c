/* dpdk_eal.c - EAL argv from the config and the command line, EAL start with errors a human can act on. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "dpdk/dpdk_eal.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

void dpdk_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Start a new word in a->buf; false when argv is full. */
static bool word_open(struct dpdk_eal_argv *a)
{
	if (a->argc >= DPDK_EAL_ARGV_MAX)
		return false;
	a->argv[a->argc++] = a->buf + a->used;
	a->argv[a->argc] = NULL;
	return true;
}

static bool word_put(struct dpdk_eal_argv *a, char ch)
{
	if (a->used + 1 >= sizeof(a->buf))   /* keep one byte for the NUL */
		return false;
	a->buf[a->used++] = ch;
	return true;
}

static int add_word(struct dpdk_eal_argv *a, const char *w, char *err, size_t errlen)
{
	if (!word_open(a)) {
		dpdk_set_err(err, errlen, "too many EAL arguments (max %d)", DPDK_EAL_ARGV_MAX);
		return SL_ERROR;
	}
	for (; *w != '\0'; w++)
		if (!word_put(a, *w))
			goto too_long;
	if (!word_put(a, '\0'))
		goto too_long;
	return SL_OK;
too_long:
	dpdk_set_err(err, errlen, "EAL arguments too long (max %d bytes)", DPDK_EAL_BUF_MAX);
	return SL_ERROR;
}

int dpdk_eal_split(const char *s, struct dpdk_eal_argv *a, char *err, size_t errlen)
{
	const char *p = s;

	for (;;) {
		char quote = 0;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p == '\0')
			return SL_OK;
		if (!word_open(a)) {
			dpdk_set_err(err, errlen, "too many EAL arguments (max %d)", DPDK_EAL_ARGV_MAX);
			return SL_ERROR;
		}
		for (; *p != '\0'; p++) {
			char ch = *p;

			if (quote == '\'') {
				if (ch == '\'') {
					quote = 0;
					continue;
				}
			} else if (quote == '"') {
				if (ch == '"') {
					quote = 0;
					continue;
				}
				if (ch == '\\' && (p[1] == '"' || p[1] == '\\'))
					ch = *++p;
			} else {
				if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
					break;
				if (ch == '\'' || ch == '"') {
					quote = ch;
					continue;
				}
				if (ch == '\\' && p[1] != '\0')
					ch = *++p;
			}
			if (!word_put(a, ch))
				goto too_long;
		}
		if (quote != 0) {
			dpdk_set_err(err, errlen, "unterminated %c quote in EAL arguments: %s", quote, s);
			return SL_ERROR;
		}
		if (!word_put(a, '\0'))
			goto too_long;
	}
too_long:
	dpdk_set_err(err, errlen, "EAL arguments too long (max %d bytes)", DPDK_EAL_BUF_MAX);
	return SL_ERROR;
}

/*
 * EAL options that take a value in the next word when written without '='
 * (getopt: short "a:b:c:d:l:m:n:r:s:S:", and the required_argument long ones).
 */
static bool takes_value(const char *key)
{
	static const char *const with_value[] = {
		"-a", "-b", "-c", "-d", "-l", "-m", "-n", "-r", "-s", "-S",
		"--allow", "--block", "--base-virtaddr", "--file-prefix", "--huge-dir",
		"--iova-mode", "--lcores", "--log-level", "--main-lcore", "--master-lcore",
		"--mbuf-pool-ops-name", "--proc-type", "--socket-mem", "--socket-limit",
		"--vdev", "--vfio-intr", "--vfio-vf-token", "--trace", "--trace-dir",
		"--trace-bufsz", "--trace-mode", "--force-max-simd-bitwidth",
		"--service-corelist", "--service-coremask",
	};

	for (size_t i = 0; i < SL_ARRAY_SIZE(with_value); i++)
		if (strcmp(key, with_value[i]) == 0)
			return true;
	return false;
}

/* Options EAL accepts many times: an override adds to the config's. */
static bool repeatable(const char *key)
{
	static const char *const rep[] = {
		"-a", "-b", "-d", "--allow", "--block", "--vdev", "--log-level", "--trace",
	};

	for (size_t i = 0; i < SL_ARRAY_SIZE(rep); i++)
		if (strcmp(key, rep[i]) == 0)
			return true;
	return false;
}

/* Options that exclude each other: overriding one removes them all. 0 = own group. */
static int group_of(const char *key)
{
	if (strcmp(key, "-l") == 0 || strcmp(key, "-c") == 0 || strcmp(key, "--lcores") == 0)
		return 1;
	if (strcmp(key, "-m") == 0 || strcmp(key, "--socket-mem") == 0)
		return 2;
	if (strcmp(key, "--main-lcore") == 0 || strcmp(key, "--master-lcore") == 0)
		return 3;
	if (strcmp(key, "-s") == 0 || strcmp(key, "-S") == 0 || strcmp(key, "--service-corelist") == 0 ||
	    strcmp(key, "--service-coremask") == 0)
		return 4;
	return 0;
}

/* One option: its key ("-l", "--vdev") and the words it spans. */
struct eal_opt {
	char key[48];
	int  first, nwords;
};

/*
 * The options of words w[0..n): a long option's key ends at '='; a short
 * option written "-l0-1" has key "-l" and its value glued. A word that is not
 * an option and not a value is an error: EAL would stop parsing there.
 */
static int parse_opts(char *const *w, int n, struct eal_opt *o, int *no, const char *what,
		      char *err, size_t errlen)
{
	*no = 0;
	for (int i = 0; i < n; i++) {
		const char *s = w[i];
		struct eal_opt *x = &o[(*no)++];
		size_t klen;

		if (s[0] != '-' || s[1] == '\0' || strcmp(s, "--") == 0) {
			dpdk_set_err(err, errlen, "%s: '%s' is not an EAL option", what, s);
			return SL_ERROR;
		}
		if (s[1] == '-')
			klen = strcspn(s, "=");
		else
			klen = 2;
		if (klen >= sizeof(x->key)) {
			dpdk_set_err(err, errlen, "%s: EAL option too long: %s", what, s);
			return SL_ERROR;
		}
		memcpy(x->key, s, klen);
		x->key[klen] = '\0';
		x->first = i;
		x->nwords = 1;
		if (s[klen] == '\0' && takes_value(x->key)) {
			if (i + 1 >= n) {
				dpdk_set_err(err, errlen, "%s: EAL option %s needs a value", what, x->key);
				return SL_ERROR;
			}
			x->nwords = 2;
			i++;
		}
	}
	return SL_OK;
}

static bool overridden(const struct eal_opt *c, const struct eal_opt *ovr, int novr)
{
	int g = group_of(c->key);

	if (repeatable(c->key))
		return false;
	for (int i = 0; i < novr; i++) {
		if (strcmp(c->key, ovr[i].key) == 0)
			return true;
		if (g != 0 && group_of(ovr[i].key) == g)
			return true;
	}
	return false;
}

int dpdk_eal_build(const char *prog, const char *cfg_eal, int novr, char *const *ovr,
		   struct dpdk_eal_argv *a, char *err, size_t errlen)
{
	static struct dpdk_eal_argv cw;   /* the config's words; start-up only, not reentrant */
	struct eal_opt co[DPDK_EAL_ARGV_MAX], oo[DPDK_EAL_ARGV_MAX];
	int nco, noo;

	memset(a, 0, sizeof(*a));
	memset(&cw, 0, sizeof(cw));
	if (novr < 0 || novr > DPDK_EAL_ARGV_MAX) {
		dpdk_set_err(err, errlen, "too many EAL arguments (max %d)", DPDK_EAL_ARGV_MAX);
		return SL_ERROR;
	}
	if (dpdk_eal_split(cfg_eal != NULL ? cfg_eal : "", &cw, err, errlen) != SL_OK)
		return SL_ERROR;
	if (parse_opts(cw.argv, cw.argc, co, &nco, "dpdk eal", err, errlen) != SL_OK ||
	    parse_opts(ovr, novr, oo, &noo, "EAL override", err, errlen) != SL_OK)
		return SL_ERROR;
	if (add_word(a, prog != NULL ? prog : "sluice", err, errlen) != SL_OK)
		return SL_ERROR;
	for (int i = 0; i < nco; i++) {
		if (overridden(&co[i], oo, noo))
			continue;
		for (int k = 0; k < co[i].nwords; k++)
			if (add_word(a, cw.argv[co[i].first + k], err, errlen) != SL_OK)
				return SL_ERROR;
	}
	for (int i = 0; i < novr; i++)
		if (add_word(a, ovr[i], err, errlen) != SL_OK)
			return SL_ERROR;
	return SL_OK;
}

/* What to do about the usual reasons rte_eal_init fails (rte_errno values from its documentation). */
static const char *eal_hint(int e)
{
	switch (e) {
	case EACCES:
		return "permission denied: run as root (or with CAP_SYS_ADMIN, CAP_IPC_LOCK)";
	case EAGAIN:
		return "a bus or device could not be scanned or probed";
	case EALREADY:
		return "EAL was started already (it can be started once per process)";
	case EFAULT:
		return "the tailq configuration is broken";
	case ENODEV:
		return "memory or a device could not be set up";
	case ENOMEM:
		return "not enough memory: mount hugepages, or use '--no-huge -m 512'";
	case ENOTSUP:
		return "an option is not supported here (e.g. --in-memory with --no-huge on this DPDK)";
	case EPROTO:
		return "the primary process is not running (--proc-type secondary)";
	case EINVAL:
		return "a bad EAL option or value (see the EAL lines above)";
	case ENOEXEC:
		return "a required driver library could not be loaded";
	default:
		return "see the EAL log lines above";
	}
}

/* The argv handed to EAL stays alive for the process: EAL keeps pointers into it. */
static struct dpdk_eal_argv eal_argv;
static bool eal_started;

int dpdk_eal_init(const char *prog, const char *cfg_eal, int novr, char *const *ovr,
		  char *err, size_t errlen)
{
	char line[DPDK_EAL_BUF_MAX + DPDK_EAL_ARGV_MAX];
	char *argv_copy[DPDK_EAL_ARGV_MAX + 1];
	size_t off = 0;
	int rc;

	if (eal_started) {
		dpdk_set_err(err, errlen, "EAL is already started (once per process)");
		return SL_ERROR;
	}
	if (dpdk_eal_build(prog, cfg_eal, novr, ovr, &eal_argv, err, errlen) != SL_OK)
		return SL_ERROR;
	line[0] = '\0';
	for (int i = 1; i < eal_argv.argc && off < sizeof(line); i++)
		off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s", i > 1 ? " " : "",
					eal_argv.argv[i]);
	sl_info("dpdk: EAL arguments: %s", line);
	/* getopt permutes argv: give it a copy so eal_argv keeps the original order for messages */
	memcpy(argv_copy, eal_argv.argv, sizeof(argv_copy));
	rc = rte_eal_init(eal_argv.argc, argv_copy);
	if (rc < 0) {
		int e = rte_errno;

		dpdk_set_err(err, errlen, "EAL init failed: %s (rte_errno %d): %s; EAL arguments: %s",
			rte_strerror(e), e, eal_hint(e), line);
		return SL_ERROR;
	}
	eal_started = true;
	return SL_OK;
}

void dpdk_eal_cleanup(void)
{
	if (eal_started)
		rte_eal_cleanup();
	eal_started = false;
}
