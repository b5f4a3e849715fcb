import Glibc

/// Unix time in milliseconds. History ages (`history_ttl`) must mean the same after a restart, which the
/// monotonic clock does not.
enum WallClock {
    static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
