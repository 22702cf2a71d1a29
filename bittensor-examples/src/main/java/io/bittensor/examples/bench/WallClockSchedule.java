package io.bittensor.examples.bench;

import java.io.Serializable;
import java.util.Locale;
import java.util.Objects;
import java.util.function.LongSupplier;
import org.nd4j.linalg.schedule.ISchedule;

/**
 * A learning rate for a run with a wall-clock budget rather than a step count (the number of
 * steps a budget holds is not known in advance on a shared machine): a linear warm-up over the
 * first {@code warmupSteps} steps; the peak held until the last {@code decayFraction} of the
 * budget; then a decay to 0 as the budget's time runs out, along a half cosine or a straight line.
 * {@code decayFraction} 1 with the cosine is the schedule the PyTorch reference in
 * docs/benchmarks.md ran; 0.4 with the line holds the peak for 60 % of the budget.
 */
final class WallClockSchedule implements ISchedule {
    private static final long serialVersionUID = 2L;

    /** How the rate falls over the decay phase. */
    enum Shape {
        COSINE, LINEAR;

        /** The rate's fraction of the peak at {@code u} ∈ [0, 1] through the decay phase. */
        double at(double u) {
            return this == COSINE ? 0.5 * (1 + Math.cos(Math.PI * u)) : 1 - u;
        }
    }

    /** A nanosecond clock that survives the schedule's (unused) Java serialization. */
    interface Clock extends LongSupplier, Serializable {}

    private final double peak;
    private final int warmupSteps;
    private final Shape shape;
    private final double decayFraction;
    private final long startNanos;
    private final long budgetNanos;
    private final Clock clock;

    WallClockSchedule(double peak, int warmupSteps, Shape shape, double decayFraction, long startNanos,
            long budgetNanos, Clock clock) {
        if (!(peak > 0) || warmupSteps < 0 || budgetNanos <= 0 || !(decayFraction > 0 && decayFraction <= 1)) {
            throw new IllegalArgumentException("need peak > 0, warmup >= 0, budget > 0, 0 < decay fraction <= 1");
        }
        this.peak = peak;
        this.warmupSteps = warmupSteps;
        this.shape = Objects.requireNonNull(shape, "shape");
        this.decayFraction = decayFraction;
        this.startNanos = startNanos;
        this.budgetNanos = budgetNanos;
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    public double valueAt(int iteration, int epoch) {
        double warm = warmupSteps == 0 ? 1 : Math.min(1.0, (iteration + 1) / (double) warmupSteps);
        double t = Math.min(1.0, Math.max(0, clock.getAsLong() - startNanos) / (double) budgetNanos);
        double u = Math.max(0, t - (1 - decayFraction)) / decayFraction;
        return peak * warm * shape.at(Math.min(1.0, u));
    }

    @Override
    public ISchedule clone() {
        return new WallClockSchedule(peak, warmupSteps, shape, decayFraction, startNanos, budgetNanos, clock);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "warm-up %d steps to %.1e, held to %.0f %% of %.1f min, then %s to 0",
                warmupSteps, peak, 100 * (1 - decayFraction), budgetNanos / 60e9, shape.name().toLowerCase(Locale.ROOT));
    }
}
