import XCTest
import AVModel

final class SwinConfigTests: XCTestCase {
    func testPresets() throws {
        let b = try XCTUnwrap(SwinConfig.preset("swin-b"))
        XCTAssertEqual(b.embedDim, 128)
        XCTAssertEqual(b.depths, [2, 2, 18, 2])
        XCTAssertEqual(b.numHeads, [4, 8, 16, 32])
        XCTAssertEqual(b.finalDim, 1024)
        XCTAssertEqual(SwinConfig.preset("swin-t")?.depths, [2, 2, 6, 2])
        XCTAssertEqual(SwinConfig.preset("swin-s")?.depths, [2, 2, 18, 2])
        XCTAssertNil(SwinConfig.preset("swin-xxl"))
        for name in SwinConfig.presetNames { XCTAssertNotNil(SwinConfig.preset(name), name) }
    }
}
