/* cfg_check.c - checks that need the whole file (required directives, values that depend on each other). */
#include "cfg_internal.h"
#include "util/sl_status.h"

int cfg_check(struct cfg *c, const struct cfg_seen *seen, char *err, size_t errlen)
{
	const char *f = c->file;

	/* without relay_domains every recipient would get 554: the gateway
	 * would accept connections only to refuse all mail */
	if (c->nrelay_domains == 0) {
		cfg_error(err, errlen, f, 0, "relay_domains is empty");
		return SL_ERROR;
	}
	if (c->nbackends == 0) {
		cfg_error(err, errlen, f, 0, "no backend configured");
		return SL_ERROR;
	}
	if (c->transport == CFG_TRANSPORT_DPDK && c->dpdk.nports == 0) {
		cfg_error(err, errlen, f, seen->line[CFG_D_DPDK] ? seen->line[CFG_D_DPDK] : seen->line[CFG_D_TRANSPORT],
			  "transport dpdk needs a 'port' in the dpdk block");
		return SL_ERROR;
	}
	if (c->smtp.stress_sessions > c->max_sessions) {
		cfg_error(err, errlen, f, seen->line[CFG_D_STRESS_SESSIONS],
			  "stress_sessions %u is above max_sessions %u", c->smtp.stress_sessions,
			  c->max_sessions);
		return SL_ERROR;
	}
	/* under stress the timeout is meant to shrink, never to grow; the
	 * default one follows a short command_timeout down */
	if (c->smtp.stress_command_timeout_ms > c->smtp.command_timeout_ms) {
		if (seen->line[CFG_D_STRESS_COMMAND_TIMEOUT] == 0) {
			c->smtp.stress_command_timeout_ms = c->smtp.command_timeout_ms;
		} else {
			cfg_error(err, errlen, f, seen->line[CFG_D_STRESS_COMMAND_TIMEOUT],
				  "stress_command_timeout is longer than command_timeout");
			return SL_ERROR;
		}
	}
	cfg_resolve(c);
	return SL_OK;
}
