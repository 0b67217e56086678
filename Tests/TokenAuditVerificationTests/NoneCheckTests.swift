import Testing
@testable import TokenAuditVerification

/// `Verifier.isNoneIgnoringCase` (bytes for ASCII) must answer what `alg.lowercased() == "none"` answers.
@Suite("alg none check agrees with lowercasing")
struct NoneCheckTests {
    @Test(arguments: ["none", "None", "NONE", "nOnE", "non", "nonee", "", "n0ne", "RS256", "HS256", "ńone", "NONE\u{301}",
                      "\u{FF4E}one", "nonE ", "İnone", "none\0", "NoNe"])
    func agrees(alg: String) {
        #expect(Verifier.isNoneIgnoringCase(alg) == (alg.lowercased() == "none"))
    }
}
