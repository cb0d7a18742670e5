/* Connection directory nodes: slots by inode, a hash by name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"

#define NONE UINT32_MAX
#define NBUCKET 4096

struct nodes {
	struct node **slot;
	size_t nslot, cap;
	uint32_t *freelist; /* stack of free slot numbers */
	size_t nfree;
	uint32_t bucket[NBUCKET];
	uint64_t gen;
};

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h % NBUCKET;
}

struct nodes *nodes_new(void)
{
	struct nodes *t = calloc(1, sizeof(*t));
	if (t)
		memset(t->bucket, 0xff, sizeof(t->bucket));
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
	free(t);
}

static uint32_t slot_of(uint64_t ino)
{
	return (uint32_t)((ino >> NODE_FILE_BITS) - 1);
}

struct node *nodes_find(struct nodes *t, const char *name)
{
	for (uint32_t i = t->bucket[hash(name)]; i != NONE;
	     i = t->slot[i]->hnext)
		if (strcmp(t->slot[i]->name, name) == 0)
			return t->slot[i];
	return NULL;
}

static int take_slot(struct nodes *t, uint32_t *out)
{
	if (t->nfree) {
		*out = t->freelist[--t->nfree];
		return 0;
	}
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
	t->slot[t->nslot] = NULL;
	*out = (uint32_t)t->nslot++;
	return 0;
}

struct node *nodes_add(struct nodes *t, const char *name)
{
	struct node *n = nodes_find(t, name);
	uint32_t i;
	if (n)
		return n;
	if (strlen(name) >= NODE_NAME_MAX || take_slot(t, &i) < 0)
		return NULL;
	n = calloc(1, sizeof(*n) + strlen(name) + 1);
	if (!n) {
		t->freelist[t->nfree++] = i;
		return NULL;
	}
	strcpy(n->name, name);
	n->ino = (uint64_t)(i + 1) << NODE_FILE_BITS;
	n->gen = ++t->gen;
	uint32_t b = hash(name);
	n->hnext = t->bucket[b];
	t->bucket[b] = i;
	t->slot[i] = n;
	return n;
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
	uint32_t *p = &t->bucket[hash(t->slot[i]->name)];
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
	free(node->err);
	free(node);
	t->slot[i] = NULL;
	t->freelist[t->nfree++] = i;
}
