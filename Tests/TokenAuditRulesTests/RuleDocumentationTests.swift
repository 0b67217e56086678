import Foundation
import Testing
@testable import TokenAuditRules

@Suite struct RuleDocumentationTests {
    /// docs/rules.md is generated from the rules' metadata; regenerate it with
    /// `tokenaudit rules list --format markdown > docs/rules.md` when this fails.
    @Test func docsRulesMarkdownIsNotStale() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../docs/rules.md").standardizedFileURL
        let committed = try String(contentsOf: url, encoding: .utf8)
        #expect(committed == RuleDocumentation.markdown(), "docs/rules.md is stale: regenerate it")
    }

    @Test func everyRuleIsDocumentedWithItsCitation() {
        let markdown = RuleDocumentation.markdown()
        for rule in RuleCatalogue.entries {
            #expect(markdown.contains("### `\(rule.id)`"))
            #expect(!rule.citation.isEmpty, "\(rule.id) has no citation")
        }
    }
}
