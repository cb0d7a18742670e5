/* The TUN device and its host-side configuration, through rtnetlink. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "tcpfs/log.h"
#include "tcpfs/tso.h"
#include "tcpfs/tun.h"

struct tun {
	int fd;
	int ifindex;
	bool vnet; /* every packet has a struct virtio_net_hdr in front */
	char name[IFNAMSIZ];
	struct tun_stats st;
};

/* The offloads asked for (linux/if_tun.h): the kernel may hand us packets
 * with a partial checksum (TUN_F_CSUM) and TCP super-packets (TSO4/6, with
 * CWR too: TSO_ECN), each behind a virtio-net header (include/uapi/linux/
 * virtio_net.h; virtio 1.2 §5.1.6). */
#define TUN_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)

/* Send one rtnetlink request and wait for its acknowledgement. */
static int rtnl_call(struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	int ret = -1;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto out;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (unsigned)time(NULL);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto out;
	ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n >= 0)
		ret = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq,
				 mnl_socket_get_portid(nl), NULL, NULL);
out:
	ret = ret < 0 ? -errno : 0;
	if (nl)
		mnl_socket_close(nl);
	return ret;
}

static int link_up(int ifindex, unsigned mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return rtnl_call(nlh);
}

static int add_addr(int ifindex, int family, const void *addr, unsigned prefix)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	size_t len = family == AF_INET ? 4 : 16;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	/* no duplicate address detection: the link has one other end */
	ifa->ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, len, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, len, addr);
	return rtnl_call(nlh);
}

/* Write VALUE to /proc/sys/net/FAMILY/conf/DEV/KEY. */
static int set_sysctl(const char *family, const char *dev, const char *key,
		      const char *value)
{
	char path[128];
	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", family, dev,
		 key);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, value, strlen(value));
	int err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

static int configure(struct tun *t, const struct tun_config *cfg, char *why,
		     size_t whylen)
{
	int err;
	/* a martian 127.0.0.1 from the engine is local traffic we want */
	if (cfg->route_localnet &&
	    (err = set_sysctl("ipv4", t->name, "route_localnet", "1")) < 0) {
		tsay(why, whylen, "%s: route_localnet: %s", t->name,
		     strerror(-err));
		return err;
	}
	if ((err = add_addr(t->ifindex, AF_INET, &cfg->host4, cfg->prefix4)) <
	    0) {
		tsay(why, whylen, "%s: adding IPv4 address: %s", t->name,
		     strerror(-err));
		return err;
	}
	/* IPv6 may be disabled on the host: the engine then has IPv4 only.
	 * The kernel drops a device's IPv6 addresses when it goes down, and
	 * nothing would add them again when it is up: it keeps them. */
	set_sysctl("ipv6", t->name, "keep_addr_on_down", "1");
	add_addr(t->ifindex, AF_INET6, &cfg->host6, cfg->prefix6);
	if ((err = link_up(t->ifindex, cfg->mtu)) < 0) {
		tsay(why, whylen, "%s: bringing the link up with MTU %u: %s",
		     t->name, cfg->mtu, strerror(-err));
		return err;
	}
	return 0;
}

/* Turn on the virtio-net header and the offloads FLAGS on a fresh device
 * (a header of the legacy size: no num_buffers, which TUN never uses). */
static int vnet_on(int fd, unsigned flags)
{
	int hdrsz = sizeof(struct virtio_net_hdr);

	if (ioctl(fd, TUNSETVNETHDRSZ, &hdrsz) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) < 0)
		return -errno;
	return 0;
}

/* Open /dev/net/tun as device NAME into T, with the virtio-net header if
 * VNET; the device's name in IFR. Returns open's or TUNSETIFF's -errno. */
static int dev_open(struct tun *t, const char *name, bool vnet,
		    struct ifreq *ifr, char *why, size_t whylen)
{
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		int err = errno;
		tsay(why, whylen, "cannot open /dev/net/tun: %s",
		     strerror(err));
		return -err;
	}
	memset(ifr, 0, sizeof(*ifr));
	ifr->ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
	t->vnet = vnet;
	return ioctl(t->fd, TUNSETIFF, ifr) < 0 ? -errno : 0;
}

/* Open with offloads if CFG asks and the kernel has them, else without
 * (said once, in the log). */
static int dev_probe(struct tun *t, const struct tun_config *cfg,
		     struct ifreq *ifr, char *why, size_t whylen)
{
	int err;

	if (!cfg->offload)
		return dev_open(t, cfg->name, false, ifr, why, whylen);
	err = dev_open(t, cfg->name, true, ifr, why, whylen);
	if (!err && !(err = vnet_on(t->fd, cfg->offloads ? cfg->offloads :
							   TUN_OFFLOADS)))
		return 0;
	/* EINVAL, ENOTTY: a kernel without them; anything else is the
	 * device's own trouble (EPERM, EBUSY), the same without them */
	if (t->fd < 0 || (err != -EINVAL && err != -ENOTTY))
		return err;
	close(t->fd); /* a non-persistent device goes with it */
	tlog(LOG_NOTICE,
	     "%s: no TUN offloads (IFF_VNET_HDR, TUNSETOFFLOAD: %s): one "
	     "packet per read and write",
	     cfg->name, strerror(-err));
	return dev_open(t, cfg->name, false, ifr, why, whylen);
}

struct tun *tun_open(const struct tun_config *cfg, char *why, size_t whylen)
{
	struct ifreq ifr;
	struct tun *t = calloc(1, sizeof(*t));
	int err;
	if (!t) {
		tsay(why, whylen, "out of memory");
		return NULL;
	}
	t->fd = -1;
	if ((err = -dev_probe(t, cfg, &ifr, why, whylen)) > 0 && t->fd < 0)
		goto fail; /* WHY says it */
	if (err) {
		tsay(why, whylen, "cannot create TUN device %s: %s%s",
		     cfg->name, strerror(err),
		     err == EPERM ? " (needs CAP_NET_ADMIN)" :
		     err == EBUSY ? " (it exists, another process holds it)" :
				    "");
		goto fail;
	}
	snprintf(t->name, IFNAMSIZ, "%s", ifr.ifr_name);
	t->ifindex = (int)if_nametoindex(t->name);
	if (!t->ifindex) {
		err = ENODEV;
		tsay(why, whylen, "%s vanished", t->name);
		goto fail;
	}
	if ((err = -configure(t, cfg, why, whylen)) > 0)
		goto fail;
	return t;
fail:
	tun_close(t);
	errno = err;
	return NULL;
}

void tun_close(struct tun *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd); /* a non-persistent device goes with its fd */
	free(t);
}

const char *tun_name(const struct tun *t)
{
	return t->name;
}

int tun_fd(const struct tun *t)
{
	return t->fd;
}

int tun_ifindex(const struct tun *t)
{
	return t->ifindex;
}

bool tun_offload(const struct tun *t)
{
	return t->vnet;
}

/* What the header H of a packet of N bytes says (into RX); -1 if it does
 * not fit the packet or is not TCP's. */
static int vnet_rx(const struct virtio_net_hdr *h, size_t n, struct tun_rx *rx)
{
	/* Fields are in native order: a legacy header without TUNSETVNETLE
	 * or TUNSETVNETBE (linux/if_tun.h). */
	switch (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!h->gso_size)
			return -1;
		rx->gso = h->gso_size;
		rx->trusted = true;
		break;
	default:
		return -1; /* UDP: not the engine's */
	}
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (h->csum_start > n ||
		    h->csum_offset + 2u > n - h->csum_start)
			return -1;
		rx->partial = rx->trusted = true;
		rx->csum_start = h->csum_start;
		rx->csum_off = h->csum_offset;
	}
	if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID)
		rx->trusted = true;
	return 0;
}

ssize_t tun_readv(struct tun *t, const struct iovec *iov, int n,
		  struct tun_rx *rx)
{
	struct virtio_net_hdr h;
	struct iovec all[1 + TUN_IOV_MAX];
	size_t room = 0;
	ssize_t got;
	int bad = 0;

	if (n < 1 || n > TUN_IOV_MAX)
		return -EINVAL;
	all[0] = (struct iovec){&h, sizeof(h)};
	memcpy(all + 1, iov, (size_t)n * sizeof(*iov));
	for (int i = 0; i < n; i++)
		room += iov[i].iov_len;
	for (;;) {
		memset(rx, 0, sizeof(*rx));
		got = t->vnet ? readv(t->fd, all, n + 1) : readv(t->fd, iov, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 &&
		    (errno == EBADFD || errno == ENODEV || errno == EBADF))
			return -errno; /* the device is gone */
		if (got < 0) {	       /* none waiting, or that packet lost */
			t->st.rx_malformed += errno != EAGAIN;
			return 0;
		}
		if (t->vnet) {
			got -= (ssize_t)sizeof(h);
			bad = got < 0 ? -1 : vnet_rx(&h, (size_t)got, rx);
		}
		/* the kernel says how long the packet was, not what it
		 * copied: a longer one was cut */
		if (!bad && (size_t)got <= room)
			return got;
		t->st.rx_malformed++; /* malformed: drop it, read on */
	}
}

void tun_stats_get(const struct tun *t, struct tun_stats *out)
{
	*out = t->st;
}

ssize_t tun_read(struct tun *t, void *buf, size_t size, struct tun_rx *rx)
{
	struct iovec iov = {buf, size};

	return tun_readv(t, &iov, 1, rx);
}

/* A write's return N as tun_writev()'s. A failed write is counted, and
 * said when the write before it went or failed for another reason (a
 * device set down fails every write with EIO until it is up again: its
 * packets are lost, and TCP's retransmissions with them). */
static int wrote(struct tun *t, ssize_t n)
{
	int err = n < 0 ? errno : 0;
	if (err) {
		t->st.tx_errors++;
		if (err != t->st.tx_err)
			tlog(LOG_WARNING,
			     "%s: a write to the device failed: %s%s; its "
			     "packets are lost (engine/stats: link_tx_errors)",
			     t->name, strerror(err),
			     err == EIO ? " (is the link down?)" : "");
	}
	t->st.tx_err = err;
	return -err;
}

int tun_writev(struct tun *t, const struct iovec *iov, int n,
	       const struct tso_gso *gso)
{
	/* virtio 1.2 §5.1.6.2: NEEDS_CSUM with csum_start/offset, a GSO type
	 * with hdr_len and gso_size; native order (a legacy header). No
	 * offload asked for: VIRTIO_NET_HDR_GSO_NONE, checksums done. */
	struct virtio_net_hdr h = {0};
	struct iovec all[1 + TUN_IOV_MAX];

	if (gso && gso->csum_start) {
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.csum_start = gso->csum_start;
		h.csum_offset = gso->csum_off;
	}
	if (gso && gso->mss) {
		h.gso_type = gso->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 :
				       VIRTIO_NET_HDR_GSO_TCPV4;
		h.hdr_len = gso->hdr_len;
		h.gso_size = gso->mss;
	}
	if (n < 1 || n > TUN_IOV_MAX || (!t->vnet && h.flags))
		return -EINVAL;
	if (!t->vnet)
		return wrote(t, writev(t->fd, iov, n));
	/* the header and the packet's pieces: no copy to join them */
	all[0] = (struct iovec){&h, sizeof(h)};
	memcpy(all + 1, iov, (size_t)n * sizeof(*iov));
	return wrote(t, writev(t->fd, all, n + 1));
}

int tun_write(struct tun *t, const void *pkt, size_t len)
{
	struct iovec iov = {(void *)pkt, len};

	return tun_writev(t, &iov, 1, NULL);
}
