#ifndef LUFFY_COPENSSL_SHIM_H
#define LUFFY_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

// Function-like macros Swift cannot import.
static inline void luffy_openssl_free(void *p) { OPENSSL_free(p); }
static inline long luffy_bio_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }
#endif
