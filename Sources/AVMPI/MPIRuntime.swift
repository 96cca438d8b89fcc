import CMPI
import AVDist

/// An MPI call that returned an error code, with the name of the call and MPI's message.
public struct MPIError: Error, CustomStringConvertible {
    public let call: String
    public let code: Int32
    public let message: String
    public var description: String { "MPI call \(call) failed (code \(code)): \(message)" }
}

/// Process-wide MPI state: initialisation, rank and size of MPI_COMM_WORLD, library version.
public enum MPIRuntime {
    /// Initialises MPI once (thread level FUNNELED: only the main thread calls MPI) and makes
    /// MPI_COMM_WORLD return errors instead of aborting, so they become Swift errors.
    public static func initialize() throws {
        var flag: Int32 = 0
        MPI_Initialized(&flag)
        if flag != 0 { return }
        var provided: Int32 = 0
        try check("MPI_Init_thread", MPI_Init_thread(nil, nil, avmpi_thread_funneled(), &provided))
        try check("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(avmpi_comm_world(), avmpi_errors_return()))
    }

    /// Finalises MPI if it was initialised.
    public static func finalize() {
        var i: Int32 = 0, f: Int32 = 0
        MPI_Initialized(&i); MPI_Finalized(&f)
        if i != 0 && f == 0 { MPI_Finalize() }
    }

    /// Rank in MPI_COMM_WORLD.
    public static var worldRank: Int { var r: Int32 = 0; MPI_Comm_rank(avmpi_comm_world(), &r); return Int(r) }

    /// Size of MPI_COMM_WORLD.
    public static var worldSize: Int { var s: Int32 = 0; MPI_Comm_size(avmpi_comm_world(), &s); return Int(s) }

    /// The MPI library's version string (e.g. "Open MPI v4.1.4, ...").
    public static var libraryVersion: String {
        var buf = [CChar](repeating: 0, count: Int(avmpi_max_library_version_string()) + 1)
        var len: Int32 = 0
        MPI_Get_library_version(&buf, &len)
        return String(cString: buf).split(separator: "\n").first.map(String.init) ?? ""
    }

    /// Throws `MPIError` naming `call` when `code` is not MPI_SUCCESS.
    public static func check(_ call: String, _ code: Int32) throws {
        guard code != avmpi_success() else { return }
        var buf = [CChar](repeating: 0, count: Int(avmpi_max_error_string()) + 1)
        var len: Int32 = 0
        MPI_Error_string(code, &buf, &len)
        throw MPIError(call: call, code: code, message: String(cString: buf))
    }
}
