import Testing
import TokenAuditModel
@testable import TokenAuditExtraction

@Suite struct TimestampTests {
    @Test(arguments: [
        ("28/Nov/2026:10:00:00 +0000", 0.0),
        ("[28/Nov/2026:10:00:00 +0000]", 0),
        ("[28/Nov/2026:12:30:00 +0230]", 0),
        ("[28/nov/2026:05:00:00 -0500]", 0),
        ("28/Nov/2026:10:00:00.250", 0.25),
        ("2026-11-28T10:00:00Z", 0),
        ("2026-11-28T10:00:00.5Z", 0.5),
        ("2026-11-28T11:00:00+01:00", 0),
        ("2026-11-28T11:00:00+0100", 0),
        ("2026-11-28T04:00:00-06", 0),
        ("2026-11-28 10:00:00.125+00:00", 0.125),
        ("1795860000", 0),
        ("1795860000.75", 0.75),
        ("1795860000000", 0),
        ("1795860000000000", 0),
    ])
    func forms(_ text: String, _ fraction: Double) throws {
        let t = try #require(LogTimestamp.parse(text))
        #expect(abs(t - (Sample.t0 + fraction)) < 1e-6)
    }

    @Test func zonelessUsesDefaultOffset() throws {
        #expect(LogTimestamp.parse("2026-11-28T12:00:00", defaultZoneOffsetSeconds: 7200) == Sample.t0)
        #expect(LogTimestamp.parse("2026-11-28T10:00:00") == Sample.t0)
        #expect(LogTimestamp.parse("28/Nov/2026:09:00:00", defaultZoneOffsetSeconds: -3600) == Sample.t0)
        // An explicit zone wins over the default.
        #expect(LogTimestamp.parse("2026-11-28T10:00:00Z", defaultZoneOffsetSeconds: 7200) == Sample.t0)
    }

    @Test func syslogNeedsAYearHint() {
        #expect(LogTimestamp.parse("Nov 28 10:00:00") == nil)
        #expect(LogTimestamp.parse("Nov 28 10:00:00", yearHint: 2026) == Sample.t0)
        #expect(LogTimestamp.parse("Mar  1 00:00:00", yearHint: 2024) == 1_709_251_200)
    }

    @Test(arguments: ["2026-13-01T00:00:00Z", "32/Nov/2026:10:00:00 +0000", "2026-11-28T25:00:00Z", "12345", "", "soon"])
    func rejects(_ text: String) {
        #expect(LogTimestamp.parse(text) == nil)
    }

    /// An epoch number past the year 9999 is no time (later stages make whole buckets and hours of it): a JSON
    /// log's `"ts": 1e300` stopped the scan with a trap in the request windows.
    @Test func epochNumbersPastTheYear9999AreNoTime() throws {
        #expect(LogTimestamp.epochNumber(1e300) == nil)
        // Read by magnitude: 1e21 is nanoseconds, 1e12 seconds (year 33658); 2e20 is 2e11 seconds (year 8307).
        #expect(LogTimestamp.epochNumber(1e21) == nil)
        #expect(LogTimestamp.epochNumber(2e20) == 2e11)
        #expect(LogTimestamp.epochNumber(1e308 * 10) == nil)
        #expect(LogTimestamp.parse(String(repeating: "9", count: 40)) == nil)
        let text = #"{"ts":1e300,"request":{"method":"GET","host":"api.example.com","uri":"/x","headers":{"Authorization":["Bearer \#(Sample.jwt)"]}},"status":200}"#
        let line = try #require(extract(text, .jsonLines))
        #expect(line.context.time == nil)
        #expect(line.strings(.authorizationBearer) == [Sample.jwt])
    }

    @Test func leapDayAndEpochStart() {
        #expect(LogTimestamp.parse("1970-01-01T00:00:00Z") == 0)
        #expect(LogTimestamp.parse("2024-02-29T00:00:00Z") == 1_709_164_800)
        #expect(LogTimestamp.parse("1999-12-31T23:59:59Z") == 946_684_799)
    }

    @Test func strftimePattern() throws {
        let pattern = try #require(StrftimePattern("%d/%b/%Y %H:%M:%S %z"))
        let b = Array("28/Nov/2026 11:00:00 +0100".utf8)
        #expect(pattern.parse(b, 0..<b.count, defaultOffset: 0) == Sample.t0)
        #expect(StrftimePattern("%j") == nil)
        let msec = try #require(StrftimePattern("msec"))
        let m = Array("1795860000500".utf8)
        #expect(msec.parse(m, 0..<m.count, defaultOffset: 0) == Sample.t0 + 0.5)
    }
}

@Suite struct AddressTests {
    @Test(arguments: [
        ("10.0.0.0/8", "10.200.1.1", true), ("10.0.0.0/8", "11.0.0.1", false),
        ("192.0.2.128/25", "192.0.2.200", true), ("192.0.2.128/25", "192.0.2.1", false),
        ("203.0.113.5", "203.0.113.5", true), ("203.0.113.5", "203.0.113.6", false),
        ("10.0.0.0/8", "10.1.2.3:8080", true), ("10.0.0.0/8", "::ffff:10.1.2.3", true),
        ("2001:db8::/32", "2001:db8:1::5", true), ("2001:db8::/32", "2001:db9::5", false),
        ("fd00::/8", "[fd12::1]:443", true), ("::1", "::1", true), ("::1", "::2", false),
        ("2001:db8::/32", "10.0.0.1", false), ("0.0.0.0/0", "8.8.8.8", true),
        ("2001:db8:0:0:0:0:0:1/128", "2001:db8::1", true),
    ])
    func cidr(_ network: String, _ address: String, _ inside: Bool) throws {
        let net = try #require(IPNetwork(network))
        #expect(net.contains(address) == inside)
    }

    @Test(arguments: ["10.0.0.0/33", "300.1.1.1", "1.2.3", "::/129", "2001:db8:::1", "hello", "1:2:3:4:5:6:7:8:9"])
    func malformed(_ text: String) {
        #expect(IPNetwork(text) == nil)
    }

    @Test func forwardedForWalk() throws {
        let v4 = try #require(IPNetwork("10.0.0.0/8"))
        let v6 = try #require(IPNetwork("2001:db8:ffff::/48"))
        func client(_ peer: String, _ xff: [String], _ trusted: [IPNetwork]) -> String? {
            ClientAddress.resolve(peer: Array(peer.utf8), forwardedFor: xff.map { Array($0.utf8) }, trusted: trusted)
                .map { String(decoding: $0, as: UTF8.self) }
        }
        // Untrusted peer: XFF ignored.
        #expect(client("198.51.100.1", ["1.1.1.1"], [v4]) == "198.51.100.1")
        // No trusted proxies configured: XFF ignored.
        #expect(client("10.0.0.1", ["1.1.1.1"], []) == "10.0.0.1")
        // Right-most untrusted entry wins (a client-supplied left entry is not believed).
        #expect(client("10.0.0.1", ["6.6.6.6, 203.0.113.9, 10.0.0.2"], [v4]) == "203.0.113.9")
        // Several headers join in order.
        #expect(client("10.0.0.1:443", ["6.6.6.6", "203.0.113.9"], [v4]) == "203.0.113.9")
        // IPv6 proxies and clients.
        #expect(client("[2001:db8:ffff::1]:443", ["2001:db8:1::7, 2001:db8:ffff::2"], [v6]) == "2001:db8:1::7")
        // Every hop trusted: the left-most.
        #expect(client("10.0.0.1", ["10.0.0.3, 10.0.0.2"], [v4]) == "10.0.0.3")
    }
}
