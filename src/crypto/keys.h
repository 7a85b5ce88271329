/*
 * Key pairs on disk: PEM PKCS#8 private keys (optionally passphrase-encrypted PKCS#8,
 * PBES2 with AES-256-CBC) and PEM SubjectPublicKeyInfo public keys. An X.509 certificate
 * PEM is accepted wherever a public key is.
 */
#ifndef FERRY_CRYPTO_KEYS_H
#define FERRY_CRYPTO_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

enum key_type {
	KEY_P384,
	KEY_X25519,
	KEY_RSA3072,
	KEY_RSA4096,
};

/* "p384", "x25519", "rsa3072", "rsa4096" -> type; FERRY_ERR_USAGE otherwise. */
int key_type_parse(const char *name, enum key_type *type);
const char *key_type_name(enum key_type type);

/* Generate a fresh key pair. Caller frees *out with EVP_PKEY_free. */
int key_generate(enum key_type type, EVP_PKEY **out);

/* Write the private key as PEM PKCS#8 to path, mode 0600, atomically. With pass, the
 * PKCS#8 is encrypted under it. Without force, FERRY_ERR_EXISTS if path exists. */
int key_save_private(EVP_PKEY *key, const char *path, const char *pass, size_t pass_len,
    bool force);

/* Write the public key as PEM SubjectPublicKeyInfo to path, mode 0644, atomically. */
int key_save_public(EVP_PKEY *key, const char *path, bool force);

/*
 * Load a private key from a PEM file. If the key is encrypted and pass is NULL, returns
 * FERRY_ERR_NEED_PASSPHRASE (so the caller can prompt and retry); a wrong pass gives
 * FERRY_ERR_PASSPHRASE. Not a private key: FERRY_ERR_KEY. Errors name the file.
 */
int key_load_private(const char *path, const char *pass, size_t pass_len, EVP_PKEY **out);

/* Load a recipient public key from a PEM SubjectPublicKeyInfo or X.509 certificate.
 * FERRY_ERR_KEY (naming the file) if it is neither. */
int key_load_public(const char *path, EVP_PKEY **out);

/* A short description such as "P-384", "X25519", "RSA-3072" for messages. */
const char *key_describe(const EVP_PKEY *key);

#endif
