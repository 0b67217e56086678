#ifndef CTOKENAUDIT_SIMD_SHIM_H
#define CTOKENAUDIT_SIMD_SHIM_H
/*
 * Byte scanners for the scan's hot loops, header-only (no library to link). Swift cannot ask for AVX2 per
 * function, so these live in C with `target` attributes and are called only after
 * ctokenaudit_simd_has_avx2() said yes; the Swift code they replace stays as the fallback on CPUs without
 * AVX2 and as the oracle of the equivalence tests. Every function reads only inside [0, end) of the pointer
 * it is given (the "overlapping last load" tricks load 32 bytes ending exactly at `end`, which needs end >= 32
 * and memory valid from p[0]: callers pass the start of the line or buffer, never a pointer into its middle).
 * SwiftPM does not track this header as a dependency of the Swift files that import it: after editing it,
 * touch those files (TokenShape, FlatJSONScanner, Wide, LogReader) or the build keeps the old code.
 */
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define CTOKENAUDIT_SIMD_AVX2 __attribute__((target("avx2,popcnt")))

/* 1 when the CPU has AVX2 and POPCNT and the OS saves the YMM registers. */
static inline int ctokenaudit_simd_has_avx2(void) {
    __builtin_cpu_init();
    return (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt")) ? 1 : 0;
}

/* ctokenaudit_simd_has_avx2 for hot paths: no __builtin_cpu_init call (libgcc's constructor has filled the
 * CPU-model word before main), so it inlines to a load and a bit test. */
static inline int ctokenaudit_simd_avx2_ready(void) {
    return (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt")) ? 1 : 0;
}

/* The high bit of each byte of the result set where that byte of `v` is a JWT character (base64url or '.'):
 * a nibble lookup. For a byte c, lo = c & 15, hi = c >> 4: the character is in the set iff bit `hi` of
 * lo_table[lo] is set (hi < 8: the set is ASCII).
 *   hi 2: '-' '.' (lo D, E)   hi 3: '0'-'9' (lo 0-9)   hi 4: 'A'-'O' (lo 1-F)   hi 5: 'P'-'Z' (lo 0-A), '_' (lo F)
 *   hi 6: 'a'-'o' (lo 1-F)    hi 7: 'p'-'z' (lo 0-A) */
CTOKENAUDIT_SIMD_AVX2 static inline __m256i ctokenaudit_jwt_class_avx2(__m256i v) {
    const __m256i lo_table = _mm256_setr_epi8(
        (char)0xA8, (char)0xF8, (char)0xF8, (char)0xF8, (char)0xF8, (char)0xF8, (char)0xF8, (char)0xF8,
        (char)0xF8, (char)0xF8, (char)0xF0, (char)0x50, (char)0x50, (char)0x54, (char)0x54, (char)0x70,
        (char)0xA8, (char)0xF8, (char)0xF8, (char)0xF8, (char)0xF8, (char)0xF8, (char)0xF8, (char)0xF8,
        (char)0xF8, (char)0xF8, (char)0xF0, (char)0x50, (char)0x50, (char)0x54, (char)0x54, (char)0x70);
    const __m256i bit_table = _mm256_setr_epi8(
        1, 2, 4, 8, 16, 32, 64, (char)128, 0, 0, 0, 0, 0, 0, 0, 0,
        1, 2, 4, 8, 16, 32, 64, (char)128, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    __m256i lo = _mm256_and_si256(v, nibble);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
    __m256i hit = _mm256_and_si256(_mm256_shuffle_epi8(lo_table, lo), _mm256_shuffle_epi8(bit_table, hi));
    /* 0xFF where not a JWT character */
    return _mm256_cmpeq_epi8(hit, _mm256_setzero_si256());
}

/* The run of JWT characters in p[from..<end]: returns its end, and adds its '.' count to *dots. */
CTOKENAUDIT_SIMD_AVX2 static inline size_t ctokenaudit_jwt_run_avx2(const uint8_t *p, size_t from, size_t end,
                                                                    size_t *dots) {
    const __m256i dot = _mm256_set1_epi8('.');
    size_t j = from;
    size_t count = 0;
    while (j + 32 <= end) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(p + j));
        uint32_t bad = (uint32_t)_mm256_movemask_epi8(ctokenaudit_jwt_class_avx2(v));
        uint32_t d = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, dot));
        if (bad) {
            uint32_t k = (uint32_t)__builtin_ctz(bad);
            count += (size_t)__builtin_popcount(d & ((1u << k) - 1u));
            *dots += count;
            return j + k;
        }
        count += (size_t)__builtin_popcount(d);
        j += 32;
    }
    if (j < end) {
        if (end >= 32) {
            /* The last 32 bytes of [0, end); the first `skip` of them are before j. */
            size_t base = end - 32;
            uint32_t skip = (uint32_t)(j - base);
            __m256i v = _mm256_loadu_si256((const __m256i *)(p + base));
            uint32_t bad = ((uint32_t)_mm256_movemask_epi8(ctokenaudit_jwt_class_avx2(v)) >> skip);
            uint32_t d = ((uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, dot)) >> skip);
            if (bad) {
                uint32_t k = (uint32_t)__builtin_ctz(bad);
                count += (size_t)__builtin_popcount(d & ((1u << k) - 1u));
                j += k;
            } else {
                count += (size_t)__builtin_popcount(d);
                j = end;
            }
        } else {
            while (j < end) {
                uint8_t c = p[j];
                int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                         c == '_' || c == '.';
                if (!ok) break;
                count += c == '.';
                j++;
            }
        }
    }
    *dots += count;
    return j;
}

/* The prefilter's pair test on 32 positions at once: the first i in [from, n - 32) where p[i], p[i+1] is
 * `e` + `y`/`w`, or (any case) `be`, `dp`, `to`, `jw`, `as`; or the first position with fewer than 33 bytes
 * left from it (at or after `from`) when there is no such pair before it. */
CTOKENAUDIT_SIMD_AVX2 static inline size_t ctokenaudit_trigger_pairs_avx2(const uint8_t *p, size_t from, size_t n) {
    /* Nibble tables ("shufti"): a byte's class is lo_table[c & 15] & hi_table[c >> 4], one bit per pair kind;
     * a pair is a hit where the classes of its first and second byte share a bit.
     *   bit 0: 'e' then 'y'/'w' (exact case)   bit 1: b/B then e/E   bit 2: d/D then p/P
     *   bit 3: t/T then o/O                     bit 4: j/J then w/W   bit 5: a/A then s/S
     * Each bit's byte set is a product (low nibbles x high nibbles), which is what makes two lookups exact. */
    const __m256i first_lo = _mm256_setr_epi8(
        0, 0x20, 0x02, 0, 0x0C, 0x01, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0,
        0, 0x20, 0x02, 0, 0x0C, 0x01, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0);
    const __m256i first_hi = _mm256_setr_epi8(
        0, 0, 0, 0, 0x36, 0x08, 0x37, 0x08, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0x36, 0x08, 0x37, 0x08, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i second_lo = _mm256_setr_epi8(
        0x04, 0, 0, 0x20, 0, 0x02, 0, 0x11, 0, 0x01, 0, 0, 0, 0, 0, 0x08,
        0x04, 0, 0, 0x20, 0, 0x02, 0, 0x11, 0, 0x01, 0, 0, 0, 0, 0, 0x08);
    const __m256i second_hi = _mm256_setr_epi8(
        0, 0, 0, 0, 0x0A, 0x34, 0x0A, 0x35, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0x0A, 0x34, 0x0A, 0x35, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    const __m256i zero = _mm256_setzero_si256();
    size_t i = from;
    while (i + 33 <= n) {
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(p + i));
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(p + i + 1));
        __m256i c0 = _mm256_and_si256(_mm256_shuffle_epi8(first_lo, _mm256_and_si256(v0, nibble)),
                                      _mm256_shuffle_epi8(first_hi, _mm256_and_si256(_mm256_srli_epi16(v0, 4), nibble)));
        __m256i c1 = _mm256_and_si256(_mm256_shuffle_epi8(second_lo, _mm256_and_si256(v1, nibble)),
                                      _mm256_shuffle_epi8(second_hi, _mm256_and_si256(_mm256_srli_epi16(v1, 4), nibble)));
        uint32_t none = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(c0, c1), zero));
        if (none != 0xFFFFFFFFu) return i + (size_t)__builtin_ctz(~none);
        i += 32;
    }
    return i;
}

/* The first i in [from, n - 1) where p[i] is 'e' and p[i+1] is 'y' or 'w' (how a JWS/JWE header starts in
 * base64url), or n when there is none. */
CTOKENAUDIT_SIMD_AVX2 static inline size_t ctokenaudit_ey_pair_avx2(const uint8_t *p, size_t from, size_t n) {
    const __m256i e = _mm256_set1_epi8('e');
    const __m256i y = _mm256_set1_epi8('y');
    const __m256i w = _mm256_set1_epi8('w');
    size_t i = from;
    while (i + 33 <= n) {
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(p + i));
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(p + i + 1));
        __m256i hits = _mm256_and_si256(_mm256_cmpeq_epi8(v0, e),
                                        _mm256_or_si256(_mm256_cmpeq_epi8(v1, y), _mm256_cmpeq_epi8(v1, w)));
        uint32_t m = (uint32_t)_mm256_movemask_epi8(hits);
        if (m) return i + (size_t)__builtin_ctz(m);
        i += 32;
    }
    while (i + 1 < n) {
        if (p[i] == 'e' && (p[i + 1] == 'y' || p[i + 1] == 'w')) return i;
        i++;
    }
    return n;
}

/* The first '\n' in p[0..<n) (n when none), and in *first_control the first byte before it that is a
 * control character (below 0x20) or DEL, or the newline's index when there is none: what the line splitter
 * needs to know before it copies a line (a line with no such byte is never binary). */
CTOKENAUDIT_SIMD_AVX2 static inline size_t ctokenaudit_newline_avx2(const uint8_t *p, size_t n, size_t *first_control) {
    const __m256i newline = _mm256_set1_epi8('\n');
    const __m256i top_control = _mm256_set1_epi8(0x1F);
    const __m256i del = _mm256_set1_epi8(0x7F);
    size_t j = 0;
    size_t control = (size_t)-1;
    while (j + 32 <= n) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(p + j));
        uint32_t nl = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, newline));
        if (control == (size_t)-1) {
            __m256i c = _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(v, top_control), v), _mm256_cmpeq_epi8(v, del));
            uint32_t cm = (uint32_t)_mm256_movemask_epi8(c);
            if (cm) control = j + (size_t)__builtin_ctz(cm);
        }
        if (nl) {
            size_t at = j + (size_t)__builtin_ctz(nl);
            *first_control = control < at ? control : at;
            return at;
        }
        j += 32;
    }
    while (j < n) {
        uint8_t c = p[j];
        if (c == '\n') break;
        if (control == (size_t)-1 && (c < 0x20 || c == 0x7F)) control = j;
        j++;
    }
    *first_control = control < j ? control : j;
    return j;
}

/* The first byte in p[j..<n) that ends a plain JSON string run: '"', '\\', a control byte (< 0x20) or a byte
 * >= 0x80; n when there is none. SSE2 (every x86-64 has it). */
static inline size_t ctokenaudit_json_string_stop(const uint8_t *p, size_t j, size_t n) {
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (j + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + j));
        /* signed: bytes >= 0x80 are negative, so "below 0x20" takes them too */
        __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                    _mm_cmplt_epi8(v, space));
        unsigned m = (unsigned)_mm_movemask_epi8(stop);
        if (m) return j + (size_t)__builtin_ctz(m);
        j += 16;
    }
    if (j < n && n >= 16) {
        size_t base = n - 16;
        __m128i v = _mm_loadu_si128((const __m128i *)(p + base));
        __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                    _mm_cmplt_epi8(v, space));
        unsigned m = ((unsigned)_mm_movemask_epi8(stop)) >> (j - base);
        return m ? j + (size_t)__builtin_ctz(m) : n;
    }
    while (j < n) {
        uint8_t c = p[j];
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return j;
        j++;
    }
    return n;
}

/* The first `c` in p[j..<n), or n (SSE2; the last step loads the sixteen bytes ending at n when n >= 16). */
static inline size_t ctokenaudit_find_byte(const uint8_t *p, size_t j, size_t n, uint8_t c) {
    const __m128i needle = _mm_set1_epi8((char)c);
    while (j + 16 <= n) {
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + j)), needle));
        if (m) return j + (size_t)__builtin_ctz(m);
        j += 16;
    }
    if (j < n && n >= 16) {
        size_t base = n - 16;
        unsigned m = ((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + base)), needle)))
                     >> (j - base);
        return m ? j + (size_t)__builtin_ctz(m) : n;
    }
    while (j < n && p[j] != c) j++;
    return j;
}

#else /* not x86-64: no wide paths; the Swift callers keep their own loops (has_avx2 says 0). */

static inline int ctokenaudit_simd_has_avx2(void) { return 0; }
static inline int ctokenaudit_simd_avx2_ready(void) { return 0; }

static inline size_t ctokenaudit_jwt_run_avx2(const uint8_t *p, size_t from, size_t end, size_t *dots) {
    size_t j = from;
    while (j < end) {
        uint8_t c = p[j];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                 c == '.';
        if (!ok) break;
        *dots += c == '.';
        j++;
    }
    return j;
}

static inline size_t ctokenaudit_trigger_pairs_avx2(const uint8_t *p, size_t from, size_t n) {
    (void)p;
    (void)n;
    return from;
}

static inline size_t ctokenaudit_ey_pair_avx2(const uint8_t *p, size_t from, size_t n) {
    size_t i = from;
    while (i + 1 < n) {
        if (p[i] == 'e' && (p[i + 1] == 'y' || p[i + 1] == 'w')) return i;
        i++;
    }
    return n;
}

static inline size_t ctokenaudit_newline_avx2(const uint8_t *p, size_t n, size_t *first_control) {
    size_t j = 0, control = (size_t)-1;
    while (j < n && p[j] != '\n') {
        if (control == (size_t)-1 && (p[j] < 0x20 || p[j] == 0x7F)) control = j;
        j++;
    }
    *first_control = control < j ? control : j;
    return j;
}

static inline size_t ctokenaudit_json_string_stop(const uint8_t *p, size_t j, size_t n) {
    while (j < n) {
        uint8_t c = p[j];
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return j;
        j++;
    }
    return n;
}
static inline size_t ctokenaudit_find_byte(const uint8_t *p, size_t j, size_t n, uint8_t c) {
    while (j < n && p[j] != c) j++;
    return j;
}
#endif

/*
 * Prefetch hints for the workers' per-line path (TokenAuditPipeline): a batch's first sighting of a token reads
 * the worker table's entry, the stored key (~700 bytes), the analysis object and its shape basis and quiet
 * shapes, each a cache miss that waited for the one before. These start the loads early (for the next line's
 * token while this line is processed). A hint only: never faults, even on a stale or unmapped address, and
 * changes no result.
 */
static inline void ctokenaudit_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
static inline void ctokenaudit_prefetch_for_write(const void *p) { __builtin_prefetch(p, 1, 3); }
/* Every cache line of [p, p + n) (n > 0), for a key about to be compared whole. */
static inline void ctokenaudit_prefetch_range(const void *p, size_t n) {
    const char *c = (const char *)((uintptr_t)p & ~(uintptr_t)63);
    const char *end = (const char *)p + n;
    for (; c < end; c += 64) __builtin_prefetch(c, 0, 3);
}

#endif
