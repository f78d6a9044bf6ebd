/* sluicectl.c - the operator's command line. Until the control socket lands
 * (issue 4) it reaches the daemon through its pid file and signals. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"

#define DEFAULT_CONFIG "/etc/sluice/sluice.conf"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sluicectl [-c CONFIG | -p PIDFILE] COMMAND\n"
		"commands:\n"
		"  status     is the daemon running (exit 0) or not (exit 1)\n"
		"  reload     re-read the configuration (SIGHUP), sessions stay\n"
		"  shutdown   graceful stop (SIGTERM): 421 to idle sessions,\n"
		"             transactions in flight finish within shutdown_grace\n"
		"  check      check the configuration file (like sluice -t)\n"
		"The pid file comes from the config's pid_file directive unless -p is given.\n");
}

static int read_pid(const char *path, pid_t *pid)
{
	FILE *f = fopen(path, "r");
	long v;

	if (f == NULL) {
		fprintf(stderr, "sluicectl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fscanf(f, "%ld", &v) != 1 || v <= 1) {
		fprintf(stderr, "sluicectl: %s: no pid in it\n", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	*pid = (pid_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	const char *config = DEFAULT_CONFIG, *pidfile = NULL, *cmd;
	char err[512], pidbuf[CFG_PATH_MAX];
	struct cfg *c = NULL;
	pid_t pid;
	int opt, sig;

	while ((opt = getopt(argc, argv, "c:p:h")) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "reload") == 0)
		sig = SIGHUP;
	else if (strcmp(cmd, "shutdown") == 0)
		sig = SIGTERM;
	else if (strcmp(cmd, "status") == 0)
		sig = 0;
	else if (strcmp(cmd, "check") == 0)
		sig = -1;
	else {
		fprintf(stderr, "sluicectl: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	if (sig == -1 || pidfile == NULL) {
		c = cfg_load(config, err, sizeof(err));
		if (c == NULL) {
			fprintf(stderr, "sluicectl: %s\n", err);
			return 1;
		}
		if (sig == -1) {
			printf("%s: ok\n", config);
			cfg_unref(c);
			return 0;
		}
		if (c->pid_file[0] == '\0') {
			fprintf(stderr, "sluicectl: %s has no pid_file; give one with -p\n", config);
			cfg_unref(c);
			return 1;
		}
		snprintf(pidbuf, sizeof(pidbuf), "%s", c->pid_file);
		pidfile = pidbuf;
		cfg_unref(c);
	}
	if (read_pid(pidfile, &pid) < 0)
		return 1;
	if (kill(pid, sig) < 0) {
		fprintf(stderr, "sluicectl: pid %ld: %s\n", (long)pid, strerror(errno));
		return 1;
	}
	if (sig == 0)
		printf("sluice is running, pid %ld\n", (long)pid);
	return 0;
}
