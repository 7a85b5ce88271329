/*
 * Issuing end-entity certificates: the server's (fresh P-384 key, SAN for every host)
 * and clients' (key from a verified CSR; subject and extensions chosen here only).
 */
#include "pki/pki.h"

#include <arpa/inet.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "crypto/keys.h"
#include "pki/pki_internal.h"
#include "util/err.h"
#include "util/limits.h"

#define CN_MAX 64       /* ub-common-name */

static bool
is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-';
}

int
pki_host_check(const char *host, bool *is_ip)
{
	unsigned char addr[16];
	size_t n, label = 0;
	bool digits_only = true;

	if (is_ip != NULL)
		*is_ip = false;
	if (host == NULL || (n = strlen(host)) == 0)
		return ferry_fail(FERRY_ERR_USAGE, "empty host name");
	if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1) {
		if (is_ip != NULL)
			*is_ip = true;
		return 0;
	}
	if (n > FERRY_MAX_HOST_LEN)
		return ferry_fail(FERRY_ERR_USAGE, "host name longer than %u bytes",
		    FERRY_MAX_HOST_LEN);
	for (size_t i = 0; i <= n; i++) {
		char c = host[i];

		if (c == '.' || c == '\0') {
			if (label == 0)
				return ferry_fail(FERRY_ERR_USAGE, "host \"%s\": empty label",
				    host);
			if (host[i - 1] == '-')
				return ferry_fail(FERRY_ERR_USAGE, "host \"%s\": a label ends "
				    "with '-'", host);
			if (c == '\0')
				break;
			label = 0;
			digits_only = true;
			continue;
		}
		if (!is_ldh(c))
			return ferry_fail(FERRY_ERR_USAGE, "host \"%.*s\": not a DNS name "
			    "or IP address (character %zu)", (int)(n > 64 ? 64 : n), host,
			    i + 1);
		if (label == 0 && c == '-')
			return ferry_fail(FERRY_ERR_USAGE, "host \"%s\": a label starts with "
			    "'-'", host);
		if (++label > 63)
			return ferry_fail(FERRY_ERR_USAGE, "host \"%.64s...\": a label is "
			    "longer than 63 bytes", host);
		if (c < '0' || c > '9')
			digits_only = false;
	}
	if (digits_only)
		return ferry_fail(FERRY_ERR_USAGE, "host \"%s\": not a valid IP address, and "
		    "a DNS name cannot end in an all-numeric label", host);
	return 0;
}

/* The SAN extension: a DNS or IP entry for each host. */
static int
add_san(X509 *x, const char *const *hosts, size_t nhosts)
{
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gen = NULL;
	unsigned char addr[16];
	int r;

	if ((gens = GENERAL_NAMES_new()) == NULL) {
		r = ferry_fail_crypto("server certificate: SAN");
		goto out;
	}
	for (size_t i = 0; i < nhosts; i++) {
		ASN1_OCTET_STRING *ip = NULL;
		ASN1_IA5STRING *dns = NULL;
		int alen = 0;

		if (inet_pton(AF_INET, hosts[i], addr) == 1)
			alen = 4;
		else if (inet_pton(AF_INET6, hosts[i], addr) == 1)
			alen = 16;
		if ((gen = GENERAL_NAME_new()) == NULL) {
			r = ferry_fail_crypto("server certificate: SAN");
			goto out;
		}
		if (alen > 0) {
			if ((ip = ASN1_OCTET_STRING_new()) == NULL ||
			    ASN1_OCTET_STRING_set(ip, addr, alen) != 1) {
				ASN1_OCTET_STRING_free(ip);
				r = ferry_fail_crypto("server certificate: SAN");
				goto out;
			}
			GENERAL_NAME_set0_value(gen, GEN_IPADD, ip);
		} else {
			if ((dns = ASN1_IA5STRING_new()) == NULL ||
			    ASN1_STRING_set(dns, hosts[i], -1) != 1) {
				ASN1_IA5STRING_free(dns);
				r = ferry_fail_crypto("server certificate: SAN");
				goto out;
			}
			GENERAL_NAME_set0_value(gen, GEN_DNS, dns);
		}
		if (sk_GENERAL_NAME_push(gens, gen) <= 0) {
			r = ferry_fail_crypto("server certificate: SAN");
			goto out;
		}
		gen = NULL;     /* transferred */
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1) {
		r = ferry_fail_crypto("server certificate: adding the SAN");
		goto out;
	}
	r = 0;
out:
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	return r;
}

/* Copy the issuer's organizationName (if any) into name. */
static int
copy_org(X509_NAME *name, X509 *ca_cert)
{
	const X509_NAME *ca = X509_get_subject_name(ca_cert);
	int idx = X509_NAME_get_index_by_NID(ca, NID_organizationName, -1);

	if (idx < 0)
		return 0;
	if (X509_NAME_add_entry(name, X509_NAME_get_entry(ca, idx), -1, 0) != 1)
		return ferry_fail_crypto("certificate: copying the organisation");
	return 0;
}

/* AKI from the issuer's SKI; an imported CA without one gets no AKI. */
static int
add_aki(X509 *x, X509 *ca_cert)
{
	if (X509_get0_subject_key_id(ca_cert) == NULL)
		return 0;
	return pki_add_ext(x, ca_cert, NID_authority_key_identifier, "keyid");
}

/* Start a v3 certificate for pub, issued by ca_cert, with a fresh serial. */
static int
cert_start(X509 *ca_cert, EVP_PKEY *pub, unsigned days, X509 **out)
{
	ASN1_INTEGER *serial = NULL;
	X509 *x = NULL;
	int r;

	*out = NULL;
	if ((r = pki_new_serial(&serial)) != 0)
		goto out;
	if ((x = X509_new()) == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_set_serialNumber(x, serial) != 1 || X509_set_pubkey(x, pub) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca_cert)) != 1) {
		r = ferry_fail_crypto("certificate: building");
		goto out;
	}
	if ((r = pki_set_validity(x, ca_cert, days)) != 0)
		goto out;
	*out = x;
	x = NULL;       /* transferred */
	r = 0;
out:
	ASN1_INTEGER_free(serial);
	X509_free(x);
	return r;
}

int
pki_server_cert_issue(EVP_PKEY *ca_key, X509 *ca_cert, const char *const *hosts,
    size_t nhosts, EVP_PKEY **key, X509 **cert)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	int r;

	*key = NULL;
	*cert = NULL;
	if (nhosts == 0 || nhosts > FERRY_MAX_HOSTS) {
		r = ferry_fail(FERRY_ERR_USAGE, "%zu host names given; 1 to %u allowed", nhosts,
		    FERRY_MAX_HOSTS);
		goto out;
	}
	for (size_t i = 0; i < nhosts; i++) {
		if ((r = pki_host_check(hosts[i], NULL)) != 0)
			goto out;
	}
	if (strlen(hosts[0]) > CN_MAX) {
		r = ferry_fail(FERRY_ERR_USAGE, "host \"%.64s...\" is longer than %d bytes and "
		    "cannot be the certificate's common name; list a shorter one first",
		    hosts[0], CN_MAX);
		goto out;
	}
	if ((r = key_generate(KEY_P384, &k)) != 0)
		goto out;
	if ((r = cert_start(ca_cert, k, FERRY_SERVER_CERT_DAYS, &x)) != 0)
		goto out;
	name = X509_get_subject_name(x);
	if ((r = pki_name_add(name, NID_commonName, hosts[0])) != 0 ||
	    (r = copy_org(name, ca_cert)) != 0)
		goto out;
	if ((r = pki_add_ext(x, ca_cert, NID_basic_constraints, "critical,CA:FALSE")) != 0 ||
	    (r = pki_add_ext(x, ca_cert, NID_key_usage, "critical,digitalSignature")) != 0 ||
	    (r = pki_add_ext(x, ca_cert, NID_ext_key_usage, "serverAuth")) != 0 ||
	    (r = pki_add_ext(x, ca_cert, NID_subject_key_identifier, "hash")) != 0 ||
	    (r = add_aki(x, ca_cert)) != 0 ||
	    (r = add_san(x, hosts, nhosts)) != 0)
		goto out;
	if (X509_sign(x, ca_key, pki_sign_md(ca_key)) <= 0) {
		r = ferry_fail_crypto("server certificate: signing");
		goto out;
	}
	*key = k;
	*cert = x;
	k = NULL;       /* transferred */
	x = NULL;       /* transferred */
	r = 0;
out:
	EVP_PKEY_free(k);
	X509_free(x);
	return r;
}

int
pki_client_cert_issue(EVP_PKEY *ca_key, X509 *ca_cert, X509_REQ *csr, const char *user,
    const char *org, unsigned days, X509 **out, char serial_hex[PKI_SERIAL_HEX_LEN + 1])
{
	EVP_PKEY *pub;
	X509 *x = NULL;
	X509_NAME *name;
	const char *ku;
	int r;

	*out = NULL;
	serial_hex[0] = '\0';
	if (!pki_user_name_ok(user)) {
		r = ferry_fail(FERRY_ERR_USAGE, "client certificate: invalid user name");
		goto out;
	}
	if (org != NULL && org[0] != '\0' && (r = pki_org_check(org)) != 0)
		goto out;
	if (days < FERRY_MIN_CLIENT_CERT_DAYS || days > FERRY_MAX_CLIENT_CERT_DAYS) {
		r = ferry_fail(FERRY_ERR_USAGE, "client certificate: validity of %u days; "
		    "%u to %u allowed", days, FERRY_MIN_CLIENT_CERT_DAYS,
		    FERRY_MAX_CLIENT_CERT_DAYS);
		goto out;
	}
	if ((pub = X509_REQ_get0_pubkey(csr)) == NULL) {
		ERR_clear_error();
		r = ferry_fail(FERRY_ERR_KEY, "CSR public key cannot be decoded");
		goto out;
	}
	if ((r = pki_key_check(pub, "CSR key")) != 0)
		goto out;
	ku = EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA ?
	    "critical,digitalSignature,keyEncipherment" :
	    "critical,digitalSignature,keyAgreement";
	if ((r = cert_start(ca_cert, pub, days, &x)) != 0)
		goto out;
	name = X509_get_subject_name(x);
	if ((r = pki_name_add(name, NID_commonName, user)) != 0)
		goto out;
	if (org != NULL && org[0] != '\0' &&
	    (r = pki_name_add(name, NID_organizationName, org)) != 0)
		goto out;
	if ((r = pki_add_ext(x, ca_cert, NID_basic_constraints, "critical,CA:FALSE")) != 0 ||
	    (r = pki_add_ext(x, ca_cert, NID_key_usage, ku)) != 0 ||
	    (r = pki_add_ext(x, ca_cert, NID_ext_key_usage, "clientAuth")) != 0 ||
	    (r = pki_add_ext(x, ca_cert, NID_subject_key_identifier, "hash")) != 0 ||
	    (r = add_aki(x, ca_cert)) != 0)
		goto out;
	if (X509_sign(x, ca_key, pki_sign_md(ca_key)) <= 0) {
		r = ferry_fail_crypto("client certificate: signing");
		goto out;
	}
	if ((r = pki_cert_serial_hex(x, serial_hex, PKI_SERIAL_HEX_LEN + 1)) != 0)
		goto out;
	*out = x;
	x = NULL;       /* transferred */
	r = 0;
out:
	X509_free(x);
	return r;
}
