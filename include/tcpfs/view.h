/* tcpfs view: the values a connection directory shows, source-independent.
 *
 * A view is one optional string per field. Each kind's adapter (kinds.h)
 * fills the fields it has real values for; a field left absent has no file.
 * One field, one file of the same name, in every connection kind. */
#ifndef TCPFS_VIEW_H
#define TCPFS_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* X(ID, file name): every one-value file, in `status` order. */
#define VIEW_FIELDS(X)                                                         \
	X(STATE, "state")                                                      \
	X(LOCAL, "local")                                                      \
	X(REMOTE, "remote")                                                    \
	X(UID, "uid")                                                          \
	X(INODE, "inode")                                                      \
	X(COOKIE, "cookie")                                                    \
	X(ISS, "iss")                                                          \
	X(IRS, "irs")                                                          \
	X(SND_UNA, "snd_una")                                                  \
	X(SND_NXT, "snd_nxt")                                                  \
	X(SND_WL1, "snd_wl1")                                                  \
	X(SND_WL2, "snd_wl2")                                                  \
	X(RCV_NXT, "rcv_nxt")                                                  \
	X(WRITE_SEQ, "write_seq")                                              \
	X(COPIED_SEQ, "copied_seq")                                            \
	X(RECV_Q, "recv_q")                                                    \
	X(SEND_Q, "send_q")                                                    \
	X(TIMER, "timer")                                                      \
	X(RETRANS, "retrans")                                                  \
	X(SHUTDOWN, "shutdown")                                                \
	X(CONGESTION, "congestion")                                            \
	X(OPTIONS, "options")                                                  \
	X(WSCALE, "wscale")                                                    \
	X(MSS, "mss")                                                          \
	X(SND_MSS, "snd_mss")                                                  \
	X(RCV_MSS, "rcv_mss")                                                  \
	X(SND_WND, "snd_wnd")                                                  \
	X(RCV_WND, "rcv_wnd")                                                  \
	X(RCV_SPACE, "rcv_space")                                              \
	X(CWND, "cwnd")                                                        \
	X(SSTHRESH, "ssthresh")                                                \
	X(RTT, "rtt")                                                          \
	X(SRTT, "srtt")                                                        \
	X(RTTVAR, "rttvar")                                                    \
	X(MIN_RTT, "min_rtt")                                                  \
	X(RTO, "rto")                                                          \
	X(BYTES_ACKED, "bytes_acked")                                          \
	X(BYTES_RECEIVED, "bytes_received")                                    \
	X(BYTES_SENT, "bytes_sent")                                            \
	X(BYTES_RETRANS, "bytes_retrans")                                      \
	X(SEGS_IN, "segs_in")                                                  \
	X(SEGS_OUT, "segs_out")                                                \
	X(TOTAL_RETRANS, "total_retrans")                                      \
	X(DELIVERY_RATE, "delivery_rate")                                      \
	X(PACING_RATE, "pacing_rate")                                          \
	X(URGENT, "urgent")

enum view_field {
#define VIEW_ENUM(id, name) VF_##id,
	VIEW_FIELDS(VIEW_ENUM)
#undef VIEW_ENUM
		VF_COUNT
};

#define VIEW_VAL_MAX 64

struct view {
	uint64_t have; /* bit (1 << field) set when the field has a value */
	char val[VF_COUNT][VIEW_VAL_MAX];
};

/**
 * view_name - the file name of a field
 * \param f: the field, below VF_COUNT
 * Returns its name, e.g. "snd_una".
 */
const char *view_name(enum view_field f);
/**
 * view_lookup - the field a file name names
 * \param name: a file name
 * Returns the field, or -1 if NAME is none.
 */
int view_lookup(const char *name);
/**
 * view_has - whether a view has a field
 * \param v: the view
 * \param f: the field
 * Returns true if F has a value (and a file).
 */
static inline bool view_has(const struct view *v, enum view_field f)
{
	return v->have & (UINT64_C(1) << f);
}
/**
 * view_set - give a field its value
 * \param v: the view
 * \param f: the field
 * \param fmt: its value, printf style, cut to VIEW_VAL_MAX - 1 bytes
 */
void view_set(struct view *v, enum view_field f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
