/* econn: the engine kind's table of the connections it shows.
 *
 * The engine holds a connection's state; the engine kind adds its owner,
 * the last ctl error, the last state it announced, the wait queue of whoever
 * waits for it, and when it closed (to reap it). The table is sorted by id. */
#ifndef TCPFS_ECONN_H
#define TCPFS_ECONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tcpfs/kind.h"
#include "tcpfs/tcp.h"
#include "tcpfs/waitq.h"

struct econn {
	uint32_t id;
	uid_t owner;
	enum tcp_state state; /* as last announced in events */
	tcp_time idle_since;  /* CLOSED since (reaping), 0 while open */
	char label[24];	      /* "engine/ID" */
	char err[TCPFS_ERR_MAX];
	struct waitq wq; /* woken when its readiness or state changes */
	bool gone;	 /* being freed: its waiters are told */
};

struct econns;

/* An empty table. */
struct econns *econns_new(void);
/* Free the table and every entry (nobody may wait on one). */
void econns_free(struct econns *t);
/* A new entry for ID, owned by OWNER; NULL on ENOMEM or if ID is there. */
struct econn *econns_add(struct econns *t, uint32_t id, uid_t owner);
/* The entry for ID, or NULL. */
struct econn *econns_find(struct econns *t, uint32_t id);
/* Remove and free the entry for ID. */
void econns_del(struct econns *t, uint32_t id);
/* Number of entries. */
size_t econns_count(const struct econns *t);
/* Entry I (0 <= I < count), in id order. */
struct econn *econns_at(struct econns *t, size_t i);

#endif
