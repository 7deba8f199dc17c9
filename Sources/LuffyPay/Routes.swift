public import FastCGI

extension Router where Context == RequestContext {
    /// Every endpoint of the service (README, "HTTP API"); `Application` puts the pipeline's steps
    /// around them.
    public static func luffyPay() -> Router {
        var router = Router()
        router.get("/healthz", use: HealthHandler.handleCheck)
        // The Prometheus scrape (README, "Metrics"); nginx lets only 127.0.0.1 reach it.
        router.get("/metrics", use: MetricsHandler.handleScrape)
        // Alipay's calls and the buyer's browser back from Alipay: signed by Alipay, not by a user.
        router.get("/payments/alipay/result", use: PaymentHandlers.handleResult)
        router.post("/payments/alipay/notify", use: PaymentHandlers.handleNotify)
        // The same list for everyone, cacheable: the shop's front end asks without a token.
        router.get("/orders/pay/choices", use: OrderChoicesHandler.handleChoices)
        // The catalogue's validity periods: the course page shows them before the buyer signs in.
        router.get("/courses/:id/periods", use: CoursePeriodHandler.handlePeriods)
        router.group(context: SignedInContext.self) { signedIn in
            signedIn.get("/user/order", use: OrderListHandler.handleList)
            signedIn.get("/orders/list", use: OrderListHandler.handleList)
            signedIn.post("/orders", use: OrderCreation.handleCreate)
            signedIn.put("/orders/:id", use: OrderClosing.handleCancel)
            signedIn.post("/orders/:id/refund", use: RefundHandlers.handleRequest)
            signedIn.get("/coupon/enable", use: CouponHandlers.handleEnabled)
            signedIn.get("/coupon", use: CouponHandlers.handleList)
            signedIn.group("/payments/alipay") { payments in
                payments.get("/query/:number", use: PaymentHandlers.handleQuery)
                payments.get("/:number", use: PaymentHandlers.handlePayLink)
            }
            // The staff's refund desk (README, "Refunds"): 403 for any user who is not staff.
            signedIn.group("/admin", context: StaffContext.self) { staff in
                staff.get("/refunds", use: RefundHandlers.handleList)
                staff.get("/refunds/:id", use: RefundHandlers.handleShow)
                staff.post("/refunds/:id/approve", use: RefundHandlers.handleApprove)
                staff.post("/refunds/:id/deny", use: RefundHandlers.handleDeny)
                staff.post("/refunds/:id/retry", use: RefundHandlers.handleRetry)
                staff.post("/orders/:id/refund", use: RefundHandlers.handleStaffCreate)
                // The daily reconciliation against Alipay's bill (docs/RECONCILIATION.md).
                staff.get("/reconciliation", use: ReconcileHandlers.handleSummary)
                staff.get("/reconciliation/items", use: ReconcileHandlers.handleItems)
                staff.post("/reconciliation/items/:id/resolve", use: ReconcileHandlers.handleResolve)
            }
        }
        return router
    }
}
