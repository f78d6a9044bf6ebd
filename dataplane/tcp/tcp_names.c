/* tcp_names.c - names of the TCP drop reasons and states as the metrics and the control socket show them. */
#include <stddef.h>

#include "tcp/tcp_names.h"

/*
 * Operators build dashboards on these strings: never rename one. A reason
 * added to enum tcp_drop without a name here reads "unknown", which
 * test_dpdk_counters catches.
 */
static const char *const drop_names[TCP_DROP_COUNT] = {
	[TCP_DROP_SHORT] = "short",
	[TCP_DROP_BAD_OPT] = "bad_opt",
	[TCP_DROP_BAD_FLAGS] = "bad_flags",
	[TCP_DROP_NO_CONN] = "no_conn",
	[TCP_DROP_NOT_ACCEPTABLE] = "not_acceptable",
	[TCP_DROP_PAWS] = "paws",
	[TCP_DROP_BAD_ACK] = "bad_ack",
	[TCP_DROP_RST_WINDOW] = "rst_window",
	[TCP_DROP_SYN_SYNCED] = "syn_synced",
	[TCP_DROP_NO_ACK] = "no_ack",
	[TCP_DROP_SYN_BACKLOG] = "syn_backlog",
	[TCP_DROP_TABLE_FULL] = "table_full",
	[TCP_DROP_OOO_FULL] = "ooo_full",
	[TCP_DROP_RCVQ_FULL] = "rcvq_full",
	[TCP_DROP_LISTEN] = "listen",
	[TCP_DROP_SYN_SENT] = "syn_sent",
	[TCP_DROP_TIME_WAIT] = "time_wait",
};

static const char *const state_labels[TCP_STATE_COUNT] = {
	[TCP_CLOSED] = "closed",
	[TCP_LISTEN] = "listen",
	[TCP_SYN_SENT] = "syn_sent",
	[TCP_SYN_RCVD] = "syn_rcvd",
	[TCP_ESTABLISHED] = "established",
	[TCP_FIN_WAIT_1] = "fin_wait_1",
	[TCP_FIN_WAIT_2] = "fin_wait_2",
	[TCP_CLOSE_WAIT] = "close_wait",
	[TCP_CLOSING] = "closing",
	[TCP_LAST_ACK] = "last_ack",
	[TCP_TIME_WAIT] = "time_wait",
};

const char *tcp_drop_name(enum tcp_drop reason)
{
	if ((unsigned)reason >= TCP_DROP_COUNT || drop_names[reason] == NULL)
		return "unknown";
	return drop_names[reason];
}

const char *tcp_state_label(enum tcp_state s)
{
	if ((unsigned)s >= TCP_STATE_COUNT || state_labels[s] == NULL)
		return "unknown";
	return state_labels[s];
}
