import FastCGI
import LuffyCore
import MariaDB

/// `Idempotency-Key` on a signed-in POST that creates something (README, "POST /orders": the
/// order; "Refunds": a refund): the key's row (`ly_idempotency_key`, unique per user and key) is
/// written first in the creating transaction and holds the answer, so a repeat of the request
/// gets the first answer back and a concurrent one waits on the row lock, then replays it. A
/// refused request writes nothing, its key included: it may be sent again.
enum IdempotencyKeys {
    /// Runs `create` in one transaction, keyed by the request's `Idempotency-Key` if it has one.
    /// `fingerprint`: what the key is bound to (another request under the same key: 422);
    /// `create` returns the answer and the order it created or changed.
    static func respond(
        to request: Request, userID: Int64, fingerprint: String, db: Database,
        _ create: () throws -> (response: Response, orderID: Int64)
    ) throws -> Response {
        guard let key = request.header("idempotency-key") else {
            return try db.transaction { try create().response }
        }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw OrderError.idempotencyKeyInvalid
        }
        do {
            return try db.transaction {
                let keyRowID = Int64(
                    try db.execute(
                        """
                        INSERT INTO ly_idempotency_key (user_id, idem_key, request_hash, status_code, response_body, order_id, created_time)
                        VALUES (\(userID), \(key), \(fingerprint), NULL, NULL, NULL, NOW(6))
                        """
                    ).insertID)
                let (response, orderID) = try create()
                try db.execute(
                    """
                    UPDATE ly_idempotency_key SET status_code = \(response.status.code), response_body = \(String(decoding: response.body, as: UTF8.self)),
                                                  order_id = \(orderID)
                    WHERE id = \(keyRowID)
                    """)
                return response
            }
        } catch let error as DatabaseError where error.violatedKey == "ly_idempotency_key_user_key" {
            // Another request with this key committed first (we waited on its row lock): replay it.
            return try replay(userID: userID, key: key, fingerprint: fingerprint, db: db)
        }
    }

    private static func replay(userID: Int64, key: String, fingerprint: String, db: Database) throws -> Response {
        guard
            let (requestHash, statusCode, body) = try db.query(
                """
                SELECT request_hash, status_code, response_body FROM ly_idempotency_key WHERE user_id = \(userID) AND idem_key = \(key)
                """, decoding: (String, Int, String).self
            ).first
        else {
            throw InvariantViolation.idempotencyKeyVanished
        }
        guard requestHash == fingerprint else { throw OrderError.idempotencyKeyReused }
        var response = Response(
            status: HTTPStatus(statusCode), headers: [("Content-Type", "application/json; charset=utf-8")],
            body: Array(body.utf8))
        response.headers.append(("Idempotent-Replayed", "true"))
        return response
    }
}
