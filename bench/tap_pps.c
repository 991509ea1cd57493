// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Writes WireGuard-shaped frames into an existing (persistent) tap, as QEMU
 * does for a guest's transmissions, and prints the CPU time per frame.
 * bench/tap.sh runs it with no guard, the XDP guard and the tc guard.
 *   tap_pps IFACE FRAMES PAYLOAD SRC_IP DST_IP PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	uint8_t frame[1600] = {}, *ip = frame + 14, *u = ip + 20;
	unsigned long n, i, payload;
	struct in_addr src, dst;
	uint64_t t0, t1;
	uint16_t tot;
	int fd, s;

	if (argc != 7 || !(n = strtoul(argv[2], NULL, 10)) ||
	    (payload = strtoul(argv[3], NULL, 10)) < 32 || payload > 1400 ||
	    inet_pton(AF_INET, argv[4], &src) != 1 || inet_pton(AF_INET, argv[5], &dst) != 1) {
		fprintf(stderr, "usage: tap_pps IFACE FRAMES PAYLOAD(32..1400) SRC_IP DST_IP PORT\n");
		return 2;
	}
	/* Non-blocking like QEMU: tun then builds the skb around the frame and
	 * runs XDP natively (tun_build_skb), as it does for a real guest. */
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", argv[1]);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "tap_pps: attach to tap '%s': %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* Frames addressed to the tap's own MAC, so the host takes them in. */
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
		fprintf(stderr, "tap_pps: MAC of '%s': %s\n", argv[1], strerror(errno));
		return 1;
	}
	close(s);
	memcpy(frame, ifr.ifr_hwaddr.sa_data, 6);
	memcpy(frame + 6, "\x52\x54\x00\x12\x34\x56\x08\x00", 8);
	tot = 28 + payload;
	ip[0] = 0x45;
	ip[2] = tot >> 8;
	ip[3] = tot & 0xff;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	{
		/* The IPv4 checksum: the host stack checks it. */
		uint32_t sum = 0;
		int k;

		for (k = 0; k < 20; k += 2)
			sum += ip[k] << 8 | ip[k + 1];
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		sum = ~sum & 0xffff;
		ip[10] = sum >> 8;
		ip[11] = sum & 0xff;
	}
	u[0] = 0x9c; u[1] = 0x40;
	u[2] = atoi(argv[6]) >> 8;
	u[3] = atoi(argv[6]) & 0xff;
	u[4] = (8 + payload) >> 8;
	u[5] = (8 + payload) & 0xff;
	u[8] = 4;	/* WireGuard transport data; UDP checksum 0: none */

	t0 = cpu_ns();
	for (i = 0; i < n; i++) {
		if (write(fd, frame, 14 + tot) < 0) {
			fprintf(stderr, "tap_pps: write: %s\n", strerror(errno));
			return 1;
		}
	}
	t1 = cpu_ns();
	printf("%.1f\n", (double)(t1 - t0) / n);
	close(fd);
	return 0;
}
