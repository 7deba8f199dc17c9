import CZip

#if canImport(Glibc)
import Glibc
#endif

/// A zip archive in memory, through libzip (the issue forbids a hand-written inflate): read from a
/// buffer source, written into one. Names are raw bytes (Alipay writes them in GBK, without the
/// UTF-8 flag), as the archive holds them.
public enum ZipArchive {
    public struct Entry: Sendable, Equatable {
        /// The name's bytes as stored (GBK in Alipay's bills).
        public var name: [UInt8]
        public var data: [UInt8]

        public init(name: [UInt8], data: [UInt8]) {
            self.name = name
            self.data = data
        }
    }

    /// Every file entry, unpacked. Refuses a zip bomb: once the entries would unpack to more than
    /// `maxTotalBytes` together, whatever their headers declare, reading stops with `.notZip`.
    /// libzip checks each entry's CRC and size as it is read to its end.
    public static func entries(of zip: [UInt8], maxTotalBytes: Int) throws(BillError) -> [Entry] {
        // libzip takes an empty buffer for a new, empty archive.
        guard !zip.isEmpty else { throw .notZip("no bytes") }
        let result: Result<[Entry], BillError> = zip.withUnsafeBytes { bytes in
            var error = zip_error_t()
            zip_error_init(&error)
            defer { zip_error_fini(&error) }
            guard let source = zip_source_buffer_create(bytes.baseAddress, UInt64(bytes.count), 0, &error) else {
                return .failure(.notZip(message(&error)))
            }
            guard let archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error) else {
                zip_source_free(source)
                return .failure(.notZip(message(&error)))
            }
            // Read-only: discarding frees the source too, and writes nothing.
            defer { zip_discard(archive) }
            return Result { () throws(BillError) in try read(archive, maxTotalBytes: maxTotalBytes) }
        }
        return try result.get()
    }

    private static func read(_ archive: OpaquePointer, maxTotalBytes: Int) throws(BillError) -> [Entry] {
        let count = zip_get_num_entries(archive, 0)
        guard count >= 0 else { throw .notZip("no entry count") }
        var entries: [Entry] = []
        var budget = maxTotalBytes
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        for index in 0..<UInt64(count) {
            var stat = zip_stat_t()
            zip_stat_init(&stat)
            guard zip_stat_index(archive, index, 0, &stat) == 0,
                let rawName = zip_get_name(archive, index, ZIP_FL_ENC_RAW)
            else { throw .notZip(archiveMessage(archive)) }
            let name = Array(UnsafeRawBufferPointer(start: rawName, count: strlen(rawName)))
            if name.last == UInt8(ascii: "/") { continue }  // a folder
            if stat.valid & UInt64(ZIP_STAT_SIZE) != 0, stat.size > UInt64(budget) {
                throw .notZip("entries unpack to more than \(maxTotalBytes) bytes")
            }
            guard let file = zip_fopen_index(archive, index, 0) else { throw .notZip(archiveMessage(archive)) }
            defer { zip_fclose(file) }
            var data: [UInt8] = []
            // What the header declares, within the budget (a lie is caught by the reads below).
            data.reserveCapacity(Int(min(stat.size, UInt64(budget))))
            while true {
                let got = chunk.withUnsafeMutableBytes { zip_fread(file, $0.baseAddress, UInt64($0.count)) }
                if got < 0 { throw .notZip(fileMessage(file)) }
                if got == 0 { break }
                guard got <= budget else { throw .notZip("entries unpack to more than \(maxTotalBytes) bytes") }
                budget -= Int(got)
                data.append(contentsOf: chunk[0..<Int(got)])
            }
            entries.append(Entry(name: name, data: data))
        }
        return entries
    }

    /// A zip of `entries`, deflated, names stored as given (no UTF-8 flag unless they are UTF-8).
    public static func make(_ entries: [Entry]) throws(BillError) -> [UInt8] {
        var error = zip_error_t()
        zip_error_init(&error)
        defer { zip_error_fini(&error) }
        guard let buffer = zip_source_buffer_create(nil, 0, 0, &error) else { throw .notZip(message(&error)) }
        // Kept past zip_close, which writes the archive into it.
        zip_source_keep(buffer)
        defer { zip_source_free(buffer) }
        guard let archive = zip_open_from_source(buffer, ZIP_CREATE | ZIP_TRUNCATE, &error) else {
            zip_source_free(buffer)  // the reference the archive would have held
            throw .notZip(message(&error))
        }
        for entry in entries {
            guard !entry.name.isEmpty, !entry.name.contains(0) else {
                zip_discard(archive)
                throw .notZip("bad entry name")
            }
            // libzip frees the copy (freep = 1) once the archive is written; an empty entry has none
            // (libzip keeps no pointer to zero bytes, and would not free one).
            var copy: UnsafeMutableRawPointer?
            if !entry.data.isEmpty {
                copy = malloc(entry.data.count)!
                entry.data.withUnsafeBytes { copy!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            }
            guard let source = zip_source_buffer(archive, copy, UInt64(entry.data.count), copy == nil ? 0 : 1) else {
                free(copy)
                let detail = archiveMessage(archive)
                zip_discard(archive)
                throw .notZip(detail)
            }
            let index = (entry.name + [0]).withUnsafeBufferPointer { name in
                name.withMemoryRebound(to: CChar.self) {
                    zip_file_add(archive, $0.baseAddress, source, ZIP_FL_ENC_GUESS | ZIP_FL_OVERWRITE)
                }
            }
            guard index >= 0, zip_set_file_compression(archive, UInt64(index), ZIP_CM_DEFLATE, 0) == 0 else {
                if index < 0 { zip_source_free(source) }
                let detail = archiveMessage(archive)
                zip_discard(archive)
                throw .notZip(detail)
            }
        }
        guard zip_close(archive) == 0 else {
            let detail = archiveMessage(archive)
            zip_discard(archive)
            throw .notZip(detail)
        }
        guard zip_source_open(buffer) == 0 else { throw .notZip("cannot read the written zip") }
        defer { zip_source_close(buffer) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = chunk.withUnsafeMutableBytes { zip_source_read(buffer, $0.baseAddress, UInt64($0.count)) }
            if got < 0 { throw .notZip("cannot read the written zip") }
            if got == 0 { break }
            out.append(contentsOf: chunk[0..<Int(got)])
        }
        return out
    }

    private static func message(_ error: inout zip_error_t) -> String { String(cString: zip_error_strerror(&error)) }
    private static func archiveMessage(_ archive: OpaquePointer) -> String { String(cString: zip_strerror(archive)) }
    private static func fileMessage(_ file: OpaquePointer) -> String { String(cString: zip_file_strerror(file)) }
}
