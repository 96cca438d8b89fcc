import Dispatch
import Foundation
import Synchronization
import XCTest
import AVTensor

/// `Threads.parallelFor` on the worker pool (and on Dispatch): every index exactly once, the
/// documented split (halving rounds), loops inside loops and loops from several threads at once, workers that
/// slept between loops, and a long run of short loops that must neither lose work nor hang.
final class ThreadsTests: XCTestCase {
    override func tearDown() { Threads.set(1); Threads.usesWorkerPool = true }

    /// Ranges one loop handed out (sorted), and the distinct threads that ran them.
    func loop(_ n: Int, minChunk: Int = 1, chunksPerThread: Int = 1, work: Int = 0) -> (ranges: [Range<Int>], threads: Int) {
        let seen = Mutex<([Range<Int>], Set<ObjectIdentifier>)>(([], []))
        Threads.parallelFor(n, minChunk: minChunk, chunksPerThread: chunksPerThread) { r in
            var x = 1.0
            for i in 0..<work { x = x * 1.000001 + Double(i & 7) }
            let me = ObjectIdentifier(Thread.current)
            seen.withLock { $0.0.append(x < 0 ? 0..<0 : r); $0.1.insert(me) }
        }
        return seen.withLock { ($0.0.sorted { $0.lowerBound < $1.lowerBound }, $0.1.count) }
    }

    func testEveryIndexOnceInTheDocumentedChunks() {
        for pool in [true, false] {
            Threads.usesWorkerPool = pool
            for threads in [1, 2, 3, 5] {
                Threads.set(threads)
                for (n, minChunk, perThread) in [(0, 1, 1), (1, 1, 8), (7, 1, 1), (7, 1, 8), (1000, 1, 1), (1000, 16, 8), (1000, 300, 8)] {
                    let (ranges, _) = loop(n, minChunk: minChunk, chunksPerThread: perThread)
                    let tag = "n \(n), minChunk \(minChunk), \(perThread)/thread, \(threads) threads, pool \(pool)"
                    let bounds = Threads.chunkBounds(n, minChunk: minChunk, chunksPerThread: perThread)
                    XCTAssertEqual(ranges, zip(bounds, bounds.dropFirst()).map { $0..<$1 }, tag)
                    XCTAssertEqual(bounds.first, 0, tag)
                    XCTAssertEqual(bounds.last, n, tag)
                    let sizes = zip(bounds, bounds.dropFirst()).map { $1 - $0 }
                    XCTAssertLessThanOrEqual(sizes.count, threads * perThread, tag)
                    if n >= minChunk { XCTAssertGreaterThanOrEqual(sizes.min()!, minChunk, tag) }
                    if perThread == 1 {
                        // One round: min(threads, n / minChunk) chunks, equal to within one index.
                        XCTAssertEqual(sizes.count, max(1, min(threads, n / minChunk)), tag)
                        XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1, tag)
                    } else {
                        XCTAssertLessThanOrEqual(sizes.last!, sizes.first! + 1, tag)
                    }
                }
            }
        }
        // Halving rounds: 2 threads take 250 each, then 125, 62, 31, 16, and the last 32 indices
        // split evenly, as the next round's 8 would fall below minChunk.
        Threads.set(2)
        XCTAssertEqual(Threads.chunkBounds(1000, minChunk: 16, chunksPerThread: 8),
                       [0, 250, 500, 625, 750, 812, 874, 905, 936, 952, 968, 984, 1000])
        // forEachChunk hands each chunk its index.
        let seen = Mutex<[Int: Range<Int>]>([:])
        let bounds = Threads.chunkBounds(1000, minChunk: 16, chunksPerThread: 8)
        Threads.forEachChunk(bounds) { c, r in seen.withLock { $0[c] = r } }
        XCTAssertEqual(seen.withLock { $0 }, Dictionary(uniqueKeysWithValues: (0..<(bounds.count - 1)).map { ($0, bounds[$0]..<bounds[$0 + 1]) }))
    }

    func testWorkersRunChunksAfterSleeping() {
        // Each loop follows a pause far longer than the workers poll, so they sleep and must be
        // woken; with 2 threads and chunks of real work, a worker runs some of them.
        Threads.set(2)
        var helped = 0
        for _ in 0..<20 {
            usleep(3_000)
            let (ranges, threads) = loop(64, chunksPerThread: 8, work: 200_000)
            XCTAssertEqual(ranges.map(\.count).reduce(0, +), 64)
            if threads > 1 { helped += 1 }
        }
        XCTAssertGreaterThan(helped, 0, "no loop ran on a second thread")
    }

    func testLoopsInsideLoopsAndFromSeveralThreads() {
        Threads.set(3)
        // A loop inside a loop's body runs inline on that thread, completely.
        let inner = Mutex(0)
        Threads.parallelFor(6) { outer in
            for _ in outer { Threads.parallelFor(100, chunksPerThread: 4) { r in inner.withLock { $0 += r.count } } }
        }
        XCTAssertEqual(inner.withLock { $0 }, 600)
        // Four threads start loops at once, 300 each: every one completes with every index.
        let group = DispatchGroup(), total = Mutex(0)
        for t in 0..<4 {
            group.enter()
            Thread {
                var sum = 0
                for k in 0..<300 {
                    let n = 50 + (t * 300 + k) % 70
                    let counts = Mutex([Int](repeating: 0, count: n))
                    Threads.parallelFor(n, chunksPerThread: 2) { r in counts.withLock { c in for i in r { c[i] += 1 } } }
                    sum += counts.withLock { $0.allSatisfy { $0 == 1 } ? n : -1_000_000 }
                }
                total.withLock { $0 += sum }
                group.leave()
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success, "loops from several threads did not finish")
        var expected = 0
        for t in 0..<4 { for k in 0..<300 { expected += 50 + (t * 300 + k) % 70 } }
        XCTAssertEqual(total.withLock { $0 }, expected)
    }

    func testManyShortLoopsLoseNothing() {
        // 20 000 back-to-back loops on 3 threads (workers polling, never sleeping): each index of
        // every loop summed once.
        Threads.set(3)
        let sum = Mutex(0)
        let done = DispatchSemaphore(value: 0)
        Thread {
            for k in 0..<20_000 { Threads.parallelFor(3 + k % 5, chunksPerThread: 2) { r in sum.withLock { $0 += r.reduce(0, +) } } }
            done.signal()
        }.start()
        XCTAssertEqual(done.wait(timeout: .now() + 120), .success, "short loops hung")
        var expected = 0
        for k in 0..<20_000 { let n = 3 + k % 5; expected += n * (n - 1) / 2 }
        XCTAssertEqual(sum.withLock { $0 }, expected)
    }
}
