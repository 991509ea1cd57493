/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A logind sleep inhibitor ("block" mode) held while jobs run and the
 * machine is on AC power: a laptop on battery may still sleep, and then the
 * jobs are paused with it.
 */
#ifndef OMERTA_OWNER_INHIBIT_H
#define OMERTA_OWNER_INHIBIT_H

#include <stdbool.h>

struct omt_inhibit;

/*
 * power_supply_dir NULL = "/sys/class/power_supply". Never fails hard: with
 * no system bus or no logind it says once (info) that sleep can't be
 * inhibited and does nothing from then on. NULL only when out of memory.
 */
struct omt_inhibit *omt_inhibit_new(const char *power_supply_dir);
/*
 * Call when the job count changes and periodically (every 10 s): takes the
 * lock when jobs_running and on AC, releases it otherwise.
 */
void omt_inhibit_update(struct omt_inhibit *in, bool jobs_running);
bool omt_inhibit_held(const struct omt_inhibit *in);
/* Releases the lock. NULL is fine. */
void omt_inhibit_free(struct omt_inhibit *in);

/*
 * 1 on AC, 0 on battery, -ENOENT if the dir shows no power supply to judge
 * by (a desktop or server: take it as AC). The rule, device batteries (a
 * wireless mouse's: scope "Device") left out:
 *   - if there are line supplies (an "online" file, type not "Battery":
 *     "Mains", or "USB" for a USB-C charger), AC is any of them online=1;
 *   - else if there are batteries, AC is any battery whose status is not
 *     "Discharging" (charging, full, not charging: on a charger);
 *   - else -ENOENT.
 */
int omt_power_on_ac(const char *power_supply_dir);

#endif
