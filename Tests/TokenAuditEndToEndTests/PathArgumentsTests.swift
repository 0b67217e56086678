import Foundation
import Testing

@testable import tokenaudit

/// Many paths reach ArgumentParser collapsed (it is quadratic in a repeated positional argument) and are expanded
/// once parsed: the scan must get exactly what the parser alone would have given it.
@Suite struct PathArgumentsTests {
    /// What `scan` is configured with: the paths and every option that could swallow one.
    private func parsed(_ arguments: [String], collapsing: Bool) throws -> String {
        let (input, runs) = collapsing ? PathArguments.collapse(arguments) : (arguments, [])
        guard case var scan as TokenAuditCommand.Scan = try TokenAuditCommand.parseAsRoot(input) else {
            Issue.record("not a scan: \(arguments)")
            return ""
        }
        scan.paths = PathArguments.expand(scan.paths, runs: runs)
        return "\(scan.paths) db=\(scan.db) keys=\(scan.keyPaths) rules=\(scan.rules ?? "-") issuers=\(scan.issuers) "
            + "format=\(scan.logFormat ?? "-") jobs=\(scan.jobs) quiet=\(scan.quiet) json=\(scan.json)"
    }

    @Test(arguments: [
        ["--db", "audit.sqlite"],
        ["--db=audit.sqlite", "--keys", "k1"],
        ["--keys", "k1", "--db", "audit.sqlite", "--keys", "k2", "--quiet"],
        ["--quiet", "--db", "audit.sqlite", "--json", "--issuer", "https://issuer.example"],
        ["--db", "audit.sqlite", "-", "--log-format", "combined", "--jobs", "3"],
        ["--db", "audit.sqlite", "--", "-odd.log"],
    ])
    func collapsedArgumentsParseAsTheFullOnes(options: [String]) throws {
        let paths = (0..<300).map { "logs/access-\($0).log.gz" }
        // Options before, between and after runs of paths, and runs of every length.
        let arrangements: [[String]] = [
            ["scan"] + paths + options,
            ["scan"] + options + paths,
            ["scan"] + paths.prefix(1) + options + paths.dropFirst(1),
            ["scan"] + paths.prefix(2) + options.prefix(2) + paths.dropFirst(2).prefix(150) + options.dropFirst(2)
                + paths.dropFirst(152),
        ]
        for arguments in arrangements {
            #expect(try parsed(arguments, collapsing: true) == parsed(arguments, collapsing: false))
            #expect(PathArguments.collapse(arguments).arguments.count < 32)
        }
    }

    @Test func fewArgumentsAndOtherCommandsAreLeftAlone() {
        let few = ["scan", "a.log", "b.log", "c.log", "--db", "x.sqlite"]
        #expect(PathArguments.collapse(few).arguments == few)
        let other = ["findings"] + (0..<100).map { "x\($0)" }
        #expect(PathArguments.collapse(other).arguments == other)
    }

    /// The collapse assumes that no option of `scan` takes more than one value: the parser's own description of
    /// the command must say so (an option with `parsing: .upToNextOption` or `.remaining` would swallow paths).
    @Test func everyScanOptionTakesOneValue() throws {
        let dump = try Harness.run(["--experimental-dump-help"])
        let root = try #require(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
        let command = try #require(root["command"] as? [String: Any])
        let subcommands = try #require(command["subcommands"] as? [[String: Any]])
        let scan = try #require(subcommands.first { $0["commandName"] as? String == "scan" })
        let arguments = try #require(scan["arguments"] as? [[String: Any]])
        let options = arguments.filter { $0["kind"] as? String == "option" }
        #expect(options.count >= 10)
        for option in options {
            #expect(option["parsingStrategy"] as? String == "default", "\(option["names"] ?? "?")")
        }
    }

    @Test func twentyThousandPathsParseInAMomentOfTheScan() throws {
        // ArgumentParser alone: 9.3 s for 20 000 paths in a release build, quadratic in their count.
        let paths = (0..<20_000).map { "/nonexistent/logs/\($0).log.gz" }
        let started = Date()
        let outcome = try Harness.run(["scan"] + paths + ["--db", "/nonexistent/dir/audit.sqlite"])
        #expect(outcome.status == 2, "\(outcome.stderr)")
        #expect(Date().timeIntervalSince(started) < 5)
    }
}
