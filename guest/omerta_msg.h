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

enum omt_msg_type {
	OMT_MSG_STAGE,
	OMT_MSG_OUT,
	OMT_MSG_EXIT,
	OMT_MSG_ERROR,
};

/* The agent's stages, in order. Changing it: guest/agent.c, docs/omerta-loader.md. */
enum omt_stage {
	OMT_STAGE_BOOT,
	OMT_STAGE_MODULES,
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
	size_t len;			/* OUT: bytes in data */
	uint8_t data[OMT_MSG_MAX_DATA];
	char text[OMT_MSG_MAX_TEXT];	/* ERROR: message (printable ASCII) */
};

const char *omt_stage_name(enum omt_stage stage);

/* Parses one line (without its newline). 0, or -EINVAL / -E2BIG. */
int omt_msg_parse(const char *line, size_t len, struct omt_msg *out);

/*
 * Formats one message as a line with its trailing newline into buf.
 * Returns its length, or -E2BIG / -EINVAL.
 */
int omt_msg_format(char *buf, size_t size, const struct omt_msg *m);

#endif
