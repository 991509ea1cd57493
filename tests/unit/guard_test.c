// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The frame guard in the running kernel, through BPF_PROG_TEST_RUN: a crafted
 * frame per verdict and reason, each run through XDP and tc alike, asserting
 * the verdict, the counters and the ring-buffer event. Test runs see the
 * frame as received on loopback, so the policy is installed for ifindex 1.
 * Every test runs twice: with the policy in omt_policy only (an object's
 * further interfaces: hash maps), and with the guard really attached to
 * loopback in a network namespace of the test's own, the object's first
 * interface (omt_vm: no hash look-up for the tunnel's frames).
 */
#include <errno.h>
#include <sched.h>
#include <linux/if_link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../../bpf/omerta_abi.h"
#include "../../guard/guard_bpf.h"
#include "../../guard/totals.h"
#include "../../telemetry/reasons.h"
#include "guard.skel.h"

#define LO 1
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

static const uint8_t PEER[4] = { 10, 0, 0, 2 };
static const uint8_t GW[4] = { 10, 0, 0, 1 };
static const uint8_t EP[4] = { 192, 0, 2, 7 };
static const uint8_t OTHER[4] = { 198, 51, 100, 9 };
static const uint8_t PEER_MAC[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
static const uint8_t GW_MAC[6] = { 0x02, 0, 0, 0, 0, 1 };
#define EP_PORT 51820

struct frame {
	uint8_t b[1600];
	size_t len;
};

struct fixture {
	struct guard_bpf *skel;
	struct ring_buffer *rb;
	struct omt_event events[64];
	int n_events;
	int attached;	/* attached to loopback: the policy lives in omt_vm too */
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct fixture *f = ctx;

	assert_int_equal(size, sizeof(struct omt_event));
	if (f->n_events < 64)
		memcpy(&f->events[f->n_events++], data, size);
	return 0;
}

static int fixture_open(void **state, uint32_t burst, int attach)
{
	struct omt_policy pol = {
		.endpoint_port = EP_PORT,
		.flags = OMT_POL_PEER_IP | OMT_POL_GATEWAY_IP,
	};
	struct fixture *f = calloc(1, sizeof(*f));
	uint32_t key = LO;

	assert_non_null(f);
	f->skel = guard_bpf__open();
	assert_non_null(f->skel);
	/* A window no test outlives: the rate limit is deterministic here. */
	f->skel->rodata->omt_rl_window_ns = 3600ULL * 1000000000ULL;
	f->skel->rodata->omt_rl_burst = burst;
	assert_int_equal(guard_bpf__load(f->skel), 0);
	memcpy(pol.endpoint_ip, EP, 4);
	memcpy(pol.peer_ip, PEER, 4);
	memcpy(pol.gateway_ip, GW, 4);
	if (attach) {
		/* A namespace of our own: its loopback is ifindex 1 and ours alone. */
		if (unshare(CLONE_NEWNET) < 0)
			fail_msg("unshare(CLONE_NEWNET): %s", strerror(errno));
		assert_int_equal(omt_guard_attach(f->skel, LO, 1, &pol), 0);
		f->attached = 1;
	} else {
		assert_int_equal(bpf_map_update_elem(bpf_map__fd(f->skel->maps.omt_policy),
						     &key, &pol, BPF_ANY), 0);
	}
	f->rb = ring_buffer__new(bpf_map__fd(f->skel->maps.omt_events), on_event, f, NULL);
	assert_non_null(f->rb);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return fixture_open(state, 1000, 0);
}

static int setup_burst2(void **state)
{
	return fixture_open(state, 2, 0);
}

static int setup_vm(void **state)
{
	return fixture_open(state, 1000, 1);
}

static int setup_vm_burst2(void **state)
{
	return fixture_open(state, 2, 1);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct omt_guard_maps maps;

	if (f->attached) {
		omt_guard_maps_of(f->skel, &maps);
		assert_int_equal(omt_guard_detach(&maps, LO), 0);
	}
	ring_buffer__free(f->rb);
	guard_bpf__destroy(f->skel);
	free(f);
	return 0;
}

/* The interface's policy, wherever the programs read it. */
static void pol_get(struct fixture *f, struct omt_policy *pol)
{
	uint32_t key = LO;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.omt_policy), &key, pol), 0);
}

static void pol_put(struct fixture *f, const struct omt_policy *pol)
{
	int fd = bpf_map__fd(f->skel->maps.omt_vm);
	uint32_t key = LO, zero = 0;
	struct omt_vm vm;

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(f->skel->maps.omt_policy), &key, pol,
					     BPF_ANY), 0);
	if (!f->attached)
		return;
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, &vm), 0);
	assert_int_equal(vm.ifindex, LO);
	vm.policy = *pol;
	assert_int_equal(bpf_map_update_elem(fd, &zero, &vm, BPF_ANY), 0);
}

/* No policy anywhere: as if the programs were attached by a killed loader. */
static void pol_del(struct fixture *f)
{
	uint32_t key = LO, zero = 0;
	struct omt_vm vm = {};

	assert_int_equal(bpf_map_delete_elem(bpf_map__fd(f->skel->maps.omt_policy), &key), 0);
	if (f->attached)
		assert_int_equal(bpf_map_update_elem(bpf_map__fd(f->skel->maps.omt_vm), &zero,
						     &vm, BPF_ANY), 0);
}

/* ---- frame builders ---- */

static uint8_t *put_eth(struct frame *fr, const uint8_t *src, const uint8_t *dst,
			uint16_t proto)
{
	memcpy(fr->b, dst, 6);
	memcpy(fr->b + 6, src, 6);
	fr->b[12] = proto >> 8;
	fr->b[13] = proto & 0xff;
	fr->len = 14;
	return fr->b + 14;
}

/* IPv4 + L4 header + payload_len bytes of payload; returns the payload. */
static uint8_t *ipv4(struct frame *fr, const uint8_t *src, const uint8_t *dst,
		     uint8_t proto, uint16_t sport, uint16_t dport, size_t payload_len)
{
	uint8_t *ip = put_eth(fr, PEER_MAC, GW_MAC, 0x0800);
	size_t l4 = proto == IPPROTO_TCP ? 20 : 8;
	uint16_t tot = 20 + l4 + payload_len;
	uint8_t *u = ip + 20;

	memset(ip, 0, tot);
	ip[0] = 0x45;
	ip[2] = tot >> 8;
	ip[3] = tot & 0xff;
	ip[6] = 0x40;	/* DF */
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	u[0] = sport >> 8;
	u[1] = sport & 0xff;
	u[2] = dport >> 8;
	u[3] = dport & 0xff;
	if (proto == IPPROTO_UDP) {
		u[4] = (8 + payload_len) >> 8;
		u[5] = (8 + payload_len) & 0xff;
	} else if (proto == IPPROTO_TCP) {
		u[12] = 5 << 4;
		u[13] = 0x02;	/* SYN */
	}
	fr->len = 14 + tot;
	return u + l4;
}

/* A WireGuard message of type and size from the peer to the endpoint. */
static void wg_out(struct frame *fr, uint8_t type, size_t size)
{
	uint8_t *m = ipv4(fr, PEER, EP, IPPROTO_UDP, 40000, EP_PORT, size);

	if (size)
		m[0] = type;
}

static void wg_in(struct frame *fr, uint8_t type, size_t size)
{
	uint8_t *m = ipv4(fr, EP, PEER, IPPROTO_UDP, EP_PORT, 40000, size);

	m[0] = type;
}

static void arp(struct frame *fr, uint16_t op, const uint8_t *smac, const uint8_t *sip,
		const uint8_t *tip)
{
	uint8_t *a = put_eth(fr, smac, (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 0x0806);

	a[0] = 0; a[1] = 1;		/* Ethernet */
	a[2] = 0x08; a[3] = 0;		/* IPv4 */
	a[4] = 6; a[5] = 4;
	a[6] = 0; a[7] = op;
	memcpy(a + 8, smac, 6);
	memcpy(a + 14, sip, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, tip, 4);
	fr->len = 14 + 28;
}

static uint8_t *ip_hdr(struct frame *fr)
{
	return fr->b + 14;
}

/* ---- running ---- */

static int run(struct bpf_program *prog, struct frame *fr)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = fr->b, .data_size_in = fr->len,
		    .repeat = 1);

	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts))
		fail_msg("%s: test run of a %zu-byte frame: %s", bpf_program__name(prog),
			 fr->len, strerror(errno));
	return opts.retval;
}

static struct omt_counter total(struct fixture *f, uint8_t dir, uint8_t reason)
{
	struct omt_counter t[2][OMT_R__COUNT];

	assert_int_equal(omt_guard_totals(bpf_map__fd(f->skel->maps.omt_totals),
					  bpf_map__fd(f->skel->maps.omt_vm),
					  bpf_map__fd(f->skel->maps.omt_vm_counts), LO, t), 0);
	return t[dir][reason];
}

/* A flow's counter, wherever it is counted: omt_vm's tunnel slot or omt_flows. */
static int flow(struct fixture *f, const struct omt_flow_key *k, struct omt_counter *c)
{
	struct omt_flow_key tk;

	if (omt_guard_tunnel_flow(bpf_map__fd(f->skel->maps.omt_vm),
				  bpf_map__fd(f->skel->maps.omt_vm_counts), LO, k->direction,
				  &tk, c) == 0 && memcmp(&tk, k, sizeof(tk)) == 0)
		return 0;
	return bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.omt_flows), k, c);
}

static void drain(struct fixture *f)
{
	f->n_events = 0;
	ring_buffer__consume(f->rb);
}

/*
 * Runs fr from the guest through XDP and through tc ingress, expecting
 * `reason` from both: the verdict, one more packet and its bytes in the
 * totals, and (for a drop) one event with that reason and this hook.
 */
static void expect_hooks(struct fixture *f, struct frame *fr, int reason, int n_hooks)
{
	struct bpf_program *progs[2] = { f->skel->progs.omt_xdp_from_vm,
					 f->skel->progs.omt_tc_from_vm };
	int pass_rc[2] = { XDP_PASS, TC_ACT_OK }, drop_rc[2] = { XDP_DROP, TC_ACT_SHOT };
	uint8_t hooks[2] = { OMT_HOOK_XDP, OMT_HOOK_TC_INGRESS };
	int i;

	for (i = 0; i < n_hooks; i++) {
		struct omt_counter before = total(f, OMT_DIR_FROM_GUEST, reason), after;
		int rc;

		drain(f);
		rc = run(progs[i], fr);
		if (rc != (reason == OMT_R_PASS ? pass_rc[i] : drop_rc[i]))
			fail_msg("%s: verdict %d, expected %s", omt_hook_name(hooks[i]), rc,
				 omt_reason_name(reason));
		after = total(f, OMT_DIR_FROM_GUEST, reason);
		assert_int_equal(after.packets, before.packets + 1);
		assert_int_equal(after.bytes, before.bytes + fr->len);
		ring_buffer__consume(f->rb);
		if (reason == OMT_R_PASS) {
			assert_int_equal(f->n_events, 0);
			continue;
		}
		assert_int_equal(f->n_events, 1);
		if (f->events[0].reason != reason)
			fail_msg("%s: event reason %s, expected %s", omt_hook_name(hooks[i]),
				 omt_reason_name(f->events[0].reason), omt_reason_name(reason));
		assert_int_equal(f->events[0].hook, hooks[i]);
		assert_int_equal(f->events[0].ifindex, LO);
		assert_int_equal(f->events[0].len, fr->len);
		assert_int_equal(f->events[0].direction, OMT_DIR_FROM_GUEST);
	}
}

static void expect_from_guest(struct fixture *f, struct frame *fr, int reason)
{
	expect_hooks(f, fr, reason, 2);
}

/* The kernel refuses skb test runs of an IPv4 frame shorter than its header. */
static void expect_from_guest_xdp_only(struct fixture *f, struct frame *fr, int reason)
{
	expect_hooks(f, fr, reason, 1);
}

static void expect_to_guest(struct fixture *f, struct frame *fr, int reason)
{
	struct omt_counter before = total(f, OMT_DIR_TO_GUEST, reason), after;
	int rc;

	drain(f);
	rc = run(f->skel->progs.omt_tc_to_vm, fr);
	assert_int_equal(rc, reason == OMT_R_PASS ? TC_ACT_OK : TC_ACT_SHOT);
	after = total(f, OMT_DIR_TO_GUEST, reason);
	assert_int_equal(after.packets, before.packets + 1);
	/* Drops towards the guest are counted, never reported as rogue. */
	ring_buffer__consume(f->rb);
	assert_int_equal(f->n_events, 0);
}

/* ---- from the guest: what passes ---- */

static void test_wireguard_messages_pass(void **state)
{
	struct fixture *f = *state;
	struct frame fr;

	wg_out(&fr, 1, OMT_WG_INITIATION_LEN);
	expect_from_guest(f, &fr, OMT_R_PASS);
	wg_out(&fr, 2, OMT_WG_RESPONSE_LEN);
	expect_from_guest(f, &fr, OMT_R_PASS);
	wg_out(&fr, 3, OMT_WG_COOKIE_LEN);
	expect_from_guest(f, &fr, OMT_R_PASS);
	wg_out(&fr, 4, 32);	/* keepalive */
	expect_from_guest(f, &fr, OMT_R_PASS);
	wg_out(&fr, 4, 33);	/* padding clamped to the MTU: not 16-aligned */
	expect_from_guest(f, &fr, OMT_R_PASS);
	wg_out(&fr, 4, 1452);
	expect_from_guest(f, &fr, OMT_R_PASS);
}

static void test_arp_with_gateway_passes(void **state)
{
	struct fixture *f = *state;
	struct frame fr;

	arp(&fr, 1, PEER_MAC, PEER, GW);
	expect_from_guest(f, &fr, OMT_R_PASS);
	arp(&fr, 2, PEER_MAC, PEER, GW);
	expect_from_guest(f, &fr, OMT_R_PASS);
}

static void test_flow_counters(void **state)
{
	struct fixture *f = *state;
	struct omt_flow_key k = { .ifindex = LO, .ethertype = 0x0800, .proto = IPPROTO_UDP,
				  .src_port = 40000, .dst_port = EP_PORT,
				  .direction = OMT_DIR_FROM_GUEST, .reason = OMT_R_PASS };
	struct omt_flow_key tk;
	struct omt_counter c = {};
	struct frame fr;

	memcpy(k.src_ip, PEER, 4);
	memcpy(k.dst_ip, EP, 4);
	wg_out(&fr, 4, 64);
	expect_from_guest(f, &fr, OMT_R_PASS);	/* XDP and tc: two frames */
	assert_int_equal(flow(f, &k, &c), 0);
	assert_int_equal(c.packets, 2);
	assert_int_equal(c.bytes, 2 * fr.len);
	if (f->attached) {
		/* The tunnel's own flow: in omt_vm's slot, not in omt_flows. */
		assert_int_equal(omt_guard_tunnel_flow(bpf_map__fd(f->skel->maps.omt_vm),
						       bpf_map__fd(f->skel->maps.omt_vm_counts),
						       LO, OMT_DIR_FROM_GUEST, &tk, &c), 0);
		assert_memory_equal(&tk, &k, sizeof(k));
		assert_int_equal(c.packets, 2);
		assert_int_not_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.omt_flows),
							 &k, &c), 0);
	} else {
		assert_int_equal(omt_guard_tunnel_flow(bpf_map__fd(f->skel->maps.omt_vm),
						       bpf_map__fd(f->skel->maps.omt_vm_counts),
						       LO, OMT_DIR_FROM_GUEST, &tk, &c), -ENOENT);
	}

	/* Another passing flow (a new source port) is counted on its own. */
	fr.b[14 + 20] = 40001 >> 8;
	fr.b[14 + 21] = 40001 & 0xff;
	expect_from_guest(f, &fr, OMT_R_PASS);
	k.src_port = 40001;
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.omt_flows), &k, &c), 0);
	assert_int_equal(c.packets, 2);
	k.src_port = 40000;
	assert_int_equal(flow(f, &k, &c), 0);
	assert_int_equal(c.packets, 2);
	assert_int_equal(total(f, OMT_DIR_FROM_GUEST, OMT_R_PASS).packets, 4);

	/* The verdict is part of the flow: a drop is a flow of its own. */
	ipv4(&fr, PEER, EP, IPPROTO_UDP, 40000, EP_PORT, 10);
	expect_from_guest(f, &fr, OMT_R_NOT_WIREGUARD);
	k.reason = OMT_R_NOT_WIREGUARD;
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.omt_flows), &k, &c), 0);
	assert_int_equal(c.packets, 2);
}

/* Towards the guest: the tunnel's flow there has a slot of its own. */
static void test_flow_counters_to_guest(void **state)
{
	struct fixture *f = *state;
	struct omt_flow_key k = { .ifindex = LO, .ethertype = 0x0800, .proto = IPPROTO_UDP,
				  .src_port = EP_PORT, .dst_port = 40000,
				  .direction = OMT_DIR_TO_GUEST, .reason = OMT_R_PASS };
	struct omt_counter c = {};
	struct frame fr;

	memcpy(k.src_ip, EP, 4);
	memcpy(k.dst_ip, PEER, 4);
	wg_in(&fr, 4, 64);
	expect_to_guest(f, &fr, OMT_R_PASS);
	expect_to_guest(f, &fr, OMT_R_PASS);
	assert_int_equal(flow(f, &k, &c), 0);
	assert_int_equal(c.packets, 2);
	assert_int_equal(c.bytes, 2 * fr.len);
	assert_int_equal(total(f, OMT_DIR_TO_GUEST, OMT_R_PASS).bytes, 2 * fr.len);
}

/* ---- from the guest: every reason ---- */

static void test_bad_headers(void **state)
{
	struct fixture *f = *state;
	struct frame fr;

	wg_out(&fr, 4, 64);
	fr.len = 14 + 12;		/* IPv4 header cut short */
	expect_from_guest_xdp_only(f, &fr, OMT_R_BAD_HEADER);

	wg_out(&fr, 4, 64);
	ip_hdr(&fr)[0] = 0x44;		/* IHL 4 */
	expect_from_guest(f, &fr, OMT_R_BAD_HEADER);

	wg_out(&fr, 4, 64);
	ip_hdr(&fr)[0] = 0x65;		/* version 6 in an IPv4 frame */
	expect_from_guest(f, &fr, OMT_R_BAD_HEADER);

	wg_out(&fr, 4, 64);
	ip_hdr(&fr)[2] = 0x05;		/* total length beyond the frame */
	expect_from_guest(f, &fr, OMT_R_BAD_HEADER);

	wg_out(&fr, 4, 64);
	ip_hdr(&fr)[3] = 10;		/* total length shorter than the IPv4 header */
	ip_hdr(&fr)[2] = 0;
	expect_from_guest(f, &fr, OMT_R_BAD_HEADER);

	wg_out(&fr, 4, 64);
	ip_hdr(&fr)[20 + 5] += 4;	/* UDP length lies */
	expect_from_guest(f, &fr, OMT_R_BAD_HEADER);

	wg_out(&fr, 4, 64);
	ip_hdr(&fr)[20 + 4] = 0;
	ip_hdr(&fr)[20 + 5] = 4;	/* UDP length below its header */
	expect_from_guest(f, &fr, OMT_R_BAD_HEADER);
}

static void test_vlan_ipv6_non_ip(void **state)
{
	struct fixture *f = *state;
	struct frame fr;

	wg_out(&fr, 4, 64);
	fr.b[12] = 0x81; fr.b[13] = 0x00;
	expect_from_guest(f, &fr, OMT_R_VLAN);
	fr.b[12] = 0x88; fr.b[13] = 0xa8;
	expect_from_guest(f, &fr, OMT_R_VLAN);
	fr.b[12] = 0x86; fr.b[13] = 0xdd;
	expect_from_guest(f, &fr, OMT_R_IPV6);
	fr.b[12] = 0x88; fr.b[13] = 0xcc;	/* LLDP */
	expect_from_guest(f, &fr, OMT_R_NON_IP);
}

static void test_arp_spoof(void **state)
{
	struct fixture *f = *state;
	struct frame fr;

	arp(&fr, 1, PEER_MAC, OTHER, GW);	/* claims another address */
	expect_from_guest(f, &fr, OMT_R_ARP_SPOOF);
	arp(&fr, 1, PEER_MAC, PEER, OTHER);	/* asks about someone else */
	expect_from_guest(f, &fr, OMT_R_ARP_SPOOF);
	arp(&fr, 2, PEER_MAC, PEER, GW);
	fr.b[14 + 8] ^= 1;			/* sender MAC isn't the frame's */
	expect_from_guest(f, &fr, OMT_R_ARP_SPOOF);
	arp(&fr, 3, PEER_MAC, PEER, GW);	/* RARP op */
	expect_from_guest(f, &fr, OMT_R_ARP_SPOOF);
	arp(&fr, 1, PEER_MAC, PEER, GW);
	fr.len = 14 + 20;			/* truncated */
	expect_from_guest(f, &fr, OMT_R_BAD_HEADER);
}

static void test_ip_options_and_fragments(void **state)
{
	struct fixture *f = *state;
	struct frame fr;

	wg_out(&fr, 4, 64);
	ip_hdr(&fr)[0] = 0x46;
	expect_from_guest(f, &fr, OMT_R_IP_OPTIONS);

	wg_out(&fr, 4, 64);
	ip_hdr(&fr)[6] = 0x20;			/* more fragments */
	expect_from_guest(f, &fr, OMT_R_FRAGMENT);

	wg_out(&fr, 4, 64);
	ip_hdr(&fr)[6] = 0x00;
	ip_hdr(&fr)[7] = 0x08;			/* a later fragment */
	expect_from_guest(f, &fr, OMT_R_FRAGMENT);
}

static void test_addresses_and_ports(void **state)
{
	struct fixture *f = *state;
	struct frame fr;

	ipv4(&fr, OTHER, EP, IPPROTO_UDP, 40000, EP_PORT, 32);
	fr.b[14 + 28] = 4;
	expect_from_guest(f, &fr, OMT_R_SPOOFED_SRC);

	ipv4(&fr, PEER, OTHER, IPPROTO_UDP, 40000, EP_PORT, 32);
	fr.b[14 + 28] = 4;
	expect_from_guest(f, &fr, OMT_R_WRONG_DST);

	ipv4(&fr, PEER, EP, IPPROTO_TCP, 40000, 22, 0);
	expect_from_guest(f, &fr, OMT_R_NOT_UDP);
	assert_int_equal(f->events[0].proto, IPPROTO_TCP);
	assert_int_equal(f->events[0].dst_port, 22);
	assert_memory_equal(f->events[0].src_ip, PEER, 4);
	assert_memory_equal(f->events[0].dst_ip, EP, 4);

	ipv4(&fr, PEER, EP, IPPROTO_ICMP, 0, 0, 56);
	expect_from_guest(f, &fr, OMT_R_NOT_UDP);

	ipv4(&fr, PEER, EP, IPPROTO_UDP, 40000, EP_PORT + 1, 32);
	fr.b[14 + 28] = 4;
	expect_from_guest(f, &fr, OMT_R_WRONG_PORT);
	assert_int_equal(f->events[0].dst_port, EP_PORT + 1);
}

static void test_not_wireguard(void **state)
{
	struct fixture *f = *state;
	struct frame fr;

	wg_out(&fr, 5, 64);			/* no such message type */
	expect_from_guest(f, &fr, OMT_R_NOT_WIREGUARD);
	wg_out(&fr, 0, 64);
	expect_from_guest(f, &fr, OMT_R_NOT_WIREGUARD);
	wg_out(&fr, 4, 64);
	fr.b[14 + 28 + 2] = 1;			/* reserved byte set */
	expect_from_guest(f, &fr, OMT_R_NOT_WIREGUARD);
	wg_out(&fr, 4, 3);			/* shorter than a header */
	expect_from_guest(f, &fr, OMT_R_NOT_WIREGUARD);
	wg_out(&fr, 4, 0);			/* empty datagram */
	expect_from_guest(f, &fr, OMT_R_NOT_WIREGUARD);
}

static void test_bad_wireguard_sizes(void **state)
{
	struct fixture *f = *state;
	struct frame fr;

	wg_out(&fr, 1, OMT_WG_INITIATION_LEN + 1);
	expect_from_guest(f, &fr, OMT_R_BAD_WG_SIZE);
	wg_out(&fr, 1, OMT_WG_INITIATION_LEN - 1);
	expect_from_guest(f, &fr, OMT_R_BAD_WG_SIZE);
	wg_out(&fr, 2, OMT_WG_RESPONSE_LEN + 16);
	expect_from_guest(f, &fr, OMT_R_BAD_WG_SIZE);
	wg_out(&fr, 3, OMT_WG_COOKIE_LEN - 1);
	expect_from_guest(f, &fr, OMT_R_BAD_WG_SIZE);
	wg_out(&fr, 4, OMT_WG_DATA_MIN_LEN - 1);
	expect_from_guest(f, &fr, OMT_R_BAD_WG_SIZE);
}

static void test_no_policy_drops_all(void **state)
{
	struct fixture *f = *state;
	struct frame fr;

	pol_del(f);
	wg_out(&fr, 4, 64);
	expect_from_guest(f, &fr, OMT_R_NO_POLICY);
}

/* A warm VM's tap: attached before its job is known, nothing passes; then its policy. */
static void test_warm_vm_closed_until_policy(void **state)
{
	struct fixture *f = *state;
	struct omt_guard_maps maps;
	struct omt_policy pol, job;
	uint32_t key = LO;
	struct frame fr;

	pol_get(f, &job);
	if (f->attached) {
		/* The real thing: detached, then attached with no policy. */
		omt_guard_maps_of(f->skel, &maps);
		assert_int_equal(omt_guard_detach(&maps, LO), 0);
		assert_int_equal(omt_guard_attach(f->skel, LO, 1, NULL), 0);
		job.flags &= ~(OMT_POL_OWN_CLSACT | OMT_POL_HOOK_XDP);
	} else {
		pol = (struct omt_policy){ .flags = OMT_POL_NO_JOB | OMT_POL_HOOK_XDP };
		pol_put(f, &pol);
	}
	wg_out(&fr, 4, 64);
	expect_from_guest(f, &fr, OMT_R_NO_POLICY);
	wg_in(&fr, 4, 64);
	expect_to_guest(f, &fr, OMT_R_NO_POLICY);

	job.flags |= OMT_POL_NO_JOB;	/* set_policy clears it, keeps the hook's flags */
	assert_int_equal(omt_guard_set_policy(f->skel, LO, &job), 0);
	pol_get(f, &pol);
	assert_int_equal(pol.flags & ~OMT_POL_OWN_CLSACT,
			 OMT_POL_PEER_IP | OMT_POL_GATEWAY_IP | OMT_POL_HOOK_XDP);
	wg_out(&fr, 4, 64);
	expect_from_guest(f, &fr, OMT_R_PASS);
	wg_in(&fr, 4, 64);
	expect_to_guest(f, &fr, OMT_R_PASS);
	key = LO + 1000;	/* an interface never attached: refused, not made */
	assert_int_equal(omt_guard_set_policy(f->skel, key, &job), -ENOENT);
}

/* Detached: omt_vm forgets the interface, its counters go, frames are dropped. */
static void test_detach_clears_vm(void **state)
{
	struct fixture *f = *state;
	struct omt_guard_maps maps;
	struct frame fr;

	if (!f->attached)
		skip();
	wg_out(&fr, 4, 64);
	expect_from_guest(f, &fr, OMT_R_PASS);
	omt_guard_maps_of(f->skel, &maps);
	assert_int_equal(omt_guard_detach(&maps, LO), 0);
	assert_int_equal(total(f, OMT_DIR_FROM_GUEST, OMT_R_PASS).packets, 0);
	expect_from_guest(f, &fr, OMT_R_NO_POLICY);
	/* Attached again: the first interface again, counting from zero. */
	assert_int_equal(omt_guard_attach(f->skel, LO, 0, NULL), 0);
	expect_from_guest(f, &fr, OMT_R_NO_POLICY);
	assert_int_equal(total(f, OMT_DIR_FROM_GUEST, OMT_R_NO_POLICY).packets, 2);
}

static void test_peer_ip_unknown(void **state)
{
	struct fixture *f = *state;
	struct omt_policy pol;
	struct frame fr;

	pol_get(f, &pol);
	pol.flags &= ~OMT_POL_PEER_IP;
	pol_put(f, &pol);
	/* Without --peer-ip any source may send WireGuard to the endpoint ... */
	ipv4(&fr, OTHER, EP, IPPROTO_UDP, 40000, EP_PORT, 32);
	fr.b[14 + 28] = 4;
	expect_from_guest(f, &fr, OMT_R_PASS);
	/* ... and ARP about the gateway from any address, but nothing more. */
	arp(&fr, 1, PEER_MAC, OTHER, GW);
	expect_from_guest(f, &fr, OMT_R_PASS);
	arp(&fr, 1, PEER_MAC, OTHER, OTHER);
	expect_from_guest(f, &fr, OMT_R_ARP_SPOOF);
}

/* ---- towards the guest ---- */

static void test_to_guest(void **state)
{
	struct fixture *f = *state;
	struct frame fr;

	wg_in(&fr, 2, OMT_WG_RESPONSE_LEN);
	expect_to_guest(f, &fr, OMT_R_PASS);
	wg_in(&fr, 4, 128);
	expect_to_guest(f, &fr, OMT_R_PASS);
	arp(&fr, 1, GW_MAC, GW, PEER);
	expect_to_guest(f, &fr, OMT_R_PASS);

	ipv4(&fr, OTHER, PEER, IPPROTO_UDP, EP_PORT, 40000, 32);
	fr.b[14 + 28] = 4;
	expect_to_guest(f, &fr, OMT_R_WRONG_SRC);
	ipv4(&fr, EP, OTHER, IPPROTO_UDP, EP_PORT, 40000, 32);
	fr.b[14 + 28] = 4;
	expect_to_guest(f, &fr, OMT_R_WRONG_DST);
	ipv4(&fr, EP, PEER, IPPROTO_UDP, EP_PORT + 1, 40000, 32);
	fr.b[14 + 28] = 4;
	expect_to_guest(f, &fr, OMT_R_WRONG_PORT);
	ipv4(&fr, EP, PEER, IPPROTO_TCP, 22, 40000, 0);
	expect_to_guest(f, &fr, OMT_R_NOT_UDP);
	wg_in(&fr, 9, 64);
	expect_to_guest(f, &fr, OMT_R_NOT_WIREGUARD);
	arp(&fr, 1, GW_MAC, OTHER, PEER);
	expect_to_guest(f, &fr, OMT_R_ARP_SPOOF);
	arp(&fr, 1, GW_MAC, GW, OTHER);
	expect_to_guest(f, &fr, OMT_R_ARP_SPOOF);
	wg_in(&fr, 4, 64);
	fr.b[12] = 0x86; fr.b[13] = 0xdd;
	expect_to_guest(f, &fr, OMT_R_IPV6);
}

/* ---- rate limiting (burst 2, a window no test outlives) ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int run_n(struct fixture *f, struct frame *fr, int n)
{
	int i;

	drain(f);
	for (i = 0; i < n; i++)
		assert_int_equal(run(f->skel->progs.omt_xdp_from_vm, fr), XDP_DROP);
	ring_buffer__consume(f->rb);
	return f->n_events;
}

static void test_rate_limit(void **state)
{
	struct fixture *f = *state;
	struct omt_rl_key key = { .subject = LO, .reason = OMT_R_NOT_UDP };
	struct omt_rl_state st;
	int rl = bpf_map__fd(f->skel->maps.omt_ratelimit);
	struct frame fr;

	ipv4(&fr, PEER, EP, IPPROTO_TCP, 40000, 22, 0);
	/* A flood: two events, every packet counted. */
	assert_int_equal(run_n(f, &fr, 10), 2);
	assert_int_equal(f->events[0].suppressed, 0);
	assert_int_equal(total(f, OMT_DIR_FROM_GUEST, OMT_R_NOT_UDP).packets, 10);

	/* Another reason's first event still goes out. */
	ipv4(&fr, PEER, OTHER, IPPROTO_TCP, 40000, 22, 0);
	assert_int_equal(run_n(f, &fr, 1), 1);
	assert_int_equal(f->events[0].reason, OMT_R_WRONG_DST);

	/* When the window has passed, the next event says what was suppressed. */
	assert_int_equal(bpf_map_lookup_elem(rl, &key, &st), 0);
	assert_int_equal(st.suppressed, 8);
	/* Modular like the program's arithmetic, so any uptime will do. */
	st.window_start_ns = mono_ns() - f->skel->rodata->omt_rl_window_ns - 1;
	assert_int_equal(bpf_map_update_elem(rl, &key, &st, BPF_EXIST), 0);
	ipv4(&fr, PEER, EP, IPPROTO_TCP, 40000, 22, 0);
	assert_int_equal(run_n(f, &fr, 1), 1);
	assert_int_equal(f->events[0].suppressed, 8);
}

static void test_reason_names(void **state)
{
	unsigned int r;

	(void)state;
	for (r = 0; r < OMT_R__COUNT; r++)
		assert_string_not_equal(omt_reason_name(r), "unknown");
	assert_string_equal(omt_reason_name(OMT_R__COUNT), "unknown");
	assert_string_equal(omt_reason_name(OMT_R_NOT_WIREGUARD), "not_wireguard");
	assert_string_equal(omt_reason_name(OMT_R_QEMU_SOCKET), "qemu_socket");
}

int main(void)
{
	/* Through omt_policy: an object's further interfaces. */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wireguard_messages_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arp_with_gateway_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_counters_to_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vlan_ipv6_non_ip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arp_spoof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ip_options_and_fragments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addresses_and_ports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_wireguard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_wireguard_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_policy_drops_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warm_vm_closed_until_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_ip_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_to_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup_burst2, teardown),
		cmocka_unit_test(test_reason_names),
	};
	/* Attached to a namespace's loopback: the object's first interface (omt_vm). */
	const struct CMUnitTest vm_tests[] = {
		cmocka_unit_test_setup_teardown(test_wireguard_messages_pass, setup_vm, teardown),
		cmocka_unit_test_setup_teardown(test_arp_with_gateway_passes, setup_vm, teardown),
		cmocka_unit_test_setup_teardown(test_flow_counters, setup_vm, teardown),
		cmocka_unit_test_setup_teardown(test_flow_counters_to_guest, setup_vm, teardown),
		cmocka_unit_test_setup_teardown(test_bad_headers, setup_vm, teardown),
		cmocka_unit_test_setup_teardown(test_vlan_ipv6_non_ip, setup_vm, teardown),
		cmocka_unit_test_setup_teardown(test_arp_spoof, setup_vm, teardown),
		cmocka_unit_test_setup_teardown(test_ip_options_and_fragments, setup_vm, teardown),
		cmocka_unit_test_setup_teardown(test_addresses_and_ports, setup_vm, teardown),
		cmocka_unit_test_setup_teardown(test_not_wireguard, setup_vm, teardown),
		cmocka_unit_test_setup_teardown(test_bad_wireguard_sizes, setup_vm, teardown),
		cmocka_unit_test_setup_teardown(test_no_policy_drops_all, setup_vm, teardown),
		cmocka_unit_test_setup_teardown(test_warm_vm_closed_until_policy, setup_vm, teardown),
		cmocka_unit_test_setup_teardown(test_peer_ip_unknown, setup_vm, teardown),
		cmocka_unit_test_setup_teardown(test_to_guest, setup_vm, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup_vm_burst2, teardown),
		cmocka_unit_test_setup_teardown(test_detach_clears_vm, setup_vm, teardown),
	};
	int failed;

	omt_bpf_log_init();	/* libbpf's netlink notes at debug level, not on stderr */
	failed = cmocka_run_group_tests_name("guard", tests, NULL, NULL);
	return failed + cmocka_run_group_tests_name("guard_vm", vm_tests, NULL, NULL);
}
