/* The fake of libfuse's request and reply functions (fake_fuse.h). */
#include <stdlib.h>
#include <string.h>

#include "fake_fuse.h"

int fake_notified, fake_destroyed;
fuse_ino_t fake_inval[FAKE_INVAL_MAX];
int fake_ninval;
pid_t fake_pid;

fuse_req_t fake_req(void *userdata, uid_t uid)
{
	fuse_req_t req = calloc(1, sizeof(*req));
	req->userdata = userdata;
	req->ctx.uid = uid;
	req->ctx.gid = uid;
	req->ctx.pid = fake_pid;
	return req;
}

void fake_free(fuse_req_t req)
{
	free(req->buf);
	free(req);
}

void fake_interrupt(fuse_req_t req)
{
	req->interrupted = true;
	if (req->ifunc && !req->replies)
		req->ifunc(req, req->idata);
}

struct fuse_pollhandle *fake_pollhandle(void)
{
	return calloc(1, sizeof(struct fuse_pollhandle));
}

void *fuse_req_userdata(fuse_req_t req)
{
	return req->userdata;
}

const struct fuse_ctx *fuse_req_ctx(fuse_req_t req)
{
	return &req->ctx;
}

void fuse_req_interrupt_func(fuse_req_t req, fuse_interrupt_func_t func,
			     void *data)
{
	req->ifunc = func;
	req->idata = data;
	if (req->interrupted && func)
		func(req, data);
}

int fuse_req_interrupted(fuse_req_t req)
{
	return req->interrupted;
}

static int answer(fuse_req_t req, enum fake_reply reply)
{
	req->replies++;
	req->reply = reply;
	req->ifunc = NULL; /* as libfuse: a reply ends the request */
	return 0;
}

int fuse_reply_err(fuse_req_t req, int err)
{
	req->err = err;
	return answer(req, FAKE_ERR);
}

void fuse_reply_none(fuse_req_t req)
{
	answer(req, FAKE_FORGOTTEN);
}

int fuse_reply_buf(fuse_req_t req, const char *buf, size_t size)
{
	free(req->buf);
	req->buf = malloc(size + 1);
	if (size)
		memcpy(req->buf, buf, size);
	req->buf[size] = 0;
	req->len = size;
	return answer(req, FAKE_BUF);
}

int fake_reply_fails;

int fuse_reply_iov(fuse_req_t req, const struct iovec *iov, int count)
{
	size_t size = 0;
	int err = fake_reply_fails;
	for (int i = 0; i < count; i++)
		size += iov[i].iov_len;
	free(req->buf);
	req->buf = malloc(size + 1);
	req->len = 0;
	for (int i = 0; i < count; req->len += iov[i].iov_len, i++)
		memcpy(req->buf + req->len, iov[i].iov_base, iov[i].iov_len);
	req->buf[size] = 0;
	fake_reply_fails = 0;
	answer(req, FAKE_BUF);
	return err ? -err : 0;
}

int fuse_reply_entry(fuse_req_t req, const struct fuse_entry_param *e)
{
	req->entry = *e;
	return answer(req, FAKE_ENTRY);
}

int fuse_reply_attr(fuse_req_t req, const struct stat *attr,
		    double attr_timeout)
{
	req->attr = *attr;
	req->attr_timeout = attr_timeout;
	return answer(req, FAKE_ATTR);
}

int fuse_reply_open(fuse_req_t req, const struct fuse_file_info *fi)
{
	req->fi = *fi;
	return answer(req, FAKE_OPEN);
}

int fuse_reply_write(fuse_req_t req, size_t count)
{
	req->written = count;
	return answer(req, FAKE_WRITE);
}

int fuse_reply_poll(fuse_req_t req, unsigned revents)
{
	req->revents = revents;
	return answer(req, FAKE_POLL);
}

/* As libfuse lays a dirent out: ino, off, namelen, type, the name, padded
 * to 8 bytes; the size it needs even when it does not fit. */
size_t fuse_add_direntry(fuse_req_t req, char *buf, size_t bufsize,
			 const char *name, const struct stat *stbuf, off_t off)
{
	(void)req;
	size_t namelen = strlen(name);
	size_t len = (24 + namelen + 7) & ~(size_t)7;
	if (!buf || len > bufsize)
		return len;
	uint64_t ino = stbuf->st_ino, o = (uint64_t)off;
	uint32_t nl = (uint32_t)namelen, type = (stbuf->st_mode & S_IFMT) >> 12;
	memset(buf, 0, len);
	memcpy(buf, &ino, 8);
	memcpy(buf + 8, &o, 8);
	memcpy(buf + 16, &nl, 4);
	memcpy(buf + 20, &type, 4);
	memcpy(buf + 24, name, namelen);
	return len;
}

int fuse_lowlevel_notify_poll(struct fuse_pollhandle *ph)
{
	(void)ph;
	fake_notified++;
	return 0;
}

int fuse_lowlevel_notify_inval_inode(struct fuse_session *se, fuse_ino_t ino,
				     off_t off, off_t len)
{
	(void)se;
	(void)len;
	if (off < 0 && fake_ninval < FAKE_INVAL_MAX)
		fake_inval[fake_ninval++] = ino;
	return 0;
}

void fuse_pollhandle_destroy(struct fuse_pollhandle *ph)
{
	fake_destroyed++;
	free(ph);
}
