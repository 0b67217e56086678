import Foundation
import Synchronization
import TokenAuditCrypto
import TokenAuditModel
import TokenAuditVerification

/// Publicly seen HMAC secrets, loaded once: the shipped wallarm list (MIT) plus the project's own additions.
public struct WeakSecretList: Sendable {
    /// A secret and the list it came from.
    public typealias Entry = (secret: [UInt8], source: String)

    /// The secrets, duplicates removed, each with the list it came from. The built-in list is read at the first
    /// use (``builtin()``): most runs never need it (a re-run that reads nothing new, a scan without HS* tokens),
    /// and reading its 104 000 lines was ~0.2 CPU-s of every scan's start.
    public var entries: [Entry] { storage.entries }

    private let storage: Storage

    public init(entries: [Entry]) {
        storage = Storage(loaded: Self.withoutDuplicates(entries))
    }

    private init(loading load: @escaping @Sendable () -> [Entry]) {
        storage = Storage(load: load)
    }

    static func withoutDuplicates(_ entries: [Entry]) -> [Entry] {
        var seen = Set<[UInt8]>()
        return entries.filter { seen.insert($0.secret).inserted }
    }

    /// Whether the entries have been read (a list made from entries always has).
    var isLoaded: Bool { storage.isLoaded }

    /// The entries, or the function that reads them until the first use.
    private final class Storage: Sendable {
        private let state: Mutex<(entries: [Entry]?, load: (@Sendable () -> [Entry])?)>

        init(loaded entries: [Entry]) { state = Mutex((entries, nil)) }
        init(load: @escaping @Sendable () -> [Entry]) { state = Mutex((nil, load)) }

        var entries: [Entry] {
            state.withLock { state in
                if let entries = state.entries { return entries }
                let entries = state.load?() ?? []
                state = (entries, nil)
                return entries
            }
        }

        var isLoaded: Bool { state.withLock { $0.entries != nil } }
    }

    /// How many entries of ``builtin()`` come from the short list of common defaults (tried first).
    public static let shortListCount = 64

    /// An empty list (only the policy's extra secrets are tried).
    public static let empty = WeakSecretList(entries: [])

    /// The shipped lists: `builtin-secrets.list` first (it holds the commonest defaults), then `jwt.secrets.list`.
    public static func builtin() -> WeakSecretList {
        WeakSecretList(loading: { withoutDuplicates(readBuiltin()) })
    }

    private static func readBuiltin() -> [Entry] {
        var entries: [Entry] = []
        for (name, source) in [("builtin-secrets", "builtin"), ("jwt.secrets", "wallarm-jwt-secrets")] {
            guard let url = Bundle.module.url(forResource: "Resources/\(name)", withExtension: "list"),
                let data = try? Data(contentsOf: url)
            else { continue }
            for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
                var bytes = Array(line)
                if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
                if !bytes.isEmpty { entries.append((bytes, source)) }
            }
        }
        return entries
    }
}

/// A secret that verified a token's MAC. Only a masked hint of it is ever shown.
struct CrackedSecret: Sendable {
    let secret: [UInt8]
    let source: String
    var length: Int { secret.count }
    /// The first and last characters with the middle masked: enough to find it in a config, no more.
    var hint: String {
        let text = String(decoding: secret, as: UTF8.self)
        guard text.count > 4 else { return String(repeating: "*", count: text.count) }
        return "\(text.prefix(2))\(String(repeating: "*", count: min(text.count - 4, 12)))\(text.suffix(2))"
    }
}

/// Tries known secrets against HS* tokens.
///
/// Deterministic by construction, so a re-run gives the same findings whatever the order tokens arrive in:
/// - a token that verified with a configured HMAC key was MACed with that key, so the key itself is looked up in
///   the list (a set lookup, no HMAC at all);
/// - any other HS* token is tried against the whole list, except that secrets already found for tokens of the
///   same issuer, `kid` and `alg` are tried first (a hit there is the hit the full pass would find, since two
///   secrets do not verify one MAC). The full pass runs over ``HMACKeyPads`` computed once per process and hash
///   (lazily, at the first full pass of that hash), so each entry costs the message blocks plus one outer block;
///   docs/performance.md has the measured number.
final class WeakSecretChecker: Sendable {
    let list: WeakSecretList
    /// The list by secret, built at the first ``knownSecret(equalTo:)`` (an HS* token MACed with a configured
    /// key), not with the engine.
    private let index = Mutex<[[UInt8]: String]?>(nil)
    private let crackedByGroup = Mutex<[String: [CrackedSecret]]>([:])
    /// The list's key pads per hash, built at the first full pass that needs them (most scans need SHA-256 only).
    private let padsByHash = Mutex<[HashAlgorithm: HMACKeyPads]>([:])
    /// Full-list searches run so far and the thread CPU time they took: the one per-token cost that grows with a
    /// missing or stale key set (each HS* token without a key is tried against every entry, ~10 ms), reported
    /// so a user can tell why such a scan is slow and what fixes it.
    private let fullSearches = Atomic<Int>(0)
    private let fullSearchNanoseconds = Atomic<UInt64>(0)
    /// Below this many entries the pads are computed per candidate (the short list of invalid-signature tokens
    /// does not justify building the table).
    static let precomputedPadsThreshold = 1024

    init(list: WeakSecretList) {
        self.list = list
    }

    /// The list entry equal to a configured key, if the key is a known weak secret.
    func knownSecret(equalTo key: [UInt8]) -> CrackedSecret? {
        if key.isEmpty { return CrackedSecret(secret: key, source: "empty") }
        let source = index.withLock { index in
            if index == nil {
                var built: [[UInt8]: String] = [:]
                for entry in list.entries where built[entry.secret] == nil { built[entry.secret] = entry.source }
                index = built
            }
            return index?[key]
        }
        return source.map { CrackedSecret(secret: key, source: $0) }
    }

    func crack(
        algorithm: JWSAlgorithm, signingInput: [UInt8], signature: [UInt8], group: String, extraSecrets: [String],
        usesBuiltinList: Bool, maximumEntries: Int? = nil
    ) -> CrackedSecret? {
        guard let hash = algorithm.hash, signature.count == hash.outputByteCount else { return nil }
        let tester = HMACSecretTester(algorithm: hash, message: signingInput, expectedTag: signature)
        var candidates: [(secret: [UInt8], source: String)] = [([], "empty")]
        candidates += extraSecrets.map { (Array($0.utf8), "policy-or-claims") }
        for candidate in candidates where tester.matches(secret: candidate.secret) {
            return CrackedSecret(secret: candidate.secret, source: candidate.source)
        }
        guard usesBuiltinList else { return nil }
        let known = crackedByGroup.withLock { $0[group] ?? [] }
        for secret in known where tester.matches(secret: secret.secret) { return secret }
        let limit = min(maximumEntries ?? list.entries.count, list.entries.count)
        let index: Int?
        if limit < Self.precomputedPadsThreshold {
            index = list.entries.prefix(limit).firstIndex { tester.matches(secret: $0.secret) }
        } else {
            let started = CPUTime.currentThreadNanoseconds()  // CPU-bound: wall time would count waits too
            index = tester.firstMatch(in: pads(for: hash), limit: limit)
            fullSearches.add(1, ordering: .relaxed)
            fullSearchNanoseconds.add(CPUTime.currentThreadNanoseconds() &- started, ordering: .relaxed)
        }
        guard let index else { return nil }
        let found = CrackedSecret(secret: list.entries[index].secret, source: list.entries[index].source)
        crackedByGroup.withLock { $0[group, default: []].append(found) }
        return found
    }

    /// How many tokens were tried against the whole list (at least ``precomputedPadsThreshold`` entries) so far,
    /// and the CPU time that took on the threads that did it.
    var fullSearchStatistics: WeakSecretSearchStatistics {
        WeakSecretSearchStatistics(
            // The list's size only once a search has read it: asking would read it for nothing.
            tokens: fullSearches.load(ordering: .relaxed), listEntries: list.isLoaded ? list.entries.count : 0,
            cpuSeconds: Double(fullSearchNanoseconds.load(ordering: .relaxed)) / 1e9)
    }

    /// The key pads of the whole list for `hash`, computed at the first call (under the lock: concurrent callers
    /// wait for the one computation, ~10 ms for the built-in list, instead of repeating it).
    func pads(for hash: HashAlgorithm) -> HMACKeyPads {
        padsByHash.withLock { table in
            if let pads = table[hash] { return pads }
            let pads = HMACKeyPads(algorithm: hash, secrets: list.entries.lazy.map(\.secret))
            table[hash] = pads
            return pads
        }
    }
}

/// What the weak-secret rule's full-list searches cost in a scan (see ``RuleEngine/weakSecretSearches``).
public struct WeakSecretSearchStatistics: Sendable, Equatable {
    /// Tokens tried against the whole list: HS* tokens whose key the key set does not hold.
    public var tokens: Int
    /// Entries in the list each of them was tried against.
    public var listEntries: Int
    /// CPU time of those searches, summed over the threads that ran them.
    public var cpuSeconds: Double

    public init(tokens: Int = 0, listEntries: Int = 0, cpuSeconds: Double = 0) {
        self.tokens = tokens
        self.listEntries = listEntries
        self.cpuSeconds = cpuSeconds
    }
}
