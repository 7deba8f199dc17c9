import FastCGI
import LuffyCore
import Testing

@testable import LuffyPay

@Suite struct SettingsAndQueryTests {
    @Test func orderListQueryIsValidated() throws {
        func parse(_ q: String) throws -> OrderListQuery {
            try OrderListQuery.parse(Request(method: "GET", path: "/user/order", rawQuery: q))
        }
        #expect(try parse("") == OrderListQuery(page: 1, size: 5, status: nil))
        #expect(try parse("page=2&size=20&status=3") == OrderListQuery(page: 2, size: 20, status: .timedOut))
        #expect(try parse("status=-1") == OrderListQuery(page: 1, size: 5, status: nil))
        #expect(try parse("status=4") == OrderListQuery(page: 1, size: 5, status: .refunded))
        for (q, refusal) in [
            ("page=0", OrderListError.invalidPage), ("page=abc", .invalidPage), ("size=1000", .invalidSize),
            ("size=0", .invalidSize), ("status=abc", .invalidStatus), ("status=5", .invalidStatus),
        ] {
            #expect(throws: refusal) { try parse(q) }
        }
    }

    @Test func settingsFileParsing() throws {
        let values = SettingValues.parse("# c\nexport LUFFY_DB_PORT=3307\nLUFFY_JWT_SECRET=\"s=cret\"\n\nLUFFY_THREADS = 4\n")
        #expect(values == ["LUFFY_DB_PORT": "3307", "LUFFY_JWT_SECRET": "s=cret", "LUFFY_THREADS": "4"])
        let settings = try Settings(values: values)
        #expect(settings.dbPort == 3307 && settings.threads == 4 && settings.utcOffset == "+08:00")
        #expect(throws: ConfigError.self) { try Settings(values: ["LUFFY_THREADS": "zero"]) }
    }

    @Test func settingsOfTheFastCGIConnection() throws {
        let defaults = try Settings(values: [:])
        #expect(defaults.fcgiReadTimeout == 5 && defaults.fcgiMaxParams == 65536 && defaults.fcgiSocketGroup == nil)
        let set = try Settings(values: [
            "LUFFY_FCGI_READ_TIMEOUT": "2", "LUFFY_FCGI_MAX_PARAMS": "8192",
            "LUFFY_FCGI_SOCKET_GROUP": "www-data",
        ])
        #expect(set.fcgiReadTimeout == 2 && set.fcgiMaxParams == 8192 && set.fcgiSocketGroup == "www-data")
        #expect(throws: ConfigError.self) { try Settings(values: ["LUFFY_FCGI_READ_TIMEOUT": "0"]) }
        #expect(throws: ConfigError.self) { try Settings(values: ["LUFFY_FCGI_MAX_PARAMS": "100"]) }
    }
}
