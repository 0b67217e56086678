import Foundation
import Testing
import TokenAuditCrypto
@testable import TokenAuditVerification
