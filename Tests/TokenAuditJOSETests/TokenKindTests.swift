import Testing
import TokenAuditJOSE

@Suite("Token kinds")
struct TokenKindTests {
    struct KindCase: Sendable, CustomStringConvertible {
        let name: String
        let header: String
        let payload: String
        let kind: TokenKind
        var description: String { name }
    }

    static let cases: [KindCase] = [
        KindCase(name: "RFC 9068 typ", header: #"{"alg":"RS256","typ":"at+jwt"}"#,
                 payload: #"{"iss":"https://as","sub":"u","client_id":"c"}"#, kind: .accessToken),
        KindCase(name: "RFC 9068 typ with application/", header: #"{"alg":"RS256","typ":"application/at+jwt"}"#,
                 payload: #"{"sub":"u"}"#, kind: .accessToken),
        KindCase(name: "client_id/scope shape", header: #"{"alg":"RS256","typ":"JWT"}"#,
                 payload: #"{"iss":"https://as","sub":"u","client_id":"c","scope":"read"}"#, kind: .accessToken),
        KindCase(name: "scp only", header: #"{"alg":"RS256"}"#, payload: #"{"sub":"u","scp":["a"]}"#, kind: .accessToken),
        KindCase(name: "Cognito access", header: #"{"alg":"RS256"}"#, payload: #"{"sub":"u","token_use":"access"}"#,
                 kind: .accessToken),
        KindCase(name: "Keycloak Bearer", header: #"{"alg":"RS256"}"#, payload: #"{"sub":"u","typ":"Bearer","azp":"c"}"#,
                 kind: .accessToken),
        KindCase(name: "ID token nonce", header: #"{"alg":"RS256","typ":"JWT"}"#,
                 payload: #"{"iss":"https://op","sub":"u","aud":"client","nonce":"n","iat":1,"exp":2}"#, kind: .idToken),
        KindCase(name: "ID token at_hash", header: #"{"alg":"RS256"}"#,
                 payload: #"{"iss":"https://op","sub":"u","aud":"client","at_hash":"x","scope":"weird"}"#, kind: .idToken),
        KindCase(name: "ID token azp + auth_time", header: #"{"alg":"RS256"}"#,
                 payload: #"{"iss":"https://op","sub":"u","aud":"client","azp":"client","auth_time":5}"#, kind: .idToken),
        KindCase(name: "Keycloak ID", header: #"{"alg":"RS256"}"#, payload: #"{"sub":"u","typ":"ID"}"#, kind: .idToken),
        KindCase(name: "Cognito id", header: #"{"alg":"RS256"}"#, payload: #"{"sub":"u","token_use":"id"}"#, kind: .idToken),
        KindCase(name: "client assertion", header: #"{"alg":"PS256"}"#,
                 payload: #"{"iss":"c1","sub":"c1","aud":"https://as.example/oauth2/token","jti":"j","iat":100,"exp":160}"#,
                 kind: .clientAssertion),
        KindCase(name: "client assertion, Keycloak endpoint", header: #"{"alg":"PS256"}"#,
                 payload: #"{"iss":"c1","sub":"c1","aud":["https://kc/realms/r/protocol/openid-connect/token/"]}"#,
                 kind: .clientAssertion),
        KindCase(name: "iss=sub with long lifetime is not a client assertion", header: #"{"alg":"PS256"}"#,
                 payload: #"{"iss":"c1","sub":"c1","aud":"https://as/token","iat":100,"exp":90000}"#, kind: .jwt),
        KindCase(name: "iss=sub to a resource is not a client assertion", header: #"{"alg":"PS256"}"#,
                 payload: #"{"iss":"c1","sub":"c1","aud":"https://api.example/v1"}"#, kind: .jwt),
        KindCase(name: "DPoP typ", header: #"{"alg":"ES256","typ":"dpop+jwt","jwk":{"kty":"EC"}}"#,
                 payload: #"{"jti":"j","htm":"GET","htu":"https://rs/x","iat":1}"#, kind: .dpopProof),
        KindCase(name: "DPoP markers without typ", header: #"{"alg":"ES256"}"#,
                 payload: #"{"jti":"j","htm":"GET","htu":"https://rs/x","iat":1}"#, kind: .dpopProof),
        KindCase(name: "logout typ", header: #"{"alg":"RS256","typ":"logout+jwt"}"#, payload: #"{"sub":"u"}"#, kind: .logoutToken),
        KindCase(name: "logout event", header: #"{"alg":"RS256"}"#,
                 payload: #"{"iss":"https://op","aud":"c","events":{"http://schemas.openid.net/event/backchannel-logout":{}},"sid":"s"}"#,
                 kind: .logoutToken),
        KindCase(name: "secevent", header: #"{"alg":"RS256","typ":"secevent+jwt"}"#,
                 payload: #"{"events":{"urn:x":{}}}"#, kind: .otherTypedJWT),
        KindCase(name: "entity statement", header: #"{"alg":"RS256","typ":"entity-statement+jwt"}"#,
                 payload: #"{"iss":"a","sub":"a"}"#, kind: .otherTypedJWT),
        KindCase(name: "refresh token_use", header: #"{"alg":"RS256"}"#, payload: #"{"token_use":"refresh"}"#, kind: .refreshToken),
        KindCase(name: "Keycloak Refresh", header: #"{"alg":"HS256"}"#, payload: #"{"typ":"Refresh","scope":"openid"}"#,
                 kind: .refreshToken),
        KindCase(name: "plain JWT", header: #"{"alg":"HS256","typ":"JWT"}"#, payload: #"{"iss":"joe","exp":1}"#, kind: .jwt),
        KindCase(name: "text payload", header: #"{"alg":"HS256","typ":"at+jwt"}"#, payload: "hello", kind: .jwsNonJWT),
    ]

    @Test("classification", arguments: cases)
    func classify(_ testCase: KindCase) {
        #expect(kind(header: testCase.header, testCase.payload) == testCase.kind)
    }

    @Test("other typed JWT keeps its typ")
    func keepsTyp() {
        let classification = JOSEParser.parse(compact(#"{"alg":"RS256","typ":"oauth-authz-req+jwt"}"#, #"{"a":1}"#)).classification
        #expect(classification.kind == .otherTypedJWT)
        #expect(classification.explicitType == "oauth-authz-req+jwt")
        #expect(classification.basis == "typ oauth-authz-req+jwt")
    }

    @Test("raw values are stable")
    func rawValues() {
        #expect(TokenKind.allCases.map(\.rawValue) == [
            "access-token", "id-token", "client-assertion", "dpop-proof", "logout-token", "other-typed-jwt",
            "refresh-token", "jwt", "jws-non-jwt", "jwe", "sd-jwt", "json-serialization", "opaque", "malformed",
        ])
    }

    @Test("token endpoint heuristic", arguments: [
        ("https://as.example/token", true), ("https://as.example/oauth2/token?x=1", true),
        ("https://as.example/oauth2/v1/token/", true), ("https://as.example/tokens", false),
        ("as.example/token", false), ("https://api.example/resource", false),
    ])
    func tokenEndpoint(url: String, expected: Bool) {
        #expect(TokenClassifier.looksLikeTokenEndpoint(url) == expected)
    }
}
