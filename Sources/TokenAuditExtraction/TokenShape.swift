#if canImport(Glibc)
internal import Glibc
#else
internal import Darwin
#endif
internal import CTokenAuditSIMD

/// Recognising tokens by their bytes: the cheap prefilter that lets token-free lines go, and the JWS/JWE
/// shape scanner used on fields.
enum TokenShape {
    /// Bytes that can start a trigger: b(earer), d(pop), t(oken), j(wt), a(ssertion), e(y…/ew… JWT header).
    private static let triggerTable: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for c in "bdtjaBDTJAe".utf8 { table[Int(c)] = true }
        return table
    }()

    /// `triggerTable` as a 64-bit mask (no lazy global, no bounds check): `bdtjaBDTJA` and `e`.
    @inline(__always)
    static func isTriggerByte(_ c: UInt8) -> Bool {
        // Bits c - 64: 'A' 1, 'B' 2, 'D' 4, 'J' 10, 'T' 20, 'a' 33, 'b' 34, 'd' 36, 'e' 37, 'j' 42, 't' 52.
        let mask: UInt64 = 1 << 1 | 1 << 2 | 1 << 4 | 1 << 10 | 1 << 20 | 1 << 33 | 1 << 34 | 1 << 36 | 1 << 37
            | 1 << 42 | 1 << 52
        return c & 0xC0 == 0x40 && (mask >> UInt64(c & 63)) & 1 != 0
    }

    /// Tests: the table ``isTriggerByte(_:)`` encodes.
    static func isTriggerByteReference(_ c: UInt8) -> Bool { triggerTable[Int(c)] }

    /// True when the line may carry a token: a JWT-looking run (`ey…`/`ew…` followed by a dot) or one of the
    /// words that introduce opaque tokens (`bearer`, `dpop`, `token`, `jwt`, `assertion`, any case).
    /// False means the line certainly yields no occurrence, so the caller can skip parsing it.
    static func mayContainToken(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        mayContainToken(p, wide: Wide.hasAVX2)
    }

    /// ``mayContainToken(_:)`` with the pair test 32 positions at a time in AVX2 (`wide`, only when
    /// ``Wide/hasAVX2``) or sixteen at a time in ``Wide`` words; the tests run both against the reference.
    static func mayContainToken(_ p: UnsafeBufferPointer<UInt8>, wide: Bool) -> Bool {
        let n = p.count
        if saysBearer(p) { return true }
        // The reference loop acts only where a trigger byte is followed by the byte its rule needs next
        // (`e` + `y`/`w`, or the first two letters of `bearer`, `dpop`, `token`, `jwt`, `assertion` in any
        // case); everywhere else it just moves on. So sixteen positions at a time are tested for such a
        // pair, and the loop's own step runs only at a hit.
        var i = 0
        let caseBit = Wide.splat(0x2020_2020_2020_2020)
        while i < n {
            var atPair = false
            if wide, i + 33 <= n, let base = p.baseAddress {
                i = ctokenaudit_trigger_pairs_avx2(base, i, n)
                atPair = i + 33 <= n  // else no pair before the last 32 positions: the loop below goes on
            }
            if !atPair, i + 17 <= n {
                let v0 = Wide.load(p, i)
                let v1 = Wide.load(p, i + 1)
                let l0 = v0 | caseBit
                let l1 = v1 | caseBit
                var hits = Wide.equalMask(v0, UInt8(ascii: "e"))
                    & (Wide.equalMask(v1, UInt8(ascii: "y")) | Wide.equalMask(v1, UInt8(ascii: "w")))
                hits |= Wide.equalMask(l0, UInt8(ascii: "b")) & Wide.equalMask(l1, UInt8(ascii: "e"))
                hits |= Wide.equalMask(l0, UInt8(ascii: "d")) & Wide.equalMask(l1, UInt8(ascii: "p"))
                hits |= Wide.equalMask(l0, UInt8(ascii: "t")) & Wide.equalMask(l1, UInt8(ascii: "o"))
                hits |= Wide.equalMask(l0, UInt8(ascii: "j")) & Wide.equalMask(l1, UInt8(ascii: "w"))
                hits |= Wide.equalMask(l0, UInt8(ascii: "a")) & Wide.equalMask(l1, UInt8(ascii: "s"))
                if Wide.isZero(hits) {
                    i &+= 16
                    continue
                }
                i &+= Wide.firstByte(hits)
            }
            if !isTriggerByte(p[i]) {
                i &+= 1
                continue
            }
            let (found, next) = triggerStep(p, at: i, wordAtATime: true)
            if found { return true }
            i = next
        }
        return false
    }

    /// The byte-by-byte prefilter ``mayContainToken(_:)`` must agree with (tests compare the two).
    static func mayContainTokenReference(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = p.count
        if saysBearer(p) { return true }
        var i = 0
        let triggers = triggerTable  // one lazy-global access, not one per byte
        while i < n {
            if !triggers[Int(p[i])] {
                i &+= 1
                continue
            }
            let (found, next) = triggerStep(p, at: i, wordAtATime: false)
            if found { return true }
            i = next
        }
        return false
    }

    /// Whether the line says `Bearer`, as most token lines do: glibc's vectorised search finds it far faster
    /// than the prefilter's loop reaches it. Only a shortcut to `true`; the loop decides every other line.
    @inline(__always)
    private static func saysBearer(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = p.baseAddress else { return false }
        let n = p.count
        var from = 0
        while n - from >= 6, let hit = memchr(base + from, Int32(UInt8(ascii: "B")), n - from - 5) {
            let k = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - base
            if base[k + 1] == UInt8(ascii: "e"), base[k + 2] == UInt8(ascii: "a"), base[k + 3] == UInt8(ascii: "r"),
                base[k + 4] == UInt8(ascii: "e"), base[k + 5] == UInt8(ascii: "r")
            {
                return true
            }
            from = k + 1
        }
        return false
    }

    /// The prefilter's rule at the trigger byte `p[i]`, shared by the fast loop and the reference loop so the
    /// two differ only in how they skip bytes: whether the line may hold a token from here, and where to go on
    /// (past a JWT-character run that turned out not to be a token, else the next byte). `wordAtATime` skips
    /// runs sixteen bytes at a time; the reference walks them byte by byte.
    @inline(__always)
    private static func triggerStep(
        _ p: UnsafeBufferPointer<UInt8>, at i: Int, wordAtATime: Bool
    ) -> (found: Bool, next: Int) {
        let n = p.count
        let b = p[i]
        switch b | 0x20 {
        case UInt8(ascii: "e"):
            if b == UInt8(ascii: "e"), i + 1 < n, p[i + 1] == UInt8(ascii: "y") || p[i + 1] == UInt8(ascii: "w") {
                var j = i + 2
                if wordAtATime {
                    while j + 16 <= n, Wide.isZero(Wide.equalMask(Wide.load(p, j), ASCII.dot)),
                        Wide.allJWTChars(Wide.load(p, j))
                    {
                        j += 16
                    }
                }
                while j < n, isJWTChar(p[j]), p[j] != ASCII.dot { j += 1 }
                if j < n, p[j] == ASCII.dot, j - i >= 8 { return (true, j) }
                // A header cut before its first dot at the very end of the line.
                if j == n, j - i >= 8 { return (true, j) }
                return (false, j)
            }
        case UInt8(ascii: "b"):
            if matches(p, i, "bearer") { return (true, i) }
        case UInt8(ascii: "d"):
            if matches(p, i, "dpop") { return (true, i) }
        case UInt8(ascii: "t"):
            if matches(p, i, "token") { return (true, i) }
        case UInt8(ascii: "j"):
            if matches(p, i, "jwt") { return (true, i) }
        case UInt8(ascii: "a"):
            if matches(p, i, "assertion") { return (true, i) }
        default: break
        }
        return (false, i &+ 1)
    }

    @inline(__always)
    private static func matches(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard i + n <= p.count else { return false }
        let w = word.utf8Start
        for k in 1..<n where ASCII.lower(p[i + k]) != w[k] { return false }
        return true
    }

    /// A JWT-shaped run found in a field.
    struct Candidate: Equatable {
        var range: Range<Int>
        /// Syntactically incomplete at the end of its field (1 or 3 dots, or a JWE ending in '.'): cut by a limit.
        var isIncomplete: Bool
    }

    /// base64url or '.': the characters a compact JWS/JWE is made of (`jwtCharTable` as two 64-bit masks, no
    /// table load or bounds check).
    @inline(__always)
    static func isJWTChar(_ c: UInt8) -> Bool {
        // Bits 45 '-', 46 '.', 48…57 '0'…'9' | bits 65…90 'A'…'Z', 95 '_', 97…122 'a'…'z' (minus 64).
        return jwtCharBit(c) != 0
    }

    /// 1 when `c` is a JWT character, else 0, without branches (digits and letters alternate unpredictably
    /// inside a token, so a branch per byte mispredicts).
    @inline(__always)
    static func jwtCharBit(_ c: UInt8) -> UInt64 {
        let low: UInt64 = 0x03FF_6000_0000_0000
        let high: UInt64 = 0x07FF_FFFE_87FF_FFFE
        let mask = c & 0x40 == 0 ? low : high
        return (mask >> UInt64(c & 63)) & UInt64((c >> 7) ^ 1)
    }

    /// Eight bytes at once (SWAR): the high bit of each byte of the result is set when that byte of `w` is a
    /// JWT character. No branches, about three operations per byte instead of six.
    @inline(__always)
    static func jwtCharMask8(_ w: UInt64) -> UInt64 {
        let high: UInt64 = 0x8080_8080_8080_8080
        let ascii = ~w & high  // bytes < 0x80; the range tests below are exact only for them
        let x = w & ~high
        @inline(__always) func inRange(_ x: UInt64, _ lo: UInt64, _ hi: UInt64) -> UInt64 {
            // High bit set iff lo <= byte (byte + 0x80 - lo) and not hi < byte (byte + 0x7F - hi).
            let ones: UInt64 = 0x0101_0101_0101_0101
            return (x &+ ones &* (0x80 - lo)) & ~(x &+ ones &* (0x7F - hi)) & high
        }
        let letters = inRange(x | 0x2020_2020_2020_2020, 0x61, 0x7A)
        let digits = inRange(x, 0x30, 0x39)
        let dashDot = inRange(x, 0x2D, 0x2E)
        let underscore = inRange(x, 0x5F, 0x5F)
        return (letters | digits | dashDot | underscore) & ascii
    }

    /// The high bit of each byte set where `w` holds a '.'.
    @inline(__always)
    static func dotMask8(_ w: UInt64) -> UInt64 {
        let high: UInt64 = 0x8080_8080_8080_8080
        let x = w ^ 0x2E2E_2E2E_2E2E_2E2E  // zero bytes where '.'
        return ~(((x & ~high) &+ ~high) | x) & high
    }

    /// Every JWS/JWE-shaped run in `bytes[range]`: runs of base64url and '.', starting with `ey`/`ew` (the
    /// base64url of `{"`, `{ ` or `{\n`) at a run boundary, first segment ≥ 8 characters, 2 dots (JWS) or 4 (JWE).
    /// When `rangeEndsField`, a run reaching the end of the range with 1 or 3 dots is reported as incomplete.
    /// `freeText`: a trailing '.' that would leave a whole JWS/JWE is sentence punctuation, not a cut.
    static func jwtCandidates(
        in bytes: [UInt8], _ range: Range<Int>, rangeEndsField: Bool, freeText: Bool = false
    ) -> [Candidate] {
        bytes.withUnsafeBufferPointer { jwtCandidates(in: $0, range, rangeEndsField: rangeEndsField, freeText: freeText) }
    }

    /// See ``jwtCandidates(in:_:rangeEndsField:freeText:)-([UInt8],…)``.
    /// `wordAtATime: false` (tests) extends runs byte by byte, the plain definition.
    static func jwtCandidates(
        in bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, rangeEndsField: Bool, freeText: Bool = false,
        wordAtATime: Bool = true
    ) -> [Candidate] {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count)
        var found: [Candidate] = []
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            guard isJWTChar(bytes[i]) else {
                i += 1
                continue
            }
            var j = i + 1
            if wordAtATime, let base = bytes.baseAddress {
                while j + 16 <= end, Wide.allJWTChars(Wide.load(bytes, j)) { j += 16 }
                let raw = UnsafeRawPointer(base)
                while j + 8 <= end, jwtCharMask8(raw.loadUnaligned(fromByteOffset: j, as: UInt64.self)) == 0x8080_8080_8080_8080 {
                    j += 8
                }
            }
            while j < end, isJWTChar(bytes[j]) { j += 1 }
            if bytes[i] == UInt8(ascii: "e"), i + 1 < j, bytes[i + 1] == UInt8(ascii: "y") || bytes[i + 1] == UInt8(ascii: "w"),
               let candidate = classify(bytes, i..<j, atFieldEnd: j == end && rangeEndsField, freeText: freeText)
            {
                found.append(candidate)
            }
            i = j
        }
        return found
    }

    /// A run of JWT characters already read at `range` of the line (a credential found whole), its dots counted.
    /// The known runs of a line, the first held inline: a line has one credential almost always, and an
    /// array would allocate for it on every token line.
    struct KnownRuns: RandomAccessCollection {
        private var first: KnownRun?
        private var rest: [KnownRun] = []

        init() {}

        var startIndex: Int { 0 }
        var endIndex: Int { first == nil ? 0 : 1 + rest.count }

        subscript(index: Int) -> KnownRun { index == 0 ? first! : rest[index - 1] }

        mutating func append(_ run: KnownRun) {
            if first == nil { first = run } else { rest.append(run) }
        }

        /// Sorts the runs by start, as the array they replace was sorted (starts never tie: each run is another
        /// credential's place in the line).
        mutating func sortByStart() {
            guard count > 1 else { return }
            var all = Array(self)
            all.sort { $0.range.lowerBound < $1.range.lowerBound }
            first = all[0]
            rest = Array(all[1...])
        }
    }

    struct KnownRun: Equatable {
        var range: Range<Int>
        var dots: Int
    }

    /// ``jwtCandidates(in:_:rangeEndsField:freeText:wordAtATime:)`` over a whole line (`rangeEndsField: false`,
    /// not free text), handing each candidate to `body` in line order instead of collecting them. A run that
    /// starts where one of `known` (sorted by start) starts and ends where it ends is not read again: its end
    /// and dots are taken from `known`. Same candidates as the plain scan.
    static func forEachLineCandidate<Known: RandomAccessCollection<KnownRun>>(
        in bytes: UnsafeBufferPointer<UInt8>, known: Known, _ body: (Candidate) -> Void
    ) where Known.Index == Int {
        forEachLineCandidate(in: bytes, known: known, wide: Wide.hasAVX2, body)
    }

    /// ``forEachLineCandidate(in:known:_:)`` looking for `ey`/`ew` pairs 32 positions at a time in AVX2
    /// (`wide`, only when ``Wide/hasAVX2``) instead of for each 'e' with memchr; the tests run both.
    static func forEachLineCandidate<Known: RandomAccessCollection<KnownRun>>(
        in bytes: UnsafeBufferPointer<UInt8>, known: Known, wide: Bool, _ body: (Candidate) -> Void
    ) where Known.Index == Int {
        // Candidates are the runs that start `ey`/`ew`: found with memchr for 'e', kept when no JWT character
        // precedes (a run starts there). Inside a known run no run starts, so the search jumps over it.
        guard let base = bytes.baseAddress else { return }
        let end = bytes.count
        var i = 0
        var nextKnown = 0
        while i + 1 < end {
            let p: Int
            if wide {
                // Only an 'e' followed by 'y'/'w' gets past the checks below: go straight to such a pair.
                p = ctokenaudit_ey_pair_avx2(base, i, end)
                guard p + 1 < end else { return }
            } else {
                guard let hit = memchr(base + i, Int32(UInt8(ascii: "e")), end - 1 - i) else { return }
                p = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - base
            }
            while nextKnown < known.count, known[nextKnown].range.upperBound <= p { nextKnown += 1 }
            if nextKnown < known.count, known[nextKnown].range.lowerBound < p {
                i = known[nextKnown].range.upperBound  // inside a known run
                continue
            }
            let second = bytes[p + 1]
            guard second == UInt8(ascii: "y") || second == UInt8(ascii: "w"), p == 0 || !isJWTChar(bytes[p - 1]) else {
                i = p + 1
                continue
            }
            if nextKnown < known.count, known[nextKnown].range.lowerBound == p {
                // A run starts exactly where a known one does: the known one is this whole run when the byte
                // after it is no JWT character either.
                let run = known[nextKnown].range
                let dots = known[nextKnown].dots
                nextKnown += 1
                if run.upperBound == end || !isJWTChar(bytes[run.upperBound]) {
                    if let candidate = classifyKnown(bytes, run, dots: dots) { body(candidate) }
                    i = run.upperBound
                    continue
                }
            }
            var j = p + 2
            while j + 16 <= end, Wide.allJWTChars(Wide.load(bytes, j)) { j += 16 }
            let raw = UnsafeRawPointer(base)
            while j + 8 <= end, jwtCharMask8(raw.loadUnaligned(fromByteOffset: j, as: UInt64.self)) == 0x8080_8080_8080_8080 {
                j += 8
            }
            while j < end, isJWTChar(bytes[j]) { j += 1 }
            if let candidate = classify(bytes, p..<j, atFieldEnd: false, freeText: false) { body(candidate) }
            i = j
        }
    }

    /// `classify(…, atFieldEnd: false)` of a run whose dots are already counted.
    private static func classifyKnown(_ bytes: UnsafeBufferPointer<UInt8>, _ run: Range<Int>, dots: Int) -> Candidate? {
        var firstSegment = run.count
        if dots > 0, let base = bytes.baseAddress,
            let hit = memchr(base + run.lowerBound, Int32(ASCII.dot), run.count)
        {
            firstSegment = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - (base + run.lowerBound)
        }
        return classify(bytes, run, dots: dots, firstSegment: firstSegment, atFieldEnd: false, freeText: false)
    }

    /// The shape of a whole value (already trimmed) in one pass: ``isJWTShaped(_:)`` and ``looksIncomplete(_:)``.
    static func wholeValueShape(_ bytes: UnsafeBufferPointer<UInt8>) -> (isJWTShaped: Bool, looksIncomplete: Bool) {
        let n = bytes.count
        guard n >= 2, bytes[0] == UInt8(ascii: "e"), bytes[1] == UInt8(ascii: "y") || bytes[1] == UInt8(ascii: "w")
        else { return (false, false) }
        // One pass: every byte a JWT character, the dots counted, the first one placed.
        var valid: UInt64 = 1
        var dots = 0
        var k = 2
        if let base = bytes.baseAddress {
            // Eight bytes at a time: a token is hundreds of bytes and this runs on every one.
            let raw = UnsafeRawPointer(base)
            var all: UInt64 = 0x8080_8080_8080_8080
            var wide = Wide.splat(Wide.high)
            while k + 16 <= n {
                let w = Wide.load(bytes, k)
                wide &= Wide.jwtCharMask(w)
                dots &+= Wide.dots(w)
                k += 16
            }
            all &= wide[0] & wide[1]
            while k + 8 <= n {
                let w = raw.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                all &= jwtCharMask8(w)
                dots &+= dotMask8(w).nonzeroBitCount
                k += 8
            }
            if all != 0x8080_8080_8080_8080 { valid = 0 }
        }
        while k < n {
            let c = bytes[k]
            valid &= jwtCharBit(c)
            dots &+= c == ASCII.dot ? 1 : 0
            k += 1
        }
        guard valid != 0 else { return (false, false) }
        return jwtCharRunShape(bytes, dots: dots)
    }

    /// ``wholeValueShape(_:)`` of a value already known to start `ey`/`ew` and to hold only JWT characters,
    /// `dots` of them '.': the decision without another pass over the bytes.
    static func jwtCharRunShape(_ bytes: UnsafeBufferPointer<UInt8>, dots: Int) -> (isJWTShaped: Bool, looksIncomplete: Bool) {
        let n = bytes.count
        var firstSegment = n
        if dots > 0, let base = bytes.baseAddress {
            firstSegment = ctokenaudit_find_byte(base, 2, n, ASCII.dot)  // there is one: never n
        }
        guard firstSegment >= 8 else {
            // `classify` rejects both ways; only the cut-header rule (no dot at all) could still apply, and it
            // needs a first segment of 16.
            return (false, false)
        }
        // `classify(atFieldEnd: false)`: trailing dots beyond the shape are dropped.
        var shaped = false
        if n >= 10 {
            var d = dots
            var h = n
            while d != 2, d != 4, h > 0, bytes[h - 1] == ASCII.dot {
                h -= 1
                d -= 1
            }
            shaped = d == 2 || d == 4
        }
        // A credential field holding only the start of a JOSE header (`eyJ…`, no dot at all) is a token the
        // logger cut inside its first segment, e.g. an HAProxy capture shorter than the header.
        if n >= 16, bytes[1] == UInt8(ascii: "y"), dots == 0 { return (shaped, true) }
        // `classify(atFieldEnd: true)`.
        let incomplete: Bool
        switch dots {
        case 1, 3: incomplete = true
        case 4: incomplete = bytes[n - 1] == ASCII.dot
        default: incomplete = false
        }
        return (shaped, incomplete)
    }

    /// The credential starting at `from` (up to the first space, tab or comma before `end`) and its
    /// ``wholeValueShape(_:)``, in one pass when it is a run of JWT characters (a token: the usual case).
    /// `dots` is the credential's '.' count when it is such a run starting `ey`/`ew`, else nil.
    static func credential(
        _ p: UnsafeBufferPointer<UInt8>, from: Int, end: Int
    ) -> (end: Int, isJWTShaped: Bool, looksIncomplete: Bool, dots: Int?) {
        var j = from
        if end - from >= 2, p[from] == UInt8(ascii: "e"), p[from + 1] == UInt8(ascii: "y") || p[from + 1] == UInt8(ascii: "w"),
            let base = p.baseAddress
        {
            let run = jwtRun(p, base: base, from: from, end: end)
            j = run.end
            let dots = run.dots
            if j == end || ASCII.isSpace(p[j]) || p[j] == ASCII.comma {
                let shape = jwtCharRunShape(UnsafeBufferPointer(rebasing: p[from..<j]), dots: dots)
                return (j, shape.isJWTShaped, shape.looksIncomplete, dots)
            }
        }
        // Not a JWT-character run: the reference steps (find the end, then judge the whole credential).
        let m = SWAR.firstSpaceOrComma(p, from: j, end: end)
        let shape = wholeValueShape(UnsafeBufferPointer(rebasing: p[from..<m]))
        return (m, shape.isJWTShaped, shape.looksIncomplete, nil)
    }

    /// The run of JWT characters starting at `from` (before `end`) and its '.' count. `base` is
    /// `p.baseAddress` (the start of the line: the AVX2 scan may read from any byte of `p` before `end`).
    @inline(__always)
    static func jwtRun(
        _ p: UnsafeBufferPointer<UInt8>, base: UnsafePointer<UInt8>, from: Int, end: Int
    ) -> (end: Int, dots: Int) {
        if Wide.hasAVX2 { return jwtRunAVX2(base: base, from: from, end: end) }
        return jwtRunPortable(p, base: base, from: from, end: end)
    }

    /// ``jwtRun(_:base:from:end:)`` 32 bytes at a time (a nibble-table class check in AVX2). Only when
    /// ``Wide/hasAVX2``.
    @inline(__always)
    static func jwtRunAVX2(base: UnsafePointer<UInt8>, from: Int, end: Int) -> (end: Int, dots: Int) {
        var dots = 0
        let stop = ctokenaudit_jwt_run_avx2(base, from, end, &dots)
        return (stop, dots)
    }

    /// ``jwtRun(_:base:from:end:)`` without AVX2: sixteen bytes at a time in ``Wide`` words.
    @inline(__always)
    static func jwtRunPortable(
        _ p: UnsafeBufferPointer<UInt8>, base: UnsafePointer<UInt8>, from: Int, end: Int
    ) -> (end: Int, dots: Int) {
        var j = from
        let raw = UnsafeRawPointer(base)
        var dots = 0
        // Sixteen bytes at a time (``Wide``), then eight, then one.
        while j + 16 <= end {
            let w = Wide.load(p, j)
            if !Wide.allJWTChars(w) { break }
            dots &+= Wide.dots(w)
            j += 16
        }
        while j + 8 <= end {
            let w = raw.loadUnaligned(fromByteOffset: j, as: UInt64.self)
            if jwtCharMask8(w) != 0x8080_8080_8080_8080 { break }
            dots &+= dotMask8(w).nonzeroBitCount
            j += 8
        }
        while j < end, isJWTChar(p[j]) {
            dots &+= p[j] == ASCII.dot ? 1 : 0
            j += 1
        }
        return (j, dots)
    }

    /// Whether a whole value (already trimmed) is one JWT-shaped token.
    static func isJWTShaped(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { wholeValueShape($0).isJWTShaped }
    }

    /// Whether a complete-looking token's run is syntactically incomplete (used for named values taken whole).
    static func looksIncomplete(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { wholeValueShape($0).looksIncomplete }
    }

    private static func classify(
        _ bytes: UnsafeBufferPointer<UInt8>, _ run: Range<Int>, atFieldEnd: Bool, freeText: Bool = false
    ) -> Candidate? {
        // Dots counted eight bytes at a time; the first one found by memchr.
        var dots = 0
        var k = run.lowerBound
        if let base = bytes.baseAddress {
            while k + 16 <= run.upperBound {
                dots &+= Wide.dots(Wide.load(bytes, k))
                k += 16
            }
            let raw = UnsafeRawPointer(base)
            while k + 8 <= run.upperBound {
                dots &+= dotMask8(raw.loadUnaligned(fromByteOffset: k, as: UInt64.self)).nonzeroBitCount
                k += 8
            }
        }
        while k < run.upperBound {
            if bytes[k] == ASCII.dot { dots += 1 }
            k += 1
        }
        var firstSegment = run.count
        if dots > 0, let base = bytes.baseAddress,
            let hit = memchr(base + run.lowerBound, Int32(ASCII.dot), run.count)
        {
            firstSegment = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - (base + run.lowerBound)
        }
        return classify(bytes, run, dots: dots, firstSegment: firstSegment, atFieldEnd: atFieldEnd, freeText: freeText)
    }

    /// ``classify(_:_:atFieldEnd:freeText:)`` once the run's dots are counted and its first segment measured.
    private static func classify(
        _ bytes: UnsafeBufferPointer<UInt8>, _ run: Range<Int>, dots: Int, firstSegment: Int, atFieldEnd: Bool,
        freeText: Bool
    ) -> Candidate? {
        var dots = dots
        guard firstSegment >= 8 else { return nil }
        var hi = run.upperBound
        if atFieldEnd, freeText, bytes[hi - 1] == ASCII.dot, dots != 2 {
            var d = dots
            var h = hi
            while d != 2, d != 4, h > run.lowerBound, bytes[h - 1] == ASCII.dot {
                h -= 1
                d -= 1
            }
            if d == 2 || d == 4 { return Candidate(range: run.lowerBound..<h, isIncomplete: false) }
        }
        if atFieldEnd {
            let endsWithDot = bytes[hi - 1] == ASCII.dot
            switch dots {
            case 2: return Candidate(range: run, isIncomplete: false)  // `h.p.` is an unsecured JWS, not a cut
            case 4 where !endsWithDot: return Candidate(range: run, isIncomplete: false)
            case 1, 3, 4: return Candidate(range: run, isIncomplete: true)
            default: return nil
            }
        }
        // Inside text a token may be followed by sentence punctuation: drop trailing dots beyond the shape.
        while dots != 2, dots != 4, hi > run.lowerBound, bytes[hi - 1] == ASCII.dot {
            hi -= 1
            dots -= 1
        }
        guard dots == 2 || dots == 4 else { return nil }
        return Candidate(range: run.lowerBound..<hi, isIncomplete: false)
    }

    /// Whether a compact token's protected header says `"typ":"dpop+jwt"` (a DPoP proof, RFC 9449 §4.2).
    static func isDPoPProof(_ token: [UInt8]) -> Bool {
        guard let dot = token.firstIndex(of: ASCII.dot) else { return false }
        guard let header = Base64URL.decode(token[0..<dot]) else { return false }
        let lowered = header.filter { !ASCII.isSpace($0) && $0 != 0x0A && $0 != 0x0D }.map(ASCII.lower)
        return lowered.firstIndex(of: Array("\"typ\":\"dpop+jwt\"".utf8), in: 0..<lowered.count) != nil
    }
}

/// Minimal base64url decoding for peeking at JOSE headers (no padding required).
enum Base64URL {
    private static let table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        t[Int(UInt8(ascii: "+"))] = 62
        t[Int(UInt8(ascii: "/"))] = 63
        return t
    }()

    static func decode(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        var out = [UInt8]()
        out.reserveCapacity(text.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for c in text {
            if c == ASCII.equals { break }
            let v = table[Int(c)]
            if v == 0xFF { return nil }
            accumulator = accumulator << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return out
    }
}
