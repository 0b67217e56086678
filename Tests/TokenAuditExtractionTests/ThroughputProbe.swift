#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Testing
import TokenAuditExtraction

/// Prints a rough throughput figure; runs only when TOKENAUDIT_BENCH=1 (no timing assertions).
/// `TOKENAUDIT_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter ThroughputProbe`
@Suite struct ThroughputProbe {
    @Test(.enabled(if: Environment.bench))
    func combinedLines() {
        let plain = Array(#"203.0.113.9 - - [28/Nov/2026:10:00:00 +0000] "GET /api/v1/orders/12345?page=2&sort=desc HTTP/1.1" 200 5123 "https://app.example.com/orders" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36""#.utf8)
        let withToken = Array(#"203.0.113.9 - - [28/Nov/2026:10:00:00 +0000] "GET /api/v1/orders/12345?page=2&sort=desc HTTP/1.1" 200 5123 "https://app.example.com/orders" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36" "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIiwic3ViIjoiMTIzIiwiYXVkIjoiYXBpIiwiZXhwIjoxNzk1ODYzNjAwfQ.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl""#.utf8)
        let extractor = LineExtractor(format: .combined)
        for (name, line) in [("no token", plain), ("bearer JWT", withToken)] {
            let n = name == "no token" ? 2_000_000 : 200_000
            var found = 0
            let clock = ContinuousClock()
            let elapsed = clock.measure {
                line.withUnsafeBytes { raw in
                    for _ in 0..<n where extractor.extract(raw) != nil { found += 1 }
                }
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("throughput \(name): \(Int(Double(n) / seconds)) lines/s (\(line.count) bytes/line, found \(found))")
        }
    }
}

enum Environment {
    static var bench: Bool {
        guard let value = getenv("TOKENAUDIT_BENCH") else { return false }
        return String(cString: value) == "1"
    }
}
