import Glibc

/// Milliseconds of the monotonic clock: deadlines and rates, which must not jump with the wall clock.
public func monotonicMilliseconds() -> Milliseconds {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Milliseconds(now.tv_sec) * 1000 + Milliseconds(now.tv_nsec / 1_000_000)
}
