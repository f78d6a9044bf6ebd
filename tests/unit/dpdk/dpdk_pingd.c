/* dpdk_pingd.c - the dataplane alone on one port for N seconds: the responder of tests/integration/test_dpdk_ping.sh. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpdk/dpdk.h"
#include "net/net_stats.h"
#include "util/sl_addr.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: dpdk_pingd -e \"EAL ARGS\" -a ADDR/LEN [-g GATEWAY] [-p PORT] [-t SECONDS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *eal = "", *addr = NULL, *gw = NULL;
	unsigned port = 0, seconds = 10;
	struct cfg_dpdk cd;
	struct dpdk_dp *dp = NULL;
	struct dpdk_port_info pi;
	struct dpdk_stats st;
	char err[1024], buf[64], *slash;
	int opt, rc = 1;

	while ((opt = getopt(argc, argv, "e:a:g:p:t:")) != -1) {
		switch (opt) {
		case 'e': eal = optarg; break;
		case 'a': addr = optarg; break;
		case 'g': gw = optarg; break;
		case 'p': port = (unsigned)atoi(optarg); break;
		case 't': seconds = (unsigned)atoi(optarg); break;
		default: return usage();
		}
	}
	if (addr == NULL || strlen(addr) >= sizeof(buf))
		return usage();
	memset(&cd, 0, sizeof(cd));
	cd.nports = 1;
	cd.ports[0].id = port;
	cd.mbufs = 16383;
	snprintf(buf, sizeof(buf), "%s", addr);
	slash = strchr(buf, '/');
	if (slash == NULL)
		return usage();
	*slash = '\0';
	if (sl_addr_parse(buf, &cd.ports[0].address.addr, false) != 0)
		return usage();
	cd.ports[0].address.len = (uint8_t)atoi(slash + 1);
	if (gw != NULL && sl_addr_parse(gw, &cd.ports[0].gateway, false) != 0)
		return usage();

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (dpdk_eal_init("dpdk_pingd", eal, 0, NULL, err, sizeof(err)) != SL_OK) {
		fprintf(stderr, "dpdk_pingd: %s\n", err);
		return 1;
	}
	if (dpdk_dp_create(&dp, &cd, err, sizeof(err)) != SL_OK ||
	    dpdk_dp_launch(dp, err, sizeof(err)) != SL_OK) {
		fprintf(stderr, "dpdk_pingd: %s\n", err);
		goto out;
	}
	dpdk_dp_port_info(dp, 0, &pi);
	/* the test script reads this line for the MAC it must find in the client's neighbour table */
	printf("READY port %u %s mac %02x:%02x:%02x:%02x:%02x:%02x\n", pi.port_id, pi.name, pi.mac.b[0],
	       pi.mac.b[1], pi.mac.b[2], pi.mac.b[3], pi.mac.b[4], pi.mac.b[5]);
	fflush(stdout);
	for (unsigned i = 0; i < seconds * 10 && !stop; i++)
		usleep(100 * 1000);
	dpdk_dp_stop(dp);
	dpdk_stats_total(dp, &st);
	printf("STATS rx %lu tx %lu arp_req_in %lu arp_rep_out %lu echo_out %lu tcp %lu drops %lu tx_drop %lu\n",
	       (unsigned long)st.rx_pkts, (unsigned long)st.tx_pkts, (unsigned long)st.net.arp_requests_in,
	       (unsigned long)st.net.arp_replies_out, (unsigned long)st.net.icmp_echo_out,
	       (unsigned long)st.tcp_unhandled, (unsigned long)net_stats_drops(&st.net),
	       (unsigned long)st.tx_drop);
	for (unsigned r = 1; r < NET_DROP_MAX; r++)
		if (st.net.drop[r] != 0)
			printf("DROP %s %lu\n", net_drop_name((enum net_drop)r), (unsigned long)st.net.drop[r]);
	rc = 0;
out:
	dpdk_dp_destroy(dp);
	dpdk_eal_cleanup();
	return rc;
}
