import FastCGI
import LuffyCore

/// `GET /courses/<id>/periods` (README, "Validity periods"): what the course page offers before
/// the buyer signs in, so it needs no token. Prices move with activities: caches may keep the
/// answer a minute, and `POST /orders` with `expected_real_price` says when one has changed since.
enum CoursePeriodHandler {
    static func handlePeriods(_ request: Request, _ context: RequestContext) throws -> Response {
        let courseID = try request.parameters.require("id", as: Int64.self, or: CatalogError.courseNotFound)
        guard courseID > 0, let offers = try CourseCatalog.periods(courseID: courseID, db: context.db) else {
            throw CatalogError.courseNotFound
        }
        var response = Response.json([
            "course_id": .int(courseID),
            "course_name": .string(offers[0].name),
            "periods": .array(
                offers.map {
                    [
                        "id": .int($0.period.id), "expire_time": .int($0.period.days), "expire_text": .string($0.period.text),
                        "price": .money($0.listPrice), "real_price": .money($0.realPrice),
                        "discount_name": .string($0.discountName),
                    ]
                }),
        ])
        response.headers.append(("Cache-Control", "public, max-age=60"))
        return response
    }
}

/// Why the catalogue answers no course (README, "Validity periods").
public enum CatalogError: Error, Equatable, Sendable {
    /// No visible, undeleted course on sale has the id.
    case courseNotFound
}
