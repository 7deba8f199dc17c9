/// Why a reconciliation run stored nothing (docs/RECONCILIATION.md, "Errors"). `code` is the stable
/// name the CLI prints, the run's `last_error` keeps and the API shows; `detail` says what exactly.
public enum ReconcileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `isp.bill_not_exist`: today, a future day, or a bill Alipay has not made yet.
    case billNotReady
    /// The URL expired, the download failed, or what came back is not a zip.
    case billDownloadFailed(String)
    /// Not a readable zip, no detail entry, not GBK, or a line Alipay does not write.
    case billCorrupt(String)
    /// The footer's counts or sums disagree with the rows.
    case billTotalsMismatch(String)
    /// The download URL could not be asked for (gateway down, busy, or a refusal other than "not ready").
    case gatewayUnavailable(String)
    /// Another reconciler holds the date's claim.
    case runInProgress

    public var code: String {
        switch self {
        case .billNotReady: "bill_not_ready"
        case .billDownloadFailed: "bill_download_failed"
        case .billCorrupt: "bill_corrupt"
        case .billTotalsMismatch: "bill_totals_mismatch"
        case .gatewayUnavailable: "gateway_unavailable"
        case .runInProgress: "run_in_progress"
        }
    }

    public var detail: String {
        switch self {
        case .billNotReady: "Alipay has no bill for this date yet (isp.bill_not_exist): try again later"
        case let .billDownloadFailed(why), let .billCorrupt(why), let .billTotalsMismatch(why), let .gatewayUnavailable(why):
            why
        case .runInProgress: "another reconciler is running this date"
        }
    }

    public var description: String { "\(code): \(detail)" }
}

/// Why a staff request about the reconciliation is refused (answers in HTTPErrors.swift).
public enum ReconcileRequestError: Error, Equatable, Sendable {
    /// `date` is not `yyyy-MM-dd` naming a real day (from 2000 on).
    case invalidDate
    /// No run for that date.
    case reconciliationNotFound
    case invalidState
    case invalidKind
    case itemNotFound
    /// Only an open item can be resolved by staff (a carried one waits for the next bill).
    case itemNotOpen(state: ReconcileItemState)
    /// `note` is not a string of 1–500 characters.
    case invalidNote
}
