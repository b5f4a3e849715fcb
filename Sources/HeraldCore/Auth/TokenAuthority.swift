/// The verifiers sessions check tokens with; nil where no key is configured (tokens are then refused,
/// or ignored under `client.insecure`).
public struct TokenAuthority: Sendable {
    public let connection: (any TokenVerifier)?
    public let subscription: (any TokenVerifier)?

    public init(connection: (any TokenVerifier)?, subscription: (any TokenVerifier)?) {
        self.connection = connection
        self.subscription = subscription
    }

    public static let none = TokenAuthority(connection: nil, subscription: nil)
}
