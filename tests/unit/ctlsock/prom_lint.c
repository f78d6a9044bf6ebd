/* prom_lint.c - reads a Prometheus exposition on stdin and says whether prom_check finds it valid (the integration tests' promtool). */
#include <stdio.h>
#include <stdlib.h>

#include "prom_check.h"

int main(void)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap), err[512];
	size_t n;

	while (buf != NULL && (n = fread(buf + len, 1, cap - 1 - len, stdin)) > 0) {
		len += n;
		if (len + 1 == cap) {
			char *p = realloc(buf, cap * 2);
			if (p == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = p;
			cap *= 2;
		}
	}
	if (buf == NULL) {
		fprintf(stderr, "prom_lint: no memory\n");
		return 2;
	}
	buf[len] = '\0';
	if (prom_check(buf, err, sizeof(err)) != 0) {
		fprintf(stderr, "prom_lint: %s\n", err);
		free(buf);
		return 1;
	}
	free(buf);
	return 0;
}
