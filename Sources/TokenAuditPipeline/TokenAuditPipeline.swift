/// TokenAuditPipeline: see Package.swift for this module's role.
public enum PipelineModule {}
