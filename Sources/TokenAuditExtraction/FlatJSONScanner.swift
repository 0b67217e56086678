internal import CTokenAuditSIMD
#if canImport(Glibc)
internal import Glibc
#else
internal import Darwin
#endif
import TokenAuditJSON

/// The fast path for JSON access-log lines whose object is flat (every member a string, number, `true`,
/// `false` or `null`), which is what nginx `escape=json`, Envoy and Traefik write.
///
/// It reads the line the way ``JSONLineReader/readWithTree(_:options:)`` does — the same strict RFC 8259
/// grammar as `JSONReader`, the same member-by-member roles, duplicates visited in order — but without building
/// a JSON tree, without a `String` per key or value, and copying only the values the record keeps. Escapes are
/// decoded only inside strings that have them.
///
/// Anything it does not handle itself (a nested object or array, a line over the JSON reader's size limit)
/// makes it answer ``Outcome/needsTreeReader`` before it has changed anything, so the caller can read the
/// line with the tree reader: the two paths cannot disagree on a line the fast path accepts.
enum FlatJSONScanner {
    enum Outcome {
        /// The line is a flat JSON object; this is its record.
        case record(RawRecord)
        /// The line is not valid JSON (the tree reader would reject it too).
        case invalid
        /// The line holds a nested value (or is too large): read it with the tree reader.
        case needsTreeReader
    }

    /// What a top-level member's key means (see `JSONLineReader.leaf` for the rules this mirrors).
    enum Action {
        case role(JSONLineReader.Role)
        case header(HeaderSlot)
        /// `headerLike`: a key that only contains a carrier's name.
        case authorization, cookie, referer, dpop
        case other

        /// The key has a role (`JSONLineReader.roles`), which `leaf` applies before anything else.
        var isRole: Bool {
            if case .role = self { return true }
            return false
        }
    }

    /// `JSONReadingLimits(maximumBytes:)` used by the tree reader.
    static let maximumBytes = 1 << 26

    static func read(_ b: [UInt8], options: ExtractionOptions) -> Outcome {
        b.withUnsafeBufferPointer { read($0, options: options) }
    }

    static func read(_ p: UnsafeBufferPointer<UInt8>, options: ExtractionOptions) -> Outcome {
        let n = p.count
        var i = 0
        while i < n, p[i] != ASCII.leftBrace { i += 1 }
        guard i < n else { return .invalid }
        if n - i > maximumBytes { return .needsTreeReader }
        i += 1
        var state = JSONLineReader.State(options: options)
        let keys = KeyTable.shared
        var keyBuffer: [UInt8] = []

        skipWhitespace(p, &i)
        guard i < n else { return .invalid }
        if p[i] == ASCII.rightBrace {
            i += 1
            skipWhitespace(p, &i)
            return i == n ? .record(state.record) : .invalid
        }
        while true {
            skipWhitespace(p, &i)
            guard i < n, p[i] == ASCII.quote else { return .invalid }
            // The key.
            guard let key = scanString(p, &i) else { return .invalid }
            var action: Action
            if key.hasEscape || key.hasHigh {
                keyBuffer.removeAll(keepingCapacity: true)
                decode(p, key.content, into: &keyBuffer)
                for k in keyBuffer.indices { keyBuffer[k] = normalised(keyBuffer[k]) }
                action = keyBuffer.withUnsafeBufferPointer { keys.action(forNormalisedKey: $0) }
                if !action.isRole, !options.certificateFieldKeys.isEmpty,
                    keyBuffer.withUnsafeBufferPointer({ options.isClientCertificateField($0, normalise: false) })
                {
                    action = .role(.clientCertificate)
                }
            } else {
                action = keys.action(forRawKey: UnsafeBufferPointer(rebasing: p[key.content]))
                // A `cert_field` key of the policy (asked only when the policy names one). Like `leaf`, a role
                // wins over it and it wins over header names and carrier-like keys.
                if !action.isRole, !options.certificateFieldKeys.isEmpty,
                    options.isClientCertificateField(UnsafeBufferPointer(rebasing: p[key.content]), normalise: true)
                {
                    action = .role(.clientCertificate)
                }
            }
            skipWhitespace(p, &i)
            guard i < n, p[i] == ASCII.colon else { return .invalid }
            i += 1
            skipWhitespace(p, &i)
            guard i < n else { return .invalid }
            // The value.
            switch p[i] {
            case ASCII.quote:
                guard let value = scanString(p, &i) else { return .invalid }
                if value.hasEscape {
                    var decoded: [UInt8] = []
                    decoded.reserveCapacity(value.content.count)
                    decode(p, value.content, into: &decoded)
                    decoded.withUnsafeBufferPointer {
                        apply(action, $0, 0..<$0.count, isNumber: false, state: &state)
                    }
                } else {
                    apply(action, p, value.content, isNumber: false, state: &state, isLine: true)
                }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                guard let number = scanNumber(p, &i) else { return .invalid }
                apply(action, p, number, isNumber: true, state: &state)
            case UInt8(ascii: "t"):
                guard literal(p, &i, "true") else { return .invalid }
            case UInt8(ascii: "f"):
                guard literal(p, &i, "false") else { return .invalid }
            case UInt8(ascii: "n"):
                guard literal(p, &i, "null") else { return .invalid }
                // A client-certificate field logged as `null`: no certificate (as the tree reader files it).
                if case .role(.clientCertificate) = action { state.record.clientCertificates.append([]) }
            case ASCII.leftBrace, ASCII.leftBracket:
                return .needsTreeReader
            default:
                return .invalid
            }
            skipWhitespace(p, &i)
            guard i < n else { return .invalid }
            let next = p[i]
            i += 1
            if next == ASCII.rightBrace { break }
            if next != ASCII.comma { return .invalid }
        }
        skipWhitespace(p, &i)
        guard i == n else { return .invalid }
        // Moved out, not copied (a copy retains every field once more, and the state's release undoes it).
        var record = RawRecord()
        swap(&record, &state.record)
        return .record(record)
    }

    // MARK: Applying a member

    /// One member's value, `p[range]` (already unescaped), filed as `JSONLineReader.leaf` would file it.
    private static func apply(
        _ action: Action, _ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, isNumber: Bool,
        state: inout JSONLineReader.State, isLine: Bool = false
    ) {
        let limits = state.options.fieldLengthLimits
        let isAtLimit = !limits.isEmpty && limits.contains(range.count)
        func field() -> RawField { RawField(Array(p[range]), isAtLimit: isAtLimit) }
        /// Authorization values are left in the line when `p` is the line (the assembler reads them there).
        func authorizationField() -> RawField {
            isLine ? RawField(lineRange: range, isAtLimit: isAtLimit) : field()
        }
        switch action {
        case .role(let role):
            applyRole(role, p, range, isNumber: isNumber, isLine: isLine, state: &state, field: field)
        case .header(let slot):
            // `RawRecord.addHeader` drops empty and `-` values.
            guard !isPlaceholder(p, range) else { return }
            state.record.addHeader(slot: slot, value: slot == .authorization ? authorizationField() : field())
        case .authorization: state.record.authorization.append(authorizationField())
        case .cookie: state.record.cookies.append(field())
        case .referer: state.record.referers.append(field())
        case .dpop: state.record.dpop.append(field())
        case .other:
            // Only JWT-shaped runs (starting `ey`/`ew`) are ever taken from these: a value without one adds
            // nothing, so it is not copied.
            if mayHoldJWT(p, range) { state.record.others.append((field(), .unknown)) }
        }
    }

    /// `JSONLineReader.apply` on bytes in place.
    private static func applyRole(
        _ role: JSONLineReader.Role, _ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, isNumber: Bool,
        isLine: Bool, state: inout JSONLineReader.State, field: () -> RawField
    ) {
        let options = state.options
        /// A short value: left in the line when `p` is the line, else copied.
        func value() -> RawBytes { isLine ? .line(range) : .copied(Array(p[range])) }
        switch role {
        case .time:
            guard state.record.time == nil else { return }
            if isNumber, let number = Double(String(decoding: UnsafeBufferPointer(rebasing: p[range]), as: UTF8.self)),
                number.isFinite
            {
                state.record.time = LogTimestamp.epochNumber(number)
                return
            }
            // Read in place, indexed from 0 like the copy it used to be.
            let v = UnsafeBufferPointer(rebasing: p[range])
            if let t = LogTimestamp.parseAny(v, 0..<v.count, defaultOffset: options.defaultZoneOffsetSeconds,
                                             yearHint: options.yearHint)
            {
                state.record.time = t
            } else {
                state.record.problems.append(ExtractionProblem(
                    .unreadableTime, "time field of \(v.count) bytes is no known timestamp form"))
            }
        case .status:
            if state.record.status == nil {
                var lo = range.lowerBound, hi = range.upperBound
                while lo < hi, ASCII.isSpace(p[lo]) { lo += 1 }
                while hi > lo, ASCII.isSpace(p[hi - 1]) { hi -= 1 }
                state.record.status = ByteText.integer(p, lo..<hi)
            }
        case .method:
            if state.record.method == nil, !isPlaceholder(p, range) { state.record.method = value() }
        case .target:
            guard !state.haveTarget, !isPlaceholder(p, range) else { return }
            state.haveTarget = true
            state.record.target = field()
        case .requestLine:
            guard !state.haveTarget else { return }
            if p[range].contains(ASCII.space) {
                state.haveTarget = true
                let limits = options.fieldLengthLimits
                state.record.setRequestLine(
                    in: p, range, isAtLimit: !limits.isEmpty && limits.contains(range.count), isLine: isLine)
            } else if !range.isEmpty, p[range.lowerBound] == ASCII.slash {
                state.haveTarget = true
                state.record.target = field()
            }
        case .host:
            if state.record.host == nil, !isPlaceholder(p, range) { state.record.host = value() }
        case .scheme:
            if state.record.scheme == nil, !isPlaceholder(p, range) { state.record.scheme = value() }
        case .userAgent:
            if state.record.userAgent == nil, !isPlaceholder(p, range) { state.record.userAgent = value() }
        case .body:
            if !isPlaceholder(p, range) { state.record.bodies.append(field()) }
        case .peer(let priority):
            if priority < state.peerPriority, !isPlaceholder(p, range) {
                state.peerPriority = priority
                state.record.peer = value()
            }
        case .header(let slot):
            let value = field()
            if ByteText.meaningful(value.bytes) != nil { state.record.addHeader(slot: slot, value: value) }
        case .clientCertificate:
            state.record.clientCertificates.append(Array(p[range]))
        case .ignored:
            break
        }
    }

    /// Whether `p[range]` has an `ey` or `ew`, without which `TokenShape.jwtCandidates` finds nothing.
    static func mayHoldJWT(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        var k = range.lowerBound
        while k + 1 < range.upperBound {
            if p[k] == UInt8(ascii: "e"), p[k + 1] == UInt8(ascii: "y") || p[k + 1] == UInt8(ascii: "w") { return true }
            k += 1
        }
        return false
    }

    /// `ByteText.meaningful(…) == nil`: empty or the loggers' `-`.
    @inline(__always)
    static func isPlaceholder(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        range.isEmpty || (range.count == 1 && p[range.lowerBound] == ASCII.dash)
    }

    // MARK: Lexing (the grammar of JSONReader)

    @inline(__always)
    static func skipWhitespace(_ p: UnsafeBufferPointer<UInt8>, _ i: inout Int) {
        while i < p.count {
            switch p[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    static func literal(_ p: UnsafeBufferPointer<UInt8>, _ i: inout Int, _ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard i + count <= p.count else { return false }
        let w = word.utf8Start
        for k in 0..<count where p[i + k] != w[k] { return false }
        i += count
        return true
    }

    struct ScannedString {
        /// The raw bytes between the quotes.
        var content: Range<Int>
        var hasEscape: Bool
        var hasHigh: Bool
    }

    /// A string starting at the quote `p[i]`, validated like `JSONReader` (no raw control characters, valid
    /// escapes, paired surrogates, well-formed UTF-8). nil when invalid; `i` is then meaningless.
    /// `wordAtATime: false` (tests) reads byte by byte, the plain definition the word steps must agree with.
    /// The first quote, backslash, control or high byte in `base[from..<end]`, else `end` (SSE2; `base` is the
    /// start of the line: the last step may read the sixteen bytes before `end`).
    @inline(__always)
    static func stringStop(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
        ctokenaudit_json_string_stop(base, from, end)
    }

    static func scanString(_ p: UnsafeBufferPointer<UInt8>, _ i: inout Int, wordAtATime: Bool = true) -> ScannedString? {
        let n = p.count
        var j = i + 1
        let start = j
        var hasEscape = false
        var hasHigh = false
        while j < n {
            if !wordAtATime {
                // The plain definition: one byte at a time.
            } else if let base = p.baseAddress {
                // Straight to the next quote, backslash, control or high byte (SSE2, sixteen bytes a step).
                j = stringStop(base, j, n)
                guard j < n else { break }
            }
            let c = p[j]
            if c == ASCII.quote {
                i = j + 1
                return ScannedString(content: start..<j, hasEscape: hasEscape, hasHigh: hasHigh)
            }
            if c < 0x20 { return nil }
            if c == ASCII.backslash {
                hasEscape = true
                guard let after = validateEscape(p, j) else { return nil }
                j = after
            } else if c >= 0x80 {
                hasHigh = true
                guard let length = UTF8Validation.sequenceLength(in: p, at: j) else { return nil }
                j += length
            } else {
                j += 1
            }
        }
        return nil
    }

    /// The index after the escape at `p[at]` (a backslash), or nil when `JSONReader` would reject it.
    private static func validateEscape(_ p: UnsafeBufferPointer<UInt8>, _ at: Int) -> Int? {
        var j = at + 1
        guard j < p.count else { return nil }
        let code = p[j]
        j += 1
        switch code {
        case ASCII.quote, ASCII.backslash, ASCII.slash, UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
            UInt8(ascii: "r"), UInt8(ascii: "t"):
            return j
        case UInt8(ascii: "u"):
            guard let high = hex4(p, j) else { return nil }
            j += 4
            if (0xD800...0xDBFF).contains(high) {
                guard j + 1 < p.count, p[j] == ASCII.backslash, p[j + 1] == UInt8(ascii: "u"),
                    let low = hex4(p, j + 2), (0xDC00...0xDFFF).contains(low)
                else { return nil }
                j += 6
            } else if (0xDC00...0xDFFF).contains(high) {
                return nil
            }
            return j
        default:
            return nil
        }
    }

    private static func hex4(_ p: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt32? {
        guard at + 4 <= p.count else { return nil }
        var value: UInt32 = 0
        for k in at..<(at + 4) {
            guard let digit = ASCII.hexValue(p[k]) else { return nil }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Decodes an already validated string's content (escapes to UTF-8).
    static func decode(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into out: inout [UInt8]) {
        var j = range.lowerBound
        let end = range.upperBound
        while j < end {
            let c = p[j]
            guard c == ASCII.backslash else {
                out.append(c)
                j += 1
                continue
            }
            let code = p[j + 1]
            j += 2
            switch code {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(p, j)!
                j += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    let low = hex4(p, j + 2)!
                    j += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                appendUTF8(scalar, to: &out)
            default: out.append(code)  // `"`, `\`, `/`
            }
        }
    }

    static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6))
            out.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18))
            out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// A number starting at `p[i]` in `JSONReader`'s strict grammar; its lexeme's range, or nil.
    static func scanNumber(_ p: UnsafeBufferPointer<UInt8>, _ i: inout Int) -> Range<Int>? {
        let n = p.count
        let start = i
        var j = i
        if p[j] == ASCII.dash { j += 1 }
        guard j < n else { return nil }
        if p[j] == UInt8(ascii: "0") {
            j += 1
            if j < n, ASCII.isDigit(p[j]) { return nil }
        } else if ASCII.isDigit(p[j]) {
            while j < n, ASCII.isDigit(p[j]) { j += 1 }
        } else {
            return nil
        }
        if j < n, p[j] == ASCII.dot {
            j += 1
            guard j < n, ASCII.isDigit(p[j]) else { return nil }
            while j < n, ASCII.isDigit(p[j]) { j += 1 }
        }
        if j < n, p[j] == UInt8(ascii: "e") || p[j] == UInt8(ascii: "E") {
            j += 1
            if j < n, p[j] == ASCII.plus || p[j] == ASCII.dash { j += 1 }
            guard j < n, ASCII.isDigit(p[j]) else { return nil }
            while j < n, ASCII.isDigit(p[j]) { j += 1 }
        }
        i = j
        return start..<j
    }

    /// `JSONLineReader.normalise` on one byte: ASCII lowercase, `-` → `_`.
    @inline(__always)
    static func normalised(_ c: UInt8) -> UInt8 { c == ASCII.dash ? UInt8(ascii: "_") : ASCII.lower(c) }

    // MARK: Key classification

    /// Top-level key → action, without a `String` or `Hasher` per key: an open-addressing table of every
    /// key `JSONLineReader.roles` names, then the prefix/contains rules for any other key.
    final class KeyTable: Sendable {
        static let shared = KeyTable()

        /// Open addressing over `size` slots: slot `h` holds a key of `lengths[h]` bytes (-1: empty) at
        /// `keys[h * width ..< h * width + lengths[h]]` and its action. Flat arrays, so a probe retains nothing.
        private let keys: [UInt8]
        private let lengths: [Int]
        private let actions: [Action]
        private static let size = 1024
        private static let width = 32

        private init() {
            var entries: [([UInt8], Action)] = []
            var listed = Set<[UInt8]>()
            for (name, role) in JSONLineReader.roles {
                // Under no parent, `leaf` applies a role whenever the key has one.
                entries.append((Array(name.utf8), .role(role)))
                listed.insert(Array(name.utf8))
            }
            // The header names, bare and behind each prefix `leaf` knows, unless a role already claims the key:
            // their action is exactly what `unlistedAction` computes, looked up instead of recomputed.
            for name in JSONLineReader.headerNames {
                for prefix in ["", "request_", "http_", "req_", "downstream_"] {
                    let key = Array((prefix + name).utf8)
                    guard !listed.contains(key) else { continue }
                    listed.insert(key)
                    entries.append((key, key.withUnsafeBufferPointer { KeyTable.unlistedAction($0) }))
                }
            }
            var keys = [UInt8](repeating: 0, count: KeyTable.size * KeyTable.width)
            var lengths = [Int](repeating: -1, count: KeyTable.size)
            var actions = [Action](repeating: .other, count: KeyTable.size)
            for (key, action) in entries {
                precondition(key.count <= KeyTable.width)
                var h = KeyTable.hash(key.withUnsafeBufferPointer { $0 }, normalise: false) & (KeyTable.size - 1)
                while lengths[h] >= 0 { h = (h + 1) & (KeyTable.size - 1) }
                lengths[h] = key.count
                keys.replaceSubrange((h * KeyTable.width)..<(h * KeyTable.width + key.count), with: key)
                actions[h] = action
            }
            self.keys = keys
            self.lengths = lengths
            self.actions = actions
            // The same entries under the cheap hash of the key as written (they are all normalised already).
            var exactKeys = [UInt8](repeating: 0, count: KeyTable.size * KeyTable.width)
            var exactLengths = [Int](repeating: -1, count: KeyTable.size)
            var exactActions = [Action](repeating: .other, count: KeyTable.size)
            for (key, action) in entries {
                var h = key.withUnsafeBufferPointer { KeyTable.exactHash($0) } & (KeyTable.size - 1)
                while exactLengths[h] >= 0 { h = (h + 1) & (KeyTable.size - 1) }
                exactLengths[h] = key.count
                exactKeys.replaceSubrange((h * KeyTable.width)..<(h * KeyTable.width + key.count), with: key)
                exactActions[h] = action
            }
            self.exactKeys = exactKeys
            self.exactLengths = exactLengths
            self.exactActions = exactActions
        }

        /// The table again, placed by ``exactHash(_:)``: a key written exactly as listed (lowercase, `_`), as
        /// every nginx/Envoy/Traefik key is, is found with two word loads, a multiply and one `memcmp`.
        private let exactKeys: [UInt8]
        private let exactLengths: [Int]
        private let exactActions: [Action]

        /// A hash of a key's length and its first and last eight bytes (fewer bytes: all of them).
        @inline(__always)
        static func exactHash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
            let n = key.count
            var a: UInt64 = 0
            var b: UInt64 = 0
            if n >= 8, let base = key.baseAddress {
                let raw = UnsafeRawPointer(base)
                a = raw.loadUnaligned(as: UInt64.self)
                b = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            } else {
                for k in 0..<n { a |= UInt64(key[k]) << UInt64(8 * k) }
            }
            let h = (a &* 0x9E37_79B9_7F4A_7C15) ^ (b &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(n)
            return Int(truncatingIfNeeded: h ^ (h >> 31))
        }

        /// The action of a key listed in the table and written exactly as listed, else nil.
        @inline(__always)
        func exactAction(_ key: UnsafeBufferPointer<UInt8>) -> Action? {
            guard key.count <= KeyTable.width, let base = key.baseAddress else { return nil }
            let mask = KeyTable.size - 1
            var h = KeyTable.exactHash(key) & mask
            return exactKeys.withUnsafeBufferPointer { stored in
                exactLengths.withUnsafeBufferPointer { lengths in
                    while lengths[h] >= 0 {
                        if lengths[h] == key.count, KeyTable.equalBytes(stored.baseAddress! + h * KeyTable.width, base, key.count) {
                            return exactActions[h]
                        }
                        h = (h + 1) & mask
                    }
                    return nil
                }
            }
        }

        /// `memcmp(a, b, n) == 0` for a key (n ≤ ``width``) without the call: eight bytes at a time, the last
        /// eight overlapping; shorter keys byte by byte.
        @inline(__always)
        static func equalBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
            if n < 8 {
                var k = 0
                while k < n {
                    if a[k] != b[k] { return false }
                    k += 1
                }
                return true
            }
            let x = UnsafeRawPointer(a), y = UnsafeRawPointer(b)
            var k = 0
            while k + 8 < n {
                if x.loadUnaligned(fromByteOffset: k, as: UInt64.self) != y.loadUnaligned(fromByteOffset: k, as: UInt64.self) {
                    return false
                }
                k += 8
            }
            return x.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == y.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        }

        @inline(__always)
        static func hash(_ key: UnsafeBufferPointer<UInt8>, normalise: Bool) -> Int {
            var h: UInt32 = 2_166_136_261
            for c in key {
                h = (h ^ UInt32(normalise ? FlatJSONScanner.normalised(c) : c)) &* 16_777_619
            }
            return Int(h)
        }

        /// The slot holding `key` (normalised on the fly when `normalise`), or nil.
        private func slot(of key: UnsafeBufferPointer<UInt8>, normalise: Bool) -> Int? {
            guard key.count <= KeyTable.width else { return nil }
            let mask = KeyTable.size - 1
            var h = KeyTable.hash(key, normalise: normalise) & mask
            return keys.withUnsafeBufferPointer { stored in
                lengths.withUnsafeBufferPointer { lengths in
                    while lengths[h] >= 0 {
                        if lengths[h] == key.count {
                            let base = h * KeyTable.width
                            var k = 0
                            while k < key.count,
                                stored[base + k] == (normalise ? FlatJSONScanner.normalised(key[k]) : key[k])
                            {
                                k += 1
                            }
                            if k == key.count { return h }
                        }
                        h = (h + 1) & mask
                    }
                    return nil
                }
            }
        }

        /// The action for a key as it appears in the line (plain ASCII, no escapes): normalised on the fly.
        func action(forRawKey key: UnsafeBufferPointer<UInt8>) -> Action {
            // Equal to a listed (normalised) key means already normalised: the same action as below.
            if let action = exactAction(key) { return action }
            if let h = slot(of: key, normalise: true) { return actions[h] }
            guard !key.isEmpty else { return .other }
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: key.count) { buffer in
                for k in 0..<key.count { buffer[k] = FlatJSONScanner.normalised(key[k]) }
                return KeyTable.unlistedAction(UnsafeBufferPointer(buffer))
            }
        }

        /// The action for an already normalised key.
        func action(forNormalisedKey key: UnsafeBufferPointer<UInt8>) -> Action {
            if let h = slot(of: key, normalise: false) { return actions[h] }
            return KeyTable.unlistedAction(key)
        }

        /// `leaf` for a key with no role: a header name after a known prefix, a header name, or `headerLike`.
        static func unlistedAction(_ key: UnsafeBufferPointer<UInt8>) -> Action {
            for prefix: StaticString in ["request_", "http_", "req_", "downstream_"] where hasPrefix(key, prefix) {
                let rest = UnsafeBufferPointer(rebasing: key[prefix.utf8CodeUnitCount...])
                if let slot = headerSlot(rest) { return .header(slot) }
            }
            if let slot = headerSlot(key) { return .header(slot) }
            if contains(key, "authorization") { return .authorization }
            if contains(key, "cookie") { return .cookie }
            if contains(key, "referer") || contains(key, "referrer") { return .referer }
            if contains(key, "dpop") { return .dpop }
            return .other
        }

        /// The slot of a name in `JSONLineReader.headerNames`, nil for any other name.
        static func headerSlot(_ key: UnsafeBufferPointer<UInt8>) -> HeaderSlot? {
            // Exactly `JSONLineReader.headerNames` (a test checks the two lists agree).
            switch key.count {
            case 4:
                if equals(key, "dpop") { return .dpop }
                if equals(key, "host") { return .host }
            case 6: if equals(key, "cookie") { return .cookie }
            case 7: if equals(key, "referer") { return .referer }
            case 8: if equals(key, "referrer") { return .referer }
            case 10: if equals(key, "user_agent") { return .userAgent }
            case 13: if equals(key, "authorization") { return .authorization }
            case 15: if equals(key, "x_forwarded_for") { return .forwardedFor }
            case 19: if equals(key, "proxy_authorization") { return .authorization }
            default: break
            }
            return nil
        }

        static func equals(_ key: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
            key.count == word.utf8CodeUnitCount && hasPrefix(key, word)
        }

        static func hasPrefix(_ key: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
            let count = prefix.utf8CodeUnitCount
            guard key.count >= count else { return false }
            let w = prefix.utf8Start
            for k in 0..<count where key[k] != w[k] { return false }
            return true
        }

        static func contains(_ key: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard key.count >= count else { return false }
            let w = word.utf8Start
            var start = 0
            while start + count <= key.count {
                var k = 0
                while k < count, key[start + k] == w[k] { k += 1 }
                if k == count { return true }
                start += 1
            }
            return false
        }
    }
}
