import CSndfile
import Foundation

/// An audio decoding/encoding failure that names the file.
public struct AudioError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let reason: String
    public var description: String { "audio \(file): \(reason)" }
}

/// Decoded audio: interleaved float samples in [-1, 1].
public struct DecodedAudio: Sendable {
    public var samples: [Float]
    public var sampleRate: Int
    public var channels: Int
    public var frames: Int { channels > 0 ? samples.count / channels : 0 }

    /// The mean of all channels, per frame.
    public func mono() -> [Float] {
        if channels == 1 { return samples }
        var out = [Float](repeating: 0, count: frames)
        let inv = 1 / Float(channels)
        for f in 0..<frames {
            var s: Float = 0
            for c in 0..<channels { s += samples[f * channels + c] }
            out[f] = s * inv
        }
        return out
    }
}

/// Reading and writing sound files through libsndfile (WAV, FLAC, OGG/Vorbis, AIFF, …).
public enum AudioFile {
    /// Decodes the frames of `path` — every one, or only the first `maxSeconds` (a 10 s clip
    /// from a 1-hour file reads 10 s, not the hour). Throws for missing, unreadable, empty,
    /// truncated or non-finite audio. Memory grows with the frames actually decoded, not with the
    /// header's claim.
    public static func read(_ path: String, maxSeconds: Double? = nil) throws -> DecodedAudio {
        var info = SF_INFO()
        guard let f = sf_open(path, Int32(SFM_READ), &info) else {
            throw AudioError(file: path, reason: "cannot decode: \(String(cString: sf_strerror(nil)))")
        }
        defer { sf_close(f) }
        let channels = Int(info.channels), rate = Int(info.samplerate)
        guard channels > 0, rate > 0 else { throw AudioError(file: path, reason: "bad header (\(channels) channels, \(rate) Hz)") }
        guard info.frames > 0 else { throw AudioError(file: path, reason: "no audio frames (empty file)") }
        // The parse log right after opening tells whether the file is shorter than its header says
        // (later reads may append harmless end-of-file notes).
        if let note = truncationNote(logInfo(f)) { throw AudioError(file: path, reason: "truncated: \(note)") }
        let known = info.frames < Int64.max / 2           // libsndfile reports SF_COUNT_MAX when unknown
        // Decode straight into the result, which grows (doubling) only as frames actually arrive,
        // so a header that claims an absurd length cannot trigger a huge allocation.
        let limit = maxSeconds.map { s -> Int in s.isFinite && s > 0 ? Int(min(s * Double(rate), Double(Int.max / 4)).rounded(.up)) : 1 }
        let want = min(known ? Int(info.frames) : Int.max, limit ?? Int.max)
        var samples = [Float](repeating: 0, count: min(want, 1 << 20) * channels)
        var frames = 0
        while frames < want {
            if frames * channels == samples.count {
                samples += repeatElement(0, count: min(frames, want - frames) * channels)
            }
            let room = samples.count / channels - frames
            let got = samples.withUnsafeMutableBufferPointer {
                sf_readf_float(f, $0.baseAddress! + frames * channels, sf_count_t(room))
            }
            if got <= 0 { break }
            frames += Int(got)
        }
        samples.removeLast(samples.count - frames * channels)
        if sf_error(f) != 0 {
            throw AudioError(file: path, reason: "decoding failed after \(frames) frames: \(String(cString: sf_strerror(f)))")
        }
        guard frames > 0 else { throw AudioError(file: path, reason: "no frames could be decoded (truncated or corrupt)") }
        if known && frames < want {
            throw AudioError(file: path, reason: "truncated: decoded \(frames) of \(info.frames) frames")
        }
        // A stream of unknown length (e.g. Ogg/Opus without its last granule) shows truncation only
        // once it has been read to the end.
        if !known, frames < want, let note = truncationNote(logInfo(f)) { throw AudioError(file: path, reason: "truncated: \(note)") }
        if let bad = samples.firstIndex(where: { !$0.isFinite }) {
            throw AudioError(file: path, reason: "non-finite sample at frame \(bad / channels)")
        }
        return DecodedAudio(samples: samples, sampleRate: rate, channels: channels)
    }

    /// libsndfile's parse log of an open file.
    static func logInfo(_ f: OpaquePointer) -> String {
        var log = [CChar](repeating: 0, count: 16384)
        _ = log.withUnsafeMutableBufferPointer { sf_command(f, Int32(SFC_GET_LOG_INFO), $0.baseAddress!, Int32($0.count)) }
        return String(cString: log)
    }

    /// The line of libsndfile's log that shows the file is shorter than its header says, if any:
    /// a data chunk ("data : 32000 (should be 9956)", AIFF "SSND") longer than what the file holds
    /// (sizes 0 and ≥ 0x7FFFFFFF mean "unknown length", as streaming writers leave them), or an
    /// Ogg stream that ends without its end-of-stream page.
    static func truncationNote(_ log: String) -> String? {
        for line in log.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.contains("ended unexpectedly") { return t }
            guard t.hasPrefix("data") || t.hasPrefix("SSND"), let r = t.range(of: "(should be ") else { continue }
            let declared = t[..<r.lowerBound].split(separator: ":").last.flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
            let actual = Int64(t[r.upperBound...].prefix { $0.isNumber })
            if let d = declared, let a = actual, d > a, d != 0, d < 0x7FFF_FFFF { return t }
        }
        return nil
    }

    /// Container/encoding pairs for `write`.
    public enum Format: Sendable {
        case wav16, wav24, wav32, wavFloat, flac16, flac24, oggVorbis, oggOpus, mp3, aiff16

        var sf: Int32 {
            switch self {
            case .wav16: return Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)
            case .wav24: return Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_24)
            case .wav32: return Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_32)
            case .wavFloat: return Int32(SF_FORMAT_WAV | SF_FORMAT_FLOAT)
            case .flac16: return Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_16)
            case .flac24: return Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_24)
            case .oggVorbis: return Int32(SF_FORMAT_OGG | SF_FORMAT_VORBIS)
            case .oggOpus: return Int32(SF_FORMAT_OGG | SF_FORMAT_OPUS)
            case .mp3: return Int32(SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III)
            case .aiff16: return Int32(SF_FORMAT_AIFF | SF_FORMAT_PCM_16)
            }
        }
    }

    /// Encodes interleaved `samples` to `path`.
    public static func write(_ path: String, samples: [Float], sampleRate: Int, channels: Int = 1, format: Format = .wav16) throws {
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = format.sf
        guard let f = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw AudioError(file: path, reason: "cannot create: \(String(cString: sf_strerror(nil)))")
        }
        defer { sf_close(f) }
        var clip = Int32(SF_TRUE)
        _ = withUnsafeMutablePointer(to: &clip) { sf_command(f, Int32(SFC_SET_CLIPPING), $0, Int32(MemoryLayout<Int32>.size)) }
        let frames = samples.count / channels
        if frames == 0 { return }
        let wrote = samples.withUnsafeBufferPointer { sf_writef_float(f, $0.baseAddress!, sf_count_t(frames)) }
        guard wrote == frames else { throw AudioError(file: path, reason: "wrote \(wrote) of \(frames) frames") }
    }

    /// libsndfile's version string.
    public static var libraryVersion: String { String(cString: sf_version_string()) }
}
