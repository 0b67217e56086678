/// Which vector instructions extraction's byte scanners use on this CPU, for benchmark reports: the figures of
/// `tokenaudit-bench extract` depend on it.
public enum ScanInstructions {
    /// `"avx2"` when the AVX2 scanners run (JWT runs, the prefilter's pair test, the line rescan), else
    /// `"portable"` (sixteen-byte word tricks in SSE2, or plain loops off x86-64). Chosen once per process
    /// from the CPU's feature flags; the output is the same either way.
    public static var name: String { Wide.hasAVX2 ? "avx2" : "portable" }
}
