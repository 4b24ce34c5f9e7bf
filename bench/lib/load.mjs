// Closed-loop load: `concurrency` workers, each issuing its next operation as soon as the
// previous one answered, until `count` operations were issued or the deadline passed.
// Latency is measured per operation (a complete login is one operation) with hrtime.

/**
 * @param {{concurrency: number, count: number, maxMs: number, op: (worker: number) => Promise<void>}} phase
 */
export async function runPhase({ concurrency, count, maxMs, op }) {
  const latencies = [];
  const errors = [];
  let issued = 0;
  let truncated = false;
  const started = process.hrtime.bigint();
  const deadline = Date.now() + maxMs;
  const worker = async (w) => {
    while (issued < count) {
      if (Date.now() > deadline) {
        truncated = true;
        return;
      }
      issued += 1;
      const t0 = process.hrtime.bigint();
      try {
        await op(w);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      } catch (error) {
        errors.push(String(error?.message ?? error));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, latencies, errors, truncated };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function summarize({ seconds, latencies, errors, truncated }) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, value) => sum + value, 0) / (sorted.length || 1);
  return {
    ok: sorted.length,
    errors: errors.length,
    firstErrors: [...new Set(errors)].slice(0, 3),
    truncated,
    seconds: round(seconds, 3),
    rps: round(sorted.length / seconds, 1),
    p50: round(percentile(sorted, 50), 2),
    p90: round(percentile(sorted, 90), 2),
    p99: round(percentile(sorted, 99), 2),
    max: round(sorted.at(-1) ?? NaN, 2),
    mean: round(mean, 2),
  };
}

export const round = (value, digits = 2) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : null);
