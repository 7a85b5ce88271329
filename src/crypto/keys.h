/*
 * Key pairs on disk: PEM PKCS#8 private keys (optionally passphrase-encrypted PKCS#8,
 * PBES2 with AES-256-CBC) and PEM SubjectPublicKeyInfo public keys. An X.509 certificate
 * PEM is accepted wherever a public key is.
 *
 * Encrypted private keys use PBES2 with scrypt as the KDF (RFC 7914 section 7:
 * N = 2^14, r = 8, p = 1, a 16-byte random salt) and AES-256-CBC. scrypt is memory-hard,
 * unlike PBKDF2, and OpenSSL writes and reads it (`openssl pkey -passin` accepts these
 * files). The work factor is the largest OpenSSL 3.0 will read: its PKCS#8 decryption
 * caps scrypt at 32 MiB, which N = 2^15 with r = 8 already exceeds. The same cost is
 * what `openssl pkcs8 -topk8 -scrypt` writes.
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
/* The name key_type_parse() accepts for type; "unknown" for an invalid value. */
const char *key_type_name(enum key_type type);

/* Generate a fresh key pair. Caller frees *out with EVP_PKEY_free. RSA-4096 takes
 * seconds. */
int key_generate(enum key_type type, EVP_PKEY **out);

/*
 * Write the private key as PEM PKCS#8 to path, mode 0600 exactly, atomically. With
 * pass (pass_len bytes, 1 to FERRY_MAX_PASSPHRASE; FERRY_ERR_USAGE if empty,
 * FERRY_ERR_LIMIT if longer) the PKCS#8 is encrypted under it as described above; pass
 * NULL writes it unencrypted. Without force, FERRY_ERR_EXISTS if path exists (and
 * never replaces a file that appears meanwhile); with force an existing file is
 * replaced. Errors name the file.
 */
int key_save_private(EVP_PKEY *key, const char *path, const char *pass, size_t pass_len,
    bool force);

/* Write the public key as PEM SubjectPublicKeyInfo to path, mode 0644, atomically;
 * force as for key_save_private(). */
int key_save_public(EVP_PKEY *key, const char *path, bool force);

/*
 * Load a private key from a PEM file. If the key is encrypted and pass is NULL, returns
 * FERRY_ERR_NEED_PASSPHRASE (so the caller can prompt and retry); a wrong pass gives
 * FERRY_ERR_PASSPHRASE. Not a private key: FERRY_ERR_KEY. Errors name the file.
 * pass is ignored for an unencrypted key. The file may be at most FERRY_MAX_KEY_FILE
 * bytes (FERRY_ERR_LIMIT). OpenSSL never prompts on the terminal itself.
 * Caller frees *out with EVP_PKEY_free.
 */
int key_load_private(const char *path, const char *pass, size_t pass_len, EVP_PKEY **out);

/*
 * Load a recipient public key from a PEM SubjectPublicKeyInfo or X.509 certificate.
 * FERRY_ERR_KEY (naming the file) if it is neither, with its own message if the file
 * holds a private key. The certificate is only a container for the key: it is not
 * verified. The first PEM block of a known kind decides; others (such as parameters)
 * are skipped. At most FERRY_MAX_KEY_FILE bytes. Caller frees *out with EVP_PKEY_free.
 */
int key_load_public(const char *path, EVP_PKEY **out);

/* A short description such as "P-384", "X25519", "RSA-3072" for messages. Never NULL;
 * the string is static or thread-local, valid until the next call in the same thread. */
const char *key_describe(const EVP_PKEY *key);

#endif
