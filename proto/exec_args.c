// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exec_args.h"
#include "job_id.h"
#include "job_spec.h"

static const char *const on_off[] = { "on", "off" };
static const char *const accels[] = { "auto", "kvm", "tcg" };

static void omt_exec_usage(FILE *f)
{
	fprintf(f,
		"Usage: omerta-loader exec --vpn-config FILE [--cpus N] [--memory MIB]\n"
		"           [--timeout SEC] [--description TEXT] [--guest-firewall on|off]\n"
		"           [--accel auto|kvm|tcg] [--vpn-timeout SEC] [--handshake-timeout SEC]\n"
		"           [--boot-timeout SEC] [--json] [--env NAME=VALUE] [--result FILE]\n"
		"           [--job-id ID] [--stdout-fd N] [--stderr-fd N]\n"
		"           [--image minimal|debian] [--language sh|bash|python]\n"
		"           [--input FILE]... [--output DIR] [--output-max MIB]\n"
		"           [--scratch MIB] [--checkpoint FILE]\n"
		"           [--owner-priority idle|pause|checkpoint|kill] [--owner-idle SEC]\n"
		"           [--owner-source auto|logind|input|cpu] [--vm-uids FIRST-LAST]\n"
		"           (--script FILE | -- COMMAND [ARG...])\n"
		"       omerta-loader exec --warm-fd FD [--cpus N] [--memory MIB] [--image I]\n"
		"           [--scratch MIB] [--accel A] [--boot-timeout SEC] [--job-id ID]\n"
		"           [--vm-uids FIRST-LAST]\n\n"
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
		"                         --output-max and 10000 files, nothing outside DIR\n"
		"  --output-max MIB       the most --output takes (default and most: %u)\n"
		"  --scratch MIB          the VM's writable space, in its memory (default and\n"
		"                         most: half of --memory):\n"
		"                         the image's writes, /tmp and /job/output\n"
		"  --env NAME=VALUE       set in the workload's environment (up to 16)\n"
		"  --result FILE          write the job's outcome as JSON to FILE at the end\n"
		"  --job-id ID            use ID (8 hex digits) instead of a random one\n"
		"  --checkpoint FILE      where a checkpoint saves the VM (mode 0600), in a\n"
		"                         directory only root can reach (default: the job\n"
		"                         directory's 'checkpoint'); removed on restore and\n"
		"                         when the job ends\n"
		"  --stdout-fd N, --stderr-fd N  the workload's output to these fds\n"
		"  --vm-uids FIRST-LAST   QEMU runs as a uid (and gid) of this range that no\n"
		"                         other live VM on the host has; none free: wait for\n"
		"                         one. No user or group may own one of them.\n"
		"                         Default: %u-%u\n"
		"  --warm-fd FD           a warm VM: boot it with no network and nothing let\n"
		"                         through, wait until its agent waits for a job, say\n"
		"                         \"ready\" on FD, then read the job's exec arguments\n"
		"                         from FD (NUL-terminated, \"omerta-loader\" \"exec\"\n"
		"                         first, until EOF) and run it: its shape must be the\n"
		"                         VM's. EOF with none: no job, exit 0\n\n"
		"Exit status: the workload's (128+N if killed by signal N), or\n"
		"  240 rogue traffic (VM killed)   241 VPN setup failed\n"
		"  242 VPN lost during the job     243 timeout\n"
		"  244 VM failed to boot           245 stopped for the owner\n"
		"  246 --output refused            130/143 interrupted (SIGINT/SIGTERM)\n"
		"  1 the job could not be set up   2 bad usage\n",
		OMT_EXEC_MAX_OUTPUT_MIB, OMT_VM_UIDS_DEFAULT_FIRST, OMT_VM_UIDS_DEFAULT_LAST);
}

void omt_exec_args_init(struct omt_exec_args *a)
{
	*a = (struct omt_exec_args){
		.vm = { .cpus = OMT_JOB_DEFAULT_CPUS, .memory_mib = OMT_JOB_DEFAULT_MEMORY_MIB,
			.accel = "auto", .boot_timeout = OMT_EXEC_DEFAULT_BOOT_TIMEOUT_S },
		.job = { .description = "", .timeout = OMT_JOB_DEFAULT_TIMEOUT_S,
			 .output_max_mib = OMT_EXEC_MAX_OUTPUT_MIB,
			 .handshake_timeout = OMT_EXEC_DEFAULT_HANDSHAKE_TIMEOUT_S, .firewall = true },
		.stdout_fd = 1, .stderr_fd = 2,
		.owner_priority = OMT_OWNER_IDLE, .owner_idle = OMT_OWNER_DEFAULT_IDLE_S,
		.owner_source = "auto",
		.vm_uids = { OMT_VM_UIDS_DEFAULT_FIRST, OMT_VM_UIDS_DEFAULT_LAST },
		.warm_fd = -1,
	};
}

/* Which of the n names s is, or -EINVAL saying "exec: OPT must be 'a', 'b' or 'c': 'S'". */
static int parse_word(const char *opt, const char *s, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	fprintf(stderr, "exec: %s must be ", opt);
	for (i = 0; i < n; i++)
		fprintf(stderr, "%s'%s'", i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
	fprintf(stderr, ": '%s'\n", s);
	return -EINVAL;
}
#define WORDS(arr) (arr), sizeof(arr) / sizeof((arr)[0])

/* An image or a language, by the names of proto/workload.h (DEFAULT has none). */
#define MAX_NAMED 8
_Static_assert(OMT_JOB__IMAGE_COUNT <= MAX_NAMED && OMT_JOB__LANGUAGE_COUNT <= MAX_NAMED,
	       "parse_named's list is too short");

static int parse_named(const char *opt, const char *s, const char *(*name_of)(int), int count)
{
	const char *names[MAX_NAMED];
	int i;

	for (i = 1; i < count; i++)
		names[i - 1] = name_of(i);
	i = parse_word(opt, s, names, count - 1);
	return i < 0 ? i : i + 1;
}

static const char *image_name(int i)
{
	return omt_image_name(i);
}

static const char *language_name(int i)
{
	return omt_language_name(i);
}

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

static int parse_fd(const char *opt, const char *s, int *out)
{
	unsigned int fd;

	if (parse_uint(opt, s, 1, 1023, &fd))
		return -EINVAL;
	if (fcntl(fd, F_GETFD) < 0) {
		fprintf(stderr, "exec: %s is not an open file descriptor: '%s'\n", opt, s);
		return -EINVAL;
	}
	*out = fd;
	return 0;
}

static int parse_dir(const char *s, const char **out)
{
	struct stat st;
	int e = stat(s, &st) < 0 ? -errno : 0;

	if (e || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "exec: --output must be an existing directory: '%s': %s\n", s,
			e ? strerror(-e) : "not a directory");
		return -EINVAL;
	}
	*out = s;
	return 0;
}

static int add_string(const char *opt, const char *s, const char **arr, unsigned int *n,
		      unsigned int max)
{
	if (*n == max) {
		fprintf(stderr, "exec: at most %u %s\n", max, opt);
		return -EINVAL;
	}
	arr[(*n)++] = s;
	return 0;
}

enum {
	O_VPN_CONFIG = 'c', O_CPUS = 'p', O_MEMORY = 'm', O_TIMEOUT = 't', O_DESCRIPTION = 'd',
	O_FIREWALL = 'f', O_ACCEL = 'a', O_SCRIPT = 's', O_VPN_TIMEOUT = 'V',
	O_HANDSHAKE_TIMEOUT = 'H', O_BOOT_TIMEOUT = 'B', O_JSON = 'j', O_JOB_ID = 'I',
	O_RESULT = 'R', O_ENV = 'E', O_STDOUT_FD = 'O', O_STDERR_FD = 'Z', O_IMAGE = 'i',
	O_LANGUAGE = 'L', O_INPUT = 'N', O_OUTPUT = 'U', O_SCRATCH = 'S',
	O_OWNER_PRIORITY = 'P', O_OWNER_IDLE = 'D', O_OWNER_SOURCE = 'W', O_VM_UIDS = 'u',
	O_OUTPUT_MAX = 'X', O_CHECKPOINT = 'K', O_WARM_FD = 'w',
};

static const struct option options[] = {
	{ "vpn-config", required_argument, NULL, O_VPN_CONFIG },
	{ "cpus", required_argument, NULL, O_CPUS },
	{ "memory", required_argument, NULL, O_MEMORY },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "description", required_argument, NULL, O_DESCRIPTION },
	{ "guest-firewall", required_argument, NULL, O_FIREWALL },
	{ "accel", required_argument, NULL, O_ACCEL },
	{ "script", required_argument, NULL, O_SCRIPT },
	{ "vpn-timeout", required_argument, NULL, O_VPN_TIMEOUT },
	{ "handshake-timeout", required_argument, NULL, O_HANDSHAKE_TIMEOUT },
	{ "boot-timeout", required_argument, NULL, O_BOOT_TIMEOUT },
	{ "json", no_argument, NULL, O_JSON },
	{ "job-id", required_argument, NULL, O_JOB_ID },
	{ "result", required_argument, NULL, O_RESULT },
	{ "env", required_argument, NULL, O_ENV },
	{ "stdout-fd", required_argument, NULL, O_STDOUT_FD },
	{ "stderr-fd", required_argument, NULL, O_STDERR_FD },
	{ "image", required_argument, NULL, O_IMAGE },
	{ "language", required_argument, NULL, O_LANGUAGE },
	{ "input", required_argument, NULL, O_INPUT },
	{ "output", required_argument, NULL, O_OUTPUT },
	{ "scratch", required_argument, NULL, O_SCRATCH },
	{ "owner-priority", required_argument, NULL, O_OWNER_PRIORITY },
	{ "owner-idle", required_argument, NULL, O_OWNER_IDLE },
	{ "owner-source", required_argument, NULL, O_OWNER_SOURCE },
	{ "vm-uids", required_argument, NULL, O_VM_UIDS },
	{ "output-max", required_argument, NULL, O_OUTPUT_MAX },
	{ "checkpoint", required_argument, NULL, O_CHECKPOINT },
	{ "warm-fd", required_argument, NULL, O_WARM_FD },
	{ "help", no_argument, NULL, 'h' },
	{}
};

/* The options of the VM's shape. 0, -EINVAL, or 1: not one of them. */
static int parse_shape(int c, const char *s, struct omt_vm_shape *vm)
{
	int i;

	switch (c) {
	case O_CPUS:
		return parse_uint("--cpus", s, OMT_JOB_MIN_CPUS, OMT_JOB_MAX_CPUS, &vm->cpus);
	case O_MEMORY:
		return parse_uint("--memory", s, OMT_JOB_MIN_MEMORY_MIB, OMT_JOB_MAX_MEMORY_MIB,
				  &vm->memory_mib);
	case O_SCRATCH:
		return parse_uint("--scratch", s, OMT_EXEC_MIN_SCRATCH_MIB,
				  OMT_EXEC_MAX_SCRATCH_MIB, &vm->scratch_mib);
	case O_ACCEL:
		if ((i = parse_word("--accel", s, WORDS(accels))) < 0)
			return i;
		vm->accel = accels[i];
		return 0;
	case O_IMAGE:
		if ((i = parse_named("--image", s, image_name, OMT_JOB__IMAGE_COUNT)) < 0)
			return i;
		vm->image = i;
		return 0;
	case O_BOOT_TIMEOUT:
		return parse_uint("--boot-timeout", s, 1, OMT_EXEC_MAX_BOOT_TIMEOUT_S,
				  &vm->boot_timeout);
	}
	return 1;
}

/* The options of the job's spec: the same. */
static int parse_job(int c, const char *s, struct omt_job_args *job)
{
	int i;

	switch (c) {
	case O_VPN_CONFIG:
		job->vpn_config = s;
		return 0;
	case O_SCRIPT:
		job->script = s;
		return 0;
	case O_LANGUAGE:
		if ((i = parse_named("--language", s, language_name, OMT_JOB__LANGUAGE_COUNT)) < 0)
			return i;
		job->language = i;
		return 0;
	case O_ENV:
		if (omt_job_env_check(s)) {
			fprintf(stderr, "exec: --env must be NAME=VALUE with NAME of A-Z, 0-9 "
					"and _ (not starting with a digit): '%s'\n", s);
			return -EINVAL;
		}
		return add_string("--env", s, job->env, &job->n_env, OMT_EXEC_MAX_ENV);
	case O_INPUT:
		return add_string("--input", s, job->inputs, &job->n_inputs, OMT_JOB_MAX_INPUTS);
	case O_OUTPUT:
		return parse_dir(s, &job->output_dir);
	case O_OUTPUT_MAX:
		return parse_uint("--output-max", s, 1, OMT_EXEC_MAX_OUTPUT_MIB,
				  &job->output_max_mib);
	case O_DESCRIPTION:
		job->description = s;
		return 0;
	case O_TIMEOUT:
		return parse_uint("--timeout", s, 0, OMT_JOB_MAX_TIMEOUT_S, &job->timeout);
	case O_VPN_TIMEOUT:
		return parse_uint("--vpn-timeout", s, 1, OMT_EXEC_MAX_VPN_TIMEOUT_S,
				  &job->vpn_timeout);
	case O_HANDSHAKE_TIMEOUT:
		return parse_uint("--handshake-timeout", s, 1, OMT_EXEC_MAX_HANDSHAKE_TIMEOUT_S,
				  &job->handshake_timeout);
	case O_FIREWALL:
		if ((i = parse_word("--guest-firewall", s, WORDS(on_off))) < 0)
			return i;
		job->firewall = i == 0;
		return 0;
	}
	return 1;
}

/* The rest: who started exec, and the owner. */
static int parse_run(int c, const char *s, struct omt_exec_args *a)
{
	int i;

	switch (c) {
	case O_JOB_ID:
		if (omt_job_id_validate(s)) {
			fprintf(stderr, "exec: --job-id must be 8 lowercase hex digits: '%s'\n", s);
			return -EINVAL;
		}
		a->job_id = s;
		return 0;
	case O_RESULT:
		a->result = s;
		return 0;
	case O_CHECKPOINT:
		if (s[0] != '/') {
			fprintf(stderr, "exec: --checkpoint must be an absolute path: '%s'\n", s);
			return -EINVAL;
		}
		a->checkpoint = s;
		return 0;
	case O_WARM_FD:
		return parse_fd("--warm-fd", s, &a->warm_fd);
	case O_STDOUT_FD:
		return parse_fd("--stdout-fd", s, &a->stdout_fd);
	case O_STDERR_FD:
		return parse_fd("--stderr-fd", s, &a->stderr_fd);
	case O_JSON:
		a->json = true;
		return 0;
	case O_OWNER_PRIORITY:
		if ((i = parse_word("--owner-priority", s, WORDS(omt_owner_priority_words))) < 0)
			return i;
		a->owner_priority = i;
		return 0;
	case O_OWNER_IDLE:
		return parse_uint("--owner-idle", s, 1, OMT_OWNER_MAX_IDLE_S, &a->owner_idle);
	case O_OWNER_SOURCE:
		if ((i = parse_word("--owner-source", s, WORDS(omt_owner_source_words))) < 0)
			return i;
		a->owner_source = omt_owner_source_words[i];
		return 0;
	case O_VM_UIDS:
		if (omt_uid_range_parse(s, &a->vm_uids)) {
			fprintf(stderr, "exec: --vm-uids must be FIRST-LAST, %u <= FIRST <= LAST "
					"<= %u, without 65534: '%s'\n", OMT_VM_UIDS_FIRST_MIN,
				OMT_VM_UIDS_LAST_MAX, s);
			return -EINVAL;
		}
		return 0;
	}
	return 1;
}

static int check_scratch(const struct omt_exec_args *a)
{
	if (a->vm.scratch_mib > a->vm.memory_mib / 2) {
		fprintf(stderr, "exec: --scratch %u is more than half of --memory %u: the VM's "
				"writable space lives in its memory\n", a->vm.scratch_mib,
			a->vm.memory_mib);
		return -EINVAL;
	}
	return 0;
}

/* What no single option can tell. */
static int check(const struct omt_exec_args *a, bool command)
{
	const struct omt_job_args *job = &a->job;

	if (a->warm_fd >= 0) {
		if (job->vpn_config || job->script || command || job->n_inputs ||
		    job->output_dir || job->n_env || a->result || a->checkpoint) {
			fprintf(stderr, "exec: --warm-fd: the job's options come through FD, "
					"only the VM's shape on the command line\n");
			return -EINVAL;
		}
		return check_scratch(a);
	}
	if (!job->vpn_config) {
		fprintf(stderr, "exec: --vpn-config is required\n");
		return -EINVAL;
	}
	if (!!job->script == command) {
		fprintf(stderr, "exec: give either --script FILE or -- COMMAND [ARG...]\n");
		return -EINVAL;
	}
	/* sh, the default, is what a command runs anyway. */
	if (!job->script && omt_language_resolve(job->language) != OMT_JOB_LANGUAGE_SH) {
		fprintf(stderr, "exec: --language is for --script\n");
		return -EINVAL;
	}
	if (!omt_image_has_language(a->vm.image, job->language)) {
		fprintf(stderr, "exec: --language %s needs --image debian (minimal has only sh)\n",
			omt_language_name(job->language));
		return -EINVAL;
	}
	return check_scratch(a);
}

int omt_exec_args_parse(int argc, char **argv, struct omt_exec_args *a)
{
	int c, e;

	omt_exec_args_init(a);
	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		if (c == 'h') {
			omt_exec_usage(stdout);
			return 1;
		}
		e = parse_shape(c, optarg, &a->vm);
		if (e == 1)
			e = parse_job(c, optarg, &a->job);
		if (e == 1)
			e = parse_run(c, optarg, a);
		if (e == 1) {
			omt_exec_usage(stderr);
			return -EINVAL;
		}
		if (e)
			return e;
	}
	if ((e = check(a, optind < argc)))
		return e;
	if (optind < argc)
		a->job.command = argv + optind;
	return 0;
}

/* ------------------------------------------------------------- the builder */

#define NUM_MAX 16	/* numeric options, at most */

struct builder {
	char **argv;
	size_t n;
	char (*num)[24];
	size_t n_num;
};

static void arg(struct builder *b, const char *s)
{
	b->argv[b->n++] = (char *)s;
}

static void opt(struct builder *b, const char *name, const char *value)
{
	arg(b, name);
	arg(b, value);
}

static void opt_uint(struct builder *b, const char *name, unsigned int v)
{
	snprintf(b->num[b->n_num], sizeof(b->num[0]), "%u", v);
	opt(b, name, b->num[b->n_num++]);
}

static void build_uids(struct builder *b, const struct omt_exec_args *a)
{
	if (a->vm_uids.first != OMT_VM_UIDS_DEFAULT_FIRST ||
	    a->vm_uids.last != OMT_VM_UIDS_DEFAULT_LAST) {
		snprintf(b->num[b->n_num], sizeof(b->num[0]), "%u-%u", a->vm_uids.first,
			 a->vm_uids.last);
		opt(b, "--vm-uids", b->num[b->n_num++]);
	}
}

static void build_run(struct builder *b, const struct omt_exec_args *a)
{
	unsigned int i;

	if (a->job_id)
		opt(b, "--job-id", a->job_id);
	if (a->warm_fd >= 0) {
		opt_uint(b, "--warm-fd", a->warm_fd);
		opt_uint(b, "--cpus", a->vm.cpus);
		opt_uint(b, "--memory", a->vm.memory_mib);
		build_uids(b, a);
		return;
	}
	opt(b, "--vpn-config", a->job.vpn_config);
	opt_uint(b, "--cpus", a->vm.cpus);
	opt_uint(b, "--memory", a->vm.memory_mib);
	opt_uint(b, "--timeout", a->job.timeout);
	opt(b, "--description", a->job.description ? a->job.description : "");
	if (a->result)
		opt(b, "--result", a->result);
	if (a->checkpoint)
		opt(b, "--checkpoint", a->checkpoint);
	for (i = 0; i < a->job.n_env; i++)
		opt(b, "--env", a->job.env[i]);
	if (a->stdout_fd != 1)
		opt_uint(b, "--stdout-fd", a->stdout_fd);
	if (a->stderr_fd != 2)
		opt_uint(b, "--stderr-fd", a->stderr_fd);
	if (a->owner_priority != OMT_OWNER_IDLE)
		opt(b, "--owner-priority", omt_owner_priority_word(a->owner_priority));
	if (a->owner_priority != OMT_OWNER_IDLE || a->owner_idle != OMT_OWNER_DEFAULT_IDLE_S)
		opt_uint(b, "--owner-idle", a->owner_idle);
	if (a->owner_priority != OMT_OWNER_IDLE || strcmp(a->owner_source, "auto"))
		opt(b, "--owner-source", a->owner_source);
	if (a->json)
		arg(b, "--json");
	build_uids(b, a);
}

/* The shape's options but --cpus, --memory and --image. */
static void build_shape(struct builder *b, const struct omt_exec_args *a)
{
	if (a->vm.scratch_mib)
		opt_uint(b, "--scratch", a->vm.scratch_mib);
	if (strcmp(a->vm.accel, "auto"))
		opt(b, "--accel", a->vm.accel);
	if (a->vm.boot_timeout != OMT_EXEC_DEFAULT_BOOT_TIMEOUT_S)
		opt_uint(b, "--boot-timeout", a->vm.boot_timeout);
}

static void build_workload(struct builder *b, const struct omt_exec_args *a)
{
	const struct omt_job_args *job = &a->job;
	unsigned int i;

	if (a->vm.image != OMT_JOB_IMAGE_DEFAULT)
		opt(b, "--image", omt_image_name(a->vm.image));
	if (a->warm_fd >= 0) {
		build_shape(b, a);
		return;
	}
	if (job->language != OMT_JOB_LANGUAGE_DEFAULT)
		opt(b, "--language", omt_language_name(job->language));
	for (i = 0; i < job->n_inputs; i++)
		opt(b, "--input", job->inputs[i]);
	if (job->output_dir)
		opt(b, "--output", job->output_dir);
	if (job->output_max_mib != OMT_EXEC_MAX_OUTPUT_MIB)
		opt_uint(b, "--output-max", job->output_max_mib);
	build_shape(b, a);
	if (!job->firewall)
		opt(b, "--guest-firewall", "off");
	if (job->vpn_timeout)
		opt_uint(b, "--vpn-timeout", job->vpn_timeout);
	if (job->handshake_timeout != OMT_EXEC_DEFAULT_HANDSHAKE_TIMEOUT_S)
		opt_uint(b, "--handshake-timeout", job->handshake_timeout);
	if (job->script) {
		opt(b, "--script", job->script);
		return;
	}
	arg(b, "--");
	for (i = 0; job->command && job->command[i]; i++)
		arg(b, job->command[i]);
}

int omt_exec_argv_new(const struct omt_exec_args *a, char ***argv_out)
{
	/* Options with their values, the env and inputs, the command, NULL. */
	size_t max = 2 + 2 * 34 + 2 * a->job.n_env + 2 * a->job.n_inputs + 2, n_cmd = 0;
	struct builder b;
	void *mem;

	while (a->job.command && a->job.command[n_cmd])
		n_cmd++;
	max += n_cmd;
	mem = calloc(1, max * sizeof(char *) + NUM_MAX * sizeof(*b.num));
	if (!mem)
		return -ENOMEM;
	b = (struct builder){ .argv = mem, .num = (void *)((char **)mem + max) };
	arg(&b, "omerta-loader");
	arg(&b, "exec");
	build_run(&b, a);
	build_workload(&b, a);
	b.argv[b.n] = NULL;
	*argv_out = b.argv;
	return 0;
}

bool omt_vm_shape_same(const struct omt_vm_shape *warm, const struct omt_vm_shape *job)
{
	return omt_image_resolve(warm->image) == omt_image_resolve(job->image) &&
	       warm->cpus == job->cpus && warm->memory_mib == job->memory_mib &&
	       warm->scratch_mib == job->scratch_mib && strcmp(warm->accel, job->accel) == 0;
}
