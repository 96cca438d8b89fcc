import XCTest
import AVDist
import TestSupport

/// The in-process communicator's collectives with real values on 1, 2, 3 and 4 thread ranks.
final class InProcessCommunicatorTests: XCTestCase {
    /// Sum and mean all-reduce in buckets: values, bucket count, Double variant.
    func testAllReduceInBuckets() throws {
        for size in [1, 2, 3, 4] {
            let out = try InProcessCommunicator.run(size: size) { comm -> ([Float], [Float], [Double], Int) in
                comm.bucketElements = 64
                var a = (0..<1000).map { Float((comm.rank + 1) * ($0 % 13 + 1)) }
                try comm.allReduce(&a)
                var m = (0..<130).map { Float(comm.rank * 1000 + $0) }
                try comm.allReduce(&m, op: .mean)
                var d = (0..<7).map { Double(comm.rank) * 1e-9 + Double($0) }
                try comm.allReduce(&d)
                return (a, m, d, comm.allReduceCalls)
            }
            let ranksSum = Float(size * (size + 1) / 2)
            let meanRank = Float(size - 1) / 2 * 1000
            for (rank, (a, m, d, calls)) in out.enumerated() {
                XCTAssertEqual(a, (0..<1000).map { ranksSum * Float($0 % 13 + 1) }, "size \(size) rank \(rank)")
                XCTAssertEqual(m, (0..<130).map { meanRank + Float($0) }, "mean size \(size) rank \(rank)")
                for j in 0..<7 {
                    XCTAssertEqual(d[j], Double(size * (size - 1) / 2) * 1e-9 + Double(j * size), accuracy: 1e-12)
                }
                XCTAssertEqual(calls, 16 + 3 + 1, "1000 floats in 16 buckets of 64, 130 in 3, 7 doubles in 1")
            }
            // Every rank gets bit-identical sums.
            XCTAssertTrue(out.allSatisfy { $0.0 == out[0].0 })
        }
    }

    func testAllGatherReduceScatterBroadcast() throws {
        for size in [1, 2, 4] {
            let out = try InProcessCommunicator.run(size: size) { comm -> ([Float], [Float], [Float]) in
                let mine = (0..<5).map { Float(comm.rank * 10 + $0) }
                let gathered = try comm.allGather(mine)
                let send = (0..<(3 * comm.size)).map { Float($0) * Float(comm.rank + 1) }
                let scattered = try comm.reduceScatter(send)
                comm.bucketElements = 4
                var b = comm.rank == comm.size - 1 ? (0..<11).map { Float($0) + 0.5 } : [Float](repeating: -1, count: 11)
                try comm.broadcast(&b, root: comm.size - 1)
                try comm.barrier()
                return (gathered, scattered, b)
            }
            let ranksSum = Float(size * (size + 1) / 2)
            for (rank, (g, rs, b)) in out.enumerated() {
                XCTAssertEqual(g, (0..<size).flatMap { r in (0..<5).map { Float(r * 10 + $0) } })
                XCTAssertEqual(rs, (0..<3).map { Float(rank * 3 + $0) * ranksSum }, "reduce-scatter rank \(rank)")
                XCTAssertEqual(b, (0..<11).map { Float($0) + 0.5 }, "broadcast rank \(rank)")
            }
        }
    }

    func testSizeMismatchIsAnError() throws {
        let comm = InProcessCommunicator.single()
        var recv = [Float](repeating: 0, count: 3)
        let send: [Float] = [1, 2]
        XCTAssertThrowsError(try send.withUnsafeBufferPointer { s in
            try recv.withUnsafeMutableBufferPointer { try comm.allGather(s, into: $0) }
        }) { XCTAssertTrue("\($0)".contains("allGather: receive 3 floats"), "\($0)") }
        var b: [Float] = [1]
        XCTAssertThrowsError(try comm.broadcast(&b, root: 1)) { XCTAssertTrue("\($0)".contains("root 1"), "\($0)") }
    }

    /// A rank that throws ends the job: the peers blocked in a collective wake with
    /// `CommunicatorError.aborted` and `run` rethrows the failing rank's own error.
    func testFailingRankAbortsThePeers() {
        struct Boom: Error {}
        let peersAborted = ResultBox()
        XCTAssertThrowsError(try InProcessCommunicator.run(size: 3) { comm in
            if comm.rank == 1 { Thread.sleep(forTimeInterval: 0.05); throw Boom() }
            do { try comm.barrier() } catch CommunicatorError.aborted(let rank, let reason) {
                peersAborted.add("\(rank): \(reason)"); throw CommunicatorError.aborted(rank: rank, reason: reason)
            }
        }) { XCTAssertTrue($0 is Boom, "\($0)") }
        XCTAssertEqual(peersAborted.items.count, 2, "\(peersAborted.items)")
        XCTAssertTrue(peersAborted.items.allSatisfy { $0.contains("rank 1 failed") }, "\(peersAborted.items)")
        // An explicit abort: collectives after it throw.
        XCTAssertThrowsError(try InProcessCommunicator.run(size: 2) { comm in
            if comm.rank == 0 { comm.abort(reason: "bad data", code: 3) }
            try comm.barrier()
            try comm.barrier()
        }) { XCTAssertTrue("\($0)".contains("bad data"), "\($0)") }
    }
}

/// Thread-safe list of strings.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ s: String) { lock.lock(); list.append(s); lock.unlock() }
    var items: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
