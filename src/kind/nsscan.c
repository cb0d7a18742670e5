/* The host's network namespaces, from /proc and the runtimes' bind mounts
 * (nsscan.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tcpfs/nsscan.h"

struct nsscan {
	char proc[64];
	const char *const *named;
	const char *const *others;
	bool scanned;
	uint64_t scanned_ms;
	struct nsscan_ns *ns;
	int n, cap;
};

struct nsscan *nsscan_new(const char *procdir, const char *const *named,
			  const char *const *others)
{
	struct nsscan *s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	snprintf(s->proc, sizeof(s->proc), "%s", procdir);
	s->named = named;
	s->others = others;
	return s;
}

void nsscan_free(struct nsscan *s)
{
	if (!s)
		return;
	free(s->ns);
	free(s);
}

const struct nsscan_ns *nsscan_find(const struct nsscan *s, uint64_t ino)
{
	for (int i = 0; i < s->n; i++)
		if (s->ns[i].ino == ino)
			return &s->ns[i];
	return NULL;
}

int nsscan_count(const struct nsscan *s)
{
	return s->n;
}

const struct nsscan_ns *nsscan_at(const struct nsscan *s, int i)
{
	return &s->ns[i];
}

/* The entry of INO, added (named by PATH) if new; NULL if out of memory. */
static struct nsscan_ns *entry(struct nsscan *s, uint64_t ino, const char *path)
{
	struct nsscan_ns *e = (struct nsscan_ns *)nsscan_find(s, ino);
	if (e)
		return e;
	if (s->n == s->cap) {
		int cap = s->cap ? s->cap * 2 : 64;
		void *p = realloc(s->ns, (size_t)cap * sizeof(*s->ns));
		if (!p)
			return NULL;
		s->ns = p;
		s->cap = cap;
	}
	e = &s->ns[s->n++];
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	snprintf(e->path, sizeof(e->path), "%s", path);
	return e;
}

/* Add process PID (a /proc directory name) to the entry of its namespace. */
static int add_pid(struct nsscan *s, const char *pid)
{
	char path[128], comm[96];
	struct stat st;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s/ns/net", s->proc,
			     pid) >= sizeof(path) ||
	    stat(path, &st) < 0) /* gone, or a kernel thread's */
		return 0;
	struct nsscan_ns *e = entry(s, st.st_ino, path);
	if (!e)
		return -ENOMEM;
	if (e->npids == NSSCAN_PIDS)
		return 0;
	int i = e->npids++;
	e->pids[i] = atoi(pid);
	snprintf(comm, sizeof(comm), "%s/%s/comm", s->proc, pid);
	int fd = open(comm, O_RDONLY | O_CLOEXEC); /* fits: path did */
	ssize_t n = fd >= 0 ? read(fd, e->comm[i], sizeof(e->comm[i]) - 1) : 0;
	if (fd >= 0)
		close(fd);
	e->comm[i][n > 0 ? n : 0] = 0;
	e->comm[i][strcspn(e->comm[i], "\n")] = 0;
	return 0;
}

/* Every process of PROC, in pid order (readdir order is not). */
static int scan_proc(struct nsscan *s)
{
	struct dirent **list;
	int n = scandir(s->proc, &list, NULL, versionsort), err = 0;
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		const char *d = list[i]->d_name;
		if (!err && d[0] >= '1' && d[0] <= '9' &&
		    strspn(d, "0123456789") == strlen(d))
			err = add_pid(s, d);
		free(list[i]);
	}
	free(list);
	return err;
}

/* The bind mounts of DIR: a file is a namespace if it is nsfs (NSDEV), not
 * the empty file `ip netns` leaves when the mount is gone. Scanned before
 * /proc: a bind mount outlives the processes, it is the path to keep. */
static int scan_dir(struct nsscan *s, const char *dir, bool named, dev_t nsdev)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	if (!d)
		return 0; /* no such runtime here */
	while ((de = readdir(d))) {
		char path[128];
		struct stat st;
		if (de->d_name[0] == '.' ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     de->d_name) >= sizeof(path) ||
		    stat(path, &st) < 0 || st.st_dev != nsdev)
			continue;
		struct nsscan_ns *e = entry(s, st.st_ino, path);
		if (!e) {
			closedir(d);
			return -ENOMEM;
		}
		/* a name too long to keep is none (ip allows 255 bytes) */
		if (named && !e->name[0] &&
		    (size_t)snprintf(e->name, sizeof(e->name), "%s",
				     de->d_name) >= sizeof(e->name))
			e->name[0] = 0;
	}
	closedir(d);
	return 0;
}

/* Every directory matching the patterns of LIST. */
static int scan_dirs(struct nsscan *s, const char *const *list, bool named,
		     dev_t nsdev)
{
	int err = 0;
	for (; list && *list && !err; list++) {
		glob_t g;
		if (glob(*list, GLOB_NOSORT, NULL, &g) != 0)
			continue;
		for (size_t i = 0; i < g.gl_pathc && !err; i++)
			err = scan_dir(s, g.gl_pathv[i], named, nsdev);
		globfree(&g);
	}
	return err;
}

int nsscan_refresh(struct nsscan *s, uint64_t now_ms, uint64_t max_age_ms)
{
	char self[80];
	struct stat st;
	if (s->scanned && max_age_ms && now_ms - s->scanned_ms < max_age_ms)
		return 0;
	s->n = 0;
	s->scanned = false;
	snprintf(self, sizeof(self), "%s/self/ns/net", s->proc);
	if (stat(self, &st) < 0)
		return -errno;
	int err = scan_dirs(s, s->named, true, st.st_dev);
	if (!err)
		err = scan_dirs(s, s->others, false, st.st_dev);
	if (!err)
		err = scan_proc(s);
	if (err < 0)
		return err;
	s->scanned = true;
	s->scanned_ms = now_ms;
	return 0;
}
