import Testing
@testable import TokenAuditExtraction

/// `RawRecord.setRequestLine` scans words in place; it must split exactly like the split-and-filter
/// definition it replaced (kept here as the reference).
@Suite struct RequestLineTests {
    static func reference(_ field: RawField, method initial: [UInt8]?) -> (method: [UInt8]?, target: RawField?) {
        var method = initial
        var target: RawField?
        let b = field.bytes
        let parts = ByteText.split(b, 0..<b.count, on: ASCII.space).filter { !$0.isEmpty }
        guard let first = parts.first else { return (method, target) }
        if parts.count == 1 {
            if b[first].first == ASCII.slash {
                target = RawField(Array(b[first]), isAtLimit: field.isAtLimit)
            } else if method == nil, b[first].allSatisfy(ASCII.isAlpha) {
                method = Array(b[first])
            }
            return (method, target)
        }
        if b[first].allSatisfy(ASCII.isAlpha) { method = Array(b[first]) }
        let last = parts[parts.count - 1]
        let hasProtocol = parts.count >= 3 && b.hasLowercasePrefix("http/", at: last.lowerBound)
        let targetEnd = hasProtocol ? parts[parts.count - 2].upperBound : last.upperBound
        target = RawField(Array(b[parts[1].lowerBound..<targetEnd]), isAtLimit: field.isAtLimit && !hasProtocol)
        return (method, target)
    }

    @Test func agreesWithSplitting() {
        var generator = SplitMix(seed: 5)
        let pieces = ["GET", "post", "/a", "/b?x=1", " ", "  ", "HTTP/1.1", "http/2", "HTTP", "x", "\t", "-", "é"]
        for round in 0..<20_000 {
            var text = ""
            for _ in 0..<Int(generator.next() % 7) { text += pieces[Int(generator.next() % UInt64(pieces.count))] }
            let field = RawField(Array(text.utf8), isAtLimit: round % 3 == 0)
            let initial: [UInt8]? = round % 5 == 0 ? Array("PUT".utf8) : nil
            var record = RawRecord()
            record.method = initial.map(RawBytes.copied)
            record.setRequestLine(field)
            let expected = Self.reference(field, method: initial)
            #expect(record.method?.bytes(in: nil) == expected.method, "\(text)")
            #expect(record.target?.bytes == expected.target?.bytes, "\(text)")
            #expect(record.target?.isAtLimit == expected.target?.isAtLimit, "\(text)")
            // Read in place in a line (the request line somewhere inside it): the method is left in the line
            // and resolves to the same bytes.
            let line = Array("x \"".utf8) + field.bytes + Array("\" y".utf8)
            var inLine = RawRecord()
            inLine.method = initial.map(RawBytes.copied)
            line.withUnsafeBufferPointer { p in
                inLine.setRequestLine(in: p, 3..<(3 + field.bytes.count), isAtLimit: field.isAtLimit, isLine: true)
                #expect(inLine.method?.bytes(in: p) == expected.method, "\(text)")
            }
            #expect(inLine.target?.bytes == expected.target?.bytes, "\(text)")
            #expect(inLine.target?.isAtLimit == expected.target?.isAtLimit, "\(text)")
        }
    }
}
