import XCTest
import AVTensor
import AVDist
import TestSupport

/// The overlapped all-reduce gives the blocking all-reduce's result, bucket by bucket.
final class OverlappedAllReduceTests: XCTestCase {
    func testSameSumsAsBlockingAllReduce() throws {
        let n = 1000, size = 3
        let out = try InProcessCommunicator.run(size: size) { comm -> ([Float], [Float], Int) in
            var a = TestSupport.randn(n, seed: UInt64(comm.rank)), b = a
            try comm.allReduce(&b)
            let sync = a.withUnsafeMutableBufferPointer { OverlappedAllReduce(comm: comm, buffer: $0, bucketElements: 64) }
            // Backward finishes gradients from the end down, in uneven steps.
            for offset in [990, 900, 700, 640, 300, 1] { sync.ready(from: offset) }
            try sync.finish()
            return (a, b, sync.buckets.count)
        }
        for (a, b, buckets) in out {
            XCTAssertEqual(a, b)
            XCTAssertEqual(buckets, 16)
        }
        XCTAssertEqual(out[0].0, out[2].0)
    }

    /// Buckets tile the buffer from its end, so the first ones are ready first.
    func testBucketsStartFromTheEnd() {
        var buf = [Float](repeating: 0, count: 10)
        let sync = buf.withUnsafeMutableBufferPointer { OverlappedAllReduce(comm: InProcessCommunicator.single(), buffer: $0, bucketElements: 4) }
        XCTAssertEqual(sync.buckets, [6..<10, 2..<6, 0..<2])
    }
}
