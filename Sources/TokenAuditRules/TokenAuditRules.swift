/// TokenAuditRules: see Package.swift for this module's role.
public enum RulesModule {}
