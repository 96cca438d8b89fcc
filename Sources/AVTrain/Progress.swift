import Foundation
import AVLoss
import AVTensor

extension Trainer {
    /// Rank 0: every `log_every` steps (and at the last step) a progress line and a JSONL record in
    /// out_dir/metrics.jsonl (one object per logged step).
    func report(_ m: StepMetrics) throws {
        guard comm.rank == 0, !m.skipped, m.step % config.train.logEvery == 0 || m.step == totalSteps || m.step == 1 else { return }
        let now = clock.seconds
        let steps = m.step - lastLog.step
        let global = comm.size * config.data.batchPerRank
        let rate = steps > 0 && now > lastLog.time ? Double(steps * global) / (now - lastLog.time) : 0
        let perStep = steps > 0 ? (now - lastLog.time) / Double(steps) : 0
        lastLog = (m.step, now)
        let eta = perStep * Double(totalSteps - m.step)
        let terms = LossTerm.allCases.compactMap { t in m.values[t.rawValue].map { "\(t.rawValue) \(Trainer.f4($0))" } }
        log("step \(m.step)/\(totalSteps) epoch \(m.epoch + 1) | loss \(Trainer.f4(m.total)) (" + terms.joined(separator: ", ")
            + ") | s \(String(format: "%.2f", m.scale)) | lr \(String(format: "%.3e", m.lr)) | |g| \(Trainer.f4(m.gradNorm))"
            + " | \(String(format: "%.1f", rate)) samples/s | ETA \(Stopwatch.clock(eta))")
        var record: [String: Any] = ["step": m.step, "epoch": m.epoch + 1, "loss": Double(m.total), "logit_scale": Double(m.scale),
                                     "lr": Double(m.lr), "grad_norm": Double(m.gradNorm), "samples_per_s": rate,
                                     "skipped_steps": skippedSteps, "time_s": now]
        for (k, v) in m.values { record[k] = Double(v) }
        try metrics.append(record)
    }

    /// The run's metrics file.
    var metrics: MetricsLog { MetricsLog(path: URL(fileURLWithPath: config.train.outDir).appendingPathComponent("metrics.jsonl").path) }

    static func f4(_ x: Float) -> String { String(format: "%.4f", x) }
}
