import XCTest
import AVLoss
import AVDist
import TestSupport

/// The distributed form with threads as ranks: every rank's loss equals the single-process
/// global-batch loss and its gradient equals the global gradient rows of its own clips.
final class LossDistributedTests: XCTestCase {
    func testRanksMatchSingleProcess() throws {
        let (total, dim) = (16, 12)
        let global = LossTestData.inputs(n: total, dim: dim, seed: 51)
        let ls: Float = 2.2
        for size in [2, 4] {
            for (name, w) in LossTestData.cases {
                let ref = try contrastiveObjective(local: global, logitScale: ls, weights: w,
                                                   comm: InProcessCommunicator.single())
                let results = try InProcessCommunicator.run(size: size) { comm -> LossResult in
                    let share = total / comm.size
                    return try contrastiveObjective(local: global.rows(comm.rank * share..<(comm.rank + 1) * share),
                                                    logitScale: ls, weights: w, comm: comm)
                }
                let share = total / size
                for (rank, r) in results.enumerated() {
                    let rows = rank * share * dim..<(rank + 1) * share * dim
                    XCTAssertEqual(r.total, ref.total, accuracy: 1e-5 * abs(ref.total), "\(name) n=\(size) rank \(rank)")
                    for (k, v) in ref.values { XCTAssertEqual(r.values[k] ?? .nan, v, accuracy: 1e-5 * abs(v), k) }
                    XCTAssertLessThan(TestSupport.relativeError(r.gradX, Array(ref.gradX[rows])), 1e-5, "\(name) dx rank \(rank)")
                    if w.audioAudio != 0 {
                        XCTAssertLessThan(TestSupport.relativeError(r.gradXAug, Array(ref.gradXAug[rows])), 1e-5,
                                          "\(name) dx_aug rank \(rank)")
                    }
                    XCTAssertEqual(r.gradLogitScale, ref.gradLogitScale, accuracy: 1e-5 * abs(ref.gradLogitScale) + 1e-9,
                                   "\(name) dlogit_scale rank \(rank)")
                }
            }
        }
    }

    /// Unequal shares are refused on every rank, not silently mis-indexed.
    func testUnequalSharesAreAnError() {
        let global = LossTestData.inputs(n: 7, dim: 4, seed: 61)
        XCTAssertThrowsError(try InProcessCommunicator.run(size: 2) { comm in
            try contrastiveObjective(local: global.rows(comm.rank == 0 ? 0..<3 : 3..<7), logitScale: 2,
                                     weights: .only(.audioText), comm: comm)
        }) { XCTAssertTrue("\($0)".contains("different batch sizes [3, 4]"), "\($0)") }
    }
}
