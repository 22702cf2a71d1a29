package io.bittensor.training;

import org.nd4j.linalg.schedule.ISchedule;

/**
 * Learning rate that falls from {@code base} along a half cosine to {@code base × floor} over
 * {@code steps} optimizer steps, then stays there. Decaying over the planned run lets a short run
 * end on small, precise steps, which a constant rate does not.
 */
public final class CosineDecaySchedule implements ISchedule {
    private static final long serialVersionUID = 1L;

    private final double base;
    private final double floor;
    private final int steps;

    /**
     * @param base  rate at step 0 (> 0)
     * @param floor final rate as a fraction of base, in [0, 1]
     * @param steps steps to reach the floor (≥ 1)
     */
    public CosineDecaySchedule(double base, double floor, int steps) {
        if (!(base > 0) || !(floor >= 0 && floor <= 1) || steps < 1) {
            throw new IllegalArgumentException("need base > 0, floor in [0,1], steps >= 1; got " + base + ", " + floor + ", " + steps);
        }
        this.base = base;
        this.floor = floor;
        this.steps = steps;
    }

    @Override
    public double valueAt(int iteration, int epoch) {
        double t = Math.min(1.0, Math.max(0, iteration) / (double) steps);
        return base * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * t)));
    }

    @Override
    public ISchedule clone() {
        return new CosineDecaySchedule(base, floor, steps);
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "cosine %.4g→%.4g over %d steps", base, base * floor, steps);
    }
}
