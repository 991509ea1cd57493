// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The API's TLS identity (GnuTLS): a self-signed X.509 certificate of the
 * provider's own Ed25519 key, made at start-up. A consumer that pinned the
 * provider key (known_providers, --provider-key) checks the key the TLS
 * channel shows against that pin: no CA, no name, no extra trust step. The
 * certificate's names and dates mean nothing to it, so they say little.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "../lib/text.h"
#include "internal.h"

#define CERT_NAME "omerta provider"

/* A GnuTLS datum as a NUL-terminated string of our own (for libmicrohttpd). */
static char *pem_string(const gnutls_datum_t *pem)
{
	char *s = malloc(pem->size + 1);

	if (s) {
		memcpy(s, pem->data, pem->size);
		s[pem->size] = '\0';
	}
	return s;
}

int tls_credentials(const uint8_t sk[64], struct tls_pem *out, char *err, size_t errlen)
{
	/* libsodium's secret key is the seed, then the public key. */
	gnutls_datum_t seed = { (unsigned char *)sk, 32 }, pub = { (unsigned char *)sk + 32, 32 };
	gnutls_datum_t key_pem = {}, cert_pem = {};
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	uint8_t serial[8];
	const char *step;
	int e;

	memset(out, 0, sizeof(*out));
	/* A positive serial, the same for the same key. */
	memcpy(serial, sk + 32, sizeof(serial));
	serial[0] &= 0x7f;
	step = "the private key";
	e = gnutls_x509_privkey_init(&key);
	if (!e)
		e = gnutls_x509_privkey_import_ecc_raw(key, GNUTLS_ECC_CURVE_ED25519, &pub, NULL,
						       &seed);
	if (!e)
		e = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &key_pem);
	if (e)
		goto fail;
	step = "the certificate";
	e = gnutls_x509_crt_init(&crt);
	if (!e)
		e = gnutls_x509_crt_set_version(crt, 3);
	if (!e)
		e = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
	/* From a day ago (clocks differ) to no end (RFC 5280's 99991231235959Z). */
	if (!e)
		e = gnutls_x509_crt_set_activation_time(crt, time(NULL) - 86400);
	if (!e)
		e = gnutls_x509_crt_set_expiration_time(crt, (time_t)-1);
	if (!e)
		e = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, CERT_NAME,
						  strlen(CERT_NAME));
	if (!e)
		e = gnutls_x509_crt_set_issuer_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
							 CERT_NAME, strlen(CERT_NAME));
	if (!e)
		e = gnutls_x509_crt_set_key(crt, key);
	if (!e)
		e = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
	if (!e)
		e = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_UNKNOWN, 0);
	if (!e)
		e = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cert_pem);
	if (e)
		goto fail;
	out->key = pem_string(&key_pem);
	out->cert = pem_string(&cert_pem);
	if (!out->key || !out->cert) {
		omt_errf(err, errlen, "TLS credentials: out of memory");
		e = GNUTLS_E_MEMORY_ERROR;
	}
	goto out;
fail:
	omt_errf(err, errlen, "TLS credentials: %s of the provider key: %s", step,
		 gnutls_strerror(e));
out:
	if (key_pem.data) {
		sodium_memzero(key_pem.data, key_pem.size);
		gnutls_free(key_pem.data);
	}
	gnutls_free(cert_pem.data);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	if (e)
		tls_pem_free(out);
	return e ? -EINVAL : 0;
}

void tls_pem_free(struct tls_pem *p)
{
	if (p->key)
		sodium_memzero(p->key, strlen(p->key));
	free(p->key);
	free(p->cert);
	p->key = p->cert = NULL;
}
