import XCTest
import AVTensor

/// The one duration format of progress bars, ETAs and run summaries.
final class StopwatchTests: XCTestCase {
    func testClock() {
        XCTAssertEqual(Stopwatch.clock(0), "0:00")
        XCTAssertEqual(Stopwatch.clock(125.4), "2:05")
        XCTAssertEqual(Stopwatch.clock(3599.6), "1:00:00")
        XCTAssertEqual(Stopwatch.clock(3723), "1:02:03")
        XCTAssertEqual(Stopwatch.clock(.infinity), "--:--")
        XCTAssertEqual(Stopwatch.clock(.nan), "--:--")
        XCTAssertEqual(Stopwatch.clock(-1), "--:--")
        XCTAssertEqual(Stopwatch.clock(1e300), "--:--")
    }
}
