import CHDF5

extension H5File {
    /// Creates a 1-D dataset of fixed-length, NUL-padded byte strings (numpy `S<length>`, as the
    /// PANNs AudioSet packing stores `audio_name`) and writes `strings` into it. `length` defaults to
    /// the longest string's UTF-8 byte count; longer strings are an error.
    @discardableResult
    public func createStringDataset(_ name: String, strings: [String], length: Int? = nil,
                                    chunkRows: Int? = nil) throws -> H5Dataset {
        let width = max(1, length ?? strings.map { $0.utf8.count }.max() ?? 1)
        let t = try fixedStringType(width, object: name)
        defer { H5Tclose(t) }
        let ds = try createDataset(name, fileType: t, dims: [strings.count], chunk: chunkRows.map { [$0] }, gzip: nil)
        if !strings.isEmpty { try ds.writeStrings(strings, start: 0) }
        return ds
    }

    func fixedStringType(_ width: Int, object: String) throws -> hid_t {
        let t = H5Tcopy(avh5_c_s1())
        guard t >= 0, H5Tset_size(t, width) >= 0 else { throw H5Error(file: path, object: object, reason: "cannot make string type") }
        H5Tset_strpad(t, H5T_STR_NULLPAD)
        return t
    }
}

extension H5Dataset {
    /// Writes fixed-length strings into rows `start..<start+strings.count` of a 1-D string dataset.
    public func writeStrings(_ strings: [String], start: Int = 0) throws {
        let ft = H5Dget_type(id)
        defer { H5Tclose(ft) }
        guard H5Tget_class(ft) == H5T_STRING, H5Tis_variable_str(ft) <= 0 else { throw error("not a fixed-length string dataset") }
        let width = H5Tget_size(ft)
        var bytes = [UInt8](repeating: 0, count: strings.count * width)
        for (i, s) in strings.enumerated() {
            let u = Array(s.utf8)
            guard u.count <= width else { throw error("string '\(s)' is longer than \(width) bytes") }
            for (j, b) in u.enumerated() { bytes[i * width + j] = b }
        }
        try bytes.withUnsafeMutableBufferPointer {
            try io(write: true, start: start, rows: strings.count, memType: ft, $0.baseAddress!)
        }
    }

    /// Reads rows of a 1-D string dataset, fixed-length (numpy `S`) or variable-length (h5py `str`).
    public func readStrings(start: Int = 0, rows: Int? = nil) throws -> [String] {
        let n = rows ?? (dims.first ?? 0) - start
        let ft = H5Dget_type(id)
        defer { H5Tclose(ft) }
        guard H5Tget_class(ft) == H5T_STRING else { throw error("not a string dataset") }
        if n == 0 { return [] }
        if H5Tis_variable_str(ft) > 0 {
            let mt = H5Tcopy(avh5_c_s1()); defer { H5Tclose(mt) }
            H5Tset_size(mt, avh5_variable())
            H5Tset_cset(mt, H5Tget_cset(ft))
            var ptrs = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
            try ptrs.withUnsafeMutableBufferPointer { try io(write: false, start: start, rows: n, memType: mt, $0.baseAddress!) }
            defer {
                var c = hsize_t(n)
                let space = H5Screate_simple(1, &c, nil)
                ptrs.withUnsafeMutableBufferPointer { _ = H5Dvlen_reclaim(mt, space, avh5_p_default(), $0.baseAddress!) }
                H5Sclose(space)
            }
            return ptrs.map { $0.map { String(cString: $0) } ?? "" }
        }
        let width = H5Tget_size(ft)
        var bytes = [UInt8](repeating: 0, count: n * width)
        try bytes.withUnsafeMutableBufferPointer { try io(write: false, start: start, rows: n, memType: ft, $0.baseAddress!) }
        return (0..<n).map { i in
            let row = bytes[(i * width)..<((i + 1) * width)]
            let end = row.firstIndex(of: 0) ?? row.endIndex
            return String(decoding: row[row.startIndex..<end], as: UTF8.self).trimmingTrailingSpaces()
        }
    }
}

extension String {
    /// Drops trailing spaces (space-padded fixed-length strings, as some writers produce).
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
