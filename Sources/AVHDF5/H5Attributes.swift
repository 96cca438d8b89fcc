import CHDF5

/// A scalar or 1-D attribute value. Strings are written as variable-length UTF-8 (what h5py writes
/// for a Python `str`, read back as `str`); fixed-length string attributes are read too.
public enum H5AttributeValue: Equatable, Sendable, CustomStringConvertible {
    case int(Int64), double(Double), string(String), ints([Int64]), doubles([Double])

    public var description: String {
        switch self {
        case .int(let v): return "\(v)"
        case .double(let v): return "\(v)"
        case .string(let v): return "\"\(v)\""
        case .ints(let v): return "\(v)"
        case .doubles(let v): return "\(v)"
        }
    }

    /// The value as an integer, when it is one.
    public var intValue: Int? { if case .int(let v) = self { return Int(v) }; return nil }
    /// The value as a string, when it is one.
    public var stringValue: String? { if case .string(let v) = self { return v }; return nil }
    /// The value as a double (integers converted), when it is a number.
    public var doubleValue: Double? {
        switch self { case .double(let v): return v; case .int(let v): return Double(v); default: return nil }
    }
}

/// An HDF5 object (file root group or dataset) that carries attributes.
public protocol H5AttributeHolder: AnyObject {
    /// The HDF5 identifier of the object.
    var objectID: hid_t { get }
    /// The file path, for errors.
    var filePath: String { get }
    /// The object's name ("/" for the root), for errors.
    var objectName: String { get }
}

extension H5File: H5AttributeHolder {
    public var objectID: hid_t { id }
    public var filePath: String { path }
    public var objectName: String { "/" }
}

extension H5Dataset: H5AttributeHolder {
    public var objectID: hid_t { id }
    public var filePath: String { file.path }
    public var objectName: String { name }
}

extension H5AttributeHolder {
    func attrError(_ name: String, _ reason: String) -> H5Error {
        H5Error(file: filePath, object: objectName == "/" ? "@\(name)" : "\(objectName)@\(name)", reason: reason)
    }

    /// Sets (creating or replacing) the attribute `name`.
    public func setAttribute(_ name: String, _ value: H5AttributeValue) throws {
        if H5Aexists(objectID, name) > 0 { H5Adelete(objectID, name) }
        let count: Int
        switch value {
        case .ints(let v): count = v.count
        case .doubles(let v): count = v.count
        default: count = 0
        }
        var n = hsize_t(count)
        let space = count == 0 && !value.isArray ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nil)
        defer { H5Sclose(space) }
        let type: hid_t
        switch value {
        case .int, .ints: type = H5Tcopy(avh5_std_i64le())
        case .double, .doubles: type = H5Tcopy(avh5_ieee_f64le())
        case .string:
            type = H5Tcopy(avh5_c_s1())
            H5Tset_size(type, avh5_variable())
            H5Tset_cset(type, H5T_CSET_UTF8)
        }
        defer { H5Tclose(type) }
        let a = H5Acreate2(objectID, name, type, space, avh5_p_default(), avh5_p_default())
        guard a >= 0 else { throw attrError(name, "cannot create attribute") }
        defer { H5Aclose(a) }
        var status: herr_t
        switch value {
        case .int(var v): status = H5Awrite(a, avh5_native_llong(), &v)
        case .ints(var v): status = v.withUnsafeMutableBufferPointer { H5Awrite(a, avh5_native_llong(), $0.baseAddress) }
        case .double(var v): status = H5Awrite(a, avh5_native_double(), &v)
        case .doubles(var v): status = v.withUnsafeMutableBufferPointer { H5Awrite(a, avh5_native_double(), $0.baseAddress) }
        case .string(let s):
            status = s.withCString { c -> herr_t in
                var p: UnsafePointer<CChar>? = c
                return H5Awrite(a, type, &p)
            }
        }
        guard status >= 0 else { throw attrError(name, "cannot write attribute") }
    }

    /// The attribute `name`, or nil if absent. Throws for types other than integer, float, string.
    public func attribute(_ name: String) throws -> H5AttributeValue? {
        guard H5Aexists(objectID, name) > 0 else { return nil }
        let a = H5Aopen(objectID, name, avh5_p_default())
        guard a >= 0 else { throw attrError(name, "cannot open attribute") }
        defer { H5Aclose(a) }
        let ft = H5Aget_type(a); defer { H5Tclose(ft) }
        let space = H5Aget_space(a); defer { H5Sclose(space) }
        let n = Int(H5Sget_simple_extent_npoints(space))
        let scalar = H5Sget_simple_extent_type(space) == H5S_SCALAR
        switch H5Tget_class(ft) {
        case H5T_INTEGER:
            var v = [Int64](repeating: 0, count: max(1, n))
            guard H5Aread(a, avh5_native_llong(), &v) >= 0 else { throw attrError(name, "cannot read attribute") }
            return scalar ? .int(v[0]) : .ints(v)
        case H5T_FLOAT:
            var v = [Double](repeating: 0, count: max(1, n))
            guard H5Aread(a, avh5_native_double(), &v) >= 0 else { throw attrError(name, "cannot read attribute") }
            return scalar ? .double(v[0]) : .doubles(v)
        case H5T_STRING:
            guard n == 1 else { throw attrError(name, "string arrays are not supported") }
            if H5Tis_variable_str(ft) > 0 {
                let mt = H5Tcopy(avh5_c_s1()); defer { H5Tclose(mt) }
                H5Tset_size(mt, avh5_variable())
                H5Tset_cset(mt, H5Tget_cset(ft))
                var p: UnsafeMutablePointer<CChar>? = nil
                guard H5Aread(a, mt, &p) >= 0 else { throw attrError(name, "cannot read attribute") }
                defer { H5Dvlen_reclaim(mt, space, avh5_p_default(), &p) }
                return .string(p.map { String(cString: $0) } ?? "")
            }
            let width = H5Tget_size(ft)
            var bytes = [UInt8](repeating: 0, count: width)
            guard H5Aread(a, ft, &bytes) >= 0 else { throw attrError(name, "cannot read attribute") }
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return .string(String(decoding: bytes[0..<end], as: UTF8.self).trimmingTrailingSpaces())
        default:
            throw attrError(name, "unsupported attribute type")
        }
    }

    /// Names of all attributes, in name order.
    public var attributeNames: [String] {
        var names: [String] = []
        var i: hsize_t = 0
        while true {
            let len = H5Aget_name_by_idx(objectID, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, avh5_p_default())
            guard len >= 0 else { break }
            var buf = [CChar](repeating: 0, count: Int(len) + 1)
            H5Aget_name_by_idx(objectID, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, buf.count, avh5_p_default())
            names.append(String(cString: buf))
            i += 1
        }
        return names
    }
}

extension H5AttributeValue {
    var isArray: Bool { if case .ints = self { return true }; if case .doubles = self { return true }; return false }
}
