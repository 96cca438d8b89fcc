#!/usr/bin/env python3
"""librosa / soxr references for `avtool bench frontend --compare` (1 thread, same machine, same run).

    python bench/reference/frontend_librosa.py --seconds 10 --file-rate 44100 --ours DIR

Times (best of --repeats, each the mean over a ~0.5 s window):
- librosa log-mel of the clip at 16 kHz with avtrain's default front-end settings (n_fft 512,
  win 400, hop 160, 64 HTK mels 50–8000 Hz, power 2, no norm, power_to_db), and torch.stft power;
- soxr resampling file-rate → 16 kHz at quality HQ and VHQ.

Resampling quality, the same measurement for avtrain and soxr: DIR/tones.f32 holds avtrain's
16 kHz output of each test tone (DIR/tones.json lists them: 1 s sines of amplitude 0.5 at the file
rate). For each tone the gain is the RMS of the middle half of the output over the input's RMS:
passband ripple = max |gain in dB| over tones ≤ --pass-hz; stop-band = the largest gain (dB) over
tones ≥ --stop-hz (whatever frequency they alias to). Prints one JSON line last.
Needs numpy, librosa, soxr (torch optional).
"""
import argparse
import json
import os
import time

import numpy as np


def best_ms(fn, repeats, window=0.5):
    fn()
    best = float("inf")
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            el = time.perf_counter() - t0
            if el >= window:
                break
        best = min(best, el / n)
    return best * 1000


def gains(outputs, amp):
    """Gain in dB of each 16 kHz output (middle half) relative to a sine of amplitude `amp`."""
    res = []
    for y in outputs:
        m = y[len(y) // 4: 3 * len(y) // 4]
        rms = float(np.sqrt(np.mean(m.astype(np.float64) ** 2)))
        res.append(20 * np.log10(max(rms, 1e-30) / (amp / np.sqrt(2))))
    return res


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--file-rate", type=int, default=44100)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--ours", required=True, help="folder with tones.json and tones.f32 written by avtool")
    p.add_argument("--pass-hz", type=float, default=6880.0)
    p.add_argument("--stop-hz", type=float, default=8000.0)
    a = p.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import librosa
    import soxr

    rng = np.random.default_rng(1)
    n = int(a.seconds * a.file_rate)
    t = np.arange(n) / a.file_rate
    wav = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(n)).astype(np.float32)
    clip16 = soxr.resample(wav, a.file_rate, 16000, quality="HQ").astype(np.float32)

    def logmel():
        s = librosa.feature.melspectrogram(y=clip16, sr=16000, n_fft=512, win_length=400, hop_length=160, n_mels=64,
                                           fmin=50, fmax=8000, htk=True, norm=None, power=2.0)
        librosa.power_to_db(s)

    out = {"librosa_logmel_ms": best_ms(logmel, a.repeats),
           "soxr_hq_ms": best_ms(lambda: soxr.resample(wav, a.file_rate, 16000, quality="HQ"), a.repeats),
           "soxr_vhq_ms": best_ms(lambda: soxr.resample(wav, a.file_rate, 16000, quality="VHQ"), a.repeats)}
    try:
        import torch
        torch.set_num_threads(1)
        x = torch.from_numpy(clip16)
        win = torch.hann_window(400)
        out["torch_stft_ms"] = best_ms(lambda: torch.stft(x, 512, 160, 400, win, center=True, return_complex=True).abs().pow(2),
                                       a.repeats)
    except ImportError:
        pass

    spec = json.load(open(os.path.join(a.ours, "tones.json")))
    freqs, rate, amp, per = spec["freqs"], spec["file_rate"], spec["amplitude"], spec["samples_out"]
    ours = np.fromfile(os.path.join(a.ours, "tones.f32"), dtype=np.float32).reshape(len(freqs), per)
    tt = np.arange(rate) / rate
    theirs = [soxr.resample((amp * np.sin(2 * np.pi * f * tt)).astype(np.float32), rate, 16000, quality="HQ") for f in freqs]
    for name, outs in (("ours", list(ours)), ("soxr_hq", theirs)):
        g = gains(outs, amp)
        out[name + "_ripple_db"] = max(abs(x) for f, x in zip(freqs, g) if f <= a.pass_hz)
        out[name + "_stopband_db"] = max(x for f, x in zip(freqs, g) if f >= a.stop_hz)
    print(f"librosa {librosa.__version__}, soxr {soxr.__version__}, numpy {np.__version__}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
