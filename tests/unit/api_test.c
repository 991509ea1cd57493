// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <sodium.h>

#include "../../api/job.h"
#include "../../api/keys.h"
#include "../../api/sign.h"
#include "../../proto/guest_msg.h"

/* From `echo WG_PRIV | wg pubkey`. */
#define WG_PRIV "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
#define WG_PUB "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
#define SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define NONCE "00112233445566778899aabbccddeeff"
#define T0 1700000000

static char tmpdir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int make_tmpdir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/omt-api-test.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static const char *tmp(const char *name)
{
	static char path[4][128];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
	return p;
}

static void write_file(const char *path, const char *s, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static char *read_text(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static void assert_contains(const char *s, const char *part)
{
	if (!strstr(s, part))
		fail_msg("'%s' does not contain '%s'", s, part);
}

/* keys */

static void test_key_generate_load(void **state)
{
	uint8_t pk[32], pk2[32], sk[64], sig[64];
	const char *path = tmp("id");
	char err[256] = "", *text;
	struct stat st;

	(void)state;
	assert_int_equal(omt_key_generate(path, pk), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	text = read_text(path);
	assert_int_equal(strlen(text), strlen("omerta-ed25519 ") + 88 + 1);
	assert_memory_equal(text, "omerta-ed25519 ", 15);
	assert_int_equal(text[strlen(text) - 1], '\n');

	assert_int_equal(omt_key_load(path, sk, pk2, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_memory_equal(pk, pk2, 32);
	crypto_sign_detached(sig, NULL, (const uint8_t *)"x", 1, sk);
	assert_int_equal(crypto_sign_verify_detached(sig, (const uint8_t *)"x", 1, pk), 0);

	/* Never over an existing file, which stays as it was. */
	assert_int_equal(omt_key_generate(path, pk2), -EEXIST);
	assert_int_equal(omt_key_load(path, sk, pk2, NULL, 0), 0);
	assert_memory_equal(pk, pk2, 32);
	assert_int_equal(omt_key_generate(tmp("nodir/id"), pk2), -ENOENT);
}

static void test_key_permissions(void **state)
{
	const char *path = tmp("id-open");
	uint8_t pk[32], sk[64];
	char err[512], want[512];

	(void)state;
	assert_int_equal(omt_key_generate(path, pk), 0);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(omt_key_load(path, sk, pk, err, sizeof(err)), -EACCES);
	snprintf(want, sizeof(want), "%s: permissions 0640 are too open: an identity must be "
		 "accessible by its owner only (chmod 600 %s)", path, path);
	assert_string_equal(err, want);
	assert_int_equal(chmod(path, 0602), 0);
	assert_int_equal(omt_key_load(path, sk, pk, err, sizeof(err)), -EACCES);
	assert_contains(err, "permissions 0602 are too open");
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(omt_key_load(path, sk, pk, err, sizeof(err)), 0);
}

static void test_key_bad_files(void **state)
{
	uint8_t seed[32] = { 1 }, pk[32], sk[64], other[64];
	char line[256], b64[89], err[512], want[512];
	const char *path = tmp("id-bad");

	(void)state;
	write_file(path, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE\n", 0600);
	assert_int_equal(omt_key_load(path, sk, pk, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: not an omerta-ed25519 identity file", path);
	assert_string_equal(err, want);

	write_file(path, "omerta-ed25519 !!!!\n", 0600);
	assert_int_equal(omt_key_load(path, sk, pk, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: the key is not base64", path);
	assert_string_equal(err, want);

	write_file(path, "omerta-ed25519 " WG_PUB "\n", 0600);
	assert_int_equal(omt_key_load(path, sk, pk, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: the key is 32 bytes, not 64", path);
	assert_string_equal(err, want);

	/* A secret half with someone else's public half. */
	crypto_sign_seed_keypair(pk, sk, seed);
	seed[0] = 2;
	crypto_sign_seed_keypair(pk, other, seed);
	memcpy(sk + 32, other + 32, 32);
	sodium_bin2base64(b64, sizeof(b64), sk, 64, sodium_base64_VARIANT_ORIGINAL);
	snprintf(line, sizeof(line), "omerta-ed25519 %s\n", b64);
	write_file(path, line, 0600);
	assert_int_equal(omt_key_load(path, sk, pk, err, sizeof(err)), -EINVAL);
	assert_contains(err, "damaged");

	/* Two lines, or no newline at all. */
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_bin2base64(b64, sizeof(b64), sk, 64, sodium_base64_VARIANT_ORIGINAL);
	snprintf(line, sizeof(line), "omerta-ed25519 %s", b64);
	write_file(path, line, 0600);
	assert_int_equal(omt_key_load(path, sk, pk, err, sizeof(err)), 0);
	strcat(line, "\n\n");
	write_file(path, line, 0600);
	assert_int_equal(omt_key_load(path, sk, pk, err, sizeof(err)), -EINVAL);

	write_file(path, "", 0600);
	assert_int_equal(omt_key_load(path, sk, pk, err, sizeof(err)), -EINVAL);
	assert_int_equal(omt_key_load(tmp("missing"), sk, pk, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", tmp("missing"));
	assert_string_equal(err, want);
	assert_int_equal(omt_key_load(tmpdir, sk, pk, err, sizeof(err)), -EINVAL);
	assert_contains(err, "not a regular file");
}

static void test_key_b64(void **state)
{
	uint8_t pk[32], back[32];
	char s[45];
	size_t i;

	(void)state;
	for (i = 0; i < 32; i++)
		pk[i] = i * 7;
	omt_key_b64(pk, s);
	assert_int_equal(strlen(s), 44);
	assert_int_equal(omt_key_from_b64(s, back), 0);
	assert_memory_equal(pk, back, 32);
	assert_int_equal(omt_key_from_b64(WG_PUB, back), 0);
	assert_int_equal(back[0], 0x1c);

	memset(back, 0xaa, 32);
	assert_int_equal(omt_key_from_b64("", back), -EINVAL);
	assert_int_equal(omt_key_from_b64("HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw", back), -EINVAL);
	assert_int_equal(omt_key_from_b64(WG_PUB "=", back), -EINVAL);
	assert_int_equal(omt_key_from_b64(WG_PUB " ", back), -EINVAL);
	assert_int_equal(omt_key_from_b64("HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykx=", back), -EINVAL);
	assert_int_equal(omt_key_from_b64("HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8yk_=", back), -EINVAL);
	/* A 33-byte value is not a key either. */
	assert_int_equal(omt_key_from_b64("HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykwA", back), -EINVAL);
	for (i = 0; i < 32; i++)
		assert_int_equal(back[i], 0xaa);
}

static void test_wg_keys(void **state)
{
	uint8_t priv[32], pub[32], want[32], again[32];
	char s[45];
	int i;

	(void)state;
	assert_int_equal(omt_key_from_b64(WG_PRIV, priv), 0);
	assert_int_equal(omt_wg_pubkey(priv, pub), 0);
	omt_key_b64(pub, s);
	assert_string_equal(s, WG_PUB);
	assert_int_equal(omt_key_from_b64(WG_PUB, want), 0);
	assert_memory_equal(pub, want, 32);

	for (i = 0; i < 16; i++) {
		omt_wg_keypair(priv, pub);
		assert_int_equal(priv[0] & 7, 0);
		assert_int_equal(priv[31] & 0xc0, 0x40);
		assert_int_equal(omt_wg_pubkey(priv, again), 0);
		assert_memory_equal(pub, again, 32);
	}
	memset(priv, 0, sizeof(priv));
	assert_int_equal(omt_wg_pubkey(priv, pub), 0);
}

static void test_known_providers(void **state)
{
	const char *file = tmp("known");
	uint8_t a[32], b[32];
	char err[1024], want[256], ka[45], kb[45];
	struct stat st;

	(void)state;
	memset(a, 0x11, 32);
	memset(b, 0x22, 32);
	omt_key_b64(a, ka);
	omt_key_b64(b, kb);

	assert_int_equal(omt_known_provider_check(file, "p1.example:7700", a, 0, err, sizeof(err)),
			 -ENOKEY);
	assert_contains(err, "provider p1.example:7700 is unknown");
	assert_int_equal(stat(file, &st), -1);

	assert_int_equal(omt_known_provider_check(file, "p1.example:7700", a, 1, err, sizeof(err)), 1);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(want, sizeof(want), "p1.example:7700 %s\n", ka);
	assert_string_equal(read_text(file), want);

	assert_int_equal(omt_known_provider_check(file, "p1.example:7700", a, 0, err, sizeof(err)), 0);
	assert_int_equal(omt_known_provider_check(file, "p1.example:7700", a, 1, err, sizeof(err)), 0);
	assert_string_equal(read_text(file), want);

	/* Another key for it is refused, loudly, with or without tofu. */
	assert_int_equal(omt_known_provider_check(file, "p1.example:7700", b, 1, err, sizeof(err)),
			 -EKEYREJECTED);
	assert_contains(err, "WARNING: THE KEY OF PROVIDER p1.example:7700 HAS CHANGED!");
	assert_contains(err, kb);
	assert_contains(err, ka);
	snprintf(want, sizeof(want), "%s:1 pins", file);
	assert_contains(err, want);
	snprintf(want, sizeof(want), "remove line 1 of %s", file);
	assert_contains(err, want);
	assert_int_equal(omt_known_provider_check(file, "p1.example:7700", b, 0, err, sizeof(err)),
			 -EKEYREJECTED);

	/* The same key on another port is another provider. */
	assert_int_equal(omt_known_provider_check(file, "p1.example:7701", b, 0, err, sizeof(err)),
			 -ENOKEY);
	assert_int_equal(omt_known_provider_check(file, "p1.example:7701", b, 1, err, sizeof(err)), 1);
	assert_int_equal(omt_known_provider_check(file, "p1.example:7701", b, 0, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "p1.example:7700 %s\np1.example:7701 %s\n", ka, kb);
	assert_string_equal(read_text(file), want);
}

static void test_known_providers_file(void **state)
{
	const char *file = tmp("known2");
	char err[1024], text[512], want[640], ka[45];
	uint8_t a[32];

	(void)state;
	memset(a, 0x11, 32);
	omt_key_b64(a, ka);
	/* Comments, blank lines, tabs; a hand-edited last line without newline. */
	snprintf(text, sizeof(text), "# providers\n\n  \t\n10.0.0.1:7700\t %s  \n[fd00::1]:7700 %s",
		 ka, ka);
	write_file(file, text, 0644);
	assert_int_equal(omt_known_provider_check(file, "10.0.0.1:7700", a, 0, err, sizeof(err)), 0);
	assert_int_equal(omt_known_provider_check(file, "[fd00::1]:7700", a, 0, err, sizeof(err)), 0);
	assert_int_equal(omt_known_provider_check(file, "10.0.0.2:7700", a, 1, err, sizeof(err)), 1);
	snprintf(want, sizeof(want), "%s\n10.0.0.2:7700 %s\n", text, ka);
	assert_string_equal(read_text(file), want);

	/* A line we cannot read is an error, not a first use. */
	snprintf(text, sizeof(text), "10.0.0.1:7700 %s\n10.0.0.3:7700 %s extra\n", ka, ka);
	write_file(file, text, 0644);
	assert_int_equal(omt_known_provider_check(file, "10.0.0.3:7700", a, 1, err, sizeof(err)),
			 -EINVAL);
	snprintf(want, sizeof(want), "%s:2: not 'HOST:PORT KEY'", file);
	assert_string_equal(err, want);
	write_file(file, "10.0.0.3:7700 AAAA\n", 0644);
	assert_int_equal(omt_known_provider_check(file, "10.0.0.3:7700", a, 1, err, sizeof(err)),
			 -EINVAL);
	write_file(file, "10.0.0.3:7700\n", 0644);
	assert_int_equal(omt_known_provider_check(file, "10.0.0.3:7700", a, 1, err, sizeof(err)),
			 -EINVAL);
	snprintf(text, sizeof(text), "10.0.0.3 %s\n", ka);
	write_file(file, text, 0644);
	assert_int_equal(omt_known_provider_check(file, "10.0.0.3:7700", a, 1, err, sizeof(err)),
			 -EINVAL);

	/* What could not be written back as one line is refused. */
	static const char *const bad[] = { "", "host", "host:", ":7700", "host:0", "host:65536",
					   "host:77a", "a b:7700", "a#b:7700", "a\nb:7700",
					   "host:123456" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(omt_known_provider_check(file, bad[i], a, 1, err, sizeof(err)),
				 -EINVAL);
	assert_int_equal(omt_known_provider_check(tmp("nodir/known"), "h:1", a, 1, err,
						  sizeof(err)), -ENOENT);
	assert_int_equal(omt_known_provider_check(tmp("nodir/known"), "h:1", a, 0, NULL, 0),
			 -ENOKEY);
}

/* sign */

struct ident {
	uint8_t pk[32], sk[64];
};

static void ident(struct ident *id, uint8_t n)
{
	uint8_t seed[32];

	memset(seed, n, sizeof(seed));
	crypto_sign_seed_keypair(id->pk, id->sk, seed);
}

/* What the provider does: the headers, then the body against them. */
static int verify(const struct omt_req_auth *a, const char *method, const char *path,
		  const char *body, int64_t now, char *err)
{
	struct omt_req_auth c = *a;
	uint8_t pk[32];
	int e;

	e = omt_verify_request(&c, method, path, now, 300, pk, err, 256);
	return e ? e : omt_check_body(&c, body, strlen(body), err, 256);
}

static void test_sign_request(void **state)
{
	struct omt_req_auth a, b;
	struct ident id;
	uint8_t pk[32] = { 0 }, digest[32];
	char err[256] = "", key[45];
	size_t i;

	(void)state;
	ident(&id, 1);
	assert_int_equal(omt_sign_request(id.sk, id.pk, "POST", "/v1/jobs", "{}", 2, T0, &a), 0);
	omt_key_b64(id.pk, key);
	assert_string_equal(a.key, key);
	assert_string_equal(a.timestamp, "1700000000");
	assert_int_equal(strlen(a.nonce), 32);
	for (i = 0; i < 32; i++)
		assert_non_null(strchr("0123456789abcdef", a.nonce[i]));
	assert_int_equal(strlen(a.signature), 88);
	assert_int_equal(a.length, 2);
	memcpy(digest, a.digest, 32);
	memset(a.digest, 0, 32);
	assert_int_equal(omt_verify_request(&a, "POST", "/v1/jobs", T0, 300, pk, err, sizeof(err)),
			 0);
	assert_string_equal(err, "");
	assert_memory_equal(pk, id.pk, 32);
	/* Both ends come to the same digest. */
	assert_memory_equal(a.digest, digest, 32);
	assert_int_equal(omt_check_body(&a, "{}", 2, err, sizeof(err)), 0);

	/* Each request its own nonce, and digest. */
	assert_int_equal(omt_sign_request(id.sk, id.pk, "POST", "/v1/jobs", "{}", 2, T0, &b), 0);
	assert_string_not_equal(a.nonce, b.nonce);
	assert_memory_not_equal(a.digest, b.digest, 32);

	/* No body, and a query string. */
	assert_int_equal(omt_sign_request(id.sk, id.pk, "GET", "/v1/jobs/0a1b2c3d/output?stdout=0&stderr=5",
					  NULL, 0, 0, &a), 0);
	assert_string_equal(a.timestamp, "0");
	assert_int_equal(omt_verify_request(&a, "GET", "/v1/jobs/0a1b2c3d/output?stdout=0&stderr=5",
					    10, 300, pk, err, sizeof(err)), 0);
	assert_int_equal(omt_verify_request(&a, "GET", "/v1/jobs/0a1b2c3d/output?stdout=0&stderr=6",
					    10, 300, pk, err, sizeof(err)), -EKEYREJECTED);

	assert_int_equal(omt_sign_request(id.sk, id.pk, "post", "/v1/jobs", NULL, 0, T0, &a), -EINVAL);
	assert_int_equal(omt_sign_request(id.sk, id.pk, "POST", "v1/jobs", NULL, 0, T0, &a), -EINVAL);
	assert_int_equal(omt_sign_request(id.sk, id.pk, "POST", "/v1/a b", NULL, 0, T0, &a), -EINVAL);
	assert_int_equal(omt_sign_request(id.sk, id.pk, "POST", "/v1/\n", NULL, 0, T0, &a), -EINVAL);
	assert_int_equal(omt_sign_request(id.sk, id.pk, "POST", "/", NULL, 0, -1, &a), -EINVAL);
}

/* The exact bytes signed: the wire format others implement against. */
static void test_sign_request_message(void **state)
{
	struct omt_req_auth a;
	struct ident id;
	char msg[512];
	uint8_t sig[64], digest[32];
	size_t n;

	(void)state;
	ident(&id, 1);
	assert_int_equal(omt_sign_request(id.sk, id.pk, "GET", "/v1/jobs/0a1b2c3d?x=1", NULL, 0,
					  T0, &a), 0);
	assert_string_equal(a.content_sha256, SHA256_EMPTY);
	snprintf(msg, sizeof(msg), "omerta-v2 request\nGET\n/v1/jobs/0a1b2c3d?x=1\n%s\n"
		 "1700000000\n%s\n0\n" SHA256_EMPTY, a.key, a.nonce);
	assert_int_equal(sodium_base642bin(sig, 64, a.signature, 88, NULL, &n, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	assert_int_equal(crypto_sign_verify_detached(sig, (uint8_t *)msg, strlen(msg), id.pk), 0);
	crypto_hash_sha256(digest, (uint8_t *)msg, strlen(msg));
	assert_memory_equal(a.digest, digest, 32);

	assert_int_equal(omt_sign_request(id.sk, id.pk, "POST", "/v1/jobs", "abc", 3, T0, &a), 0);
	assert_string_equal(a.content_sha256, SHA256_ABC);
	snprintf(msg, sizeof(msg), "omerta-v2 request\nPOST\n/v1/jobs\n%s\n1700000000\n%s\n3\n"
		 SHA256_ABC, a.key, a.nonce);
	assert_int_equal(sodium_base642bin(sig, 64, a.signature, 88, NULL, &n, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	assert_int_equal(crypto_sign_verify_detached(sig, (uint8_t *)msg, strlen(msg), id.pk), 0);
}

static void test_verify_tampered(void **state)
{
	struct omt_req_auth a, t;
	struct ident id, other;
	char err[256];

	(void)state;
	ident(&id, 1);
	ident(&other, 2);
	assert_int_equal(omt_sign_request(id.sk, id.pk, "POST", "/v1/jobs", "{\"a\":1}", 7, T0, &a),
			 0);
	assert_int_equal(verify(&a, "POST", "/v1/jobs", "{\"a\":1}", T0, err), 0);
	/* The headers verify; the body is not the one signed for. */
	assert_int_equal(verify(&a, "POST", "/v1/jobs", "{\"a\":2}", T0, err), -EBADMSG);
	assert_string_equal(err, "the body does not match Omerta-Content-SHA256: altered on the way");
	assert_int_equal(verify(&a, "POST", "/v1/jobs", "", T0, err), -EBADMSG);
	assert_string_equal(err, "the body is 0 bytes, the signed length 7");
	assert_int_equal(verify(&a, "POST", "/v1/jobz", "{\"a\":1}", T0, err), -EKEYREJECTED);
	assert_string_equal(err, "Omerta-Signature does not verify: the request was altered, or "
			    "not signed by the key in Omerta-Key");
	assert_int_equal(verify(&a, "PUT", "/v1/jobs", "{\"a\":1}", T0, err), -EKEYREJECTED);

	t = a;
	strcpy(t.timestamp, "1700000001");
	assert_int_equal(verify(&t, "POST", "/v1/jobs", "{\"a\":1}", T0, err), -EKEYREJECTED);
	t = a;
	t.nonce[0] = t.nonce[0] == 'a' ? 'b' : 'a';
	assert_int_equal(verify(&t, "POST", "/v1/jobs", "{\"a\":1}", T0, err), -EKEYREJECTED);
	t = a;
	t.signature[10] = t.signature[10] == 'A' ? 'B' : 'A';
	assert_int_equal(verify(&t, "POST", "/v1/jobs", "{\"a\":1}", T0, err), -EKEYREJECTED);
	/* Another length or hash in the headers than was signed. */
	t = a;
	t.length = 8;
	assert_int_equal(verify(&t, "POST", "/v1/jobs", "{\"a\":1}", T0, err), -EKEYREJECTED);
	t = a;
	strcpy(t.content_sha256, SHA256_ABC);
	assert_int_equal(verify(&t, "POST", "/v1/jobs", "abc", T0, err), -EKEYREJECTED);
	/* Someone else's key in the header. */
	t = a;
	omt_key_b64(other.pk, t.key);
	assert_int_equal(verify(&t, "POST", "/v1/jobs", "{\"a\":1}", T0, err), -EKEYREJECTED);
	/* Signed by someone else, claiming to be id. */
	assert_int_equal(omt_sign_request(other.sk, id.pk, "POST", "/v1/jobs", "{}", 2, T0, &t), 0);
	assert_int_equal(verify(&t, "POST", "/v1/jobs", "{}", T0, err), -EKEYREJECTED);
}

static void test_verify_freshness(void **state)
{
	struct omt_req_auth a;
	struct ident id;
	char err[256];

	(void)state;
	ident(&id, 1);
	assert_int_equal(omt_sign_request(id.sk, id.pk, "GET", "/v1/jobs/0a1b2c3d", NULL, 0, T0,
					  &a), 0);
	assert_int_equal(verify(&a, "GET", "/v1/jobs/0a1b2c3d", "", T0 + 300, err), 0);
	assert_int_equal(verify(&a, "GET", "/v1/jobs/0a1b2c3d", "", T0 + 301, err), -ETIME);
	assert_string_equal(err, "stale timestamp: 1700000000 is 301 s behind the provider's clock "
			    "(window 300 s)");
	assert_int_equal(verify(&a, "GET", "/v1/jobs/0a1b2c3d", "", T0 - 300, err), 0);
	assert_int_equal(verify(&a, "GET", "/v1/jobs/0a1b2c3d", "", T0 - 301, err), -ETIME);
	assert_string_equal(err, "timestamp in the future: 1700000000 is 301 s ahead of the "
			    "provider's clock (window 300 s)");
	/* Far apart both ways: no overflow. */
	assert_int_equal(verify(&a, "GET", "/v1/jobs/0a1b2c3d", "", INT64_MIN, err), -ETIME);
	assert_contains(err, "timestamp in the future");
	assert_int_equal(verify(&a, "GET", "/v1/jobs/0a1b2c3d", "", INT64_MAX, err), -ETIME);
	assert_contains(err, "stale timestamp");
	strcpy(a.timestamp, "9223372036854775807");
	assert_int_equal(verify(&a, "GET", "/v1/jobs/0a1b2c3d", "", -5, err), -ETIME);
	assert_contains(err, "timestamp in the future");
}

static void test_verify_malformed(void **state)
{
	static const struct {
		int field;
		const char *value;
		const char *err;
	} bad[] = {
		{ 0, "", "Omerta-Key is missing" },
		{ 0, "abc", "Omerta-Key is not a base64 Ed25519 public key: 'abc'" },
		{ 0, "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykx=",
		  "Omerta-Key is not a base64 Ed25519 public key: "
		  "'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykx='" },
		{ 1, "", "Omerta-Timestamp is missing" },
		{ 1, "01700000000", "Omerta-Timestamp is not decimal Unix seconds: '01700000000'" },
		{ 1, "-1", "Omerta-Timestamp is not decimal Unix seconds: '-1'" },
		{ 1, "+1700000000", "Omerta-Timestamp is not decimal Unix seconds: '+1700000000'" },
		{ 1, "1700000000 ", "Omerta-Timestamp is not decimal Unix seconds: '1700000000 '" },
		{ 1, "1.7e9", "Omerta-Timestamp is not decimal Unix seconds: '1.7e9'" },
		{ 1, "9223372036854775808",
		  "Omerta-Timestamp is not decimal Unix seconds: '9223372036854775808'" },
		{ 1, "99999999999999999999",
		  "Omerta-Timestamp is not decimal Unix seconds: '99999999999999999999'" },
		{ 2, "", "Omerta-Nonce is missing" },
		{ 2, "00112233445566778899AABBCCDDEEFF",
		  "Omerta-Nonce is not 32 lowercase hex digits: '00112233445566778899AABBCCDDEEFF'" },
		{ 2, "00112233", "Omerta-Nonce is not 32 lowercase hex digits: '00112233'" },
		{ 2, "0011223344556677\n8899aabbccddeef",
		  "Omerta-Nonce is not 32 lowercase hex digits: '0011223344556677\\x0a8899aabbccddeef'" },
		{ 3, "", "Omerta-Signature is missing" },
		{ 3, "c2ln", "Omerta-Signature is not a base64 64-byte signature: 'c2ln'" },
		{ 4, "", "Omerta-Content-SHA256 is missing" },
		{ 4, "abc", "Omerta-Content-SHA256 is not 64 lowercase hex digits: 'abc'" },
	};
	struct omt_req_auth a, t;
	struct ident id;
	char err[256];
	size_t i;

	(void)state;
	ident(&id, 1);
	assert_int_equal(omt_sign_request(id.sk, id.pk, "POST", "/v1/jobs", NULL, 0, T0, &a), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *f[] = { t.key, t.timestamp, t.nonce, t.signature, t.content_sha256 };

		t = a;
		strcpy(f[bad[i].field], bad[i].value);
		err[0] = '\0';
		assert_int_equal(verify(&t, "POST", "/v1/jobs", "", T0, err), -EINVAL);
		assert_string_equal(err, bad[i].err);
	}
	assert_int_equal(verify(&a, "post", "/v1/jobs", "", T0, err), -EINVAL);
	assert_string_equal(err, "method is not an HTTP method: 'post'");
	assert_int_equal(verify(&a, "POST", "v1/jobs", "", T0, err), -EINVAL);
	assert_string_equal(err, "path is not an absolute printable path: 'v1/jobs'");
	/* Not NUL-terminated: filled by hand. */
	t = a;
	memset(t.nonce, 'a', sizeof(t.nonce));
	assert_int_equal(verify(&t, "POST", "/v1/jobs", "", T0, err), -EINVAL);
	assert_string_equal(err, "Omerta-Nonce is not NUL-terminated");
	assert_int_equal(omt_verify_request(&t, "POST", "/v1/jobs", T0, 300, id.pk, NULL, 0),
			 -EINVAL);
}

static void test_req_auth_from_headers(void **state)
{
	char sig[200], err[256];
	struct omt_req_auth a, b;
	struct ident id;
	uint8_t pk[32];

	(void)state;
	ident(&id, 3);
	assert_int_equal(omt_sign_request(id.sk, id.pk, "POST", "/v1/jobs", "{}", 2, T0, &a), 0);
	assert_int_equal(omt_req_auth_from_headers(&b, a.key, a.timestamp, a.nonce,
						   a.content_sha256, a.signature, "2", err,
						   sizeof(err)), 0);
	assert_int_equal(b.length, 2);
	assert_int_equal(omt_verify_request(&b, "POST", "/v1/jobs", T0, 60, pk, err, sizeof(err)),
			 0);
	/* Another Content-Length than was signed. */
	assert_int_equal(omt_req_auth_from_headers(&b, a.key, a.timestamp, a.nonce,
						   a.content_sha256, a.signature, NULL, err,
						   sizeof(err)), 0);
	assert_int_equal(omt_verify_request(&b, "POST", "/v1/jobs", T0, 60, pk, err, sizeof(err)),
			 -EKEYREJECTED);
	assert_int_equal(omt_req_auth_from_headers(&b, a.key, a.timestamp, a.nonce,
						   a.content_sha256, a.signature, "2x", err,
						   sizeof(err)), -EINVAL);
	assert_string_equal(err, "Content-Length is not decimal: '2x'");
	/* The omerta-v1 way: no Omerta-Content-SHA256, the body in the signature. */
	assert_int_equal(omt_req_auth_from_headers(&b, a.key, a.timestamp, a.nonce, NULL,
						   a.signature, "2", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Omerta-Content-SHA256 is missing: the request is signed with "
			    "omerta-v1, and this provider takes omerta-v2 only");
	assert_int_equal(omt_req_auth_from_headers(&b, NULL, a.timestamp, a.nonce,
						   a.content_sha256, a.signature, NULL, err,
						   sizeof(err)), -EINVAL);
	assert_string_equal(err, "Omerta-Key is missing");
	assert_int_equal(omt_req_auth_from_headers(&b, a.key, a.timestamp, "", a.content_sha256,
						   a.signature, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Omerta-Nonce is missing");
	memset(sig, 'A', sizeof(sig) - 1);
	sig[sizeof(sig) - 1] = '\0';
	assert_int_equal(omt_req_auth_from_headers(&b, a.key, a.timestamp, a.nonce,
						   a.content_sha256, sig, NULL, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "Omerta-Signature is too long (more than 88 characters)");
	assert_int_equal(omt_req_auth_from_headers(&b, a.key, "12345678901234567890123", a.nonce,
						   a.content_sha256, a.signature, NULL, err,
						   sizeof(err)), 0);
	assert_int_equal(omt_req_auth_from_headers(&b, a.key, "123456789012345678901234", a.nonce,
						   a.content_sha256, a.signature, NULL, err,
						   sizeof(err)), -EINVAL);
	assert_string_equal(err, "Omerta-Timestamp is too long (more than 23 characters)");
}

static void test_sign_response(void **state)
{
	static const char body[] = "{\"job\":\"0a1b2c3d\"}";
	char sig[89], bad[89], msg[256];
	struct omt_req_auth a, b;
	struct ident id, other;
	uint8_t raw[64];
	size_t n;

	(void)state;
	ident(&id, 1);
	ident(&other, 2);
	assert_int_equal(omt_sign_request(other.sk, other.pk, "POST", "/v1/jobs", "{}", 2, T0, &a),
			 0);
	assert_int_equal(omt_sign_response(id.sk, 201, a.digest, body, strlen(body), sig), 0);
	assert_int_equal(strlen(sig), 88);
	assert_int_equal(omt_verify_response(id.pk, 201, a.digest, body, strlen(body), sig), 0);
	assert_int_equal(omt_verify_response(id.pk, 200, a.digest, body, strlen(body), sig),
			 -EKEYREJECTED);
	assert_int_equal(omt_verify_response(id.pk, 201, a.digest, body, strlen(body) - 1, sig),
			 -EKEYREJECTED);
	assert_int_equal(omt_verify_response(other.pk, 201, a.digest, body, strlen(body), sig),
			 -EKEYREJECTED);
	/*
	 * A transplant: the same nonce, but another requester's request (its
	 * key, its body): the answer to one doesn't verify for the other.
	 */
	b = a;
	assert_int_equal(omt_sign_request(id.sk, id.pk, "POST", "/v1/jobs", "{}", 2, T0, &b), 0);
	assert_int_equal(omt_verify_response(id.pk, 201, b.digest, body, strlen(body), sig),
			 -EKEYREJECTED);
	strcpy(bad, sig);
	bad[0] = bad[0] == 'A' ? 'B' : 'A';
	assert_int_equal(omt_verify_response(id.pk, 201, a.digest, body, strlen(body), bad),
			 -EKEYREJECTED);
	assert_int_equal(omt_verify_response(id.pk, 201, a.digest, body, strlen(body), "c2ln"),
			 -EINVAL);
	assert_int_equal(omt_verify_response(id.pk, 201, a.digest, body, strlen(body), NULL),
			 -EINVAL);
	assert_int_equal(omt_sign_response(id.sk, 99, a.digest, NULL, 0, sig), -EINVAL);
	assert_int_equal(omt_sign_response(id.sk, 600, a.digest, NULL, 0, sig), -EINVAL);

	/* The exact bytes signed. */
	memset(a.digest, 0xab, 32);
	assert_int_equal(omt_sign_response(id.sk, 404, a.digest, "abc", 3, sig), 0);
	snprintf(msg, sizeof(msg), "omerta-v2 response\n404\n%s\n" SHA256_ABC,
		 "abababababababababababababababababababababababababababababababab");
	assert_int_equal(sodium_base642bin(raw, 64, sig, 88, NULL, &n, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	assert_int_equal(crypto_sign_verify_detached(raw, (uint8_t *)msg, strlen(msg), id.pk), 0);
	assert_int_equal(omt_sign_response(id.sk, 204, a.digest, NULL, 0, sig), 0);
	assert_int_equal(omt_verify_response(id.pk, 204, a.digest, "", 0, sig), 0);
}

static void test_nonce_cache(void **state)
{
	struct omt_nonce_cache *c;
	uint8_t a[32], b[32];

	(void)state;
	memset(a, 1, 32);
	memset(b, 2, 32);
	c = omt_nonce_cache_new(3, 4, 10);
	assert_non_null(c);
	assert_int_equal(omt_nonce_check(c, a, NONCE, 1000), 0);
	assert_int_equal(omt_nonce_check(c, a, NONCE, 1000), -EALREADY);
	/* The same nonce from someone else is someone else's. */
	assert_int_equal(omt_nonce_check(c, b, NONCE, 1001), 0);
	/* Kept for twice the window: a timestamp of now + window stays good that long. */
	assert_int_equal(omt_nonce_check(c, a, NONCE, 1020), -EALREADY);
	assert_int_equal(omt_nonce_check(c, a, NONCE, 1021), 0);
	assert_int_equal(omt_nonce_check(c, a, NONCE, 1021), -EALREADY);
	assert_int_equal(omt_nonce_check(c, b, NONCE, 1021), -EALREADY);
	assert_int_equal(omt_nonce_check(c, b, NONCE, 1022), 0);

	assert_int_equal(omt_nonce_check(c, a, "0011", 1022), -EINVAL);
	assert_int_equal(omt_nonce_check(c, a, "00112233445566778899AABBCCDDEEFF", 1022), -EINVAL);
	assert_int_equal(omt_nonce_check(c, a, NONCE "0", 1022), -EINVAL);
	omt_nonce_cache_free(c);
	omt_nonce_cache_free(NULL);

	errno = 0;
	assert_null(omt_nonce_cache_new(0, 4, 10));
	assert_int_equal(errno, EINVAL);
	assert_null(omt_nonce_cache_new(4, 0, 10));
	assert_null(omt_nonce_cache_new((1u << 24) + 1, 4, 10));
}

static void nonce_of(char out[33], unsigned int i)
{
	snprintf(out, 33, "%032x", i);
}

static void test_nonce_cache_full(void **state)
{
	struct omt_nonce_cache *c;
	uint8_t pk[32] = { 7 };
	char n[33];
	unsigned int i;

	(void)state;
	c = omt_nonce_cache_new(100, 1, 5);
	assert_non_null(c);
	for (i = 0; i < 100; i++) {
		nonce_of(n, i);
		assert_int_equal(omt_nonce_check(c, pk, n, 1000 + i / 10), 0);
	}
	/* Full: refused, and a replay is still a replay. */
	nonce_of(n, 100);
	assert_int_equal(omt_nonce_check(c, pk, n, 1009), -EBUSY);
	nonce_of(n, 5);
	assert_int_equal(omt_nonce_check(c, pk, n, 1009), -EALREADY);
	/* At 1011 the ten seen at 1000 are gone. */
	nonce_of(n, 100);
	assert_int_equal(omt_nonce_check(c, pk, n, 1010), -EBUSY);
	assert_int_equal(omt_nonce_check(c, pk, n, 1011), 0);
	for (i = 101; i < 110; i++) {
		nonce_of(n, i);
		assert_int_equal(omt_nonce_check(c, pk, n, 1011), 0);
	}
	nonce_of(n, 110);
	assert_int_equal(omt_nonce_check(c, pk, n, 1011), -EBUSY);
	/* Nonce 3 has expired, but there is no room for it yet; at 1012 those of 1001 go. */
	nonce_of(n, 3);
	assert_int_equal(omt_nonce_check(c, pk, n, 1011), -EBUSY);
	assert_int_equal(omt_nonce_check(c, pk, n, 1012), 0);
	nonce_of(n, 25);
	assert_int_equal(omt_nonce_check(c, pk, n, 1012), -EALREADY);
	/* Long after, all gone: the ring and the chains agree. */
	for (i = 0; i < 100; i++) {
		nonce_of(n, i + 1000);
		assert_int_equal(omt_nonce_check(c, pk, n, 5000), 0);
	}
	for (i = 0; i < 100; i++) {
		nonce_of(n, i + 1000);
		assert_int_equal(omt_nonce_check(c, pk, n, 5000), -EALREADY);
	}
	omt_nonce_cache_free(c);
}

/* omt_nonce_check of the nonce numbered i. */
static int check_n(struct omt_nonce_cache *c, const uint8_t pk[32], char n[33], unsigned int i,
		   int64_t now)
{
	nonce_of(n, i);
	return omt_nonce_check(c, pk, n, now);
}

/* One key flooding the cache fills its own room, not another's. */
static void test_nonce_cache_fair(void **state)
{
	struct omt_nonce_cache *c;
	uint8_t keys[3][32];
	char n[33];
	unsigned int i;

	(void)state;
	for (i = 0; i < 3; i++)
		memset(keys[i], i + 1, 32);
	c = omt_nonce_cache_new(100, 2, 10);
	assert_non_null(c);
	for (i = 0; i < 100; i++)
		assert_int_equal(check_n(c, keys[0], n, i, 1000), 0);
	/* Full for the flooder, as long as its nonces live; the others are served. */
	assert_int_equal(check_n(c, keys[0], n, 100, 1000), -EBUSY);
	assert_int_equal(check_n(c, keys[1], n, 0, 1000), 0);
	assert_int_equal(check_n(c, keys[1], n, 1, 1005), 0);
	/* Every nonce of it still remembered after its ring grew. */
	for (i = 0; i < 100; i++)
		assert_int_equal(check_n(c, keys[0], n, i, 1010), -EALREADY);
	/* Two keys at most: a third waits until one's nonces are gone... */
	assert_int_equal(check_n(c, keys[2], n, 0, 1010), -EBUSY);
	/* ...the flooder's, first seen at 1000, are gone after 1020; it gives its place up. */
	assert_int_equal(check_n(c, keys[2], n, 0, 1021), 0);
	assert_int_equal(check_n(c, keys[2], n, 0, 1021), -EALREADY);
	assert_int_equal(check_n(c, keys[1], n, 1, 1021), -EALREADY);
	omt_nonce_cache_free(c);
}

struct race {
	struct omt_nonce_cache *c;
	unsigned int fresh;
};

static void *race_thread(void *arg)
{
	struct race *r = arg;
	uint8_t pk[32] = { 9 };
	char n[33];
	unsigned int i;

	for (i = 0; i < 2000; i++) {
		nonce_of(n, i);
		if (omt_nonce_check(r->c, pk, n, 1000) == 0)
			r->fresh++;
	}
	return NULL;
}

/* Four threads replaying the same 2000 nonces: each is fresh exactly once. */
static void test_nonce_cache_threads(void **state)
{
	struct race r[4];
	pthread_t t[4];
	unsigned int total = 0;
	struct omt_nonce_cache *c = omt_nonce_cache_new(4096, 1, 60);
	int i;

	(void)state;
	assert_non_null(c);
	for (i = 0; i < 4; i++) {
		r[i].c = c;
		r[i].fresh = 0;
		assert_int_equal(pthread_create(&t[i], NULL, race_thread, &r[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		total += r[i].fresh;
	}
	assert_int_equal(total, 2000);
	omt_nonce_cache_free(c);
}

/* job */

#define GOOD_VPN "{\"endpoint\":\"10.201.1.2:51820\",\"public_key\":\"" WG_PUB "\"," \
	"\"vm_address\":\"10.77.0.2/24\",\"allowed_ips\":[\"10.77.0.0/24\"]," \
	"\"consumer_address\":\"10.77.0.1\"}"
#define GOOD_REQ "{\"description\":\"render frames 1-100\",\"command\":[\"sh\",\"-c\"," \
	"\"echo hi\"],\"cpus\":2,\"memory_mib\":512,\"timeout_s\":900,\"vpn\":" GOOD_VPN "}"

static int parse_req(const char *json, struct omt_job_request *r, char *err)
{
	return omt_job_request_parse(json, strlen(json), r, err, 512);
}

/* GOOD_REQ with path ("cpus", "vpn.endpoint") set to the JSON value, or removed (NULL). */
static char *variant(const char *path, const char *value)
{
	json_object *root = json_tokener_parse(GOOD_REQ), *o = root;
	const char *dot;
	char key[64], *s;

	assert_non_null(root);
	while ((dot = strchr(path, '.'))) {
		memcpy(key, path, dot - path);
		key[dot - path] = '\0';
		assert_true(json_object_object_get_ex(o, key, &o));
		path = dot + 1;
	}
	if (value)
		json_object_object_add(o, path, json_tokener_parse(value));
	else
		json_object_object_del(o, path);
	s = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
						  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return s;
}

static void assert_cidr(const struct omt_cidr4 *c, const char *want)
{
	char s[20];

	snprintf(s, sizeof(s), "%u.%u.%u.%u/%u", c->ip[0], c->ip[1], c->ip[2], c->ip[3], c->prefix);
	assert_string_equal(s, want);
}

static void test_job_request_good(void **state)
{
	struct omt_job_request r;
	uint8_t key[32];
	char err[512] = "x";

	(void)state;
	assert_int_equal(parse_req(GOOD_REQ, &r, err), 0);
	assert_string_equal(err, "");
	assert_string_equal(r.description, "render frames 1-100");
	assert_int_equal(r.n_command, 3);
	assert_string_equal(r.command[0], "sh");
	assert_string_equal(r.command[1], "-c");
	assert_string_equal(r.command[2], "echo hi");
	assert_null(r.command[3]);
	assert_null(r.script);
	assert_int_equal(r.cpus, 2);
	assert_int_equal(r.memory_mib, 512);
	assert_int_equal(r.timeout_s, 900);
	assert_memory_equal(r.vpn.endpoint_ip, ((uint8_t[]){ 10, 201, 1, 2 }), 4);
	assert_int_equal(r.vpn.endpoint_port, 51820);
	assert_int_equal(omt_key_from_b64(WG_PUB, key), 0);
	assert_memory_equal(r.vpn.public_key, key, 32);
	assert_cidr(&r.vpn.vm_address, "10.77.0.2/24");
	assert_int_equal(r.vpn.n_allowed_ips, 1);
	assert_cidr(&r.vpn.allowed_ips[0], "10.77.0.0/24");
	assert_memory_equal(r.vpn.consumer_address, ((uint8_t[]){ 10, 77, 0, 1 }), 4);
	omt_job_request_free(&r);
	assert_null(r.command);
}

static void test_job_request_script(void **state)
{
	static const char json[] =
		"  {\"script\":\"#!/bin/sh\\necho \\\"hi\\\" \\u00e9t\\u00e9\\n\",\n"
		"   \"vpn\":{\"endpoint\":\"203.0.113.5:1\",\"public_key\":\"" WG_PUB "\","
		"\"vm_address\":\"172.16.5.9/30\",\"allowed_ips\":[\"0.0.0.0/0\",\"10.77.0.5/24\","
		"\"192.168.7.200/20\",\"172.16.5.10/32\"],\"consumer_address\":\"172.16.5.10\"}}\r\n";
	struct omt_job_request r;
	char err[512];

	(void)state;
	assert_int_equal(parse_req(json, &r, err), 0);
	assert_string_equal(r.description, "");
	assert_null(r.command);
	assert_int_equal(r.n_command, 0);
	assert_string_equal(r.script, "#!/bin/sh\necho \"hi\" \xc3\xa9t\xc3\xa9\n");
	assert_int_equal(r.script_len, strlen(r.script));
	assert_int_equal(r.cpus, OMT_JOB_DEFAULT_CPUS);
	assert_int_equal(r.memory_mib, OMT_JOB_DEFAULT_MEMORY_MIB);
	assert_int_equal(r.timeout_s, OMT_JOB_DEFAULT_TIMEOUT_S);
	assert_int_equal(r.vpn.endpoint_port, 1);
	assert_int_equal(r.vpn.n_allowed_ips, 4);
	assert_cidr(&r.vpn.allowed_ips[0], "0.0.0.0/0");
	/* Host bits cleared, as wg does. */
	assert_cidr(&r.vpn.allowed_ips[1], "10.77.0.0/24");
	assert_cidr(&r.vpn.allowed_ips[2], "192.168.0.0/20");
	assert_cidr(&r.vpn.allowed_ips[3], "172.16.5.10/32");
	omt_job_request_free(&r);
}

static void test_job_request_bounds(void **state)
{
	static const struct {
		const char *path, *value;
	} good[] = {
		{ "cpus", "1" }, { "cpus", "64" }, { "memory_mib", "64" }, { "memory_mib", "65536" },
		{ "timeout_s", "1" }, { "timeout_s", "604800" }, { "description", "\"\"" },
		{ "description", "\"caf\\u00e9 \\u2603\"" }, { "command", "[\"true\",\"\"]" },
		{ "vpn.vm_address", "\"10.0.0.1/8\"" }, { "vpn.endpoint", "\"223.255.255.254:65535\"" },
		{ "vpn.endpoint", "\"1.0.0.0:51820\"" },
		/* Which addresses are the policy's to refuse (proto/endpoint.h), not the API's. */
		{ "vpn.endpoint", "\"127.0.0.1:51820\"" }, { "vpn.endpoint", "\"0.0.0.0:51820\"" },
		{ "vpn.endpoint", "\"224.0.0.1:51820\"" },
		{ "vpn.endpoint", "\"255.255.255.255:51820\"" },
	};
	struct omt_job_request r;
	char err[512], *json, *big;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		json = variant(good[i].path, good[i].value);
		if (parse_req(json, &r, err))
			fail_msg("%s=%s: %s", good[i].path, good[i].value, err);
		omt_job_request_free(&r);
		free(json);
	}

	big = malloc(OMT_JOB_MAX_BODY + 64);
	assert_non_null(big);
	/* description: 4096 bytes, not 4097. */
	strcpy(big, "\"");
	memset(big + 1, 'd', OMT_JOB_MAX_DESCRIPTION);
	strcpy(big + 1 + OMT_JOB_MAX_DESCRIPTION, "\"");
	json = variant("description", big);
	assert_int_equal(parse_req(json, &r, err), 0);
	assert_int_equal(strlen(r.description), OMT_JOB_MAX_DESCRIPTION);
	omt_job_request_free(&r);
	free(json);
	strcpy(big + 1 + OMT_JOB_MAX_DESCRIPTION, "d\"");
	json = variant("description", big);
	assert_int_equal(parse_req(json, &r, err), -EINVAL);
	assert_string_equal(err, "description is longer than 4096 bytes: "
			    "'dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd...'");
	free(json);

	/* An argument of 4096 bytes, not 4097. */
	strcpy(big, "[\"a\",\"");
	memset(big + 6, 'a', OMT_JOB_MAX_ARG);
	strcpy(big + 6 + OMT_JOB_MAX_ARG, "\"]");
	json = variant("command", big);
	assert_int_equal(parse_req(json, &r, err), 0);
	omt_job_request_free(&r);
	free(json);
	strcpy(big + 6 + OMT_JOB_MAX_ARG, "a\"]");
	json = variant("command", big);
	assert_int_equal(parse_req(json, &r, err), -EINVAL);
	assert_memory_equal(err, "command[1] is longer than 4096 bytes: 'aaa", 41);
	free(json);

	/* 64 arguments, not 65. */
	strcpy(big, "[\"x\"");
	for (i = 1; i < OMT_JOB_MAX_ARGS; i++)
		strcat(big, ",\"y\"");
	strcat(big, "]");
	json = variant("command", big);
	assert_int_equal(parse_req(json, &r, err), 0);
	assert_int_equal(r.n_command, 64);
	assert_null(r.command[64]);
	omt_job_request_free(&r);
	free(json);
	strcpy(big + strlen(big) - 1, ",\"z\"]");
	json = variant("command", big);
	assert_int_equal(parse_req(json, &r, err), -EINVAL);
	assert_string_equal(err, "command must have 1..64 arguments: 65");
	free(json);

	/* 16 allowed_ips, not 17. */
	strcpy(big, "[\"10.0.0.0/8\"");
	for (i = 1; i < OMT_JOB_MAX_ALLOWED_IPS; i++)
		strcat(big, ",\"10.0.0.0/8\"");
	strcat(big, "]");
	json = variant("vpn.allowed_ips", big);
	assert_int_equal(parse_req(json, &r, err), 0);
	assert_int_equal(r.vpn.n_allowed_ips, 16);
	omt_job_request_free(&r);
	free(json);
	strcpy(big + strlen(big) - 1, ",\"10.0.0.0/8\"]");
	json = variant("vpn.allowed_ips", big);
	assert_int_equal(parse_req(json, &r, err), -EINVAL);
	assert_string_equal(err, "vpn.allowed_ips must have 1..16 entries: 17");
	free(json);

	/* A script of the most bytes is fine, one more is not. */
	json = variant("command", NULL);
	strcpy(big, "{\"script\":\"");
	memset(big + 11, 's', OMT_JOB_MAX_SCRIPT);
	sprintf(big + 11 + OMT_JOB_MAX_SCRIPT, "\",%s", json + 1);
	assert_int_equal(parse_req(big, &r, err), 0);
	assert_int_equal(r.script_len, OMT_JOB_MAX_SCRIPT);
	omt_job_request_free(&r);
	memset(big + 11, 's', OMT_JOB_MAX_SCRIPT + 1);
	sprintf(big + 11 + OMT_JOB_MAX_SCRIPT + 1, "\",%s", json + 1);
	free(json);
	assert_int_equal(parse_req(big, &r, err), -EINVAL);
	assert_memory_equal(err, "script is longer than 1048576 bytes: 'sss", 40);

	/* A body over the limit is not even parsed. */
	memset(big, ' ', OMT_JOB_MAX_BODY + 1);
	assert_int_equal(omt_job_request_parse(big, OMT_JOB_MAX_BODY + 1, &r, err, 512), -E2BIG);
	assert_string_equal(err, "the body is larger than 12582912 bytes: 12582913");
	free(big);
}

static const struct {
	const char *path, *value, *err;
} bad_requests[] = {
	{ "cpus", "0", "cpus must be 1..64: 0" },
	{ "cpus", "65", "cpus must be 1..64: 65" },
	{ "cpus", "-1", "cpus must be 1..64: -1" },
	{ "cpus", "4294967298", "cpus must be 1..64: 4294967298" },
	{ "cpus", "18446744073709551615", "cpus must be 1..64: 18446744073709551615" },
	{ "cpus", "\"2\"", "cpus must be 1..64: \"2\"" },
	{ "cpus", "2.0", "cpus must be 1..64: 2.0" },
	{ "cpus", "null", "cpus must be 1..64: null" },
	{ "cpus", "true", "cpus must be 1..64: true" },
	{ "memory_mib", "63", "memory_mib must be 64..65536: 63" },
	{ "memory_mib", "65537", "memory_mib must be 64..65536: 65537" },
	{ "timeout_s", "0", "timeout_s must be 1..604800: 0" },
	{ "timeout_s", "604801", "timeout_s must be 1..604800: 604801" },
	{ "description", "5", "description must be a string: 5" },
	{ "description", "\"two\\nlines\"", "description contains a control character: 'two\\x0alines'" },
	{ "description", "\"caf\\u00e9\\u001b[2J\"",
	  "description contains a control character: 'caf\\xc3\\xa9\\x1b[2J'" },
	{ "description", "\"del\\u007f\"", "description contains a control character: 'del\\x7f'" },
	{ "description", "\"a\\u0000b\"", "description contains a NUL byte: 'a\\x00b'" },
	{ "command", NULL, "command or script is missing" },
	{ "script", "\"#!/bin/sh\"", "give either command or script, not both" },
	{ "command", "[]", "command must have 1..64 arguments: 0" },
	{ "command", "\"ls -l\"", "command must be an array of strings: \"ls -l\"" },
	{ "command", "{\"0\":\"ls\"}", "command must be an array of strings: {\"0\":\"ls\"}" },
	{ "command", "[\"\"]", "command[0] is empty" },
	{ "command", "[\"ls\",1]", "command[1] must be a string: 1" },
	{ "command", "[\"ls\",[\"-l\"]]", "command[1] must be a string: [\"-l\"]" },
	{ "command", "[\"ls\",\"a\\u0000b\"]", "command[1] contains a NUL byte: 'a\\x00b'" },
	{ "foo", "1", "unknown field 'foo'" },
	{ "memory_mb", "1024", "unknown field 'memory_mb'" },
	{ "vpn.foo", "1", "unknown field 'vpn.foo'" },
	{ "vpn", NULL, "vpn is missing" },
	{ "vpn", "[]", "vpn must be an object: []" },
	{ "vpn", "null", "vpn must be an object: null" },
	{ "vpn.endpoint", NULL, "vpn.endpoint is missing" },
	{ "vpn.endpoint", "51820", "vpn.endpoint must be a string: 51820" },
	{ "vpn.endpoint", "\"consumer.example:51820\"",
	  "vpn.endpoint must be a literal IPv4:PORT: 'consumer.example:51820'" },
	{ "vpn.endpoint", "\"10.201.1.2\"", "vpn.endpoint must be a literal IPv4:PORT: '10.201.1.2'" },
	{ "vpn.endpoint", "\"10.201.1.2:0\"",
	  "vpn.endpoint must be a literal IPv4:PORT: '10.201.1.2:0'" },
	{ "vpn.endpoint", "\"10.201.1.2:65536\"",
	  "vpn.endpoint must be a literal IPv4:PORT: '10.201.1.2:65536'" },
	{ "vpn.endpoint", "\"[fd00::1]:51820\"",
	  "vpn.endpoint must be a literal IPv4:PORT: '[fd00::1]:51820'" },
	{ "vpn.public_key", NULL, "vpn.public_key is missing" },
	{ "vpn.public_key", "\"AAAA\"", "vpn.public_key is not a base64 32-byte key: 'AAAA'" },
	{ "vpn.vm_address", "\"10.77.0.2\"",
	  "vpn.vm_address must be IPv4/PREFIX with a prefix of 8..30: '10.77.0.2'" },
	{ "vpn.vm_address", "\"10.77.0.2/31\"",
	  "vpn.vm_address must be IPv4/PREFIX with a prefix of 8..30: '10.77.0.2/31'" },
	{ "vpn.vm_address", "\"10.77.0.2/7\"",
	  "vpn.vm_address must be IPv4/PREFIX with a prefix of 8..30: '10.77.0.2/7'" },
	{ "vpn.vm_address", "\"10.77.0.2/024\"",
	  "vpn.vm_address must be IPv4/PREFIX with a prefix of 8..30: '10.77.0.2/024'" },
	{ "vpn.vm_address", "\"10.77.0.2/+24\"",
	  "vpn.vm_address must be IPv4/PREFIX with a prefix of 8..30: '10.77.0.2/+24'" },
	{ "vpn.vm_address", "\"10.77.0.0/24\"",
	  "vpn.vm_address is its subnet's network address: '10.77.0.0/24'" },
	{ "vpn.vm_address", "\"10.77.0.255/24\"",
	  "vpn.vm_address is its subnet's broadcast address: '10.77.0.255/24'" },
	{ "vpn.allowed_ips", NULL, "vpn.allowed_ips is missing" },
	{ "vpn.allowed_ips", "[]", "vpn.allowed_ips must have 1..16 entries: 0" },
	{ "vpn.allowed_ips", "\"10.77.0.0/24\"",
	  "vpn.allowed_ips must be an array of IPv4/PREFIX: \"10.77.0.0/24\"" },
	{ "vpn.allowed_ips", "[\"10.77.0.0/24\",\"fd00::/8\"]",
	  "vpn.allowed_ips[1] is not an IPv4/PREFIX: 'fd00::/8'" },
	{ "vpn.allowed_ips", "[\"10.77.0.0/33\"]",
	  "vpn.allowed_ips[0] is not an IPv4/PREFIX: '10.77.0.0/33'" },
	{ "vpn.allowed_ips", "[\"10.77.0.1\"]", "vpn.allowed_ips[0] is not an IPv4/PREFIX: '10.77.0.1'" },
	{ "vpn.allowed_ips", "[null]", "vpn.allowed_ips[0] must be a string: null" },
	{ "vpn.consumer_address", NULL, "vpn.consumer_address is missing" },
	{ "vpn.consumer_address", "\"10.77.0.1/24\"",
	  "vpn.consumer_address is not an IPv4 address: '10.77.0.1/24'" },
	{ "vpn.consumer_address", "\"10.78.0.1\"",
	  "vpn.consumer_address is outside vpn.vm_address's subnet 10.77.0.0/24: '10.78.0.1'" },
	{ "vpn.consumer_address", "\"10.77.0.2\"", "vpn.consumer_address is vpn.vm_address: '10.77.0.2'" },
	{ "vpn.consumer_address", "\"10.77.0.0\"",
	  "vpn.consumer_address is its subnet's network address: '10.77.0.0'" },
	{ "vpn.consumer_address", "\"10.77.0.255\"",
	  "vpn.consumer_address is its subnet's broadcast address: '10.77.0.255'" },
};

static void test_job_request_errors(void **state)
{
	struct omt_job_request r;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_requests) / sizeof(bad_requests[0]); i++) {
		char *json = variant(bad_requests[i].path, bad_requests[i].value);

		err[0] = '\0';
		if (parse_req(json, &r, err) != -EINVAL || strcmp(err, bad_requests[i].err))
			fail_msg("%s=%s: got '%s', want '%s'", bad_requests[i].path,
				 bad_requests[i].value ? bad_requests[i].value : "(removed)", err,
				 bad_requests[i].err);
		/* Wiped on error. */
		assert_null(r.description);
		assert_null(r.command);
		assert_int_equal(r.cpus, 0);
		free(json);
	}
}

static void test_job_request_not_json(void **state)
{
	static const struct {
		const char *json, *err;
	} bad[] = {
		{ "", "not JSON: it ends early" },
		{ "{\"command\":[\"ls\"]", "not JSON: it ends early" },
		{ "[]", "not a JSON object: []" },
		{ "\"x\"", "not a JSON object: \"x\"" },
		{ "{} {}", "not JSON: unexpected character at byte 3" },
		{ "{\"a\" 1}", "not JSON: object property name separator ':' expected at byte 5" },
		{ "{\"a\":1,}", "not JSON: unexpected character at byte 7" },
		{ "{\"description\":\"\xff\"}", "not JSON: invalid utf-8 string at byte 16" },
		{ "{\"a\":[[[[[[[[[[1]]]]]]]]]]}", "not JSON: nesting too deep at byte 12" },
	};
	struct omt_job_request r;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_req(bad[i].json, &r, err) != -EINVAL || strcmp(err, bad[i].err))
			fail_msg("%s: got '%s', want '%s'", bad[i].json, err, bad[i].err);
	}
	/* A NUL byte, and only len bytes are read. */
	assert_int_equal(omt_job_request_parse("{}\0{}", 5, &r, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "the body contains a NUL byte");
	assert_int_equal(omt_job_request_parse(GOOD_REQ "garbage", strlen(GOOD_REQ), &r, err,
					       sizeof(err)), 0);
	omt_job_request_free(&r);
	assert_int_equal(omt_job_request_parse("{}", 2, &r, NULL, 0), -EINVAL);
}

static void assert_request_equal(const struct omt_job_request *a, const struct omt_job_request *b)
{
	unsigned int i;

	assert_string_equal(a->description, b->description);
	assert_int_equal(a->n_command, b->n_command);
	for (i = 0; i < a->n_command; i++)
		assert_string_equal(a->command[i], b->command[i]);
	assert_int_equal(!a->script, !b->script);
	if (a->script) {
		assert_int_equal(a->script_len, b->script_len);
		assert_memory_equal(a->script, b->script, a->script_len);
	}
	assert_int_equal(a->cpus, b->cpus);
	assert_int_equal(a->memory_mib, b->memory_mib);
	assert_int_equal(a->timeout_s, b->timeout_s);
	assert_memory_equal(&a->vpn, &b->vpn, offsetof(struct omt_job_vpn, allowed_ips));
	assert_int_equal(a->vpn.n_allowed_ips, b->vpn.n_allowed_ips);
	for (i = 0; i < a->vpn.n_allowed_ips; i++)
		assert_memory_equal(&a->vpn.allowed_ips[i], &b->vpn.allowed_ips[i],
				    sizeof(struct omt_cidr4));
	assert_memory_equal(a->vpn.consumer_address, b->vpn.consumer_address, 4);
}

static void test_job_request_round_trip(void **state)
{
	char *argv[] = { "python3", "-c", "print(\"h\\u00e9\\n\\t\")", "", "caf\xc3\xa9", NULL };
	struct omt_job_request mine = {
		.description = "from the consumer: \"quoted\" / caf\xc3\xa9",
		.command = argv,
		.n_command = 5,
		.cpus = 3,
		.memory_mib = 1024,
		.timeout_s = 60,
		.vpn = {
			.endpoint_ip = { 192, 0, 2, 7 },
			.endpoint_port = 40000,
			.public_key = { 1, 2, 3 },
			.vm_address = { { 10, 99, 0, 2 }, 16 },
			.allowed_ips = { { { 10, 99, 0, 0 }, 16 }, { { 0, 0, 0, 0 }, 0 } },
			.n_allowed_ips = 2,
			.consumer_address = { 10, 99, 255, 1 },
		},
	};
	struct omt_job_request r, back;
	char err[512], *json, *again;

	(void)state;
	assert_int_equal(omt_job_request_format(&mine, &json), 0);
	if (omt_job_request_parse(json, strlen(json), &back, err, sizeof(err)))
		fail_msg("%s: %s", json, err);
	assert_request_equal(&mine, &back);
	omt_job_request_free(&back);
	free(json);

	/* Script, with bytes JSON must escape. */
	mine.command = NULL;
	mine.n_command = 0;
	mine.script = "#!/bin/sh\n\techo \"\\\" \x01 </script>\n";
	mine.script_len = strlen(mine.script);
	assert_int_equal(omt_job_request_format(&mine, &json), 0);
	assert_int_equal(omt_job_request_parse(json, strlen(json), &back, err, sizeof(err)), 0);
	assert_request_equal(&mine, &back);
	omt_job_request_free(&back);
	free(json);

	/* Parsed, formatted, parsed: the same, and the same JSON. */
	assert_int_equal(parse_req(GOOD_REQ, &r, err), 0);
	assert_int_equal(omt_job_request_format(&r, &json), 0);
	assert_int_equal(parse_req(json, &back, err), 0);
	assert_request_equal(&r, &back);
	assert_int_equal(omt_job_request_format(&back, &again), 0);
	assert_string_equal(json, again);
	assert_string_equal(json, GOOD_REQ);
	omt_job_request_free(&r);
	omt_job_request_free(&back);
	free(json);
	free(again);

	/* Neither or both of command and script. */
	mine.script = NULL;
	assert_int_equal(omt_job_request_format(&mine, &json), -EINVAL);
	assert_null(json);
	mine.script = "x";
	mine.script_len = 1;
	mine.command = argv;
	assert_int_equal(omt_job_request_format(&mine, &json), -EINVAL);
	/* format does not check bounds; parse does. */
	mine.command = NULL;
	mine.cpus = 0;
	assert_int_equal(omt_job_request_format(&mine, &json), 0);
	assert_int_equal(parse_req(json, &back, err), -EINVAL);
	assert_string_equal(err, "cpus must be 1..64: 0");
	free(json);
}

/* GOOD_REQ with more fields (",..." JSON members), or with a script for its command. */
static char *with(const char *extra, int script)
{
	char *base = script ? variant("command", NULL) : strdup(GOOD_REQ), *s;
	size_t n = strlen(base);

	assert_non_null(base);
	base[n - 1] = '\0';
	assert_true(asprintf(&s, "%s%s%s}", base, script ? ",\"script\":\"print(1)\\n\"" : "",
			     extra) > 0);
	free(base);
	return s;
}

static void test_job_request_workload(void **state)
{
	struct omt_job_request r, back;
	char err[512], *json, *again;

	(void)state;
	/* Absent: exec's defaults, no inputs, no output. */
	assert_int_equal(parse_req(GOOD_REQ, &r, err), 0);
	assert_int_equal(r.image, OMT_JOB_IMAGE_DEFAULT);
	assert_int_equal(r.language, OMT_JOB_LANGUAGE_DEFAULT);
	assert_int_equal(r.n_inputs, 0);
	assert_null(r.inputs);
	assert_int_equal(r.output, 0);
	omt_job_request_free(&r);

	json = with(",\"image\":\"debian\",\"language\":\"python\",\"output\":true,"
		    "\"inputs\":[{\"name\":\"data.txt\",\"data\":\"aGVsbG8K\"},"
		    "{\"data\":\"\",\"name\":\"empty\"},{\"name\":\"~ a b.c-\",\"data\":\"AP8=\"}]", 1);
	if (parse_req(json, &r, err))
		fail_msg("%s: %s", json, err);
	free(json);
	assert_int_equal(r.image, OMT_JOB_IMAGE_DEBIAN);
	assert_int_equal(r.language, OMT_JOB_LANGUAGE_PYTHON);
	assert_int_equal(r.output, 1);
	assert_int_equal(r.n_inputs, 3);
	assert_string_equal(r.inputs[0].name, "data.txt");
	assert_int_equal(r.inputs[0].len, 6);
	assert_memory_equal(r.inputs[0].data, "hello\n", 6);
	assert_string_equal(r.inputs[1].name, "empty");
	assert_int_equal(r.inputs[1].len, 0);
	assert_string_equal(r.inputs[2].name, "~ a b.c-");
	assert_int_equal(r.inputs[2].len, 2);
	assert_memory_equal(r.inputs[2].data, "\x00\xff", 2);
	/* Round trip: the same request, the same JSON. */
	assert_int_equal(omt_job_request_format(&r, &json), 0);
	assert_non_null(strstr(json, ",\"image\":\"debian\",\"language\":\"python\",\"inputs\":"
				     "[{\"name\":\"data.txt\",\"data\":\"aGVsbG8K\"},"));
	assert_non_null(strstr(json, "\"output\":true}"));
	assert_int_equal(parse_req(json, &back, err), 0);
	assert_int_equal(back.image, r.image);
	assert_int_equal(back.language, r.language);
	assert_int_equal(back.output, 1);
	assert_int_equal(back.n_inputs, 3);
	assert_memory_equal(back.inputs[2].data, "\x00\xff", 2);
	assert_int_equal(omt_job_request_format(&back, &again), 0);
	assert_string_equal(json, again);
	omt_job_request_free(&back);
	free(json);
	free(again);
	omt_job_request_free(&r);
	assert_null(r.inputs);

	/* sh and the minimal image; "output":false is no output; an empty list of inputs. */
	json = with(",\"image\":\"minimal\",\"language\":\"sh\",\"output\":false,\"inputs\":[]", 1);
	assert_int_equal(parse_req(json, &r, err), 0);
	free(json);
	assert_int_equal(r.image, OMT_JOB_IMAGE_MINIMAL);
	assert_int_equal(r.language, OMT_JOB_LANGUAGE_SH);
	assert_int_equal(r.output, 0);
	assert_int_equal(r.n_inputs, 0);
	omt_job_request_free(&r);
	json = with(",\"image\":\"minimal\"", 0);
	assert_int_equal(parse_req(json, &r, err), 0);
	free(json);
	omt_job_request_free(&r);

	assert_string_equal(omt_image_name(OMT_JOB_IMAGE_MINIMAL), "minimal");
	assert_null(omt_image_name(OMT_JOB_IMAGE_DEFAULT));
	assert_null(omt_image_name(OMT_JOB__IMAGE_COUNT));
	assert_null(omt_language_name(OMT_JOB_LANGUAGE_DEFAULT));
	{
		enum omt_job_language l;
		enum omt_job_image i;

		assert_int_equal(omt_language_parse("bash", &l), 0);
		assert_int_equal(l, OMT_JOB_LANGUAGE_BASH);
		assert_int_equal(omt_language_parse("perl", &l), -EINVAL);
		assert_int_equal(omt_image_parse("debian", &i), 0);
		assert_int_equal(i, OMT_JOB_IMAGE_DEBIAN);
		assert_int_equal(omt_image_parse("", &i), -EINVAL);
	}
}

static void test_job_request_workload_errors(void **state)
{
	static const struct {
		const char *extra;
		int script;
		const char *err;
	} bad[] = {
		{ ",\"image\":\"ubuntu\"", 0, "image must be 'minimal' or 'debian': 'ubuntu'" },
		{ ",\"image\":\"Debian\"", 0, "image must be 'minimal' or 'debian': 'Debian'" },
		{ ",\"image\":null", 0, "image must be a string: null" },
		{ ",\"language\":\"perl\"", 1, "language must be 'sh', 'bash' or 'python': 'perl'" },
		{ ",\"language\":\"python\"", 0,
		  "language is for a script, not a command: 'python'" },
		{ ",\"language\":\"sh\"", 0, "language is for a script, not a command: 'sh'" },
		{ ",\"language\":\"python\",\"image\":\"minimal\"", 1,
		  "language 'python' needs image 'debian' (minimal has only sh)" },
		{ ",\"language\":\"bash\",\"image\":\"minimal\"", 1,
		  "language 'bash' needs image 'debian' (minimal has only sh)" },
		{ ",\"output\":1", 0, "output must be true or false: 1" },
		{ ",\"output\":\"yes\"", 0, "output must be true or false: \"yes\"" },
		{ ",\"inputs\":{}", 0, "inputs must be an array of {\"name\",\"data\"}: {}" },
		{ ",\"inputs\":[\"a\"]", 0, "inputs[0] must be an object {\"name\",\"data\"}: \"a\"" },
		{ ",\"inputs\":[{\"name\":\"a\"}]", 0, "inputs[0].data is missing" },
		{ ",\"inputs\":[{\"data\":\"\"}]", 0, "inputs[0].name is missing" },
		{ ",\"inputs\":[{\"name\":\"a\",\"data\":\"\",\"mode\":420}]", 0,
		  "unknown field 'inputs[0].mode'" },
		{ ",\"inputs\":[{\"name\":\"a\",\"data\":\"\"},{\"name\":\"a\",\"data\":\"\"}]", 0,
		  "inputs[1].name repeats inputs[0].name: 'a'" },
		{ ",\"inputs\":[{\"name\":\"\",\"data\":\"\"}]", 0,
		  "inputs[0].name must be a file name (1..255 bytes of printable ASCII, no '/', "
		  "not '.' or '..'): ''" },
		{ ",\"inputs\":[{\"name\":\"a/b\",\"data\":\"\"}]", 0,
		  "inputs[0].name must be a file name (1..255 bytes of printable ASCII, no '/', "
		  "not '.' or '..'): 'a/b'" },
		{ ",\"inputs\":[{\"name\":\"..\",\"data\":\"\"}]", 0,
		  "inputs[0].name must be a file name (1..255 bytes of printable ASCII, no '/', "
		  "not '.' or '..'): '..'" },
		{ ",\"inputs\":[{\"name\":\".\",\"data\":\"\"}]", 0,
		  "inputs[0].name must be a file name (1..255 bytes of printable ASCII, no '/', "
		  "not '.' or '..'): '.'" },
		{ ",\"inputs\":[{\"name\":\"a\\nb\",\"data\":\"\"}]", 0,
		  "inputs[0].name must be a file name (1..255 bytes of printable ASCII, no '/', "
		  "not '.' or '..'): 'a\\x0ab'" },
		{ ",\"inputs\":[{\"name\":\"caf\\u00e9\",\"data\":\"\"}]", 0,
		  "inputs[0].name must be a file name (1..255 bytes of printable ASCII, no '/', "
		  "not '.' or '..'): 'caf\\xc3\\xa9'" },
		{ ",\"inputs\":[{\"name\":\"a\\u0000\",\"data\":\"\"}]", 0,
		  "inputs[0].name contains a NUL byte: 'a\\x00'" },
		{ ",\"inputs\":[{\"name\":\"a\",\"data\":\"aGVsbG8\"}]", 0,
		  "inputs[0].data is not base64: 'aGVsbG8'" },
		{ ",\"inputs\":[{\"name\":\"a\",\"data\":\"aGVs bG8K\"}]", 0,
		  "inputs[0].data is not base64: 'aGVs bG8K'" },
		{ ",\"inputs\":[{\"name\":\"a\",\"data\":\"aGVsbG8_\"}]", 0,
		  "inputs[0].data is not base64: 'aGVsbG8_'" },
		{ ",\"inputs\":[{\"name\":\"a\",\"data\":5}]", 0, "inputs[0].data must be a string: 5" },
	};
	struct omt_job_request r;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *json = with(bad[i].extra, bad[i].script);

		err[0] = '\0';
		if (parse_req(json, &r, err) != -EINVAL || strcmp(err, bad[i].err))
			fail_msg("%s: got '%s', want '%s'", bad[i].extra, err, bad[i].err);
		assert_null(r.inputs);
		assert_null(r.description);
		free(json);
	}
}

/* ",\"inputs\":[...]" of n inputs of size bytes each, named i0, i1, ... */
static char *inputs_json(unsigned int n, size_t size, size_t last_size)
{
	size_t b64 = sodium_base64_ENCODED_LEN(size > last_size ? size : last_size,
					       sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(n * (b64 + 64) + 64), *o = s;
	uint8_t *data = calloc(1, size > last_size ? size : last_size);
	unsigned int i;

	assert_non_null(s);
	assert_non_null(data);
	o += sprintf(o, ",\"inputs\":[");
	for (i = 0; i < n; i++) {
		size_t len = i + 1 == n ? last_size : size;

		o += sprintf(o, "%s{\"name\":\"i%u\",\"data\":\"", i ? "," : "", i);
		sodium_bin2base64(o, b64, data, len, sodium_base64_VARIANT_ORIGINAL);
		o += strlen(o);
		o += sprintf(o, "\"}");
	}
	strcpy(o, "]");
	free(data);
	return s;
}

static void test_job_request_workload_bounds(void **state)
{
	struct omt_job_request r;
	char err[512], *extra, *json, name[300];
	size_t total;

	(void)state;
	/* 64 inputs, not 65. */
	extra = inputs_json(64, 1, 1);
	json = with(extra, 0);
	assert_int_equal(parse_req(json, &r, err), 0);
	assert_int_equal(r.n_inputs, 64);
	assert_string_equal(r.inputs[63].name, "i63");
	omt_job_request_free(&r);
	free(json);
	free(extra);
	extra = inputs_json(65, 1, 1);
	json = with(extra, 0);
	assert_int_equal(parse_req(json, &r, err), -EINVAL);
	assert_string_equal(err, "inputs must have 0..64 entries: 65");
	free(json);
	free(extra);

	/* 8 MiB in all, not a byte more: in one input, or over many. */
	extra = inputs_json(1, 0, OMT_JOB_MAX_INPUT_BYTES);
	json = with(extra, 0);
	assert_true(strlen(json) <= OMT_JOB_MAX_BODY);
	assert_int_equal(parse_req(json, &r, err), 0);
	assert_int_equal(r.inputs[0].len, OMT_JOB_MAX_INPUT_BYTES);
	omt_job_request_free(&r);
	free(json);
	free(extra);
	total = OMT_JOB_MAX_INPUT_BYTES / 8;
	extra = inputs_json(8, total, total + 1);
	json = with(extra, 0);
	assert_int_equal(parse_req(json, &r, err), -EINVAL);
	assert_string_equal(err, "inputs hold more than 8388608 bytes with inputs[7]: 'i7'");
	free(json);
	free(extra);
	/* Caught before decoding: by its base64's length, or what that length decodes to. */
	extra = inputs_json(1, 0, OMT_JOB_MAX_INPUT_BYTES + 1);
	json = with(extra, 0);
	assert_int_equal(parse_req(json, &r, err), -EINVAL);
	assert_string_equal(err, "inputs hold more than 8388608 bytes with inputs[0]: 'i0'");
	free(json);
	free(extra);
	extra = inputs_json(1, 0, OMT_JOB_MAX_INPUT_BYTES + 3);
	json = with(extra, 0);
	assert_int_equal(parse_req(json, &r, err), -EINVAL);
	assert_memory_equal(err, "inputs[0].data is longer than 11184812 bytes: 'AAAA", 50);
	free(json);
	free(extra);

	/* A name of 255 bytes, not 256. */
	memset(name, 'n', 255);
	name[255] = '\0';
	assert_true(asprintf(&extra, ",\"inputs\":[{\"name\":\"%s\",\"data\":\"\"}]", name) > 0);
	json = with(extra, 0);
	assert_int_equal(parse_req(json, &r, err), 0);
	assert_int_equal(strlen(r.inputs[0].name), 255);
	omt_job_request_free(&r);
	free(json);
	free(extra);
	strcat(name, "n");
	assert_true(asprintf(&extra, ",\"inputs\":[{\"name\":\"%s\",\"data\":\"\"}]", name) > 0);
	json = with(extra, 0);
	assert_int_equal(parse_req(json, &r, err), -EINVAL);
	assert_memory_equal(err, "inputs[0].name is longer than 255 bytes: 'nnn", 44);
	free(json);
	free(extra);

	assert_int_equal(omt_job_input_name_check("a", 1), 0);
	assert_int_equal(omt_job_input_name_check("...", 3), 0);
	assert_int_equal(omt_job_input_name_check("a\x7f", 2), -EINVAL);
	assert_int_equal(omt_job_input_name_check("", 0), -EINVAL);

	/* format: what can't fit the body, or makes no sense. */
	{
		struct omt_job_input in[2] = { { "a", NULL, 1 } };
		struct omt_job_request mine = { .description = "", .script = "x", .script_len = 1,
						.inputs = in, .n_inputs = 1 };

		assert_int_equal(omt_job_request_format(&mine, &json), -EINVAL);
		in[0].data = calloc(1, OMT_JOB_MAX_BODY);
		in[0].len = OMT_JOB_MAX_BODY;
		assert_int_equal(omt_job_request_format(&mine, &json), -E2BIG);
		in[0].len = OMT_JOB_MAX_INPUT_BYTES;
		assert_int_equal(omt_job_request_format(&mine, &json), 0);
		free(json);
		in[1] = in[0];
		mine.n_inputs = 2;
		assert_int_equal(omt_job_request_format(&mine, &json), -E2BIG);
		mine.inputs = NULL;
		assert_int_equal(omt_job_request_format(&mine, &json), -EINVAL);
		free(in[0].data);
	}
}

static void test_job_files(void **state)
{
	static const char good[] =
		"{\"files\":[{\"path\":\"a/b.txt\",\"mode\":420,\"data\":\"aGVsbG8K\"},"
		"{\"path\":\"run \\\"me\\\"\\\\\\u0001\",\"mode\":493,\"data\":\"\"},"
		"{\"path\":\"caf\\u00e9\",\"mode\":0,\"data\":\"AP8=\"}],"
		"\"dirs\":[\"a\",\"a/c\"],\"error\":\"file 'x': exists already\"}";
	struct omt_job_files f, back;
	char err[512], *json, *again;

	(void)state;
	if (omt_job_files_parse(good, strlen(good), &f, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(f.n_files, 3);
	assert_string_equal(f.files[0].path, "a/b.txt");
	assert_int_equal(f.files[0].mode, 0644);
	assert_int_equal(f.files[0].len, 6);
	assert_memory_equal(f.files[0].data, "hello\n", 6);
	assert_string_equal(f.files[1].path, "run \"me\"\\\x01");
	assert_int_equal(f.files[1].mode, 0755);
	assert_int_equal(f.files[1].len, 0);
	assert_string_equal(f.files[2].path, "caf\xc3\xa9");
	assert_memory_equal(f.files[2].data, "\x00\xff", 2);
	assert_int_equal(f.n_dirs, 2);
	assert_string_equal(f.dirs[1], "a/c");
	assert_string_equal(f.error, "file 'x': exists already");
	/* Formatted as json-c would, parsed back the same. */
	assert_int_equal(omt_job_files_format(&f, &json), 0);
	assert_string_equal(json,
			    "{\"files\":[{\"path\":\"a/b.txt\",\"mode\":420,\"data\":\"aGVsbG8K\"},"
			    "{\"path\":\"run \\\"me\\\"\\\\\\u0001\",\"mode\":493,\"data\":\"\"},"
			    "{\"path\":\"caf\xc3\xa9\",\"mode\":0,\"data\":\"AP8=\"}],"
			    "\"dirs\":[\"a\",\"a/c\"],\"error\":\"file 'x': exists already\"}");
	assert_int_equal(omt_job_files_parse(json, strlen(json), &back, err, sizeof(err)), 0);
	assert_int_equal(omt_job_files_format(&back, &again), 0);
	assert_string_equal(json, again);
	omt_job_files_free(&back);
	free(json);
	free(again);
	omt_job_files_free(&f);
	assert_null(f.files);

	/* Nothing at all; unknown fields skipped. */
	json = "{\"files\":[],\"dirs\":[],\"more\":1}";
	assert_int_equal(omt_job_files_parse(json, strlen(json), &f, err, sizeof(err)), 0);
	assert_int_equal(f.n_files + f.n_dirs, 0);
	assert_string_equal(f.error, "");
	assert_int_equal(omt_job_files_format(&f, &json), 0);
	assert_string_equal(json, "{\"files\":[],\"dirs\":[]}");
	free(json);
	omt_job_files_free(&f);

	static const struct {
		const char *json, *err;
	} bad[] = {
		{ "{\"dirs\":[]}", "files is missing" },
		{ "{\"files\":[]}", "dirs is missing" },
		{ "{\"files\":{},\"dirs\":[]}", "files must be an array: {}" },
		{ "{\"files\":[],\"dirs\":\"a\"}", "dirs must be an array: \"a\"" },
		{ "{\"files\":[],\"dirs\":[\"../a\"]}",
		  "dirs[0] is not a relative path without empty, '.' or '..' parts: '../a'" },
		{ "{\"files\":[],\"dirs\":[\"/etc\"]}",
		  "dirs[0] is not a relative path without empty, '.' or '..' parts: '/etc'" },
		{ "{\"files\":[],\"dirs\":[\"a\",\"a//b\"]}",
		  "dirs[1] is not a relative path without empty, '.' or '..' parts: 'a//b'" },
		{ "{\"files\":[],\"dirs\":[\"a/.\"]}",
		  "dirs[0] is not a relative path without empty, '.' or '..' parts: 'a/.'" },
		{ "{\"files\":[],\"dirs\":[\"a/\"]}",
		  "dirs[0] is not a relative path without empty, '.' or '..' parts: 'a/'" },
		{ "{\"files\":[],\"dirs\":[\"\"]}",
		  "dirs[0] is not a relative path without empty, '.' or '..' parts: ''" },
		{ "{\"files\":[],\"dirs\":[\"a\\u0000\"]}", "dirs[0] contains a NUL byte: 'a\\x00'" },
		{ "{\"files\":[],\"dirs\":[1]}", "dirs[0] must be a string: 1" },
		{ "{\"files\":[5],\"dirs\":[]}",
		  "files[0] must be an object {\"path\",\"mode\",\"data\"}: 5" },
		{ "{\"files\":[{\"mode\":420,\"data\":\"\"}],\"dirs\":[]}", "files[0].path is missing" },
		{ "{\"files\":[{\"path\":\"../x\",\"mode\":420,\"data\":\"\"}],\"dirs\":[]}",
		  "files[0].path is not a relative path without empty, '.' or '..' parts: '../x'" },
		{ "{\"files\":[{\"path\":\"x\",\"data\":\"\"}],\"dirs\":[]}", "files[0].mode is missing" },
		{ "{\"files\":[{\"path\":\"x\",\"mode\":512,\"data\":\"\"}],\"dirs\":[]}",
		  "files[0].mode must be 0..511: 512" },
		{ "{\"files\":[{\"path\":\"x\",\"mode\":-1,\"data\":\"\"}],\"dirs\":[]}",
		  "files[0].mode must be 0..511: -1" },
		{ "{\"files\":[{\"path\":\"x\",\"mode\":420}],\"dirs\":[]}", "files[0].data is missing" },
		{ "{\"files\":[{\"path\":\"x\",\"mode\":420,\"data\":\"a\"}],\"dirs\":[]}",
		  "files[0].data is not base64: 'a'" },
		{ "{\"files\":[],\"dirs\":[],\"error\":\"\"}",
		  "error must be 1..1024 characters of printable ASCII: ''" },
		{ "{\"files\":[],\"dirs\":[],\"error\":\"\\u001b[2J\"}",
		  "error must be 1..1024 characters of printable ASCII: '\\x1b[2J'" },
		{ "{\"files\":[],\"dirs\":[],\"error\":7}", "error must be a string: 7" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (omt_job_files_parse(bad[i].json, strlen(bad[i].json), &f, err, sizeof(err)) !=
			    -EINVAL || strcmp(err, bad[i].err))
			fail_msg("%s: got '%s', want '%s'", bad[i].json, err, bad[i].err);
		assert_null(f.files);
		assert_null(f.dirs);
	}
}

static void test_job_files_bounds(void **state)
{
	struct omt_job_files f = {}, back;
	char err[512], *json, path[OMT_MSG_MAX_PATH + 2];
	size_t i;

	(void)state;
	/* 10000 entries, not 10001. */
	f.dirs = calloc(OMT_JOB_FILES_MAX_ENTRIES + 1, sizeof(*f.dirs));
	assert_non_null(f.dirs);
	for (i = 0; i <= OMT_JOB_FILES_MAX_ENTRIES; i++)
		assert_true(asprintf(&f.dirs[i], "d%zu", i) > 0);
	f.n_dirs = OMT_JOB_FILES_MAX_ENTRIES;
	assert_int_equal(omt_job_files_format(&f, &json), 0);
	assert_int_equal(omt_job_files_parse(json, strlen(json), &back, err, sizeof(err)), 0);
	assert_int_equal(back.n_dirs, OMT_JOB_FILES_MAX_ENTRIES);
	omt_job_files_free(&back);
	free(json);
	f.n_dirs++;
	assert_int_equal(omt_job_files_format(&f, &json), -EINVAL);
	/* As a provider would send it anyway. */
	json = malloc(20 * (OMT_JOB_FILES_MAX_ENTRIES + 1) + 64);
	assert_non_null(json);
	strcpy(json, "{\"files\":[],\"dirs\":[\"d\"");
	for (i = 1; i <= OMT_JOB_FILES_MAX_ENTRIES; i++)
		strcat(json + strlen(json) - 8, ",\"d\"");
	strcat(json, "]}");
	assert_int_equal(omt_job_files_parse(json, strlen(json), &back, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "files and dirs hold more than 10000 entries: 10001");
	free(json);
	omt_job_files_free(&f);

	/* A path of 4096 bytes, not 4097; 255 bytes a component, not 256. */
	memset(path, 'p', OMT_MSG_MAX_PATH);
	for (i = 200; i < OMT_MSG_MAX_PATH; i += 200)
		path[i] = '/';
	path[OMT_MSG_MAX_PATH] = '\0';
	assert_int_equal(omt_job_file_path_check(path, OMT_MSG_MAX_PATH), 0);
	assert_int_equal(omt_job_file_path_check(path, OMT_MSG_MAX_PATH + 1), -E2BIG);
	memset(path, 'p', 256);
	assert_int_equal(omt_job_file_path_check(path, 256), -E2BIG);
	assert_int_equal(omt_job_file_path_check(path, 255), 0);
	/* UTF-8 only: JSON carries nothing else. */
	assert_int_equal(omt_job_file_path_check("caf\xc3\xa9", 5), 0);
	assert_int_equal(omt_job_file_path_check("caf\xe9", 4), -EINVAL);
	assert_int_equal(omt_job_file_path_check("\xc0\xaf", 2), -EINVAL);	/* overlong '/' */
	assert_int_equal(omt_job_file_path_check("\xed\xa0\x80", 3), -EINVAL);	/* surrogate */
	assert_int_equal(omt_job_file_path_check("\xf4\x90\x80\x80", 4), -EINVAL);
	assert_int_equal(omt_job_file_path_check("\xf0\x9f\x98\x80", 4), 0);
	assert_int_equal(omt_job_file_path_check("\xe2\x82", 2), -EINVAL);

	/* 64 MiB of data, not a byte more. */
	f.files = calloc(2, sizeof(*f.files));
	assert_non_null(f.files);
	f.files[0] = (struct omt_job_file){ strdup("big"), 0644, calloc(1, OMT_JOB_FILES_MAX_BYTES),
					    OMT_JOB_FILES_MAX_BYTES };
	f.n_files = 1;
	assert_int_equal(omt_job_files_format(&f, &json), 0);
	assert_true(strlen(json) <= OMT_JOB_FILES_MAX_ANSWER);
	assert_int_equal(omt_job_files_parse(json, strlen(json), &back, err, sizeof(err)), 0);
	assert_int_equal(back.files[0].len, OMT_JOB_FILES_MAX_BYTES);
	omt_job_files_free(&back);
	f.files[1] = (struct omt_job_file){ strdup("one"), 0644, calloc(1, 1), 1 };
	f.n_files = 2;
	{
		char *more;

		assert_int_equal(omt_job_files_format(&f, &more), -EINVAL);
		/* The same, sent anyway: one byte too many. */
		strcpy(json + strlen(json) - strlen("],\"dirs\":[]}"),
		       ",{\"path\":\"one\",\"mode\":420,\"data\":\"AA==\"}],\"dirs\":[]}");
		assert_int_equal(omt_job_files_parse(json, strlen(json), &back, err, sizeof(err)),
				 -EINVAL);
		assert_string_equal(err, "files hold more than 67108864 bytes with files[1]: 'one'");
	}
	free(json);
	omt_job_files_free(&f);
}

static void test_job_ids_offsets(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(omt_job_id_validate("0a1b2c3d"), 0);
	assert_int_equal(omt_job_id_validate("0A1B2C3D"), -EINVAL);
	assert_int_equal(omt_job_id_validate("0a1b2c3"), -EINVAL);
	assert_int_equal(omt_job_id_validate("0a1b2c3d0"), -EINVAL);
	assert_int_equal(omt_job_id_validate("0a1b2c3g"), -EINVAL);
	assert_int_equal(omt_job_id_validate(""), -EINVAL);

	assert_int_equal(omt_job_offset_parse("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(omt_job_offset_parse("65536", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(omt_job_offset_parse("9223372036854775807", &v), 0);
	assert_int_equal(v, INT64_MAX);
	assert_int_equal(omt_job_offset_parse("9223372036854775808", &v), -EINVAL);
	assert_int_equal(omt_job_offset_parse("99999999999999999999", &v), -EINVAL);
	assert_int_equal(omt_job_offset_parse("", &v), -EINVAL);
	assert_int_equal(omt_job_offset_parse("01", &v), -EINVAL);
	assert_int_equal(omt_job_offset_parse("-1", &v), -EINVAL);
	assert_int_equal(omt_job_offset_parse("1 ", &v), -EINVAL);
	assert_int_equal(omt_job_offset_parse("0x10", &v), -EINVAL);
	assert_int_equal(v, INT64_MAX);

	assert_string_equal(omt_job_state_name(OMT_JOB_CANCELLED), "cancelled");
	assert_string_equal(omt_job_state_name(OMT_JOB__STATE_COUNT), "unknown");
}

static void test_job_accept(void **state)
{
	static const char good[] = "{\"job\":\"0a1b2c3d\",\"vm_public_key\":\"" WG_PUB "\","
				   "\"state\":\"queued\"}";
	static const struct {
		const char *json, *err;
	} bad[] = {
		{ "{\"vm_public_key\":\"" WG_PUB "\",\"state\":\"queued\"}", "job is missing" },
		{ "{\"job\":\"0A1B2C3D\",\"vm_public_key\":\"" WG_PUB "\",\"state\":\"queued\"}",
		  "job is not 8 lowercase hex digits: '0A1B2C3D'" },
		{ "{\"job\":12345678,\"vm_public_key\":\"" WG_PUB "\",\"state\":\"queued\"}",
		  "job must be a string: 12345678" },
		{ "{\"job\":\"0a1b2c3d\",\"vm_public_key\":\"AAAA\",\"state\":\"queued\"}",
		  "vm_public_key is not a base64 32-byte key: 'AAAA'" },
		{ "{\"job\":\"0a1b2c3d\",\"vm_public_key\":\"" WG_PUB "\",\"state\":\"sleeping\"}",
		  "state is not one of queued, running, done, failed, cancelled: 'sleeping'" },
		{ "{\"job\":\"0a1b2c3d\",\"vm_public_key\":\"" WG_PUB "\"}", "state is missing" },
	};
	struct omt_job_accept a, back;
	uint8_t key[32];
	char err[512], *json;
	size_t i;

	(void)state;
	assert_int_equal(omt_job_accept_parse(good, strlen(good), &a, err, sizeof(err)), 0);
	assert_string_equal(a.job, "0a1b2c3d");
	assert_int_equal(omt_key_from_b64(WG_PUB, key), 0);
	assert_memory_equal(a.vm_public_key, key, 32);
	assert_int_equal(a.state, OMT_JOB_QUEUED);
	assert_int_equal(omt_job_accept_format(&a, &json), 0);
	assert_string_equal(json, good);
	free(json);

	a.state = OMT_JOB_RUNNING;
	assert_int_equal(omt_job_accept_format(&a, &json), 0);
	assert_int_equal(omt_job_accept_parse(json, strlen(json), &back, err, sizeof(err)), 0);
	assert_memory_equal(&a, &back, sizeof(a));
	free(json);

	/* Fields added by a newer provider are skipped. */
	json = "{\"job\":\"0a1b2c3d\",\"vm_public_key\":\"" WG_PUB "\",\"state\":\"queued\","
	       "\"queue_position\":3,\"extra\":{\"x\":[1]}}";
	assert_int_equal(omt_job_accept_parse(json, strlen(json), &a, err, sizeof(err)), 0);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (omt_job_accept_parse(bad[i].json, strlen(bad[i].json), &a, err,
					 sizeof(err)) != -EINVAL || strcmp(err, bad[i].err))
			fail_msg("%s: got '%s', want '%s'", bad[i].json, err, bad[i].err);
		assert_string_equal(a.job, "");
	}
	strcpy(a.job, "xyz");
	assert_int_equal(omt_job_accept_format(&a, &json), -EINVAL);
	strcpy(a.job, "0a1b2c3d");
	a.state = OMT_JOB__STATE_COUNT;
	assert_int_equal(omt_job_accept_format(&a, &json), -EINVAL);
}

static void test_job_status(void **state)
{
	static const struct {
		const char *json, *err;
	} bad[] = {
		{ "{\"job\":\"0a1b2c3d\",\"state\":\"done\",\"exit_status\":256}",
		  "exit_status must be 0..255: 256" },
		{ "{\"job\":\"0a1b2c3d\",\"state\":\"done\",\"exit_status\":-1}",
		  "exit_status must be 0..255: -1" },
		{ "{\"job\":\"0a1b2c3d\",\"state\":\"done\",\"exit_status\":\"0\"}",
		  "exit_status must be 0..255: \"0\"" },
		{ "{\"job\":\"0a1b2c3d\",\"state\":\"done\",\"outcome\":\"Rogue!\"}",
		  "outcome is not 1..32 of [a-z0-9_]: 'Rogue!'" },
		{ "{\"job\":\"0a1b2c3d\",\"state\":\"done\",\"outcome\":\"\"}",
		  "outcome is not 1..32 of [a-z0-9_]: ''" },
		{ "{\"job\":\"0a1b2c3d\",\"state\":\"done\",\"outcome\":"
		  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
		  "outcome is not 1..32 of [a-z0-9_]: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'" },
		{ "{\"job\":\"0a1b2c3d\",\"state\":\"Done\"}",
		  "state is not one of queued, running, done, failed, cancelled: 'Done'" },
	};
	struct omt_job_status s, back;
	char err[512], *json;
	size_t i;

	(void)state;
	json = "{\"job\":\"0a1b2c3d\",\"state\":\"running\"}";
	assert_int_equal(omt_job_status_parse(json, strlen(json), &s, err, sizeof(err)), 0);
	assert_string_equal(s.job, "0a1b2c3d");
	assert_int_equal(s.state, OMT_JOB_RUNNING);
	assert_string_equal(s.outcome, "");
	assert_int_equal(s.exit_status, -1);
	assert_int_equal(omt_job_status_format(&s, &json), 0);
	assert_string_equal(json, "{\"job\":\"0a1b2c3d\",\"state\":\"running\"}");
	free(json);

	json = "{\"job\":\"ffffffff\",\"state\":\"done\",\"outcome\":\"vpn_lost\",\"exit_status\":242,"
	       "\"duration_s\":1.5}";
	assert_int_equal(omt_job_status_parse(json, strlen(json), &s, err, sizeof(err)), 0);
	assert_int_equal(s.state, OMT_JOB_DONE);
	assert_string_equal(s.outcome, "vpn_lost");
	assert_int_equal(s.exit_status, 242);
	assert_int_equal(omt_job_status_format(&s, &json), 0);
	assert_string_equal(json, "{\"job\":\"ffffffff\",\"state\":\"done\",\"outcome\":\"vpn_lost\","
			    "\"exit_status\":242}");
	assert_int_equal(omt_job_status_parse(json, strlen(json), &back, err, sizeof(err)), 0);
	assert_memory_equal(&s, &back, sizeof(s));
	free(json);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (omt_job_status_parse(bad[i].json, strlen(bad[i].json), &s, err,
					 sizeof(err)) != -EINVAL || strcmp(err, bad[i].err))
			fail_msg("%s: got '%s', want '%s'", bad[i].json, err, bad[i].err);
		assert_int_equal(s.exit_status, -1);
	}
	s.exit_status = 256;
	assert_int_equal(omt_job_status_format(&s, &json), -EINVAL);
	s.exit_status = 0;
	strcpy(s.outcome, "Bad");
	assert_int_equal(omt_job_status_format(&s, &json), -EINVAL);
}

/* A checkpoint's or restore's progress in the status ("control"), both ways. */
static void test_job_status_control(void **state)
{
	static const struct {
		const char *json, *err;
	} bad[] = {
		{ "{\"job\":\"0a1b2c3d\",\"state\":\"running\",\"control\":null}",
		  "control must be an object: null" },
		{ "{\"job\":\"0a1b2c3d\",\"state\":\"running\",\"control\":\"done\"}",
		  "control must be an object: \"done\"" },
		{ "{\"job\":\"0a1b2c3d\",\"state\":\"running\",\"control\":{\"state\":\"done\"}}",
		  "control.action is missing" },
		{ "{\"job\":\"0a1b2c3d\",\"state\":\"running\","
		  "\"control\":{\"action\":\"Check point\",\"state\":\"done\"}}",
		  "control.action is not 1..32 of [a-z0-9_]: 'Check point'" },
		{ "{\"job\":\"0a1b2c3d\",\"state\":\"running\",\"control\":{\"action\":\"restore\"}}",
		  "control.state is missing" },
		{ "{\"job\":\"0a1b2c3d\",\"state\":\"running\","
		  "\"control\":{\"action\":\"restore\",\"state\":\"none\"}}",
		  "control.state is not one of running, done, failed: 'none'" },
		{ "{\"job\":\"0a1b2c3d\",\"state\":\"running\","
		  "\"control\":{\"action\":\"restore\",\"state\":\"done\",\"message\":7}}",
		  "control.message must be a string: 7" },
		{ "{\"job\":\"0a1b2c3d\",\"state\":\"running\","
		  "\"control\":{\"action\":\"restore\",\"state\":\"failed\",\"message\":\"a\\u001bb\"}}",
		  "control.message is not printable ASCII: 'a\\x1bb'" },
	};
	struct omt_job_status s, back;
	char err[512], *json, *big;
	size_t i;

	(void)state;
	/* None asked yet: no "control", and none made up. */
	json = "{\"job\":\"0a1b2c3d\",\"state\":\"running\"}";
	assert_int_equal(omt_job_status_parse(json, strlen(json), &s, err, sizeof(err)), 0);
	assert_int_equal(s.control.state, OMT_JOB_CONTROL_NONE);
	assert_string_equal(s.control.action, "");

	/* Under way: no message yet; unknown members of control are skipped. */
	json = "{\"job\":\"0a1b2c3d\",\"state\":\"running\","
	       "\"control\":{\"action\":\"checkpoint\",\"state\":\"running\",\"since\":3}}";
	assert_int_equal(omt_job_status_parse(json, strlen(json), &s, err, sizeof(err)), 0);
	assert_int_equal(s.control.state, OMT_JOB_CONTROL_RUNNING);
	assert_string_equal(s.control.action, "checkpoint");
	assert_string_equal(s.control.message, "");
	assert_int_equal(omt_job_status_format(&s, &json), 0);
	assert_string_equal(json, "{\"job\":\"0a1b2c3d\",\"state\":\"running\","
			    "\"control\":{\"action\":\"checkpoint\",\"state\":\"running\"}}");
	free(json);

	/* Ended, with exec's answer; it stays on a finished job's status. */
	json = "{\"job\":\"0a1b2c3d\",\"state\":\"done\",\"outcome\":\"done\",\"exit_status\":0,"
	       "\"control\":{\"action\":\"restore\",\"state\":\"failed\","
	       "\"message\":\"no checkpoint to restore: the VM is running\"}}";
	assert_int_equal(omt_job_status_parse(json, strlen(json), &s, err, sizeof(err)), 0);
	assert_int_equal(s.control.state, OMT_JOB_CONTROL_FAILED);
	assert_string_equal(s.control.action, "restore");
	assert_string_equal(s.control.message, "no checkpoint to restore: the VM is running");
	assert_int_equal(omt_job_status_format(&s, &json), 0);
	assert_int_equal(omt_job_status_parse(json, strlen(json), &back, err, sizeof(err)), 0);
	assert_memory_equal(&s, &back, sizeof(s));
	free(json);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (omt_job_status_parse(bad[i].json, strlen(bad[i].json), &s, err,
					 sizeof(err)) != -EINVAL || strcmp(err, bad[i].err))
			fail_msg("%s: got '%s', want '%s'", bad[i].json, err, bad[i].err);
		assert_int_equal(s.control.state, OMT_JOB_CONTROL_NONE);
	}

	/* The message's bound: OMT_JOB_MAX_CONTROL_MESSAGE bytes, one more refused. */
	big = malloc(OMT_JOB_MAX_CONTROL_MESSAGE + 200);
	assert_non_null(big);
	for (i = OMT_JOB_MAX_CONTROL_MESSAGE; i <= OMT_JOB_MAX_CONTROL_MESSAGE + 1; i++) {
		int n = snprintf(big, OMT_JOB_MAX_CONTROL_MESSAGE + 200,
				 "{\"job\":\"0a1b2c3d\",\"state\":\"running\",\"control\":"
				 "{\"action\":\"checkpoint\",\"state\":\"done\",\"message\":\"%0*d\"}}",
				 (int)i, 0);

		assert_int_equal(omt_job_status_parse(big, n, &s, err, sizeof(err)),
				 i == OMT_JOB_MAX_CONTROL_MESSAGE ? 0 : -EINVAL);
	}
	free(big);

	/* format refuses what parse would. */
	json = "{\"job\":\"0a1b2c3d\",\"state\":\"running\","
	       "\"control\":{\"action\":\"checkpoint\",\"state\":\"done\",\"message\":\"ok\"}}";
	assert_int_equal(omt_job_status_parse(json, strlen(json), &s, err, sizeof(err)), 0);
	back = s;
	strcpy(back.control.message, "bad\nline");
	assert_int_equal(omt_job_status_format(&back, &json), -EINVAL);
	back = s;
	strcpy(back.control.action, "Checkpoint");
	assert_int_equal(omt_job_status_format(&back, &json), -EINVAL);
	back = s;
	back.control.action[0] = '\0';
	assert_int_equal(omt_job_status_format(&back, &json), -EINVAL);
	back = s;
	back.control.state = OMT_JOB__CONTROL_STATE_COUNT;
	assert_int_equal(omt_job_status_format(&back, &json), -EINVAL);
	/* NONE: nothing to say, whatever the other fields hold. */
	back = s;
	back.control.state = OMT_JOB_CONTROL_NONE;
	assert_int_equal(omt_job_status_format(&back, &json), 0);
	assert_string_equal(json, "{\"job\":\"0a1b2c3d\",\"state\":\"running\"}");
	free(json);
}

static void test_job_output(void **state)
{
	struct omt_job_output *o = calloc(1, sizeof(*o)), *back = calloc(1, sizeof(*back));
	char err[512], *json, *big;
	size_t i;

	(void)state;
	assert_non_null(o);
	assert_non_null(back);
	json = "{\"stdout\":\"aGVsbG8K\",\"stderr\":\"\",\"stdout_next\":106,\"stderr_next\":7,"
	       "\"done\":false}";
	assert_int_equal(omt_job_output_parse(json, strlen(json), o, err, sizeof(err)), 0);
	assert_int_equal(o->stream[OMT_JOB_STDOUT].len, 6);
	assert_memory_equal(o->stream[OMT_JOB_STDOUT].data, "hello\n", 6);
	assert_int_equal(o->stream[OMT_JOB_STDOUT].next, 106);
	assert_int_equal(o->stream[OMT_JOB_STDERR].len, 0);
	assert_int_equal(o->stream[OMT_JOB_STDERR].next, 7);
	assert_int_equal(o->done, 0);
	assert_int_equal(omt_job_output_format(o, &json), 0);
	assert_string_equal(json, "{\"stdout\":\"aGVsbG8K\",\"stderr\":\"\",\"stdout_next\":106,"
			    "\"stderr_next\":7,\"done\":false}");
	free(json);

	/* Full chunks of any bytes, both ways. */
	for (i = 0; i < OMT_JOB_CHUNK_MAX; i++) {
		o->stream[0].data[i] = i * 31;
		o->stream[1].data[i] = 255 - i;
	}
	o->stream[0].len = o->stream[1].len = OMT_JOB_CHUNK_MAX;
	o->stream[0].next = INT64_MAX;
	o->stream[1].next = OMT_JOB_CHUNK_MAX;
	o->done = 1;
	assert_int_equal(omt_job_output_format(o, &json), 0);
	assert_true(strlen(json) <= OMT_JOB_MAX_ANSWER);
	assert_int_equal(omt_job_output_parse(json, strlen(json), back, err, sizeof(err)), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(back->stream[i].len, OMT_JOB_CHUNK_MAX);
		assert_int_equal(back->stream[i].next, o->stream[i].next);
		assert_memory_equal(back->stream[i].data, o->stream[i].data, OMT_JOB_CHUNK_MAX);
	}
	assert_int_equal(back->done, 1);
	free(json);

	/* One byte more than a chunk. */
	big = malloc(200000);
	assert_non_null(big);
	strcpy(big, "{\"stdout\":\"");
	memset(big + 11, 'A', 87384);
	strcpy(big + 11 + 87384, "\",\"stderr\":\"\",\"stdout_next\":65538,\"stderr_next\":0,"
	       "\"done\":true}");
	assert_int_equal(omt_job_output_parse(big, strlen(big), back, err, sizeof(err)), -EINVAL);
	assert_memory_equal(err, "stdout holds more than 65536 bytes: 'AAAA", 40);
	assert_int_equal(back->stream[0].len, 0);
	memset(big + 11, 'A', 87388);
	strcpy(big + 11 + 87388, "\",\"stderr\":\"\",\"stdout_next\":65541,\"stderr_next\":0,"
	       "\"done\":true}");
	assert_int_equal(omt_job_output_parse(big, strlen(big), back, err, sizeof(err)), -EINVAL);
	assert_memory_equal(err, "stdout is longer than 87384 bytes: 'AAAA", 39);
	free(big);

	static const struct {
		const char *json, *err;
	} bad[] = {
		{ "{\"stdout\":\"aGVsbG8K\",\"stderr\":\"\",\"stdout_next\":5,\"stderr_next\":0,"
		  "\"done\":false}", "stdout_next is less than the 6 bytes of stdout: 5" },
		{ "{\"stdout\":\"aGVsbG8\",\"stderr\":\"\",\"stdout_next\":5,\"stderr_next\":0,"
		  "\"done\":false}", "stdout is not base64: 'aGVsbG8'" },
		{ "{\"stdout\":\"\",\"stderr\":\"\",\"stdout_next\":-1,\"stderr_next\":0,"
		  "\"done\":false}", "stdout_next must be 0..9223372036854775807: -1" },
		{ "{\"stdout\":\"\",\"stderr\":\"\",\"stdout_next\":0,\"done\":false}",
		  "stderr_next is missing" },
		{ "{\"stdout\":\"\",\"stderr\":\"\",\"stdout_next\":9223372036854775808,"
		  "\"stderr_next\":0,\"done\":false}",
		  "stdout_next must be 0..9223372036854775807: 9223372036854775808" },
		{ "{\"stdout\":\"\",\"stderr\":\"\",\"stdout_next\":99999999999999999999,"
		  "\"stderr_next\":0,\"done\":false}",
		  "stdout_next must be 0..9223372036854775807: 18446744073709551615" },
		{ "{\"stdout\":\"\",\"stdout_next\":0,\"stderr_next\":0,\"done\":false}",
		  "stderr is missing" },
		{ "{\"stdout\":\"\",\"stderr\":\"\",\"stdout_next\":0,\"stderr_next\":0}",
		  "done is missing" },
		{ "{\"stdout\":\"\",\"stderr\":\"\",\"stdout_next\":0,\"stderr_next\":0,\"done\":1}",
		  "done must be true or false: 1" },
	};
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (omt_job_output_parse(bad[i].json, strlen(bad[i].json), o, err,
					 sizeof(err)) != -EINVAL || strcmp(err, bad[i].err))
			fail_msg("%s: got '%s', want '%s'", bad[i].json, err, bad[i].err);
	}
	big = calloc(1, OMT_JOB_MAX_ANSWER + 1);
	assert_non_null(big);
	memset(big, ' ', OMT_JOB_MAX_ANSWER + 1);
	assert_int_equal(omt_job_output_parse(big, OMT_JOB_MAX_ANSWER + 1, o, err, sizeof(err)),
			 -E2BIG);
	free(big);

	o->stream[0].len = 10;
	o->stream[0].next = 9;
	assert_int_equal(omt_job_output_format(o, &json), -EINVAL);
	o->stream[0].next = 10;
	o->stream[1].len = OMT_JOB_CHUNK_MAX + 1;
	assert_int_equal(omt_job_output_format(o, &json), -EINVAL);
	free(o);
	free(back);
}

int main(void)
{
	const struct CMUnitTest keys[] = {
		cmocka_unit_test(test_key_generate_load),
		cmocka_unit_test(test_key_permissions),
		cmocka_unit_test(test_key_bad_files),
		cmocka_unit_test(test_key_b64),
		cmocka_unit_test(test_wg_keys),
		cmocka_unit_test(test_known_providers),
		cmocka_unit_test(test_known_providers_file),
	};
	const struct CMUnitTest sign[] = {
		cmocka_unit_test(test_sign_request),
		cmocka_unit_test(test_sign_request_message),
		cmocka_unit_test(test_verify_tampered),
		cmocka_unit_test(test_verify_freshness),
		cmocka_unit_test(test_verify_malformed),
		cmocka_unit_test(test_req_auth_from_headers),
		cmocka_unit_test(test_sign_response),
		cmocka_unit_test(test_nonce_cache),
		cmocka_unit_test(test_nonce_cache_fair),
		cmocka_unit_test(test_nonce_cache_full),
		cmocka_unit_test(test_nonce_cache_threads),
	};
	const struct CMUnitTest job[] = {
		cmocka_unit_test(test_job_request_good),
		cmocka_unit_test(test_job_request_script),
		cmocka_unit_test(test_job_request_bounds),
		cmocka_unit_test(test_job_request_errors),
		cmocka_unit_test(test_job_request_not_json),
		cmocka_unit_test(test_job_request_round_trip),
		cmocka_unit_test(test_job_request_workload),
		cmocka_unit_test(test_job_request_workload_errors),
		cmocka_unit_test(test_job_request_workload_bounds),
		cmocka_unit_test(test_job_files),
		cmocka_unit_test(test_job_files_bounds),
		cmocka_unit_test(test_job_ids_offsets),
		cmocka_unit_test(test_job_accept),
		cmocka_unit_test(test_job_status),
		cmocka_unit_test(test_job_status_control),
		cmocka_unit_test(test_job_output),
	};
	int failed;

	if (sodium_init() < 0)
		return 1;
	failed = cmocka_run_group_tests_name("api/keys", keys, make_tmpdir, remove_tmpdir);
	failed += cmocka_run_group_tests_name("api/sign", sign, NULL, NULL);
	failed += cmocka_run_group_tests_name("api/job", job, NULL, NULL);
	return failed ? 1 : 0;
}
