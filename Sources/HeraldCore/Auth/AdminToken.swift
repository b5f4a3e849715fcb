/// An admin console session token: a JWT signed with `admin.secret` carrying `admin: true`, handed out by
/// `POST /admin/auth` for the right password. It opens the server API (`Authorization: token …`) and, at
/// connect, an admin connection that may subscribe to any channel.
struct AdminToken {
    /// `exp` (Unix seconds).
    var expiresAt: Int64?

    /// The token's claims if `verifier` (built from `admin.secret`) accepts it and it says `admin: true`;
    /// nil otherwise, including when there is no verifier (the console is off).
    init?(_ token: String, verifier: (any TokenVerifier)?, now: Int64) {
        guard let verifier, case .success(let verified) = verifier.verify(token, now: now),
              verified.claims["admin"]?.boolValue == true
        else { return nil }
        expiresAt = verified.claims["exp"]?.doubleValue.map(unixSeconds)
    }
}
