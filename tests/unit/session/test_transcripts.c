/* test_transcripts.c - replay every tests/data/transcripts file (.txt) through
 * relay_session and the fake transport.
 *
 * Format, one directive per line ('#' starts a comment line):
 *   CFG: text        a config line (all CFG lines come first)
 *   OPT: word [n]    scripted (the test plays the backend), mta_pipelining,
 *                    mta_xclient, connect_fail N, dot_code N, client IP
 *   C: text          the client sends text and CR LF
 *   C= text          the client sends text as is (no CR LF added)
 *   S: text          the next line the client received is text
 *   NOMORE           the client has received nothing more
 *   CLOSED / OPEN    the client leg is closed / still open
 *   B: text          (scripted) the backend sends text and CR LF
 *   BC: ok|fail      (scripted) the backend connect result
 *   BE: text         (scripted) the next line the backend received is text
 *   BNOMORE          the backend has received nothing more
 *   ADVANCE: ms      the clock moves, timers fire
 *   CONNECTS: n      backend connects so far
 *   MSGS: n          messages the automatic MTA received (CR LF . CR LF)
 *   ACCEPTED: n      ... and answered 250
 *   BODY: text       the last message the MTA received, without ".\r\n"
 *   BLACKS: text     the backend never received text
 * Text takes C escapes: \r \n \t \0 \\ \xHH. After every transcript with
 * the automatic MTA: no bare CR or LF ever reached it inside DATA.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_transport.h"
#include "test.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

static size_t unescape(const char *s, char *out)
{
	size_t n = 0;

	while (*s) {
		if (*s != '\\') {
			out[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'r': out[n++] = '\r'; s++; break;
		case 'n': out[n++] = '\n'; s++; break;
		case 't': out[n++] = '\t'; s++; break;
		case '0': out[n++] = '\0'; s++; break;
		case '\\': out[n++] = '\\'; s++; break;
		case 'x': {
			unsigned v = 0;
			sscanf(s + 1, "%2x", &v);
			out[n++] = (char)v;
			s += 3;
			break;
		}
		default: out[n++] = '\\'; break;
		}
	}
	out[n] = '\0';
	return n;
}

/* The next CR LF line of a leg after *cur, without the CR LF. */
static bool next_line(const struct fake_buf *b, size_t *cur, char *out, size_t len)
{
	const uint8_t *p = b->p ? b->p + *cur : NULL;
	const uint8_t *nl;
	size_t n;

	if (p == NULL || *cur >= b->len)
		return false;
	nl = memchr(p, '\n', b->len - *cur);
	if (nl == NULL)
		return false;
	n = (size_t)(nl - p) + 1;
	*cur += n;
	n = n >= 2 && p[n - 2] == '\r' ? n - 2 : n - 1;
	n = SL_MIN(n, len - 1);
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

static int failures;

#define TFAIL(...) do { fprintf(stderr, "\n%s:%d: ", name, lineno); fprintf(stderr, __VA_ARGS__); \
	fputc('\n', stderr); ok = false; } while (0)

static bool run_transcript(const char *path, const char *name)
{
	FILE *f = fopen(path, "r");
	char line[8192], arg[8192], cfg[8192] = "", got[4096], ip[64] = "198.18.0.7";
	struct fake_env *env = NULL;
	struct fake_conn *c = NULL;
	size_t ccur = 0, bcur = 0;
	bool ok = true, scripted = false, mta_pipe = false, mta_xclient = false;
	int connect_fail = 0, dot_code = 0, lineno = 0;

	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		return false;
	}
	while (ok && fgets(line, sizeof(line), f) != NULL) {
		size_t l = strlen(line);
		const char *v;

		lineno++;
		while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
			line[--l] = '\0';
		if (l == 0 || line[0] == '#')
			continue;
		v = strchr(line, ' ');
		v = v ? v + 1 : "";
		if (strncmp(line, "CFG:", 4) == 0) {
			strcat(cfg, v);
			strcat(cfg, "\n");
			continue;
		}
		if (strncmp(line, "OPT:", 4) == 0) {
			if (strcmp(v, "scripted") == 0)
				scripted = true;
			else if (strcmp(v, "mta_pipelining") == 0)
				mta_pipe = true;
			else if (strcmp(v, "mta_xclient") == 0)
				mta_xclient = true;
			else if (strncmp(v, "connect_fail ", 13) == 0)
				connect_fail = atoi(v + 13);
			else if (strncmp(v, "dot_code ", 9) == 0)
				dot_code = atoi(v + 9);
			else if (strncmp(v, "client ", 7) == 0)
				snprintf(ip, sizeof(ip), "%s", v + 7);
			else
				TFAIL("unknown option %s", v);
			continue;
		}
		if (c == NULL) {
			env = fake_env_new(cfg);
			if (env == NULL) {
				TFAIL("config does not parse");
				break;
			}
			c = fake_conn_new(env, ip, 40000, !scripted);
			c->mta.pipelining = mta_pipe;
			c->mta.xclient = mta_xclient;
			c->auto_connect_fail = connect_fail;
			c->mta.dot_code = dot_code;
			fake_settle(c);
		}
		if (strncmp(line, "C:", 2) == 0 || strncmp(line, "C=", 2) == 0) {
			size_t n = unescape(v, arg);
			if (line[1] == ':') {
				memcpy(arg + n, "\r\n", 3);
				n += 2;
			}
			fake_client_send(c, arg, n);
		} else if (strncmp(line, "S:", 2) == 0) {
			unescape(v, arg);
			if (!next_line(&c->out[SL_LEG_CLIENT], &ccur, got, sizeof(got)))
				TFAIL("client: expected [%s], got nothing", arg);
			else if (strcmp(got, arg) != 0)
				TFAIL("client: expected [%s], got [%s]", arg, got);
		} else if (strcmp(line, "NOMORE") == 0) {
			if (ccur < c->out[SL_LEG_CLIENT].len)
				TFAIL("client: unexpected [%s]", c->out[SL_LEG_CLIENT].p + ccur);
		} else if (strcmp(line, "CLOSED") == 0 || strcmp(line, "OPEN") == 0) {
			if (c->client_open != (line[0] == 'O'))
				TFAIL("client leg is %s", c->client_open ? "open" : "closed");
		} else if (strncmp(line, "B:", 2) == 0) {
			size_t n = unescape(v, arg);
			memcpy(arg + n, "\r\n", 3);
			fake_backend_str(c, arg);
		} else if (strncmp(line, "BC:", 3) == 0) {
			fake_backend_connected(c, strcmp(v, "ok") == 0);
		} else if (strncmp(line, "BE:", 3) == 0) {
			unescape(v, arg);
			if (!next_line(&c->out[SL_LEG_BACKEND], &bcur, got, sizeof(got)))
				TFAIL("backend: expected [%s], got nothing", arg);
			else if (strcmp(got, arg) != 0)
				TFAIL("backend: expected [%s], got [%s]", arg, got);
		} else if (strcmp(line, "BNOMORE") == 0) {
			if (bcur < c->out[SL_LEG_BACKEND].len)
				TFAIL("backend: unexpected [%s]", c->out[SL_LEG_BACKEND].p + bcur);
		} else if (strncmp(line, "ADVANCE:", 8) == 0) {
			fake_advance(c, strtoull(v, NULL, 10));
		} else if (strncmp(line, "CONNECTS:", 9) == 0) {
			if (c->nconnect != (unsigned)atoi(v))
				TFAIL("connects: %u, expected %s", c->nconnect, v);
		} else if (strncmp(line, "MSGS:", 5) == 0) {
			if (c->mta.messages != (unsigned)atoi(v))
				TFAIL("backend messages: %u, expected %s", c->mta.messages, v);
		} else if (strncmp(line, "ACCEPTED:", 9) == 0) {
			if (c->mta.accepted != (unsigned)atoi(v))
				TFAIL("backend accepted: %u, expected %s", c->mta.accepted, v);
		} else if (strncmp(line, "BODY:", 5) == 0) {
			size_t n = unescape(v, arg);
			if (c->mta.last_msg.len != n || memcmp(c->mta.last_msg.p, arg, n) != 0)
				TFAIL("body: [%.*s], expected [%s]", (int)c->mta.last_msg.len,
				      c->mta.last_msg.p ? (const char *)c->mta.last_msg.p : "", arg);
		} else if (strncmp(line, "BLACKS:", 7) == 0) {
			size_t n = unescape(v, arg);
			if (c->out[SL_LEG_BACKEND].len >= n &&
			    memmem(c->out[SL_LEG_BACKEND].p, c->out[SL_LEG_BACKEND].len, arg, n) != NULL)
				TFAIL("backend received [%s]", arg);
		} else {
			TFAIL("unknown directive: %s", line);
		}
	}
	fclose(f);
	if (c != NULL && !scripted && c->mta.bare != 0) {
		lineno = 0;
		TFAIL("a bare CR or LF reached the backend inside DATA (%u)", c->mta.bare);
	}
	if (c != NULL)
		fake_conn_free(c);
	fake_env_free(env);
	return ok;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_all_transcripts(void)
{
	char dir[1024], path[2048];
	char *names[256];
	unsigned n = 0;
	DIR *d;
	struct dirent *de;

	snprintf(dir, sizeof(dir), "%s/transcripts", test_data_dir());
	d = opendir(dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((de = readdir(d)) != NULL && n < SL_ARRAY_SIZE(names)) {
		size_t l = strlen(de->d_name);
		if (l > 4 && strcmp(de->d_name + l - 4, ".txt") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	CU_ASSERT(n >= 15);
	for (unsigned i = 0; i < n; i++) {
		bool ok;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		ok = run_transcript(path, names[i]);
		CU_ASSERT_TRUE(ok);
		if (!ok)
			failures++;
		printf("  transcript %-40s %s\n", names[i], ok ? "ok" : "FAILED");
		free(names[i]);
	}
}

void register_tests(void)
{
	static const struct test_case t[] = {
		{ "replay every transcript", test_all_transcripts },
		{ NULL, NULL }
	};

	sl_log_set_level(SL_LOG_ERR);
	test_suite("transcripts", t);
}
