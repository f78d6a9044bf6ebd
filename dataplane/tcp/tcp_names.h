/* tcp_names.h - stable lower_snake names of the TCP stack's enums, for metrics and the control socket. */
#ifndef TCP_NAMES_H
#define TCP_NAMES_H

#include "tcp/tcp-t.h"

/* tcp_drop_name - "short", "no_conn", ...; "unknown" for a value without a name. */
const char *tcp_drop_name(enum tcp_drop reason);

/* tcp_state_label - "established", "syn_rcvd", ... (tcp_state_name is the RFC's spelling, for logs). */
const char *tcp_state_label(enum tcp_state s);

#endif
