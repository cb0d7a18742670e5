/* edir: the engine kind's table of the connections it shows, one per
 * directory of engine/ (not the engine's own struct tcp_conn).
 *
 * The engine holds a connection's state; the engine kind adds its owner,
 * the last ctl error, the last state it announced, the wait queue of whoever
 * waits for it, and when it closed (to reap it). The table is sorted by id;
 * the closed entries are also on a list in the order they closed, so that
 * the next to reap is always the first. */
#ifndef TCPFS_EDIR_H
#define TCPFS_EDIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tcpfs/kind.h"
#include "tcpfs/tcp.h"
#include "tcpfs/waitq.h"

struct edir {
	uint32_t id;
	uid_t owner;
	enum tcp_state state; /* as last announced in events */
	tcp_time idle_since;  /* CLOSED since (reaping), 0 while open:
			       * set with edirs_idle() */
	char label[24];	      /* "engine/ID" */
	char err[TCPFS_ERR_MAX];
	struct waitq wq; /* woken when its readiness or state changes */
	bool gone;	 /* being freed: its waiters are told */
	struct edir *iprev, *inext; /* the idle list, while idle_since */
};

struct edirs;

/* An empty table. */
struct edirs *edirs_new(void);
/* Free the table and every entry (nobody may wait on one). */
void edirs_free(struct edirs *t);
/* A new entry for ID, owned by OWNER; NULL on ENOMEM or if ID is there. */
struct edir *edirs_add(struct edirs *t, uint32_t id, uid_t owner);
/* The entry for ID, or NULL. */
struct edir *edirs_find(struct edirs *t, uint32_t id);
/* Remove and free the entry for ID. */
void edirs_del(struct edirs *t, uint32_t id);
/* Set EC's idle_since to SINCE: not 0, EC goes last on the idle list (SINCE
 * is never earlier than the last entry's); 0, it leaves the list. */
void edirs_idle(struct edirs *t, struct edir *ec, tcp_time since);
/* The entry idle the longest, or NULL. */
struct edir *edirs_first_idle(struct edirs *t);
/* Number of entries. */
size_t edirs_count(const struct edirs *t);
/* Entry I (0 <= I < count), in id order. */
struct edir *edirs_at(struct edirs *t, size_t i);

#endif
