/* tcpfs nat: engine connections to other hosts, through this one (--nat).
 *
 * nat_open() turns IPv4 forwarding on and loads an nftables table that
 * masquerades what the engine's link sends elsewhere; nat_close() removes
 * the table and puts forwarding back as it was. IPv4 only. */
#ifndef TCPFS_NAT_H
#define TCPFS_NAT_H

#include <netinet/in.h>
#include <stddef.h>

struct nat;

/**
 * nat_open - masquerade a net arriving on a device
 * \param dev: the device
 * \param net: the net, with PREFIX
 * \param why: the reason it failed, WHYLEN bytes (no nft, no privilege)
 * Returns it, or NULL with the reason in WHY.
 */
struct nat *nat_open(const char *dev, struct in_addr net, unsigned prefix,
		     char *why, size_t whylen);
/**
 * nat_close - undo everything nat_open() did
 * \param n: it, or NULL
 */
void nat_close(struct nat *n);

#endif
