/* Connection directory nodes: slots by inode, a hash by name that grows
 * with them (100k sockets looked up are 100k nodes). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"
#include "tcpfs/buf.h"

#define NONE UINT32_MAX
#define NBUCKET_MIN 1024 /* a power of two */

struct nodes {
	struct node **slot;
	size_t nslot, cap;
	uint32_t *freelist; /* stack of free slot numbers */
	size_t nfree;
	uint32_t *bucket;
	size_t nbucket; /* a power of two */
	size_t count;	/* nodes in the table */
	uint64_t gen;
};

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static uint32_t *bucket_of(struct nodes *t, const char *name)
{
	return &t->bucket[hash(name) & (t->nbucket - 1)];
}

/* N empty buckets, or NULL. */
static uint32_t *buckets_new(size_t n)
{
	uint32_t *b = malloc(n * sizeof(*b));
	if (b)
		memset(b, 0xff, n * sizeof(*b));
	return b;
}

struct nodes *nodes_new(void)
{
	struct nodes *t = calloc(1, sizeof(*t));
	if (t && !(t->bucket = buckets_new(NBUCKET_MIN))) {
		free(t);
		return NULL;
	}
	if (t)
		t->nbucket = NBUCKET_MIN;
	return t;
}

void nodes_free(struct nodes *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nslot; i++)
		if (t->slot[i]) {
			free(t->slot[i]->err);
			free(t->slot[i]);
		}
	free(t->slot);
	free(t->freelist);
	free(t->bucket);
	free(t);
}

static uint32_t slot_of(uint64_t ino)
{
	return (uint32_t)((ino >> NODE_FILE_BITS) - 1);
}

struct node *nodes_find(struct nodes *t, const char *name)
{
	for (uint32_t i = *bucket_of(t, name); i != NONE; i = t->slot[i]->hnext)
		if (strcmp(t->slot[i]->name, name) == 0)
			return t->slot[i];
	return NULL;
}

/* One more slot, empty, at the end; -1 if out of memory. */
static int grow(struct nodes *t)
{
	if (t->nslot == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct node **s = realloc(t->slot, cap * sizeof(*s));
		if (s)
			t->slot = s;
		uint32_t *f = s ? realloc(t->freelist, cap * sizeof(*f)) : NULL;
		if (!f)
			return -1;
		t->freelist = f;
		t->cap = cap;
	}
	t->slot[t->nslot++] = NULL;
	return 0;
}

static int take_slot(struct nodes *t, uint32_t *out)
{
	if (t->nfree) {
		*out = t->freelist[--t->nfree];
		return 0;
	}
	if (grow(t) < 0)
		return -1;
	*out = (uint32_t)t->nslot - 1;
	return 0;
}

/* Twice as many buckets, once they hold two nodes each on average; out of
 * memory, the chains grow longer instead. */
static void rehash(struct nodes *t)
{
	uint32_t *b = buckets_new(t->nbucket * 2);
	if (!b)
		return;
	free(t->bucket);
	t->bucket = b;
	t->nbucket *= 2;
	for (size_t i = 0; i < t->nslot; i++)
		if (t->slot[i]) {
			uint32_t *head = bucket_of(t, t->slot[i]->name);
			t->slot[i]->hnext = *head;
			*head = (uint32_t)i;
		}
}

/* A new node NAME in free slot I, which it leaves if out of memory. */
static struct node *place(struct nodes *t, uint32_t i, const char *name)
{
	struct node *n = calloc(1, sizeof(*n) + strlen(name) + 1);
	if (!n) {
		t->freelist[t->nfree++] = i;
		return NULL;
	}
	strcpy(n->name, name);
	n->ino = (uint64_t)(i + 1) << NODE_FILE_BITS;
	n->gen = ++t->gen;
	uint32_t *head = bucket_of(t, name);
	n->hnext = *head;
	*head = i;
	t->slot[i] = n;
	if (++t->count > 2 * t->nbucket)
		rehash(t);
	return n;
}

struct node *nodes_add(struct nodes *t, const char *name)
{
	struct node *n = nodes_find(t, name);
	uint32_t i;
	if (n)
		return n;
	if (strlen(name) >= NODE_NAME_MAX || take_slot(t, &i) < 0)
		return NULL;
	return place(t, i, name);
}

struct node *nodes_get(struct nodes *t, uint64_t ino)
{
	if (ino < NODE_FIXED)
		return NULL;
	uint32_t i = slot_of(ino);
	return i < t->nslot ? t->slot[i] : NULL;
}

static void unlink_name(struct nodes *t, uint32_t i)
{
	uint32_t *p = bucket_of(t, t->slot[i]->name);
	while (*p != i)
		p = &t->slot[*p]->hnext;
	*p = t->slot[i]->hnext;
}

void nodes_forget(struct nodes *t, uint64_t ino, uint64_t n)
{
	struct node *node = nodes_get(t, ino);
	if (!node)
		return;
	node->nlookup = n < node->nlookup ? node->nlookup - n : 0;
	if (node->nlookup)
		return;
	uint32_t i = slot_of(ino);
	unlink_name(t, i);
	t->count--;
	free(node->err);
	free(node);
	t->slot[i] = NULL;
	t->freelist[t->nfree++] = i;
}

void nodes_each(struct nodes *t, void (*fn)(void *arg, struct node *n),
		void *arg)
{
	for (size_t i = 0; i < t->nslot; i++)
		if (t->slot[i])
			fn(arg, t->slot[i]);
}

/* A saved node: ino, nlookup, gen (u64 each, host order: the same machine
 * reads it), the lengths (u16) of its name and of its err text, the name,
 * the err text. */
struct saved {
	uint64_t ino, nlookup, gen;
	uint16_t len, errlen;
} __attribute__((packed));

void nodes_save(const struct nodes *t, struct buf *b)
{
	for (size_t i = 0; i < t->nslot; i++) {
		const struct node *n = t->slot[i];
		if (!n)
			continue;
		struct saved r = {
			n->ino, n->nlookup, n->gen, (uint16_t)strlen(n->name),
			(uint16_t)(n->err ? strnlen(n->err, TCPFS_ERR_MAX - 1) :
					    0)};
		buf_add(b, &r, sizeof(r));
		buf_add(b, n->name, r.len);
		buf_add(b, n->err, r.errlen);
	}
}

/* Take free slot I out of the free list, the table grown to hold it. */
static int claim(struct nodes *t, uint32_t i)
{
	while (t->nslot <= i) {
		if (grow(t) < 0)
			return -ENOMEM;
		t->freelist[t->nfree++] = (uint32_t)t->nslot - 1;
	}
	if (t->slot[i])
		return -EINVAL;
	for (size_t k = t->nfree;
	     k-- > 0;) /* the last, when loading in order */
		if (t->freelist[k] == i) {
			t->freelist[k] = t->freelist[--t->nfree];
			return 0;
		}
	return -EINVAL;
}

/* Restore saved node R named NAME with error text ERR (R->errlen bytes),
 * unless KIND_OF has no kind for it. */
static int load_one(struct nodes *t, const struct saved *r, const char *name,
		    const char *err_text, nodes_kind_fn kind_of, void *arg)
{
	uint64_t slot = (r->ino >> NODE_FILE_BITS) - 1;
	enum node_type type = NODE_CONN;
	uint64_t scope = 0;
	int kind = kind_of(arg, name, &type, &scope);
	if (r->ino < NODE_FIXED || node_row(r->ino) != -1 ||
	    slot >= NODE_LOAD_SLOTS || nodes_find(t, name))
		return -EINVAL;
	if (kind < 0)
		return 0;
	int err = claim(t, (uint32_t)slot);
	struct node *n = err ? NULL : place(t, (uint32_t)slot, name);
	if (!n)
		return err ? err : -ENOMEM;
	n->nlookup = r->nlookup;
	n->gen = r->gen;
	n->kind = kind;
	n->type = type;
	n->scope = scope;
	if (r->errlen) {
		if (!(n->err = calloc(1, TCPFS_ERR_MAX)))
			return -ENOMEM;
		memcpy(n->err, err_text, r->errlen);
	}
	if (t->gen < r->gen)
		t->gen = r->gen;
	return 0;
}

int nodes_load(struct nodes *t, const char *p, size_t len,
	       nodes_kind_fn kind_of, void *arg)
{
	char name[NODE_NAME_MAX];
	struct saved r;
	while (len) {
		if (len < sizeof(r))
			return -EINVAL;
		memcpy(&r, p, sizeof(r));
		size_t whole = sizeof(r) + r.len + r.errlen;
		if (r.len == 0 || r.len >= NODE_NAME_MAX ||
		    r.errlen >= TCPFS_ERR_MAX || len < whole)
			return -EINVAL;
		memcpy(name, p + sizeof(r), r.len);
		name[r.len] = 0;
		if (strlen(name) != r.len)
			return -EINVAL;
		int err = load_one(t, &r, name, p + sizeof(r) + r.len, kind_of,
				   arg);
		if (err < 0)
			return err;
		p += whole;
		len -= whole;
	}
	return 0;
}
