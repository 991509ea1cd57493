// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "event_fmt.h"
#include "reasons.h"

static void fmt_ts(char *buf, size_t size, uint64_t ns)
{
	time_t sec = ns / 1000000000ULL;
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned int)(ns % 1000000000ULL / 1000));
}

/* A name when there is one, else the number in fmt. */
static void fmt_named(char *buf, size_t size, const char *name, const char *fmt,
		      unsigned int value)
{
	if (name)
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, fmt, value);
}

static int has_ports(const struct omt_event *e)
{
	return e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP;
}

static void fmt_addr(char *buf, size_t size, const uint8_t ip[4], uint16_t port,
		     int with_port)
{
	if (with_port)
		snprintf(buf, size, "%u.%u.%u.%u:%u", ip[0], ip[1], ip[2], ip[3], port);
	else
		snprintf(buf, size, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
}

int omt_event_format(char *buf, size_t size, const struct omt_event *e,
		     uint64_t ts_realtime_ns, const char *vm, int json)
{
	char ts[96], l3[16], proto[8], src[32], dst[32];
	int ip = e->ethertype == 0x0800, arp = e->ethertype == 0x0806;
	int ports = ip && has_ports(e);
	json_object *o;
	int n;

	fmt_ts(ts, sizeof(ts), ts_realtime_ns);
	fmt_named(l3, sizeof(l3), omt_l3_name(e->ethertype), "0x%04x", e->ethertype);
	fmt_named(proto, sizeof(proto), omt_proto_name(e->proto), "%u", e->proto);
	fmt_addr(src, sizeof(src), e->src_ip, e->src_port, ports);
	fmt_addr(dst, sizeof(dst), e->dst_ip, e->dst_port, ports);
	if (e->direction == OMT_DIR_CGROUP) {
		/* sendmsg/connect know the destination only. */
		ports = e->dst_port != 0;
		fmt_addr(dst, sizeof(dst), e->dst_ip, e->dst_port, ports);
	}

	if (!json) {
		n = snprintf(buf, size, "%s rogue vm=%s ifindex=%u reason=%s l3=%s",
			     ts, vm, e->ifindex, omt_reason_name(e->reason), l3);
		if (ip || arp || e->direction == OMT_DIR_CGROUP)
			n += snprintf(buf + n, size > (size_t)n ? size - n : 0,
				      "%s%s src=%s dst=%s", ip ? " proto=" : "",
				      ip ? proto : "", src, dst);
		n += snprintf(buf + n, size > (size_t)n ? size - n : 0,
			      " len=%u hook=%s", e->len, omt_hook_name(e->hook));
		if (e->cgroup_id)
			n += snprintf(buf + n, size > (size_t)n ? size - n : 0,
				      " cgroup=%llu pid=%u",
				      (unsigned long long)e->cgroup_id, e->pid);
		if (e->suppressed)
			n += snprintf(buf + n, size > (size_t)n ? size - n : 0,
				      " suppressed=%u", e->suppressed);
		return n;
	}

	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "ts", json_object_new_string(ts));
	json_object_object_add(o, "event", json_object_new_string("rogue"));
	json_object_object_add(o, "vm", json_object_new_string(vm));
	json_object_object_add(o, "ifindex", json_object_new_int64(e->ifindex));
	json_object_object_add(o, "reason",
			       json_object_new_string(omt_reason_name(e->reason)));
	json_object_object_add(o, "l3", json_object_new_string(l3));
	if (ip || e->direction == OMT_DIR_CGROUP)
		json_object_object_add(o, "proto", json_object_new_string(proto));
	if (ip || arp || e->direction == OMT_DIR_CGROUP) {
		json_object_object_add(o, "src", json_object_new_string(src));
		json_object_object_add(o, "dst", json_object_new_string(dst));
	}
	json_object_object_add(o, "len", json_object_new_int64(e->len));
	json_object_object_add(o, "direction",
			       json_object_new_string(omt_direction_name(e->direction)));
	json_object_object_add(o, "hook", json_object_new_string(omt_hook_name(e->hook)));
	if (e->cgroup_id) {
		json_object_object_add(o, "cgroup_id", json_object_new_int64(e->cgroup_id));
		json_object_object_add(o, "pid", json_object_new_int64(e->pid));
	}
	json_object_object_add(o, "suppressed", json_object_new_int64(e->suppressed));
	n = snprintf(buf, size, "%s",
		     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return n;
}
