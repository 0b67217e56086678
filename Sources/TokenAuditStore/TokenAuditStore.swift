/// TokenAuditStore: see Package.swift for this module's role.
public enum StoreModule {}
