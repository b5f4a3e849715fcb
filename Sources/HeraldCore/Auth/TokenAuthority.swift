/// The verifiers sessions check tokens with; nil where no key is configured (tokens are then refused,
/// or ignored under `client.insecure`).
public struct TokenAuthority: Sendable {
    public let connection: (any TokenVerifier)?
    public let subscription: (any TokenVerifier)?
    /// Admin console tokens (`admin.secret`); nil while the console is off.
    public let admin: (any TokenVerifier)?

    public init(connection: (any TokenVerifier)?, subscription: (any TokenVerifier)?,
                admin: (any TokenVerifier)? = nil) {
        self.connection = connection
        self.subscription = subscription
        self.admin = admin
    }

    public static let none = TokenAuthority(connection: nil, subscription: nil)
}
