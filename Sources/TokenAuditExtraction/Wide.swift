internal import CTokenAuditSIMD

/// The ``SWAR`` word tricks sixteen bytes at a time, on `SIMD2<UInt64>`: the compiler keeps them in one SSE
/// register (add, and, or, xor only; no lane-by-lane comparisons, which Swift's SIMD comparisons still are), so
/// each step classifies twice the bytes of a 64-bit word for about the same instructions. Used where a scanner
/// crosses a whole token (hundreds of bytes per line): the credential after `Bearer`, quoted fields, JSON
/// strings, JWT-character runs. Every mask is exact per byte (no false positives from borrows), so callers can
/// count or locate bytes from it.
enum Wide {
    typealias Vector = SIMD2<UInt64>

    @inline(__always)
    static func splat(_ x: UInt64) -> Vector { Vector(repeating: x) }

    static let high: UInt64 = 0x8080_8080_8080_8080

    /// Sixteen bytes at `p + at` (unaligned).
    @inline(__always)
    static func load(_ p: UnsafeBufferPointer<UInt8>, _ at: Int) -> Vector {
        UnsafeRawPointer(p.baseAddress!).loadUnaligned(fromByteOffset: at, as: Vector.self)
    }

    /// Whether every lane of `v` is zero.
    @inline(__always)
    static func isZero(_ v: Vector) -> Bool { v[0] | v[1] == 0 }

    /// The high bit of each byte set where `w` holds `c` (exact).
    @inline(__always)
    static func equalMask(_ w: Vector, _ c: UInt8) -> Vector {
        let h = splat(high)
        let x = w ^ splat(0x0101_0101_0101_0101 &* UInt64(c))  // zero bytes where `c`
        return ~(((x & ~h) &+ ~h) | x) & h
    }

    /// The high bit of each byte set where `w` is below `n` (n ≤ 0x80; exact).
    @inline(__always)
    static func lessMask(_ w: Vector, _ n: UInt8) -> Vector {
        let h = splat(high)
        // For bytes < 0x80: high bit of (byte + 0x80 - n) clear iff byte < n. Bytes ≥ 0x80 are never below n.
        let x = w & ~h
        return ~(x &+ splat(0x0101_0101_0101_0101 &* UInt64(0x80 - UInt64(n)))) & ~w & h
    }

    /// ``TokenShape/jwtCharMask8(_:)`` on sixteen bytes: the high bit of each byte set when that byte is a JWT
    /// character (base64url or '.').
    @inline(__always)
    static func jwtCharMask(_ w: Vector) -> Vector {
        let h = splat(high)
        let ones: UInt64 = 0x0101_0101_0101_0101
        let ascii = ~w & h
        let x = w & ~h
        @inline(__always) func inRange(_ x: Vector, _ lo: UInt64, _ hi: UInt64) -> Vector {
            (x &+ splat(ones &* (0x80 - lo))) & ~(x &+ splat(ones &* (0x7F - hi))) & h
        }
        let letters = inRange(x | splat(0x2020_2020_2020_2020), 0x61, 0x7A)
        let digits = inRange(x, 0x30, 0x39)
        let dashDot = inRange(x, 0x2D, 0x2E)
        let underscore = inRange(x, 0x5F, 0x5F)
        return (letters | digits | dashDot | underscore) & ascii
    }

    /// Whether all sixteen bytes are JWT characters.
    @inline(__always)
    static func allJWTChars(_ w: Vector) -> Bool { isZero(jwtCharMask(w) ^ splat(high)) }

    /// How many of the sixteen bytes are '.' (0 without counting bits when there is none, the usual case).
    @inline(__always)
    static func dots(_ w: Vector) -> Int {
        let d = equalMask(w, ASCII.dot)
        if isZero(d) { return 0 }
        return d[0].nonzeroBitCount &+ d[1].nonzeroBitCount
    }
}

extension Wide {
    /// The index (0…15) of the first byte whose high bit is set in `mask`, which must not be all zero.
    @inline(__always)
    static func firstByte(_ mask: Vector) -> Int {
        mask[0] != 0 ? mask[0].trailingZeroBitCount >> 3 : 8 &+ (mask[1].trailingZeroBitCount >> 3)
    }
}

extension Wide {
    /// Non-zero when some byte of `w` equals `c` (``SWAR/hasByte(_:_:)``: exact as a whole, not per byte).
    @inline(__always)
    static func hasByte(_ w: Vector, _ c: UInt8) -> Vector {
        let ones = splat(0x0101_0101_0101_0101)
        let x = w ^ splat(0x0101_0101_0101_0101 &* UInt64(c))
        return (x &- ones) & ~x & splat(high)
    }

    /// Non-zero when some byte of `w` is below `n` (n ≤ 128; exact as a whole, not per byte).
    @inline(__always)
    static func hasLess(_ w: Vector, _ n: UInt8) -> Vector {
        (w &- splat(0x0101_0101_0101_0101 &* UInt64(n))) & ~w & splat(high)
    }
}

extension Wide {
    /// Whether the AVX2 scanners of `CTokenAuditSIMD` may run on this CPU (checked once). When false, every
    /// caller keeps its portable Swift loop, which is also the oracle the tests compare the AVX2 paths with.
    /// (Read from the CPU-model word libgcc fills before `main`: two inlined instructions, where a Swift
    /// `static let` costs a `swift_once` call on every use.)
    @inline(__always)
    static var hasAVX2: Bool { ctokenaudit_simd_avx2_ready() != 0 }
}
