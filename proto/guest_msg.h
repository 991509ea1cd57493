/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The host<->guest channel: what the agent (PID 1 in the VM) says on its
 * virtio-serial port "omerta.0", one JSON object per line, and what the
 * loader accepts. Both sides read this header; nothing else is shared.
 *
 *   {"type":"stage","stage":"network"}           progress
 *   {"type":"out","fd":1,"data":"<base64>"}      workload stdout (1) / stderr (2)
 *   {"type":"exit","status":3}                   the workload exited
 *   {"type":"exit","signal":9}                   ... or was killed
 *   {"type":"error","stage":"vpn","message":"…"} the job could not run
 *
 * After the workload, what it left in /job/output (guest/outsend.c sends,
 * exec/outfiles.c writes it under the chosen directory), before "exit":
 *   {"type":"dir","path":"a/b"}                       a directory, parent first
 *   {"type":"file","path":"a/b/c","mode":493,"size":5} a regular file, then
 *   {"type":"fdata","data":"<base64>"}                 its bytes (exactly size),
 *   {"type":"fend"}                                    and its end
 *   {"type":"skip","path":"a/l","kind":"symlink"}      not sent: symlink, chardev,
 *                                                      blockdev, fifo, socket, other
 *   {"type":"outdone","files":2,"bytes":5}             all sent (files: "dir" and
 *                                                      "file" messages; bytes: data)
 *   {"type":"outerr","message":"…"}                    the agent gave up; ends it too
 * A path is relative, '/'-separated, without empty, "." or ".." components
 * or NUL, at most OMT_MSG_MAX_PATH bytes, each component OMT_MSG_MAX_NAME.
 * mode is the file's permission bits (0..0777); the host keeps only whether
 * the owner may execute it: 0755, or else 0644.
 *
 * A warm VM's agent (no /job/job.json in its initramfs) says
 * {"type":"stage","stage":"warm"} once it waits for its job; the host then
 * sends the one message that goes the other way:
 *   {"type":"job","size":N}                    followed by N bytes: a newc
 *                                               cpio archive of the files a
 *                                               cold start's initramfs
 *                                               segment holds (proto/job_spec.h)
 * and the agent goes on as after a cold boot. A guest sending "job" is a
 * protocol error.
 *
 * The guest is untrusted: the host parses with omt_msg_parse, which bounds
 * every field, and treats anything else as a protocol error.
 */
#ifndef OMERTA_MSG_H
#define OMERTA_MSG_H

#include <stddef.h>
#include <stdint.h>

#define OMT_MSG_PORT_NAME "omerta.0"
/* Longest line either side writes or accepts, newline excluded. */
#define OMT_MSG_MAX_LINE 65536
/* Workload output per "out" message, before base64. */
#define OMT_MSG_MAX_DATA 32768
#define OMT_MSG_MAX_TEXT 512
#define OMT_MSG_MAX_PATH 4096
#define OMT_MSG_MAX_NAME 255
/* What the output may hold unless the job says less: data bytes, and entries
 * ("dir" and "file" messages; "skip" ones are capped at as many again). */
#define OMT_OUT_MAX_BYTES (256ULL << 20)
#define OMT_OUT_MAX_FILES 10000

enum omt_msg_type {
	OMT_MSG_STAGE,
	OMT_MSG_OUT,
	OMT_MSG_EXIT,
	OMT_MSG_ERROR,
	/* The output files; on the host see exec/outfiles.c. */
	OMT_MSG_DIR,
	OMT_MSG_FILE,
	OMT_MSG_FDATA,
	OMT_MSG_FEND,
	OMT_MSG_SKIP,
	OMT_MSG_OUTDONE,
	OMT_MSG_OUTERR,
	OMT_MSG_JOB,		/* host -> guest only */
};

/* The most a "job" message's archive may hold: the inputs' 64 MiB and the rest. */
#define OMT_MSG_MAX_JOB (80ULL << 20)

/* What "skip" says was not sent. Changing it: guest/outsend.c. */
enum omt_skip_kind {
	OMT_SKIP_SYMLINK,
	OMT_SKIP_CHARDEV,
	OMT_SKIP_BLOCKDEV,
	OMT_SKIP_FIFO,
	OMT_SKIP_SOCKET,
	OMT_SKIP_OTHER,
	OMT_SKIP__COUNT,
};

/* The agent's stages, in order. Changing it: guest/agent.c, docs/omerta-loader.md. */
enum omt_stage {
	OMT_STAGE_BOOT,
	OMT_STAGE_MODULES,
	OMT_STAGE_WARM,			/* a warm VM, waiting for its job */
	OMT_STAGE_NETWORK,
	OMT_STAGE_FIREWALL,
	OMT_STAGE_VPN,
	OMT_STAGE_HANDSHAKE,
	OMT_STAGE_WORKLOAD,
	OMT_STAGE__COUNT,
};

struct omt_msg {
	enum omt_msg_type type;
	enum omt_stage stage;		/* STAGE, ERROR */
	int fd;				/* OUT: 1 or 2 */
	int status;			/* EXIT: exit status, or -1 if signal */
	int signal;			/* EXIT: terminating signal, or 0 */
	unsigned int mode;		/* FILE: permission bits */
	uint64_t size;			/* FILE: bytes that follow in FDATA; JOB: the archive's */
	uint64_t files, bytes;		/* OUTDONE */
	enum omt_skip_kind kind;	/* SKIP */
	size_t len;			/* OUT, FDATA: bytes in data */
	uint8_t data[OMT_MSG_MAX_DATA];
	char text[OMT_MSG_MAX_TEXT];	/* ERROR, OUTERR: message (printable ASCII) */
	char path[OMT_MSG_MAX_PATH + 1]; /* DIR, FILE, SKIP: valid, NUL-terminated */
};

const char *omt_stage_name(enum omt_stage stage);
const char *omt_skip_kind_name(enum omt_skip_kind kind);

/* 0 if the len bytes at s are a path as above, or -EINVAL / -E2BIG. */
int omt_msg_check_path(const char *s, size_t len);

/* Parses one line (without its newline). 0, or -EINVAL / -E2BIG. */
int omt_msg_parse(const char *line, size_t len, struct omt_msg *out);

/*
 * Formats one message as a line with its trailing newline into buf.
 * Returns its length, or -E2BIG / -EINVAL.
 */
int omt_msg_format(char *buf, size_t size, const struct omt_msg *m);

#endif
