extension Duration {
    /// Parses Go's `time.ParseDuration` syntax, which Centrifugo's duration keys use: an optional sign, then
    /// numbers with optional fractions, each with a unit of h, m, s, ms, us (µs) or ns ("25s", "1m30s",
    /// "1.5h", "-1s"); "0" alone needs no unit. Like Go, the result must fit in Int64 nanoseconds.
    init?(goSyntax text: String) {
        var rest = Substring(text).unicodeScalars
        let negative = rest.first == "-"
        if negative || rest.first == "+" { rest.removeFirst() }
        if rest.elementsEqual("0".unicodeScalars) { self = .zero; return }
        if rest.isEmpty { return nil }

        func isDigit(_ scalar: Unicode.Scalar) -> Bool { scalar >= "0" && scalar <= "9" }
        var total: Int64 = 0
        while !rest.isEmpty {
            let whole = rest.prefix(while: isDigit)
            rest.removeFirst(whole.count)
            var fraction = rest.prefix(0)
            if rest.first == "." {
                rest.removeFirst()
                fraction = rest.prefix(while: isDigit)
                rest.removeFirst(fraction.count)
            }
            if whole.isEmpty && fraction.isEmpty { return nil }
            let unitName = rest.prefix { !isDigit($0) && $0 != "." }
            rest.removeFirst(unitName.count)
            guard let unit = Self.goUnits[String(unitName)],
                  let wholeValue = whole.isEmpty ? 0 : Int64(String(whole))
            else { return nil }

            let (scaled, overflow) = wholeValue.multipliedReportingOverflow(by: unit)
            let (sum, sumOverflow) = total.addingReportingOverflow(scaled)
            // Go also goes through floating point for the fraction; 18 digits are plenty.
            let fractionValue = fraction.isEmpty ? 0 : Double("0." + String(fraction.prefix(18)))! * Double(unit)
            guard !overflow, !sumOverflow, Double(sum) + fractionValue < Double(Int64.max) else { return nil }
            total = sum + Int64(fractionValue)
        }
        self = .nanoseconds(negative ? -total : total)
    }

    /// Nanoseconds per unit.
    private static let goUnits: [String: Int64] = [
        "ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
        "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
    ]
}
