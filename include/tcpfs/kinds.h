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
struct kbpf;
struct kbpf_seq;
struct ladder_side;

/**
 * kernel_kind_new - the kernel kind: kernel/
 * \param k: set to the kind
 * \param loop: where MONITOR is watched
 * \param events: the hub destroy lines go to
 * \param diag: sock_diag (required); owned from now on, even on failure
 * \param monitor: the destroy monitor, or NULL; owned from now on
 * \param procpid: the /proc table (required); owned from now on
 * \param kbpf: the eBPF backend (kbpf.h), or NULL: then no kernel socket
 *             shows sequence numbers; owned from now on (closed with the
 *             kind, even on failure); always NULL without HAVE_KBPF
 * Free it with kind_free(). Returns 0; -ENOMEM (also for a NULL DIAG or
 * PROCPID); or -ENOSPC or
 * epoll's -errno from loop_add() (then *K is unset).
 */
int kernel_kind_new(struct kind *k, struct loop *loop, struct events *events,
		    struct diag *diag, struct diag *monitor,
		    struct procpid *procpid, struct kbpf *kbpf);

/**
 * engine_kind_new - the engine kind: engine/
 * \param k: set to the kind
 * \param loop: where its reap timer is watched
 * \param events: the hub state changes go to
 * \param drv: the engine's driver, owned from now on (even on failure);
 *             NULL: the engine is off, engine/ holds only clone, which
 *             answers ENETDOWN
 * \param reap: microseconds a closed connection lives
 * Free it with kind_free(): every connection is reset (the peers learn it
 * now) and the TUN device goes. Returns 0; -ENOMEM; timerfd_create()'s
 * -errno; or loop_add()'s.
 */
int engine_kind_new(struct kind *k, struct loop *loop, struct events *events,
		    struct tundrv *drv, tcp_time reap);

/**
 * view_from_diag - the view of a kernel socket: only what the kernel sent
 * \param v: filled
 * \param s: the socket, as sock_diag described it
 */
void view_from_diag(struct view *v, const struct diag_sock *s);
/**
 * view_add_kseq - add a kernel socket's sequence numbers (kbpf.h) to its
 *                 view: iss, irs, snd_una, snd_nxt, snd_wl1, rcv_nxt,
 *                 write_seq and copied_seq, each only if Q->has it
 * \param v: a view from view_from_diag(), its other fields kept
 * \param q: what kbpf_seq() gave
 */
void view_add_kseq(struct view *v, const struct kbpf_seq *q);
/**
 * view_from_tcp - the view of an engine connection
 * \param v: filled
 * \param i: the engine's snapshot of it
 * \param owner: the uid it belongs to
 */
void view_from_tcp(struct view *v, const struct tcp_info_snap *i, uid_t owner);
/**
 * ladder_from_tcp - an engine connection's record, for its ladder
 * \param s: filled (ladder.h): its addresses, its ISNs where known, and
 *           every entry of its trace (a full record); its label is left
 * \param i: the engine's snapshot of it
 * \param ent: its trace, N entries oldest first (tcp_trace_get())
 * \param kept: how many of them are its open (tcp_trace_kept()): the
 *              DROPPED entries the trace lost came after them
 * Returns 0, or -ENOMEM (some events are missing).
 */
int ladder_from_tcp(struct ladder_side *s, const struct tcp_info_snap *i,
		    const struct tcp_trace_ent *ent, int n, unsigned kept,
		    uint64_t dropped);

#endif
