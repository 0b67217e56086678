#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU time, as the kernel counts it: what a stage of the scan cost, whatever else the machine was doing (wall
/// time on a shared two-core machine counts the waits for the other core too).
public enum CPUTime {
    /// The calling thread's CPU time so far, in nanoseconds (0 if the clock cannot be read). Differences of two
    /// readings on one thread are what that thread spent in between.
    public static func currentThreadNanoseconds() -> UInt64 {
        read(CLOCK_THREAD_CPUTIME_ID)
    }

    /// The whole process's CPU time so far (user and system, every thread), in nanoseconds.
    public static func processNanoseconds() -> UInt64 {
        read(CLOCK_PROCESS_CPUTIME_ID)
    }

    private static func read(_ clock: clockid_t) -> UInt64 {
        var now = timespec()
        guard clock_gettime(clock, &now) == 0 else { return 0 }
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
