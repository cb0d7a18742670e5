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
/**
 * tun_read - read one packet
 * \param t: the device
 * \param buf: SIZE bytes
 * \param gso: set to 0 for a packet with its checksums right (a partial one
 *             is completed), or the MSS of a TCP super-packet that is to be
 *             cut with wire_tso_split() (its checksums are not made)
 * Returns its length, 0 if none is waiting, or read()'s -errno. A packet
 * whose virtio-net header is bad or not TCP's is dropped.
 */
ssize_t tun_read(struct tun *t, void *buf, size_t size, size_t *gso);
/**
 * tun_write - write one packet
 * \param t: the device
 * \param pkt: LEN bytes
 * Returns 0 (also when a full queue drops it: TCP recovers), or -errno.
 */
int tun_write(struct tun *t, const void *pkt, size_t len);
struct tso_gso;
/**
 * tun_write_tso - write what tso_take() gave
 * \param t: the device
 * \param pkt: LEN bytes
 * \param gso: a plain packet (mss 0) or a super-packet the kernel is to
 *             checksum and segment (VIRTIO_NET_HDR_GSO_TCPV4/6)
 * Returns as tun_write(); -EINVAL for a super-packet without offloads.
 */
int tun_write_tso(struct tun *t, const void *pkt, size_t len,
		  const struct tso_gso *gso);

#endif
