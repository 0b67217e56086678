import TokenAuditJSON
import TokenAuditModel

/// JSON access logs (Caddy, nginx `escape=json`, Traefik, Envoy, Kong, …): fields are found by their usual
/// names, case-insensitively, wherever they sit in the object.
enum JSONLineReader {
    enum Role {
        case time, status, method, target, requestLine, host, scheme, userAgent, body, ignored
        /// The TLS client certificate or its thumbprint (RFC 8705): filed as logged, `null` as "none".
        case clientCertificate
        case peer(priority: Int)
        /// A header filed by slot. No listed key has this role today; the payload is a plain enum (not the
        /// header's name as a String) so that roles, and the key table's actions, copy without reference
        /// counting: the JSON readers copy one action per key of every line.
        case header(HeaderSlot)
    }

    static let roles: [String: Role] = {
        var map: [String: Role] = [:]
        for k in ["ts", "time", "timestamp", "@timestamp", "start_time", "started_at", "time_local", "time_iso8601",
                  "msec", "startutc", "startlocal", "datetime", "date", "logged_at"] { map[k] = .time }
        for k in ["status", "response_code", "downstreamstatus", "status_code", "statuscode", "response_status"] {
            map[k] = .status
        }
        for k in ["method", "request_method", "requestmethod", "http_method", "verb"] { map[k] = .method }
        for k in ["uri", "request_uri", "requestpath", "path", "url", "request_url", "requesturi"] { map[k] = .target }
        map["request"] = .requestLine
        for k in ["host", "requesthost", "authority", "server_name", "http_host", "request_host"] { map[k] = .host }
        for k in ["scheme", "requestscheme", "request_scheme", "x_forwarded_proto"] { map[k] = .scheme }
        for k in ["user_agent", "http_user_agent", "useragent", "request_user_agent"] { map[k] = .userAgent }
        for k in ["request_body", "body"] { map[k] = .body }
        let peers = ["remote_ip", "remote_addr", "downstream_remote_address", "clienthost", "clientaddr", "client_ip",
                     "clientip", "client_addr", "remote_host", "ip"]
        for (p, k) in peers.enumerated() { map[k] = .peer(priority: p) }
        for k in ["request_time", "duration", "size", "bytes_sent", "body_bytes_sent", "proto", "protocol",
                  "upstream_uri", "level", "logger", "msg"] { map[k] = .ignored }
        for k in LineExtractor.defaultClientCertificateKeys { map[k] = .clientCertificate }
        return map
    }()

    static let headerNames: Set<String> = ["authorization", "cookie", "referer", "referrer", "x_forwarded_for", "dpop",
                                           "user_agent", "host", "proxy_authorization"]

    static let ignoredParents: Set<String> = ["service", "route", "upstream", "workspace", "consumer", "tries",
                                              "latencies", "upstream_headers"]

    struct State {
        var record = RawRecord()
        var peerPriority = Int.max
        var haveTarget = false
        let options: ExtractionOptions
    }

    /// The line's record, or nil when it is not a JSON object. Flat objects (the usual access-log shape) are
    /// read by ``FlatJSONScanner`` without a JSON tree; anything else by ``readWithTree(_:options:)``.
    static func read(_ b: [UInt8], options: ExtractionOptions) -> RawRecord? {
        switch FlatJSONScanner.read(b, options: options) {
        case .record(let record): return record
        case .invalid: return nil
        case .needsTreeReader: return readWithTree(b, options: options)
        }
    }

    /// ``read(_:options:)-([UInt8],_)`` on the line's buffer: values the flat scanner leaves in the line refer to `p`.
    static func read(_ p: UnsafeBufferPointer<UInt8>, options: ExtractionOptions) -> RawRecord? {
        switch FlatJSONScanner.read(p, options: options) {
        case .record(let record): return record
        case .invalid: return nil
        case .needsTreeReader: return readWithTree(Array(p), options: options)
        }
    }

    /// The reference reader: parses the line into a `JSONValue` tree and walks it. Handles nesting (Caddy's
    /// `request.headers`, Kong's `service`/`querystring`), which the flat scanner hands over.
    static func readWithTree(_ b: [UInt8], options: ExtractionOptions) -> RawRecord? {
        guard let brace = b.firstIndex(of: ASCII.leftBrace, in: 0..<b.count) else { return nil }
        guard let document = try? JSONReader.parse(b[brace...], limits: JSONReadingLimits(maximumBytes: 1 << 26)),
              let object = document.value.objectValue
        else { return nil }
        var state = State(options: options)
        walk(object, parentKeys: [], state: &state)
        return state.record
    }

    static func normalise(_ key: String) -> String {
        String(decoding: key.utf8.map { $0 == ASCII.dash ? UInt8(ascii: "_") : ASCII.lower($0) }, as: UTF8.self)
    }

    static func walk(_ object: JSONObject, parentKeys: [String], state: inout State) {
        for member in object.members {
            let key = normalise(member.key)
            visit(member.value, key: key, parentKeys: parentKeys, state: &state)
        }
    }

    static func visit(_ value: JSONValue, key: String, parentKeys: [String], state: inout State) {
        switch value {
        case .object(let inner): walk(inner, parentKeys: parentKeys + [key], state: &state)
        case .array(let items): for item in items { visit(item, key: key, parentKeys: parentKeys, state: &state) }
        case .string(let s): leaf(Array(s.utf8), number: nil, key: key, parentKeys: parentKeys, state: &state)
        case .number(let n): leaf(Array(n.text.utf8), number: n.doubleValue, key: key, parentKeys: parentKeys, state: &state)
        case .null:
            // A client-certificate field logged as `null`: the format has the field, the request had no
            // certificate (Envoy writes `null` for an unavailable value).
            if isClientCertificateLeaf(key: key, parentKeys: parentKeys, options: state.options) {
                state.record.clientCertificates.append([])
            }
        case .bool: break
        }
    }

    /// Whether `leaf` would file a value under `key` as a client certificate: a built-in or configured
    /// certificate key outside a headers object, a Kong `querystring` and the ignored parents.
    static func isClientCertificateLeaf(key: String, parentKeys: [String], options: ExtractionOptions) -> Bool {
        if let parent = parentKeys.last, parent.hasSuffix("headers") || parent == "querystring" { return false }
        if parentKeys.contains(where: { ignoredParents.contains($0) }) { return false }
        if let role = roles[key] {
            guard case .clientCertificate = role else { return false }
            return parentKeys.last != "response"
        }
        return isConfiguredCertificateKey(key, options)
    }

    /// `key` (normalised) is one of the policy's `cert_field` keys.
    static func isConfiguredCertificateKey(_ key: String, _ options: ExtractionOptions) -> Bool {
        guard !options.certificateFieldKeys.isEmpty else { return false }
        var key = key
        return key.withUTF8 { options.isClientCertificateField($0, normalise: false) }
    }

    static func leaf(_ v: [UInt8], number: Double?, key: String, parentKeys: [String], state: inout State) {
        let field = RawField(v, isAtLimit: state.options.fieldLengthLimits.contains(v.count))
        // Inside a headers object every member is a header.
        if let parent = parentKeys.last, parent.hasSuffix("headers") {
            if parent.hasPrefix("resp") || parent.hasPrefix("response") {
                headerLike(key, field, state: &state, fallbackToOther: true)
            } else {
                state.record.addHeader(name: Array(key.utf8), value: field)
            }
            return
        }
        let parent = parentKeys.last ?? ""
        // Kong's parsed `querystring` repeats what `request.uri` holds: reading both would report every query
        // token twice.
        if parent == "querystring" { return }
        // Upstream/service descriptions (Kong) name hosts and paths that are not the request's.
        if parentKeys.contains(where: { ignoredParents.contains($0) }) {
            state.record.others.append((field, .unknown))
            return
        }
        if let role = roles[key], !(parent == "response" && key != "status") {
            apply(role, field, number: number, state: &state)
            return
        }
        if isConfiguredCertificateKey(key, state.options) {
            apply(.clientCertificate, field, number: number, state: &state)
            return
        }
        // Traefik `request_Authorization`, nginx `http_cookie`, `req_header_x`.
        for prefix in ["request_", "http_", "req_", "downstream_"] where key.hasPrefix(prefix) {
            let rest = String(key.dropFirst(prefix.count))
            if headerNames.contains(rest) {
                state.record.addHeader(name: Array(rest.utf8), value: field)
                return
            }
        }
        if headerNames.contains(key) {
            state.record.addHeader(name: Array(key.utf8), value: field)
            return
        }
        headerLike(key, field, state: &state, fallbackToOther: true)
    }

    /// Any other string: a key that names a carrier decides the location, otherwise `.unknown`.
    static func headerLike(_ key: String, _ field: RawField, state: inout State, fallbackToOther: Bool) {
        if key.contains("authorization") { state.record.authorization.append(field) } else if key.contains("cookie") {
            state.record.cookies.append(field)
        } else if key.contains("referer") || key.contains("referrer") {
            state.record.referers.append(field)
        } else if key.contains("dpop") {
            state.record.dpop.append(field)
        } else if fallbackToOther {
            state.record.others.append((field, .unknown))
        }
    }

    static func apply(_ role: Role, _ field: RawField, number: Double?, state: inout State) {
        let v = field.bytes
        let options = state.options
        switch role {
        case .time:
            guard state.record.time == nil else { return }
            if let number {
                state.record.time = LogTimestamp.epochNumber(number)
            } else if let t = LogTimestamp.parseAny(v, 0..<v.count, defaultOffset: options.defaultZoneOffsetSeconds,
                                                    yearHint: options.yearHint)
            {
                state.record.time = t
            } else {
                state.record.problems.append(ExtractionProblem(.unreadableTime, "time field of \(v.count) bytes is no known timestamp form"))
            }
        case .status:
            if state.record.status == nil { state.record.status = ByteText.integer(v[v.trimmedRange(0..<v.count)]) }
        case .method: if state.record.method == nil { state.record.method = ByteText.meaningful(v).map(RawBytes.copied) }
        case .target:
            guard !state.haveTarget, ByteText.meaningful(v) != nil else { return }
            state.haveTarget = true
            state.record.target = field
        case .requestLine:
            guard !state.haveTarget, v.contains(ASCII.space) else {
                if !state.haveTarget, v.first == ASCII.slash {
                    state.haveTarget = true
                    state.record.target = field
                }
                return
            }
            state.haveTarget = true
            state.record.setRequestLine(field)
        case .host: if state.record.host == nil { state.record.host = ByteText.meaningful(v).map(RawBytes.copied) }
        case .scheme: if state.record.scheme == nil { state.record.scheme = ByteText.meaningful(v).map(RawBytes.copied) }
        case .userAgent: if state.record.userAgent == nil { state.record.userAgent = ByteText.meaningful(v).map(RawBytes.copied) }
        case .body: if ByteText.meaningful(v) != nil { state.record.bodies.append(field) }
        case .peer(let priority):
            if priority < state.peerPriority, ByteText.meaningful(v) != nil {
                state.peerPriority = priority
                state.record.peer = .copied(v)
            }
        case .header(let slot): if ByteText.meaningful(field.bytes) != nil { state.record.addHeader(slot: slot, value: field) }
        case .clientCertificate: state.record.clientCertificates.append(v)
        case .ignored: break
        }
    }
}
