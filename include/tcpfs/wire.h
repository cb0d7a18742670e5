/* tcpfs wire: IPv4, IPv6 and TCP headers, parsed and built; ICMP errors
 * parsed.
 *
 * Pure functions over byte buffers: no allocation, no I/O, no clock. A packet
 * is one IP datagram as it crosses a TUN device (IFF_NO_PI): an IPv4 or IPv6
 * header, then TCP. wire_parse() trusts nothing: every length is checked
 * against the buffer, and a packet that fails a check is refused with the
 * reason (counted by the caller), never half used. */
#ifndef TCPFS_WIRE_H
#define TCPFS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TCP header flags (RFC 9293 §3.1, RFC 3168 for ECE/CWR). */
enum {
	TCP_FIN = 0x01,
	TCP_SYN = 0x02,
	TCP_RST = 0x04,
	TCP_PSH = 0x08,
	TCP_ACK = 0x10,
	TCP_URG = 0x20,
	TCP_ECE = 0x40,
	TCP_CWR = 0x80,
};

/* An IPv4 or IPv6 address and a port. IPv4 lives in a[0..3]; the rest is
 * zero so that memcmp() of two endpoints of one family is equality. */
struct wire_ep {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t a[16];
	uint16_t port; /* host byte order */
};

#define WIRE_MAX_SACK 4

/* The TCP options tcpfs reads and writes (RFC 9293 §3.2, RFC 7323, 2018). */
struct wire_opts {
	bool has_mss, has_ws, sack_ok, has_ts;
	uint16_t mss;
	uint8_t ws; /* window scale shift, as sent (the peer clamps to 14) */
	uint32_t tsval, tsecr;
	uint8_t nsack; /* SACK blocks below */
	struct {
		uint32_t left, right; /* [left, right) in sequence space */
	} sack[WIRE_MAX_SACK];
};

/* One TCP segment, parsed or to be built. Numbers are in host order. */
struct wire_seg {
	struct wire_ep src, dst;
	uint32_t seq, ack;
	uint8_t flags; /* TCP_* */
	uint16_t wnd;  /* unscaled, as on the wire */
	uint16_t urp;
	uint8_t ttl; /* IPv4 TTL or IPv6 hop limit; 0 builds 64 */
	uint8_t tos; /* IPv4 TOS or IPv6 traffic class: DSCP << 2 | ECN */
	struct wire_opts opt;
	const uint8_t *data; /* payload (points into the parsed packet) */
	size_t len;
	/* A super-packet of the link (TSO/GRO: virtio-net gso_size) stands
	 * for segments of this size: the peer's MSS; 0 for one segment. Set
	 * by the caller, never by wire_parse(); wire_build() ignores it. */
	uint16_t gso;
};

/* Why a packet was refused; WIRE_OK is 0. */
enum wire_err {
	WIRE_OK = 0,
	WIRE_SHORT,    /* buffer shorter than a header says */
	WIRE_VERSION,  /* not IPv4 or IPv6 */
	WIRE_IPHDR,    /* bad IPv4 IHL / total length, IPv6 payload length */
	WIRE_IPCSUM,   /* bad IPv4 header checksum */
	WIRE_FRAGMENT, /* a fragment (tcpfs never reassembles) */
	WIRE_NOT_TCP,  /* another protocol, or IPv6 extension headers */
	WIRE_TCPHDR,   /* data offset below 5 or past the segment */
	WIRE_OPTION,   /* an option whose length overruns or is invalid */
	WIRE_CSUM,     /* bad TCP checksum */
	WIRE_ADDR,     /* source or destination unusable (multicast, port 0) */
	WIRE_NERR
};

/**
 * wire_parse - parse one IP packet carrying TCP
 * \param pkt: LEN bytes
 * \param seg: filled (its data points into PKT)
 * Returns WIRE_OK, or why it is refused (WIRE_SHORT, WIRE_IPCSUM, ...).
 */
enum wire_err wire_parse(const uint8_t *pkt, size_t len, struct wire_seg *seg);
/**
 * wire_parse_trusted - wire_parse() without the TCP checksum check
 * \param pkt: LEN bytes whose TCP checksum the link vouches for (a TUN
 *             super-packet from the host's own stack: virtio-net
 *             NEEDS_CSUM or DATA_VALID), cut by wire_tso_split()
 * \param seg: filled
 * Returns as wire_parse(), never WIRE_CSUM.
 */
enum wire_err wire_parse_trusted(const uint8_t *pkt, size_t len,
				 struct wire_seg *seg);
/**
 * wire_parse_head - wire_parse_trusted() of a packet whose payload lies
 *                   apart
 * \param hdr: HLEN bytes, exactly the packet's IP and TCP headers
 * \param len: the whole packet's length (headers and payload)
 * \param seg: filled, its data NULL (the caller points it at the payload)
 * Returns as wire_parse_trusted(); WIRE_TCPHDR if HLEN is not the
 * headers' length.
 */
enum wire_err wire_parse_head(const uint8_t *hdr, size_t hlen, size_t len,
			      struct wire_seg *seg);
/* An ICMP or ICMPv6 error about a TCP segment we sent (RFC 792, RFC
 * 4443): what it says, and which segment it quotes. */
enum wire_icmp_kind {
	WIRE_ICMP_UNREACH, /* destination unreachable (not PTB) */
	WIRE_ICMP_PTB,	   /* IPv4 fragmentation needed, IPv6 packet too big */
};
struct wire_icmp {
	enum wire_icmp_kind kind;
	uint8_t type, code;	 /* as on the wire */
	uint32_t mtu;		 /* PTB: the next hop's MTU (0: not given) */
	struct wire_ep from, to; /* the ICMP packet's addresses (no ports) */
	struct wire_ep src, dst; /* the quoted segment's: ours, the peer's */
	uint32_t seq;		 /* the quoted segment's sequence number */
};
/**
 * wire_parse_icmp - parse an ICMP (IPv4) or ICMPv6 error quoting TCP
 * \param pkt: LEN bytes, one IP datagram
 * \param icmp: filled
 * Returns WIRE_OK; WIRE_NOT_TCP when it is no destination unreachable or
 * packet too big quoting a TCP segment's first 8 bytes; else why it is
 * refused (WIRE_SHORT, WIRE_IPCSUM, WIRE_CSUM: the ICMP checksum, ...).
 */
enum wire_err wire_parse_icmp(const uint8_t *pkt, size_t len,
			      struct wire_icmp *icmp);
/**
 * wire_build - build a segment: header, options, payload, checksums
 * \param buf: CAP bytes; SEG->data may point into it
 * \param seg: the segment; the IP version follows seg->src.family
 * Returns the bytes, or 0 if CAP is too small, the families differ or it
 * is over 64 KiB.
 */
size_t wire_build(uint8_t *buf, size_t cap, const struct wire_seg *seg);
/**
 * wire_build_head - wire_build()'s headers alone, the checksum partial
 * \param buf: CAP bytes
 * \param seg: the segment; its payload (seg->len bytes) is not read: it
 *             goes after the headers in another piece of the packet
 * Returns the header bytes (IP, TCP, options), or 0 as wire_build(). The
 * TCP checksum field holds the pseudo-header's sum only, not inverted
 * (virtio-net NEEDS_CSUM from the TCP header: the link completes it).
 */
size_t wire_build_head(uint8_t *buf, size_t cap, const struct wire_seg *seg);
/**
 * wire_opts_len - bytes of TCP options wire_build() emits
 * \param opt: the options
 * Returns a multiple of 4, at most 40 (SACK blocks that do not fit are
 * left out, the last first).
 */
size_t wire_opts_len(const struct wire_opts *opt);
/**
 * wire_err_name - one word of reason
 * \param err: the reason
 * Returns e.g. "checksum".
 */
const char *wire_err_name(enum wire_err err);
/**
 * wire_flags_format - the names of a segment's flags
 * \param flags: TCP_* or-ed
 * \param buf: SIZE bytes get "SYN,ACK", in the order SYN FIN RST PSH ACK
 *             URG ECE CWR, or "none"
 * Returns the length as snprintf().
 */
int wire_flags_format(uint8_t flags, char *buf, size_t size);
/**
 * wire_csum_add - the Internet checksum (RFC 1071), not inverted
 * \param sum: the sum so far
 * \param buf: LEN bytes; in a chain of calls only the last may be odd
 * Returns the new sum.
 */
uint32_t wire_csum_add(uint32_t sum, const void *buf, size_t len);
/**
 * wire_csum_fold - what goes on the wire
 * \param sum: a sum of wire_csum_add()
 * Returns it folded to 16 bits and inverted.
 */
uint16_t wire_csum_fold(uint32_t sum);
/**
 * wire_csum_complete - finish a checksum a sender left partial
 * \param pkt: LEN bytes
 * \param start: where the sum starts (virtio_net_hdr.csum_start)
 * \param offset: where from START the field is (csum_offset); it holds
 *                the pseudo-header sum (VIRTIO_NET_HDR_F_NEEDS_CSUM)
 * Returns 0, or -1 if the field is not inside PKT.
 */
int wire_csum_complete(uint8_t *pkt, size_t len, size_t start, size_t offset);
/* Called with each segment of a split; PKT is valid during the call. */
typedef void wire_emit_fn(void *ctx, const uint8_t *pkt, size_t len);
/**
 * wire_tso_split - cut a TCP super-packet into the segments it stands for
 * \param pkt: LEN bytes: an IPv4 or IPv6 (no extension headers) TCP packet
 *             whose payload may exceed MSS (VIRTIO_NET_HDR_GSO_TCPV4/6);
 *             overwritten: each segment is built in place
 * \param mss: payload bytes per segment (virtio_net_hdr.gso_size)
 * \param csum: compute each segment's TCP checksum; false leaves the field
 *              as it was, for wire_parse_trusted()
 * \param emit: called with CTX and each segment in order (inside PKT, valid
 *              during the call): lengths, IPv4 ids, sequence numbers,
 *              checksums made right, FIN and PSH on the last only, CWR on
 *              the first only (as Linux segments)
 * Returns the number of segments, or -1 if PKT is not such a packet.
 */
int wire_tso_split(uint8_t *pkt, size_t len, size_t mss, bool csum,
		   wire_emit_fn *emit, void *ctx);
/**
 * wire_ep_format - "1.2.3.4:80" or "[::1]:80"
 * \param ep: the endpoint
 * \param buf: SIZE bytes
 * Returns the length as snprintf(), or -EINVAL when EP has no family.
 */
int wire_ep_format(const struct wire_ep *ep, char *buf, size_t size);
/**
 * wire_ep_unicast - whether EP's address can be a TCP endpoint
 * \param ep: the endpoint (its port is not looked at)
 * Returns false for an unspecified, broadcast (IPv4) or multicast address
 * (224/4, ff00::/8), or no family: RFC 9293 MUST-46; true otherwise.
 */
bool wire_ep_unicast(const struct wire_ep *ep);
/**
 * wire_port_parse - a port: decimal, 1 to 65535, nothing else
 * \param s: the text
 * \param port: set to it
 * \param why: set to the reason it is refused, if not NULL
 * Returns 0, or -EINVAL ("missing port", "bad port", "port out of range").
 */
int wire_port_parse(const char *s, uint16_t *port, const char **why);
/**
 * wire_ep_parse - "ADDR:PORT", "ADDR!PORT" or "[V6]:PORT"
 * \param s: the text
 * \param default_port: the port when S has none, or -1: required
 * \param ep: filled
 * \param why: set to the reason it is refused
 * Returns 0, or -EINVAL with *WHY.
 */
int wire_ep_parse(const char *s, int default_port, struct wire_ep *ep,
		  const char **why);

#endif
