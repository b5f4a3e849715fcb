import CoreMetrics
import Synchronization

/// A counter family with one label (`herald_disconnects_total{code}`), its counters made once per label value
/// and kept: counting an event is then a dictionary lookup, not a trip to the metrics backend's registry.
/// Label values must come from a fixed set (codes, kinds), so the series stay few.
final class LabeledCounter: Sendable {
    private let label: String
    private let dimension: String
    private let counters = Mutex<[String: Counter]>([:])

    init(_ label: String, by dimension: String) {
        self.label = label
        self.dimension = dimension
    }

    func increment(_ value: String) {
        let counter = counters.withLock { counters in
            if let counter = counters[value] { return counter }
            let counter = Counter(label: label, dimensions: [(dimension, value)])
            counters[value] = counter
            return counter
        }
        counter.increment()
    }
}
