/* ctl_limits.c - the runtime rate limits: kept on the control thread, laid
 * over the file's at every change and every reload. */
#include "ctlsock/ctl_limits.h"

#include <stdlib.h>
#include <string.h>

#include "util/sl_status.h"

int ctl_limits_find(const struct ctl_limits *rl, const struct cfg_limit *lim)
{
	for (unsigned i = 0; i < rl->n; i++)
		if (cfg_limit_same_rule(&rl->ent[i].lim, lim))
			return (int)i;
	return -1;
}

int ctl_limits_set(struct ctl_limits *rl, const struct cfg_limit *lim, uint32_t uid, int64_t now_unix)
{
	int i = ctl_limits_find(rl, lim);
	struct ctl_limit_entry e = { .lim = *lim, .uid = uid, .set_unix = now_unix };

	e.lim.line = 0;
	if (i >= 0) {
		rl->ent[i] = e;
		return SL_DONE;
	}
	if (rl->n >= CTL_LIMITS_MAX)
		return SL_ERROR;
	rl->ent[rl->n++] = e;
	return SL_OK;
}

void ctl_limits_remove(struct ctl_limits *rl, unsigned i)
{
	if (i >= rl->n)
		return;
	memmove(&rl->ent[i], &rl->ent[i + 1], (rl->n - i - 1) * sizeof(rl->ent[0]));
	rl->n--;
}

unsigned ctl_limits_effective(const struct ctl_limits *rl, const struct cfg *file, struct cfg_limit *out,
			      bool *runtime, int *replaced, unsigned max)
{
	bool used[CTL_LIMITS_MAX] = { false };
	unsigned n = 0;

	for (unsigned i = 0; i < file->nlimits && n < max; i++, n++) {
		int r = ctl_limits_find(rl, &file->limits[i]);
		if (r >= 0 && !used[r]) {
			used[r] = true;
			out[n] = rl->ent[r].lim;
			if (runtime != NULL)
				runtime[n] = true;
			if (replaced != NULL)
				replaced[n] = file->limits[i].line;
		} else {
			out[n] = file->limits[i];
			if (runtime != NULL)
				runtime[n] = false;
			if (replaced != NULL)
				replaced[n] = 0;
		}
	}
	for (unsigned r = 0; r < rl->n && n < max; r++) {
		if (used[r])
			continue;
		out[n] = rl->ent[r].lim;
		if (runtime != NULL)
			runtime[n] = true;
		if (replaced != NULL)
			replaced[n] = 0;
		n++;
	}
	return n;
}

struct cfg *ctl_limits_overlay(const struct ctl_limits *rl, struct cfg *file)
{
	unsigned max = file->nlimits + rl->n;
	struct cfg_limit *l;
	struct cfg *c;

	if (rl->n == 0)
		return cfg_ref(file);
	l = malloc((size_t)max * sizeof(*l));
	if (l == NULL)
		return NULL;
	c = cfg_with_limits(file, l, ctl_limits_effective(rl, file, l, NULL, NULL, max));
	free(l);
	return c;
}
