import Foundation
import AVAudio
import AVTensor
import TestSupport

/// Writes a `.npy` file (version 1 or 2 header, '<f4' or '<f2', C order).
public func writeNpy(_ path: String, shape: [Int], values: [Float], half: Bool, version: UInt8 = 1, descr: String? = nil,
              fortran: Bool = false, truncate: Int = 0) throws {
    let shapeText = "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
    var header = "{'descr': '\(descr ?? (half ? "<f2" : "<f4"))', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shapeText), }"
    let pre = version == 1 ? 10 : 12
    while (pre + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    var d = Data([0x93] + Array("NUMPY".utf8) + [version, 0])
    let n = header.utf8.count
    if version == 1 { d += [UInt8(n & 255), UInt8(n >> 8)] } else { d += [UInt8(n & 255), UInt8(n >> 8 & 255), 0, 0] }
    d += Data(header.utf8)
    for v in values {
        if half { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { d += $0 } }
        else { withUnsafeBytes(of: v.bitPattern.littleEndian) { d += $0 } }
    }
    try d.dropLast(truncate).write(to: URL(fileURLWithPath: path))
}

/// Inputs of `avtool data pack` / `Packer` for the packing tests.
public enum PackInputs {
    /// Audio files, a CSV and embedding arrays for `n` clips at 8 kHz (clip length 400 samples;
    /// some files shorter, some longer, one stereo).
    public static func make(_ dir: String, n: Int = 7) throws -> (waves: [[Int16]], text: [Float], image: [Float]) {
        var waves: [[Int16]] = []
        var csv = "audio,labels,caption\n"
        for i in 0..<n {
            let len = [400, 250, 523, 400, 399, 401, 400][i % 7]
            var rng = Rng(seed: UInt64(i))
            let q = (0..<len).map { _ in Int16(max(-32768, min(32767, rng.normal() * 6000))) }
            let name = "a\(i).wav"
            if i == 3 {   // stereo: both channels equal, so the mono mix is exact
                try AudioFile.write(dir + "/" + name, samples: q.flatMap { [Float($0) / 32768, Float($0) / 32768] }, sampleRate: 8000, channels: 2)
            } else {
                try AudioFile.write(dir + "/" + name, samples: q.map { Float($0) / 32768 }, sampleRate: 8000)
            }
            waves.append((0..<400).map { $0 < len ? q[$0] : 0 })
            csv += "\(name),\(i % 3 == 2 ? "\"wind;dog bark\"" : ["dog bark", "rain", "wind"][i % 3]),\"a caption, with comma\"\n"
        }
        try csv.write(toFile: dir + "/clips.csv", atomically: true, encoding: .utf8)
        let text = TestSupport.randn(n * 2 * 6, seed: 11), image = TestSupport.randn(n * 3 * 6, seed: 12)
        try writeNpy(dir + "/text.npy", shape: [n, 2, 6], values: text, half: false)
        try writeNpy(dir + "/image.npy", shape: [n, 3, 6], values: image, half: true, version: 2)
        return (waves, text, image)
    }
}
