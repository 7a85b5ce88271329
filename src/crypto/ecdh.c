#include "crypto/ecdh.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "util/err.h"

int
crypto_ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t *out, size_t *out_len)
{
	EVP_PKEY_CTX *pctx = NULL;
	size_t cap = *out_len, len = 0, i;
	uint8_t acc = 0;
	char enc[32];
	int r;

	*out_len = 0;
	if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL)) == NULL) {
		r = ferry_fail_crypto("ecdh: key context");
		goto out;
	}
	/* A public key passed as priv would otherwise fail later, looking like a bad peer. */
	if (EVP_PKEY_private_check(pctx) != 1 || EVP_PKEY_derive_init(pctx) != 1) {
		ERR_clear_error();
		r = ferry_fail(FERRY_ERR_KEY, "ecdh: not a usable %s private key",
		    EVP_PKEY_get0_type_name(priv));
		goto out;
	}
	/*
	 * Explicit curve parameters (RFC 5480 forbids them) would let the peer bring its
	 * own group, which OpenSSL may take as equal to the named one: refuse them.
	 */
	if (EVP_PKEY_is_a(peer, "EC") && EVP_PKEY_get_utf8_string_param(peer,
	    OSSL_PKEY_PARAM_EC_ENCODING, enc, sizeof(enc), NULL) == 1 &&
	    strcmp(enc, OSSL_PKEY_EC_ENCODING_GROUP) != 0) {
		r = ferry_fail(FERRY_ERR_KEY, "ecdh: EC peer public key with explicit curve "
		    "parameters");
		goto out;
	}
	ERR_clear_error();
	/* validate = 1: a full public-key check of the peer (on the curve, not infinity). */
	if (EVP_PKEY_derive_set_peer_ex(pctx, peer, 1) != 1) {
		ERR_clear_error();
		r = ferry_fail(FERRY_ERR_KEY, "ecdh: %s peer public key is invalid or does "
		    "not match the private key", EVP_PKEY_get0_type_name(peer));
		goto out;
	}
	if (EVP_PKEY_derive(pctx, NULL, &len) != 1) {
		r = ferry_fail_crypto("ecdh: result length");
		goto out;
	}
	if (len > cap) {
		r = ferry_fail(FERRY_ERR_LIMIT, "ecdh: %zu-byte result, room for %zu",
		    len, cap);
		goto out;
	}
	if (EVP_PKEY_derive(pctx, out, &len) != 1) {
		if (!EVP_PKEY_is_a(priv, "X25519")) {
			r = ferry_fail_crypto("ecdh: derive");
			goto out;
		}
		/* With a validated peer this is X25519 refusing an all-zero result. */
		ERR_clear_error();
		r = ferry_fail(FERRY_ERR_KEY, "ecdh: X25519 peer public key gives no shared "
		    "secret (low-order point)");
		goto out;
	}
	/*
	 * X25519: do not rely on the library alone, refuse an all-zero result (constant
	 * time). Not on NIST curves, where x = 0 is a legitimate point's coordinate.
	 */
	if (EVP_PKEY_is_a(priv, "X25519")) {
		for (i = 0; i < len; i++)
			acc |= out[i];
		if (acc == 0) {
			r = ferry_fail(FERRY_ERR_KEY, "ecdh: X25519 shared secret is all "
			    "zero (low-order peer public key)");
			goto out;
		}
	}
	*out_len = len;
	r = 0;
 out:
	if (r != 0 && cap > 0)
		OPENSSL_cleanse(out, cap);
	EVP_PKEY_CTX_free(pctx);
	return r;
}
