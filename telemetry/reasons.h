/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Userspace names of the BPF ABI's enums (bpf/omerta_abi.h). */
#ifndef OMERTA_REASONS_H
#define OMERTA_REASONS_H

#include <stdint.h>

const char *omt_reason_name(unsigned int reason);
const char *omt_direction_name(unsigned int direction);
const char *omt_hook_name(unsigned int hook);
/* "ipv4", "arp", ... or NULL when the ethertype has no name here. */
const char *omt_l3_name(uint16_t ethertype);
/* "tcp", "udp", "icmp", ... or NULL. */
const char *omt_proto_name(uint8_t proto);

#endif
