/* dpdk_port.c - mbuf pools sized and checked per socket, ports configured from the config's dpdk block. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dpdk/dpdk_eal.h"
#include "dpdk/dpdk_link.h"
#include "dpdk/dpdk_port.h"
#include "net/net_ipv4.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

#define MIB(x) ((double)(x) / (1024.0 * 1024.0))

/* Bytes a pool of n mbufs takes from the heap: objects with their headers, plus the ring and caches. */
static uint64_t pool_bytes(uint32_t n, unsigned ncaches)
{
	struct rte_mempool_objsz sz;
	uint32_t elt = (uint32_t)(sizeof(struct rte_mbuf) + RTE_MBUF_DEFAULT_BUF_SIZE);
	uint64_t obj = rte_mempool_calc_obj_size(elt, 0, &sz);

	/* the ring of free objects holds a pointer per mbuf, rounded up to a power of two */
	return (uint64_t)n * obj + (uint64_t)rte_align32pow2(n + 1) * sizeof(void *) +
	       (uint64_t)ncaches * sizeof(struct rte_mempool_cache) + 64 * 1024;
}

int dpdk_pools_create(struct dpdk_dp *dp, uint32_t mbufs, char *err, size_t errlen)
{
	unsigned workers_on[RTE_MAX_NUMA_NODES] = { 0 };

	for (unsigned w = 0; w < dp->nworkers; w++)
		workers_on[dp->lcores[w] != NULL ? (unsigned)dp->lcores[w]->socket : 0]++;
	for (unsigned s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		unsigned nw = workers_on[s];
		uint64_t pinned, need;
		struct rte_malloc_socket_stats ms;
		char name[RTE_MEMPOOL_NAMESIZE];

		if (nw == 0)
			continue;
		/*
		 * Mbufs that are never free for us: every RX descriptor holds one,
		 * TX descriptors hold sent frames until the NIC is done, each lcore
		 * cache hoards up to 1.5 x its size, plus a burst and a TX buffer.
		 */
		pinned = 0;
		for (unsigned i = 0; i < dp->nports; i++)
			pinned += (uint64_t)nw * (dp->ports[i].nb_rxd + dp->ports[i].nb_txd + DPDK_TXQ_MAX);
		pinned += (uint64_t)nw * (DPDK_POOL_CACHE * 3 / 2 + DPDK_BURST);
		if (mbufs < pinned) {
			dpdk_set_err(err, errlen,
				"dpdk mbufs %" PRIu32 " is too few for socket %u: %u worker(s) x %u port(s) "
				"pin %" PRIu64 " (%u RX + %u TX descriptors, TX buffer %u, cache %u, burst %u "
				"per queue); set 'mbufs' to at least %" PRIu64,
				mbufs, s, nw, dp->nports, pinned, DPDK_NB_RXD, DPDK_NB_TXD, DPDK_TXQ_MAX,
				DPDK_POOL_CACHE, DPDK_BURST, pinned * 2);
			return SL_ERROR;
		}
		need = pool_bytes(mbufs, nw);
		memset(&ms, 0, sizeof(ms));
		rte_malloc_get_socket_stats((int)s, &ms);
		/* without hugepages all of EAL's memory is reserved up front: the heap cannot grow */
		if (!rte_eal_has_hugepages() && need > ms.heap_freesz_bytes) {
			dpdk_set_err(err, errlen,
				"mbuf pool for socket %u: %" PRIu32 " mbufs x %u bytes need %.1f MiB, but EAL has "
				"%.1f MiB free of %.1f MiB there; lower 'mbufs' or give EAL more memory (-m)",
				s, mbufs, (unsigned)(sizeof(struct rte_mbuf) + RTE_MBUF_DEFAULT_BUF_SIZE),
				MIB(need), MIB(ms.heap_freesz_bytes), MIB(ms.heap_totalsz_bytes));
			return SL_ERROR;
		}
		snprintf(name, sizeof(name), "sl_mbuf_s%u", s);
		dp->pools[s] = rte_pktmbuf_pool_create(name, mbufs, DPDK_POOL_CACHE, 0,
						       RTE_MBUF_DEFAULT_BUF_SIZE, (int)s);
		if (dp->pools[s] == NULL) {
			int e = rte_errno;

			dpdk_set_err(err, errlen,
				"mbuf pool for socket %u: %" PRIu32 " mbufs (%.1f MiB) failed: %s; EAL has %.1f MiB "
				"free of %.1f MiB on that socket; lower 'mbufs' or give EAL more memory "
				"(hugepages, --socket-mem, -m)",
				s, mbufs, MIB(need), rte_strerror(e), MIB(ms.heap_freesz_bytes),
				MIB(ms.heap_totalsz_bytes));
			return SL_ERROR;
		}
		sl_info("dpdk: mbuf pool %s: %" PRIu32 " mbufs, %.1f MiB, cache %u", name, mbufs, MIB(need),
			DPDK_POOL_CACHE);
	}
	return SL_OK;
}

void dpdk_pools_free(struct dpdk_dp *dp)
{
	for (unsigned s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		rte_mempool_free(dp->pools[s]);
		dp->pools[s] = NULL;
	}
}

/* Every port EAL found, for an error about a port that is not there. */
static void list_ports(char *buf, size_t len)
{
	uint16_t pid;
	size_t off = 0;

	buf[0] = '\0';
	RTE_ETH_FOREACH_DEV(pid) {
		char name[RTE_ETH_NAME_MAX_LEN];

		if (rte_eth_dev_get_name_by_port(pid, name) != 0)
			snprintf(name, sizeof(name), "?");
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%u = %s", off ? ", " : "", pid, name);
	}
	if (off == 0)
		snprintf(buf, len, "none (give EAL -a PCI or --vdev=...)");
}

int dpdk_port_lookup(const struct cfg_dpdk_port *cp, uint16_t *pid, char *err, size_t errlen)
{
	char buf[512];

	if (cp->name[0] != '\0') {
		if (rte_eth_dev_get_port_by_name(cp->name, pid) == 0)
			return SL_OK;
		list_ports(buf, sizeof(buf));
		dpdk_set_err(err, errlen, "dpdk port %s: no DPDK port of that name; EAL found: %s%s", cp->name, buf,
			strchr(cp->name, ':') != NULL
				? " (a PCI port needs its device bound to vfio-pci or uio and EAL without --no-pci)"
				: " (a vdev port needs --vdev=NAME,... in the eal line)");
		return SL_ERROR;
	}
	if (cp->id >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port((uint16_t)cp->id)) {
		list_ports(buf, sizeof(buf));
		dpdk_set_err(err, errlen, "dpdk port %u: no such DPDK port; EAL found: %s", cp->id, buf);
		return SL_ERROR;
	}
	*pid = (uint16_t)cp->id;
	return SL_OK;
}

/*
 * The symmetric Toeplitz key: 0x6d5a repeated makes the hash of (src, dst,
 * sport, dport) equal to that of (dst, src, dport, sport), because the key
 * repeats with a period of 16 bits (Woo and Park, "Scalable TCP Session
 * Monitoring with Symmetric Receive-side Scaling", 2012). Both directions
 * of a flow land on one queue, and software can predict the queue.
 */
static void symmetric_key(uint8_t *key, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		key[i] = (i & 1) ? 0x5a : 0x6d;
}

static int port_addr(struct dpdk_port *p, const struct cfg_dpdk_port *cp, char *err, size_t errlen)
{
	const struct sl_addr *gw = cp->gateway.family != 0 ? &cp->gateway : NULL;
	char a[SL_ADDR_STRLEN];

	if (cp->address.addr.family != SL_AF_INET) {
		dpdk_set_err(err, errlen, "dpdk port %u (%s): only IPv4 addresses for now (%s)", p->info.port_id,
			p->info.name, sl_prefix_format(&cp->address, a, sizeof(a)));
		return SL_ERROR;
	}
	if (net_if_set_ipv4(&p->ifp, &cp->address.addr, cp->address.len, gw) != SL_OK) {
		dpdk_set_err(err, errlen, "dpdk port %u (%s): address %s/%u or its gateway is not usable (gateway on-link?)",
			p->info.port_id, p->info.name, sl_addr_format(&cp->address.addr, a, sizeof(a), false),
			cp->address.len);
		return SL_ERROR;
	}
	return SL_OK;
}

int dpdk_port_setup(struct dpdk_dp *dp, struct dpdk_port *p, const struct cfg_dpdk_port *cp,
		    char *err, size_t errlen)
{
	struct dpdk_port_info *pi = &p->info;
	struct rte_eth_dev_info di;
	struct rte_eth_conf conf;
	uint16_t pid, nq = (uint16_t)dp->nworkers;
	uint64_t tx_want, rx_want;
	int rc;

	memset(p, 0, sizeof(*p));
	if (dpdk_port_lookup(cp, &pid, err, errlen) != SL_OK)
		return SL_ERROR;
	pi->port_id = pid;
	if (rte_eth_dev_get_name_by_port(pid, pi->name) != 0)
		snprintf(pi->name, sizeof(pi->name), "port%u", pid);
	rc = rte_eth_dev_info_get(pid, &di);
	if (rc != 0) {
		dpdk_set_err(err, errlen, "dpdk port %u (%s): dev_info: %s", pid, pi->name, rte_strerror(-rc));
		return SL_ERROR;
	}
	snprintf(pi->driver, sizeof(pi->driver), "%s", di.driver_name != NULL ? di.driver_name : "?");
	sl_info("dpdk: port %u (%s, driver %s): max queues rx %u tx %u, rss flow types 0x%" PRIx64
		", hash key %u bytes, reta %u, rx offloads 0x%" PRIx64 ", tx offloads 0x%" PRIx64,
		pid, pi->name, pi->driver, di.max_rx_queues, di.max_tx_queues, di.flow_type_rss_offloads,
		di.hash_key_size, di.reta_size, di.rx_offload_capa, di.tx_offload_capa);
	if (di.max_rx_queues < nq || di.max_tx_queues < nq) {
		dpdk_set_err(err, errlen,
			"dpdk port %u (%s): %u worker lcore(s) need %u RX/TX queue pairs, the device has "
			"%u RX and %u TX (af_packet: add qpairs=%u to its --vdev; or give EAL fewer lcores)",
			pid, pi->name, nq, nq, di.max_rx_queues, di.max_tx_queues, nq);
		return SL_ERROR;
	}

	memset(&conf, 0, sizeof(conf));
	if (di.flow_type_rss_offloads != 0) {
		uint64_t hf = (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP) & di.flow_type_rss_offloads;

		pi->rss_key_len = di.hash_key_size != 0 ? di.hash_key_size : 40;
		if (pi->rss_key_len > DPDK_RSS_KEY_MAX)
			pi->rss_key_len = DPDK_RSS_KEY_MAX;
		symmetric_key(pi->rss_key, pi->rss_key_len);
		if (hf == 0)
			hf = di.flow_type_rss_offloads;
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = pi->rss_key;
		conf.rx_adv_conf.rss_conf.rss_key_len = pi->rss_key_len;
		conf.rx_adv_conf.rss_conf.rss_hf = hf;
		pi->rss_hf = hf;   /* what we ask for; dpdk_port_start reads what the device enabled */
		pi->reta_size = di.reta_size;
		pi->caps |= DPDK_CAP_RSS;
	} else {
		/* ring, af_packet, tap: no RSS; wrong-lcore packets go over the hand-over ring */
		sl_info("dpdk: port %u (%s): no RSS on this device: software flow steering", pid, pi->name);
	}
	tx_want = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	conf.txmode.offloads = tx_want & di.tx_offload_capa;
	if (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		pi->caps |= DPDK_CAP_TX_MULTI_SEG;
	pi->tx_seg_max = di.tx_desc_lim.nb_seg_max;
	if (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)
		pi->caps |= DPDK_CAP_TX_IP_CSUM;
	if (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM)
		pi->caps |= DPDK_CAP_TX_TCP_CSUM;
	rx_want = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	conf.rxmode.offloads = rx_want & di.rx_offload_capa;
	if (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM)
		pi->caps |= DPDK_CAP_RX_IP_CSUM;
	if (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_TCP_CKSUM)
		pi->caps |= DPDK_CAP_RX_TCP_CSUM;

	rc = rte_eth_dev_configure(pid, nq, nq, &conf);
	if (rc != 0) {
		dpdk_set_err(err, errlen, "dpdk port %u (%s): configure %u queues: %s", pid, pi->name, nq,
			rte_strerror(-rc));
		return SL_ERROR;
	}
	p->nb_rxd = DPDK_NB_RXD;
	p->nb_txd = DPDK_NB_TXD;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &p->nb_rxd, &p->nb_txd);
	if (rc != 0) {
		dpdk_set_err(err, errlen, "dpdk port %u (%s): descriptors: %s", pid, pi->name, rte_strerror(-rc));
		return SL_ERROR;
	}
	pi->nb_queues = nq;
	p->started = false;
	return SL_OK;
}

/*
 * The hash functions the device really enabled (it may drop some it listed
 * in flow_type_rss_offloads): RSS steers flows only if it hashes the IPv4
 * TCP ports. A device that cannot say keeps what we asked for.
 */
static void port_rss_hf(struct dpdk_port *p)
{
	struct dpdk_port_info *pi = &p->info;
	struct rte_eth_rss_conf rc;

	memset(&rc, 0, sizeof(rc));   /* rss_key NULL: the key is not wanted back */
	if (rte_eth_dev_rss_hash_conf_get(pi->port_id, &rc) == 0)
		pi->rss_hf = rc.rss_hf;
	if (pi->rss_hf == 0)
		pi->caps &= ~DPDK_CAP_RSS;
	if ((pi->caps & DPDK_CAP_RSS) && (pi->rss_hf & RTE_ETH_RSS_NONFRAG_IPV4_TCP))
		pi->caps |= DPDK_CAP_RSS_TCP4;
}

/*
 * Make the NIC's redirection table the one dpdk_steer assumes (entry i ->
 * queue i % nqueues), or failing that read the one it has, so that the
 * queue a flow lands on and its software owner agree: then the hand-over
 * ring only carries what lands elsewhere by accident. Fills *reta with the
 * table in force; returns its size, or 0 when the device tells nothing
 * (the default of dpdk_steer_init is then assumed).
 */
static uint16_t port_reta(const struct dpdk_port *p, uint16_t *reta)
{
	enum { G = RTE_ETH_RETA_GROUP_SIZE };
	struct rte_eth_rss_reta_entry64 conf[DPDK_STEER_RETA_MAX / G];
	const struct dpdk_port_info *pi = &p->info;
	uint16_t n = pi->reta_size;
	int rc;

	if (!(pi->caps & DPDK_CAP_RSS) || n == 0 || n > DPDK_STEER_RETA_MAX)
		return 0;
	memset(conf, 0, sizeof(conf));
	for (unsigned i = 0; i < n; i++) {
		conf[i / G].mask |= 1ull << (i % G);
		conf[i / G].reta[i % G] = (uint16_t)(i % pi->nb_queues);
	}
	rc = rte_eth_dev_rss_reta_update(pi->port_id, conf, n);
	if (rc == 0) {
		for (unsigned i = 0; i < n; i++)
			reta[i] = (uint16_t)(i % pi->nb_queues);
		return n;
	}
	sl_info("dpdk: port %u (%s): cannot set the RSS redirection table (%s): reading the device's",
		pi->port_id, pi->name, rte_strerror(-rc));
	rc = rte_eth_dev_rss_reta_query(pi->port_id, conf, n);
	if (rc != 0) {
		sl_warn("dpdk: port %u (%s): cannot read the RSS redirection table either (%s): assuming "
			"entry i -> queue i %% %u; flows the NIC puts elsewhere go over the hand-over ring",
			pi->port_id, pi->name, rte_strerror(-rc), pi->nb_queues);
		return 0;
	}
	for (unsigned i = 0; i < n; i++)
		reta[i] = conf[i / G].reta[i % G];
	return n;
}

/*
 * The port's steering state: its RSS key (dpdk_port_setup programmed the
 * symmetric one), or on a software-steered port that same symmetric key,
 * so the owner of a flow is one lcore in both directions; the RETA in
 * force, or the default over the port's queues.
 */
static int port_steer(struct dpdk_port *p, char *err, size_t errlen)
{
	struct dpdk_port_info *pi = &p->info;
	uint16_t reta[DPDK_STEER_RETA_MAX];
	uint8_t key[40];
	uint16_t n;

	if (pi->caps & DPDK_CAP_RSS_TCP4) {
		if (dpdk_steer_init(&p->steer, pi->rss_key, pi->rss_key_len, pi->nb_queues,
				    pi->reta_size <= DPDK_STEER_RETA_MAX ? pi->reta_size : 0) != SL_OK)
			goto fail;
		n = port_reta(p, reta);
		if (n != 0 && dpdk_steer_set_reta(&p->steer, reta, n) != SL_OK)
			sl_warn("dpdk: port %u (%s): the RSS redirection table names queues we do not poll: "
				"assuming the default one", pi->port_id, pi->name);
		return SL_OK;
	}
	symmetric_key(key, sizeof(key));
	if (dpdk_steer_init(&p->steer, key, sizeof(key), pi->nb_queues, 0) == SL_OK)
		return SL_OK;
fail:
	dpdk_set_err(err, errlen, "dpdk port %u (%s): flow steering state: bad key (%u bytes) or %u queues",
		pi->port_id, pi->name, pi->rss_key_len, pi->nb_queues);
	return SL_ERROR;
}

int dpdk_port_start(struct dpdk_dp *dp, struct dpdk_port *p, const struct cfg_dpdk_port *cp,
		    char *err, size_t errlen)
{
	struct dpdk_port_info *pi = &p->info;
	uint16_t pid = pi->port_id;
	struct rte_eth_dev_info di;
	struct rte_eth_rxconf rxc;
	struct rte_eth_txconf txc;
	struct rte_ether_addr ea;
	struct rte_eth_link link;
	char buf[128], steer[96];
	uint16_t mtu = 1500;
	int rc;

	rc = rte_eth_dev_info_get(pid, &di);
	if (rc != 0) {
		dpdk_set_err(err, errlen, "dpdk port %u (%s): dev_info: %s", pid, pi->name, rte_strerror(-rc));
		return SL_ERROR;
	}
	for (unsigned q = 0; q < pi->nb_queues; q++) {
		const struct dpdk_lcore *lc = dp->lcores[q];

		rxc = di.default_rxconf;
		rxc.offloads = 0;
		txc = di.default_txconf;
		txc.offloads = 0;
		/* queue q is polled by worker q: its descriptors and mbufs on that worker's node */
		rc = rte_eth_rx_queue_setup(pid, (uint16_t)q, p->nb_rxd, (unsigned)lc->socket, &rxc,
					    dp->pools[lc->socket]);
		if (rc != 0) {
			dpdk_set_err(err, errlen, "dpdk port %u (%s): RX queue %u (%u descriptors): %s", pid,
				pi->name, q, p->nb_rxd, rte_strerror(-rc));
			return SL_ERROR;
		}
		rc = rte_eth_tx_queue_setup(pid, (uint16_t)q, p->nb_txd, (unsigned)lc->socket, &txc);
		if (rc != 0) {
			dpdk_set_err(err, errlen, "dpdk port %u (%s): TX queue %u (%u descriptors): %s", pid,
				pi->name, q, p->nb_txd, rte_strerror(-rc));
			return SL_ERROR;
		}
	}
	rc = rte_eth_dev_start(pid);
	if (rc != 0) {
		dpdk_set_err(err, errlen, "dpdk port %u (%s): start: %s", pid, pi->name, rte_strerror(-rc));
		return SL_ERROR;
	}
	p->started = true;
	if (pi->caps & DPDK_CAP_RSS)
		port_rss_hf(p);
	if (port_steer(p, err, errlen) != SL_OK)
		return SL_ERROR;
	/* we answer only for our MAC; some PMDs (af_packet, ring) cannot change it: not an error */
	rc = rte_eth_promiscuous_disable(pid);
	if (rc != 0)
		sl_info("dpdk: port %u (%s): promiscuous off: %s (net_input filters by MAC anyway)",
			pid, pi->name, rte_strerror(-rc));
	rc = rte_eth_macaddr_get(pid, &ea);
	if (rc != 0) {
		dpdk_set_err(err, errlen, "dpdk port %u (%s): MAC address: %s", pid, pi->name, rte_strerror(-rc));
		return SL_ERROR;
	}
	if (!rte_is_valid_assigned_ether_addr(&ea)) {
		/*
		 * Virtual devices may have none (the ring PMD reports zero): a zero
		 * or group MAC cannot be an ARP sender, so pick a random locally
		 * administered one. Devices that cannot store it do not filter on it.
		 */
		rte_eth_random_addr(ea.addr_bytes);
		rc = rte_eth_dev_default_mac_addr_set(pid, &ea);
		sl_info("dpdk: port %u (%s) has no usable MAC: using %02x:%02x:%02x:%02x:%02x:%02x%s", pid,
			pi->name, ea.addr_bytes[0], ea.addr_bytes[1], ea.addr_bytes[2], ea.addr_bytes[3],
			ea.addr_bytes[4], ea.addr_bytes[5], rc == 0 ? "" : " (the device cannot store it)");
	}
	memcpy(pi->mac.b, ea.addr_bytes, NET_ETH_ALEN);
	if (rte_eth_dev_get_mtu(pid, &mtu) != 0 || mtu == 0)
		mtu = 1500;
	pi->mtu = mtu;
	net_if_init(&p->ifp, pid, &pi->mac);
	p->ifp.mtu = mtu;
	if (port_addr(p, cp, err, errlen) != SL_OK)
		return SL_ERROR;
	memset(&link, 0, sizeof(link));
	rte_eth_link_get_nowait(pid, &link);
	dpdk_link_init(p, &link);
	dpdk_link_str(&link, buf, sizeof(buf));
	if (pi->caps & DPDK_CAP_RSS_TCP4)
		snprintf(steer, sizeof(steer), "rss on (symmetric key, tcp4, reta %u)", p->steer.reta_size);
	else if (pi->caps & DPDK_CAP_RSS)
		snprintf(steer, sizeof(steer), "rss on without tcp4 ports (hf 0x%" PRIx64 "): software "
			 "flow steering", pi->rss_hf);
	else
		snprintf(steer, sizeof(steer), "rss off: software flow steering");
	sl_info("dpdk: port %u (%s) started: MAC %02x:%02x:%02x:%02x:%02x:%02x, mtu %u, %u queue pair(s), "
		"%s, tx csum ip %s tcp %s, rx csum ip %s tcp %s, tx multi-seg %s; %s",
		pid, pi->name, ea.addr_bytes[0], ea.addr_bytes[1], ea.addr_bytes[2], ea.addr_bytes[3],
		ea.addr_bytes[4], ea.addr_bytes[5], mtu, pi->nb_queues, steer,
		(pi->caps & DPDK_CAP_TX_IP_CSUM) ? "offload" : "software",
		(pi->caps & DPDK_CAP_TX_TCP_CSUM) ? "offload" : "software",
		(pi->caps & DPDK_CAP_RX_IP_CSUM) ? "offload" : "software",
		(pi->caps & DPDK_CAP_RX_TCP_CSUM) ? "offload" : "software",
		(pi->caps & DPDK_CAP_TX_MULTI_SEG) ? "on" : "off", buf);
	return SL_OK;
}

void dpdk_port_close(struct dpdk_port *p)
{
	uint16_t pid = p->info.port_id;

	if (p->info.nb_queues == 0)
		return;   /* never configured (or closed already) */
	if (p->started)
		rte_eth_dev_stop(pid);
	rte_eth_dev_close(pid);
	p->started = false;
	p->info.nb_queues = 0;
}

int dpdk_routes_add(struct dpdk_dp *dp, const struct cfg_dpdk *cd, char *err, size_t errlen)
{
	for (unsigned i = 0; i < cd->nroutes; i++) {
		const struct cfg_dpdk_route *r = &cd->routes[i];
		char d[SL_ADDR_STRLEN + 8], v[SL_ADDR_STRLEN];
		struct dpdk_port *on = NULL;
		uint32_t via;

		sl_prefix_format(&r->dst, d, sizeof(d));
		sl_addr_format(&r->via, v, sizeof(v), false);
		if (r->dst.addr.family != SL_AF_INET) {
			dpdk_set_err(err, errlen, "dpdk route %s via %s: only IPv4 routes for now", d, v);
			return SL_ERROR;
		}
		memcpy(&via, r->via.ip, 4);
		/* the port whose subnet holds the gateway: the only one that can ARP for it */
		for (unsigned k = 0; k < dp->nports; k++) {
			if (!net_ipv4_on_link(&dp->ports[k].ifp, via))
				continue;
			if (on != NULL) {
				dpdk_set_err(err, errlen, "dpdk route %s via %s: %s is on the subnets of ports %u (%s) "
					"and %u (%s)", d, v, v, on->info.port_id, on->info.name,
					dp->ports[k].info.port_id, dp->ports[k].info.name);
				return SL_ERROR;
			}
			on = &dp->ports[k];
		}
		if (on == NULL) {
			dpdk_set_err(err, errlen, "dpdk route %s via %s: %s is on no port's subnet", d, v, v);
			return SL_ERROR;
		}
		if (via == on->ifp.ip4) {
			dpdk_set_err(err, errlen, "dpdk route %s via %s: %s is our own address", d, v, v);
			return SL_ERROR;
		}
		if (net_route_add(&on->ifp, &r->dst, &r->via) != SL_OK) {
			dpdk_set_err(err, errlen, "dpdk route %s via %s: port %u (%s) has no room for it (%d routes "
				"a port, its own subnet and default route included)", d, v, on->info.port_id,
				on->info.name, NET_ROUTE_MAX);
			return SL_ERROR;
		}
		sl_info("dpdk: route %s via %s on port %u (%s)", d, v, on->info.port_id, on->info.name);
	}
	return SL_OK;
}
