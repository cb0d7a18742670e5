/* tcpfs tso: the engine's TCP segments joined into super-packets for a TUN
 * device with a virtio-net header: pure functions, in the wire layer.
 *
 * The engine builds and accounts for every MSS-sized segment (congestion
 * window, pacing, SACK, retransmission); on its way out a run of segments
 * of one connection that follow each other (same headers but for the
 * sequence number and checksums, every one full-sized but the last, only
 * the last with PSH or FIN) becomes one packet of up to 64 KiB with
 * VIRTIO_NET_HDR_GSO_TCPV4/6 and gso_size = that MSS, as Linux's own TCP
 * hands a TSO NIC (include/uapi/linux/virtio_net.h; virtio 1.2 §5.1.6.2).
 * The kernel takes it whole when the host is its end, or cuts it as
 * tcp_gso_segment() does: the same segments again. wire_tso_split() is the
 * inverse. */
#ifndef TCPFS_TSO_H
#define TCPFS_TSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* The largest super-packet: its IP length field has 16 bits. */
#define TSO_MAX 65535
/* The most IP and TCP header bytes of a segment (RFC 791, RFC 9293). */
#define TSO_HEAD_MAX 120
/* The most pieces of a train: its headers and its payload's runs (the
 * payload of segments that follow each other in a send queue is one run,
 * two where the queue wraps). */
#define TSO_PIECES 8

/* A super-packet being built; zero it to start. Its headers are copied,
 * its payload is not: the pieces point where the segments' payload lies,
 * which must stay there until tso_take(). */
struct tso_train {
	size_t len;    /* bytes in all; 0: empty */
	size_t hdr;    /* IP and TCP header bytes */
	size_t mss;    /* the first segment's payload: all but the last's */
	unsigned segs; /* segments in it */
	bool closed;   /* the last was short or had PSH or FIN */
	int n;	       /* pieces in iov */
	struct iovec iov[TSO_PIECES]; /* iov[0]: head */
	uint8_t head[TSO_HEAD_MAX];   /* the first segment's headers */
};

/* How to send a packet: the virtio-net header's fields. csum_start 0: its
 * checksums are done; else NEEDS_CSUM from there. mss 0: one packet; else
 * a super-packet (GSO). */
struct tso_gso {
	bool v6;	     /* VIRTIO_NET_HDR_GSO_TCPV6, else TCPV4 */
	uint16_t hdr_len;    /* IP and TCP headers */
	uint16_t mss;	     /* gso_size */
	uint16_t csum_start; /* the TCP header: NEEDS_CSUM from there */
	uint16_t csum_off;   /* the checksum field in it */
};

/**
 * tso_add - put one segment on the train
 * \param t: the train
 * \param iov: N pieces of an IP packet as tcp_config.output_partial gives
 *            it: its headers alone in IOV[0], its TCP checksum partial
 * Returns true if it joined (or started) the train: its headers copied,
 * its payload (IOV[1..N)) kept where it lies; false if it cannot:
 * tso_take() the train, then add it again, or send it alone if it is not
 * a data segment (no payload, SYN, RST, URG, ECN flags, not TCP) or its
 * payload has more pieces than a train holds.
 */
bool tso_add(struct tso_train *t, const struct iovec *iov, int n);
/**
 * tso_take - finish the train and empty it
 * \param t: the train
 * \param gso: set to how to send it
 * Returns its length, in the t->n pieces t->iov (valid until the next
 * tso_add()), 0 if it was empty. A super-packet has its IP lengths and
 * IPv4 checksum set and the pseudo-header sum over its whole length in
 * its TCP checksum field;
 * a lone segment (gso->mss 0) is as it came; both go with NEEDS_CSUM
 * (csum_start, csum_off).
 */
size_t tso_take(struct tso_train *t, struct tso_gso *gso);

#endif
