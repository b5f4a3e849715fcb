/// One Kafka record, as the bridge sees it: copied out of librdkafka by HeraldKafka.
public struct KafkaRecord: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var headers: [(name: String, value: [UInt8])]
    public var value: [UInt8]?

    public init(topic: String, partition: Int32, offset: Int64, key: [UInt8]?,
                headers: [(name: String, value: [UInt8])], value: [UInt8]?) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.headers = headers
        self.value = value
    }

    /// The last header called `name`, as Kafka's own clients read headers.
    func header(_ name: String) -> [UInt8]? { headers.last { $0.name == name }?.value }
}

/// A record Herald produces for a publish into a bridged channel.
public struct OutgoingRecord: Sendable {
    public var topic: String
    /// Set when the channel names its partition; otherwise the producer's murmur2 partitioner picks.
    public var partition: Int32?
    public var key: [UInt8]?
    public var headers: [(name: String, value: [UInt8])]
    public var value: [UInt8]
}
