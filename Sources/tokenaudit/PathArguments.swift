/// ArgumentParser 1.8 parses a repeated positional argument in time quadratic in its count: every value copies the
/// values parsed so far and the set of their positions (`ParsedValues.update`). `scan` of 20 000 files named by a
/// shell glob spent 9.3 s there before reading a byte: 0.47 ms per file, about half of what a small file cost in
/// all (docs/performance.md, eleventh session). So `scan`'s arguments reach the parser with every run of plain
/// arguments but its first collapsed into one placeholder, and the placeholders are expanded in place once
/// parsed: the parser sees a few dozen values, the scan gets every path in its order.
///
/// A run's first argument may be an option's value (`--db audit.sqlite a.log b.log`); the ones after it cannot
/// be, because every option of `scan` takes exactly one value (a test checks the parser's own description of
/// them), so they are positional whatever precedes them.
enum PathArguments {
    /// Fewer arguments than this are parsed as they are.
    static let minimumCount = 64
    /// Starts every placeholder. A command-line argument is a C string, so it never holds a NUL.
    static let marker = "\u{0}tokenaudit-paths-"

    /// `arguments` (without the program name) with the runs of plain arguments after `scan` collapsed, and the
    /// runs by placeholder number. Anything that is not `scan` with many arguments is returned as it is.
    static func collapse(_ arguments: [String]) -> (arguments: [String], runs: [[String]]) {
        guard arguments.count >= minimumCount, arguments.first == "scan" else { return (arguments, []) }
        var collapsed = ["scan"]
        var runs: [[String]] = []
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            collapsed.append(argument)
            index += 1
            guard isPlain(argument) else { continue }
            var end = index
            while end < arguments.count, isPlain(arguments[end]) { end += 1 }
            if end - index >= 2 {
                collapsed.append(marker + String(runs.count))
                runs.append(Array(arguments[index..<end]))
                index = end
            }
        }
        return (collapsed, runs)
    }

    /// `paths` as parsed from collapsed arguments, with every placeholder replaced by its run.
    static func expand(_ paths: [String], runs: [[String]]) -> [String] {
        guard !runs.isEmpty else { return paths }
        var expanded: [String] = []
        expanded.reserveCapacity(paths.count + runs.reduce(0) { $0 + $1.count })
        for path in paths {
            if path.hasPrefix(marker), let number = Int(path.dropFirst(marker.count)), runs.indices.contains(number) {
                expanded += runs[number]
            } else {
                expanded.append(path)
            }
        }
        return expanded
    }

    /// Neither an option, `--`, `-` (standard input) nor a placeholder.
    private static func isPlain(_ argument: String) -> Bool {
        !argument.hasPrefix("-") && !argument.hasPrefix(marker)
    }
}
