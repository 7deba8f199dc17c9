/// Why a payment step (pay link, the buyer's return, the active query, a cancel that closes the
/// trade) cannot go on (README, "HTTP API": the `/payments/alipay/…` sections). What the client is
/// told is in HTTPErrors.swift.
enum PaymentError: Error, Equatable, Sendable {
    /// The gateway could not be reached or gave an answer we cannot trust (details logged).
    case gatewayUnavailable
    /// The gateway bulkhead refused the call: nothing was asked, nothing changed; a permit is free
    /// again within `retryAfter` seconds (README, "Faults": gateway slow).
    case gatewayBusy(retryAfter: Int)
    case orderPaid
    case orderCancelled
    /// Timed out, or past its timeout before the sweeper got to it.
    case orderExpired
    /// Cancelled or timed out (the return and the active query do not tell which).
    case orderClosed
    /// The gateway has no payment for the order yet (active query).
    case orderUnpaid
    /// The gateway has no payment for the order yet (the buyer's return: the page retries).
    case paymentPending
    /// The return's signature or app id does not verify.
    case invalidSignature
    /// The return's or the gateway's amount is not the order's `real_price`.
    case amountMismatch
}
