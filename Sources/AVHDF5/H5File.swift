import CHDF5

/// An HDF5 failure, naming the file and the object (dataset, attribute) involved.
public struct H5Error: Error, CustomStringConvertible {
    public let file: String
    public let object: String?
    public let reason: String
    public var description: String { "HDF5 \(file)" + (object.map { ", '\($0)'" } ?? "") + ": \(reason)" }
}

/// Element types stored in avtrain shards.
public enum H5Type: Sendable {
    case float32, float16, int16, int32, int64, uint8, bool

    /// Runs `body` with the on-disk (file) type, closing it afterwards when it was created here.
    /// `.bool` is stored the way h5py stores numpy bool: an 8-bit enum {FALSE = 0, TRUE = 1}.
    func withFileType<R>(_ body: (hid_t) throws -> R) rethrows -> R {
        switch self {
        case .float32: return try body(avh5_ieee_f32le())
        case .float16:
            let t = avh5_ieee_f16le(); defer { H5Tclose(t) }
            return try body(t)
        case .int16: return try body(avh5_std_i16le())
        case .int32: return try body(avh5_std_i32le())
        case .int64: return try body(avh5_std_i64le())
        case .uint8: return try body(avh5_std_u8le())
        case .bool:
            let t = avh5_bool_enum(); defer { H5Tclose(t) }
            return try body(t)
        }
    }
}

/// An open HDF5 file (serial). Closed on deinit.
public final class H5File {
    public let path: String
    public let id: hid_t

    /// Opens an existing file read-only (or read-write).
    public init(openAt path: String, writable: Bool = false) throws {
        avh5_silence_errors()
        self.path = path
        let id = H5Fopen(path, writable ? avh5_f_acc_rdwr() : avh5_f_acc_rdonly(), avh5_p_default())
        guard id >= 0 else { throw H5Error(file: path, object: nil, reason: "cannot open (missing, truncated or not HDF5)") }
        self.id = id
    }

    /// Creates a file, replacing any existing one.
    public init(createAt path: String) throws {
        avh5_silence_errors()
        self.path = path
        let id = H5Fcreate(path, avh5_f_acc_trunc(), avh5_p_default(), avh5_p_default())
        guard id >= 0 else { throw H5Error(file: path, object: nil, reason: "cannot create") }
        self.id = id
    }

    deinit { H5Fclose(id) }

    /// Flushes buffers to disk.
    public func flush() { H5Fflush(id, H5F_SCOPE_LOCAL) }

    /// Whether a link (dataset or group) named `name` exists.
    public func exists(_ name: String) -> Bool { H5Lexists(id, name, avh5_p_default()) > 0 }

    /// Creates a dataset of `type` and `dims`, chunked by `chunk` (nil = contiguous) with optional
    /// gzip level (with the byte-shuffle filter) and, when chunked, Fletcher-32 checksums. Chunked datasets may later shrink along axis 0
    /// (`H5Dataset.resize(rows:)`). Modification times are not recorded, so that the same data
    /// gives byte-identical files.
    public func createDataset(_ name: String, type: H5Type, dims: [Int], chunk: [Int]? = nil, gzip: Int? = nil) throws -> H5Dataset {
        try type.withFileType { try createDataset(name, fileType: $0, dims: dims, chunk: chunk, gzip: gzip) }
    }

    /// Creates a dataset of an explicit HDF5 file type (the caller keeps ownership of `fileType`).
    func createDataset(_ name: String, fileType: hid_t, dims: [Int], chunk: [Int]?, gzip: Int?) throws -> H5Dataset {
        guard !exists(name) else { throw H5Error(file: path, object: name, reason: "dataset exists already") }
        var hd = dims.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(hd.count), &hd, nil)
        defer { H5Sclose(space) }
        let dcpl = H5Pcreate(avh5_p_dataset_create())
        defer { H5Pclose(dcpl) }
        H5Pset_obj_track_times(dcpl, false)
        if let chunk {
            guard chunk.count == dims.count else {
                throw H5Error(file: path, object: name, reason: "chunk \(chunk) does not match dimensions \(dims)")
            }
            var hc = zip(chunk, dims).map { hsize_t(max(1, min($0, max($1, 1)))) }
            H5Pset_chunk(dcpl, Int32(hc.count), &hc)
            if let gzip { H5Pset_shuffle(dcpl); H5Pset_deflate(dcpl, UInt32(gzip)) }
            // A Fletcher-32 checksum on every chunk: HDF5 checks it on each read, so a flipped
            // byte is an error (naming the rows read), never silently different data.
            H5Pset_fletcher32(dcpl)
        }
        let ds = H5Dcreate2(id, name, fileType, space, avh5_p_default(), dcpl, avh5_p_default())
        guard ds >= 0 else { throw H5Error(file: path, object: name, reason: "cannot create dataset") }
        return H5Dataset(file: self, name: name, id: ds)
    }

    /// Opens an existing dataset.
    public func dataset(_ name: String) throws -> H5Dataset {
        guard exists(name) else { throw H5Error(file: path, object: name, reason: "dataset is missing") }
        let ds = H5Dopen2(id, name, avh5_p_default())
        guard ds >= 0 else { throw H5Error(file: path, object: name, reason: "cannot open dataset") }
        return H5Dataset(file: self, name: name, id: ds)
    }
}

/// An open dataset. Reads and writes whole datasets or row ranges (hyperslabs on axis 0).
public final class H5Dataset {
    public let file: H5File
    public let name: String
    public let id: hid_t

    init(file: H5File, name: String, id: hid_t) { self.file = file; self.name = name; self.id = id }
    deinit { H5Dclose(id) }

    func error(_ reason: String) -> H5Error { H5Error(file: file.path, object: name, reason: reason) }

    /// The dataset's dimensions.
    public var dims: [Int] {
        let space = H5Dget_space(id)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank > 0 else { return [] }
        var d = [hsize_t](repeating: 0, count: rank)
        H5Sget_simple_extent_dims(space, &d, nil)
        return d.map { Int($0) }
    }

    /// Elements per row (product of all dimensions but the first).
    public var rowElements: Int { dims.dropFirst().reduce(1, *) }

    /// Writes rows `start..<start+rows` from `buffer`, given in memory type `memType`.
    func io<T>(write: Bool, start: Int, rows: Int, memType: hid_t, _ buffer: UnsafeMutablePointer<T>) throws {
        let d = dims
        guard !d.isEmpty, start >= 0, start + rows <= d[0] else {
            throw error("rows \(start)..<\(start + rows) outside dimensions \(d)")
        }
        let fspace = H5Dget_space(id)
        defer { H5Sclose(fspace) }
        var offs = [hsize_t](repeating: 0, count: d.count); offs[0] = hsize_t(start)
        var cnt = d.map { hsize_t($0) }; cnt[0] = hsize_t(rows)
        H5Sselect_hyperslab(fspace, avh5_select_set(), &offs, nil, &cnt, nil)
        let mspace = H5Screate_simple(Int32(cnt.count), &cnt, nil)
        defer { H5Sclose(mspace) }
        avh5_silence_errors()     // per thread in a thread-safe HDF5: loader threads must not print HDF5's stack
        let status = write ? H5Dwrite(id, memType, mspace, fspace, avh5_p_default(), buffer)
                           : H5Dread(id, memType, mspace, fspace, avh5_p_default(), buffer)
        guard status >= 0 else { throw error(write ? "write failed" : "read failed (corrupt or truncated chunk, or a failed Fletcher-32 checksum)") }
    }

    /// Reads rows `start..<start+rows` (default: to the end) as `T`, converted by HDF5 from the
    /// stored type (float16 → Float, …).
    public func read<T: H5Element>(as type: T.Type, start: Int = 0, rows: Int? = nil) throws -> [T] {
        let n = rows ?? (dims.first ?? 0) - start
        guard n >= 0 else { throw error("rows from \(start) outside dimensions \(dims)") }
        var out = [T](repeating: .zero, count: n * rowElements)
        if out.isEmpty { return out }
        try out.withUnsafeMutableBufferPointer { try io(write: false, start: start, rows: n, memType: T.h5Native, $0.baseAddress!) }
        return out
    }

    /// Reads rows `start..<start+rows` into `out` (no allocation; `rows * rowElements` values).
    public func read<T: H5Element>(into out: UnsafeMutablePointer<T>, start: Int, rows: Int) throws {
        try io(write: false, start: start, rows: rows, memType: T.h5Native, out)
    }

    /// Writes whole rows from `values`, starting at row `start`.
    public func write<T: H5Element>(_ values: [T], start: Int = 0) throws {
        var v = values
        let rows = values.count / max(1, rowElements)
        if v.isEmpty { return }
        try v.withUnsafeMutableBufferPointer { try io(write: true, start: start, rows: rows, memType: T.h5Native, $0.baseAddress!) }
    }
}

/// A number type HDF5 reads and writes natively (the memory type of a transfer).
public protocol H5Element: Numeric {
    static var h5Native: hid_t { get }
}
extension Float: H5Element { public static var h5Native: hid_t { avh5_native_float() } }
extension Int16: H5Element { public static var h5Native: hid_t { avh5_native_int16() } }
extension Int32: H5Element { public static var h5Native: hid_t { avh5_native_int32() } }
extension Int64: H5Element { public static var h5Native: hid_t { avh5_native_int64() } }

/// The HDF5 library version, e.g. "1.10.8".
public func hdf5Version() -> String {
    var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0
    _ = avh5_version(&a, &b, &c)
    return "\(a).\(b).\(c)"
}
