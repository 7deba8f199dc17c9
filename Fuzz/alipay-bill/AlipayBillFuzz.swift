@testable import Alipay

// Alipay's bill file (AlipayBill.parse: libzip, iconv GB18030, the CSV reader, the detail's
// lines). On any bytes, as the zip and as the detail entry of a zip: never traps, and a bill it
// accepts is written again (zip(exportedAt:)) and reads back the same. A record the CSV reader
// reads, written again (CSV.line), reads back the same.

let detailName = try! GBK.encode("2088102177846880_20261129_业务明细.csv")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAlipayBill(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    // As the downloaded zip.
    if let bill = try? AlipayBill.parse(zip: input) { checkRoundTrip(bill) }
    // As the detail entry (what a mutation of the zip's compressed bytes rarely reaches).
    guard let zip = try? ZipArchive.make([ZipArchive.Entry(name: detailName, data: input)]) else {
        fatalError("property violated: a detail entry of \(input.count) bytes could not be zipped")
    }
    require(
        (try? ZipArchive.entries(of: zip, maxTotalBytes: input.count)) == [ZipArchive.Entry(name: detailName, data: input)],
        "the zip does not unpack to what was packed: \(shown(input))")
    if let bill = try? AlipayBill.parse(zip: zip) { checkRoundTrip(bill) }
    // The CSV reader on the text as UTF-8.
    if let records = try? CSV.rows(Substring(String(decoding: input, as: UTF8.self))) {
        for record in records {
            let again = try? CSV.rows(Substring(CSV.line(record) + "\r\n"))
            require(
                again?.count == 1 && again![0].count == record.count
                    && zip2(record, again![0]).allSatisfy { sameBytes($0, $1) },
                "CSV record \(record) read back as \(String(describing: again))")
        }
    }
    return 0
}

/// Pairs of two arrays (Swift.zip, out of the way of the `zip` variables above).
func zip2(_ a: [String], _ b: [String]) -> Zip2Sequence<[String], [String]> { Swift.zip(a, b) }

func checkRoundTrip(_ bill: AlipayBill) {
    // A value with no GBK form (GB18030 reads more than GBK writes) cannot be written: fine.
    guard let written = try? bill.zip(exportedAt: "2026-11-30 09:00:00") else { return }
    do {
        let again = try AlipayBill.parse(zip: written)
        require(again == bill, "a bill read back differently: \(bill) → \(again)")
    } catch {
        fatalError("property violated: a bill written by zip(exportedAt:) was refused (\(error)): \(bill)")
    }
}
