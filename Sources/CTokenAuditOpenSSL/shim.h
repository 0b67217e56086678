#ifndef CTOKENAUDIT_OPENSSL_SHIM_H
#define CTOKENAUDIT_OPENSSL_SHIM_H
/* EVP only: hide the deprecated RSA_*, EC_KEY_* and HMAC_CTX_* APIs. */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED 1
#include <openssl/evp.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>
#include <openssl/sha.h>

/* Macros and parameter names that do not import into Swift as usable C values.
 * Parameter names come from C static storage: OSSL_PARAM_BLD keeps the pointer (see swift-on-linux.md, gotcha 1). */
static inline void ctokenaudit_free(void *p) { OPENSSL_free(p); }
static inline int ctokenaudit_bn_num_bytes(const BIGNUM *b) { return BN_num_bytes(b); }
static inline int ctokenaudit_selection_public_key(void) { return EVP_PKEY_PUBLIC_KEY; }
static inline const char *ctokenaudit_param_rsa_n(void) { return OSSL_PKEY_PARAM_RSA_N; }
static inline const char *ctokenaudit_param_rsa_e(void) { return OSSL_PKEY_PARAM_RSA_E; }
static inline const char *ctokenaudit_param_group_name(void) { return OSSL_PKEY_PARAM_GROUP_NAME; }
static inline const char *ctokenaudit_param_pub_key(void) { return OSSL_PKEY_PARAM_PUB_KEY; }
static inline int ctokenaudit_bio_pending(BIO *b) { return (int)BIO_ctrl_pending(b); }
/* ---- Weak-secret search (TokenAuditCrypto.HMACSecretTester): HMAC-SHA-2 from precomputed key-pad midstates ----
 * The EVP digest API costs ~60 ns of bookkeeping per init/final; a weak-secret pass runs ~100 000 HMACs per token,
 * so these helpers drive OpenSSL's SHA-2 block functions directly (SHA256_Update/SHA512_Update on full blocks only,
 * which call the assembly block function, SHA-NI where the CPU has it). Those functions are deprecated in 3.0 and
 * hidden by OPENSSL_NO_DEPRECATED above, but still exported by libcrypto 3; the two context structs below mirror
 * SHA256_CTX and SHA512_CTX from <openssl/sha.h> (public, stable layout: chaining words first). Only full blocks
 * are ever passed, so `num` stays 0 and the partial-block buffer is never read; Nl/Nh (the length counters) are
 * not used, because callers pad messages themselves. */
#include <stdint.h>
#include <string.h>
typedef struct { unsigned int h[8]; unsigned int Nl, Nh; unsigned int data[16]; unsigned int num, md_len; }
    ctokenaudit_sha256_ctx;
typedef struct { unsigned long long h[8]; unsigned long long Nl, Nh; unsigned long long d[16]; unsigned int num, md_len; }
    ctokenaudit_sha512_ctx;
int SHA256_Init(ctokenaudit_sha256_ctx *c);
int SHA256_Update(ctokenaudit_sha256_ctx *c, const void *data, size_t len);
int SHA384_Init(ctokenaudit_sha512_ctx *c);
int SHA512_Init(ctokenaudit_sha512_ctx *c);
int SHA512_Update(ctokenaudit_sha512_ctx *c, const void *data, size_t len);

/* The chaining state after one 64-byte block from SHA-256's initial value (an HMAC key-pad midstate). */
static inline void ctokenaudit_sha256_midstate(const unsigned char *block, uint32_t *out) {
    ctokenaudit_sha256_ctx c;
    SHA256_Init(&c);
    SHA256_Update(&c, block, 64);
    memcpy(out, c.h, 32);
}

/* The chaining state after one 128-byte block from SHA-384's (is384 != 0) or SHA-512's initial value. */
static inline void ctokenaudit_sha512_midstate(int is384, const unsigned char *block, uint64_t *out) {
    ctokenaudit_sha512_ctx c;
    if (is384) SHA384_Init(&c); else SHA512_Init(&c);
    SHA512_Update(&c, block, 128);
    memcpy(out, c.h, 64);
}

/* The index of the first of `count` secrets whose HMAC-SHA-256 of the message is `tag`, or -1.
 * pads: 16 words per secret, the ipad midstate then the opad midstate. padded: the message with SHA-256 padding
 * for a hash that starts after one block (length field = (64 + message length) * 8), `blocks` * 64 bytes.
 * tag: the expected MAC as 8 host-order words (big-endian decoded). */
static inline long ctokenaudit_hmac_sha256_search(const uint32_t *pads, size_t count, const unsigned char *padded,
                                                  size_t blocks, const uint32_t *tag) {
    ctokenaudit_sha256_ctx c;
    unsigned char outer[64];
    memset(&c, 0, sizeof c);
    memset(outer, 0, sizeof outer);
    outer[32] = 0x80;
    outer[62] = 0x03; /* (64 + 32) * 8 = 768 bits */
    for (size_t i = 0; i < count; i++) {
        const uint32_t *p = pads + 16 * i;
        memcpy(c.h, p, 32);
        c.num = 0;
        SHA256_Update(&c, padded, blocks * 64);
        for (int w = 0; w < 8; w++) {
            uint32_t v = c.h[w];
            outer[4 * w] = (unsigned char)(v >> 24); outer[4 * w + 1] = (unsigned char)(v >> 16);
            outer[4 * w + 2] = (unsigned char)(v >> 8); outer[4 * w + 3] = (unsigned char)v;
        }
        memcpy(c.h, p + 8, 32);
        c.num = 0;
        SHA256_Update(&c, outer, 64);
        if (c.h[0] == tag[0] && memcmp(c.h, tag, 32) == 0) return (long)i;
    }
    return -1;
}

/* The same for HMAC-SHA-384 (is384 != 0: 6-word tag) and HMAC-SHA-512 (8 words): 16 64-bit words per secret,
 * padding for a hash that starts after one 128-byte block. */
static inline long ctokenaudit_hmac_sha512_search(int is384, const uint64_t *pads, size_t count,
                                                  const unsigned char *padded, size_t blocks, const uint64_t *tag) {
    ctokenaudit_sha512_ctx c;
    unsigned char outer[128];
    int words = is384 ? 6 : 8;
    memset(&c, 0, sizeof c);
    memset(outer, 0, sizeof outer);
    outer[8 * words] = 0x80;
    if (is384) { outer[126] = 0x05; outer[127] = 0x80; } /* (128 + 48) * 8 = 1408 bits */
    else { outer[126] = 0x06; }                             /* (128 + 64) * 8 = 1536 bits */
    for (size_t i = 0; i < count; i++) {
        const uint64_t *p = pads + 16 * i;
        memcpy(c.h, p, 64);
        c.num = 0;
        SHA512_Update(&c, padded, blocks * 128);
        for (int w = 0; w < words; w++) {
            uint64_t v = c.h[w];
            for (int b = 0; b < 8; b++) outer[8 * w + b] = (unsigned char)(v >> (56 - 8 * b));
        }
        memcpy(c.h, p + 8, 64);
        c.num = 0;
        SHA512_Update(&c, outer, 128);
        if (c.h[0] == tag[0] && memcmp(c.h, tag, 8 * (size_t)words) == 0) return (long)i;
    }
    return -1;
}
#endif
