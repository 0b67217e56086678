import Testing
import TokenAuditTestSupport
@testable import TokenAuditRules

/// The byte-by-byte network formatter against the one it replaced (joined `String`s), kept here as the oracle.
@Suite struct IPNetworkTextTests {
    static func oracle(masking raw: [UInt8], prefix: Int, isIPv6: Bool) -> String {
        var bytes = raw
        let bits = max(0, min(prefix, bytes.count * 8))
        for index in bytes.indices {
            let keep = max(0, min(8, bits - index * 8))
            bytes[index] &= keep == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - keep))
        }
        if !isIPv6 { return bytes.map(String.init).joined(separator: ".") + "/\(bits)" }
        var groups: [String] = []
        for index in stride(from: 0, to: 16, by: 2) {
            groups.append(String(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]), radix: 16))
        }
        var best: Range<Int>?
        var start: Int?
        for index in 0...groups.count {
            if index < groups.count, groups[index] == "0" {
                if start == nil { start = index }
            } else if let runStart = start {
                if index - runStart >= 2, index - runStart > (best?.count ?? 0) { best = runStart..<index }
                start = nil
            }
        }
        guard let best else { return groups.joined(separator: ":") + "/\(bits)" }
        let head = groups[..<best.lowerBound].joined(separator: ":")
        let tail = groups[best.upperBound...].joined(separator: ":")
        return head + "::" + tail + "/\(bits)"
    }

    @Test func formatsAsTheJoinedStringsDid() {
        var random = SplitMix64(seed: 42)
        for round in 0..<20_000 {
            let isIPv6 = round % 2 == 1
            // Bytes drawn so that zero groups (and runs of them, of equal lengths) are common.
            let raw = (0..<(isIPv6 ? 16 : 4)).map { _ -> UInt8 in
                switch random.next() % 4 {
                case 0, 1: 0
                case 2: UInt8(truncatingIfNeeded: random.next() % 16)
                default: UInt8(truncatingIfNeeded: random.next())
                }
            }
            let prefix = Int(random.next() % (isIPv6 ? 140 : 40)) - 4
            #expect(IPNetworkText.format(masking: raw, prefix: prefix, isIPv6: isIPv6)
                == Self.oracle(masking: raw, prefix: prefix, isIPv6: isIPv6), "\(raw) /\(prefix)")
        }
    }

    @Test func knownForms() {
        #expect(IPNetworkText.format(masking: [192, 0, 2, 77], prefix: 24, isIPv6: false) == "192.0.2.0/24")
        #expect(IPNetworkText.format(masking: [255, 255, 255, 255], prefix: 32, isIPv6: false) == "255.255.255.255/32")
        let v6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0xb2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5]
        #expect(IPNetworkText.format(masking: v6, prefix: 48, isIPv6: true) == "2001:db8:b2::/48")
        #expect(IPNetworkText.format(masking: v6, prefix: 128, isIPv6: true) == "2001:db8:b2:1::5/128")
        #expect(IPNetworkText.format(masking: [UInt8](repeating: 0, count: 16), prefix: 0, isIPv6: true) == "::/0")
        let one = [UInt8](repeating: 0, count: 15) + [1]
        #expect(IPNetworkText.format(masking: one, prefix: 128, isIPv6: true) == "::1/128")
        // Two runs of two zero groups: the first becomes "::" (RFC 5952 §4.2.3).
        let ties: [UInt8] = [0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1]
        #expect(IPNetworkText.format(masking: ties, prefix: 128, isIPv6: true) == "1::1:1:0:0:1/128")
    }
}
