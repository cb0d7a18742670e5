/* tcpfs tun: the engine's real link, a TUN device the daemon creates.
 *
 * tun_open() creates the device (IFF_TUN | IFF_NO_PI, and IFF_VNET_HDR with
 * checksum and TCP segmentation offloads where asked and the kernel has
 * them: then a packet read may be a TCP super-packet), gives the host side
 * its addresses, sets the MTU and brings it up through rtnetlink. Everything
 * lives on the device, so closing it (tun_close, or the daemon's death)
 * removes all of it from the host. */
#ifndef TCPFS_TUN_H
#define TCPFS_TUN_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct tun_config {
	char name[IFNAMSIZ];   /* device name */
	unsigned mtu;	       /* bytes */
	struct in_addr host4;  /* the host's address on the link */
	unsigned prefix4;      /* prefix length of the link's IPv4 net */
	struct in6_addr host6; /* the host's IPv6 address */
	unsigned prefix6;      /* prefix length of the link's IPv6 net */
	bool route_localnet;   /* let the engine reach 127.0.0.0/8 */
	bool offload;	       /* ask for the virtio-net header offloads */
	/* The TUNSETOFFLOAD flags (linux/if_tun.h) to ask for; 0: the
	 * engine's (checksum, TSO4, TSO6, TSO_ECN). A kernel that refuses
	 * them gets the device without the header (tun_offload() false),
	 * logged once; a flag it does not know makes it refuse (the test
	 * tun_fallback asks for one). */
	unsigned offloads;
};

struct tun;

/**
 * tun_open - create and configure the device
 * \param cfg: name, MTU, the host's addresses
 * \param why: the reason it failed, WHYLEN bytes
 * Returns it, or NULL with the reason in WHY and errno set: EBUSY when a
 * TUN device of that name exists and another process holds it, ENOENT or
 * ENODEV without /dev/net/tun, EPERM without CAP_NET_ADMIN, else what
 * configuring the device failed with.
 */
struct tun *tun_open(const struct tun_config *cfg, char *why, size_t whylen);
/**
 * tun_close - remove the device
 * \param t: it, or NULL
 */
void tun_close(struct tun *t);
/**
 * tun_name - the device's name, as the kernel made it
 * \param t: the device
 */
const char *tun_name(const struct tun *t);
/**
 * tun_fd - the fd to poll (non-blocking)
 * \param t: the device
 * Returns the fd.
 */
int tun_fd(const struct tun *t);
/**
 * tun_ifindex - the device's interface index
 * \param t: the device
 * Returns the index.
 */
int tun_ifindex(const struct tun *t);
/**
 * tun_offload - whether the device has the offloads on
 * \param t: the device
 * Returns true if every packet crosses with a virtio-net header.
 */
bool tun_offload(const struct tun *t);
/* What the virtio-net header said of a packet tun_read() gave. */
struct tun_rx {
	size_t gso;   /* a TCP super-packet of segments of this size (TSO,
			 or GRO's); 0: one packet */
	bool trusted; /* the kernel vouches for its checksums (NEEDS_CSUM,
			 DATA_VALID, or a super-packet): the TCP checksum
			 need not be checked, and may be left partial */
	bool partial; /* NEEDS_CSUM: the TCP checksum field holds the
			 pseudo-header's sum only, to be completed from
			 csum_start (wire_csum_complete()) for a reader that
			 checks it; a super-packet's is left so too */
	size_t csum_start, csum_off;
};
/**
 * tun_read - read one packet
 * \param t: the device
 * \param buf: SIZE bytes
 * \param rx: what the virtio-net header says of it (zero without offloads:
 *            a plain packet, its checksums to be checked)
 * Returns its length, 0 if none is waiting, or -EBADFD, -ENODEV, -EBADF:
 * the device is gone. A packet whose virtio-net header is bad or not
 * TCP's, or longer than SIZE, or that the kernel could not hand over
 * (another read error), is dropped and counted (rx_malformed).
 */
ssize_t tun_read(struct tun *t, void *buf, size_t size, struct tun_rx *rx);
/* The most pieces tun_readv() and tun_writev() take. */
#define TUN_IOV_MAX 8
/**
 * tun_readv - tun_read() into pieces, filled in order
 * \param iov: N pieces (1 to TUN_IOV_MAX)
 * Returns as tun_read(); -EINVAL for more pieces.
 */
ssize_t tun_readv(struct tun *t, const struct iovec *iov, int n,
		  struct tun_rx *rx);
/**
 * tun_write - write one packet
 * \param t: the device
 * \param pkt: LEN bytes
 * Returns 0 (also when a full queue drops it: TCP recovers), or -errno.
 */
int tun_write(struct tun *t, const void *pkt, size_t len);
struct tso_gso;
/**
 * tun_writev - write one packet in pieces
 * \param t: the device
 * \param iov: N pieces (1 to TUN_IOV_MAX), written as they lie
 * \param gso: NULL for a plain packet (checksums done), else what the
 *             kernel is to do (a partial checksum to complete, a
 *             super-packet to segment: tso_take())
 * Returns as tun_write(); -EINVAL for more pieces, or an offload without
 * the virtio-net header.
 */
int tun_writev(struct tun *t, const struct iovec *iov, int n,
	       const struct tso_gso *gso);
/* The packets lost at the device, on our side of it. */
struct tun_stats {
	uint64_t rx_malformed; /* read with a bad virtio-net header, cut
				  short, or not read (an error but the
				  device's end) */
	uint64_t tx_errors;    /* whose write failed (logged when the write
				  before went, or failed for another reason) */
	int tx_err;	       /* the last write's errno, 0 if it went */
};
/**
 * tun_stats_get - the device's counters
 * \param t: the device
 * \param out: filled
 */
void tun_stats_get(const struct tun *t, struct tun_stats *out);

#endif
