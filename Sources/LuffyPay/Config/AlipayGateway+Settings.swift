public import Alipay

extension AlipayGateway {
    /// The service's gateway (README, "Configuration"): keys load here, before anything listens.
    public convenience init(settings: Settings) throws {
        try self.init(settings: settings.alipay, concurrency: settings.gatewayConcurrency, timeZone: settings.timeZone)
    }
}
