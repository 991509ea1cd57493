// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * omerta-loader exec: one job in a fresh microVM whose only network is the
 * WireGuard tunnel of --vpn-config. Order matters: the guards are attached
 * (tap and cgroup) before QEMU exists, and everything is torn down on every
 * way out. A crash leaves the job directory, which the next start reaps;
 * QEMU itself dies with us (PR_SET_PDEATHSIG), and its tap with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include <sodium.h>

#include "../guard/guard_bpf.h"
#include "../host/control.h"
#include "../host/jobdir.h"
#include "../host/vmnet.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "../lib/signals.h"
#include "../owner/activity.h"
#include "../policy/policy.h"
#include "../proto/exit.h"
#include "../proto/guest_msg.h"
#include "../telemetry/event_fmt.h"
#include "../telemetry/reasons.h"
#include "../vmctl/cgroup.h"
#include "../vmctl/initrd.h"
#include "../vmctl/qemu.h"
#include "../vmctl/qmp.h"
#include "../vpn/wgconf.h"
#include "cgroup.skel.h"
#include "exec.h"
#include "guard.skel.h"
#include "outfiles.h"

#define MAX_SCRIPT (1 << 20)

/* Exit codes of exec besides the workload's own (docs/omerta-loader.md). */
enum {
	OMT_EXIT_ROGUE = 240,
	OMT_EXIT_VPN_SETUP = 241,
	OMT_EXIT_VPN_LOST = 242,
	OMT_EXIT_TIMEOUT = 243,
	OMT_EXIT_BOOT = 244,
	OMT_EXIT_OWNER = 245,
	OMT_EXIT_OUTPUT = 246,
};

#define MAX_ENV 16
#define MAX_INPUTS 64
/* What --input may bring in, all files together (they travel in the initramfs). */
#define MAX_INPUT_BYTES (64ULL << 20)

/* The guest images (docs/omerta-loader.md): a root filesystem each. */
static const struct {
	const char *name, *file;	/* the file under the image directory */
	int disk;			/* handed to the VM as a read-only disk */
} images[] = {
	{ "minimal", "base.cpio.gz", 0 },
	{ "debian", "debian.sqfs", 1 },
};

/* --language: the interpreter of --script, and the images that have it. */
static const struct {
	const char *name, *interpreter;
	int debian_only;
} languages[] = {
	{ "sh", "/bin/sh", 0 },
	{ "bash", "/bin/bash", 1 },
	{ "python", "/usr/bin/python3", 1 },
};

struct opts {
	const char *vpn_config, *script, *description, *accel, *image_dir, *qemu_user;
	const char *job_id, *result, *output_dir, *owner_source;
	const char *env[MAX_ENV];
	const char *inputs[MAX_INPUTS];
	int n_env, n_inputs, image, language;
	int out_fd[3];			/* where the workload's stdout [1] and stderr [2] go */
	char **argv;
	unsigned int cpus, memory_mib, timeout, vpn_timeout, handshake_timeout, boot_timeout;
	unsigned int scratch_mib, owner_idle;
	enum omt_owner_priority owner_priority;
	int firewall, json;
};

enum outcome { RUNNING, DONE, ROGUE, VPN_SETUP, VPN_LOST, TIMEOUT, BOOT_FAILED, INTERRUPTED,
	       SETUP_FAILED, OWNER };

/* The VM: running, its vCPUs stopped (QMP stop), or saved to a file and gone. */
enum vm_state { VM_RUNNING, VM_PAUSED, VM_SAVED };

struct job {
	struct opts o;
	char id[OMT_JOB_ID_LEN + 1], dir[300], pin_dir[128];
	struct omt_wgconf wg;
	struct omt_vmnet net;
	struct omt_cgroup cg;
	struct guard_bpf *guard;
	struct cgroup_bpf *cgguard;
	struct bpf_link *cg_links[5];
	struct ring_buffer *rb;
	pid_t qemu;
	int qemu_pidfd, agent_fd, qmp_fd, console_fd, kernel_fd, initrd_fd, ctl_fd, ep;
	struct omt_vm_spec spec;	/* how QEMU was started: a restore starts it the same way */
	struct omt_qmp qmp;
	enum vm_state vm;
	int image_fd;			/* the debian image's disk, or -1 */
	char image_sha256[65];
	struct omt_outfiles *outfiles;
	struct omt_owner *owner;	/* owner activity, unless --owner-priority idle */
	int owner_active, stopped_for_owner;
	int64_t resume_at_ns;
	int output_done;
	char output_error[600];
	int ended;			/* the VM is gone for good: the loop ends */
	unsigned int checkpoints, restores;
	int64_t stopped_since_ns, stopped_total_ns;
	uint64_t cgroup_id;
	int64_t mono_to_real_ns;

	/* What happened */
	enum outcome outcome;
	int interrupted_by;
	int have_exit, exit_status, exit_signal, guest_error;
	unsigned int rogue_events;
	uint64_t output_bytes, tunnel_bytes_in, tunnel_bytes_out;
	enum omt_stage stage;
	int heard_from_guest;
	int64_t loader_start_ns, start_ns, kill_ns, event_ns, workload_ns, rogue_kill_ns;
	int64_t vpn_seen_ns;
	uint64_t vpn_rx_packets;
	char agent_buf[OMT_MSG_MAX_LINE + 1];
	size_t agent_len;
	struct omt_msg msg;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: omerta-loader exec --vpn-config FILE [--cpus N] [--memory MIB]\n"
		"           [--timeout SEC] [--description TEXT] [--guest-firewall on|off]\n"
		"           [--accel auto|kvm|tcg] [--vpn-timeout SEC] [--handshake-timeout SEC]\n"
		"           [--boot-timeout SEC] [--json] [--env NAME=VALUE] [--result FILE]\n"
		"           [--job-id ID] [--stdout-fd N] [--stderr-fd N]\n"
		"           [--image minimal|debian] [--language sh|bash|python]\n"
		"           [--input FILE]... [--output DIR] [--scratch MIB]\n"
		"           [--owner-priority idle|pause|checkpoint|kill] [--owner-idle SEC]\n"
		"           [--owner-source auto|logind|input|cpu]\n"
		"           (--script FILE | -- COMMAND [ARG...])\n\n"
		"Runs one job in a fresh QEMU microVM whose only network is the WireGuard\n"
		"tunnel described by FILE (wg-quick format: the VM's [Interface] and the\n"
		"consumer's [Peer]). The workload's stdout and stderr stream to ours.\n\n"
		"  --cpus N               vCPUs, and the CPU limit of QEMU's cgroup (default 1)\n"
		"  --memory MIB           guest memory (default 256)\n"
		"  --timeout SEC          kill the VM after SEC seconds (default 600, 0: never)\n"
		"  --description TEXT     what the job does, for the log\n"
		"  --guest-firewall on|off  the firewall inside the guest (default on); off\n"
		"                         leaves only the host's layers, for testing them\n"
		"  --accel auto|kvm|tcg   auto: KVM where it really works, else TCG\n"
		"  --vpn-timeout SEC      nothing from the endpoint for SEC: the VPN is lost\n"
		"                         (default 3 x PersistentKeepalive, at least 10; 30\n"
		"                         without keepalive). The consumer must send keepalives.\n"
		"  --handshake-timeout SEC  the guest waits this long for the first\n"
		"                         WireGuard handshake (default 10)\n"
		"  --boot-timeout SEC     the guest must speak within SEC (default 60)\n"
		"  --json                 rogue events as JSON on stderr\n"
		"  --owner-priority P     while the machine's owner is active: idle (default:\n"
		"                         nothing more, the VM only ever gets idle CPU), pause\n"
		"                         its vCPUs, checkpoint it to a file and stop it, or\n"
		"                         kill the job (exit 245)\n"
		"  --owner-idle SEC       the owner idle this long, a paused or checkpointed\n"
		"                         VM goes on (default 60)\n"
		"  --owner-source S       how the owner's activity is seen: logind's IdleHint,\n"
		"                         input devices (event times only), non-guest CPU\n"
		"                         load; auto (default): the first that works, in that\n"
		"                         order\n"
		"  --script FILE          run FILE in the guest with --language's interpreter\n"
		"  --language sh|bash|python  what --script is written in (default sh;\n"
		"                         bash and python need the debian image)\n"
		"  --image minimal|debian the guest's userland (default debian: Debian 12 with\n"
		"                         python3, read-only, writes go to --scratch; minimal:\n"
		"                         busybox). Its SHA-256 is logged.\n"
		"  --input FILE           copy FILE to /job/input/ in the VM, read-only\n"
		"                         (repeatable, up to 64 files and 64 MiB in all)\n"
		"  --output DIR           copy what the workload leaves in /job/output/ into\n"
		"                         DIR (an existing directory) when it ends: at most\n"
		"                         256 MiB and 10000 files, nothing outside DIR\n"
		"  --scratch MIB          the VM's writable space, in its memory (default and\n"
		"                         most: half of --memory):\n"
		"                         the image's writes, /tmp and /job/output\n"
		"  --env NAME=VALUE       set in the workload's environment (up to 16)\n"
		"  --result FILE          write the job's outcome as JSON to FILE at the end\n"
		"  --job-id ID            use ID (8 hex digits) instead of a random one\n"
		"  --stdout-fd N, --stderr-fd N  the workload's output to these fds\n\n"
		"Exit status: the workload's (128+N if killed by signal N), or\n"
		"  240 rogue traffic (VM killed)   241 VPN setup failed\n"
		"  242 VPN lost during the job     243 timeout\n"
		"  244 VM failed to boot           245 stopped for the owner\n"
		"  246 --output refused            130/143 interrupted (SIGINT/SIGTERM)\n"
		"  1 the job could not be set up   2 bad usage\n");
}

/*
 * Which of n names s is: names[0] is the first, the next stride bytes on (a
 * member of an array of structs, or a plain array of strings). Its index,
 * or -EINVAL saying "exec: OPT must be 'a', 'b' or 'c': 'S'".
 */
static int parse_word(const char *opt, const char *s, const char *const *names, size_t n,
		      size_t stride)
{
	const char *name;
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, *(const char *const *)((const char *)names + i * stride)) == 0)
			return i;
	fprintf(stderr, "exec: %s must be ", opt);
	for (i = 0; i < n; i++) {
		name = *(const char *const *)((const char *)names + i * stride);
		fprintf(stderr, "%s'%s'", i == 0 ? "" : i == n - 1 ? " or " : ", ", name);
	}
	fprintf(stderr, ": '%s'\n", s);
	return -EINVAL;
}
#define WORDS(arr, member) &(arr)[0].member, sizeof(arr) / sizeof((arr)[0]), sizeof((arr)[0])
#define STRINGS(arr) (arr), sizeof(arr) / sizeof((arr)[0]), sizeof((arr)[0])

static int parse_uint(const char *opt, const char *s, unsigned int lo, unsigned int hi,
		      unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi || s[0] == '-') {
		fprintf(stderr, "exec: %s must be a number from %u to %u: '%s'\n", opt, lo, hi, s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int env_ok(const char *s)
{
	const char *eq = strchr(s, '=');
	size_t n;

	if (!eq || eq == s || (*s >= '0' && *s <= '9'))
		return 0;
	n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
	return s + n == eq && strlen(eq + 1) < 4096;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const char *const on_off[] = { "on", "off" };
	static const char *const accels[] = { "auto", "kvm", "tcg" };
	static const char *const owner_sources[] = { "auto", "logind", "input", "cpu" };
	static const struct option opts[] = {
		{ "vpn-config", required_argument, NULL, 'c' },
		{ "cpus", required_argument, NULL, 'p' },
		{ "memory", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "description", required_argument, NULL, 'd' },
		{ "guest-firewall", required_argument, NULL, 'f' },
		{ "accel", required_argument, NULL, 'a' },
		{ "script", required_argument, NULL, 's' },
		{ "vpn-timeout", required_argument, NULL, 'V' },
		{ "handshake-timeout", required_argument, NULL, 'H' },
		{ "boot-timeout", required_argument, NULL, 'B' },
		{ "json", no_argument, NULL, 'j' },
		{ "job-id", required_argument, NULL, 'I' },
		{ "result", required_argument, NULL, 'R' },
		{ "env", required_argument, NULL, 'E' },
		{ "stdout-fd", required_argument, NULL, 'O' },
		{ "stderr-fd", required_argument, NULL, 'Z' },
		{ "image", required_argument, NULL, 'i' },
		{ "language", required_argument, NULL, 'L' },
		{ "input", required_argument, NULL, 'N' },
		{ "output", required_argument, NULL, 'U' },
		{ "scratch", required_argument, NULL, 'S' },
		{ "owner-priority", required_argument, NULL, 'P' },
		{ "owner-idle", required_argument, NULL, 'D' },
		{ "owner-source", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	unsigned int fd;
	struct stat st;
	int c, i;

	*o = (struct opts){ .cpus = 1, .memory_mib = 256, .timeout = 600, .accel = "auto",
			    .firewall = 1, .handshake_timeout = 10, .boot_timeout = 60,
			    .description = "", .qemu_user = "omerta", .out_fd = { -1, 1, 2 },
			    .image = 1, .owner_idle = 60, .owner_source = "auto" };
	o->image_dir = getenv("OMERTA_IMAGE_DIR") ? getenv("OMERTA_IMAGE_DIR") : OMT_IMAGE_DIR;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->vpn_config = optarg;
			break;
		case 'p':
			if (parse_uint("--cpus", optarg, 1, 64, &o->cpus))
				return -EINVAL;
			break;
		case 'm':
			if (parse_uint("--memory", optarg, 64, 65536, &o->memory_mib))
				return -EINVAL;
			break;
		case 't':
			if (parse_uint("--timeout", optarg, 0, 7 * 86400, &o->timeout))
				return -EINVAL;
			break;
		case 'V':
			if (parse_uint("--vpn-timeout", optarg, 1, 86400, &o->vpn_timeout))
				return -EINVAL;
			break;
		case 'H':
			if (parse_uint("--handshake-timeout", optarg, 1, 600, &o->handshake_timeout))
				return -EINVAL;
			break;
		case 'B':
			if (parse_uint("--boot-timeout", optarg, 1, 3600, &o->boot_timeout))
				return -EINVAL;
			break;
		case 'd':
			o->description = optarg;
			break;
		case 'f':
			if ((i = parse_word("--guest-firewall", optarg, STRINGS(on_off))) < 0)
				return i;
			o->firewall = i == 0;
			break;
		case 'a':
			if ((i = parse_word("--accel", optarg, STRINGS(accels))) < 0)
				return i;
			o->accel = accels[i];
			break;
		case 's':
			o->script = optarg;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'I':
			if (strlen(optarg) != OMT_JOB_ID_LEN ||
			    strspn(optarg, "0123456789abcdef") != OMT_JOB_ID_LEN) {
				fprintf(stderr, "exec: --job-id must be 8 lowercase hex digits: '%s'\n",
					optarg);
				return -EINVAL;
			}
			o->job_id = optarg;
			break;
		case 'R':
			o->result = optarg;
			break;
		case 'E':
			if (!env_ok(optarg)) {
				fprintf(stderr, "exec: --env must be NAME=VALUE with NAME of A-Z, 0-9 "
						"and _ (not starting with a digit): '%s'\n", optarg);
				return -EINVAL;
			}
			if (o->n_env == MAX_ENV) {
				fprintf(stderr, "exec: at most %d --env\n", MAX_ENV);
				return -EINVAL;
			}
			o->env[o->n_env++] = optarg;
			break;
		case 'O':
		case 'Z':
			if (parse_uint(c == 'O' ? "--stdout-fd" : "--stderr-fd", optarg, 1, 1023, &fd))
				return -EINVAL;
			if (fcntl(fd, F_GETFD) < 0) {
				fprintf(stderr, "exec: %s is not an open file descriptor: '%s'\n",
					c == 'O' ? "--stdout-fd" : "--stderr-fd", optarg);
				return -EINVAL;
			}
			o->out_fd[c == 'O' ? 1 : 2] = fd;
			break;
		case 'i':
			if ((o->image = parse_word("--image", optarg, WORDS(images, name))) < 0)
				return -EINVAL;
			break;
		case 'L':
			if ((o->language = parse_word("--language", optarg, WORDS(languages, name))) < 0)
				return -EINVAL;
			break;
		case 'N':
			if (o->n_inputs == MAX_INPUTS) {
				fprintf(stderr, "exec: at most %d --input\n", MAX_INPUTS);
				return -EINVAL;
			}
			o->inputs[o->n_inputs++] = optarg;
			break;
		case 'U':
			i = stat(optarg, &st) < 0 ? -errno : 0;
			if (i || !S_ISDIR(st.st_mode)) {
				fprintf(stderr, "exec: --output must be an existing directory: '%s': %s\n",
					optarg, i ? strerror(-i) : "not a directory");
				return -EINVAL;
			}
			o->output_dir = optarg;
			break;
		case 'S':
			if (parse_uint("--scratch", optarg, 16, 65536, &o->scratch_mib))
				return -EINVAL;
			break;
		case 'P':
			if ((i = parse_word("--owner-priority", optarg, STRINGS(omt_owner_priority_names))) < 0)
				return i;
			o->owner_priority = i;
			break;
		case 'D':
			if (parse_uint("--owner-idle", optarg, 1, 86400, &o->owner_idle))
				return -EINVAL;
			break;
		case 'W':
			if ((i = parse_word("--owner-source", optarg, STRINGS(owner_sources))) < 0)
				return i;
			o->owner_source = owner_sources[i];
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (!o->vpn_config) {
		fprintf(stderr, "exec: --vpn-config is required\n");
		return -EINVAL;
	}
	if (!!o->script == (optind < argc)) {
		fprintf(stderr, "exec: give either --script FILE or -- COMMAND [ARG...]\n");
		return -EINVAL;
	}
	if (!o->script && o->language) {
		fprintf(stderr, "exec: --language is for --script\n");
		return -EINVAL;
	}
	if (languages[o->language].debian_only && !images[o->image].disk) {
		fprintf(stderr, "exec: --language %s needs --image debian (minimal has only sh)\n",
			languages[o->language].name);
		return -EINVAL;
	}
	if (!o->scratch_mib)
		o->scratch_mib = o->memory_mib / 2;
	if (o->scratch_mib > o->memory_mib / 2) {
		fprintf(stderr, "exec: --scratch %u is more than half of --memory %u: the VM's "
				"writable space lives in its memory\n", o->scratch_mib, o->memory_mib);
		return -EINVAL;
	}
	o->argv = argv + optind;
	return 0;
}

static char *job_json(const struct job *j, const char *const *argv)
{
	json_object *o = json_object_new_object(), *eth = json_object_new_object(),
		    *a = json_object_new_array();
	char ip[16], gw[16];
	char *s;

	snprintf(ip, sizeof(ip), "%u.%u.%u.%u", j->net.vm[0], j->net.vm[1], j->net.vm[2], j->net.vm[3]);
	snprintf(gw, sizeof(gw), "%u.%u.%u.%u", j->net.gateway[0], j->net.gateway[1],
		 j->net.gateway[2], j->net.gateway[3]);
	json_object_object_add(eth, "address", json_object_new_string(ip));
	json_object_object_add(eth, "prefix", json_object_new_int(OMT_VMNET_PREFIX));
	json_object_object_add(eth, "gateway", json_object_new_string(gw));
	json_object_object_add(o, "eth0", eth);
	json_object_object_add(o, "firewall", json_object_new_boolean(j->o.firewall));
	json_object_object_add(o, "handshake_timeout",
			       json_object_new_int(j->o.handshake_timeout));
	json_object_object_add(o, "image", json_object_new_string(images[j->o.image].name));
	json_object_object_add(o, "scratch_mib", json_object_new_int(j->o.scratch_mib));
	json_object_object_add(o, "output", json_object_new_boolean(!!j->o.output_dir));
	for (; *argv; argv++)
		json_object_array_add(a, json_object_new_string(*argv));
	json_object_object_add(o, "argv", a);
	if (j->o.n_env) {
		json_object *env = json_object_new_object();
		int i;

		for (i = 0; i < j->o.n_env; i++) {
			const char *eq = strchr(j->o.env[i], '=');
			char name[256];

			snprintf(name, sizeof(name), "%.*s", (int)(eq - j->o.env[i]), j->o.env[i]);
			json_object_object_add(env, name, json_object_new_string(eq + 1));
		}
		json_object_object_add(o, "env", env);
	}
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

/* ---------------------------------------------------------------- events */

static void kill_vm(struct job *j, enum outcome why)
{
	if (j->outcome == RUNNING)
		j->outcome = why;
	if (j->vm == VM_SAVED)
		j->ended = 1;	/* nothing to kill: the checkpoint goes with the job */
	if (j->qemu > 0 && !j->kill_ns) {
		j->kill_ns = mono_ns();
		syscall(SYS_pidfd_send_signal, j->qemu_pidfd, SIGKILL, NULL, 0);
	}
}

static int on_rogue(void *arg, void *data, size_t size)
{
	struct job *j = arg;
	const struct omt_event *e = data;
	char line[768];

	if (size < sizeof(*e))
		return 0;
	if (e->direction == OMT_DIR_CGROUP ? e->cgroup_id != j->cgroup_id :
					     e->ifindex != j->net.ifindex ||
						     e->direction != OMT_DIR_FROM_GUEST)
		return 0;
	if (!j->event_ns)
		j->event_ns = e->ts_ns;
	j->rogue_events++;
	kill_vm(j, ROGUE);
	omt_event_format(line, sizeof(line), e, e->ts_ns + j->mono_to_real_ns, j->id, j->o.json);
	if (j->o.json)
		fprintf(stderr, "%s\n", line);
	else
		pr_warn("%s", line);
	return 0;
}

/* The workload's /job/output, file by file, into --output (exec/outfiles.c). */
static void on_output(struct job *j, const struct omt_msg *m)
{
	uint64_t files, bytes;
	int r;

	if (j->output_error[0] || j->output_done)
		return;		/* refused already: the rest is ignored */
	if (!j->outfiles) {
		snprintf(j->output_error, sizeof(j->output_error),
			 "the guest sent output files, and none were asked for");
		pr_err("job %s: %s", j->id, j->output_error);
		return;
	}
	r = omt_outfiles_feed(j->outfiles, m);
	if (r < 0) {
		snprintf(j->output_error, sizeof(j->output_error), "%s",
			 omt_outfiles_error(j->outfiles));
		pr_err("job %s: output refused: %s", j->id, j->output_error);
	} else if (r == 1) {
		j->output_done = 1;
		omt_outfiles_stats(j->outfiles, &files, &bytes);
		pr_info("job %s: output: %llu files and directories, %llu bytes into %s", j->id,
			(unsigned long long)files, (unsigned long long)bytes, j->o.output_dir);
	}
}

static void on_message(struct job *j, const struct omt_msg *m)
{
	FILE *out;

	j->heard_from_guest = 1;
	switch (m->type) {
	case OMT_MSG_STAGE:
		j->stage = m->stage;
		pr_debug("job %s: guest stage %s at %.3f s", j->id, omt_stage_name(m->stage),
			 (mono_ns() - j->start_ns) / 1e9);
		/* The first one only: a guest saying it again resets nothing. */
		if (m->stage == OMT_STAGE_WORKLOAD && !j->workload_ns) {
			j->vpn_seen_ns = mono_ns();	/* the handshake just came back */
			j->workload_ns = j->vpn_seen_ns;
		}
		break;
	case OMT_MSG_OUT:
		if (j->o.out_fd[m->fd] == m->fd) {
			out = m->fd == 1 ? stdout : stderr;
			fwrite(m->data, 1, m->len, out);
			fflush(out);
		} else if (omt_write_all(j->o.out_fd[m->fd], m->data, m->len) < 0) {
			pr_warn("job %s: workload output: %s", j->id, strerror(errno));
		}
		j->output_bytes += m->len;
		break;
	case OMT_MSG_EXIT:
		j->have_exit = 1;
		j->exit_status = m->status;
		j->exit_signal = m->signal;
		/*
		 * The exit is the agent's last word: nothing is lost by not
		 * waiting for the guest's power-off, and the VM goes anyway.
		 */
		kill_vm(j, DONE);
		break;
	case OMT_MSG_ERROR:
		j->guest_error = 1;
		j->stage = m->stage;
		pr_err("job %s: the guest failed at %s: %s", j->id, omt_stage_name(m->stage), m->text);
		if (j->outcome == RUNNING)
			j->outcome = m->stage == OMT_STAGE_VPN || m->stage == OMT_STAGE_HANDSHAKE ?
					     VPN_SETUP : BOOT_FAILED;
		break;
	case OMT_MSG_DIR:
	case OMT_MSG_FILE:
	case OMT_MSG_FDATA:
	case OMT_MSG_FEND:
	case OMT_MSG_SKIP:
	case OMT_MSG_OUTDONE:
	case OMT_MSG_OUTERR:
		on_output(j, m);
		break;
	}
}

/* Reads what the agent says; a line that does not parse ends the job. */
static void on_agent(struct job *j)
{
	ssize_t n = read(j->agent_fd, j->agent_buf + j->agent_len,
			 sizeof(j->agent_buf) - j->agent_len);
	char *nl;

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		close(j->agent_fd);
		j->agent_fd = -1;
		return;
	}
	j->agent_len += n;
	while ((nl = memchr(j->agent_buf, '\n', j->agent_len))) {
		size_t len = nl - j->agent_buf;

		if (omt_msg_parse(j->agent_buf, len, &j->msg)) {
			pr_err("job %s: the guest sent a malformed message; killing it", j->id);
			kill_vm(j, BOOT_FAILED);
			j->agent_len = 0;
			return;
		}
		on_message(j, &j->msg);
		memmove(j->agent_buf, nl + 1, j->agent_len - len - 1);
		j->agent_len -= len + 1;
	}
	if (j->agent_len == sizeof(j->agent_buf)) {
		pr_err("job %s: the guest sent an overlong line; killing it", j->id);
		kill_vm(j, BOOT_FAILED);
		j->agent_len = 0;
	}
}

static uint64_t to_guest_packets(struct job *j)
{
	struct omt_total_key k = { .ifindex = j->net.ifindex, .direction = OMT_DIR_TO_GUEST,
				   .reason = OMT_R_PASS };
	struct omt_counter c = {};

	bpf_map_lookup_elem(bpf_map__fd(j->guard->maps.omt_totals), &k, &c);
	return c.packets;
}

static unsigned int vpn_timeout(const struct job *j)
{
	unsigned int k = j->wg.persistent_keepalive;

	if (j->o.vpn_timeout)
		return j->o.vpn_timeout;
	if (!k)
		return 30;
	return 3 * k < 10 ? 10 : 3 * k;
}

/* How long the VM has run: time it spent paused or saved does not count. */
static int64_t run_ns(const struct job *j, int64_t now)
{
	return now - j->start_ns - j->stopped_total_ns -
	       (j->stopped_since_ns ? now - j->stopped_since_ns : 0);
}

static void on_tick(struct job *j)
{
	int64_t now = mono_ns();
	uint64_t rx;

	if (j->vm != VM_RUNNING || j->kill_ns)
		return;		/* a stopped VM neither times out nor keeps its tunnel busy */
	if (j->o.timeout && run_ns(j, now) >= (int64_t)j->o.timeout * 1000000000LL) {
		pr_err("job %s: timeout after %u s", j->id, j->o.timeout);
		kill_vm(j, TIMEOUT);
	}
	if (!j->heard_from_guest && run_ns(j, now) >= (int64_t)j->o.boot_timeout * 1000000000LL) {
		pr_err("job %s: the guest did not speak within %u s", j->id, j->o.boot_timeout);
		kill_vm(j, BOOT_FAILED);
	}
	/* VPN health: once the tunnel was up, the endpoint must keep talking. */
	if (j->vpn_seen_ns && !j->have_exit) {
		rx = to_guest_packets(j);
		if (rx != j->vpn_rx_packets) {
			j->vpn_rx_packets = rx;
			j->vpn_seen_ns = now;
		} else if (now - j->vpn_seen_ns >= (int64_t)vpn_timeout(j) * 1000000000LL) {
			pr_err("job %s: nothing from the endpoint for %u s: VPN lost", j->id,
			       vpn_timeout(j));
			kill_vm(j, VPN_LOST);
		}
	}
}

/* ---------------------------------------------------------------- set-up */

static int attach_cgroup_guard(struct job *j)
{
	struct bpf_program *progs[5] = {
		j->cgguard->progs.omt_cg_skb, j->cgguard->progs.omt_cg_connect4,
		j->cgguard->progs.omt_cg_sendmsg4, j->cgguard->progs.omt_cg_connect6,
		j->cgguard->progs.omt_cg_sendmsg6,
	};
	struct stat st;
	int i;

	if (fstat(j->cg.v2_fd, &st) < 0)
		return -errno;
	j->cgroup_id = st.st_ino;
	for (i = 0; i < 5; i++) {
		j->cg_links[i] = bpf_program__attach_cgroup(progs[i], j->cg.v2_fd);
		if (!j->cg_links[i])
			return -errno;
	}
	return 0;
}

/*
 * Starts QEMU as j->spec says, with fresh agent and QMP channels, and
 * greets it over QMP. Used at the start and by a restore.
 */
static int spawn_vm(struct job *j, char *err, size_t errlen)
{
	int sv_agent[2], sv_qmp[2], e;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv_agent) < 0) {
		e = -errno;
		snprintf(err, errlen, "agent channel: %s", strerror(errno));
		return e;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv_qmp) < 0) {
		e = -errno;
		close(sv_agent[0]);
		close(sv_agent[1]);
		snprintf(err, errlen, "QMP channel: %s", strerror(errno));
		return e;
	}
	j->agent_fd = sv_agent[0];
	j->qmp_fd = sv_qmp[0];
	j->spec.agent_fd = sv_agent[1];
	j->spec.qmp_fd = sv_qmp[1];
	e = omt_qemu_spawn(&j->spec, &j->qemu, &j->qemu_pidfd, err, errlen);
	close(sv_agent[1]);
	close(sv_qmp[1]);
	if (e)
		return e;
	omt_jobdir_write_pid(j->dir, "qemu.pid", j->qemu);
	omt_qmp_init(&j->qmp, j->qmp_fd);
	/* QEMU starting up is part of the boot (seconds on a loaded host). */
	if ((e = omt_qmp_handshake(&j->qmp, j->o.boot_timeout * 1000)))
		snprintf(err, errlen, "QEMU's QMP did not answer: %s", strerror(-e));
	return e;
}

/* SHA-256 of the whole of fd, as hex. */
static int sha256_fd(int fd, char hex[65])
{
	static uint8_t buf[1 << 20];
	crypto_hash_sha256_state st;
	uint8_t h[crypto_hash_sha256_BYTES];
	off_t off = 0;
	ssize_t n;

	crypto_hash_sha256_init(&st);
	while ((n = pread(fd, buf, sizeof(buf), off)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		crypto_hash_sha256_update(&st, buf, n);
		off += n;
	}
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(hex, 65, h, sizeof(h));
	return 0;
}

/*
 * The --input files, read whole, as initramfs entries under job/input/ (the
 * directory first). Names are the files' base names, each once.
 */
static int read_inputs(const struct job *j, struct omt_initrd_file *files, char **bufs,
		       char **names, char *err, size_t errlen)
{
	uint64_t total = 0;
	size_t len;
	int i, k, e, n = 0;

	if (!j->o.n_inputs)
		return 0;
	files[n++] = (struct omt_initrd_file){ "job/input", S_IFDIR | 0555, "", 0 };
	for (i = 0; i < j->o.n_inputs; i++) {
		const char *base = strrchr(j->o.inputs[i], '/');

		base = base ? base + 1 : j->o.inputs[i];
		if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
			snprintf(err, errlen, "--input '%s' names no file", j->o.inputs[i]);
			return -EINVAL;
		}
		for (k = 0; k < i; k++)
			if (strcmp(files[k + 1].name + strlen("job/input/"), base) == 0) {
				snprintf(err, errlen, "--input '%s' and '%s' would both be "
						      "/job/input/%s", j->o.inputs[k], j->o.inputs[i], base);
				return -EEXIST;
			}
		if ((e = omt_read_file(j->o.inputs[i], MAX_INPUT_BYTES - total, &bufs[i], &len, err,
				       errlen))) {
			if (e == -EFBIG)
				snprintf(err, errlen, "--input '%s': the inputs come to more than "
						      "%llu MiB", j->o.inputs[i], MAX_INPUT_BYTES >> 20);
			return e;
		}
		total += len;
		if (asprintf(&names[i], "job/input/%s", base) < 0) {
			names[i] = NULL;
			return -ENOMEM;
		}
		files[n++] = (struct omt_initrd_file){ names[i], 0444, bufs[i], len };
	}
	return n;
}

/* Opens the --image's root filesystem and logs its hash. */
static int open_image(struct job *j, char *err, size_t errlen)
{
	char path[512];
	int fd, e;

	snprintf(path, sizeof(path), "%s/%s", j->o.image_dir, images[j->o.image].file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = -errno;
		snprintf(err, errlen, "image %s: %s: %s (build it with 'make')",
			 images[j->o.image].name, path, strerror(errno));
		return e;
	}
	/* Hashed through the very fd the VM gets: what ran is what was hashed. */
	if ((e = sha256_fd(fd, j->image_sha256))) {
		snprintf(err, errlen, "image %s: read %s: %s", images[j->o.image].name, path,
			 strerror(-e));
		close(fd);
		return e;
	}
	pr_info("job %s: image %s sha256:%s", j->id, images[j->o.image].name, j->image_sha256);
	if (images[j->o.image].disk)
		j->image_fd = fd;
	else
		close(fd);
	return 0;
}

static int owner_open(struct job *j, char *err, size_t errlen);

static int setup(struct job *j, char *err, size_t errlen)
{
	char path[512], *script = NULL, *wgtext = NULL, *jj = NULL;
	char *inbufs[MAX_INPUTS] = { 0 }, *innames[MAX_INPUTS] = { 0 };
	size_t script_len = 0, wg_len = 0;
	const char *script_argv[] = { languages[j->o.language].interpreter, "/job/script", NULL };
	struct omt_initrd_file files[3 + 1 + MAX_INPUTS];
	int n_inputs = 0;
	struct omt_policy pol = { .flags = OMT_POL_PEER_IP | OMT_POL_GATEWAY_IP };
	int e, n = 0;
	const char *accel;
	char why[200];
	struct passwd *pw;

	if ((e = omt_wgconf_load(j->o.vpn_config, &j->wg, err, errlen)))
		return e;
	if (j->o.script && (e = omt_read_file(j->o.script, MAX_SCRIPT, &script, &script_len, err,
					      errlen)))
		return e;
	if ((e = omt_read_file(j->o.vpn_config, OMT_WGCONF_MAX_FILE, &wgtext, &wg_len, err,
			       errlen)))
		goto out;
	/* The inputs go after job.json, wg0.conf and the script, if any. */
	n_inputs = read_inputs(j, files + (script ? 3 : 2), inbufs, innames, err, errlen);
	if (n_inputs < 0) {
		e = n_inputs;
		goto out;
	}
	if ((e = omt_accel_choose(j->o.accel, &accel, why, sizeof(why)))) {
		snprintf(err, errlen, "--accel %s: %s", j->o.accel, why);
		goto out;
	}
	pr_info("accelerator: %s (%s)", accel, why);
	pw = getpwnam(j->o.qemu_user);
	if (!pw) {
		e = -ENOENT;
		snprintf(err, errlen, "no user '%s' to run QEMU as; create it: "
				      "useradd --system --no-create-home --shell /usr/sbin/nologin %s",
			 j->o.qemu_user, j->o.qemu_user);
		goto out;
	}
	if ((e = omt_vmnet_check(err, errlen)))
		goto out;
	snprintf(path, sizeof(path), "%s/vmlinuz", j->o.image_dir);
	if ((e = omt_memfd_from_file(path, "omerta-kernel", &j->kernel_fd))) {
		snprintf(err, errlen, "guest kernel %s: %s (build it with 'make')", path, strerror(-e));
		goto out;
	}

	omt_jobdir_reap_stale();
	if ((e = omt_jobdir_create(j->o.job_id, j->id, j->dir, sizeof(j->dir))) ||
	    (e = omt_jobdir_write_pid(j->dir, "loader.pid", getpid()))) {
		snprintf(err, errlen, "job directory under %s: %s", OMT_JOBS_DIR, strerror(-e));
		goto out;
	}
	omt_jobdir_write_text(j->dir, "description", j->o.description);
	pr_info("job %s: %s%s%s", j->id, j->o.description[0] ? "\"" : "", j->o.description,
		j->o.description[0] ? "\"" : "(no description)");
	if ((e = open_image(j, err, errlen)))
		goto out;
	if (j->o.output_dir &&
	    !(j->outfiles = omt_outfiles_new(j->o.output_dir, OMT_OUT_MAX_BYTES, OMT_OUT_MAX_FILES,
					     err, errlen))) {
		e = -EINVAL;
		goto out;
	}

	if ((e = omt_cgroup_create(&j->cg, j->id, j->o.cpus * 1000,
				   (uint64_t)(j->o.memory_mib + 128) << 20, err, errlen)))
		goto out;
	/* Pinned while the job runs: bpftool and the daemon's metrics read them. */
	snprintf(j->pin_dir, sizeof(j->pin_dir), "%s/%s", OMT_PIN_JOBS_DIR, j->id);
	if ((e = omt_bpffs_ensure()) || (e = omt_guard_load(&j->guard, j->pin_dir))) {
		snprintf(err, errlen, "load the guard: %s", strerror(-e));
		j->pin_dir[0] = '\0';
		goto out;
	}
	j->cgguard = cgroup_bpf__open_and_load();
	if (!j->cgguard || (e = attach_cgroup_guard(j))) {
		e = e ? e : -errno;
		snprintf(err, errlen, "the cgroup guard on %s: %s", j->cg.v2, strerror(-e));
		goto out;
	}
	if ((e = omt_vmnet_up(&j->net, j->id, j->wg.endpoint_ip, j->wg.endpoint_port, err, errlen)))
		goto out;
	memcpy(pol.endpoint_ip, j->wg.endpoint_ip, 4);
	pol.endpoint_port = j->wg.endpoint_port;
	memcpy(pol.peer_ip, j->net.vm, 4);
	memcpy(pol.gateway_ip, j->net.gateway, 4);
	/* XDP on a tap: measured cheapest there (docs/benchmarks.md). */
	if ((e = omt_guard_attach(j->guard, j->net.ifindex, 1, &pol))) {
		snprintf(err, errlen, "attach the guard to %s: %s", j->net.tap, strerror(-e));
		goto out;
	}
	j->rb = ring_buffer__new(bpf_map__fd(j->guard->maps.omt_events), on_rogue, j, NULL);
	if (!j->rb || ring_buffer__add(j->rb, bpf_map__fd(j->cgguard->maps.omt_cg_events),
				       on_rogue, j)) {
		e = -errno;
		snprintf(err, errlen, "ring buffer: %s", strerror(errno));
		goto out;
	}

	jj = job_json(j, j->o.script ? script_argv : (const char *const *)j->o.argv);
	files[n++] = (struct omt_initrd_file){ "job/job.json", 0600, jj, strlen(jj) };
	files[n++] = (struct omt_initrd_file){ "job/wg0.conf", 0600, wgtext, wg_len };
	if (script)
		files[n++] = (struct omt_initrd_file){ "job/script", 0755, script, script_len };
	n += n_inputs;
	snprintf(path, sizeof(path), "%s/base.cpio.gz", j->o.image_dir);
	if ((e = omt_initrd_build(path, files, n, &j->initrd_fd))) {
		snprintf(err, errlen, "guest initramfs from %s: %s", path, strerror(-e));
		goto out;
	}

	snprintf(path, sizeof(path), "%s/console.log", j->dir);
	j->console_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (j->console_fd < 0) {
		e = -errno;
		snprintf(err, errlen, "console log %s: %s", path, strerror(errno));
		goto out;
	}
	j->ctl_fd = omt_control_listen(j->dir);
	if (j->ctl_fd < 0) {
		e = j->ctl_fd;
		snprintf(err, errlen, "control socket in %s: %s", j->dir, strerror(-e));
		goto out;
	}
	j->spec = (struct omt_vm_spec){
		.name = j->id, .accel = accel, .cpus = j->o.cpus, .memory_mib = j->o.memory_mib,
		.kernel_fd = j->kernel_fd, .initrd_fd = j->initrd_fd, .tap_fd = j->net.tap_fd,
		.console_fd = j->console_fd, .uid = pw->pw_uid, .gid = pw->pw_gid, .cg = &j->cg,
		.disk_fd = j->image_fd,
		.mac = { 0x52, 0x54, 0x00 },
	};
	if (strcmp(accel, "kvm") == 0) {
		struct group *kvm = getgrnam("kvm");

		j->spec.kvm_gid = kvm ? kvm->gr_gid : 0;
	} else {
		j->spec.tsc_khz = omt_host_tsc_khz();
	}
	getrandom(j->spec.mac + 3, 3, 0);
	j->start_ns = mono_ns();
	if ((e = spawn_vm(j, err, errlen)) || (e = owner_open(j, err, errlen)))
		goto out;
	pr_debug("job %s: QEMU %d started, %.3f s after the loader", j->id, (int)j->qemu,
		 (mono_ns() - j->loader_start_ns) / 1e9);
out:
	for (int i = 0; i < MAX_INPUTS; i++) {
		free(inbufs[i]);
		free(innames[i]);
	}
	free(jj);
	if (wgtext)
		explicit_bzero(wgtext, wg_len);
	free(wgtext);
	free(script);
	return e;
}

/* One line with what the guard counted for the job's tap. */
static void log_counters(struct job *j)
{
	struct omt_total_key k, next;
	struct omt_counter c;
	char line[1024];
	int fd = bpf_map__fd(j->guard->maps.omt_totals), err, n = 0;

	n += snprintf(line + n, sizeof(line) - n, "job %s: guard counted", j->id);
	err = bpf_map_get_next_key(fd, NULL, &k);
	while (!err && n < (int)sizeof(line) - 80) {
		if (k.ifindex == j->net.ifindex && bpf_map_lookup_elem(fd, &k, &c) == 0) {
			n += snprintf(line + n, sizeof(line) - n, " %s/%s=%llu pkts %llu B",
				      omt_direction_name(k.direction), omt_reason_name(k.reason),
				      (unsigned long long)c.packets, (unsigned long long)c.bytes);
			if (k.reason == OMT_R_PASS && k.direction == OMT_DIR_FROM_GUEST)
				j->tunnel_bytes_out += c.bytes;
			else if (k.reason == OMT_R_PASS)
				j->tunnel_bytes_in += c.bytes;
		}
		err = bpf_map_get_next_key(fd, &k, &next);
		k = next;
	}
	pr_info("%s", line);
}

static void teardown(struct job *j)
{
	struct omt_guard_maps maps;
	int i;

	if (j->qemu > 0) {
		kill(j->qemu, SIGKILL);
		while (waitpid(j->qemu, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (j->qemu_pidfd >= 0)
		close(j->qemu_pidfd);
	ring_buffer__free(j->rb);
	if (j->guard && j->net.ifindex) {
		log_counters(j);
		omt_guard_maps_of(j->guard, &maps);
		omt_guard_detach(&maps, j->net.ifindex);
	}
	omt_vmnet_down(&j->net);
	for (i = 0; i < 5; i++)
		bpf_link__destroy(j->cg_links[i]);
	cgroup_bpf__destroy(j->cgguard);
	omt_guard_unload(j->guard, j->pin_dir[0] ? j->pin_dir : NULL);
	if (j->cg.n_dirs && omt_cgroup_destroy(&j->cg))
		pr_warn("job %s: cgroup not removed: %s", j->id, strerror(errno));
	omt_outfiles_free(j->outfiles);
	j->outfiles = NULL;
	omt_owner_close(j->owner);
	j->owner = NULL;
	for (i = 0; i < 8; i++) {
		int *fd = (int *[]){ &j->agent_fd, &j->qmp_fd, &j->console_fd, &j->kernel_fd,
				     &j->initrd_fd, &j->ctl_fd, &j->ep, &j->image_fd }[i];

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
	if (j->dir[0])
		omt_jobdir_remove(j->dir);
	omt_wgconf_clear(&j->wg);
}

/* What the guest's kernel said, when it never got as far as the agent. */
static void log_console_tail(const struct job *j)
{
	char path[400], lines[20][200];
	int n = 0, i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/console.log", j->dir);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(lines[n % 20], sizeof(lines[0]), f))
		n++;
	fclose(f);
	pr_err("job %s: the VM ended without a result; the end of its console:", j->id);
	for (i = n > 20 ? n - 20 : 0; i < n; i++) {
		lines[i % 20][strcspn(lines[i % 20], "\r\n")] = '\0';
		pr_err("console: %s", lines[i % 20]);
	}
}

static const char *outcome_name(enum outcome o)
{
	static const char *const names[] = { "running", "done", "rogue", "vpn_setup_failed",
					     "vpn_lost", "timeout", "boot_failed", "interrupted",
					     "setup_failed", "owner" };

	return names[o];
}

/* The job's end for whoever started it (the daemon): one JSON object. */
static void write_result(const struct job *j, int code)
{
	json_object *o = json_object_new_object();
	int64_t end = mono_ns();

	json_object_object_add(o, "job", json_object_new_string(j->id));
	json_object_object_add(o, "outcome", json_object_new_string(outcome_name(j->outcome)));
	json_object_object_add(o, "exit_status", json_object_new_int(code));
	json_object_object_add(o, "workload_exited", json_object_new_boolean(j->have_exit));
	json_object_object_add(o, "rogue_events", json_object_new_int64(j->rogue_events));
	json_object_object_add(o, "duration_s",
			       json_object_new_double(j->start_ns ? (end - j->start_ns) / 1e9 : 0));
	json_object_object_add(o, "tunnel_bytes_in", json_object_new_int64(j->tunnel_bytes_in));
	json_object_object_add(o, "tunnel_bytes_out", json_object_new_int64(j->tunnel_bytes_out));
	json_object_object_add(o, "output_bytes", json_object_new_int64(j->output_bytes));
	/* QEMU started to the workload started (the VPN up): the VM's boot. */
	if (j->workload_ns)
		json_object_object_add(o, "boot_s",
				       json_object_new_double((j->workload_ns - j->start_ns) / 1e9));
	json_object_object_add(o, "stopped_s", json_object_new_double(
		(j->stopped_total_ns + (j->stopped_since_ns ? end - j->stopped_since_ns : 0)) / 1e9));
	json_object_object_add(o, "checkpoints", json_object_new_int(j->checkpoints));
	json_object_object_add(o, "restores", json_object_new_int(j->restores));
	json_object_object_add(o, "image", json_object_new_string(images[j->o.image].name));
	if (j->image_sha256[0])
		json_object_object_add(o, "image_sha256", json_object_new_string(j->image_sha256));
	if (j->output_error[0])
		json_object_object_add(o, "output_error", json_object_new_string(j->output_error));
	if (j->rogue_kill_ns)
		json_object_object_add(o, "rogue_kill_s", json_object_new_double(j->rogue_kill_ns / 1e9));
	if (json_object_to_file_ext(j->o.result, o, JSON_C_TO_STRING_PLAIN) < 0)
		pr_err("job %s: write --result '%s': %s", j->id, j->o.result,
		       json_util_get_last_err());
	json_object_put(o);
}

static int exit_code(const struct job *j)
{
	switch (j->outcome) {
	case ROGUE:
		return OMT_EXIT_ROGUE;
	case VPN_SETUP:
		return OMT_EXIT_VPN_SETUP;
	case VPN_LOST:
		return OMT_EXIT_VPN_LOST;
	case TIMEOUT:
		return OMT_EXIT_TIMEOUT;
	case BOOT_FAILED:
		return OMT_EXIT_BOOT;
	case INTERRUPTED:
		return 128 + j->interrupted_by;
	case SETUP_FAILED:
		return OMT_EXIT_FAIL;
	case OWNER:
		return OMT_EXIT_OWNER;
	case DONE:
	case RUNNING:
		break;
	}
	if (j->have_exit && j->outfiles && (!j->output_done || j->output_error[0]))
		return OMT_EXIT_OUTPUT;
	if (j->have_exit)
		return j->exit_signal ? 128 + j->exit_signal : j->exit_status;
	return OMT_EXIT_BOOT;
}

/* ------------------------------------------------ pause, checkpoint, restore */

static void watch(struct job *j, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	epoll_ctl(j->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void unwatch_close(struct job *j, int *fd)
{
	if (*fd < 0)
		return;
	epoll_ctl(j->ep, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

static void mark_stopped(struct job *j, enum vm_state st)
{
	if (!j->stopped_since_ns)
		j->stopped_since_ns = mono_ns();
	j->vm = st;
}

static void mark_running(struct job *j)
{
	int64_t now = mono_ns();

	if (j->stopped_since_ns)
		j->stopped_total_ns += now - j->stopped_since_ns;
	j->stopped_since_ns = 0;
	j->vm = VM_RUNNING;
	/* The endpoint had no reason to talk to a stopped VM: its clock starts again. */
	if (j->vpn_seen_ns)
		j->vpn_seen_ns = now;
}

static int vm_pause(struct job *j, char *msg, size_t len)
{
	int e;

	if (j->vm != VM_RUNNING) {
		snprintf(msg, len, "the VM is not running (%s)", j->vm == VM_PAUSED ? "paused" :
								       "checkpointed");
		return -EALREADY;
	}
	if ((e = omt_qmp_execute(&j->qmp, "stop", NULL, 5000, msg, len)))
		return e;
	mark_stopped(j, VM_PAUSED);
	snprintf(msg, len, "paused");
	pr_info("job %s: VM paused", j->id);
	return 0;
}

/* Copies the migration stream from pipe to the file until QEMU closes its end. */
static int pump(int pipe_fd, int file_fd, uint64_t *bytes, char *msg, size_t len)
{
	int64_t deadline = mono_ns() + 300 * 1000000000LL;
	struct pollfd p = { .fd = pipe_fd, .events = POLLIN };
	ssize_t n;

	for (;;) {
		if (mono_ns() > deadline) {
			snprintf(msg, len, "the checkpoint took longer than 300 s");
			return -ETIMEDOUT;
		}
		if (poll(&p, 1, 1000) <= 0)
			continue;
		n = splice(pipe_fd, NULL, file_fd, NULL, 1 << 20, SPLICE_F_MOVE);
		if (n == 0)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(msg, len, "write the checkpoint: %s", strerror(errno));
			return -errno;
		}
		*bytes += n;
	}
}

/* The VM's pid is gone: forget its channels (what the agent said is kept). */
static void vm_gone(struct job *j)
{
	while (j->agent_fd >= 0)
		on_agent(j);
	waitpid(j->qemu, NULL, 0);
	j->qemu = 0;
	unwatch_close(j, &j->qemu_pidfd);
	close(j->qmp_fd);
	j->qmp_fd = -1;
}

/*
 * Saves the VM into JOBDIR/checkpoint (0600) and ends its QEMU: stop, then
 * migrate to a pipe whose other end we copy into the file. (QEMU writing the
 * file itself would run into its RLIMIT_FSIZE, which caps its console.)
 */
static int vm_checkpoint(struct job *j, char *msg, size_t len)
{
	char path[400];
	int pfd[2] = { -1, -1 }, file = -1, e;
	int64_t t0 = mono_ns();
	uint64_t bytes = 0;

	if (j->vm == VM_SAVED) {
		snprintf(msg, len, "already checkpointed");
		return -EALREADY;
	}
	if (j->vm == VM_RUNNING && (e = omt_qmp_execute(&j->qmp, "stop", NULL, 5000, msg, len)))
		return e;
	mark_stopped(j, VM_PAUSED);
	snprintf(path, sizeof(path), "%s/checkpoint", j->dir);
	file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (file < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		e = -errno;
		snprintf(msg, len, "%s: %s", file < 0 ? path : "pipe", strerror(errno));
		goto fail;
	}
	/* The VM is stopped: no reason to spare bandwidth. */
	if ((e = omt_qmp_execute(&j->qmp, "migrate-set-parameters",
				 "{\"max-bandwidth\":107374182400}", 5000, msg, len)) ||
	    (e = omt_qmp_getfd(&j->qmp, "omtckpt", pfd[1], 5000, msg, len)))
		goto fail;
	close(pfd[1]);
	pfd[1] = -1;
	if ((e = omt_qmp_execute(&j->qmp, "migrate", "{\"uri\":\"fd:omtckpt\"}", 5000, msg, len)) ||
	    (e = pump(pfd[0], file, &bytes, msg, len)) ||
	    (e = omt_qmp_wait_migration(&j->qmp, 30000, msg, len)))
		goto fail;
	if (fsync(file) < 0) {
		e = -errno;
		snprintf(msg, len, "%s: %s", path, strerror(errno));
		goto fail;
	}
	close(file);
	close(pfd[0]);
	/* Saved: this QEMU has nothing left to do. */
	syscall(SYS_pidfd_send_signal, j->qemu_pidfd, SIGKILL, NULL, 0);
	vm_gone(j);
	mark_stopped(j, VM_SAVED);
	j->checkpoints++;
	snprintf(msg, len, "checkpointed to %s (%.1f MiB in %.2f s)", path, bytes / 1048576.0,
		 (mono_ns() - t0) / 1e9);
	pr_info("job %s: %s", j->id, msg);
	return 0;
fail:
	pr_err("job %s: checkpoint failed: %s", j->id, msg);
	for (int i = 0; i < 2; i++)
		if (pfd[i] >= 0)
			close(pfd[i]);
	if (file >= 0) {
		close(file);
		unlink(path);
	}
	omt_qmp_execute(&j->qmp, "migrate_cancel", NULL, 5000, NULL, 0);
	return e;	/* the VM stays paused: 'resume' continues it */
}

/* A new QEMU from JOBDIR/checkpoint, on the same tap, guard and cgroup. */
static int vm_restore(struct job *j, char *msg, size_t len)
{
	char path[400];
	int file, e;
	int64_t t0 = mono_ns();

	snprintf(path, sizeof(path), "%s/checkpoint", j->dir);
	file = open(path, O_RDONLY | O_CLOEXEC);
	if (file < 0) {
		e = -errno;
		snprintf(msg, len, "%s: %s", path, strerror(errno));
		return e;
	}
	j->spec.incoming = 1;
	e = spawn_vm(j, msg, len);
	j->spec.incoming = 0;
	/*
	 * No announcements after the load: QEMU's RARPs and the guest's
	 * gratuitous ARPs are frames the guard allows no VM to send.
	 */
	if (!e && !(e = omt_qmp_execute(&j->qmp, "migrate-set-parameters",
					 "{\"announce-rounds\":0}", 5000, msg, len)) &&
	    !(e = omt_qmp_getfd(&j->qmp, "omtckpt", file, 5000, msg, len)) &&
	    !(e = omt_qmp_execute(&j->qmp, "migrate-incoming", "{\"uri\":\"fd:omtckpt\"}", 5000,
				  msg, len)) &&
	    !(e = omt_qmp_wait_migration(&j->qmp, 120000, msg, len)))
		e = omt_qmp_execute(&j->qmp, "cont", NULL, 5000, msg, len);
	close(file);
	if (e) {
		pr_err("job %s: restore failed: %s", j->id, msg);
		if (j->qemu > 0) {
			kill(j->qemu, SIGKILL);
			vm_gone(j);
		}
		for (int i = 0; i < 2; i++) {
			int *fd = i ? &j->agent_fd : &j->qmp_fd;

			if (*fd >= 0)
				close(*fd);
			*fd = -1;
		}
		return e;	/* still saved: the file is there for another try */
	}
	watch(j, j->qemu_pidfd);
	watch(j, j->agent_fd);
	unlink(path);
	mark_running(j);
	j->restores++;
	snprintf(msg, len, "restored in %.2f s", (mono_ns() - t0) / 1e9);
	pr_info("job %s: %s", j->id, msg);
	return 0;
}

static int vm_resume(struct job *j, char *msg, size_t len)
{
	int e;

	switch (j->vm) {
	case VM_RUNNING:
		snprintf(msg, len, "the VM is running");
		return -EALREADY;
	case VM_SAVED:
		return vm_restore(j, msg, len);
	case VM_PAUSED:
		break;
	}
	if ((e = omt_qmp_execute(&j->qmp, "cont", NULL, 5000, msg, len)))
		return e;
	mark_running(j);
	snprintf(msg, len, "resumed");
	pr_info("job %s: VM resumed", j->id);
	return 0;
}

/* ------------------------------------------------------------ the owner */

/* The owner came back: what --owner-priority says. */
static void owner_arrived(struct job *j)
{
	char msg[OMT_CONTROL_MAX_LINE];
	int64_t t0 = mono_ns();
	int e = 0;

	j->resume_at_ns = 0;
	if (j->vm != VM_RUNNING || j->outcome != RUNNING)
		return;		/* stopped already (by the operator, or for the owner) */
	switch (j->o.owner_priority) {
	case OMT_OWNER_IDLE:
	case OMT_OWNER_INHERIT:
		return;
	case OMT_OWNER_PAUSE:
		e = vm_pause(j, msg, sizeof(msg));
		break;
	case OMT_OWNER_CHECKPOINT:
		e = vm_checkpoint(j, msg, sizeof(msg));
		break;
	case OMT_OWNER_KILL:
		pr_info("job %s: the owner is active: ending the job", j->id);
		kill_vm(j, OWNER);
		return;
	}
	if (e) {
		pr_err("job %s: the owner is active, and the VM could not be stopped: %s", j->id, msg);
		/* A failed checkpoint leaves it paused: the owner's going idle resumes it. */
		j->stopped_for_owner = j->vm != VM_RUNNING;
		return;
	}
	j->stopped_for_owner = 1;
	pr_info("job %s: the owner is active: VM %s %.1f ms after the news", j->id,
		j->vm == VM_SAVED ? "checkpointed" : "paused", (mono_ns() - t0) / 1e6);
}

static void on_owner(struct job *j)
{
	bool active;
	int r = omt_owner_poll(j->owner, &active);

	if (r < 0) {
		pr_err("job %s: owner activity (%s) can't be watched any more: %s; the VM keeps "
		       "its idle priority only", j->id,
		       omt_owner_source_name(omt_owner_source(j->owner)), strerror(-r));
		epoll_ctl(j->ep, EPOLL_CTL_DEL, omt_owner_fd(j->owner), NULL);
		omt_owner_close(j->owner);	/* closes that fd */
		j->owner = NULL;
		return;
	}
	if (r == 0 || (int)active == j->owner_active)
		return;
	j->owner_active = active;
	pr_debug("job %s: the owner is %s", j->id, active ? "active" : "idle");
	if (active)
		owner_arrived(j);
	else if (j->stopped_for_owner)
		j->resume_at_ns = mono_ns() + (int64_t)j->o.owner_idle * 1000000000LL;
}

/* The owner has been idle for --owner-idle: the VM goes on. */
static void owner_tick(struct job *j)
{
	char msg[OMT_CONTROL_MAX_LINE];

	if (!j->resume_at_ns || mono_ns() < j->resume_at_ns || j->outcome != RUNNING)
		return;
	j->resume_at_ns = 0;
	j->stopped_for_owner = 0;
	if (j->vm != VM_RUNNING && vm_resume(j, msg, sizeof(msg)))
		pr_err("job %s: the owner is idle, and the VM could not go on: %s", j->id, msg);
	else
		pr_info("job %s: the owner has been idle for %u s: the VM goes on", j->id,
			j->o.owner_idle);
}

static int owner_open(struct job *j, char *err, size_t errlen)
{
	char usage[400];
	struct omt_owner_cfg cfg = { .source = j->o.owner_source, .guest_cpu_usage = usage,
				     .idle_ms = 1000 };
	const char *slash;

	if (j->o.owner_priority == OMT_OWNER_IDLE)
		return 0;
	/* The guests' CPU time: omerta/'s, the parent of the job's cgroup v2. */
	slash = strrchr(j->cg.v2, '/');
	snprintf(usage, sizeof(usage), "%.*s/cpu.stat", (int)(slash - j->cg.v2), j->cg.v2);
	j->owner = omt_owner_open(&cfg, err, errlen);
	if (!j->owner)
		return -ENODEV;
	pr_info("job %s: owner activity from %s: %s the VM while the owner is active, go on "
		"after %u s idle", j->id, omt_owner_source_name(omt_owner_source(j->owner)),
		j->o.owner_priority == OMT_OWNER_KILL ? "kill" :
		j->o.owner_priority == OMT_OWNER_PAUSE ? "pause" : "checkpoint", j->o.owner_idle);
	return 0;
}

static void on_control(struct job *j)
{
	char cmd[OMT_CONTROL_MAX_LINE], msg[OMT_CONTROL_MAX_LINE] = "";
	int fd = omt_control_accept(j->ctl_fd, cmd, sizeof(cmd)), e;

	if (fd < 0)
		return;
	if (j->outcome != RUNNING) {
		omt_control_reply(fd, 0, "the job is ending");
		return;
	}
	if (strcmp(cmd, "pause") == 0)
		e = vm_pause(j, msg, sizeof(msg));
	else if (strcmp(cmd, "resume") == 0)
		e = vm_resume(j, msg, sizeof(msg));
	else if (strcmp(cmd, "checkpoint") == 0)
		e = vm_checkpoint(j, msg, sizeof(msg));
	else if (strcmp(cmd, "restore") == 0)
		e = j->vm == VM_SAVED ? vm_restore(j, msg, sizeof(msg)) :
					(snprintf(msg, sizeof(msg), "no checkpoint to restore: the "
						  "VM is %s", j->vm == VM_PAUSED ? "paused" :
						  "running"), -ENOENT);
	else
		e = (snprintf(msg, sizeof(msg), "unknown command '%.64s' (pause, resume, "
			      "checkpoint, restore)", cmd), -EINVAL);
	/* The operator's word goes: the owner's going idle no longer resumes it. */
	j->stopped_for_owner = 0;
	j->resume_at_ns = 0;
	omt_control_reply(fd, e == 0, msg);
}

/* mask: the signals exec_main blocked, now read from a signalfd. */
static int run(struct job *j, const sigset_t *mask)
{
	struct epoll_event evs[8];
	struct itimerspec tick = { .it_interval = { 0, 200000000 }, .it_value = { 0, 200000000 } };
	int sfd, tfd, n, i;

	sfd = signalfd(-1, mask, SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	j->ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || tfd < 0 || j->ep < 0 || timerfd_settime(tfd, 0, &tick, NULL) < 0) {
		pr_err("event loop: %s", strerror(errno));
		kill_vm(j, BOOT_FAILED);
		return -errno;
	}
	watch(j, ring_buffer__epoll_fd(j->rb));
	watch(j, j->agent_fd);
	watch(j, j->qemu_pidfd);
	watch(j, sfd);
	watch(j, tfd);
	watch(j, j->ctl_fd);
	if (j->owner) {
		watch(j, omt_owner_fd(j->owner));
		on_owner(j);	/* the owner may be active already */
	}

	while (!j->ended) {
		n = epoll_wait(j->ep, evs, 8, -1);
		if (n < 0 && errno == EINTR)
			continue;
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == ring_buffer__epoll_fd(j->rb)) {
				ring_buffer__consume(j->rb);
			} else if (fd == j->agent_fd) {
				on_agent(j);
				if (j->agent_fd < 0)
					epoll_ctl(j->ep, EPOLL_CTL_DEL, fd, NULL);
			} else if (fd == sfd) {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					pr_warn("job %s: %s: stopping the VM", j->id,
						strsignal(si.ssi_signo));
					if (j->outcome == RUNNING)
						j->interrupted_by = si.ssi_signo;
					kill_vm(j, INTERRUPTED);
				}
			} else if (fd == tfd) {
				uint64_t ticks;

				if (read(tfd, &ticks, sizeof(ticks)) < 0)
					continue;
				on_tick(j);
				owner_tick(j);
			} else if (j->owner && fd == omt_owner_fd(j->owner)) {
				on_owner(j);
				break;	/* a checkpoint swaps fds too */
			} else if (fd == j->ctl_fd) {
				/* It may have swapped QEMU and its fds: the rest of evs is stale. */
				on_control(j);
				break;
			} else if (fd == j->qemu_pidfd) {
				j->ended = 1;
			}
		}
	}
	/* Anything the guest said just before it went. */
	ring_buffer__consume(j->rb);
	while (j->agent_fd >= 0)
		on_agent(j);
	if (j->kill_ns && j->event_ns) {
		j->rogue_kill_ns = mono_ns() - j->event_ns;
		pr_info("job %s: rogue frame to QEMU dead: %.3f ms", j->id, j->rogue_kill_ns / 1e6);
	}
	if (j->qemu > 0)
		waitpid(j->qemu, NULL, 0);
	j->qemu = 0;
	if (j->outcome == RUNNING)
		j->outcome = DONE;
	close(sfd);
	close(tfd);
	return 0;
}

int exec_main(int argc, char **argv)
{
	static struct job j;
	char err[1024] = "";
	sigset_t mask;
	int e, code;

	e = parse_opts(argc, argv, &j.o);
	if (e)
		return e > 0 ? OMT_EXIT_OK : OMT_EXIT_USAGE;
	j.loader_start_ns = mono_ns();
	j.agent_fd = j.qmp_fd = j.console_fd = j.kernel_fd = j.initrd_fd = j.qemu_pidfd = -1;
	j.ctl_fd = j.ep = j.image_fd = -1;
	j.net.tap_fd = -1;
	j.mono_to_real_ns = 0;
	{
		struct timespec r, m;

		clock_gettime(CLOCK_REALTIME, &r);
		clock_gettime(CLOCK_MONOTONIC, &m);
		j.mono_to_real_ns = (r.tv_sec - m.tv_sec) * 1000000000LL + (r.tv_nsec - m.tv_nsec);
	}
	/* Read from a signalfd in the loop; set-up must not be cut short. */
	omt_signals_for_signalfd(&mask, 0);

	e = setup(&j, err, sizeof(err));
	if (e) {
		pr_err("%s", err[0] ? err : strerror(-e));
		teardown(&j);
		j.outcome = SETUP_FAILED;
		if (j.o.result)
			write_result(&j, OMT_EXIT_FAIL);
		return OMT_EXIT_FAIL;
	}
	run(&j, &mask);
	if (j.outfiles && j.have_exit && !j.output_done && !j.output_error[0]) {
		snprintf(j.output_error, sizeof(j.output_error), "the guest did not send its output");
		pr_err("job %s: %s", j.id, j.output_error);
	}
	code = exit_code(&j);
	if (code == OMT_EXIT_BOOT && !j.guest_error)
		log_console_tail(&j);
	teardown(&j);
	if (j.o.result)
		write_result(&j, code);
	pr_info("job %s: exit status %d", j.id, code);
	return code;
}
