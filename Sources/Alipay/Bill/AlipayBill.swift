public import LuffyCore

#if canImport(Glibc)
import Glibc
#endif

/// A day's trade bill as Alipay makes it (`alipay.data.dataservice.bill.downloadurl.query`,
/// `bill_type` trade): a zip holding `<account>_<yyyyMMdd>_业务明细.csv` (the detail: `#` header
/// lines, the column header, one row per trade or refund, the end line and the `#` totals) and
/// `<account>_<yyyyMMdd>_业务明细(汇总).csv` (per store), both GBK. The reconciler reads it; the
/// sandbox writes it.
public struct AlipayBill: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case trade = "交易"
        case refund = "退款"
    }

    /// The detail's columns, in Alipay's order.
    public static let columnNames = [
        "支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号", "门店名称", "操作员",
        "终端号", "对方账户", "订单金额（元）", "商家实收（元）", "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）",
        "商家优惠（元）", "券核销金额（元）", "券名称", "商家红包消费金额（元）", "卡消费金额（元）", "退款批次号/请求号",
        "服务费（元）", "分润（元）", "备注",
    ]
    /// The columns a `Row` has no field for, in order (kept as read in `Row.others`).
    static let otherColumns = [6, 7, 8, 9, 13, 14, 15, 16, 17, 18, 19, 20, 23]

    public struct Row: Sendable, Equatable {
        /// 支付宝交易号 (tab padding trimmed).
        public var tradeNo: String
        /// 商户订单号 (tab padding trimmed).
        public var outTradeNo: String
        /// 业务类型.
        public var kind: Kind
        /// 商品名称.
        public var subject: String
        /// 创建时间, `yyyy-MM-dd HH:mm:ss`.
        public var createdTime: String
        /// 完成时间.
        public var finishedTime: String
        /// 对方账户.
        public var buyerAccount: String
        /// 订单金额（元）: negative on a refund row.
        public var amount: Fen
        /// 商家实收（元）: negative on a refund row.
        public var received: Fen
        /// 退款批次号/请求号: "" on trade rows, our `out_request_no` on refund rows.
        public var refundRequestNo: String
        /// 服务费（元）.
        public var serviceFee: Fen
        /// 备注.
        public var remark: String
        /// The other columns (门店编号, 门店名称, 操作员, 终端号, the discount columns, 券名称, 分润),
        /// in `columnNames` order, as read; empty when all of them are empty.
        public var others: [String]

        public init(
            tradeNo: String, outTradeNo: String, kind: Kind, subject: String, createdTime: String,
            finishedTime: String, buyerAccount: String, amount: Fen, received: Fen, refundRequestNo: String = "",
            serviceFee: Fen = .zero, remark: String = "", others: [String] = []
        ) {
            self.tradeNo = tradeNo
            self.outTradeNo = outTradeNo
            self.kind = kind
            self.subject = subject
            self.createdTime = createdTime
            self.finishedTime = finishedTime
            self.buyerAccount = buyerAccount
            self.amount = amount
            self.received = received
            self.refundRequestNo = refundRequestNo
            self.serviceFee = serviceFee
            self.remark = remark
            self.others = others
        }

        /// Every column by its header, in order (amounts as `0.00`): the evidence of an item.
        public var columns: [(String, String)] {
            Array(Swift.zip(AlipayBill.columnNames, values))
        }

        /// The 25 values, in `columnNames` order, unpadded.
        var values: [String] {
            var values = [
                tradeNo, outTradeNo, kind.rawValue, subject, createdTime, finishedTime, "", "", "", "", buyerAccount,
                amount.description, received.description, "", "", "", "", "", "", "", "", refundRequestNo,
                serviceFee.description, "", remark,
            ]
            for (index, column) in AlipayBill.otherColumns.enumerated() where index < others.count {
                values[column] = others[index]
            }
            return values
        }
    }

    public struct Totals: Sendable, Equatable {
        /// `#交易合计：N笔，商家实收：X元…`
        public var tradeCount: Int
        public var tradeReceived: Fen
        /// `#退款合计：M笔，商家实收：-Y元…` (negative).
        public var refundCount: Int
        public var refundReceived: Fen

        public init(tradeCount: Int, tradeReceived: Fen, refundCount: Int, refundReceived: Fen) {
            self.tradeCount = tradeCount
            self.tradeReceived = tradeReceived
            self.refundCount = refundCount
            self.refundReceived = refundReceived
        }

        /// What the footer of these rows says.
        public init(of rows: [Row]) {
            self.init(tradeCount: 0, tradeReceived: .zero, refundCount: 0, refundReceived: .zero)
            for row in rows {
                switch row.kind {
                case .trade:
                    tradeCount += 1
                    tradeReceived = tradeReceived + row.received
                case .refund:
                    refundCount += 1
                    refundReceived = refundReceived + row.received
                }
            }
        }
    }

    /// The seller's id of the header (`#账号：[…]`).
    public var account: String
    /// `yyyy-MM-dd`, from the header (`#起始日期：[yyyy年MM月dd日 00:00:00]…`).
    public var date: String
    public var rows: [Row]
    public var totals: Totals

    public init(account: String, date: String, rows: [Row], totals: Totals) {
        self.account = account
        self.date = date
        self.rows = rows
        self.totals = totals
    }

    /// A bill whose footer agrees with its rows.
    public init(account: String, date: String, rows: [Row]) {
        self.init(account: account, date: date, rows: rows, totals: Totals(of: rows))
    }

    /// The name Alipay gives the zip: `<account>_<yyyyMMdd>.csv.zip`.
    public var fileName: String { "\(account)_\(compactDate).csv.zip" }

    var compactDate: String { String(date.filter { $0 != "-" }) }

    /// Above this, a zip is refused unread (`.tooLarge`), and its entries may not unpack to more:
    /// a day of 100,000 trades is about 30 MB of CSV, 4 MB zipped.
    public static let maxBytes = 512 << 20
    /// A field longer than this is not one of Alipay's (a 商品名称 is at most 256 characters).
    static let maxFieldBytes = 4096
}
