import CHDF5

extension H5File {
    /// Names of the objects in the root group, in name order.
    public var names: [String] {
        var info = H5G_info_t()
        guard H5Gget_info(id, &info) >= 0 else { return [] }
        return (0..<info.nlinks).map { i in
            let len = H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, avh5_p_default())
            var buf = [CChar](repeating: 0, count: max(0, Int(len)) + 1)
            H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, buf.count, avh5_p_default())
            return String(cString: buf)
        }
    }
}

extension H5Dataset {
    /// Reads rows of a 1-byte integer or enum dataset (uint8, int8, h5py's bool) as raw bytes.
    public func readBytes(start: Int = 0, rows: Int? = nil) throws -> [UInt8] {
        let n = rows ?? (dims.first ?? 0) - start
        let ft = H5Dget_type(id)
        defer { H5Tclose(ft) }
        let cls = H5Tget_class(ft)
        guard H5Tget_size(ft) == 1, cls == H5T_INTEGER || cls == H5T_ENUM else {
            throw error("expected a 1-byte integer or bool dataset, found \(typeDescription)")
        }
        var out = [UInt8](repeating: 0, count: n * rowElements)
        if out.isEmpty { return out }
        try out.withUnsafeMutableBufferPointer { try io(write: false, start: start, rows: n, memType: ft, $0.baseAddress!) }
        return out
    }

    /// Writes rows of a bool or uint8 dataset from bytes (for bool: 0 or 1).
    public func write(_ values: [UInt8], start: Int = 0) throws {
        let ft = H5Dget_type(id)
        defer { H5Tclose(ft) }
        guard H5Tget_size(ft) == 1 else { throw error("not a 1-byte dataset") }
        var v = values
        let rows = values.count / max(1, rowElements)
        try v.withUnsafeMutableBufferPointer { try io(write: true, start: start, rows: rows, memType: ft, $0.baseAddress!) }
    }

    /// Writes rows of a bool dataset.
    public func write(_ values: [Bool], start: Int = 0) throws {
        try write(values.map { $0 ? UInt8(1) : 0 }, start: start)
    }

    /// Shrinks or grows axis 0 of a chunked dataset to `rows` (within its maximum dimensions).
    public func resize(rows: Int) throws {
        var d = dims.map { hsize_t($0) }
        guard !d.isEmpty else { throw error("cannot resize a scalar") }
        d[0] = hsize_t(rows)
        guard H5Dset_extent(id, &d) >= 0 else { throw error("cannot resize to \(rows) rows (contiguous dataset?)") }
    }

    /// The chunk shape, or nil when the dataset is contiguous.
    public var chunk: [Int]? {
        let plist = H5Dget_create_plist(id)
        defer { H5Pclose(plist) }
        guard H5Pget_layout(plist) == H5D_CHUNKED else { return nil }
        var c = [hsize_t](repeating: 0, count: max(1, dims.count))
        let rank = H5Pget_chunk(plist, Int32(c.count), &c)
        return rank > 0 ? c.prefix(Int(rank)).map { Int($0) } : nil
    }

    /// The filters applied to chunks, e.g. ["shuffle", "gzip"].
    public var filters: [String] {
        let plist = H5Dget_create_plist(id)
        defer { H5Pclose(plist) }
        let n = H5Pget_nfilters(plist)
        guard n > 0 else { return [] }
        return (0..<UInt32(n)).map { i in
            var flags: UInt32 = 0, nelem = 8, cfg = [UInt32](repeating: 0, count: 8), cfgFilter: UInt32 = 0
            var name = [CChar](repeating: 0, count: 64)
            let f = H5Pget_filter2(plist, i, &flags, &nelem, &cfg, name.count, &name, &cfgFilter)
            switch f {
            case H5Z_FILTER_DEFLATE: return "gzip(\(nelem > 0 ? cfg[0] : 0))"
            case H5Z_FILTER_SHUFFLE: return "shuffle"
            case H5Z_FILTER_FLETCHER32: return "fletcher32"
            default: return String(cString: name)
            }
        }
    }

    /// A short name of the element type: float16, float32, float64, int8…int64, uint8…, bool,
    /// string[n], string[variable], or "other".
    public var typeDescription: String {
        let ft = H5Dget_type(id)
        defer { H5Tclose(ft) }
        let size = H5Tget_size(ft)
        switch H5Tget_class(ft) {
        case H5T_FLOAT: return "float\(size * 8)"
        case H5T_INTEGER: return (H5Tget_sign(ft) == H5T_SGN_NONE ? "uint" : "int") + "\(size * 8)"
        case H5T_ENUM: return size == 1 && H5Tget_nmembers(ft) == 2 ? "bool" : "enum\(size * 8)"
        case H5T_STRING: return H5Tis_variable_str(ft) > 0 ? "string[variable]" : "string[\(size)]"
        default: return "other"
        }
    }

    /// Whether the element type is an IEEE float of `bytes` bytes.
    public func isFloat(bytes: Int) -> Bool {
        let ft = H5Dget_type(id)
        defer { H5Tclose(ft) }
        return H5Tget_class(ft) == H5T_FLOAT && H5Tget_size(ft) == bytes
    }
}
