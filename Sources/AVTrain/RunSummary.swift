import Foundation
import AVFiles
import AVTensor
import AVSafetensors
import AVEval

extension Trainer {
    /// The end-of-run summary (rank 0): one paragraph for stdout and `out_dir/summary.json` with
    /// steps, time, throughput, first/final/best loss, skipped steps, the best and last zero-shot
    /// accuracy (with `[eval]`) and the checkpoints. `status`: "done" or why the run stopped.
    @discardableResult
    public func writeSummary(status: String) throws -> String {
        let seconds = clock.seconds
        let global = comm.size * config.data.batchPerRank
        let rate = seconds > 0 ? Double(stepsThisSession * global) / seconds : 0
        let checkpoints = Checkpoints.list(in: config.train.outDir)
        var json: [String: Any] = [
            "status": status, "steps": step, "total_steps": totalSteps, "steps_this_session": stepsThisSession,
            "seconds": seconds, "samples_per_s": rate, "skipped_steps": skippedSteps, "world_size": comm.size,
            "global_batch": global, "out_dir": config.train.outDir, "checkpoints": checkpoints,
            "communication_wait_s": commWaitSeconds, "communication_share": seconds > 0 ? commWaitSeconds / seconds : 0,
            "overlap": config.dist.overlap, "bucket_mb": Double(config.dist.bucketMB),
            "peak_rss_mb_rank0": Double(ProcessMemory.peakResidentKiB()) / 1024,
            "phase_seconds": Dictionary(uniqueKeysWithValues: phases.named),
            "phase_shares": Dictionary(uniqueKeysWithValues: phases.named.map { ($0.0, seconds > 0 ? $0.1 / seconds : 0) }),
        ]
        func loss(_ p: (Int, Float)?) -> Any { p.map { ["step": $0.0, "loss": Double($0.1)] as [String: Any] } ?? NSNull() }
        json["first_loss"] = loss(lossRecord.first)
        json["final_loss"] = loss(lossRecord.last)
        json["best_loss"] = loss(lossRecord.best)
        var text = String(format: "summary (%@): %d/%d steps (%d in this session) in %@, %.1f samples/s", status, step, totalSteps,
                          stepsThisSession, Stopwatch.clock(seconds), rate)
        if let f = lossRecord.first, let l = lossRecord.last, let b = lossRecord.best {
            text += String(format: "; loss %.4f (step %d) → %.4f (step %d), best %.4f (step %d)", f.1, f.0, l.1, l.0, b.1, b.0)
        }
        if skippedSteps > 0 { text += "; \(skippedSteps) skipped step(s)" }
        if comm.size > 1 {
            text += String(format: "; rank 0 waited %.1f s (%.1f %%) for gradient all-reduces (%@)", commWaitSeconds,
                           seconds > 0 ? 100 * commWaitSeconds / seconds : 0, config.dist.overlap ? "overlapped" : "after backward")
        }
        if let e = evalSummary {
            let chance = 1 / Double(max(1, evalClassCount))
            json["zero_shot"] = ["best": ["step": e.best.step, "top1": e.best.top1, "top5": e.best.top5],
                                 "last": ["step": e.last.step, "top1": e.last.top1, "top5": e.last.top5], "chance_top1": chance]
            text += String(format: "; zero-shot top-1 best %.1f %% (step %d), last %.1f %% (step %d), chance %.1f %%",
                           100 * e.best.top1, e.best.step, 100 * e.last.top1, e.last.step, 100 * chance)
        }
        text += "; checkpoint \(checkpoints.last ?? "none")"
        let path = URL(fileURLWithPath: config.train.outDir).appendingPathComponent("summary.json").path
        do {
            try AtomicFile.write(try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys]), to: path)
        } catch { throw TrainError("\(path): cannot write the run summary: \(error)") }
        return text + "; " + path
    }
}
