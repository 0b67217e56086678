import Testing
@testable import TokenAuditExtraction

/// The one-pass shape checks must agree with the plain definitions they replaced (kept here as the reference):
/// compared over every short string of a small alphabet and over real-looking tokens.
@Suite struct TokenShapeEquivalenceTests {
    enum Reference {
        static func isChar(_ c: UInt8) -> Bool {
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F
                || c == 0x2E
        }

        static func classify(_ b: [UInt8], atFieldEnd: Bool) -> (Bool, incomplete: Bool)? {
            var dots = 0
            var firstSegment = -1
            for (k, c) in b.enumerated() where c == 0x2E {
                if firstSegment < 0 { firstSegment = k }
                dots += 1
            }
            if firstSegment < 0 { firstSegment = b.count }
            guard firstSegment >= 8 else { return nil }
            if atFieldEnd {
                switch dots {
                case 2: return (true, false)
                case 4 where b.last != 0x2E: return (true, false)
                case 1, 3, 4: return (true, true)
                default: return nil
                }
            }
            var hi = b.count
            while dots != 2, dots != 4, hi > 0, b[hi - 1] == 0x2E {
                hi -= 1
                dots -= 1
            }
            return dots == 2 || dots == 4 ? (true, false) : nil
        }

        /// `classify` with the run's end: trailing dots beyond the shape dropped inside text.
        static func classifiedRun(_ b: [UInt8], atFieldEnd: Bool) -> (end: Int, incomplete: Bool)? {
            guard let (_, incomplete) = classify(b, atFieldEnd: atFieldEnd) else { return nil }
            if atFieldEnd { return (b.count, incomplete) }
            var dots = b.filter { $0 == 0x2E }.count
            var hi = b.count
            while dots != 2, dots != 4, hi > 0, b[hi - 1] == 0x2E {
                hi -= 1
                dots -= 1
            }
            return (hi, false)
        }

        static func prefixOK(_ b: [UInt8]) -> Bool {
            b.count >= 2 && b[0] == UInt8(ascii: "e") && (b[1] == UInt8(ascii: "y") || b[1] == UInt8(ascii: "w"))
                && b.allSatisfy(isChar)
        }

        static func isJWTShaped(_ b: [UInt8]) -> Bool { b.count >= 10 && prefixOK(b) && classify(b, atFieldEnd: false) != nil }

        static func looksIncomplete(_ b: [UInt8]) -> Bool {
            guard prefixOK(b) else { return false }
            if b.count >= 16, b[1] == UInt8(ascii: "y"), !b.contains(0x2E) { return true }
            return classify(b, atFieldEnd: true)?.incomplete ?? false
        }
    }

    @Test func isJWTCharMatchesTheTable() {
        for c in 0...255 {
            #expect(TokenShape.isJWTChar(UInt8(c)) == jwtCharTable[c], "byte \(c)")
            #expect(TokenShape.isJWTChar(UInt8(c)) == Reference.isChar(UInt8(c)), "byte \(c)")
        }
    }

    @Test func agreesOnGeneratedValues() {
        // Deterministic strings: `ey`/`ew`/`ex` + a run over {a, ., -, !} with segments of varied length.
        var generator = SplitMix(seed: 42)
        let alphabet = Array("aaaa..-!Z9".utf8)
        var checked = 0
        for _ in 0..<40_000 {
            let length = Int(generator.next() % 24)
            var value = Array(["ey", "ew", "ex", "Ey"][Int(generator.next() % 4)].utf8)
            for _ in 0..<length { value.append(alphabet[Int(generator.next() % UInt64(alphabet.count))]) }
            #expect(TokenShape.isJWTShaped(value) == Reference.isJWTShaped(value), "\(String(decoding: value, as: UTF8.self))")
            #expect(TokenShape.looksIncomplete(value) == Reference.looksIncomplete(value),
                    "\(String(decoding: value, as: UTF8.self))")
            // A value that is one run: `jwtCandidates` classifies it like the reference.
            if Reference.prefixOK(value) {
                for atEnd in [false, true] {
                    let found = TokenShape.jwtCandidates(in: value, 0..<value.count, rangeEndsField: atEnd)
                    let expected = Reference.classifiedRun(value, atFieldEnd: atEnd)
                    #expect(found.count == (expected == nil ? 0 : 1))
                    #expect(found.first?.range.upperBound == expected?.end)
                    #expect(found.first?.isIncomplete == expected?.incomplete)
                }
            }
            checked += 1
        }
        #expect(checked == 40_000)
    }

    @Test(arguments: [Sample.jwt, Sample.jwt2, Sample.jwe, Sample.dpopProof, Sample.opaque, Sample.jwt + ".",
                      Sample.jwt + "..", String(Sample.jwt.prefix(30)), Sample.jwe + ".", "eyJhbGciOiJIUzI1NiJ9",
                      "eyJhbGciOiJIUzI1NiJ9.", "eyJhbGci.b.c", "eyJhbGc.b.c", ""])
    func agreesOnTokens(_ text: String) {
        let value = Array(text.utf8)
        #expect(TokenShape.isJWTShaped(value) == Reference.isJWTShaped(value))
        #expect(TokenShape.looksIncomplete(value) == Reference.looksIncomplete(value))
    }
}

@Suite struct WordAtATimeTests {
    /// Every byte value in every lane, next to varied neighbours: the SWAR masks equal the byte-wise tests.
    @Test func masksMatchTheByteTests() {
        var generator = SplitMix(seed: 7)
        for lane in 0..<8 {
            for c in 0...255 {
                var bytes = (0..<8).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                bytes[lane] = UInt8(c)
                let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                let chars = TokenShape.jwtCharMask8(word)
                let dots = TokenShape.dotMask8(word)
                for k in 0..<8 {
                    let bit = UInt64(0x80) << UInt64(8 * k)
                    #expect((chars & bit != 0) == TokenShape.isJWTChar(bytes[k]), "byte \(bytes[k]) lane \(k)")
                    #expect((dots & bit != 0) == (bytes[k] == 0x2E), "byte \(bytes[k]) lane \(k)")
                }
            }
        }
    }

    /// Runs found eight bytes at a time are the runs the byte-wise scan finds.
    @Test func candidatesMatchAByteWiseScan() {
        var generator = SplitMix(seed: 9)
        let alphabet = Array("eyJab9-_..  \"é=".utf8)
        var nonEmpty = 0
        for _ in 0..<5_000 {
            let length = Int(generator.next() % 60)
            var line = Array("eyJhbGciOiJIUzI1NiJ9.".utf8)
            if generator.next() % 3 == 0 { line = Array("x ".utf8) + line }
            for _ in 0..<length { line.append(alphabet[Int(generator.next() % UInt64(alphabet.count))]) }
            for endsField in [false, true] {
                let fast = line.withUnsafeBufferPointer {
                    TokenShape.jwtCandidates(in: $0, 0..<$0.count, rangeEndsField: endsField)
                }
                let plain = line.withUnsafeBufferPointer {
                    TokenShape.jwtCandidates(in: $0, 0..<$0.count, rangeEndsField: endsField, wordAtATime: false)
                }
                #expect(fast == plain, "\(String(decoding: line, as: UTF8.self))")
                if !fast.isEmpty { nonEmpty += 1 }
            }
        }
        #expect(nonEmpty > 1_000)
    }

    /// The SWAR existence tests answer exactly "some byte equals c" / "some byte is below n".
    @Test func swarExistenceTestsAreExact() {
        var generator = SplitMix(seed: 11)
        let specials: [UInt8] = [0x00, 0x09, 0x1F, 0x20, 0x21, 0x22, 0x2C, 0x5C, 0x7F, 0x80, 0xFF]
        for round in 0..<20_000 {
            var bytes = (0..<8).map { _ in specials[Int(generator.next() % UInt64(specials.count))] }
            if round % 2 == 0 { bytes[Int(generator.next() % 8)] = UInt8(truncatingIfNeeded: generator.next()) }
            let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            for c: UInt8 in [0x09, 0x20, 0x22, 0x2C, 0x5C] {
                #expect((SWAR.hasByte(word, c) != 0) == bytes.contains(c), "\(bytes) has \(c)")
            }
            #expect((SWAR.hasLess(word, 0x20) != 0) == bytes.contains { $0 < 0x20 }, "\(bytes)")
            let line = bytes + [0x41]
            let index = line.withUnsafeBufferPointer { SWAR.firstSpaceOrComma($0, from: 0, end: $0.count) }
            #expect(index == (line.firstIndex { $0 == 0x20 || $0 == 0x09 || $0 == 0x2C } ?? line.count))
        }
    }
}
