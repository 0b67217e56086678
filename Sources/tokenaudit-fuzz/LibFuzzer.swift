#if TOKENAUDIT_LIBFUZZER
import Foundation
import TokenAuditFuzzing

/// libFuzzer's driver, linked by `-sanitize=fuzzer` (its own `main` stays out: this program has one).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

nonisolated(unsafe) private var sharedHarness: FuzzHarness?

/// Hands the process and its command line to libFuzzer; a broken invariant aborts, which libFuzzer reports (and
/// saves) like a crash.
func runLibFuzzer(harness: FuzzHarness) -> Never {
    sharedHarness = harness
    var arguments = CommandLine.arguments
    var pointers: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    var argc = Int32(arguments.count)
    arguments.removeAll()
    let status = pointers.withUnsafeMutableBufferPointer { buffer -> Int32 in
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
        return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            let input = UnsafeRawBufferPointer(start: data, count: size)
            do throws(FuzzViolation) {
                try sharedHarness!.runSelecting(input)
            } catch {
                FileHandle.standardError.write(Data("tokenaudit-fuzz: \(error)\n".utf8))
                abort()
            }
            return 0
        }
    }
    exit(status)
}
#endif
