/* prom_check.h - a checker of the Prometheus text exposition (format 0.0.4), for the tests (no promtool here). */
#ifndef PROM_CHECK_H
#define PROM_CHECK_H

#include <stddef.h>

/*
 * prom_check - 0 when text is a valid exposition that also keeps sluice's
 * rules: every sample's family has HELP and TYPE before its first sample,
 * a family's lines are one group, no sample twice (same name and label
 * set), counters named *_total. Else -1 and err says which line and why.
 */
int prom_check(const char *text, char *err, size_t errlen);

/*
 * prom_value - the value of the sample `name{labels}` (labels as written,
 * e.g. `worker="0"`, or "" for none; the order of the labels counts), into
 * *out. 0 when found, -1 otherwise.
 */
int prom_value(const char *text, const char *name, const char *labels, double *out);

#endif
