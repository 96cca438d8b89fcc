import CKernels
import Foundation
import Synchronization

/// The threads behind `Threads.parallelFor`: persistent workers that poll for the next loop for a
/// short while after each one (then sleep), so a loop starts on every thread within microseconds
/// rather than after Dispatch wakes a parked worker (60–160 µs per loop on a 2-core VM, ~400
/// loops per swin-t step), and that claim chunks one at a time, so a thread the host slows down
/// takes fewer of them.
///
/// One loop at a time: `run` returns false (the caller runs the loop itself) when a loop is
/// already running, i.e. for a loop started inside a loop's body or by a second thread.
///
/// Protocol: the caller owns the job slot (`body`, `chunks`, `helpers`) while `generation` is odd
/// and no worker is `active`; a worker enters a loop by counting itself `active` and then seeing
/// `generation` unchanged (sequentially consistent, so the caller either sees it or it sees the
/// change), and only reads `body` after claiming a chunk below `chunks`.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    /// How long an idle worker polls for the next loop before it sleeps.
    static let pollNanoseconds: UInt64 = 300_000

    private let generation = Atomic<Int>(0)
    private let active = Atomic<Int>(0)
    private let nextChunk = Atomic<Int>(0)
    private let doneChunks = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let running = Atomic<Bool>(false)
    private let wake = NSCondition()
    private var body: ((Int) -> Void)?
    private var chunks = 0
    private var helpers = 0
    private var started = 0

    /// Runs `body(c)` for every chunk c in 0..<chunks on the caller and up to `threads − 1` workers;
    /// false (nothing ran) when another loop holds the pool.
    func run(chunks: Int, threads: Int, _ body: (Int) -> Void) -> Bool {
        guard running.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { running.store(false, ordering: .releasing) }
        while started < threads - 1 {
            let index = started
            let thread = Thread { [unowned self] in self.serve(index: index) }
            thread.stackSize = 8 << 20
            thread.name = "avtrain-worker-\(index + 1)"
            thread.start()
            started += 1
        }
        withoutActuallyEscaping(body) { body in
            publish(body, chunks: chunks, helpers: threads - 1)
            work()
            while doneChunks.load(ordering: .acquiring) < chunks { avk_spin_pause() }
            while active.load(ordering: .sequentiallyConsistent) > 0 { avk_spin_pause() }
            self.body = nil
        }
        return true
    }

    private func publish(_ body: @escaping (Int) -> Void, chunks: Int, helpers: Int) {
        let g = generation.load(ordering: .relaxed)
        generation.store(g + 1, ordering: .sequentiallyConsistent)
        while active.load(ordering: .sequentiallyConsistent) > 0 { avk_spin_pause() }
        self.body = body
        self.chunks = chunks
        self.helpers = helpers
        nextChunk.store(0, ordering: .relaxed)
        doneChunks.store(0, ordering: .relaxed)
        generation.store(g + 2, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            wake.lock()
            wake.broadcast()
            wake.unlock()
        }
    }

    /// Claims and runs chunks until none is left.
    private func work() {
        while true {
            let c = nextChunk.wrappingAdd(1, ordering: .relaxed).oldValue
            if c >= chunks { return }
            body?(c)
            doneChunks.wrappingAdd(1, ordering: .releasing)
        }
    }

    /// A worker's life: wait for each new loop, join it when its index is among the helpers.
    private func serve(index: Int) {
        var seen = 0
        while true {
            let g = awaitLoop(after: seen)
            seen = g
            active.wrappingAdd(1, ordering: .sequentiallyConsistent)
            if generation.load(ordering: .sequentiallyConsistent) == g && index < helpers { work() }
            active.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        }
    }

    /// The next published loop's generation: polled for `pollNanoseconds`, then slept for.
    private func awaitLoop(after seen: Int) -> Int {
        func fresh(_ g: Int) -> Bool { g != seen && g & 1 == 0 }
        let start = DispatchTime.now().uptimeNanoseconds
        var polls = 0
        while true {
            let g = generation.load(ordering: .acquiring)
            if fresh(g) { return g }
            avk_spin_pause()
            polls += 1
            if polls & 63 == 0 && DispatchTime.now().uptimeNanoseconds - start > Self.pollNanoseconds { break }
        }
        wake.lock()
        defer { wake.unlock() }
        sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
        defer { sleepers.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
        while true {
            let g = generation.load(ordering: .sequentiallyConsistent)
            if fresh(g) { return g }
            wake.wait()
        }
    }
}
