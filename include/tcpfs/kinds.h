/* tcpfs kinds: the two kinds of connection main.c builds and hands to fs.
 *
 * kernel/ shows every kernel TCP socket of the namespace (sock_diag), with
 * its holders' pids (procpid) and, when the destroy monitor is there, an
 * events line for each socket the kernel destroys. engine/ shows the
 * connections of tcpfs's own engine on its TUN device (tundrv), with clone,
 * the data and listen streams and the trace; closed connections nobody
 * removes are reaped after a while. Each kind posts its lines to the events
 * hub and wakes its connections' wait queues itself. */
#ifndef TCPFS_KINDS_H
#define TCPFS_KINDS_H

#include <sys/types.h>

#include "tcpfs/diag.h"
#include "tcpfs/kind.h"
#include "tcpfs/tcp.h"

struct events;
struct loop;
struct procpid;
struct tundrv;

/* The kernel kind over DIAG (required), MONITOR (NULL: no destroy events)
 * and PROCPID (required), posting to EVENTS, watching MONITOR in LOOP. It
 * owns DIAG, MONITOR and PROCPID from now on, even on failure. 0, or
 * -ENOMEM, or loop_add()'s -errno (then *K is unset). */
int kernel_kind_new(struct kind *k, struct loop *loop, struct events *events,
		    struct diag *diag, struct diag *monitor,
		    struct procpid *procpid);
/* Free it and what it owns; K's operations are no longer callable. */
void kernel_kind_free(struct kind *k);

/* The engine kind over DRV (NULL: the engine is off, and engine/ holds only
 * clone, which answers ENETDOWN), posting to EVENTS; closed connections are
 * freed REAP microseconds after they closed, on a timer in LOOP. It owns
 * DRV from now on, even on failure. 0, -ENOMEM, or -errno of the timer. */
int engine_kind_new(struct kind *k, struct loop *loop, struct events *events,
		    struct tundrv *drv, tcp_time reap);
/* Reset every connection (the peers learn it now), free the engine kind,
 * the driver and its TUN device. */
void engine_kind_free(struct kind *k);

/* Fill V from kernel socket S: only what the kernel really sent. */
void view_from_diag(struct view *v, const struct diag_sock *s);
/* Fill V from engine connection I, created by OWNER. */
void view_from_tcp(struct view *v, const struct tcp_info_snap *i, uid_t owner);

#endif
