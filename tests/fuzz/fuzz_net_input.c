/* fuzz_net_input.c - libFuzzer harness for net_input: arbitrary frames, never a read outside them, every packet freed once. */
#include <stdlib.h>
#include <string.h>

#include "net/net_input.h"
#include "net/net_ipv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

/* tx provider: exactly sized heap buffers, so ASan sees any write past alloc's len */
static uint8_t *tx_buf;
static size_t tx_cap;
static unsigned tx_sent;

static uint8_t *f_alloc(void *ctx, size_t len, void **hdl)
{
	(void)ctx;
	CHECK(tx_buf == NULL);
	tx_buf = malloc(len);
	CHECK(tx_buf != NULL);
	tx_cap = len;
	*hdl = tx_buf;
	return tx_buf;
}

static void f_send(void *ctx, void *hdl, size_t len)
{
	(void)ctx;
	CHECK(hdl == tx_buf && len <= tx_cap && len >= 60);
	free(tx_buf);
	tx_buf = NULL;
	tx_sent++;
}

static const struct net_tx_ops f_tx = { f_alloc, f_send };

/* waiting "packets": counters that must each reach exactly one exit */
#define NPKT 16
static int pkt_exits[NPKT];
static bool pkt_taken[NPKT];

static void q_send(void *ctx, void *pkt, const struct net_mac *mac)
{
	(void)ctx;
	(void)mac;
	pkt_exits[(int *)pkt - pkt_exits]++;
}

static void q_free(void *ctx, void *pkt)
{
	(void)ctx;
	pkt_exits[(int *)pkt - pkt_exits]++;
}

static void q_solicit(void *ctx, uint32_t ip)
{
	net_arp_send_request(ctx, ip);
}

/*
 * Input: byte 0 = flags (bit 0-1: rx_flags, bit 2: VLAN 5 on the port,
 * bit 3: resolve a few next hops first so ARP replies flush queues), then
 * frames, each preceded by a 2-byte length (big-endian, clipped to what is
 * left); between frames the virtual clock moves and the cache ticks.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct net_arp_entry tab[16];
	static const struct net_mac mac = { { 0x02, 0, 0, 0, 0, 0x01 } };
	struct net_if ifp;
	struct net_arp_cache arp;
	struct net_stats st;
	struct net_arp_cfg cfg;
	struct net_ctx nc;
	struct net_neigh_ops ops = { q_solicit, q_send, q_free, &nc };
	struct sl_addr a, gw;
	unsigned flags, frames = 0;
	size_t off = 1;

	if (size < 1)
		return 0;
	flags = data[0];
	memset(&st, 0, sizeof(st));
	memset(pkt_exits, 0, sizeof(pkt_exits));
	memset(pkt_taken, 0, sizeof(pkt_taken));
	net_if_init(&ifp, 0, &mac);
	sl_addr_parse("198.18.0.1", &a, false);
	sl_addr_parse("198.18.0.254", &gw, false);
	CHECK(net_if_set_ipv4(&ifp, &a, 24, &gw) == 0);
	if (flags & 4)
		ifp.vlan_id = 5;
	net_arp_cfg_default(&cfg);
	CHECK(net_arp_cache_init(&arp, tab, 16, &cfg, &ops, &st) == 0);
	nc = (struct net_ctx){ .ifp = &ifp, .arp = &arp, .stats = &st, .tx = &f_tx, .tx_ctx = NULL,
			       .now_ms = 1 };
	if (flags & 8) {
		for (int i = 0; i < NPKT; i++) {
			struct net_mac m;
			uint8_t ip[4] = { 198, 18, 0, (uint8_t)(250 + i % 6) };
			uint32_t v;

			memcpy(&v, ip, 4);
			pkt_taken[i] = net_arp_resolve(&arp, v, &pkt_exits[i], &m, nc.now_ms) == NET_ARP_QUEUED;
		}
	}
	while (off + 2 <= size) {
		size_t n = (size_t)data[off] << 8 | data[off + 1];
		uint8_t *frame;
		struct net_rx rx;
		enum net_verdict v;

		off += 2;
		if (n > size - off)
			n = size - off;
		/* an exactly sized copy: one byte too far is an ASan report */
		frame = malloc(n ? n : 1);
		CHECK(frame != NULL);
		memcpy(frame, data + off, n);
		off += n;
		v = net_input(&nc, frame, n, flags & 3, &rx);
		frames++;
		switch (v) {
		case NET_RX_TCP:
			CHECK(rx.l4 == frame + rx.l4_off);
			CHECK(rx.l4_len >= 20 && rx.l4_off + rx.l4_len <= n);
			CHECK(rx.reason == NET_DROP_NONE && rx.src.family == SL_AF_INET);
			break;
		case NET_RX_DROP:
			CHECK(rx.reason > NET_DROP_NONE && rx.reason < NET_DROP_MAX);
			break;
		case NET_RX_DONE:
			break;
		default:
			CHECK(0);
		}
		free(frame);
		nc.now_ms += 700;
		net_arp_tick(&arp, nc.now_ms);
	}
	CHECK(st.rx_pkts == frames);
	net_arp_flush(&arp);
	CHECK(arp.used == 0);
	for (int i = 0; i < NPKT; i++)
		CHECK(pkt_exits[i] == (pkt_taken[i] ? 1 : 0));
	CHECK(tx_buf == NULL);
	return 0;
}
