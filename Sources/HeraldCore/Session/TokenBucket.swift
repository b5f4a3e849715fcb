/// A token bucket: refills `rate` tokens every `per` milliseconds (a second unless said) up to `burst`, and
/// each action takes one. Lets a client send a burst (an SDK resubscribing to every channel at once) while
/// bounding its sustained rate.
struct TokenBucket {
    let rate: Double
    let burst: Double
    private var tokens: Double
    private var refilledAt: Milliseconds

    /// Nil when `rate` is 0: no limit.
    init?(rate: Int, burst: Int, now: Milliseconds, per: Milliseconds = 1000) {
        guard rate > 0 else { return nil }
        self.rate = Double(rate) * 1000 / Double(per)
        self.burst = Double(max(burst, 1))
        tokens = self.burst
        refilledAt = now
    }

    /// Takes a token if there is one.
    mutating func take(now: Milliseconds) -> Bool {
        if now > refilledAt {
            tokens = min(burst, tokens + Double(now - refilledAt) * rate / 1000)
            refilledAt = now
        }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
