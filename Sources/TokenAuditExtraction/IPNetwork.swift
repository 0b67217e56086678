/// An IPv4 or IPv6 network in CIDR form, for deciding whose `X-Forwarded-For` to believe.
///
/// Addresses are held as 16 bytes; IPv4 (and IPv4-mapped IPv6, `::ffff:a.b.c.d`) use the mapped form so that a
/// v4 CIDR matches a mapped peer address too.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    let address: [UInt8]  // 16 bytes
    let prefixLength: Int  // over the 128-bit form

    /// Parses `10.0.0.0/8`, `192.0.2.1` (a single host), `2001:db8::/32`, `::1`. nil when malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let (bytes, isV4) = IPNetwork.parseAddress(Array(first.utf8)[...]) else {
            return nil
        }
        let maxPrefix = isV4 ? 32 : 128
        var prefix = maxPrefix
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...maxPrefix).contains(p) else { return nil }
            prefix = p
        }
        self.prefixLength = isV4 ? prefix + 96 : prefix
        self.address = IPNetwork.masked(bytes, prefixLength)
    }

    public var description: String {
        if address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF {
            return address[12...].map(String.init).joined(separator: ".") + "/\(prefixLength - 96)"
        }
        var groups: [String] = []
        for k in stride(from: 0, to: 16, by: 2) { groups.append(String(Int(address[k]) << 8 | Int(address[k + 1]), radix: 16)) }
        return groups.joined(separator: ":") + "/\(prefixLength)"
    }

    /// Whether the textual address (port and brackets tolerated: `[::1]:443`, `10.0.0.1:8080`) is inside.
    public func contains(_ addressText: String) -> Bool {
        guard let bytes = IPNetwork.parseHost(Array(addressText.utf8)[...]) else { return false }
        return IPNetwork.masked(bytes, prefixLength) == address
    }

    func contains(bytes: [UInt8]) -> Bool { IPNetwork.masked(bytes, prefixLength) == address }

    static func masked(_ bytes: [UInt8], _ prefix: Int) -> [UInt8] {
        var out = bytes
        for k in 0..<16 {
            let bitsHere = max(0, min(8, prefix - k * 8))
            out[k] &= bitsHere == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - bitsHere))
        }
        return out
    }

    /// An address possibly with port or brackets → 16 bytes; nil when it is not an IP address.
    static func parseHost(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        var t = text
        while let f = t.first, ASCII.isSpace(f) { t.removeFirst() }
        while let l = t.last, ASCII.isSpace(l) { t.removeLast() }
        if t.first == ASCII.leftBracket, let close = t.firstIndex(of: ASCII.rightBracket) {
            return parseAddress(t[(t.startIndex + 1)..<close])?.0
        }
        if let whole = parseAddress(t) { return whole.0 }
        // IPv4 with a port.
        if let colon = t.lastIndex(of: ASCII.colon), t.filter({ $0 == ASCII.colon }).count == 1 {
            return parseAddress(t[t.startIndex..<colon])?.0
        }
        return nil
    }

    /// ``stripPort(_:)`` as a range of `text`, without copying it.
    static func addressRange(_ text: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        let t = text.trimmedRange(0..<text.count)
        guard !t.isEmpty else { return t }
        if text[t.lowerBound] == ASCII.leftBracket, let close = text.firstIndex(of: ASCII.rightBracket, in: t) {
            return (t.lowerBound + 1)..<close
        }
        var colons = 0
        var lastColon = -1
        for k in t where text[k] == ASCII.colon {
            colons += 1
            lastColon = k
        }
        if colons == 1, parseAddress(ArraySlice(text[t.lowerBound..<lastColon])) != nil {
            return t.lowerBound..<lastColon
        }
        return t
    }

    /// The address without port or brackets, as logged text (for `RequestContext.clientIP`).
    static func stripPort(_ text: [UInt8]) -> [UInt8] {
        let t = text[text.trimmedRange(0..<text.count)]
        if t.first == ASCII.leftBracket, let close = t.firstIndex(of: ASCII.rightBracket) {
            return Array(t[(t.startIndex + 1)..<close])
        }
        if let colon = t.lastIndex(of: ASCII.colon), t.filter({ $0 == ASCII.colon }).count == 1,
           parseAddress(t[t.startIndex..<colon]) != nil
        {
            return Array(t[t.startIndex..<colon])
        }
        return t.count == text.count ? text : Array(t)
    }

    static func parseAddress(_ text: ArraySlice<UInt8>) -> ([UInt8], Bool)? {
        if let v4 = parseV4(text) { return ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] + v4, true) }
        if let v6 = parseV6(text) { return (v6, false) }
        return nil
    }

    static func parseV4(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        var value = -1
        for c in text {
            if ASCII.isDigit(c) {
                value = (value < 0 ? 0 : value) * 10 + Int(c &- 0x30)
                if value > 255 { return nil }
            } else if c == ASCII.dot {
                guard value >= 0, out.count < 3 else { return nil }
                out.append(UInt8(value))
                value = -1
            } else {
                return nil
            }
        }
        guard value >= 0, out.count == 3 else { return nil }
        out.append(UInt8(value))
        return out
    }

    static func parseV6(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        var t = text
        if let percent = t.firstIndex(of: ASCII.percent) { t = t[t.startIndex..<percent] }  // zone id
        guard t.contains(ASCII.colon) else { return nil }
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var sawGap = false
        var v4Tail: [UInt8]? = nil
        let pieces = Array(t).split(separator: ASCII.colon, omittingEmptySubsequences: false)
        var k = 0
        // Leading "::".
        if pieces.count >= 2, pieces[0].isEmpty, pieces[1].isEmpty { sawGap = true; k = 2 } else if pieces.first?.isEmpty == true {
            return nil
        }
        while k < pieces.count {
            let piece = pieces[k]
            if piece.isEmpty {
                if k == pieces.count - 1, sawGap { break }  // trailing "::"
                guard !sawGap else { return nil }
                sawGap = true
                k += 1
                continue
            }
            if k == pieces.count - 1, piece.contains(ASCII.dot) {
                guard let v4 = parseV4(piece) else { return nil }
                v4Tail = v4
                break
            }
            guard piece.count <= 4 else { return nil }
            var v: UInt16 = 0
            for c in piece {
                guard let h = ASCII.hexValue(c) else { return nil }
                v = v << 4 | UInt16(h)
            }
            if sawGap { tail.append(v) } else { head.append(v) }
            k += 1
        }
        let groupsUsed = head.count + tail.count + (v4Tail == nil ? 0 : 2)
        guard groupsUsed <= 8, sawGap || groupsUsed == 8 else { return nil }
        if sawGap, groupsUsed == 8 { return nil }
        var groups = head + [UInt16](repeating: 0, count: 8 - groupsUsed) + tail
        var out: [UInt8] = []
        for g in groups { out += [UInt8(g >> 8), UInt8(g & 0xFF)] }
        if let v4Tail { out += v4Tail }
        groups.removeAll()
        return out
    }
}

enum ClientAddress {
    /// The client: the peer, unless the peer is a trusted proxy, in which case the right-most X-Forwarded-For
    /// entry that is not itself a trusted proxy (the left-most entry when every hop is trusted).
    static func resolve(peer: [UInt8]?, forwardedFor: [[UInt8]], trusted: [IPNetwork]) -> [UInt8]? {
        guard let peer else { return nil }
        let peerAddress = IPNetwork.stripPort(peer)
        guard !trusted.isEmpty, !forwardedFor.isEmpty,
              let peerBytes = IPNetwork.parseHost(peerAddress[...]),
              trusted.contains(where: { $0.contains(bytes: peerBytes) })
        else { return peerAddress }
        var entries: [[UInt8]] = []
        for header in forwardedFor {
            for piece in ByteText.split(header, 0..<header.count, on: ASCII.comma) {
                let r = header.trimmedRange(piece)
                if !r.isEmpty { entries.append(Array(header[r])) }
            }
        }
        guard !entries.isEmpty else { return peerAddress }
        for entry in entries.reversed() {
            let address = IPNetwork.stripPort(entry)
            guard let bytes = IPNetwork.parseHost(address[...]) else { return address }  // garbage stops the walk
            if !trusted.contains(where: { $0.contains(bytes: bytes) }) { return address }
        }
        return IPNetwork.stripPort(entries[0])
    }
}
