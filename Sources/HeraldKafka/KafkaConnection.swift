import HeraldCore
import Logging
import Synchronization

/// Herald's connection to Kafka for its bridges: the tail, the producer and the catch-up readers, each on
/// threads of its own. `start` attaches it to the bridge; `stop` ends every thread.
public final class KafkaConnection: KafkaLink {
    private let tail: KafkaTail
    private let watch: TailWatch
    private let producer: KafkaProducer
    private let readers: CatchUpReaders
    private let threads = Mutex<[ServiceThread]>([])

    /// Creates the librdkafka clients; fails on a property librdkafka refuses. Brokers need not be up.
    public init(bridge: KafkaBridge, settings: HeraldConfig.Kafka, logger: Logger) throws {
        KafkaLog.route(to: logger)
        tail = try KafkaTail(settings: settings, sink: bridge)
        watch = try TailWatch(settings: settings, topics: bridge.topics, tail: tail, sink: bridge, logger: logger)
        producer = try KafkaProducer(settings: settings)
        readers = try CatchUpReaders(settings: settings)
        bridge.attach(self)
    }

    public func start() {
        let (tail, watch, producer, readers) = (tail, watch, producer, readers)
        let started = [ServiceThread.start { tail.run() }, ServiceThread.start { watch.run() },
                       ServiceThread.start { producer.run() }]
            + (0..<readers.count).map { index in ServiceThread.start { readers.run(reader: index) } }
        threads.withLock { $0 = started }
    }

    public func stop() {
        tail.stop()
        readers.stop()
        producer.stop()
        for thread in threads.withLock({ $0 }) { thread.join() }
        threads.withLock { $0 = [] }
        watch.close()
        tail.close()
    }

    public func produce(_ record: OutgoingRecord,
                        completion: @escaping @Sendable (Result<(partition: Int32, offset: Int64), KafkaFailure>) -> Void) {
        producer.produce(record, completion: completion)
    }

    public func read(topic: String, partition: Int32, from: Int64, until: Int64,
                     visit: @escaping @Sendable (KafkaRecord) -> Bool,
                     completion: @escaping @Sendable (Result<Int64, KafkaFailure>) -> Void) {
        readers.submit(.init(topic: topic, partition: partition, from: from, until: until, visit: visit,
                             completion: completion))
    }
}
