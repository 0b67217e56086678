import TokenAuditModel

/// Everything the request-level rules read from one token occurrence, reduced to what can change their
/// outcome: two occurrences of the same token with equal shapes get the same drafts from
/// ``RuleEngine/evaluate(verdictAt:request:)`` — same rule ids, severities and suppression, in the same order —
/// and differ only in their evidence (which quotes the request time and path).
///
/// The scan's workers remember each token's last shape and its drafts, and on a line with the same shape
/// count the occurrence without running the rules or building evidence. Consecutive lines of one token differ
/// mostly in their time and path; the shape keeps the time only as its class (which side of each threshold
/// the rules compare it with) and the path only when a rule could read it.
///
/// What the rules read, and where it goes (keep in step with `RequestRuleContext` in RequestRules.swift):
/// - `status`: whether the policy counts it as accepted or rejected (rejection lowering, escalations,
///   `rejected-valid-token`); its value is only evidence;
/// - `scheme` (cleartext), `host` (audience), `location`, `parameterName` and the line's locations: kept as
///   they are;
/// - `time`: its class, `RequestShapeBasis.timeClass(_:)`, the exact comparisons `checkTime`, `checkKeyWindow`,
///   `checkExposure`, `checkAgeAndExposure` and `escalate` make;
/// - `path`: kept only when a rule can read it — a `?` in it (client credentials in the URL), a token in the
///   query (introspection via GET), or a policy with public paths or an audience map; any two paths without
///   those give the same drafts;
/// - `method`, client IP, user agent: only evidence, never the outcome.
/// Rules that compare the time or the path in other ways (revocations, route policies, suppressions, DPoP
/// proofs against their request) or read the line's client certificate (tokens with `cnf["x5t#S256"]`) make
/// the engine return no ``RequestShapeBasis``: those requests always run the rules.
public struct RequestShape: Sendable, Equatable {
    /// The status as the rules use it: accepted (bit 0) and rejected (bit 1) by the policy. The status itself
    /// is only evidence, and the statuses a finding saw, which the caller keeps per occurrence.
    var statusClass: UInt8
    var host: String?
    var scheme: String?
    var path: String?
    var parameterName: String?
    var location: TokenLocation
    var locations: UInt16
    var timeClass: UInt16

    /// The bit of `location` in a line's location mask (``RequestShapeBasis/shape(time:status:host:path:scheme:location:parameterName:locationsOnLine:)``).
    @inline(__always)
    public static func bit(_ location: TokenLocation) -> UInt16 {
        switch location {
        case .authorizationBearer: 1 << 0
        case .authorizationDPoP: 1 << 1
        case .authorizationOther: 1 << 2
        case .dpopHeader: 1 << 3
        case .query: 1 << 4
        case .path: 1 << 5
        case .cookie: 1 << 6
        case .referer: 1 << 7
        case .body: 1 << 8
        case .unknown: 1 << 9
        }
    }
}

/// The policy values the request rules compare a request's time and status with, read once per engine (the
/// policy is immutable) instead of looked up by rule id on every line. A class: every token's
/// ``RequestShapeBasis`` refers to the engine's one instance.
final class RequestTimeLimits: Sendable {
    /// No rule compares the request with the policy in a way a shape cannot capture.
    let allowsShapes: Bool
    /// ``RequestShape/statusClass`` of statuses 0..<1000 (others are classified on the spot).
    let statusClasses: [UInt8]
    /// ``statusClasses`` at a fixed address for as long as this object lives, read by
    /// ``RequestShapeBasis/shape(at:time:status:host:scheme:keptPath:location:parameterName:locationsOnLine:)``
    /// without touching this object (whose reference count both workers would otherwise write on every line).
    /// Written once in `init`, freed in `deinit`, never mutated: safe to read from any thread.
    nonisolated(unsafe) let statusTable: UnsafeMutablePointer<UInt8>
    /// The policy's limits (leeway, `iat`, age, exposure and escalation thresholds, whether every path matters)
    /// as plain scalars at a fixed address, shared by every token's basis (one pointer per token instead of a
    /// copy): read in place on every line. Written once in `init`, freed in `deinit`.
    nonisolated(unsafe) let scalars: UnsafeMutablePointer<RequestShapeBasis.Scalars>
    let policy: AuditPolicy

    /// The same lookups, with the same defaults, as the rules in RequestRules.swift make.
    init(policy: AuditPolicy) {
        allowsShapes = policy.suppressions.isEmpty && policy.revocations.isEmpty && policy.routePolicies.isEmpty
        statusClasses = (0..<1000).map { Self.statusClass($0, policy) }
        statusTable = .allocate(capacity: statusClasses.count)
        statusTable.initialize(from: statusClasses, count: statusClasses.count)
        scalars = .allocate(capacity: 1)
        scalars.initialize(to: RequestShapeBasis.Scalars(
            leeway: policy.leeway,
            iatAcceptFuture: policy.number("accept_future_s", of: "iat-in-future", default: 10),
            iatRejectFuture: policy.number("reject_future_s", of: "iat-in-future", default: 60),
            maxAge: policy.number("max_age_s", of: "token-age-excessive", default: 86_400),
            maxAgeShort: policy.number("max_age_s_short", of: "token-age-excessive", default: 300),
            isBearerTokenLoggedEnabled: RequestRuleContext.isBearerTokenLoggedEnabled(policy),
            bearerTokenLoggedMinimum: policy.number("min_remaining_s", of: "bearer-token-logged", default: 0),
            escalateExpiredAfter: policy.number("escalate_after_s", of: "accepted-expired-token", default: 3600),
            pathMatters: !policy.publicPaths.isEmpty || !policy.audienceMap.isEmpty,
            statusTable: UnsafePointer(statusTable), statusTableCount: statusClasses.count))
        self.policy = policy
    }

    deinit {
        statusTable.deinitialize(count: statusClasses.count)
        statusTable.deallocate()
        scalars.deinitialize(count: 1)
        scalars.deallocate()
    }

    static func statusClass(_ status: Int?, _ policy: AuditPolicy) -> UInt8 {
        (policy.isAccepted(status: status) ? 1 : 0) | (policy.isRejected(status: status) ? 2 : 0)
    }

    @inline(__always)
    func statusClass(_ status: Int?) -> UInt8 {
        guard let status else { return 4 }
        return status >= 0 && status < statusClasses.count ? statusClasses[status] : Self.statusClass(status, policy)
    }
}

/// What a token's ``RequestShape`` is built from: the policy's limits and the token's time claims, taken
/// once per distinct token (``RuleEngine/requestShapeBasis(_:)``), so a line's shape reads no verdict.
public struct RequestShapeBasis: Sendable {
    let limits: RequestTimeLimits
    let expiration: Double?
    let notBefore: Double?
    let issuedAt: Double?
    let keyWindow: KeyWindow?
    /// `token-age-excessive` uses the short maximum (client assertions and DPoP proofs).
    let isShortLived: Bool
    /// The limits' values a shape reads (``RequestTimeLimits/scalars``, kept alive by ``limits``), so that
    /// ``shape(at:time:status:host:scheme:keptPath:location:parameterName:locationsOnLine:)`` reads scalars
    /// only, never the limits object (whose reference count both workers would write on every line).
    nonisolated(unsafe) let scalars: UnsafePointer<Scalars>

    struct Scalars {
        let leeway: Double
        let iatAcceptFuture: Double
        let iatRejectFuture: Double
        let maxAge: Double
        let maxAgeShort: Double
        let isBearerTokenLoggedEnabled: Bool
        let bearerTokenLoggedMinimum: Double
        let escalateExpiredAfter: Double
        let pathMatters: Bool
        /// ``RequestTimeLimits/statusTable`` (immutable; alive while the basis's ``limits`` is).
        nonisolated(unsafe) let statusTable: UnsafePointer<UInt8>
        let statusTableCount: Int
    }

    init(
        limits: RequestTimeLimits, expiration: Double?, notBefore: Double?, issuedAt: Double?, keyWindow: KeyWindow?,
        isShortLived: Bool
    ) {
        self.limits = limits
        self.expiration = expiration
        self.notBefore = notBefore
        self.issuedAt = issuedAt
        self.keyWindow = keyWindow
        self.isShortLived = isShortLived
        scalars = UnsafePointer(limits.scalars)
    }

    /// ``keepsPath(location:pathContainsQuery:)`` of the basis at `basis`, read in place: no copy of the basis
    /// (whose ``limits`` reference both workers would retain and release on every line).
    @inline(__always)
    public static func keepsPath(at basis: UnsafePointer<RequestShapeBasis>, location: TokenLocation, pathContainsQuery: Bool)
        -> Bool
    {
        basis.pointee.scalars.pointee.pathMatters || location == .query || pathContainsQuery
    }

    /// ``shape(time:status:host:scheme:keptPath:location:parameterName:locationsOnLine:)`` of the basis at
    /// `basis`, read in place (scalars only; the limits object only for a status outside 0..<1000). The same
    /// shape.
    @inline(__always)
    public static func shape(
        at basis: UnsafePointer<RequestShapeBasis>, time: Double?, status: Int?, host: String?, scheme: String?,
        keptPath: String?, location: TokenLocation, parameterName: String?, locationsOnLine: UInt16
    ) -> RequestShape {
        // Stored properties read through the pointer, one by one: no copy of the basis.
        let statusClass: UInt8
        if let status {
            let scalars = basis.pointee.scalars
            statusClass = status >= 0 && status < scalars.pointee.statusTableCount
                ? scalars.pointee.statusTable[status] : basis.pointee.limits.statusClass(status)
        } else {
            statusClass = 4
        }
        let timeClass = Self.timeClass(
            time, basis.pointee.scalars, isShortLived: basis.pointee.isShortLived, expiration: basis.pointee.expiration,
            notBefore: basis.pointee.notBefore, issuedAt: basis.pointee.issuedAt, keyWindow: basis.pointee.keyWindow)
        return RequestShape(
            statusClass: statusClass, host: host, scheme: scheme, path: keptPath, parameterName: parameterName,
            location: location, locations: locationsOnLine, timeClass: timeClass)
    }

    /// ``timeClass(_:)`` from the scalars (the one copy of the comparisons).
    @inline(__always)
    static func timeClass(
        _ time: Double?, _ scalars: UnsafePointer<Scalars>, isShortLived: Bool, expiration: Double?, notBefore: Double?,
        issuedAt: Double?, keyWindow: KeyWindow?
    ) -> UInt16 {
        guard let time else { return 1 }
        let limits = scalars.pointee
        var bits: UInt16 = 1 << 15
        if let exp = expiration {
            if time > exp + limits.leeway { bits |= 1 << 1 }  // expired-at-request-time; token-in-url-query
            if time <= exp + limits.leeway { bits |= 1 << 2 }  // live (token-age-excessive)
            if time - exp > limits.escalateExpiredAfter { bits |= 1 << 3 }  // accepted-expired-token critical
            if limits.isBearerTokenLoggedEnabled, exp - time > limits.bearerTokenLoggedMinimum { bits |= 1 << 4 }
        }
        if let nbf = notBefore, time < nbf - limits.leeway { bits |= 1 << 5 }
        if let iat = issuedAt {
            if iat > time + limits.iatAcceptFuture { bits |= 1 << 6 }
            if iat > time + limits.iatRejectFuture { bits |= 1 << 7 }
            if time - iat > (isShortLived ? limits.maxAgeShort : limits.maxAge) { bits |= 1 << 8 }
        }
        if let keyWindow, !keyWindow.contains(time) { bits |= 1 << 9 }
        return bits
    }

    /// The shape of one occurrence of the token. `locationsOnLine` is the OR of ``RequestShape/bit(_:)`` of
    /// every location on the line.
    @inline(__always)
    public func shape(
        time: Double?, status: Int?, host: String?, path: String?, scheme: String?, location: TokenLocation,
        parameterName: String?, locationsOnLine: UInt16
    ) -> RequestShape {
        let pathMatters = scalars.pointee.pathMatters || location == .query
            || (path.map { $0.utf8.withContiguousStorageIfAvailable { $0.contains(UInt8(ascii: "?")) }
                ?? $0.utf8.contains(UInt8(ascii: "?")) } ?? false)
        return RequestShape(
            statusClass: limits.statusClass(status), host: host, scheme: scheme, path: pathMatters ? path : nil, parameterName: parameterName,
            location: location, locations: locationsOnLine, timeClass: timeClass(time))
    }

    /// Whether an occurrence's shape keeps its path (a rule can read it): the policy makes paths matter, the
    /// token is in the query, or the path holds a `?` (`pathContainsQuery`).
    @inline(__always)
    public func keepsPath(location: TokenLocation, pathContainsQuery: Bool) -> Bool {
        scalars.pointee.pathMatters || location == .query || pathContainsQuery
    }

    /// ``shape(time:status:host:path:scheme:location:parameterName:locationsOnLine:)`` when the caller has
    /// asked ``keepsPath(location:pathContainsQuery:)``: `keptPath` is the path when it is kept, else nil.
    /// The same shape.
    @inline(__always)
    public func shape(
        time: Double?, status: Int?, host: String?, scheme: String?, keptPath: String?, location: TokenLocation,
        parameterName: String?, locationsOnLine: UInt16
    ) -> RequestShape {
        RequestShape(
            statusClass: limits.statusClass(status), host: host, scheme: scheme, path: keptPath,
            parameterName: parameterName, location: location, locations: locationsOnLine, timeClass: timeClass(time))
    }

    /// Which side of every threshold the request rules compare the request time with `time` is on: the very
    /// comparisons (same expressions, same rounding) of `checkTime`, `checkKeyWindow`, `checkExposure`,
    /// `checkAgeAndExposure` and `escalate`.
    @inline(__always)
    func timeClass(_ time: Double?) -> UInt16 {
        Self.timeClass(
            time, scalars, isShortLived: isShortLived, expiration: expiration, notBefore: notBefore,
            issuedAt: issuedAt, keyWindow: keyWindow)
    }
}

extension RuleEngine {
    /// The basis of `verdict`'s request shapes, or `nil` when the request rules must run for every occurrence
    /// of the token: the policy has revocations, route policies or suppressions, the token is a DPoP proof, or
    /// it is bound to a client certificate (`mtls-binding-mismatch` compares each line's logged certificate,
    /// which no shape holds).
    public func requestShapeBasis(_ verdict: TokenVerdict) -> RequestShapeBasis? {
        guard requestTimeLimits.allowsShapes, verdict.dpopProof == nil, verdict.certificateThumbprint == nil else {
            return nil
        }
        return RequestShapeBasis(
            limits: requestTimeLimits, expiration: verdict.expiration, notBefore: verdict.notBefore,
            issuedAt: verdict.issuedAt, keyWindow: verdict.keyWindow,
            isShortLived: verdict.kind == .clientAssertion || verdict.kind == .dpopProof)
    }
}
