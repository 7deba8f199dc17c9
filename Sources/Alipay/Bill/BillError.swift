/// Why a bill file was refused (the reconciler names these `bill_corrupt`, `bill_totals_mismatch`).
public enum BillError: Error, Equatable, CustomStringConvertible {
    /// Not a zip, a damaged one, or one whose content would unpack above the limit (a zip bomb).
    case notZip(String)
    /// No `…_业务明细.csv` entry.
    case noDetailEntry
    /// The detail entry is not GBK (GB18030) text, or a text to write has no GBK form.
    case notGBK
    /// A line (1-based, in the detail entry) that is not what Alipay writes: bad CSV, wrong
    /// columns, a bad amount or kind, missing header or footer lines.
    case malformed(line: Int, String)
    /// The footer's counts or sums disagree with the rows.
    case totalsMismatch(String)
    /// The file itself is above the size a day's bill can have.
    case tooLarge

    public var description: String {
        switch self {
        case let .notZip(detail): return "not a readable zip: \(detail)"
        case .noDetailEntry: return "the zip has no _业务明细.csv entry"
        case .notGBK: return "the detail entry is not GBK text"
        case let .malformed(line, detail): return "line \(line): \(detail)"
        case let .totalsMismatch(detail): return "the footer totals disagree with the rows: \(detail)"
        case .tooLarge: return "the bill file is too large"
        }
    }
}
