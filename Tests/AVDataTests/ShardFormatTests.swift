import XCTest
import AVHDF5
import AVData
import AVTensor
import TestSupport

final class ShardFormatTests: XCTestCase {
    func layout(_ dtype: EmbeddingDType) -> ShardLayout {
        ShardLayout(dataset: "t", split: "train", sampleRate: 8000, clipSamples: 50, classNames: ["a_b", "c", "dé"],
                    captionsPerClip: 2, framesPerClip: 3, embeddingDim: 4, embeddingModel: "test-model", embeddingDType: dtype)
    }

    func testWriterReaderRoundTripAndShrink() throws {
        for dtype in EmbeddingDType.allCases {
            let dir = TestSupport.tempDir()
            let path = dir.appendingPathComponent("s.h5").path
            let l = layout(dtype)
            let w = try ShardWriter(path: path, layout: l, capacity: 5)
            var waves: [[Int16]] = [], texts: [[Float]] = [], images: [[Float]] = []
            for i in 0..<3 {   // 3 of a capacity of 5: the datasets shrink to 3 rows
                waves.append((0..<50).map { Int16(truncatingIfNeeded: $0 * 1000 - 20000 + i * 7) } + [])
                texts.append(TestSupport.randn(8, seed: UInt64(i)))
                images.append(TestSupport.randn(12, seed: UInt64(100 + i)))
                try w.append(name: "clip\(i).wav", waveform: waves[i], labels: i == 1 ? [2, 0] : [i], text: texts[i],
                             image: images[i], sourceRow: 10 + i)
            }
            XCTAssertTrue(FileManager.default.fileExists(atPath: path + ".tmp"))
            XCTAssertFalse(FileManager.default.fileExists(atPath: path))
            XCTAssertEqual(try w.finish(), 3)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".tmp"))

            let s = try Shard(path: path)
            XCTAssertEqual(s.count, 3)
            XCTAssertEqual(s.layout.classNames, l.classNames)
            XCTAssertEqual(s.layout.embeddingDType, dtype)
            XCTAssertEqual(s.layout.embeddingModel, "test-model")
            XCTAssertEqual(s.layout.sampleRate, 8000)
            XCTAssertEqual(try s.names(), ["clip0.wav", "clip1.wav", "clip2.wav"])
            XCTAssertEqual(try s.labels(), [0, 2, 2])
            XCTAssertEqual(try s.targets(start: 0, rows: 3), [1, 0, 0, 1, 0, 1, 0, 0, 1])
            XCTAssertEqual(try s.waveforms(start: 0, rows: 3), waves.flatMap { $0 })
            let t = try s.embeddings(ShardSchema.textEmbedding, start: 0, rows: 3)
            let im = try s.embeddings(ShardSchema.imageEmbedding, start: 1, rows: 2)
            let expectT = texts.flatMap { $0 }, expectI = images[1...].flatMap { $0 }
            if dtype == .float32 {
                XCTAssertEqual(t, expectT); XCTAssertEqual(im, expectI)
            } else {   // exactly the float16 rounding
                XCTAssertEqual(t, expectT.map { Float(Float16($0)) }); XCTAssertEqual(im, expectI.map { Float(Float16($0)) })
            }
            let f = try H5File(openAt: path)
            XCTAssertEqual(try f.dataset(ShardSchema.target).typeDescription, "bool")
            XCTAssertEqual(try f.dataset(ShardSchema.audioName).typeDescription, "string[9]")
            XCTAssertEqual(try f.dataset(ShardSchema.waveform).chunk, [1, 50])
            XCTAssertEqual(try f.dataset(ShardSchema.textEmbedding).dims, [3, 2, 4])
            XCTAssertEqual(try f.dataset(ShardSchema.sourceRow).read(as: Int64.self), [10, 11, 12])
            XCTAssertEqual(try f.attribute("clip_samples"), .int(50))
            XCTAssertEqual(try f.attribute("embedding_model"), .string("test-model"))
            XCTAssertNil(try f.attribute("nope"))
            XCTAssertTrue(f.attributeNames.contains("sample_rate"))
            XCTAssertEqual(f.names.sorted(), (ShardSchema.required + [ShardSchema.sourceRow]).sorted())
        }
    }

    func testWriterRejectsBadRows() throws {
        let path = TestSupport.tempDir().appendingPathComponent("s.h5").path
        let w = try ShardWriter(path: path, layout: layout(.float32), capacity: 2)
        let wave = [Int16](repeating: 0, count: 50)
        XCTAssertThrowsError(try w.append(name: "x", waveform: [1, 2], labels: [0], text: [Float](repeating: 0, count: 8),
                                          image: [Float](repeating: 0, count: 12), sourceRow: 0)) { XCTAssertTrue("\($0)".contains("waveform")) }
        XCTAssertThrowsError(try w.append(name: "x", waveform: wave, labels: [7], text: [Float](repeating: 0, count: 8),
                                          image: [Float](repeating: 0, count: 12), sourceRow: 0)) { XCTAssertTrue("\($0)".contains("out of range")) }
        XCTAssertThrowsError(try w.append(name: "x", waveform: wave, labels: [0], text: [Float](repeating: 0, count: 7),
                                          image: [Float](repeating: 0, count: 12), sourceRow: 0)) { XCTAssertTrue("\($0)".contains("text_embedding")) }
        w.abandon()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".tmp"))
    }

    func testAttributesAndStringsOnTheWrapper() throws {
        let path = TestSupport.tempDir().appendingPathComponent("a.h5").path
        do {
            let f = try H5File(createAt: path)
            try f.setAttribute("i", .int(-7)); try f.setAttribute("d", .double(2.5))
            try f.setAttribute("s", .string("héllo")); try f.setAttribute("v", .ints([1, 2, 3]))
            try f.setAttribute("i", .int(8))   // replaced
            try f.createStringDataset("names", strings: ["a", "", "long name"], length: 12)
        }
        let f = try H5File(openAt: path)
        XCTAssertEqual(try f.attribute("i"), .int(8))
        XCTAssertEqual(try f.attribute("d"), .double(2.5))
        XCTAssertEqual(try f.attribute("s"), .string("héllo"))
        XCTAssertEqual(try f.attribute("v"), .ints([1, 2, 3]))
        XCTAssertEqual(f.attributeNames, ["d", "i", "s", "v"])
        XCTAssertEqual(try f.dataset("names").readStrings(), ["a", "", "long name"])
        XCTAssertEqual(try f.dataset("names").readStrings(start: 2, rows: 1), ["long name"])
        XCTAssertThrowsError(try f.dataset("names").read(as: Float.self))
    }
}
