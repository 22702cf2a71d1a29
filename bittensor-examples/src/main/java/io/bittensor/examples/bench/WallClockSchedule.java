package io.bittensor.examples.bench;

import java.util.Locale;
import org.nd4j.linalg.schedule.ISchedule;

/**
 * A learning rate for a run with a wall-clock budget rather than a step count: a linear warm-up
 * over the first {@code warmupSteps} steps, then a half cosine from {@code peak} to 0 as the
 * budget's time runs out (the number of steps a budget holds is not known in advance on a shared
 * machine). The PyTorch reference in docs/benchmarks.md ran the same schedule.
 */
final class WallClockSchedule implements ISchedule {
    private static final long serialVersionUID = 1L;

    private final double peak;
    private final int warmupSteps;
    private final long startNanos;
    private final long budgetNanos;

    WallClockSchedule(double peak, int warmupSteps, long startNanos, long budgetNanos) {
        if (!(peak > 0) || warmupSteps < 0 || budgetNanos <= 0) {
            throw new IllegalArgumentException("need peak > 0, warmup >= 0, budget > 0");
        }
        this.peak = peak;
        this.warmupSteps = warmupSteps;
        this.startNanos = startNanos;
        this.budgetNanos = budgetNanos;
    }

    @Override
    public double valueAt(int iteration, int epoch) {
        double warm = warmupSteps == 0 ? 1 : Math.min(1.0, (iteration + 1) / (double) warmupSteps);
        double t = Math.min(1.0, Math.max(0, System.nanoTime() - startNanos) / (double) budgetNanos);
        return peak * warm * 0.5 * (1 + Math.cos(Math.PI * t));
    }

    @Override
    public ISchedule clone() {
        return new WallClockSchedule(peak, warmupSteps, startNanos, budgetNanos);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "warm-up %d steps to %.1e, cosine to 0 over %.1f min", warmupSteps, peak,
                budgetNanos / 60e9);
    }
}
