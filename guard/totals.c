// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "totals.h"

int omt_vm_totals_read(const char *job, struct omt_vm_totals *t)
{
	struct omt_total_key k, next;
	struct omt_counter c;
	char path[160];
	int fd, err;

	memset(t, 0, sizeof(*t));
	snprintf(path, sizeof(path), "%s/%s/omt_totals", OMT_PIN_JOBS_DIR, job);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	err = bpf_map_get_next_key(fd, NULL, &k);
	while (!err) {
		if (bpf_map_lookup_elem(fd, &k, &c) == 0 && k.direction <= OMT_DIR_TO_GUEST &&
		    k.reason < OMT_R__COUNT) {
			struct omt_counter *dv = &t->dir_verdict[k.direction][k.reason != OMT_R_PASS];

			dv->packets += c.packets;
			dv->bytes += c.bytes;
			if (k.direction == OMT_DIR_FROM_GUEST && k.reason != OMT_R_PASS) {
				t->reason[k.reason].packets += c.packets;
				t->reason[k.reason].bytes += c.bytes;
			}
		}
		err = bpf_map_get_next_key(fd, &k, &next);
		k = next;
	}
	close(fd);
	return 0;
}
