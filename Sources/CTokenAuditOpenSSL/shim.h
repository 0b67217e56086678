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

/* ---- The list's SHA-256 pads in groups of sixteen (HMACKeyPads.words32) ----
 * Candidate i's word j (ipad midstate j < 8, opad midstate 8 + j) is at (i / 16) * 256 + j * 16 + i % 16: each
 * word of sixteen candidates is one contiguous 64-byte vector, so the AVX-512 search loads it directly (no
 * gather, a sequential stream the prefetcher follows). The other paths copy a candidate's sixteen words out. */
static inline void ctokenaudit_pads16_candidate(const uint32_t *pads, size_t i, uint32_t *out) {
    const uint32_t *g = pads + (i / 16) * 256 + i % 16;
    for (int j = 0; j < 16; j++) out[j] = g[16 * j];
}

/* ctokenaudit_hmac_sha256_search over pads in groups of sixteen. */
static inline long ctokenaudit_hmac_sha256_search_pads16(const uint32_t *pads, size_t count, const unsigned char *padded,
                                                         size_t blocks, const uint32_t *tag) {
    uint32_t one[16];
    for (size_t i = 0; i < count; i++) {
        ctokenaudit_pads16_candidate(pads, i, one);
        if (ctokenaudit_hmac_sha256_search(one, 1, padded, blocks, tag) == 0) return (long)i;
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
/* ---- The same search with SHA-NI, several candidates interleaved (x86-64 CPUs with the SHA extensions) ----
 * Every candidate hashes the same message blocks, so their message schedule (W[t] + K[t], 64 words a block) is
 * computed once per token (ctokenaudit_sha256_schedule); a candidate then costs only the rounds. Four
 * candidates run side by side because one SHA-NI round chain is latency-bound. The result is the lowest matching
 * index, exactly as ctokenaudit_hmac_sha256_search. Pads in groups of sixteen (ctokenaudit_pads16_candidate). Only
 * called when ctokenaudit_has_sha_ni() says so. */
static const uint32_t ctokenaudit_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

/* W[t] + K[t] for every block of `padded` (portable C: once per token). wk: 64 * blocks words. */
static inline void ctokenaudit_sha256_schedule(const unsigned char *padded, size_t blocks, uint32_t *wk) {
    for (size_t b = 0; b < blocks; b++) {
        uint32_t w[64];
        const unsigned char *p = padded + 64 * b;
        for (int t = 0; t < 16; t++)
            w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 | (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
        for (int t = 16; t < 64; t++) {
            uint32_t a = w[t - 15], c = w[t - 2];
            uint32_t s0 = (a >> 7 | a << 25) ^ (a >> 18 | a << 14) ^ (a >> 3);
            uint32_t s1 = (c >> 17 | c << 15) ^ (c >> 19 | c << 13) ^ (c >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        for (int t = 0; t < 64; t++) wk[64 * b + t] = w[t] + ctokenaudit_sha256_k[t];
    }
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/* Whether the CPU has the SHA extensions and SSE4.1 (CPUID leaf 7 EBX bit 29, leaf 1 ECX bit 19). */
static inline int ctokenaudit_has_sha_ni(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)) || !(c & (1u << 9))) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & (1u << 29)) != 0;
}

#define CTOKENAUDIT_SHA_TARGET __attribute__((target("sha,sse4.1,ssse3"), always_inline))
#define CTOKENAUDIT_LANES 4

/* h[0..7] (host-order words) <-> the ABEF / CDGH register pair the SHA-NI instructions use. */
static inline CTOKENAUDIT_SHA_TARGET void ctokenaudit_ni_load(const uint32_t *h, __m128i *abef, __m128i *cdgh) {
    __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0xB1);       /* CDAB */
    __m128i u = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(h + 4)), 0x1B); /* EFGH */
    *abef = _mm_alignr_epi8(t, u, 8);
    *cdgh = _mm_blend_epi16(u, t, 0xF0);
}
static inline CTOKENAUDIT_SHA_TARGET void ctokenaudit_ni_words(__m128i abef, __m128i cdgh, __m128i *lo, __m128i *hi) {
    __m128i t = _mm_shuffle_epi32(abef, 0x1B); /* FEBA */
    __m128i u = _mm_shuffle_epi32(cdgh, 0xB1); /* DCHG */
    *lo = _mm_blend_epi16(t, u, 0xF0);         /* DCBA: h0..h3 */
    *hi = _mm_alignr_epi8(u, t, 8);            /* HGFE: h4..h7 */
}

/* Message blocks [from, to) of the inner hash for CTOKENAUDIT_LANES candidates side by side: the schedule `wk`
 * (W + K, shared by every candidate) is loaded once per four rounds, each lane runs its own rounds. */
static inline CTOKENAUDIT_SHA_TARGET void ctokenaudit_ni_inner_blocks(__m128i *s0, __m128i *s1, const uint32_t *wk,
                                                                      size_t from, size_t to) {
    enum { L = CTOKENAUDIT_LANES };
    for (size_t b = from; b < to; b++) {
        __m128i a0[L], a1[L];
        for (size_t l = 0; l < L; l++) { a0[l] = s0[l]; a1[l] = s1[l]; }
        const uint32_t *k = wk + 64 * b;
        for (int g = 0; g < 16; g++) {
            __m128i m = _mm_loadu_si128((const __m128i *)(k + 4 * g));
            __m128i m2 = _mm_shuffle_epi32(m, 0x0E);
            for (size_t l = 0; l < L; l++) s1[l] = _mm_sha256rnds2_epu32(s1[l], s0[l], m);
            for (size_t l = 0; l < L; l++) s0[l] = _mm_sha256rnds2_epu32(s0[l], s1[l], m2);
        }
        for (size_t l = 0; l < L; l++) { s0[l] = _mm_add_epi32(s0[l], a0[l]); s1[l] = _mm_add_epi32(s1[l], a1[l]); }
    }
}

/* inner (optional): the inner hash's chaining states after the message's first `first` blocks, in the layout of
 * ctokenaudit_sha256_inner_states_avx512 (which ctokenaudit_sha256_inner_states_ni also writes); the search then
 * starts at block `first`. NULL and 0: from the pads. */
__attribute__((target("sha,sse4.1,ssse3")))
static inline long ctokenaudit_hmac_sha256_search_ni(const uint32_t *pads, size_t count, const uint32_t *wk,
                                                     size_t blocks, const uint32_t *tag, const uint32_t *inner,
                                                     size_t first) {
    enum { L = CTOKENAUDIT_LANES };
    __m128i tagABEF, tagCDGH;
    ctokenaudit_ni_load(tag, &tagABEF, &tagCDGH);
    const __m128i pad2 = _mm_set_epi32(0, 0, 0, (int)0x80000000u);
    const __m128i pad3 = _mm_set_epi32(768, 0, 0, 0);
    for (size_t base = 0; base < count; base += L) {
        size_t lanes = count - base < L ? count - base : L;
        __m128i s0[L], s1[L], w[L][16];
        uint32_t one[L][16];
        for (size_t l = 0; l < L; l++) {
            size_t i = base + (l < lanes ? l : 0);
            ctokenaudit_pads16_candidate(pads, i, one[l]);
            if (inner) {
                uint32_t h[8];
                const uint32_t *g = inner + (i / 16) * 128 + i % 16;
                for (int j = 0; j < 8; j++) h[j] = g[16 * j];
                ctokenaudit_ni_load(h, &s0[l], &s1[l]);
            } else {
                ctokenaudit_ni_load(one[l], &s0[l], &s1[l]);
            }
        }
        /* Inner hash: the shared message schedule, per-lane rounds. */
        ctokenaudit_ni_inner_blocks(s0, s1, wk, inner ? first : 0, blocks);
        /* Outer block: the inner digest, then fixed padding for 64 + 32 bytes; its schedule is per lane. */
        for (size_t l = 0; l < L; l++) {
            ctokenaudit_ni_words(s0[l], s1[l], &w[l][0], &w[l][1]);
            w[l][2] = pad2;
            w[l][3] = pad3;
            ctokenaudit_ni_load(one[l] + 8, &s0[l], &s1[l]);
        }
        __m128i a0[L], a1[L];
        for (size_t l = 0; l < L; l++) { a0[l] = s0[l]; a1[l] = s1[l]; }
        for (int g = 0; g < 16; g++) {
            if (g >= 4) {
                for (size_t l = 0; l < L; l++) {
                    __m128i x = _mm_sha256msg1_epu32(w[l][g - 4], w[l][g - 3]);
                    x = _mm_add_epi32(x, _mm_alignr_epi8(w[l][g - 1], w[l][g - 2], 4));
                    w[l][g] = _mm_sha256msg2_epu32(x, w[l][g - 1]);
                }
            }
            __m128i k = _mm_loadu_si128((const __m128i *)(ctokenaudit_sha256_k + 4 * g));
            for (size_t l = 0; l < L; l++) {
                __m128i m = _mm_add_epi32(w[l][g], k);
                s1[l] = _mm_sha256rnds2_epu32(s1[l], s0[l], m);
                s0[l] = _mm_sha256rnds2_epu32(s0[l], s1[l], _mm_shuffle_epi32(m, 0x0E));
            }
        }
        for (size_t l = 0; l < lanes; l++) {
            __m128i e0 = _mm_cmpeq_epi32(_mm_add_epi32(s0[l], a0[l]), tagABEF);
            __m128i e1 = _mm_cmpeq_epi32(_mm_add_epi32(s1[l], a1[l]), tagCDGH);
            if (_mm_movemask_epi8(_mm_and_si128(e0, e1)) == 0xFFFF) return (long)(base + l);
        }
    }
    return -1;
}
/* The inner hash's chaining state after the first `first` message blocks for each of `count` candidates, with
 * SHA-NI, in the layout ctokenaudit_sha256_inner_states_avx512 writes (candidate i's word j at
 * (i / 16) * 128 + j * 16 + i % 16): one cache serves both searches. */
__attribute__((target("sha,sse4.1,ssse3")))
static inline void ctokenaudit_sha256_inner_states_ni(const uint32_t *pads, size_t count, const uint32_t *wk,
                                                      size_t first, uint32_t *out) {
    enum { L = CTOKENAUDIT_LANES };
    for (size_t base = 0; base < count; base += L) {
        size_t lanes = count - base < L ? count - base : L;
        __m128i s0[L], s1[L];
        for (size_t l = 0; l < L; l++) {
            uint32_t one[16];
            ctokenaudit_pads16_candidate(pads, base + (l < lanes ? l : 0), one);
            ctokenaudit_ni_load(one, &s0[l], &s1[l]);
        }
        ctokenaudit_ni_inner_blocks(s0, s1, wk, 0, first);
        for (size_t l = 0; l < lanes; l++) {
            size_t i = base + l;
            uint32_t h[8];
            __m128i lo, hi;
            ctokenaudit_ni_words(s0[l], s1[l], &lo, &hi);
            _mm_storeu_si128((__m128i *)h, lo);
            _mm_storeu_si128((__m128i *)(h + 4), hi);
            uint32_t *g = out + (i / 16) * 128 + i % 16;
            for (int j = 0; j < 8; j++) g[16 * j] = h[j];
        }
    }
}
/* ---- The same search with AVX-512: sixteen candidates, one per 32-bit lane, in plain SHA-256 arithmetic ----
 * On CPUs with full-width AVX-512 this beats SHA-NI (whose round instruction is throughput-bound): the shared
 * message schedule is broadcast from memory, each round is ~17 vector operations for 16 candidates. The pads are
 * read in groups of sixteen (one aligned-or-not 64-byte load per word, no gather), and the rounds are written out
 * eight at a time with the working variables renamed instead of shifted (no register moves, no loop per round).
 *
 * inner (optional): the inner hash's chaining state after the message's first `first` blocks, for every candidate,
 * in groups of sixteen (candidate i's word j at (i / 16) * 128 + j * 16 + i % 16), from
 * ctokenaudit_sha256_inner_states_avx512; the search then starts at block `first`. NULL and 0: from the pads. */
#define CTA_ROR(x, n) _mm512_ror_epi32((x), (n))
#define CTA_R(a, b, c, d, e, f, g, h, wkv) do { \
        __m512i t1_ = _mm512_add_epi32(_mm512_add_epi32(h, (wkv)), _mm512_add_epi32( \
            _mm512_ternarylogic_epi32(CTA_ROR(e, 6), CTA_ROR(e, 11), CTA_ROR(e, 25), 0x96), \
            _mm512_ternarylogic_epi32(e, f, g, 0xCA))); \
        __m512i t2_ = _mm512_add_epi32(_mm512_ternarylogic_epi32(CTA_ROR(a, 2), CTA_ROR(a, 13), CTA_ROR(a, 22), 0x96), \
                                       _mm512_ternarylogic_epi32(a, b, c, 0xE8)); \
        d = _mm512_add_epi32(d, t1_); h = _mm512_add_epi32(t1_, t2_); \
    } while (0)
/* 64 rounds over the state s[0..7] with the round inputs W[t] + K[t] given by the expression WK(t). */
#define CTA_64_ROUNDS(s, WK) do { \
        __m512i a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7]; \
        for (int t = 0; t < 64; t += 8) { \
            CTA_R(a, b, c, d, e, f, g, h, WK(t)); \
            CTA_R(h, a, b, c, d, e, f, g, WK(t + 1)); \
            CTA_R(g, h, a, b, c, d, e, f, WK(t + 2)); \
            CTA_R(f, g, h, a, b, c, d, e, WK(t + 3)); \
            CTA_R(e, f, g, h, a, b, c, d, WK(t + 4)); \
            CTA_R(d, e, f, g, h, a, b, c, WK(t + 5)); \
            CTA_R(c, d, e, f, g, h, a, b, WK(t + 6)); \
            CTA_R(b, c, d, e, f, g, h, a, WK(t + 7)); \
        } \
        s[0] = _mm512_add_epi32(s[0], a); s[1] = _mm512_add_epi32(s[1], b); \
        s[2] = _mm512_add_epi32(s[2], c); s[3] = _mm512_add_epi32(s[3], d); \
        s[4] = _mm512_add_epi32(s[4], e); s[5] = _mm512_add_epi32(s[5], f); \
        s[6] = _mm512_add_epi32(s[6], g); s[7] = _mm512_add_epi32(s[7], h); \
    } while (0)

__attribute__((target("avx512f")))
static inline long ctokenaudit_hmac_sha256_search_avx512(const uint32_t *pads, size_t count, const uint32_t *wk,
                                                         size_t blocks, const uint32_t *tag, const uint32_t *inner,
                                                         size_t first) {
    for (size_t base = 0; base < count; base += 16) {
        size_t lanes = count - base < 16 ? count - base : 16;
        const uint32_t *group = pads + base * 16; /* (base / 16) * 256 */
        __m512i st[8];
        if (inner) {
            const uint32_t *from = inner + base * 8; /* (base / 16) * 128 */
            for (int j = 0; j < 8; j++) st[j] = _mm512_loadu_si512((const void *)(from + 16 * j));
        } else {
            for (int j = 0; j < 8; j++) st[j] = _mm512_loadu_si512((const void *)(group + 16 * j));
        }
        for (size_t blk = inner ? first : 0; blk < blocks; blk++) {
            const uint32_t *k = wk + 64 * blk;
#define CTA_WK_MESSAGE(t) _mm512_set1_epi32((int)k[(t)])
            CTA_64_ROUNDS(st, CTA_WK_MESSAGE);
#undef CTA_WK_MESSAGE
        }
        /* Outer block: W0..7 = inner digest, W8 = 0x80000000, W15 = (64 + 32) * 8 bits. Its schedule (+ K) first. */
        __m512i w[64];
        for (int j = 0; j < 8; j++) w[j] = st[j];
        w[8] = _mm512_set1_epi32((int)0x80000000u);
        for (int j = 9; j < 15; j++) w[j] = _mm512_setzero_si512();
        w[15] = _mm512_set1_epi32(768);
        for (int t = 16; t < 64; t++) {
            __m512i w15 = w[t - 15], w2 = w[t - 2];
            __m512i s0 = _mm512_ternarylogic_epi32(CTA_ROR(w15, 7), CTA_ROR(w15, 18), _mm512_srli_epi32(w15, 3), 0x96);
            __m512i s1 = _mm512_ternarylogic_epi32(CTA_ROR(w2, 17), CTA_ROR(w2, 19), _mm512_srli_epi32(w2, 10), 0x96);
            w[t] = _mm512_add_epi32(_mm512_add_epi32(w[t - 16], s0), _mm512_add_epi32(w[t - 7], s1));
        }
        for (int t = 0; t < 64; t++) w[t] = _mm512_add_epi32(w[t], _mm512_set1_epi32((int)ctokenaudit_sha256_k[t]));
        for (int j = 0; j < 8; j++) st[j] = _mm512_loadu_si512((const void *)(group + 16 * (8 + j)));
#define CTA_WK_OUTER(t) w[(t)]
        CTA_64_ROUNDS(st, CTA_WK_OUTER);
#undef CTA_WK_OUTER
        __mmask16 hit = (__mmask16)((1u << lanes) - 1);
        hit &= _mm512_cmpeq_epi32_mask(st[0], _mm512_set1_epi32((int)tag[0]));
        if (hit) {
            for (int j = 1; j < 8; j++) hit &= _mm512_cmpeq_epi32_mask(st[j], _mm512_set1_epi32((int)tag[j]));
            if (hit) return (long)(base + (size_t)__builtin_ctz(hit));
        }
    }
    return -1;
}

/* The inner hash's chaining state after the first `first` message blocks for each of `count` candidates (groups
 * of sixteen in, groups of sixteen out: 128 words per group; see ctokenaudit_hmac_sha256_search_avx512). */
__attribute__((target("avx512f")))
static inline void ctokenaudit_sha256_inner_states_avx512(const uint32_t *pads, size_t count, const uint32_t *wk,
                                                          size_t first, uint32_t *out) {
    for (size_t base = 0; base < count; base += 16) {
        const uint32_t *group = pads + base * 16;
        __m512i st[8];
        for (int j = 0; j < 8; j++) st[j] = _mm512_loadu_si512((const void *)(group + 16 * j));
        for (size_t blk = 0; blk < first; blk++) {
            const uint32_t *k = wk + 64 * blk;
#define CTA_WK_MESSAGE(t) _mm512_set1_epi32((int)k[(t)])
            CTA_64_ROUNDS(st, CTA_WK_MESSAGE);
#undef CTA_WK_MESSAGE
        }
        for (int j = 0; j < 8; j++) _mm512_storeu_si512((void *)(out + base * 8 + 16 * j), st[j]);
    }
}
#undef CTA_64_ROUNDS
#undef CTA_R
#undef CTA_ROR

/* Whether the CPU and OS support AVX-512 Foundation. */
static inline int ctokenaudit_has_avx512(void) { return __builtin_cpu_supports("avx512f") ? 1 : 0; }
#else
static inline int ctokenaudit_has_sha_ni(void) { return 0; }
static inline int ctokenaudit_has_avx512(void) { return 0; }
static inline long ctokenaudit_hmac_sha256_search_avx512(const uint32_t *pads, size_t count, const uint32_t *wk,
                                                         size_t blocks, const uint32_t *tag, const uint32_t *inner,
                                                         size_t first) {
    (void)pads; (void)count; (void)wk; (void)blocks; (void)tag; (void)inner; (void)first;
    return -2; /* never called: ctokenaudit_has_avx512() is 0 */
}
static inline void ctokenaudit_sha256_inner_states_avx512(const uint32_t *pads, size_t count, const uint32_t *wk,
                                                          size_t first, uint32_t *out) {
    (void)pads; (void)count; (void)wk; (void)first; (void)out; /* never called: ctokenaudit_has_avx512() is 0 */
}
static inline long ctokenaudit_hmac_sha256_search_ni(const uint32_t *pads, size_t count, const uint32_t *wk,
                                                     size_t blocks, const uint32_t *tag, const uint32_t *inner,
                                                     size_t first) {
    (void)pads; (void)count; (void)wk; (void)blocks; (void)tag; (void)inner; (void)first;
    return -2; /* never called: ctokenaudit_has_sha_ni() is 0 */
}
static inline void ctokenaudit_sha256_inner_states_ni(const uint32_t *pads, size_t count, const uint32_t *wk,
                                                      size_t first, uint32_t *out) {
    (void)pads; (void)count; (void)wk; (void)first; (void)out; /* never called: ctokenaudit_has_sha_ni() is 0 */
}
#endif
#endif
