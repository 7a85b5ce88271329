/*
 * Helpers shared by the unit tests: a small JSON reader for the test-vector files in
 * tests/vectors (found through $FERRY_VECTORS), hex decoding, and temporary directories.
 * Test code only: on malformed vector files these fail the running cmocka test.
 */
#ifndef FERRY_TESTUTIL_H
#define FERRY_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_kind { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json;

/* Parse $FERRY_VECTORS/<name> (e.g. "wycheproof/aes_gcm_test.json"). Fails the test on
 * error. Free with json_free(). */
struct json *json_load_vector(const char *name);
/* Parse a NUL-terminated JSON text; NULL on malformed input. */
struct json *json_parse(const char *text);
void json_free(struct json *j);

enum json_kind json_kind(const struct json *j);
/* Object member by key, or NULL (also NULL when j is not an object). */
const struct json *json_get(const struct json *j, const char *key);
/* Array/object length and element (for objects: the i-th member's value). */
size_t json_len(const struct json *j);
const struct json *json_at(const struct json *j, size_t i);
/* String value (decoded, NUL-terminated) or NULL when not a string. */
const char *json_str(const struct json *j);
/* Numeric value (integers as in the vector files); 0 when not a number. */
long long json_int(const struct json *j);
bool json_bool(const struct json *j);
/* Shorthands: member's string / integer; fail the test if missing. */
const char *json_get_str(const struct json *j, const char *key);
long long json_get_int(const struct json *j, const char *key);
/* True if array member "flags" of test case j contains flag. */
bool json_has_flag(const struct json *j, const char *flag);

/* Decode a hex string into a new buffer (malloc; caller frees); *len receives its length.
 * Fails the test on odd length or a non-hex digit. Returns a non-NULL pointer even for "". */
uint8_t *hex_decode(const char *hex, size_t *len);
/* Decode member key of j as hex. */
uint8_t *json_get_hex(const struct json *j, const char *key, size_t *len);

/* A fresh private directory under $TMPDIR (mode 0700); caller frees the string and may
 * remove the tree with rm_rf(). */
char *test_tmpdir(void);
void rm_rf(const char *path);

#endif
