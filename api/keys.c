// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/b64.h"
#include "../lib/file.h"
#include "../lib/parse.h"
#include "../lib/text.h"
#include "../proto/exit.h"
#include "keys.h"

#define TAG_LEN (sizeof(OMT_KEY_FILE_TAG) - 1)
#define SK_B64_LEN 88			/* 64 bytes in base64 */
#define KEY_FILE_MAX 256
#define KNOWN_FILE_MAX (1024 * 1024)

_Static_assert(crypto_sign_PUBLICKEYBYTES == 32 && crypto_sign_SECRETKEYBYTES == 64,
	       "Ed25519 keys as libsodium has them");
_Static_assert(sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL) ==
	       OMT_KEY_B64_LEN + 1, "a public key is 44 base64 characters");
_Static_assert(sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL) ==
	       SK_B64_LEN + 1, "a secret key is 88 base64 characters");

/* Reads up to max bytes; -EFBIG if there is more. */
static int read_all(int fd, char *buf, size_t max, size_t *len)
{
	*len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + *len, max + 1 - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		*len += n;
		if (*len > max)
			return -EFBIG;
	}
}

int omt_key_generate(const char *path, uint8_t pk[32])
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	char line[TAG_LEN + 1 + SK_B64_LEN + 2];
	int fd, ret;

	if (sodium_init() < 0)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return -errno;
	crypto_sign_keypair(pk, sk);
	memcpy(line, OMT_KEY_FILE_TAG " ", TAG_LEN + 1);
	sodium_bin2base64(line + TAG_LEN + 1, SK_B64_LEN + 1, sk, sizeof(sk),
			  sodium_base64_VARIANT_ORIGINAL);
	line[TAG_LEN + 1 + SK_B64_LEN] = '\n';
	ret = omt_write_all(fd, line, TAG_LEN + 1 + SK_B64_LEN + 1);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (ret) {
		unlink(path);
		sodium_memzero(pk, 32);
	}
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(line, sizeof(line));
	return ret;
}

int omt_keygen_verb(const char *verb, const char *what, const char *path)
{
	char b64[OMT_KEY_B64_LEN + 1];
	uint8_t pk[32];
	int e = omt_key_generate(path, pk);

	if (e) {
		fprintf(stderr, "%s: '%s': %s\n", verb, path,
			e == -EEXIST ? "exists already (not overwritten)" : strerror(-e));
		return OMT_EXIT_FAIL;
	}
	omt_key_b64(pk, b64);
	printf("%s\n", b64);
	fprintf(stderr, "%s written to %s\n", what, path);
	return OMT_EXIT_OK;
}

static int parse_key_file(const char *path, const char *buf, size_t len, uint8_t sk[64],
			  uint8_t pk[32], char *err, size_t errlen)
{
	uint8_t raw[KEY_FILE_MAX], pk2[32], sk2[64];
	size_t n;
	int ret = -EINVAL;

	if (len && buf[len - 1] == '\n')
		len--;
	if (len < TAG_LEN + 1 || memcmp(buf, OMT_KEY_FILE_TAG " ", TAG_LEN + 1) ||
	    memchr(buf, '\n', len)) {
		omt_errf(err, errlen, "%s: not an %s identity file", path, OMT_KEY_FILE_TAG);
		return -EINVAL;
	}
	buf += TAG_LEN + 1;
	len -= TAG_LEN + 1;
	if (omt_b64_decode(buf, len, raw, sizeof(raw), &n)) {
		omt_errf(err, errlen, "%s: the key is not base64", path);
		goto cleanup;
	}
	if (n != 64) {
		omt_errf(err, errlen, "%s: the key is %zu bytes, not 64", path, n);
		goto cleanup;
	}
	/* The second half is the public key: it must be the first half's. */
	crypto_sign_seed_keypair(pk2, sk2, raw);
	if (sodium_memcmp(sk2, raw, 64)) {
		omt_errf(err, errlen, "%s: damaged: its public half does not match its secret half",
			 path);
		goto cleanup;
	}
	memcpy(sk, raw, 64);
	memcpy(pk, pk2, 32);
	ret = 0;
cleanup:
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(sk2, sizeof(sk2));
	return ret;
}

int omt_key_load(const char *path, uint8_t sk[64], uint8_t pk[32], char *err, size_t errlen)
{
	char buf[KEY_FILE_MAX + 1];
	struct stat st;
	size_t len = 0;
	int fd, ret;

	if (sodium_init() < 0) {
		omt_errf(err, errlen, "libsodium failed to initialise");
		return -ENOMEM;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		omt_errf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		omt_errf(err, errlen, "%s: %s", path, strerror(-ret));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		omt_errf(err, errlen, "%s: not a regular file", path);
		goto cleanup;
	}
	if (st.st_mode & 077) {
		ret = -EACCES;
		omt_errf(err, errlen, "%s: permissions %04o are too open: an identity must be "
			 "accessible by its owner only (chmod 600 %s)", path,
			 (unsigned int)(st.st_mode & 07777), path);
		goto cleanup;
	}
	ret = read_all(fd, buf, KEY_FILE_MAX, &len);
	if (ret == -EFBIG) {
		ret = -EINVAL;
		omt_errf(err, errlen, "%s: not an %s identity file", path, OMT_KEY_FILE_TAG);
	} else if (ret) {
		omt_errf(err, errlen, "%s: %s", path, strerror(-ret));
	} else {
		ret = parse_key_file(path, buf, len, sk, pk, err, errlen);
	}
cleanup:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return ret;
}

void omt_key_b64(const uint8_t pk[32], char out[OMT_KEY_B64_LEN + 1])
{
	sodium_bin2base64(out, OMT_KEY_B64_LEN + 1, pk, 32, sodium_base64_VARIANT_ORIGINAL);
}

int omt_key_from_b64(const char *s, uint8_t pk[32])
{
	uint8_t k[32];

	if (strnlen(s, OMT_KEY_B64_LEN + 1) != OMT_KEY_B64_LEN ||
	    omt_b64_decode_exact(s, OMT_KEY_B64_LEN, k, sizeof(k)))
		return -EINVAL;
	memcpy(pk, k, sizeof(k));
	return 0;
}

void omt_wg_keypair(uint8_t priv[32], uint8_t pub[32])
{
	/* It only fails without a source of randomness, where randombytes aborts anyway. */
	if (sodium_init() < 0)
		abort();
	do {
		randombytes_buf(priv, 32);
		priv[0] &= 248;
		priv[31] = (priv[31] & 127) | 64;
	} while (crypto_scalarmult_curve25519_base(pub, priv));
}

int omt_wg_pubkey(const uint8_t priv[32], uint8_t pub[32])
{
	if (sodium_init() < 0)
		return -ENOMEM;
	/* libsodium clamps a copy of the scalar, as wg does. */
	return crypto_scalarmult_curve25519_base(pub, priv) ? -EINVAL : 0;
}

/* Printable, no blanks or '#', and ":PORT" at the end. */
static int check_hostport(const char *s)
{
	size_t n = strnlen(s, OMT_HOSTPORT_MAX + 1), i;
	const char *colon = strrchr(s, ':');
	uint64_t port;

	if (!n || n > OMT_HOSTPORT_MAX || !colon || colon == s)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '#')
			return -EINVAL;
	if (omt_parse_digits(colon + 1, 5, 65535, &port) || !port)
		return -EINVAL;
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * One line (no newline, NUL-terminated in place): 0 with *host NULL for a
 * blank or comment line, 0 with host and key, or -EINVAL.
 */
static int parse_known_line(char *s, const char **host, uint8_t key[32])
{
	char *k, *end;

	*host = NULL;
	while (is_blank(*s))
		s++;
	if (!*s || *s == '#')
		return 0;
	for (k = s; *k && !is_blank(*k); k++)
		;
	if (!*k)
		return -EINVAL;
	*k++ = '\0';
	while (is_blank(*k))
		k++;
	for (end = k; *end && !is_blank(*end); end++)
		;
	if (*end) {
		*end++ = '\0';
		while (is_blank(*end))
			end++;
		if (*end)
			return -EINVAL;
	}
	if (check_hostport(s) || omt_key_from_b64(k, key))
		return -EINVAL;
	*host = s;
	return 0;
}

static int append_known(int fd, const char *file, const char *hostport, const uint8_t pk[32],
			int need_newline, char *err, size_t errlen)
{
	char line[OMT_HOSTPORT_MAX + OMT_KEY_B64_LEN + 4], b64[OMT_KEY_B64_LEN + 1];
	int n, ret;

	omt_key_b64(pk, b64);
	n = snprintf(line, sizeof(line), "%s%s %s\n", need_newline ? "\n" : "", hostport, b64);
	ret = omt_write_all(fd, line, n);
	if (!ret && fsync(fd))
		ret = -errno;
	if (ret)
		omt_errf(err, errlen, "%s: %s", file, strerror(-ret));
	return ret;
}

int omt_known_provider_check(const char *file, const char *hostport, const uint8_t pk[32],
			     int tofu, char *err, size_t errlen)
{
	char *buf = NULL, *line, *next;
	int fd, ret, matched = 0, need_newline;
	size_t len = 0, lineno = 0;
	struct stat st;

	if (check_hostport(hostport)) {
		omt_errf(err, errlen,
			 "not a printable HOST:PORT (no blanks, no '#', port 1..65535)");
		return -EINVAL;
	}
	fd = open(file, tofu ? O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY :
		  O_RDONLY | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0 && errno == ENOENT && !tofu) {
		omt_errf(err, errlen, "provider %s is unknown: %s does not exist", hostport, file);
		return -ENOKEY;
	}
	if (fd < 0) {
		ret = -errno;
		omt_errf(err, errlen, "%s: %s", file, strerror(-ret));
		return ret;
	}
	/* Two consumers meeting a new provider at once must not both append. */
	if (flock(fd, tofu ? LOCK_EX : LOCK_SH) || fstat(fd, &st)) {
		ret = -errno;
		omt_errf(err, errlen, "%s: %s", file, strerror(-ret));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		omt_errf(err, errlen, "%s: not a regular file", file);
		goto cleanup;
	}
	buf = malloc(KNOWN_FILE_MAX + 2);
	if (!buf) {
		ret = -ENOMEM;
		goto cleanup;
	}
	ret = read_all(fd, buf, KNOWN_FILE_MAX, &len);
	if (ret) {
		omt_errf(err, errlen, "%s: %s", file, ret == -EFBIG ? "larger than 1 MiB" :
			 strerror(-ret));
		goto cleanup;
	}
	buf[len] = '\0';
	need_newline = len && buf[len - 1] != '\n';
	for (line = buf; line < buf + len; line = next) {
		const char *host;
		uint8_t key[32];
		char *nl = memchr(line, '\n', buf + len - line);

		lineno++;
		next = nl ? nl + 1 : buf + len;
		if (nl)
			*nl = '\0';
		if (strlen(line) != (size_t)(next - line - (nl ? 1 : 0)) ||
		    parse_known_line(line, &host, key)) {
			ret = -EINVAL;
			omt_errf(err, errlen, "%s:%zu: not 'HOST:PORT KEY'", file, lineno);
			goto cleanup;
		}
		if (!host || strcmp(host, hostport))
			continue;
		if (sodium_memcmp(key, pk, 32)) {
			char have[OMT_KEY_B64_LEN + 1], want[OMT_KEY_B64_LEN + 1];

			omt_key_b64(pk, have);
			omt_key_b64(key, want);
			ret = -EKEYREJECTED;
			omt_errf(err, errlen, "WARNING: THE KEY OF PROVIDER %s HAS CHANGED! "
				 "It presents %s but %s:%zu pins %s. Someone may be "
				 "impersonating the provider (man in the middle), or its key "
				 "was replaced. If you know the change is genuine, remove line "
				 "%zu of %s.", hostport, have, file, lineno, want, lineno, file);
			goto cleanup;
		}
		matched = 1;
	}
	if (matched) {
		ret = 0;
	} else if (!tofu) {
		ret = -ENOKEY;
		omt_errf(err, errlen, "provider %s is unknown: it is not in %s", hostport, file);
	} else {
		ret = append_known(fd, file, hostport, pk, need_newline, err, errlen);
		if (!ret)
			ret = 1;
	}
cleanup:
	free(buf);
	close(fd);
	return ret;
}
