/* dpdk_steer.h - flow steering arithmetic: software Toeplitz, RETA lookup, source ports whose replies come home. */
#ifndef DPDK_STEER_H
#define DPDK_STEER_H

#include <stddef.h>
#include <stdint.h>

/*
 * Pure code, no DPDK header and no EAL: the lcore that opens a backend
 * connection must receive its replies, so it computes in software what the
 * NIC will compute in hardware (Microsoft's RSS spec, which NICs follow).
 *
 * Byte order: addresses are uint32_t in network order (as struct net_if's
 * ip4 and an in_addr hold them), ports are host order; the hash input is
 * laid out in network order as the NIC sees it: src addr, dst addr, src
 * port, dst port (12 bytes for IPv4 TCP).
 */

#define DPDK_STEER_KEY_MAX   64    /**< = DPDK_RSS_KEY_MAX */
#define DPDK_STEER_RETA_MAX  2048  /**< the largest RETA of common NICs (ixgbe 128, i40e 512, ice 2048) */
#define DPDK_STEER_INPUT4    12    /**< IPv4 TCP hash input bytes */

/* A flow as it appears on the wire in one direction. */
struct dpdk_steer_tuple {
	uint32_t src, dst;       /**< network order */
	uint16_t sport, dport;   /**< host order */
};

/*
 * One port's steering state: its key, its redirection table, and per
 * input byte position a table of that byte's contribution to the hash
 * (Toeplitz is linear in the input bits: hash(x ^ y) == hash(x) ^ hash(y)),
 * so a tuple's hash is 12 loads and XORs instead of a 96-step bit loop, and
 * trying another source port is 2 of them. 16 KB, built once by
 * dpdk_steer_init, then read-only: every lcore of the port shares it.
 */
struct dpdk_steer {
	uint8_t  key[DPDK_STEER_KEY_MAX];
	uint8_t  key_len;
	uint16_t nqueues;
	uint16_t reta_size;
	uint16_t reta[DPDK_STEER_RETA_MAX];   /**< hash % reta_size -> queue (= worker index) */
	uint32_t tab[DPDK_STEER_INPUT4][256]; /**< tab[i][v]: hash of input byte i = v, the rest zero */
};

/*
 * dpdk_steer_toeplitz - the Toeplitz hash of input[0..len) under key[0..keylen).
 * For each input bit set (most significant first), XOR in the 32 key bits
 * starting at that bit's position. Key bits past keylen read as zero, so
 * a full-strength hash needs keylen >= len + 4 (40-byte keys cover 36 bytes:
 * IPv6 TCP).
 */
uint32_t dpdk_steer_toeplitz(const uint8_t *key, size_t keylen, const uint8_t *input, size_t len);

/*
 * dpdk_steer_init - key (keylen <= DPDK_STEER_KEY_MAX), nqueues >= 1, and
 * a default RETA as DPDK's drivers program it: entry i -> queue i % nqueues,
 * reta_size entries (0: 128; at most DPDK_STEER_RETA_MAX). SL_OK or SL_ERROR.
 */
int dpdk_steer_init(struct dpdk_steer *s, const uint8_t *key, size_t keylen, uint16_t nqueues,
		    uint16_t reta_size);

/*
 * dpdk_steer_set_reta - replace the default RETA by the n entries the
 * device really has (rte_eth_dev_rss_reta_query), n <= DPDK_STEER_RETA_MAX,
 * each a queue < nqueues. SL_OK, or SL_ERROR with s unchanged.
 */
int dpdk_steer_set_reta(struct dpdk_steer *s, const uint16_t *reta, uint16_t n);

/* dpdk_steer_hash4 - the IPv4 TCP hash of t under s's key, as the NIC computes it. */
uint32_t dpdk_steer_hash4(const struct dpdk_steer *s, const struct dpdk_steer_tuple *t);

/* dpdk_steer_queue - the RX queue a hash lands on: reta[hash % reta_size]. */
static inline uint16_t dpdk_steer_queue(const struct dpdk_steer *s, uint32_t hash)
{
	return s->reta[hash % s->reta_size];
}

/*
 * dpdk_steer_pick_port - a source port for an active open from our_addr to
 * backend_addr:backend_port whose REPLY (src backend, dst us, sport
 * backend_port, dport p) lands on want_queue. Tries p = *port_io + 1, ...
 * wrapping inside [lo, hi], at most hi - lo + 1 ports; on SL_OK *port_io
 * is p (so the next call goes on after it). SL_ERROR when no port of the
 * range lands there (range too small, want_queue not in the RETA, bad
 * arguments); *port_io is then unchanged.
 *
 * Cost: 10 table loads for the fixed bytes per call, then per port tried
 * two table loads, two XORs and a modulo. With a round-robin RETA about
 * nqueues ports are tried on average (each lands on want_queue with
 * probability 1/nqueues). The caller still checks that the 4-tuple is free.
 */
int dpdk_steer_pick_port(const struct dpdk_steer *s, uint32_t our_addr, uint32_t backend_addr,
			 uint16_t backend_port, uint16_t want_queue, uint16_t *port_io,
			 uint16_t lo, uint16_t hi);

/*
 * dpdk_steer_owner - the worker index that owns the flow of a packet
 * received as t, where the device has no usable RSS (af_packet, tap): the
 * same hash and RETA as the NIC path, so dpdk_steer_pick_port's ports work
 * there too, and with the symmetric key (dpdk_port.c) both directions of a
 * flow have one owner. The lcore that received the packet hands it to the
 * owner on a ring (dpdk_lcore.c).
 */
static inline unsigned dpdk_steer_owner(const struct dpdk_steer *s, const struct dpdk_steer_tuple *t)
{
	return dpdk_steer_queue(s, dpdk_steer_hash4(s, t));
}

#endif
