/* The rows of a connection directory: generic ones, then the kind's. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "files.h"
#include "node.h"
#include "tcpfs/ctl.h"
#include "tcpfs/log.h"

static const struct {
	const char *name;
	mode_t mode;
} generic[] = {
	[FILES_STATUS - VF_COUNT] = {"status", 0444},
	[FILES_CTL - VF_COUNT] = {"ctl", 0200},
	[FILES_ERR - VF_COUNT] = {"err", 0444},
	[FILES_LADDER - VF_COUNT] = {"ladder", 0444},
};

/* Where each part of a directory's rows starts among its inodes. */
enum { SLOT_GENERIC = 80, SLOT_OWN = 96 };
_Static_assert((int)VF_COUNT <= (int)SLOT_GENERIC &&
		       FILES_GENERIC - VF_COUNT <= SLOT_OWN - SLOT_GENERIC &&
		       SLOT_OWN + KIND_FILES_MAX <= NODE_MAX_FILES,
	       "slots");

int files_slot(int r)
{
	if (r < VF_COUNT)
		return r;
	return r < FILES_GENERIC ? SLOT_GENERIC + (r - VF_COUNT) :
				   SLOT_OWN + (r - FILES_GENERIC);
}

int files_row(const struct kind *k, int slot)
{
	int r, end;
	if (slot < SLOT_GENERIC)
		r = slot, end = VF_COUNT;
	else if (slot < SLOT_OWN)
		r = VF_COUNT + (slot - SLOT_GENERIC), end = FILES_GENERIC;
	else
		r = FILES_GENERIC + (slot - SLOT_OWN), end = files_count(k);
	return slot >= 0 && r < end ? r : -1;
}

static const struct kind_file *own(const struct kind *k, int r)
{
	return &k->ops->files[r - FILES_GENERIC];
}

int files_count(const struct kind *k)
{
	return FILES_GENERIC + k->ops->nfiles;
}

int files_lookup(const struct kind *k, const char *name)
{
	int f = view_lookup(name);
	if (f >= 0)
		return f;
	for (int r = VF_COUNT; r < files_count(k); r++)
		if (strcmp(files_name(k, r), name) == 0)
			return r;
	return -1;
}

const char *files_name(const struct kind *k, int r)
{
	if (r < VF_COUNT)
		return view_name(r);
	return r < FILES_GENERIC ? generic[r - VF_COUNT].name : own(k, r)->name;
}

mode_t files_mode(const struct kind *k, int r)
{
	if (r < VF_COUNT)
		return 0444;
	if (r == FILES_LADDER && k->ops->ladder_mode)
		return k->ops->ladder_mode;
	return r < FILES_GENERIC ? generic[r - VF_COUNT].mode : own(k, r)->mode;
}

bool files_stream(const struct kind *k, int r)
{
	return r >= FILES_GENERIC && own(k, r)->stream;
}

bool files_present(const struct kind *k, int r, const struct kind_conn *c)
{
	if (r < VF_COUNT)
		return view_has(&c->view, r);
	if (r == FILES_LADDER)
		return k->ops->ladder && k->ops->ladder(k->priv, c, NULL) == 0;
	if (r < FILES_GENERIC)
		return true;
	return !own(k, r)->present || own(k, r)->present(k->priv, c);
}

static bool owner_or_root(const struct kind_conn *c, uid_t caller)
{
	return caller == 0 || (c->owned && caller == c->owner);
}

bool files_may_open(const struct kind *k, int r, const struct kind_conn *c,
		    uid_t caller, bool reading, bool writing)
{
	mode_t mode = files_mode(k, r);
	mode_t rd = S_IRUSR, wr = S_IWUSR;
	if (!owner_or_root(c, caller)) {
		rd = S_IROTH;
		wr = S_IWOTH;
	}
	return (!reading || (mode & rd)) && (!writing || (mode & wr));
}

/* The record of OWN's other end from the first kind that has one; not
 * for a connection to itself, whose other end is itself. 0, -ENOENT, or
 * -ENOMEM. */
static int find_peer(const struct files_env *env, const struct ladder_side *own,
		     struct ladder_side *peer)
{
	int err = -ENOENT;
	if (ladder_peer_of(own, &own->local, &own->remote)) /* itself */
		return err;
	for (int i = 0; i < env->nkinds && err == -ENOENT; i++) {
		const struct kind *k = &env->kinds[i];
		if (!k->ops->ladder_peer)
			continue;
		ladder_side_free(peer);
		ladder_side_init(peer);
		err = k->ops->ladder_peer(k->priv, own, env->reader, peer);
	}
	return err;
}

/* C's ladder: its kind's record of it beside its peer's, if any kind
 * keeps that. */
static int render_ladder(const struct files_env *env, const struct kind *k,
			 const struct kind_conn *c, struct buf *out)
{
	struct ladder_side own, peer;
	ladder_side_init(&own);
	ladder_side_init(&peer);
	int err = k->ops->ladder ? k->ops->ladder(k->priv, c, &own) : -ENOENT;
	int found = err ? -ENOENT : find_peer(env, &own, &peer);
	if (!err && found != -ENOENT)
		err = found;
	if (!err)
		err = ladder_render(&own, found ? NULL : &peer, env->ladder,
				    out);
	ladder_side_free(&own);
	ladder_side_free(&peer);
	return err;
}

int files_render(const struct files_env *env, const struct kind *k, int r,
		 const struct kind_conn *c, struct buf *out)
{
	if (r < VF_COUNT) {
		buf_printf(out, "%s\n", c->view.val[r]);
		return out->err;
	}
	switch (r) {
	case FILES_STATUS:
		for (int f = 0; f < VF_COUNT; f++)
			if (view_has(&c->view, f))
				buf_printf(out, "%s %s\n", view_name(f),
					   c->view.val[f]);
		return out->err;
	case FILES_ERR:
		if (c->err[0])
			buf_printf(out, "%s\n", c->err);
		return out->err;
	case FILES_CTL:
		return -EACCES;
	case FILES_LADDER:
		return render_ladder(env, k, c, out);
	}
	if (!own(k, r)->render)
		return -EACCES;
	return own(k, r)->render(k->priv, c, out);
}

int files_write(const struct kind *k, int r, struct kind_conn *c,
		const struct kind_caller *who, const char *data, size_t len)
{
	struct ctl_cmd cmd;
	char why[TCPFS_ERR_MAX];

	if (r != FILES_CTL)
		return -EACCES;
	if (!owner_or_root(c, who->uid) && !c->owned)
		return kind_fail(c, -EPERM,
				 "uid %u may not control a connection whose "
				 "owner is unknown (root only)",
				 (unsigned)who->uid);
	if (!owner_or_root(c, who->uid))
		return kind_fail(
			c, -EPERM,
			"uid %u may not control a connection of uid %u",
			(unsigned)who->uid, (unsigned)c->owner);
	if (ctl_parse(data, len, &cmd, why, sizeof(why)) < 0)
		return kind_fail(c, -EINVAL, "%s", why);
	return k->ops->ctl(k->priv, c, &cmd, who);
}
