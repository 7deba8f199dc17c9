import Foundation
public import LuffyCore

/// The sandbox's HTML: the cashier and the pages around it. Plain HTML/CSS, Chinese, no scripts,
/// nothing loaded from elsewhere. Every value that came from a request is escaped.
public enum CashierPages {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for ch in text.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// `scheme://host[:port]/` of a URL, for "back to the shop" links; nil when it is not http(s).
    public static func site(of url: String) -> String? {
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else { return nil }
        let schemeEnd = url.range(of: "://")!.upperBound
        // By byte: `/` and a combining mark after it are one Character.
        let host = url[schemeEnd...].utf8.prefix { $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }
        guard !host.isEmpty else { return nil }
        return url[..<host.endIndex] + "/"
    }

    static let style = """
        body{margin:0;background:#f2f4f7;font:15px/1.6 -apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;color:#333}
        header{background:#1677ff;color:#fff;padding:14px 24px;font-size:18px}
        header small{background:#fff;color:#1677ff;border-radius:3px;padding:1px 6px;margin-left:8px;font-size:12px}
        main{max-width:560px;margin:32px auto;background:#fff;border-radius:8px;padding:28px 32px;box-shadow:0 1px 4px rgba(0,0,0,.08)}
        h1{font-size:20px;margin:0 0 18px}
        dl{display:grid;grid-template-columns:6em 1fr;gap:8px 12px;margin:0 0 24px}
        dt{color:#888}dd{margin:0;word-break:break-all}
        .amount{font-size:28px;color:#f5222d;font-weight:600}
        .actions{display:flex;gap:12px;align-items:center;flex-wrap:wrap}
        button{font-size:16px;border-radius:4px;padding:8px 28px;cursor:pointer;border:1px solid #1677ff}
        .pay{background:#1677ff;color:#fff}.cancel{background:#fff;color:#1677ff}
        label{display:block;color:#888;font-size:13px;margin:16px 0 0}
        form{margin:0}
        .error h1{color:#f5222d}.code{font-family:monospace;background:#f6f6f6;padding:2px 6px}
        .note{color:#999;font-size:12px;margin-top:24px}
        a{color:#1677ff}
        """

    static func page(title: String, body: String, className: String = "") -> String {
        """
        <!DOCTYPE html>
        <html lang="zh-CN">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="robots" content="noindex">
        <title>\(escape(title))</title>
        <style>
        \(style)
        </style>
        </head>
        <body>
        <header>支付宝 · 收银台<small>本地沙箱</small></header>
        <main class="\(className)">
        \(body)
        <p class="note">这是 luffy-pay 的本地支付宝沙箱（alipay-sandbox），不会产生真实扣款；重启后交易记录即清空。</p>
        </main>
        </body>
        </html>

        """
    }

    static func details(_ trade: Trade, time: ShopClock) -> String {
        var rows = """
            <dl>
            <dt>商品</dt><dd class="subject">\(escape(trade.order.subject))</dd>
            <dt>订单号</dt><dd class="out-trade-no">\(escape(trade.outTradeNo))</dd>
            <dt>金额</dt><dd class="amount">¥\(trade.totalAmount.description)</dd>
            """
        if let expire = trade.order.timeExpire {
            rows += "\n<dt>支付截止</dt><dd>\(time.format(expire))</dd>"
        }
        if let tradeNo = trade.tradeNo {
            rows += "\n<dt>交易号</dt><dd class=\"trade-no\">\(escape(tradeNo))</dd>"
        }
        return rows + "\n</dl>"
    }

    /// The cashier: what is bought, for how much, and the two buttons.
    public static func cashier(_ trade: Trade, time: ShopClock) -> String {
        let number = escape(trade.outTradeNo)
        return page(
            title: "支付宝收银台 - 确认付款",
            body: """
                <h1>确认付款</h1>
                \(details(trade, time: time))
                <div class="actions">
                <form method="post" action="/cashier/pay" id="pay">
                <input type="hidden" name="out_trade_no" value="\(number)">
                <button type="submit" class="pay">确认支付</button>
                </form>
                <form method="post" action="/cashier/cancel" id="cancel">
                <input type="hidden" name="out_trade_no" value="\(number)">
                <button type="submit" class="cancel">取消</button>
                </form>
                </div>
                <label><input type="checkbox" name="notify" value="0" form="pay"> 不发送异步通知（只做同步跳转，测试用）</label>
                """)
    }

    /// A second page pay of a trade that is already paid.
    public static func alreadyPaid(_ trade: Trade, time: ShopClock) -> String {
        page(
            title: "支付宝 - 订单已支付",
            body: """
                <h1>该订单已支付成功</h1>
                \(details(trade, time: time))
                \(backLink(trade.order.returnURL))
                """)
    }

    /// Paid, and there is no return_url to send the browser to.
    public static func paid(_ trade: Trade, time: ShopClock) -> String {
        page(
            title: "支付宝 - 付款成功",
            body: """
                <h1>付款成功</h1>
                \(details(trade, time: time))
                """)
    }

    /// The buyer left the cashier: the trade still waits for payment.
    public static func cancelled(_ trade: Trade, time: ShopClock) -> String {
        page(
            title: "支付宝 - 已取消付款",
            body: """
                <h1>您已取消付款</h1>
                <p>订单仍为<strong>等待付款</strong>状态，可在支付截止时间前重新发起支付。</p>
                \(details(trade, time: time))
                \(backLink(trade.order.returnURL))
                """)
    }

    /// What Alipay shows when it refuses a request: the error code and its reason.
    public static func error(_ refusal: GatewayRefusal) -> String {
        let code = refusal.subCode.hasPrefix("isv.") ? String(refusal.subCode.dropFirst(4)) : refusal.subCode
        return page(
            title: "支付宝 - 出错了",
            body: """
                <h1>抱歉，支付遇到问题</h1>
                <p>错误代码 <span class="code">\(escape(code))</span></p>
                <p>错误原因：\(escape(refusal.subMsg))</p>
                """, className: "error")
    }

    /// A plain message page (unknown trade, wrong method, …).
    public static func message(_ title: String, _ text: String) -> String {
        page(title: "支付宝 - \(title)", body: "<h1>\(escape(title))</h1>\n<p>\(escape(text))</p>", className: "error")
    }

    static func backLink(_ returnURL: String?) -> String {
        guard let url = returnURL, let site = site(of: url) else { return "" }
        return "<p><a class=\"back\" href=\"\(escape(site))\">返回商户网站</a></p>"
    }
}
