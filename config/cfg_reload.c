/* cfg_reload.c - what a reload cannot change in a running sluice: the directives whose new values wait for a restart. */
#include <stdio.h>
#include <string.h>

#include "cfg.h"

static bool addr_same(const struct sl_addr *a, const struct sl_addr *b)
{
	return a->family == b->family && a->port == b->port && memcmp(a->ip, b->ip, sizeof(a->ip)) == 0;
}

static bool prefix_same(const struct sl_prefix *a, const struct sl_prefix *b)
{
	return a->len == b->len && addr_same(&a->addr, &b->addr);
}

static bool listen_same(const struct cfg *a, const struct cfg *b)
{
	if (a->nlisten != b->nlisten)
		return false;
	for (unsigned i = 0; i < a->nlisten; i++)
		if (!addr_same(&a->listen[i], &b->listen[i]))
			return false;
	return true;
}

/* The ports, their queues and pools, the stacks' tables and key are made once, at start. */
static bool dpdk_same(const struct cfg_dpdk *a, const struct cfg_dpdk *b)
{
	if (strcmp(a->eal, b->eal) != 0 || a->nports != b->nports || a->nroutes != b->nroutes ||
	    a->mbufs != b->mbufs || strcmp(a->tcp_secret, b->tcp_secret) != 0 ||
	    a->source_port_lo != b->source_port_lo || a->source_port_hi != b->source_port_hi ||
	    a->time_wait_max != b->time_wait_max)
		return false;
	for (unsigned i = 0; i < a->nports; i++) {
		const struct cfg_dpdk_port *p = &a->ports[i], *q = &b->ports[i];

		if (p->id != q->id || strcmp(p->name, q->name) != 0 || !prefix_same(&p->address, &q->address) ||
		    !addr_same(&p->gateway, &q->gateway))
			return false;
	}
	for (unsigned i = 0; i < a->nroutes; i++)
		if (!prefix_same(&a->routes[i].dst, &b->routes[i].dst) ||
		    !addr_same(&a->routes[i].via, &b->routes[i].via))
			return false;
	return true;
}

static bool control_same(const struct cfg *a, const struct cfg *b)
{
	return strcmp(a->control_path, b->control_path) == 0 && a->control_mode == b->control_mode &&
	       memcmp(&a->control_owner, &b->control_owner, sizeof(a->control_owner)) == 0 &&
	       memcmp(&a->control_group, &b->control_group, sizeof(a->control_group)) == 0;
}

static void add(char *buf, size_t len, size_t *off, unsigned *n, const char *name)
{
	int w;

	if (*off >= len)
		return;
	w = snprintf(buf + *off, len - *off, "%s%s", *n ? ", " : "", name);
	if (w > 0)
		*off += (size_t)w;
	(*n)++;
}

unsigned cfg_restart_only(const struct cfg *old, const struct cfg *c, char *buf, size_t len)
{
	unsigned n = 0;
	size_t off = 0;

	if (len > 0)
		buf[0] = '\0';
	if (old->transport != c->transport)
		add(buf, len, &off, &n, "transport");
	if (old->workers != c->workers)
		add(buf, len, &off, &n, "workers");
	if (!listen_same(old, c))
		add(buf, len, &off, &n, "listen");
	if (!dpdk_same(&old->dpdk, &c->dpdk))
		add(buf, len, &off, &n, "the dpdk block");
	/* the DPDK workers' session slots and TCBs are sized from it at start;
	 * a lower bound, and any bound under the kernel transport, applies now */
	if (old->transport == CFG_TRANSPORT_DPDK && c->max_sessions > old->max_sessions)
		add(buf, len, &off, &n, "max_sessions (raised: transport dpdk sizes its tables at start)");
	if (strcmp(old->pid_file, c->pid_file) != 0)
		add(buf, len, &off, &n, "pid_file");
	if (!control_same(old, c))
		add(buf, len, &off, &n, "control");
	if (!addr_same(&old->metrics_addr, &c->metrics_addr))
		add(buf, len, &off, &n, "metrics");
	return n;
}
