extension RuleCatalogue {
    /// The rules this build evaluates. `rules list` marks the others as planned.
    public static let implementedRuleIDs: Set<String> = []
}
