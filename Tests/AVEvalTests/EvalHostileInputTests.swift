import XCTest
import Foundation
import AVTensor
import AVModel
import AVAudio
import AVSafetensors
import AVEval
import AVTrain
import TestSupport
import RunFixtures

/// Bad class files, layouts, checkpoints, exports and audio: each a clear error naming the file
/// (and row/tensor), never a crash; avembed keeps going past a bad file.
final class EvalHostileInputTests: XCTestCase {
    override func setUp() { Threads.set(1) }

    func assertError(_ body: @autoclosure () throws -> Any, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            for p in parts { XCTAssertTrue("\(e)".contains(p), "'\(e)' lacks '\(p)'", file: file, line: line) }
        }
    }

    func writeClasses(_ path: String, names: [String], shape: [Int], values: [Float]? = nil) throws {
        var w = SafetensorsWriter(metadata: ["class_names": String(decoding: try JSONEncoder().encode(names), as: UTF8.self)])
        let n = shape.reduce(1, *)
        w.add("class_embedding", shape: shape, floats: values ?? TestSupport.randn(n, seed: 3))
        try w.write(to: path)
    }

    func testBadClassFiles() throws {
        let dir = TestSupport.tempDir("hostile-classes").path
        let p = dir + "/c.safetensors"
        try writeClasses(p, names: ["a", "b"], shape: [3, 4])
        assertError(try ClassEmbeddings.load(p), contains: [p, "2 class names", "3 rows"])
        try writeClasses(p, names: ["a", "b"], shape: [2, 4], values: [1, 0, 0, 0, 0, 0, 0, 0])
        assertError(try ClassEmbeddings.load(p), contains: [p, "'b'", "zero-norm"])
        try writeClasses(p, names: ["a", "b"], shape: [2, 4], values: [1, .nan, 0, 0, 1, 1, 1, 1])
        assertError(try ClassEmbeddings.load(p), contains: [p, "'a'", "non-finite"])
        try writeClasses(p, names: ["dog_bark", "Dog Bark"], shape: [2, 4])
        assertError(try ClassEmbeddings.load(p), contains: [p, "appears 2 times"])
        try Data("not safetensors".utf8).write(to: URL(fileURLWithPath: p))
        assertError(try ClassEmbeddings.load(p), contains: [p])
        // Several prompts per class are averaged; names match with `_` as a space, any case.
        try writeClasses(p, names: ["dog_bark", "siren"], shape: [2, 3, 4])
        let c = try ClassEmbeddings.load(p)
        XCTAssertEqual(c.prompts, 3)
        XCTAssertEqual(try c.aligned(to: ["Siren", "dog bark"], dataset: "x").rows.count, 8)
        assertError(try c.aligned(to: ["siren", "jackhammer"], dataset: "us8k"), contains: [p, "'jackhammer'", "us8k"])
    }

    func testBadLayouts() throws {
        let root = try EvalFixtures.us8k(bad: false)
        let csv = root + "/metadata/UrbanSound8K.csv"
        let good = try String(contentsOfFile: csv, encoding: .utf8)
        func with(_ text: String) throws { try text.write(toFile: csv, atomically: true, encoding: .utf8) }
        try with(good.replacingOccurrences(of: "classID", with: "class_id"))
        assertError(try OfficialLayouts.us8k(root: root), contains: [csv, "columns", "classID"])
        try with(good + "x.wav,1,0,1,1,11,0,air\r\n")
        assertError(try OfficialLayouts.us8k(root: root), contains: [csv, ":14:", "fold '11'"])
        try with(good + "x.wav,1,0,1,1,2,0,other_name\r\n")
        assertError(try OfficialLayouts.us8k(root: root), contains: [csv, "classID 0 is 'other_name'"])
        try with(good + "x.wav,1,0\r\n")
        assertError(try OfficialLayouts.us8k(root: root), contains: [csv, ":14:"])   // SwiftCSV pads short rows: the empty fold is reported
        try with(good + "../../etc/passwd,1,0,1,1,2,0,\(EvalFixtures.names[0])\r\n")
        assertError(try OfficialLayouts.us8k(root: root), contains: [csv, "not a file name"])
        try with("\u{feff}" + good)                                  // a BOM is fine
        XCTAssertEqual(try OfficialLayouts.us8k(root: root).items.count, 12)
        try with(OfficialLayouts.us8kHeader.joined(separator: ",") + "\n")
        assertError(try OfficialLayouts.us8k(root: root), contains: [csv, "no clips"])
        assertError(try OfficialLayouts.esc50(root: root), contains: ["esc50.csv", "missing"])
    }

    func testBadCheckpointsAndExports() throws {
        let run = try EvalFixtures.train(momentum: false)
        let ckpt = try XCTUnwrap(Checkpoints.latest(in: run.out))
        assertError(try EncoderWeights.open(run.out, ema: true), contains: [ckpt, "no EMA weights"])
        assertError(try EncoderWeights.open(run.out + "/nothing"), contains: ["nothing", "no such"])

        // A checkpoint without a tensor the model needs.
        let f = try SafetensorsFile(path: ckpt)
        var w = SafetensorsWriter(metadata: f.metadata)
        for n in f.names where n != "model.layers.1.blocks.0.attn.qkv.weight" { w.add(n, shape: try f.entry(n).shape, floats: try f.floats(n)) }
        let broken = run.out + "/broken.safetensors"
        try w.write(to: broken)
        assertError(try EncoderWeights.open(broken).makeEncoder(batch: 1), contains: [broken, "model.layers.1.blocks.0.attn.qkv.weight", "missing"])

        // An export whose encoder.json disagrees with its weights (one stage deeper; another D).
        let dir = TestSupport.tempDir("hostile-export").path
        try EncoderExport.write(try EncoderWeights.open(run.out), to: dir)
        let specPath = dir + "/encoder.json"
        let spec = try String(contentsOfFile: specPath, encoding: .utf8)
        var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(spec.utf8)) as? [String: Any])
        var model = try XCTUnwrap(json["model"] as? [String: Any])
        model["depths"] = [2, 3]
        json["model"] = model
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: specPath))
        assertError(try EncoderWeights.open(dir).makeEncoder(batch: 1), contains: [dir + "/encoder.safetensors", "layers.1.blocks.2", "missing"])
        // Absurd sizes are refused before anything is allocated.
        model["depths"] = [2, 2]; model["embedDim"] = 65536; json["model"] = model
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: specPath))
        assertError(try EncoderWeights.open(dir).makeEncoder(batch: 1), contains: [dir, "larger than", "disagree"])
        model["embedDim"] = 16; model["imageSize"] = [8192, 8192]; json["model"] = model
        var fe = try XCTUnwrap(json["frontend"] as? [String: Any])
        fe["imageHeight"] = 8192; fe["imageWidth"] = 8192; fe["nMels"] = 8192; fe["nFFT"] = 65536; fe["winLength"] = 400
        fe["clipSamples"] = 1_000_000; json["frontend"] = fe
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: specPath))
        assertError(try EncoderWeights.open(dir).makeEncoder(batch: 4096), contains: [dir, "GB for batch 4096"])
        json["frontend"] = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(spec.utf8)) as? [String: Any])?["frontend"])
        model["imageSize"] = [32, 32]
        model["depths"] = [2, 2]; model["embeddingSize"] = 32; json["model"] = model
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: specPath))
        assertError(try EncoderWeights.open(dir), contains: [specPath, "embedding_dim 16", "32"])
        try Data("{\"format\": \"avtrain-encoder\"}".utf8).write(to: URL(fileURLWithPath: specPath))
        assertError(try EncoderWeights.open(dir), contains: [specPath, "missing key"])
        try Data("[1,2".utf8).write(to: URL(fileURLWithPath: specPath))
        assertError(try EncoderWeights.open(dir), contains: [specPath, "not a valid encoder spec"])
        // A class file of another width is refused at export.
        let classes = dir + "/wrong-d.safetensors"
        try writeClasses(classes, names: ["a"], shape: [1, 5])
        assertError(try EncoderExport.write(try EncoderWeights.open(run.out), to: dir + "/x", classes: classes), contains: [classes, "D = 5", "16"])
    }
}
